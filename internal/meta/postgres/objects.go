package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferstore/coffer/internal/meta"
)

// Versions. A key's versions are rows of versions ordered by ord, an int64
// greater than the ord of every older version of the key: the wall clock in
// nanoseconds, or the newest version's ord + 1 when the clock has not passed
// it (the key's lock is held, so ords of one key never tie, whichever
// instance writes). A non-null version's id is its ord in hex, so an id
// names its row with no index to consult; the null version is found
// through the versions_null index. The newest row has is_latest set; a
// write that adds a version clears it on the previous newest in the same
// transaction, and a removal of the newest sets it on the next one.

// version is a row of versions as read for a write or a lookup.
type version struct {
	obj       meta.Object // Inline unset; IsLatest set
	ord       int64
	hasInline bool
	rec       []byte // the stored record, to rewrite without losing fields
}

func formatVersionID(ord int64) string { return fmt.Sprintf("%016x", uint64(ord)) }

// parseVersionID returns the ord a non-null version id names.
func parseVersionID(id string) (int64, bool) {
	if len(id) != 16 {
		return 0, false
	}
	u, err := strconv.ParseUint(id, 16, 64)
	if err != nil || int64(u) < 0 {
		return 0, false
	}
	return int64(u), true
}

func nextOrd(newest int64, now time.Time) int64 {
	o := now.UnixNano()
	if o <= newest {
		o = newest + 1
	}
	return o
}

// versionColumns are the columns versionFrom reads, in order; v is the
// versions alias.
const versionColumns = `v.ord, v.version_id, v.is_latest, v.delete_marker, v.size, v.record, v.inline IS NOT NULL`

// nullableVersion receives versionColumns from an outer join, where a
// missing version reads as NULLs.
type nullableVersion struct {
	ord                *int64
	versionID          *string
	latest, marker, in *bool
	size               *int64
	rec                []byte
}

func (n *nullableVersion) dest() []any {
	return []any{&n.ord, &n.versionID, &n.latest, &n.marker, &n.size, &n.rec, &n.in}
}

// version returns the version read, nil when the columns were NULL.
func (n *nullableVersion) version(bucket, key string) (*version, error) {
	if n.ord == nil {
		return nil, nil
	}
	v := &version{ord: *n.ord, hasInline: *n.in, rec: n.rec}
	v.obj = meta.Object{Bucket: bucket, Key: key, VersionID: *n.versionID, IsLatest: *n.latest,
		DeleteMarker: *n.marker, Size: *n.size}
	if err := decodeObject(n.rec, &v.obj); err != nil {
		return nil, fmt.Errorf("version %s of %q: %w", v.obj.VersionID, key, err)
	}
	return v, nil
}

// keyState is what a write reads of a key, under the key's lock.
type keyState struct {
	bucket, key string
	bucketID    int64
	versioning  string
	found       bool     // the bucket exists
	latest      *version // the newest version, nil when none
	null        *version // the null version, wherever it is
	named       *version // the version asked for by a non-null id
	// usage is what the writes queued so far change in the bucket's usage
	// counters (usage.go).
	usage meta.Usage
}

// current returns the key's current version (its latest unless that is a
// delete marker), nil when none.
func (st *keyState) current() *version {
	if st.latest == nil || st.latest.obj.DeleteMarker {
		return nil
	}
	return st.latest
}

// find returns the version id names, the latest when id is empty; nil
// when there is none.
func (st *keyState) find(id string) *version {
	switch id {
	case "":
		return st.latest
	case meta.NullVersion:
		return st.null
	}
	return st.named
}

// sqlKeyState reads the bucket, then the latest, the null and the named
// version of a key ($3, $4: the named version's ord and id), one row each
// tagged with its kind. Each branch is one index probe, in index order.
const sqlKeyState = `WITH b AS (SELECT id, versioning FROM buckets WHERE name = $1)
SELECT 'b', b.id, b.versioning, NULL::bigint, NULL::text, NULL::boolean, NULL::boolean, NULL::bigint, NULL::bytea, NULL::boolean FROM b
UNION ALL
SELECT 'l', b.id, NULL, v.* FROM b CROSS JOIN LATERAL (SELECT ` + versionColumns + ` FROM versions v
	WHERE v.bucket_id = b.id AND v.key = $2 ORDER BY v.ord DESC LIMIT 1) v
UNION ALL
SELECT 'n', b.id, NULL, v.* FROM b CROSS JOIN LATERAL (SELECT ` + versionColumns + ` FROM versions v
	WHERE v.bucket_id = b.id AND v.key = $2 AND v.version_id = 'null') v
UNION ALL
SELECT 'v', b.id, NULL, v.* FROM b CROSS JOIN LATERAL (SELECT ` + versionColumns + ` FROM versions v
	WHERE v.bucket_id = b.id AND v.key = $2 AND v.ord = $3 AND v.version_id = $4) v`

// readKey takes the key's lock (after the bucket's, shared, when
// bucketShared) and reads the key's state, all in one round trip, followed
// by the statements of then when it is not nil. id names a version to read
// besides the latest and the null one.
func (s *Store) readKey(ctx context.Context, t *tx, bucket, key string, bucketShared bool, id string, then *pgx.Batch) (*keyState, error) {
	st := &keyState{bucket: bucket, key: key}
	if checkBucketName(bucket) != nil {
		return st, nil
	}
	b := &pgx.Batch{}
	if bucketShared {
		b.Queue(sqlLockShared, s.bucketLock(bucket))
	}
	b.Queue(sqlLock, s.keyLock(bucket, key))
	ord, ok := parseVersionID(id)
	if !ok {
		// Matches no version; the id is not sent, since a client's id may
		// hold bytes text cannot.
		ord, id = -1, ""
	}
	b.Queue(sqlKeyState, bucket, []byte(key), ord, id).Query(func(rows pgx.Rows) error {
		var kind string
		var versioning *string
		var n nullableVersion
		dest := append([]any{&kind, &st.bucketID, &versioning}, n.dest()...)
		_, err := pgx.ForEachRow(rows, dest, func() error {
			v, err := n.version(bucket, key)
			switch kind {
			case "b":
				st.found, st.versioning = true, *versioning
			case "l":
				st.latest = v
			case "n":
				st.null = v
			case "v":
				st.named = v
			}
			return err
		})
		return err
	})
	if then != nil {
		b.QueuedQueries = append(b.QueuedQueries, then.QueuedQueries...)
	}
	return st, t.send(ctx, b)
}

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

// checkCondition evaluates cond against the current version (nil when the
// key has none).
func checkCondition(cond *meta.Condition, cur *version) error {
	if cond == nil {
		return nil
	}
	if cond.IfNoneMatch && cur != nil {
		return meta.ErrPreconditionFailed
	}
	if cond.IfMatch != "" && (cur == nil || cur.obj.ETag != cond.IfMatch) {
		return meta.ErrPreconditionFailed
	}
	return nil
}

// protected reports whether object lock forbids removing v now.
func protected(v *version, now time.Time, bypass bool) bool {
	return v.obj.LegalHold || v.obj.Retention.Protects(now, bypass)
}

func lockedErr(v *version) error {
	return fmt.Errorf("version %q of %q: %w", v.obj.VersionID, v.obj.Key, meta.ErrLocked)
}

const (
	sqlInsertVersion = `INSERT INTO versions
		(bucket_id, key, ord, version_id, is_latest, delete_marker, size, record, inline, blob_ids)
		VALUES ($1, $2, $3, $4, true, $5, $6, $7, $8, $9)`
	sqlDeleteVersion = `DELETE FROM versions WHERE bucket_id = $1 AND key = $2 AND ord = $3`
	sqlNotLatest     = `UPDATE versions SET is_latest = false WHERE bucket_id = $1 AND key = $2 AND ord = $3`
	sqlUpdateRecord  = `UPDATE versions SET record = $4 WHERE bucket_id = $1 AND key = $2 AND ord = $3`
)

// blobIDs returns the blob_ids column of obj: NULL when it has no segment.
func blobIDs(obj *meta.Object) [][]byte {
	if len(obj.Segments) == 0 {
		return nil
	}
	ids := make([][]byte, len(obj.Segments))
	for i, sg := range obj.Segments {
		ids[i] = []byte(sg.BlobID)
	}
	return ids
}

// addVersion queues on b the writes that make obj the key's newest
// version, as PutObject documents, and returns the version that leaves the
// store. st was read under the bucket's shared lock and the key's lock.
func (s *Store) addVersion(b *pgx.Batch, st *keyState, obj *meta.Object, cond *meta.Condition, now time.Time) (*version, error) {
	if err := checkCondition(cond, st.current()); err != nil {
		return nil, err
	}
	ord := nextOrd(st.newestOrd(), now)
	enabled := st.versioning == meta.VersioningEnabled
	obj.VersionID = meta.NullVersion
	if enabled {
		obj.VersionID = formatVersionID(ord)
	}
	obj.DeleteMarker = false
	gone, err := displace(b, st, enabled, now)
	if err != nil {
		return nil, err
	}
	b.Queue(sqlInsertVersion, st.bucketID, []byte(obj.Key), ord, obj.VersionID, false, obj.Size,
		encodeObject(obj, false), obj.Inline, blobIDs(obj))
	st.counted(obj.Size, true, 1)
	return gone, nil
}

func (st *keyState) newestOrd() int64 {
	if st.latest == nil {
		return 0
	}
	return st.latest.ord
}

// displace queues the writes that make room for a new newest version: the
// latest version stops being latest, and outside enabled versioning the
// null version, wherever it is, leaves the store (refused when locked).
func displace(b *pgx.Batch, st *keyState, enabled bool, now time.Time) (gone *version, err error) {
	key := []byte(st.key)
	if !enabled && st.null != nil {
		gone = st.null
		if protected(gone, now, false) {
			return nil, lockedErr(gone)
		}
		b.Queue(sqlDeleteVersion, st.bucketID, key, gone.ord)
		st.counted(sizeOf(gone), isCurrent(gone), -1)
	}
	if st.latest != nil && (gone == nil || st.latest.ord != gone.ord) {
		b.Queue(sqlNotLatest, st.bucketID, key, st.latest.ord)
		if cur := st.current(); cur != nil {
			st.usage.Objects--
			st.usage.Bytes -= cur.obj.Size
		}
	}
	return gone, nil
}

// addMarker queues the writes that make a new delete marker the key's
// newest version, and returns it and the version that leaves the store.
func addMarker(b *pgx.Batch, st *keyState, cond *meta.Condition, now time.Time) (*meta.Object, *version, error) {
	if err := checkCondition(cond, st.current()); err != nil {
		return nil, nil, err
	}
	ord := nextOrd(st.newestOrd(), now)
	enabled := st.versioning == meta.VersioningEnabled
	m := &meta.Object{Bucket: st.bucket, Key: st.key, DeleteMarker: true, IsLatest: true,
		Modified: now.UTC(), VersionID: meta.NullVersion}
	if enabled {
		m.VersionID = formatVersionID(ord)
	}
	gone, err := displace(b, st, enabled, now)
	if err != nil {
		return nil, nil, err
	}
	b.Queue(sqlInsertVersion, st.bucketID, []byte(st.key), ord, m.VersionID, true, int64(0),
		encodeObject(m, false), nil, nil)
	st.counted(0, false, 1)
	return m, gone, nil
}

// PutObject implements meta.Objects. It holds the bucket's lock shared (so
// that DeleteBucket and UpdateBucket cannot pass between its read of the
// bucket and its commit) and the key's lock across reading the key's
// versions and committing. The returned record has no Inline bytes, and its
// Segments are only those whose blobs no record references any more.
func (s *Store) PutObject(ctx context.Context, obj meta.Object, opts meta.PutOptions) (meta.PutResult, error) {
	if err := checkObject(&obj); err != nil {
		return meta.PutResult{}, fmt.Errorf("putting object: %w", err)
	}
	if err := checkNotice(opts.Notice); err != nil {
		return meta.PutResult{}, fmt.Errorf("putting object: %w", err)
	}
	if err := s.enter(ctx); err != nil {
		return meta.PutResult{}, fmt.Errorf("putting object: %w", err)
	}
	defer s.leave()
	var gone *version
	err := s.inTx(ctx, func(t *tx) (*pgx.Batch, error) {
		st, err := s.readKey(ctx, t, obj.Bucket, obj.Key, true, "", nil)
		if err != nil {
			return nil, err
		}
		if !st.found {
			return nil, meta.ErrBucketNotFound
		}
		now := time.Now()
		b := &pgx.Batch{}
		if gone, err = s.addVersion(b, st, &obj, opts.Cond, now); err != nil {
			return nil, err
		}
		queueNotice(b, opts.Notice, &obj, now)
		queueUsage(b, t, st.bucketID, st.usage)
		return b, nil
	})
	if err != nil {
		return meta.PutResult{}, fmt.Errorf("putting object %q/%q: %w", obj.Bucket, obj.Key, err)
	}
	return meta.PutResult{VersionID: obj.VersionID, Replaced: s.released(ctx, gone)}, nil
}

// released returns what the caller may release of a version that left the
// store: its record, with only the segments no record references any more.
func (s *Store) released(ctx context.Context, v *version) *meta.Object {
	if v == nil {
		return nil
	}
	o := v.obj
	o.IsLatest = false
	o.Segments = s.releasable(ctx, o.Bucket, o.Key, o.Segments)
	return &o
}

// sqlUnusedBlobs returns the blobs of $1 that no version and no part
// references.
const sqlUnusedBlobs = `SELECT b FROM unnest($1::bytea[]) AS b
	WHERE NOT EXISTS (SELECT 1 FROM versions WHERE blob_ids @> ARRAY[b] AND blob_ids IS NOT NULL)
	AND NOT EXISTS (SELECT 1 FROM parts WHERE blob_id = b)`

// unusedBlobs returns the set of ids no record references.
func (s *Store) unusedBlobs(ctx context.Context, ids []string) (map[string]bool, error) {
	args := make([][]byte, len(ids))
	for i, id := range ids {
		args[i] = []byte(id)
	}
	rows, err := s.pool.Query(ctx, sqlUnusedBlobs, args)
	if err != nil {
		return nil, err
	}
	unused, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(unused))
	for _, id := range unused {
		out[string(id)] = true
	}
	return out, nil
}

// releaseCheckTimeout bounds the reference check that follows a commit.
const releaseCheckTimeout = 10 * time.Second

// unusedBlobsAfterCommit is unusedBlobs for a write that has committed: it
// runs even when the caller has just given up (the blobs are free either
// way, and only this call can tell), for a bounded time.
func (s *Store) unusedBlobsAfterCommit(ctx context.Context, ids []string) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseCheckTimeout)
	defer cancel()
	return s.unusedBlobs(ctx, ids)
}

// releasable keeps the segments, of a record that left the store, whose
// blobs no record references any more, so that the caller never frees a
// blob still in use (by the record that replaced it, or by another key). It
// runs after the commit: a reference dropped concurrently by another
// transaction may then make two callers both free a blob, which is
// harmless, whereas checking before the commit could make both keep it and
// leak it.
//
// The write is durable by now, so a read error must not fail the call (the
// caller would think the write failed): the segments are then withheld and
// their blobs left to the orphan collector, which asks BlobInUse.
func (s *Store) releasable(ctx context.Context, bucket, key string, segs []meta.Segment) []meta.Segment {
	if len(segs) == 0 {
		return nil
	}
	ids := make([]string, len(segs))
	for i, sg := range segs {
		ids[i] = sg.BlobID
	}
	unused, err := s.unusedBlobsAfterCommit(ctx, ids)
	if err != nil {
		s.log.Error("checking blob references after a commit; leaving blobs to the orphan collector",
			"bucket", bucket, "key", key, "err", err)
		return nil
	}
	var out []meta.Segment
	for _, sg := range segs {
		if unused[sg.BlobID] {
			out = append(out, sg)
		}
	}
	return out
}

// sqlGetVersion reads the bucket and one version of a key with its inline
// bytes; %s is the condition naming the version. No row means no bucket,
// NULL columns no version.
const sqlGetVersion = `WITH b AS (SELECT id FROM buckets WHERE name = $1)
SELECT v.ord, v.version_id, v.is_latest, v.delete_marker, v.size, v.record, v.inline IS NOT NULL, v.inline
FROM b LEFT JOIN LATERAL (SELECT * FROM versions v
	WHERE v.bucket_id = b.id AND v.key = $2 %s ORDER BY v.ord DESC LIMIT 1) v ON true`

var (
	sqlGetLatest = fmt.Sprintf(sqlGetVersion, "")
	sqlGetNull   = fmt.Sprintf(sqlGetVersion, "AND v.version_id = 'null'")
	sqlGetByID   = fmt.Sprintf(sqlGetVersion, "AND v.ord = $3 AND v.version_id = $4")
)

// GetObject implements meta.Objects with one statement, so that the
// record, its bytes and IsLatest come from one snapshot.
func (s *Store) GetObject(ctx context.Context, bucket, key, versionID string) (meta.Object, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Object{}, fmt.Errorf("getting object: %w", err)
	}
	defer s.leave()
	fail := func(err error) (meta.Object, error) {
		return meta.Object{}, fmt.Errorf("getting object %q/%q: %w", bucket, key, err)
	}
	if checkBucketName(bucket) != nil {
		return fail(meta.ErrBucketNotFound)
	}
	var row pgx.Row
	switch versionID {
	case "":
		row = s.pool.QueryRow(ctx, sqlGetLatest, bucket, []byte(key))
	case meta.NullVersion:
		row = s.pool.QueryRow(ctx, sqlGetNull, bucket, []byte(key))
	default:
		ord, ok := parseVersionID(versionID)
		id := versionID
		if !ok {
			ord, id = -1, "" // matches no version
		}
		row = s.pool.QueryRow(ctx, sqlGetByID, bucket, []byte(key), ord, id)
	}
	var n nullableVersion
	var inline []byte
	err := row.Scan(append(n.dest(), &inline)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return fail(meta.ErrBucketNotFound)
	}
	if err != nil {
		return fail(s.dbErr(ctx, err))
	}
	v, err := n.version(bucket, key)
	if err != nil {
		return fail(err)
	}
	if v == nil {
		return fail(meta.ErrObjectNotFound)
	}
	if v.obj.DeleteMarker {
		return v.obj, fmt.Errorf("getting object %q/%q: %w: %w", bucket, key, meta.ErrObjectNotFound, meta.ErrDeleteMarker)
	}
	v.obj.Inline = inline
	return v.obj, nil
}

// DeleteObject implements meta.Objects. It holds the bucket's lock shared
// when it may write a delete marker (a new version), and the key's lock
// across reading the versions and committing. The returned record has no
// Inline bytes, and its Segments are only those whose blobs no record
// references any more.
func (s *Store) DeleteObject(ctx context.Context, bucket, key string, opts meta.DeleteOptions) (meta.DeleteResult, error) {
	if err := checkNotice(opts.Notice); err != nil {
		return meta.DeleteResult{}, fmt.Errorf("deleting object: %w", err)
	}
	if err := s.enter(ctx); err != nil {
		return meta.DeleteResult{}, fmt.Errorf("deleting object: %w", err)
	}
	defer s.leave()
	var res meta.DeleteResult
	var gone *version
	err := s.inTx(ctx, func(t *tx) (*pgx.Batch, error) {
		res, gone = meta.DeleteResult{}, nil
		st, err := s.readKey(ctx, t, bucket, key, opts.VersionID == "", opts.VersionID, nil)
		if err != nil {
			return nil, err
		}
		if !st.found {
			return nil, meta.ErrBucketNotFound
		}
		now := time.Now()
		b := &pgx.Batch{}
		var subject *meta.Object
		if opts.VersionID == "" && st.versioning != "" {
			m, g, err := addMarker(b, st, opts.Cond, now)
			if err != nil {
				return nil, err
			}
			gone, subject = g, m
			res.VersionID, res.DeleteMarker = m.VersionID, true
		} else {
			v := st.current()
			if opts.VersionID != "" {
				v = st.find(opts.VersionID)
			}
			if v == nil {
				return nil, meta.ErrObjectNotFound
			}
			if opts.VersionID == "" {
				if err := checkCondition(opts.Cond, st.current()); err != nil {
					return nil, err
				}
			}
			if protected(v, now, opts.BypassGovernance) {
				return nil, lockedErr(v)
			}
			b.Queue(sqlDeleteVersion, st.bucketID, []byte(key), v.ord)
			st.counted(sizeOf(v), isCurrent(v), -1)
			if v.obj.IsLatest {
				queueNewLatest(b, t, st)
			}
			gone, subject = v, &v.obj
			res.VersionID, res.DeleteMarker = v.obj.VersionID, v.obj.DeleteMarker
		}
		queueNotice(b, opts.Notice, subject, now)
		queueUsage(b, t, st.bucketID, st.usage)
		return b, nil
	})
	if err != nil {
		return meta.DeleteResult{}, fmt.Errorf("deleting object %q/%q: %w", bucket, key, err)
	}
	res.Removed = s.released(ctx, gone)
	return res, nil
}

// UpdateObject implements meta.Objects. It holds the key's lock across
// reading the version and committing, so the update applies to the version
// as of its commit. Only the record is rewritten, with every field other
// than tags, retention, legal hold and the ACL copied byte for byte. It takes no
// bucket lock: it rewrites a version that exists, and a bucket holding one
// cannot be deleted.
func (s *Store) UpdateObject(ctx context.Context, bucket, key, versionID string, opts meta.UpdateOptions, fn func(*meta.Object) error) (meta.Object, error) {
	if err := checkNotice(opts.Notice); err != nil {
		return meta.Object{}, fmt.Errorf("updating object: %w", err)
	}
	if err := s.enter(ctx); err != nil {
		return meta.Object{}, fmt.Errorf("updating object: %w", err)
	}
	defer s.leave()
	var out meta.Object
	var marker, fnErr error
	err := s.inTxOnce(ctx, func(t *tx) (*pgx.Batch, error) {
		out, marker = meta.Object{}, nil
		st, err := s.readKey(ctx, t, bucket, key, false, versionID, nil)
		if err != nil {
			return nil, err
		}
		if !st.found {
			return nil, meta.ErrBucketNotFound
		}
		v := st.find(versionID)
		if v == nil {
			return nil, meta.ErrObjectNotFound
		}
		if v.obj.DeleteMarker {
			out = v.obj
			marker = fmt.Errorf("%w: %w", meta.ErrObjectNotFound, meta.ErrDeleteMarker)
			return nil, marker
		}
		if err := checkCondition(opts.Cond, st.current()); err != nil {
			return nil, err
		}
		next := v.obj
		next.Tags = maps.Clone(v.obj.Tags)
		next.ACL = slices.Clone(v.obj.ACL)
		if fnErr = fn(&next); fnErr != nil {
			return nil, fnErr
		}
		v.obj.Tags, v.obj.Retention, v.obj.LegalHold, v.obj.ACL = next.Tags, next.Retention, next.LegalHold, next.ACL
		if len(v.obj.Tags) == 0 {
			v.obj.Tags = nil
		}
		if len(v.obj.ACL) == 0 {
			v.obj.ACL = nil
		}
		rec, err := replaceMutable(v.rec, &v.obj)
		if err != nil {
			return nil, fmt.Errorf("version %s record: %w", v.obj.VersionID, err)
		}
		now := time.Now()
		b := &pgx.Batch{}
		b.Queue(sqlUpdateRecord, st.bucketID, []byte(key), v.ord, rec)
		queueNotice(b, opts.Notice, &v.obj, now)
		out = v.obj
		return b, nil
	})
	switch {
	case fnErr != nil:
		return meta.Object{}, fnErr
	case marker != nil:
		return out, fmt.Errorf("updating object %q/%q: %w", bucket, key, marker)
	case err != nil:
		return meta.Object{}, fmt.Errorf("updating object %q/%q: %w", bucket, key, err)
	}
	return out, nil
}

// BlobInUse implements meta.Objects: one probe of the versions' blob index
// and one of the parts'. It reads at READ COMMITTED, so it sees every write
// committed before it starts.
func (s *Store) BlobInUse(ctx context.Context, blobID string) (bool, error) {
	if err := s.enter(ctx); err != nil {
		return false, fmt.Errorf("checking blob %q: %w", blobID, err)
	}
	defer s.leave()
	unused, err := s.unusedBlobs(ctx, []string{blobID})
	if err != nil {
		return false, fmt.Errorf("checking blob %q: %w", blobID, s.dbErr(ctx, err))
	}
	return !unused[blobID], nil
}
