package object

import (
	"context"
	"errors"
	"fmt"

	"github.com/cofferstore/coffer/internal/meta"
)

// DeleteObject removes a key. Deleting a missing key succeeds, as in S3;
// a missing bucket is ErrNoSuchBucket.
func (s *Service) DeleteObject(ctx context.Context, bucket, key string) error {
	obj, err := s.meta.DeleteObject(ctx, bucket, key, nil)
	if errors.Is(err, meta.ErrObjectNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting %s/%s: %w", bucket, key, err)
	}
	s.release(ctx, obj.BlobIDs())
	return nil
}
