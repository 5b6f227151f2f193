package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferstore/coffer/internal/meta"
)

// The outbox lives under nsEvent, keyed by target then Seq, so that each
// target's queue is one ordered range: a target that is down holds up only
// its own range. Events are written in the batch of the change they describe
// and deleted by AckEvents.
//
// Seq comes from the wall clock in nanoseconds, made strictly increasing in
// memory. A restart resumes above the clock, so sequence numbers keep
// increasing across restarts as long as the clock does not step back by
// more than the restart takes; they are unique either way within the
// process, and an event is addressed by (target, Seq).

var _ meta.Outbox = (*Store)(nil)

func (s *Store) nextSeq() uint64 {
	for {
		last := s.seq.Load()
		next := uint64(time.Now().UnixNano())
		if next <= last {
			next = last + 1
		}
		if s.seq.CompareAndSwap(last, next) {
			return next
		}
	}
}

// Event record fields. Target and Seq are in the key.
const (
	fEvConfigID = 1
	fEvName     = 2
	fEvTime     = 3
	fEvBucket   = 4
	fEvKey      = 5
	fEvVersion  = 6
	fEvETag     = 7
	fEvSize     = 8
	fEvPrincipa = 9
	fEvSourceIP = 10
	fEvRequest  = 11
)

func encodeEvent(e *meta.Event) []byte {
	b := make([]byte, 0, 96+len(e.Key)+len(e.Bucket)+len(e.Name))
	b = append(b, recordVersion)
	b = appendString(b, fEvConfigID, e.ConfigID)
	b = appendString(b, fEvName, e.Name)
	b = appendTime(b, fEvTime, e.Time)
	b = appendString(b, fEvBucket, e.Bucket)
	b = appendString(b, fEvKey, e.Key)
	b = appendString(b, fEvVersion, e.VersionID)
	b = appendString(b, fEvETag, e.ETag)
	if e.Size != 0 {
		b = appendVarint(b, fEvSize, e.Size)
	}
	b = appendString(b, fEvPrincipa, e.Principal)
	b = appendString(b, fEvSourceIP, e.SourceIP)
	return appendString(b, fEvRequest, e.RequestID)
}

func decodeEvent(rec []byte, e *meta.Event) error {
	return fields(rec, func(tag uint64, p []byte) error {
		var err error
		switch tag {
		case fEvConfigID:
			e.ConfigID = string(p)
		case fEvName:
			e.Name = string(p)
		case fEvTime:
			e.Time, err = decodeTime(p)
		case fEvBucket:
			e.Bucket = string(p)
		case fEvKey:
			e.Key = string(p)
		case fEvVersion:
			e.VersionID = string(p)
		case fEvETag:
			e.ETag = string(p)
		case fEvSize:
			e.Size, err = decodeVarint(p)
		case fEvPrincipa:
			e.Principal = string(p)
		case fEvSourceIP:
			e.SourceIP = string(p)
		case fEvRequest:
			e.RequestID = string(p)
		}
		return err
	})
}

// notice adds to batch one event per destination of n, describing o (the
// version written, removed, or the marker created).
func (s *Store) notice(batch *pebble.Batch, n *meta.Notice, o *meta.Object, now time.Time) error {
	if n == nil {
		return nil
	}
	for _, d := range n.Destinations {
		ev := meta.Event{
			Seq: s.nextSeq(), Target: d.Target, ConfigID: d.ConfigID, Name: n.Name, Time: now.UTC(),
			Bucket: o.Bucket, Key: o.Key, VersionID: o.VersionID, ETag: o.ETag, Size: o.Size,
			Principal: n.Principal, SourceIP: n.SourceIP, RequestID: n.RequestID,
		}
		if err := batch.Set(eventKey(d.Target, ev.Seq), encodeEvent(&ev), nil); err != nil {
			return err
		}
	}
	return nil
}

// AppendEvents implements meta.Outbox.
func (s *Store) AppendEvents(ctx context.Context, events []meta.Event) error {
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("appending events: %w", err)
	}
	defer s.leave()
	batch := s.db.NewBatch()
	defer batch.Close()
	for i := range events {
		ev := events[i]
		ev.Seq = s.nextSeq()
		if ev.Time.IsZero() {
			ev.Time = time.Now().UTC()
		}
		if err := batch.Set(eventKey(ev.Target, ev.Seq), encodeEvent(&ev), nil); err != nil {
			return fmt.Errorf("appending events: %w", err)
		}
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("appending events: %w", err)
	}
	return nil
}

// PendingEvents implements meta.Outbox.
func (s *Store) PendingEvents(ctx context.Context, target string, limit int) (out []meta.Event, err error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("reading events: %w", err)
	}
	defer s.leave()
	if limit < 1 {
		limit = 100
	}
	p := eventPrefix(target)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: p, UpperBound: prefixSuccessor(p)})
	if err != nil {
		return nil, fmt.Errorf("reading events of %q: %w", target, err)
	}
	defer func() { err = errors.Join(err, it.Error(), it.Close()) }()
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		k := it.Key()[len(p):]
		if len(k) != 8 {
			return nil, fmt.Errorf("event key %q: %w", it.Key(), errCorrupt)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("reading events of %q: %w", target, err)
		}
		ev := meta.Event{Target: target, Seq: binary.BigEndian.Uint64(k)}
		if err := decodeEvent(v, &ev); err != nil {
			return nil, fmt.Errorf("event %d of %q: %w", ev.Seq, target, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// AckEvents implements meta.Outbox.
func (s *Store) AckEvents(ctx context.Context, target string, seqs []uint64) error {
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("acknowledging events: %w", err)
	}
	defer s.leave()
	batch := s.db.NewBatch()
	defer batch.Close()
	for _, seq := range seqs {
		if err := batch.Delete(eventKey(target, seq), nil); err != nil {
			return fmt.Errorf("acknowledging events of %q: %w", target, err)
		}
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("acknowledging events of %q: %w", target, err)
	}
	return nil
}

// OutboxDepths implements meta.Outbox with one scan of the outbox.
func (s *Store) OutboxDepths(ctx context.Context) (depths map[string]int, err error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("counting events: %w", err)
	}
	defer s.leave()
	lower := []byte{nsEvent}
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixSuccessor(lower)})
	if err != nil {
		return nil, fmt.Errorf("counting events: %w", err)
	}
	defer func() { err = errors.Join(err, it.Error(), it.Close()) }()
	depths = make(map[string]int)
	for ok := it.First(); ok; ok = it.Next() {
		target, _, ok := cutLP(it.Key()[1:])
		if !ok {
			return nil, fmt.Errorf("event key %q: %w", it.Key(), errCorrupt)
		}
		depths[target]++
	}
	return depths, nil
}
