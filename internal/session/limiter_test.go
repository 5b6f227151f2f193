package session

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestLimiterExactUnderConcurrency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open backend) {
		ctx := context.Background()
		stores := open(t, 3)
		clk := newClock()
		clk.Advance(10 * time.Minute)
		var ls []*Limiter
		for _, s := range stores {
			ls = append(ls, NewLimiter(s, clk.Now))
		}
		const (
			limit      = 40
			perLimiter = 8
			calls      = 5 // per goroutine: 3*8*5 = 120 requests
		)
		var (
			mu        sync.Mutex
			remaining []int
			denied    int
			failures  []error
		)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for _, l := range ls {
			for range perLimiter {
				wg.Go(func() {
					<-start
					for range calls {
						d, err := l.Allow(ctx, "login", "203.0.113.7", limit, time.Hour)
						mu.Lock()
						switch {
						case err != nil:
							failures = append(failures, err)
						case d.Allowed:
							remaining = append(remaining, d.Remaining)
						default:
							denied++
						}
						mu.Unlock()
					}
				})
			}
		}
		close(start)
		wg.Wait()
		for _, err := range failures {
			t.Errorf("Allow: %v", err)
		}
		if len(remaining) != limit {
			t.Fatalf("%d requests allowed, %d denied; want exactly %d allowed", len(remaining), denied, limit)
		}
		// Every count was handed out once: 39, 38, ..., 0.
		slices.Sort(remaining)
		for i, r := range remaining {
			if r != i {
				t.Fatalf("Remaining values %v, want each of 0..%d once", remaining, limit-1)
			}
		}
	})
}

func TestLimiterWindows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open backend) {
		ctx := context.Background()
		stores := open(t, 2)
		clk := newClock() // on a full hour, so on a window boundary
		clk.Advance(10 * time.Second)
		a := NewLimiter(stores[0], clk.Now)
		b := NewLimiter(stores[1], clk.Now)
		allow := func(l *Limiter, rule, client string, limit int) Decision {
			t.Helper()
			d, err := l.Allow(ctx, rule, client, limit, time.Minute)
			if err != nil {
				t.Fatalf("Allow(%s, %s): %v", rule, client, err)
			}
			return d
		}
		for i, l := range []*Limiter{a, b, a} {
			want := Decision{Allowed: true, Remaining: 2 - i, RetryAfter: 50 * time.Second}
			if d := allow(l, "login", "alice", 3); d != want {
				t.Errorf("request %d: %+v, want %+v", i+1, d, want)
			}
		}
		if d, want := allow(b, "login", "alice", 3), (Decision{RetryAfter: 50 * time.Second}); d != want {
			t.Errorf("request over the limit: %+v, want %+v", d, want)
		}
		clk.Advance(20 * time.Second)
		if d, want := allow(a, "login", "alice", 3), (Decision{RetryAfter: 30 * time.Second}); d != want {
			t.Errorf("later in the window: %+v, want %+v", d, want)
		}
		// Other clients and other rules have their own counters.
		if d := allow(a, "login", "bob", 3); !d.Allowed || d.Remaining != 2 {
			t.Errorf("another client: %+v", d)
		}
		if d := allow(a, "search", "alice", 3); !d.Allowed || d.Remaining != 2 {
			t.Errorf("another rule: %+v", d)
		}
		// "/" in a rule or client cannot merge two counters.
		if d := allow(a, "x/y", "z", 1); !d.Allowed {
			t.Errorf("rule x/y, client z: %+v", d)
		}
		if d := allow(a, "x", "y/z", 1); !d.Allowed {
			t.Errorf("rule x, client y/z: %+v", d)
		}
		// The next window starts from zero.
		clk.Advance(30 * time.Second)
		if d, want := allow(b, "login", "alice", 3), (Decision{Allowed: true, Remaining: 2, RetryAfter: time.Minute}); d != want {
			t.Errorf("next window: %+v, want %+v", d, want)
		}
		if d := allow(a, "login", "carol", 0); d.Allowed {
			t.Errorf("limit 0 allowed a request: %+v", d)
		}
		if _, err := a.Allow(ctx, "login", "alice", 3, 0); err == nil {
			t.Error("Allow accepted a zero window")
		}
	})
}
