// Package crash is Coffer's durability test: it runs the built binary under
// concurrent load, kills it with SIGKILL at a random moment, restarts it on
// the same data directory and checks every acknowledged write byte for
// byte.
package crash

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cofferstore/coffer/test/coffertest"
)

const (
	bucket     = "crash-bucket"
	writers    = 16
	cycles     = 3
	sharedKeys = 24 // written by every writer, so overwrites race
	ownKeys    = 8  // per writer
	// inlineMax is passed to the server explicitly so that the "inline"
	// and "blob" sizes below really take the two write paths.
	inlineMax = 128 << 10
)

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server and kills it three times; skipped in -short mode")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CRASH_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (rerun with CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	bin := coffertest.Build(t)
	dataDir := t.TempDir()
	base := []string{fmt.Sprintf("COFFER_INLINE_MAX=%d", inlineMax)}
	epoch := time.Now()
	h := newHistory()

	srv := coffertest.Start(t, bin, coffertest.Options{DataDir: dataDir, Env: base})
	client := newClient(srv.Endpoint)
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}

	for cycle := 1; cycle <= cycles; cycle++ {
		loadFor := time.Second + time.Duration(rng.Int64N(int64(2*time.Second)))
		st := runLoad(t, client, h, seed+uint64(cycle)*1000, loadFor, srv)
		t.Logf("cycle %d: killed after %v: %d acknowledged, %d unacknowledged ops", cycle, loadFor.Round(time.Millisecond), st.acked, st.unacked)
		if st.acked == 0 {
			t.Fatalf("cycle %d: no write was acknowledged: the load did not run", cycle)
		}
		checkNoErrors(t, srv, fmt.Sprintf("cycle %d under load", cycle))

		env := base
		if cycle == cycles {
			// The last start collects every orphan at once: a 1ms grace
			// is safe because nothing writes while it runs.
			env = append(env[:len(env):len(env)], "COFFER_ORPHAN_GRACE=1ms", "COFFER_ORPHAN_INTERVAL=100ms")
			blobs, temps := countBlobs(t, filepath.Join(dataDir, "blobs"))
			t.Logf("before collection: %d blob files, %d temp files", blobs, temps)
		}
		srv = coffertest.Start(t, bin, coffertest.Options{DataDir: dataDir, Env: env})
		client = newClient(srv.Endpoint)
		observed, problems, summary := verify(client, h, epoch, cycle)
		for _, p := range problems {
			t.Error(p)
		}
		if t.Failed() {
			t.FailNow()
		}
		t.Logf("cycle %d: %s", cycle, summary)
		h.rebase(observed)
		checkNoErrors(t, srv, fmt.Sprintf("restart %d", cycle))
	}

	live := 0
	for _, s := range h.base {
		if s.present && s.size > inlineMax {
			live++
		}
	}
	waitForCollector(t, srv)
	blobs, temps := countBlobs(t, filepath.Join(dataDir, "blobs"))
	t.Logf("after collection: %d blob files, %d temp files, %d live objects above the inline size", blobs, temps, live)
	if blobs != live {
		t.Errorf("blob store holds %d committed blobs for %d live blob-sized objects: orphans were not collected (or data is missing)", blobs, live)
	}
	if temps != 0 {
		t.Errorf("blob temp dir holds %d files after collection with a 1ms grace", temps)
	}
	checkNoErrors(t, srv, "orphan collection")
	if err := srv.Stop(30 * time.Second); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
}

// newClient returns an SDK client that never retries, so every request
// the test records is exactly one request the server saw (or did not).
func newClient(endpoint string) *s3.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4 * writers,
		IdleConnTimeout:     30 * time.Second,
	}
	return s3.New(s3.Options{
		Region:           coffertest.Region,
		BaseEndpoint:     aws.String(endpoint),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider(coffertest.AccessKey, coffertest.SecretKey, ""),
		HTTPClient:       &http.Client{Transport: tr},
		RetryMaxAttempts: 1,
	})
}

type loadStats struct{ acked, unacked int }

// runLoad runs the writers for d, then kills the server mid-load and waits
// for every writer to notice.
func runLoad(t *testing.T, client *s3.Client, h *history, seed uint64, d time.Duration, srv *coffertest.Server) loadStats {
	var killed atomic.Bool
	var acked, unacked atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wr := &writer{id: w, client: client, h: h, killed: &killed,
				rng: rand.New(rand.NewPCG(seed, uint64(w))), fill: rand.NewChaCha8(seedBytes(seed, w))}
			err := wr.run()
			acked.Add(wr.acked)
			unacked.Add(wr.unacked)
			if err != nil {
				errs <- err
			}
		}()
	}
	time.Sleep(d)
	killed.Store(true)
	if err := srv.Kill(); err != nil {
		t.Fatalf("killing the server: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return loadStats{int(acked.Load()), int(unacked.Load())}
}

func seedBytes(seed uint64, w int) [32]byte {
	var b [32]byte
	copy(b[:], fmt.Sprintf("%016x%016x", seed, w))
	return b
}

// writer issues a random mix of PUTs (inline- and blob-sized), DELETEs and
// multi-object deletes until the server is killed.
type writer struct {
	id              int
	client          *s3.Client
	h               *history
	killed          *atomic.Bool
	rng             *rand.Rand
	fill            *rand.ChaCha8
	acked, unacked  int64
	firstUnexpected error
}

func (w *writer) key() string {
	if w.rng.IntN(2) == 0 {
		// A few shared keys need escaping, so recovery sees them too.
		return fmt.Sprintf("shared/ключ %02d", w.rng.IntN(sharedKeys))
	}
	return fmt.Sprintf("w%02d/obj-%02d", w.id, w.rng.IntN(ownKeys))
}

// run loops until the kill. A failure before the kill is a server bug and
// is returned (the op is still recorded as unacknowledged, so the final
// check stays sound); a failure after it is expected.
func (w *writer) run() error {
	buf := make([]byte, 2<<20)
	for !w.killed.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var err error
		switch r := w.rng.IntN(100); {
		case r < 80:
			err = w.put(ctx, buf)
		case r < 92:
			err = w.deleteOne(ctx)
		default:
			err = w.deleteMany(ctx)
		}
		cancel()
		if err != nil && !w.killed.Load() && w.firstUnexpected == nil {
			w.firstUnexpected = fmt.Errorf("writer %d before the kill: %w", w.id, err)
		}
	}
	return w.firstUnexpected
}

func (w *writer) put(ctx context.Context, buf []byte) error {
	var size int
	if w.rng.IntN(2) == 0 {
		size = 1<<10 + w.rng.IntN(99<<10+1) // 1-100 KiB: inline
	} else {
		size = 200<<10 + w.rng.IntN(2<<20-200<<10+1) // 200 KiB-2 MiB: blob
	}
	data := buf[:size]
	w.fill.Read(data)
	key := w.key()
	o := w.h.begin(key, state{present: true, sum: sha256.Sum256(data), md5: md5.Sum(data), size: int64(size)})
	_, err := w.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(size)),
	})
	return w.done(o, err, "PUT "+key)
}

func (w *writer) deleteOne(ctx context.Context) error {
	key := w.key()
	o := w.h.begin(key, state{})
	_, err := w.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return w.done(o, err, "DELETE "+key)
}

func (w *writer) deleteMany(ctx context.Context) error {
	keys := map[string]*op{}
	var ids []types.ObjectIdentifier
	for len(ids) < 3 {
		k := w.key()
		if _, dup := keys[k]; dup {
			continue
		}
		keys[k] = w.h.begin(k, state{})
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
	}
	out, err := w.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(bucket), Delete: &types.Delete{Objects: ids},
	})
	if err != nil {
		w.unacked += int64(len(keys))
		return fmt.Errorf("DeleteObjects: %w", err)
	}
	var failed []string
	for _, d := range out.Deleted {
		if o, ok := keys[aws.ToString(d.Key)]; ok {
			w.h.ack(o)
			w.acked++
			delete(keys, aws.ToString(d.Key))
		}
	}
	for _, e := range out.Errors {
		failed = append(failed, fmt.Sprintf("%s: %s %s", aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message)))
	}
	w.unacked += int64(len(keys))
	if len(keys) > 0 {
		return fmt.Errorf("DeleteObjects answered 200 without deleting %d keys (errors: %v)", len(keys), failed)
	}
	return nil
}

func (w *writer) done(o *op, err error, what string) error {
	if err != nil {
		w.unacked++
		return fmt.Errorf("%s: %w", what, err)
	}
	w.h.ack(o)
	w.acked++
	return nil
}

// verify reads back every key the history knows and lists the bucket. It
// returns what each key holds now and every way that contradicts the
// history; summary is a one-line account of what was checked.
func verify(client *s3.Client, h *history, epoch time.Time, cycle int) (observed map[string]state, problems []string, summary string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var pmu sync.Mutex
	report := func(format string, args ...any) {
		pmu.Lock()
		defer pmu.Unlock()
		problems = append(problems, fmt.Sprintf("cycle %d: ", cycle)+fmt.Sprintf(format, args...))
	}
	keys := h.keys()
	observed = make(map[string]state, len(keys))
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				got, err := readObject(ctx, client, k)
				if err != nil {
					report("reading %q: %v", k, err)
					continue
				}
				mu.Lock()
				observed[k] = got
				mu.Unlock()
			}
		}()
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()

	present := 0
	for _, k := range keys {
		got, ok := observed[k]
		if !ok {
			continue // read failed, already reported
		}
		if got.present {
			present++
		}
		if c := h.candidates(k); !allowed(got, c) {
			report("%q holds %v, allowed %v\n  history (since test start):\n    %s",
				k, got, c, h.describe(k, epoch))
		}
	}

	listed, err := listAll(ctx, client)
	if err != nil {
		report("listing: %v", err)
		return observed, problems, ""
	}
	for k, l := range listed {
		got, ok := observed[k]
		switch {
		case !h.known(k):
			report("listing shows %q (%d bytes), which no acknowledged or in-flight write produced", k, l.size)
		case !ok:
			// Read failed; reported above.
		case !got.present:
			report("listing shows %q (%d bytes) but GET says it does not exist", k, l.size)
		case l.size != got.size || l.etag != got.etag():
			report("listing shows %q as %d bytes ETag %s; GET returned %d bytes ETag %s", k, l.size, l.etag, got.size, got.etag())
		}
	}
	for k, got := range observed {
		if _, ok := listed[k]; got.present && !ok {
			report("%q is readable (%v) but missing from the listing", k, got)
		}
	}
	return observed, problems, fmt.Sprintf("verified %d keys (%d present, %d listed)", len(keys), present, len(listed))
}

// readObject GETs key and checks the response is whole: body length equal
// to Content-Length and ETag equal to the body's MD5 (single-part PUTs).
func readObject(ctx context.Context, client *s3.Client, key string) (state, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchKey" {
			return state{}, nil
		}
		return state{}, err
	}
	defer out.Body.Close()
	sh, m := sha256.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(sh, m), out.Body)
	if err != nil {
		return state{}, fmt.Errorf("reading body after %d bytes: %w", n, err)
	}
	if out.ContentLength == nil || *out.ContentLength != n {
		return state{}, fmt.Errorf("body has %d bytes, Content-Length says %v", n, aws.ToInt64(out.ContentLength))
	}
	s := state{present: true, size: n}
	copy(s.sum[:], sh.Sum(nil))
	copy(s.md5[:], m.Sum(nil))
	if aws.ToString(out.ETag) != s.etag() {
		return state{}, fmt.Errorf("ETag %s, but the body's MD5 is %s", aws.ToString(out.ETag), s.etag())
	}
	return s, nil
}

type listed struct {
	size int64
	etag string
}

// listAll pages through the bucket with ListObjectsV2, 100 keys a page.
func listAll(ctx context.Context, client *s3.Client) (map[string]listed, error) {
	out := map[string]listed{}
	var token *string
	last := ""
	for {
		page, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket: aws.String(bucket), MaxKeys: aws.Int32(100), ContinuationToken: token,
		})
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if k <= last {
				return nil, fmt.Errorf("listing out of order or repeated: %q after %q", k, last)
			}
			last = k
			out[k] = listed{size: aws.ToInt64(o.Size), etag: aws.ToString(o.ETag)}
		}
		if !aws.ToBool(page.IsTruncated) {
			return out, nil
		}
		if page.NextContinuationToken == nil {
			return nil, errors.New("truncated listing without a continuation token")
		}
		token = page.NextContinuationToken
	}
}

// waitForCollector waits until the orphan collector has finished two runs
// after now, so at least one full run saw the data dir as it is.
func waitForCollector(t *testing.T, srv *coffertest.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	since := time.Now()
	for {
		hl, err := srv.Health(ctx)
		if err != nil {
			t.Fatalf("health: %v", err)
		}
		w, ok := hl.Worker("orphan-collector")
		if !ok {
			t.Fatalf("health lists no orphan-collector: %+v", hl)
		}
		if w.LastError != "" {
			t.Fatalf("orphan collector failed: %s", w.LastError)
		}
		if w.LastStart.After(since) && w.LastEnd.After(w.LastStart) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("orphan collector did not complete a run within 15s: %+v", w)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var blobName = regexp.MustCompile(`^[0-9a-f]{32}$`)

// countBlobs counts committed blob files (xx/yy/<32 hex>) and temp files.
func countBlobs(t *testing.T, dir string) (blobs, temps int) {
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		parts := strings.Split(rel, string(filepath.Separator))
		switch {
		case d.IsDir():
		case len(parts) == 2 && parts[0] == ".tmp":
			temps++
		case len(parts) == 3 && blobName.MatchString(parts[2]) && strings.HasPrefix(parts[2], parts[0]+parts[1]):
			blobs++
		default:
			t.Errorf("unexpected file in the blob store: %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return blobs, temps
}

// checkNoErrors fails the test for every ERROR line the server logged.
func checkNoErrors(t *testing.T, srv *coffertest.Server, when string) {
	if lines := srv.ErrorLines(); len(lines) > 0 {
		t.Errorf("%s: server logged %d errors:\n%s", when, len(lines), strings.Join(lines, "\n"))
	}
}
