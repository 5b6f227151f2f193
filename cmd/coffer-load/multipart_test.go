package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofferstore/coffer/internal/blob/disk"
	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/s3api"
)

// The multipart operation against a real Coffer S3 handler: every upload
// must complete, and the objects must have the requested size.
func TestMultipartAgainstCoffer(t *testing.T) {
	dir := t.TempDir()
	ms, err := embedded.Open(filepath.Join(dir, "meta"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	bs, err := disk.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := iam.New("LOADKEY", "load-secret-123")
	srv := httptest.NewServer(s3api.New(s3api.Config{Logger: slog.New(slog.DiscardHandler)}, object.New(ms, bs, object.Options{}), ids))
	defer srv.Close()

	var out, errb strings.Builder
	code := run(context.Background(), []string{"-endpoint", srv.URL, "-access", "LOADKEY", "-secret", "load-secret-123",
		"-op", "multipart", "-size", "12MiB", "-part-size", "5MiB", "-part-concurrency", "3", "-concurrency", "2", "-count", "3", "-duration", "0", "-json"},
		func(string) string { return "" }, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	page, err := ms.ListObjects(context.Background(), "coffer-load", metaList("coffer-load/multipart/"))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Objects) != 3 {
		t.Fatalf("%d objects, want 3", len(page.Objects))
	}
	for _, o := range page.Objects {
		if o.Size != 12<<20 || o.PartsCount != 3 || !strings.HasSuffix(o.ETag, "-3") {
			t.Errorf("object %s: size %d parts %d etag %s", o.Key, o.Size, o.PartsCount, o.ETag)
		}
	}
}

func metaList(prefix string) meta.ListOptions { return meta.ListOptions{Prefix: prefix, Limit: 100} }
