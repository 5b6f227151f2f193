package object

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/checksum"
	"github.com/cofferstore/coffer/internal/meta"
)

// Multipart limits S3 documents.
const (
	MinPartSize = 5 << 20
	MaxPartSize = 5 << 30
	MaxParts    = 10000
)

// Checksum types of multipart uploads.
const (
	ChecksumComposite  = "COMPOSITE"
	ChecksumFullObject = "FULL_OBJECT"
)

var (
	ErrNoSuchUpload         = meta.ErrUploadNotFound
	ErrInvalidPart          = errors.New("part not found or etag mismatch")
	ErrInvalidPartOrder     = errors.New("parts not in ascending order")
	ErrEntityTooSmall       = errors.New("part smaller than the minimum")
	ErrInvalidPartNumber    = errors.New("part number out of range")
	ErrMalformedCompletion  = errors.New("no parts in completion")
	errChecksumTypeMismatch = errors.New("checksum type not valid for algorithm")
)

// CreateUploadInput starts a multipart upload.
type CreateUploadInput struct {
	Bucket, Key string
	Owner       string
	Attrs       Attrs
	// ChecksumAlgorithm is the one the client named, or "" for none (the
	// object then gets a full-object CRC64NVME, as S3 does).
	ChecksumAlgorithm checksum.Algorithm
	// ChecksumType is COMPOSITE, FULL_OBJECT or "" for the algorithm's default.
	ChecksumType string
}

// newUploadID returns an id that sorts by creation time (ListMultipartUploads
// orders a key's uploads by initiation) and is unguessable.
func newUploadID(now time.Time) string {
	var b [20]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	rand.Read(b[8:])
	return hex.EncodeToString(b[:])
}

// resolveChecksumType applies S3's rules: CRC64NVME is full-object only,
// SHA1 and SHA256 composite only, CRC32 and CRC32C either (default
// composite).
func resolveChecksumType(alg checksum.Algorithm, typ string) (string, error) {
	switch {
	case alg == "":
		if typ != "" {
			return "", errChecksumTypeMismatch
		}
		return ChecksumFullObject, nil
	case typ == "":
		if alg == checksum.CRC64NVME {
			return ChecksumFullObject, nil
		}
		return ChecksumComposite, nil
	case typ == ChecksumFullObject && alg.Combinable(), typ == ChecksumComposite && alg != checksum.CRC64NVME:
		return typ, nil
	}
	return "", errChecksumTypeMismatch
}

// CreateUpload starts a multipart upload.
func (s *Service) CreateUpload(ctx context.Context, in CreateUploadInput) (meta.Upload, error) {
	if err := ValidateKey(in.Key); err != nil {
		return meta.Upload{}, fmt.Errorf("creating upload for %s/%s: %w", in.Bucket, in.Key, err)
	}
	if err := validateAttrs(in.Attrs); err != nil {
		return meta.Upload{}, fmt.Errorf("creating upload for %s/%s: %w", in.Bucket, in.Key, err)
	}
	typ, err := resolveChecksumType(in.ChecksumAlgorithm, in.ChecksumType)
	if err != nil {
		return meta.Upload{}, fmt.Errorf("creating upload: %w: %w", ErrInvalidArgument, err)
	}
	b, err := s.Bucket(ctx, in.Bucket)
	if err != nil {
		return meta.Upload{}, err
	}
	if err := s.applyLock(ctx, b, &in.Attrs); err != nil {
		return meta.Upload{}, fmt.Errorf("creating upload for %s/%s: %w", in.Bucket, in.Key, err)
	}
	now := s.now().UTC()
	u := meta.Upload{ID: newUploadID(now), Initiated: now, Owner: in.Owner,
		Object: meta.Object{Bucket: in.Bucket, Key: in.Key}, ChecksumAlgorithm: string(in.ChecksumAlgorithm), ChecksumType: typ}
	in.Attrs.apply(&u.Object)
	if err := s.meta.CreateUpload(ctx, u); err != nil {
		return meta.Upload{}, fmt.Errorf("creating upload for %s/%s: %w", in.Bucket, in.Key, err)
	}
	return u, nil
}

// partAlgorithm is the checksum kept per part: the upload's, or
// CRC64NVME when the upload has none (so the full-object default can be
// combined at completion).
func partAlgorithm(u meta.Upload) checksum.Algorithm {
	if u.ChecksumAlgorithm == "" {
		return DefaultChecksum
	}
	return checksum.Algorithm(u.ChecksumAlgorithm)
}

// PartInput is one UploadPart request.
type PartInput struct {
	Bucket, Key, UploadID string
	Number                int
	Body                  io.Reader
	Size                  int64
	ContentMD5            []byte
	Checksum              *ExpectedChecksum
}

// UploadPart stores one part as a blob and records it.
func (s *Service) UploadPart(ctx context.Context, in PartInput) (meta.Part, error) {
	if in.Number < 1 || in.Number > MaxParts {
		return meta.Part{}, fmt.Errorf("part %d: %w", in.Number, ErrInvalidPartNumber)
	}
	if in.Size > MaxPartSize {
		return meta.Part{}, fmt.Errorf("part of %d bytes: %w", in.Size, ErrEntityTooLarge)
	}
	u, err := s.meta.GetUpload(ctx, in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return meta.Part{}, fmt.Errorf("uploading part: %w", err)
	}
	alg := partAlgorithm(u)
	switch {
	case in.Checksum == nil:
		in.Checksum = &ExpectedChecksum{Algorithm: alg}
	case in.Checksum.Algorithm == alg:
	case u.ChecksumAlgorithm != "":
		return meta.Part{}, fmt.Errorf("part checksum %s for a %s upload: %w", in.Checksum.Algorithm, alg, ErrInvalidArgument)
	default:
		return s.uploadPartVerifyingOther(ctx, in)
	}
	return s.storePart(ctx, in, nil)
}

// uploadPartVerifyingOther serves an upload without an algorithm whose
// client sent a part checksum in some algorithm: that one is verified, and
// CRC64NVME is what the part keeps.
func (s *Service) uploadPartVerifyingOther(ctx context.Context, in PartInput) (meta.Part, error) {
	h := in.Checksum.Algorithm.New()
	want := in.Checksum
	in.Body = io.TeeReader(in.Body, h)
	in.Checksum = &ExpectedChecksum{Algorithm: DefaultChecksum}
	return s.storePart(ctx, in, func() error {
		v := want.Value
		if v == "" && want.Trailer != nil {
			v = want.Trailer()
		}
		if v != "" && v != checksum.Encode(h.Sum(nil)) {
			return fmt.Errorf("%s: %w", want.Algorithm, ErrChecksumMismatch)
		}
		return nil
	})
}

// storePart writes the part's blob (never inline: parts are stitched
// together by reference at completion), runs extra before committing the
// record, and releases whatever the part replaced.
func (s *Service) storePart(ctx context.Context, in PartInput, extra func() error) (meta.Part, error) {
	var tmp meta.Object
	put := PutInput{Bucket: in.Bucket, Key: in.Key, Body: in.Body, Size: in.Size, ContentMD5: in.ContentMD5, Checksum: in.Checksum}
	if err := s.receive(ctx, put, &tmp, -1); err != nil {
		return meta.Part{}, fmt.Errorf("uploading part %d: %w", in.Number, err)
	}
	if extra != nil {
		if err := extra(); err != nil {
			s.release(ctx, tmp.BlobIDs())
			return meta.Part{}, fmt.Errorf("uploading part %d: %w", in.Number, err)
		}
	}
	p := meta.Part{Number: in.Number, Size: tmp.Size, ETag: tmp.ETag, Checksum: tmp.Checksums[string(in.Checksum.Algorithm)],
		Modified: s.now().UTC(), BlobID: tmp.Segments[0].BlobID}
	replaced, err := s.meta.PutPart(ctx, in.Bucket, in.Key, in.UploadID, p)
	if err != nil {
		s.release(ctx, tmp.BlobIDs())
		return meta.Part{}, fmt.Errorf("uploading part %d: %w", in.Number, err)
	}
	if replaced != nil {
		s.release(ctx, []string{replaced.BlobID})
	}
	return p, nil
}

// CompletePart names a part in a CompleteMultipartUpload request.
type CompletePart struct {
	Number int
	ETag   string // quoted or not
	// Checksum is the part's checksum the client listed, "" if none.
	Checksum string
}

// CompleteInput finishes an upload.
type CompleteInput struct {
	Bucket, Key, UploadID string
	Parts                 []CompletePart
	Cond                  *meta.Condition
	// FullChecksum is a whole-object checksum the client sent with the
	// completion (x-amz-checksum-ALG), to verify; "" if none.
	FullChecksum string
}

// CompleteUpload assembles the object from the listed parts by reference
// (no data is copied) and makes it the key's current version. Repeating a
// completion that already succeeded returns the same object.
func (s *Service) CompleteUpload(ctx context.Context, in CompleteInput) (meta.Object, error) {
	u, err := s.meta.GetUpload(ctx, in.Bucket, in.Key, in.UploadID)
	if errors.Is(err, meta.ErrUploadNotFound) {
		if obj, gerr := s.meta.GetObject(ctx, in.Bucket, in.Key, ""); gerr == nil && obj.UploadID == in.UploadID {
			obj.Inline = nil
			return obj, nil
		}
	}
	if err != nil {
		return meta.Object{}, fmt.Errorf("completing upload: %w", err)
	}
	if len(in.Parts) == 0 {
		return meta.Object{}, ErrMalformedCompletion
	}
	stored, err := s.allParts(ctx, u)
	if err != nil {
		return meta.Object{}, err
	}
	obj, err := assemble(u, in, stored)
	if err != nil {
		return meta.Object{}, fmt.Errorf("completing upload %s: %w", in.UploadID, err)
	}
	obj.Modified = s.now().UTC()
	n, err := s.notice(ctx, in.Bucket, in.Key, EventComplete)
	if err != nil {
		return meta.Object{}, err
	}
	res, unused, err := s.meta.CompleteUpload(ctx, in.Bucket, in.Key, in.UploadID, obj, meta.PutOptions{Cond: in.Cond, Notice: n})
	if err != nil {
		if errors.Is(err, meta.ErrPreconditionFailed) && in.Cond != nil && in.Cond.IfMatch != "" {
			err = s.missingAsNoSuchKey(ctx, in.Bucket, in.Key, err)
		}
		return meta.Object{}, fmt.Errorf("completing upload %s: %w", in.UploadID, err)
	}
	s.committed(n)
	obj.VersionID = res.VersionID
	if res.Replaced != nil {
		s.release(ctx, res.Replaced.BlobIDs())
	}
	for _, p := range unused {
		s.release(ctx, []string{p.BlobID})
	}
	return obj, nil
}

func (s *Service) allParts(ctx context.Context, u meta.Upload) (map[int]meta.Part, error) {
	parts := make(map[int]meta.Part)
	after := 0
	for {
		page, more, err := s.meta.ListParts(ctx, u.Object.Bucket, u.Object.Key, u.ID, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("listing parts: %w", err)
		}
		for _, p := range page {
			parts[p.Number] = p
			after = p.Number
		}
		if !more {
			return parts, nil
		}
	}
}

// assemble validates the client's part list against the stored parts and
// builds the final record: segments in order, the multipart ETag and the
// object's checksum.
func assemble(u meta.Upload, in CompleteInput, stored map[int]meta.Part) (meta.Object, error) {
	obj := u.Object
	obj.UploadID = u.ID
	md5s := make([]byte, 0, md5.Size*len(in.Parts))
	alg := partAlgorithm(u)
	var sums [][]byte
	// Every listed part must exist, in order, before sizes are judged: a
	// missing part is InvalidPart whatever its neighbours' sizes.
	prev := 0
	for _, cp := range in.Parts {
		if cp.Number <= prev {
			return obj, ErrInvalidPartOrder
		}
		prev = cp.Number
		p, ok := stored[cp.Number]
		if !ok || trimQuotes(cp.ETag) != p.ETag {
			return obj, fmt.Errorf("part %d: %w", cp.Number, ErrInvalidPart)
		}
		if cp.Checksum != "" && cp.Checksum != p.Checksum {
			return obj, fmt.Errorf("part %d checksum: %w", cp.Number, ErrInvalidPart)
		}
	}
	for i, cp := range in.Parts {
		p := stored[cp.Number]
		if i < len(in.Parts)-1 && p.Size < MinPartSize {
			return obj, fmt.Errorf("part %d of %d bytes: %w", cp.Number, p.Size, ErrEntityTooSmall)
		}
		raw, err := hex.DecodeString(p.ETag)
		if err != nil {
			return obj, fmt.Errorf("part %d etag: %w", cp.Number, err)
		}
		md5s = append(md5s, raw...)
		sum, err := alg.Decode(p.Checksum)
		if err != nil {
			return obj, fmt.Errorf("part %d stored checksum: %w", cp.Number, err)
		}
		sums = append(sums, sum)
		obj.Segments = append(obj.Segments, meta.Segment{BlobID: p.BlobID, Size: p.Size, PartNumber: p.Number, ETag: p.ETag, Checksum: p.Checksum})
		obj.Size += p.Size
	}
	etag := md5.Sum(md5s)
	obj.ETag = hex.EncodeToString(etag[:]) + "-" + strconv.Itoa(len(in.Parts))
	obj.PartsCount = len(in.Parts)
	value, err := objectChecksum(alg, u.ChecksumType, sums, obj.Segments)
	if err != nil {
		return obj, err
	}
	if in.FullChecksum != "" && in.FullChecksum != value {
		return obj, fmt.Errorf("%s of the whole object: %w", alg, ErrChecksumMismatch)
	}
	obj.Checksums = map[string]string{string(alg): value}
	if u.ChecksumAlgorithm != "" {
		obj.ChecksumType = u.ChecksumType
	}
	return obj, nil
}

// objectChecksum is S3's multipart checksum: for COMPOSITE the checksum
// of the concatenated part checksums with a -N suffix; for FULL_OBJECT the
// CRC of the whole object, combined from the parts' CRCs.
func objectChecksum(alg checksum.Algorithm, typ string, sums [][]byte, segs []meta.Segment) (string, error) {
	if typ == ChecksumComposite {
		h := alg.New()
		for _, s := range sums {
			h.Write(s)
		}
		return checksum.Encode(h.Sum(nil)) + "-" + strconv.Itoa(len(sums)), nil
	}
	acc := sums[0]
	for i := 1; i < len(sums); i++ {
		var err error
		if acc, err = checksum.Combine(alg, acc, sums[i], segs[i].Size); err != nil {
			return "", fmt.Errorf("combining part checksums: %w", err)
		}
	}
	return checksum.Encode(acc), nil
}

func trimQuotes(s string) string { return strings.Trim(s, `"`) }

// missingAsNoSuchKey turns a failed If-Match into NoSuchKey when the key
// does not exist, as S3 answers conditional writes.
func (s *Service) missingAsNoSuchKey(ctx context.Context, bucket, key string, err error) error {
	if _, gerr := s.meta.GetObject(ctx, bucket, key, ""); errors.Is(gerr, meta.ErrObjectNotFound) {
		return ErrNoSuchKey
	}
	return err
}

// AbortUpload discards an upload and frees its parts at once.
func (s *Service) AbortUpload(ctx context.Context, bucket, key, id string) error {
	parts, err := s.meta.AbortUpload(ctx, bucket, key, id)
	if err != nil {
		return fmt.Errorf("aborting upload %s: %w", id, err)
	}
	for _, p := range parts {
		s.release(ctx, []string{p.BlobID})
	}
	return nil
}

// Upload returns an in-progress upload.
func (s *Service) Upload(ctx context.Context, bucket, key, id string) (meta.Upload, error) {
	u, err := s.meta.GetUpload(ctx, bucket, key, id)
	if err != nil {
		return u, fmt.Errorf("getting upload %s: %w", id, err)
	}
	return u, nil
}

// ListParts returns up to limit parts numbered above after.
func (s *Service) ListParts(ctx context.Context, bucket, key, id string, after, limit int) ([]meta.Part, bool, error) {
	parts, more, err := s.meta.ListParts(ctx, bucket, key, id, after, limit)
	if err != nil {
		return nil, false, fmt.Errorf("listing parts of %s: %w", id, err)
	}
	return parts, more, nil
}

// ListUploads returns one page of a bucket's in-progress uploads.
func (s *Service) ListUploads(ctx context.Context, bucket string, opts meta.UploadListOptions) (meta.UploadPage, error) {
	if _, err := s.Bucket(ctx, bucket); err != nil {
		return meta.UploadPage{}, err
	}
	page, err := s.meta.ListUploads(ctx, bucket, opts)
	if err != nil {
		return page, fmt.Errorf("listing uploads of %s: %w", bucket, err)
	}
	return page, nil
}

// ExpireUploads aborts uploads initiated more than maxAge ago and reports
// how many. The multipart-expiry worker runs it.
func (s *Service) ExpireUploads(ctx context.Context, maxAge time.Duration) (int, error) {
	n := 0
	for {
		stale, err := s.meta.UploadsInitiatedBefore(ctx, s.now().Add(-maxAge), 100)
		if err != nil {
			return n, fmt.Errorf("finding stale uploads: %w", err)
		}
		for _, u := range stale {
			err := s.AbortUpload(ctx, u.Object.Bucket, u.Object.Key, u.ID)
			if err != nil && !errors.Is(err, meta.ErrUploadNotFound) {
				return n, err
			}
			n++
		}
		if len(stale) < 100 {
			if n > 0 {
				s.log.InfoContext(ctx, "expired abandoned multipart uploads", "count", n)
			}
			return n, nil
		}
	}
}
