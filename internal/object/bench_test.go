package object_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"github.com/cofferstore/coffer/internal/blob/disk"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/object"
)

// benchService is the production pairing: Pebble metadata and disk blobs,
// both fsyncing, in a temp dir.
func benchService(b *testing.B) *object.Service {
	b.Helper()
	ms, err := embedded.Open(b.TempDir(), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ms.Close() })
	bs, err := disk.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	svc := object.New(ms, bs, object.Options{})
	if err := svc.CreateBucket(context.Background(), "bench", "o", "us-east-1", object.BucketOptions{}); err != nil {
		b.Fatal(err)
	}
	return svc
}

func benchPut(b *testing.B, size int) {
	svc := benchService(b)
	data := bytes.Repeat([]byte("x"), size)
	var n atomic.Int64
	b.SetBytes(int64(size))
	b.SetParallelism(8) // 8 goroutines per core: concurrent clients, grouped fsyncs
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("k/%d", n.Add(1))
			if _, err := svc.PutObject(context.Background(), object.PutInput{Bucket: "bench", Key: key, Body: bytes.NewReader(data), Size: int64(size)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkPut4KiB(b *testing.B)  { benchPut(b, 4<<10) }
func BenchmarkPut1MiB(b *testing.B)  { benchPut(b, 1<<20) }
func BenchmarkPut16MiB(b *testing.B) { benchPut(b, 16<<20) }

func benchGet(b *testing.B, size int) {
	svc := benchService(b)
	data := bytes.Repeat([]byte("x"), size)
	const keys = 64
	for i := range keys {
		if _, err := svc.PutObject(context.Background(), object.PutInput{Bucket: "bench", Key: fmt.Sprint(i), Body: bytes.NewReader(data), Size: int64(size)}); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	b.SetBytes(int64(size))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rd, err := svc.GetObject(context.Background(), object.GetInput{Bucket: "bench", Key: fmt.Sprint(n.Add(1) % keys)})
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, rd)
			rd.Close()
		}
	})
}

func BenchmarkGet4KiB(b *testing.B) { benchGet(b, 4<<10) }
func BenchmarkGet1MiB(b *testing.B) { benchGet(b, 1<<20) }

func BenchmarkListPage1000(b *testing.B) {
	svc := benchService(b)
	for i := range 20000 {
		if _, err := svc.PutObject(context.Background(), object.PutInput{Bucket: "bench", Key: fmt.Sprintf("p/%06d", i), Body: bytes.NewReader(nil), Size: 0}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		page, err := svc.ListObjects(context.Background(), "bench", meta.ListOptions{Prefix: "p/", After: fmt.Sprintf("p/%06d", (i*1000)%19000), Limit: 1000})
		if err != nil || len(page.Objects) != 1000 {
			b.Fatalf("%d objects, %v", len(page.Objects), err)
		}
	}
}
