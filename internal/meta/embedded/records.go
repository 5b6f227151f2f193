package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferstore/coffer/internal/meta"
)

// Records live under nsRecord, keyed by length-prefixed kind then id, so a
// kind is one ordered range. A record that expires is also indexed under
// nsRecordExpiry by its expiry time, so purging costs what it removes.
// Writes hold the (kind, id) key lock across the revision check and the
// commit.

var _ meta.Records = (*Store)(nil)

func recordPrefix(kind string) []byte {
	k := make([]byte, 0, 1+binary.MaxVarintLen64+len(kind)+32)
	return appendLP(append(k, nsRecord), kind)
}

func recordKey(kind, id string) []byte {
	return append(recordPrefix(kind), id...)
}

func recordExpiryKey(t time.Time, kind, id string) []byte {
	k := make([]byte, 0, 13+binary.MaxVarintLen64+len(kind)+len(id))
	k = appendTimeKey(append(k, nsRecordExpiry), t)
	k = appendLP(k, kind)
	return append(k, id...)
}

// A record value: uvarint(rev), the expiry (appendTime's payload, or a
// single zero byte for none), then the data.
func encodeRecordValue(rev int64, expires time.Time, data []byte) []byte {
	b := make([]byte, 0, 24+len(data))
	b = binary.AppendUvarint(b, uint64(rev))
	if expires.IsZero() {
		b = append(b, 0)
	} else {
		var p []byte
		p = binary.AppendVarint(p, expires.Unix())
		p = binary.AppendUvarint(p, uint64(expires.Nanosecond()))
		b = append(b, byte(len(p)))
		b = append(b, p...)
	}
	return append(b, data...)
}

func decodeRecordValue(v []byte, r *meta.Record) error {
	rev, n := binary.Uvarint(v)
	if n <= 0 || rev == 0 || rev > 1<<62 {
		return fmt.Errorf("record revision: %w", errCorrupt)
	}
	v = v[n:]
	if len(v) < 1 || int(v[0]) > len(v)-1 {
		return fmt.Errorf("record expiry: %w", errCorrupt)
	}
	l := int(v[0])
	if l > 0 {
		t, err := decodeTime(v[1 : 1+l])
		if err != nil {
			return err
		}
		r.Expires = t
	}
	r.Rev = int64(rev)
	r.Data = append([]byte(nil), v[1+l:]...)
	return nil
}

func live(r *meta.Record, now time.Time) bool {
	return r.Expires.IsZero() || now.Before(r.Expires)
}

// readRecord returns the live record (kind, id), or nil.
func readRecord(rd pebble.Reader, kind, id string, now time.Time) (*meta.Record, error) {
	v, ok, err := get(rd, recordKey(kind, id))
	if err != nil || !ok {
		return nil, err
	}
	r := &meta.Record{Kind: kind, ID: id}
	if err := decodeRecordValue(v, r); err != nil {
		return nil, fmt.Errorf("record %s/%q: %w", kind, id, err)
	}
	if !live(r, now) {
		return nil, nil
	}
	return r, nil
}

// stored returns the raw stored record, live or not, for cleaning up its
// expiry index entry.
func storedRecord(rd pebble.Reader, kind, id string) (*meta.Record, error) {
	v, ok, err := get(rd, recordKey(kind, id))
	if err != nil || !ok {
		return nil, err
	}
	r := &meta.Record{Kind: kind, ID: id}
	return r, decodeRecordValue(v, r)
}

// PutRecord implements meta.Records.
func (s *Store) PutRecord(ctx context.Context, r meta.Record) (int64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, fmt.Errorf("putting record: %w", err)
	}
	defer s.leave()
	fail := func(err error) (int64, error) {
		return 0, fmt.Errorf("putting record %s/%q: %w", r.Kind, r.ID, err)
	}
	if r.Kind == "" {
		return fail(ErrInvalid)
	}
	kl := s.keyLock("\x00records\x00"+r.Kind, r.ID)
	kl.Lock()
	defer kl.Unlock()
	now := time.Now()
	old, err := storedRecord(s.db, r.Kind, r.ID)
	if err != nil {
		return fail(err)
	}
	var cur *meta.Record
	if old != nil && live(old, now) {
		cur = old
	}
	switch {
	case r.Rev == meta.RevNew && cur != nil:
		return fail(meta.ErrConflict)
	case r.Rev > 0 && cur == nil:
		return fail(meta.ErrRecordNotFound)
	case r.Rev > 0 && cur.Rev != r.Rev:
		return fail(meta.ErrConflict)
	case r.Rev < meta.RevAny:
		return fail(ErrInvalid)
	}
	// Revisions come from the store-wide increasing sequence, never from
	// the old record's: a record deleted and created again cannot reach a
	// revision some caller read before the delete (no ABA).
	rev := int64(s.nextSeq())
	batch := s.db.NewBatch()
	defer batch.Close()
	if old != nil && !old.Expires.IsZero() {
		if err := batch.Delete(recordExpiryKey(old.Expires, r.Kind, r.ID), nil); err != nil {
			return fail(err)
		}
	}
	if err := batch.Set(recordKey(r.Kind, r.ID), encodeRecordValue(rev, r.Expires, r.Data), nil); err != nil {
		return fail(err)
	}
	if !r.Expires.IsZero() {
		if err := batch.Set(recordExpiryKey(r.Expires, r.Kind, r.ID), nil, nil); err != nil {
			return fail(err)
		}
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return fail(err)
	}
	return rev, nil
}

// GetRecord implements meta.Records.
func (s *Store) GetRecord(ctx context.Context, kind, id string) (meta.Record, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Record{}, fmt.Errorf("getting record: %w", err)
	}
	defer s.leave()
	r, err := readRecord(s.db, kind, id, time.Now())
	if err != nil {
		return meta.Record{}, fmt.Errorf("getting record %s/%q: %w", kind, id, err)
	}
	if r == nil {
		return meta.Record{}, fmt.Errorf("getting record %s/%q: %w", kind, id, meta.ErrRecordNotFound)
	}
	return *r, nil
}

// DeleteRecord implements meta.Records.
func (s *Store) DeleteRecord(ctx context.Context, kind, id string, rev int64) error {
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("deleting record: %w", err)
	}
	defer s.leave()
	fail := func(err error) error { return fmt.Errorf("deleting record %s/%q: %w", kind, id, err) }
	kl := s.keyLock("\x00records\x00"+kind, id)
	kl.Lock()
	defer kl.Unlock()
	old, err := storedRecord(s.db, kind, id)
	if err != nil {
		return fail(err)
	}
	if old == nil || !live(old, time.Now()) {
		return fail(meta.ErrRecordNotFound)
	}
	if rev != meta.RevAny && rev != old.Rev {
		return fail(meta.ErrConflict)
	}
	batch := s.db.NewBatch()
	defer batch.Close()
	errs := []error{batch.Delete(recordKey(kind, id), nil)}
	if !old.Expires.IsZero() {
		errs = append(errs, batch.Delete(recordExpiryKey(old.Expires, kind, id), nil))
	}
	if err := errors.Join(errs...); err != nil {
		return fail(err)
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return fail(err)
	}
	return nil
}

// ListRecords implements meta.Records.
func (s *Store) ListRecords(ctx context.Context, kind, after string, limit int) (out []meta.Record, err error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("listing records: %w", err)
	}
	defer s.leave()
	if limit < 1 {
		limit = defaultPage
	}
	p := recordPrefix(kind)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: p, UpperBound: prefixSuccessor(p)})
	if err != nil {
		return nil, fmt.Errorf("listing records %s: %w", kind, err)
	}
	defer func() { err = errors.Join(err, it.Error(), it.Close()) }()
	valid := it.First()
	if after != "" {
		valid = it.SeekGE(append(recordKey(kind, after), 0))
	}
	now := time.Now()
	for ; valid && len(out) < limit; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("listing records %s: %w", kind, err)
		}
		r := meta.Record{Kind: kind, ID: string(it.Key()[len(p):])}
		if err := decodeRecordValue(v, &r); err != nil {
			return nil, fmt.Errorf("record %s/%q: %w", kind, r.ID, err)
		}
		if live(&r, now) {
			out = append(out, r)
		}
	}
	return out, nil
}

// PurgeExpiredRecords implements meta.Records: one scan of the expiry index
// up to now.
func (s *Store) PurgeExpiredRecords(ctx context.Context, now time.Time, limit int) (int, error) {
	if err := s.enter(ctx); err != nil {
		return 0, fmt.Errorf("purging records: %w", err)
	}
	defer s.leave()
	if limit < 1 {
		limit = defaultPage
	}
	lower := []byte{nsRecordExpiry}
	upper := appendTimeKey([]byte{nsRecordExpiry}, now)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return 0, fmt.Errorf("purging records: %w", err)
	}
	type entry struct {
		kind, id string
		key      []byte
	}
	var due []entry
	for ok := it.First(); ok && len(due) < limit; ok = it.Next() {
		k := it.Key()
		if len(k) < 13 {
			return 0, errors.Join(fmt.Errorf("record expiry key %q: %w", k, errCorrupt), it.Close())
		}
		kind, rest, ok := cutLP(k[13:])
		if !ok {
			return 0, errors.Join(fmt.Errorf("record expiry key %q: %w", k, errCorrupt), it.Close())
		}
		due = append(due, entry{kind, string(rest), append([]byte(nil), k...)})
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return 0, fmt.Errorf("purging records: %w", err)
	}
	n := 0
	for _, e := range due {
		removed, err := s.purgeOne(e.kind, e.id, e.key, now)
		if err != nil {
			return n, fmt.Errorf("purging record %s/%q: %w", e.kind, e.id, err)
		}
		if removed {
			n++
		}
	}
	return n, nil
}

// purgeOne removes (kind, id) if it is still expired at now, and the index
// entry that named it either way; a record rewritten with a later expiry
// in the meantime stays (its own index entry is another key).
func (s *Store) purgeOne(kind, id string, indexKey []byte, now time.Time) (bool, error) {
	kl := s.keyLock("\x00records\x00"+kind, id)
	kl.Lock()
	defer kl.Unlock()
	old, err := storedRecord(s.db, kind, id)
	if err != nil {
		return false, err
	}
	batch := s.db.NewBatch()
	defer batch.Close()
	if err := batch.Delete(indexKey, nil); err != nil {
		return false, err
	}
	removed := old != nil && !live(old, now)
	if removed {
		if err := batch.Delete(recordKey(kind, id), nil); err != nil {
			return false, err
		}
	}
	return removed, batch.Commit(pebble.Sync)
}

var _ meta.Exporter = (*Store)(nil)

// RecordKinds implements meta.Exporter: one seek per kind.
func (s *Store) RecordKinds(ctx context.Context) (kinds []string, err error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("listing record kinds: %w", err)
	}
	defer s.leave()
	lower := []byte{nsRecord}
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixSuccessor(lower)})
	if err != nil {
		return nil, fmt.Errorf("listing record kinds: %w", err)
	}
	defer func() { err = errors.Join(err, it.Error(), it.Close()) }()
	for ok := it.First(); ok; ok = it.SeekGE(prefixSuccessor(recordPrefix(kinds[len(kinds)-1]))) {
		kind, _, ok := cutLP(it.Key()[1:])
		if !ok {
			return nil, fmt.Errorf("record key %q: %w", it.Key(), errCorrupt)
		}
		kinds = append(kinds, kind)
	}
	// Kinds are length-prefixed in keys, so the scan orders them by length
	// first.
	slices.Sort(kinds)
	return kinds, nil
}

// BucketConfigNames implements meta.Exporter.
func (s *Store) BucketConfigNames(ctx context.Context, bucket string) (names []string, err error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("listing bucket configs: %w", err)
	}
	defer s.leave()
	if err := s.requireBucket(bucket); err != nil {
		return nil, fmt.Errorf("listing configs of %q: %w", bucket, err)
	}
	err = forEach(s.db, configPrefix(bucket), func(k, _ []byte) error {
		names = append(names, string(k[len(configPrefix(bucket)):]))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing configs of %q: %w", bucket, err)
	}
	return names, nil
}
