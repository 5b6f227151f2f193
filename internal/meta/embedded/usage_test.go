package embedded

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/metatest"
)

// writeUsageMix fills two buckets with every kind of entry the counters
// count: current and noncurrent versions, null versions, delete markers and
// uploads; n is the number of puts into "v".
func writeUsageMix(t *testing.T, s meta.Store, n int) {
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

// usageKeys counts the entries under nsUsage: bases and deltas.
func usageKeys(t *testing.T, s *Store) (bases, deltas int) {
	t.Helper()
	err := forEach(s.db, []byte{nsUsage}, func(k, _ []byte) error {
		i := bytes.IndexByte(k, sep)
		switch {
		case i < 0 || i+1 >= len(k):
			return fmt.Errorf("usage key %q: %w", k, errCorrupt)
		case k[i+1] == usageBase:
			bases++
		default:
			deltas++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bases, deltas
}

// checkAllUsage compares every bucket's counters and the total with a
// recount.
func checkAllUsage(t *testing.T, s meta.Store) {
	t.Helper()
	var sum meta.Usage
	for _, b := range []string{"plain", "v"} {
		sum = sum.Add(metatest.CheckUsage(t, s, b))
	}
	if tot, err := s.TotalUsage(context.Background()); err != nil || tot != sum {
		t.Errorf("TotalUsage = %+v, %v; want %+v", tot, err, sum)
	}
}

// TestUsageUpgrade: a directory written at schema 1 or 2 has no counters;
// Open builds them from the records, and writes then keep them.
func TestUsageUpgrade(t *testing.T) {
	for _, from := range []byte{1, 2} {
		t.Run(fmt.Sprintf("from=%d", from), func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, Options{Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			writeUsageMix(t, s, 50)
			want := map[string]meta.Usage{}
			for _, b := range []string{"plain", "v"} {
				want[b] = metatest.RecountUsage(t, s, b)
			}
			// What an older release left: the same records, no counters.
			lower := []byte{nsUsage}
			if err := s.db.DeleteRange(lower, prefixSuccessor(lower), pebble.Sync); err != nil {
				t.Fatal(err)
			}
			if err := s.db.Set(schemaKey, []byte{from}, pebble.Sync); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			s, err = Open(dir, Options{Logger: testLogger(t)})
			if err != nil {
				t.Fatalf("Open(schema %d): %v", from, err)
			}
			defer s.Close()
			v, ok, err := get(s.db, schemaKey)
			if err != nil || !ok || len(v) != 1 || v[0] != schemaVersion {
				t.Fatalf("schema after upgrade = %v, %v, %v; want %d", v, ok, err, schemaVersion)
			}
			if bases, deltas := usageKeys(t, s); bases != 2 || deltas != 0 {
				t.Errorf("after the upgrade: %d bases and %d deltas, want 2 and 0", bases, deltas)
			}
			for b, w := range want {
				if got, err := s.BucketUsage(context.Background(), b); err != nil || got != w {
					t.Errorf("BucketUsage(%q) after upgrade = %+v, %v; want %+v", b, got, err, w)
				}
			}
			checkAllUsage(t, s)
			ctx := context.Background()
			if _, err := s.DeleteObject(ctx, "plain", "k4", meta.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AbortUpload(ctx, "v", "up", "u1"); err != nil {
				t.Fatal(err)
			}
			checkAllUsage(t, s)
		})
	}
}

// TestUsageFoldAndReopen: deltas are folded once enough collect, so a read
// steps over a bounded number of them; Open folds what a previous run left,
// so none survives a restart.
func TestUsageFoldAndReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	n := 3*foldThreshold + 100
	writeUsageMix(t, s, n)
	if _, deltas := usageKeys(t, s); deltas > 2*foldThreshold {
		t.Errorf("%d deltas after %d writes: folding did not keep up (threshold %d)", deltas, n, foldThreshold)
	}
	// Every delta below a bucket's floor has been folded, so reads may
	// skip them; deltas at or above it are the live ones.
	for _, b := range []string{"plain", "v"} {
		all, _, err := readUsage(s.db, b, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		fromFloor, _, err := readUsage(s.db, b, s.usageFloor(b), false)
		if err != nil || all != fromFloor {
			t.Errorf("usage of %q from its floor = %+v, %v; from 0 %+v", b, fromFloor, err, all)
		}
	}
	if st := s.usageState("v"); st.pending.Load() >= foldThreshold {
		t.Errorf("bucket v has %d pending deltas, at least the threshold %d", st.pending.Load(), foldThreshold)
	}
	checkAllUsage(t, s)
	if _, deltas := usageKeys(t, s); deltas == 0 {
		t.Fatal("no delta left to fold at Open: the test would prove nothing")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if bases, deltas := usageKeys(t, s); bases != 2 || deltas != 0 {
		t.Errorf("after reopening: %d bases and %d deltas, want 2 and 0", bases, deltas)
	}
	checkAllUsage(t, s)
	if _, err := s.DeleteObject(context.Background(), "v", "k2", meta.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	checkAllUsage(t, s)
}

// TestUsageDeleteBucketDropsCounters: nothing of a deleted bucket's
// counters is left for a bucket created again under its name.
func TestUsageDeleteBucketDropsCounters(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t).(*Store)
	defer s.Close()
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	for i := range foldThreshold + 5 {
		u := meta.Upload{ID: fmt.Sprintf("u%d", i), Object: meta.Object{Bucket: "b", Key: "k"}}
		if err := s.CreateUpload(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteBucket(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if bases, deltas := usageKeys(t, s); bases+deltas != 0 {
		t.Errorf("after DeleteBucket: %d bases and %d deltas left", bases, deltas)
	}
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if u, err := s.BucketUsage(ctx, "b"); err != nil || u != (meta.Usage{}) {
		t.Errorf("BucketUsage of the new bucket = %+v, %v; want zero", u, err)
	}
}

func TestUsageEncoding(t *testing.T) {
	for _, u := range []meta.Usage{{}, {Objects: 1, Bytes: -2, Versions: 1 << 62, VersionBytes: -(1 << 63), Uploads: 7}} {
		got, err := decodeUsage(encodeUsage(u))
		if err != nil || got != u {
			t.Errorf("decodeUsage(encodeUsage(%+v)) = %+v, %v", u, got, err)
		}
	}
	// Fewer fields (an older value) read as zero; a torn varint is corrupt.
	if got, err := decodeUsage([]byte{2}); err != nil || got != (meta.Usage{Objects: 1}) {
		t.Errorf("decodeUsage(one field) = %+v, %v", got, err)
	}
	if _, err := decodeUsage([]byte{0x80}); err == nil {
		t.Error("decodeUsage(torn varint) succeeded")
	}
}
