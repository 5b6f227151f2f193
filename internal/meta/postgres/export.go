package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cofferstore/coffer/internal/meta"
)

// Copying a store (coffer meta migrate): the Exporter enumerates names the
// Store interface only looks up, and ImportVersions writes a key's versions
// with their ids, which PutObject would assign afresh.

var (
	_ meta.Exporter = (*Store)(nil)
	_ meta.Importer = (*Store)(nil)
)

// BucketConfigNames implements meta.Exporter.
func (s *Store) BucketConfigNames(ctx context.Context, bucket string) ([]string, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("listing bucket configs: %w", err)
	}
	defer s.leave()
	id, err := s.bucketID(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("listing configs of %q: %w", bucket, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT name FROM bucket_configs WHERE bucket_id = $1 ORDER BY name`, id)
	if err == nil {
		var names []string
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err == nil {
			return names, nil
		}
	}
	return nil, fmt.Errorf("listing configs of %q: %w", bucket, s.dbErr(ctx, err))
}

// RecordKinds implements meta.Exporter: one index descent per kind, expired
// records included.
func (s *Store) RecordKinds(ctx context.Context) ([]string, error) {
	if err := s.enter(ctx); err != nil {
		return nil, fmt.Errorf("listing record kinds: %w", err)
	}
	defer s.leave()
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE k (kind) AS (
			(SELECT kind FROM records ORDER BY kind LIMIT 1)
			UNION ALL
			SELECT (SELECT r.kind FROM records r WHERE r.kind > k.kind ORDER BY r.kind LIMIT 1) FROM k WHERE k.kind IS NOT NULL)
		SELECT kind FROM k WHERE kind IS NOT NULL`)
	if err == nil {
		var kinds []string
		kinds, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err == nil {
			return kinds, nil
		}
	}
	return nil, fmt.Errorf("listing record kinds: %w", s.dbErr(ctx, err))
}

// importOrds returns the ords of versions (newest first): a non-null
// version's ord is the one its id names, which must be this store's form
// (the embedded store's too); the null version's lies between its
// neighbours', at its Modified time when that fits.
func importOrds(versions []meta.Object) ([]int64, error) {
	bucket, key := versions[0].Bucket, versions[0].Key
	ords := make([]int64, len(versions))
	prev, nulls := int64(0), 0
	for i := len(versions) - 1; i >= 0; i-- {
		v := &versions[i]
		if v.Bucket != bucket || v.Key != key {
			return nil, fmt.Errorf("versions of several keys: %w", ErrInvalid)
		}
		if err := checkObject(v); err != nil {
			return nil, err
		}
		o, ok := parseVersionID(v.VersionID)
		switch {
		case v.VersionID == meta.NullVersion:
			if nulls++; nulls > 1 {
				return nil, fmt.Errorf("two null versions: %w", ErrInvalid)
			}
			o = max(prev+1, v.Modified.UnixNano())
			if i > 0 {
				if next, ok := parseVersionID(versions[i-1].VersionID); ok && o >= next {
					o = prev + 1
				}
			}
		case !ok:
			return nil, fmt.Errorf("version id %q is not this store's: %w", v.VersionID, ErrInvalid)
		}
		if o <= prev {
			return nil, fmt.Errorf("versions out of order: %w", ErrInvalid)
		}
		ords[i], prev = o, o
	}
	return ords, nil
}

// ImportVersions implements meta.Importer. It holds the bucket's lock
// shared and the key's lock, like PutObject, and writes every version in
// one transaction.
func (s *Store) ImportVersions(ctx context.Context, versions []meta.Object) error {
	if len(versions) == 0 {
		return nil
	}
	bucket, key := versions[0].Bucket, versions[0].Key
	fail := func(err error) error { return fmt.Errorf("importing versions of %q/%q: %w", bucket, key, err) }
	ords, err := importOrds(versions)
	if err != nil {
		return fail(err)
	}
	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.leave()
	err = s.inTx(ctx, func(t *tx) (*pgx.Batch, error) {
		st, err := s.readKey(ctx, t, bucket, key, true, "", nil)
		switch {
		case err != nil:
			return nil, err
		case !st.found:
			return nil, meta.ErrBucketNotFound
		case st.latest != nil:
			return nil, meta.ErrPreconditionFailed
		}
		b := &pgx.Batch{}
		for i := range versions {
			v := &versions[i]
			size, inline := v.Size, v.Inline
			if v.DeleteMarker {
				size, inline = 0, nil
			}
			b.Queue(`INSERT INTO versions
				(bucket_id, key, ord, version_id, is_latest, delete_marker, size, record, inline, blob_ids)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				st.bucketID, []byte(key), ords[i], v.VersionID, i == 0, v.DeleteMarker, size,
				encodeObject(v, false), inline, blobIDs(v))
			st.counted(size, i == 0 && !v.DeleteMarker, 1)
		}
		queueUsage(b, t, st.bucketID, st.usage)
		return b, nil
	})
	if err != nil {
		return fail(err)
	}
	return nil
}
