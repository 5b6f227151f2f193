package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
)

// The cluster tests run two Stores, each with its own connection pool, on
// one schema: two Coffer instances sharing a database. Whatever serializes
// writers must live in PostgreSQL, since the Stores share no memory.

// openCluster opens n stores on one fresh schema, closed when the test ends.
func openCluster(t *testing.T, n int) []*Store {
	t.Helper()
	needDB(t)
	schema := newSchema(t)
	stores := make([]*Store, n)
	for i := range stores {
		stores[i] = openSchema(t, schema)
		t.Cleanup(func() { stores[i].Close() })
	}
	return stores
}

// TestClusterIfNoneMatch races If-None-Match creates of the same keys from
// both instances: each key has exactly one winner, its record is the one
// stored, and only its blob is referenced.
func TestClusterIfNoneMatch(t *testing.T) {
	ctx := context.Background()
	stores := openCluster(t, 2)
	if err := stores[0].CreateBucket(ctx, meta.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	const keys, writersPerStore = 40, 6
	for _, versioning := range []string{"", meta.VersioningEnabled} {
		if versioning != "" {
			if _, err := stores[1].UpdateBucket(ctx, "b", func(b *meta.Bucket) error { b.Versioning = versioning; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		winners := make([]atomic.Int32, keys)
		for k := range winners {
			winners[k].Store(-1)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, keys*writersPerStore*len(stores))
		for si, s := range stores {
			for w := range writersPerStore {
				writer := int32(si*writersPerStore + w)
				wg.Go(func() {
					<-start
					for k := range keys {
						o := meta.Object{Bucket: "b", Key: fmt.Sprintf("%s/k%d", versioning, k), ETag: fmt.Sprint(writer),
							Segments: []meta.Segment{{BlobID: fmt.Sprintf("%s/blob-%d-%d", versioning, k, writer), Size: 1}}}
						_, err := s.PutObject(ctx, o, meta.PutOptions{Cond: &meta.Condition{IfNoneMatch: true}})
						switch {
						case err == nil:
							if prev := winners[k].Swap(writer); prev != -1 {
								errs <- fmt.Errorf("key %d: writers %d and %d both created it", k, prev, writer)
							}
						case !errors.Is(err, meta.ErrPreconditionFailed):
							errs <- fmt.Errorf("key %d writer %d: %w", k, writer, err)
						}
					}
				})
			}
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for k := range keys {
			key := fmt.Sprintf("%s/k%d", versioning, k)
			w := winners[k].Load()
			if w < 0 {
				t.Fatalf("versioning %q key %d: no writer created it", versioning, k)
			}
			for si, s := range stores {
				got, err := s.GetObject(ctx, "b", key, "")
				if err != nil || got.ETag != fmt.Sprint(w) {
					t.Errorf("store %d: %s = ETag %q, %v; want the winner %d", si, key, got.ETag, err, w)
				}
			}
			vs, err := stores[1].ListObjectVersions(ctx, "b", meta.VersionListOptions{Prefix: key})
			n := 0
			for _, v := range vs.Versions {
				if v.Key == key {
					n++
				}
			}
			if err != nil || n != 1 {
				t.Errorf("versioning %q: %s has %d versions, %v; want 1", versioning, key, n, err)
			}
			for writer := range int32(len(stores) * writersPerStore) {
				used, err := stores[writer%2].BlobInUse(ctx, fmt.Sprintf("%s/blob-%d-%d", versioning, k, writer))
				if err != nil || used != (writer == w) {
					t.Errorf("blob of writer %d for %s: in use %v, %v; want %v", writer, key, used, err, writer == w)
				}
			}
		}
	}
}

// TestClusterIfMatchCounter runs read-compare-and-swap increments of a few
// counters from both instances: no increment is lost, and every swap
// replaced exactly the record it read.
func TestClusterIfMatchCounter(t *testing.T) {
	ctx := context.Background()
	stores := openCluster(t, 2)
	if err := stores[0].CreateBucket(ctx, meta.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	const counters, workersPerStore, each = 3, 4, 15
	counter := func(c, n int) meta.Object {
		v := strconv.Itoa(n)
		return meta.Object{Bucket: "b", Key: fmt.Sprintf("counter-%d", c), ETag: v, Inline: []byte(v)}
	}
	for c := range counters {
		if _, err := stores[0].PutObject(ctx, counter(c, 0), meta.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*workersPerStore*counters)
	var conflicts atomic.Int64
	for _, s := range stores {
		for w := range workersPerStore {
			wg.Go(func() {
				c := w % counters
				key := fmt.Sprintf("counter-%d", c)
				for done := 0; done < each; {
					cur, err := s.GetObject(ctx, "b", key, "")
					if err != nil {
						errs <- err
						return
					}
					n, err := strconv.Atoi(string(cur.Inline))
					if err != nil || cur.ETag != string(cur.Inline) {
						errs <- fmt.Errorf("record mixes versions: ETag %q, Inline %q", cur.ETag, cur.Inline)
						return
					}
					res, err := s.PutObject(ctx, counter(c, n+1), meta.PutOptions{Cond: &meta.Condition{IfMatch: cur.ETag}})
					if errors.Is(err, meta.ErrPreconditionFailed) {
						conflicts.Add(1)
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					if res.Replaced == nil || res.Replaced.ETag != cur.ETag {
						errs <- fmt.Errorf("swap from %s replaced %+v", cur.ETag, res.Replaced)
						return
					}
					done++
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for c := range counters {
		want := 0
		for w := range 2 * workersPerStore {
			if w%workersPerStore%counters == c {
				want += each
			}
		}
		for si, s := range stores {
			got, err := s.GetObject(ctx, "b", fmt.Sprintf("counter-%d", c), "")
			if err != nil || string(got.Inline) != strconv.Itoa(want) {
				t.Errorf("store %d: counter %d = %q, %v; want %d", si, c, got.Inline, err, want)
			}
		}
	}
	t.Logf("%d swaps lost a race and retried", conflicts.Load())
}

// TestClusterVersionedWriters writes one key of a versioned bucket from
// both instances at once: every write is a version, newest last written,
// and exactly one of them is the latest.
func TestClusterVersionedWriters(t *testing.T) {
	ctx := context.Background()
	stores := openCluster(t, 2)
	if err := stores[0].CreateBucket(ctx, meta.Bucket{Name: "b", Versioning: meta.VersioningEnabled}); err != nil {
		t.Fatal(err)
	}
	const writersPerStore, each = 4, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]bool{}
	for si, s := range stores {
		for w := range writersPerStore {
			wg.Go(func() {
				for i := range each {
					o := meta.Object{Bucket: "b", Key: "hot", ETag: fmt.Sprintf("%d-%d-%d", si, w, i), Inline: []byte("x")}
					res, err := s.PutObject(ctx, o, meta.PutOptions{})
					if err != nil || res.Replaced != nil {
						t.Errorf("PutObject = %+v, %v; want a new version replacing nothing", res, err)
						return
					}
					mu.Lock()
					if ids[res.VersionID] {
						t.Errorf("version id %s handed out twice", res.VersionID)
					}
					ids[res.VersionID] = true
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	page, err := stores[1].ListObjectVersions(ctx, "b", meta.VersionListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Versions) != 2*writersPerStore*each {
		t.Fatalf("%d versions, want %d", len(page.Versions), 2*writersPerStore*each)
	}
	latest := 0
	for i, v := range page.Versions {
		if !ids[v.VersionID] {
			t.Errorf("listed version %s was never returned by a put", v.VersionID)
		}
		if v.IsLatest {
			latest++
			if i != 0 {
				t.Errorf("version %d of the listing is latest, want only the first", i)
			}
		}
	}
	if latest != 1 {
		t.Errorf("%d versions are latest, want 1", latest)
	}
	cur, err := stores[0].GetObject(ctx, "b", "hot", "")
	if err != nil || cur.VersionID != page.Versions[0].VersionID {
		t.Errorf("GetObject = %s, %v; want the newest listed %s", cur.VersionID, err, page.Versions[0].VersionID)
	}
}

// TestClusterDeleteBucket races DeleteBucket on one instance with puts and
// upload writes on the other: either the bucket survives with every write,
// or it is gone and nothing written survives into a re-created bucket.
func TestClusterDeleteBucket(t *testing.T) {
	ctx := context.Background()
	stores := openCluster(t, 2)
	for r := range 20 {
		name := fmt.Sprintf("race-%d", r)
		if err := stores[0].CreateBucket(ctx, meta.Bucket{Name: name}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		putErrs := make([]error, 4)
		var delErr error
		start := make(chan struct{})
		for p := range putErrs {
			wg.Go(func() {
				<-start
				o := meta.Object{Bucket: name, Key: fmt.Sprint(p), Inline: []byte("x")}
				_, putErrs[p] = stores[1].PutObject(ctx, o, meta.PutOptions{})
			})
		}
		wg.Go(func() {
			<-start
			delErr = stores[0].DeleteBucket(ctx, name)
		})
		close(start)
		wg.Wait()
		switch {
		case delErr == nil:
			for p, err := range putErrs {
				if !errors.Is(err, meta.ErrBucketNotFound) {
					t.Fatalf("round %d: bucket deleted but put %d returned %v", r, p, err)
				}
			}
			if err := stores[1].CreateBucket(ctx, meta.Bucket{Name: name}); err != nil {
				t.Fatal(err)
			}
			page, err := stores[0].ListObjectVersions(ctx, name, meta.VersionListOptions{})
			if err != nil || len(page.Versions) != 0 {
				t.Fatalf("round %d: re-created bucket holds %d versions, %v", r, len(page.Versions), err)
			}
		case errors.Is(delErr, meta.ErrBucketNotEmpty):
			for p, err := range putErrs {
				if err != nil {
					t.Fatalf("round %d: bucket kept but put %d failed: %v", r, p, err)
				}
			}
		default:
			t.Fatalf("round %d: DeleteBucket: %v", r, delErr)
		}
	}
}

// TestClusterOpen starts several instances on a new schema at once: the
// migration lock lets one migrate and the others find the work done.
func TestClusterOpen(t *testing.T) {
	needDB(t)
	schema := newSchema(t)
	var wg sync.WaitGroup
	stores := make([]*Store, 6)
	for i := range stores {
		wg.Go(func() { stores[i] = openSchema(t, schema) })
	}
	wg.Wait()
	for _, s := range stores {
		if s != nil {
			defer s.Close()
		}
	}
	if t.Failed() {
		return
	}
	var versions, rows int
	err := stores[0].pool.QueryRow(context.Background(),
		`SELECT coalesce(max(version), 0), count(*) FROM schema_migrations`).Scan(&versions, &rows)
	if err != nil {
		t.Fatal(err)
	}
	if versions != SchemaVersion() || rows != SchemaVersion() {
		t.Errorf("schema_migrations holds %d rows up to version %d, want %d each", rows, versions, SchemaVersion())
	}
}
