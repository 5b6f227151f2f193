package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cofferstore/coffer/internal/meta"
)

func TestUnavailableClassification(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "57P01"}, true}, // admin shutdown
		{&pgconn.PgError{Code: "57P03"}, true}, // starting up
		{&pgconn.PgError{Code: "53300"}, true}, // too many connections
		{&pgconn.PgError{Code: "08006"}, true}, // connection failure
		{&pgconn.PgError{Code: "40P01"}, true}, // deadlock
		{&pgconn.PgError{Code: "25006"}, true}, // read-only standby
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "57P01"}), true},
		{&pgconn.PgError{Code: "23505"}, false}, // unique violation
		{&pgconn.PgError{Code: "42P01"}, false}, // undefined table: a bug, not an outage
		{io.ErrUnexpectedEOF, true},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{errors.New("something else"), false},
		{meta.ErrPreconditionFailed, false},
	} {
		if got := unavailable(tc.err); got != tc.want {
			t.Errorf("unavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestOpenUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, "postgres://postgres@"+addr+"/test?sslmode=disable&connect_timeout=2", Options{Logger: testLogger(t)})
	if err == nil {
		s.Close()
		t.Fatal("Open of an unreachable database succeeded")
	}
	if !errors.Is(err, meta.ErrUnavailable) {
		t.Fatalf("Open(unreachable) err = %v, want ErrUnavailable", err)
	}
}

// proxy forwards TCP connections to PostgreSQL and can be cut, to take
// the database away from a store without disturbing anyone else's.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// down stops accepting and cuts every connection: to the store the
// database is gone, as when its server restarts or the network fails.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// up accepts connections again, on the same address.
func (p *proxy) up() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("re-listening on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// TestDatabaseOutage takes the database away from a store mid-use: every
// call fails with ErrUnavailable (so the S3 layer answers 503) and none
// hangs; when the database returns, the store serves again by itself and
// nothing acknowledged before the outage is lost.
func TestDatabaseOutage(t *testing.T) {
	needDB(t)
	u, err := url.Parse(dsnWith(t, map[string]string{"connect_timeout": "2"}))
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, u.Host)
	u.Host = p.addr
	ctx := context.Background()
	schema := newSchema(t)
	s, err := Open(ctx, u.String(), Options{Schema: schema, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	put := func(key string) error {
		_, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: key, ETag: key, Inline: []byte(key)}, meta.PutOptions{})
		return err
	}
	for i := range 20 {
		if err := put(fmt.Sprint("before-", i)); err != nil {
			t.Fatal(err)
		}
	}

	p.down()
	for name, err := range callAll(ctx, s) {
		if !errors.Is(err, meta.ErrUnavailable) {
			t.Errorf("%s with the database down: err = %v, want ErrUnavailable", name, err)
		}
	}

	p.up()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := put("after")
		if err == nil {
			break
		}
		if !errors.Is(err, meta.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("PutObject after the database returned: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	page, err := s.ListObjects(ctx, "b", meta.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Objects) != 21 {
		t.Errorf("after the outage the bucket lists %d objects, want 21", len(page.Objects))
	}
}

// dsnWith returns the test DSN with extra URL parameters.
func dsnWith(t *testing.T, params map[string]string) string {
	t.Helper()
	u, err := url.Parse(testDSN())
	if err != nil {
		t.Fatalf("the test DSN must be a URL to add parameters: %v", err)
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// TestBackendsTerminated kills the store's server processes, as a
// PostgreSQL restart or an administrator does: calls fail with
// ErrUnavailable or succeed on a fresh connection, and the store recovers.
func TestBackendsTerminated(t *testing.T) {
	needDB(t)
	ctx := context.Background()
	schema := newSchema(t)
	app := "coffer-test-" + schema
	s, err := Open(ctx, dsnWith(t, map[string]string{"application_name": app}), Options{Schema: schema, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, testDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	failures, killed := 0, 0
	for round := range 5 {
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		killed += n
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				o := meta.Object{Bucket: "b", Key: fmt.Sprint(round, "-", i), Inline: []byte("x")}
				_, errs[i] = s.PutObject(ctx, o, meta.PutOptions{})
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				if !errors.Is(err, meta.ErrUnavailable) {
					t.Fatalf("PutObject after the backends were terminated: %v, want ErrUnavailable or success", err)
				}
				failures++
			}
		}
	}
	if killed == 0 {
		t.Fatal("no backend of the store was found to terminate")
	}
	if _, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: "last", Inline: []byte("x")}, meta.PutOptions{}); err != nil {
		t.Fatalf("PutObject once recovered: %v", err)
	}
	t.Logf("%d backends terminated, %d writes failed with ErrUnavailable", killed, failures)
}

func TestSchemaTooNew(t *testing.T) {
	needDB(t)
	ctx := context.Background()
	schema := newSchema(t)
	s := openSchema(t, schema)
	if _, err := s.pool.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')`, SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(ctx, testDSN(), Options{Schema: schema, Logger: testLogger(t)})
	if err == nil {
		s2.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open(newer schema) err = %v, want ErrSchemaTooNew", err)
	}
}

func TestInvalidArguments(t *testing.T) {
	ctx := context.Background()
	s := openFresh(t).(*Store)
	defer s.Close()
	for _, name := range []string{"", "a\x00b", "bad\xffutf8"} {
		if err := s.CreateBucket(ctx, meta.Bucket{Name: name}); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateBucket(%q) err = %v, want ErrInvalid", name, err)
		}
		if _, err := s.GetBucket(ctx, name); !errors.Is(err, meta.ErrBucketNotFound) {
			t.Errorf("GetBucket(%q) err = %v, want ErrBucketNotFound", name, err)
		}
		if _, err := s.ListObjects(ctx, name, meta.ListOptions{}); !errors.Is(err, meta.ErrBucketNotFound) {
			t.Errorf("ListObjects(%q) err = %v, want ErrBucketNotFound", name, err)
		}
	}
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "b", Owner: "o\x00wner", Region: "\xff"}); err != nil {
		t.Errorf("CreateBucket(owner and region with odd bytes): %v", err)
	} else if b, err := s.GetBucket(ctx, "b"); err != nil || b.Owner != "o\x00wner" || b.Region != "\xff" {
		t.Errorf("GetBucket = %+v, %v; want the odd owner and region back", b, err)
	}
	both := meta.Object{Bucket: "b", Key: "k", Inline: []byte("x"), Segments: []meta.Segment{{BlobID: "x", Size: 1}}}
	if _, err := s.PutObject(ctx, both, meta.PutOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutObject(inline and segments) err = %v, want ErrInvalid", err)
	}
	neg := meta.Object{Bucket: "b", Key: "k", Segments: []meta.Segment{{BlobID: "x", Size: -1}}}
	if _, err := s.PutObject(ctx, neg, meta.PutOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutObject(negative segment) err = %v, want ErrInvalid", err)
	}
	badTarget := &meta.Notice{Destinations: []meta.Destination{{Target: "arn\x00"}}}
	if _, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: "k"}, meta.PutOptions{Notice: badTarget}); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutObject(notice to a target with NUL) err = %v, want ErrInvalid", err)
	}
	if _, err := s.GetObject(ctx, "b", "k", ""); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Errorf("a refused put left a record: %v", err)
	}
	// Version ids come from clients: any bytes name no version.
	if _, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: "v"}, meta.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"\x00", "\xff\xfe", "000000000000000\x00", "0123456789abcdef"} {
		if _, err := s.GetObject(ctx, "b", "v", id); !errors.Is(err, meta.ErrObjectNotFound) {
			t.Errorf("GetObject(version %q) err = %v, want ErrObjectNotFound", id, err)
		}
		if _, err := s.DeleteObject(ctx, "b", "v", meta.DeleteOptions{VersionID: id}); !errors.Is(err, meta.ErrObjectNotFound) {
			t.Errorf("DeleteObject(version %q) err = %v, want ErrObjectNotFound", id, err)
		}
		if _, err := s.UpdateObject(ctx, "b", "v", id, meta.UpdateOptions{}, func(*meta.Object) error { return nil }); !errors.Is(err, meta.ErrObjectNotFound) {
			t.Errorf("UpdateObject(version %q) err = %v, want ErrObjectNotFound", id, err)
		}
		p, err := s.ListObjectVersions(ctx, "b", meta.VersionListOptions{KeyMarker: "v", VersionIDMarker: id})
		if err != nil || len(p.Versions) != 0 {
			t.Errorf("ListObjectVersions(marker v %q) = %d versions, %v; want none after v", id, len(p.Versions), err)
		}
	}

	up := meta.Upload{ID: "u", Object: meta.Object{Bucket: "b", Key: "k"}}
	if err := s.CreateUpload(ctx, meta.Upload{Object: up.Object}); !errors.Is(err, ErrInvalid) {
		t.Errorf("CreateUpload(empty id) err = %v, want ErrInvalid", err)
	}
	if err := s.CreateUpload(ctx, up); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutPart(ctx, "b", "k", "u", meta.Part{Number: 1, BlobID: "first"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUpload(ctx, up); !errors.Is(err, ErrInvalid) {
		t.Errorf("CreateUpload(id in use) err = %v, want ErrInvalid", err)
	}
	for _, p := range []meta.Part{{Number: 0}, {Number: -1}, {Number: 10001}, {Number: 2, Size: -1}} {
		if _, err := s.PutPart(ctx, "b", "k", "u", p); !errors.Is(err, ErrInvalid) {
			t.Errorf("PutPart(%+v) err = %v, want ErrInvalid", p, err)
		}
	}
	for _, o := range []meta.Object{{Bucket: "b", Key: "other"}, {Bucket: "c", Key: "k"}, both, neg} {
		if _, _, err := s.CompleteUpload(ctx, "b", "k", "u", o, meta.PutOptions{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("CompleteUpload(object %q/%q) err = %v, want ErrInvalid", o.Bucket, o.Key, err)
		}
	}
	parts, _, err := s.ListParts(ctx, "b", "k", "u", 0, 0)
	if err != nil || len(parts) != 1 || parts[0].BlobID != "first" {
		t.Errorf("refused calls changed the upload: parts %+v, %v", parts, err)
	}
	if rep, err := s.PutPart(ctx, "b", "k", "u", meta.Part{Number: 1, BlobID: "first", ETag: "again"}); err != nil || rep != nil {
		t.Errorf("PutPart(same blob) = %+v, %v; want nil, nil", rep, err)
	}

	if err := s.PutBucketConfig(ctx, "b", "co\x00rs", []byte("x")); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutBucketConfig(name with NUL) err = %v, want ErrInvalid", err)
	}
	if _, err := s.GetBucketConfig(ctx, "b", "co\x00rs"); !errors.Is(err, meta.ErrConfigNotFound) {
		t.Errorf("GetBucketConfig(name with NUL) err = %v, want ErrConfigNotFound", err)
	}
	if err := s.DeleteBucketConfig(ctx, "b", "co\x00rs"); err != nil {
		t.Errorf("DeleteBucketConfig(name with NUL) = %v, want nil", err)
	}
	if err := s.AppendEvents(ctx, []meta.Event{{Target: "\xff"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("AppendEvents(invalid target) err = %v, want ErrInvalid", err)
	}
	if evs, err := s.PendingEvents(ctx, "\xff", 0); err != nil || len(evs) != 0 {
		t.Errorf("PendingEvents(invalid target) = %v, %v; want none", evs, err)
	}
	if err := s.AckEvents(ctx, "t", []uint64{1 << 63, 1<<64 - 1}); err != nil {
		t.Errorf("AckEvents(seqs beyond bigint) = %v, want nil", err)
	}
}

func TestCanceledContext(t *testing.T) {
	s := openFresh(t)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "b"}); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateBucket(canceled) err = %v, want context.Canceled", err)
	}
	if _, err := s.GetBucket(context.Background(), "b"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("canceled CreateBucket wrote anyway: %v", err)
	}
	// A context canceled while a transaction waits on a lock aborts it.
	if err := s.CreateBucket(context.Background(), meta.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	ps := s.(*Store)
	tx, err := ps.pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(context.Background(), sqlLock, ps.keyLock("b", "k")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = s.PutObject(ctx, meta.Object{Bucket: "b", Key: "k"}, meta.PutOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("PutObject waiting on a held key lock past its deadline: err = %v, want DeadlineExceeded", err)
	}
	tx.Rollback(context.Background())
	if _, err := s.GetObject(context.Background(), "b", "k", ""); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Errorf("the timed-out PutObject wrote anyway: %v", err)
	}
}
