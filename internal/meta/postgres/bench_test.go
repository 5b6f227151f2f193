package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// benchObject is a small inline object with the fields a PUT through S3
// sets.
func benchObject(bucket, key string) meta.Object {
	data := make([]byte, 1024)
	return meta.Object{
		Bucket: bucket, Key: key, Size: int64(len(data)), ETag: "0123456789abcdef0123456789abcdef",
		Modified: time.Now(), ContentType: "application/octet-stream", StorageClass: "STANDARD",
		UserMeta: map[string]string{"owner": "bench"}, Inline: data,
	}
}

func benchStore(b *testing.B) *Store {
	b.Helper()
	needDB(b)
	s := openSchema(b, newSchema(b))
	b.Cleanup(func() { s.Close() })
	if err := s.CreateBucket(context.Background(), meta.Bucket{Name: "b"}); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkPutObject measures durable 1 KiB inline PUTs of new keys from
// 8 goroutines per GOMAXPROCS, as concurrent S3 requests issue them.
func BenchmarkPutObject(b *testing.B) {
	s := benchStore(b)
	var n atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			o := benchObject("b", fmt.Sprintf("k/%09d", n.Add(1)))
			if _, err := s.PutObject(ctx, o, meta.PutOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// fill puts keys from 16 goroutines.
func fill(b *testing.B, s *Store, keys []string) {
	b.Helper()
	ch := make(chan string)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for k := range ch {
				if _, err := s.PutObject(context.Background(), benchObject("b", k), meta.PutOptions{}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	wg.Wait()
}

// BenchmarkListObjects measures a 1000-entry page: of keys in a bucket of
// 20,000, and of common prefixes, each over 10 keys, under a delimiter.
func BenchmarkListObjects(b *testing.B) {
	s := benchStore(b)
	var keys []string
	for i := range 10000 {
		keys = append(keys, fmt.Sprintf("flat/%06d", i))
	}
	for d := range 1000 {
		for k := range 10 {
			keys = append(keys, fmt.Sprintf("dirs/%04d/%02d", d, k))
		}
	}
	fill(b, s, keys)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		opts meta.ListOptions
		want int
	}{
		{"keys", meta.ListOptions{Prefix: "flat/", After: "flat/004000"}, 1000},
		{"prefixes", meta.ListOptions{Prefix: "dirs/", Delimiter: "/"}, 1000},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				page, err := s.ListObjects(ctx, "b", c.opts)
				if err != nil || len(page.Objects)+len(page.CommonPrefixes) != c.want {
					b.Fatalf("page of %d, %v; want %d", len(page.Objects)+len(page.CommonPrefixes), err, c.want)
				}
			}
		})
	}
}
