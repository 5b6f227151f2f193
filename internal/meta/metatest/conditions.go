package metatest

import (
	"context"
	"errors"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
)

func (h *harness) testConditionsPut(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	v1 := segmentObject("b", "k", "blob-1", 1)
	if rep := mustPut(t, s, v1, &meta.Condition{IfNoneMatch: true}); rep != nil {
		t.Fatalf("IfNoneMatch put of a new key replaced %+v", *rep)
	}
	refused := []struct {
		name string
		cond meta.Condition
	}{
		{"IfNoneMatch on existing key", meta.Condition{IfNoneMatch: true}},
		{"IfMatch with another ETag", meta.Condition{IfMatch: etagOf("other")}},
		{"IfMatch with a quoted ETag", meta.Condition{IfMatch: `"` + v1.ETag + `"`}},
		{"IfMatch and IfNoneMatch", meta.Condition{IfMatch: v1.ETag, IfNoneMatch: true}},
	}
	for i, tc := range refused {
		o := segmentObject("b", "k", "blob-refused", 10+i)
		cond := tc.cond
		if _, err := PutObj(s, ctx, o, &cond); !errors.Is(err, meta.ErrPreconditionFailed) {
			t.Errorf("%s: err = %v, want ErrPreconditionFailed", tc.name, err)
		}
		checkObject(t, tc.name+": record after refused put", v1, mustGet(t, s, "b", "k"), true)
	}
	checkBlobInUse(t, s, "blob-refused", false)

	v2 := segmentObject("b", "k", "blob-2", 2)
	rep := mustPut(t, s, v2, &meta.Condition{IfMatch: v1.ETag})
	if rep == nil {
		t.Fatal("IfMatch put returned no replaced record")
	}
	checkObject(t, "replaced by IfMatch put", v1, *rep, false)
	checkObject(t, "after IfMatch put", v2, mustGet(t, s, "b", "k"), true)

	// IfMatch needs a current version to match.
	if _, err := PutObj(s, ctx, segmentObject("b", "absent", "blob-3", 3), &meta.Condition{IfMatch: v1.ETag}); !errors.Is(err, meta.ErrPreconditionFailed) {
		t.Errorf("IfMatch put of a missing key: err = %v, want ErrPreconditionFailed", err)
	}
	if _, err := GetObj(s, ctx, "b", "absent"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Errorf("refused IfMatch put created the key: err = %v", err)
	}
	// An empty condition constrains nothing.
	if rep := mustPut(t, s, segmentObject("b", "k", "blob-4", 4), &meta.Condition{}); rep == nil {
		t.Error("put with an empty condition returned no replaced record")
	}
}

func (h *harness) testConditionsDelete(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	v1 := segmentObject("b", "k", "blob-1", 1)
	mustPut(t, s, v1, nil)
	for _, cond := range []meta.Condition{{IfMatch: etagOf("other")}, {IfNoneMatch: true}} {
		if _, err := DelObj(s, ctx, "b", "k", &cond); !errors.Is(err, meta.ErrPreconditionFailed) {
			t.Errorf("DeleteObject(%+v) err = %v, want ErrPreconditionFailed", cond, err)
		}
		checkObject(t, "after refused delete", v1, mustGet(t, s, "b", "k"), true)
	}
	checkBlobInUse(t, s, "blob-1", true)
	got, err := DelObj(s, ctx, "b", "k", &meta.Condition{IfMatch: v1.ETag})
	if err != nil {
		t.Fatalf("DeleteObject(IfMatch current): %v", err)
	}
	checkObject(t, "deleted record", v1, got, false)
	// The contract's "a missing key returns ErrObjectNotFound" is read as
	// taking precedence over a condition (S3 answers 404 here too).
	if _, err := DelObj(s, ctx, "b", "k", &meta.Condition{IfMatch: v1.ETag}); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Errorf("conditional DeleteObject(missing) err = %v, want ErrObjectNotFound", err)
	}
}

func (h *harness) testBlobInUse(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	// Ids where a prefix match would wrongly find another id's reference.
	mustPut(t, s, segmentObject("b", "k", "blob-1", 1), nil)
	checkBlobInUse(t, s, "blob-1", true)
	for _, id := range []string{"blob-", "blob-10", "blob-1\x00", "blob", ""} {
		checkBlobInUse(t, s, id, false)
	}
	rep := mustPut(t, s, segmentObject("b", "k", "blob-2", 2), nil)
	if rep == nil || len(rep.Segments) != 1 || rep.Segments[0].BlobID != "blob-1" {
		t.Fatalf("overwrite replaced %+v, want the record holding blob-1", rep)
	}
	checkBlobInUse(t, s, "blob-1", false)
	checkBlobInUse(t, s, "blob-2", true)

	// Inline replacing a blob record drops the reference too.
	mustPut(t, s, fullObject("b", "k", 3), nil)
	checkBlobInUse(t, s, "blob-2", false)

	parts := meta.Object{Bucket: "b", Key: "mp", Size: 3, ETag: etagOf("mp") + "-3", Modified: fixedTime(4),
		Segments: []meta.Segment{{BlobID: "p-1", Size: 1}, {BlobID: "p-2", Size: 1}, {BlobID: "p-3", Size: 1}}}
	mustPut(t, s, parts, nil)
	for _, id := range []string{"p-1", "p-2", "p-3"} {
		checkBlobInUse(t, s, id, true)
	}
	got, err := DelObj(s, ctx, "b", "mp", nil)
	if err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	checkObject(t, "deleted multipart record", parts, got, false)
	for _, id := range []string{"p-1", "p-2", "p-3"} {
		checkBlobInUse(t, s, id, false)
	}

	// The same id in two buckets is one blob, in use while either refers to it.
	mustCreateBucket(t, s, meta.Bucket{Name: "c", Owner: "o", Created: fixedTime(0)})
	mustPut(t, s, segmentObject("b", "x", "blob-x", 5), nil)
	mustPut(t, s, segmentObject("c", "x", "blob-x", 5), nil)
	if _, err := DelObj(s, ctx, "b", "x", nil); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	checkBlobInUse(t, s, "blob-x", true)
	if _, err := DelObj(s, ctx, "c", "x", nil); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	checkBlobInUse(t, s, "blob-x", false)
}

// testSharedBlobs pins "blobs still referenced by another record are never
// returned this way": a record that leaves the store (replaced or deleted)
// comes back without the segments whose blobs another record still holds,
// so that releasing what is returned never frees a live blob.
func (h *harness) testSharedBlobs(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	a := segmentObject("b", "a", "shared", 1)
	b := segmentObject("b", "b", "shared", 2)
	mustPut(t, s, a, nil)
	mustPut(t, s, b, nil)

	// Replacing a: "shared" is still b's, so it is not returned.
	rep := mustPut(t, s, segmentObject("b", "a", "own-a", 3), nil)
	if rep == nil {
		t.Fatal("overwrite returned no replaced record")
	}
	wantA := a
	wantA.Segments = nil
	checkObject(t, "replaced record sharing a blob", wantA, *rep, false)
	checkBlobInUse(t, s, "shared", true)

	// A metadata-only rewrite keeps the blob: the new record holds it.
	b2 := b
	b2.ContentType = "text/plain"
	b2.Modified = fixedTime(4)
	rep = mustPut(t, s, b2, nil)
	if rep == nil {
		t.Fatal("rewrite returned no replaced record")
	}
	wantB := b
	wantB.Segments = nil
	checkObject(t, "replaced record whose blob the new one keeps", wantB, *rep, false)
	checkBlobInUse(t, s, "shared", true)

	// Deleting the last holder returns the blob.
	mustPut(t, s, segmentObject("b", "c", "shared", 5), nil)
	got, err := DelObj(s, ctx, "b", "b", nil)
	if err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	wantB2 := b2
	wantB2.Segments = nil
	checkObject(t, "deleted record sharing a blob", wantB2, got, false)
	got, err = DelObj(s, ctx, "b", "c", nil)
	if err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	checkObject(t, "deleted last holder", segmentObject("b", "c", "shared", 5), got, false)
	checkBlobInUse(t, s, "shared", false)
	checkBlobInUse(t, s, "own-a", true)
}
