package metatest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
)

func (h *harness) testBucketCreateGet(t *testing.T) {
	ctx := context.Background()
	s := h.fresh(t)
	b := meta.Bucket{Name: "photos", Owner: "alice", Region: "eu-central-1", Created: fixedTime(0)}
	mustCreateBucket(t, s, b)
	got, err := s.GetBucket(ctx, "photos")
	if err != nil {
		t.Fatalf("GetBucket: %v", err)
	}
	checkBucket(t, b, got)

	// The name is taken whoever asks; the first record stays.
	other := meta.Bucket{Name: "photos", Owner: "mallory", Region: "us-east-1", Created: fixedTime(1)}
	if err := s.CreateBucket(ctx, other); !errors.Is(err, meta.ErrBucketExists) {
		t.Fatalf("CreateBucket(existing) err = %v, want ErrBucketExists", err)
	}
	got, err = s.GetBucket(ctx, "photos")
	if err != nil {
		t.Fatalf("GetBucket: %v", err)
	}
	checkBucket(t, b, got)

	for _, name := range []string{"missing", "photo", "photos2", "Photos"} {
		if _, err := s.GetBucket(ctx, name); !errors.Is(err, meta.ErrBucketNotFound) {
			t.Errorf("GetBucket(%q) err = %v, want ErrBucketNotFound", name, err)
		}
	}
}

func (h *harness) testBucketList(t *testing.T) {
	ctx := context.Background()
	s := h.fresh(t)
	bs, err := s.ListBuckets(ctx)
	if err != nil {
		t.Fatalf("ListBuckets(empty store): %v", err)
	}
	if len(bs) != 0 {
		t.Fatalf("ListBuckets(empty store) = %v, want none", bs)
	}
	names := []string{"m", "a-b", "ab", "a", "b", "a.b", "0", "zz", "a0", "A"}
	for i, n := range names {
		mustCreateBucket(t, s, meta.Bucket{Name: n, Owner: "o" + n, Region: "r", Created: fixedTime(i)})
	}
	bs, err = s.ListBuckets(ctx)
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	want := slices.Clone(names)
	slices.Sort(want)
	var got []string
	for _, b := range bs {
		got = append(got, b.Name)
		if b.Owner != "o"+b.Name {
			t.Errorf("bucket %q owner = %q, want %q", b.Name, b.Owner, "o"+b.Name)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ListBuckets = %q, want %q", got, want)
	}
}

func (h *harness) testBucketDelete(t *testing.T) {
	ctx := context.Background()
	s := h.fresh(t)
	if err := s.DeleteBucket(ctx, "nope"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Fatalf("DeleteBucket(missing) err = %v, want ErrBucketNotFound", err)
	}
	mustCreateBucket(t, s, meta.Bucket{Name: "b", Owner: "o", Created: fixedTime(0)})
	mustPut(t, s, fullObject("b", "k", 1), nil)
	if err := s.DeleteBucket(ctx, "b"); !errors.Is(err, meta.ErrBucketNotEmpty) {
		t.Fatalf("DeleteBucket(non-empty) err = %v, want ErrBucketNotEmpty", err)
	}
	// A refused delete changes nothing.
	if _, err := s.GetBucket(ctx, "b"); err != nil {
		t.Fatalf("GetBucket after refused delete: %v", err)
	}
	mustGet(t, s, "b", "k")

	if _, err := DelObj(s, ctx, "b", "k", nil); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	if err := s.DeleteBucket(ctx, "b"); err != nil {
		t.Fatalf("DeleteBucket(emptied): %v", err)
	}
	if _, err := s.GetBucket(ctx, "b"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Fatalf("GetBucket after delete err = %v, want ErrBucketNotFound", err)
	}
	if err := s.DeleteBucket(ctx, "b"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Fatalf("second DeleteBucket err = %v, want ErrBucketNotFound", err)
	}
	if _, err := PutObj(s, ctx, fullObject("b", "k2", 1), nil); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Fatalf("PutObject into deleted bucket err = %v, want ErrBucketNotFound", err)
	}
	bs, err := s.ListBuckets(ctx)
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	if len(bs) != 0 {
		t.Fatalf("ListBuckets after delete = %v, want none", bs)
	}
	// The name is free again, and the new bucket starts empty.
	mustCreateBucket(t, s, meta.Bucket{Name: "b", Owner: "other", Created: fixedTime(1)})
	page, err := s.ListObjects(ctx, "b", meta.ListOptions{})
	if err != nil {
		t.Fatalf("ListObjects(re-created): %v", err)
	}
	if len(page.Objects) != 0 || len(page.CommonPrefixes) != 0 || page.Truncated {
		t.Fatalf("re-created bucket lists %+v, want an empty page", page)
	}
}

// testBucketIsolation uses names where a naive key encoding (bucket+key, or
// bucket+"/"+key) makes one bucket's objects look like another's.
func (h *harness) testBucketIsolation(t *testing.T) {
	ctx := context.Background()
	s := h.fresh(t)
	for _, n := range []string{"a", "ab", "a.b", "a-b"} {
		mustCreateBucket(t, s, meta.Bucket{Name: n, Owner: "o", Created: fixedTime(0)})
	}
	puts := map[string][]string{
		"a":   {"b", "bx", "b/x", ".b/x", "-b", "/x", "\x00x"},
		"a.b": {"x"},
	}
	for b, keys := range puts {
		for _, k := range keys {
			o := fullObject(b, k, 1)
			mustPut(t, s, o, nil)
		}
	}
	for _, tc := range []struct {
		bucket string
		want   []string
	}{
		{"a", []string{"\x00x", "-b", ".b/x", "/x", "b", "b/x", "bx"}},
		{"ab", nil},
		{"a.b", []string{"x"}},
		{"a-b", nil},
	} {
		page, err := s.ListObjects(ctx, tc.bucket, meta.ListOptions{})
		if err != nil {
			t.Fatalf("ListObjects(%q): %v", tc.bucket, err)
		}
		if got := pageKeys(page); !slices.Equal(got, tc.want) {
			t.Errorf("ListObjects(%q) = %q, want %q", tc.bucket, got, tc.want)
		}
		for _, o := range page.Objects {
			if o.Bucket != tc.bucket {
				t.Errorf("ListObjects(%q) returned an object of bucket %q", tc.bucket, o.Bucket)
			}
		}
	}
	for _, miss := range [][2]string{{"ab", "x"}, {"ab", ""}, {"a", "x"}, {"a-b", "b"}, {"ab", "/x"}} {
		if _, err := GetObj(s, ctx, miss[0], miss[1]); !errors.Is(err, meta.ErrObjectNotFound) {
			t.Errorf("GetObject(%q, %q) err = %v, want ErrObjectNotFound", miss[0], miss[1], err)
		}
	}
	// "ab" and "a-b" are empty whatever "a" holds; "a" is not.
	for _, n := range []string{"ab", "a-b"} {
		if err := s.DeleteBucket(ctx, n); err != nil {
			t.Errorf("DeleteBucket(%q): %v", n, err)
		}
	}
	if err := s.DeleteBucket(ctx, "a"); !errors.Is(err, meta.ErrBucketNotEmpty) {
		t.Errorf("DeleteBucket(a) err = %v, want ErrBucketNotEmpty", err)
	}
	if _, err := DelObj(s, ctx, "a.b", "b", nil); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Errorf("DeleteObject(a.b, b) err = %v, want ErrObjectNotFound", err)
	}
	mustGet(t, s, "a", "b")
}

func (h *harness) testObjectRoundTrip(t *testing.T) {
	s := h.freshWithBucket(t, "b")
	inline := fullObject("b", "inline.txt", 1)
	seg := segmentObject("b", "seg.bin", "blob-1", 2)
	multi := meta.Object{
		Bucket: "b", Key: "multi", Size: 30, ETag: etagOf("x") + "-3", Modified: fixedTime(3),
		Checksums: map[string]string{"CRC64NVME": "AAAAAAAAAAA="},
		Segments:  []meta.Segment{{BlobID: "p1", Size: 10}, {BlobID: "p2", Size: 10}, {BlobID: "p3", Size: 10}},
	}
	empty := meta.Object{Bucket: "b", Key: "empty", ETag: etagOf(""), Modified: fixedTime(4), Inline: []byte{}}
	big := fullObject("b", "big", 5)
	big.Inline = []byte(strings.Repeat("0123456789abcdef", 128<<10/16))
	big.Size = int64(len(big.Inline))
	for _, o := range []meta.Object{inline, seg, multi, empty, big} {
		if rep := mustPut(t, s, o, nil); rep != nil {
			t.Fatalf("PutObject(new key %q) replaced %+v, want nil", o.Key, *rep)
		}
		checkObject(t, "GetObject", o, mustGet(t, s, "b", o.Key), true)
	}
	// Changing the caller's copy after the put must not reach the store.
	inline.UserMeta["color"] = "red"
	inline.Inline[0] = 'X'
	got := mustGet(t, s, "b", "inline.txt")
	if got.UserMeta["color"] != "blue" || got.Inline[0] != 'd' {
		t.Errorf("stored record aliases the caller's maps or bytes: %+v", got)
	}
}

func (h *harness) testObjectOverwrite(t *testing.T) {
	s := h.freshWithBucket(t, "b")
	v1 := segmentObject("b", "k", "blob-1", 1)
	if rep := mustPut(t, s, v1, nil); rep != nil {
		t.Fatalf("first PutObject replaced %+v, want nil", *rep)
	}
	v2 := fullObject("b", "k", 2)
	rep := mustPut(t, s, v2, nil)
	if rep == nil {
		t.Fatal("overwrite returned no replaced record")
	}
	checkObject(t, "replaced", v1, *rep, false)
	checkObject(t, "GetObject after overwrite", v2, mustGet(t, s, "b", "k"), true)

	// An inline record replaced by a segment record: no stale inline bytes.
	v3 := segmentObject("b", "k", "blob-3", 3)
	rep = mustPut(t, s, v3, nil)
	if rep == nil {
		t.Fatal("second overwrite returned no replaced record")
	}
	checkObject(t, "replaced", v2, *rep, false)
	got := mustGet(t, s, "b", "k")
	checkObject(t, "GetObject after second overwrite", v3, got, true)
	page, err := s.ListObjects(context.Background(), "b", meta.ListOptions{})
	if err != nil {
		t.Fatalf("ListObjects: %v", err)
	}
	if len(page.Objects) != 1 {
		t.Fatalf("ListObjects after overwrites = %q, want one key", pageKeys(page))
	}
	checkObject(t, "listed", v3, page.Objects[0], false)
}

func (h *harness) testObjectDelete(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	o := fullObject("b", "k", 1)
	o.Inline = nil
	o.Segments = []meta.Segment{{BlobID: "blob-d", Size: o.Size}}
	mustPut(t, s, o, nil)
	mustPut(t, s, fullObject("b", "k2", 1), nil)
	got, err := DelObj(s, ctx, "b", "k", nil)
	if err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	checkObject(t, "deleted record", o, got, false)
	if _, err := GetObj(s, ctx, "b", "k"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Fatalf("GetObject(deleted) err = %v, want ErrObjectNotFound", err)
	}
	if _, err := DelObj(s, ctx, "b", "k", nil); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Fatalf("second DeleteObject err = %v, want ErrObjectNotFound", err)
	}
	mustGet(t, s, "b", "k2")
	// The key can be written again, as new.
	if rep := mustPut(t, s, fullObject("b", "k", 2), nil); rep != nil {
		t.Fatalf("PutObject after delete replaced %+v, want nil", *rep)
	}
}

func (h *harness) testObjectMissing(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	if _, err := PutObj(s, ctx, fullObject("nob", "k", 1), nil); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("PutObject(missing bucket) err = %v, want ErrBucketNotFound", err)
	}
	if _, err := PutObj(s, ctx, fullObject("nob", "k", 1), &meta.Condition{IfNoneMatch: true}); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("conditional PutObject(missing bucket) err = %v, want ErrBucketNotFound", err)
	}
	if _, err := GetObj(s, ctx, "nob", "k"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("GetObject(missing bucket) err = %v, want ErrBucketNotFound", err)
	}
	if _, err := GetObj(s, ctx, "b", "k"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Errorf("GetObject(missing key) err = %v, want ErrObjectNotFound", err)
	}
	if _, err := DelObj(s, ctx, "nob", "k", nil); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("DeleteObject(missing bucket) err = %v, want ErrBucketNotFound", err)
	}
	if _, err := DelObj(s, ctx, "b", "k", nil); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Errorf("DeleteObject(missing key) err = %v, want ErrObjectNotFound", err)
	}
	if _, err := s.ListObjects(ctx, "nob", meta.ListOptions{}); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("ListObjects(missing bucket) err = %v, want ErrBucketNotFound", err)
	}
	page, err := s.ListObjects(ctx, "b", meta.ListOptions{Prefix: "x", Delimiter: "/"})
	if err != nil {
		t.Fatalf("ListObjects(empty bucket): %v", err)
	}
	if len(page.Objects)+len(page.CommonPrefixes) != 0 || page.Truncated {
		t.Errorf("ListObjects(empty bucket) = %+v, want an empty page", page)
	}
	checkBlobInUse(t, s, "never-written", false)
}

// testObjectKeys stores keys that break naive encodings: S3's longest key,
// NUL, the highest code point, separators and dot segments.
func (h *harness) testObjectKeys(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	long := strings.Repeat("日", 341) + "x" // 1024 bytes
	if len(long) != 1024 {
		t.Fatalf("long key is %d bytes", len(long))
	}
	keys := []string{
		long, strings.Repeat("k", 1024), "\x00", "a\x00b", "\U0010ffff", "\u00ff\u00fe",
		"//", "a//b", "../x", "./.", " ", "a b\tc\n", "%2F", "\x7f", "\ufeffbom",
	}
	for i, k := range keys {
		o := fullObject("b", k, i)
		mustPut(t, s, o, nil)
		checkObject(t, "GetObject", o, mustGet(t, s, "b", k), true)
	}
	page, err := s.ListObjects(ctx, "b", meta.ListOptions{})
	if err != nil {
		t.Fatalf("ListObjects: %v", err)
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	if got := pageKeys(page); !slices.Equal(got, want) {
		t.Fatalf("ListObjects = %q, want %q", got, want)
	}
	for _, k := range keys {
		page, err := s.ListObjects(ctx, "b", meta.ListOptions{Prefix: k})
		if err != nil {
			t.Fatalf("ListObjects(prefix %q): %v", k, err)
		}
		var wantP []string
		for _, w := range want {
			if strings.HasPrefix(w, k) {
				wantP = append(wantP, w)
			}
		}
		if got := pageKeys(page); !slices.Equal(got, wantP) {
			t.Errorf("ListObjects(prefix %q) = %q, want %q", k, got, wantP)
		}
	}
	for _, k := range keys {
		if _, err := DelObj(s, ctx, "b", k, nil); err != nil {
			t.Errorf("DeleteObject(%q): %v", k, err)
		}
	}
	if err := s.DeleteBucket(ctx, "b"); err != nil {
		t.Fatalf("DeleteBucket after deleting every key: %v", err)
	}
}
