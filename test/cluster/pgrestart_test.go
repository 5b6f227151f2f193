package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cofferstore/coffer/test/coffertest"
)

// privatePostgres runs a PostgreSQL server of its own (initdb in a temp
// dir, as the postgres user) so that the test can stop and start it
// without disturbing the machine's shared one.
type privatePostgres struct {
	bin, dir, port string
}

func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	_, err := exec.LookPath("runuser")
	if len(bins) == 0 || err != nil || os.Geteuid() != 0 {
		msg := "a private PostgreSQL needs the server binaries, runuser and root"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	addr, err := coffertest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p := &privatePostgres{bin: filepath.Dir(bins[0]), dir: t.TempDir(), port: addr[strings.LastIndexByte(addr, ':')+1:]}
	if err := os.Chmod(filepath.Dir(p.dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "postgres", p.dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	p.run(t, "initdb", "-D", p.dir+"/data", "-A", "trust", "-U", "postgres", "--no-sync")
	p.start(t)
	t.Cleanup(func() { p.pgctl("stop", "-m", "immediate") })
	return p
}

func (p *privatePostgres) run(t *testing.T, tool string, args ...string) {
	t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, tool)}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
}

func (p *privatePostgres) pgctl(args ...string) error {
	all := append([]string{"-u", "postgres", "--", filepath.Join(p.bin, "pg_ctl"), "-D", p.dir + "/data", "-w"}, args...)
	out, err := exec.Command("runuser", all...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %v: %v\n%s", args, err, out)
	}
	return nil
}

func (p *privatePostgres) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c fsync=off", p.port, p.dir)
	if err := p.pgctl("-l", p.dir+"/log", "-o", opts, "start"); err != nil {
		t.Fatal(err)
	}
}

func (p *privatePostgres) dsn() string {
	return "postgres://postgres@127.0.0.1:" + p.port + "/postgres?sslmode=disable"
}

// TestPostgresRestartUnderLoad: while PostgreSQL is down, requests fail
// with 503 (ServiceUnavailable or SlowDown), never 500 or a hang; when it
// is back the server recovers by itself, and every write acknowledged
// before, during or after is intact.
func TestPostgresRestartUnderLoad(t *testing.T) {
	pg := startPrivatePostgres(t)
	bin := coffertest.Build(t)
	srv := coffertest.Start(t, bin, coffertest.Options{Env: []string{"COFFER_META=" + pg.dsn()}})
	c := s3.New(s3.Options{Region: coffertest.Region, BaseEndpoint: aws.String(srv.Endpoint), UsePathStyle: true,
		Credentials: staticCreds(), RetryMaxAttempts: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pgrestart")}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string]string{}
	var unavailable, other atomic.Int32
	var otherErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key, body := fmt.Sprintf("w%d/%d", w, i), fmt.Sprintf("body %d %d", w, i)
				rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
				_, err := c.PutObject(rctx, &s3.PutObjectInput{Bucket: aws.String("pgrestart"), Key: aws.String(key), Body: strings.NewReader(body)})
				rcancel()
				var re *smithyhttp.ResponseError
				var ae smithy.APIError
				switch {
				case err == nil:
					mu.Lock()
					acked[key] = body
					mu.Unlock()
				case errors.As(err, &re) && re.HTTPStatusCode() == 503 && errors.As(err, &ae) &&
					(ae.ErrorCode() == "ServiceUnavailable" || ae.ErrorCode() == "SlowDown"):
					unavailable.Add(1)
					time.Sleep(50 * time.Millisecond)
				default:
					other.Add(1)
					otherErr.Store(err.Error())
				}
			}
		}()
	}
	time.Sleep(time.Second)
	if err := pg.pgctl("stop", "-m", "immediate"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	pg.start(t)
	// Recovery: writes succeed again without touching the server.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pgrestart"), Key: aws.String("after"), Body: strings.NewReader("after")})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery 30s after PostgreSQL came back: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if unavailable.Load() == 0 {
		t.Error("no request saw 503 while PostgreSQL was down")
	}
	if n := other.Load(); n > 0 {
		t.Errorf("%d requests failed otherwise than with 503, e.g. %v", n, otherErr.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d writes acknowledged, %d answered 503", len(acked), unavailable.Load())
	for key, body := range acked {
		got, err := get(ctx, c, "pgrestart", key)
		if err != nil || got != body {
			t.Fatalf("acknowledged %s: %q, %v; want %q", key, got, err, body)
		}
	}
}
