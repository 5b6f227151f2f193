package metatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

func mustPutConfig(t *testing.T, s meta.Store, bucket, name string, data []byte) {
	t.Helper()
	if err := s.PutBucketConfig(context.Background(), bucket, name, data); err != nil {
		t.Fatalf("PutBucketConfig(%q, %q): %v", bucket, name, err)
	}
}

// checkConfig checks that config name of bucket holds want, or is unset
// (ErrConfigNotFound) when want is nil.
func checkConfig(t *testing.T, s meta.Store, bucket, name string, want []byte) {
	t.Helper()
	got, err := s.GetBucketConfig(context.Background(), bucket, name)
	if want == nil {
		if !errors.Is(err, meta.ErrConfigNotFound) {
			t.Errorf("GetBucketConfig(%q, %q) = %q, %v; want ErrConfigNotFound", bucket, name, got, err)
		}
		return
	}
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("GetBucketConfig(%q, %q) = %q, %v; want %q", bucket, name, got, err, want)
	}
}

// testConfigBasic: configs are put, read, replaced and deleted by name;
// deleting an unset one is fine; a missing bucket is ErrBucketNotFound for
// every call, and a failed put leaves nothing behind.
func (h *harness) testConfigBasic(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	checkConfig(t, s, "b", "cors", nil)
	if err := s.DeleteBucketConfig(ctx, "b", "cors"); err != nil {
		t.Errorf("DeleteBucketConfig(unset) = %v, want nil", err)
	}
	docs := map[string][]byte{
		"cors":      []byte("<CORSConfiguration><CORSRule/></CORSConfiguration>"),
		"policy":    []byte(`{"Version":"2012-10-17","Statement":[]}`),
		"binary":    {0, 0xff, 0, 1, 0x80},
		"cor":       []byte("a name that prefixes another"),
		"lifecycle": bytes.Repeat([]byte("rule "), 20000), // 100 kB
	}
	for name, data := range docs {
		// The store keeps its own copy: the caller may reuse its buffer.
		buf := bytes.Clone(data)
		mustPutConfig(t, s, "b", name, buf)
		clear(buf)
	}
	for name, data := range docs {
		checkConfig(t, s, "b", name, data)
	}
	// Nor may the caller's changes to a returned document reach the store.
	if got, err := s.GetBucketConfig(ctx, "b", "cors"); err == nil {
		clear(got)
	}
	checkConfig(t, s, "b", "cors", docs["cors"])
	checkConfig(t, s, "b", "co", nil)
	checkConfig(t, s, "b", "corsx", nil)

	// An empty document is a stored config, not an unset one: the suite
	// pins this reading of "stores data".
	mustPutConfig(t, s, "b", "empty", []byte{})
	if got, err := s.GetBucketConfig(ctx, "b", "empty"); err != nil || len(got) != 0 {
		t.Errorf("GetBucketConfig(empty document) = %q, %v; want an empty document", got, err)
	}

	docs["cors"] = []byte("<CORSConfiguration>replaced</CORSConfiguration>")
	mustPutConfig(t, s, "b", "cors", docs["cors"])
	checkConfig(t, s, "b", "cors", docs["cors"])
	if err := s.DeleteBucketConfig(ctx, "b", "policy"); err != nil {
		t.Fatalf("DeleteBucketConfig: %v", err)
	}
	delete(docs, "policy")
	checkConfig(t, s, "b", "policy", nil)
	if err := s.DeleteBucketConfig(ctx, "b", "policy"); err != nil {
		t.Errorf("second DeleteBucketConfig = %v, want nil", err)
	}
	for name, data := range docs {
		checkConfig(t, s, "b", name, data)
	}
	// Configs are not objects.
	page, err := s.ListObjects(ctx, "b", meta.ListOptions{})
	if err != nil || len(page.Objects)+len(page.CommonPrefixes) != 0 {
		t.Errorf("ListObjects of a bucket with only configs = %+v, %v; want empty", page, err)
	}

	err = s.PutBucketConfig(ctx, "nobucket", "cors", []byte("x"))
	wantErr(t, "PutBucketConfig(missing bucket)", err, meta.ErrBucketNotFound)
	_, err = s.GetBucketConfig(ctx, "nobucket", "cors")
	wantErr(t, "GetBucketConfig(missing bucket)", err, meta.ErrBucketNotFound)
	err = s.DeleteBucketConfig(ctx, "nobucket", "cors")
	wantErr(t, "DeleteBucketConfig(missing bucket)", err, meta.ErrBucketNotFound)
	mustCreateBucket(t, s, meta.Bucket{Name: "nobucket", Owner: "o", Created: fixedTime(0)})
	checkConfig(t, s, "nobucket", "cors", nil)
}

// testConfigIsolation uses bucket names where a naive key (bucket+name)
// makes one bucket's config another's: "a" with "bx" against "ab" with "x".
func (h *harness) testConfigIsolation(t *testing.T) {
	ctx := context.Background()
	s := h.fresh(t)
	for _, n := range []string{"a", "ab"} {
		mustCreateBucket(t, s, meta.Bucket{Name: n, Owner: "o", Created: fixedTime(0)})
	}
	mustPutConfig(t, s, "a", "bx", []byte("a/bx"))
	mustPutConfig(t, s, "a", "x", []byte("a/x"))
	checkConfig(t, s, "ab", "x", nil)
	mustPutConfig(t, s, "ab", "x", []byte("ab/x"))
	checkConfig(t, s, "a", "bx", []byte("a/bx"))
	checkConfig(t, s, "a", "x", []byte("a/x"))
	checkConfig(t, s, "ab", "x", []byte("ab/x"))
	checkConfig(t, s, "ab", "bx", nil)
	if err := s.DeleteBucketConfig(ctx, "ab", "x"); err != nil {
		t.Fatal(err)
	}
	checkConfig(t, s, "a", "x", []byte("a/x"))
	mustPutConfig(t, s, "ab", "x", []byte("ab/x"))
	if err := s.DeleteBucket(ctx, "a"); err != nil {
		t.Fatalf("DeleteBucket(a): %v", err)
	}
	checkConfig(t, s, "ab", "x", []byte("ab/x"))
	if err := s.DeleteBucket(ctx, "ab"); err != nil {
		t.Fatalf("DeleteBucket(ab): %v", err)
	}
	for _, n := range []string{"a", "ab"} {
		mustCreateBucket(t, s, meta.Bucket{Name: n, Owner: "o", Created: fixedTime(1)})
		for _, name := range []string{"x", "bx"} {
			checkConfig(t, s, n, name, nil)
		}
	}
}

// testConfigDeleteBucket: configs do not keep a bucket from being deleted,
// survive a refused delete, and go with the bucket: a re-created bucket has
// none.
func (h *harness) testConfigDeleteBucket(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	names := []string{"cors", "policy", "tagging"}
	for _, n := range names {
		mustPutConfig(t, s, "b", n, []byte("doc "+n))
	}
	mustPut(t, s, fullObject("b", "k", 1), nil)
	err := s.DeleteBucket(ctx, "b")
	wantErr(t, "DeleteBucket(non-empty, with configs)", err, meta.ErrBucketNotEmpty)
	for _, n := range names {
		checkConfig(t, s, "b", n, []byte("doc "+n))
	}
	if _, err := DelObj(s, ctx, "b", "k", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucket(ctx, "b"); err != nil {
		t.Fatalf("DeleteBucket(with only configs): %v", err)
	}
	for _, n := range names {
		_, err := s.GetBucketConfig(ctx, "b", n)
		wantErr(t, "GetBucketConfig(deleted bucket)", err, meta.ErrBucketNotFound)
	}
	mustCreateBucket(t, s, meta.Bucket{Name: "b", Owner: "o", Created: fixedTime(2)})
	for _, n := range names {
		checkConfig(t, s, "b", n, nil)
	}
}

// testConfigRaceDeleteBucket races DeleteBucket with config writers. The
// delete always wins (configs do not make a bucket non-empty); each write
// succeeds before it or fails with ErrBucketNotFound, and nothing written
// survives into the re-created bucket.
func (h *harness) testConfigRaceDeleteBucket(t *testing.T) {
	ctx := context.Background()
	s := h.fresh(t)
	const rounds, writers, each = 30, 6, 4
	mustCreateBucket(t, s, meta.Bucket{Name: "timing", Owner: "o", Created: fixedTime(0)})
	began := time.Now()
	for i := range 4 {
		mustPutConfig(t, s, "timing", fmt.Sprint(i), []byte("x"))
	}
	putTime := time.Since(began) / 4
	var before, after int
	for r := range rounds {
		name := fmt.Sprintf("race-%d", r)
		mustCreateBucket(t, s, meta.Bucket{Name: name, Owner: "o", Created: fixedTime(r)})
		start := make(chan struct{})
		var (
			mu      sync.Mutex
			errs    error
			delErr  error
			wg      sync.WaitGroup
			written int
		)
		for w := range writers {
			wg.Go(func() {
				<-start
				failed := false
				for i := range each {
					err := s.PutBucketConfig(ctx, name, fmt.Sprintf("w%d-%d", w, i), []byte(name))
					mu.Lock()
					switch {
					case err == nil && failed:
						errs = errors.Join(errs, fmt.Errorf("writer %d: put %d succeeded after the bucket was gone", w, i))
					case err == nil:
						written++
					case errors.Is(err, meta.ErrBucketNotFound):
						failed = true
					default:
						errs = errors.Join(errs, fmt.Errorf("writer %d: put %d: %w", w, i, err))
					}
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			<-start
			time.Sleep(putTime * time.Duration(r%6) / 2)
			delErr = s.DeleteBucket(ctx, name)
		})
		close(start)
		wg.Wait()
		if errs != nil {
			t.Fatalf("round %d: %v", r, errs)
		}
		if delErr != nil {
			t.Fatalf("round %d: DeleteBucket: %v", r, delErr)
		}
		before += written
		after += writers*each - written
		if _, err := s.GetBucket(ctx, name); !errors.Is(err, meta.ErrBucketNotFound) {
			t.Fatalf("round %d: deleted bucket still found: %v", r, err)
		}
		mustCreateBucket(t, s, meta.Bucket{Name: name, Owner: "o", Created: fixedTime(r)})
		for w := range writers {
			for i := range each {
				checkConfig(t, s, name, fmt.Sprintf("w%d-%d", w, i), nil)
			}
		}
	}
	t.Logf("config writes before the delete %d, after it %d", before, after)
}

// writeConfigsTagsForReopen leaves configs (put, replaced, deleted, and some
// in bucket "gone", which RunReopen then deletes) and a retagged object in
// a store about to be closed. The returned function checks them on the
// reopened store; it re-creates "gone", so it runs last.
func writeConfigsTagsForReopen(t *testing.T, s meta.Store) func(*testing.T, meta.Store) {
	t.Helper()
	ctx := context.Background()
	mustPutConfig(t, s, "keep", "cors", []byte("<CORSConfiguration/>"))
	mustPutConfig(t, s, "keep", "lifecycle", []byte("first"))
	mustPutConfig(t, s, "keep", "lifecycle", []byte("second"))
	mustPutConfig(t, s, "keep", "policy", []byte("{}"))
	if err := s.DeleteBucketConfig(ctx, "keep", "policy"); err != nil {
		t.Fatalf("DeleteBucketConfig: %v", err)
	}
	mustPutConfig(t, s, "gone", "cors", []byte("<CORSConfiguration/>"))
	tagged := withTags(segmentObject("keep", "tagged", "blob-tagged", 20), map[string]string{"before": "put"})
	mustPut(t, s, tagged, nil)
	tagged.Tags = map[string]string{"after": "retag", "ü": "\x00"}
	if err := PutTags(s, ctx, "keep", "tagged", tagged.Tags, &meta.Condition{IfMatch: tagged.ETag}); err != nil {
		t.Fatalf("PutObjectTags: %v", err)
	}

	return func(t *testing.T, s meta.Store) {
		t.Helper()
		checkConfig(t, s, "keep", "cors", []byte("<CORSConfiguration/>"))
		checkConfig(t, s, "keep", "lifecycle", []byte("second"))
		checkConfig(t, s, "keep", "policy", nil)
		checkObject(t, "retagged after reopen", tagged, mustGet(t, s, "keep", "tagged"), true)
		checkBlobInUse(t, s, "blob-tagged", true)
		_, err := s.GetBucketConfig(ctx, "gone", "cors")
		wantErr(t, "GetBucketConfig(deleted bucket) after reopen", err, meta.ErrBucketNotFound)
		mustCreateBucket(t, s, meta.Bucket{Name: "gone", Owner: "o", Created: fixedTime(3)})
		checkConfig(t, s, "gone", "cors", nil)
	}
}
