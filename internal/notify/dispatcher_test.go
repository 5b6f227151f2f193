package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// memOutbox is an in-memory meta.Outbox for testing the dispatcher on its
// own; the embedded store's outbox is tested in test/notify. It survives
// a Dispatcher, as the store survives a restart.
type memOutbox struct {
	mu        sync.Mutex
	seq       uint64
	events    []meta.Event
	failAcks  int // the next failAcks AckEvents calls fail
	failReads int // the next failReads PendingEvents calls fail
}

func (o *memOutbox) AppendEvents(_ context.Context, evs []meta.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, ev := range evs {
		o.seq++
		ev.Seq = o.seq
		if ev.Time.IsZero() {
			ev.Time = time.Now()
		}
		o.events = append(o.events, ev)
	}
	return nil
}

func (o *memOutbox) PendingEvents(_ context.Context, target string, limit int) ([]meta.Event, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failReads > 0 {
		o.failReads--
		return nil, meta.ErrUnavailable
	}
	var out []meta.Event
	for _, ev := range o.events {
		if ev.Target == target && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (o *memOutbox) AckEvents(_ context.Context, target string, seqs []uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failAcks > 0 {
		o.failAcks--
		return meta.ErrUnavailable
	}
	o.events = slices.DeleteFunc(o.events, func(ev meta.Event) bool {
		return ev.Target == target && slices.Contains(seqs, ev.Seq)
	})
	return nil
}

func (o *memOutbox) OutboxDepths(context.Context) (map[string]int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]int{}
	for _, ev := range o.events {
		out[ev.Target]++
	}
	return out, nil
}

func (o *memOutbox) depth(target string) int {
	d, _ := o.OutboxDepths(context.Background())
	return d[target]
}

// sink is a webhook receiver on 127.0.0.1 that counts deliveries per
// sequencer and can answer 500 or stop listening altogether.
type sink struct {
	t        *testing.T
	addr     string
	mu       sync.Mutex
	srv      *http.Server
	failing  atomic.Bool
	failNext atomic.Int32 // answer 500 to this many more requests
	attempts atomic.Int32
	got      map[string]int // sequencer -> deliveries accepted
	order    []string
}

func newSink(t *testing.T) *sink {
	s := &sink{t: t, got: map[string]int{}}
	s.start("127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

func (s *sink) start(addr string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.serve)}
	s.mu.Lock()
	s.addr = l.Addr().String()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

func (s *sink) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	s.attempts.Add(1)
	body, _ := io.ReadAll(r.Body)
	if s.failing.Load() || s.failNext.Add(-1) >= 0 {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var m struct {
		Records []struct {
			S3 struct {
				Object struct {
					Sequencer string `json:"sequencer"`
				} `json:"object"`
			} `json:"s3"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(body, &m); err != nil || len(m.Records) != 1 {
		s.t.Errorf("sink got %s (%v)", body, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	seq := m.Records[0].S3.Object.Sequencer
	s.mu.Lock()
	s.got[seq]++
	s.order = append(s.order, seq)
	s.mu.Unlock()
}

func (s *sink) url() string { return "http://" + s.addr + "/events" }

func (s *sink) deliveries() (map[string]int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := make(map[string]int, len(s.got))
	for k, v := range s.got {
		got[k] = v
	}
	return got, append([]string(nil), s.order...)
}

// produce appends n object-created events for target.
func produce(t *testing.T, o meta.Outbox, target string, n int) {
	t.Helper()
	var evs []meta.Event
	for i := range n {
		evs = append(evs, meta.Event{Target: target, ConfigID: "c", Name: "s3:ObjectCreated:Put", Bucket: "b", Key: fmt.Sprintf("k%03d", i)})
	}
	if err := o.AppendEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

// running is a Dispatcher started in the background.
type running struct {
	*Dispatcher
	cancel context.CancelFunc
	done   chan struct{}
}

func startDispatcher(t *testing.T, o meta.Outbox, opts Options, targets ...Target) *running {
	t.Helper()
	d, err := NewDispatcher(o, targets, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Dispatcher: d, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		d.Run(ctx)
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.cancel()
	<-r.done
}

func (r *running) stats(t *testing.T, arn string) TargetStats {
	t.Helper()
	all, err := r.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Target == arn {
			return s
		}
	}
	t.Fatalf("no stats for %s in %+v", arn, all)
	return TargetStats{}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var fastRetry = Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, PollInterval: time.Hour, BatchSize: 7}

// checkExactlyOnce checks that the sink accepted n events, each once, in
// sequencer order.
func checkExactlyOnce(t *testing.T, s *sink, n int) {
	t.Helper()
	got, order := s.deliveries()
	if len(got) != n {
		t.Fatalf("%d distinct events delivered, want %d", len(got), n)
	}
	for seq, c := range got {
		if c != 1 {
			t.Errorf("event %s delivered %d times", seq, c)
		}
	}
	if !slices.IsSorted(order) {
		t.Errorf("delivered out of order: %v", order)
	}
}

// TestDispatcherOutageAndRestart: the target fails (500, then not even
// listening) while events are produced and the dispatcher is restarted as
// a new instance over the same outbox; once the target is back every event
// arrives exactly once.
func TestDispatcherOutageAndRestart(t *testing.T) {
	o := &memOutbox{}
	s := newSink(t)
	s.failing.Store(true)
	hook := webhookTarget(t, s.url(), "k", "1s")
	arn := hook.ARN()

	d1 := startDispatcher(t, o, fastRetry, hook)
	produce(t, o, arn, 10)
	d1.Notify()
	eventually(t, "failed attempts", func() bool { return d1.stats(t, arn).Failures >= 3 })
	st := d1.stats(t, arn)
	if st.State != StateFailing || st.Delivered != 0 || st.LastError == "" || st.Pending != 10 {
		t.Fatalf("stats while failing: %+v", st)
	}

	// The target goes away entirely; more events come; the server restarts.
	s.stop()
	produce(t, o, arn, 15)
	d1.Notify()
	time.Sleep(150 * time.Millisecond)
	d1.stop()
	if got, _ := s.deliveries(); len(got) != 0 || o.depth(arn) != 25 {
		t.Fatalf("while down: %d delivered, depth %d", len(got), o.depth(arn))
	}

	d2 := startDispatcher(t, o, fastRetry, webhookTarget(t, s.url(), "k", "1s"))
	produce(t, o, arn, 5)
	d2.Notify()
	time.Sleep(100 * time.Millisecond)
	s.failing.Store(false)
	s.start(s.addr)
	eventually(t, "the outbox to drain", func() bool { return o.depth(arn) == 0 })
	checkExactlyOnce(t, s, 30)
	st = d2.stats(t, arn)
	if st.State != StateOK || st.Delivered != 30 || st.Pending != 0 || st.ConsecutiveFailures != 0 || st.LastSuccess.IsZero() {
		t.Fatalf("stats after recovery: %+v", st)
	}
}

// TestDispatcherRetries500: a target answering 500 a few times gets the
// event once it answers 200, without losing order.
func TestDispatcherRetries500(t *testing.T) {
	o := &memOutbox{}
	s := newSink(t)
	s.failNext.Store(3)
	hook := webhookTarget(t, s.url(), "", "")
	d := startDispatcher(t, o, fastRetry, hook)
	produce(t, o, hook.ARN(), 20)
	d.Notify()
	eventually(t, "delivery", func() bool { return o.depth(hook.ARN()) == 0 })
	checkExactlyOnce(t, s, 20)
	if st := d.stats(t, hook.ARN()); st.Failures != 3 || st.Delivered != 20 || st.State != StateOK {
		t.Fatalf("stats %+v", st)
	}
	if a := s.attempts.Load(); a != 23 {
		t.Fatalf("%d requests, want 23", a)
	}
}

// TestDispatcherIsolatesTargets: a failing target does not hold back
// another one.
func TestDispatcherIsolatesTargets(t *testing.T) {
	o := &memOutbox{}
	down, up := newSink(t), newSink(t)
	down.failing.Store(true)
	bad, _ := OpenTarget(TargetConfig{ID: "bad", Type: TypeWebhook, URL: down.url()}, "r")
	good, _ := OpenTarget(TargetConfig{ID: "good", Type: TypeWebhook, URL: up.url()}, "r")
	defer bad.Close()
	defer good.Close()
	d := startDispatcher(t, o, fastRetry, bad, good)
	produce(t, o, bad.ARN(), 5)
	produce(t, o, good.ARN(), 5)
	d.Notify()
	eventually(t, "the healthy target", func() bool { return o.depth(good.ARN()) == 0 })
	checkExactlyOnce(t, up, 5)
	if o.depth(bad.ARN()) != 5 || d.stats(t, bad.ARN()).State != StateFailing {
		t.Fatalf("failing target: depth %d, stats %+v", o.depth(bad.ARN()), d.stats(t, bad.ARN()))
	}
}

// TestDispatcherStoreErrors: failed acknowledgements are retried without
// sending the events again, and failed reads are retried.
func TestDispatcherStoreErrors(t *testing.T) {
	o := &memOutbox{failAcks: 3, failReads: 2}
	s := newSink(t)
	hook := webhookTarget(t, s.url(), "", "")
	d := startDispatcher(t, o, fastRetry, hook)
	produce(t, o, hook.ARN(), 10)
	d.Notify()
	eventually(t, "delivery", func() bool { return o.depth(hook.ARN()) == 0 })
	checkExactlyOnce(t, s, 10)
	if st := d.stats(t, hook.ARN()); st.Failures != 5 || st.State != StateOK {
		t.Fatalf("stats %+v", st)
	}
}

// TestDispatcherWakeUp: Notify wakes an idle target at once; without it
// the poll interval finds the events.
func TestDispatcherWakeUp(t *testing.T) {
	o := &memOutbox{}
	s := newSink(t)
	hook := webhookTarget(t, s.url(), "", "")
	d := startDispatcher(t, o, Options{PollInterval: time.Hour}, hook)
	time.Sleep(50 * time.Millisecond) // let the loop go idle
	produce(t, o, hook.ARN(), 1)
	start := time.Now()
	d.Notify()
	eventually(t, "the notified event", func() bool { return o.depth(hook.ARN()) == 0 })
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Notify took %s to deliver", took)
	}
	d.stop()

	s2 := newSink(t)
	hook2 := webhookTarget(t, s2.url(), "", "")
	startDispatcher(t, o, Options{PollInterval: 50 * time.Millisecond}, hook2)
	time.Sleep(100 * time.Millisecond)
	produce(t, o, hook2.ARN(), 3) // no Notify
	eventually(t, "the polled events", func() bool { return o.depth(hook2.ARN()) == 0 })
	checkExactlyOnce(t, s2, 3)
}

// TestDispatcherBackoff: retries of a failing target slow down to the
// cap, instead of spinning, and Notify does not hurry them.
func TestDispatcherBackoff(t *testing.T) {
	o := &memOutbox{}
	s := newSink(t)
	s.failing.Store(true)
	hook := webhookTarget(t, s.url(), "", "")
	d := startDispatcher(t, o, Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, PollInterval: time.Hour}, hook)
	produce(t, o, hook.ARN(), 1)
	d.Notify()
	stopNotify := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopNotify:
				return
			default:
				d.Notify()
				time.Sleep(time.Millisecond)
			}
		}
	}()
	time.Sleep(time.Second)
	close(stopNotify)
	// 10+20+40+80 ms, then at most 100 ms (at least 50 ms after jitter):
	// about 10-20 attempts in a second; a busy loop would make hundreds.
	if a := s.attempts.Load(); a < 5 || a > 30 {
		t.Fatalf("%d attempts in 1s", a)
	}
}

func TestDispatcherStatsAndChecks(t *testing.T) {
	o := &memOutbox{}
	s := newSink(t)
	hook := webhookTarget(t, s.url(), "", "")
	if _, err := NewDispatcher(o, []Target{hook, hook}, nil, Options{}); err == nil {
		t.Fatal("a target listed twice was accepted")
	}
	if _, err := NewDispatcher(nil, nil, nil, Options{}); err == nil {
		t.Fatal("nil outbox accepted")
	}
	produce(t, o, "arn:coffer:sqs:r:removed:webhook", 4)
	d, err := NewDispatcher(o, []Target{hook}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []TargetStats{
		{Target: hook.ARN(), State: StateOK},
		{Target: "arn:coffer:sqs:r:removed:webhook", State: StateUnconfigured, Pending: 4},
	}
	if !slices.Equal(st, want) {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
	failing := &failingDepths{memOutbox: o}
	d, _ = NewDispatcher(failing, []Target{hook}, nil, Options{})
	st, err = d.Stats(context.Background())
	if !errors.Is(err, meta.ErrUnavailable) || len(st) != 1 || st[0].Pending != -1 {
		t.Fatalf("stats with a failing store: %+v, %v", st, err)
	}
}

type failingDepths struct{ *memOutbox }

func (failingDepths) OutboxDepths(context.Context) (map[string]int, error) {
	return nil, meta.ErrUnavailable
}
