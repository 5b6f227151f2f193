package cluster_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cofferstore/coffer/test/coffertest"
)

// findNginx returns Debian's nginx, failing under CI=true and skipping
// otherwise when it is not installed (.ci/run installs it).
func findNginx(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/nginx", "/usr/bin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nginx is not installed; CI needs it (apt-get install nginx-light)")
	}
	t.Skip("nginx is not installed")
	return ""
}

// startNginx renders deploy/nginx.conf for the cluster and runs nginx in
// the foreground until the test ends. It returns the S3 and console URLs.
func startNginx(t *testing.T, c *cluster) (s3URL, consoleURL string) {
	t.Helper()
	bin := findNginx(t)
	tmpl, err := os.ReadFile("../../deploy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{"body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s3Addr, err := coffertest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	consoleAddr, err := coffertest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	var s3Servers, consoleServers strings.Builder
	for _, n := range c.nodes {
		fmt.Fprintf(&s3Servers, "        server %s max_fails=1 fail_timeout=5s;\n", n.S3Addr)
		fmt.Fprintf(&consoleServers, "        server %s;\n", strings.TrimPrefix(n.Console, "http://"))
	}
	conf := strings.NewReplacer(
		"@PIDFILE@", filepath.Join(dir, "nginx.pid"),
		"@ERRORLOG@", filepath.Join(dir, "error.log"),
		"@TEMP@", dir,
		"@S3_SERVERS@", strings.TrimRight(s3Servers.String(), "\n"),
		"@CONSOLE_SERVERS@", strings.TrimRight(consoleServers.String(), "\n"),
		"@LISTEN@", s3Addr,
		"@CONSOLE_LISTEN@", consoleAddr,
	).Replace(string(tmpl))
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", confPath, "-g", "daemon off;")
	outFile, err := os.Create(filepath.Join(dir, "output.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	// Output to a file, not a pipe: nginx's workers inherit it and would
	// keep Wait blocked after the master is gone. Its own process group, so
	// that the workers go with it.
	cmd.Stdout, cmd.Stderr = outFile, outFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(dir, "output.log"))
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror log:\n%s", out, log)
		}
	})
	consoleURL = "http://" + consoleAddr
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(consoleURL + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(dir, "output.log"))
			t.Fatalf("nginx did not come up: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "http://" + s3Addr, consoleURL
}

// TestNginxInFront: deploy/nginx.conf, as docs/deploy.md describes it, in
// front of three instances: signatures survive the proxy (Host kept),
// large and multipart bodies stream through, presigned URLs work, keys
// with "//" and ".." arrive unchanged, and the console is reachable.
func TestNginxInFront(t *testing.T) {
	c := startCluster(t, 3)
	s3URL, consoleURL := startNginx(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client := s3.New(s3.Options{Region: coffertest.Region, BaseEndpoint: aws.String(s3URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(coffertest.AccessKey, coffertest.SecretKey, "")})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("proxied")}); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 24<<20)
	rand.Read(big)
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("proxied"), Key: aws.String("big"), Body: bytes.NewReader(big)}); err != nil {
		t.Fatalf("24 MiB PUT through nginx: %v", err)
	}
	mp, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("proxied"), Key: aws.String("multi")})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	const partSize = 8 << 20
	for i := 0; i*partSize < len(big); i++ {
		chunk := big[i*partSize : min((i+1)*partSize, len(big))]
		out, err := client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("proxied"), Key: aws.String("multi"), UploadId: mp.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(chunk)})
		if err != nil {
			t.Fatalf("part %d through nginx: %v", i+1, err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag})
	}
	if _, err := client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("proxied"), Key: aws.String("multi"),
		UploadId: mp.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatalf("completing through nginx: %v", err)
	}
	for _, key := range []string{"big", "multi"} {
		got, err := get(ctx, client, "proxied", key)
		if err != nil || got != string(big) {
			t.Fatalf("GET %s through nginx: %d bytes, %v", key, len(got), err)
		}
	}
	for _, key := range []string{"a//b", "x/../y", "sp ace+plus%"} {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("proxied"), Key: aws.String(key), Body: strings.NewReader(key)}); err != nil {
			t.Fatalf("PUT %q through nginx: %v", key, err)
		}
		if got, err := get(ctx, client, "proxied", key); err != nil || got != key {
			t.Errorf("GET %q through nginx = %q, %v", key, got, err)
		}
	}
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("proxied")})
	if err != nil || len(list.Contents) != 5 {
		t.Errorf("listing through nginx: %d objects, %v; want 5", len(list.Contents), err)
	}
	ps, err := s3.NewPresignClient(client).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("proxied"), Key: aws.String("a//b")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(ps.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "a//b" {
		t.Errorf("presigned GET through nginx: %s %q", resp.Status, body)
	}
	resp, err = http.Get(consoleURL + "/api/health")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("console through nginx: %v %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
}
