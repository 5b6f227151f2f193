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
			metatest.WriteUsageMix(t, s, 50)
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
			metatest.CheckAllUsage(t, s, "plain", "v")
			ctx := context.Background()
			if _, err := s.DeleteObject(ctx, "plain", "k4", meta.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AbortUpload(ctx, "v", "up", "u1"); err != nil {
				t.Fatal(err)
			}
			metatest.CheckAllUsage(t, s, "plain", "v")
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
	metatest.WriteUsageMix(t, s, n)
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
	metatest.CheckAllUsage(t, s, "plain", "v")
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
	metatest.CheckAllUsage(t, s, "plain", "v")
	if _, err := s.DeleteObject(context.Background(), "v", "k2", meta.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	metatest.CheckAllUsage(t, s, "plain", "v")
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
