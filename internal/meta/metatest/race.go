package metatest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// testRaceIfNoneMatch: of N writers creating one key with IfNoneMatch,
// exactly one wins and the stored record is the winner's.
func (h *harness) testRaceIfNoneMatch(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	const writers, rounds = 16, 5
	for r := range rounds {
		key := fmt.Sprintf("k%d", r)
		start := make(chan struct{})
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				<-start
				_, errs[w] = PutObj(s, ctx, segmentObject("b", key, fmt.Sprintf("blob-%d-%d", r, w), w), &meta.Condition{IfNoneMatch: true})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for w, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("round %d: writers %d and %d both created the key", r, winner, w)
				}
				winner = w
			case !errors.Is(err, meta.ErrPreconditionFailed):
				t.Fatalf("round %d: writer %d: err = %v, want nil or ErrPreconditionFailed", r, w, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer created the key", r)
		}
		checkObject(t, "winner's record", segmentObject("b", key, fmt.Sprintf("blob-%d-%d", r, winner), winner), mustGet(t, s, "b", key), true)
		for w := range writers {
			checkBlobInUse(t, s, fmt.Sprintf("blob-%d-%d", r, w), w == winner)
		}
	}
}

// testRaceOverwrite: concurrent unconditional overwrites of one key. Every
// write but the last is returned as replaced exactly once, the last is the
// stored record, and only its blob stays referenced.
func (h *harness) testRaceOverwrite(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	const writers, each = 8, 12
	name := func(w, i int) string { return fmt.Sprintf("w%d-%d", w, i) }
	var (
		mu       sync.Mutex
		replaced = map[string]int{}
		nils     int
		firstErr error
	)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range each {
				o := segmentObject("b", "hot", "blob-"+name(w, i), w*each+i)
				o.ETag = name(w, i)
				rep, err := PutObj(s, ctx, o, nil)
				mu.Lock()
				switch {
				case err != nil:
					firstErr = errors.Join(firstErr, err)
				case rep == nil:
					nils++
				default:
					replaced[rep.ETag]++
					if len(rep.Segments) != 1 || rep.Segments[0].BlobID != "blob-"+rep.ETag {
						firstErr = errors.Join(firstErr, fmt.Errorf("replaced %s carries segments %+v", rep.ETag, rep.Segments))
					}
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	if nils != 1 {
		t.Errorf("%d writes replaced nothing, want exactly 1 (the first)", nils)
	}
	final := mustGet(t, s, "b", "hot")
	if replaced[final.ETag] != 0 {
		t.Errorf("final record %s was also returned as replaced", final.ETag)
	}
	for w := range writers {
		for i := range each {
			n := name(w, i)
			want := 1
			if n == final.ETag {
				want = 0
			}
			if replaced[n] != want {
				t.Errorf("write %s returned as replaced %d times, want %d", n, replaced[n], want)
			}
			checkBlobInUse(t, s, "blob-"+n, n == final.ETag)
		}
	}
	if got := len(replaced) + 1; got != writers*each {
		t.Errorf("replaced %d distinct records + final = %d, want %d writes", len(replaced), got, writers*each)
	}
}

// testRaceIfMatchCounter uses IfMatch as compare-and-swap: writers increment
// a counter stored in the ETag. Lost updates or a CAS that succeeds on a
// stale ETag show up as a wrong final count or a wrong replaced record.
func (h *harness) testRaceIfMatchCounter(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	counter := func(n int) meta.Object {
		return meta.Object{Bucket: "b", Key: "counter", ETag: strconv.Itoa(n), Modified: fixedTime(n), Inline: []byte(strconv.Itoa(n))}
	}
	mustPut(t, s, counter(0), nil)
	const writers, each = 6, 8
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for done, tries := 0, 0; done < each; tries++ {
				if tries > 10000 {
					errs <- errors.New("no progress after 10000 attempts")
					return
				}
				cur, err := GetObj(s, ctx, "b", "counter")
				if err != nil {
					errs <- err
					return
				}
				n, err := strconv.Atoi(cur.ETag)
				if err != nil || string(cur.Inline) != cur.ETag {
					errs <- fmt.Errorf("record mixes versions: ETag %q, Inline %q", cur.ETag, cur.Inline)
					return
				}
				rep, err := PutObj(s, ctx, counter(n+1), &meta.Condition{IfMatch: cur.ETag})
				if errors.Is(err, meta.ErrPreconditionFailed) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				if rep == nil || rep.ETag != cur.ETag {
					errs <- fmt.Errorf("CAS from %s replaced %+v", cur.ETag, rep)
					return
				}
				done++
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := mustGet(t, s, "b", "counter"); got.ETag != strconv.Itoa(writers*each) {
		t.Errorf("counter = %s, want %d", got.ETag, writers*each)
	}
}

// testRaceDeleteBucket races DeleteBucket with PutObject into an empty
// bucket. Either the delete wins, and then no put may have succeeded nor
// left a record (a re-created bucket must be empty), or a put wins, and then
// the bucket and every put object exist.
func (h *harness) testRaceDeleteBucket(t *testing.T) {
	ctx := context.Background()
	s := h.fresh(t)
	const rounds, putters = 30, 6
	// The deleter starts after a delay spread over about two put times, so
	// that both outcomes occur whatever the store's latency.
	mustCreateBucket(t, s, meta.Bucket{Name: "timing", Owner: "o", Created: fixedTime(0)})
	began := time.Now()
	for i := range 4 {
		mustPut(t, s, fullObject("timing", fmt.Sprint(i), i), nil)
	}
	putTime := time.Since(began) / 4
	var deleteWon, putsWon int
	for r := range rounds {
		name := fmt.Sprintf("race-%d", r)
		mustCreateBucket(t, s, meta.Bucket{Name: name, Owner: "o", Created: fixedTime(r)})
		start := make(chan struct{})
		putErrs := make([]error, putters)
		var delErr error
		var wg sync.WaitGroup
		for p := range putters {
			wg.Go(func() {
				<-start
				_, putErrs[p] = PutObj(s, ctx, fullObject(name, fmt.Sprintf("k%d", p), r), nil)
			})
		}
		wg.Go(func() {
			<-start
			time.Sleep(putTime * time.Duration(r%6) / 3)
			delErr = s.DeleteBucket(ctx, name)
		})
		close(start)
		wg.Wait()

		switch {
		case delErr == nil:
			deleteWon++
			for p, err := range putErrs {
				if !errors.Is(err, meta.ErrBucketNotFound) {
					t.Fatalf("round %d: DeleteBucket succeeded but put %d returned %v, want ErrBucketNotFound", r, p, err)
				}
			}
			if _, err := s.GetBucket(ctx, name); !errors.Is(err, meta.ErrBucketNotFound) {
				t.Fatalf("round %d: deleted bucket still found: %v", r, err)
			}
			mustCreateBucket(t, s, meta.Bucket{Name: name, Owner: "o", Created: fixedTime(r)})
			page, err := s.ListObjects(ctx, name, meta.ListOptions{})
			if err != nil {
				t.Fatalf("round %d: ListObjects: %v", r, err)
			}
			if len(page.Objects) != 0 {
				t.Fatalf("round %d: objects %q survived in a deleted bucket", r, pageKeys(page))
			}
			for p := range putters {
				if _, err := GetObj(s, ctx, name, fmt.Sprintf("k%d", p)); !errors.Is(err, meta.ErrObjectNotFound) {
					t.Fatalf("round %d: object k%d in re-created bucket: err = %v", r, p, err)
				}
			}
		case errors.Is(delErr, meta.ErrBucketNotEmpty):
			putsWon++
			for p, err := range putErrs {
				if err != nil {
					t.Fatalf("round %d: bucket survived but put %d failed: %v", r, p, err)
				}
				mustGet(t, s, name, fmt.Sprintf("k%d", p))
			}
		default:
			t.Fatalf("round %d: DeleteBucket err = %v, want nil or ErrBucketNotEmpty", r, delErr)
		}
	}
	t.Logf("delete won %d rounds, puts won %d", deleteWon, putsWon)
}
