package crash

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cofferstore/coffer/test/coffertest"
)

const (
	mpUploaders = 6
	mpCycles    = 3
)

// TestCrashMultipart kills the server while concurrent clients upload
// parts and complete uploads, and checks after each restart that every
// upload is in a state its client's history allows: an acknowledged
// completion is a whole object; an unacknowledged one is either a whole
// object or still an open upload holding every acknowledged part, which
// the test then finishes. No state is ever a partly assembled object.
func TestCrashMultipart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server and kills it three times; skipped in -short mode")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CRASH_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (rerun with CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	bin := coffertest.Build(t)
	dataDir := t.TempDir()
	srv := coffertest.Start(t, bin, coffertest.Options{DataDir: dataDir})
	client, trig := newMPClient(srv.Endpoint)
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	var led ledger
	var total mpStats

	for cycle := 1; cycle <= mpCycles; cycle++ {
		l := &mpLoad{client: client, trig: trig, led: &led, seed: seed, cycle: cycle}
		loadFor := time.Second + time.Duration(rng.Int64N(int64(3*time.Second)))
		// The first kill lands wherever the clock says, which is mostly
		// during part uploads; the others land just after a completion
		// request left, to catch the commit itself.
		var onComplete time.Duration = -1
		if cycle > 1 {
			onComplete = time.Duration(rng.Int64N(int64(1500 * time.Microsecond)))
		}
		l.run(t, srv, loadFor, onComplete)
		checkNoErrors(t, srv, fmt.Sprintf("cycle %d under load", cycle))

		srv = coffertest.Start(t, bin, coffertest.Options{DataDir: dataDir})
		client, trig = newMPClient(srv.Endpoint)
		problems, st := verifyMultipart(client, led.all(), cycle)
		for _, p := range problems {
			t.Error(p)
		}
		if t.Failed() {
			t.FailNow()
		}
		total.add(st)
		t.Logf("cycle %d: %v", cycle, st)
		checkNoErrors(t, srv, fmt.Sprintf("restart %d", cycle))
	}
	t.Logf("unacknowledged completions over all cycles: %d had committed, %d had not", total.inflightCommitted, total.inflightLost)

	// The last start collects orphans at once: a 1ms grace is safe because
	// nothing writes while the collector runs, and every upload is now
	// completed or aborted.
	if err := srv.Stop(30 * time.Second); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
	blobs, temps := countBlobs(t, filepath.Join(dataDir, "blobs"))
	t.Logf("before collection: %d blob files, %d temp files", blobs, temps)
	srv = coffertest.Start(t, bin, coffertest.Options{DataDir: dataDir,
		Env: []string{"COFFER_ORPHAN_GRACE=1ms", "COFFER_ORPHAN_INTERVAL=100ms"}})
	client, _ = newMPClient(srv.Endpoint)
	waitForCollector(t, srv)
	// Read everything again after the collector ran: it must not have
	// taken a blob that a live object's part still references.
	problems, st := verifyMultipart(client, led.all(), mpCycles+1)
	for _, p := range problems {
		t.Error(p)
	}
	if st.finished+st.aborted+st.inflightCommitted+st.inflightLost != 0 {
		t.Errorf("the final verification still found unresolved uploads: %v", st)
	}
	blobs, temps = countBlobs(t, filepath.Join(dataDir, "blobs"))
	t.Logf("after collection: %d blob files, %d temp files; %v", blobs, temps, st)
	if want := st.live * mpParts; blobs != want {
		t.Errorf("blob store holds %d committed blobs for %d live %d-part objects (want %d): orphans were not collected (or parts are missing)",
			blobs, st.live, mpParts, want)
	}
	if temps != 0 {
		t.Errorf("blob temp dir holds %d files after collection with a 1ms grace", temps)
	}
	checkNoErrors(t, srv, "orphan collection")
	if err := srv.Stop(30 * time.Second); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
}

// completionTrigger runs an armed function when the next completion
// request is about to be sent, so a kill can be aimed at the commit.
type completionTrigger struct {
	inner http.RoundTripper
	mu    sync.Mutex
	fire  func()
}

func (c *completionTrigger) arm(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fire = f
}

func (c *completionTrigger) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.URL.Query().Has("uploadId") {
		c.mu.Lock()
		f := c.fire
		c.fire = nil
		c.mu.Unlock()
		if f != nil {
			go f()
		}
	}
	return c.inner.RoundTrip(r)
}

// newMPClient is newClient with a completion trigger in the transport.
func newMPClient(endpoint string) (*s3.Client, *completionTrigger) {
	trig := &completionTrigger{inner: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4 * mpUploaders,
		IdleConnTimeout:     30 * time.Second,
	}}
	return s3.New(s3.Options{
		Region:           coffertest.Region,
		BaseEndpoint:     aws.String(endpoint),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider(coffertest.AccessKey, coffertest.SecretKey, ""),
		HTTPClient:       &http.Client{Transport: trig},
		RetryMaxAttempts: 1,
	}), trig
}

// mpLoad is one cycle of uploaders.
type mpLoad struct {
	client *s3.Client
	trig   *completionTrigger
	led    *ledger
	seed   uint64
	cycle  int

	killed                    atomic.Bool
	inParts, inCompletes      atomic.Int64 // requests in flight
	started, completed, parts atomic.Int64 // acknowledged so far
}

// run starts the uploaders, kills the server after d (or, when
// onComplete >= 0, that long after the first completion request sent
// after d), and waits for every uploader to notice.
func (l *mpLoad) run(t *testing.T, srv *coffertest.Server, d, onComplete time.Duration) {
	var wg sync.WaitGroup
	errs := make(chan error, mpUploaders)
	for w := 0; w < mpUploaders; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.uploader(w); err != nil {
				errs <- err
			}
		}()
	}

	var once sync.Once
	killedAt := make(chan string, 1)
	kill := func(how string) {
		once.Do(func() {
			l.killed.Store(true)
			where := fmt.Sprintf("%s with %d part uploads and %d completions in flight", how, l.inParts.Load(), l.inCompletes.Load())
			if err := srv.Kill(); err != nil {
				where += fmt.Sprintf(" (kill: %v)", err)
			}
			killedAt <- where
		})
	}
	time.Sleep(d)
	if onComplete < 0 {
		kill("at a random moment")
	} else {
		l.trig.arm(func() {
			time.Sleep(onComplete)
			kill(fmt.Sprintf("%v after a completion request", onComplete))
		})
	}
	var where string
	select {
	case where = <-killedAt:
	case <-time.After(5 * time.Second):
		// No completion came: kill anyway rather than hang.
		kill("5s after arming, no completion seen,")
		where = <-killedAt
	}
	l.trig.arm(nil)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("cycle %d: killed after %v %s; %d uploads started, %d parts and %d completions acknowledged",
		l.cycle, d.Round(time.Millisecond), where, l.started.Load(), l.parts.Load(), l.completed.Load())
	if l.completed.Load() == 0 {
		t.Fatalf("cycle %d: no completion was acknowledged: the load did not run", l.cycle)
	}
}

// uploader drives uploads of fresh keys until the kill. A failure before
// the kill is a server bug and is returned; a failure after it is
// expected. Either way the upload stays in the ledger as the client left
// it, so the verification stays sound.
func (l *mpLoad) uploader(w int) error {
	rng := rand.New(rand.NewPCG(l.seed, uint64(l.cycle*100+w)))
	buf := make([]byte, mpMaxSize)
	var first error
	for n := 0; !l.killed.Load(); n++ {
		var seed [32]byte
		copy(seed[:], fmt.Sprintf("%016x%04d%04d%06d", l.seed, l.cycle, w, n))
		u, data := newMPUpload(fmt.Sprintf("w%d/cycle %d/obj-%04d", w, l.cycle, n), seed, rng, buf)
		l.led.add(u)
		if err := l.drive(u, data); err != nil && !l.killed.Load() && first == nil {
			first = fmt.Errorf("uploader %d before the kill: %w", w, err)
		}
	}
	return first
}

func (l *mpLoad) drive(u *mpUpload, data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := aws.String(u.key)
	u.create = sent
	out, err := l.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: key})
	if err != nil {
		return fmt.Errorf("CreateMultipartUpload %q: %w", u.key, err)
	}
	u.create, u.id = acked, aws.ToString(out.UploadId)
	id := out.UploadId
	l.started.Add(1)

	n := mpParts
	if u.abortAfter > 0 {
		n = u.abortAfter
	}
	for i := 0; i < n; i++ {
		u.parts[i].status = sent
		l.inParts.Add(1)
		out, err := l.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String(bucket), Key: key, UploadId: id, PartNumber: aws.Int32(int32(i + 1)),
			Body: bytes.NewReader(u.part(data, i)), ContentLength: aws.Int64(int64(u.parts[i].size)),
		})
		l.inParts.Add(-1)
		if err != nil {
			return fmt.Errorf("UploadPart %d of %q: %w", i+1, u.key, err)
		}
		u.parts[i].status, u.parts[i].etag = acked, aws.ToString(out.ETag)
		l.parts.Add(1)
		if u.parts[i].etag != u.partETag(i) {
			return fmt.Errorf("UploadPart %d of %q acknowledged with ETag %s, want %s", i+1, u.key, u.parts[i].etag, u.partETag(i))
		}
	}

	if u.abortAfter > 0 {
		u.abort = sent
		if _, err := l.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(bucket), Key: key, UploadId: id,
		}); err != nil {
			return fmt.Errorf("AbortMultipartUpload %q: %w", u.key, err)
		}
		u.abort = acked
		return nil
	}
	u.complete = sent
	l.inCompletes.Add(1)
	cout, err := l.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(bucket), Key: key, UploadId: id, MultipartUpload: u.completedParts(),
	})
	l.inCompletes.Add(-1)
	if err != nil {
		return fmt.Errorf("CompleteMultipartUpload %q: %w", u.key, err)
	}
	u.complete, u.completeETag = acked, aws.ToString(cout.ETag)
	l.completed.Add(1)
	if u.completeETag != u.etag() {
		return fmt.Errorf("CompleteMultipartUpload %q acknowledged with ETag %s, want %s", u.key, u.completeETag, u.etag())
	}
	return nil
}
