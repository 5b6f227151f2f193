package crash

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const (
	mpParts    = 3
	mpPartSize = 5 << 20 // S3's minimum for every part but the last
	mpLastMax  = 256 << 10
	mpMaxSize  = (mpParts-1)*mpPartSize + mpLastMax
)

// opStatus is what the client knows about one request.
type opStatus uint8

const (
	notSent opStatus = iota
	// sent: the request went out and no acknowledgement came back (it was
	// in flight at the kill, or failed), so it may or may not have applied.
	sent
	acked
)

func (s opStatus) String() string {
	return [...]string{"not sent", "unacknowledged", "acknowledged"}[s]
}

// mpOutcome is how a verification resolved an upload. Once resolved, every
// later verification checks that it stays that way.
type mpOutcome uint8

const (
	pending mpOutcome = iota
	live              // the object exists, made from this upload
	gone              // the upload was aborted (or never existed) and no object was made
)

type mpPart struct {
	size   int
	md5    [16]byte
	status opStatus
	// etag is what UploadPart's acknowledgement said, if it came.
	etag string
}

// mpUpload is one multipart upload as the client drove it. Its content is
// a ChaCha8 stream of seed, so it can be regenerated instead of kept.
// Only one goroutine touches an upload at a time: its uploader while the
// load runs, then one verification worker.
type mpUpload struct {
	key  string
	seed [32]byte
	// abortAfter > 0 means the client aborts after that many parts instead
	// of completing.
	abortAfter int
	parts      [mpParts]mpPart
	sum        [32]byte // sha256 of the whole object

	id                      string // known once the create was acknowledged
	create, complete, abort opStatus
	completeETag            string

	outcome mpOutcome
	// seenPresent records whether the current verification found the
	// object before it finished anything, to cross-check the listing.
	seenPresent bool
}

// newMPUpload draws an upload's part sizes and computes its digests,
// leaving the content in buf.
func newMPUpload(key string, seed [32]byte, rng *rand.Rand, buf []byte) (*mpUpload, []byte) {
	u := &mpUpload{key: key, seed: seed}
	for i := range u.parts {
		u.parts[i].size = mpPartSize
	}
	u.parts[mpParts-1].size = 1 + rng.IntN(mpLastMax)
	if rng.IntN(6) == 0 {
		u.abortAfter = 1 + rng.IntN(mpParts)
	}
	data := u.fill(buf)
	for i := range u.parts {
		u.parts[i].md5 = md5.Sum(u.part(data, i))
	}
	u.sum = sha256.Sum256(data)
	return u, data
}

func (u *mpUpload) size() int {
	n := 0
	for _, p := range u.parts {
		n += p.size
	}
	return n
}

// fill regenerates the whole object's content into buf.
func (u *mpUpload) fill(buf []byte) []byte {
	data := buf[:u.size()]
	rand.NewChaCha8(u.seed).Read(data)
	return data
}

func (u *mpUpload) offset(i int) int {
	off := 0
	for j := 0; j < i; j++ {
		off += u.parts[j].size
	}
	return off
}

func (u *mpUpload) part(data []byte, i int) []byte {
	off := u.offset(i)
	return data[off : off+u.parts[i].size]
}

// partETag is the ETag S3 gives part i: its quoted MD5.
func (u *mpUpload) partETag(i int) string {
	return `"` + hex.EncodeToString(u.parts[i].md5[:]) + `"`
}

// etag is the completed object's ETag: the MD5 of the parts' binary MD5s
// and the part count.
func (u *mpUpload) etag() string {
	var cat []byte
	for _, p := range u.parts {
		cat = append(cat, p.md5[:]...)
	}
	sum := md5.Sum(cat)
	return fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(sum[:]), mpParts)
}

func (u *mpUpload) completedParts() *types.CompletedMultipartUpload {
	var ps []types.CompletedPart
	for i := range u.parts {
		ps = append(ps, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: aws.String(u.partETag(i))})
	}
	return &types.CompletedMultipartUpload{Parts: ps}
}

// describe renders the client's view of u for a failure message.
func (u *mpUpload) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "upload %q id %q: create %v", u.key, u.id, u.create)
	for i, p := range u.parts {
		fmt.Fprintf(&b, ", part %d (%d B) %v", i+1, p.size, p.status)
	}
	if u.abortAfter > 0 {
		fmt.Fprintf(&b, ", abort after %d parts %v", u.abortAfter, u.abort)
	} else {
		fmt.Fprintf(&b, ", complete %v", u.complete)
	}
	return b.String()
}

// ledger holds every upload the test started.
type ledger struct {
	mu  sync.Mutex
	ups []*mpUpload
}

func (l *ledger) add(u *mpUpload) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ups = append(l.ups, u)
}

func (l *ledger) all() []*mpUpload {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*mpUpload(nil), l.ups...)
}
