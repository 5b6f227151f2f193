package object

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// SetVersioning turns a bucket's versioning on (meta.VersioningEnabled) or
// suspends it. A bucket with object lock cannot be suspended.
func (s *Service) SetVersioning(ctx context.Context, bucket, state string) error {
	if state != meta.VersioningEnabled && state != meta.VersioningSuspended {
		return fmt.Errorf("versioning status %q: %w", state, ErrInvalidArgument)
	}
	_, err := s.meta.UpdateBucket(ctx, bucket, func(b *meta.Bucket) error {
		if b.ObjectLock && state != meta.VersioningEnabled {
			return fmt.Errorf("suspending versioning of %q, which has object lock: %w", bucket, ErrInvalidBucketState)
		}
		b.Versioning = state
		return nil
	})
	if err != nil {
		return fmt.Errorf("setting versioning of %s: %w", bucket, err)
	}
	return nil
}

// ListObjectVersions returns one page of a bucket's versions.
func (s *Service) ListObjectVersions(ctx context.Context, bucket string, opts meta.VersionListOptions) (meta.VersionPage, error) {
	if opts.VersionIDMarker != "" && opts.KeyMarker == "" {
		return meta.VersionPage{}, fmt.Errorf("version-id-marker without key-marker: %w", ErrInvalidArgument)
	}
	p, err := s.meta.ListObjectVersions(ctx, bucket, opts)
	if err != nil {
		return meta.VersionPage{}, fmt.Errorf("listing versions of %s: %w", bucket, err)
	}
	return p, nil
}

// versionErr turns a missing version into ErrNoSuchVersion: S3 answers
// NoSuchVersion, not NoSuchKey, when a version id names nothing.
func versionErr(versionID string, err error) error {
	if versionID != "" && errors.Is(err, meta.ErrObjectNotFound) && !errors.Is(err, meta.ErrDeleteMarker) {
		return fmt.Errorf("%w: %w", ErrNoSuchVersion, err)
	}
	return err
}

// DeleteMarkerError reports that the version read is a delete marker; it
// matches ErrDeleteMarker and ErrNoSuchKey. Front ends report its version id.
type DeleteMarkerError struct {
	VersionID string
	// Modified is the marker's time: S3 sends it as Last-Modified with the
	// 405 that refuses reading a marker by version id.
	Modified time.Time
	Err      error
}

func (e *DeleteMarkerError) Error() string { return e.Err.Error() }
func (e *DeleteMarkerError) Unwrap() error { return e.Err }

// getVersion reads a version record, turning a delete marker into a
// *DeleteMarkerError and an unknown version into ErrNoSuchVersion.
func (s *Service) getVersion(ctx context.Context, bucket, key, versionID string) (meta.Object, error) {
	obj, err := s.meta.GetObject(ctx, bucket, key, versionID)
	if errors.Is(err, meta.ErrDeleteMarker) {
		return meta.Object{}, &DeleteMarkerError{VersionID: obj.VersionID, Modified: obj.Modified, Err: err}
	}
	if err != nil {
		return meta.Object{}, versionErr(versionID, err)
	}
	return obj, nil
}
