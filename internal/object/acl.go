package object

import (
	"context"
	"errors"
	"fmt"

	"github.com/cofferstore/coffer/internal/meta"
)

// Object ACLs are stored with each version (meta.Object.ACL), encoded by
// iam: the object service keeps them without reading them, so that the
// decision stays in iam.Authorize and every front end shares one
// encoding.

// ObjectACL returns a version's stored ACL (nil when none was set: the
// bucket's owner owns it and alone has access) and its id; versionID ""
// means the latest. Missing versions and delete markers fail as for
// ObjectTags.
func (s *Service) ObjectACL(ctx context.Context, bucket, key, versionID string) ([]byte, string, error) {
	obj, err := s.getVersion(ctx, bucket, key, versionID)
	if err != nil {
		return nil, "", fmt.Errorf("getting the ACL of %s/%s: %w", bucket, key, err)
	}
	return obj.ACL, obj.VersionID, nil
}

// PutObjectACL replaces a version's ACL (the latest when versionID is "")
// with what fn returns given the current one (nil restores the default),
// atomically: fn sees the ACL as of the commit, so a decision that
// depends on it (such as who owns the object) cannot be overtaken by a
// concurrent change. An error from fn aborts and is returned as is.
// Returns the version's id.
func (s *Service) PutObjectACL(ctx context.Context, bucket, key, versionID string, fn func(current []byte) ([]byte, error)) (string, error) {
	var fnErr error
	obj, err := s.meta.UpdateObject(ctx, bucket, key, versionID, meta.UpdateOptions{}, func(o *meta.Object) error {
		acl, err := fn(o.ACL)
		if err != nil {
			fnErr = err
			return err
		}
		o.ACL = acl
		return nil
	})
	if err != nil {
		if fnErr != nil {
			return "", fnErr
		}
		if errors.Is(err, meta.ErrDeleteMarker) {
			err = &DeleteMarkerError{VersionID: obj.VersionID, Modified: obj.Modified, Err: err}
		}
		return "", fmt.Errorf("setting the ACL of %s/%s: %w", bucket, key, versionErr(versionID, err))
	}
	return obj.VersionID, nil
}
