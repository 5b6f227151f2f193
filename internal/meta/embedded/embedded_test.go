package embedded

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

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
	_, checks["PutObject"] = s.PutObject(ctx, meta.Object{Bucket: "b", Key: "k"}, nil)
	_, checks["GetObject"] = s.GetObject(ctx, "b", "k")
	_, checks["DeleteObject"] = s.DeleteObject(ctx, "b", "k", nil)
	_, checks["ListObjects"] = s.ListObjects(ctx, "b", meta.ListOptions{})
	_, checks["BlobInUse"] = s.BlobInUse(ctx, "x")
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
	if _, err := s.PutObject(ctx, both, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutObject(inline and segments) err = %v, want ErrInvalid", err)
	}
	neg := meta.Object{Bucket: "b", Key: "k", Segments: []meta.Segment{{BlobID: "x", Size: -1}}}
	if _, err := s.PutObject(ctx, neg, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutObject(negative segment) err = %v, want ErrInvalid", err)
	}
	if _, err := s.GetObject(ctx, "b", "k"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Errorf("refused put left a record: %v", err)
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
