// Package cluster_test runs several instances of the built binary on
// 127.0.0.1 sharing one PostgreSQL database and one data directory, and
// checks what issue 6 promises: no torn or lost acknowledged writes under
// concurrent writers on several instances, conditional creates won by
// exactly one writer, and background work taken over when an instance dies.
package cluster_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"

	"github.com/cofferstore/coffer/test/coffertest"
)

const adminDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// requirePostgres fails under CI=true, and skips otherwise, when
// PostgreSQL does not answer.
func requirePostgres(t *testing.T) {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:5432", 2*time.Second)
	if err == nil {
		c.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("PostgreSQL is not reachable on 127.0.0.1:5432 (%v); CI needs it", err)
	}
	t.Skipf("PostgreSQL is not reachable on 127.0.0.1:5432 (%v)", err)
}

// freshDatabase creates a database for the test and drops it at the end.
func freshDatabase(t *testing.T) string {
	t.Helper()
	requirePostgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatalf("connecting to PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	name := "coffer_cluster_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), adminDSN)
		if err != nil {
			t.Logf("dropping %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("dropping %s: %v", name, err)
		}
	})
	return "postgres://postgres@127.0.0.1:5432/" + name + "?sslmode=disable"
}

// cluster is n instances sharing a database and a data directory.
type cluster struct {
	nodes []*coffertest.Server
	opts  coffertest.Options
	bin   string
}

func startCluster(t *testing.T, n int, extraEnv ...string) *cluster {
	t.Helper()
	dsn := freshDatabase(t)
	c := &cluster{bin: coffertest.Build(t), opts: coffertest.Options{DataDir: t.TempDir(),
		Env: append([]string{"COFFER_META=" + dsn, "COFFER_LEASE_TTL=2s"}, extraEnv...)}}
	for range n {
		c.nodes = append(c.nodes, coffertest.Start(t, c.bin, c.opts))
	}
	return c
}

// roundRobin sends each request to the next live node. The Host header
// (which the signature covers) stays the first node's, as a load balancer
// would keep the client's.
type roundRobin struct {
	mu    sync.Mutex
	addrs []string
	next  int
	down  map[string]bool
	inner http.RoundTripper
}

func (rr *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	rr.mu.Lock()
	var addr string
	for range rr.addrs {
		addr = rr.addrs[rr.next%len(rr.addrs)]
		rr.next++
		if !rr.down[addr] {
			break
		}
	}
	rr.mu.Unlock()
	r2 := req.Clone(req.Context())
	r2.Host = req.URL.Host
	r2.URL.Host = addr
	return rr.inner.RoundTrip(r2)
}

func (rr *roundRobin) markDown(addr string) {
	rr.mu.Lock()
	rr.down[addr] = true
	rr.mu.Unlock()
}

func (c *cluster) client(rr *roundRobin) *s3.Client {
	return s3.New(s3.Options{Region: coffertest.Region, BaseEndpoint: aws.String(c.nodes[0].Endpoint), UsePathStyle: true,
		Credentials:      credentials.NewStaticCredentialsProvider(coffertest.AccessKey, coffertest.SecretKey, ""),
		HTTPClient:       &http.Client{Transport: rr},
		RetryMaxAttempts: 1})
}

func (c *cluster) roundRobin() *roundRobin {
	rr := &roundRobin{down: map[string]bool{}, inner: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, n := range c.nodes {
		rr.addrs = append(rr.addrs, n.S3Addr)
	}
	return rr
}

// nodeClient talks to one node only.
func (c *cluster) nodeClient(i int) *s3.Client {
	return s3.New(s3.Options{Region: coffertest.Region, BaseEndpoint: aws.String(c.nodes[i].Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(coffertest.AccessKey, coffertest.SecretKey, "")})
}

func get(ctx context.Context, c *s3.Client, bucket, key string) (string, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

type write struct {
	body       string
	start, end time.Time
}

// TestClusterConcurrentWriters: writers on every instance overwrite the
// same keys. Afterwards every instance serves the same body for a key; it
// is an acknowledged one, and no write to that key started after it was
// acknowledged (that write would have to win): last commit wins, nothing
// torn, nothing lost.
func TestClusterConcurrentWriters(t *testing.T) {
	c := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client := c.client(c.roundRobin())
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	const keys, writers, each = 6, 12, 15
	var mu sync.Mutex
	acked := map[string][]write{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				key := fmt.Sprintf("k%d", (w+i)%keys)
				// Bodies of several sizes: inline records and blobs both.
				body := strings.Repeat(fmt.Sprintf("writer %d write %d;", w, i), 1+(i%3)*4000)
				start := time.Now()
				_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("shared"), Key: aws.String(key), Body: strings.NewReader(body)})
				end := time.Now()
				if err != nil {
					t.Errorf("put %s: %v", key, err)
					return
				}
				mu.Lock()
				acked[key] = append(acked[key], write{body, start, end})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for k := range keys {
		key := fmt.Sprintf("k%d", k)
		var bodies []string
		for i := range c.nodes {
			b, err := get(ctx, c.nodeClient(i), "shared", key)
			if err != nil {
				t.Fatalf("GET %s from node %d: %v", key, i, err)
			}
			bodies = append(bodies, b)
		}
		if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
			t.Errorf("%s: the nodes disagree", key)
		}
		var final *write
		for i, w := range acked[key] {
			if w.body == bodies[0] {
				final = &acked[key][i]
			}
		}
		if final == nil {
			t.Errorf("%s: served body (%d bytes) is no acknowledged write: torn or lost", key, len(bodies[0]))
			continue
		}
		for _, w := range acked[key] {
			if w.start.After(final.end) {
				t.Errorf("%s: a write started %v after the served one was acknowledged, yet lost", key, w.start.Sub(final.end))
				break
			}
		}
	}
}

// TestClusterConditionalCreate: If-None-Match: * races from every instance
// on the same keys have exactly one winner per key.
func TestClusterConditionalCreate(t *testing.T) {
	c := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.nodeClient(0).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("race")}); err != nil {
		t.Fatal(err)
	}
	const keys, perNode = 20, 2
	wins := make([]atomic.Int32, keys)
	var wg sync.WaitGroup
	for n := range c.nodes {
		client := c.nodeClient(n)
		for range perNode {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range keys {
					_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("race"), Key: aws.String(fmt.Sprint("key-", k)),
						Body: bytes.NewReader([]byte(fmt.Sprint("node ", n))), IfNoneMatch: aws.String("*")})
					var ae smithy.APIError
					switch {
					case err == nil:
						wins[k].Add(1)
					case errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict"):
					default:
						t.Errorf("key %d: %v", k, err)
					}
				}
			}()
		}
	}
	wg.Wait()
	for k := range keys {
		if n := wins[k].Load(); n != 1 {
			t.Errorf("key-%d: %d winners, want exactly 1", k, n)
		}
	}
}

// TestClusterKillOne: SIGKILL one instance under load. The others keep
// serving, every acknowledged write is there afterwards, and background
// work (lifecycle) moves to a survivor once the dead holder's lease
// expires.
func TestClusterKillOne(t *testing.T) {
	c := startCluster(t, 3, "COFFER_LIFECYCLE_DAY=1s", "COFFER_LIFECYCLE_INTERVAL=1s")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rr := c.roundRobin()
	client := c.client(rr)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("load")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("load"),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{ID: aws.String("tmp"),
			Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("tmp/")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(1)}}}}}); err != nil {
		t.Fatal(err)
	}
	// Find the node running lifecycle: it is the one to kill.
	victim := -1
	deadline := time.Now().Add(30 * time.Second)
	for victim < 0 && time.Now().Before(deadline) {
		for i, n := range c.nodes {
			h, err := n.Health(ctx)
			if err != nil {
				continue
			}
			if w, ok := h.Worker("lifecycle"); ok && w.Runs > 0 && w.Elsewhere == "" {
				victim = i
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if victim < 0 {
		t.Fatal("no node reports running lifecycle")
	}
	var mu sync.Mutex
	acked := map[string]string{}
	var failures atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key, body := fmt.Sprintf("keep/%d/%d", w, i), fmt.Sprintf("w%d-%d", w, i)
				if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("load"), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
					failures.Add(1) // requests to the dead node fail; clients retry elsewhere
					continue
				}
				mu.Lock()
				acked[key] = body
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	if err := c.nodes[victim].Kill(); err != nil {
		t.Fatal(err)
	}
	rr.markDown(c.nodes[victim].S3Addr)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n == 0 {
		t.Fatal("no write was acknowledged")
	}
	t.Logf("%d writes acknowledged, %d failed around the kill", n, failures.Load())
	for key, body := range acked {
		got, err := get(ctx, client, "load", key)
		if err != nil || got != body {
			t.Fatalf("acknowledged %s: got %q, %v; want %q", key, got, err, body)
		}
	}
	// Lifecycle goes on elsewhere: an object written now expires.
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("load"), Key: aws.String("tmp/after-kill"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(45 * time.Second)
	for {
		_, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("load"), Key: aws.String("tmp/after-kill")})
		var nf *types.NotFound
		if errors.As(err, &nf) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tmp/after-kill never expired after the lifecycle holder died (last err %v)", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func staticCreds() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(coffertest.AccessKey, coffertest.SecretKey, "")
}
