package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferstore/coffer/internal/meta"
)

// Records are rows of the records table, keyed by kind (text) and id
// (bytea, so any id works). Writes take the (kind, id) advisory lock, read
// the record, check the revision precondition and write, in one
// transaction; the lock makes the check and the write one step across
// instances, so a one-time record deleted by revision is consumed once.
// Liveness is judged by the caller's clock, as expiry times are set by it.

var _ meta.Records = (*Store)(nil)

// liveSQL is the condition that a record is live at $now (nanoseconds).
func liveSQL(now string) string {
	return `(expires_ns IS NULL OR expires_ns > ` + now + `)`
}

func (s *Store) recordLock(kind, id string) int64 { return s.lockKey("record", kind, id) }

// expiresNanos returns the expires_ns column of r: NULL when it never
// expires.
func expiresNanos(r *meta.Record) *int64 {
	if r.Expires.IsZero() {
		return nil
	}
	ns := saturatedNanos(r.Expires)
	return &ns
}

// lockedRecord takes the record's lock and reads its live revision, 0
// when there is no live record.
func (s *Store) lockedRecord(ctx context.Context, t *tx, kind, id string, now time.Time) (int64, error) {
	var rev int64
	b := &pgx.Batch{}
	b.Queue(sqlLock, s.recordLock(kind, id))
	b.Queue(`SELECT coalesce((SELECT rev FROM records WHERE kind = $1 AND id = $2 AND `+liveSQL("$3")+`), 0)`,
		kind, []byte(id), saturatedNanos(now)).QueryRow(func(row pgx.Row) error { return row.Scan(&rev) })
	return rev, t.send(ctx, b)
}

// PutRecord implements meta.Records.
func (s *Store) PutRecord(ctx context.Context, r meta.Record) (int64, error) {
	fail := func(err error) (int64, error) {
		return 0, fmt.Errorf("putting record %s/%q: %w", r.Kind, r.ID, err)
	}
	if r.Kind == "" || !textOK(r.Kind) || r.Rev < meta.RevAny {
		return fail(ErrInvalid)
	}
	if err := s.enter(ctx); err != nil {
		return 0, fmt.Errorf("putting record: %w", err)
	}
	defer s.leave()
	data := r.Data
	if data == nil {
		data = []byte{}
	}
	var rev int64
	err := s.inTx(ctx, func(t *tx) (*pgx.Batch, error) {
		cur, err := s.lockedRecord(ctx, t, r.Kind, r.ID, time.Now())
		if err != nil {
			return nil, err
		}
		switch {
		case r.Rev == meta.RevNew && cur != 0:
			return nil, meta.ErrConflict
		case r.Rev > 0 && cur == 0:
			return nil, meta.ErrRecordNotFound
		case r.Rev > 0 && cur != r.Rev:
			return nil, meta.ErrConflict
		}
		// An expired record still in the table is replaced like an absent one.
		last := &pgx.Batch{}
		last.Queue(`INSERT INTO records (kind, id, rev, expires_ns, data, record)
			VALUES ($1, $2, nextval('records_rev'), $3, $4, $5)
			ON CONFLICT (kind, id) DO UPDATE SET rev = excluded.rev, expires_ns = excluded.expires_ns,
				data = excluded.data, record = excluded.record
			RETURNING rev`, r.Kind, []byte(r.ID), expiresNanos(&r), data, encodeRecordMeta(&r)).QueryRow(func(row pgx.Row) error {
			return row.Scan(&rev)
		})
		return last, nil
	})
	if err != nil {
		return fail(err)
	}
	return rev, nil
}

const recordColumns = `id, rev, data, record`

func scanRecord(row pgx.Row, kind string) (meta.Record, error) {
	r := meta.Record{Kind: kind}
	var id, rec []byte
	if err := row.Scan(&id, &r.Rev, &r.Data, &rec); err != nil {
		return r, err
	}
	r.ID = string(id)
	if err := decodeRecordMeta(rec, &r); err != nil {
		return r, fmt.Errorf("record %s/%q: %w", kind, r.ID, err)
	}
	return r, nil
}

// GetRecord implements meta.Records.
func (s *Store) GetRecord(ctx context.Context, kind, id string) (meta.Record, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Record{}, fmt.Errorf("getting record: %w", err)
	}
	defer s.leave()
	fail := func(err error) (meta.Record, error) {
		return meta.Record{}, fmt.Errorf("getting record %s/%q: %w", kind, id, err)
	}
	if !textOK(kind) {
		return fail(meta.ErrRecordNotFound)
	}
	r, err := scanRecord(s.pool.QueryRow(ctx, `SELECT `+recordColumns+` FROM records
		WHERE kind = $1 AND id = $2 AND `+liveSQL("$3"), kind, []byte(id), saturatedNanos(time.Now())), kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return fail(meta.ErrRecordNotFound)
	}
	if err != nil {
		return fail(s.dbErr(ctx, err))
	}
	return r, nil
}

// DeleteRecord implements meta.Records.
func (s *Store) DeleteRecord(ctx context.Context, kind, id string, rev int64) error {
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("deleting record: %w", err)
	}
	defer s.leave()
	if !textOK(kind) {
		return fmt.Errorf("deleting record %s/%q: %w", kind, id, meta.ErrRecordNotFound)
	}
	err := s.inTx(ctx, func(t *tx) (*pgx.Batch, error) {
		cur, err := s.lockedRecord(ctx, t, kind, id, time.Now())
		switch {
		case err != nil:
			return nil, err
		case cur == 0:
			return nil, meta.ErrRecordNotFound
		case rev != meta.RevAny && rev != cur:
			return nil, meta.ErrConflict
		}
		last := &pgx.Batch{}
		last.Queue(`DELETE FROM records WHERE kind = $1 AND id = $2`, kind, []byte(id))
		return last, nil
	})
	if err != nil {
		return fmt.Errorf("deleting record %s/%q: %w", kind, id, err)
	}
	return nil
}

// ListRecords implements meta.Records: a range scan of the primary key.
func (s *Store) ListRecords(ctx context.Context, kind, after string, limit int) ([]meta.Record, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("listing records: %w", err)
	}
	defer s.leave()
	if limit < 1 {
		limit = defaultPage
	}
	if !textOK(kind) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+` FROM records
		WHERE kind = $1 AND id > $2 AND `+liveSQL("$3")+` ORDER BY id LIMIT $4`,
		kind, []byte(after), saturatedNanos(time.Now()), limit)
	if err != nil {
		return nil, fmt.Errorf("listing records %s: %w", kind, s.dbErr(ctx, err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (meta.Record, error) { return scanRecord(row, kind) })
	if err != nil {
		return nil, fmt.Errorf("listing records %s: %w", kind, s.dbErr(ctx, err))
	}
	return out, nil
}

// PurgeExpiredRecords implements meta.Records with one statement over the
// records_expiry index: its cost follows what it removes. The outer
// condition is checked again on rows a concurrent PutRecord rewrote, so a
// record extended meanwhile stays.
func (s *Store) PurgeExpiredRecords(ctx context.Context, now time.Time, limit int) (int, error) {
	if err := s.enter(ctx); err != nil {
		return 0, fmt.Errorf("purging records: %w", err)
	}
	defer s.leave()
	if limit < 1 {
		limit = defaultPage
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM records WHERE (kind, id) IN (
			SELECT kind, id FROM records WHERE expires_ns < $1 ORDER BY expires_ns LIMIT $2)
		AND expires_ns < $1`, saturatedNanos(now), limit)
	if err != nil {
		return 0, fmt.Errorf("purging records: %w", s.dbErr(ctx, err))
	}
	return int(tag.RowsAffected()), nil
}
