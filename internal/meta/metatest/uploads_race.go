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

// farFuture is after every upload the suite creates.
var farFuture = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)

// opTime estimates how long one durable part write takes on this store, so
// that racing goroutines can be started a spread of write times apart and
// both outcomes of a race occur whatever the store's latency.
func opTime(t *testing.T, s meta.Store) time.Duration {
	t.Helper()
	u := newUpload("b", "timing", "timing", 0)
	mustCreateUpload(t, s, u)
	began := time.Now()
	for i := range 4 {
		mustPutPart(t, s, u, newPart(i+1, fmt.Sprintf("timing-%d", i)))
	}
	return time.Since(began) / 4
}

// testUploadRacePutPartComplete races PutPart of new part numbers with
// CompleteUpload. Every PutPart either succeeded before the completion, and
// then its part is among the unused parts returned, or failed with
// ErrUploadNotFound and left no reference; a racer never succeeds after
// having failed.
func (h *harness) testUploadRacePutPartComplete(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	putTime := opTime(t, s)
	const rounds, racers, each = 12, 4, 8
	var won, lost int
	for r := range rounds {
		key, id := fmt.Sprintf("k%d", r), fmt.Sprintf("up-%d", r)
		u := newUpload("b", key, id, r)
		mustCreateUpload(t, s, u)
		base := []meta.Part{newPart(1, fmt.Sprintf("base-%d-1", r)), newPart(2, fmt.Sprintf("base-%d-2", r))}
		for _, p := range base {
			mustPutPart(t, s, u, p)
		}
		obj := completed("b", key, id, base)
		type result struct {
			blob string
			err  error
		}
		results := make([][]result, racers)
		var unused []meta.Part
		var cerr error
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range racers {
			wg.Go(func() {
				<-start
				for i := range each {
					p := newPart(3+w*each+i, fmt.Sprintf("race-%d-%d-%d", r, w, i))
					rep, err := s.PutPart(ctx, "b", key, id, p)
					if err == nil && rep != nil {
						err = fmt.Errorf("PutPart of a new number replaced %+v", rep)
					}
					results[w] = append(results[w], result{p.BlobID, err})
				}
			})
		}
		wg.Go(func() {
			<-start
			time.Sleep(putTime * time.Duration(r%4))
			_, unused, cerr = CompleteUpload(s, ctx, "b", key, id, obj, nil)
		})
		close(start)
		wg.Wait()
		if cerr != nil {
			t.Fatalf("round %d: CompleteUpload: %v", r, cerr)
		}
		returned := map[string]bool{}
		for _, p := range unused {
			returned[p.BlobID] = true
		}
		for w, rs := range results {
			failed := false
			for _, res := range rs {
				switch {
				case res.err == nil:
					if failed {
						t.Fatalf("round %d: racer %d: PutPart succeeded after the upload was gone", r, w)
					}
					if !returned[res.blob] {
						t.Fatalf("round %d: part %s was put but not returned as unused", r, res.blob)
					}
					delete(returned, res.blob)
					won++
				case errors.Is(res.err, meta.ErrUploadNotFound):
					failed = true
					lost++
				default:
					t.Fatalf("round %d: racer %d: PutPart: %v", r, w, res.err)
				}
				// Completion dropped the references of unused parts, and a
				// failed PutPart must not have written one.
				checkBlobInUse(t, s, res.blob, false)
			}
		}
		if len(returned) != 0 {
			t.Fatalf("round %d: unused parts %v were never put", r, returned)
		}
		for _, p := range base {
			checkBlobInUse(t, s, p.BlobID, true)
		}
		checkObject(t, fmt.Sprintf("round %d", r), obj, mustGet(t, s, "b", key), true)
	}
	t.Logf("%d parts put before completion, %d refused after it", won, lost)
}

// testUploadRacePutPartSameNumber: concurrent puts of a few part numbers
// of one upload. Every put but the last of each number is returned as
// replaced exactly once, and only the last one's blob stays referenced.
func (h *harness) testUploadRacePutPartSameNumber(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	u := newUpload("b", "k", "up", 0)
	mustCreateUpload(t, s, u)
	const writers, each, numbers = 8, 12, 3
	var mu sync.Mutex
	replaced := map[string]int{}
	var firstErr error
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range each {
				p := newPart(1+(w+i)%numbers, fmt.Sprintf("w%d-%d", w, i))
				rep, err := s.PutPart(ctx, "b", "k", "up", p)
				mu.Lock()
				switch {
				case err != nil:
					firstErr = errors.Join(firstErr, err)
				case rep != nil:
					replaced[rep.BlobID]++
					if rep.Number != p.Number || rep.ETag != etagOf(rep.BlobID) {
						firstErr = errors.Join(firstErr, fmt.Errorf("part %d replaced %+v", p.Number, rep))
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
	parts, _, err := s.ListParts(ctx, "b", "k", "up", 0, 0)
	if err != nil || len(parts) != numbers {
		t.Fatalf("ListParts = %+v, %v; want %d parts", parts, err, numbers)
	}
	final := map[string]bool{}
	for _, p := range parts {
		final[p.BlobID] = true
	}
	for w := range writers {
		for i := range each {
			blob := fmt.Sprintf("w%d-%d", w, i)
			want := 1
			if final[blob] {
				want = 0
			}
			if replaced[blob] != want {
				t.Errorf("part blob %s returned as replaced %d times, want %d", blob, replaced[blob], want)
			}
			checkBlobInUse(t, s, blob, final[blob])
		}
	}
}

// testUploadRaceComplete: of several concurrent completions and one abort
// of the same upload, exactly one succeeds; the others see ErrUploadNotFound.
func (h *harness) testUploadRaceComplete(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	const rounds, completers = 12, 4
	var aborts int
	for r := range rounds {
		key, id := fmt.Sprintf("k%d", r), fmt.Sprintf("up-%d", r)
		u := newUpload("b", key, id, r)
		mustCreateUpload(t, s, u)
		parts := []meta.Part{newPart(1, fmt.Sprintf("c-%d-1", r)), newPart(2, fmt.Sprintf("c-%d-2", r))}
		for _, p := range parts {
			mustPutPart(t, s, u, p)
		}
		objs := make([]meta.Object, completers)
		errs := make([]error, completers+1)
		unused := make([][]meta.Part, completers+1)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for c := range completers {
			// Completer c uses the first c%2+1 parts.
			objs[c] = completed("b", key, id, parts[:c%2+1])
			objs[c].ETag = fmt.Sprintf("completer-%d", c)
			wg.Go(func() {
				<-start
				_, unused[c], errs[c] = CompleteUpload(s, ctx, "b", key, id, objs[c], nil)
			})
		}
		wg.Go(func() {
			<-start
			// Let the completers win most rounds.
			if r%3 != 0 {
				time.Sleep(time.Millisecond)
			}
			unused[completers], errs[completers] = s.AbortUpload(ctx, "b", key, id)
		})
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("round %d: %d and %d both finished the upload", r, winner, i)
				}
				winner = i
			case !errors.Is(err, meta.ErrUploadNotFound):
				t.Fatalf("round %d: finisher %d: err = %v, want nil or ErrUploadNotFound", r, i, err)
			}
		}
		slices.SortFunc(unused[max(winner, 0)], byNumber)
		switch {
		case winner < 0:
			t.Fatalf("round %d: nobody finished the upload", r)
		case winner == completers:
			aborts++
			checkParts(t, fmt.Sprintf("round %d: aborted parts", r), parts, unused[winner])
			if _, err := GetObj(s, ctx, "b", key); !errors.Is(err, meta.ErrObjectNotFound) {
				t.Fatalf("round %d: abort won but GetObject err = %v", r, err)
			}
			checkBlobInUse(t, s, parts[0].BlobID, false)
		default:
			checkObject(t, fmt.Sprintf("round %d winner", r), objs[winner], mustGet(t, s, "b", key), true)
			checkParts(t, fmt.Sprintf("round %d: unused", r), parts[winner%2+1:], unused[winner])
			checkBlobInUse(t, s, parts[0].BlobID, true)
		}
		checkBlobInUse(t, s, parts[1].BlobID, winner < completers && winner%2 == 1)
	}
	t.Logf("abort won %d of %d rounds", aborts, rounds)
}

// testUploadDeleteBucket: uploads do not keep a bucket alive; deleting it
// removes them with their parts and references, and nothing else.
func (h *harness) testUploadDeleteBucket(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "d")
	for _, name := range []string{"d0", "full"} {
		mustCreateBucket(t, s, meta.Bucket{Name: name, Owner: "o", Created: fixedTime(0)})
	}
	var gone []string
	for i, k := range []string{"k1", "k2", "k2"} {
		u := newUpload("d", k, fmt.Sprintf("u%d", i), i)
		mustCreateUpload(t, s, u)
		for n := 1; n <= 3; n++ {
			blob := fmt.Sprintf("d-%d-%d", i, n)
			mustPutPart(t, s, u, newPart(n, blob))
			gone = append(gone, blob)
		}
	}
	neighbour := newUpload("d0", "k1", "u0", 5)
	mustCreateUpload(t, s, neighbour)
	mustPutPart(t, s, neighbour, newPart(1, "d0-1"))
	full := newUpload("full", "k", "f", 6)
	mustCreateUpload(t, s, full)
	mustPutPart(t, s, full, newPart(1, "full-1"))
	mustPut(t, s, segmentObject("full", "obj", "full-obj", 1), nil)

	wantErr(t, "DeleteBucket(with an object and an upload)", s.DeleteBucket(ctx, "full"), meta.ErrBucketNotEmpty)
	if _, err := s.GetUpload(ctx, "full", "k", "f"); err != nil {
		t.Errorf("refused DeleteBucket removed an upload: %v", err)
	}
	checkBlobInUse(t, s, "full-1", true)

	if err := s.DeleteBucket(ctx, "d"); err != nil {
		t.Fatalf("DeleteBucket(only uploads): %v", err)
	}
	_, err := s.GetUpload(ctx, "d", "k1", "u0")
	wantErr(t, "GetUpload in a deleted bucket", err, meta.ErrBucketNotFound)
	for _, blob := range gone {
		checkBlobInUse(t, s, blob, false)
	}
	checkBlobInUse(t, s, "d0-1", true)
	olds, err := s.UploadsInitiatedBefore(ctx, farFuture, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range olds {
		ids = append(ids, u.Object.Bucket+"/"+u.ID)
	}
	slices.Sort(ids)
	if want := []string{"d0/u0", "full/f"}; !slices.Equal(ids, want) {
		t.Errorf("UploadsInitiatedBefore after DeleteBucket = %q, want %q", ids, want)
	}
	mustCreateBucket(t, s, meta.Bucket{Name: "d", Owner: "o", Created: fixedTime(1)})
	page, err := s.ListUploads(ctx, "d", meta.UploadListOptions{})
	if err != nil || len(page.Uploads) != 0 || len(page.CommonPrefixes) != 0 {
		t.Errorf("ListUploads in re-created bucket = %+v, %v; want empty", page, err)
	}
	_, _, err = s.ListParts(ctx, "d", "k1", "u0", 0, 0)
	wantErr(t, "ListParts in re-created bucket", err, meta.ErrUploadNotFound)
	_, err = s.PutPart(ctx, "d", "k1", "u0", newPart(4, "late"))
	wantErr(t, "PutPart in re-created bucket", err, meta.ErrUploadNotFound)
	got, err := s.GetUpload(ctx, "d0", "k1", "u0")
	if err != nil {
		t.Fatalf("neighbour bucket's upload: %v", err)
	}
	checkUpload(t, "neighbour", neighbour, got)
}

// testUploadRaceDeleteBucket races DeleteBucket with CreateUpload and
// PutPart in a bucket holding only uploads. DeleteBucket always succeeds,
// and afterwards nothing of the bucket is left: no upload (even after
// re-creating the bucket), no time index entry, no part reference.
func (h *harness) testUploadRaceDeleteBucket(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	putTime := opTime(t, s)
	const rounds, creators, putters = 20, 3, 3
	var created, createRefused, put, putRefused int
	for r := range rounds {
		name := fmt.Sprintf("race-%d", r)
		mustCreateBucket(t, s, meta.Bucket{Name: name, Owner: "o", Created: fixedTime(r)})
		pre := newUpload(name, "pre", "pre", r)
		mustCreateUpload(t, s, pre)
		createErrs := make([]error, creators)
		putErrs := make([]error, putters)
		var delErr error
		start := make(chan struct{})
		var wg sync.WaitGroup
		for c := range creators {
			wg.Go(func() {
				<-start
				createErrs[c] = s.CreateUpload(ctx, newUpload(name, fmt.Sprintf("k%d", c), fmt.Sprintf("c%d", c), c))
			})
		}
		for p := range putters {
			wg.Go(func() {
				<-start
				_, putErrs[p] = s.PutPart(ctx, name, "pre", "pre", newPart(p+1, fmt.Sprintf("%s-p%d", name, p)))
			})
		}
		wg.Go(func() {
			<-start
			time.Sleep(putTime * time.Duration(r%4) / 2)
			delErr = s.DeleteBucket(ctx, name)
		})
		close(start)
		wg.Wait()
		if delErr != nil {
			t.Fatalf("round %d: DeleteBucket: %v", r, delErr)
		}
		for c, err := range createErrs {
			switch {
			case err == nil:
				created++
			case errors.Is(err, meta.ErrBucketNotFound):
				createRefused++
			default:
				t.Fatalf("round %d: CreateUpload %d: %v", r, c, err)
			}
		}
		for p, err := range putErrs {
			switch {
			case err == nil:
				put++
			case errors.Is(err, meta.ErrUploadNotFound):
				putRefused++
			default:
				t.Fatalf("round %d: PutPart %d: %v", r, p, err)
			}
			checkBlobInUse(t, s, fmt.Sprintf("%s-p%d", name, p), false)
		}
		mustCreateBucket(t, s, meta.Bucket{Name: name, Owner: "o", Created: fixedTime(r)})
		page, err := s.ListUploads(ctx, name, meta.UploadListOptions{})
		if err != nil || len(page.Uploads) != 0 {
			t.Fatalf("round %d: uploads survived in a deleted bucket: %+v, %v", r, page.Uploads, err)
		}
		_, _, err = s.ListParts(ctx, name, "pre", "pre", 0, 0)
		wantErr(t, fmt.Sprintf("round %d: ListParts of a deleted bucket's upload", r), err, meta.ErrUploadNotFound)
	}
	olds, err := s.UploadsInitiatedBefore(ctx, farFuture, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range olds {
		if u.Object.Bucket != "b" {
			t.Errorf("time index still lists upload %q of deleted bucket %q", u.ID, u.Object.Bucket)
		}
	}
	t.Logf("uploads created %d, refused %d; parts put %d, refused %d", created, createRefused, put, putRefused)
}

// testUploadsInitiatedBefore: the expiry query returns exactly the uploads,
// of every bucket, initiated strictly before t, at most limit of them.
func (h *harness) testUploadsInitiatedBefore(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	mustCreateBucket(t, s, meta.Bucket{Name: "c", Owner: "o", Created: fixedTime(0)})
	base := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)
	at := func(i int) time.Time {
		// Zones vary: only the instant counts.
		return base.Add(time.Duration(i) * time.Hour).In(time.FixedZone("Z", (i%3-1)*3600))
	}
	ups := make([]meta.Upload, 10)
	for i := range ups {
		bucket := []string{"b", "c"}[i%2]
		ups[i] = newUpload(bucket, fmt.Sprintf("k%d", 9-i), fmt.Sprintf("u%d", i), i)
		ups[i].Initiated = at(i)
	}
	// Created out of order, so that neither insertion order nor key
	// order gives the answer.
	for _, i := range []int{7, 2, 9, 0, 4, 1, 8, 3, 6, 5} {
		mustCreateUpload(t, s, ups[i])
	}
	ids := func(us []meta.Upload) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.ID)
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		before time.Time
		limit  int
		want   []string
	}{
		{at(5), 0, []string{"u0", "u1", "u2", "u3", "u4"}},
		{at(5).Add(time.Nanosecond), 100, []string{"u0", "u1", "u2", "u3", "u4", "u5"}},
		{at(0), 0, nil},
		{at(0).Add(-time.Hour), 0, nil},
		{farFuture, 0, []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"}},
	} {
		got, err := s.UploadsInitiatedBefore(ctx, c.before, c.limit)
		if err != nil {
			t.Fatalf("UploadsInitiatedBefore(%v): %v", c.before, err)
		}
		if !slices.Equal(ids(got), c.want) {
			t.Errorf("UploadsInitiatedBefore(%v, %d) = %q, want %q", c.before, c.limit, ids(got), c.want)
		}
	}
	got, err := s.UploadsInitiatedBefore(ctx, at(5), 2)
	if err != nil {
		t.Fatal(err)
	}
	if g := ids(got); len(g) != 2 || g[0] == g[1] || g[1] > "u4" {
		t.Errorf("UploadsInitiatedBefore(limit 2) = %q, want 2 of u0..u4", g)
	}
	for _, u := range got {
		i := slices.IndexFunc(ups, func(w meta.Upload) bool { return w.ID == u.ID })
		if i < 0 {
			t.Fatalf("UploadsInitiatedBefore returned unknown upload %q", u.ID)
		}
		checkUpload(t, "expiry candidate", ups[i], u)
	}
	if _, err := s.AbortUpload(ctx, "c", "k8", "u1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := CompleteUpload(s, ctx, "b", "k7", "u2", completed("b", "k7", "u2", nil), nil); err != nil {
		t.Fatal(err)
	}
	got, err = s.UploadsInitiatedBefore(ctx, at(5), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"u0", "u3", "u4"}; !slices.Equal(ids(got), want) {
		t.Errorf("UploadsInitiatedBefore after abort and completion = %q, want %q", ids(got), want)
	}
}
