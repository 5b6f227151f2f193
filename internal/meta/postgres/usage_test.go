package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/metatest"
)

// TestUsageBackfill: migration 2 builds the counters of a database written
// before it existed from the rows there, and writes then keep them.
func TestUsageBackfill(t *testing.T) {
	ctx := context.Background()
	needDB(t)
	schema := newSchema(t)
	s := openSchema(t, schema)
	metatest.WriteUsageMix(t, s, 30)
	want := map[string]meta.Usage{}
	for _, b := range []string{"plain", "v"} {
		want[b] = metatest.RecountUsage(t, s, b)
	}
	// Back to schema version 1, as a database of an earlier release is.
	if _, err := s.pool.Exec(ctx, `DROP TABLE bucket_usage`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM schema_migrations WHERE version >= 2`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openSchema(t, schema)
	defer s.Close()
	var version int
	if err := s.pool.QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil || version != SchemaVersion() {
		t.Fatalf("schema version after reopening = %d, %v; want %d", version, err, SchemaVersion())
	}
	for b, w := range want {
		if got, err := s.BucketUsage(ctx, b); err != nil || got != w {
			t.Errorf("BucketUsage(%q) after the migration = %+v, %v; want %+v", b, got, err, w)
		}
	}
	metatest.CheckAllUsage(t, s, "plain", "v")
	if _, err := s.DeleteObject(ctx, "plain", "k4", meta.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AbortUpload(ctx, "v", "up", "u1"); err != nil {
		t.Fatal(err)
	}
	metatest.CheckAllUsage(t, s, "plain", "v")
}

// TestClusterUsage: two instances write one bucket at once; the counters,
// which the instances share only through the database, equal a recount.
func TestClusterUsage(t *testing.T) {
	ctx := context.Background()
	stores := openCluster(t, 2)
	if err := stores[0].CreateBucket(ctx, meta.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[1].UpdateBucket(ctx, "b", func(b *meta.Bucket) error { b.Versioning = meta.VersioningEnabled; return nil }); err != nil {
		t.Fatal(err)
	}
	const writersPerStore, ops, keys = 6, 60, 8
	var wg sync.WaitGroup
	errs := make(chan error, writersPerStore*len(stores))
	for si, s := range stores {
		for w := range writersPerStore {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(si), uint64(w)))
				for i := range ops {
					key := fmt.Sprintf("k%d", rng.IntN(keys))
					var err error
					switch rng.IntN(4) {
					case 0, 1:
						o := meta.Object{Bucket: "b", Key: key, Size: int64(1 + rng.IntN(100)), ETag: "e"}
						_, err = s.PutObject(ctx, o, meta.PutOptions{})
					case 2:
						_, err = s.DeleteObject(ctx, "b", key, meta.DeleteOptions{})
					default:
						err = s.CreateUpload(ctx, meta.Upload{ID: fmt.Sprintf("u-%d-%d-%d", si, w, i), Object: meta.Object{Bucket: "b", Key: key}})
					}
					if err != nil {
						errs <- fmt.Errorf("store %d writer %d op %d: %w", si, w, i, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, s := range stores {
		metatest.CheckAllUsage(t, s, "b")
	}
	var shards int
	if err := stores[0].pool.QueryRow(ctx, `SELECT count(*) FROM bucket_usage`).Scan(&shards); err != nil {
		t.Fatal(err)
	}
	if shards < 2 || shards > usageShards {
		t.Errorf("the counters of one bucket spread over %d rows, want 2 to %d", shards, usageShards)
	}
}
