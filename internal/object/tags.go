package object

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/cofferstore/coffer/internal/meta"
)

// Tag limits S3 documents.
const (
	MaxObjectTags   = 10
	MaxBucketTags   = 50
	MaxTagKeyLen    = 128
	MaxTagValueLen  = 256
	bucketTagConfig = "tagging"
)

var (
	ErrInvalidTag   = errors.New("invalid tag")
	ErrNoSuchTagSet = errors.New("bucket has no tag set")
	ErrNoSuchConfig = meta.ErrConfigNotFound
)

// ValidateTags checks a tag set against S3's rules: at most max tags,
// keys of 1 to 128 and values of up to 256 characters, no reserved "aws:"
// prefix.
func ValidateTags(tags map[string]string, max int) error {
	if len(tags) > max {
		return fmt.Errorf("%d tags, at most %d: %w", len(tags), max, ErrInvalidTag)
	}
	for k, v := range tags {
		switch n := utf8.RuneCountInString(k); {
		case n == 0 || n > MaxTagKeyLen:
			return fmt.Errorf("tag key of %d characters: %w", n, ErrInvalidTag)
		case utf8.RuneCountInString(v) > MaxTagValueLen:
			return fmt.Errorf("tag value of %d characters: %w", utf8.RuneCountInString(v), ErrInvalidTag)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return fmt.Errorf("tag key %q uses the reserved aws: prefix: %w", k, ErrInvalidTag)
		case !utf8.ValidString(k) || !utf8.ValidString(v):
			return fmt.Errorf("tag is not valid utf-8: %w", ErrInvalidTag)
		}
	}
	return nil
}

// ParseTaggingHeader reads x-amz-tagging: URL-query-encoded key=value pairs.
func ParseTaggingHeader(h string) (map[string]string, error) {
	if h == "" {
		return nil, nil
	}
	q, err := url.ParseQuery(h)
	if err != nil {
		return nil, fmt.Errorf("parsing x-amz-tagging: %w", ErrInvalidTag)
	}
	tags := make(map[string]string, len(q))
	for k, vs := range q {
		if len(vs) != 1 {
			return nil, fmt.Errorf("tag key %q repeated: %w", k, ErrInvalidTag)
		}
		tags[k] = vs[0]
	}
	if err := ValidateTags(tags, MaxObjectTags); err != nil {
		return nil, err
	}
	return tags, nil
}

// ObjectTags returns a version's tags (nil when it has none) and its id;
// versionID "" means the latest.
func (s *Service) ObjectTags(ctx context.Context, bucket, key, versionID string) (map[string]string, string, error) {
	obj, err := s.getVersion(ctx, bucket, key, versionID)
	if err != nil {
		return nil, "", fmt.Errorf("getting tags of %s/%s: %w", bucket, key, err)
	}
	return obj.Tags, obj.VersionID, nil
}

// PutObjectTags replaces a version's tags (nil removes them) and returns
// its id.
func (s *Service) PutObjectTags(ctx context.Context, bucket, key, versionID string, tags map[string]string) (string, error) {
	if err := ValidateTags(tags, MaxObjectTags); err != nil {
		return "", err
	}
	event := EventTaggingPut
	if len(tags) == 0 {
		event = EventTaggingDelete
	}
	n, err := s.notice(ctx, bucket, key, event)
	if err != nil {
		return "", err
	}
	obj, err := s.meta.UpdateObject(ctx, bucket, key, versionID, meta.UpdateOptions{Notice: n}, func(o *meta.Object) error {
		o.Tags = tags
		return nil
	})
	if err != nil {
		if errors.Is(err, meta.ErrDeleteMarker) {
			err = &DeleteMarkerError{VersionID: obj.VersionID, Modified: obj.Modified, Err: err}
		}
		return "", fmt.Errorf("tagging %s/%s: %w", bucket, key, versionErr(versionID, err))
	}
	s.committed(n)
	return obj.VersionID, nil
}

// BucketConfig returns a bucket configuration document (ErrNoSuchConfig
// when unset).
func (s *Service) BucketConfig(ctx context.Context, bucket, name string) ([]byte, error) {
	data, err := s.meta.GetBucketConfig(ctx, bucket, name)
	if err != nil {
		return nil, fmt.Errorf("getting %s of %s: %w", name, bucket, err)
	}
	return data, nil
}

// PutBucketConfig stores a bucket configuration document.
func (s *Service) PutBucketConfig(ctx context.Context, bucket, name string, data []byte) error {
	if err := s.meta.PutBucketConfig(ctx, bucket, name, data); err != nil {
		return fmt.Errorf("setting %s of %s: %w", name, bucket, err)
	}
	return nil
}

// DeleteBucketConfig removes a bucket configuration document.
func (s *Service) DeleteBucketConfig(ctx context.Context, bucket, name string) error {
	if err := s.meta.DeleteBucketConfig(ctx, bucket, name); err != nil {
		return fmt.Errorf("deleting %s of %s: %w", name, bucket, err)
	}
	return nil
}
