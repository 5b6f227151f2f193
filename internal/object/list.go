package object

import (
	"context"
	"fmt"

	"github.com/cofferstore/coffer/internal/meta"
)

// MaxListKeys is the largest page S3 returns.
const MaxListKeys = 1000

// ListObjects returns one page of a bucket's current objects. Limit is
// clamped to 1..MaxListKeys; a limit of 0 asks for an empty page, which S3
// answers without reading the index.
func (s *Service) ListObjects(ctx context.Context, bucket string, opts meta.ListOptions) (meta.ListPage, error) {
	if opts.Limit == 0 {
		if _, err := s.Bucket(ctx, bucket); err != nil {
			return meta.ListPage{}, err
		}
		return meta.ListPage{}, nil
	}
	if opts.Limit < 0 || opts.Limit > MaxListKeys {
		opts.Limit = MaxListKeys
	}
	page, err := s.meta.ListObjects(ctx, bucket, opts)
	if err != nil {
		return meta.ListPage{}, fmt.Errorf("listing %s: %w", bucket, err)
	}
	return page, nil
}
