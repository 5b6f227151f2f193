// Package metatest is the conformance suite for meta.Store implementations.
// It tests only the contract written in package meta, so every
// implementation (embedded, PostgreSQL, ...) runs the same checks:
//
//	func TestConformance(t *testing.T) {
//		metatest.Run(t, func(t *testing.T) meta.Store { return openFresh(t) })
//	}
//
// Where the contract leaves a choice open, the suite pins the reading the
// implementations agreed on; each such place says so in a comment.
package metatest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// Opener returns a fresh, empty store. The suite closes every store it
// opens, so Opener must not register its own Close.
type Opener func(t *testing.T) meta.Store

// Reopener returns a store over the same data as old, which the suite has
// already closed.
type Reopener func(t *testing.T, old meta.Store) meta.Store

// Run runs the whole conformance suite, one named subtest per behaviour.
func Run(t *testing.T, open Opener) {
	h := &harness{open: open}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"BucketCreateGet", h.testBucketCreateGet},
		{"BucketList", h.testBucketList},
		{"BucketDelete", h.testBucketDelete},
		{"BucketIsolation", h.testBucketIsolation},
		{"ObjectRoundTrip", h.testObjectRoundTrip},
		{"ObjectOverwrite", h.testObjectOverwrite},
		{"ObjectDelete", h.testObjectDelete},
		{"ObjectMissing", h.testObjectMissing},
		{"ObjectKeys", h.testObjectKeys},
		{"ConditionsPut", h.testConditionsPut},
		{"ConditionsDelete", h.testConditionsDelete},
		{"BlobInUse", h.testBlobInUse},
		{"SharedBlobs", h.testSharedBlobs},
		{"RaceIfNoneMatch", h.testRaceIfNoneMatch},
		{"RaceOverwrite", h.testRaceOverwrite},
		{"RaceIfMatchCounter", h.testRaceIfMatchCounter},
		{"RaceDeleteBucket", h.testRaceDeleteBucket},
		{"ListBasic", h.testListBasic},
		{"ListAfter", h.testListAfter},
		{"ListFields", h.testListFields},
		{"ListByteOrder", h.testListByteOrder},
		{"ListDefaultLimit", h.testListDefaultLimit},
		{"ListReference", h.testListReference},
		{"UploadCreateGet", h.testUploadCreateGet},
		{"UploadParts", h.testUploadParts},
		{"UploadAbort", h.testUploadAbort},
		{"UploadComplete", h.testUploadComplete},
		{"UploadListBasic", h.testUploadListBasic},
		{"UploadListReference", h.testUploadListReference},
		{"UploadRacePutPartComplete", h.testUploadRacePutPartComplete},
		{"UploadRacePutPartSameNumber", h.testUploadRacePutPartSameNumber},
		{"UploadRaceComplete", h.testUploadRaceComplete},
		{"UploadDeleteBucket", h.testUploadDeleteBucket},
		{"UploadRaceDeleteBucket", h.testUploadRaceDeleteBucket},
		{"UploadsInitiatedBefore", h.testUploadsInitiatedBefore},
		{"ConfigBasic", h.testConfigBasic},
		{"ConfigIsolation", h.testConfigIsolation},
		{"ConfigDeleteBucket", h.testConfigDeleteBucket},
		{"ConfigRaceDeleteBucket", h.testConfigRaceDeleteBucket},
		{"TagsRoundTrip", h.testTagsRoundTrip},
		{"PutObjectTags", h.testPutObjectTags},
		{"RacePutObjectTags", h.testRacePutObjectTags},
		{"ObjectACL", h.testObjectACL},
		{"VersionsACL", h.testVersionsACL},
		{"VersionsNull", h.testVersionsNull},
		{"VersionsEnabled", h.testVersionsEnabled},
		{"VersionsDeleteMarker", h.testVersionsDeleteMarker},
		{"VersionsDeletePermanent", h.testVersionsDeletePermanent},
		{"VersionsSuspended", h.testVersionsSuspended},
		{"VersionsList", h.testVersionsList},
		{"VersionsUpdate", h.testVersionsUpdate},
		{"VersionsLock", h.testVersionsLock},
		{"VersionsRace", h.testVersionsRace},
		{"Outbox", h.testOutbox},
		{"Records", h.testRecords},
		{"RecordsExpiry", h.testRecordsExpiry},
		{"RecordsRace", h.testRecordsRace},
		{"UsageMissingBucket", h.testUsageMissingBucket},
		{"UsageUnversioned", h.testUsageUnversioned},
		{"UsageVersioned", h.testUsageVersioned},
		{"UsageSuspended", h.testUsageSuspended},
		{"UsageUploads", h.testUsageUploads},
		{"UsageImport", h.testUsageImport},
		{"UsageBuckets", h.testUsageBuckets},
		{"UsageRace", h.testUsageRace},
	} {
		t.Run(tc.name, tc.fn)
	}
}

// RunReopen checks that everything written survives Close and reopening:
// buckets, records of every shape, deletions, the blob reference index,
// multipart state, bucket configs, object tags and object ACLs.
func RunReopen(t *testing.T, open Opener, reopen Reopener) {
	ctx := context.Background()
	s := open(t)
	closed := false
	t.Cleanup(func() {
		if !closed {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	})
	b1 := meta.Bucket{Name: "keep", Owner: "alice", Region: "eu-1", Created: fixedTime(1)}
	b2 := meta.Bucket{Name: "gone", Owner: "bob", Region: "eu-2", Created: fixedTime(2)}
	mustCreateBucket(t, s, b1)
	mustCreateBucket(t, s, b2)
	inline := fullObject("keep", "inline/ü", 1)
	seg := segmentObject("keep", "segments", "blob-kept", 10)
	overwritten := segmentObject("keep", "over", "blob-old", 10)
	replacement := segmentObject("keep", "over", "blob-new", 11)
	deleted := segmentObject("keep", "deleted", "blob-deleted", 12)
	for _, o := range []meta.Object{inline, seg, overwritten, replacement, deleted} {
		mustPut(t, s, o, nil)
	}
	if _, err := DelObj(s, ctx, "keep", "deleted", nil); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	checkUploads := writeUploadsForReopen(t, s)
	checkConfigsTags := writeConfigsTagsForReopen(t, s)
	checkACLs := writeACLForReopen(t, s)
	recRev, err := s.PutRecord(ctx, meta.Record{Kind: "user", ID: "alice", Data: []byte("kept"), Rev: meta.RevNew})
	if err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	if err := s.DeleteBucket(ctx, "gone"); err != nil {
		t.Fatalf("DeleteBucket: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed = true

	s2 := reopen(t, s)
	t.Cleanup(func() {
		if err := s2.Close(); err != nil {
			t.Errorf("Close after reopen: %v", err)
		}
	})
	bs, err := s2.ListBuckets(ctx)
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	if len(bs) != 2 || bs[0].Name != "acls" {
		t.Fatalf("ListBuckets after reopen = %v, want only %q and %q", bs, "acls", "keep")
	}
	checkBucket(t, b1, bs[1])
	for _, want := range []meta.Object{inline, seg, replacement} {
		got, err := GetObj(s2, ctx, want.Bucket, want.Key)
		if err != nil {
			t.Fatalf("GetObject(%q) after reopen: %v", want.Key, err)
		}
		checkObject(t, "after reopen", want, got, true)
	}
	if _, err := GetObj(s2, ctx, "keep", "deleted"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Errorf("GetObject(deleted) after reopen: err = %v, want ErrObjectNotFound", err)
	}
	if _, err := s2.GetBucket(ctx, "gone"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("GetBucket(gone) after reopen: err = %v, want ErrBucketNotFound", err)
	}
	page, err := s2.ListObjects(ctx, "keep", meta.ListOptions{})
	if err != nil {
		t.Fatalf("ListObjects after reopen: %v", err)
	}
	if got, want := pageKeys(page), []string{"done", "inline/ü", "over", "segments", "tagged"}; !slices.Equal(got, want) {
		t.Errorf("ListObjects after reopen = %q, want %q", got, want)
	}
	for blob, want := range map[string]bool{"blob-kept": true, "blob-new": true, "blob-old": false, "blob-deleted": false} {
		checkBlobInUse(t, s2, blob, want)
	}
	checkUploads(t, s2)
	checkConfigsTags(t, s2)
	checkACLs(t, s2)
	if r, err := s2.GetRecord(ctx, "user", "alice"); err != nil || string(r.Data) != "kept" || r.Rev != recRev {
		t.Errorf("record after reopen = %+v, %v; want revision %d", r, err, recRev)
	}
	CheckUsage(t, s2, "keep")
	// The reopened store must accept writes, and the overwritten record
	// must still be returned as replaced.
	rep, err := PutObj(s2, ctx, segmentObject("keep", "over", "blob-newer", 13), nil)
	if err != nil {
		t.Fatalf("PutObject after reopen: %v", err)
	}
	if rep == nil {
		t.Fatalf("PutObject after reopen replaced nothing, want the record of %q", "over")
	}
	checkObject(t, "replaced after reopen", replacement, *rep, false)
}

type harness struct {
	open Opener
}

// fresh opens a store that is closed when the test ends.
func (h *harness) fresh(t *testing.T) meta.Store {
	t.Helper()
	s := h.open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// freshWithBucket opens a store holding one bucket.
func (h *harness) freshWithBucket(t *testing.T, name string) meta.Store {
	t.Helper()
	s := h.fresh(t)
	mustCreateBucket(t, s, meta.Bucket{Name: name, Owner: "owner", Region: "us-east-1", Created: fixedTime(0)})
	return s
}

func fixedTime(i int) time.Time {
	// Nanoseconds and a non-UTC zone check that time survives exactly.
	return time.Date(2025, 3, 4, 5, 6, 7, 123456789+i, time.FixedZone("X", 3600))
}

func etagOf(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// fullObject is an inline object with every field set.
func fullObject(bucket, key string, gen int) meta.Object {
	data := []byte(fmt.Sprintf("data of %s gen %d", key, gen))
	return meta.Object{
		Bucket:             bucket,
		Key:                key,
		Size:               int64(len(data)),
		ETag:               etagOf(string(data)),
		Modified:           fixedTime(gen),
		ContentType:        "text/plain; charset=utf-8",
		ContentEncoding:    "gzip",
		ContentDisposition: `attachment; filename="a b.txt"`,
		ContentLanguage:    "de-CH",
		CacheControl:       "max-age=60",
		Expires:            "Wed, 21 Oct 2015 07:28:00 GMT",
		UserMeta:           map[string]string{"color": "blue", "empty": "", "ünï": "cöde\x00x"},
		Checksums:          map[string]string{"CRC32": "AAAAAA==", "SHA256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
		StorageClass:       "STANDARD",
		Tags:               map[string]string{"project": "coffer", "empty": "", "ü k": "a=b&c\x00"},
		Inline:             data,
	}
}

// segmentObject is an object whose bytes live in one blob.
func segmentObject(bucket, key, blob string, gen int) meta.Object {
	return meta.Object{
		Bucket:       bucket,
		Key:          key,
		Size:         1 << 20,
		ETag:         etagOf(fmt.Sprintf("%s/%s/%d", bucket, key, gen)),
		Modified:     fixedTime(gen),
		ContentType:  "application/octet-stream",
		UserMeta:     map[string]string{"gen": fmt.Sprint(gen)},
		StorageClass: "STANDARD",
		Segments:     []meta.Segment{{BlobID: blob, Size: 1 << 20}},
	}
}

func mustCreateBucket(t *testing.T, s meta.Store, b meta.Bucket) {
	t.Helper()
	if err := s.CreateBucket(context.Background(), b); err != nil {
		t.Fatalf("CreateBucket(%q): %v", b.Name, err)
	}
}

func mustPut(t *testing.T, s meta.Store, o meta.Object, cond *meta.Condition) *meta.Object {
	t.Helper()
	rep, err := PutObj(s, context.Background(), o, cond)
	if err != nil {
		t.Fatalf("PutObject(%q, %q): %v", o.Bucket, o.Key, err)
	}
	return rep
}

func mustGet(t *testing.T, s meta.Store, bucket, key string) meta.Object {
	t.Helper()
	o, err := GetObj(s, context.Background(), bucket, key)
	if err != nil {
		t.Fatalf("GetObject(%q, %q): %v", bucket, key, err)
	}
	return o
}

func checkBlobInUse(t *testing.T, s meta.Store, blob string, want bool) {
	t.Helper()
	got, err := s.BlobInUse(context.Background(), blob)
	if err != nil {
		t.Fatalf("BlobInUse(%q): %v", blob, err)
	}
	if got != want {
		t.Errorf("BlobInUse(%q) = %v, want %v", blob, got, want)
	}
}

func checkBucket(t *testing.T, want, got meta.Bucket) {
	t.Helper()
	if got.Name != want.Name || got.Owner != want.Owner || got.Region != want.Region || !got.Created.Equal(want.Created) {
		t.Errorf("bucket = %+v, want %+v", got, want)
	}
}

// checkObject compares every field. Times compare with Equal (zones and
// monotonic readings need not survive); nil and empty maps, slices and
// inline bytes are the same. withInline=false requires Inline to be empty,
// as in listings and in records returned by PutObject and DeleteObject.
func checkObject(t *testing.T, what string, want, got meta.Object, withInline bool) {
	t.Helper()
	var diffs []string
	add := func(field string, w, g any) {
		diffs = append(diffs, fmt.Sprintf("%s = %q, want %q", field, g, w))
	}
	if got.Bucket != want.Bucket {
		add("Bucket", want.Bucket, got.Bucket)
	}
	if got.Key != want.Key {
		add("Key", want.Key, got.Key)
	}
	if got.Size != want.Size {
		diffs = append(diffs, fmt.Sprintf("Size = %d, want %d", got.Size, want.Size))
	}
	if got.ETag != want.ETag {
		add("ETag", want.ETag, got.ETag)
	}
	if !got.Modified.Equal(want.Modified) {
		diffs = append(diffs, fmt.Sprintf("Modified = %v, want %v", got.Modified, want.Modified))
	}
	for _, f := range [][3]string{
		{"ContentType", want.ContentType, got.ContentType},
		{"ContentEncoding", want.ContentEncoding, got.ContentEncoding},
		{"ContentDisposition", want.ContentDisposition, got.ContentDisposition},
		{"ContentLanguage", want.ContentLanguage, got.ContentLanguage},
		{"CacheControl", want.CacheControl, got.CacheControl},
		{"Expires", want.Expires, got.Expires},
		{"StorageClass", want.StorageClass, got.StorageClass},
	} {
		if f[1] != f[2] {
			add(f[0], f[1], f[2])
		}
	}
	if !maps.Equal(got.UserMeta, want.UserMeta) {
		diffs = append(diffs, fmt.Sprintf("UserMeta = %q, want %q", got.UserMeta, want.UserMeta))
	}
	if !maps.Equal(got.Checksums, want.Checksums) {
		diffs = append(diffs, fmt.Sprintf("Checksums = %q, want %q", got.Checksums, want.Checksums))
	}
	if !maps.Equal(got.Tags, want.Tags) {
		diffs = append(diffs, fmt.Sprintf("Tags = %q, want %q", got.Tags, want.Tags))
	}
	if string(got.ACL) != string(want.ACL) {
		add("ACL", want.ACL, got.ACL)
	}
	if got.ChecksumType != want.ChecksumType {
		add("ChecksumType", want.ChecksumType, got.ChecksumType)
	}
	if got.UploadID != want.UploadID {
		add("UploadID", want.UploadID, got.UploadID)
	}
	if got.PartsCount != want.PartsCount {
		diffs = append(diffs, fmt.Sprintf("PartsCount = %d, want %d", got.PartsCount, want.PartsCount))
	}
	if !slices.Equal(got.Segments, want.Segments) {
		diffs = append(diffs, fmt.Sprintf("Segments = %+v, want %+v", got.Segments, want.Segments))
	}
	wantInline := want.Inline
	if !withInline {
		wantInline = nil
	}
	if string(got.Inline) != string(wantInline) {
		add("Inline", wantInline, got.Inline)
	}
	for _, d := range diffs {
		t.Errorf("%s: object %q: %s", what, want.Key, d)
	}
}

func pageKeys(p meta.ListPage) []string {
	keys := make([]string, 0, len(p.Objects))
	for _, o := range p.Objects {
		keys = append(keys, o.Key)
	}
	return keys
}
