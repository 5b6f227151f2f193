package metatest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// Usage counters (meta.UsageCounter): after every kind of write, in every
// versioning state, the counters equal both the totals the test expects
// and a recount of what the listings show.

// RecountUsage counts a bucket's usage the slow way, from
// ListObjectVersions, ListObjects and ListUploads, page by page. Stores'
// own tests use it to check counters built by an upgrade.
func RecountUsage(t *testing.T, s meta.Store, bucket string) meta.Usage {
	t.Helper()
	ctx := context.Background()
	var u meta.Usage
	vopts := meta.VersionListOptions{Limit: 1000}
	for {
		p, err := s.ListObjectVersions(ctx, bucket, vopts)
		if err != nil {
			t.Fatalf("recount: ListObjectVersions(%q): %v", bucket, err)
		}
		for _, v := range p.Versions {
			u.Versions++
			if v.DeleteMarker {
				continue
			}
			u.VersionBytes += v.Size
			if v.IsLatest {
				u.Objects++
				u.Bytes += v.Size
			}
		}
		if !p.Truncated {
			break
		}
		vopts.KeyMarker, vopts.VersionIDMarker = p.NextKeyMarker, p.NextVersionIDMarker
	}
	var listed meta.Usage
	lopts := meta.ListOptions{Limit: 1000}
	for {
		p, err := s.ListObjects(ctx, bucket, lopts)
		if err != nil {
			t.Fatalf("recount: ListObjects(%q): %v", bucket, err)
		}
		for _, o := range p.Objects {
			listed.Objects++
			listed.Bytes += o.Size
		}
		if !p.Truncated {
			break
		}
		lopts.After = p.NextAfter
	}
	if listed.Objects != u.Objects || listed.Bytes != u.Bytes {
		t.Fatalf("recount of %q: ListObjects finds %d objects of %d bytes, ListObjectVersions %d of %d",
			bucket, listed.Objects, listed.Bytes, u.Objects, u.Bytes)
	}
	uopts := meta.UploadListOptions{Limit: 1000}
	for {
		p, err := s.ListUploads(ctx, bucket, uopts)
		if err != nil {
			t.Fatalf("recount: ListUploads(%q): %v", bucket, err)
		}
		u.Uploads += int64(len(p.Uploads))
		if !p.Truncated {
			break
		}
		uopts.KeyMarker, uopts.UploadIDMarker = p.NextKeyMarker, p.NextUploadIDMarker
	}
	return u
}

// CheckUsage fails the test unless the bucket's counters equal a recount,
// and returns them.
func CheckUsage(t *testing.T, s meta.Store, bucket string) meta.Usage {
	t.Helper()
	got, err := s.BucketUsage(context.Background(), bucket)
	if err != nil {
		t.Fatalf("BucketUsage(%q): %v", bucket, err)
	}
	if want := RecountUsage(t, s, bucket); got != want {
		t.Errorf("BucketUsage(%q) = %+v, recount %+v", bucket, got, want)
	}
	return got
}

// wantUsage checks the counters against want and against a recount.
func wantUsage(t *testing.T, s meta.Store, what, bucket string, want meta.Usage) {
	t.Helper()
	got, err := s.BucketUsage(context.Background(), bucket)
	if err != nil {
		t.Fatalf("%s: BucketUsage(%q): %v", what, bucket, err)
	}
	if got != want {
		t.Errorf("%s: BucketUsage(%q) = %+v, want %+v", what, bucket, got, want)
	}
	if re := RecountUsage(t, s, bucket); re != want {
		t.Errorf("%s: recount of %q = %+v, want %+v (the test's expectation is wrong)", what, bucket, re, want)
	}
}

// use builds a Usage: objects, bytes, versions, version bytes, uploads.
func use(objects, bytes, versions, versionBytes, uploads int64) meta.Usage {
	return meta.Usage{Objects: objects, Bytes: bytes, Versions: versions, VersionBytes: versionBytes, Uploads: uploads}
}

// sizedObject is an object of size bytes in its own blob (inline when it is
// small, as the write path stores it).
func sizedObject(bucket, key string, size int64) meta.Object {
	o := meta.Object{
		Bucket: bucket, Key: key, Size: size, ETag: etagOf(fmt.Sprint(key, size)),
		Modified: fixedTime(int(size)), ContentType: "application/octet-stream",
	}
	switch {
	case size == 0:
	case size < 64:
		o.Inline = make([]byte, size)
	default:
		o.Segments = []meta.Segment{{BlobID: fmt.Sprintf("blob-%s-%d", key, size), Size: size}}
	}
	return o
}

func (h *harness) testUsageMissingBucket(t *testing.T) {
	ctx := context.Background()
	s := h.fresh(t)
	for _, name := range []string{"nope", "", "a\x00b"} {
		if _, err := s.BucketUsage(ctx, name); !errors.Is(err, meta.ErrBucketNotFound) {
			t.Errorf("BucketUsage(%q) err = %v, want ErrBucketNotFound", name, err)
		}
	}
	if u, err := s.TotalUsage(ctx); err != nil || u != (meta.Usage{}) {
		t.Errorf("TotalUsage of an empty store = %+v, %v; want zero", u, err)
	}
	mustCreateBucket(t, s, meta.Bucket{Name: "b", Created: fixedTime(0)})
	wantUsage(t, s, "new bucket", "b", meta.Usage{})
}

// testUsageUnversioned: overwrites replace, deletes remove, failed writes
// change nothing.
func (h *harness) testUsageUnversioned(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	mustPut(t, s, sizedObject("b", "a", 10), nil)
	wantUsage(t, s, "put a", "b", use(1, 10, 1, 10, 0))
	mustPut(t, s, sizedObject("b", "a", 1000), nil)
	wantUsage(t, s, "overwrite a", "b", use(1, 1000, 1, 1000, 0))
	mustPut(t, s, sizedObject("b", "z", 0), nil)
	mustPut(t, s, sizedObject("b", "c", 30), nil)
	wantUsage(t, s, "put empty z and c", "b", use(3, 1030, 3, 1030, 0))
	if _, err := PutObj(s, ctx, sizedObject("b", "a", 5), &meta.Condition{IfNoneMatch: true}); !errors.Is(err, meta.ErrPreconditionFailed) {
		t.Fatalf("conditional put err = %v, want ErrPreconditionFailed", err)
	}
	if _, err := DelObj(s, ctx, "b", "a", &meta.Condition{IfMatch: "other"}); !errors.Is(err, meta.ErrPreconditionFailed) {
		t.Fatalf("conditional delete err = %v, want ErrPreconditionFailed", err)
	}
	if _, err := DelObj(s, ctx, "b", "missing", nil); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Fatalf("delete of a missing key err = %v, want ErrObjectNotFound", err)
	}
	wantUsage(t, s, "failed writes", "b", use(3, 1030, 3, 1030, 0))
	if _, err := DelObj(s, ctx, "b", "a", nil); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, s, "delete a", "b", use(2, 30, 2, 30, 0))
	if _, err := s.DeleteObject(ctx, "b", "c", meta.DeleteOptions{VersionID: meta.NullVersion}); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, s, "delete c by null version id", "b", use(1, 0, 1, 0, 0))
	// A locked version that a write would replace stays, and so do the
	// counters.
	held := sizedObject("b", "held", 70)
	held.LegalHold = true
	mustPut(t, s, held, nil)
	if _, err := PutObj(s, ctx, sizedObject("b", "held", 80), nil); !errors.Is(err, meta.ErrLocked) {
		t.Fatalf("overwrite of a held version err = %v, want ErrLocked", err)
	}
	if _, err := DelObj(s, ctx, "b", "held", nil); !errors.Is(err, meta.ErrLocked) {
		t.Fatalf("delete of a held version err = %v, want ErrLocked", err)
	}
	wantUsage(t, s, "locked writes", "b", use(2, 70, 2, 70, 0))
}

// testUsageVersioned: new versions, delete markers, and permanent deletes
// of current, noncurrent and marker versions, which promote the next one.
func (h *harness) testUsageVersioned(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	setVersioning(t, s, "b", meta.VersioningEnabled)
	v1 := putVersion(t, s, sizedObject("b", "a", 100)).VersionID
	v2 := putVersion(t, s, sizedObject("b", "a", 200)).VersionID
	wantUsage(t, s, "two versions", "b", use(1, 200, 2, 300, 0))
	del := func(key, id string) meta.DeleteResult {
		t.Helper()
		res, err := s.DeleteObject(ctx, "b", key, meta.DeleteOptions{VersionID: id})
		if err != nil {
			t.Fatalf("DeleteObject(%q, %q): %v", key, id, err)
		}
		return res
	}
	m1 := del("a", "").VersionID
	wantUsage(t, s, "delete marker", "b", use(0, 0, 3, 300, 0))
	m2 := del("a", "").VersionID
	wantUsage(t, s, "second marker", "b", use(0, 0, 4, 300, 0))
	del("a", m2)
	wantUsage(t, s, "remove the latest marker (a marker becomes latest)", "b", use(0, 0, 3, 300, 0))
	del("a", m1)
	wantUsage(t, s, "remove the last marker (v2 becomes current)", "b", use(1, 200, 2, 300, 0))
	del("a", v2)
	wantUsage(t, s, "remove the current version (v1 becomes current)", "b", use(1, 100, 1, 100, 0))
	v3 := putVersion(t, s, sizedObject("b", "a", 300)).VersionID
	del("a", v1)
	wantUsage(t, s, "remove a noncurrent version", "b", use(1, 300, 1, 300, 0))
	del("missing", "")
	wantUsage(t, s, "marker on a missing key", "b", use(1, 300, 2, 300, 0))
	del("a", v3)
	wantUsage(t, s, "remove the only version", "b", use(0, 0, 1, 0, 0))
	if _, err := s.DeleteObject(ctx, "b", "a", meta.DeleteOptions{VersionID: v3}); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Fatalf("delete of a removed version err = %v, want ErrObjectNotFound", err)
	}
	// The null version written before versioning, then displaced.
	s2 := h.freshWithBucket(t, "c")
	mustPut(t, s2, sizedObject("c", "k", 7), nil)
	setVersioning(t, s2, "c", meta.VersioningEnabled)
	putVersion(t, s2, sizedObject("c", "k", 9))
	wantUsage(t, s2, "null version kept under a new one", "c", use(1, 9, 2, 16, 0))
	del2, err := s2.DeleteObject(ctx, "c", "k", meta.DeleteOptions{VersionID: meta.NullVersion})
	if err != nil || del2.VersionID != meta.NullVersion {
		t.Fatalf("DeleteObject(null) = %+v, %v", del2, err)
	}
	wantUsage(t, s2, "remove the noncurrent null version", "c", use(1, 9, 1, 9, 0))
}

// testUsageSuspended: writes replace the null version wherever it is, and
// deletes replace it with a null marker.
func (h *harness) testUsageSuspended(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	mustPut(t, s, sizedObject("b", "a", 10), nil) // null
	setVersioning(t, s, "b", meta.VersioningEnabled)
	putVersion(t, s, sizedObject("b", "a", 20))
	setVersioning(t, s, "b", meta.VersioningSuspended)
	wantUsage(t, s, "null under a versioned one", "b", use(1, 20, 2, 30, 0))
	putVersion(t, s, sizedObject("b", "a", 300))
	wantUsage(t, s, "put replaces the noncurrent null version", "b", use(1, 300, 2, 320, 0))
	putVersion(t, s, sizedObject("b", "a", 400))
	wantUsage(t, s, "put replaces the current null version", "b", use(1, 400, 2, 420, 0))
	if _, err := DelObj(s, ctx, "b", "a", nil); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, s, "delete replaces the null version with a null marker", "b", use(0, 0, 2, 20, 0))
	if _, err := DelObj(s, ctx, "b", "a", nil); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, s, "delete replaces the null marker", "b", use(0, 0, 2, 20, 0))
	putVersion(t, s, sizedObject("b", "a", 50))
	wantUsage(t, s, "put replaces the null marker", "b", use(1, 50, 2, 70, 0))
	if _, err := s.DeleteObject(ctx, "b", "a", meta.DeleteOptions{VersionID: meta.NullVersion}); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, s, "remove the current null version (the versioned one becomes current)", "b", use(1, 20, 1, 20, 0))
	if _, err := DelObj(s, ctx, "b", "new", nil); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, s, "null marker on a missing key", "b", use(1, 20, 2, 20, 0))
	held := sizedObject("b", "held", 60)
	held.LegalHold = true
	putVersion(t, s, held)
	if _, err := PutObj(s, ctx, sizedObject("b", "held", 61), nil); !errors.Is(err, meta.ErrLocked) {
		t.Fatalf("replacing a held null version err = %v, want ErrLocked", err)
	}
	if _, err := DelObj(s, ctx, "b", "held", nil); !errors.Is(err, meta.ErrLocked) {
		t.Fatalf("marker replacing a held null version err = %v, want ErrLocked", err)
	}
	wantUsage(t, s, "locked writes", "b", use(2, 80, 3, 80, 0))
}

// testUsageUploads: uploads count while in progress; a completion turns
// one into a version as PutObject would, in each versioning state.
func (h *harness) testUsageUploads(t *testing.T) {
	ctx := context.Background()
	for _, state := range []string{"", meta.VersioningEnabled, meta.VersioningSuspended} {
		t.Run("versioning="+state, func(t *testing.T) {
			s := h.freshWithBucket(t, "b")
			if state != "" {
				setVersioning(t, s, "b", state)
			}
			mustPut(t, s, sizedObject("b", "k", 100), nil)
			ups := []meta.Upload{newUpload("b", "k", "u1", 1), newUpload("b", "k", "u2", 2), newUpload("b", "other", "u3", 3)}
			for _, u := range ups {
				mustCreateUpload(t, s, u)
			}
			if err := s.CreateUpload(ctx, ups[0]); err == nil {
				t.Fatal("CreateUpload with an id in use succeeded")
			}
			wantUsage(t, s, "three uploads", "b", use(1, 100, 1, 100, 3))
			if _, err := s.AbortUpload(ctx, "b", "other", "u3"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AbortUpload(ctx, "b", "other", "u3"); !errors.Is(err, meta.ErrUploadNotFound) {
				t.Fatalf("second abort err = %v, want ErrUploadNotFound", err)
			}
			wantUsage(t, s, "abort", "b", use(1, 100, 1, 100, 2))
			parts := []meta.Part{newPart(1, "p1-"+state), newPart(2, "p2-"+state)}
			for _, p := range parts {
				mustPutPart(t, s, ups[0], p)
			}
			obj := completed("b", "k", "u1", parts)
			if _, _, err := CompleteUpload(s, ctx, "b", "k", "u1", obj, &meta.Condition{IfNoneMatch: true}); !errors.Is(err, meta.ErrPreconditionFailed) {
				t.Fatalf("conditional complete err = %v, want ErrPreconditionFailed", err)
			}
			wantUsage(t, s, "failed complete", "b", use(1, 100, 1, 100, 2))
			if _, _, err := CompleteUpload(s, ctx, "b", "k", "u1", obj, nil); err != nil {
				t.Fatal(err)
			}
			want := use(1, obj.Size, 1, obj.Size, 1) // the null version is replaced
			if state == meta.VersioningEnabled {
				want = use(1, obj.Size, 2, obj.Size+100, 1)
			}
			wantUsage(t, s, "complete", "b", want)
			if _, _, err := CompleteUpload(s, ctx, "b", "k", "u1", obj, nil); !errors.Is(err, meta.ErrUploadNotFound) {
				t.Fatalf("second complete err = %v, want ErrUploadNotFound", err)
			}
			wantUsage(t, s, "second complete", "b", want)
		})
	}
}

// testUsageImport: imported versions count like written ones.
func (h *harness) testUsageImport(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	imp, ok := s.(meta.Importer)
	if !ok {
		t.Skip("the store is not a meta.Importer")
	}
	marker := meta.Object{Bucket: "b", Key: "gone", VersionID: "0000000000000003", DeleteMarker: true, Modified: fixedTime(3)}
	v2 := sizedObject("b", "gone", 20)
	v2.VersionID = "0000000000000002"
	v1 := sizedObject("b", "gone", 10)
	v1.VersionID = meta.NullVersion
	if err := imp.ImportVersions(ctx, []meta.Object{marker, v2, v1}); err != nil {
		t.Fatalf("ImportVersions(marker latest): %v", err)
	}
	wantUsage(t, s, "import under a marker", "b", use(0, 0, 3, 30, 0))
	cur := sizedObject("b", "kept", 40)
	cur.VersionID = "0000000000000005"
	old := sizedObject("b", "kept", 50)
	old.VersionID = "0000000000000004"
	if err := imp.ImportVersions(ctx, []meta.Object{cur, old}); err != nil {
		t.Fatalf("ImportVersions(object latest): %v", err)
	}
	wantUsage(t, s, "import of a current version", "b", use(1, 40, 5, 120, 0))
	if err := imp.ImportVersions(ctx, []meta.Object{cur}); !errors.Is(err, meta.ErrPreconditionFailed) {
		t.Fatalf("ImportVersions into a key with versions err = %v, want ErrPreconditionFailed", err)
	}
	wantUsage(t, s, "refused import", "b", use(1, 40, 5, 120, 0))
}

// testUsageBuckets: counters are per bucket, the total sums them, and a
// deleted bucket's counters go with it.
func (h *harness) testUsageBuckets(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "a")
	mustCreateBucket(t, s, meta.Bucket{Name: "ab", Created: fixedTime(1)})
	mustCreateBucket(t, s, meta.Bucket{Name: "gone", Created: fixedTime(2)})
	mustPut(t, s, sizedObject("a", "k", 10), nil)
	mustPut(t, s, sizedObject("ab", "k", 200), nil)
	mustPut(t, s, sizedObject("ab", "l", 300), nil)
	mustPut(t, s, sizedObject("gone", "k", 4000), nil)
	mustCreateUpload(t, s, newUpload("gone", "k", "u", 1))
	wantUsage(t, s, "a", "a", use(1, 10, 1, 10, 0))
	wantUsage(t, s, "ab", "ab", use(2, 500, 2, 500, 0))
	total := func(want meta.Usage) {
		t.Helper()
		if got, err := s.TotalUsage(ctx); err != nil || got != want {
			t.Errorf("TotalUsage = %+v, %v; want %+v", got, err, want)
		}
	}
	total(use(4, 4510, 4, 4510, 1))
	if _, err := DelObj(s, ctx, "gone", "k", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucket(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BucketUsage(ctx, "gone"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("BucketUsage(deleted bucket) err = %v, want ErrBucketNotFound", err)
	}
	total(use(3, 510, 3, 510, 0))
	mustCreateBucket(t, s, meta.Bucket{Name: "gone", Created: fixedTime(3)})
	wantUsage(t, s, "bucket created again", "gone", meta.Usage{})
	mustPut(t, s, sizedObject("gone", "k", 5), nil)
	wantUsage(t, s, "bucket created again, then written", "gone", use(1, 5, 1, 5, 0))
	total(use(4, 515, 4, 515, 0))
}

// testUsageRace: writers put, delete, delete versions and create and abort
// uploads on a few keys of one bucket while its versioning changes; readers
// meanwhile must only ever see totals a consistent state can have, and at
// the end the counters must equal a recount. Enough writes are made for a
// store that folds its counters periodically to fold several times.
func (h *harness) testUsageRace(t *testing.T) {
	for _, versioned := range []bool{false, true} {
		t.Run(fmt.Sprintf("versioned=%v", versioned), func(t *testing.T) {
			h.usageRace(t, versioned)
		})
	}
}

func (h *harness) usageRace(t *testing.T, versioned bool) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	mustCreateBucket(t, s, meta.Bucket{Name: "other", Created: fixedTime(1)})
	mustPut(t, s, sizedObject("other", "k", 77), nil)
	if versioned {
		setVersioning(t, s, "b", meta.VersioningEnabled)
	}
	const writers, ops, keys = 16, 150, 12
	var failed atomic.Bool
	fail := func(format string, args ...any) {
		failed.Store(true)
		t.Errorf(format, args...)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			u, err := s.BucketUsage(ctx, "b")
			if err != nil {
				fail("BucketUsage during writes: %v", err)
				return
			}
			if u.Objects < 0 || u.Bytes < 0 || u.Uploads < 0 || u.Objects > u.Versions || u.Bytes > u.VersionBytes || u.Objects > keys {
				fail("BucketUsage during writes = %+v: no state has these totals", u)
				return
			}
			tot, err := s.TotalUsage(ctx)
			if err != nil || tot.Objects < 1 || tot.Objects > keys+1 || tot.Objects > tot.Versions {
				fail("TotalUsage during writes = %+v, %v", tot, err)
				return
			}
		}
	})
	if versioned {
		readers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				state := meta.VersioningSuspended
				if i%2 == 1 {
					state = meta.VersioningEnabled
				}
				if _, err := s.UpdateBucket(ctx, "b", func(b *meta.Bucket) error { b.Versioning = state; return nil }); err != nil {
					fail("UpdateBucket: %v", err)
					return
				}
				time.Sleep(5 * time.Millisecond) // let writes run under each state

			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var ids []string // versions this writer made, some since removed
			for i := range ops {
				if failed.Load() {
					return
				}
				key := fmt.Sprintf("k%02d", rng.IntN(keys))
				var err error
				switch op := rng.IntN(10); {
				case op < 5:
					var res meta.PutResult
					res, err = s.PutObject(ctx, sizedObject("b", key, int64(1+rng.IntN(200))), meta.PutOptions{})
					if err == nil {
						ids = append(ids, key+"\x00"+res.VersionID)
					}
				case op < 7:
					_, err = s.DeleteObject(ctx, "b", key, meta.DeleteOptions{})
				case op < 9 && len(ids) > 0:
					k, id := splitID(ids[rng.IntN(len(ids))])
					_, err = s.DeleteObject(ctx, "b", k, meta.DeleteOptions{VersionID: id})
				default:
					id := fmt.Sprintf("up-%d-%d", w, i)
					if err = s.CreateUpload(ctx, newUpload("b", key, id, i)); err == nil && rng.IntN(2) == 0 {
						_, err = s.AbortUpload(ctx, "b", key, id)
					}
				}
				if err != nil && !errors.Is(err, meta.ErrObjectNotFound) {
					fail("writer %d op %d on %q: %v", w, i, key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if failed.Load() {
		return
	}
	got := CheckUsage(t, s, "b")
	if got.Versions == 0 || got.Uploads == 0 {
		t.Errorf("usage after the race = %+v: the writers left nothing, which a random mix this long never does", got)
	}
	wantUsage(t, s, "untouched bucket", "other", use(1, 77, 1, 77, 0))
	tot, err := s.TotalUsage(ctx)
	if err != nil || tot != got.Add(use(1, 77, 1, 77, 0)) {
		t.Errorf("TotalUsage = %+v, %v; want %+v", tot, err, got.Add(use(1, 77, 1, 77, 0)))
	}
}

func splitID(s string) (key, id string) {
	key, id, _ = strings.Cut(s, "\x00")
	return key, id
}

// WriteUsageMix fills the buckets "plain" and "v" with every kind of entry
// the usage counters count: current versions and a delete in "plain";
// null, current and noncurrent versions, delete markers and uploads in
// "v" (n puts over 7 keys there). Stores use it to check that counters
// built another way (an upgrade, a backfill) match what writes maintain.
func WriteUsageMix(t *testing.T, s meta.Store, n int) {
	t.Helper()
	ctx := context.Background()
	for _, b := range []string{"plain", "v"} {
		if err := s.CreateBucket(ctx, meta.Bucket{Name: b}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(bucket, key string, size int) {
		t.Helper()
		o := meta.Object{Bucket: bucket, Key: key, Size: int64(size), ETag: "e",
			Segments: []meta.Segment{{BlobID: fmt.Sprintf("%s-%s-%d", bucket, key, size), Size: int64(size)}}}
		if _, err := s.PutObject(ctx, o, meta.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	del := func(bucket, key string) {
		t.Helper()
		if _, err := s.DeleteObject(ctx, bucket, key, meta.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		put("plain", fmt.Sprintf("k%d", i), 10+i)
	}
	del("plain", "k3")
	put("v", "a", 5) // a null version, made noncurrent below
	if _, err := s.UpdateBucket(ctx, "v", func(b *meta.Bucket) error { b.Versioning = meta.VersioningEnabled; return nil }); err != nil {
		t.Fatal(err)
	}
	put("v", "a", 6)
	for i := range n {
		put("v", fmt.Sprintf("k%d", i%7), 100+i)
	}
	del("v", "k1")
	del("v", "never")
	for i := range 3 {
		u := meta.Upload{ID: fmt.Sprintf("u%d", i), Object: meta.Object{Bucket: "v", Key: "up"}}
		if err := s.CreateUpload(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
}

// CheckAllUsage checks each bucket's counters against a recount
// (CheckUsage) and TotalUsage against their sum.
func CheckAllUsage(t *testing.T, s meta.Store, buckets ...string) {
	t.Helper()
	var sum meta.Usage
	for _, b := range buckets {
		sum = sum.Add(CheckUsage(t, s, b))
	}
	if tot, err := s.TotalUsage(context.Background()); err != nil || tot != sum {
		t.Errorf("TotalUsage = %+v, %v; want %+v", tot, err, sum)
	}
}
