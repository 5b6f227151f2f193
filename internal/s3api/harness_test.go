package s3api_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/minio/minio-go/v7"
	mcreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cofferstore/coffer/internal/blob/disk"
	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/s3api"
)

const (
	rootKey    = "TESTROOTKEY"
	rootSecret = "test-root-secret-0123456789"
	region     = "us-east-1"
)

// testServer is a real S3 server on 127.0.0.1 over real stores in a temp
// dir: the same wiring as the binary, minus the flags.
type testServer struct {
	URL     string
	objects *object.Service
	dir     string
}

type serverOpt func(*s3api.Config, *object.Options)

func newServer(t testing.TB, opts ...serverOpt) *testServer {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ms, err := embedded.Open(filepath.Join(dir, "meta"), embedded.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := disk.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := s3api.Config{Region: region, Logger: log, Domains: []string{"s3.test"}}
	oopts := object.Options{Logger: log}
	for _, o := range opts {
		o(&cfg, &oopts)
	}
	objects := object.New(ms, bs, oopts)
	ids, err := iam.New(rootKey, rootSecret)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s3api.New(cfg, objects, ids))
	t.Cleanup(func() {
		srv.Close()
		if err := ms.Close(); err != nil {
			t.Errorf("closing meta store: %v", err)
		}
	})
	return &testServer{URL: srv.URL, objects: objects, dir: dir}
}

func (ts *testServer) sdk(t testing.TB, optFns ...func(*s3.Options)) *s3.Client {
	return sdkClient(ts.URL, rootKey, rootSecret, optFns...)
}

func sdkClient(endpoint, key, secret string, optFns ...func(*s3.Options)) *s3.Client {
	return s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		// Fail fast in tests instead of retrying server errors.
		RetryMaxAttempts: 1,
	}, optFns...)
}

func (ts *testServer) minio(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(ts.URL[len("http://"):], &minio.Options{
		Creds:  mcreds.NewStaticV4(rootKey, rootSecret, ""),
		Secure: false,
		Region: region,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// apiCode returns the S3 error code of an SDK error, or "" for none.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus returns the HTTP status carried by an SDK error.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want %s", code)
	}
	if got := apiCode(err); got != code {
		t.Fatalf("got error %v (code %q), want %s", err, got, code)
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func mustCreateBucket(t testing.TB, c *s3.Client, name string) {
	t.Helper()
	if _, err := c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

// rawClient is a plain HTTP client for requests SDKs refuse to send.
var rawClient = &http.Client{Timeout: time.Minute}
