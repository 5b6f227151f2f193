package embedded

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferstore/coffer/internal/meta"
)

func checkObject(o *meta.Object) error {
	if err := checkBucketName(o.Bucket); err != nil {
		return err
	}
	if o.Inline != nil && len(o.Segments) > 0 {
		return fmt.Errorf("object %q has both inline bytes and segments: %w", o.Key, ErrInvalid)
	}
	for _, sg := range o.Segments {
		if sg.Size < 0 {
			return fmt.Errorf("object %q has a segment of negative size: %w", o.Key, ErrInvalid)
		}
	}
	return nil
}

// checkCondition evaluates cond against the current record (cur is nil when
// the key has no current version).
func checkCondition(cond *meta.Condition, cur *meta.Object) error {
	if cond == nil {
		return nil
	}
	if cond.IfNoneMatch && cur != nil {
		return meta.ErrPreconditionFailed
	}
	if cond.IfMatch != "" && (cur == nil || cur.ETag != cond.IfMatch) {
		return meta.ErrPreconditionFailed
	}
	return nil
}

// current reads the record of (bucket, key) without its inline bytes; nil
// when absent. The caller holds the key's stripe lock.
func (s *Store) current(bucket, key string) (*meta.Object, error) {
	v, closer, err := s.db.Get(objectKey(bucket, key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	o := &meta.Object{Bucket: bucket, Key: key}
	_, derr := decodeObject(v, o)
	if err := errors.Join(derr, closer.Close()); err != nil {
		return nil, err
	}
	return o, nil
}

// removeRecord adds to batch the deletion of every key that old wrote.
func removeRecord(batch *pebble.Batch, old *meta.Object) error {
	if err := batch.Delete(objectKey(old.Bucket, old.Key), nil); err != nil {
		return err
	}
	if err := batch.Delete(inlineKey(old.Bucket, old.Key), nil); err != nil {
		return err
	}
	for _, sg := range old.Segments {
		if err := batch.Delete(blobRefKey(sg.BlobID, old.Bucket, old.Key), nil); err != nil {
			return err
		}
	}
	return nil
}

// releasable keeps the segments of a record that left the store whose blobs
// no record references any more, so that the caller never frees a blob still
// in use (by the record that replaced it, or by another key). It runs after
// the commit: a reference dropped concurrently elsewhere may then make two
// callers both free a blob, which is harmless, whereas checking before the
// commit could make both keep it and leak it.
//
// The write is durable by now, so a read error must not fail the call (the
// caller would think the write failed): the segments are then withheld and
// their blobs left to the orphan collector, which asks BlobInUse.
func (s *Store) releasable(old *meta.Object) []meta.Segment {
	out := old.Segments[:0]
	for _, sg := range old.Segments {
		used, err := anyWithPrefix(s.db, blobRefPrefix(sg.BlobID))
		if err != nil {
			s.log.Error("checking blob references after a commit; leaving blobs to the orphan collector",
				"bucket", old.Bucket, "key", old.Key, "err", err)
			return nil
		}
		if !used {
			out = append(out, sg)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// PutObject implements meta.Objects. The returned record has no Inline bytes
// (the caller needs it to release blobs, not to read data), and its Segments
// are only those whose blobs no record references any more.
func (s *Store) PutObject(ctx context.Context, obj meta.Object, cond *meta.Condition) (*meta.Object, error) {
	if err := checkObject(&obj); err != nil {
		return nil, fmt.Errorf("putting object: %w", err)
	}
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("putting object: %w", err)
	}
	defer s.leave()
	// The read side keeps DeleteBucket out until the record is committed.
	bl := s.bucketLock(obj.Bucket)
	bl.RLock()
	defer bl.RUnlock()
	exists, err := has(s.db, bucketKey(obj.Bucket))
	if err != nil {
		return nil, fmt.Errorf("putting object %q/%q: %w", obj.Bucket, obj.Key, err)
	}
	if !exists {
		return nil, fmt.Errorf("putting object %q/%q: %w", obj.Bucket, obj.Key, meta.ErrBucketNotFound)
	}

	kl := s.keyLock(obj.Bucket, obj.Key)
	kl.Lock()
	defer kl.Unlock()
	old, err := s.current(obj.Bucket, obj.Key)
	if err != nil {
		return nil, fmt.Errorf("putting object %q/%q: %w", obj.Bucket, obj.Key, err)
	}
	if err := checkCondition(cond, old); err != nil {
		return nil, fmt.Errorf("putting object %q/%q: %w", obj.Bucket, obj.Key, err)
	}

	batch := s.db.NewBatch()
	defer batch.Close()
	if old != nil {
		// Deletions first: a Set of the same key later in the batch wins,
		// which keeps references to blobs that old and obj share.
		if err := removeRecord(batch, old); err != nil {
			return nil, fmt.Errorf("putting object %q/%q: %w", obj.Bucket, obj.Key, err)
		}
	}
	if err := batch.Set(objectKey(obj.Bucket, obj.Key), encodeObject(&obj), nil); err != nil {
		return nil, fmt.Errorf("putting object %q/%q: %w", obj.Bucket, obj.Key, err)
	}
	if obj.Inline != nil {
		if err := batch.Set(inlineKey(obj.Bucket, obj.Key), obj.Inline, nil); err != nil {
			return nil, fmt.Errorf("putting object %q/%q: %w", obj.Bucket, obj.Key, err)
		}
	}
	for _, sg := range obj.Segments {
		if err := batch.Set(blobRefKey(sg.BlobID, obj.Bucket, obj.Key), nil, nil); err != nil {
			return nil, fmt.Errorf("putting object %q/%q: %w", obj.Bucket, obj.Key, err)
		}
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return nil, fmt.Errorf("putting object %q/%q: %w", obj.Bucket, obj.Key, err)
	}
	if old == nil {
		return nil, nil
	}
	old.Segments = s.releasable(old)
	return old, nil
}

// GetObject implements meta.Objects. Record and inline bytes are read from
// one snapshot so that a concurrent overwrite cannot pair one version's
// record with another's bytes.
func (s *Store) GetObject(ctx context.Context, bucket, key string) (meta.Object, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Object{}, fmt.Errorf("getting object: %w", err)
	}
	defer s.leave()
	snap := s.db.NewSnapshot()
	defer snap.Close()
	v, ok, err := get(snap, objectKey(bucket, key))
	if err != nil {
		return meta.Object{}, fmt.Errorf("getting object %q/%q: %w", bucket, key, err)
	}
	if !ok {
		return meta.Object{}, s.missing(snap, "getting", bucket, key)
	}
	o := meta.Object{Bucket: bucket, Key: key}
	hasInline, err := decodeObject(v, &o)
	if err != nil {
		return meta.Object{}, fmt.Errorf("getting object %q/%q: %w", bucket, key, err)
	}
	if hasInline {
		data, ok, err := get(snap, inlineKey(bucket, key))
		if err == nil && !ok {
			err = fmt.Errorf("inline bytes missing: %w", errCorrupt)
		}
		if err != nil {
			return meta.Object{}, fmt.Errorf("getting object %q/%q: %w", bucket, key, err)
		}
		o.Inline = data
	}
	return o, nil
}

// missing returns the error for an absent object: ErrBucketNotFound when the
// bucket is absent too, else ErrObjectNotFound.
func (s *Store) missing(r pebble.Reader, doing, bucket, key string) error {
	exists, err := has(r, bucketKey(bucket))
	switch {
	case err != nil:
		return fmt.Errorf("%s object %q/%q: %w", doing, bucket, key, err)
	case !exists || checkBucketName(bucket) != nil:
		return fmt.Errorf("%s object %q/%q: %w", doing, bucket, key, meta.ErrBucketNotFound)
	default:
		return fmt.Errorf("%s object %q/%q: %w", doing, bucket, key, meta.ErrObjectNotFound)
	}
}

// DeleteObject implements meta.Objects. A missing key is ErrObjectNotFound
// whatever cond says. The returned record has no Inline bytes, and its
// Segments are only those whose blobs no record references any more.
//
// It takes no bucket lock: a record exists only in an existing bucket, and
// removing one cannot break DeleteBucket's invariant.
func (s *Store) DeleteObject(ctx context.Context, bucket, key string, cond *meta.Condition) (meta.Object, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Object{}, fmt.Errorf("deleting object: %w", err)
	}
	defer s.leave()
	kl := s.keyLock(bucket, key)
	kl.Lock()
	defer kl.Unlock()
	old, err := s.current(bucket, key)
	if err != nil {
		return meta.Object{}, fmt.Errorf("deleting object %q/%q: %w", bucket, key, err)
	}
	if old == nil {
		return meta.Object{}, s.missing(s.db, "deleting", bucket, key)
	}
	if err := checkCondition(cond, old); err != nil {
		return meta.Object{}, fmt.Errorf("deleting object %q/%q: %w", bucket, key, err)
	}
	batch := s.db.NewBatch()
	defer batch.Close()
	if err := removeRecord(batch, old); err != nil {
		return meta.Object{}, fmt.Errorf("deleting object %q/%q: %w", bucket, key, err)
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return meta.Object{}, fmt.Errorf("deleting object %q/%q: %w", bucket, key, err)
	}
	old.Segments = s.releasable(old)
	return *old, nil
}

// BlobInUse implements meta.Objects: one seek into the reference index,
// which holds the blobs of object records and of parts alike.
func (s *Store) BlobInUse(ctx context.Context, blobID string) (bool, error) {
	if err := s.enter(ctx); err != nil {
		return false, fmt.Errorf("checking blob %q: %w", blobID, err)
	}
	defer s.leave()
	used, err := anyWithPrefix(s.db, blobRefPrefix(blobID))
	if err != nil {
		return false, fmt.Errorf("checking blob %q: %w", blobID, err)
	}
	return used, nil
}
