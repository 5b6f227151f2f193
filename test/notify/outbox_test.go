// Package notify_test drives the notification dispatcher over the real
// embedded metadata store: events recorded in the same commit as object
// writes, a target outage, a store restart, and delivery exactly once
// afterwards.
package notify_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/notify"
)

const (
	region = "us-east-1"
	secret = "webhook-secret"
)

// record is the part of an S3 event record the test checks, decoded with
// AWS's field names.
type record struct {
	EventName string `json:"eventName"`
	S3        struct {
		ConfigurationID string `json:"configurationId"`
		Bucket          struct {
			Name          string `json:"name"`
			OwnerIdentity struct {
				PrincipalID string `json:"principalId"`
			} `json:"ownerIdentity"`
		} `json:"bucket"`
		Object struct {
			Key       string `json:"key"`
			Size      *int64 `json:"size"`
			ETag      string `json:"eTag"`
			VersionID string `json:"versionId"`
			Sequencer string `json:"sequencer"`
		} `json:"object"`
	} `json:"s3"`
}

// sink is a webhook receiver on 127.0.0.1 that checks signatures, answers
// 500 while failing, and keeps every accepted record.
type sink struct {
	t        *testing.T
	srv      *http.Server
	addr     string
	failing  atomic.Bool
	attempts atomic.Int32
	mu       sync.Mutex
	records  []record
	tests    int
}

func newSink(t *testing.T) *sink {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{t: t, addr: l.Addr().String()}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve)}
	go func() { _ = s.srv.Serve(l) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	s.attempts.Add(1)
	body, _ := io.ReadAll(r.Body)
	if !notify.VerifySignature([]byte(secret), body, r.Header.Get(notify.SignatureHeader)) {
		s.t.Errorf("bad signature %q", r.Header.Get(notify.SignatureHeader))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if s.failing.Load() {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var m struct {
		Records []record
		Event   string
	}
	if err := json.Unmarshal(body, &m); err != nil {
		s.t.Errorf("sink got %s: %v", body, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Event == notify.TestEventName {
		s.tests++
		return
	}
	s.records = append(s.records, m.Records...)
}

func (s *sink) got() ([]record, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.records), s.tests
}

func (s *sink) target(t *testing.T, id string) notify.Target {
	tg, err := notify.OpenTarget(notify.TargetConfig{ID: id, Type: notify.TypeWebhook, URL: "http://" + s.addr + "/", Secret: secret, Timeout: "1s"}, region)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tg.Close() })
	return tg
}

type server struct {
	store *embedded.Store
	d     *notify.Dispatcher
	stop  func()
}

// start opens the store in dir and runs a dispatcher over it, as the
// server does at start-up.
func start(t *testing.T, dir string, targets ...notify.Target) *server {
	st, err := embedded.Open(dir, embedded.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	enc := notify.Encoder{Region: region, HostID: "test-host", BucketOwner: func(ctx context.Context, b string) (string, error) {
		bk, err := st.GetBucket(ctx, b)
		return bk.Owner, err
	}}
	d, err := notify.NewDispatcher(st, targets, slog.New(slog.NewTextHandler(io.Discard, nil)),
		notify.Options{Encoder: enc, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	s := &server{store: st, d: d}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			if err := st.Close(); err != nil {
				t.Errorf("closing the store: %v", err)
			}
		})
	}
	t.Cleanup(s.stop)
	return s
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func depth(t *testing.T, o meta.Outbox, arn string) int {
	d, err := o.OutboxDepths(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d[arn]
}

func TestOutageAndRestartOverEmbeddedStore(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "meta")
	created, removed := newSink(t), newSink(t)
	created.failing.Store(true)
	hooks, gone := created.target(t, "created"), removed.target(t, "removed")

	cfg, err := notify.ParseConfig([]byte(`<NotificationConfiguration>
		<QueueConfiguration><Id>uploads</Id><Queue>` + hooks.ARN() + `</Queue><Event>s3:ObjectCreated:*</Event>
			<Filter><S3Key><FilterRule><Name>prefix</Name><Value>in/</Value></FilterRule></S3Key></Filter></QueueConfiguration>
		<TopicConfiguration><Id>deletes</Id><Topic>` + gone.ARN() + `</Topic><Event>s3:ObjectRemoved:*</Event></TopicConfiguration>
	</NotificationConfiguration>`))
	if err != nil {
		t.Fatal(err)
	}
	known := func(arn string) bool { return arn == hooks.ARN() || arn == gone.ARN() }
	if err := notify.Validate(cfg, known); err != nil {
		t.Fatal(err)
	}

	srv := start(t, dir, hooks, gone)
	if err := srv.store.CreateBucket(ctx, meta.Bucket{Name: "photos", Owner: "alice", Region: region, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// Saving the configuration sends each target a test event.
	if err := srv.store.AppendEvents(ctx, notify.TestEvents(cfg, "photos", "REQ-CFG", time.Now())); err != nil {
		t.Fatal(err)
	}
	const n = 12
	etags := map[string]string{}
	put := func(key string) {
		body := []byte("contents of " + key)
		sum := md5.Sum(body)
		etags[key] = hex.EncodeToString(sum[:])
		notice := &meta.Notice{Name: "s3:ObjectCreated:Put", Principal: "alice", SourceIP: "127.0.0.1", RequestID: "REQ-" + key,
			Destinations: cfg.Match("s3:ObjectCreated:Put", key)}
		obj := meta.Object{Bucket: "photos", Key: key, Size: int64(len(body)), ETag: etags[key], Modified: time.Now(), Inline: body}
		if _, err := srv.store.PutObject(ctx, obj, meta.PutOptions{Notice: notice}); err != nil {
			t.Fatal(err)
		}
		srv.d.Notify()
	}
	for i := range n {
		put(fmt.Sprintf("in/photo %02d.jpg", i))
	}
	put("elsewhere/not-matched.jpg")
	for i := range 3 {
		key := fmt.Sprintf("in/photo %02d.jpg", i)
		notice := &meta.Notice{Name: "s3:ObjectRemoved:Delete", Principal: "alice", Destinations: cfg.Match("s3:ObjectRemoved:Delete", key)}
		if _, err := srv.store.DeleteObject(ctx, "photos", key, meta.DeleteOptions{Notice: notice}); err != nil {
			t.Fatal(err)
		}
		srv.d.Notify()
	}

	// The healthy target gets its events while the other one is down.
	eventually(t, "the removal events", func() bool { r, _ := removed.got(); return len(r) == 3 })
	eventually(t, "failed deliveries", func() bool { return created.attempts.Load() >= 3 })
	if r, _ := created.got(); len(r) != 0 {
		t.Fatalf("a failing target accepted %d events", len(r))
	}
	if d := depth(t, srv.store, hooks.ARN()); d != n+1 { // the test event too
		t.Fatalf("outbox depth %d, want %d", d, n+1)
	}

	// Restart: a new store handle and a new dispatcher over the same data.
	srv.stop()
	srv = start(t, dir, created.target(t, "created"), removed.target(t, "removed"))
	if d := depth(t, srv.store, hooks.ARN()); d != n+1 {
		t.Fatalf("after restart, outbox depth %d, want %d", d, n+1)
	}
	created.failing.Store(false)
	srv.d.Notify()
	eventually(t, "the outbox to drain", func() bool { return depth(t, srv.store, hooks.ARN()) == 0 })

	recs, tests := created.got()
	if tests != 1 || len(recs) != n {
		t.Fatalf("created sink: %d records and %d test events, want %d and 1", len(recs), tests, n)
	}
	seen := map[string]bool{}
	for i, r := range recs {
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			t.Fatal(err)
		}
		if seen[key] {
			t.Fatalf("%s delivered twice", key)
		}
		seen[key] = true
		want := fmt.Sprintf("in/photo %02d.jpg", i) // delivered in commit order
		if key != want || r.EventName != "ObjectCreated:Put" || r.S3.ConfigurationID != "uploads" ||
			r.S3.Bucket.Name != "photos" || r.S3.Bucket.OwnerIdentity.PrincipalID != "alice" ||
			r.S3.Object.ETag != etags[key] || r.S3.Object.Size == nil || *r.S3.Object.Size != int64(len("contents of "+key)) ||
			r.S3.Object.VersionID != "" || len(r.S3.Object.Sequencer) != 16 {
			t.Fatalf("record %d: %+v (key %q, want %q)", i, r, key, want)
		}
		if i > 0 && recs[i-1].S3.Object.Sequencer >= r.S3.Object.Sequencer {
			t.Fatalf("sequencers out of order: %s then %s", recs[i-1].S3.Object.Sequencer, r.S3.Object.Sequencer)
		}
	}
	gotRemoved, removedTests := removed.got()
	for _, r := range gotRemoved {
		if r.EventName != "ObjectRemoved:Delete" || r.S3.ConfigurationID != "deletes" || r.S3.Object.Size != nil || !strings.HasPrefix(r.S3.Object.Key, "in/photo+") {
			t.Fatalf("removal record %+v", r)
		}
	}
	if removedTests != 1 || len(gotRemoved) != 3 {
		t.Fatalf("removed sink: %d records, %d test events", len(gotRemoved), removedTests)
	}
	stats, err := srv.d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 || stats[0].State != notify.StateOK || stats[0].Delivered != n+1 || stats[0].Pending != 0 {
		t.Fatalf("stats %+v", stats)
	}
}
