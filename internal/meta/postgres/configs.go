package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cofferstore/coffer/internal/meta"
)

// Bucket configs are rows of bucket_configs keyed by bucket id and name.
// Writes hold the bucket's lock shared, as PutObject does, so none commits
// into a bucket being deleted: DeleteBucket removes a bucket's configs in
// its own transaction, and a re-created bucket (a new id) starts with none.

var _ meta.BucketConfigs = (*Store)(nil)

// PutBucketConfig implements meta.BucketConfigs.
func (s *Store) PutBucketConfig(ctx context.Context, bucket, name string, data []byte) error {
	if !textOK(name) {
		return fmt.Errorf("putting bucket config %q of %q: %w", name, bucket, ErrInvalid)
	}
	if data == nil {
		data = []byte{} // an empty document is a config, not NULL
	}
	return s.writeConfig(ctx, "putting", bucket, name,
		`INSERT INTO bucket_configs (bucket_id, name, data) SELECT id, $2, $3 FROM buckets WHERE name = $1
		ON CONFLICT (bucket_id, name) DO UPDATE SET data = excluded.data`, data)
}

// DeleteBucketConfig implements meta.BucketConfigs.
func (s *Store) DeleteBucketConfig(ctx context.Context, bucket, name string) error {
	return s.writeConfig(ctx, "deleting", bucket, name,
		`DELETE FROM bucket_configs WHERE bucket_id = (SELECT id FROM buckets WHERE name = $1) AND name = $2`)
}

// writeConfig runs stmt ($1 the bucket name, $2 the config name, then
// args) under the bucket's shared lock, after checking that the bucket
// exists, in one round trip.
func (s *Store) writeConfig(ctx context.Context, doing, bucket, name, stmt string, args ...any) error {
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("%s bucket config: %w", doing, err)
	}
	defer s.leave()
	if checkBucketName(bucket) != nil {
		return fmt.Errorf("%s bucket config %q of %q: %w", doing, name, bucket, meta.ErrBucketNotFound)
	}
	err := s.inTx(ctx, func(t *tx) (*pgx.Batch, error) {
		var id int64
		b := &pgx.Batch{}
		b.Queue(sqlLockShared, s.bucketLock(bucket))
		queueBucketID(b, bucket, &id)
		if textOK(name) { // else there is nothing to delete
			b.Queue(stmt, append([]any{bucket, name}, args...)...)
		}
		return b, nil
	})
	if err != nil {
		return fmt.Errorf("%s bucket config %q of %q: %w", doing, name, bucket, err)
	}
	return nil
}

// queueBucketID queues the read of a bucket's id into id, failing the
// batch with meta.ErrBucketNotFound when the bucket does not exist.
func queueBucketID(b *pgx.Batch, bucket string, id *int64) {
	b.Queue(`SELECT id FROM buckets WHERE name = $1`, bucket).QueryRow(func(row pgx.Row) error {
		err := row.Scan(id)
		if errors.Is(err, pgx.ErrNoRows) {
			return meta.ErrBucketNotFound
		}
		return err
	})
}

// GetBucketConfig implements meta.BucketConfigs with one statement, so a
// missing config is reported against the bucket as it was when the config
// was looked for.
func (s *Store) GetBucketConfig(ctx context.Context, bucket, name string) ([]byte, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("getting bucket config: %w", err)
	}
	defer s.leave()
	fail := func(err error) ([]byte, error) {
		return nil, fmt.Errorf("getting bucket config %q of %q: %w", name, bucket, err)
	}
	if checkBucketName(bucket) != nil {
		return fail(meta.ErrBucketNotFound)
	}
	var found bool
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT c.name IS NOT NULL, c.data FROM buckets b
		LEFT JOIN bucket_configs c ON c.bucket_id = b.id AND c.name = $2 AND $3
		WHERE b.name = $1`, bucket, textName(name), textOK(name)).Scan(&found, &data)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fail(meta.ErrBucketNotFound)
	case err != nil:
		return fail(s.dbErr(ctx, err))
	case !found:
		return fail(meta.ErrConfigNotFound)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// textName returns name when text can hold it, "" otherwise (for a query
// whose other condition then excludes every row).
func textName(name string) string {
	if textOK(name) {
		return name
	}
	return ""
}
