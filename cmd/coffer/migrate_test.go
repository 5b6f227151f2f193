package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
)

func TestMetaMigrateCommand(t *testing.T) {
	from, to := t.TempDir(), t.TempDir()
	src, err := embedded.Open(filepath.Join(from, "meta"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := src.CreateBucket(ctx, meta.Bucket{Name: "bkt", Owner: "o"}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.PutObject(ctx, meta.Object{Bucket: "bkt", Key: "k", Size: 1, Inline: []byte("x")}, meta.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"meta", "migrate", "--from", from, "--to", to}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "copied and verified: 1 buckets") {
		t.Errorf("output %q", out.String())
	}
	dst, err := embedded.Open(filepath.Join(to, "meta"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o, err := dst.GetObject(ctx, "bkt", "k", "")
	if err != nil || string(o.Inline) != "x" {
		t.Errorf("copied object = %+v, %v", o, err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	if code := run([]string{"meta", "migrate", "--from", from, "--to", to}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "not empty") {
		t.Errorf("migrating into a non-empty store: exit %d, %q", code, errOut.String())
	}
	if code := run([]string{"meta", "migrate", "--from", from}, &out, &errOut); code != 2 {
		t.Errorf("missing --to: exit %d", code)
	}
}
