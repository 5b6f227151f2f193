package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/blob"
	"github.com/cofferstore/coffer/internal/meta"
)

// Conditions are HTTP conditional-request headers, already parsed. Zero
// values mean absent.
type Conditions struct {
	IfMatch           string // raw header: one or more quoted ETags, or *
	IfNoneMatch       string
	IfModifiedSince   time.Time
	IfUnmodifiedSince time.Time
}

// Range is a single byte range as sent in a Range header: First..Last
// (Last < 0 means to the end), or with IsSuffix the final Suffix bytes.
type Range struct {
	First, Last int64
	Suffix      int64
	IsSuffix    bool
}

// Resolve maps the range onto an object of size bytes, returning the offset
// and length to send, or ErrInvalidRange when no byte of it exists.
func (r Range) Resolve(size int64) (off, n int64, err error) {
	if r.IsSuffix {
		if r.Suffix <= 0 || size == 0 {
			return 0, 0, ErrInvalidRange
		}
		n = min(r.Suffix, size)
		return size - n, n, nil
	}
	if r.First >= size {
		return 0, 0, ErrInvalidRange
	}
	last := size - 1
	if r.Last >= 0 && r.Last < last {
		last = r.Last
	}
	return r.First, last - r.First + 1, nil
}

// GetInput selects an object and what part of it to read.
type GetInput struct {
	Bucket, Key string
	// VersionID selects a version; "" means the latest.
	VersionID string
	Range     *Range
	Cond      Conditions
	// PartNumber, when > 0, selects one part of a multipart object (part 1
	// of any other object is all of it).
	PartNumber int
	// HeadOnly skips opening the object's bytes.
	HeadOnly bool
}

// Reader is an object being read. Close it. Its body is the selected range:
// Offset and Length describe it, Object the whole object (Inline cleared).
type Reader struct {
	Object meta.Object
	Offset int64
	Length int64
	// Partial reports that a range was applied (HTTP 206).
	Partial bool

	r       io.Reader
	closers []io.Closer
}

// Read reads the selected bytes.
func (r *Reader) Read(p []byte) (int, error) {
	if r.r == nil {
		return 0, io.EOF
	}
	return r.r.Read(p)
}

// WriteTo copies the body to w. It exists so that io.Copy hands the
// underlying *io.LimitedReader of a file to w's ReadFrom, which lets
// net/http send a blob with sendfile instead of through user space.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	if r.r == nil {
		return 0, nil
	}
	if mr, ok := r.r.(*multiRange); ok {
		return mr.writeTo(w)
	}
	return io.Copy(w, r.r)
}

// Close releases the blobs held open.
func (r *Reader) Close() error {
	var errs []error
	for _, c := range r.closers {
		errs = append(errs, c.Close())
	}
	r.closers = nil
	return errors.Join(errs...)
}

// GetObject evaluates the conditions and opens the selected range. A
// successful precondition check yields ErrNotModified or
// ErrPreconditionFailed instead of a Reader. An object overwritten while
// it is being opened is served as its newer version, never as a mix.
func (s *Service) GetObject(ctx context.Context, in GetInput) (*Reader, error) {
	const attempts = 3
	for range attempts {
		obj, err := s.getVersion(ctx, in.Bucket, in.Key, in.VersionID)
		if err != nil {
			return nil, fmt.Errorf("getting %s/%s: %w", in.Bucket, in.Key, err)
		}
		if err := checkConditions(obj, in.Cond); err != nil {
			return nil, fmt.Errorf("getting %s/%s: %w", in.Bucket, in.Key, &ConditionError{Err: err, ETag: obj.ETag, Modified: obj.Modified})
		}
		rd := &Reader{Object: obj, Length: obj.Size}
		if in.Range != nil {
			off, n, err := in.Range.Resolve(obj.Size)
			if err != nil {
				return nil, fmt.Errorf("getting %s/%s: %w", in.Bucket, in.Key, err)
			}
			rd.Offset, rd.Length, rd.Partial = off, n, true
		}
		if in.PartNumber > 0 {
			off, n, err := partRange(obj, in.PartNumber)
			if err != nil {
				return nil, fmt.Errorf("getting %s/%s: %w", in.Bucket, in.Key, err)
			}
			rd.Offset, rd.Length, rd.Partial = off, n, obj.PartsCount > 0
		}
		rd.Object.Inline = nil
		if in.HeadOnly {
			return rd, nil
		}
		err = s.open(ctx, rd, obj)
		if errors.Is(err, blob.ErrNotFound) {
			// The record was replaced and its blob released between our
			// read of the record and the open: read the record again.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("getting %s/%s: %w", in.Bucket, in.Key, err)
		}
		return rd, nil
	}
	return nil, fmt.Errorf("getting %s/%s: %w", in.Bucket, in.Key, errBlobVanishedTooOften)
}

// partRange locates part n of obj.
func partRange(obj meta.Object, n int) (off, length int64, err error) {
	if obj.PartsCount == 0 {
		if n != 1 {
			return 0, 0, ErrInvalidPartNumber
		}
		return 0, obj.Size, nil
	}
	for _, seg := range obj.Segments {
		if seg.PartNumber == n {
			return off, seg.Size, nil
		}
		off += seg.Size
	}
	return 0, 0, ErrInvalidPartNumber
}

// open prepares rd's body. Every blob the range touches is opened before
// returning, so that a concurrent overwrite (which releases the old blobs)
// cannot cut the response short: an open file stays readable.
func (s *Service) open(ctx context.Context, rd *Reader, obj meta.Object) error {
	if obj.Segments == nil {
		rd.r = bytes.NewReader(obj.Inline[rd.Offset : rd.Offset+rd.Length])
		return nil
	}
	var parts []io.Reader
	off, remaining := rd.Offset, rd.Length
	for _, seg := range obj.Segments {
		if remaining == 0 {
			break
		}
		if off >= seg.Size {
			off -= seg.Size
			continue
		}
		br, err := s.blobs.Open(ctx, seg.BlobID)
		if err != nil {
			rd.Close()
			return fmt.Errorf("opening blob %s: %w", seg.BlobID, err)
		}
		rd.closers = append(rd.closers, br)
		n := min(seg.Size-off, remaining)
		part, err := br.Range(off, n)
		if err != nil {
			rd.Close()
			return fmt.Errorf("reading blob %s: %w", seg.BlobID, err)
		}
		parts = append(parts, part)
		off, remaining = 0, remaining-n
	}
	switch len(parts) {
	case 0:
		rd.r = bytes.NewReader(nil)
	case 1:
		rd.r = parts[0]
	default:
		rd.r = &multiRange{parts: parts}
	}
	return nil
}

// multiRange concatenates segment readers while keeping each one's
// zero-copy path (io.MultiReader would hide it).
type multiRange struct{ parts []io.Reader }

func (m *multiRange) Read(p []byte) (int, error) {
	for len(m.parts) > 0 {
		n, err := m.parts[0].Read(p)
		if err == io.EOF {
			m.parts = m.parts[1:]
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
	return 0, io.EOF
}

func (m *multiRange) writeTo(w io.Writer) (int64, error) {
	var total int64
	for len(m.parts) > 0 {
		n, err := io.Copy(w, m.parts[0])
		total += n
		if err != nil {
			return total, err
		}
		m.parts = m.parts[1:]
	}
	return total, nil
}

// ConditionError is a failed precondition (ErrNotModified or
// ErrPreconditionFailed, which it matches with errors.Is). It carries the
// validators, which a 304 response still sends.
type ConditionError struct {
	Err      error
	ETag     string
	Modified time.Time
}

func (e *ConditionError) Error() string { return e.Err.Error() }
func (e *ConditionError) Unwrap() error { return e.Err }

// checkConditions applies RFC 7232 section 6 ordering as S3 does: If-Match
// (else If-Unmodified-Since) may fail with 412; then If-None-Match (else
// If-Modified-Since) may answer 304.
func checkConditions(obj meta.Object, c Conditions) error {
	if c.IfMatch != "" {
		if !etagMatches(c.IfMatch, obj.ETag) {
			return ErrPreconditionFailed
		}
	} else if !c.IfUnmodifiedSince.IsZero() && obj.Modified.Truncate(time.Second).After(c.IfUnmodifiedSince) {
		return ErrPreconditionFailed
	}
	if c.IfNoneMatch != "" {
		if etagMatches(c.IfNoneMatch, obj.ETag) {
			return ErrNotModified
		}
	} else if !c.IfModifiedSince.IsZero() && !obj.Modified.Truncate(time.Second).After(c.IfModifiedSince) {
		return ErrNotModified
	}
	return nil
}

// etagMatches reports whether a comma-separated list of (optionally quoted,
// optionally weak) ETags, or *, names etag.
func etagMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		t = strings.TrimPrefix(t, "W/")
		if strings.Trim(t, `"`) == etag {
			return true
		}
	}
	return false
}
