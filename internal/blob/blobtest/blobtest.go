// Package blobtest is the conformance suite every blob.Store implementation
// runs. It checks the contract written in package blob's doc comments.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/blob"
)

// Run runs the suite. open returns a new, empty store for each subtest;
// it registers its own cleanup with t.
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"RangeBounds", testRangeBounds},
		{"IDsUnique", testIDsUnique},
		{"AbortLeavesNothing", testAbort},
		{"UncommittedInvisible", testUncommittedInvisible},
		{"OpenUnknown", testOpenUnknown},
		{"DeleteIdempotent", testDeleteIdempotent},
		{"ReaderSurvivesDelete", testReaderSurvivesDelete},
		{"Walk", testWalk},
		{"WalkStopsOnError", testWalkStops},
		{"SweepTemp", testSweepTemp},
		{"ConcurrentWriters", testConcurrent},
		{"LargeBlob", testLarge},
		{"MaliciousIDs", testMaliciousIDs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// randBytes returns n reproducible pseudo-random bytes.
func randBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)}).Read(b)
	return b
}

// put stores data written in chunks of chunk bytes and returns the id.
func put(t *testing.T, s blob.Store, data []byte, chunk int) string {
	t.Helper()
	w, err := s.Create(context.Background())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	for off := 0; off < len(data); off += chunk {
		n, err := w.Write(data[off:min(off+chunk, len(data))])
		if err != nil || n != min(chunk, len(data)-off) {
			w.Abort()
			t.Fatalf("Write at %d: %d, %v", off, n, err)
		}
	}
	id, err := w.Commit()
	if err != nil {
		w.Abort()
		t.Fatalf("Commit: %v", err)
	}
	if id == "" {
		t.Fatal("Commit returned an empty id")
	}
	return id
}

func open(t *testing.T, s blob.Store, id string) blob.Reader {
	t.Helper()
	r, err := s.Open(context.Background(), id)
	if err != nil {
		t.Fatalf("Open(%q): %v", id, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// checkContent verifies a reader's size and bytes through ReadAt and Range.
func checkContent(t *testing.T, r blob.Reader, want []byte) {
	t.Helper()
	if r.Size() != int64(len(want)) {
		t.Fatalf("Size = %d, want %d", r.Size(), len(want))
	}
	got := make([]byte, len(want))
	if n, err := r.ReadAt(got, 0); n != len(want) || (err != nil && err != io.EOF) {
		t.Fatalf("ReadAt(all) = %d, %v", n, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("ReadAt(all) returned different bytes")
	}
	rr, err := r.Range(0, int64(len(want)))
	if err != nil {
		t.Fatalf("Range(0, %d): %v", len(want), err)
	}
	got, err = io.ReadAll(rr)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Range(all): %d bytes, %v; want %d equal bytes", len(got), err, len(want))
	}
}

func testRoundTrip(t *testing.T, s blob.Store) {
	for i, size := range []int{0, 1, 100, 4096 + 3, 1<<20 + 17} {
		for _, chunk := range []int{1 << 20, 4096, 7} {
			if size > 1<<16 && chunk < 4096 {
				continue
			}
			data := randBytes(uint64(i*10+chunk), size)
			id := put(t, s, data, max(chunk, 1))
			r := open(t, s, id)
			checkContent(t, r, data)

			// ReadAt at interior offsets, ending at and past the end.
			for _, off := range []int64{0, 1, int64(size) / 3, int64(size) - 1, int64(size)} {
				if off < 0 || off > int64(size) {
					continue
				}
				buf := make([]byte, min(int64(size)-off+5, 1000))
				n, err := r.ReadAt(buf, off)
				want := data[off:min(off+int64(len(buf)), int64(size))]
				if n != len(want) || !bytes.Equal(buf[:n], want) {
					t.Fatalf("size %d ReadAt(off %d) = %d bytes, want %d", size, off, n, len(want))
				}
				if n < len(buf) && err != io.EOF {
					t.Fatalf("size %d short ReadAt(off %d) err = %v, want io.EOF", size, off, err)
				}
			}
			// Ranges one after another share the reader's state: each must
			// still start at its own offset.
			for _, rg := range [][2]int64{{0, 0}, {int64(size), 0}, {0, int64(size)}, {int64(size) / 2, int64(size) - int64(size)/2}, {int64(size) / 3, int64(size) / 3}, {max(int64(size)-1, 0), min(int64(size), 1)}, {0, min(int64(size), 10)}} {
				rr, err := r.Range(rg[0], rg[1])
				if err != nil {
					t.Fatalf("size %d Range(%d, %d): %v", size, rg[0], rg[1], err)
				}
				got, err := io.ReadAll(rr)
				if err != nil || !bytes.Equal(got, data[rg[0]:rg[0]+rg[1]]) {
					t.Fatalf("size %d Range(%d, %d) = %d bytes, %v; want %d equal bytes", size, rg[0], rg[1], len(got), err, rg[1])
				}
			}
		}
	}
}

func testRangeBounds(t *testing.T, s blob.Store) {
	data := randBytes(3, 1000)
	r := open(t, s, put(t, s, data, 1000))
	for _, rg := range [][2]int64{{-1, 1}, {0, -1}, {0, 1001}, {1000, 1}, {999, 2}, {1001, 0}, {1 << 62, 1 << 62}} {
		if _, err := r.Range(rg[0], rg[1]); err == nil {
			t.Errorf("Range(%d, %d) of a 1000-byte blob succeeded", rg[0], rg[1])
		}
	}
	checkContent(t, r, data)
}

func testIDsUnique(t *testing.T, s blob.Store) {
	seen := map[string]bool{}
	for i := range 200 {
		id := put(t, s, []byte{byte(i)}, 1)
		if seen[id] {
			t.Fatalf("id %q returned twice", id)
		}
		seen[id] = true
	}
}

// walkIDs returns the committed ids Walk reports, failing on duplicates.
func walkIDs(t *testing.T, s blob.Store) map[string]time.Time {
	t.Helper()
	ids := map[string]time.Time{}
	err := s.Walk(context.Background(), func(id string, committed time.Time) error {
		if _, dup := ids[id]; dup {
			return fmt.Errorf("walk reported %q twice", id)
		}
		ids[id] = committed
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return ids
}

func sweepAll(t *testing.T, s blob.Store) int {
	t.Helper()
	n, err := s.SweepTemp(context.Background(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatalf("SweepTemp: %v", err)
	}
	return n
}

func testAbort(t *testing.T, s blob.Store) {
	for _, size := range []int{0, 10, 300 << 10} {
		w, err := s.Create(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(randBytes(4, size)); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort: %v", err)
		}
	}
	if ids := walkIDs(t, s); len(ids) != 0 {
		t.Fatalf("Walk after Abort reported %v", ids)
	}
	// Nothing is left for the sweeper either: Abort removed the data.
	if n := sweepAll(t, s); n != 0 {
		t.Fatalf("SweepTemp after Abort removed %d leftovers", n)
	}
}

func testUncommittedInvisible(t *testing.T, s blob.Store) {
	w, err := s.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(5, 200<<10)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if ids := walkIDs(t, s); len(ids) != 0 {
		t.Fatalf("Walk reported uncommitted blobs %v", ids)
	}
	id, err := w.Commit()
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if ids := walkIDs(t, s); len(ids) != 1 || ids[id].IsZero() {
		t.Fatalf("Walk after Commit = %v, want only %q", ids, id)
	}
	checkContent(t, open(t, s, id), data)
}

func testOpenUnknown(t *testing.T, s blob.Store) {
	id := put(t, s, []byte("x"), 1)
	other := []byte(id)
	// Flip one hex-like character so the id keeps its shape.
	if other[0] == '0' {
		other[0] = '1'
	} else {
		other[0] = '0'
	}
	for _, unknown := range []string{string(other), "00000000000000000000000000000000", "ffffffffffffffffffffffffffffffff"} {
		if unknown == id {
			continue
		}
		if r, err := s.Open(context.Background(), unknown); !errors.Is(err, blob.ErrNotFound) {
			if err == nil {
				r.Close()
			}
			t.Errorf("Open(%q) = %v, want ErrNotFound", unknown, err)
		}
	}
}

func testDeleteIdempotent(t *testing.T, s blob.Store) {
	ctx := context.Background()
	id := put(t, s, []byte("delete me"), 3)
	keep := put(t, s, []byte("keep me"), 3)
	for i := range 2 {
		if err := s.Delete(ctx, id); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
		if _, err := s.Open(ctx, id); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Open after Delete #%d = %v, want ErrNotFound", i+1, err)
		}
	}
	if err := s.Delete(ctx, "0123456789abcdef0123456789abcdef"); err != nil {
		t.Fatalf("Delete of a never-stored id: %v", err)
	}
	if ids := walkIDs(t, s); len(ids) != 1 {
		t.Fatalf("Walk after Delete = %v, want only %q", ids, keep)
	}
	checkContent(t, open(t, s, keep), []byte("keep me"))
}

func testReaderSurvivesDelete(t *testing.T, s blob.Store) {
	data := randBytes(6, 512<<10+1)
	id := put(t, s, data, 64<<10)
	r1 := open(t, s, id)
	r2 := open(t, s, id)
	if err := s.Delete(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	checkContent(t, r1, data)
	rr, err := r2.Range(100, int64(len(data))-100)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(rr); err != nil || !bytes.Equal(got, data[100:]) {
		t.Fatalf("Range after Delete: %d bytes, %v", len(got), err)
	}
}

func testWalk(t *testing.T, s blob.Store) {
	start := time.Now()
	want := map[string]bool{}
	var deleted []string
	for i := range 60 {
		id := put(t, s, randBytes(uint64(i), i*100), 1000)
		if i%6 == 0 {
			deleted = append(deleted, id)
		} else {
			want[id] = true
		}
	}
	for _, id := range deleted {
		if err := s.Delete(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	aborted, _ := s.Create(context.Background())
	aborted.Write([]byte("aborted"))
	if err := aborted.Abort(); err != nil {
		t.Fatal(err)
	}
	pending, _ := s.Create(context.Background())
	defer pending.Abort()
	pending.Write([]byte("pending"))

	end := time.Now()
	got := walkIDs(t, s)
	if len(got) != len(want) {
		t.Errorf("Walk reported %d blobs, want %d", len(got), len(want))
	}
	// File systems keep coarse timestamps; allow for that, not for a
	// missing or invented time.
	const slack = 2 * time.Second
	for id, committed := range got {
		if !want[id] {
			t.Errorf("Walk reported %q, which is not committed", id)
		}
		if committed.Before(start.Add(-slack)) || committed.After(end.Add(slack)) {
			t.Errorf("Walk: %q committed at %v, outside [%v, %v]", id, committed, start, end)
		}
	}
}

func testWalkStops(t *testing.T, s blob.Store) {
	for i := range 5 {
		put(t, s, []byte{byte(i)}, 1)
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.Walk(context.Background(), func(string, time.Time) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Walk = %v after %d calls, want the callback's error after 1", err, calls)
	}
}

func testSweepTemp(t *testing.T, s blob.Store) {
	ctx := context.Background()
	committedData := randBytes(7, 100<<10)
	committed := put(t, s, committedData, 1<<20)

	old, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Abort()
	oldData := randBytes(8, 300<<10)
	if _, err := old.Write(oldData); err != nil {
		t.Fatal(err)
	}
	// Margins far above file-system timestamp granularity.
	time.Sleep(60 * time.Millisecond)
	cutoff := time.Now()
	time.Sleep(60 * time.Millisecond)
	fresh, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Abort()
	freshData := randBytes(9, 300<<10)
	if _, err := fresh.Write(freshData); err != nil {
		t.Fatal(err)
	}

	if n, err := s.SweepTemp(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("SweepTemp(an hour ago) = %d, %v; want 0", n, err)
	}
	if n, err := s.SweepTemp(ctx, cutoff); err != nil || n != 1 {
		t.Fatalf("SweepTemp(cutoff) = %d, %v; want 1 (the old writer only)", n, err)
	}
	// The committed blob, though older than the cutoff, is untouched.
	checkContent(t, open(t, s, committed), committedData)
	// The fresh writer still commits its whole content.
	freshID, err := fresh.Commit()
	if err != nil {
		t.Fatalf("Commit of the fresh writer after a sweep: %v", err)
	}
	checkContent(t, open(t, s, freshID), freshData)
	// The swept writer must never produce a blob with missing bytes: its
	// Commit fails, or yields the whole content.
	if oldID, err := old.Commit(); err == nil {
		checkContent(t, open(t, s, oldID), oldData)
	} else if err := old.Abort(); err != nil {
		t.Fatalf("Abort after a failed Commit: %v", err)
	}
	if n := sweepAll(t, s); n != 0 {
		t.Fatalf("second SweepTemp removed %d, want 0", n)
	}
	if ids := walkIDs(t, s); len(ids) < 2 {
		t.Fatalf("Walk after sweeps = %v", ids)
	}
}

func testConcurrent(t *testing.T, s blob.Store) {
	const writers, each = 8, 12
	var mu sync.Mutex
	all := map[string][]byte{}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				data := randBytes(uint64(g*1000+i), (g*each+i)*1700)
				w, err := s.Create(context.Background())
				if err != nil {
					errs <- err
					return
				}
				for off := 0; off < len(data); off += 4000 {
					if _, err := w.Write(data[off:min(off+4000, len(data))]); err != nil {
						errs <- err
						w.Abort()
						return
					}
				}
				if i%4 == 3 {
					if err := w.Abort(); err != nil {
						errs <- err
						return
					}
					continue
				}
				id, err := w.Commit()
				if err != nil {
					errs <- err
					w.Abort()
					return
				}
				// Read back at once, while others write and walk.
				r, err := s.Open(context.Background(), id)
				if err != nil {
					errs <- err
					return
				}
				got := make([]byte, len(data))
				n, err := r.ReadAt(got, 0)
				r.Close()
				if n != len(data) || !bytes.Equal(got, data) {
					errs <- fmt.Errorf("read back %q: %d bytes, %v", id, n, err)
					return
				}
				mu.Lock()
				if _, dup := all[id]; dup {
					mu.Unlock()
					errs <- fmt.Errorf("id %q returned twice", id)
					return
				}
				all[id] = data
				mu.Unlock()
				if i%4 == 2 {
					if err := s.Delete(context.Background(), id); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					all[id] = nil
					mu.Unlock()
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if err := s.Walk(context.Background(), func(string, time.Time) error { return nil }); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := walkIDs(t, s)
	for id, data := range all {
		if data == nil {
			if _, ok := got[id]; ok {
				t.Errorf("deleted %q still walked", id)
			}
			continue
		}
		if _, ok := got[id]; !ok {
			t.Errorf("committed %q not walked", id)
		}
		checkContent(t, open(t, s, id), data)
	}
	if len(got) != writers*each/2 {
		t.Errorf("Walk reported %d blobs, want %d", len(got), writers*each/2)
	}
}

// chacha is a reproducible byte stream, so a large blob is checked without
// holding a second copy of it.
func chacha(seed byte) io.Reader {
	return rand.NewChaCha8([32]byte{seed})
}

func testLarge(t *testing.T, s blob.Store) {
	const size = 20<<20 + 5
	w, err := s.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.New()
	chunk := make([]byte, 1<<20)
	src := chacha(42)
	for written := 0; written < size; {
		n := min(len(chunk), size-written)
		io.ReadFull(src, chunk[:n])
		want.Write(chunk[:n])
		if _, err := w.Write(chunk[:n]); err != nil {
			w.Abort()
			t.Fatal(err)
		}
		written += n
	}
	id, err := w.Commit()
	if err != nil {
		w.Abort()
		t.Fatal(err)
	}
	r := open(t, s, id)
	if r.Size() != size {
		t.Fatalf("Size = %d, want %d", r.Size(), size)
	}
	rr, err := r.Range(0, size)
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	if n, err := io.CopyBuffer(got, rr, make([]byte, 256<<10)); err != nil || n != size {
		t.Fatalf("streaming read: %d bytes, %v", n, err)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatal("large blob read back different bytes")
	}
	// Spot checks deep inside, against the regenerated stream.
	stream := make([]byte, size)
	io.ReadFull(chacha(42), stream)
	for _, off := range []int64{0, 1 << 20, 13<<20 + 7, size - 4096} {
		buf := make([]byte, 4096)
		if n, err := r.ReadAt(buf, off); n != len(buf) || (err != nil && err != io.EOF) {
			t.Fatalf("ReadAt(%d): %d, %v", off, n, err)
		}
		if !bytes.Equal(buf, stream[off:off+4096]) {
			t.Fatalf("ReadAt(%d) returned different bytes", off)
		}
	}
}

// MaliciousIDs checks that ids from untrusted metadata never reach outside
// the store: Open finds nothing and Delete removes nothing.
func testMaliciousIDs(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := []byte("precious")
	id := put(t, s, data, 100)
	bad := []string{
		"", ".", "..", "/", "a/b", "../../etc/passwd", "/etc/passwd", "..\\..\\x",
		"./" + id, id + "/", id + "/.", "../" + id, " " + id, id + "\x00", id + "\n",
		strings.Repeat("a", 4096), strings.Repeat("../", 200) + "etc/passwd",
		".tmp", "%2e%2e%2f", "\x00", strings.Repeat("0", 31), strings.Repeat("0", 33),
	}
	if up := strings.ToUpper(id); up != id {
		bad = append(bad, up)
	}
	if len(id) > 4 {
		bad = append(bad, id[:2]+"/"+id[2:4]+"/"+id, id[:len(id)-1])
	}
	for _, b := range bad {
		if r, err := s.Open(ctx, b); !errors.Is(err, blob.ErrNotFound) {
			if err == nil {
				r.Close()
			}
			t.Errorf("Open(%q) = %v, want ErrNotFound", b, err)
		}
		if err := s.Delete(ctx, b); err != nil {
			t.Errorf("Delete(%q) = %v, want nil", b, err)
		}
	}
	if ids := walkIDs(t, s); len(ids) != 1 {
		t.Fatalf("Walk after malicious deletes = %v, want only %q", ids, id)
	}
	checkContent(t, open(t, s, id), data)
}
