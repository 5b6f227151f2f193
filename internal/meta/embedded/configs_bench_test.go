package embedded

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkPutObjectTags: durable retagging of 4 KiB inline objects (the
// inline bytes are not rewritten), 16 writers over distinct keys.
func BenchmarkPutObjectTags(b *testing.B) {
	s := benchStore(b)
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprintf("obj/%06d", i)
	}
	fill(b, s, keys, make([]byte, 4096))
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			tags := map[string]string{"project": "coffer", "n": fmt.Sprint(i)}
			if err := putTags(s, context.Background(), "bench", keys[i%int64(len(keys))], tags, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGetBucketConfig: reading a 1 KiB config, which front ends do on
// requests that consult CORS or policy documents.
func BenchmarkGetBucketConfig(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	if err := s.PutBucketConfig(ctx, "bench", "cors", make([]byte, 1024)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetBucketConfig(ctx, "bench", "cors"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
