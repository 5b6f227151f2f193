package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// startServe runs serve in-process and returns the S3 endpoint read from
// its start-up log line, and a stop function returning serve's error.
func startServe(t *testing.T, dataDir string) (endpoint string, stop func() error) {
	t.Helper()
	endpoint, _, stop = startServeBoth(t, dataDir)
	return endpoint, stop
}

// startServeBoth is startServe that also returns the console listener's
// base URL.
func startServeBoth(t *testing.T, dataDir string) (endpoint, console string, stop func() error) {
	t.Helper()
	cfg, err := loadConfig(nil, env(map[string]string{
		"COFFER_DATA_DIR": dataDir, "COFFER_S3_ADDR": "127.0.0.1:0", "COFFER_CONSOLE_ADDR": "127.0.0.1:0",
		"COFFER_ROOT_USER": "admin", "COFFER_ROOT_PASSWORD": "serve-test-secret", "COFFER_SHUTDOWN_TIMEOUT": "10s", "COFFER_LOG_LEVEL": "debug",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, io.Discard, io.MultiWriter(pw, testLog{t})); pw.Close() }()
	re := regexp.MustCompile(`s3=(http://[0-9.:]+) console=(http://[0-9.:]+)`)
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			endpoint, console = m[1], m[2]
			break
		}
	}
	if endpoint == "" {
		cancel()
		t.Fatalf("server did not start: %v", <-done)
	}
	go io.Copy(io.Discard, pr)
	return endpoint, console, func() error { cancel(); return <-done }
}

func client(endpoint string) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("admin", "serve-test-secret", "")})
}

// slowBody sends its first half, then waits for release before the rest.
type slowBody struct {
	data    []byte
	pos     int
	release chan struct{}
	halfway chan struct{}
}

func (b *slowBody) Read(p []byte) (int, error) {
	half := len(b.data) / 2
	if b.pos == half {
		close(b.halfway)
		<-b.release
	}
	if b.pos >= len(b.data) {
		return 0, io.EOF
	}
	end := min(len(b.data), b.pos+len(p))
	if b.pos < half {
		end = min(end, half)
	}
	n := copy(p, b.data[b.pos:end])
	b.pos += n
	return n, nil
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	dir := t.TempDir()
	endpoint, stop := startServe(t, dir)
	c := client(endpoint)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("grace")}); err != nil {
		t.Fatal(err)
	}
	// 32 MiB, so that the first half cannot fit in loopback socket buffers:
	// when it has been sent, the server is provably inside the handler.
	data := []byte(strings.Repeat("0123456789abcdef", 2<<20))
	body := &slowBody{data: data, release: make(chan struct{}), halfway: make(chan struct{})}
	req, _ := http.NewRequest(http.MethodPut, endpoint+"/grace/inflight", body)
	req.ContentLength = int64(len(data))
	signed := presignPut(t, c, "inflight")
	req.URL = signed
	putDone := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		putDone <- err
	}()
	<-body.halfway
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(200 * time.Millisecond) // shutdown has begun: listeners closed
	if _, err := http.Get(endpoint + "/"); err == nil {
		t.Error("new connections still accepted during shutdown")
	}
	close(body.release)
	if err := <-putDone; err != nil {
		t.Fatalf("in-flight PUT failed during graceful shutdown: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("serve returned %v", err)
	}

	// The stores were closed cleanly: a new server opens them and has the object.
	endpoint, stop = startServe(t, dir)
	defer stop()
	out, err := client(endpoint).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("grace"), Key: aws.String("inflight")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(got) != string(data) {
		t.Error("object written during shutdown is not intact")
	}
}

func presignPut(t *testing.T, c *s3.Client, key string) *url.URL {
	t.Helper()
	p, err := s3.NewPresignClient(c).PresignPutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("grace"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestServeRefusesBusyPort(t *testing.T) {
	endpoint, stop := startServe(t, t.TempDir())
	defer stop()
	cfg, err := loadConfig(nil, env(map[string]string{
		"COFFER_DATA_DIR": t.TempDir(), "COFFER_S3_ADDR": strings.TrimPrefix(endpoint, "http://"), "COFFER_CONSOLE_ADDR": "127.0.0.1:0",
		"COFFER_ROOT_USER": "admin", "COFFER_ROOT_PASSWORD": "serve-test-secret",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	err = serve(context.Background(), cfg, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "listening for s3") {
		t.Errorf("busy port: %v", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Error("unexpected cancel")
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestDefaultPublicS3(t *testing.T) {
	for addr, want := range map[string]string{
		"[::]:9000":      "http://localhost:9000",
		"0.0.0.0:9000":   "http://localhost:9000",
		"127.0.0.1:9123": "http://127.0.0.1:9123",
		"[::1]:9000":     "http://[::1]:9000",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := defaultPublicS3("http", a); got != want {
			t.Errorf("defaultPublicS3(%s) = %s, want %s", addr, got, want)
		}
	}
}
