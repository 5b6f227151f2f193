// Package browser drives Coffer from a real headless Chromium: the tests
// here are about what browsers enforce (CORS), which no Go client checks.
package browser

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/chromedp/chromedp"

	"github.com/cofferstore/coffer/internal/blob/disk"
	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/s3api"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium with the flags this machine needs (no
// sandbox as root, no background traffic to the closed network).
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required in CI (apt-get install chromium): %v", err)
		}
		t.Skipf("chromium not installed (%v); .ci/run installs it", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

func coffer(t *testing.T) (*s3.Client, string) {
	t.Helper()
	dir := t.TempDir()
	ms, err := embedded.Open(filepath.Join(dir, "meta"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ms.Close() })
	bs, err := disk.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := iam.New("BROWSERKEY", "browser-secret-123")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(s3api.New(s3api.Config{Logger: log}, object.New(ms, bs, object.Options{Logger: log}), ids))
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("BROWSERKEY", "browser-secret-123", "")})
	return c, srv.URL
}

type uploadResult struct {
	Status int    `json:"status"`
	ETag   string `json:"etag"`
	Error  string `json:"error"`
}

// upload makes the page at pageURL PUT body to url with fetch and report
// what the browser let it see.
func upload(t *testing.T, ctx context.Context, pageURL, url, body string) uploadResult {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	js := fmt.Sprintf(`fetch(%q, {method: "PUT", body: %q})
		.then(r => ({status: r.status, etag: r.headers.get("ETag") || "", error: ""}))
		.catch(e => ({status: 0, etag: "", error: String(e)}))`, url, body)
	res, err := chromedp.Run(tctx, chromedp.Evaluate[uploadResult](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running fetch in the page: %v", err)
	}
	return res
}

func TestCrossOriginPresignedUpload(t *testing.T) {
	ctx := browser(t)
	c, _ := coffer(t)
	x := context.Background()
	// The page comes from another origin (another port on loopback).
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>uploader</title><p>uploader</p>")
	}))
	defer page.Close()

	for _, b := range []string{"with-cors", "without-cors"} {
		if _, err := c.CreateBucket(x, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutBucketCors(x, &s3.PutBucketCorsInput{Bucket: aws.String("with-cors"), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedOrigins: []string{page.URL}, AllowedMethods: []string{"PUT", "GET"},
			AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(60)}}}}); err != nil {
		t.Fatal(err)
	}
	presign := func(bucket, key string) string {
		p, err := s3.NewPresignClient(c).PresignPutObject(x, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		return p.URL
	}
	const body = "hello from the browser"
	sum := md5.Sum([]byte(body))
	res := upload(t, ctx, page.URL, presign("with-cors", "up/file.txt"), body)
	if res.Status != 200 || res.ETag != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Fatalf("allowed cross-origin upload: %+v", res)
	}
	got, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("with-cors"), Key: aws.String("up/file.txt")})
	if err != nil {
		t.Fatal(err)
	}
	got.Body.Close()
	if aws.ToInt64(got.ContentLength) != int64(len(body)) {
		t.Errorf("stored %d bytes", aws.ToInt64(got.ContentLength))
	}

	// Without a rule the preflight is refused, the browser never sends the
	// PUT, and nothing is stored.
	res = upload(t, ctx, page.URL, presign("without-cors", "up/file.txt"), body)
	if res.Status != 0 || !strings.Contains(res.Error, "TypeError") {
		t.Fatalf("upload without a CORS rule: %+v", res)
	}
	_, err = c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("without-cors"), Key: aws.String("up/file.txt")})
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 404 {
		t.Errorf("object stored despite the refused preflight: %v", err)
	}
}
