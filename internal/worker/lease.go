package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// Leases make a job run on one instance at a time when several share a
// metadata store. A lease is a record with an expiry: taking it is a
// create-if-absent, keeping it a renewal by revision, and an instance that
// dies simply stops renewing, so another takes over once the lease expires.
// Nothing is held in memory that another instance would need.
type Leases struct {
	Records meta.Records
	// Holder names this instance in the lease records (for health reports).
	Holder string
	// TTL is how long a lease lasts without renewal; a dead holder's jobs
	// resume elsewhere within it. It is renewed every TTL/3.
	TTL time.Duration
}

// ErrLeaseLost reports that a lease expired or was taken while held.
var ErrLeaseLost = errors.New("lease lost")

const leaseKind = "lease"

// Lease is a held lease.
type Lease struct {
	l    *Leases
	name string
	rev  int64
}

// Acquire takes the named lease if nobody holds it; ok is false when
// another instance does.
func (l *Leases) Acquire(ctx context.Context, name string) (*Lease, bool, error) {
	rev, err := l.Records.PutRecord(ctx, meta.Record{Kind: leaseKind, ID: name, Data: []byte(l.Holder),
		Rev: meta.RevNew, Expires: time.Now().Add(l.TTL)})
	if errors.Is(err, meta.ErrConflict) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("taking lease %s: %w", name, err)
	}
	return &Lease{l: l, name: name, rev: rev}, true, nil
}

// HolderOf returns who holds the named lease ("" when nobody does).
func (l *Leases) HolderOf(ctx context.Context, name string) (string, error) {
	r, err := l.Records.GetRecord(ctx, leaseKind, name)
	if errors.Is(err, meta.ErrRecordNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(r.Data), nil
}

// Renew extends the lease by TTL; ErrLeaseLost when it expired or was
// taken meanwhile.
func (ls *Lease) Renew(ctx context.Context) error {
	rev, err := ls.l.Records.PutRecord(ctx, meta.Record{Kind: leaseKind, ID: ls.name, Data: []byte(ls.l.Holder),
		Rev: ls.rev, Expires: time.Now().Add(ls.l.TTL)})
	if errors.Is(err, meta.ErrConflict) || errors.Is(err, meta.ErrRecordNotFound) {
		return fmt.Errorf("renewing lease %s: %w", ls.name, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("renewing lease %s: %w", ls.name, err)
	}
	ls.rev = rev
	return nil
}

// Release gives the lease up so another instance may take it at once.
// Releasing a lost lease is not an error.
func (ls *Lease) Release(ctx context.Context) error {
	err := ls.l.Records.DeleteRecord(ctx, leaseKind, ls.name, ls.rev)
	if err != nil && !errors.Is(err, meta.ErrConflict) && !errors.Is(err, meta.ErrRecordNotFound) {
		return fmt.Errorf("releasing lease %s: %w", ls.name, err)
	}
	return nil
}

// Hold runs fn while holding the named lease, renewing it every TTL/3 and
// cancelling fn's context when the lease is lost. It returns false without
// calling fn when another instance holds the lease.
func (l *Leases) Hold(ctx context.Context, name string, fn func(context.Context) error) (bool, error) {
	ls, ok, err := l.Acquire(ctx, name)
	if err != nil || !ok {
		return false, err
	}
	hctx, cancel := context.WithCancelCause(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(l.TTL / 3)
		defer t.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-t.C:
				if err := ls.Renew(hctx); err != nil {
					cancel(err)
					return
				}
			}
		}
	}()
	err = fn(hctx)
	cause := context.Cause(hctx)
	cancel(nil)
	<-renewed
	// Released with a fresh context: the caller's may be done, and a lease
	// left behind would hold the job off elsewhere for a whole TTL.
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer rcancel()
	rerr := ls.Release(rctx)
	if errors.Is(cause, ErrLeaseLost) {
		err = errors.Join(err, cause)
	}
	return true, errors.Join(err, rerr)
}

// Keep runs fn whenever this instance holds the named lease, until ctx is
// done: it tries to take the lease every TTL/3 and, once held, runs fn
// until fn returns or the lease is lost, then waits TTL/3 again. For long-running loops (event
// delivery) that must run on exactly one instance.
func (l *Leases) Keep(ctx context.Context, name string, fn func(context.Context) error, onErr func(error)) {
	for {
		_, err := l.Hold(ctx, name, fn)
		if err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
		// Whether fn returned, the lease was lost or another instance holds
		// it, wait before trying again: a fn that returns at once must not
		// turn this into a loop of lease writes.
		select {
		case <-ctx.Done():
			return
		case <-time.After(l.TTL / 3):
		}
	}
}
