package crash

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cofferstore/coffer/test/coffertest"
)

// TestVerifyDetectsDamage damages a real server's data in the ways a
// broken recovery would (a truncated blob, a lost acknowledged write, a key
// nobody wrote) and checks that verify reports each one and nothing else.
func TestVerifyDetectsDamage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary; skipped in -short mode")
	}
	epoch := time.Now()
	bin := coffertest.Build(t)
	dataDir := t.TempDir()
	env := []string{"COFFER_INLINE_MAX=131072"}
	srv := coffertest.Start(t, bin, coffertest.Options{DataDir: dataDir, Env: env})
	client := newClient(srv.Endpoint)
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	h := newHistory()
	rng := rand.NewChaCha8([32]byte{1})
	content := func(n int) []byte {
		b := make([]byte, n)
		rng.Read(b)
		return b
	}
	put := func(key string, data []byte, record bool) {
		t.Helper()
		var o *op
		if record {
			o = h.begin(key, state{present: true, sum: sha256.Sum256(data), md5: md5.Sum(data), size: int64(len(data))})
		}
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
			t.Fatalf("PUT %s: %v", key, err)
		}
		if record {
			h.ack(o)
		}
	}

	put("ok-inline", content(10<<10), true)
	put("ok-blob", content(300<<10), true)
	before := blobFiles(t, dataDir)
	put("truncated-blob", content(500<<10), true)
	var victim string
	for f := range blobFiles(t, dataDir) {
		if !before[f] {
			victim = f
		}
	}
	if victim == "" {
		t.Fatal("the 500 KiB PUT created no blob file")
	}
	put("stray", content(1000), false)
	// An acknowledged write the server has no trace of.
	lost := content(2000)
	h.ack(h.begin("lost", state{present: true, sum: sha256.Sum256(lost), md5: md5.Sum(lost), size: int64(len(lost))}))

	if err := srv.Stop(30 * time.Second); err != nil {
		t.Fatalf("stopping: %v", err)
	}
	if err := os.Truncate(victim, 250<<10); err != nil {
		t.Fatal(err)
	}
	srv = coffertest.Start(t, bin, coffertest.Options{DataDir: dataDir, Env: env})
	_, problems, _ := verify(newClient(srv.Endpoint), h, epoch, 1)

	t.Logf("verify reported:\n%s", strings.Join(problems, "\n"))
	want := map[string]bool{`"truncated-blob"`: false, `"lost" holds absent`: false, `listing shows "stray"`: false}
	for _, p := range problems {
		matched := false
		for w := range want {
			if strings.Contains(p, w) {
				want[w], matched = true, true
			}
		}
		if !matched {
			t.Errorf("unexpected problem reported: %s", p)
		}
	}
	for w, found := range want {
		if !found {
			t.Errorf("verify did not report %s; it reported:\n%s", w, strings.Join(problems, "\n"))
		}
	}
}

// blobFiles returns the committed blob files under dataDir.
func blobFiles(t *testing.T, dataDir string) map[string]bool {
	out := map[string]bool{}
	root := filepath.Join(dataDir, "blobs")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && blobName.MatchString(d.Name()) && !strings.Contains(path, ".tmp") {
			out[path] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
