package object

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"unicode/utf8"

	md5simd "github.com/minio/md5-simd"

	"github.com/cofferstore/coffer/internal/blob"
	"github.com/cofferstore/coffer/internal/checksum"
	"github.com/cofferstore/coffer/internal/meta"
)

// Attrs are the stored attributes a writer chooses for an object.
type Attrs struct {
	ContentType        string
	ContentEncoding    string
	ContentDisposition string
	ContentLanguage    string
	CacheControl       string
	Expires            string
	// UserMeta is keyed by the lower-case name without "x-amz-meta-".
	UserMeta     map[string]string
	StorageClass string
	// Tags are the object's tags (x-amz-tagging).
	Tags map[string]string
	// Retention and LegalHold are the object-lock headers; a version in a
	// bucket with object lock that names no retention gets the default.
	Retention meta.Retention
	LegalHold bool
	// ACL is the new version's access control list, encoded by iam (nil:
	// the bucket's owner owns it and alone has access). It is never taken
	// from a copy's source.
	ACL []byte
}

func (a Attrs) apply(o *meta.Object) {
	o.ContentType = a.ContentType
	o.ContentEncoding = a.ContentEncoding
	o.ContentDisposition = a.ContentDisposition
	o.ContentLanguage = a.ContentLanguage
	o.CacheControl = a.CacheControl
	o.Expires = a.Expires
	o.UserMeta = a.UserMeta
	o.StorageClass = a.StorageClass
	o.Tags = a.Tags
	o.Retention = a.Retention
	o.LegalHold = a.LegalHold
	o.ACL = a.ACL
}

// ExpectedChecksum is a checksum the client sent for the body.
type ExpectedChecksum struct {
	Algorithm checksum.Algorithm
	// Value is the base64 digest when sent up front (a header); empty when
	// it arrives after the body (a trailer), in which case Trailer is called
	// once the body has been read to its end. With neither, the client only
	// chose the algorithm: it is computed and stored, not checked.
	Value   string
	Trailer func() string
}

// PutInput describes a single-request object write.
type PutInput struct {
	Bucket, Key string
	Body        io.Reader
	// Size is the declared length, or -1 when unknown. A body that ends
	// early fails with ErrIncompleteBody.
	Size  int64
	Attrs Attrs
	// ContentMD5 is the raw 16-byte digest from Content-MD5, if sent.
	ContentMD5 []byte
	Checksum   *ExpectedChecksum
	Cond       *meta.Condition
	// Event is the event name to record; "" means EventPut.
	Event string
}

// PutResult reports a stored object.
type PutResult struct {
	ETag      string // unquoted
	Size      int64
	Checksums map[string]string
	VersionID string
}

// DefaultChecksum is computed and stored for objects whose writer named
// none, as S3 has done since 2025, so later reads can be verified end to end.
const DefaultChecksum = checksum.CRC64NVME

// ValidateKey checks an object key against S3's rules. Keys are stored
// as-is (no path cleaning); the stores never derive file paths from them.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("empty key: %w", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("key of %d bytes: %w", len(key), ErrKeyTooLong)
	case !utf8.ValidString(key):
		return fmt.Errorf("key is not valid utf-8: %w", ErrInvalidKey)
	}
	return nil
}

func validateAttrs(a Attrs) error {
	n := 0
	for k, v := range a.UserMeta {
		n += len(k) + len(v)
	}
	if n > MaxUserMetaSize {
		return fmt.Errorf("%d bytes of user metadata: %w", n, ErrMetadataTooLarge)
	}
	return ValidateTags(a.Tags, MaxObjectTags)
}

// PutObject stores an object from a single request body. Small bodies go
// inline into the metadata store (one durable write); larger ones stream to
// a blob that is durable before the metadata commit points at it. On any
// error nothing becomes visible and the blob, if any, is discarded.
func (s *Service) PutObject(ctx context.Context, in PutInput) (PutResult, error) {
	if err := ValidateKey(in.Key); err != nil {
		return PutResult{}, fmt.Errorf("putting %s/%s: %w", in.Bucket, in.Key, err)
	}
	if err := validateAttrs(in.Attrs); err != nil {
		return PutResult{}, fmt.Errorf("putting %s/%s: %w", in.Bucket, in.Key, err)
	}
	if in.Size > MaxPutSize {
		return PutResult{}, fmt.Errorf("putting %d bytes: %w", in.Size, ErrEntityTooLarge)
	}
	if len(in.ContentMD5) != 0 && len(in.ContentMD5) != md5.Size {
		return PutResult{}, fmt.Errorf("putting %s/%s: %w", in.Bucket, in.Key, ErrInvalidDigest)
	}
	if in.Checksum != nil && in.Checksum.Value != "" {
		if err := in.Checksum.Algorithm.Validate(in.Checksum.Value); err != nil {
			return PutResult{}, fmt.Errorf("putting %s/%s: %w: %w", in.Bucket, in.Key, ErrInvalidChecksum, err)
		}
	}
	// Fail before streaming a body into a bucket that is not there (the
	// commit checks again atomically); the record also says whether object
	// lock applies.
	b, err := s.Bucket(ctx, in.Bucket)
	if err != nil {
		return PutResult{}, err
	}
	if err := s.applyLock(ctx, b, &in.Attrs); err != nil {
		return PutResult{}, fmt.Errorf("putting %s/%s: %w", in.Bucket, in.Key, err)
	}
	if in.Event == "" {
		in.Event = EventPut
	}
	n, err := s.notice(ctx, in.Bucket, in.Key, in.Event)
	if err != nil {
		return PutResult{}, err
	}

	obj := meta.Object{Bucket: in.Bucket, Key: in.Key}
	in.Attrs.apply(&obj)
	if err := s.receive(ctx, in, &obj, s.inlineMax); err != nil {
		return PutResult{}, fmt.Errorf("putting %s/%s: %w", in.Bucket, in.Key, err)
	}
	obj.Modified = s.now().UTC()
	res, err := s.meta.PutObject(ctx, obj, meta.PutOptions{Cond: in.Cond, Notice: n})
	if err != nil {
		s.release(ctx, obj.BlobIDs())
		if errors.Is(err, meta.ErrPreconditionFailed) && in.Cond.IfMatch != "" {
			err = s.missingAsNoSuchKey(ctx, in.Bucket, in.Key, err)
		}
		return PutResult{}, fmt.Errorf("putting %s/%s: %w", in.Bucket, in.Key, err)
	}
	s.committed(n)
	if res.Replaced != nil {
		s.release(ctx, res.Replaced.BlobIDs())
	}
	return PutResult{ETag: obj.ETag, Size: obj.Size, Checksums: obj.Checksums, VersionID: res.VersionID}, nil
}

// digests computes, in the single pass over the body, the MD5 for the ETag
// and the one additional checksum the object keeps.
type digests struct {
	md5  hash.Hash
	alg  checksum.Algorithm
	sum  hash.Hash
	both io.Writer
	simd md5simd.Hasher // non-nil once the body turned out blob-sized
}

func newDigests(alg checksum.Algorithm) *digests {
	d := &digests{md5: md5.New(), alg: alg, sum: alg.New()}
	d.both = io.MultiWriter(d.md5, d.sum)
	return d
}

// useSIMD switches the MD5 to the shared md5-simd server. It must be
// called before any byte was hashed.
func (d *digests) useSIMD(srv md5simd.Server) {
	d.simd = srv.NewHash()
	d.md5 = d.simd
	d.both = io.MultiWriter(d.md5, d.sum)
}

// close releases the md5-simd lane, if one was taken.
func (d *digests) close() {
	if d.simd != nil {
		d.simd.Close()
	}
}

// receive reads the body into obj (Inline or one blob Segment) and fills
// Size, ETag and Checksums after verifying every digest the client sent.
// It returns with no blob left behind when it fails.
func (s *Service) receive(ctx context.Context, in PutInput, obj *meta.Object, inlineMax int64) error {
	alg := DefaultChecksum
	if in.Checksum != nil {
		alg = in.Checksum.Algorithm
	}
	d := newDigests(alg)
	defer d.close()
	limit := int64(MaxPutSize)
	if in.Size >= 0 {
		limit = in.Size
	}
	// One byte past the limit tells "longer than allowed" from "exactly".
	body := io.LimitReader(in.Body, limit+1)

	bufp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bufp)
	buf := *bufp

	var w blob.Writer
	var n int64
	if inlineMax >= 0 && (in.Size < 0 || in.Size <= inlineMax) {
		// Read what could be inline; if the body ends within the threshold
		// it never touches the blob store.
		first := buf[:min(int64(len(buf)), inlineMax+1)]
		m, err := io.ReadFull(body, first)
		n = int64(m)
		switch {
		case err == nil: // more than inlineMax: continue as a blob
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			if n <= inlineMax {
				if err := checkLength(in.Size, n, limit); err != nil {
					return err
				}
				d.both.Write(first[:m])
				if err := s.verify(in, d, obj, n); err != nil {
					return err
				}
				obj.Inline = bytes.Clone(first[:m])
				return nil
			}
		default:
			return bodyError(err)
		}
		w, err = s.blobs.Create(ctx)
		if err != nil {
			return fmt.Errorf("creating blob: %w", err)
		}
		d.useSIMD(s.md5s)
		d.both.Write(first[:m])
		if _, err := w.Write(first[:m]); err != nil {
			w.Abort()
			return fmt.Errorf("writing blob: %w", err)
		}
	} else {
		var err error
		w, err = s.blobs.Create(ctx)
		if err != nil {
			return fmt.Errorf("creating blob: %w", err)
		}
		d.useSIMD(s.md5s)
	}
	copied, err := io.CopyBuffer(io.MultiWriter(w, d.both), onlyReader{body}, buf)
	n += copied
	if err == nil {
		err = checkLength(in.Size, n, limit)
	}
	if err == nil {
		err = s.verify(in, d, obj, n)
	}
	if err != nil {
		w.Abort()
		return bodyError(err)
	}
	id, err := w.Commit()
	if err != nil {
		w.Abort()
		return fmt.Errorf("committing blob: %w", err)
	}
	obj.Segments = []meta.Segment{{BlobID: id, Size: n}}
	return nil
}

// onlyReader hides any WriterTo so io.CopyBuffer uses our pooled buffer.
type onlyReader struct{ io.Reader }

// checkLength compares what was read (at most limit+1 bytes) with the
// declared length. The front ends already stop bodies at their declared
// length; a longer one here is refused rather than stored one byte long.
func checkLength(declared, got, limit int64) error {
	switch {
	case got > limit && declared < 0:
		return fmt.Errorf("body over %d bytes: %w", limit, ErrEntityTooLarge)
	case declared >= 0 && got < declared:
		return fmt.Errorf("got %d of %d bytes: %w", got, declared, ErrIncompleteBody)
	case declared >= 0 && got > declared:
		return fmt.Errorf("body longer than its declared %d bytes: %w", declared, ErrInvalidArgument)
	}
	return nil
}

// bodyError turns a truncated transfer into the S3 notion of it and keeps
// every other error (signature, checksum, store) as it is.
func bodyError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("reading body: %w: %w", ErrIncompleteBody, err)
	}
	return err
}

func (s *Service) verify(in PutInput, d *digests, obj *meta.Object, n int64) error {
	md := d.md5.Sum(nil)
	if len(in.ContentMD5) != 0 && !bytes.Equal(md, in.ContentMD5) {
		return ErrBadDigest
	}
	sum := checksum.Encode(d.sum.Sum(nil))
	if in.Checksum != nil {
		want := in.Checksum.Value
		if want == "" && in.Checksum.Trailer != nil {
			want = in.Checksum.Trailer()
			if err := in.Checksum.Algorithm.Validate(want); err != nil {
				return fmt.Errorf("trailing %s: %w: %w", in.Checksum.Algorithm, ErrInvalidChecksum, err)
			}
		}
		if want != "" && want != sum {
			return fmt.Errorf("%s: %w", in.Checksum.Algorithm, ErrChecksumMismatch)
		}
	}
	obj.Size = n
	obj.ETag = hex.EncodeToString(md)
	obj.Checksums = map[string]string{string(d.alg): sum}
	return nil
}

// release deletes blobs no record references any more. A failure only
// delays reclamation: the orphan collector finds them later.
func (s *Service) release(ctx context.Context, ids []string) {
	for _, id := range ids {
		if err := s.blobs.Delete(context.WithoutCancel(ctx), id); err != nil {
			s.log.WarnContext(ctx, "releasing blob", "blob", id, "err", err)
		}
	}
}
