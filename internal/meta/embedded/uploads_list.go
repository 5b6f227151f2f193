package embedded

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferstore/coffer/internal/meta"
)

// ListUploads implements meta.Uploads. Like ListObjects it is one bounded
// range scan: a key that rolls up into a common prefix yields the prefix
// once, then the iterator seeks past every upload under it.
func (s *Store) ListUploads(ctx context.Context, bucket string, opts meta.UploadListOptions) (meta.UploadPage, error) {
	if err := s.enter(ctx); err != nil {
		return meta.UploadPage{}, fmt.Errorf("listing uploads: %w", err)
	}
	defer s.leave()
	if err := s.requireBucket(bucket); err != nil {
		return meta.UploadPage{}, fmt.Errorf("listing uploads in %q: %w", bucket, err)
	}
	page, err := s.listUploads(ctx, bucket, opts)
	if err != nil {
		return meta.UploadPage{}, fmt.Errorf("listing uploads in %q: %w", bucket, err)
	}
	return page, nil
}

func (s *Store) listUploads(ctx context.Context, bucket string, opts meta.UploadListOptions) (page meta.UploadPage, err error) {
	limit := opts.Limit
	if limit < 1 {
		limit = defaultPage
	}
	base := uploadPrefix(bucket)
	lower := appendEscaped(base[:len(base):len(base)], opts.Prefix)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixSuccessor(lower)})
	if err != nil {
		return page, err
	}
	defer func() { err = errors.Join(err, it.Error(), it.Close()) }()

	// Position on the first upload after the markers; keys are escaped and
	// terminated (keys.go), so (key, id) order is byte order.
	var valid bool
	start := appendEscaped(base[:len(base):len(base)], opts.KeyMarker)
	switch {
	case opts.KeyMarker < opts.Prefix:
		valid = it.First()
	case opts.UploadIDMarker != "":
		// The least ID greater than the marker is the marker + NUL.
		start = append(start, 0, escEnd)
		start = append(start, opts.UploadIDMarker...)
		valid = it.SeekGE(append(start, 0))
	default:
		// Just past every upload of KeyMarker, before any longer key.
		valid = it.SeekGE(append(start, 0, escEnd+1))
	}
	delim := opts.Delimiter
	seek := make([]byte, 0, 256)
	n := 0
	for valid && n < limit {
		if n&255 == 255 {
			if err := ctx.Err(); err != nil {
				return page, err
			}
		}
		key, id, ok := splitEscaped(it.Key()[len(base):])
		if !ok {
			return page, fmt.Errorf("upload key %q: %w", it.Key(), errCorrupt)
		}
		if delim != "" {
			if i := strings.Index(key[len(opts.Prefix):], delim); i >= 0 {
				cp := key[:len(opts.Prefix)+i+len(delim)]
				// cp <= KeyMarker only when KeyMarker lies under cp: those
				// uploads were all listed before.
				if cp > opts.KeyMarker {
					page.CommonPrefixes = append(page.CommonPrefixes, cp)
					page.NextKeyMarker, page.NextUploadIDMarker = cp, ""
					n++
				}
				seek = appendEscaped(append(seek[:0], base...), cp)
				valid = it.SeekGE(successorInPlace(seek))
				continue
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return page, err
		}
		u := meta.Upload{ID: string(id), Object: meta.Object{Bucket: bucket, Key: key}}
		if err := decodeUpload(v, &u); err != nil {
			return page, fmt.Errorf("upload %q of %q: %w", u.ID, key, err)
		}
		page.Uploads = append(page.Uploads, u)
		page.NextKeyMarker, page.NextUploadIDMarker = key, u.ID
		n++
		valid = it.Next()
	}
	// As in list: every upload left in range yields an entry greater than
	// the last one returned.
	page.Truncated = valid
	return page, nil
}
