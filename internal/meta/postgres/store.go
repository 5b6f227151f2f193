// Package postgres is a meta.Store on PostgreSQL, for running several
// stateless Coffer instances over one database.
//
// Schema. See migrations/0001_initial.sql: buckets, versions (every version
// of every object, one row each, with is_latest on the newest), uploads and
// parts, bucket_configs and the events outbox. Object keys, upload ids and
// blob ids are bytea, so any key S3 allows (NUL included) is stored and
// sorts by its bytes; the other names are text COLLATE "C". Bucket names,
// event targets, config names and record kinds cannot hold NUL or invalid
// UTF-8: writes refuse them with ErrInvalid and lookups find nothing.
//
// Consistency. Every method is one statement or one transaction at READ
// COMMITTED (tx.go: a write costs two round trips). Writers that read
// before they write (conditions, the version they replace) serialize on
// transaction-scoped advisory locks (pg_advisory_xact_lock), taken in a
// fixed order: the bucket's lock (shared by object, upload and config
// writes, exclusive for UpdateBucket and DeleteBucket), then the (bucket,
// key) lock, then row locks on the upload and its parts (uploads.go).
// Why advisory locks rather than SELECT ... FOR UPDATE on a row: the row of
// a key does not exist before its first write, and If-None-Match must be
// won by exactly one creator, so there is nothing to lock; materializing a
// lock row per key would cost a heap write and WAL for every PUT, and a
// FOR SHARE on the bucket row by every PUT would dirty that one hot row.
// Advisory locks cost neither, exist for absent keys, are released by
// PostgreSQL at commit, rollback or disconnect, and hold across every
// instance on the database. SERIALIZABLE would also be correct, but its
// retries under contention (hot keys, If-Match counters) cost more than
// queueing on a lock, and it would need a retry loop around every write.
// At READ COMMITTED each statement takes a fresh snapshot, so a statement
// that follows the lock's acquisition sees every commit of the previous
// holder (PostgreSQL makes a commit visible before it releases its locks).
// Lock keys are 64-bit FNV-1a hashes of the schema and the names: a
// collision only makes two unrelated keys queue on each other.
//
// Connections. Open sets on every connection search_path (the schema),
// enable_sort = off and jit = off (see Open), and application_name =
// coffer unless the DSN names one, so that pg_stat_activity shows them.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cofferstore/coffer/internal/meta"
)

var (
	// ErrInvalid reports an argument the store cannot represent: a bucket
	// name, event target, config name or record kind holding NUL or
	// invalid UTF-8 (PostgreSQL text cannot), an empty bucket name, upload
	// id or record kind, a record revision below RevAny, an
	// object with both inline bytes and segments, an upload id already in
	// use for the key, or a part number outside 1..10000.
	ErrInvalid = errors.New("invalid argument")
	// ErrSchemaTooNew refuses a database whose schema was migrated by a
	// newer release than this binary.
	ErrSchemaTooNew = errors.New("metadata schema is newer than this binary")
)

// DefaultSchema is the schema used when Options.Schema is empty.
const DefaultSchema = "coffer"

// defaultMaxConns is the pool size when neither Options.MaxConns nor the
// DSN's pool_max_conns sets one. Commits wait on the WAL flush, which
// PostgreSQL shares among the transactions committing together, so a
// write-heavy server wants more connections than it has cores.
const defaultMaxConns = 16

// Options configures Open. The zero value is usable.
type Options struct {
	// Logger receives the store's own messages. Nil means slog.Default().
	Logger *slog.Logger
	// Schema is the PostgreSQL schema holding the tables; Open creates it
	// if needed. Empty means DefaultSchema.
	Schema string
	// MaxConns caps the connection pool; 0 means the DSN's pool_max_conns,
	// or 16 when the DSN does not set it.
	MaxConns int32
}

// Store is a meta.Store on PostgreSQL. It is safe for concurrent use, and
// several Stores (in one process or many) may share a database and schema.
// After Close every method returns meta.ErrUnavailable.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	log    *slog.Logger

	// closeMu's read side is held by every operation so that Close waits for
	// them and later calls see closed instead of a closed pool.
	closeMu sync.RWMutex
	closed  bool
}

var _ meta.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string, with pgxpool's pool_* settings allowed), creates the schema if
// needed and applies the migrations this binary knows, under an advisory
// lock so that instances starting together apply each once. It fails with
// ErrSchemaTooNew when the schema was migrated further by a newer release,
// and with an error matching meta.ErrUnavailable when the database cannot
// be reached.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	schema := opts.Schema
	if schema == "" {
		schema = DefaultSchema
	}
	if !textOK(schema) || len(schema) > 63 {
		return nil, fmt.Errorf("opening metadata store: schema name %q: %w", schema, ErrInvalid)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("opening metadata store: %w", err)
	}
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = opts.MaxConns
	case !strings.Contains(dsn, "pool_max_conns"):
		cfg.MaxConns = defaultMaxConns
	}
	// Every statement names tables unqualified; the schema is the
	// connection's search_path, so the SQL is the same for every schema.
	cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	// Every ordered statement of the store reads in the order of an index,
	// and a page must cost what it returns. When the planner underestimates
	// a key range it prefers reading the whole range and sorting it, which
	// for a prefix of a million keys reads a million rows for a page of a
	// thousand; with sorting disabled the ordered index scan always wins.
	// (Bitmap scans stay enabled: the blob index is GIN, scanned no other
	// way.)
	cfg.ConnConfig.RuntimeParams["enable_sort"] = "off"
	// Statements here are short and many: compiling one with LLVM costs
	// far more than it saves, and disabled paths (the sort above) inflate
	// plan costs past the JIT thresholds.
	cfg.ConnConfig.RuntimeParams["jit"] = "off"
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "coffer"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening metadata store: %w", err)
	}
	s := &Store{pool: pool, schema: schema, log: logger}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("opening metadata store: %w", s.dbErr(ctx, err))
	}
	return s, nil
}

// Schema returns the PostgreSQL schema the store lives in.
func (s *Store) Schema() string { return s.schema }

// Close waits for operations in progress and closes the connections.
// Closing twice is a no-op.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.pool.Close()
	return nil
}

// enter starts an operation; leave must follow when enter returns nil.
func (s *Store) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return meta.ErrUnavailable
	}
	return nil
}

func (s *Store) leave() { s.closeMu.RUnlock() }

// dbErr maps a database error to the store's errors: the database being
// unreachable, shutting down or out of connections becomes
// meta.ErrUnavailable (so the S3 layer answers 503 and clients retry), text
// PostgreSQL cannot hold becomes ErrInvalid. Other errors, the store's
// sentinels and the caller's own among them, pass unchanged.
func (s *Store) dbErr(ctx context.Context, err error) error {
	switch {
	case err == nil, errors.Is(err, meta.ErrUnavailable),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case unavailable(err) && ctx.Err() != nil:
		// The caller gave up and pgx broke the connection to stop the
		// statement: the caller's error says what happened.
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	case unavailable(err):
		return fmt.Errorf("%w: %w", meta.ErrUnavailable, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "22021" || pe.Code == "22P05") {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}

// unavailable reports whether err means the database cannot serve now,
// whether or not it is a PostgreSQL error: connection refused or lost,
// server shutting down or starting, too many connections, out of
// resources, a standby that refuses writes, or a lock or serialization
// conflict the caller may simply retry.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"), // insufficient resources, too many connections
			pe.Code == "57P01",               // admin shutdown
			pe.Code == "57P02",               // crash shutdown
			pe.Code == "57P03",               // cannot connect now (starting up)
			pe.Code == "57P05",               // idle session timeout
			pe.Code == "25006",               // read-only transaction (a standby)
			pe.Code == "40001",               // serialization failure
			pe.Code == "40P01",               // deadlock detected
			pe.Code == "55P03",               // lock not available (lock_timeout)
			pe.Code == "57014":               // canceled (statement_timeout)
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, net.ErrClosed) ||
		pgconn.Timeout(err)
}

// textOK reports whether s can be stored in a PostgreSQL text column.
func textOK(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// Advisory lock keys. They must never change between releases: instances of
// two releases share the database during a rolling upgrade.
func (s *Store) lockKey(kind string, names ...string) int64 {
	h := fnv.New64a()
	var n [8]byte
	for _, p := range append([]string{"coffer", s.schema, kind}, names...) {
		l := uint64(len(p))
		for i := range n {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return int64(h.Sum64())
}

func (s *Store) bucketLock(bucket string) int64 { return s.lockKey("bucket", bucket) }

func (s *Store) keyLock(bucket, key string) int64 { return s.lockKey("key", bucket, key) }

const (
	sqlLock       = `SELECT pg_advisory_xact_lock($1)`
	sqlLockShared = `SELECT pg_advisory_xact_lock_shared($1)`
)

// Times in columns are Unix nanoseconds. saturatedNanos clamps t to the
// range of bigint, for a column used only for ordering and filtering.
func saturatedNanos(t time.Time) int64 {
	switch {
	case t.Before(minNanosTime):
		return minNanos
	case t.After(maxNanosTime):
		return maxNanos
	}
	return t.UnixNano()
}

const (
	minNanos = -1 << 63
	maxNanos = 1<<63 - 1
)

var (
	minNanosTime = time.Unix(0, minNanos)
	maxNanosTime = time.Unix(0, maxNanos)
)

func checkBucketName(name string) error {
	if name == "" || !textOK(name) {
		return fmt.Errorf("bucket name %q: %w", name, ErrInvalid)
	}
	return nil
}

// CreateBucket implements meta.Buckets. The unique index on the name
// decides between concurrent creators; a DeleteBucket in progress makes
// the insert wait for its outcome.
func (s *Store) CreateBucket(ctx context.Context, b meta.Bucket) error {
	if err := checkBucketName(b.Name); err != nil {
		return fmt.Errorf("creating bucket: %w", err)
	}
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("creating bucket: %w", err)
	}
	defer s.leave()
	tag, err := s.pool.Exec(ctx, `INSERT INTO buckets (name, versioning, object_lock, record)
		VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`,
		b.Name, b.Versioning, b.ObjectLock, encodeBucket(&b))
	if err != nil {
		return fmt.Errorf("creating bucket %q: %w", b.Name, s.dbErr(ctx, err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("creating bucket %q: %w", b.Name, meta.ErrBucketExists)
	}
	return nil
}

const sqlBucketColumns = `name, versioning, object_lock, record`

func scanBucket(row pgx.Row) (meta.Bucket, error) {
	var b meta.Bucket
	var rec []byte
	if err := row.Scan(&b.Name, &b.Versioning, &b.ObjectLock, &rec); err != nil {
		return b, err
	}
	if err := decodeBucket(rec, &b); err != nil {
		return b, fmt.Errorf("bucket %q record: %w", b.Name, err)
	}
	return b, nil
}

// GetBucket implements meta.Buckets.
func (s *Store) GetBucket(ctx context.Context, name string) (meta.Bucket, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Bucket{}, fmt.Errorf("getting bucket: %w", err)
	}
	defer s.leave()
	if checkBucketName(name) != nil {
		return meta.Bucket{}, fmt.Errorf("getting bucket %q: %w", name, meta.ErrBucketNotFound)
	}
	b, err := scanBucket(s.pool.QueryRow(ctx, `SELECT `+sqlBucketColumns+` FROM buckets WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		err = meta.ErrBucketNotFound
	}
	if err != nil {
		return meta.Bucket{}, fmt.Errorf("getting bucket %q: %w", name, s.dbErr(ctx, err))
	}
	return b, nil
}

// ListBuckets implements meta.Buckets.
func (s *Store) ListBuckets(ctx context.Context) ([]meta.Bucket, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("listing buckets: %w", err)
	}
	defer s.leave()
	rows, err := s.pool.Query(ctx, `SELECT `+sqlBucketColumns+` FROM buckets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing buckets: %w", s.dbErr(ctx, err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (meta.Bucket, error) { return scanBucket(r) })
	if err != nil {
		return nil, fmt.Errorf("listing buckets: %w", s.dbErr(ctx, err))
	}
	return out, nil
}

// UpdateBucket implements meta.Buckets. It holds the bucket's lock
// exclusively, so no object write runs under the state it replaces.
func (s *Store) UpdateBucket(ctx context.Context, name string, fn func(*meta.Bucket) error) (meta.Bucket, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Bucket{}, fmt.Errorf("updating bucket: %w", err)
	}
	defer s.leave()
	if checkBucketName(name) != nil {
		return meta.Bucket{}, fmt.Errorf("updating bucket %q: %w", name, meta.ErrBucketNotFound)
	}
	var b meta.Bucket
	var fnErr error
	err := s.inTxOnce(ctx, func(t *tx) (*pgx.Batch, error) {
		batch := &pgx.Batch{}
		batch.Queue(sqlLock, s.bucketLock(name))
		batch.Queue(`SELECT `+sqlBucketColumns+` FROM buckets WHERE name = $1`, name).QueryRow(func(row pgx.Row) error {
			var err error
			b, err = scanBucket(row)
			return err
		})
		if err := t.send(ctx, batch); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return nil, meta.ErrBucketNotFound
			}
			return nil, err
		}
		next := b
		if fnErr = fn(&next); fnErr != nil {
			return nil, fnErr
		}
		b.Versioning, b.ObjectLock = next.Versioning, next.ObjectLock
		last := &pgx.Batch{}
		last.Queue(`UPDATE buckets SET versioning = $2, object_lock = $3 WHERE name = $1`, name, b.Versioning, b.ObjectLock)
		return last, nil
	})
	if fnErr != nil {
		return meta.Bucket{}, fnErr
	}
	if err != nil {
		return meta.Bucket{}, fmt.Errorf("updating bucket %q: %w", name, err)
	}
	return b, nil
}

// DeleteBucket implements meta.Buckets. It holds the bucket's lock
// exclusively, so no object, upload or config write into the bucket is
// between its existence check and its commit. It deletes the bucket's
// uploads first, which waits for the PutParts holding them, and then their
// parts, as of after those commits; the part blobs become orphans.
func (s *Store) DeleteBucket(ctx context.Context, name string) error {
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("deleting bucket: %w", err)
	}
	defer s.leave()
	if checkBucketName(name) != nil {
		return fmt.Errorf("deleting bucket %q: %w", name, meta.ErrBucketNotFound)
	}
	err := s.inTx(ctx, func(t *tx) (*pgx.Batch, error) {
		var id int64
		var nonEmpty bool
		b := &pgx.Batch{}
		b.Queue(sqlLock, s.bucketLock(name))
		b.Queue(`SELECT id, EXISTS (SELECT 1 FROM versions WHERE bucket_id = buckets.id)
			FROM buckets WHERE name = $1`, name).QueryRow(func(row pgx.Row) error {
			return row.Scan(&id, &nonEmpty)
		})
		if err := t.send(ctx, b); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return nil, meta.ErrBucketNotFound
			}
			return nil, err
		}
		if nonEmpty {
			return nil, meta.ErrBucketNotEmpty
		}
		// The parts are deleted by a later statement than their uploads:
		// its snapshot, taken after the upload rows' locks were granted,
		// sees the parts of the PutParts that held them.
		var uploads []int64
		b = &pgx.Batch{}
		b.Queue(`DELETE FROM uploads WHERE bucket_id = $1 RETURNING row_id`, id).Query(func(rows pgx.Rows) error {
			var err error
			uploads, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			return err
		})
		if err := t.send(ctx, b); err != nil {
			return nil, err
		}
		last := &pgx.Batch{}
		last.Queue(`DELETE FROM parts WHERE upload_row = ANY($1)`, uploads)
		last.Queue(`DELETE FROM bucket_configs WHERE bucket_id = $1`, id)
		last.Queue(`DELETE FROM bucket_usage WHERE bucket_id = $1`, id)
		last.Queue(`DELETE FROM buckets WHERE id = $1`, id)
		return last, nil
	})
	if err != nil {
		return fmt.Errorf("deleting bucket %q: %w", name, err)
	}
	return nil
}
