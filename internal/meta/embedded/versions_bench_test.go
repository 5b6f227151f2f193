package embedded

import (
	"context"
	"fmt"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
)

// BenchmarkListLatestManyVersions lists a 1000-key page of current
// versions where every key was written w times, with versioning (w
// versions per key) and without (w overwrites): noncurrent versions live
// in another key space, so the two cost the same. Both pay for the
// overwrites until the LSM compacts them ("compacted" variants), as any
// overwrite-heavy workload does.
func BenchmarkListLatestManyVersions(b *testing.B) {
	for _, c := range []struct {
		writes    int
		versioned bool
		compact   bool
	}{{1, true, false}, {20, true, false}, {20, false, false}, {20, true, true}, {20, false, true}} {
		name := fmt.Sprintf("writes=%d/versioned=%v/compacted=%v", c.writes, c.versioned, c.compact)
		v := c.writes
		b.Run(name, func(b *testing.B) {
			s := benchStore(b)
			ctx := context.Background()
			if c.versioned {
				if _, err := s.UpdateBucket(ctx, "bench", func(bk *meta.Bucket) error { bk.Versioning = meta.VersioningEnabled; return nil }); err != nil {
					b.Fatal(err)
				}
			}
			keys := make([]string, 1000)
			for i := range keys {
				keys[i] = fmt.Sprintf("key/%05d", i)
			}
			for range v {
				fill(b, s, keys, []byte("x"))
			}
			if c.compact {
				if err := s.db.Compact(ctx, []byte{0}, []byte{0xff}, true); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				p, err := s.ListObjects(ctx, "bench", meta.ListOptions{Limit: 1000})
				if err != nil || len(p.Objects) != 1000 {
					b.Fatalf("page of %d, %v", len(p.Objects), err)
				}
			}
		})
	}
}
