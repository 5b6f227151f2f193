package metatest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
)

// newUpload is an upload whose template has every attribute set.
func newUpload(bucket, key, id string, gen int) meta.Upload {
	tmpl := fullObject(bucket, key, gen)
	tmpl.Size, tmpl.ETag, tmpl.Inline, tmpl.Checksums = 0, "", nil, nil
	return meta.Upload{
		ID: id, Initiated: fixedTime(gen), Owner: fmt.Sprintf("owner-%d", gen), Object: tmpl,
		ChecksumAlgorithm: "CRC32C", ChecksumType: "COMPOSITE",
	}
}

// newPart is part n stored in blob.
func newPart(n int, blob string) meta.Part {
	return meta.Part{
		Number: n, Size: int64(5<<20 + n), ETag: etagOf(blob), Checksum: fmt.Sprintf("crc-%s==", blob),
		Modified: fixedTime(n), BlobID: blob,
	}
}

// completed is the object a completion of parts (in order) produces.
func completed(bucket, key, id string, parts []meta.Part) meta.Object {
	o := newUpload(bucket, key, id, 1).Object
	o.Modified = fixedTime(99)
	o.ETag = etagOf(fmt.Sprint(bucket, key, id)) + fmt.Sprintf("-%d", len(parts))
	o.Checksums = map[string]string{"CRC32C": "AAAAAA==-2"}
	o.ChecksumType = "COMPOSITE"
	o.UploadID = id
	o.PartsCount = len(parts)
	for _, p := range parts {
		o.Size += p.Size
		o.Segments = append(o.Segments, meta.Segment{BlobID: p.BlobID, Size: p.Size, PartNumber: p.Number, ETag: p.ETag, Checksum: p.Checksum})
	}
	return o
}

func mustCreateUpload(t *testing.T, s meta.Store, u meta.Upload) {
	t.Helper()
	if err := s.CreateUpload(context.Background(), u); err != nil {
		t.Fatalf("CreateUpload(%q/%q %q): %v", u.Object.Bucket, u.Object.Key, u.ID, err)
	}
}

func mustPutPart(t *testing.T, s meta.Store, u meta.Upload, p meta.Part) *meta.Part {
	t.Helper()
	rep, err := s.PutPart(context.Background(), u.Object.Bucket, u.Object.Key, u.ID, p)
	if err != nil {
		t.Fatalf("PutPart(%q, %d): %v", u.ID, p.Number, err)
	}
	return rep
}

func checkUpload(t *testing.T, what string, want, got meta.Upload) {
	t.Helper()
	if got.ID != want.ID || !got.Initiated.Equal(want.Initiated) || got.Owner != want.Owner ||
		got.ChecksumAlgorithm != want.ChecksumAlgorithm || got.ChecksumType != want.ChecksumType {
		t.Errorf("%s: upload = {%q %v %q %q %q}, want {%q %v %q %q %q}", what,
			got.ID, got.Initiated, got.Owner, got.ChecksumAlgorithm, got.ChecksumType,
			want.ID, want.Initiated, want.Owner, want.ChecksumAlgorithm, want.ChecksumType)
	}
	checkObject(t, what+" template", want.Object, got.Object, false)
}

func checkParts(t *testing.T, what string, want, got []meta.Part) {
	t.Helper()
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		g, w := got[i], want[i]
		same = g.Number == w.Number && g.Size == w.Size && g.ETag == w.ETag && g.Checksum == w.Checksum &&
			g.BlobID == w.BlobID && g.Modified.Equal(w.Modified)
	}
	if !same {
		t.Errorf("%s: parts = %+v, want %+v", what, got, want)
	}
}

func byNumber(a, b meta.Part) int { return a.Number - b.Number }

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

// testUploadCreateGet: an upload is found only under its bucket, key and
// ID; it is not an object.
func (h *harness) testUploadCreateGet(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	mustCreateBucket(t, s, meta.Bucket{Name: "b2", Owner: "o", Created: fixedTime(0)})
	keys := []string{"k", "dir/ü/\x00x", "k\x00"}
	for i, k := range keys {
		mustCreateUpload(t, s, newUpload("b", k, fmt.Sprintf("id-%d", i), i))
	}
	for i, k := range keys {
		got, err := s.GetUpload(ctx, "b", k, fmt.Sprintf("id-%d", i))
		if err != nil {
			t.Fatalf("GetUpload(%q): %v", k, err)
		}
		checkUpload(t, "GetUpload", newUpload("b", k, fmt.Sprintf("id-%d", i), i), got)
	}
	for _, c := range [][3]string{{"b", "k", "id-1"}, {"b", "k\x00", "id-0"}, {"b", "K", "id-0"}, {"b2", "k", "id-0"}, {"b", "k", "id"}, {"b", "k", ""}} {
		what := fmt.Sprintf("GetUpload(%q, %q, %q)", c[0], c[1], c[2])
		_, err := s.GetUpload(ctx, c[0], c[1], c[2])
		wantErr(t, what, err, meta.ErrUploadNotFound)
		_, err = s.PutPart(ctx, c[0], c[1], c[2], newPart(1, "stray-"+c[2]))
		wantErr(t, "PutPart "+what, err, meta.ErrUploadNotFound)
		checkBlobInUse(t, s, "stray-"+c[2], false)
		_, _, err = s.ListParts(ctx, c[0], c[1], c[2], 0, 10)
		wantErr(t, "ListParts "+what, err, meta.ErrUploadNotFound)
		_, _, err = CompleteUpload(s, ctx, c[0], c[1], c[2], completed(c[0], c[1], c[2], nil), nil)
		wantErr(t, "CompleteUpload "+what, err, meta.ErrUploadNotFound)
		_, err = s.AbortUpload(ctx, c[0], c[1], c[2])
		wantErr(t, "AbortUpload "+what, err, meta.ErrUploadNotFound)
	}
	_, err := s.GetUpload(ctx, "nobucket", "k", "id-0")
	wantErr(t, "GetUpload(missing bucket)", err, meta.ErrBucketNotFound)
	err = s.CreateUpload(ctx, newUpload("nobucket", "k", "id-9", 9))
	wantErr(t, "CreateUpload(missing bucket)", err, meta.ErrBucketNotFound)
	_, err = s.ListUploads(ctx, "nobucket", meta.UploadListOptions{})
	wantErr(t, "ListUploads(missing bucket)", err, meta.ErrBucketNotFound)

	// An upload is not an object.
	_, err = GetObj(s, ctx, "b", "k")
	wantErr(t, "GetObject(key with an upload)", err, meta.ErrObjectNotFound)
	page, err := s.ListObjects(ctx, "b", meta.ListOptions{})
	if err != nil || len(page.Objects) != 0 {
		t.Errorf("ListObjects with only uploads = %q, %v; want none", pageKeys(page), err)
	}
	// A fresh upload has no parts.
	parts, more, err := s.ListParts(ctx, "b", "k", "id-0", 0, 0)
	if err != nil || len(parts) != 0 || more {
		t.Errorf("ListParts(new upload) = %v, %v, %v; want none", parts, more, err)
	}
}

// testUploadParts: PutPart replaces by number and returns the replaced part;
// ListParts pages in number order.
func (h *harness) testUploadParts(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	u := newUpload("b", "k", "up", 1)
	other := newUpload("b", "k", "up2", 2)
	mustCreateUpload(t, s, u)
	mustCreateUpload(t, s, other)
	nums := []int{10000, 3, 1, 7, 2, 5, 4, 6, 9, 8}
	want := make([]meta.Part, 0, len(nums))
	for _, n := range nums {
		if rep := mustPutPart(t, s, u, newPart(n, fmt.Sprintf("blob-%d", n))); rep != nil {
			t.Fatalf("PutPart(new part %d) replaced %+v", n, rep)
		}
		want = append(want, newPart(n, fmt.Sprintf("blob-%d", n)))
	}
	mustPutPart(t, s, other, newPart(1, "other-1"))
	slices.SortFunc(want, byNumber)

	// Replacing part 3 returns the old record, whose blob is then unused.
	newer := newPart(3, "blob-3-new")
	newer.Size = 1
	rep := mustPutPart(t, s, u, newer)
	if rep == nil {
		t.Fatal("PutPart(existing number) replaced nothing")
	}
	checkParts(t, "replaced part", []meta.Part{newPart(3, "blob-3")}, []meta.Part{*rep})
	want[2] = newer
	checkBlobInUse(t, s, "blob-3", false)
	checkBlobInUse(t, s, "blob-3-new", true)
	checkBlobInUse(t, s, "other-1", true)

	all, more, err := s.ListParts(ctx, "b", "k", "up", 0, 0)
	if err != nil || more {
		t.Fatalf("ListParts(all) more %v, err %v", more, err)
	}
	checkParts(t, "ListParts(all)", want, all)
	for _, limit := range []int{1, 3, 4, 10, 11} {
		var got []meta.Part
		after := 0
		for pages := 0; ; pages++ {
			if pages > len(want) {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			page, more, err := s.ListParts(ctx, "b", "k", "up", after, limit)
			if err != nil {
				t.Fatalf("ListParts(after %d, limit %d): %v", after, limit, err)
			}
			if len(page) > limit || (more && len(page) != limit) {
				t.Fatalf("ListParts(after %d, limit %d) = %d parts, more %v", after, limit, len(page), more)
			}
			got = append(got, page...)
			if !more {
				break
			}
			after = page[len(page)-1].Number
		}
		checkParts(t, fmt.Sprintf("ListParts paged by %d", limit), want, got)
	}
	for _, c := range []struct{ after, limit, first, n int }{
		{-5, 2, 1, 2}, {4, 2, 5, 2}, {9, 5, 10000, 1}, {10, 5, 10000, 1}, {10000, 5, 0, 0}, {1 << 20, 5, 0, 0},
	} {
		page, more, err := s.ListParts(ctx, "b", "k", "up", c.after, c.limit)
		if err != nil || len(page) != c.n || (c.n > 0 && page[0].Number != c.first) {
			t.Errorf("ListParts(after %d, limit %d) = %+v, %v; want %d parts from %d", c.after, c.limit, page, err, c.n, c.first)
		}
		wantMore := c.after < 9 && c.n == c.limit
		if more != wantMore {
			t.Errorf("ListParts(after %d, limit %d) more = %v, want %v", c.after, c.limit, more, wantMore)
		}
	}
	parts, _, err := s.ListParts(ctx, "b", "k", "up2", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkParts(t, "other upload's parts", []meta.Part{newPart(1, "other-1")}, parts)
}

// testUploadAbort: AbortUpload returns every part and removes the upload,
// its parts and their references; other uploads of the key stay.
func (h *harness) testUploadAbort(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	u, keep := newUpload("b", "k", "gone", 1), newUpload("b", "k", "keep", 2)
	mustCreateUpload(t, s, u)
	mustCreateUpload(t, s, keep)
	want := []meta.Part{newPart(1, "a1"), newPart(2, "a2"), newPart(4, "a4")}
	for _, p := range want {
		mustPutPart(t, s, u, p)
	}
	mustPutPart(t, s, keep, newPart(1, "k1"))
	parts, err := s.AbortUpload(ctx, "b", "k", "gone")
	if err != nil {
		t.Fatalf("AbortUpload: %v", err)
	}
	slices.SortFunc(parts, byNumber)
	checkParts(t, "aborted parts", want, parts)
	for _, p := range want {
		checkBlobInUse(t, s, p.BlobID, false)
	}
	checkBlobInUse(t, s, "k1", true)
	_, err = s.GetUpload(ctx, "b", "k", "gone")
	wantErr(t, "GetUpload(aborted)", err, meta.ErrUploadNotFound)
	_, _, err = s.ListParts(ctx, "b", "k", "gone", 0, 0)
	wantErr(t, "ListParts(aborted)", err, meta.ErrUploadNotFound)
	_, err = s.AbortUpload(ctx, "b", "k", "gone")
	wantErr(t, "second AbortUpload", err, meta.ErrUploadNotFound)
	_, err = s.PutPart(ctx, "b", "k", "gone", newPart(3, "late"))
	wantErr(t, "PutPart(aborted)", err, meta.ErrUploadNotFound)
	checkBlobInUse(t, s, "late", false)
	got, err := s.GetUpload(ctx, "b", "k", "keep")
	if err != nil {
		t.Fatalf("GetUpload(other upload of the key): %v", err)
	}
	checkUpload(t, "other upload", keep, got)
	page, err := s.ListUploads(ctx, "b", meta.UploadListOptions{})
	if err != nil || len(page.Uploads) != 1 || page.Uploads[0].ID != "keep" {
		t.Errorf("ListUploads after abort = %+v, %v; want only %q", page.Uploads, err, "keep")
	}
}

// testUploadComplete: completion makes the object current with its part
// fields, checks the condition like PutObject, returns the replaced record
// and the unused parts, and removes the upload.
func (h *harness) testUploadComplete(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	old := segmentObject("b", "k", "blob-old", 1)
	mustPut(t, s, old, nil)
	u := newUpload("b", "k", "up", 1)
	mustCreateUpload(t, s, u)
	parts := []meta.Part{newPart(1, "p1"), newPart(2, "p2"), newPart(3, "p3"), newPart(4, "p4")}
	for _, p := range parts {
		mustPutPart(t, s, u, p)
	}
	obj := completed("b", "k", "up", []meta.Part{parts[0], parts[2]})

	// Failed conditions change nothing.
	for _, cond := range []*meta.Condition{{IfNoneMatch: true}, {IfMatch: "not-the-etag"}} {
		_, _, err := CompleteUpload(s, ctx, "b", "k", "up", obj, cond)
		wantErr(t, fmt.Sprintf("CompleteUpload(%+v)", *cond), err, meta.ErrPreconditionFailed)
	}
	if _, err := s.GetUpload(ctx, "b", "k", "up"); err != nil {
		t.Fatalf("upload gone after a failed completion: %v", err)
	}
	checkObject(t, "after failed completions", old, mustGet(t, s, "b", "k"), true)
	for _, p := range parts {
		checkBlobInUse(t, s, p.BlobID, true)
	}

	rep, unused, err := CompleteUpload(s, ctx, "b", "k", "up", obj, &meta.Condition{IfMatch: old.ETag})
	if err != nil {
		t.Fatalf("CompleteUpload: %v", err)
	}
	if rep == nil {
		t.Fatal("CompleteUpload replaced nothing, want the old record")
	}
	checkObject(t, "replaced", old, *rep, false)
	slices.SortFunc(unused, byNumber)
	checkParts(t, "unused parts", []meta.Part{parts[1], parts[3]}, unused)
	got := mustGet(t, s, "b", "k")
	checkObject(t, "completed", obj, got, true)
	if got.ChecksumType != obj.ChecksumType || got.UploadID != obj.UploadID || got.PartsCount != obj.PartsCount {
		t.Errorf("completed object: ChecksumType %q UploadID %q PartsCount %d; want %q %q %d",
			got.ChecksumType, got.UploadID, got.PartsCount, obj.ChecksumType, obj.UploadID, obj.PartsCount)
	}
	page, err := s.ListObjects(ctx, "b", meta.ListOptions{})
	if err != nil || len(page.Objects) != 1 {
		t.Fatalf("ListObjects after completion = %q, %v", pageKeys(page), err)
	}
	checkObject(t, "listed completed", obj, page.Objects[0], false)
	for blob, want := range map[string]bool{"p1": true, "p3": true, "p2": false, "p4": false, "blob-old": false} {
		checkBlobInUse(t, s, blob, want)
	}
	_, err = s.GetUpload(ctx, "b", "k", "up")
	wantErr(t, "GetUpload(completed)", err, meta.ErrUploadNotFound)
	_, _, err = s.ListParts(ctx, "b", "k", "up", 0, 0)
	wantErr(t, "ListParts(completed)", err, meta.ErrUploadNotFound)
	_, _, err = CompleteUpload(s, ctx, "b", "k", "up", obj, nil)
	wantErr(t, "second CompleteUpload", err, meta.ErrUploadNotFound)
	_, err = s.AbortUpload(ctx, "b", "k", "up")
	wantErr(t, "AbortUpload(completed)", err, meta.ErrUploadNotFound)
	up, err := s.ListUploads(ctx, "b", meta.UploadListOptions{})
	if err != nil || len(up.Uploads) != 0 {
		t.Errorf("ListUploads after completion = %+v, %v; want none", up.Uploads, err)
	}

	// IfNoneMatch on a new key; an inline replaced record comes back
	// without its bytes when completing over it.
	u2 := newUpload("b", "fresh", "up2", 2)
	mustCreateUpload(t, s, u2)
	mustPutPart(t, s, u2, newPart(1, "q1"))
	obj2 := completed("b", "fresh", "up2", []meta.Part{newPart(1, "q1")})
	rep, unused, err = CompleteUpload(s, ctx, "b", "fresh", "up2", obj2, &meta.Condition{IfNoneMatch: true})
	if err != nil || rep != nil || len(unused) != 0 {
		t.Fatalf("CompleteUpload(IfNoneMatch, new key) = %+v, %+v, %v; want nil, none, nil", rep, unused, err)
	}
	checkObject(t, "completed with IfNoneMatch", obj2, mustGet(t, s, "b", "fresh"), true)

	inline := fullObject("b", "inl", 3)
	mustPut(t, s, inline, nil)
	u3 := newUpload("b", "inl", "up3", 3)
	mustCreateUpload(t, s, u3)
	mustPutPart(t, s, u3, newPart(1, "r1"))
	rep, _, err = CompleteUpload(s, ctx, "b", "inl", "up3", completed("b", "inl", "up3", []meta.Part{newPart(1, "r1")}), nil)
	if err != nil || rep == nil {
		t.Fatalf("CompleteUpload over an inline object = %+v, %v", rep, err)
	}
	checkObject(t, "replaced inline", inline, *rep, false)

	// Completing with zero parts used returns them all.
	u4 := newUpload("b", "empty", "up4", 4)
	mustCreateUpload(t, s, u4)
	mustPutPart(t, s, u4, newPart(1, "s1"))
	empty := completed("b", "empty", "up4", nil)
	_, unused, err = CompleteUpload(s, ctx, "b", "empty", "up4", empty, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkParts(t, "unused parts of an empty completion", []meta.Part{newPart(1, "s1")}, unused)
	checkBlobInUse(t, s, "s1", false)
}

// writeUploadsForReopen leaves multipart state of every kind in a store
// about to be closed: a live upload with a replaced part, an upload in
// bucket "gone" (which RunReopen then deletes), an aborted and a completed
// upload. The returned function checks all of it on the reopened store.
func writeUploadsForReopen(t *testing.T, s meta.Store) func(*testing.T, meta.Store) {
	t.Helper()
	ctx := context.Background()
	live := newUpload("keep", "multi/ü\x00", "live", 1)
	mustCreateUpload(t, s, live)
	liveParts := []meta.Part{newPart(1, "live-1"), newPart(3, "live-3b")}
	mustPutPart(t, s, live, liveParts[0])
	mustPutPart(t, s, live, newPart(3, "live-3"))
	mustPutPart(t, s, live, liveParts[1])
	inGone := newUpload("gone", "k", "in-gone", 2)
	mustCreateUpload(t, s, inGone)
	mustPutPart(t, s, inGone, newPart(1, "gone-1"))
	aborted := newUpload("keep", "ab", "aborted", 3)
	mustCreateUpload(t, s, aborted)
	mustPutPart(t, s, aborted, newPart(1, "ab-1"))
	if _, err := s.AbortUpload(ctx, "keep", "ab", "aborted"); err != nil {
		t.Fatalf("AbortUpload: %v", err)
	}
	done := newUpload("keep", "done", "done", 4)
	mustCreateUpload(t, s, done)
	mustPutPart(t, s, done, newPart(1, "done-1"))
	mustPutPart(t, s, done, newPart(2, "done-2"))
	obj := completed("keep", "done", "done", []meta.Part{newPart(1, "done-1")})
	if _, _, err := CompleteUpload(s, ctx, "keep", "done", "done", obj, nil); err != nil {
		t.Fatalf("CompleteUpload: %v", err)
	}

	return func(t *testing.T, s meta.Store) {
		t.Helper()
		got, err := s.GetUpload(ctx, "keep", live.Object.Key, "live")
		if err != nil {
			t.Fatalf("GetUpload after reopen: %v", err)
		}
		checkUpload(t, "after reopen", live, got)
		parts, _, err := s.ListParts(ctx, "keep", live.Object.Key, "live", 0, 0)
		if err != nil {
			t.Fatalf("ListParts after reopen: %v", err)
		}
		checkParts(t, "parts after reopen", liveParts, parts)
		for _, id := range []string{"aborted", "done"} {
			_, err := s.GetUpload(ctx, "keep", map[string]string{"aborted": "ab", "done": "done"}[id], id)
			wantErr(t, "GetUpload("+id+") after reopen", err, meta.ErrUploadNotFound)
		}
		page, err := s.ListUploads(ctx, "keep", meta.UploadListOptions{})
		if err != nil || len(page.Uploads) != 1 || page.Uploads[0].ID != "live" {
			t.Errorf("ListUploads after reopen = %+v, %v; want only %q", page.Uploads, err, "live")
		}
		olds, err := s.UploadsInitiatedBefore(ctx, farFuture, 0)
		if err != nil || len(olds) != 1 || olds[0].ID != "live" {
			t.Errorf("UploadsInitiatedBefore after reopen = %+v, %v; want only %q", olds, err, "live")
		}
		checkObject(t, "completed after reopen", obj, mustGet(t, s, "keep", "done"), true)
		for blob, want := range map[string]bool{"live-1": true, "live-3b": true, "done-1": true,
			"live-3": false, "gone-1": false, "ab-1": false, "done-2": false} {
			checkBlobInUse(t, s, blob, want)
		}
		// The reopened store continues the upload.
		mustPutPart(t, s, live, newPart(2, "live-2"))
		final := completed("keep", live.Object.Key, "live", []meta.Part{liveParts[0], newPart(2, "live-2"), liveParts[1]})
		if _, unused, err := CompleteUpload(s, ctx, "keep", live.Object.Key, "live", final, nil); err != nil || len(unused) != 0 {
			t.Fatalf("CompleteUpload after reopen = %+v, %v", unused, err)
		}
		checkObject(t, "completed after reopen", final, mustGet(t, s, "keep", live.Object.Key), true)
	}
}
