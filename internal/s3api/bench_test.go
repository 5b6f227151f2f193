package s3api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// benchRequest signs a request the way a lean client does (UNSIGNED-PAYLOAD).
func benchRequest(b *testing.B, method, url string, body []byte) *http.Request {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret}, req, "UNSIGNED-PAYLOAD", "s3", region, time.Now()); err != nil {
		b.Fatal(err)
	}
	return req
}

func benchDo(b *testing.B, req *http.Request) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		b.Errorf("%s %s: %d", req.Method, req.URL, resp.StatusCode)
	}
}

// BenchmarkServePut4KiB is the whole S3 path of a small PUT: HTTP,
// SigV4, routing, the object service and a durable inline commit.
func BenchmarkServePut4KiB(b *testing.B) {
	ts := newServer(b)
	mustCreateBucket(b, ts.sdk(b), "bench")
	body := bytes.Repeat([]byte("x"), 4096)
	var n atomic.Int64
	http.DefaultTransport.(*http.Transport).MaxIdleConnsPerHost = 64
	b.SetParallelism(8)
	b.SetBytes(4096)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchDo(b, benchRequest(b, http.MethodPut, fmt.Sprintf("%s/bench/k/%d", ts.URL, n.Add(1)), body))
		}
	})
}

// BenchmarkServeList1000 renders 1000-key ListObjectsV2 pages.
func BenchmarkServeList1000(b *testing.B) {
	ts := newServer(b)
	c := ts.sdk(b)
	mustCreateBucket(b, c, "bench")
	body := []byte{}
	for i := range 3000 {
		benchDo(b, benchRequest(b, http.MethodPut, fmt.Sprintf("%s/bench/p/%06d", ts.URL, i), body))
	}
	b.ResetTimer()
	for b.Loop() {
		benchDo(b, benchRequest(b, http.MethodGet, ts.URL+"/bench?list-type=2&prefix=p/", nil))
	}
}
