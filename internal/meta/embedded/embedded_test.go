package embedded

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/metatest"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// tWriter routes Pebble's warnings and errors into the test log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func openTemp(t *testing.T) meta.Store {
	s, err := Open(t.TempDir(), Options{Logger: testLogger(t), CacheSize: 8 << 20})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	metatest.Run(t, openTemp)
}

func TestReopen(t *testing.T) {
	metatest.RunReopen(t, openTemp, func(t *testing.T, old meta.Store) meta.Store {
		s, err := Open(old.(*Store).Dir(), Options{Logger: testLogger(t)})
		if err != nil {
			t.Fatalf("reopening: %v", err)
		}
		return s
	})
}

func TestAfterClose(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	checks := map[string]error{
		"CreateBucket": s.CreateBucket(ctx, meta.Bucket{Name: "c"}),
		"DeleteBucket": s.DeleteBucket(ctx, "b"),
	}
	_, checks["GetBucket"] = s.GetBucket(ctx, "b")
	_, checks["ListBuckets"] = s.ListBuckets(ctx)
	_, checks["PutObject"] = putObj(s, ctx, meta.Object{Bucket: "b", Key: "k"}, nil)
	_, checks["GetObject"] = getObj(s, ctx, "b", "k")
	_, checks["DeleteObject"] = delObj(s, ctx, "b", "k", nil)
	_, checks["ListObjects"] = s.ListObjects(ctx, "b", meta.ListOptions{})
	_, checks["BlobInUse"] = s.BlobInUse(ctx, "x")
	checks["CreateUpload"] = s.CreateUpload(ctx, meta.Upload{ID: "u", Object: meta.Object{Bucket: "b", Key: "k"}})
	_, checks["GetUpload"] = s.GetUpload(ctx, "b", "k", "u")
	_, checks["PutPart"] = s.PutPart(ctx, "b", "k", "u", meta.Part{Number: 1})
	_, _, checks["ListParts"] = s.ListParts(ctx, "b", "k", "u", 0, 0)
	_, checks["ListUploads"] = s.ListUploads(ctx, "b", meta.UploadListOptions{})
	_, _, checks["CompleteUpload"] = completeUpload(s, ctx, "b", "k", "u", meta.Object{Bucket: "b", Key: "k"}, nil)
	_, checks["AbortUpload"] = s.AbortUpload(ctx, "b", "k", "u")
	_, checks["UploadsInitiatedBefore"] = s.UploadsInitiatedBefore(ctx, time.Now(), 0)
	checks["PutBucketConfig"] = s.PutBucketConfig(ctx, "b", "cors", []byte("x"))
	_, checks["GetBucketConfig"] = s.GetBucketConfig(ctx, "b", "cors")
	checks["DeleteBucketConfig"] = s.DeleteBucketConfig(ctx, "b", "cors")
	checks["PutObjectTags"] = putTags(s, ctx, "b", "k", nil, nil)
	_, checks["BucketUsage"] = s.BucketUsage(ctx, "b")
	_, checks["TotalUsage"] = s.TotalUsage(ctx)
	for name, err := range checks {
		if !errors.Is(err, meta.ErrUnavailable) {
			t.Errorf("%s after Close: err = %v, want ErrUnavailable", name, err)
		}
	}
}

func TestInvalidArguments(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	defer s.Close()
	for _, name := range []string{"", "a\x00b"} {
		if err := s.CreateBucket(ctx, meta.Bucket{Name: name}); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateBucket(%q) err = %v, want ErrInvalid", name, err)
		}
	}
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	both := meta.Object{Bucket: "b", Key: "k", Inline: []byte("x"), Segments: []meta.Segment{{BlobID: "x", Size: 1}}}
	if _, err := putObj(s, ctx, both, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutObject(inline and segments) err = %v, want ErrInvalid", err)
	}
	neg := meta.Object{Bucket: "b", Key: "k", Segments: []meta.Segment{{BlobID: "x", Size: -1}}}
	if _, err := putObj(s, ctx, neg, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutObject(negative segment) err = %v, want ErrInvalid", err)
	}
	if _, err := getObj(s, ctx, "b", "k"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Errorf("refused put left a record: %v", err)
	}

	es := s.(*Store)
	up := meta.Upload{ID: "u", Object: meta.Object{Bucket: "b", Key: "k"}}
	if err := es.CreateUpload(ctx, meta.Upload{Object: up.Object}); !errors.Is(err, ErrInvalid) {
		t.Errorf("CreateUpload(empty id) err = %v, want ErrInvalid", err)
	}
	if err := es.CreateUpload(ctx, meta.Upload{ID: "u", Object: meta.Object{Bucket: "b\x00", Key: "k"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("CreateUpload(bucket with NUL) err = %v, want ErrInvalid", err)
	}
	if err := es.CreateUpload(ctx, up); err != nil {
		t.Fatal(err)
	}
	if _, err := es.PutPart(ctx, "b", "k", "u", meta.Part{Number: 1, BlobID: "first"}); err != nil {
		t.Fatal(err)
	}
	if err := es.CreateUpload(ctx, up); !errors.Is(err, ErrInvalid) {
		t.Errorf("CreateUpload(id in use) err = %v, want ErrInvalid", err)
	}
	for _, p := range []meta.Part{{Number: 0}, {Number: -1}, {Number: 10001}, {Number: 1 << 16}, {Number: 2, Size: -1}} {
		if _, err := es.PutPart(ctx, "b", "k", "u", p); !errors.Is(err, ErrInvalid) {
			t.Errorf("PutPart(%+v) err = %v, want ErrInvalid", p, err)
		}
	}
	for _, o := range []meta.Object{{Bucket: "b", Key: "other"}, {Bucket: "c", Key: "k"}, both, neg} {
		if _, _, err := completeUpload(es, ctx, "b", "k", "u", o, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("CompleteUpload(object %q/%q) err = %v, want ErrInvalid", o.Bucket, o.Key, err)
		}
	}
	parts, _, err := es.ListParts(ctx, "b", "k", "u", 0, 0)
	if err != nil || len(parts) != 1 || parts[0].BlobID != "first" {
		t.Errorf("refused calls changed the upload: parts %+v, %v", parts, err)
	}
	// A part put again with the same blob has nothing to release.
	if rep, err := es.PutPart(ctx, "b", "k", "u", meta.Part{Number: 1, BlobID: "first", ETag: "again"}); err != nil || rep != nil {
		t.Errorf("PutPart(same blob) = %+v, %v; want nil, nil", rep, err)
	}
	if used, err := es.BlobInUse(ctx, "first"); err != nil || !used {
		t.Errorf("BlobInUse(re-put part blob) = %v, %v", used, err)
	}
}

func TestCanceledContext(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "b"}); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateBucket(canceled) err = %v, want context.Canceled", err)
	}
	if _, err := s.GetBucket(context.Background(), "b"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("canceled CreateBucket wrote anyway: %v", err)
	}
}

func TestSchemaVersionMismatch(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Set(schemaKey, []byte{schemaVersion + 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir, Options{Logger: testLogger(t)}); !errors.Is(err, ErrInvalid) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open(newer schema) err = %v, want ErrInvalid", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file, Options{Logger: testLogger(t)}); err == nil {
		t.Fatal("Open on a regular file succeeded")
	}
}
