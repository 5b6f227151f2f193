package embedded

import (
	"context"
	"slices"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
)

func TestExporter(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if kinds, err := s.RecordKinds(ctx); err != nil || len(kinds) != 0 {
		t.Fatalf("kinds of an empty store = %q, %v", kinds, err)
	}
	for _, k := range []string{"user", "lease", "user", "a", "user2"} {
		if _, err := s.PutRecord(ctx, meta.Record{Kind: k, ID: "id-" + k + "-" + string(rune('0'+len(k))), Rev: meta.RevAny}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutRecord(ctx, meta.Record{Kind: "user", ID: "second", Rev: meta.RevAny}); err != nil {
		t.Fatal(err)
	}
	kinds, err := s.RecordKinds(ctx)
	if err != nil || !slices.Equal(kinds, []string{"a", "lease", "user", "user2"}) {
		t.Errorf("RecordKinds = %q, %v", kinds, err)
	}
	for _, b := range []string{"b1", "b2"} {
		if err := s.CreateBucket(ctx, meta.Bucket{Name: b}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"tagging", "cors", "lifecycle"} {
		if err := s.PutBucketConfig(ctx, "b1", n, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutBucketConfig(ctx, "b2", "policy", []byte("p")); err != nil {
		t.Fatal(err)
	}
	names, err := s.BucketConfigNames(ctx, "b1")
	if err != nil || !slices.Equal(names, []string{"cors", "lifecycle", "tagging"}) {
		t.Errorf("BucketConfigNames(b1) = %q, %v", names, err)
	}
	if _, err := s.BucketConfigNames(ctx, "nob"); err == nil {
		t.Error("configs of a missing bucket listed")
	}
}
