package object

import (
	"context"
	"fmt"
	"time"
)

// CollectOrphans deletes blobs that no record references and that were
// committed before grace ago, and uncommitted temp data older than that.
// They come from crashes between a blob commit and its metadata commit, or
// between a metadata commit and the release of the blob it replaced. The
// grace period protects writes in flight: a blob is referenced within
// moments of its commit.
func (s *Service) CollectOrphans(ctx context.Context, grace time.Duration) (removed int, err error) {
	cutoff := s.now().Add(-grace)
	temps, err := s.blobs.SweepTemp(ctx, cutoff)
	if err != nil {
		return 0, fmt.Errorf("sweeping temp blobs: %w", err)
	}
	err = s.blobs.Walk(ctx, func(id string, committed time.Time) error {
		if committed.After(cutoff) {
			return nil
		}
		inUse, err := s.meta.BlobInUse(ctx, id)
		if err != nil {
			return fmt.Errorf("checking blob %s: %w", id, err)
		}
		if inUse {
			return nil
		}
		if err := s.blobs.Delete(ctx, id); err != nil {
			return fmt.Errorf("deleting orphan blob %s: %w", id, err)
		}
		removed++
		return nil
	})
	if err != nil {
		return removed + temps, fmt.Errorf("collecting orphans: %w", err)
	}
	if removed+temps > 0 {
		s.log.InfoContext(ctx, "collected orphaned blobs", "blobs", removed, "temp", temps)
	}
	return removed + temps, nil
}
