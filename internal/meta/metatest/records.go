package metatest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// testRecords: revisions as preconditions, kinds as separate ranges,
// ordered paging, and no ABA after a delete.
func (h *harness) testRecords(t *testing.T) {
	s := h.fresh(t)
	ctx := context.Background()
	rev, err := s.PutRecord(ctx, meta.Record{Kind: "user", ID: "alice", Data: []byte("v1"), Rev: meta.RevNew})
	if err != nil || rev <= 0 {
		t.Fatalf("create = %d, %v", rev, err)
	}
	if _, err := s.PutRecord(ctx, meta.Record{Kind: "user", ID: "alice", Data: []byte("again"), Rev: meta.RevNew}); !errors.Is(err, meta.ErrConflict) {
		t.Errorf("create twice err = %v, want ErrConflict", err)
	}
	r, err := s.GetRecord(ctx, "user", "alice")
	if err != nil || string(r.Data) != "v1" || r.Rev != rev || r.Kind != "user" || r.ID != "alice" {
		t.Fatalf("GetRecord = %+v, %v", r, err)
	}
	rev2, err := s.PutRecord(ctx, meta.Record{Kind: "user", ID: "alice", Data: []byte("v2"), Rev: rev})
	if err != nil || rev2 == rev {
		t.Fatalf("update = %d, %v; want a new revision", rev2, err)
	}
	if _, err := s.PutRecord(ctx, meta.Record{Kind: "user", ID: "alice", Data: []byte("lost update"), Rev: rev}); !errors.Is(err, meta.ErrConflict) {
		t.Errorf("update with a stale revision err = %v, want ErrConflict", err)
	}
	if _, err := s.PutRecord(ctx, meta.Record{Kind: "user", ID: "nobody", Data: []byte("x"), Rev: 5}); !errors.Is(err, meta.ErrRecordNotFound) {
		t.Errorf("update of a missing record err = %v, want ErrRecordNotFound", err)
	}
	if err := s.DeleteRecord(ctx, "user", "alice", rev); !errors.Is(err, meta.ErrConflict) {
		t.Errorf("delete with a stale revision err = %v, want ErrConflict", err)
	}
	if err := s.DeleteRecord(ctx, "user", "alice", rev2); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.GetRecord(ctx, "user", "alice"); !errors.Is(err, meta.ErrRecordNotFound) {
		t.Errorf("get after delete err = %v", err)
	}
	if err := s.DeleteRecord(ctx, "user", "alice", meta.RevAny); !errors.Is(err, meta.ErrRecordNotFound) {
		t.Errorf("delete twice err = %v", err)
	}
	// Re-created, the record never takes a revision a caller saw before.
	var revs []int64
	for i := range 3 {
		rw := meta.RevNew
		if i > 0 {
			rw = revs[i-1]
		}
		n, err := s.PutRecord(ctx, meta.Record{Kind: "user", ID: "alice", Data: []byte("new"), Rev: rw})
		if err != nil {
			t.Fatal(err)
		}
		if n == rev || n == rev2 || slices.Contains(revs, n) {
			t.Fatalf("revision %d reused (earlier %d, %d, %v)", n, rev, rev2, revs)
		}
		revs = append(revs, n)
	}
	if _, err := s.PutRecord(ctx, meta.Record{Kind: "user", ID: "alice", Data: []byte("blind"), Rev: meta.RevAny}); err != nil {
		t.Errorf("unconditional write: %v", err)
	}

	// Kinds are separate; listing is ordered, paged and bounded.
	for _, id := range []string{"b", "a", "c/1", "c", "\x00z", "é"} {
		if _, err := s.PutRecord(ctx, meta.Record{Kind: "key", ID: id, Data: []byte(id), Rev: meta.RevNew}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutRecord(ctx, meta.Record{Kind: "keys", ID: "zzz", Rev: meta.RevNew}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	after := ""
	for {
		page, err := s.ListRecords(ctx, "key", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			if string(r.Data) != r.ID || r.Kind != "key" {
				t.Errorf("listed %+v", r)
			}
			ids = append(ids, r.ID)
		}
		after = page[len(page)-1].ID
	}
	if want := []string{"\x00z", "a", "b", "c", "c/1", "é"}; !slices.Equal(ids, want) {
		t.Errorf("listed ids %q, want %q", ids, want)
	}
	if _, err := s.PutRecord(ctx, meta.Record{Rev: meta.RevNew}); err == nil {
		t.Error("a record without a kind was accepted")
	}
}

// testRecordsExpiry: an expired record is absent to every method, can be
// created again, and is purged.
func (h *harness) testRecordsExpiry(t *testing.T) {
	s := h.fresh(t)
	ctx := context.Background()
	soon := time.Now().Add(300 * time.Millisecond)
	later := time.Now().Add(time.Hour)
	for _, id := range []string{"t1", "t2"} {
		if _, err := s.PutRecord(ctx, meta.Record{Kind: "ticket", ID: id, Rev: meta.RevNew, Expires: soon}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutRecord(ctx, meta.Record{Kind: "ticket", ID: "long", Rev: meta.RevNew, Expires: later}); err != nil {
		t.Fatal(err)
	}
	r, err := s.GetRecord(ctx, "ticket", "t1")
	if err != nil || !r.Expires.Equal(soon) {
		t.Fatalf("live ticket = %+v, %v", r, err)
	}
	// Extending t2 keeps it alive past the first expiry.
	if _, err := s.PutRecord(ctx, meta.Record{Kind: "ticket", ID: "t2", Rev: meta.RevAny, Expires: later}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(soon) + 50*time.Millisecond)
	if _, err := s.GetRecord(ctx, "ticket", "t1"); !errors.Is(err, meta.ErrRecordNotFound) {
		t.Errorf("expired record: err = %v, want ErrRecordNotFound", err)
	}
	if err := s.DeleteRecord(ctx, "ticket", "t1", meta.RevAny); !errors.Is(err, meta.ErrRecordNotFound) {
		t.Errorf("deleting an expired record: err = %v", err)
	}
	list, err := s.ListRecords(ctx, "ticket", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{"long", "t2"}) {
		t.Errorf("live tickets %q, want [long t2]", ids)
	}
	n, err := s.PurgeExpiredRecords(ctx, time.Now(), 100)
	if err != nil || n != 1 {
		t.Errorf("PurgeExpiredRecords = %d, %v; want 1", n, err)
	}
	if n, err := s.PurgeExpiredRecords(ctx, time.Now(), 100); err != nil || n != 0 {
		t.Errorf("second purge = %d, %v; want 0", n, err)
	}
	if _, err := s.PutRecord(ctx, meta.Record{Kind: "ticket", ID: "t1", Rev: meta.RevNew}); err != nil {
		t.Errorf("re-creating an expired record: %v", err)
	}
}

// testRecordsRace: many writers updating one record by revision lose no
// update, and a one-time record deleted by revision is taken exactly once.
func (h *harness) testRecordsRace(t *testing.T) {
	s := h.fresh(t)
	ctx := context.Background()
	if _, err := s.PutRecord(ctx, meta.Record{Kind: "counter", ID: "c", Data: []byte("0"), Rev: meta.RevNew}); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 15
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := 0; done < each; {
				r, err := s.GetRecord(ctx, "counter", "c")
				if err != nil {
					t.Error(err)
					return
				}
				var n int
				fmt.Sscan(string(r.Data), &n)
				_, err = s.PutRecord(ctx, meta.Record{Kind: "counter", ID: "c", Data: []byte(fmt.Sprint(n + 1)), Rev: r.Rev})
				if errors.Is(err, meta.ErrConflict) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				done++
			}
		}()
	}
	wg.Wait()
	r, err := s.GetRecord(ctx, "counter", "c")
	if err != nil || string(r.Data) != fmt.Sprint(workers*each) {
		t.Errorf("counter = %q, %v; want %d", r.Data, err, workers*each)
	}
	for round := range 20 {
		id := fmt.Sprint("once-", round)
		rev, err := s.PutRecord(ctx, meta.Record{Kind: "once", ID: id, Rev: meta.RevNew})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		taken := 0
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.DeleteRecord(ctx, "once", id, rev); err == nil {
					mu.Lock()
					taken++
					mu.Unlock()
				} else if !errors.Is(err, meta.ErrRecordNotFound) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if taken != 1 {
			t.Fatalf("round %d: the one-time record was taken %d times", round, taken)
		}
	}
}
