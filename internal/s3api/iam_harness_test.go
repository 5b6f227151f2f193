package s3api_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cofferstore/coffer/internal/blob/disk"
	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/s3api"
)

// iamServer is newServer with identities: the same real stores, and an
// IAM opened over the metadata store as the binary does, so tests can add
// users, groups, keys and policies.
type iamServer struct {
	*testServer
	iam *iam.IAM
}

func newIAMServer(t testing.TB, opts ...serverOpt) *iamServer {
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
	key := make([]byte, iam.MasterKeySize)
	rand.Read(key)
	ids, err := iam.Open(context.Background(), iam.Config{RootUser: rootKey, RootSecret: rootSecret, Store: ms,
		MasterKey: key, Buckets: objects})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s3api.New(cfg, objects, ids))
	t.Cleanup(func() {
		srv.Close()
		objects.Close()
		if err := ms.Close(); err != nil {
			t.Errorf("closing meta store: %v", err)
		}
	})
	return &iamServer{testServer: &testServer{URL: srv.URL, objects: objects, dir: dir}, iam: ids}
}

// user creates a user with the given attached policies and an access key,
// and returns an SDK client signing as it.
func (s *iamServer) user(t testing.TB, name string, policies ...string) *s3.Client {
	t.Helper()
	x := context.Background()
	if _, err := s.iam.CreateUser(x, iam.UserInput{Name: name, Policies: policies}); err != nil {
		t.Fatal(err)
	}
	k, err := s.iam.CreateAccessKey(x, iam.AccessKeyInput{User: name})
	if err != nil {
		t.Fatal(err)
	}
	return sdkClient(s.URL, k.AccessKey, k.Secret)
}

// anon sends an unsigned request and returns the status and body.
func (s *iamServer) anon(t testing.TB, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustPut(t testing.TB, c *s3.Client, bucket, key, body string) {
	t.Helper()
	if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
}

func getBody(t testing.TB, c *s3.Client, bucket, key string) (string, error) {
	t.Helper()
	out, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

func putPolicy(t testing.TB, c *s3.Client, bucket, doc string) {
	t.Helper()
	if _, err := c.PutBucketPolicy(ctx(t), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(doc)}); err != nil {
		t.Fatalf("PutBucketPolicy %s: %v", bucket, err)
	}
}

func bucketNames(t testing.TB, c *s3.Client) string {
	t.Helper()
	out, err := c.ListBuckets(ctx(t), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range out.Buckets {
		names = append(names, *b.Name)
	}
	return strings.Join(names, ",")
}
