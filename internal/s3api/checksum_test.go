package s3api_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cofferstore/coffer/internal/blob/disk"
	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/s3api"
)

var algorithms = []types.ChecksumAlgorithm{
	types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme,
	types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256,
}

// roundTripChecksums writes with each algorithm and reads back with
// checksum validation on, for small (inline) and large (blob) objects.
func roundTripChecksums(t *testing.T, c *s3.Client, bucket string) {
	x := ctx(t)
	mustCreateBucket(t, c, bucket)
	for _, alg := range algorithms {
		for _, size := range []int{10, 300 << 10} {
			data := randBytes(t, size)
			key := string(alg) + "/" + string(rune('a'+size%26))
			if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data), ChecksumAlgorithm: alg}); err != nil {
				t.Fatalf("PUT %s %d: %v", alg, size, err)
			}
			out, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatalf("GET %s: %v", alg, err)
			}
			got, err := io.ReadAll(out.Body) // the SDK validates the checksum while reading
			out.Body.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("GET %s %d: %v", alg, size, err)
			}
		}
	}
	// The default (no algorithm named): the SDK sends CRC32 since 2025.
	if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("default"), Body: bytes.NewReader([]byte("hello"))}); err != nil {
		t.Fatal(err)
	}
}

func TestSDKChecksumsOverHTTP(t *testing.T) {
	ts := newServer(t)
	roundTripChecksums(t, ts.sdk(t), "sums")
	// A wrong checksum value is refused and stores nothing.
	c := ts.sdk(t)
	_, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("sums"), Key: aws.String("bad"), Body: bytes.NewReader([]byte("data")),
		ChecksumCRC32: aws.String("AAAAAA==")})
	wantCode(t, err, "BadDigest")
	_, err = c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String("sums"), Key: aws.String("bad")})
	if httpStatus(err) != 404 {
		t.Errorf("object with bad checksum was stored: %v", err)
	}
}

// Over TLS the SDK streams bodies as aws-chunked with a trailing checksum.
func TestSDKChecksumsOverTLS(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ms, err := embedded.Open(filepath.Join(dir, "meta"), embedded.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	bs, err := disk.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := iam.New(rootKey, rootSecret)
	srv := httptest.NewTLSServer(s3api.New(s3api.Config{Region: region, Logger: log}, object.New(ms, bs, object.Options{Logger: log}), ids))
	defer srv.Close()
	c := sdkClient(srv.URL, rootKey, rootSecret, func(o *s3.Options) { o.HTTPClient = srv.Client() })
	roundTripChecksums(t, c, "tls")
}
