package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cofferstore/coffer/internal/meta"
)

// Listings are keyset scans of an index: versions_current for ListObjects,
// versions_key for ListObjectVersions, the uploads' unique index for
// ListUploads. Without a delimiter a page is one range scan with LIMIT. With
// one, a page is a recursive query that walks the index one entry at a time
// (a "loose index scan"): after a key it seeks to the key's successor, after
// a key that rolls up into a common prefix it seeks past every key under the
// prefix (the successor of the prefix) and so skips the prefix's keys with
// one index descent, however many there are. Either way a page costs one
// index descent per entry at most, not a read of every key under it.
//
// The walk yields at most limit+2 entries: the first may be a common prefix
// not greater than the After (or KeyMarker) it starts from, which is
// skipped, and one past the page says whether the listing is truncated.
// The rest of the contract (common prefixes compare with After, markers)
// is applied in Go as the rows arrive.

// args collects the arguments of a statement built in pieces, so that
// every placeholder in the text has an argument and every argument a
// placeholder (PostgreSQL cannot type a parameter the text never uses).
type args []any

// add appends v and returns its placeholder.
func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// upperBound returns the condition that col is under the prefix whose
// successor is upper, "" when every key is (upper nil).
func (a *args) upperBound(col string, upper []byte) string {
	if upper == nil {
		return ""
	}
	return " AND " + col + " < " + a.add(upper)
}

// prefixSuccessor returns the least byte string greater than every string with
// prefix p, nil when there is none (p empty or all 0xff): the exclusive
// upper bound of the keys under p.
func prefixSuccessor(p string) []byte {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0xff {
			b[i]++
			return b[:i+1]
		}
	}
	return nil
}

// bucketID returns the id of a bucket, meta.ErrBucketNotFound if absent.
func (s *Store) bucketID(ctx context.Context, bucket string) (int64, error) {
	if checkBucketName(bucket) != nil {
		return 0, meta.ErrBucketNotFound
	}
	var id int64
	err := s.pool.QueryRow(ctx, `SELECT id FROM buckets WHERE name = $1`, bucket).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, meta.ErrBucketNotFound
	}
	return id, s.dbErr(ctx, err)
}

// currentColumns select a version with its key; v is the versions alias.
const currentColumns = `v.key, ` + versionColumns

// walkColumns name the columns of a walk over versions.
const walkColumns = `key, ord, version_id, is_latest, delete_marker, size, record, has_inline, cp`

// ListObjects implements meta.Objects.
func (s *Store) ListObjects(ctx context.Context, bucket string, opts meta.ListOptions) (meta.ListPage, error) {
	if err := s.enter(ctx); err != nil {
		return meta.ListPage{}, fmt.Errorf("listing objects: %w", err)
	}
	defer s.leave()
	page, err := s.listObjects(ctx, bucket, opts)
	if err != nil {
		return meta.ListPage{}, fmt.Errorf("listing objects in %q: %w", bucket, s.dbErr(ctx, err))
	}
	return page, nil
}

// listObjectsSQL returns the statement of a page of current versions:
// without delimiter, one range scan of versions_current; with one, a walk
// of it whose every step is the first current key at or after the
// successor of the previous key, or of its common prefix.
func listObjectsSQL(id int64, start, prefix, delim string, limit int) (string, args) {
	var a args
	b, from := a.add(id), a.add([]byte(start))
	upper := a.upperBound("v.key", prefixSuccessor(prefix))
	if delim == "" {
		return `SELECT ` + currentColumns + `, NULL::bytea FROM versions v
	WHERE v.bucket_id = ` + b + ` AND v.is_latest AND NOT v.delete_marker AND v.key >= ` + from + upper + `
	ORDER BY v.key LIMIT ` + a.add(limit+1), a
	}
	roll := `common_prefix(v.key, ` + a.add(len(prefix)) + `, ` + a.add([]byte(delim)) + `)`
	return `WITH RECURSIVE walk (n, ` + walkColumns + `) AS (
	(SELECT 1, ` + currentColumns + `, ` + roll + ` FROM versions v
		WHERE v.bucket_id = ` + b + ` AND v.is_latest AND NOT v.delete_marker AND v.key >= ` + from + upper + `
		ORDER BY v.key LIMIT 1)
	UNION ALL
	SELECT w.n + 1, nx.* FROM walk w CROSS JOIN LATERAL (
		SELECT ` + currentColumns + `, ` + roll + ` FROM versions v
		WHERE v.bucket_id = ` + b + ` AND v.is_latest AND NOT v.delete_marker
			AND v.key >= CASE WHEN w.cp IS NULL THEN w.key || '\x00'::bytea ELSE prefix_successor(w.cp) END` + upper + `
		ORDER BY v.key LIMIT 1) nx
	WHERE w.n < ` + a.add(limit+2) + `)
SELECT ` + walkColumns + ` FROM walk`, a
}

func (s *Store) listObjects(ctx context.Context, bucket string, opts meta.ListOptions) (page meta.ListPage, err error) {
	id, err := s.bucketID(ctx, bucket)
	if err != nil {
		return page, err
	}
	limit := opts.Limit
	if limit < 1 {
		limit = defaultPage
	}
	start := opts.Prefix
	if opts.After >= opts.Prefix {
		start = opts.After + "\x00" // the least key greater than After
	}
	query, a := listObjectsSQL(id, start, opts.Prefix, opts.Delimiter, limit)
	rows, err := s.pool.Query(ctx, query, a...)
	if err != nil {
		return page, err
	}
	var key, cp []byte
	var n nullableVersion
	dest := append(append([]any{&key}, n.dest()...), &cp)
	entries := 0
	_, err = pgx.ForEachRow(rows, dest, func() error {
		switch {
		case entries == limit:
			page.Truncated = true
		case cp != nil:
			// A common prefix not greater than After holds After: its keys
			// were all listed before.
			if string(cp) > opts.After {
				page.CommonPrefixes = append(page.CommonPrefixes, string(cp))
				page.NextAfter = string(cp)
				entries++
			}
		default:
			v, err := n.version(bucket, string(key))
			if err != nil {
				return err
			}
			page.Objects = append(page.Objects, v.obj)
			page.NextAfter = v.obj.Key
			entries++
		}
		return nil
	})
	if !page.Truncated {
		page.NextAfter = ""
	}
	return page, err
}

// ListObjectVersions implements meta.Objects.
func (s *Store) ListObjectVersions(ctx context.Context, bucket string, opts meta.VersionListOptions) (meta.VersionPage, error) {
	if err := s.enter(ctx); err != nil {
		return meta.VersionPage{}, fmt.Errorf("listing versions: %w", err)
	}
	defer s.leave()
	page, err := s.listVersions(ctx, bucket, opts)
	if err != nil {
		return meta.VersionPage{}, fmt.Errorf("listing versions in %q: %w", bucket, s.dbErr(ctx, err))
	}
	return page, nil
}

// listVersionsSQL returns the statement of a page of versions, keys in
// order and each key's versions newest first, in two parts: the versions
// of KeyMarker older than the VersionIDMarker version, when resuming inside
// a key, then the versions of the keys from start on. Without delimiter
// each part is a range scan of versions_key. With one, a walk: after a
// version comes the next version of its key or else the first version of
// the next key; after a common prefix, the first version past every key
// under it.
func listVersionsSQL(id int64, opts *meta.VersionListOptions, start string, resume bool, limit int) (string, args) {
	var a args
	b := a.add(id)
	first := `SELECT ` + currentColumns + ` FROM versions v WHERE false`
	if resume {
		km := a.add([]byte(opts.KeyMarker))
		marker := `SELECT m.ord FROM versions m WHERE m.bucket_id = ` + b + ` AND m.key = ` + km + ` AND m.version_id = 'null'`
		if opts.VersionIDMarker != meta.NullVersion {
			ord, ok := parseVersionID(opts.VersionIDMarker)
			id := opts.VersionIDMarker
			if !ok {
				ord, id = -1, "" // matches no version; the marker may hold bytes text cannot
			}
			marker = `SELECT m.ord FROM versions m WHERE m.bucket_id = ` + b + ` AND m.key = ` + km +
				` AND m.ord = ` + a.add(ord) + ` AND m.version_id = ` + a.add(id)
		}
		// An unknown marker has no ord, and the comparison with NULL
		// selects nothing: the page starts at the next key.
		first = `SELECT ` + currentColumns + ` FROM versions v
		WHERE v.bucket_id = ` + b + ` AND v.key = ` + km + ` AND v.ord < (` + marker + `) ORDER BY v.ord DESC`
	}
	from := a.add([]byte(start))
	upper := a.upperBound("v.key", prefixSuccessor(opts.Prefix))
	rest := `SELECT ` + currentColumns + ` FROM versions v
		WHERE v.bucket_id = ` + b + ` AND v.key >= ` + from + upper + ` ORDER BY v.key, v.ord DESC`
	if opts.Delimiter == "" {
		n := a.add(limit + 1)
		return `SELECT *, NULL::bytea FROM ((` + first + ` LIMIT ` + n + `) UNION ALL (` + rest + ` LIMIT ` + n + `) LIMIT ` + n + `) f`, a
	}
	plen, delim := a.add(len(opts.Prefix)), a.add([]byte(opts.Delimiter))
	roll := func(col string) string { return `common_prefix(` + col + `, ` + plen + `, ` + delim + `)` }
	return `WITH RECURSIVE walk (n, ` + walkColumns + `) AS (
	(SELECT 1, f.*, ` + roll("f.key") + ` FROM ((` + first + ` LIMIT 1) UNION ALL (` + rest + ` LIMIT 1) LIMIT 1) f)
	UNION ALL
	SELECT w.n + 1, nx.*, ` + roll("nx.key") + ` FROM walk w CROSS JOIN LATERAL (
		(SELECT ` + currentColumns + ` FROM versions v
			WHERE w.cp IS NULL AND v.bucket_id = ` + b + ` AND v.key = w.key AND v.ord < w.ord
			ORDER BY v.ord DESC LIMIT 1)
		UNION ALL
		(SELECT ` + currentColumns + ` FROM versions v
			WHERE v.bucket_id = ` + b + `
				AND v.key >= CASE WHEN w.cp IS NULL THEN w.key || '\x00'::bytea ELSE prefix_successor(w.cp) END` + upper + `
			ORDER BY v.key, v.ord DESC LIMIT 1)
		LIMIT 1) nx
	WHERE w.n < ` + a.add(limit+2) + `)
SELECT ` + walkColumns + ` FROM walk`, a
}

func (s *Store) listVersions(ctx context.Context, bucket string, opts meta.VersionListOptions) (page meta.VersionPage, err error) {
	id, err := s.bucketID(ctx, bucket)
	if err != nil {
		return page, err
	}
	limit := opts.Limit
	if limit < 1 {
		limit = defaultPage
	}
	// A VersionIDMarker resumes inside KeyMarker's versions (when KeyMarker
	// is under the prefix); either way the page goes on with the keys
	// after KeyMarker.
	start, resume := opts.Prefix, false
	if opts.KeyMarker >= opts.Prefix {
		start = opts.KeyMarker + "\x00"
		resume = opts.VersionIDMarker != "" && strings.HasPrefix(opts.KeyMarker, opts.Prefix)
	}
	query, a := listVersionsSQL(id, &opts, start, resume, limit)
	rows, err := s.pool.Query(ctx, query, a...)
	if err != nil {
		return page, err
	}
	var key, cp []byte
	var n nullableVersion
	dest := append(append([]any{&key}, n.dest()...), &cp)
	entries := 0
	_, err = pgx.ForEachRow(rows, dest, func() error {
		switch {
		case entries == limit:
			page.Truncated = true
		case cp != nil:
			if string(cp) > opts.KeyMarker {
				page.CommonPrefixes = append(page.CommonPrefixes, string(cp))
				page.NextKeyMarker, page.NextVersionIDMarker = string(cp), ""
				entries++
			}
		default:
			v, err := n.version(bucket, string(key))
			if err != nil {
				return err
			}
			page.Versions = append(page.Versions, v.obj)
			page.NextKeyMarker, page.NextVersionIDMarker = v.obj.Key, v.obj.VersionID
			entries++
		}
		return nil
	})
	if !page.Truncated {
		page.NextKeyMarker, page.NextVersionIDMarker = "", ""
	}
	return page, err
}

// ListUploads implements meta.Uploads.
func (s *Store) ListUploads(ctx context.Context, bucket string, opts meta.UploadListOptions) (meta.UploadPage, error) {
	if err := s.enter(ctx); err != nil {
		return meta.UploadPage{}, fmt.Errorf("listing uploads: %w", err)
	}
	defer s.leave()
	page, err := s.listUploads(ctx, bucket, opts)
	if err != nil {
		return meta.UploadPage{}, fmt.Errorf("listing uploads in %q: %w", bucket, s.dbErr(ctx, err))
	}
	return page, nil
}

// listUploadsSQL returns the statement of a page of uploads from (key,
// id) on, in (key, id) order: a range scan of the uploads' unique index,
// or with a delimiter a walk of it.
func listUploadsSQL(id int64, key, uploadID, prefix, delim string, limit int) (string, args) {
	var a args
	b, from := a.add(id), `(`+a.add([]byte(key))+`, `+a.add([]byte(uploadID))+`)`
	upper := a.upperBound("u.key", prefixSuccessor(prefix))
	if delim == "" {
		return `SELECT u.key, u.upload_id, u.record, NULL::bytea FROM uploads u
	WHERE u.bucket_id = ` + b + ` AND (u.key, u.upload_id) >= ` + from + upper + `
	ORDER BY u.key, u.upload_id LIMIT ` + a.add(limit+1), a
	}
	roll := `common_prefix(u.key, ` + a.add(len(prefix)) + `, ` + a.add([]byte(delim)) + `)`
	return `WITH RECURSIVE walk (n, key, upload_id, record, cp) AS (
	(SELECT 1, u.key, u.upload_id, u.record, ` + roll + ` FROM uploads u
		WHERE u.bucket_id = ` + b + ` AND (u.key, u.upload_id) >= ` + from + upper + `
		ORDER BY u.key, u.upload_id LIMIT 1)
	UNION ALL
	SELECT w.n + 1, nx.* FROM walk w CROSS JOIN LATERAL (
		SELECT u.key, u.upload_id, u.record, ` + roll + ` FROM uploads u
		WHERE u.bucket_id = ` + b + `
			AND (u.key, u.upload_id) >= (
				CASE WHEN w.cp IS NULL THEN w.key ELSE prefix_successor(w.cp) END,
				CASE WHEN w.cp IS NULL THEN w.upload_id || '\x00'::bytea ELSE ''::bytea END)` + upper + `
		ORDER BY u.key, u.upload_id LIMIT 1) nx
	WHERE w.n < ` + a.add(limit+2) + `)
SELECT key, upload_id, record, cp FROM walk`, a
}

func (s *Store) listUploads(ctx context.Context, bucket string, opts meta.UploadListOptions) (page meta.UploadPage, err error) {
	id, err := s.bucketID(ctx, bucket)
	if err != nil {
		return page, err
	}
	limit := opts.Limit
	if limit < 1 {
		limit = defaultPage
	}
	// The least (key, id) of the page: ids sort as bytes, the empty one
	// first, and the least string greater than x is x + NUL.
	startKey, startID := opts.Prefix, ""
	switch {
	case opts.KeyMarker < opts.Prefix:
	case opts.UploadIDMarker != "":
		startKey, startID = opts.KeyMarker, opts.UploadIDMarker+"\x00"
	default:
		startKey = opts.KeyMarker + "\x00"
	}
	query, a := listUploadsSQL(id, startKey, startID, opts.Prefix, opts.Delimiter, limit)
	rows, err := s.pool.Query(ctx, query, a...)
	if err != nil {
		return page, err
	}
	var key, uid, rec, cp []byte
	entries := 0
	_, err = pgx.ForEachRow(rows, []any{&key, &uid, &rec, &cp}, func() error {
		switch {
		case entries == limit:
			page.Truncated = true
		case cp != nil:
			if string(cp) > opts.KeyMarker {
				page.CommonPrefixes = append(page.CommonPrefixes, string(cp))
				page.NextKeyMarker, page.NextUploadIDMarker = string(cp), ""
				entries++
			}
		default:
			u, err := decodeUploadRow(bucket, key, uid, rec)
			if err != nil {
				return err
			}
			page.Uploads = append(page.Uploads, u)
			page.NextKeyMarker, page.NextUploadIDMarker = u.Object.Key, u.ID
			entries++
		}
		return nil
	})
	return page, err
}
