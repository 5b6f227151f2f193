package object

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/cofferstore/coffer/internal/meta"
)

// ValidBucketName reports whether name follows S3's general-purpose bucket
// naming rules.
func ValidBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return false
			}
		default:
			return false
		}
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return false
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	return true
}

// BucketOptions are the settings a bucket is created with.
type BucketOptions struct {
	// ObjectLock enables object lock, and with it versioning, for good.
	ObjectLock bool
}

// CreateBucket creates a bucket owned by owner. Recreating one's own bucket
// is ErrBucketOwnedByYou; someone else's, ErrBucketAlreadyExists.
func (s *Service) CreateBucket(ctx context.Context, name, owner, region string, opts BucketOptions) error {
	if !ValidBucketName(name) {
		return fmt.Errorf("creating bucket %q: %w", name, ErrInvalidBucketName)
	}
	b := meta.Bucket{Name: name, Owner: owner, Region: region, Created: s.now().UTC()}
	if opts.ObjectLock {
		b.ObjectLock, b.Versioning = true, meta.VersioningEnabled
	}
	err := s.meta.CreateBucket(ctx, b)
	if errors.Is(err, meta.ErrBucketExists) {
		b, gerr := s.meta.GetBucket(ctx, name)
		if gerr == nil && b.Owner == owner {
			return fmt.Errorf("creating bucket %q: %w", name, ErrBucketOwnedByYou)
		}
		return fmt.Errorf("creating bucket %q: %w", name, ErrBucketAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("creating bucket %q: %w", name, err)
	}
	return nil
}

// Bucket returns a bucket's record (ErrNoSuchBucket when missing).
func (s *Service) Bucket(ctx context.Context, name string) (meta.Bucket, error) {
	if !ValidBucketName(name) {
		// Names that can never exist are simply missing; no store round trip.
		return meta.Bucket{}, fmt.Errorf("getting bucket %q: %w", name, ErrNoSuchBucket)
	}
	b, err := s.meta.GetBucket(ctx, name)
	if err != nil {
		return meta.Bucket{}, fmt.Errorf("getting bucket %q: %w", name, err)
	}
	return b, nil
}

// Buckets lists every bucket ordered by name.
func (s *Service) Buckets(ctx context.Context) ([]meta.Bucket, error) {
	bs, err := s.meta.ListBuckets(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing buckets: %w", err)
	}
	return bs, nil
}

// DeleteBucket removes an empty bucket.
func (s *Service) DeleteBucket(ctx context.Context, name string) error {
	if err := s.meta.DeleteBucket(ctx, name); err != nil {
		return fmt.Errorf("deleting bucket %q: %w", name, err)
	}
	return nil
}
