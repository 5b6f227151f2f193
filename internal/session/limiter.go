package session

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

const (
	// limiterSlack keeps a counter past its window's end so that an
	// instance whose clock runs behind still finds it.
	limiterSlack = time.Minute
	// limiterAttempts bounds the read-increment-write retries of one
	// Allow; with the backoff below it outlasts dozens of simultaneous
	// callers on one counter.
	limiterAttempts = 64
	limiterBackoff  = 32 * time.Millisecond
)

// Decision is the outcome of Limiter.Allow.
type Decision struct {
	Allowed bool
	// Remaining is how many more requests the window allows after this
	// one.
	Remaining int
	// RetryAfter is the time left in the window: when a denied client may
	// try again (and, when allowed, when the count resets).
	RetryAfter time.Duration
}

// Limiter counts requests per (rule, client) in fixed windows shared
// through the store, so that the limit holds across every instance. It is
// safe for concurrent use.
type Limiter struct {
	store meta.Records
	now   func() time.Time
}

// NewLimiter returns a Limiter over store; now nil means time.Now.
func NewLimiter(store meta.Records, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{store: store, now: now}
}

// Allow counts one request of client under rule, allowing at most limit in
// each window (windows are aligned on multiples of window since the zero
// time, the same on every instance). Exactly limit calls per window are
// allowed, however many run concurrently on however many instances: the
// counter is a record incremented by revision. Denied calls write nothing.
//
// An error means the request could not be counted; callers should deny it.
// ErrContended reports a counter that stayed contended through every retry.
func (l *Limiter) Allow(ctx context.Context, rule, client string, limit int, window time.Duration) (Decision, error) {
	if window <= 0 {
		return Decision{}, fmt.Errorf("rate limiting %s: window %v: not positive", rule, window)
	}
	now := l.now()
	start := now.Truncate(window)
	end := start.Add(window)
	d := Decision{RetryAfter: end.Sub(now)}
	if limit < 1 {
		return d, nil
	}
	// Escaping keeps ids unambiguous when a rule or client contains "/".
	id := url.PathEscape(rule) + "/" + url.PathEscape(client) + "/" + strconv.FormatInt(start.UnixNano(), 10)
	fail := func(err error) (Decision, error) {
		return Decision{}, fmt.Errorf("rate limiting %s: %w", rule, err)
	}
	for attempt := range limiterAttempts {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return fail(err)
			}
		}
		count, rev := 0, meta.RevNew
		rec, err := l.store.GetRecord(ctx, KindRateLimit, id)
		switch {
		case err == nil:
			n, perr := strconv.Atoi(string(rec.Data))
			if perr != nil || n < 0 {
				return fail(fmt.Errorf("counter %q: bad value %q", id, rec.Data))
			}
			count, rev = n, rec.Rev
		case !errors.Is(err, meta.ErrRecordNotFound):
			return fail(err)
		}
		// Counts only grow within a window, so a count read at or above
		// the limit denies without a write, however stale the read.
		if count >= limit {
			return d, nil
		}
		_, err = l.store.PutRecord(ctx, meta.Record{
			Kind:    KindRateLimit,
			ID:      id,
			Data:    strconv.AppendInt(nil, int64(count+1), 10),
			Rev:     rev,
			Expires: end.Add(limiterSlack),
		})
		switch {
		case err == nil:
			d.Allowed, d.Remaining = true, limit-count-1
			return d, nil
		// Another caller wrote (or the record expired) between our read
		// and our write: read again.
		case errors.Is(err, meta.ErrConflict), errors.Is(err, meta.ErrRecordNotFound):
		default:
			return fail(err)
		}
	}
	return fail(ErrContended)
}

// backoff sleeps a random time up to a bound that doubles with each
// attempt, so that colliding callers spread out instead of colliding
// again.
func backoff(ctx context.Context, attempt int) error {
	ceiling := min(time.Millisecond<<min(attempt-1, 10), limiterBackoff)
	t := time.NewTimer(rand.N(ceiling) + 1)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
