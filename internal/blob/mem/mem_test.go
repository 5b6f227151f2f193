package mem

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/blob"
	"github.com/cofferstore/coffer/internal/blob/blobtest"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return New() })
}

func TestLeakCounters(t *testing.T) {
	ctx := context.Background()
	s := New()
	w, _ := s.Create(ctx)
	w2, _ := s.Create(ctx)
	if n := s.PendingWriters(); n != 2 {
		t.Fatalf("PendingWriters = %d, want 2", n)
	}
	w.Write([]byte("abc"))
	id, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	// Abort after a successful Commit keeps the blob.
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Commit = %v, want ErrClosed", err)
	}
	if _, err := w.Commit(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Commit = %v, want ErrClosed", err)
	}
	w2.Abort()
	if n := s.PendingWriters(); n != 0 {
		t.Fatalf("PendingWriters = %d, want 0", n)
	}
	r, err := s.Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.OpenReaders(); n != 1 {
		t.Fatalf("OpenReaders = %d, want 1", n)
	}
	r.Close()
	if n := s.OpenReaders(); n != 0 {
		t.Fatalf("OpenReaders after Close = %d", n)
	}
	if _, err := r.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReadAt after Close = %v", err)
	}
	if err := r.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d", s.Len())
	}
}

func TestSweptWriterFails(t *testing.T) {
	ctx := context.Background()
	s := New()
	w, _ := s.Create(ctx)
	w.Write([]byte("abc"))
	if n, err := s.SweepTemp(ctx, time.Now().Add(time.Second)); n != 1 || err != nil {
		t.Fatalf("SweepTemp = %d, %v", n, err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrSwept) {
		t.Fatalf("Write after sweep = %v", err)
	}
	if _, err := w.Commit(); !errors.Is(err, ErrSwept) {
		t.Fatalf("Commit after sweep = %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
}
