package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cofferstore/coffer/internal/meta"
)

// Multipart state is the uploads table (one row per upload, unique by
// bucket, key and upload id, with a surrogate row_id) and the parts table
// (one row per part, keyed by row_id and number). The expiry query walks
// the uploads_initiated index; a part's blob is in the parts_blob index,
// which BlobInUse and the release checks read alongside the versions'.
//
// Locking. The upload's row lock plays the role of a read-write lock:
// PutPart takes it FOR KEY SHARE (so parts of one upload, which clients send
// in parallel, do not wait for each other), while CompleteUpload,
// AbortUpload and DeleteBucket take it exclusively, through FOR UPDATE or
// DELETE. So a completion or abort waits for the PutParts in progress and
// then, in a later statement whose snapshot includes their commits, sees
// and removes every part; a PutPart that comes after finds no upload. Two
// PutParts of one number meet on the part's row: the loser of the insert
// locks the winner's row and replaces it, so each returns what it really
// replaced.

// maxPartNumber is S3's highest part number.
const maxPartNumber = 10000

// defaultPage is the page size used when a caller passes a limit below 1.
const defaultPage = 1000

var _ meta.Uploads = (*Store)(nil)

// sqlUploadRow selects the row of upload ($1 bucket name, $2 key, $3 id).
const sqlUploadRow = `SELECT row_id FROM uploads
	WHERE bucket_id = (SELECT id FROM buckets WHERE name = $1) AND key = $2 AND upload_id = $3`

// CreateUpload implements meta.Uploads. It refuses, with ErrInvalid, an
// empty ID or one already in progress for the same bucket and key: taking it
// over would adopt the earlier upload's parts. It holds the bucket's lock
// shared, so that DeleteBucket cannot pass between its check and commit.
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
	inserted := false
	err := s.inTx(ctx, func(t *tx) (*pgx.Batch, error) {
		var bucketID int64
		b := &pgx.Batch{}
		b.Queue(sqlLockShared, s.bucketLock(bucket))
		queueBucketID(b, bucket, &bucketID)
		// The counter's upsert follows the insert only when there was one;
		// the statement's row count is then 1, else 0.
		b.Queue(`WITH ins AS (INSERT INTO uploads (bucket_id, key, upload_id, initiated_ns, record)
				SELECT id, $2, $3, $4, $5 FROM buckets WHERE name = $1
				ON CONFLICT (bucket_id, key, upload_id) DO NOTHING
				RETURNING bucket_id)
			INSERT INTO bucket_usage AS u (bucket_id, shard, uploads)
			SELECT bucket_id, $6::smallint, 1 FROM ins `+usageSet,
			bucket, []byte(key), []byte(id), saturatedNanos(u.Initiated), encodeUpload(&u), usageShard(t)).Exec(func(tag pgconn.CommandTag) error {
			inserted = tag.RowsAffected() == 1
			return nil
		})
		return b, nil
	})
	if err == nil && !inserted {
		err = fmt.Errorf("id in use: %w", ErrInvalid)
	}
	if err != nil {
		return fmt.Errorf("creating upload %q of %q/%q: %w", id, bucket, key, err)
	}
	return nil
}

// decodeUploadRow builds the upload of a row.
func decodeUploadRow(bucket string, key, id, rec []byte) (meta.Upload, error) {
	u := meta.Upload{ID: string(id), Object: meta.Object{Bucket: bucket, Key: string(key)}}
	if err := decodeUpload(rec, &u); err != nil {
		return u, fmt.Errorf("upload %q of %q record: %w", u.ID, u.Object.Key, err)
	}
	return u, nil
}

// GetUpload implements meta.Uploads.
func (s *Store) GetUpload(ctx context.Context, bucket, key, id string) (meta.Upload, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Upload{}, fmt.Errorf("getting upload: %w", err)
	}
	defer s.leave()
	fail := func(err error) (meta.Upload, error) {
		return meta.Upload{}, fmt.Errorf("getting upload %q of %q/%q: %w", id, bucket, key, err)
	}
	if checkBucketName(bucket) != nil {
		return fail(meta.ErrBucketNotFound)
	}
	var rec []byte
	err := s.pool.QueryRow(ctx, `SELECT u.record FROM buckets b
		LEFT JOIN uploads u ON u.bucket_id = b.id AND u.key = $2 AND u.upload_id = $3
		WHERE b.name = $1`, bucket, []byte(key), []byte(id)).Scan(&rec)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fail(meta.ErrBucketNotFound)
	case err != nil:
		return fail(s.dbErr(ctx, err))
	case rec == nil:
		return fail(meta.ErrUploadNotFound)
	}
	u, err := decodeUploadRow(bucket, []byte(key), []byte(id), rec)
	if err != nil {
		return fail(err)
	}
	return u, nil
}

// PutPart implements meta.Uploads; see the locking notes above. The
// replaced part is returned only when no record references its blob any
// more, as PutObject does for segments; re-putting a part with the same
// blob thus returns nil.
func (s *Store) PutPart(ctx context.Context, bucket, key, id string, p meta.Part) (*meta.Part, error) {
	if p.Number < 1 || p.Number > maxPartNumber || p.Size < 0 {
		return nil, fmt.Errorf("putting part %d (size %d) of upload %q: %w", p.Number, p.Size, id, ErrInvalid)
	}
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("putting part: %w", err)
	}
	defer s.leave()
	fail := func(err error) (*meta.Part, error) {
		return nil, fmt.Errorf("putting part %d of upload %q: %w", p.Number, id, err)
	}
	if checkBucketName(bucket) != nil {
		return fail(meta.ErrUploadNotFound)
	}
	var old *meta.Part
	rec := encodePart(&p)
	err := s.inTx(ctx, func(t *tx) (*pgx.Batch, error) {
		old = nil
		var row *int64
		var inserted bool
		b := &pgx.Batch{}
		b.Queue(`WITH u AS (`+sqlUploadRow+` FOR KEY SHARE),
			ins AS (INSERT INTO parts (upload_row, number, blob_id, size, record)
				SELECT row_id, $4, $5::bytea, $6, $7 FROM u
				ON CONFLICT (upload_row, number) DO NOTHING RETURNING 1)
			SELECT (SELECT row_id FROM u), EXISTS (SELECT 1 FROM ins)`,
			bucket, []byte(key), []byte(id), p.Number, []byte(p.BlobID), p.Size, rec).QueryRow(func(r pgx.Row) error {
			return r.Scan(&row, &inserted)
		})
		if err := t.send(ctx, b); err != nil {
			return nil, err
		}
		switch {
		case row == nil:
			return nil, meta.ErrUploadNotFound
		case inserted:
			return nil, nil
		}
		// The number is taken: lock the part (waiting for a concurrent
		// writer of it to commit), read what it holds and replace it.
		replaced := &meta.Part{Number: p.Number}
		last := &pgx.Batch{}
		last.Queue(`SELECT blob_id, size, record FROM parts WHERE upload_row = $1 AND number = $2 FOR UPDATE`,
			*row, p.Number).QueryRow(func(r pgx.Row) error {
			var blob, rec []byte
			if err := r.Scan(&blob, &replaced.Size, &rec); err != nil {
				return err
			}
			replaced.BlobID = string(blob)
			if err := decodePart(rec, replaced); err != nil {
				return fmt.Errorf("part record: %w", err)
			}
			old = replaced
			return nil
		})
		last.Queue(`UPDATE parts SET blob_id = $3, size = $4, record = $5 WHERE upload_row = $1 AND number = $2`,
			*row, p.Number, []byte(p.BlobID), p.Size, rec)
		return last, nil
	})
	if err != nil {
		return fail(err)
	}
	if old == nil || old.BlobID == p.BlobID {
		return nil, nil
	}
	if len(s.releasableParts(ctx, []meta.Part{*old})) == 0 {
		return nil, nil
	}
	return old, nil
}

// partColumns are read by scanPart, in order; p is the parts alias.
const partColumns = `p.number, p.blob_id, p.size, p.record`

type partRow struct {
	number *int32
	blob   []byte
	size   *int64
	rec    []byte
}

func (r *partRow) dest() []any { return []any{&r.number, &r.blob, &r.size, &r.rec} }

// part returns the part read, ok false when the columns were NULL.
func (r *partRow) part() (meta.Part, bool, error) {
	if r.number == nil {
		return meta.Part{}, false, nil
	}
	p := meta.Part{Number: int(*r.number), BlobID: string(r.blob), Size: *r.size}
	if err := decodePart(r.rec, &p); err != nil {
		return p, false, fmt.Errorf("part %d record: %w", p.Number, err)
	}
	return p, true, nil
}

// collectParts reads rows of partColumns.
func collectParts(rows pgx.Rows) ([]meta.Part, error) {
	var out []meta.Part
	var r partRow
	_, err := pgx.ForEachRow(rows, r.dest(), func() error {
		p, ok, err := r.part()
		if ok {
			out = append(out, p)
		}
		return err
	})
	return out, err
}

// ListParts implements meta.Uploads with one statement, so the upload and
// its parts come from one snapshot. A limit below 1 means 1000.
func (s *Store) ListParts(ctx context.Context, bucket, key, id string, after, limit int) ([]meta.Part, bool, error) {
	if limit < 1 {
		limit = defaultPage
	}
	limit = min(limit, maxPartNumber)
	after = max(min(after, maxPartNumber), -1)
	if err := s.enter(ctx); err != nil {
		return nil, false, fmt.Errorf("listing parts: %w", err)
	}
	defer s.leave()
	fail := func(err error) ([]meta.Part, bool, error) {
		return nil, false, fmt.Errorf("listing parts of upload %q: %w", id, err)
	}
	if checkBucketName(bucket) != nil {
		return fail(meta.ErrUploadNotFound)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+partColumns+` FROM uploads u
		LEFT JOIN LATERAL (SELECT * FROM parts p WHERE p.upload_row = u.row_id AND p.number > $4
			ORDER BY p.number LIMIT $5) p ON true
		WHERE u.bucket_id = (SELECT id FROM buckets WHERE name = $1) AND u.key = $2 AND u.upload_id = $3`,
		bucket, []byte(key), []byte(id), after, limit+1)
	if err != nil {
		return fail(s.dbErr(ctx, err))
	}
	found := false
	var parts []meta.Part
	var r partRow
	_, err = pgx.ForEachRow(rows, r.dest(), func() error {
		found = true
		p, ok, err := r.part()
		if ok {
			parts = append(parts, p)
		}
		return err
	})
	if err != nil {
		return fail(s.dbErr(ctx, err))
	}
	if !found {
		return fail(meta.ErrUploadNotFound)
	}
	if len(parts) > limit {
		return parts[:limit], true, nil
	}
	return parts, false, nil
}

// CompleteUpload implements meta.Uploads. It holds the bucket's lock
// shared, the key's lock, and then the upload's row exclusively, so the
// condition, the replaced version and the set of parts are all read as of
// the commit. In the one transaction the parts' rows go and obj's version
// comes, so a blob obj uses is referenced at every point in time. The
// replaced record's Segments and the unused parts are only those whose
// blobs nothing references any more.
func (s *Store) CompleteUpload(ctx context.Context, bucket, key, id string, obj meta.Object, opts meta.PutOptions) (meta.PutResult, []meta.Part, error) {
	if obj.Bucket != bucket || obj.Key != key {
		return meta.PutResult{}, nil, fmt.Errorf("completing upload %q of %q/%q: object names %q/%q: %w", id, bucket, key, obj.Bucket, obj.Key, ErrInvalid)
	}
	if err := checkObject(&obj); err != nil {
		return meta.PutResult{}, nil, fmt.Errorf("completing upload %q: %w", id, err)
	}
	if err := checkNotice(opts.Notice); err != nil {
		return meta.PutResult{}, nil, fmt.Errorf("completing upload %q: %w", id, err)
	}
	if err := s.enter(ctx); err != nil {
		return meta.PutResult{}, nil, fmt.Errorf("completing upload: %w", err)
	}
	defer s.leave()
	var gone *version
	var parts []meta.Part
	err := s.inTx(ctx, func(t *tx) (*pgx.Batch, error) {
		gone, parts = nil, nil
		var row *int64
		then := &pgx.Batch{}
		then.Queue(sqlUploadRow+` FOR UPDATE`, bucket, []byte(key), []byte(id)).Query(func(rows pgx.Rows) error {
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if len(ids) == 1 {
				row = &ids[0]
			}
			return err
		})
		// A later statement than the lock: its snapshot holds every part
		// committed by the PutParts the lock waited for.
		then.Queue(`DELETE FROM parts p WHERE p.upload_row = (`+sqlUploadRow+`) RETURNING `+partColumns,
			bucket, []byte(key), []byte(id)).Query(func(rows pgx.Rows) error {
			var err error
			parts, err = collectParts(rows)
			return err
		})
		st, err := s.readKey(ctx, t, bucket, key, true, "", then)
		if err != nil {
			return nil, err
		}
		if !st.found {
			return nil, meta.ErrBucketNotFound
		}
		if row == nil {
			return nil, meta.ErrUploadNotFound
		}
		now := time.Now()
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM uploads WHERE row_id = $1`, *row)
		st.usage.Uploads--
		if gone, err = s.addVersion(b, st, &obj, opts.Cond, now); err != nil {
			return nil, err
		}
		queueNotice(b, opts.Notice, &obj, now)
		queueUsage(b, t, st.bucketID, st.usage)
		return b, nil
	})
	if err != nil {
		return meta.PutResult{}, nil, fmt.Errorf("completing upload %q of %q/%q: %w", id, bucket, key, err)
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
	return meta.PutResult{VersionID: obj.VersionID, Replaced: s.released(ctx, gone)}, s.releasableParts(ctx, unused), nil
}

// AbortUpload implements meta.Uploads: it locks the upload's row, then
// removes its parts (as of after the PutParts the lock waited for) and the
// upload, in one round trip. The returned parts are only those whose blobs
// nothing references any more.
func (s *Store) AbortUpload(ctx context.Context, bucket, key, id string) ([]meta.Part, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("aborting upload: %w", err)
	}
	defer s.leave()
	if checkBucketName(bucket) != nil {
		return nil, fmt.Errorf("aborting upload %q: %w", id, meta.ErrUploadNotFound)
	}
	var parts []meta.Part
	found := false
	err := s.inTx(ctx, func(t *tx) (*pgx.Batch, error) {
		found, parts = false, nil
		b := &pgx.Batch{}
		b.Queue(sqlUploadRow+` FOR UPDATE`, bucket, []byte(key), []byte(id)).Query(func(rows pgx.Rows) error {
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			found = len(ids) == 1
			return err
		})
		b.Queue(`DELETE FROM parts p WHERE p.upload_row = (`+sqlUploadRow+`) RETURNING `+partColumns,
			bucket, []byte(key), []byte(id)).Query(func(rows pgx.Rows) error {
			var err error
			parts, err = collectParts(rows)
			return err
		})
		b.Queue(`WITH d AS (DELETE FROM uploads WHERE row_id = (`+sqlUploadRow+`) RETURNING bucket_id)
			INSERT INTO bucket_usage AS u (bucket_id, shard, uploads)
			SELECT bucket_id, $4::smallint, -1 FROM d `+usageSet, bucket, []byte(key), []byte(id), usageShard(t))
		return b, nil
	})
	if err == nil && !found {
		err = meta.ErrUploadNotFound // the transaction changed nothing
	}
	if err != nil {
		return nil, fmt.Errorf("aborting upload %q: %w", id, err)
	}
	return s.releasableParts(ctx, parts), nil
}

// releasableParts keeps the parts whose blobs no record or part
// references, after a commit that dropped their references; see
// releasable for why this runs after the commit and why a read error
// withholds them all.
func (s *Store) releasableParts(ctx context.Context, parts []meta.Part) []meta.Part {
	if len(parts) == 0 {
		return nil
	}
	ids := make([]string, len(parts))
	for i, p := range parts {
		ids[i] = p.BlobID
	}
	unused, err := s.unusedBlobsAfterCommit(ctx, ids)
	if err != nil {
		s.log.Error("checking part blob references after a commit; leaving blobs to the orphan collector", "err", err)
		return nil
	}
	var out []meta.Part
	for _, p := range parts {
		if unused[p.BlobID] {
			out = append(out, p)
		}
	}
	return out
}

// UploadsInitiatedBefore implements meta.Uploads with a range scan of the
// uploads_initiated index: its cost follows the uploads returned, not the
// uploads in progress. A limit below 1 means 1000. Oldest uploads come
// first. The index holds nanoseconds saturated to the bigint range, so
// uploads initiated after the year 2262 are found only by a t after it.
func (s *Store) UploadsInitiatedBefore(ctx context.Context, t time.Time, limit int) ([]meta.Upload, error) {
	if limit < 1 {
		limit = defaultPage
	}
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("finding uploads initiated before %v: %w", t, err)
	}
	defer s.leave()
	cmp := "<"
	if t.After(maxNanosTime) {
		cmp = "<="
	}
	rows, err := s.pool.Query(ctx, `SELECT b.name, u.key, u.upload_id, u.record
		FROM uploads u JOIN buckets b ON b.id = u.bucket_id
		WHERE u.initiated_ns `+cmp+` $1 ORDER BY u.initiated_ns, u.row_id LIMIT $2`, saturatedNanos(t), limit)
	if err != nil {
		return nil, fmt.Errorf("finding uploads initiated before %v: %w", t, s.dbErr(ctx, err))
	}
	var out []meta.Upload
	var bucket string
	var key, id, rec []byte
	_, err = pgx.ForEachRow(rows, []any{&bucket, &key, &id, &rec}, func() error {
		u, err := decodeUploadRow(bucket, key, id, rec)
		out = append(out, u)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("finding uploads initiated before %v: %w", t, s.dbErr(ctx, err))
	}
	return out, nil
}
