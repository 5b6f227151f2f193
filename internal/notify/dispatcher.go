package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// Options tune a Dispatcher. Zero values take the defaults.
type Options struct {
	// BatchSize is how many events a target reads from the outbox at a
	// time (default 100). Deliveries of a batch are acknowledged together.
	BatchSize int
	// PollInterval is how often an idle target looks at the outbox when
	// nobody calls Notify (default 5s): events written by another process,
	// or a Notify lost to a crash, are delivered within it.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failure (defaults
	// 500ms and 1m); it doubles with each consecutive failure and is
	// jittered so that targets failing together do not retry in step.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Encoder renders the messages.
	Encoder Encoder
}

func (o *Options) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = max(time.Minute, o.MinBackoff)
	}
	o.MinBackoff = min(o.MinBackoff, o.MaxBackoff)
}

// Target states in TargetStats.
const (
	StateOK           = "ok"
	StateFailing      = "failing"
	StateUnconfigured = "unconfigured" // events wait for a target this server does not have
)

// TargetStats is one target's delivery health since the Dispatcher was
// created (counters are not persisted; the queue depth is the outbox's).
type TargetStats struct {
	Target              string    `json:"target"`
	State               string    `json:"state"`
	Pending             int       `json:"pending"` // events in the outbox, -1 if unknown
	Delivered           uint64    `json:"delivered"`
	Failures            uint64    `json:"failures"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	LastError           string    `json:"lastError,omitempty"`
	LastErrorAt         time.Time `json:"lastErrorAt,omitzero"`
	LastSuccess         time.Time `json:"lastSuccess,omitzero"`
}

// Dispatcher delivers the outbox's events to the targets, at least once:
// an event leaves the outbox only after its target accepted it, so a
// target outage or a restart loses nothing, and a crash between delivery
// and acknowledgement delivers that event again. Each target has its own
// loop, in Seq order: a failing target retries with backoff and delays
// only its own events.
//
// Several Dispatchers over one outbox (several servers on one PostgreSQL
// store) would each deliver every event; run one.
type Dispatcher struct {
	outbox meta.Outbox
	log    *slog.Logger
	opts   Options
	loops  []*loop
}

type loop struct {
	target Target
	arn    string
	wake   chan struct{}

	mu    sync.Mutex
	stats TargetStats
}

// NewDispatcher returns a Dispatcher for targets over outbox. The caller
// keeps ownership of the targets: close them after Run returns. Two
// targets with one ARN are refused (each would deliver every event).
func NewDispatcher(outbox meta.Outbox, targets []Target, logger *slog.Logger, opts Options) (*Dispatcher, error) {
	if outbox == nil {
		return nil, errors.New("creating notification dispatcher: nil outbox")
	}
	if logger == nil {
		logger = slog.Default()
	}
	opts.defaults()
	d := &Dispatcher{outbox: outbox, log: logger, opts: opts}
	seen := map[string]bool{}
	for _, t := range targets {
		arn := t.ARN()
		if seen[arn] {
			return nil, fmt.Errorf("creating notification dispatcher: target %s listed twice", arn)
		}
		seen[arn] = true
		d.loops = append(d.loops, &loop{
			target: t,
			arn:    arn,
			wake:   make(chan struct{}, 1),
			stats:  TargetStats{Target: arn, State: StateOK},
		})
	}
	return d, nil
}

// Notify tells the Dispatcher that events were committed. It never
// blocks; the writer calls it after each commit that recorded events.
// A target waiting out a failure's backoff is not hurried by it.
func (d *Dispatcher) Notify() {
	for _, l := range d.loops {
		select {
		case l.wake <- struct{}{}:
		default: // already awake or about to be
		}
	}
}

// Run delivers until ctx is cancelled, then returns once every target's
// loop has stopped (a Send in flight is cancelled and will be retried by
// the next run). Call it once per Dispatcher.
func (d *Dispatcher) Run(ctx context.Context) {
	d.log.Info("notification dispatcher started", "targets", len(d.loops))
	var wg sync.WaitGroup
	for _, l := range d.loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.deliver(ctx, l)
		}()
	}
	wg.Wait()
	d.log.Info("notification dispatcher stopped")
}

func (d *Dispatcher) deliver(ctx context.Context, l *loop) {
	// unacked holds the Seqs of events the target accepted but the outbox
	// still holds; they are acknowledged before anything is read again, so
	// an acknowledgement that fails does not cause a redelivery.
	var unacked []uint64
	defer func() {
		if len(unacked) > 0 {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := d.outbox.AckEvents(actx, l.arn, unacked); err != nil {
				d.log.Warn("notification acknowledgements lost at shutdown; those events will be delivered again",
					"target", l.arn, "events", len(unacked), "error", err)
			}
		}
	}()
	for ctx.Err() == nil {
		if len(unacked) > 0 {
			if err := d.outbox.AckEvents(ctx, l.arn, unacked); err != nil {
				if ctx.Err() == nil {
					d.failed(l, fmt.Errorf("acknowledging delivered events: %w", err))
					d.backoff(ctx, l)
				}
				continue
			}
			unacked = unacked[:0]
		}
		evs, err := d.outbox.PendingEvents(ctx, l.arn, d.opts.BatchSize)
		if err != nil {
			if ctx.Err() == nil {
				d.failed(l, fmt.Errorf("reading the outbox: %w", err))
				d.backoff(ctx, l)
			}
			continue
		}
		if len(evs) == 0 {
			d.idle(ctx, l)
			continue
		}
		var sendErr error
		for _, ev := range evs {
			payload, err := d.opts.Encoder.Encode(ctx, ev)
			if err == nil {
				err = l.target.Send(ctx, payload, ev)
			}
			if err != nil {
				sendErr = err
				break
			}
			unacked = append(unacked, ev.Seq)
			d.succeeded(l)
		}
		if sendErr != nil && ctx.Err() == nil {
			d.failed(l, sendErr)
			if len(unacked) > 0 && d.outbox.AckEvents(ctx, l.arn, unacked) == nil {
				unacked = unacked[:0]
			}
			d.backoff(ctx, l)
		}
	}
}

// idle waits for a Notify, the poll interval or the end.
func (d *Dispatcher) idle(ctx context.Context, l *loop) {
	t := time.NewTimer(d.opts.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-l.wake:
	case <-t.C:
	}
}

// backoff waits after a failure: MinBackoff doubled per consecutive
// failure, capped, then jittered down by up to half.
func (d *Dispatcher) backoff(ctx context.Context, l *loop) {
	l.mu.Lock()
	n := l.stats.ConsecutiveFailures
	l.mu.Unlock()
	delay := d.opts.MinBackoff
	for i := 1; i < n && delay < d.opts.MaxBackoff; i++ {
		delay *= 2
	}
	delay = min(delay, d.opts.MaxBackoff)
	delay -= time.Duration(rand.Int64N(int64(delay)/2 + 1))
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (d *Dispatcher) succeeded(l *loop) {
	l.mu.Lock()
	st := &l.stats
	recovered := st.State == StateFailing
	failures, since := st.ConsecutiveFailures, st.LastErrorAt
	st.State = StateOK
	st.Delivered++
	st.ConsecutiveFailures = 0
	st.LastSuccess = time.Now()
	l.mu.Unlock()
	if recovered {
		d.log.Info("notification target recovered", "target", l.arn, "failed_attempts", failures,
			"last_failure", since.Format(time.RFC3339))
	}
}

func (d *Dispatcher) failed(l *loop, err error) {
	l.mu.Lock()
	st := &l.stats
	first := st.State != StateFailing
	st.State = StateFailing
	st.Failures++
	st.ConsecutiveFailures++
	st.LastError = err.Error()
	st.LastErrorAt = time.Now()
	n := st.ConsecutiveFailures
	l.mu.Unlock()
	if first {
		d.log.Warn("notification target failing; retrying with backoff", "target", l.arn, "error", err)
	} else {
		d.log.Debug("notification delivery failed again", "target", l.arn, "attempt", n, "error", err)
	}
}

// Stats reports every target's health and queue depth, and the depth of
// events waiting for targets this Dispatcher does not have (state
// "unconfigured": a target removed from the file, say). If the outbox
// cannot be read, the counters come back with Pending -1, and the error.
func (d *Dispatcher) Stats(ctx context.Context) ([]TargetStats, error) {
	depths, err := d.outbox.OutboxDepths(ctx)
	if err != nil {
		err = fmt.Errorf("reading outbox depths: %w", err)
	}
	out := make([]TargetStats, 0, len(d.loops))
	mine := map[string]bool{}
	for _, l := range d.loops {
		l.mu.Lock()
		st := l.stats
		l.mu.Unlock()
		st.Pending = -1
		if err == nil {
			st.Pending = depths[l.arn]
		}
		mine[l.arn] = true
		out = append(out, st)
	}
	var orphans []TargetStats
	for arn, n := range depths {
		if !mine[arn] {
			orphans = append(orphans, TargetStats{Target: arn, State: StateUnconfigured, Pending: n})
		}
	}
	sort.Slice(orphans, func(i, j int) bool { return orphans[i].Target < orphans[j].Target })
	return append(out, orphans...), err
}
