package disk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cofferstore/coffer/internal/blob"
)

// FuzzID feeds arbitrary ids, which come from stored metadata, to Open
// and Delete: only the one committed id opens, and no other id deletes
// anything inside or outside the store.
func FuzzID(f *testing.F) {
	base := f.TempDir()
	victim := filepath.Join(base, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		f.Fatal(err)
	}
	s, err := Open(filepath.Join(base, "blobs"))
	if err != nil {
		f.Fatal(err)
	}
	w, _ := s.Create(context.Background())
	w.Write([]byte("data"))
	id, err := w.Commit()
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{id, "../victim", "", "..", id[:2] + "/" + id[2:4] + "/" + id, "ABCDEF0123456789ABCDEF0123456789", "0123456789abcdef0123456789abcdef"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, x string) {
		ctx := context.Background()
		r, err := s.Open(ctx, x)
		if x == id {
			if err != nil {
				t.Fatalf("Open of the committed id: %v", err)
			}
			r.Close()
			return
		}
		if !errors.Is(err, blob.ErrNotFound) {
			if err == nil {
				r.Close()
			}
			t.Fatalf("Open(%q) = %v, want ErrNotFound", x, err)
		}
		if err := s.Delete(ctx, x); err != nil {
			t.Fatalf("Delete(%q) = %v", x, err)
		}
		if _, err := os.Stat(s.path(id)); err != nil {
			t.Fatalf("Delete(%q) removed the committed blob: %v", x, err)
		}
		if _, err := os.Stat(victim); err != nil {
			t.Fatalf("Delete(%q) removed a file outside the store: %v", x, err)
		}
	})
}
