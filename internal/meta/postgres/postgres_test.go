package postgres

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/metatest"
	"github.com/cofferstore/coffer/internal/meta/postgres/pgtest"
)

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// openSchema opens a store on schema; the caller closes it.
func openSchema(t testing.TB, schema string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, testDSN(), Options{Schema: schema, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open(schema %s): %v", schema, err)
	}
	return s
}

// openFresh opens a store on a new schema; the caller closes it.
func openFresh(t *testing.T) meta.Store {
	needDB(t)
	return openSchema(t, newSchema(t))
}

func TestConformance(t *testing.T) {
	needDB(t)
	metatest.Run(t, openFresh)
}

func TestReopen(t *testing.T) {
	needDB(t)
	metatest.RunReopen(t, openFresh, func(t *testing.T, old meta.Store) meta.Store {
		return openSchema(t, old.(*Store).Schema())
	})
}

func TestAfterClose(t *testing.T) {
	ctx := context.Background()
	s := openFresh(t).(*Store)
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for name, err := range callAll(ctx, s) {
		if !errors.Is(err, meta.ErrUnavailable) {
			t.Errorf("%s after Close: err = %v, want ErrUnavailable", name, err)
		}
	}
}

// callAll calls every method of s once and returns the errors by name.
func callAll(ctx context.Context, s meta.Store) map[string]error {
	obj := meta.Object{Bucket: "b", Key: "k"}
	checks := map[string]error{
		"CreateBucket": s.CreateBucket(ctx, meta.Bucket{Name: "c"}),
		"DeleteBucket": s.DeleteBucket(ctx, "b"),
	}
	_, checks["GetBucket"] = s.GetBucket(ctx, "b")
	_, checks["ListBuckets"] = s.ListBuckets(ctx)
	_, checks["UpdateBucket"] = s.UpdateBucket(ctx, "b", func(*meta.Bucket) error { return nil })
	_, checks["PutObject"] = s.PutObject(ctx, obj, meta.PutOptions{})
	_, checks["GetObject"] = s.GetObject(ctx, "b", "k", "")
	_, checks["DeleteObject"] = s.DeleteObject(ctx, "b", "k", meta.DeleteOptions{})
	_, checks["UpdateObject"] = s.UpdateObject(ctx, "b", "k", "", meta.UpdateOptions{}, func(*meta.Object) error { return nil })
	_, checks["ListObjects"] = s.ListObjects(ctx, "b", meta.ListOptions{})
	_, checks["ListObjectVersions"] = s.ListObjectVersions(ctx, "b", meta.VersionListOptions{})
	_, checks["BlobInUse"] = s.BlobInUse(ctx, "x")
	checks["CreateUpload"] = s.CreateUpload(ctx, meta.Upload{ID: "u", Object: obj})
	_, checks["GetUpload"] = s.GetUpload(ctx, "b", "k", "u")
	_, checks["PutPart"] = s.PutPart(ctx, "b", "k", "u", meta.Part{Number: 1})
	_, _, checks["ListParts"] = s.ListParts(ctx, "b", "k", "u", 0, 0)
	_, checks["ListUploads"] = s.ListUploads(ctx, "b", meta.UploadListOptions{})
	_, _, checks["CompleteUpload"] = s.CompleteUpload(ctx, "b", "k", "u", obj, meta.PutOptions{})
	_, checks["AbortUpload"] = s.AbortUpload(ctx, "b", "k", "u")
	_, checks["UploadsInitiatedBefore"] = s.UploadsInitiatedBefore(ctx, time.Now(), 0)
	checks["PutBucketConfig"] = s.PutBucketConfig(ctx, "b", "cors", []byte("x"))
	_, checks["GetBucketConfig"] = s.GetBucketConfig(ctx, "b", "cors")
	checks["DeleteBucketConfig"] = s.DeleteBucketConfig(ctx, "b", "cors")
	checks["AppendEvents"] = s.AppendEvents(ctx, []meta.Event{{Target: "t"}})
	_, checks["PendingEvents"] = s.PendingEvents(ctx, "t", 0)
	checks["AckEvents"] = s.AckEvents(ctx, "t", []uint64{1})
	_, checks["OutboxDepths"] = s.OutboxDepths(ctx)
	_, checks["PutRecord"] = s.PutRecord(ctx, meta.Record{Kind: "k", ID: "i"})
	_, checks["GetRecord"] = s.GetRecord(ctx, "k", "i")
	checks["DeleteRecord"] = s.DeleteRecord(ctx, "k", "i", meta.RevAny)
	_, checks["ListRecords"] = s.ListRecords(ctx, "k", "", 0)
	_, checks["PurgeExpiredRecords"] = s.PurgeExpiredRecords(ctx, time.Now(), 0)
	_, checks["BucketUsage"] = s.BucketUsage(ctx, "b")
	_, checks["TotalUsage"] = s.TotalUsage(ctx)
	return checks
}

// Shorthands for the shared helpers, used throughout this package's tests.
var (
	testDSN   = pgtest.DSN
	needDB    = pgtest.Need
	newSchema = pgtest.NewSchema
)
