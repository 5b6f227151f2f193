package metatest

import (
	"context"

	"github.com/cofferstore/coffer/internal/meta"
)

// The suite's unversioned checks call the store through these, which keep
// the shape the checks were written in: a bucket without versioning has one
// version per key, so the result of a write is the record it replaced.
// Stores' own tests may use them too.

// PutObj writes o with an optional condition and returns what it replaced.
func PutObj(s meta.Objects, ctx context.Context, o meta.Object, cond *meta.Condition) (*meta.Object, error) {
	res, err := s.PutObject(ctx, o, meta.PutOptions{Cond: cond})
	return res.Replaced, err
}

// DelObj deletes the key (no version id) and returns what left the store.
func DelObj(s meta.Objects, ctx context.Context, bucket, key string, cond *meta.Condition) (meta.Object, error) {
	res, err := s.DeleteObject(ctx, bucket, key, meta.DeleteOptions{Cond: cond})
	if res.Removed == nil {
		return meta.Object{}, err
	}
	return *res.Removed, err
}

// GetObj reads the latest version.
func GetObj(s meta.Objects, ctx context.Context, bucket, key string) (meta.Object, error) {
	return s.GetObject(ctx, bucket, key, "")
}

// CompleteUpload completes an upload and returns what it replaced.
func CompleteUpload(s meta.Uploads, ctx context.Context, bucket, key, id string, obj meta.Object, cond *meta.Condition) (*meta.Object, []meta.Part, error) {
	res, unused, err := s.CompleteUpload(ctx, bucket, key, id, obj, meta.PutOptions{Cond: cond})
	return res.Replaced, unused, err
}

// PutTags replaces the latest version's tags.
func PutTags(s meta.Objects, ctx context.Context, bucket, key string, tags map[string]string, cond *meta.Condition) error {
	_, err := s.UpdateObject(ctx, bucket, key, "", meta.UpdateOptions{Cond: cond}, func(o *meta.Object) error {
		o.Tags = tags
		return nil
	})
	return err
}
