package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferstore/coffer/internal/meta"
)

// Usage counters (meta.UsageCounter). A bucket's totals are a base value
// plus delta entries under nsUsage:
//
//	nsUsage + bucket + 0x00 + 0x00                 -> base
//	nsUsage + bucket + 0x00 + 0x01 + be64(seq)      -> delta of one write
//
// Every write that changes what is counted sets one delta, under a key no
// other write uses, in its own batch: concurrent writers never read or
// rewrite a shared counter, so they still meet only in Pebble's commit
// pipeline and share fsyncs. A read sums the base and the deltas from one
// iterator, which is a consistent view, so it sees whole writes only.
//
// Folding keeps reads cheap. After foldThreshold deltas of a bucket, the
// writer that passes the mark takes the bucket's write lock. Every delta
// writer holds its read side across its commit, so under the write lock all
// of the bucket's deltas are committed and no other can appear: the fold
// writes base + deltas as the new base and deletes exactly the deltas it
// read, in one batch. It then records a floor, a sequence number below
// every delta written later, so that reads seek past the deleted entries,
// which stay in the memtable until a flush, instead of stepping over them.
// A fold needs no fsync of its own: until the next synced commit makes it
// durable, a crash only brings the deltas back with the old base.
//
// Deletions are point deletions, never range deletions: a range tombstone
// lands in sstables whose bounds span every key space, and every Get and
// iterator over them then consults it (measured: +20% CPU per PUT). A
// delta is set once and deleted once, so SingleDelete, which compaction
// drops together with the Set it meets, suffices.
//
// Open folds every bucket (deltas outlive the in-memory counts), and
// DeleteBucket deletes the bucket's counters in its own batch.

// foldThreshold is how many deltas a bucket collects before a writer folds
// them: a read steps over at most about this many entries, and a bucket's
// writers pause for one fold every this many writes.
const foldThreshold = 1024

// usageState is the in-memory side of a bucket's counters.
type usageState struct {
	// pending counts the deltas committed since the last fold. Writers add
	// to it under the bucket's read lock, after their commit.
	pending atomic.Int64
	// floor is a sequence number at or below every live delta's.
	floor atomic.Uint64
}

// usageStates holds one *usageState per bucket that has been written since
// Open; a bucket without one has no delta below Store.usageFloor0.
type usageStates struct {
	m sync.Map // bucket name -> *usageState
}

// state returns the bucket's state, creating it.
func (s *Store) usageState(bucket string) *usageState {
	if v, ok := s.usage.m.Load(bucket); ok {
		return v.(*usageState)
	}
	st := &usageState{}
	st.floor.Store(s.usageFloor0)
	v, _ := s.usage.m.LoadOrStore(bucket, st)
	return v.(*usageState)
}

// usageFloor returns the floor of a bucket's deltas for a read, which must
// load it before it opens its view (a fold raises the floor only after its
// commit, so a view opened later holds the base that covers what is below).
func (s *Store) usageFloor(bucket string) uint64 {
	if v, ok := s.usage.m.Load(bucket); ok {
		return v.(*usageState).floor.Load()
	}
	return s.usageFloor0
}

// wbatch is a batch of one bucket's writes that tallies how they change the
// bucket's usage, so that the delta commits with them.
type wbatch struct {
	*pebble.Batch
	usage meta.Usage
}

func (s *Store) newBatch() *wbatch { return &wbatch{Batch: s.db.NewBatch()} }

// sizeOf is what a version adds to the byte counts: a marker adds nothing,
// whatever its record says.
func sizeOf(o *meta.Object) int64 {
	if o.DeleteMarker {
		return 0
	}
	return o.Size
}

// counted records that a version is stored (sign 1) or leaves (-1), and
// whether as the current version.
func (wb *wbatch) counted(o *meta.Object, current bool, sign int64) {
	n := sizeOf(o)
	wb.usage.Versions += sign
	wb.usage.VersionBytes += sign * n
	if current {
		wb.usage.Objects += sign
		wb.usage.Bytes += sign * n
	}
}

// commit adds the batch's usage delta for bucket and commits durably. The
// caller holds the bucket's read lock, which a fold needs to see the delta.
func (s *Store) commit(wb *wbatch, bucket string) error {
	changed := wb.usage != meta.Usage{}
	if changed {
		if err := wb.Set(usageDeltaKey(bucket, s.usageSeq.Add(1)), encodeUsage(wb.usage), nil); err != nil {
			return err
		}
	}
	if err := wb.Commit(pebble.Sync); err != nil {
		return err
	}
	if changed {
		s.usageState(bucket).pending.Add(1)
	}
	return nil
}

// foldIfDue folds the bucket's deltas when enough have collected. The
// caller's write has committed and it holds no lock of the bucket; a
// failure is logged, since the write succeeded and the deltas stay exact.
func (s *Store) foldIfDue(bucket string) {
	v, ok := s.usage.m.Load(bucket)
	if !ok || v.(*usageState).pending.Load() < foldThreshold {
		return
	}
	if err := s.fold(bucket); err != nil {
		s.log.Error("folding usage counters", "bucket", bucket, "err", err)
	}
}

func (s *Store) fold(bucket string) error {
	bl := s.bucketLock(bucket)
	bl.Lock()
	defer bl.Unlock()
	v, ok := s.usage.m.Load(bucket)
	if !ok {
		return nil // the bucket was deleted
	}
	st := v.(*usageState)
	if st.pending.Load() < foldThreshold {
		return nil // another writer folded first
	}
	batch := s.db.NewBatch()
	defer batch.Close()
	if err := foldInto(batch, s.db, bucket, st.floor.Load()); err != nil {
		return err
	}
	if !batch.Empty() {
		if err := batch.Commit(pebble.NoSync); err != nil {
			return err
		}
	}
	// No delta of the bucket is uncommitted while the write lock is held,
	// so every one written from now on has a greater sequence number.
	st.floor.Store(s.usageSeq.Load() + 1)
	st.pending.Store(0)
	return nil
}

// foldInto adds to batch the writes that fold the bucket's deltas from
// floor up into its base: the new base, and the deletion of each delta read.
// It adds nothing when there is no delta.
func foldInto(batch *pebble.Batch, r pebble.Reader, bucket string, floor uint64) error {
	sum, deltas, err := readUsage(r, bucket, floor, true)
	if err != nil || len(deltas) == 0 {
		return err
	}
	errs := []error{batch.Set(usageBaseKey(bucket), encodeUsage(sum), nil)}
	for _, k := range deltas {
		errs = append(errs, batch.SingleDelete(k, nil))
	}
	return errors.Join(errs...)
}

// dropUsage adds to batch the removal of the bucket's counters. The caller
// holds the bucket's write lock and calls forgetUsage after the commit.
func (s *Store) dropUsage(batch *pebble.Batch, bucket string) error {
	_, deltas, err := readUsage(s.db, bucket, s.usageFloor(bucket), true)
	if err != nil {
		return err
	}
	errs := []error{batch.Delete(usageBaseKey(bucket), nil)}
	for _, k := range deltas {
		errs = append(errs, batch.SingleDelete(k, nil))
	}
	return errors.Join(errs...)
}

func (s *Store) forgetUsage(bucket string) { s.usage.m.Delete(bucket) }

// readUsage sums the bucket's base and its deltas from floor up, and
// returns the deltas' keys when keys is set.
func readUsage(r pebble.Reader, bucket string, floor uint64, keys bool) (sum meta.Usage, deltas [][]byte, err error) {
	p := usagePrefix(bucket)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixSuccessor(p)})
	if err != nil {
		return sum, nil, err
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	base := usageBaseKey(bucket)
	if it.SeekGE(base) && bytes.Equal(it.Key(), base) {
		v, err := it.ValueAndErr()
		if err != nil {
			return sum, nil, err
		}
		if sum, err = decodeUsage(v); err != nil {
			return sum, nil, fmt.Errorf("usage of %q: %w", bucket, err)
		}
	}
	for ok := it.SeekGE(usageDeltaKey(bucket, floor)); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != len(p)+9 || k[len(p)] != usageDelta {
			return sum, nil, fmt.Errorf("usage key %q: %w", k, errCorrupt)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return sum, nil, err
		}
		d, err := decodeUsage(v)
		if err != nil {
			return sum, nil, fmt.Errorf("usage of %q: %w", bucket, err)
		}
		sum = sum.Add(d)
		if keys {
			deltas = append(deltas, append([]byte(nil), k...))
		}
	}
	return sum, deltas, it.Error()
}

var _ meta.UsageCounter = (*Store)(nil)

// BucketUsage implements meta.UsageCounter: one seek for the base and one
// for the deltas, of which there are at most about foldThreshold.
func (s *Store) BucketUsage(ctx context.Context, bucket string) (meta.Usage, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Usage{}, fmt.Errorf("reading usage: %w", err)
	}
	defer s.leave()
	floor := s.usageFloor(bucket)
	snap := s.db.NewSnapshot()
	defer snap.Close()
	exists, err := has(snap, bucketKey(bucket))
	if err != nil {
		return meta.Usage{}, fmt.Errorf("reading usage of %q: %w", bucket, err)
	}
	if !exists || checkBucketName(bucket) != nil {
		return meta.Usage{}, fmt.Errorf("reading usage of %q: %w", bucket, meta.ErrBucketNotFound)
	}
	u, _, err := readUsage(snap, bucket, floor, false)
	if err != nil {
		return meta.Usage{}, fmt.Errorf("reading usage of %q: %w", bucket, err)
	}
	return u, nil
}

// TotalUsage implements meta.UsageCounter: per bucket with counters, one
// seek for its base and one for its deltas.
func (s *Store) TotalUsage(ctx context.Context) (meta.Usage, error) {
	if err := s.enter(ctx); err != nil {
		return meta.Usage{}, fmt.Errorf("reading total usage: %w", err)
	}
	defer s.leave()
	floors := map[string]uint64{}
	s.usage.m.Range(func(k, v any) bool {
		floors[k.(string)] = v.(*usageState).floor.Load()
		return true
	})
	snap := s.db.NewSnapshot()
	defer snap.Close()
	var total meta.Usage
	err := forEachUsageBucket(snap, func(bucket string) error {
		floor, ok := floors[bucket]
		if !ok {
			floor = s.usageFloor0
		}
		u, _, err := readUsage(snap, bucket, floor, false)
		total = total.Add(u)
		return err
	})
	if err != nil {
		return meta.Usage{}, fmt.Errorf("reading total usage: %w", err)
	}
	return total, nil
}

// forEachUsageBucket calls fn with the name of every bucket that has usage
// entries, skipping from one bucket to the next with a seek.
func forEachUsageBucket(r pebble.Reader, fn func(bucket string) error) (err error) {
	lower := []byte{nsUsage}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixSuccessor(lower)})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	for ok := it.First(); ok; {
		k := it.Key()
		i := bytes.IndexByte(k, sep)
		if i < 2 {
			return fmt.Errorf("usage key %q: %w", k, errCorrupt)
		}
		bucket := string(k[1:i])
		if err := fn(bucket); err != nil {
			return err
		}
		ok = it.SeekGE(prefixSuccessor(usagePrefix(bucket)))
	}
	return it.Error()
}

// foldAll folds every bucket's deltas into its base, at Open before any
// write: the counts of pending deltas were in memory, and the sequence
// numbers restart, so no delta may survive from before.
func (s *Store) foldAll() error {
	batch := s.db.NewBatch()
	defer batch.Close()
	err := forEachUsageBucket(s.db, func(bucket string) error {
		return foldInto(batch, s.db, bucket, 0)
	})
	if err != nil {
		return fmt.Errorf("folding usage counters: %w", err)
	}
	if batch.Empty() {
		return nil
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("folding usage counters: %w", err)
	}
	return nil
}

// countUsage builds every bucket's base from its records: the upgrade from
// schema 2, before which no counters were kept. It adds the base values to
// batch.
func countUsage(r pebble.Reader, batch *pebble.Batch) error {
	totals := map[string]*meta.Usage{}
	err := forEach(r, []byte{nsBucket}, func(k, _ []byte) error {
		totals[string(k[1:])] = &meta.Usage{}
		return nil
	})
	if err != nil {
		return err
	}
	// Current versions under nsObject, every other version under nsVersion.
	for _, ns := range []byte{nsObject, nsVersion} {
		err := forEach(r, []byte{ns}, func(k, v []byte) error {
			i := bytes.IndexByte(k, sep)
			if i < 1 {
				return fmt.Errorf("record key %q: %w", k, errCorrupt)
			}
			u := totals[string(k[1:i])]
			if u == nil {
				return nil // no such bucket: nothing reads it
			}
			var o meta.Object
			if _, _, err := decodeVersion(v, &o); err != nil {
				return fmt.Errorf("record %q: %w", k, err)
			}
			n := sizeOf(&o)
			u.Versions++
			u.VersionBytes += n
			if ns == nsObject {
				u.Objects++
				u.Bytes += n
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	err = forEach(r, []byte{nsUpload}, func(k, _ []byte) error {
		i := bytes.IndexByte(k, sep)
		if i < 1 {
			return fmt.Errorf("upload key %q: %w", k, errCorrupt)
		}
		if u := totals[string(k[1:i])]; u != nil {
			u.Uploads++
		}
		return nil
	})
	if err != nil {
		return err
	}
	for bucket, u := range totals {
		if err := batch.Set(usageBaseKey(bucket), encodeUsage(*u), nil); err != nil {
			return err
		}
	}
	return nil
}

// Usage key layout.
const (
	usageBase  = 0x00
	usageDelta = 0x01
)

func usagePrefix(bucket string) []byte {
	k := make([]byte, 0, 2+len(bucket)+9)
	k = append(k, nsUsage)
	k = append(k, bucket...)
	return append(k, sep)
}

func usageBaseKey(bucket string) []byte { return append(usagePrefix(bucket), usageBase) }

func usageDeltaKey(bucket string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(usagePrefix(bucket), usageDelta), seq)
}

// encodeUsage writes the five fields as zigzag varints, in declaration
// order; a later field can be appended and older values read as zero.
func encodeUsage(u meta.Usage) []byte {
	b := make([]byte, 0, 5*binary.MaxVarintLen64)
	for _, v := range [...]int64{u.Objects, u.Bytes, u.Versions, u.VersionBytes, u.Uploads} {
		b = binary.AppendVarint(b, v)
	}
	return b
}

func decodeUsage(p []byte) (meta.Usage, error) {
	var u meta.Usage
	for _, f := range [...]*int64{&u.Objects, &u.Bytes, &u.Versions, &u.VersionBytes, &u.Uploads} {
		if len(p) == 0 {
			break
		}
		v, n := binary.Varint(p)
		if n <= 0 {
			return meta.Usage{}, fmt.Errorf("usage value: %w", errCorrupt)
		}
		*f, p = v, p[n:]
	}
	return u, nil
}
