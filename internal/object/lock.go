package object

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// lockConfigName is the bucket config holding the default retention.
const lockConfigName = "object-lock"

// LockConfig is a bucket's object-lock configuration: whether it is on, and
// the retention given to new versions that name none.
type LockConfig struct {
	Enabled bool
	Mode    string // "", meta.LockGovernance or meta.LockCompliance
	Days    int
	Years   int
}

func (c LockConfig) validate() error {
	switch {
	case c.Mode == "" && c.Days == 0 && c.Years == 0:
		return nil
	case c.Mode != meta.LockGovernance && c.Mode != meta.LockCompliance:
		return fmt.Errorf("default retention mode %q: %w", c.Mode, ErrInvalidRetention)
	case (c.Days > 0) == (c.Years > 0) || c.Days < 0 || c.Years < 0:
		return fmt.Errorf("default retention needs exactly one positive Days or Years: %w", ErrInvalidRetention)
	case c.Days > 36500 || c.Years > 100:
		return fmt.Errorf("default retention longer than 100 years: %w", ErrInvalidRetention)
	}
	return nil
}

// until is the retain-until date of a version written at now under c.
func (c LockConfig) retention(now time.Time) meta.Retention {
	if c.Mode == "" {
		return meta.Retention{}
	}
	return meta.Retention{Mode: c.Mode, Until: now.AddDate(c.Years, 0, c.Days).UTC()}
}

// PutLockConfig sets a bucket's object-lock configuration. It turns object
// lock on for a bucket that has versioning enabled (it never turns off).
func (s *Service) PutLockConfig(ctx context.Context, bucket string, c LockConfig) error {
	if !c.Enabled {
		return fmt.Errorf("object lock can only be enabled: %w", ErrInvalidArgument)
	}
	if err := c.validate(); err != nil {
		return err
	}
	_, err := s.meta.UpdateBucket(ctx, bucket, func(b *meta.Bucket) error {
		if !b.ObjectLock && b.Versioning != meta.VersioningEnabled {
			return fmt.Errorf("object lock needs versioning enabled on %q: %w", bucket, ErrInvalidBucketState)
		}
		b.ObjectLock = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("setting object lock of %s: %w", bucket, err)
	}
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encoding object lock of %s: %w", bucket, err)
	}
	if err := s.meta.PutBucketConfig(ctx, bucket, lockConfigName, data); err != nil {
		return fmt.Errorf("setting object lock of %s: %w", bucket, err)
	}
	return nil
}

// LockConfig returns a bucket's object-lock configuration;
// ErrNoObjectLockConfig when object lock is off.
func (s *Service) LockConfig(ctx context.Context, bucket string) (LockConfig, error) {
	b, err := s.Bucket(ctx, bucket)
	if err != nil {
		return LockConfig{}, err
	}
	return s.lockConfigOf(ctx, b)
}

func (s *Service) lockConfigOf(ctx context.Context, b meta.Bucket) (LockConfig, error) {
	if !b.ObjectLock {
		return LockConfig{}, fmt.Errorf("object lock of %s: %w", b.Name, ErrNoObjectLockConfig)
	}
	c := LockConfig{Enabled: true}
	data, err := s.meta.GetBucketConfig(ctx, b.Name, lockConfigName)
	if errors.Is(err, meta.ErrConfigNotFound) {
		return c, nil
	}
	if err != nil {
		return LockConfig{}, fmt.Errorf("reading object lock of %s: %w", b.Name, err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return LockConfig{}, fmt.Errorf("decoding object lock of %s: %w", b.Name, err)
	}
	return c, nil
}

// applyLock checks the lock a writer asked for against the bucket and
// gives a version that names no retention the bucket's default.
func (s *Service) applyLock(ctx context.Context, b meta.Bucket, a *Attrs) error {
	asked := a.Retention.Mode != "" || a.LegalHold
	if !b.ObjectLock {
		if asked {
			return fmt.Errorf("object lock headers on %s: %w", b.Name, ErrNoObjectLockConfig)
		}
		return nil
	}
	if a.Retention.Mode != "" {
		return checkRetention(a.Retention, s.now())
	}
	c, err := s.lockConfigOf(ctx, b)
	if err != nil {
		return err
	}
	a.Retention = c.retention(s.now())
	return nil
}

func checkRetention(r meta.Retention, now time.Time) error {
	switch {
	case r.Mode != meta.LockGovernance && r.Mode != meta.LockCompliance:
		return fmt.Errorf("retention mode %q: %w", r.Mode, ErrInvalidRetention)
	case !r.Until.After(now):
		return fmt.Errorf("retain-until date %s is not in the future: %w", r.Until.Format(time.RFC3339), ErrInvalidRetention)
	}
	return nil
}

// RetentionInput changes a version's retention. A zero Retention removes it.
type RetentionInput struct {
	Bucket, Key, VersionID string
	Retention              meta.Retention
	// Bypass is x-amz-bypass-governance-retention, already authorized.
	Bypass bool
}

// PutRetention sets a version's retention under S3's rules: COMPLIANCE
// can only be extended; GOVERNANCE can be extended or made COMPLIANCE, and
// shortened or removed only with the bypass. It returns the version id.
func (s *Service) PutRetention(ctx context.Context, in RetentionInput) (string, error) {
	b, err := s.Bucket(ctx, in.Bucket)
	if err != nil {
		return "", err
	}
	if !b.ObjectLock {
		return "", fmt.Errorf("retention on %s: %w", in.Bucket, ErrNoObjectLockConfig)
	}
	now := s.now()
	if in.Retention.Mode != "" || !in.Retention.Until.IsZero() {
		if err := checkRetention(in.Retention, now); err != nil {
			return "", err
		}
	}
	// S3 has no event for retention or legal-hold changes, so none is
	// recorded.
	obj, err := s.meta.UpdateObject(ctx, in.Bucket, in.Key, in.VersionID, meta.UpdateOptions{}, func(o *meta.Object) error {
		old, next := o.Retention, in.Retention
		if old.Mode != "" && now.Before(old.Until) {
			weaker := next.Mode == "" || next.Until.Before(old.Until)
			switch {
			case old.Mode == meta.LockCompliance && (weaker || next.Mode != meta.LockCompliance):
				return fmt.Errorf("compliance retention of %s can only be extended: %w", in.Key, ErrRetentionDenied)
			case old.Mode == meta.LockGovernance && weaker && !in.Bypass:
				return fmt.Errorf("governance retention of %s: %w", in.Key, ErrRetentionDenied)
			}
		}
		o.Retention = next
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("setting retention of %s/%s: %w", in.Bucket, in.Key, versionErr(in.VersionID, err))
	}
	return obj.VersionID, nil
}

// Retention returns a version's retention; ErrNoSuchObjectLock when it
// has none, ErrNoObjectLockConfig when the bucket has no object lock (as
// S3 answers, whatever the version).
func (s *Service) Retention(ctx context.Context, bucket, key, versionID string) (meta.Retention, error) {
	b, err := s.Bucket(ctx, bucket)
	if err != nil {
		return meta.Retention{}, err
	}
	if !b.ObjectLock {
		return meta.Retention{}, fmt.Errorf("retention on %s: %w", bucket, ErrNoObjectLockConfig)
	}
	obj, err := s.getVersion(ctx, bucket, key, versionID)
	if err != nil {
		return meta.Retention{}, fmt.Errorf("getting retention of %s/%s: %w", bucket, key, err)
	}
	if obj.Retention.Mode == "" {
		return meta.Retention{}, fmt.Errorf("retention of %s/%s: %w", bucket, key, ErrNoSuchObjectLock)
	}
	return obj.Retention, nil
}

// PutLegalHold turns a version's legal hold on or off and returns its id.
func (s *Service) PutLegalHold(ctx context.Context, bucket, key, versionID string, on bool) (string, error) {
	b, err := s.Bucket(ctx, bucket)
	if err != nil {
		return "", err
	}
	if !b.ObjectLock {
		return "", fmt.Errorf("legal hold on %s: %w", bucket, ErrNoObjectLockConfig)
	}
	obj, err := s.meta.UpdateObject(ctx, bucket, key, versionID, meta.UpdateOptions{}, func(o *meta.Object) error {
		o.LegalHold = on
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("setting legal hold of %s/%s: %w", bucket, key, versionErr(versionID, err))
	}
	return obj.VersionID, nil
}

// LegalHold reports a version's legal hold.
func (s *Service) LegalHold(ctx context.Context, bucket, key, versionID string) (bool, error) {
	b, err := s.Bucket(ctx, bucket)
	if err != nil {
		return false, err
	}
	if !b.ObjectLock {
		return false, fmt.Errorf("legal hold on %s: %w", bucket, ErrNoObjectLockConfig)
	}
	obj, err := s.getVersion(ctx, bucket, key, versionID)
	if err != nil {
		return false, fmt.Errorf("getting legal hold of %s/%s: %w", bucket, key, err)
	}
	return obj.LegalHold, nil
}
