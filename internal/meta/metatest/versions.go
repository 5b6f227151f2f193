package metatest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
)

// Versioning checks: the version list of a key, null versions, delete
// markers, permanent deletes, and listing every version.

func setVersioning(t *testing.T, s meta.Store, bucket, state string) {
	t.Helper()
	b, err := s.UpdateBucket(context.Background(), bucket, func(b *meta.Bucket) error {
		b.Versioning = state
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateBucket(%q, versioning %s): %v", bucket, state, err)
	}
	if b.Versioning != state {
		t.Fatalf("UpdateBucket returned versioning %q, want %q", b.Versioning, state)
	}
}

func putVersion(t *testing.T, s meta.Store, o meta.Object) meta.PutResult {
	t.Helper()
	res, err := s.PutObject(context.Background(), o, meta.PutOptions{})
	if err != nil {
		t.Fatalf("PutObject(%q): %v", o.Key, err)
	}
	return res
}

func getVersion(t *testing.T, s meta.Store, bucket, key, id string) meta.Object {
	t.Helper()
	o, err := s.GetObject(context.Background(), bucket, key, id)
	if err != nil {
		t.Fatalf("GetObject(%q, version %q): %v", key, id, err)
	}
	return o
}

// allVersions lists every version of the bucket in one call.
func allVersions(t *testing.T, s meta.Store, bucket string) []meta.Object {
	t.Helper()
	p, err := s.ListObjectVersions(context.Background(), bucket, meta.VersionListOptions{Limit: 10000})
	if err != nil {
		t.Fatalf("ListObjectVersions: %v", err)
	}
	if p.Truncated {
		t.Fatalf("ListObjectVersions truncated at %d versions", len(p.Versions))
	}
	return p.Versions
}

// versionIDs renders versions as "key@id" plus "*" for the latest and "x"
// for delete markers, which makes failures readable.
func versionIDs(vs []meta.Object) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		s := v.Key + "@" + v.VersionID
		if v.IsLatest {
			s += "*"
		}
		if v.DeleteMarker {
			s += "x"
		}
		out = append(out, s)
	}
	return out
}

func wantVersions(t *testing.T, what string, got []meta.Object, want ...string) {
	t.Helper()
	if g := versionIDs(got); !slices.Equal(g, want) {
		t.Errorf("%s: versions = %q, want %q", what, g, want)
	}
}

func (h *harness) testVersionsNull(t *testing.T) {
	s := h.freshWithBucket(t, "b")
	res := putVersion(t, s, segmentObject("b", "k", "blob-1", 1))
	if res.VersionID != meta.NullVersion || res.Replaced != nil {
		t.Fatalf("PutObject in an unversioned bucket = %+v, want version null, nothing replaced", res)
	}
	o := getVersion(t, s, "b", "k", "")
	if o.VersionID != meta.NullVersion || !o.IsLatest {
		t.Errorf("GetObject = version %q latest %v, want null and latest", o.VersionID, o.IsLatest)
	}
	checkObject(t, "by version id null", segmentObject("b", "k", "blob-1", 1), getVersion(t, s, "b", "k", meta.NullVersion), true)
	wantVersions(t, "unversioned", allVersions(t, s, "b"), "k@null*")
	if _, err := s.GetObject(context.Background(), "b", "k", "0000000000000001"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Errorf("GetObject(unknown version) err = %v, want ErrObjectNotFound", err)
	}
	b, err := s.GetBucket(context.Background(), "b")
	if err != nil || b.Versioning != "" || b.ObjectLock {
		t.Errorf("new bucket = %+v, %v; want versioning unset, no object lock", b, err)
	}
}

func (h *harness) testVersionsEnabled(t *testing.T) {
	s := h.freshWithBucket(t, "b")
	ctx := context.Background()
	setVersioning(t, s, "b", meta.VersioningEnabled)
	if b, err := s.GetBucket(ctx, "b"); err != nil || b.Versioning != meta.VersioningEnabled {
		t.Fatalf("GetBucket after enabling = %+v, %v", b, err)
	}
	var ids []string
	for i := 1; i <= 3; i++ {
		res := putVersion(t, s, segmentObject("b", "k", fmt.Sprintf("blob-%d", i), i))
		if res.VersionID == "" || res.VersionID == meta.NullVersion || slices.Contains(ids, res.VersionID) {
			t.Fatalf("version %d got id %q (earlier %q): want a fresh non-null id", i, res.VersionID, ids)
		}
		if res.Replaced != nil {
			t.Fatalf("PutObject with versioning enabled replaced %+v, want nothing (the old version stays)", *res.Replaced)
		}
		ids = append(ids, res.VersionID)
	}
	latest := getVersion(t, s, "b", "k", "")
	if latest.VersionID != ids[2] || !latest.IsLatest {
		t.Errorf("latest = %q (latest %v), want %q", latest.VersionID, latest.IsLatest, ids[2])
	}
	for i, id := range ids {
		got := getVersion(t, s, "b", "k", id)
		checkObject(t, "version "+id, segmentObject("b", "k", fmt.Sprintf("blob-%d", i+1), i+1), got, true)
		if got.VersionID != id || got.IsLatest != (i == 2) {
			t.Errorf("version %d = id %q latest %v", i, got.VersionID, got.IsLatest)
		}
		checkBlobInUse(t, s, fmt.Sprintf("blob-%d", i+1), true)
	}
	wantVersions(t, "three versions", allVersions(t, s, "b"), "k@"+ids[2]+"*", "k@"+ids[1], "k@"+ids[0])
	page, err := s.ListObjects(ctx, "b", meta.ListOptions{})
	if err != nil || len(page.Objects) != 1 || page.Objects[0].VersionID != ids[2] {
		t.Errorf("ListObjects = %+v, %v; want only the latest version", page.Objects, err)
	}
	// Inline versions keep their own bytes when they become noncurrent.
	a, bb := fullObject("b", "in", 1), fullObject("b", "in", 2)
	r1, r2 := putVersion(t, s, a), putVersion(t, s, bb)
	checkObject(t, "old inline version", a, getVersion(t, s, "b", "in", r1.VersionID), true)
	checkObject(t, "new inline version", bb, getVersion(t, s, "b", "in", r2.VersionID), true)
	if err := s.DeleteBucket(ctx, "b"); !errors.Is(err, meta.ErrBucketNotEmpty) {
		t.Errorf("DeleteBucket with versions err = %v, want ErrBucketNotEmpty", err)
	}
}

func (h *harness) testVersionsDeleteMarker(t *testing.T) {
	s := h.freshWithBucket(t, "b")
	ctx := context.Background()
	setVersioning(t, s, "b", meta.VersioningEnabled)
	v1 := putVersion(t, s, segmentObject("b", "k", "blob-1", 1)).VersionID
	del, err := s.DeleteObject(ctx, "b", "k", meta.DeleteOptions{})
	if err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	if !del.DeleteMarker || del.VersionID == "" || del.VersionID == v1 || del.Removed != nil {
		t.Fatalf("DeleteObject = %+v, want a new delete marker and nothing removed", del)
	}
	checkBlobInUse(t, s, "blob-1", true)
	for _, id := range []string{"", del.VersionID} {
		m, err := s.GetObject(ctx, "b", "k", id)
		if !errors.Is(err, meta.ErrObjectNotFound) || !errors.Is(err, meta.ErrDeleteMarker) {
			t.Errorf("GetObject(version %q) err = %v, want ErrObjectNotFound and ErrDeleteMarker", id, err)
		}
		if !m.DeleteMarker || m.VersionID != del.VersionID || !m.IsLatest {
			t.Errorf("GetObject(version %q) record = %+v, want the latest marker", id, m)
		}
	}
	if _, err := s.UpdateObject(ctx, "b", "k", "", meta.UpdateOptions{}, func(*meta.Object) error { return nil }); !errors.Is(err, meta.ErrDeleteMarker) {
		t.Errorf("UpdateObject(latest is a marker) err = %v, want ErrDeleteMarker", err)
	}
	getVersion(t, s, "b", "k", v1)
	page, err := s.ListObjects(ctx, "b", meta.ListOptions{})
	if err != nil || len(page.Objects) != 0 {
		t.Errorf("ListObjects with the key deleted = %q, %v; want none", pageKeys(page), err)
	}
	wantVersions(t, "after delete", allVersions(t, s, "b"), "k@"+del.VersionID+"*x", "k@"+v1)
	// A conditional delete sees the marker as no version.
	if _, err := s.DeleteObject(ctx, "b", "k", meta.DeleteOptions{Cond: &meta.Condition{IfMatch: etagOf("b/k/1")}}); !errors.Is(err, meta.ErrPreconditionFailed) {
		t.Errorf("DeleteObject(IfMatch, latest is a marker) err = %v, want ErrPreconditionFailed", err)
	}
	if _, err := s.PutObject(ctx, segmentObject("b", "k", "blob-x", 9), meta.PutOptions{Cond: &meta.Condition{IfNoneMatch: true}}); err != nil {
		t.Fatalf("PutObject(IfNoneMatch) over a delete marker: %v", err)
	}
	v2 := getVersion(t, s, "b", "k", "").VersionID
	// Removing the marker, now noncurrent, changes nothing else.
	rm, err := s.DeleteObject(ctx, "b", "k", meta.DeleteOptions{VersionID: del.VersionID})
	if err != nil || !rm.DeleteMarker || rm.VersionID != del.VersionID {
		t.Fatalf("DeleteObject(marker version) = %+v, %v", rm, err)
	}
	wantVersions(t, "marker removed", allVersions(t, s, "b"), "k@"+v2+"*", "k@"+v1)

	// A delete marker for a key that never existed.
	ghost, err := s.DeleteObject(ctx, "b", "never", meta.DeleteOptions{})
	if err != nil || !ghost.DeleteMarker {
		t.Fatalf("DeleteObject(missing key, versioning on) = %+v, %v; want a delete marker", ghost, err)
	}
	wantVersions(t, "ghost marker", allVersions(t, s, "b"), "k@"+v2+"*", "k@"+v1, "never@"+ghost.VersionID+"*x")
	// The latest marker removed: the next version, a real one, is current again.
	m2, err := s.DeleteObject(ctx, "b", "k", meta.DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteObject(ctx, "b", "k", meta.DeleteOptions{VersionID: m2.VersionID}); err != nil {
		t.Fatal(err)
	}
	if got := getVersion(t, s, "b", "k", ""); got.VersionID != v2 || !got.IsLatest {
		t.Errorf("after removing the latest marker, latest = %q, want %q", got.VersionID, v2)
	}
	if page, _ := s.ListObjects(ctx, "b", meta.ListOptions{}); !slices.Equal(pageKeys(page), []string{"k"}) {
		t.Errorf("ListObjects after removing the marker = %q, want [k]", pageKeys(page))
	}
}

func (h *harness) testVersionsDeletePermanent(t *testing.T) {
	s := h.freshWithBucket(t, "b")
	ctx := context.Background()
	setVersioning(t, s, "b", meta.VersioningEnabled)
	var ids []string
	for i := 1; i <= 3; i++ {
		ids = append(ids, putVersion(t, s, segmentObject("b", "k", fmt.Sprintf("blob-%d", i), i)).VersionID)
	}
	// The middle version.
	res, err := s.DeleteObject(ctx, "b", "k", meta.DeleteOptions{VersionID: ids[1]})
	if err != nil || res.VersionID != ids[1] || res.DeleteMarker || res.Removed == nil {
		t.Fatalf("DeleteObject(middle version) = %+v, %v", res, err)
	}
	checkObject(t, "removed middle", segmentObject("b", "k", "blob-2", 2), *res.Removed, false)
	checkBlobInUse(t, s, "blob-2", false)
	// The current version: the next one becomes current.
	if _, err := s.DeleteObject(ctx, "b", "k", meta.DeleteOptions{VersionID: ids[2]}); err != nil {
		t.Fatal(err)
	}
	cur := getVersion(t, s, "b", "k", "")
	checkObject(t, "promoted", segmentObject("b", "k", "blob-1", 1), cur, true)
	if cur.VersionID != ids[0] || !cur.IsLatest {
		t.Errorf("promoted version = %q latest %v, want %q", cur.VersionID, cur.IsLatest, ids[0])
	}
	if page, err := s.ListObjects(ctx, "b", meta.ListOptions{}); err != nil || len(page.Objects) != 1 || page.Objects[0].VersionID != ids[0] {
		t.Errorf("ListObjects after removing the current version = %+v, %v; want the promoted one", page.Objects, err)
	}
	wantVersions(t, "after removals", allVersions(t, s, "b"), "k@"+ids[0]+"*")
	for _, id := range []string{ids[1], "0000000000000001", "not a version id", meta.NullVersion} {
		if _, err := s.DeleteObject(ctx, "b", "k", meta.DeleteOptions{VersionID: id}); !errors.Is(err, meta.ErrObjectNotFound) {
			t.Errorf("DeleteObject(version %q) err = %v, want ErrObjectNotFound", id, err)
		}
		if _, err := s.GetObject(ctx, "b", "k", id); !errors.Is(err, meta.ErrObjectNotFound) || errors.Is(err, meta.ErrDeleteMarker) {
			t.Errorf("GetObject(version %q) err = %v, want ErrObjectNotFound only", id, err)
		}
	}
	if _, err := s.DeleteObject(ctx, "b", "k", meta.DeleteOptions{VersionID: ids[0]}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucket(ctx, "b"); err != nil {
		t.Errorf("DeleteBucket after removing every version: %v", err)
	}
}

// testVersionsSuspended follows AWS's documented null-version semantics:
// an object from before versioning is the null version; with versioning
// suspended every write replaces the null version, wherever it is in the
// list, and a delete replaces it with a null delete marker.
func (h *harness) testVersionsSuspended(t *testing.T) {
	s := h.freshWithBucket(t, "b")
	ctx := context.Background()
	putVersion(t, s, segmentObject("b", "k", "blob-null-1", 1))
	setVersioning(t, s, "b", meta.VersioningEnabled)
	v1 := putVersion(t, s, segmentObject("b", "k", "blob-v1", 2)).VersionID
	wantVersions(t, "null then v1", allVersions(t, s, "b"), "k@"+v1+"*", "k@null")
	checkObject(t, "old null version", segmentObject("b", "k", "blob-null-1", 1), getVersion(t, s, "b", "k", meta.NullVersion), true)

	setVersioning(t, s, "b", meta.VersioningSuspended)
	res := putVersion(t, s, segmentObject("b", "k", "blob-null-2", 3))
	if res.VersionID != meta.NullVersion || res.Replaced == nil {
		t.Fatalf("PutObject while suspended = %+v, want version null replacing the old null version", res)
	}
	checkObject(t, "replaced null", segmentObject("b", "k", "blob-null-1", 1), *res.Replaced, false)
	checkBlobInUse(t, s, "blob-null-1", false)
	wantVersions(t, "suspended put", allVersions(t, s, "b"), "k@null*", "k@"+v1)

	// Again: now the null version is the current one.
	res = putVersion(t, s, segmentObject("b", "k", "blob-null-3", 4))
	if res.Replaced == nil || res.Replaced.Segments[0].BlobID != "blob-null-2" {
		t.Fatalf("second suspended put replaced %+v, want the record of blob-null-2", res.Replaced)
	}
	wantVersions(t, "suspended put again", allVersions(t, s, "b"), "k@null*", "k@"+v1)

	del, err := s.DeleteObject(ctx, "b", "k", meta.DeleteOptions{})
	if err != nil || !del.DeleteMarker || del.VersionID != meta.NullVersion || del.Removed == nil {
		t.Fatalf("DeleteObject while suspended = %+v, %v; want a null marker replacing the null version", del, err)
	}
	checkBlobInUse(t, s, "blob-null-3", false)
	wantVersions(t, "suspended delete", allVersions(t, s, "b"), "k@null*x", "k@"+v1)
	if _, err := s.GetObject(ctx, "b", "k", meta.NullVersion); !errors.Is(err, meta.ErrDeleteMarker) {
		t.Errorf("GetObject(null, a marker) err = %v, want ErrDeleteMarker", err)
	}
	// A put replaces the null marker too.
	res = putVersion(t, s, segmentObject("b", "k", "blob-null-4", 5))
	if res.Replaced == nil || !res.Replaced.DeleteMarker {
		t.Errorf("suspended put over a null marker replaced %+v, want the marker", res.Replaced)
	}
	wantVersions(t, "put over null marker", allVersions(t, s, "b"), "k@null*", "k@"+v1)

	// Re-enabled: the null version becomes an ordinary noncurrent version.
	setVersioning(t, s, "b", meta.VersioningEnabled)
	v2 := putVersion(t, s, segmentObject("b", "k", "blob-v2", 6)).VersionID
	wantVersions(t, "re-enabled", allVersions(t, s, "b"), "k@"+v2+"*", "k@null", "k@"+v1)
	if _, err := s.DeleteObject(ctx, "b", "k", meta.DeleteOptions{VersionID: meta.NullVersion}); err != nil {
		t.Fatalf("DeleteObject(version null): %v", err)
	}
	checkBlobInUse(t, s, "blob-null-4", false)
	wantVersions(t, "null removed", allVersions(t, s, "b"), "k@"+v2+"*", "k@"+v1)
}

// testVersionsList pages through many versions with small pages, every
// combination of markers, and checks the pages against one full listing
// built from the writes.
func (h *harness) testVersionsList(t *testing.T) {
	s := h.freshWithBucket(t, "b")
	ctx := context.Background()
	setVersioning(t, s, "b", meta.VersioningEnabled)
	type ver struct {
		key, id string
		marker  bool
	}
	byKey := map[string][]ver{} // newest first
	keys := []string{"a", "a/1", "a/2", "b", "b/x/1", "c\x00", "c", "d"}
	for round := 0; round < 3; round++ {
		for i, k := range keys {
			var v ver
			if (round+i)%4 == 3 {
				res, err := s.DeleteObject(ctx, "b", k, meta.DeleteOptions{})
				if err != nil {
					t.Fatal(err)
				}
				v = ver{k, res.VersionID, true}
			} else {
				v = ver{k, putVersion(t, s, segmentObject("b", k, fmt.Sprintf("blob-%s-%d", k, round), round)).VersionID, false}
			}
			byKey[k] = append([]ver{v}, byKey[k]...)
		}
	}
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	var want []string
	for _, k := range sorted {
		for i, v := range byKey[k] {
			s := k + "@" + v.id
			if i == 0 {
				s += "*"
			}
			if v.marker {
				s += "x"
			}
			want = append(want, s)
		}
	}
	wantVersions(t, "full listing", allVersions(t, s, "b"), want...)

	for _, limit := range []int{1, 2, 3, 5} {
		var got []meta.Object
		opts := meta.VersionListOptions{Limit: limit}
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatalf("limit %d: no end after 100 pages", limit)
			}
			p, err := s.ListObjectVersions(ctx, "b", opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Versions) > limit || (p.Truncated && len(p.Versions) == 0) {
				t.Fatalf("limit %d: page of %d, truncated %v", limit, len(p.Versions), p.Truncated)
			}
			got = append(got, p.Versions...)
			if !p.Truncated {
				break
			}
			last := p.Versions[len(p.Versions)-1]
			if p.NextKeyMarker != last.Key || p.NextVersionIDMarker != last.VersionID {
				t.Fatalf("limit %d: next markers %q/%q, want the last entry %q/%q", limit, p.NextKeyMarker, p.NextVersionIDMarker, last.Key, last.VersionID)
			}
			opts.KeyMarker, opts.VersionIDMarker = p.NextKeyMarker, p.NextVersionIDMarker
		}
		wantVersions(t, fmt.Sprintf("paged by %d", limit), got, want...)
	}

	// A key marker alone skips every version of that key.
	p, err := s.ListObjectVersions(ctx, "b", meta.VersionListOptions{KeyMarker: "c", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range p.Versions {
		if v.Key <= "c" {
			t.Errorf("KeyMarker c returned %q", v.Key)
		}
	}
	// Delimiter and prefix roll keys up, and a marker inside a rolled-up
	// prefix skips it.
	p, err = s.ListObjectVersions(ctx, "b", meta.VersionListOptions{Delimiter: "/", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.CommonPrefixes, []string{"a/", "b/"}) {
		t.Errorf("CommonPrefixes = %q, want [a/ b/]", p.CommonPrefixes)
	}
	for _, v := range p.Versions {
		if v.Key != "a" && v.Key != "b" && v.Key != "c" && v.Key != "c\x00" && v.Key != "d" {
			t.Errorf("delimiter listing returned %q", v.Key)
		}
	}
	p, err = s.ListObjectVersions(ctx, "b", meta.VersionListOptions{Prefix: "b/", Delimiter: "/", Limit: 1000})
	if err != nil || len(p.Versions) != 0 || !slices.Equal(p.CommonPrefixes, []string{"b/x/"}) {
		t.Errorf("prefix b/ = %q %q, %v; want only b/x/", versionIDs(p.Versions), p.CommonPrefixes, err)
	}
	p, err = s.ListObjectVersions(ctx, "b", meta.VersionListOptions{Delimiter: "/", KeyMarker: "a/1", Limit: 1000})
	if err != nil || slices.Contains(p.CommonPrefixes, "a/") {
		t.Errorf("marker inside a/ = prefixes %q, %v; want a/ skipped", p.CommonPrefixes, err)
	}
	// An unknown version-id marker starts at the next key.
	p, err = s.ListObjectVersions(ctx, "b", meta.VersionListOptions{KeyMarker: "a", VersionIDMarker: "0000000000000001", Limit: 1})
	if err != nil || len(p.Versions) != 1 || p.Versions[0].Key != "a/1" {
		t.Errorf("unknown version marker = %q, %v; want the first version of a/1", versionIDs(p.Versions), err)
	}
	if _, err := s.ListObjectVersions(ctx, "nob", meta.VersionListOptions{}); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("ListObjectVersions(missing bucket) err = %v", err)
	}
}

// testVersionsUpdate: tags, retention and legal hold of one version change
// without touching the others.
func (h *harness) testVersionsUpdate(t *testing.T) {
	s := h.freshWithBucket(t, "b")
	ctx := context.Background()
	setVersioning(t, s, "b", meta.VersioningEnabled)
	v1 := putVersion(t, s, fullObject("b", "k", 1)).VersionID
	v2 := putVersion(t, s, fullObject("b", "k", 2)).VersionID
	until := fixedTime(50).UTC()
	got, err := s.UpdateObject(ctx, "b", "k", v1, meta.UpdateOptions{}, func(o *meta.Object) error {
		o.Tags = map[string]string{"old": "yes"}
		o.Retention = meta.Retention{Mode: meta.LockGovernance, Until: until}
		o.LegalHold = true
		o.ETag = "ignored" // only tags and lock fields may change
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateObject(v1): %v", err)
	}
	if got.VersionID != v1 || got.IsLatest || got.ETag == "ignored" {
		t.Errorf("UpdateObject returned %+v", got)
	}
	o1 := getVersion(t, s, "b", "k", v1)
	want := fullObject("b", "k", 1)
	want.Tags = map[string]string{"old": "yes"}
	checkObject(t, "updated v1", want, o1, true)
	if !o1.LegalHold || o1.Retention.Mode != meta.LockGovernance || !o1.Retention.Until.Equal(until) {
		t.Errorf("v1 lock = %+v hold %v", o1.Retention, o1.LegalHold)
	}
	checkObject(t, "untouched v2", fullObject("b", "k", 2), getVersion(t, s, "b", "k", v2), true)
	boom := errors.New("boom")
	if _, err := s.UpdateObject(ctx, "b", "k", "", meta.UpdateOptions{}, func(*meta.Object) error { return boom }); err != boom {
		t.Errorf("UpdateObject with a failing fn err = %v, want it returned as is", err)
	}
	if _, err := s.UpdateObject(ctx, "b", "k", "", meta.UpdateOptions{Cond: &meta.Condition{IfMatch: "nope"}}, func(*meta.Object) error { return nil }); !errors.Is(err, meta.ErrPreconditionFailed) {
		t.Errorf("UpdateObject(IfMatch wrong) err = %v", err)
	}
	if _, err := s.UpdateObject(ctx, "b", "k", "0000000000000001", meta.UpdateOptions{}, func(*meta.Object) error { return nil }); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Errorf("UpdateObject(unknown version) err = %v", err)
	}
	// Versioning state and object lock survive as bucket fields.
	b, err := s.UpdateBucket(ctx, "b", func(b *meta.Bucket) error { b.ObjectLock = true; b.Owner = "ignored"; return nil })
	if err != nil || !b.ObjectLock || b.Owner == "ignored" || b.Versioning != meta.VersioningEnabled {
		t.Errorf("UpdateBucket(object lock) = %+v, %v", b, err)
	}
	if _, err := s.UpdateBucket(ctx, "nob", func(*meta.Bucket) error { return nil }); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("UpdateBucket(missing) err = %v", err)
	}
}

// testVersionsLock: a version under retention or legal hold cannot be
// removed by any delete, nor replaced as the null version.
func (h *harness) testVersionsLock(t *testing.T) {
	s := h.freshWithBucket(t, "b")
	ctx := context.Background()
	setVersioning(t, s, "b", meta.VersioningEnabled)
	future := fixedTime(0).AddDate(100, 0, 0)
	past := fixedTime(0).AddDate(-1, 0, 0)
	put := func(key string, ret meta.Retention, hold bool) string {
		o := segmentObject("b", key, "blob-"+key, 1)
		o.Retention, o.LegalHold = ret, hold
		return putVersion(t, s, o).VersionID
	}
	comp := put("comp", meta.Retention{Mode: meta.LockCompliance, Until: future}, false)
	gov := put("gov", meta.Retention{Mode: meta.LockGovernance, Until: future}, false)
	hold := put("hold", meta.Retention{}, true)
	old := put("expired", meta.Retention{Mode: meta.LockCompliance, Until: past}, false)
	for _, c := range []struct {
		key, id string
		bypass  bool
		want    error
	}{
		{"comp", comp, false, meta.ErrLocked},
		{"comp", comp, true, meta.ErrLocked},
		{"gov", gov, false, meta.ErrLocked},
		{"hold", hold, true, meta.ErrLocked},
		{"gov", gov, true, nil},
		{"expired", old, false, nil},
	} {
		_, err := s.DeleteObject(ctx, "b", c.key, meta.DeleteOptions{VersionID: c.id, BypassGovernance: c.bypass})
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("DeleteObject(%s, bypass %v) err = %v, want %v", c.key, c.bypass, err, c.want)
		}
	}
	checkBlobInUse(t, s, "blob-comp", true)
	// A delete without a version id only adds a marker, which is allowed.
	if res, err := s.DeleteObject(ctx, "b", "comp", meta.DeleteOptions{}); err != nil || !res.DeleteMarker {
		t.Errorf("DeleteObject(locked key, no version) = %+v, %v; want a marker", res, err)
	}
	// Lifting the hold makes the version removable.
	if _, err := s.UpdateObject(ctx, "b", "hold", hold, meta.UpdateOptions{}, func(o *meta.Object) error { o.LegalHold = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteObject(ctx, "b", "hold", meta.DeleteOptions{VersionID: hold}); err != nil {
		t.Errorf("DeleteObject after lifting the hold: %v", err)
	}
	// A locked null version is not replaced by a suspended-mode write.
	s2 := h.freshWithBucket(t, "n")
	o := segmentObject("n", "k", "blob-n", 1)
	o.LegalHold = true
	putVersion(t, s2, o)
	if _, err := s2.PutObject(ctx, segmentObject("n", "k", "blob-n2", 2), meta.PutOptions{}); !errors.Is(err, meta.ErrLocked) {
		t.Errorf("overwriting a held null version err = %v, want ErrLocked", err)
	}
	if _, err := s2.DeleteObject(ctx, "n", "k", meta.DeleteOptions{}); !errors.Is(err, meta.ErrLocked) {
		t.Errorf("deleting a held null version err = %v, want ErrLocked", err)
	}
	checkObject(t, "held null version", o, getVersion(t, s2, "n", "k", ""), true)
}

// testVersionsRace: concurrent writers to one key in a versioned bucket
// each get their own version; none is lost and exactly one is latest.
func (h *harness) testVersionsRace(t *testing.T) {
	s := h.freshWithBucket(t, "b")
	ctx := context.Background()
	setVersioning(t, s, "b", meta.VersioningEnabled)
	const writers, each = 8, 10
	var mu sync.Mutex
	ids := map[string]bool{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var id string
				if i%3 == 2 {
					res, err := s.DeleteObject(ctx, "b", "k", meta.DeleteOptions{})
					if err != nil {
						t.Error(err)
						return
					}
					id = res.VersionID
				} else {
					res, err := s.PutObject(ctx, segmentObject("b", "k", fmt.Sprintf("blob-%d-%d", w, i), i), meta.PutOptions{})
					if err != nil {
						t.Error(err)
						return
					}
					id = res.VersionID
				}
				mu.Lock()
				if ids[id] {
					t.Errorf("version id %q handed out twice", id)
				}
				ids[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	vs := allVersions(t, s, "b")
	if len(vs) != writers*each {
		t.Fatalf("%d versions, want %d", len(vs), writers*each)
	}
	for i, v := range vs {
		if !ids[v.VersionID] {
			t.Errorf("listed version %q was never returned by a write", v.VersionID)
		}
		if v.IsLatest != (i == 0) {
			t.Errorf("version %d latest = %v", i, v.IsLatest)
		}
	}
	latest, err := s.GetObject(ctx, "b", "k", "")
	if vs[0].DeleteMarker {
		if !errors.Is(err, meta.ErrDeleteMarker) {
			t.Errorf("latest listed is a marker, GetObject err = %v", err)
		}
	} else if err != nil || latest.VersionID != vs[0].VersionID {
		t.Errorf("GetObject latest = %q, %v; listed %q", latest.VersionID, err, vs[0].VersionID)
	}
}
