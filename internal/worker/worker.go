// Package worker runs background jobs (orphan collection today; multipart
// expiry, lifecycle and notification delivery later) with a clean start,
// stop, and a health report.
package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Job is a periodic task. Run must return when ctx is cancelled.
type Job struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
	// Progress, when set, describes where a long job is; Health reports it.
	Progress func() string
	// Exclusive jobs run on one instance at a time across every instance
	// sharing the metadata store, under a lease named after the job, when
	// the Runner has Leases.
	Exclusive bool
}

// Status is a job's health.
type Status struct {
	Name      string    `json:"name"`
	Runs      int       `json:"runs"`
	LastStart time.Time `json:"lastStart"`
	LastEnd   time.Time `json:"lastEnd"`
	LastError string    `json:"lastError,omitempty"`
	Progress  string    `json:"progress,omitempty"`
	// Elsewhere names the instance that held an exclusive job's lease at
	// its last turn, when it was not this one.
	Elsewhere string `json:"elsewhere,omitempty"`
}

// Runner runs jobs until stopped.
type Runner struct {
	// Leases, when set, keeps Exclusive jobs to one instance at a time.
	Leases *Leases

	log      *slog.Logger
	mu       sync.Mutex
	status   map[string]*Status
	progress map[string]func() string
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// NewRunner returns a stopped Runner.
func NewRunner(log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{log: log, status: make(map[string]*Status), progress: make(map[string]func() string)}
}

// Start runs each job once right away and then every job.Every, until
// Stop. Start must be called at most once.
func (r *Runner) Start(jobs ...Job) {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for _, j := range jobs {
		r.mu.Lock()
		r.status[j.Name] = &Status{Name: j.Name}
		if j.Progress != nil {
			r.progress[j.Name] = j.Progress
		}
		r.mu.Unlock()
		r.wg.Add(1)
		go r.loop(ctx, j)
	}
}

func (r *Runner) loop(ctx context.Context, j Job) {
	defer r.wg.Done()
	t := time.NewTicker(j.Every)
	defer t.Stop()
	for {
		r.runOnce(ctx, j)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Runner) runOnce(ctx context.Context, j Job) {
	r.mu.Lock()
	st := r.status[j.Name]
	st.LastStart = time.Now()
	r.mu.Unlock()
	var err error
	if j.Exclusive && r.Leases != nil {
		var ran bool
		ran, err = r.Leases.Hold(ctx, j.Name, j.Run)
		if err == nil && !ran {
			holder, herr := r.Leases.HolderOf(ctx, j.Name)
			r.mu.Lock()
			st.Elsewhere, st.LastEnd = holder, time.Now()
			if herr != nil {
				st.Elsewhere = "unknown"
			}
			r.mu.Unlock()
			return
		}
	} else {
		err = j.Run(ctx)
	}
	r.mu.Lock()
	st.Elsewhere = ""
	st.Runs++
	st.LastEnd = time.Now()
	st.LastError = ""
	if err != nil && ctx.Err() == nil {
		st.LastError = err.Error()
	}
	r.mu.Unlock()
	if err != nil && ctx.Err() == nil {
		r.log.Error("background job failed", "job", j.Name, "err", err)
	}
}

// Stop cancels every job and waits for them to return.
func (r *Runner) Stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

// Health returns a snapshot of every job's status.
func (r *Runner) Health() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Status, 0, len(r.status))
	for name, s := range r.status {
		st := *s
		if p := r.progress[name]; p != nil {
			st.Progress = p()
		}
		out = append(out, st)
	}
	return out
}
