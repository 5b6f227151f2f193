package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferstore/coffer/internal/meta"
)

// The outbox is the events table, keyed by (target, seq), so that each
// target's queue is one range of its primary key: a target that is down
// holds up only its own range. An event is inserted by the transaction of
// the change it describes, and deleted by AckEvents.
//
// Seq comes from the events_seq sequence: unique and increasing in the
// order events are written. Transactions commit in their own order, so a
// reader may see seq 10 before seq 9 is committed; PendingEvents returns
// what is committed, in seq order, and 9 comes with a later call. Every
// event is delivered; delivery order across concurrent writes is the
// commit order only approximately, which is all notifications promise.

var _ meta.Outbox = (*Store)(nil)

const sqlInsertEvents = `INSERT INTO events (target, record) SELECT * FROM unnest($1::text[], $2::bytea[])`

// checkNotice refuses a notice naming a target PostgreSQL text cannot hold.
func checkNotice(n *meta.Notice) error {
	if n == nil {
		return nil
	}
	for _, d := range n.Destinations {
		if !textOK(d.Target) {
			return fmt.Errorf("event target %q: %w", d.Target, ErrInvalid)
		}
	}
	return nil
}

// queueNotice queues on b one event per destination of n, describing o
// (the version written, removed, or the marker created).
func queueNotice(b *pgx.Batch, n *meta.Notice, o *meta.Object, now time.Time) {
	if n == nil || len(n.Destinations) == 0 {
		return
	}
	targets := make([]string, len(n.Destinations))
	recs := make([][]byte, len(n.Destinations))
	for i, d := range n.Destinations {
		ev := meta.Event{
			Target: d.Target, ConfigID: d.ConfigID, Name: n.Name, Time: now.UTC(),
			Bucket: o.Bucket, Key: o.Key, VersionID: o.VersionID, ETag: o.ETag, Size: o.Size,
			Principal: n.Principal, SourceIP: n.SourceIP, RequestID: n.RequestID,
		}
		targets[i], recs[i] = d.Target, encodeEvent(&ev)
	}
	b.Queue(sqlInsertEvents, targets, recs)
}

// AppendEvents implements meta.Outbox.
func (s *Store) AppendEvents(ctx context.Context, events []meta.Event) error {
	targets := make([]string, len(events))
	recs := make([][]byte, len(events))
	now := time.Now().UTC()
	for i := range events {
		ev := events[i]
		if !textOK(ev.Target) {
			return fmt.Errorf("appending events: target %q: %w", ev.Target, ErrInvalid)
		}
		if ev.Time.IsZero() {
			ev.Time = now
		}
		targets[i], recs[i] = ev.Target, encodeEvent(&ev)
	}
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("appending events: %w", err)
	}
	defer s.leave()
	if len(events) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, sqlInsertEvents, targets, recs); err != nil {
		return fmt.Errorf("appending events: %w", s.dbErr(ctx, err))
	}
	return nil
}

// PendingEvents implements meta.Outbox: one range scan of the primary key.
// A limit below 1 means 100.
func (s *Store) PendingEvents(ctx context.Context, target string, limit int) ([]meta.Event, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("reading events: %w", err)
	}
	defer s.leave()
	if limit < 1 {
		limit = 100
	}
	if !textOK(target) {
		return nil, nil // no event can have it
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, record FROM events WHERE target = $1 ORDER BY seq LIMIT $2`, target, limit)
	if err != nil {
		return nil, fmt.Errorf("reading events of %q: %w", target, s.dbErr(ctx, err))
	}
	var out []meta.Event
	var seq int64
	var rec []byte
	_, err = pgx.ForEachRow(rows, []any{&seq, &rec}, func() error {
		ev := meta.Event{Target: target, Seq: uint64(seq)}
		if err := decodeEvent(rec, &ev); err != nil {
			return fmt.Errorf("event %d: %w", seq, err)
		}
		out = append(out, ev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading events of %q: %w", target, s.dbErr(ctx, err))
	}
	return out, nil
}

// AckEvents implements meta.Outbox.
func (s *Store) AckEvents(ctx context.Context, target string, seqs []uint64) error {
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("acknowledging events: %w", err)
	}
	defer s.leave()
	ids := make([]int64, 0, len(seqs))
	for _, q := range seqs {
		if q <= math.MaxInt64 { // larger ones were never handed out
			ids = append(ids, int64(q))
		}
	}
	if !textOK(target) || len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM events WHERE target = $1 AND seq = ANY($2)`, target, ids); err != nil {
		return fmt.Errorf("acknowledging events of %q: %w", target, s.dbErr(ctx, err))
	}
	return nil
}

// OutboxDepths implements meta.Outbox with one aggregate over the outbox.
func (s *Store) OutboxDepths(ctx context.Context) (map[string]int, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("counting events: %w", err)
	}
	defer s.leave()
	rows, err := s.pool.Query(ctx, `SELECT target, count(*) FROM events GROUP BY target`)
	if err != nil {
		return nil, fmt.Errorf("counting events: %w", s.dbErr(ctx, err))
	}
	depths := make(map[string]int)
	var target string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&target, &n}, func() error {
		depths[target] = int(n)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("counting events: %w", s.dbErr(ctx, err))
	}
	return depths, nil
}
