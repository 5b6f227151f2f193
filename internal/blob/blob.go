// Package blob defines the store of object bytes. A blob is immutable once
// committed and is named by an id the store chooses. Implementations live in
// sub-packages and all run the conformance suite in package blobtest.
package blob

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound means no committed blob has the id.
var ErrNotFound = errors.New("blob not found")

// Store holds blobs.
type Store interface {
	// Create starts a new blob. Nothing written is visible (to Open or Walk)
	// until Commit. The caller must call Commit or Abort exactly once.
	Create(ctx context.Context) (Writer, error)
	// Open returns a committed blob's reader; the caller closes it. A blob
	// deleted after Open stays readable through the open reader.
	// ErrNotFound for an unknown or deleted id.
	Open(ctx context.Context, id string) (Reader, error)
	// Delete removes a committed blob. Deleting a missing blob is not an
	// error. A delete need not be durable: after a power loss a deleted
	// blob may reappear, unreferenced, for the orphan collector to remove.
	Delete(ctx context.Context, id string) error
	// Walk calls fn for every committed blob with the time it was committed,
	// in no particular order. An error from fn stops the walk and is returned.
	Walk(ctx context.Context, fn func(id string, committed time.Time) error) error
	// SweepTemp removes uncommitted data (from crashed or abandoned writers)
	// last written before olderThan, and reports how many it removed.
	SweepTemp(ctx context.Context, olderThan time.Time) (int, error)
}

// Writer receives a new blob's bytes.
type Writer interface {
	io.Writer
	// Commit makes the blob durable (its data and its name survive power
	// loss once Commit returns nil) and returns its id. Write errors that
	// were deferred surface here at the latest.
	Commit() (id string, err error)
	// Abort discards the blob. It is safe after a failed Commit, and a no-op
	// after a successful one, so callers may defer it.
	Abort() error
}

// Reader reads a committed blob.
type Reader interface {
	io.ReaderAt
	io.Closer
	Size() int64
	// Range returns a reader of n bytes from offset off. It may share state
	// with the Reader (a file offset): use one range at a time, and do not
	// use the Reader after Close. Implementations return a reader that the
	// kernel can send without copying where they can (for files, an
	// *io.LimitedReader around the *os.File).
	Range(off, n int64) (io.Reader, error)
}
