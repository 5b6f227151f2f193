// Package disk is the blob.Store on a local (or shared POSIX) file system.
//
// Layout under the root dir: committed blobs at ab/cd/<id>, where <id> is
// 32 lower-case hex characters starting with "abcd"; uncommitted data in
// .tmp/<id>. A blob is committed by fsyncing its file, renaming it into its
// shard directory and fsyncing that directory, so rename never crosses a
// file system and a committed name survives power loss. Several processes
// may share one root: names are random (128 bits) and created with O_EXCL,
// and nothing relies on in-process locks.
package disk

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cofferstore/coffer/internal/blob"
)

const (
	tmpDir   = ".tmp"
	idLen    = 32
	filePerm = 0o600
	dirPerm  = 0o700
	// bufSize batches small writes; writes at least this large go to the
	// file directly (bufio skips its buffer for them).
	bufSize = 64 << 10
)

// ErrRange means a Range request lies outside the blob.
var ErrRange = errors.New("range outside blob")

// Store is a blob.Store rooted at a directory. It is safe for concurrent
// use, also by several processes sharing the directory.
type Store struct {
	root string
	tmp  string
	// ready holds the shard directories ("ab/cd") this process has made
	// durable (created if needed and their parents fsynced), so each is
	// set up once per process rather than once per commit.
	ready sync.Map
}

var _ blob.Store = (*Store)(nil)

// Open returns the store rooted at dir, creating dir and its temp
// directory if needed.
func Open(dir string) (*Store, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening blob store %q: %w", dir, err)
	}
	s := &Store{root: root, tmp: filepath.Join(root, tmpDir)}
	if err := os.MkdirAll(s.tmp, dirPerm); err != nil {
		return nil, fmt.Errorf("opening blob store: %w", err)
	}
	// The root's own entry must be durable before any commit relies on it.
	for _, d := range []string{filepath.Dir(root), root} {
		if err := syncDir(d); err != nil {
			return nil, fmt.Errorf("opening blob store: %w", err)
		}
	}
	return s, nil
}

// Dir returns the store's root directory.
func (s *Store) Dir() string { return s.root }

// validID reports whether id has exactly the shape Commit gives ids, which
// is what keeps an id from naming a path outside its shard.
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (s *Store) path(id string) string {
	return filepath.Join(s.root, id[0:2], id[2:4], id)
}

func newID() string {
	var raw [idLen / 2]byte
	rand.Read(raw[:])
	return hex.EncodeToString(raw[:])
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

var bufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bufSize) }}

// Create starts a new blob in the temp directory.
func (s *Store) Create(ctx context.Context) (blob.Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("creating blob: %w", err)
	}
	id := newID()
	tmp := filepath.Join(s.tmp, id)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return nil, fmt.Errorf("creating blob: %w", err)
	}
	bw := bufPool.Get().(*bufio.Writer)
	bw.Reset(f)
	return &writer{s: s, id: id, tmp: tmp, f: f, bw: bw}, nil
}

// Open returns a committed blob's reader. Any id other than one Commit
// could have returned is ErrNotFound.
func (s *Store) Open(ctx context.Context, id string) (blob.Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("opening blob: %w", err)
	}
	if !validID(id) {
		return nil, fmt.Errorf("opening blob %q: %w", id, blob.ErrNotFound)
	}
	f, err := os.Open(s.path(id))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("opening blob %s: %w", id, blob.ErrNotFound)
		}
		return nil, fmt.Errorf("opening blob %s: %w", id, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening blob %s: %w", id, err)
	}
	return &reader{f: f, size: fi.Size()}, nil
}

// Delete removes a committed blob. The removal is not fsynced: after a
// power loss a deleted blob may come back, and the collector that walks
// blobs against the metadata removes it again.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deleting blob: %w", err)
	}
	if !validID(id) {
		return nil // no committed blob can have this id
	}
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting blob %s: %w", id, err)
	}
	return nil
}

func isHex2(name string) bool {
	return len(name) == 2 && validID(name+"000000000000000000000000000000")
}

// readDir lists a directory without sorting; a directory that vanished
// (removed by an operator or another tool) lists as empty.
func readDir(dir string) ([]fs.DirEntry, error) {
	d, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// Walk calls fn for every committed blob with its file's modification time,
// which is when its last byte was written, just before Commit. Files in
// the tree that Commit cannot have produced are ignored.
func (s *Store) Walk(ctx context.Context, fn func(id string, committed time.Time) error) error {
	top, err := readDir(s.root)
	if err != nil {
		return fmt.Errorf("walking blobs: %w", err)
	}
	for _, a := range top {
		if !a.IsDir() || !isHex2(a.Name()) {
			continue
		}
		mid, err := readDir(filepath.Join(s.root, a.Name()))
		if err != nil {
			return fmt.Errorf("walking blobs: %w", err)
		}
		for _, b := range mid {
			if !b.IsDir() || !isHex2(b.Name()) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("walking blobs: %w", err)
			}
			prefix := a.Name() + b.Name()
			files, err := readDir(filepath.Join(s.root, a.Name(), b.Name()))
			if err != nil {
				return fmt.Errorf("walking blobs: %w", err)
			}
			for _, f := range files {
				id := f.Name()
				if !f.Type().IsRegular() || !validID(id) || id[:4] != prefix {
					continue
				}
				info, err := f.Info()
				if errors.Is(err, fs.ErrNotExist) {
					continue // deleted since the listing
				}
				if err != nil {
					return fmt.Errorf("walking blobs: %w", err)
				}
				if err := fn(id, info.ModTime()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// SweepTemp removes temp files last modified before olderThan. A writer
// whose file is swept fails at Commit; it never commits partial data.
func (s *Store) SweepTemp(ctx context.Context, olderThan time.Time) (int, error) {
	entries, err := readDir(s.tmp)
	if err != nil {
		return 0, fmt.Errorf("sweeping temp blobs: %w", err)
	}
	n := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("sweeping temp blobs: %w", err)
		}
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // committed or aborted meanwhile
		}
		if err != nil {
			return n, fmt.Errorf("sweeping temp blobs: %w", err)
		}
		if !info.ModTime().Before(olderThan) {
			continue
		}
		err = os.Remove(filepath.Join(s.tmp, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // another sweeper or the writer got there first
		}
		if err != nil {
			return n, fmt.Errorf("sweeping temp blobs: %w", err)
		}
		n++
	}
	return n, nil
}

// prepareShard makes the shard directory of id exist durably: each level
// is created if missing and its parent fsynced. Parents are fsynced even
// when the directory already existed, because another process may have
// created it and not yet synced its parent; this costs two fsyncs per
// shard per process.
func (s *Store) prepareShard(id string) error {
	shard := id[0:2] + "/" + id[2:4]
	if _, ok := s.ready.Load(shard); ok {
		return nil
	}
	l1 := filepath.Join(s.root, id[0:2])
	l2 := filepath.Join(l1, id[2:4])
	for _, d := range []string{l1, l2} {
		if err := os.Mkdir(d, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating shard directory: %w", err)
		}
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	s.ready.Store(shard, struct{}{})
	return nil
}

// ErrWriterDone is returned by a Writer used after Commit or Abort.
var ErrWriterDone = errors.New("blob writer already committed or aborted")

// writer is used by one goroutine at a time.
type writer struct {
	s         *Store
	id        string
	tmp       string
	f         *os.File      // nil once closed
	bw        *bufio.Writer // nil once returned to the pool
	done      bool
	committed bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("writing blob: %w", ErrWriterDone)
	}
	n, err := w.bw.Write(p)
	if err != nil {
		return n, fmt.Errorf("writing blob: %w", err)
	}
	return n, nil
}

func (w *writer) release() {
	if w.bw != nil {
		w.bw.Reset(nil)
		bufPool.Put(w.bw)
		w.bw = nil
	}
}

func (w *writer) closeFile() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// Commit flushes, fsyncs and renames the file into its shard, then fsyncs
// the shard directory. On failure nothing stays visible under the id.
func (w *writer) Commit() (string, error) {
	if w.done {
		return "", fmt.Errorf("committing blob: %w", ErrWriterDone)
	}
	w.done = true
	err := w.bw.Flush()
	w.release()
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.closeFile(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("committing blob: %w", err)
	}
	if err := w.s.prepareShard(w.id); err != nil {
		return "", fmt.Errorf("committing blob: %w", err)
	}
	final := w.s.path(w.id)
	if err := os.Rename(w.tmp, final); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, serr := os.Stat(w.tmp); errors.Is(serr, fs.ErrNotExist) {
				return "", fmt.Errorf("committing blob: temp file was swept: %w", err)
			}
			// The shard vanished under us (removed from outside):
			// recreate it once.
			w.s.ready.Delete(w.id[0:2] + "/" + w.id[2:4])
			if perr := w.s.prepareShard(w.id); perr != nil {
				return "", fmt.Errorf("committing blob: %w", perr)
			}
			err = os.Rename(w.tmp, final)
		}
		if err != nil {
			return "", fmt.Errorf("committing blob: %w", err)
		}
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		// The name may not be durable, so the caller must not record it;
		// remove it rather than leave an orphan.
		os.Remove(final)
		return "", fmt.Errorf("committing blob: %w", err)
	}
	w.committed = true
	return w.id, nil
}

// Abort removes the temp file. After a successful Commit it does nothing,
// so callers may defer it.
func (w *writer) Abort() error {
	if w.committed {
		return nil
	}
	w.done = true
	w.release()
	cerr := w.closeFile()
	if err := os.Remove(w.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("aborting blob: %w", err)
	}
	if cerr != nil && !errors.Is(cerr, os.ErrClosed) {
		return fmt.Errorf("aborting blob: %w", cerr)
	}
	return nil
}

// reader reads a committed blob's file; the open descriptor keeps the
// bytes readable after Delete.
type reader struct {
	f    *os.File
	size int64
}

func (r *reader) ReadAt(p []byte, off int64) (int, error) { return r.f.ReadAt(p, off) }
func (r *reader) Size() int64                             { return r.size }
func (r *reader) Close() error                            { return r.f.Close() }

// Range seeks the file and returns an *io.LimitedReader around the
// *os.File itself, which net/http's response writer recognises and sends
// with sendfile(2).
func (r *reader) Range(off, n int64) (io.Reader, error) {
	if off < 0 || n < 0 || off > r.size || n > r.size-off {
		return nil, fmt.Errorf("blob range %d+%d of %d bytes: %w", off, n, r.size, ErrRange)
	}
	if _, err := r.f.Seek(off, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seeking blob: %w", err)
	}
	return &io.LimitedReader{R: r.f, N: n}, nil
}
