package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cofferstore/coffer/internal/meta"
)

// Usage counters (meta.UsageCounter) live in bucket_usage
// (migrations/0002_usage.sql): a bucket's totals are the sum of its rows,
// one per shard. A write adds its delta with an upsert in its last batch,
// the one that commits, so the counters change atomically with what they
// count and the row lock is held only for the commit.
//
// Why shards chosen by connection: an upsert locks its row until commit,
// so two transactions on one row commit one after the other and cannot
// share a WAL flush. A transaction runs on one connection, and the backend
// PIDs of a pool are mostly consecutive, so PID mod usageShards puts
// concurrent writers on different rows, where a hash of the key would make
// some of them collide; whichever shard a write lands on, the sum is the
// same.

// usageShards is how many rows a bucket's counters spread over.
const usageShards = 16

// usageShard is the shard of the transaction on t's connection.
func usageShard(t *tx) int16 {
	return int16(t.conn.Conn().PgConn().PID() % usageShards)
}

// sqlAddUsage adds a delta to one shard of a bucket's counters.
const sqlAddUsage = `INSERT INTO bucket_usage AS u
	(bucket_id, shard, objects, bytes, versions, version_bytes, uploads)
	VALUES ($1, $2, $3, $4, $5, $6, $7)
	ON CONFLICT (bucket_id, shard) DO UPDATE SET
	objects = u.objects + excluded.objects, bytes = u.bytes + excluded.bytes,
	versions = u.versions + excluded.versions, version_bytes = u.version_bytes + excluded.version_bytes,
	uploads = u.uploads + excluded.uploads`

// usageSet is the part of sqlAddUsage that follows VALUES, for statements
// that compute the delta in SQL.
const usageSet = `ON CONFLICT (bucket_id, shard) DO UPDATE SET
	objects = u.objects + excluded.objects, bytes = u.bytes + excluded.bytes,
	versions = u.versions + excluded.versions, version_bytes = u.version_bytes + excluded.version_bytes,
	uploads = u.uploads + excluded.uploads`

// queueUsage queues the upsert of d, unless it changes nothing.
func queueUsage(b *pgx.Batch, t *tx, bucketID int64, d meta.Usage) {
	if d == (meta.Usage{}) {
		return
	}
	b.Queue(sqlAddUsage, bucketID, usageShard(t), d.Objects, d.Bytes, d.Versions, d.VersionBytes, d.Uploads)
}

// sizeOf is what a version adds to the byte counts (a marker's size is 0).
func sizeOf(v *version) int64 {
	if v.obj.DeleteMarker {
		return 0
	}
	return v.obj.Size
}

// isCurrent reports whether v, as read, is its key's current version.
func isCurrent(v *version) bool { return v.obj.IsLatest && !v.obj.DeleteMarker }

// counted records in st's delta that v is stored (sign 1) or leaves (-1),
// and whether as the current version.
func (st *keyState) counted(size int64, current bool, sign int64) {
	st.usage.Versions += sign
	st.usage.VersionBytes += sign * size
	if current {
		st.usage.Objects += sign
		st.usage.Bytes += sign * size
	}
}

// sqlNewLatestUsage marks the newest remaining version latest, after a
// removal of the latest one, and adds to the counters the delta known
// beforehand ($4-$7) plus the new latest version when it is an object: only
// the database knows whether the version it promotes is a delete marker.
const sqlNewLatestUsage = `WITH nl AS (UPDATE versions SET is_latest = true
		WHERE bucket_id = $1 AND key = $2
		AND ord = (SELECT max(ord) FROM versions WHERE bucket_id = $1 AND key = $2)
		RETURNING delete_marker, size)
	INSERT INTO bucket_usage AS u (bucket_id, shard, objects, bytes, versions, version_bytes, uploads)
	SELECT $1, $3::smallint,
		$4::bigint + count(*) FILTER (WHERE NOT delete_marker),
		$5::bigint + coalesce(sum(size) FILTER (WHERE NOT delete_marker), 0)::bigint,
		$6::bigint, $7::bigint, 0
	FROM nl ` + usageSet

// queueNewLatest queues sqlNewLatestUsage with st's delta, which it
// consumes.
func queueNewLatest(b *pgx.Batch, t *tx, st *keyState) {
	d := st.usage
	st.usage = meta.Usage{}
	b.Queue(sqlNewLatestUsage, st.bucketID, []byte(st.key), usageShard(t), d.Objects, d.Bytes, d.Versions, d.VersionBytes)
}

var _ meta.UsageCounter = (*Store)(nil)

// BucketUsage implements meta.UsageCounter: one statement, so the shards
// are summed from one snapshot.
func (s *Store) BucketUsage(ctx context.Context, bucket string) (meta.Usage, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Usage{}, fmt.Errorf("reading usage: %w", err)
	}
	defer s.leave()
	if checkBucketName(bucket) != nil {
		return meta.Usage{}, fmt.Errorf("reading usage of %q: %w", bucket, meta.ErrBucketNotFound)
	}
	var u meta.Usage
	err := s.pool.QueryRow(ctx, `SELECT
		coalesce(sum(u.objects), 0)::bigint, coalesce(sum(u.bytes), 0)::bigint,
		coalesce(sum(u.versions), 0)::bigint, coalesce(sum(u.version_bytes), 0)::bigint,
		coalesce(sum(u.uploads), 0)::bigint
		FROM buckets b LEFT JOIN bucket_usage u ON u.bucket_id = b.id
		WHERE b.name = $1 GROUP BY b.id`, bucket).
		Scan(&u.Objects, &u.Bytes, &u.Versions, &u.VersionBytes, &u.Uploads)
	if errors.Is(err, pgx.ErrNoRows) {
		return meta.Usage{}, fmt.Errorf("reading usage of %q: %w", bucket, meta.ErrBucketNotFound)
	}
	if err != nil {
		return meta.Usage{}, fmt.Errorf("reading usage of %q: %w", bucket, s.dbErr(ctx, err))
	}
	return u, nil
}

// TotalUsage implements meta.UsageCounter: one statement over
// bucket_usage, whose rows follow the number of buckets.
func (s *Store) TotalUsage(ctx context.Context) (meta.Usage, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Usage{}, fmt.Errorf("reading total usage: %w", err)
	}
	defer s.leave()
	var u meta.Usage
	err := s.pool.QueryRow(ctx, `SELECT
		coalesce(sum(objects), 0)::bigint, coalesce(sum(bytes), 0)::bigint,
		coalesce(sum(versions), 0)::bigint, coalesce(sum(version_bytes), 0)::bigint,
		coalesce(sum(uploads), 0)::bigint
		FROM bucket_usage`).
		Scan(&u.Objects, &u.Bytes, &u.Versions, &u.VersionBytes, &u.Uploads)
	if err != nil {
		return meta.Usage{}, fmt.Errorf("reading total usage: %w", s.dbErr(ctx, err))
	}
	return u, nil
}
