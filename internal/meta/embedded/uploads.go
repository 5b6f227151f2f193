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

// Multipart state lives in three key spaces (keys.go): upload records under
// nsUpload, ordered by bucket, key and ID so that ListUploads is a range scan;
// part records under nsPart, one range per upload ordered by part number; and
// an index by initiation time under nsUploadTime, so that the expiry job reads
// only the uploads it will abort instead of scanning them all. A part's blob
// is referenced in the nsBlobRef index like an object's, so BlobInUse and the
// release checks see parts without knowing about them.
//
// Each write is one batch, so the upload record, its time index entry, its
// parts and their references always change together.

// maxPartNumber is S3's highest part number; part keys hold it in 16 bits.
const maxPartNumber = 10000

// defaultPage is the page size used when a caller passes a limit below 1.
const defaultPage = 1000

var _ meta.Uploads = (*Store)(nil)

// CreateUpload implements meta.Uploads. It refuses, with ErrInvalid, an
// empty ID or one already in progress for the same bucket and key: taking it
// over would adopt the earlier upload's parts.
func (s *Store) CreateUpload(ctx context.Context, u meta.Upload) error {
	bucket, key, id := u.Object.Bucket, u.Object.Key, u.ID
	if err := checkBucketName(bucket); err != nil {
		return fmt.Errorf("creating upload: %w", err)
	}
	if id == "" {
		return fmt.Errorf("creating upload of %q/%q: empty id: %w", bucket, key, ErrInvalid)
	}
	if err := s.enter(ctx); err != nil {
		return fmt.Errorf("creating upload: %w", err)
	}
	defer s.leave()
	defer s.foldIfDue(bucket)
	// The read side keeps DeleteBucket out until the upload is committed
	// (and a usage fold until its delta is).
	bl := s.bucketLock(bucket)
	bl.RLock()
	defer bl.RUnlock()
	if err := s.requireBucket(bucket); err != nil {
		return fmt.Errorf("creating upload of %q/%q: %w", bucket, key, err)
	}
	ul := s.uploadLock(id)
	ul.Lock()
	defer ul.Unlock()
	uk := uploadKey(bucket, key, id)
	dup, err := has(s.db, uk)
	if err != nil {
		return fmt.Errorf("creating upload %q of %q/%q: %w", id, bucket, key, err)
	}
	if dup {
		return fmt.Errorf("creating upload %q of %q/%q: id in use: %w", id, bucket, key, ErrInvalid)
	}
	batch := s.newBatch()
	defer batch.Close()
	batch.usage.Uploads++
	err = batch.Set(uk, encodeUpload(&u), nil)
	if err == nil {
		err = batch.Set(uploadTimeKey(u.Initiated, bucket, key, id), nil, nil)
	}
	if err == nil {
		err = s.commit(batch, bucket)
	}
	if err != nil {
		return fmt.Errorf("creating upload %q of %q/%q: %w", id, bucket, key, err)
	}
	return nil
}

// readUpload returns the upload record at (bucket, key, id), or ok false.
func readUpload(r pebble.Reader, bucket, key, id string) (u meta.Upload, ok bool, err error) {
	if checkBucketName(bucket) != nil {
		// Such a name could alias another bucket's keys; no upload has it.
		return u, false, nil
	}
	v, ok, err := get(r, uploadKey(bucket, key, id))
	if err != nil || !ok {
		return u, false, err
	}
	u = meta.Upload{ID: id, Object: meta.Object{Bucket: bucket, Key: key}}
	if err := decodeUpload(v, &u); err != nil {
		return u, false, fmt.Errorf("upload record: %w", err)
	}
	return u, true, nil
}

// GetUpload implements meta.Uploads.
func (s *Store) GetUpload(ctx context.Context, bucket, key, id string) (meta.Upload, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Upload{}, fmt.Errorf("getting upload: %w", err)
	}
	defer s.leave()
	u, ok, err := readUpload(s.db, bucket, key, id)
	if err != nil {
		return meta.Upload{}, fmt.Errorf("getting upload %q of %q/%q: %w", id, bucket, key, err)
	}
	if ok {
		return u, nil
	}
	if err := s.requireBucket(bucket); err != nil {
		return meta.Upload{}, fmt.Errorf("getting upload %q of %q/%q: %w", id, bucket, key, err)
	}
	return meta.Upload{}, fmt.Errorf("getting upload %q of %q/%q: %w", id, bucket, key, meta.ErrUploadNotFound)
}

// PutPart implements meta.Uploads. It holds the bucket's read lock (so that
// DeleteBucket cannot drop the upload between check and commit), the read
// side of the upload's lock (CompleteUpload and AbortUpload hold the write
// side, so they see either no part or the committed one, and a PutPart after
// them sees no upload) and the part number's mutex (so that two puts of one
// number each return what they really replaced). The replaced part is returned
// only when no record references its blob any more, as PutObject does for
// segments; re-putting a part with the same blob thus returns nil.
func (s *Store) PutPart(ctx context.Context, bucket, key, id string, p meta.Part) (*meta.Part, error) {
	if p.Number < 1 || p.Number > maxPartNumber || p.Size < 0 {
		return nil, fmt.Errorf("putting part %d (size %d) of upload %q: %w", p.Number, p.Size, id, ErrInvalid)
	}
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("putting part: %w", err)
	}
	defer s.leave()
	if checkBucketName(bucket) != nil {
		return nil, fmt.Errorf("putting part %d of upload %q: %w", p.Number, id, meta.ErrUploadNotFound)
	}
	bl := s.bucketLock(bucket)
	bl.RLock()
	defer bl.RUnlock()
	ul := s.uploadLock(id)
	ul.RLock()
	defer ul.RUnlock()
	pl := s.partLock(id, p.Number)
	pl.Lock()
	defer pl.Unlock()
	exists, err := has(s.db, uploadKey(bucket, key, id))
	if err != nil {
		return nil, fmt.Errorf("putting part %d of upload %q: %w", p.Number, id, err)
	}
	if !exists {
		return nil, fmt.Errorf("putting part %d of upload %q: %w", p.Number, id, meta.ErrUploadNotFound)
	}
	pk := partKey(bucket, key, id, p.Number)
	v, found, err := get(s.db, pk)
	if err != nil {
		return nil, fmt.Errorf("putting part %d of upload %q: %w", p.Number, id, err)
	}
	var old *meta.Part
	if found {
		old = &meta.Part{Number: p.Number}
		if err := decodePart(v, old); err != nil {
			return nil, fmt.Errorf("putting part %d of upload %q: part record: %w", p.Number, id, err)
		}
	}
	batch := s.db.NewBatch()
	defer batch.Close()
	if old != nil && old.BlobID != p.BlobID {
		err = batch.Delete(partRefKey(old.BlobID, pk), nil)
	}
	if err == nil {
		err = batch.Set(pk, encodePart(&p), nil)
	}
	if err == nil {
		err = batch.Set(partRefKey(p.BlobID, pk), nil, nil)
	}
	if err == nil {
		err = batch.Commit(pebble.Sync)
	}
	if err != nil {
		return nil, fmt.Errorf("putting part %d of upload %q: %w", p.Number, id, err)
	}
	if old == nil || old.BlobID == p.BlobID {
		return nil, nil
	}
	if free := s.releasableParts([]meta.Part{*old}); len(free) == 0 {
		return nil, nil
	}
	return old, nil
}

// readParts returns every part of an upload in number order.
func readParts(r pebble.Reader, bucket, key, id string) ([]meta.Part, error) {
	pp := partPrefix(bucket, key, id)
	var out []meta.Part
	err := forEach(r, pp, func(k, v []byte) error {
		p, err := decodePartAt(pp, k, v)
		out = append(out, p)
		return err
	})
	return out, err
}

// decodePartAt decodes the part stored at key k under prefix pp.
func decodePartAt(pp, k, v []byte) (meta.Part, error) {
	if len(k) != len(pp)+2 {
		return meta.Part{}, fmt.Errorf("part key of length %d: %w", len(k), errCorrupt)
	}
	p := meta.Part{Number: int(binary.BigEndian.Uint16(k[len(pp):]))}
	if err := decodePart(v, &p); err != nil {
		return p, fmt.Errorf("part %d record: %w", p.Number, err)
	}
	return p, nil
}

// forEach calls fn for every key starting with prefix, in order. k and v
// are valid only during the call.
func forEach(r pebble.Reader, prefix []byte, fn func(k, v []byte) error) error {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixSuccessor(prefix)})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err == nil {
			err = fn(it.Key(), v)
		}
		if err != nil {
			return errors.Join(err, it.Close())
		}
	}
	return errors.Join(it.Error(), it.Close())
}

// ListParts implements meta.Uploads. A limit below 1 means 1000. The upload
// and its parts are read from one snapshot.
func (s *Store) ListParts(ctx context.Context, bucket, key, id string, after, limit int) (parts []meta.Part, more bool, err error) {
	if limit < 1 {
		limit = defaultPage
	}
	if err := s.enter(ctx); err != nil {
		return nil, false, fmt.Errorf("listing parts: %w", err)
	}
	defer s.leave()
	snap := s.db.NewSnapshot()
	defer snap.Close()
	_, ok, err := readUpload(snap, bucket, key, id)
	if err != nil {
		return nil, false, fmt.Errorf("listing parts of upload %q: %w", id, err)
	}
	if !ok {
		return nil, false, fmt.Errorf("listing parts of upload %q: %w", id, meta.ErrUploadNotFound)
	}
	if after >= maxPartNumber {
		return nil, false, nil
	}
	pp := partPrefix(bucket, key, id)
	it, err := snap.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: pp, UpperBound: prefixSuccessor(pp)})
	if err != nil {
		return nil, false, fmt.Errorf("listing parts of upload %q: %w", id, err)
	}
	valid := it.SeekGE(partKey(bucket, key, id, max(after+1, 0)))
	for ; valid && len(parts) < limit; valid = it.Next() {
		v, err := it.ValueAndErr()
		var p meta.Part
		if err == nil {
			p, err = decodePartAt(pp, it.Key(), v)
		}
		if err != nil {
			return nil, false, errors.Join(fmt.Errorf("listing parts of upload %q: %w", id, err), it.Close())
		}
		parts = append(parts, p)
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, false, fmt.Errorf("listing parts of upload %q: %w", id, err)
	}
	return parts, valid, nil
}

// deleteUpload adds to batch the removal of upload u, its time index entry,
// its parts and their blob references.
func deleteUpload(batch *wbatch, u *meta.Upload, parts []meta.Part) error {
	bucket, key := u.Object.Bucket, u.Object.Key
	batch.usage.Uploads--
	if err := batch.Delete(uploadKey(bucket, key, u.ID), nil); err != nil {
		return err
	}
	if err := batch.Delete(uploadTimeKey(u.Initiated, bucket, key, u.ID), nil); err != nil {
		return err
	}
	for _, p := range parts {
		pk := partKey(bucket, key, u.ID, p.Number)
		if err := batch.Delete(pk, nil); err != nil {
			return err
		}
		if err := batch.Delete(partRefKey(p.BlobID, pk), nil); err != nil {
			return err
		}
	}
	return nil
}

// CompleteUpload implements meta.Uploads. It holds the bucket's read lock,
// then the (bucket, key) mutex, then the upload's write lock (the order
// every operation uses), so the condition, the replaced record and the set of
// parts are all read as of the commit. In the one batch the parts' blob
// references are dropped and obj's added, so a blob obj uses is referenced
// at every point in time. The replaced record's Segments and the unused
// parts are only those whose blobs nothing references any more.
func (s *Store) CompleteUpload(ctx context.Context, bucket, key, id string, obj meta.Object, opts meta.PutOptions) (meta.PutResult, []meta.Part, error) {
	if obj.Bucket != bucket || obj.Key != key {
		return meta.PutResult{}, nil, fmt.Errorf("completing upload %q of %q/%q: object names %q/%q: %w", id, bucket, key, obj.Bucket, obj.Key, ErrInvalid)
	}
	if err := checkObject(&obj); err != nil {
		return meta.PutResult{}, nil, fmt.Errorf("completing upload %q: %w", id, err)
	}
	if err := s.enter(ctx); err != nil {
		return meta.PutResult{}, nil, fmt.Errorf("completing upload: %w", err)
	}
	defer s.leave()
	defer s.foldIfDue(bucket)
	fail := func(err error) (meta.PutResult, []meta.Part, error) {
		return meta.PutResult{}, nil, fmt.Errorf("completing upload %q of %q/%q: %w", id, bucket, key, err)
	}
	bl := s.bucketLock(bucket)
	bl.RLock()
	defer bl.RUnlock()
	b, err := s.bucketRecord(bucket)
	if err != nil {
		return fail(err)
	}
	kl := s.keyLock(bucket, key)
	kl.Lock()
	defer kl.Unlock()
	ul := s.uploadLock(id)
	ul.Lock()
	defer ul.Unlock()

	u, ok, err := readUpload(s.db, bucket, key, id)
	if err != nil {
		return fail(err)
	}
	if !ok {
		return fail(meta.ErrUploadNotFound)
	}
	parts, err := readParts(s.db, bucket, key, id)
	if err != nil {
		return fail(err)
	}
	now := time.Now()
	batch := s.newBatch()
	defer batch.Close()
	// The upload's part references go before obj's references are set: a
	// later Set of the same key wins.
	if err := deleteUpload(batch, &u, parts); err != nil {
		return fail(err)
	}
	gone, err := addVersion(batch, s.db, &b, &obj, opts.Cond, now)
	if err != nil {
		return fail(err)
	}
	if err := s.notice(batch.Batch, opts.Notice, &obj, now); err != nil {
		return fail(err)
	}
	if err := s.commit(batch, bucket); err != nil {
		return fail(err)
	}
	used := make(map[string]bool, len(obj.Segments))
	for _, sg := range obj.Segments {
		used[sg.BlobID] = true
	}
	var unused []meta.Part
	for _, p := range parts {
		if !used[p.BlobID] {
			unused = append(unused, p)
		}
	}
	unused = s.releasableParts(unused)
	return meta.PutResult{VersionID: obj.VersionID, Replaced: s.released(gone)}, unused, nil
}

// AbortUpload implements meta.Uploads. It holds the bucket's read lock and
// the upload's write lock, like CompleteUpload. The returned
// parts are only those whose blobs nothing references any more.
func (s *Store) AbortUpload(ctx context.Context, bucket, key, id string) ([]meta.Part, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("aborting upload: %w", err)
	}
	defer s.leave()
	if checkBucketName(bucket) != nil {
		return nil, fmt.Errorf("aborting upload %q: %w", id, meta.ErrUploadNotFound)
	}
	defer s.foldIfDue(bucket)
	bl := s.bucketLock(bucket)
	bl.RLock()
	defer bl.RUnlock()
	ul := s.uploadLock(id)
	ul.Lock()
	defer ul.Unlock()
	u, ok, err := readUpload(s.db, bucket, key, id)
	if err != nil {
		return nil, fmt.Errorf("aborting upload %q: %w", id, err)
	}
	if !ok {
		return nil, fmt.Errorf("aborting upload %q: %w", id, meta.ErrUploadNotFound)
	}
	parts, err := readParts(s.db, bucket, key, id)
	if err != nil {
		return nil, fmt.Errorf("aborting upload %q: %w", id, err)
	}
	batch := s.newBatch()
	defer batch.Close()
	err = deleteUpload(batch, &u, parts)
	if err == nil {
		err = s.commit(batch, bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("aborting upload %q: %w", id, err)
	}
	return s.releasableParts(parts), nil
}

// releasableParts keeps the parts whose blobs no record or part references,
// after a commit that dropped their references; see releasable for why this
// runs after the commit and why a read error withholds them all.
func (s *Store) releasableParts(parts []meta.Part) []meta.Part {
	out := parts[:0]
	for _, p := range parts {
		used, err := anyWithPrefix(s.db, blobRefPrefix(p.BlobID))
		if err != nil {
			s.log.Error("checking part blob references after a commit; leaving blobs to the orphan collector", "err", err)
			return nil
		}
		if !used {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// UploadsInitiatedBefore implements meta.Uploads with a range scan of the
// time index: its cost follows the uploads returned, not the uploads in
// progress. A limit below 1 means 1000. Oldest uploads come first.
func (s *Store) UploadsInitiatedBefore(ctx context.Context, t time.Time, limit int) ([]meta.Upload, error) {
	if limit < 1 {
		limit = defaultPage
	}
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("finding uploads initiated before %v: %w", t, err)
	}
	defer s.leave()
	snap := s.db.NewSnapshot()
	defer snap.Close()
	upper := appendTimeKey([]byte{nsUploadTime}, t)
	it, err := snap.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: []byte{nsUploadTime}, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("finding uploads initiated before %v: %w", t, err)
	}
	var out []meta.Upload
	for valid := it.First(); valid && len(out) < limit; valid = it.Next() {
		bucket, key, id, ok := splitUploadTimeKey(it.Key())
		var u meta.Upload
		err := fmt.Errorf("upload time index key %q: %w", it.Key(), errCorrupt)
		if ok {
			u, ok, err = readUpload(snap, bucket, key, id)
			if err == nil && !ok {
				err = fmt.Errorf("upload %q of %q/%q indexed but missing: %w", id, bucket, key, errCorrupt)
			}
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("finding uploads initiated before %v: %w", t, err), it.Close())
		}
		out = append(out, u)
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, fmt.Errorf("finding uploads initiated before %v: %w", t, err)
	}
	return out, nil
}

// dropUploads adds to batch the removal of every upload of bucket with its
// parts, their blob references and the time index entries. The caller holds
// the bucket's write lock, so no upload write runs concurrently.
func (s *Store) dropUploads(batch *pebble.Batch, bucket string) error {
	up := uploadPrefix(bucket)
	err := forEach(s.db, up, func(k, v []byte) error {
		key, id, ok := splitEscaped(k[len(up):])
		if !ok {
			return fmt.Errorf("upload key %q: %w", k, errCorrupt)
		}
		var u meta.Upload
		if err := decodeUpload(v, &u); err != nil {
			return fmt.Errorf("upload %q record: %w", id, err)
		}
		if err := batch.Delete(k, nil); err != nil {
			return err
		}
		return batch.Delete(uploadTimeKey(u.Initiated, bucket, key, string(id)), nil)
	})
	if err != nil {
		return fmt.Errorf("removing uploads: %w", err)
	}
	err = forEach(s.db, bucketPartsPrefix(bucket), func(k, v []byte) error {
		var p meta.Part
		if err := decodePart(v, &p); err != nil {
			return fmt.Errorf("part record: %w", err)
		}
		if err := batch.Delete(k, nil); err != nil {
			return err
		}
		return batch.Delete(partRefKey(p.BlobID, k), nil)
	})
	if err != nil {
		return fmt.Errorf("removing parts: %w", err)
	}
	return nil
}
