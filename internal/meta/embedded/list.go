package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferstore/coffer/internal/meta"
)

// ListObjects implements meta.Objects.
//
// Entries (keys, and common prefixes under a delimiter) are produced in byte
// order, and only entries greater than opts.After count. A key that rolls up
// into a common prefix yields that prefix once, then the iterator seeks past
// every key under it, so a page costs one seek per common prefix plus one step
// per object, however many keys the prefixes hold.
func (s *Store) ListObjects(ctx context.Context, bucket string, opts meta.ListOptions) (meta.ListPage, error) {
	if err := s.enter(ctx); err != nil {
		return meta.ListPage{}, fmt.Errorf("listing objects: %w", err)
	}
	defer s.leave()
	if err := s.requireBucket(bucket); err != nil {
		return meta.ListPage{}, fmt.Errorf("listing objects in %q: %w", bucket, err)
	}
	page, err := s.list(ctx, bucket, opts)
	if err != nil {
		return meta.ListPage{}, fmt.Errorf("listing objects in %q: %w", bucket, err)
	}
	return page, nil
}

func (s *Store) list(ctx context.Context, bucket string, opts meta.ListOptions) (page meta.ListPage, err error) {
	limit := opts.Limit
	if limit < 1 {
		limit = 1000
	}
	base := objectPrefix(bucket)
	lower := append(base[:len(base):len(base)], opts.Prefix...)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixSuccessor(lower)})
	if err != nil {
		return page, err
	}
	defer func() { err = errors.Join(err, it.Error(), it.Close()) }()

	var valid bool
	if opts.After < opts.Prefix {
		valid = it.First()
	} else {
		// The least key greater than After is After+"\x00".
		start := append(base[:len(base):len(base)], opts.After...)
		valid = it.SeekGE(append(start, 0))
	}
	delim := []byte(opts.Delimiter)
	plen := len(base) + len(opts.Prefix)
	// seek is reused for the encoded successor of each common prefix.
	seek := make([]byte, 0, 256)
	n := 0
	for valid && n < limit {
		if n&255 == 255 {
			if err := ctx.Err(); err != nil {
				return page, err
			}
		}
		k := it.Key()
		if len(delim) > 0 {
			if i := bytes.Index(k[plen:], delim); i >= 0 {
				end := plen + i + len(delim)
				cp := k[len(base):end]
				// cp <= After only when After lies under cp: After equals
				// cp or is inside it. Those keys were all listed before.
				if string(cp) > opts.After {
					page.CommonPrefixes = append(page.CommonPrefixes, string(cp))
					page.NextAfter = string(cp)
					n++
				}
				seek = append(seek[:0], k[:end]...)
				valid = it.SeekGE(successorInPlace(seek))
				continue
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return page, err
		}
		o := meta.Object{Bucket: bucket, Key: string(k[len(base):])}
		if _, err := decodeObject(v, &o); err != nil {
			return page, fmt.Errorf("object %q: %w", o.Key, err)
		}
		page.Objects = append(page.Objects, o)
		page.NextAfter = o.Key
		n++
		valid = it.Next()
	}
	// Every key left in range yields an entry greater than the last one
	// returned (roll-up is monotonic in key order), so a valid iterator means
	// exactly that more entries follow.
	page.Truncated = valid
	if !page.Truncated {
		page.NextAfter = ""
	}
	return page, nil
}

// successorInPlace turns p into the smallest key greater than every key with
// prefix p. p always holds the object key space byte, which is not 0xff, so a
// successor exists.
func successorInPlace(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xff {
			p[i]++
			return p[:i+1]
		}
	}
	panic("embedded: key without successor")
}
