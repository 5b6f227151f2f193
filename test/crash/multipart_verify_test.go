package crash

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// mpStats counts what one verification found and did.
type mpStats struct {
	live, gone int
	// completions sent but not acknowledged (in flight at the kill, or sent
	// just after it) that had committed, or had not.
	inflightCommitted, inflightLost int
	finished, aborted               int // pending uploads the verifier completed or aborted
	bytesRead                       int64
}

func (s *mpStats) add(o mpStats) {
	s.live += o.live
	s.gone += o.gone
	s.inflightCommitted += o.inflightCommitted
	s.inflightLost += o.inflightLost
	s.finished += o.finished
	s.aborted += o.aborted
	s.bytesRead += o.bytesRead
}

func (s mpStats) String() string {
	return fmt.Sprintf("%d live objects, %d gone; unacknowledged completions: %d had committed, %d had not; finished %d, aborted %d; read %d MiB",
		s.live, s.gone, s.inflightCommitted, s.inflightLost, s.finished, s.aborted, s.bytesRead>>20)
}

// mpVerifier checks every upload against a restarted server and resolves
// the pending ones: a pending upload that is still open is finished (or
// aborted, if that was the client's intent), so the next cycle starts
// from a known state. It only acts on an upload whose state was legal.
type mpVerifier struct {
	client *s3.Client
	cycle  int

	mu       sync.Mutex
	problems []string
	stats    mpStats

	// Snapshots taken before any upload is touched.
	uploads map[string][]string // key -> open upload ids
	objects map[string]listed
}

func (v *mpVerifier) report(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.problems = append(v.problems, fmt.Sprintf("cycle %d: ", v.cycle)+fmt.Sprintf(format, args...))
}

func (v *mpVerifier) count(f func(*mpStats)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f(&v.stats)
}

// verifyMultipart checks and resolves every upload in ups; afterwards each
// one is live or gone unless a problem was reported about it.
func verifyMultipart(client *s3.Client, ups []*mpUpload, cycle int) ([]string, mpStats) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	v := &mpVerifier{client: client, cycle: cycle}
	var err error
	if v.uploads, err = listUploads(ctx, client); err != nil {
		v.report("listing uploads: %v", err)
		return v.problems, v.stats
	}
	if v.objects, err = listAll(ctx, client); err != nil {
		v.report("listing objects: %v", err)
		return v.problems, v.stats
	}

	work := make(chan *mpUpload)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, mpMaxSize)
			for u := range work {
				v.check(ctx, u, buf)
			}
		}()
	}
	byKey := map[string]*mpUpload{}
	for _, u := range ups {
		byKey[u.key] = u
		work <- u
	}
	close(work)
	wg.Wait()

	for _, k := range sortedKeys(v.objects) {
		l := v.objects[k]
		u, ok := byKey[k]
		switch {
		case !ok:
			v.report("listing shows %q (%d bytes), which no upload produced", k, l.size)
		case !u.seenPresent:
			v.report("listing shows %q (%d bytes ETag %s) but GET said it does not exist", k, l.size, l.etag)
		case l.size != int64(u.size()) || l.etag != u.etag():
			v.report("listing shows %q as %d bytes ETag %s, want %d bytes ETag %s", k, l.size, l.etag, u.size(), u.etag())
		}
	}
	for _, u := range ups {
		if _, ok := v.objects[u.key]; u.seenPresent && !ok {
			v.report("%q is readable but missing from the listing", u.key)
		}
	}
	for _, k := range sortedKeys(v.uploads) {
		if _, ok := byKey[k]; !ok {
			v.report("ListMultipartUploads shows uploads %v for %q, which no client started", v.uploads[k], k)
		}
	}
	return v.problems, v.stats
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// check judges one upload by what the client knows about it.
func (v *mpVerifier) check(ctx context.Context, u *mpUpload, buf []byte) {
	ids := v.uploads[u.key]
	open := false
	for _, id := range ids {
		switch {
		case id == u.id:
			open = true
		case u.id == "" && u.create == sent && len(ids) == 1:
			// Possibly the unacknowledged create's: judged below.
		default:
			v.report("%q has open upload %s that the client never heard of (%s; open: %v)", u.key, id, u.describe(), ids)
			return
		}
	}
	present, ok := v.readObject(ctx, u, buf)
	u.seenPresent = present
	if !ok {
		return
	}
	bad := func(why string) {
		v.report("%q: %s (%s; object present %v, upload open %v)", u.key, why, u.describe(), present, open)
	}

	switch {
	case u.outcome == live || u.complete == acked:
		if !present || open {
			bad("an acknowledged completion must leave the object and close the upload")
			return
		}
		v.repeatComplete(ctx, u)
		v.resolve(u, live)

	case u.outcome == gone:
		if present || len(ids) > 0 {
			bad("an aborted upload must leave neither object nor upload")
			return
		}
		v.count(func(s *mpStats) { s.gone++ })

	case u.create != acked:
		// The id never reached the client; a create that applied left an
		// upload with no parts, which the test aborts.
		if present {
			bad("an object exists though no part was ever sent")
			return
		}
		if len(ids) == 1 {
			if parts, err := v.listParts(ctx, u.key, ids[0]); err != nil || len(parts) > 0 {
				bad(fmt.Sprintf("the unacknowledged create's upload %s: parts %v, err %v; want none", ids[0], parts, err))
				return
			}
			u.id = ids[0]
			if !v.abortOpen(ctx, u) {
				return
			}
		}
		v.resolve(u, gone)

	case u.abortAfter > 0:
		switch {
		case present:
			bad("an object exists though the client only ever meant to abort")
		case open && u.abort == acked:
			bad("an acknowledged abort must close the upload")
		case !open && u.abort == notSent:
			bad("the upload vanished though it was neither completed nor aborted")
		case open:
			if v.checkParts(ctx, u) && v.abortOpen(ctx, u) {
				v.resolve(u, gone)
			}
		default:
			v.resolve(u, gone)
		}

	case present:
		// Only a completion in flight may have committed unacknowledged.
		if u.complete != sent || open {
			bad("an object exists without an acknowledged completion, or next to its open upload")
			return
		}
		v.count(func(s *mpStats) { s.inflightCommitted++ })
		v.repeatComplete(ctx, u)
		v.resolve(u, live)

	case !open:
		bad("the upload vanished without an object, though no completion was acknowledged")

	default:
		if u.complete == sent {
			v.count(func(s *mpStats) { s.inflightLost++ })
		}
		if v.checkParts(ctx, u) && v.finishOpen(ctx, u, buf) {
			v.count(func(s *mpStats) { s.finished++ })
			v.resolve(u, live)
		}
	}
}

func (v *mpVerifier) resolve(u *mpUpload, o mpOutcome) {
	u.outcome = o
	if o == live {
		v.count(func(s *mpStats) { s.live++ })
	} else {
		v.count(func(s *mpStats) { s.gone++ })
	}
}

// readObject GETs u's key and checks that a present object is exactly
// u's content: the whole body by digest, and the bytes around each part
// boundary by ranged GETs. ok is false when a problem was reported.
func (v *mpVerifier) readObject(ctx context.Context, u *mpUpload, buf []byte) (present, ok bool) {
	out, err := v.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(u.key)})
	if isCode(err, "NoSuchKey") {
		return false, true
	}
	if err != nil {
		v.report("GET %q: %v (%s)", u.key, err, u.describe())
		return true, false // not known to be absent
	}
	sh := sha256.New()
	n, err := io.Copy(sh, out.Body)
	out.Body.Close()
	v.count(func(s *mpStats) { s.bytesRead += n })
	var sum [32]byte
	copy(sum[:], sh.Sum(nil))
	switch {
	case err != nil:
		v.report("GET %q: reading the body after %d bytes: %v (%s)", u.key, n, err, u.describe())
		return true, false
	case n != int64(u.size()) || sum != u.sum || aws.ToString(out.ETag) != u.etag():
		v.report("GET %q returned %d bytes sha256 %x ETag %s; the full object is %d bytes sha256 %x ETag %s (%s)",
			u.key, n, sum[:8], aws.ToString(out.ETag), u.size(), u.sum[:8], u.etag(), u.describe())
		return true, false
	case aws.ToInt64(out.ContentLength) != n:
		v.report("GET %q: Content-Length %d for a %d-byte body", u.key, aws.ToInt64(out.ContentLength), n)
		return true, false
	}
	data := u.fill(buf)
	for i := 1; i < mpParts; i++ {
		b := u.offset(i)
		first, last := b-700, min(b+699, len(data)-1)
		got, err := v.getRange(ctx, u.key, first, last)
		if err != nil {
			v.report("GET %q bytes=%d-%d: %v", u.key, first, last, err)
			return true, false
		}
		if !bytes.Equal(got, data[first:last+1]) {
			v.report("GET %q bytes=%d-%d across the start of part %d returned other bytes", u.key, first, last, i+1)
			return true, false
		}
	}
	return true, true
}

func (v *mpVerifier) getRange(ctx context.Context, key string, first, last int) ([]byte, error) {
	out, err := v.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Range: aws.String(fmt.Sprintf("bytes=%d-%d", first, last)),
	})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// repeatComplete checks that completing an already-completed upload again
// returns the same object.
func (v *mpVerifier) repeatComplete(ctx context.Context, u *mpUpload) {
	out, err := v.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(u.key), UploadId: aws.String(u.id), MultipartUpload: u.completedParts(),
	})
	switch {
	case err != nil:
		v.report("repeating the completion of %q: %v (%s)", u.key, err, u.describe())
	case aws.ToString(out.ETag) != u.etag():
		v.report("repeating the completion of %q returned ETag %s, want %s", u.key, aws.ToString(out.ETag), u.etag())
	}
}

type partInfo struct {
	etag string
	size int64
}

func (v *mpVerifier) listParts(ctx context.Context, key, id string) (map[int]partInfo, error) {
	parts := map[int]partInfo{}
	var marker *string
	for {
		out, err := v.client.ListParts(ctx, &s3.ListPartsInput{
			Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(id), PartNumberMarker: marker,
		})
		if err != nil {
			return nil, err
		}
		for _, p := range out.Parts {
			parts[int(aws.ToInt32(p.PartNumber))] = partInfo{aws.ToString(p.ETag), aws.ToInt64(p.Size)}
		}
		if !aws.ToBool(out.IsTruncated) {
			return parts, nil
		}
		marker = out.NextPartNumberMarker
	}
}

// checkParts checks an open upload's parts: every acknowledged part is
// there with its ETag and size, an unacknowledged one is there intact or
// not at all, and nothing else is.
func (v *mpVerifier) checkParts(ctx context.Context, u *mpUpload) bool {
	parts, err := v.listParts(ctx, u.key, u.id)
	if err != nil {
		v.report("ListParts %q: %v (%s)", u.key, err, u.describe())
		return false
	}
	ok := true
	for n, p := range parts {
		if n < 1 || n > mpParts || u.parts[n-1].status == notSent {
			v.report("ListParts %q shows part %d, which was never sent (%s)", u.key, n, u.describe())
			ok = false
		} else if want := u.partETag(n - 1); p.etag != want || p.size != int64(u.parts[n-1].size) {
			v.report("ListParts %q shows part %d as %d bytes ETag %s, want %d bytes ETag %s (%s)",
				u.key, n, p.size, p.etag, u.parts[n-1].size, want, u.describe())
			ok = false
		}
	}
	for i, p := range u.parts {
		if _, listed := parts[i+1]; p.status == acked && !listed {
			v.report("ListParts %q lacks acknowledged part %d (%s)", u.key, i+1, u.describe())
			ok = false
		}
	}
	return ok
}

// finishOpen re-uploads every unacknowledged part, completes the upload
// and reads the object back.
func (v *mpVerifier) finishOpen(ctx context.Context, u *mpUpload, buf []byte) bool {
	data := u.fill(buf)
	for i := range u.parts {
		if u.parts[i].status == acked {
			continue
		}
		out, err := v.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String(bucket), Key: aws.String(u.key), UploadId: aws.String(u.id),
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(u.part(data, i)), ContentLength: aws.Int64(int64(u.parts[i].size)),
		})
		if err != nil {
			v.report("re-uploading part %d of %q: %v (%s)", i+1, u.key, err, u.describe())
			return false
		}
		u.parts[i].status, u.parts[i].etag = acked, aws.ToString(out.ETag)
		if u.parts[i].etag != u.partETag(i) {
			v.report("re-uploading part %d of %q: ETag %s, want %s", i+1, u.key, u.parts[i].etag, u.partETag(i))
			return false
		}
	}
	out, err := v.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(u.key), UploadId: aws.String(u.id), MultipartUpload: u.completedParts(),
	})
	if err != nil {
		v.report("completing %q after the restart: %v (%s)", u.key, err, u.describe())
		return false
	}
	u.complete, u.completeETag = acked, aws.ToString(out.ETag)
	if u.completeETag != u.etag() {
		v.report("completing %q after the restart: ETag %s, want %s", u.key, u.completeETag, u.etag())
		return false
	}
	present, ok := v.readObject(ctx, u, buf)
	if ok && !present {
		v.report("%q is missing right after an acknowledged completion", u.key)
	}
	return ok && present
}

// abortOpen aborts u's open upload and checks it is gone.
func (v *mpVerifier) abortOpen(ctx context.Context, u *mpUpload) bool {
	if _, err := v.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(u.key), UploadId: aws.String(u.id),
	}); err != nil {
		v.report("aborting %q after the restart: %v (%s)", u.key, err, u.describe())
		return false
	}
	u.abort = acked
	if _, err := v.listParts(ctx, u.key, u.id); !isCode(err, "NoSuchUpload") {
		v.report("ListParts of %q after an acknowledged abort: %v, want NoSuchUpload", u.key, err)
		return false
	}
	v.count(func(s *mpStats) { s.aborted++ })
	return true
}

// listUploads returns every open upload in the bucket, by key.
func listUploads(ctx context.Context, client *s3.Client) (map[string][]string, error) {
	out := map[string][]string{}
	var keyMarker, idMarker *string
	for {
		page, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{
			Bucket: aws.String(bucket), KeyMarker: keyMarker, UploadIdMarker: idMarker, MaxUploads: aws.Int32(50),
		})
		if err != nil {
			return nil, err
		}
		for _, u := range page.Uploads {
			k := aws.ToString(u.Key)
			out[k] = append(out[k], aws.ToString(u.UploadId))
		}
		if !aws.ToBool(page.IsTruncated) {
			return out, nil
		}
		if page.NextKeyMarker == nil {
			return nil, errors.New("truncated upload listing without a next marker")
		}
		keyMarker, idMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
}

func isCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}
