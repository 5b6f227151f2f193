package embedded

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := s.Close(); err != nil {
			b.Error(err)
		}
	})
	if err := s.CreateBucket(context.Background(), meta.Bucket{Name: "bench", Owner: "o", Created: time.Now()}); err != nil {
		b.Fatal(err)
	}
	return s
}

func inlineObject(key string, data []byte) meta.Object {
	return meta.Object{
		Bucket: "bench", Key: key, Size: int64(len(data)), ETag: "0123456789abcdef0123456789abcdef",
		Modified: time.Now(), ContentType: "application/octet-stream", StorageClass: "STANDARD",
		UserMeta: map[string]string{"owner": "bench"}, Inline: data,
	}
}

// fill stores keys with 16 writers, so that setup uses group commit.
func fill(b *testing.B, s *Store, keys []string, data []byte) {
	b.Helper()
	ch := make(chan string)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range 16 {
		wg.Go(func() {
			for k := range ch {
				if _, err := putObj(s, context.Background(), inlineObject(k, data), nil); err != nil {
					failed.Store(&err)
				}
			}
		})
	}
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
}

// BenchmarkPutInline4KiB: durable 4 KiB inline PUTs, each to a new key,
// from 16 writers (8 per core on 2 cores) and, for the grouping ratio, from
// one.
func BenchmarkPutInline4KiB(b *testing.B) {
	data := make([]byte, 4096)
	b.Run("writers-16", func(b *testing.B) {
		s := benchStore(b)
		var n atomic.Int64
		b.SetBytes(int64(len(data)))
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := fmt.Sprintf("obj/%09d", n.Add(1))
				if _, err := putObj(s, context.Background(), inlineObject(k, data), nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("writers-1", func(b *testing.B) {
		s := benchStore(b)
		b.SetBytes(int64(len(data)))
		i := 0
		for b.Loop() {
			i++
			if _, err := putObj(s, context.Background(), inlineObject(fmt.Sprintf("obj/%09d", i), data), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGetInline4KiB: GETs of random keys among 10,000 4 KiB objects.
func BenchmarkGetInline4KiB(b *testing.B) {
	s := benchStore(b)
	data := make([]byte, 4096)
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = fmt.Sprintf("obj/%09d", i)
	}
	fill(b, s, keys, data)
	b.SetBytes(int64(len(data)))
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 0))
		for pb.Next() {
			o, err := getObj(s, context.Background(), "bench", keys[rng.IntN(len(keys))])
			if err != nil || len(o.Inline) != len(data) {
				b.Errorf("GetObject: %v, %d bytes", err, len(o.Inline))
				return
			}
		}
	})
}

// BenchmarkListPage1000 lists 1000-entry pages of a 20,000-key prefix
// (one op = one page), next to a 20,000-key neighbour prefix:
//   - flat: keys data/00000..19999, no delimiter;
//   - flat-delim: the same with delimiter "/" (checked, never rolls up);
//   - dirs-delim: data/d000/f00..d999/f19, delimiter "/": 1000 common
//     prefixes per page, each skipped with one seek over its 20 keys.
func BenchmarkListPage1000(b *testing.B) {
	s := benchStore(b)
	data := make([]byte, 100)
	var keys []string
	for i := range 20000 {
		keys = append(keys, fmt.Sprintf("data/%05d", i), fmt.Sprintf("dirs/d%03d/f%02d", i/20, i%20))
	}
	fill(b, s, keys, data)
	for _, bc := range []struct {
		name, prefix, delim string
		perPage             int // keys covered by one page
	}{
		{"flat", "data/", "", 1000},
		{"flat-delim", "data/", "/", 1000},
		{"dirs-delim", "dirs/", "/", 20000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			after := ""
			for b.Loop() {
				page, err := s.ListObjects(context.Background(), "bench", meta.ListOptions{Prefix: bc.prefix, Delimiter: bc.delim, After: after, Limit: 1000})
				if err != nil || len(page.Objects)+len(page.CommonPrefixes) != 1000 {
					b.Fatalf("ListObjects: %v, %d entries", err, len(page.Objects)+len(page.CommonPrefixes))
				}
				after = page.NextAfter
				if !page.Truncated {
					after = ""
				}
			}
			b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkPutPart: durable PutPart calls from 16 writers (8 per core on 2
// cores), one op = one part record:
//   - one-upload: every writer adds parts to the same upload, as a client
//     uploading one large object with parallel parts does;
//   - many-uploads: writers spread over 64 uploads.
//
// Part numbers wrap at 10,000, so long runs also replace parts.
func BenchmarkPutPart(b *testing.B) {
	for _, bc := range []struct {
		name    string
		uploads int
	}{{"one-upload", 1}, {"many-uploads", 64}} {
		b.Run(bc.name, func(b *testing.B) {
			s := benchStore(b)
			ctx := context.Background()
			for i := range bc.uploads {
				u := meta.Upload{ID: fmt.Sprintf("upload-%03d", i), Initiated: time.Now(), Owner: "o",
					Object: meta.Object{Bucket: "bench", Key: fmt.Sprintf("big/%03d", i), ContentType: "application/octet-stream"}}
				if err := s.CreateUpload(ctx, u); err != nil {
					b.Fatal(err)
				}
			}
			var n atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(n.Add(1))
					u := i % bc.uploads
					p := meta.Part{Number: (i/bc.uploads)%10000 + 1, Size: 16 << 20, ETag: "0123456789abcdef0123456789abcdef",
						Checksum: "AAAAAA==", Modified: time.Now(), BlobID: fmt.Sprintf("blob-%012d", i)}
					if _, err := s.PutPart(ctx, "bench", fmt.Sprintf("big/%03d", u), fmt.Sprintf("upload-%03d", u), p); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
