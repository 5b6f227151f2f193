// Package mem is an in-memory blob.Store for the unit tests of upper
// layers. It is strict where a file store would be lenient (use after
// Close or Commit fails loudly) and counts open readers and pending
// writers so that tests can catch leaks.
package mem

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cofferstore/coffer/internal/blob"
)

var (
	// ErrClosed is returned by a Writer after Commit or Abort, and by a
	// Reader after Close.
	ErrClosed = errors.New("mem blob: use after close")
	// ErrSwept is returned by a Writer whose data SweepTemp removed.
	ErrSwept = errors.New("mem blob: uncommitted data was swept")
)

type entry struct {
	data      []byte
	committed time.Time
}

// Store is an in-memory blob.Store. The zero value is not usable: call New.
type Store struct {
	mu      sync.Mutex
	blobs   map[string]entry
	pending map[*writer]struct{}
	readers int
}

var _ blob.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{blobs: map[string]entry{}, pending: map[*writer]struct{}{}}
}

// Create starts a new blob.
func (s *Store) Create(ctx context.Context) (blob.Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("creating blob: %w", err)
	}
	w := &writer{s: s, lastWrite: time.Now()}
	s.mu.Lock()
	s.pending[w] = struct{}{}
	s.mu.Unlock()
	return w, nil
}

// Open returns a committed blob's reader.
func (s *Store) Open(ctx context.Context, id string) (blob.Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("opening blob: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.blobs[id]
	if !ok {
		return nil, fmt.Errorf("opening blob %q: %w", id, blob.ErrNotFound)
	}
	s.readers++
	return &reader{s: s, data: e.data}, nil
}

// Delete removes a committed blob; readers already open keep its bytes.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deleting blob: %w", err)
	}
	s.mu.Lock()
	delete(s.blobs, id)
	s.mu.Unlock()
	return nil
}

// Walk calls fn for every committed blob. fn runs without the store's lock
// held, so it may call the store.
func (s *Store) Walk(ctx context.Context, fn func(id string, committed time.Time) error) error {
	s.mu.Lock()
	snapshot := make(map[string]time.Time, len(s.blobs))
	for id, e := range s.blobs {
		snapshot[id] = e.committed
	}
	s.mu.Unlock()
	for id, committed := range snapshot {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("walking blobs: %w", err)
		}
		if err := fn(id, committed); err != nil {
			return err
		}
	}
	return nil
}

// SweepTemp drops the data of pending writers last written before
// olderThan; their Write and Commit then fail with ErrSwept.
func (s *Store) SweepTemp(ctx context.Context, olderThan time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("sweeping temp blobs: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for w := range s.pending {
		if w.lastWrite.Before(olderThan) {
			w.swept = true
			w.buf = bytes.Buffer{}
			delete(s.pending, w)
			n++
		}
	}
	return n, nil
}

// Len returns the number of committed blobs.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.blobs)
}

// OpenReaders returns the number of readers not yet closed.
func (s *Store) OpenReaders() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readers
}

// PendingWriters returns the number of writers neither committed, aborted
// nor swept.
func (s *Store) PendingWriters() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// writer's fields other than s are guarded by s.mu, because SweepTemp
// reaches into writers that their owner may be using.
type writer struct {
	s         *Store
	buf       bytes.Buffer
	lastWrite time.Time
	swept     bool
	done      bool // committed or aborted
	committed bool
}

func (w *writer) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	switch {
	case w.done:
		return 0, fmt.Errorf("writing blob: %w", ErrClosed)
	case w.swept:
		return 0, fmt.Errorf("writing blob: %w", ErrSwept)
	}
	w.lastWrite = time.Now()
	return w.buf.Write(p)
}

func (w *writer) Commit() (string, error) {
	var raw [16]byte
	rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	switch {
	case w.done:
		return "", fmt.Errorf("committing blob: %w", ErrClosed)
	case w.swept:
		return "", fmt.Errorf("committing blob: %w", ErrSwept)
	}
	w.done, w.committed = true, true
	delete(w.s.pending, w)
	// The buffer is never written again, so readers can share it.
	w.s.blobs[id] = entry{data: w.buf.Bytes(), committed: time.Now()}
	w.buf = bytes.Buffer{}
	return id, nil
}

// Abort discards the data. After a successful Commit it does nothing, so
// callers may defer it.
func (w *writer) Abort() error {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.committed {
		return nil
	}
	w.done = true
	w.buf = bytes.Buffer{}
	delete(w.s.pending, w)
	return nil
}

type reader struct {
	s      *Store
	data   []byte
	closed bool // only the reader's owner touches it
}

func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if r.closed {
		return 0, fmt.Errorf("reading blob: %w", ErrClosed)
	}
	if off < 0 {
		return 0, fmt.Errorf("reading blob at %d: negative offset", off)
	}
	if off >= int64(len(r.data)) {
		return 0, io.EOF
	}
	n := copy(p, r.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (r *reader) Size() int64 { return int64(len(r.data)) }

func (r *reader) Range(off, n int64) (io.Reader, error) {
	if r.closed {
		return nil, fmt.Errorf("reading blob range: %w", ErrClosed)
	}
	if off < 0 || n < 0 || off > int64(len(r.data)) || n > int64(len(r.data))-off {
		return nil, fmt.Errorf("blob range %d+%d outside size %d", off, n, len(r.data))
	}
	return bytes.NewReader(r.data[off : off+n]), nil
}

func (r *reader) Close() error {
	if r.closed {
		return fmt.Errorf("closing blob reader: %w", ErrClosed)
	}
	r.closed = true
	r.s.mu.Lock()
	r.s.readers--
	r.s.mu.Unlock()
	return nil
}
