package object_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/blob"
	"github.com/cofferstore/coffer/internal/blob/mem"
	"github.com/cofferstore/coffer/internal/checksum"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/object"
)

type fixture struct {
	svc   *object.Service
	blobs *mem.Store
	meta  meta.Store
	clock atomic.Int64 // unix nanos added to real time
}

func newFixture(t *testing.T, inlineMax int64) *fixture {
	t.Helper()
	ms, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ms.Close() })
	f := &fixture{blobs: mem.New(), meta: ms}
	f.svc = object.New(ms, f.blobs, object.Options{InlineMax: inlineMax, Now: func() time.Time {
		return time.Now().Add(time.Duration(f.clock.Load()))
	}})
	if err := f.svc.CreateBucket(context.Background(), "bkt", "owner", "us-east-1", object.BucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) put(t *testing.T, key string, data []byte, size int64) (object.PutResult, error) {
	t.Helper()
	return f.svc.PutObject(context.Background(), object.PutInput{Bucket: "bkt", Key: key, Body: bytes.NewReader(data), Size: size})
}

func (f *fixture) read(t *testing.T, key string) []byte {
	t.Helper()
	rd, err := f.svc.GetObject(context.Background(), object.GetInput{Bucket: "bkt", Key: key})
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer rd.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rd); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestInlineThreshold(t *testing.T) {
	f := newFixture(t, 1000)
	for _, tc := range []struct {
		size      int
		knownSize bool
		blobs     int
	}{
		{0, true, 0}, {1000, true, 0}, {1001, true, 1}, {0, false, 0}, {1000, false, 0}, {1001, false, 1}, {3 << 20, false, 1},
	} {
		key := fmt.Sprintf("k-%d-%v", tc.size, tc.knownSize)
		data := bytes.Repeat([]byte{byte(tc.size)}, tc.size)
		size := int64(-1)
		if tc.knownSize {
			size = int64(tc.size)
		}
		before := f.blobs.Len()
		if _, err := f.put(t, key, data, size); err != nil {
			t.Fatal(err)
		}
		if got := f.blobs.Len() - before; got != tc.blobs {
			t.Errorf("%s: %d new blobs, want %d", key, got, tc.blobs)
		}
		if !bytes.Equal(f.read(t, key), data) {
			t.Errorf("%s: read back differs", key)
		}
	}
}

// failingReader returns data then an error, as a client that disconnects
// or a body whose signature check fails at its end does.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestFailedWritesLeaveNothing(t *testing.T) {
	f := newFixture(t, 1000)
	ctx := context.Background()
	boom := errors.New("signature check failed at end of body")
	for _, size := range []int{10, 5000} {
		_, err := f.svc.PutObject(ctx, object.PutInput{Bucket: "bkt", Key: "bad", Size: int64(size),
			Body: &failingReader{bytes.NewReader(make([]byte, size)), boom}})
		if !errors.Is(err, boom) {
			t.Errorf("size %d: err %v, want the body's error", size, err)
		}
		_, err = f.svc.PutObject(ctx, object.PutInput{Bucket: "bkt", Key: "short", Size: int64(size) + 1,
			Body: &failingReader{bytes.NewReader(make([]byte, size)), io.ErrUnexpectedEOF}})
		if !errors.Is(err, object.ErrIncompleteBody) {
			t.Errorf("size %d: truncated body err %v", size, err)
		}
		_, err = f.svc.PutObject(ctx, object.PutInput{Bucket: "bkt", Key: "long", Size: int64(size) - 1, Body: bytes.NewReader(make([]byte, size))})
		if !errors.Is(err, object.ErrInvalidArgument) {
			t.Errorf("size %d: body longer than declared: %v", size, err)
		}
		_, err = f.svc.PutObject(ctx, object.PutInput{Bucket: "bkt", Key: "short2", Size: int64(size) + 1, Body: bytes.NewReader(make([]byte, size))})
		if !errors.Is(err, object.ErrIncompleteBody) {
			t.Errorf("size %d: short body err %v", size, err)
		}
		crc := checksum.CRC32C
		_, err = f.svc.PutObject(ctx, object.PutInput{Bucket: "bkt", Key: "sum", Size: int64(size), Body: bytes.NewReader(make([]byte, size)),
			Checksum: &object.ExpectedChecksum{Algorithm: crc, Trailer: func() string { return "AAAAAA==" }}})
		if !errors.Is(err, object.ErrChecksumMismatch) {
			t.Errorf("size %d: trailer mismatch err %v", size, err)
		}
	}
	_, err := f.svc.PutObject(ctx, object.PutInput{Bucket: "bkt", Key: "huge", Size: object.MaxPutSize + 1, Body: bytes.NewReader(nil)})
	if !errors.Is(err, object.ErrEntityTooLarge) {
		t.Errorf("oversized: %v", err)
	}
	_, err = f.svc.PutObject(ctx, object.PutInput{Bucket: "nobucket", Key: "k", Size: 5000, Body: bytes.NewReader(make([]byte, 5000))})
	if !errors.Is(err, object.ErrNoSuchBucket) {
		t.Errorf("missing bucket: %v", err)
	}
	if n, p := f.blobs.Len(), f.blobs.PendingWriters(); n != 0 || p != 0 {
		t.Errorf("failed writes left %d blobs and %d pending writers", n, p)
	}
	page, err := f.svc.ListObjects(ctx, "bkt", meta.ListOptions{})
	if err != nil || len(page.Objects) != 0 {
		t.Errorf("failed writes are listed: %+v %v", page.Objects, err)
	}
}

func TestConditionalPutAndChecksums(t *testing.T) {
	f := newFixture(t, 1000)
	ctx := context.Background()
	in := func(cond *meta.Condition) object.PutInput {
		return object.PutInput{Bucket: "bkt", Key: "c", Size: 3, Body: bytes.NewReader([]byte("abc")), Cond: cond}
	}
	res, err := f.svc.PutObject(ctx, in(&meta.Condition{IfNoneMatch: true}))
	if err != nil {
		t.Fatal(err)
	}
	if res.ETag != "900150983cd24fb0d6963f7d28e17f72" {
		t.Errorf("etag %s", res.ETag)
	}
	if res.Checksums[string(object.DefaultChecksum)] == "" {
		t.Errorf("default checksum not stored: %v", res.Checksums)
	}
	if _, err := f.svc.PutObject(ctx, in(&meta.Condition{IfNoneMatch: true})); !errors.Is(err, object.ErrPreconditionFailed) {
		t.Errorf("second if-none-match put: %v", err)
	}
	if _, err := f.svc.PutObject(ctx, in(&meta.Condition{IfMatch: "nope"})); !errors.Is(err, object.ErrPreconditionFailed) {
		t.Errorf("if-match miss: %v", err)
	}
	if _, err := f.svc.PutObject(ctx, in(&meta.Condition{IfMatch: res.ETag})); err != nil {
		t.Errorf("if-match hit: %v", err)
	}
	// A checksum sent up front is verified and returned.
	h := checksum.SHA256.New()
	h.Write([]byte("abc"))
	want := checksum.Encode(h.Sum(nil))
	res, err = f.svc.PutObject(ctx, object.PutInput{Bucket: "bkt", Key: "s", Size: 3, Body: bytes.NewReader([]byte("abc")),
		Checksum: &object.ExpectedChecksum{Algorithm: checksum.SHA256, Value: want}})
	if err != nil || res.Checksums["SHA256"] != want {
		t.Errorf("sha256 put: %v %v", res.Checksums, err)
	}
}

func TestCollectOrphans(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	if _, err := f.put(t, "live", make([]byte, 100), 100); err != nil {
		t.Fatal(err)
	}
	// An orphan: a committed blob no record points at (a crash between the
	// blob commit and the metadata commit).
	w, err := f.blobs.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("orphan"))
	orphan, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	// Young orphans are left alone: they may be a write about to commit.
	if n, err := f.svc.CollectOrphans(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("young orphan collected: %d %v", n, err)
	}
	f.clock.Store(int64(2 * time.Hour))
	n, err := f.svc.CollectOrphans(ctx, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("CollectOrphans = %d, %v; want 1", n, err)
	}
	if _, err := f.blobs.Open(ctx, orphan); err == nil {
		t.Error("orphan still there")
	}
	if got := f.read(t, "live"); len(got) != 100 {
		t.Error("live object damaged by collection")
	}
}

// Readers racing overwriters see one whole version each time, never a mix
// and never an error, even though every overwrite releases the old blob.
func TestReadsDuringOverwritesAreWhole(t *testing.T) {
	f := newFixture(t, 1000)
	const size = 64 << 10
	if _, err := f.put(t, "hot", bytes.Repeat([]byte{0}, size), size); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				v := byte(w*100 + i%100)
				if _, err := f.put(t, "hot", bytes.Repeat([]byte{v}, size), size); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 300 {
		got := f.read(t, "hot")
		if len(got) != size {
			t.Fatalf("read %d bytes, want %d", len(got), size)
		}
		for _, b := range got {
			if b != got[0] {
				t.Fatal("read mixes two versions")
			}
		}
	}
	close(stop)
	wg.Wait()
	if f.blobs.Len() != 1 {
		t.Errorf("%d blobs after the race, want 1", f.blobs.Len())
	}
}

// racingBlobs runs hook before the first Open: the moment between reading
// an object's record and opening its blob, where an overwrite may release
// the blob.
type racingBlobs struct {
	*mem.Store
	once sync.Once
	hook func()
}

func (r *racingBlobs) Open(ctx context.Context, id string) (blob.Reader, error) {
	r.once.Do(r.hook)
	return r.Store.Open(ctx, id)
}

func TestGetServesNewVersionWhenBlobReleasedDuringOpen(t *testing.T) {
	ms, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	ctx := context.Background()
	rb := &racingBlobs{Store: mem.New()}
	svc := object.New(ms, rb, object.Options{InlineMax: 10})
	if err := svc.CreateBucket(ctx, "bkt", "o", "r", object.BucketOptions{}); err != nil {
		t.Fatal(err)
	}
	put := func(b byte) {
		if _, err := svc.PutObject(ctx, object.PutInput{Bucket: "bkt", Key: "k", Size: 100, Body: bytes.NewReader(bytes.Repeat([]byte{b}, 100))}); err != nil {
			t.Fatal(err)
		}
	}
	put('a')
	rb.hook = func() { put('b') }
	rd, err := svc.GetObject(ctx, object.GetInput{Bucket: "bkt", Key: "k"})
	if err != nil {
		t.Fatalf("GET racing an overwrite: %v", err)
	}
	defer rd.Close()
	got, _ := io.ReadAll(rd)
	if !bytes.Equal(got, bytes.Repeat([]byte{'b'}, 100)) {
		t.Errorf("got %q, want the new version", got[:10])
	}
}

func TestExpireUploadsFreesParts(t *testing.T) {
	f := newFixture(t, 10)
	ctx := context.Background()
	old, err := f.svc.CreateUpload(ctx, object.CreateUploadInput{Bucket: "bkt", Key: "old"})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 2; n++ {
		if _, err := f.svc.UploadPart(ctx, object.PartInput{Bucket: "bkt", Key: "old", UploadID: old.ID, Number: n, Size: 100, Body: bytes.NewReader(make([]byte, 100))}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Store(int64(8 * 24 * time.Hour))
	fresh, err := f.svc.CreateUpload(ctx, object.CreateUploadInput{Bucket: "bkt", Key: "fresh"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UploadPart(ctx, object.PartInput{Bucket: "bkt", Key: "fresh", UploadID: fresh.ID, Number: 1, Size: 5, Body: bytes.NewReader(make([]byte, 5))}); err != nil {
		t.Fatal(err)
	}
	n, err := f.svc.ExpireUploads(ctx, 7*24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("ExpireUploads = %d, %v; want 1", n, err)
	}
	if _, err := f.svc.Upload(ctx, "bkt", "old", old.ID); !errors.Is(err, object.ErrNoSuchUpload) {
		t.Errorf("expired upload still there: %v", err)
	}
	if _, err := f.svc.Upload(ctx, "bkt", "fresh", fresh.ID); err != nil {
		t.Errorf("fresh upload expired: %v", err)
	}
	if f.blobs.Len() != 1 {
		t.Errorf("%d blobs left, want the fresh upload's one part", f.blobs.Len())
	}
}
