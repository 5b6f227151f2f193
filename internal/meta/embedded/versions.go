package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferstore/coffer/internal/meta"
)

// Versions. The current version of a key (its latest, unless that is a
// delete marker) lives under nsObject, where GET and ListObjects find it with
// one read and listing never meets an older version. Every other version, and
// every delete marker, lives under nsVersion, newest first. A key's version
// list is therefore its nsObject record, if any, followed by its nsVersion
// entries in byte order. A write that makes the current version noncurrent
// moves its record, inline bytes and blob references from one space to the
// other in the same batch, and a removal that leaves a non-marker newest
// under nsVersion moves it back.
//
// Order. Every version has an order, int64 nanoseconds, greater than the
// order of every older version of its key: the wall clock, or the newest
// version's order + 1 when the clock has not passed it (the key's mutex is
// held, so orders of one key never tie). vkey is the order inverted and
// big-endian, so that newer sorts first. A non-null version's id is its order
// in hex, so an id names its vkey with no index to consult; the null version's
// vkey, while it is noncurrent, is found under nsNull.

type vkey [8]byte

func vkeyOf(order int64) vkey {
	var k vkey
	binary.BigEndian.PutUint64(k[:], ^uint64(order))
	return k
}

func formatVersionID(order int64) string {
	return fmt.Sprintf("%016x", uint64(order))
}

// parseVersionID returns the order a non-null version id names.
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

// version is a record found in the store, with where it lives.
type version struct {
	obj       meta.Object // Inline unset
	rec       []byte      // the raw record, to move without losing unknown fields
	order     int64
	hasInline bool
	current   bool // under nsObject, else under nsVersion
}

func (v *version) vk() vkey { return vkeyOf(v.order) }

func decodeAt(bucket, key string, rec []byte, current bool) (*version, error) {
	v := &version{rec: append([]byte(nil), rec...), current: current}
	v.obj.Bucket, v.obj.Key = bucket, key
	var err error
	v.hasInline, v.order, err = decodeVersion(v.rec, &v.obj)
	if err != nil {
		return nil, fmt.Errorf("version of %q: %w", key, err)
	}
	return v, nil
}

// readCurrent returns the key's current version, nil when none.
func readCurrent(r pebble.Reader, bucket, key string) (*version, error) {
	rec, ok, err := get(r, objectKey(bucket, key))
	if err != nil || !ok {
		return nil, err
	}
	return decodeAt(bucket, key, rec, true)
}

// readNoncurrent returns the version at vk under nsVersion, nil when none.
func readNoncurrent(r pebble.Reader, bucket, key string, vk vkey) (*version, error) {
	rec, ok, err := get(r, versionKey(bucket, key, vk))
	if err != nil || !ok {
		return nil, err
	}
	return decodeAt(bucket, key, rec, false)
}

// firstNoncurrent returns the newest version under nsVersion other than
// the one at skip (when non-nil), nil when none.
func firstNoncurrent(r pebble.Reader, bucket, key string, skip *vkey) (v *version, err error) {
	p := keyVersionsPrefix(bucket, key)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixSuccessor(p)})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()[len(p):]
		if len(k) != len(vkey{}) {
			return nil, fmt.Errorf("version key %q: %w", it.Key(), errCorrupt)
		}
		if skip != nil && vkey(k) == *skip {
			continue
		}
		rec, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		return decodeAt(bucket, key, rec, false)
	}
	return nil, it.Error()
}

// nullNoncurrent returns the key's null version when it is under
// nsVersion, nil otherwise.
func nullNoncurrent(r pebble.Reader, bucket, key string) (*version, error) {
	p, ok, err := get(r, nullKey(bucket, key))
	if err != nil || !ok {
		return nil, err
	}
	if len(p) != len(vkey{}) {
		return nil, fmt.Errorf("null version pointer of %q: %w", key, errCorrupt)
	}
	v, err := readNoncurrent(r, bucket, key, vkey(p))
	if err == nil && v == nil {
		err = fmt.Errorf("null version pointer of %q names no version: %w", key, errCorrupt)
	}
	return v, err
}

// findVersion returns the version id names (the latest when id is empty),
// nil when there is none. cur is the key's current version as already read.
func findVersion(r pebble.Reader, bucket, key, id string, cur *version) (*version, error) {
	switch {
	case id == "":
		if cur != nil {
			return cur, nil
		}
		return firstNoncurrent(r, bucket, key, nil)
	case cur != nil && cur.obj.VersionID == id:
		return cur, nil
	case id == meta.NullVersion:
		return nullNoncurrent(r, bucket, key)
	}
	order, ok := parseVersionID(id)
	if !ok {
		return nil, nil
	}
	v, err := readNoncurrent(r, bucket, key, vkeyOf(order))
	if err != nil || v == nil || v.obj.VersionID != id {
		return nil, err
	}
	return v, nil
}

// isLatest reports whether v is its key's newest version.
func isLatest(r pebble.Reader, v *version, cur *version) (bool, error) {
	if v.current {
		return true, nil
	}
	if cur != nil {
		return false, nil
	}
	first, err := firstNoncurrent(r, v.obj.Bucket, v.obj.Key, nil)
	if err != nil {
		return false, err
	}
	return first != nil && first.order == v.order, nil
}

// newestOrder returns the order of the key's newest version, 0 when it has
// none.
func newestOrder(r pebble.Reader, bucket, key string, cur *version) (int64, error) {
	if cur != nil {
		return cur.order, nil
	}
	first, err := firstNoncurrent(r, bucket, key, nil)
	if err != nil || first == nil {
		return 0, err
	}
	return first.order, nil
}

func nextOrder(newest int64, now time.Time) int64 {
	o := now.UnixNano()
	if o <= newest {
		o = newest + 1
	}
	return o
}

func readInline(r pebble.Reader, k []byte) ([]byte, error) {
	data, ok, err := get(r, k)
	if err == nil && !ok {
		err = fmt.Errorf("inline bytes missing: %w", errCorrupt)
	}
	return data, err
}

// inlineOf reads v's inline bytes, nil when it has none.
func inlineOf(r pebble.Reader, v *version) ([]byte, error) {
	if !v.hasInline {
		return nil, nil
	}
	if v.current {
		return readInline(r, inlineKey(v.obj.Bucket, v.obj.Key))
	}
	return readInline(r, versionInlineKey(v.obj.Bucket, v.obj.Key, v.vk()))
}

// drop adds to batch the deletion of every key v wrote; overwritten as
// for removeRecord (a new current version is set in the same batch).
func drop(batch *wbatch, v *version, overwritten bool) error {
	b, k := v.obj.Bucket, v.obj.Key
	batch.counted(&v.obj, v.current, -1)
	if v.current {
		return removeRecord(batch.Batch, &v.obj, overwritten)
	}
	vk := v.vk()
	wk := versionKey(b, k, vk)
	errs := []error{batch.Delete(wk, nil), batch.Delete(versionInlineKey(b, k, vk), nil)}
	for _, sg := range v.obj.Segments {
		errs = append(errs, batch.Delete(versionRefKey(sg.BlobID, wk), nil))
	}
	if v.obj.VersionID == meta.NullVersion {
		errs = append(errs, batch.Delete(nullKey(b, k), nil))
	}
	return errors.Join(errs...)
}

// setCurrent adds to batch the writes that make the record rec of obj the
// key's current version.
func setCurrent(batch *wbatch, obj *meta.Object, rec, inline []byte) error {
	b, k := obj.Bucket, obj.Key
	batch.counted(obj, true, 1)
	errs := []error{batch.Set(objectKey(b, k), rec, nil)}
	if inline != nil {
		errs = append(errs, batch.Set(inlineKey(b, k), inline, nil))
	}
	for _, sg := range obj.Segments {
		errs = append(errs, batch.Set(blobRefKey(sg.BlobID, b, k), nil, nil))
	}
	return errors.Join(errs...)
}

// setNoncurrent adds to batch the writes that store rec of obj at vk under
// nsVersion.
func setNoncurrent(batch *wbatch, obj *meta.Object, rec []byte, vk vkey, inline []byte) error {
	b, k := obj.Bucket, obj.Key
	batch.counted(obj, false, 1)
	wk := versionKey(b, k, vk)
	errs := []error{batch.Set(wk, rec, nil)}
	if inline != nil {
		errs = append(errs, batch.Set(versionInlineKey(b, k, vk), inline, nil))
	}
	for _, sg := range obj.Segments {
		errs = append(errs, batch.Set(versionRefKey(sg.BlobID, wk), nil, nil))
	}
	if obj.VersionID == meta.NullVersion {
		errs = append(errs, batch.Set(nullKey(b, k), vk[:], nil))
	}
	return errors.Join(errs...)
}

// move adds to batch the writes that move v to the other key space. The
// deletions go first: where a blob reference is rewritten under the same key
// the later Set wins. overwritten as for drop.
func move(batch *wbatch, r pebble.Reader, v *version, overwritten bool) error {
	inline, err := inlineOf(r, v)
	if err != nil {
		return err
	}
	if err := drop(batch, v, overwritten); err != nil {
		return err
	}
	rec := v.rec
	if !v.current {
		return setCurrent(batch, &v.obj, rec, inline)
	}
	return setNoncurrent(batch, &v.obj, rec, v.vk(), inline)
}

// protected reports whether object lock forbids removing v now.
func protected(v *version, now time.Time, bypass bool) bool {
	return v.obj.LegalHold || v.obj.Retention.Protects(now, bypass)
}

// lockedErr is the error for removing a protected version.
func lockedErr(v *version) error {
	return fmt.Errorf("version %q of %q: %w", v.obj.VersionID, v.obj.Key, meta.ErrLocked)
}

// addVersion adds to batch the writes that make obj the newest version of
// its key, as PutObject documents, and returns the version that leaves the
// store (nil if none). The caller holds the bucket's read lock and the key's
// mutex; b is the bucket's record read under them.
func addVersion(batch *wbatch, r pebble.Reader, b *meta.Bucket, obj *meta.Object, cond *meta.Condition, now time.Time) (gone *version, err error) {
	cur, err := readCurrent(r, obj.Bucket, obj.Key)
	if err != nil {
		return nil, err
	}
	if err := checkCondition(cond, curObj(cur)); err != nil {
		return nil, err
	}
	newest, err := newestOrder(r, obj.Bucket, obj.Key, cur)
	if err != nil {
		return nil, err
	}
	order := nextOrder(newest, now)
	enabled := b.Versioning == meta.VersioningEnabled
	obj.VersionID = meta.NullVersion
	if enabled {
		obj.VersionID = formatVersionID(order)
	}
	obj.DeleteMarker = false
	if gone, err = displace(batch, r, obj.Bucket, obj.Key, cur, enabled, true, now); err != nil {
		return nil, err
	}
	return gone, setCurrent(batch, obj, withOrder(encodeObject(obj), order), obj.Inline)
}

// displace adds to batch the writes that make room for a new newest version:
// the current version becomes noncurrent, and outside enabled versioning the
// null version, wherever it is, leaves the store (refused when locked).
// overwritten says that the new version is a current one, set in the same
// batch.
func displace(batch *wbatch, r pebble.Reader, bucket, key string, cur *version, enabled, overwritten bool, now time.Time) (gone *version, err error) {
	if !enabled {
		if cur != nil && cur.obj.VersionID == meta.NullVersion {
			gone = cur
		} else if gone, err = nullNoncurrent(r, bucket, key); err != nil {
			return nil, err
		}
		if gone != nil {
			if protected(gone, now, false) {
				return nil, lockedErr(gone)
			}
			if err := drop(batch, gone, overwritten); err != nil {
				return nil, err
			}
		}
	}
	if cur != nil && cur != gone {
		if err := move(batch, r, cur, overwritten); err != nil {
			return nil, err
		}
	}
	return gone, nil
}

// addMarker adds to batch the writes that make a new delete marker the
// key's newest version, and returns it and the version that leaves the store.
func addMarker(batch *wbatch, r pebble.Reader, b *meta.Bucket, bucket, key string, cond *meta.Condition, now time.Time) (marker *meta.Object, gone *version, err error) {
	cur, err := readCurrent(r, bucket, key)
	if err != nil {
		return nil, nil, err
	}
	if err := checkCondition(cond, curObj(cur)); err != nil {
		return nil, nil, err
	}
	newest, err := newestOrder(r, bucket, key, cur)
	if err != nil {
		return nil, nil, err
	}
	order := nextOrder(newest, now)
	enabled := b.Versioning == meta.VersioningEnabled
	m := &meta.Object{Bucket: bucket, Key: key, DeleteMarker: true, Modified: now.UTC(), VersionID: meta.NullVersion}
	if enabled {
		m.VersionID = formatVersionID(order)
	}
	if gone, err = displace(batch, r, bucket, key, cur, enabled, false, now); err != nil {
		return nil, nil, err
	}
	if err := setNoncurrent(batch, m, withOrder(encodeObject(m), order), vkeyOf(order), nil); err != nil {
		return nil, nil, err
	}
	return m, gone, nil
}

// removeVersion adds to batch the writes that remove v permanently and, when
// that leaves a non-marker newest version under nsVersion, make it current.
// cur is the key's current version as read under the key's mutex.
func removeVersion(batch *wbatch, r pebble.Reader, v, cur *version) error {
	if err := drop(batch, v, false); err != nil {
		return err
	}
	if cur != nil && !v.current {
		return nil // the current version stays newest
	}
	skip := v.vk()
	next, err := firstNoncurrent(r, v.obj.Bucket, v.obj.Key, &skip)
	if err != nil || next == nil || next.obj.DeleteMarker {
		return err
	}
	if !v.current && next.order > v.order {
		return nil // v was not the newest
	}
	// next moves into the key's current slot, which v (when it was the
	// current version) just vacated in this batch: a set follows the delete.
	return move(batch, r, next, false)
}

func curObj(v *version) *meta.Object {
	if v == nil {
		return nil
	}
	return &v.obj
}

var _ meta.Importer = (*Store)(nil)

// ImportVersions implements meta.Importer. Version ids must be this
// store's (the hex form of their order, or null): a version id names its
// place in the key's list, so ids from another kind of store cannot be kept
// and are refused with ErrInvalid. The null version gets an order between
// its neighbours.
func (s *Store) ImportVersions(ctx context.Context, versions []meta.Object) error {
	if len(versions) == 0 {
		return nil
	}
	bucket, key := versions[0].Bucket, versions[0].Key
	fail := func(err error) error { return fmt.Errorf("importing versions of %q/%q: %w", bucket, key, err) }
	// Orders from the oldest up, each above the one before.
	orders := make([]int64, len(versions))
	prev := int64(0)
	for i := len(versions) - 1; i >= 0; i-- {
		v := &versions[i]
		if v.Bucket != bucket || v.Key != key {
			return fail(fmt.Errorf("versions of several keys: %w", ErrInvalid))
		}
		if err := checkObject(v); err != nil {
			return fail(err)
		}
		o, ok := parseVersionID(v.VersionID)
		switch {
		case v.VersionID == meta.NullVersion:
			o = max(prev+1, v.Modified.UnixNano())
			if i > 0 {
				if next, ok := parseVersionID(versions[i-1].VersionID); ok && o >= next {
					o = prev + 1
				}
			}
		case !ok:
			return fail(fmt.Errorf("version id %q is not this store's: %w", v.VersionID, ErrInvalid))
		}
		if o <= prev {
			return fail(fmt.Errorf("versions out of order: %w", ErrInvalid))
		}
		orders[i], prev = o, o
	}
	if err := s.enter(ctx); err != nil {
		return fail(err)
	}
	defer s.leave()
	defer s.foldIfDue(bucket)
	bl := s.bucketLock(bucket)
	bl.RLock()
	defer bl.RUnlock()
	if err := s.requireBucket(bucket); err != nil {
		return fail(err)
	}
	kl := s.keyLock(bucket, key)
	kl.Lock()
	defer kl.Unlock()
	cur, err := readCurrent(s.db, bucket, key)
	if err != nil {
		return fail(err)
	}
	first, err := firstNoncurrent(s.db, bucket, key, nil)
	if err != nil {
		return fail(err)
	}
	if cur != nil || first != nil {
		return fail(meta.ErrPreconditionFailed)
	}
	batch := s.newBatch()
	defer batch.Close()
	for i := range versions {
		v := versions[i]
		v.IsLatest = false
		rec := withOrder(encodeObject(&v), orders[i])
		if i == 0 && !v.DeleteMarker {
			err = setCurrent(batch, &v, rec, v.Inline)
		} else {
			err = setNoncurrent(batch, &v, rec, vkeyOf(orders[i]), v.Inline)
		}
		if err != nil {
			return fail(err)
		}
	}
	if err := s.commit(batch, bucket); err != nil {
		return fail(err)
	}
	return nil
}
