package disk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/blob"
	"github.com/cofferstore/coffer/internal/blob/blobtest"
)

func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		return openStore(t, filepath.Join(t.TempDir(), "data", "blobs"))
	})
}

func put(t *testing.T, s blob.Store, data []byte) string {
	t.Helper()
	w, err := s.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	id, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestLayout(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "blobs"))
	id := put(t, s, []byte("hello"))
	if !validID(id) {
		t.Fatalf("id %q is not 32 lower-case hex", id)
	}
	p := filepath.Join(s.Dir(), id[:2], id[2:4], id)
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "hello" {
		t.Fatalf("blob file %s: %q, %v", p, got, err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != filePerm {
		t.Errorf("blob file mode %v", fi.Mode())
	}
	tmp, err := os.ReadDir(filepath.Join(s.Dir(), tmpDir))
	if err != nil || len(tmp) != 0 {
		t.Fatalf("temp dir after commit: %v, %v", tmp, err)
	}
	// A pending writer lives in the temp dir only.
	w, _ := s.Create(context.Background())
	defer w.Abort()
	w.Write(bytes.Repeat([]byte("x"), 100<<10))
	tmp, _ = os.ReadDir(filepath.Join(s.Dir(), tmpDir))
	if len(tmp) != 1 {
		t.Fatalf("temp dir with one pending writer holds %d files", len(tmp))
	}
	// Its temp name is not an id Open accepts.
	if _, err := s.Open(context.Background(), tmp[0].Name()); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open of a pending temp name = %v, want ErrNotFound", err)
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	s := openStore(t, dir)
	ids := map[string][]byte{}
	for i := range 20 {
		data := bytes.Repeat([]byte{byte(i)}, i*1000)
		ids[put(t, s, data)] = data
	}
	s2 := openStore(t, dir)
	n := 0
	err := s2.Walk(context.Background(), func(id string, _ time.Time) error {
		n++
		if _, ok := ids[id]; !ok {
			t.Errorf("unexpected id %q", id)
		}
		return nil
	})
	if err != nil || n != len(ids) {
		t.Fatalf("Walk after reopen: %d ids, %v", n, err)
	}
	for id, data := range ids {
		r, err := s2.Open(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
		r.Close()
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: content differs after reopen", id)
		}
	}
}

// Two Store values on one directory stand for two processes (or server
// instances) sharing a file system: they race on shard creation and see
// each other's blobs.
func TestSharedDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	a, b := openStore(t, dir), openStore(t, dir)
	var mu sync.Mutex
	ids := map[string]bool{}
	var wg sync.WaitGroup
	for g := range 8 {
		s := a
		if g%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for range 50 {
				w, err := s.Create(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				w.Write([]byte{byte(g)})
				id, err := w.Commit()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, s := range []*Store{a, b} {
		n := 0
		s.Walk(context.Background(), func(id string, _ time.Time) error {
			if !ids[id] {
				t.Errorf("unknown id %q", id)
			}
			n++
			return nil
		})
		if n != 400 || len(ids) != 400 {
			t.Fatalf("Walk found %d of %d ids", n, len(ids))
		}
	}
	for id := range ids {
		if err := a.Delete(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Open(context.Background(), id); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("blob deleted through one Store still opens through the other: %v", err)
		}
	}
}

func TestWalkIgnoresForeignFiles(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "blobs"))
	id := put(t, s, []byte("real"))
	root := s.Dir()
	junk := []string{
		"README",
		"zz/00/00000000000000000000000000000000",
		"ab/cd/not-an-id",
		"ab/cd/ffff0000000000000000000000000000", // wrong shard for its name
		"AB/CD/abcd0000000000000000000000000000", // upper-case shard
		id[:2] + "/" + id[2:4] + "/" + id + ".partial",
	}
	for _, j := range junk {
		p := filepath.Join(root, j)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A directory with an id's name is not a blob either.
	os.MkdirAll(filepath.Join(root, "12", "34", "1234"+id[4:]), 0o700)
	var got []string
	if err := s.Walk(context.Background(), func(id string, _ time.Time) error {
		got = append(got, id)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != id {
		t.Fatalf("Walk = %v, want [%s]", got, id)
	}
}

// Ids built to climb out of the root must neither open nor delete files
// next to it.
func TestPathEscape(t *testing.T) {
	base := t.TempDir()
	victim := filepath.Join(base, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, filepath.Join(base, "data", "blobs"))
	w, _ := s.Create(context.Background())
	defer w.Abort()
	w.Write([]byte("pending"))
	for _, id := range []string{"../../victim", "../../../victim", victim, "..", ".tmp", "ab/../../../victim"} {
		if r, err := s.Open(context.Background(), id); !errors.Is(err, blob.ErrNotFound) {
			if err == nil {
				r.Close()
			}
			t.Errorf("Open(%q) = %v", id, err)
		}
		if err := s.Delete(context.Background(), id); err != nil {
			t.Errorf("Delete(%q) = %v", id, err)
		}
	}
	if got, err := os.ReadFile(victim); err != nil || string(got) != "keep" {
		t.Fatalf("victim file: %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), tmpDir)); err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	if _, err := w.Commit(); err != nil {
		t.Fatalf("pending writer damaged: %v", err)
	}
}

func TestRangeIsSendfileFriendly(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "blobs"))
	id := put(t, s, []byte("0123456789"))
	r, err := s.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rr, err := r.Range(3, 4)
	if err != nil {
		t.Fatal(err)
	}
	lr, ok := rr.(*io.LimitedReader)
	if !ok {
		t.Fatalf("Range returned %T, want *io.LimitedReader", rr)
	}
	if _, ok := lr.R.(*os.File); !ok {
		t.Fatalf("Range wraps %T, want *os.File", lr.R)
	}
	if got, _ := io.ReadAll(rr); string(got) != "3456" {
		t.Fatalf("Range(3, 4) = %q", got)
	}
	if _, err := r.Range(8, 3); !errors.Is(err, ErrRange) {
		t.Fatalf("Range past end = %v, want ErrRange", err)
	}
}

func TestWriterMisuse(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "blobs"))
	w, _ := s.Create(context.Background())
	w.Write([]byte("a"))
	id, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("Abort after Commit: %v", err)
	}
	if _, err := s.Open(context.Background(), id); err != nil {
		t.Fatalf("Abort after Commit removed the blob: %v", err)
	}
	if _, err := w.Write([]byte("b")); !errors.Is(err, ErrWriterDone) {
		t.Fatalf("Write after Commit = %v", err)
	}
	if _, err := w.Commit(); !errors.Is(err, ErrWriterDone) {
		t.Fatalf("second Commit = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Create(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Create with a cancelled context = %v", err)
	}
}

// A shard removed from outside (an operator cleaning up) is recreated at
// the next commit into it.
func TestShardRecreated(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "blobs"))
	id := put(t, s, []byte("a"))
	if err := os.RemoveAll(filepath.Join(s.Dir(), id[:2])); err != nil {
		t.Fatal(err)
	}
	w, err := s.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Force the new blob into the removed shard.
	wr := w.(*writer)
	wr.id = id[:4] + wr.id[4:]
	if err := os.Rename(wr.tmp, filepath.Join(s.tmp, wr.id)); err != nil {
		t.Fatal(err)
	}
	wr.tmp = filepath.Join(s.tmp, wr.id)
	w.Write([]byte("b"))
	got, err := w.Commit()
	if err != nil {
		t.Fatalf("Commit into a removed shard: %v", err)
	}
	if got[:4] != id[:4] {
		t.Fatalf("id %s not in shard %s", got, id[:4])
	}
	if _, err := s.Open(context.Background(), got); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejectsFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if _, err := Open(f); err == nil {
		t.Fatal("Open of a regular file succeeded")
	}
}

func benchmarkCommit(b *testing.B, size int, chunk int) {
	s := openStore(b, filepath.Join(b.TempDir(), "blobs"))
	data := make([]byte, chunk)
	for i := range data {
		data[i] = byte(i * 7)
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		w, err := s.Create(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < size; off += chunk {
			if _, err := w.Write(data[:min(chunk, size-off)]); err != nil {
				b.Fatal(err)
			}
		}
		id, err := w.Commit()
		if err != nil {
			b.Fatal(err)
		}
		// Keep the disk from filling during long runs.
		b.StopTimer()
		s.Delete(context.Background(), id)
		b.StartTimer()
	}
}

func BenchmarkCommit1MiB(b *testing.B)            { benchmarkCommit(b, 1<<20, 256<<10) }
func BenchmarkCommit64MiB(b *testing.B)           { benchmarkCommit(b, 64<<20, 1<<20) }
func BenchmarkCommit1MiBSmallWrites(b *testing.B) { benchmarkCommit(b, 1<<20, 4<<10) }

func BenchmarkCommit1MiBParallel(b *testing.B) {
	s := openStore(b, filepath.Join(b.TempDir(), "blobs"))
	data := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w, err := s.Create(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			w.Write(data)
			if _, err := w.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
