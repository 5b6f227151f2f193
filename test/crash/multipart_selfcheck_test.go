package crash

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cofferstore/coffer/test/coffertest"
)

// TestMultipartVerifyDetectsDamage puts a real server into the states a
// broken multipart recovery would leave (a damaged part blob, a lost
// completion, an object nobody completed, a partly assembled object, a
// lost or wrong part, a stray upload, an abort that did not take) and
// checks that verifyMultipart reports each one and nothing else, while it
// finishes the healthy pending upload.
func TestMultipartVerifyDetectsDamage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary; skipped in -short mode")
	}
	bin := coffertest.Build(t)
	dataDir := t.TempDir()
	srv := coffertest.Start(t, bin, coffertest.Options{DataDir: dataDir})
	client, _ := newMPClient(srv.Endpoint)
	r := &mpRig{t: t, ctx: context.Background(), client: client, rng: rand.New(rand.NewPCG(7, 7)), buf: make([]byte, mpMaxSize)}
	if _, err := client.CreateBucket(r.ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}

	// Healthy: a completed upload, and one whose completion was never sent.
	u := r.upload("ok")
	r.complete(u, mpParts, true)
	u = r.upload("ok-pending")
	u.parts[mpParts-1].status = sent // its ack was lost: the verifier re-uploads it

	before := blobFiles(t, dataDir)
	u = r.upload("truncated")
	r.complete(u, mpParts, true)
	var victims []string
	for f := range blobFiles(t, dataDir) {
		if !before[f] {
			victims = append(victims, f)
		}
	}
	if len(victims) != mpParts {
		t.Fatalf("a %d-part upload created %d blob files", mpParts, len(victims))
	}

	// The client heard the completion acknowledged; the server never got it.
	u = r.upload("lost-completion")
	u.complete, u.completeETag = acked, u.etag()
	// Completed behind the client's back: no completion was ever sent.
	u = r.upload("phantom")
	r.complete(u, mpParts, false)
	// A completion in flight that assembled only the first two parts.
	u = r.upload("half")
	r.complete(u, mpParts-1, false)
	u.complete = sent
	// Part 2 acknowledged, but the server has no trace of it.
	r.uploadWith("lost-part", func(u *mpUpload, i int) bool { return i != 1 })
	// Part 1 acknowledged, but the server holds other bytes for it.
	u = r.upload("wrong-part")
	other := bytes.Repeat([]byte{'x'}, u.parts[0].size)
	r.putPart(u, 0, other)
	// An abort the client saw acknowledged that never reached the server.
	u = r.uploadWith("lost-abort", func(*mpUpload, int) bool { return true })
	u.abortAfter, u.abort = mpParts, acked
	// An upload no client started.
	if _, err := client.CreateMultipartUpload(r.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("stray")}); err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}

	if err := srv.Stop(30 * time.Second); err != nil {
		t.Fatalf("stopping: %v", err)
	}
	fi, err := os.Stat(victims[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(victims[0], fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	srv = coffertest.Start(t, bin, coffertest.Options{DataDir: dataDir})
	client, _ = newMPClient(srv.Endpoint)
	problems, st := verifyMultipart(client, r.led.all(), 1)
	t.Logf("verify reported (%v):\n%s", st, strings.Join(problems, "\n"))

	want := map[string]string{
		`"truncated"`:       `GET "truncated"`,
		`"lost-completion"`: "an acknowledged completion must leave the object",
		`"phantom"`:         "an object exists without an acknowledged completion",
		`"half"`:            "the full object is",
		`"lost-part"`:       "lacks acknowledged part 2",
		`"wrong-part"`:      "shows part 1 as",
		`"lost-abort"`:      "an acknowledged abort must close the upload",
		`"stray"`:           "which no client started",
	}
	found := map[string]bool{}
	for _, p := range problems {
		matched := false
		for key, why := range want {
			if strings.Contains(p, key) {
				matched = true
				found[key] = found[key] || strings.Contains(p, why)
			}
		}
		if !matched {
			t.Errorf("unexpected problem reported: %s", p)
		}
	}
	for key, why := range want {
		if !found[key] {
			t.Errorf("verify did not report %s for %s", why, key)
		}
	}
	for _, u := range r.led.all() {
		if strings.HasPrefix(u.key, "ok") && u.outcome != live {
			t.Errorf("%s: outcome %v after verification, want live", u.describe(), u.outcome)
		}
	}
	if st.finished != 1 {
		t.Errorf("verification finished %d pending uploads, want 1 (ok-pending)", st.finished)
	}
}

// mpRig drives uploads step by step and records them, so the self-check
// can make the ledger and the server disagree on purpose.
type mpRig struct {
	t      *testing.T
	ctx    context.Context
	client *s3.Client
	rng    *rand.Rand
	buf    []byte
	led    ledger
}

// upload creates an upload for key and uploads every part, recording each
// acknowledgement.
func (r *mpRig) upload(key string) *mpUpload {
	return r.uploadWith(key, func(*mpUpload, int) bool { return true })
}

// uploadWith creates an upload for key and records every part as
// acknowledged, but sends only those send accepts.
func (r *mpRig) uploadWith(key string, send func(*mpUpload, int) bool) *mpUpload {
	r.t.Helper()
	var seed [32]byte
	copy(seed[:], key)
	u, data := newMPUpload(key, seed, r.rng, r.buf)
	u.abortAfter = 0
	r.led.add(u)
	out, err := r.client.CreateMultipartUpload(r.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		r.t.Fatalf("CreateMultipartUpload %s: %v", key, err)
	}
	u.create, u.id = acked, aws.ToString(out.UploadId)
	for i := range u.parts {
		if send(u, i) {
			r.putPart(u, i, u.part(data, i))
		}
		u.parts[i].status, u.parts[i].etag = acked, u.partETag(i)
	}
	return u
}

func (r *mpRig) putPart(u *mpUpload, i int, body []byte) {
	r.t.Helper()
	if _, err := r.client.UploadPart(r.ctx, &s3.UploadPartInput{
		Bucket: aws.String(bucket), Key: aws.String(u.key), UploadId: aws.String(u.id),
		PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
	}); err != nil {
		r.t.Fatalf("UploadPart %d of %s: %v", i+1, u.key, err)
	}
}

// complete completes u from its first n parts; record says whether the
// ledger learns of it.
func (r *mpRig) complete(u *mpUpload, n int, record bool) {
	r.t.Helper()
	parts := u.completedParts()
	out, err := r.client.CompleteMultipartUpload(r.ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(u.key), UploadId: aws.String(u.id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts.Parts[:n]},
	})
	if err != nil {
		r.t.Fatalf("CompleteMultipartUpload %s: %v", u.key, err)
	}
	if record {
		u.complete, u.completeETag = acked, aws.ToString(out.ETag)
	}
}
