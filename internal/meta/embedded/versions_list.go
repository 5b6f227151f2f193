package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferstore/coffer/internal/meta"
)

// ListObjectVersions implements meta.Objects. It merges two ordered scans,
// the current versions under nsObject and the others under nsVersion, key by
// key: a key's current version comes first (it is the newest), then its
// noncurrent versions in vkey order. As in ListObjects, a key that rolls up
// into a common prefix yields the prefix once and both scans seek past it.
func (s *Store) ListObjectVersions(ctx context.Context, bucket string, opts meta.VersionListOptions) (meta.VersionPage, error) {
	if err := s.enter(ctx); err != nil {
		return meta.VersionPage{}, fmt.Errorf("listing versions: %w", err)
	}
	defer s.leave()
	if err := s.requireBucket(bucket); err != nil {
		return meta.VersionPage{}, fmt.Errorf("listing versions in %q: %w", bucket, err)
	}
	snap := s.db.NewSnapshot()
	defer snap.Close()
	page, err := listVersions(ctx, snap, bucket, opts)
	if err != nil {
		return meta.VersionPage{}, fmt.Errorf("listing versions in %q: %w", bucket, err)
	}
	return page, nil
}

// versionScan is the merge of the two scans.
type versionScan struct {
	oBase, wBase []byte
	o, w         *pebble.Iterator
	oOK, wOK     bool
	seek         []byte
}

// keys returns the keys the two iterators are on ("" and false when spent).
func (vs *versionScan) oKey() (string, bool) {
	if !vs.oOK {
		return "", false
	}
	return string(vs.o.Key()[len(vs.oBase):]), true
}

func (vs *versionScan) wKey() (string, vkey, error) {
	key, rest, ok := splitEscaped(vs.w.Key()[len(vs.wBase):])
	if !ok || len(rest) != len(vkey{}) {
		return "", vkey{}, fmt.Errorf("version key %q: %w", vs.w.Key(), errCorrupt)
	}
	return key, vkey(rest), nil
}

// skipKey positions both scans past every version of key, and past every
// key under it when under is set (key is then a common prefix).
func (vs *versionScan) skipPast(key string, under bool) {
	vs.seek = append(append(vs.seek[:0], vs.oBase...), key...)
	if under {
		vs.oOK = vs.o.SeekGE(successorInPlace(vs.seek))
	} else {
		vs.oOK = vs.o.SeekGE(append(vs.seek, 0))
	}
	vs.seek = appendEscaped(append(vs.seek[:0], vs.wBase...), key)
	if under {
		vs.wOK = vs.w.SeekGE(successorInPlace(vs.seek))
	} else {
		vs.wOK = vs.w.SeekGE(append(vs.seek, 0, escEnd+1))
	}
}

func listVersions(ctx context.Context, r pebble.Reader, bucket string, opts meta.VersionListOptions) (page meta.VersionPage, err error) {
	limit := opts.Limit
	if limit < 1 {
		limit = defaultPage
	}
	vs := &versionScan{oBase: objectPrefix(bucket), wBase: versionPrefix(bucket), seek: make([]byte, 0, 256)}
	oLower := append(vs.oBase[:len(vs.oBase):len(vs.oBase)], opts.Prefix...)
	wLower := appendEscaped(vs.wBase[:len(vs.wBase):len(vs.wBase)], opts.Prefix)
	if vs.o, err = r.NewIter(&pebble.IterOptions{LowerBound: oLower, UpperBound: prefixSuccessor(oLower)}); err != nil {
		return page, err
	}
	defer func() { err = errors.Join(err, vs.o.Error(), vs.o.Close()) }()
	if vs.w, err = r.NewIter(&pebble.IterOptions{LowerBound: wLower, UpperBound: prefixSuccessor(wLower)}); err != nil {
		return page, err
	}
	defer func() { err = errors.Join(err, vs.w.Error(), vs.w.Close()) }()

	// resume is the key whose remaining versions come first: its current
	// version is skipped, and its noncurrent ones start at wFrom.
	var resume string
	resuming := false
	switch {
	case opts.KeyMarker < opts.Prefix:
		vs.oOK, vs.wOK = vs.o.First(), vs.w.First()
	case opts.VersionIDMarker == "":
		vs.skipPast(opts.KeyMarker, false)
	default:
		start, found, err := markerPosition(r, bucket, opts.KeyMarker, opts.VersionIDMarker)
		if err != nil {
			return page, err
		}
		vs.skipPast(opts.KeyMarker, false)
		if found {
			resume, resuming = opts.KeyMarker, true
			vs.w.SeekGE(start)
			vs.wOK = vs.w.Valid()
		}
	}

	delim := opts.Delimiter
	n := 0
	for n < limit {
		if n&255 == 255 {
			if err := ctx.Err(); err != nil {
				return page, err
			}
		}
		key, ok := vs.oKey()
		var wk string
		if vs.wOK {
			if wk, _, err = vs.wKey(); err != nil {
				return page, err
			}
			if !ok || wk < key {
				key, ok = wk, true
			}
		}
		if !ok {
			break
		}
		if delim != "" {
			if i := strings.Index(key[len(opts.Prefix):], delim); i >= 0 {
				cp := key[:len(opts.Prefix)+i+len(delim)]
				if cp > opts.KeyMarker {
					page.CommonPrefixes = append(page.CommonPrefixes, cp)
					page.NextKeyMarker, page.NextVersionIDMarker = cp, ""
					n++
				}
				vs.skipPast(cp, true)
				continue
			}
		}
		hasCurrent := false
		if ok2 := vs.oOK && bytes.Equal(vs.o.Key()[len(vs.oBase):], []byte(key)); ok2 && !(resuming && key == resume) {
			v, err := vs.o.ValueAndErr()
			if err != nil {
				return page, err
			}
			o := meta.Object{Bucket: bucket, Key: key, IsLatest: true}
			if _, err := decodeObject(v, &o); err != nil {
				return page, fmt.Errorf("object %q: %w", key, err)
			}
			page.Versions = append(page.Versions, o)
			page.NextKeyMarker, page.NextVersionIDMarker = key, o.VersionID
			n++
			hasCurrent = true
		}
		if vs.oOK && bytes.Equal(vs.o.Key()[len(vs.oBase):], []byte(key)) {
			vs.oOK = vs.o.Next()
		}
		// The first noncurrent entry of a key is its latest only when the
		// key has no current version and the scan did not resume inside it.
		first := !hasCurrent && !(resuming && key == resume)
		for vs.wOK && n < limit {
			wk, _, err := vs.wKey()
			if err != nil {
				return page, err
			}
			if wk != key {
				break
			}
			v, err := vs.w.ValueAndErr()
			if err != nil {
				return page, err
			}
			o := meta.Object{Bucket: bucket, Key: key, IsLatest: first}
			if _, err := decodeObject(v, &o); err != nil {
				return page, fmt.Errorf("version of %q: %w", key, err)
			}
			first = false
			page.Versions = append(page.Versions, o)
			page.NextKeyMarker, page.NextVersionIDMarker = key, o.VersionID
			n++
			vs.wOK = vs.w.Next()
		}
		resuming = false
	}
	page.Truncated = vs.oOK || vs.wOK
	if !page.Truncated {
		page.NextKeyMarker, page.NextVersionIDMarker = "", ""
	}
	return page, nil
}

// markerPosition returns where the noncurrent versions after the version
// (key, id) start, and whether that version exists. A current version's
// successors are all of the key's noncurrent versions.
func markerPosition(r pebble.Reader, bucket, key, id string) ([]byte, bool, error) {
	cur, err := readCurrent(r, bucket, key)
	if err != nil {
		return nil, false, err
	}
	v, err := findVersion(r, bucket, key, id, cur)
	if err != nil || v == nil {
		return nil, false, err
	}
	if v.current {
		return keyVersionsPrefix(bucket, key), true, nil
	}
	return append(versionKey(bucket, key, v.vk()), 0), true, nil
}
