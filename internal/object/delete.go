package object

import (
	"context"
	"errors"
	"fmt"

	"github.com/cofferstore/coffer/internal/meta"
)

// DeleteInput is a DeleteObject request.
type DeleteInput struct {
	Bucket, Key string
	// VersionID removes that version permanently; "" deletes the key as
	// the bucket's versioning says (see meta.DeleteOptions).
	VersionID string
	// Bypass is x-amz-bypass-governance-retention, already authorized.
	Bypass bool
	Cond   *meta.Condition
	// Lifecycle marks a delete made by a lifecycle rule, for its events.
	Lifecycle bool
}

// DeleteResult reports what a delete did.
type DeleteResult struct {
	VersionID    string // of the version removed or the marker created
	DeleteMarker bool
}

// DeleteObject removes a key or a version. Deleting a missing key succeeds,
// as in S3; a missing bucket is ErrNoSuchBucket; a locked version is
// ErrObjectLocked.
func (s *Service) DeleteObject(ctx context.Context, in DeleteInput) (DeleteResult, error) {
	n, err := s.deleteNotice(ctx, in)
	if err != nil {
		return DeleteResult{}, err
	}
	res, err := s.meta.DeleteObject(ctx, in.Bucket, in.Key, meta.DeleteOptions{
		VersionID: in.VersionID, Cond: in.Cond, BypassGovernance: in.Bypass, Notice: n})
	if errors.Is(err, meta.ErrObjectNotFound) {
		return DeleteResult{VersionID: in.VersionID}, nil
	}
	if err != nil {
		if errors.Is(err, meta.ErrPreconditionFailed) && in.Cond != nil && in.Cond.IfMatch != "" {
			err = s.missingAsNoSuchKey(ctx, in.Bucket, in.Key, err)
		}
		return DeleteResult{}, fmt.Errorf("deleting %s/%s: %w", in.Bucket, in.Key, err)
	}
	s.committed(n)
	if res.Removed != nil {
		s.release(ctx, res.Removed.BlobIDs())
	}
	return DeleteResult{VersionID: res.VersionID, DeleteMarker: res.DeleteMarker}, nil
}

// deleteNotice picks the event a delete causes: a delete without a version
// id in a bucket that has had versioning creates a marker.
func (s *Service) deleteNotice(ctx context.Context, in DeleteInput) (*meta.Notice, error) {
	if s.router == nil {
		return nil, nil
	}
	name := EventDelete
	if in.VersionID == "" {
		b, err := s.Bucket(ctx, in.Bucket)
		if err != nil {
			return nil, err
		}
		if b.Versioning != "" {
			name = EventDeleteMarker
		}
	}
	if in.Lifecycle {
		if name == EventDeleteMarker {
			name = EventLifecycleDeleteMarker
		} else {
			name = EventLifecycleDelete
		}
	}
	return s.notice(ctx, in.Bucket, in.Key, name)
}
