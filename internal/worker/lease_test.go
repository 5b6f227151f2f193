package worker_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/worker"
)

func openRecords(t *testing.T) *embedded.Store {
	t.Helper()
	ms, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ms.Close() })
	return ms
}

// TestLeaseOneHolder: of several instances racing for a lease, exactly one
// runs the job at any moment, and it is renewed while the job runs longer
// than the TTL.
func TestLeaseOneHolder(t *testing.T) {
	ms := openRecords(t)
	var running, maxRunning, runs atomic.Int32
	job := func(ctx context.Context) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		runs.Add(1)
		select {
		case <-time.After(450 * time.Millisecond): // longer than the TTL: needs renewals
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var wg sync.WaitGroup
	for i := range 4 {
		l := &worker.Leases{Records: ms, Holder: string(rune('a' + i)), TTL: 300 * time.Millisecond}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				if _, err := l.Hold(context.Background(), "job", job); err != nil {
					t.Error(err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if maxRunning.Load() != 1 {
		t.Errorf("%d instances ran the job at once, want 1", maxRunning.Load())
	}
	if runs.Load() == 0 {
		t.Error("nobody ran the job")
	}
}

// TestLeaseTakeover: a holder that dies (stops renewing without
// releasing) loses the lease after its TTL, and another instance takes it.
func TestLeaseTakeover(t *testing.T) {
	ms := openRecords(t)
	ctx := context.Background()
	dead := &worker.Leases{Records: ms, Holder: "dead", TTL: 200 * time.Millisecond}
	alive := &worker.Leases{Records: ms, Holder: "alive", TTL: 200 * time.Millisecond}
	ls, ok, err := dead.Acquire(ctx, "job")
	if err != nil || !ok {
		t.Fatalf("first acquire = %v, %v", ok, err)
	}
	if _, ok, _ := alive.Acquire(ctx, "job"); ok {
		t.Fatal("a held lease was taken")
	}
	if h, _ := alive.HolderOf(ctx, "job"); h != "dead" {
		t.Errorf("holder = %q, want dead", h)
	}
	time.Sleep(250 * time.Millisecond)
	taken, ok, err := alive.Acquire(ctx, "job")
	if err != nil || !ok {
		t.Fatalf("takeover after expiry = %v, %v", ok, err)
	}
	if err := ls.Renew(ctx); !errors.Is(err, worker.ErrLeaseLost) {
		t.Errorf("the dead holder's renewal err = %v, want ErrLeaseLost", err)
	}
	if err := ls.Release(ctx); err != nil {
		t.Errorf("releasing a lost lease: %v", err)
	}
	if h, _ := alive.HolderOf(ctx, "job"); h != "alive" {
		t.Errorf("holder after takeover = %q (the old holder's release must not drop it)", h)
	}
	if err := taken.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := dead.Acquire(ctx, "job"); !ok {
		t.Error("a released lease could not be taken at once")
	}
}

// TestRunnerExclusiveJobs: two runners sharing a store run an exclusive
// job on one of them; the other reports where it runs.
func TestRunnerExclusiveJobs(t *testing.T) {
	ms := openRecords(t)
	var concurrent, maxConcurrent atomic.Int32
	job := func(ctx context.Context) error {
		n := concurrent.Add(1)
		defer concurrent.Add(-1)
		if n > maxConcurrent.Load() {
			maxConcurrent.Store(n)
		}
		time.Sleep(50 * time.Millisecond)
		return nil
	}
	var runners []*worker.Runner
	for _, name := range []string{"one", "two"} {
		r := worker.NewRunner(nil)
		r.Leases = &worker.Leases{Records: ms, Holder: name, TTL: time.Second}
		r.Start(worker.Job{Name: "x", Every: 10 * time.Millisecond, Run: job, Exclusive: true})
		runners = append(runners, r)
	}
	time.Sleep(500 * time.Millisecond)
	for _, r := range runners {
		r.Stop()
	}
	if maxConcurrent.Load() != 1 {
		t.Errorf("exclusive job ran %d times at once", maxConcurrent.Load())
	}
	total := 0
	for _, r := range runners {
		for _, st := range r.Health() {
			total += st.Runs
		}
	}
	if total == 0 {
		t.Error("the exclusive job never ran")
	}
}

// TestLeaseKeep: a long-running loop kept under a lease runs on one
// instance, and moves to the other when its holder stops.
func TestLeaseKeep(t *testing.T) {
	ms := openRecords(t)
	var active atomic.Int32
	var where sync.Map
	loop := func(name string) func(context.Context) error {
		return func(ctx context.Context) error {
			if active.Add(1) > 1 {
				t.Error("two instances run the loop at once")
			}
			where.Store(name, true)
			<-ctx.Done()
			active.Add(-1)
			return nil
		}
	}
	ctx1, stop1 := context.WithCancel(context.Background())
	ctx2, stop2 := context.WithCancel(context.Background())
	defer stop2()
	var wg sync.WaitGroup
	for i, c := range []context.Context{ctx1, ctx2} {
		name := []string{"first", "second"}[i]
		l := &worker.Leases{Records: ms, Holder: name, TTL: 150 * time.Millisecond}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Keep(c, "loop", loop(name), func(err error) { t.Error(err) })
		}()
		time.Sleep(30 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if _, ok := where.Load("second"); ok {
		t.Fatal("the second instance ran while the first held the lease")
	}
	stop1() // the first stops: it releases, the second takes over
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, ok := where.Load("second"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second instance never took over")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop2()
	wg.Wait()
}
