package object

import (
	"context"
	"errors"
	"fmt"

	"github.com/cofferstore/coffer/internal/checksum"
	"github.com/cofferstore/coffer/internal/meta"
)

// ErrInvalidRequest is a request S3 refuses as a whole, such as copying an
// object onto itself without changing anything.
var ErrInvalidRequest = errors.New("invalid request")

// CopySource selects what a copy reads.
type CopySource struct {
	Bucket, Key string
	VersionID   string // "" means the latest
	// Cond holds the x-amz-copy-source-if-* headers. A copy fails with
	// ErrPreconditionFailed where a GET would answer 304 or 412.
	Cond  Conditions
	Range *Range
}

// openSource opens the copy source, turning every failed condition into 412.
func (s *Service) openSource(ctx context.Context, src CopySource) (*Reader, error) {
	rd, err := s.GetObject(ctx, GetInput{Bucket: src.Bucket, Key: src.Key, VersionID: src.VersionID, Cond: src.Cond, Range: src.Range})
	if errors.Is(err, ErrNotModified) {
		return nil, fmt.Errorf("copy source: %w", ErrPreconditionFailed)
	}
	if err != nil {
		return nil, fmt.Errorf("copy source: %w", err)
	}
	return rd, nil
}

// CopyInput is a CopyObject request.
type CopyInput struct {
	Source  CopySource
	Bucket  string
	Key     string
	Replace bool  // x-amz-metadata-directive: REPLACE
	Attrs   Attrs // used when Replace
	// ReplaceTags (x-amz-tagging-directive: REPLACE) takes Attrs.Tags
	// instead of the source's tags.
	ReplaceTags bool
	Cond        *meta.Condition
	Algorithm   checksum.Algorithm // "" keeps the source's (or the default)
}

// CopyResult reports a copy: the new version (Inline cleared) and the
// version of the source that was read.
type CopyResult struct {
	Object          meta.Object
	SourceVersionID string
}

// CopyObject copies an object server-side, streaming it (never buffered
// whole) into a new object: the copy shares nothing with its source, so
// either can be deleted or overwritten independently.
func (s *Service) CopyObject(ctx context.Context, in CopyInput) (CopyResult, error) {
	if in.Source.Bucket == in.Bucket && in.Source.Key == in.Key && in.Source.VersionID == "" && !in.Replace && in.Algorithm == "" {
		return CopyResult{}, fmt.Errorf("copying %s/%s onto itself without changing its metadata: %w", in.Bucket, in.Key, ErrInvalidRequest)
	}
	rd, err := s.openSource(ctx, in.Source)
	if err != nil {
		return CopyResult{}, err
	}
	defer rd.Close()
	src := rd.Object
	if rd.Length > MaxPutSize {
		return CopyResult{}, fmt.Errorf("copying %d bytes in one request: %w", rd.Length, ErrEntityTooLarge)
	}
	attrs := in.Attrs
	if !in.Replace {
		attrs = Attrs{ContentType: src.ContentType, ContentEncoding: src.ContentEncoding, ContentDisposition: src.ContentDisposition,
			ContentLanguage: src.ContentLanguage, CacheControl: src.CacheControl, Expires: src.Expires, UserMeta: src.UserMeta,
			StorageClass: in.Attrs.StorageClass}
	}
	attrs.Tags = src.Tags
	if in.ReplaceTags {
		attrs.Tags = in.Attrs.Tags
	}
	alg := in.Algorithm
	if alg == "" && src.ChecksumType == "" {
		for a := range src.Checksums {
			alg = checksum.Algorithm(a)
		}
	}
	// Object lock is never copied from the source: the copy gets what the
	// request asks for, or the destination bucket's default.
	attrs.Retention, attrs.LegalHold = in.Attrs.Retention, in.Attrs.LegalHold
	// Nor is the ACL: S3 gives a copy the ACL its request names, else the
	// default.
	attrs.ACL = in.Attrs.ACL
	put := PutInput{Bucket: in.Bucket, Key: in.Key, Body: rd, Size: rd.Length, Attrs: attrs, Cond: in.Cond, Event: EventCopy}
	if alg != "" {
		put.Checksum = &ExpectedChecksum{Algorithm: alg}
	}
	res, err := s.PutObject(ctx, put)
	if err != nil {
		return CopyResult{}, err
	}
	obj, err := s.meta.GetObject(ctx, in.Bucket, in.Key, res.VersionID)
	if err != nil {
		return CopyResult{}, fmt.Errorf("reading the copy back: %w", err)
	}
	obj.Inline = nil
	return CopyResult{Object: obj, SourceVersionID: src.VersionID}, nil
}

// UploadPartCopy fills a part from (a range of) an existing object. It
// also returns the version of the source that was read.
func (s *Service) UploadPartCopy(ctx context.Context, in PartInput, src CopySource) (meta.Part, string, error) {
	rd, err := s.openSource(ctx, src)
	if err != nil {
		return meta.Part{}, "", err
	}
	defer rd.Close()
	if rd.Length > MaxPartSize {
		return meta.Part{}, "", fmt.Errorf("copying a part of %d bytes: %w", rd.Length, ErrEntityTooLarge)
	}
	in.Body, in.Size = rd, rd.Length
	p, err := s.UploadPart(ctx, in)
	return p, rd.Object.VersionID, err
}
