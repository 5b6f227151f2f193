package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunnerRunsAtStartAndReportsErrors(t *testing.T) {
	var ok, failing atomic.Int32
	r := NewRunner(slog.New(slog.DiscardHandler))
	r.Start(
		Job{Name: "ok", Every: 5 * time.Millisecond, Run: func(context.Context) error { ok.Add(1); return nil }},
		Job{Name: "bad", Every: time.Hour, Run: func(context.Context) error { failing.Add(1); return errors.New("boom") }},
	)
	deadline := time.Now().Add(5 * time.Second)
	for ok.Load() < 3 || failing.Load() < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("jobs did not run: ok=%d bad=%d", ok.Load(), failing.Load())
		}
		time.Sleep(time.Millisecond)
	}
	r.Stop()
	n := ok.Load()
	time.Sleep(20 * time.Millisecond)
	if ok.Load() != n {
		t.Error("job ran after Stop returned")
	}
	var sawErr bool
	for _, s := range r.Health() {
		if s.Name == "bad" && s.LastError == "boom" && s.Runs == 1 {
			sawErr = true
		}
	}
	if !sawErr {
		t.Errorf("health does not report the failure: %+v", r.Health())
	}
}
