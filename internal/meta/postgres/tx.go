package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Transactions. A write is a READ COMMITTED transaction made of batches
// sent on one connection, each one round trip: BEGIN rides with the first
// batch and COMMIT with the last, so a write that reads (under its locks)
// and then writes costs two round trips rather than four. A statement of a
// batch starts after the previous one has finished, lock waits included,
// and takes its own snapshot, so reads queued after a lock see the
// previous holder's commit.

// tx is a transaction in progress.
type tx struct {
	conn  *pgxpool.Conn
	begun bool
}

const sqlBegin = `BEGIN ISOLATION LEVEL READ COMMITTED`

// send sends b, preceded by BEGIN when it is the transaction's first
// batch, and reads every result, running the batch's callbacks; it
// returns the first error.
func (t *tx) send(ctx context.Context, b *pgx.Batch) error {
	if !t.begun {
		first := &pgx.Batch{}
		first.Queue(sqlBegin)
		first.QueuedQueries = append(first.QueuedQueries, b.QueuedQueries...)
		b, t.begun = first, true
	}
	return t.conn.SendBatch(ctx, b).Close()
}

// abort ends whatever the connection has begun. A connection whose
// rollback fails is closed, which ends the transaction on the server; the
// pool never hands out a closed connection, nor one left in a transaction.
func (t *tx) abort(ctx context.Context) {
	pc := t.conn.Conn().PgConn()
	if pc.IsClosed() || pc.TxStatus() == 'I' {
		return
	}
	if _, err := t.conn.Exec(ctx, `ROLLBACK`); err != nil {
		_ = t.conn.Conn().Close(context.WithoutCancel(ctx))
	}
}

// txFunc runs a transaction's first batches through t and returns its
// last batch, which is sent with COMMIT (nil for COMMIT alone). An error
// rolls the transaction back.
type txFunc func(t *tx) (*pgx.Batch, error)

// txAttempts bounds how many times inTx runs a transaction that failed
// before its last batch because its connection broke.
const txAttempts = 3

// inTx runs fn in a transaction and commits it; errors come back through
// dbErr.
//
// A transaction that fails before its last batch is sent, because the
// connection broke (a pooled connection the server closed when it
// restarted, say) or on a deadlock, wrote nothing, so it is run again on
// another connection, up to txAttempts times: fn must therefore set
// everything it reports on each run. The last batch, which holds COMMIT, is
// never retried, since it may have committed; a lost connection then
// fails the call with meta.ErrUnavailable.
func (s *Store) inTx(ctx context.Context, fn txFunc) error {
	return s.runTx(ctx, txAttempts, fn)
}

// inTxOnce is inTx without the retry, for transactions that call a
// caller's function, which the contract calls once.
func (s *Store) inTxOnce(ctx context.Context, fn txFunc) error {
	return s.runTx(ctx, 1, fn)
}

func (s *Store) runTx(ctx context.Context, attempts int, fn txFunc) error {
	for attempt := 1; ; attempt++ {
		committing, err := s.tryTx(ctx, fn)
		if err == nil || committing || attempt >= attempts || ctx.Err() != nil || !unavailable(err) {
			return s.dbErr(ctx, err)
		}
		s.log.Debug("retrying a metadata transaction", "attempt", attempt, "err", err)
	}
}

// tryTx runs fn in one transaction; committing reports that the error
// came from the last batch, whose outcome may be unknown.
func (s *Store) tryTx(ctx context.Context, fn txFunc) (committing bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	t := &tx{conn: conn}
	last, err := fn(t)
	if err != nil {
		t.abort(ctx)
		return false, err
	}
	if last == nil {
		last = &pgx.Batch{}
	}
	last.Queue(`COMMIT`)
	if err := t.send(ctx, last); err != nil {
		t.abort(ctx)
		return true, err
	}
	return true, nil
}
