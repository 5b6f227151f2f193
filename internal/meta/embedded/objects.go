package embedded

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

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

// removeRecord adds to batch the deletion of every key that old wrote.
//
// overwritten says that the caller sets the key's record again in the same
// batch: the record key's deletion is then left out, because a tombstone
// followed by a set leaves two internal entries that every listing has to
// step over until compaction.
func removeRecord(batch *pebble.Batch, old *meta.Object, overwritten bool) error {
	if !overwritten {
		if err := batch.Delete(objectKey(old.Bucket, old.Key), nil); err != nil {
			return err
		}
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

// PutObject implements meta.Objects. It holds the bucket's read lock (so
// that DeleteBucket cannot pass between its check and commit, and so that the
// versioning state it reads is the one it commits under) and the key's mutex
// across reading the key's versions and committing. The returned record has
// no Inline bytes, and its Segments are only those whose blobs no record
// references any more.
func (s *Store) PutObject(ctx context.Context, obj meta.Object, opts meta.PutOptions) (meta.PutResult, error) {
	if err := checkObject(&obj); err != nil {
		return meta.PutResult{}, fmt.Errorf("putting object: %w", err)
	}
	if err := s.enter(ctx); err != nil {
		return meta.PutResult{}, fmt.Errorf("putting object: %w", err)
	}
	defer s.leave()
	defer s.foldIfDue(obj.Bucket)
	fail := func(err error) (meta.PutResult, error) {
		return meta.PutResult{}, fmt.Errorf("putting object %q/%q: %w", obj.Bucket, obj.Key, err)
	}
	bl := s.bucketLock(obj.Bucket)
	bl.RLock()
	defer bl.RUnlock()
	b, err := s.bucketRecord(obj.Bucket)
	if err != nil {
		return fail(err)
	}
	kl := s.keyLock(obj.Bucket, obj.Key)
	kl.Lock()
	defer kl.Unlock()
	now := time.Now()
	batch := s.newBatch()
	defer batch.Close()
	gone, err := addVersion(batch, s.db, &b, &obj, opts.Cond, now)
	if err != nil {
		return fail(err)
	}
	if err := s.notice(batch.Batch, opts.Notice, &obj, now); err != nil {
		return fail(err)
	}
	if err := s.commit(batch, obj.Bucket); err != nil {
		return fail(err)
	}
	return meta.PutResult{VersionID: obj.VersionID, Replaced: s.released(gone)}, nil
}

// released returns what the caller may release of a version that left the
// store: its record, with only the segments no record references any more.
func (s *Store) released(v *version) *meta.Object {
	if v == nil {
		return nil
	}
	o := v.obj
	o.Segments = s.releasable(&o)
	return &o
}

// bucketRecord reads a bucket's record; meta.ErrBucketNotFound when absent.
func (s *Store) bucketRecord(name string) (meta.Bucket, error) {
	if checkBucketName(name) != nil {
		return meta.Bucket{}, meta.ErrBucketNotFound
	}
	v, ok, err := get(s.db, bucketKey(name))
	if err != nil {
		return meta.Bucket{}, err
	}
	if !ok {
		return meta.Bucket{}, meta.ErrBucketNotFound
	}
	b := meta.Bucket{Name: name}
	return b, decodeBucket(v, &b)
}

// GetObject implements meta.Objects. Everything is read from one snapshot so
// that a concurrent write cannot pair one version's record with another's
// bytes, nor a version with the wrong IsLatest.
func (s *Store) GetObject(ctx context.Context, bucket, key, versionID string) (meta.Object, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Object{}, fmt.Errorf("getting object: %w", err)
	}
	defer s.leave()
	snap := s.db.NewSnapshot()
	defer snap.Close()
	fail := func(err error) (meta.Object, error) {
		return meta.Object{}, fmt.Errorf("getting object %q/%q: %w", bucket, key, err)
	}
	cur, err := readCurrent(snap, bucket, key)
	if err != nil {
		return fail(err)
	}
	v, err := findVersion(snap, bucket, key, versionID, cur)
	if err != nil {
		return fail(err)
	}
	if v == nil {
		return meta.Object{}, s.missing(snap, "getting", bucket, key)
	}
	if v.obj.IsLatest, err = isLatest(snap, v, cur); err != nil {
		return fail(err)
	}
	if v.obj.DeleteMarker {
		return v.obj, fmt.Errorf("getting object %q/%q: %w: %w", bucket, key, meta.ErrObjectNotFound, meta.ErrDeleteMarker)
	}
	if v.obj.Inline, err = inlineOf(snap, v); err != nil {
		return fail(err)
	}
	return v.obj, nil
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

// DeleteObject implements meta.Objects. It holds the bucket's read lock
// (the bucket record says whether to write a delete marker, and a usage
// fold must see every delta committed) and the key's mutex across reading
// the versions and committing. The returned record has no
// Inline bytes, and its Segments are only those whose blobs no record
// references any more.
func (s *Store) DeleteObject(ctx context.Context, bucket, key string, opts meta.DeleteOptions) (meta.DeleteResult, error) {
	if err := s.enter(ctx); err != nil {
		return meta.DeleteResult{}, fmt.Errorf("deleting object: %w", err)
	}
	defer s.leave()
	defer s.foldIfDue(bucket)
	fail := func(err error) (meta.DeleteResult, error) {
		return meta.DeleteResult{}, fmt.Errorf("deleting object %q/%q: %w", bucket, key, err)
	}
	bl := s.bucketLock(bucket)
	bl.RLock()
	defer bl.RUnlock()
	var b meta.Bucket
	if opts.VersionID == "" {
		var err error
		if b, err = s.bucketRecord(bucket); err != nil {
			return fail(err)
		}
	}
	kl := s.keyLock(bucket, key)
	kl.Lock()
	defer kl.Unlock()
	now := time.Now()
	batch := s.newBatch()
	defer batch.Close()
	cur, err := readCurrent(s.db, bucket, key)
	if err != nil {
		return fail(err)
	}
	var res meta.DeleteResult
	var gone *version
	var subject *meta.Object
	switch {
	case opts.VersionID == "" && b.Versioning != "":
		m, g, err := addMarker(batch, s.db, &b, bucket, key, opts.Cond, now)
		if err != nil {
			return fail(err)
		}
		gone, subject = g, m
		res.VersionID, res.DeleteMarker = m.VersionID, true
	default:
		v := cur
		if opts.VersionID != "" {
			if v, err = findVersion(s.db, bucket, key, opts.VersionID, cur); err != nil {
				return fail(err)
			}
		}
		if v == nil {
			return meta.DeleteResult{}, s.missing(s.db, "deleting", bucket, key)
		}
		if opts.VersionID == "" {
			if err := checkCondition(opts.Cond, curObj(cur)); err != nil {
				return fail(err)
			}
		}
		if protected(v, now, opts.BypassGovernance) {
			return fail(lockedErr(v))
		}
		if err := removeVersion(batch, s.db, v, cur); err != nil {
			return fail(err)
		}
		gone, subject = v, &v.obj
		res.VersionID, res.DeleteMarker = v.obj.VersionID, v.obj.DeleteMarker
	}
	if err := s.notice(batch.Batch, opts.Notice, subject, now); err != nil {
		return fail(err)
	}
	if err := s.commit(batch, bucket); err != nil {
		return fail(err)
	}
	res.Removed = s.released(gone)
	return res, nil
}

// UpdateObject implements meta.Objects. It holds the key's mutex across
// reading the version and committing, so the update applies to the version
// as of its commit. Only the record is rewritten, with every field other than
// tags, retention, legal hold and the ACL copied byte for byte; inline bytes and blob
// references are separate keys and are not touched. It takes no bucket lock:
// it rewrites a record that exists, and a bucket holding one cannot be
// deleted.
func (s *Store) UpdateObject(ctx context.Context, bucket, key, versionID string, opts meta.UpdateOptions, fn func(*meta.Object) error) (meta.Object, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Object{}, fmt.Errorf("updating object: %w", err)
	}
	defer s.leave()
	fail := func(err error) (meta.Object, error) {
		return meta.Object{}, fmt.Errorf("updating object %q/%q: %w", bucket, key, err)
	}
	kl := s.keyLock(bucket, key)
	kl.Lock()
	defer kl.Unlock()
	cur, err := readCurrent(s.db, bucket, key)
	if err != nil {
		return fail(err)
	}
	v, err := findVersion(s.db, bucket, key, versionID, cur)
	if err != nil {
		return fail(err)
	}
	if v == nil {
		return meta.Object{}, s.missing(s.db, "updating", bucket, key)
	}
	if v.obj.IsLatest, err = isLatest(s.db, v, cur); err != nil {
		return fail(err)
	}
	if v.obj.DeleteMarker {
		return v.obj, fmt.Errorf("updating object %q/%q: %w: %w", bucket, key, meta.ErrObjectNotFound, meta.ErrDeleteMarker)
	}
	if err := checkCondition(opts.Cond, curObj(cur)); err != nil {
		return fail(err)
	}
	next := v.obj
	next.Tags = maps.Clone(v.obj.Tags)
	next.ACL = slices.Clone(v.obj.ACL)
	if err := fn(&next); err != nil {
		return meta.Object{}, err
	}
	v.obj.Tags, v.obj.Retention, v.obj.LegalHold, v.obj.ACL = next.Tags, next.Retention, next.LegalHold, next.ACL
	if len(v.obj.Tags) == 0 {
		v.obj.Tags = nil
	}
	if len(v.obj.ACL) == 0 {
		v.obj.ACL = nil
	}
	rec, err := replaceLock(v.rec, &v.obj)
	if err != nil {
		return fail(err)
	}
	k := objectKey(bucket, key)
	if !v.current {
		k = versionKey(bucket, key, v.vk())
	}
	batch := s.db.NewBatch()
	defer batch.Close()
	if err := batch.Set(k, rec, nil); err != nil {
		return fail(err)
	}
	if err := s.notice(batch, opts.Notice, &v.obj, time.Now()); err != nil {
		return fail(err)
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return fail(err)
	}
	return v.obj, nil
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
