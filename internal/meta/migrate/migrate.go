// Package migrate copies one metadata store into another (the embedded
// store into PostgreSQL, say) and verifies the copy by counting. Blob bytes
// are not copied: both stores point at the same blob store.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/cofferstore/coffer/internal/meta"
)

// Source is a store that can be copied whole.
type Source interface {
	meta.Store
	meta.Exporter
}

// Destination is a store that can receive a copy.
type Destination interface {
	meta.Store
	meta.Importer
}

// ErrNotEmpty refuses to copy into a store that already holds buckets:
// merging two stores is not a migration.
var ErrNotEmpty = errors.New("destination store is not empty")

// ErrMismatch reports a copy whose counts differ from its source's.
var ErrMismatch = errors.New("copy does not match its source")

// Counts is what a store holds, for comparing a copy with its source.
type Counts struct {
	Buckets  int
	Configs  int
	Versions map[string]int // per bucket, delete markers included
	Uploads  int
	Parts    int
	Records  map[string]int // per kind
	Events   map[string]int // per target
}

// Equal reports whether two counts agree.
func (c Counts) Equal(o Counts) bool {
	return c.Buckets == o.Buckets && c.Configs == o.Configs && c.Uploads == o.Uploads && c.Parts == o.Parts &&
		maps.Equal(c.Versions, o.Versions) && maps.Equal(c.Records, o.Records) && maps.Equal(c.Events, o.Events)
}

func (c Counts) String() string {
	v := 0
	for _, n := range c.Versions {
		v += n
	}
	r := 0
	for _, n := range c.Records {
		r += n
	}
	e := 0
	for _, n := range c.Events {
		e += n
	}
	return fmt.Sprintf("%d buckets, %d bucket configs, %d versions, %d uploads with %d parts, %d records, %d pending events",
		c.Buckets, c.Configs, v, c.Uploads, c.Parts, r, e)
}

// Copy copies src into dst, which must hold no bucket, then counts both and
// returns the source's counts; ErrMismatch when the copy's differ. src must
// not change while it runs (stop the server first).
func Copy(ctx context.Context, src Source, dst Destination, progress func(string)) (Counts, error) {
	if progress == nil {
		progress = func(string) {}
	}
	existing, err := dst.ListBuckets(ctx)
	if err != nil {
		return Counts{}, fmt.Errorf("reading the destination: %w", err)
	}
	if len(existing) > 0 {
		return Counts{}, fmt.Errorf("%d buckets already there: %w", len(existing), ErrNotEmpty)
	}
	buckets, err := src.ListBuckets(ctx)
	if err != nil {
		return Counts{}, fmt.Errorf("listing buckets: %w", err)
	}
	for _, b := range buckets {
		progress("bucket " + b.Name)
		if err := copyBucket(ctx, src, dst, b); err != nil {
			return Counts{}, fmt.Errorf("copying bucket %s: %w", b.Name, err)
		}
	}
	progress("records")
	if err := copyRecords(ctx, src, dst); err != nil {
		return Counts{}, err
	}
	progress("pending events")
	if err := copyEvents(ctx, src, dst); err != nil {
		return Counts{}, err
	}
	progress("verifying")
	want, err := Count(ctx, src, src)
	if err != nil {
		return Counts{}, fmt.Errorf("counting the source: %w", err)
	}
	got, err := Count(ctx, dst, src)
	if err != nil {
		return want, fmt.Errorf("counting the copy: %w", err)
	}
	if !want.Equal(got) {
		return want, fmt.Errorf("source has %s; copy has %s: %w", want, got, ErrMismatch)
	}
	return want, nil
}

func copyBucket(ctx context.Context, src Source, dst Destination, b meta.Bucket) error {
	if err := dst.CreateBucket(ctx, b); err != nil {
		return err
	}
	names, err := src.BucketConfigNames(ctx, b.Name)
	if err != nil {
		return err
	}
	for _, n := range names {
		data, err := src.GetBucketConfig(ctx, b.Name, n)
		if err != nil {
			return fmt.Errorf("config %s: %w", n, err)
		}
		if err := dst.PutBucketConfig(ctx, b.Name, n, data); err != nil {
			return fmt.Errorf("config %s: %w", n, err)
		}
	}
	if err := copyVersions(ctx, src, dst, b.Name); err != nil {
		return err
	}
	return copyUploads(ctx, src, dst, b.Name)
}

// copyVersions imports each key's versions in one call; a key's versions
// may straddle listing pages, so a key is imported when the next begins.
func copyVersions(ctx context.Context, src Source, dst Destination, bucket string) error {
	var key string
	var versions []meta.Object
	flush := func() error {
		if len(versions) == 0 {
			return nil
		}
		for i := range versions {
			v := &versions[i]
			if v.DeleteMarker || len(v.Segments) > 0 {
				continue
			}
			full, err := src.GetObject(ctx, bucket, key, v.VersionID)
			if err != nil {
				return fmt.Errorf("reading %s version %s: %w", key, v.VersionID, err)
			}
			v.Inline = full.Inline
		}
		err := dst.ImportVersions(ctx, versions)
		versions = versions[:0]
		if err != nil {
			return fmt.Errorf("importing %s: %w", key, err)
		}
		return nil
	}
	opts := meta.VersionListOptions{Limit: 1000}
	for {
		page, err := src.ListObjectVersions(ctx, bucket, opts)
		if err != nil {
			return err
		}
		for _, v := range page.Versions {
			if v.Key != key {
				if err := flush(); err != nil {
					return err
				}
				key = v.Key
			}
			versions = append(versions, v)
		}
		if !page.Truncated {
			return flush()
		}
		opts.KeyMarker, opts.VersionIDMarker = page.NextKeyMarker, page.NextVersionIDMarker
	}
}

func copyUploads(ctx context.Context, src Source, dst Destination, bucket string) error {
	opts := meta.UploadListOptions{Limit: 1000}
	for {
		page, err := src.ListUploads(ctx, bucket, opts)
		if err != nil {
			return err
		}
		for _, u := range page.Uploads {
			if err := dst.CreateUpload(ctx, u); err != nil {
				return fmt.Errorf("upload %s: %w", u.ID, err)
			}
			after := 0
			for {
				parts, more, err := src.ListParts(ctx, bucket, u.Object.Key, u.ID, after, 1000)
				if err != nil {
					return fmt.Errorf("parts of upload %s: %w", u.ID, err)
				}
				for _, p := range parts {
					if _, err := dst.PutPart(ctx, bucket, u.Object.Key, u.ID, p); err != nil {
						return fmt.Errorf("part %d of upload %s: %w", p.Number, u.ID, err)
					}
					after = p.Number
				}
				if !more {
					break
				}
			}
		}
		if !page.Truncated {
			return nil
		}
		opts.KeyMarker, opts.UploadIDMarker = page.NextKeyMarker, page.NextUploadIDMarker
	}
}

func copyRecords(ctx context.Context, src Source, dst Destination) error {
	kinds, err := src.RecordKinds(ctx)
	if err != nil {
		return fmt.Errorf("listing record kinds: %w", err)
	}
	for _, kind := range kinds {
		after := ""
		for {
			recs, err := src.ListRecords(ctx, kind, after, 1000)
			if err != nil {
				return fmt.Errorf("listing %s records: %w", kind, err)
			}
			if len(recs) == 0 {
				break
			}
			for _, r := range recs {
				r.Rev = meta.RevNew
				if _, err := dst.PutRecord(ctx, r); err != nil {
					return fmt.Errorf("record %s/%s: %w", kind, r.ID, err)
				}
			}
			after = recs[len(recs)-1].ID
		}
	}
	return nil
}

func copyEvents(ctx context.Context, src Source, dst Destination) error {
	depths, err := src.OutboxDepths(ctx)
	if err != nil {
		return fmt.Errorf("reading the outbox: %w", err)
	}
	for _, target := range slices.Sorted(maps.Keys(depths)) {
		evs, err := src.PendingEvents(ctx, target, depths[target])
		if err != nil {
			return fmt.Errorf("events of %s: %w", target, err)
		}
		// AppendEvents assigns new sequence numbers in the same order.
		if err := dst.AppendEvents(ctx, evs); err != nil {
			return fmt.Errorf("events of %s: %w", target, err)
		}
	}
	return nil
}

// Count counts what s holds. names enumerates record kinds and bucket
// configs (the source's, when counting a copy).
func Count(ctx context.Context, s meta.Store, names meta.Exporter) (Counts, error) {
	c := Counts{Versions: map[string]int{}, Records: map[string]int{}}
	buckets, err := s.ListBuckets(ctx)
	if err != nil {
		return c, err
	}
	c.Buckets = len(buckets)
	for _, b := range buckets {
		cfgs, err := names.BucketConfigNames(ctx, b.Name)
		if err != nil && !errors.Is(err, meta.ErrBucketNotFound) {
			return c, err
		}
		for _, n := range cfgs {
			if _, err := s.GetBucketConfig(ctx, b.Name, n); err == nil {
				c.Configs++
			} else if !errors.Is(err, meta.ErrConfigNotFound) {
				return c, err
			}
		}
		opts := meta.VersionListOptions{Limit: 1000}
		for {
			page, err := s.ListObjectVersions(ctx, b.Name, opts)
			if err != nil {
				return c, err
			}
			c.Versions[b.Name] += len(page.Versions)
			if !page.Truncated {
				break
			}
			opts.KeyMarker, opts.VersionIDMarker = page.NextKeyMarker, page.NextVersionIDMarker
		}
		uopts := meta.UploadListOptions{Limit: 1000}
		for {
			page, err := s.ListUploads(ctx, b.Name, uopts)
			if err != nil {
				return c, err
			}
			c.Uploads += len(page.Uploads)
			for _, u := range page.Uploads {
				parts, _, err := s.ListParts(ctx, b.Name, u.Object.Key, u.ID, 0, 10000)
				if err != nil {
					return c, err
				}
				c.Parts += len(parts)
			}
			if !page.Truncated {
				break
			}
			uopts.KeyMarker, uopts.UploadIDMarker = page.NextKeyMarker, page.NextUploadIDMarker
		}
	}
	kinds, err := names.RecordKinds(ctx)
	if err != nil {
		return c, err
	}
	for _, kind := range kinds {
		after := ""
		for {
			recs, err := s.ListRecords(ctx, kind, after, 1000)
			if err != nil {
				return c, err
			}
			if len(recs) == 0 {
				break
			}
			c.Records[kind] += len(recs)
			after = recs[len(recs)-1].ID
		}
	}
	if c.Events, err = s.OutboxDepths(ctx); err != nil {
		return c, err
	}
	return c, nil
}
