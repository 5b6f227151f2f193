package embedded

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferstore/coffer/internal/meta"
)

// Bucket configs live under nsConfig, keyed by bucket and name, so that
// DeleteBucket finds a bucket's configs with one prefix scan and removes them
// in its own batch. Config writes hold the bucket's read lock, as PutObject
// does, so none commits into a bucket being deleted: a config never outlives
// its bucket, and a re-created bucket starts with none.

var _ meta.BucketConfigs = (*Store)(nil)

// PutBucketConfig implements meta.BucketConfigs.
func (s *Store) PutBucketConfig(ctx context.Context, bucket, name string, data []byte) error {
	return s.writeConfig(ctx, "putting", bucket, name, func(b *pebble.Batch, k []byte) error {
		return b.Set(k, data, nil)
	})
}

// DeleteBucketConfig implements meta.BucketConfigs. Deleting an unset config
// writes a tombstone anyway: checking first would cost a read on every call
// to save a write that is rare.
func (s *Store) DeleteBucketConfig(ctx context.Context, bucket, name string) error {
	return s.writeConfig(ctx, "deleting", bucket, name, func(b *pebble.Batch, k []byte) error {
		return b.Delete(k, nil)
	})
}

// writeConfig commits, under the bucket's read lock and after checking that
// the bucket exists, the one-key change op makes.
func (s *Store) writeConfig(ctx context.Context, doing, bucket, name string, op func(*pebble.Batch, []byte) error) error {
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("%s bucket config: %w", doing, err)
	}
	defer s.leave()
	if checkBucketName(bucket) != nil {
		return fmt.Errorf("%s bucket config %q of %q: %w", doing, name, bucket, meta.ErrBucketNotFound)
	}
	bl := s.bucketLock(bucket)
	bl.RLock()
	defer bl.RUnlock()
	if err := s.requireBucket(bucket); err != nil {
		return fmt.Errorf("%s bucket config %q of %q: %w", doing, name, bucket, err)
	}
	batch := s.db.NewBatch()
	defer batch.Close()
	err := op(batch, configKey(bucket, name))
	if err == nil {
		err = batch.Commit(pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("%s bucket config %q of %q: %w", doing, name, bucket, err)
	}
	return nil
}

// GetBucketConfig implements meta.BucketConfigs. Config and bucket are read
// from one snapshot, so a missing config is reported against the bucket as
// it was when the config was looked for.
func (s *Store) GetBucketConfig(ctx context.Context, bucket, name string) ([]byte, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("getting bucket config: %w", err)
	}
	defer s.leave()
	if checkBucketName(bucket) != nil {
		return nil, fmt.Errorf("getting bucket config %q of %q: %w", name, bucket, meta.ErrBucketNotFound)
	}
	snap := s.db.NewSnapshot()
	defer snap.Close()
	v, ok, err := get(snap, configKey(bucket, name))
	if err != nil {
		return nil, fmt.Errorf("getting bucket config %q of %q: %w", name, bucket, err)
	}
	if ok {
		return v, nil
	}
	exists, err := has(snap, bucketKey(bucket))
	switch {
	case err != nil:
		return nil, fmt.Errorf("getting bucket config %q of %q: %w", name, bucket, err)
	case !exists:
		return nil, fmt.Errorf("getting bucket config %q of %q: %w", name, bucket, meta.ErrBucketNotFound)
	default:
		return nil, fmt.Errorf("getting bucket config %q of %q: %w", name, bucket, meta.ErrConfigNotFound)
	}
}

// dropConfigs adds to batch the removal of every config of bucket. The
// caller holds the bucket's write lock, so no config write runs concurrently.
func (s *Store) dropConfigs(batch *pebble.Batch, bucket string) error {
	err := forEach(s.db, configPrefix(bucket), func(k, _ []byte) error {
		return batch.Delete(k, nil)
	})
	if err != nil {
		return fmt.Errorf("removing configs: %w", err)
	}
	return nil
}
