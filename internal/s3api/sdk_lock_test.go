package s3api_test

import (
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// The tests in this file hold Coffer to the object-lock behaviour AWS
// documents in "Locking objects with Object Lock" (retention modes, legal
// holds, bypassing governance mode), "Configuring S3 Object Lock" and the API
// reference of PutObjectLockConfiguration, PutObjectRetention,
// PutObjectLegalHold, PutObject, CopyObject, CreateMultipartUpload and
// DeleteObject(s).

func createLockBucket(t *testing.T, c *s3.Client, name string) {
	t.Helper()
	if _, err := c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(name), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatalf("CreateBucket %s with object lock: %v", name, err)
	}
}

func putLockConfig(c *s3.Client, t *testing.T, bucket string, rule *types.ObjectLockRule) error {
	_, err := c.PutObjectLockConfiguration(ctx(t), &s3.PutObjectLockConfigurationInput{Bucket: aws.String(bucket),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled, Rule: rule}})
	return err
}

func defaultRule(mode types.ObjectLockRetentionMode, days, years int32) *types.ObjectLockRule {
	dr := &types.DefaultRetention{Mode: mode}
	if days > 0 {
		dr.Days = aws.Int32(days)
	}
	if years > 0 {
		dr.Years = aws.Int32(years)
	}
	return &types.ObjectLockRule{DefaultRetention: dr}
}

// retention sets a version's retention, returning the request's error.
func retention(t *testing.T, c *s3.Client, bucket, key, vid string, mode types.ObjectLockRetentionMode, until time.Time, bypass bool) error {
	in := &s3.PutObjectRetentionInput{Bucket: aws.String(bucket), Key: aws.String(key), Retention: &types.ObjectLockRetention{}}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	if mode != "" {
		in.Retention = &types.ObjectLockRetention{Mode: mode, RetainUntilDate: aws.Time(until)}
	}
	if bypass {
		in.BypassGovernanceRetention = aws.Bool(true)
	}
	_, err := c.PutObjectRetention(ctx(t), in)
	return err
}

func getRetention(t *testing.T, c *s3.Client, bucket, key, vid string) (*types.ObjectLockRetention, error) {
	out, err := c.GetObjectRetention(ctx(t), &s3.GetObjectRetentionInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(vid)})
	if err != nil {
		return nil, err
	}
	return out.Retention, nil
}

func legalHold(t *testing.T, c *s3.Client, bucket, key, vid string, on bool) error {
	st := types.ObjectLockLegalHoldStatusOff
	if on {
		st = types.ObjectLockLegalHoldStatusOn
	}
	in := &s3.PutObjectLegalHoldInput{Bucket: aws.String(bucket), Key: aws.String(key), LegalHold: &types.ObjectLockLegalHold{Status: st}}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	_, err := c.PutObjectLegalHold(ctx(t), in)
	return err
}

func deleteVersionErr(t *testing.T, c *s3.Client, bucket, key, vid string, bypass bool) error {
	in := &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(vid)}
	if bypass {
		in.BypassGovernanceRetention = aws.Bool(true)
	}
	_, err := c.DeleteObject(ctx(t), in)
	return err
}

func wantLocked(t *testing.T, err error, what string) {
	t.Helper()
	if apiCode(err) != "AccessDenied" || statusOf(err) != http.StatusForbidden {
		t.Errorf("%s: %v, want 403 AccessDenied", what, err)
	}
}

// near reports whether got is within a minute of want.
func near(got *time.Time, want time.Time) bool {
	return got != nil && got.Sub(want).Abs() < time.Minute
}

// TestSDKObjectLockConfiguration: a bucket created with object lock has
// versioning that cannot be suspended; its default retention (Days or
// Years) is given to new versions that name none, and changing it leaves
// existing versions alone.
func TestSDKObjectLockConfiguration(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	createLockBucket(t, c, "lockcfg")
	if v, err := c.GetBucketVersioning(x, &s3.GetBucketVersioningInput{Bucket: aws.String("lockcfg")}); err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning of an object-lock bucket = %q, %v; want Enabled", v.Status, err)
	}
	_, err := c.PutBucketVersioning(x, &s3.PutBucketVersioningInput{Bucket: aws.String("lockcfg"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
	wantCode(t, err, "InvalidBucketState")
	if statusOf(err) != http.StatusConflict {
		t.Errorf("suspending an object-lock bucket: status %d, want 409", statusOf(err))
	}
	get := func() *types.ObjectLockConfiguration {
		t.Helper()
		out, err := c.GetObjectLockConfiguration(x, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("lockcfg")})
		if err != nil {
			t.Fatalf("GetObjectLockConfiguration: %v", err)
		}
		return out.ObjectLockConfiguration
	}
	if cfg := get(); cfg.ObjectLockEnabled != types.ObjectLockEnabledEnabled || cfg.Rule != nil {
		t.Errorf("configuration of a new lock bucket = %+v; want Enabled with no rule", cfg)
	}
	// Without a default, new versions have no retention.
	plain := putVersion(t, c, "lockcfg", "plain", "p")
	if h, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("lockcfg"), Key: aws.String("plain")}); err != nil ||
		h.ObjectLockMode != "" || h.ObjectLockRetainUntilDate != nil || h.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOff {
		t.Errorf("HEAD without default retention = mode %q until %v hold %q, %v", h.ObjectLockMode, h.ObjectLockRetainUntilDate, h.ObjectLockLegalHoldStatus, err)
	}
	_, err = getRetention(t, c, "lockcfg", "plain", plain)
	wantCode(t, err, "NoSuchObjectLockConfiguration")

	// Days.
	if err := putLockConfig(c, t, "lockcfg", defaultRule(types.ObjectLockRetentionModeGovernance, 3, 0)); err != nil {
		t.Fatal(err)
	}
	if cfg := get(); cfg.Rule == nil || cfg.Rule.DefaultRetention.Mode != types.ObjectLockRetentionModeGovernance ||
		aws.ToInt32(cfg.Rule.DefaultRetention.Days) != 3 || cfg.Rule.DefaultRetention.Years != nil {
		t.Errorf("configuration after setting 3 days GOVERNANCE = %+v", cfg.Rule)
	}
	start := time.Now()
	gv := putVersion(t, c, "lockcfg", "gov", "g")
	h, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("lockcfg"), Key: aws.String("gov")})
	if err != nil || h.ObjectLockMode != types.ObjectLockModeGovernance || !near(h.ObjectLockRetainUntilDate, start.AddDate(0, 0, 3)) {
		t.Errorf("HEAD under a 3-day default = mode %q until %v, %v; want GOVERNANCE until about %v", h.ObjectLockMode, h.ObjectLockRetainUntilDate, err, start.AddDate(0, 0, 3))
	}
	if r, err := getRetention(t, c, "lockcfg", "gov", gv); err != nil || r.Mode != types.ObjectLockRetentionModeGovernance || !near(r.RetainUntilDate, start.AddDate(0, 0, 3)) {
		t.Errorf("GetObjectRetention of a defaulted version = %+v, %v", r, err)
	}

	// Years, and the earlier version keeps the retention it was given.
	if err := putLockConfig(c, t, "lockcfg", defaultRule(types.ObjectLockRetentionModeCompliance, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if cfg := get(); cfg.Rule == nil || cfg.Rule.DefaultRetention.Mode != types.ObjectLockRetentionModeCompliance ||
		aws.ToInt32(cfg.Rule.DefaultRetention.Years) != 1 || cfg.Rule.DefaultRetention.Days != nil {
		t.Errorf("configuration after setting 1 year COMPLIANCE = %+v", cfg.Rule)
	}
	start = time.Now()
	putVersion(t, c, "lockcfg", "comp", "c")
	h, err = c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("lockcfg"), Key: aws.String("comp")})
	if err != nil || h.ObjectLockMode != types.ObjectLockModeCompliance || !near(h.ObjectLockRetainUntilDate, start.AddDate(1, 0, 0)) {
		t.Errorf("HEAD under a 1-year default = mode %q until %v, %v; want COMPLIANCE until about %v", h.ObjectLockMode, h.ObjectLockRetainUntilDate, err, start.AddDate(1, 0, 0))
	}
	if r, err := getRetention(t, c, "lockcfg", "gov", gv); err != nil || r.Mode != types.ObjectLockRetentionModeGovernance {
		t.Errorf("changing the default changed an existing version's retention: %+v, %v", r, err)
	}

	// Explicit headers win over the default.
	until := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	put, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("lockcfg"), Key: aws.String("explicit"), Body: strings.NewReader("e"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(until), ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
	if err != nil {
		t.Fatal(err)
	}
	h, err = c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("lockcfg"), Key: aws.String("explicit"), VersionId: put.VersionId})
	if err != nil || h.ObjectLockMode != types.ObjectLockModeGovernance || h.ObjectLockRetainUntilDate == nil || !h.ObjectLockRetainUntilDate.Equal(until) ||
		h.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn {
		t.Errorf("HEAD with explicit lock headers = mode %q until %v hold %q, %v; want GOVERNANCE until %v, ON",
			h.ObjectLockMode, h.ObjectLockRetainUntilDate, h.ObjectLockLegalHoldStatus, err, until)
	}
	get2, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("lockcfg"), Key: aws.String("explicit")})
	if err != nil {
		t.Fatal(err)
	}
	get2.Body.Close()
	if get2.ObjectLockMode != types.ObjectLockModeGovernance || get2.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn {
		t.Errorf("GET with explicit lock headers = mode %q hold %q", get2.ObjectLockMode, get2.ObjectLockLegalHoldStatus)
	}
	if lh, err := c.GetObjectLegalHold(x, &s3.GetObjectLegalHoldInput{Bucket: aws.String("lockcfg"), Key: aws.String("explicit")}); err != nil ||
		lh.LegalHold.Status != types.ObjectLockLegalHoldStatusOn {
		t.Errorf("GetObjectLegalHold after a PUT with the header = %+v, %v", lh, err)
	}

	// Removing the rule: object lock stays on, new versions get nothing.
	if err := putLockConfig(c, t, "lockcfg", nil); err != nil {
		t.Fatal(err)
	}
	if cfg := get(); cfg.ObjectLockEnabled != types.ObjectLockEnabledEnabled || cfg.Rule != nil {
		t.Errorf("configuration after removing the rule = %+v", cfg)
	}
	putVersion(t, c, "lockcfg", "after", "a")
	if h, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("lockcfg"), Key: aws.String("after")}); err != nil || h.ObjectLockMode != "" {
		t.Errorf("HEAD after removing the default = mode %q, %v", h.ObjectLockMode, err)
	}

	// Invalid configurations are refused and change nothing.
	for name, rule := range map[string]*types.ObjectLockRule{
		"days and years": {DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1), Years: aws.Int32(1)}},
		"no period":      {DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance}},
		"zero days":      defaultRule(types.ObjectLockRetentionModeGovernance, 0, 0),
		"negative days":  {DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(-1)}},
		"unknown mode":   defaultRule("FOREVER", 1, 0),
		"no mode":        {DefaultRetention: &types.DefaultRetention{Days: aws.Int32(1)}},
	} {
		err := putLockConfig(c, t, "lockcfg", rule)
		if statusOf(err) != http.StatusBadRequest {
			t.Errorf("%s: %v, want 400", name, err)
		}
	}
	if cfg := get(); cfg.Rule != nil {
		t.Errorf("a refused configuration was stored: %+v", cfg.Rule)
	}
	_, err = c.PutObjectLockConfiguration(x, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("lockcfg"),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{}})
	wantCode(t, err, "MalformedXML")
}

// TestSDKObjectLockOnBucketsWithoutIt: every object-lock request on a bucket
// without object lock is refused, and PutObjectLockConfiguration turns it
// on for an existing bucket only once versioning is enabled.
func TestSDKObjectLockOnBucketsWithoutIt(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "nolock")
	putBody(t, c, "nolock", "k", "v")
	until := time.Now().Add(time.Hour)

	_, err := c.GetObjectLockConfiguration(x, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("nolock")})
	wantCode(t, err, "ObjectLockConfigurationNotFoundError")
	if statusOf(err) != http.StatusNotFound {
		t.Errorf("GetObjectLockConfiguration without lock: status %d, want 404", statusOf(err))
	}
	_, err = c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("nolock"), Key: aws.String("l"), Body: strings.NewReader("x"),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(until)})
	wantCode(t, err, "InvalidRequest")
	_, err = c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("nolock"), Key: aws.String("l"), Body: strings.NewReader("x"),
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
	wantCode(t, err, "InvalidRequest")
	_, err = c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("nolock"), Key: aws.String("l"), CopySource: aws.String("nolock/k"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(until)})
	wantCode(t, err, "InvalidRequest")
	_, err = c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("nolock"), Key: aws.String("l"),
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
	wantCode(t, err, "InvalidRequest")
	if l, err := c.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("nolock")}); err != nil || len(l.Contents) != 1 {
		t.Errorf("refused lock writes left objects behind: %+v, %v", l, err)
	}
	wantCode(t, retention(t, c, "nolock", "k", "", types.ObjectLockRetentionModeGovernance, until, false), "InvalidRequest")
	wantCode(t, legalHold(t, c, "nolock", "k", "", true), "InvalidRequest")
	_, err = c.GetObjectRetention(x, &s3.GetObjectRetentionInput{Bucket: aws.String("nolock"), Key: aws.String("k")})
	wantCode(t, err, "InvalidRequest")
	_, err = c.GetObjectLegalHold(x, &s3.GetObjectLegalHoldInput{Bucket: aws.String("nolock"), Key: aws.String("k")})
	wantCode(t, err, "InvalidRequest")
	// Retention and legal hold are never given to a version outside object
	// lock, so HEAD shows none.
	if h, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("nolock"), Key: aws.String("k")}); err != nil ||
		h.ObjectLockMode != "" || h.ObjectLockLegalHoldStatus != "" {
		t.Errorf("HEAD in a bucket without lock shows lock headers: %q %q, %v", h.ObjectLockMode, h.ObjectLockLegalHoldStatus, err)
	}

	// Enabling object lock on an existing bucket needs versioning first.
	err = putLockConfig(c, t, "nolock", nil)
	wantCode(t, err, "InvalidBucketState")
	setVersioning(t, c, "nolock", types.BucketVersioningStatusSuspended)
	wantCode(t, putLockConfig(c, t, "nolock", nil), "InvalidBucketState")
	setVersioning(t, c, "nolock", types.BucketVersioningStatusEnabled)
	if err := putLockConfig(c, t, "nolock", defaultRule(types.ObjectLockRetentionModeGovernance, 1, 0)); err != nil {
		t.Fatalf("enabling object lock on a versioned bucket: %v", err)
	}
	if out, err := c.GetObjectLockConfiguration(x, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("nolock")}); err != nil ||
		out.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled || out.ObjectLockConfiguration.Rule == nil {
		t.Errorf("configuration after enabling on an existing bucket: %+v, %v", out, err)
	}
	_, err = c.PutBucketVersioning(x, &s3.PutBucketVersioningInput{Bucket: aws.String("nolock"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
	wantCode(t, err, "InvalidBucketState")
	// The object from before has no retention; new ones get the default,
	// and the old one can now be given a legal hold.
	if _, err := getRetention(t, c, "nolock", "k", "null"); apiCode(err) != "NoSuchObjectLockConfiguration" {
		t.Errorf("retention of a version from before object lock: %v, want NoSuchObjectLockConfiguration", err)
	}
	putVersion(t, c, "nolock", "new", "n")
	if h, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("nolock"), Key: aws.String("new")}); err != nil || h.ObjectLockMode != types.ObjectLockModeGovernance {
		t.Errorf("default retention after enabling lock on an existing bucket: mode %q, %v", h.ObjectLockMode, err)
	}
	if err := legalHold(t, c, "nolock", "k", "null", true); err != nil {
		t.Fatalf("legal hold on the null version: %v", err)
	}
	wantLocked(t, deleteVersionErr(t, c, "nolock", "k", "null", true), "deleting a null version under legal hold")
}

// TestSDKObjectRetentionRules: COMPLIANCE can only be extended; GOVERNANCE
// can be extended by anyone allowed to set retention, and shortened or
// removed only with x-amz-bypass-governance-retention.
func TestSDKObjectRetentionRules(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	createLockBucket(t, c, "rules")
	vid := putVersion(t, c, "rules", "k", "data")
	base := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	gov, comp := types.ObjectLockRetentionModeGovernance, types.ObjectLockRetentionModeCompliance
	wantRetention := func(mode types.ObjectLockRetentionMode, until time.Time) {
		t.Helper()
		r, err := getRetention(t, c, "rules", "k", vid)
		if err != nil || r.Mode != mode || r.RetainUntilDate == nil || !r.RetainUntilDate.Equal(until) {
			t.Errorf("retention = %+v, %v; want %s until %v", r, err, mode, until)
		}
	}

	if err := retention(t, c, "rules", "k", vid, gov, base, false); err != nil {
		t.Fatalf("setting GOVERNANCE: %v", err)
	}
	wantRetention(gov, base)
	if err := retention(t, c, "rules", "k", vid, gov, base.Add(time.Hour), false); err != nil {
		t.Errorf("extending GOVERNANCE: %v", err)
	}
	wantRetention(gov, base.Add(time.Hour))
	wantLocked(t, retention(t, c, "rules", "k", vid, gov, base, false), "shortening GOVERNANCE without the bypass")
	wantRetention(gov, base.Add(time.Hour))
	if err := retention(t, c, "rules", "k", vid, gov, base, true); err != nil {
		t.Errorf("shortening GOVERNANCE with the bypass: %v", err)
	}
	wantRetention(gov, base)
	wantLocked(t, retention(t, c, "rules", "k", vid, "", time.Time{}, false), "removing GOVERNANCE without the bypass")
	wantRetention(gov, base)
	if err := retention(t, c, "rules", "k", vid, "", time.Time{}, true); err != nil {
		t.Errorf("removing GOVERNANCE with the bypass: %v", err)
	}
	_, err := getRetention(t, c, "rules", "k", vid)
	wantCode(t, err, "NoSuchObjectLockConfiguration")

	if err := retention(t, c, "rules", "k", vid, comp, base, false); err != nil {
		t.Fatalf("setting COMPLIANCE: %v", err)
	}
	wantRetention(comp, base)
	if err := retention(t, c, "rules", "k", vid, comp, base.Add(2*time.Hour), false); err != nil {
		t.Errorf("extending COMPLIANCE: %v", err)
	}
	wantRetention(comp, base.Add(2*time.Hour))
	wantLocked(t, retention(t, c, "rules", "k", vid, comp, base, true), "shortening COMPLIANCE, even with the bypass")
	wantLocked(t, retention(t, c, "rules", "k", vid, gov, base.Add(3*time.Hour), true), "turning COMPLIANCE into GOVERNANCE")
	wantLocked(t, retention(t, c, "rules", "k", vid, "", time.Time{}, true), "removing COMPLIANCE")
	wantRetention(comp, base.Add(2*time.Hour))

	// Without versionId the current version is meant.
	if err := retention(t, c, "rules", "k", "", comp, base.Add(4*time.Hour), false); err != nil {
		t.Errorf("extending the current version's retention: %v", err)
	}
	wantRetention(comp, base.Add(4*time.Hour))

	// A retain-until date in the past, an unknown mode and a missing date
	// are invalid.
	other := putVersion(t, c, "rules", "other", "o")
	wantCode(t, retention(t, c, "rules", "other", other, gov, time.Now().Add(-time.Hour), false), "InvalidArgument")
	if err := retention(t, c, "rules", "other", other, "FOREVER", base, false); statusOf(err) != http.StatusBadRequest {
		t.Errorf("unknown retention mode: %v, want 400", err)
	}
	_, err = c.PutObjectRetention(x, &s3.PutObjectRetentionInput{Bucket: aws.String("rules"), Key: aws.String("other"), VersionId: aws.String(other),
		Retention: &types.ObjectLockRetention{Mode: gov}})
	if statusOf(err) != http.StatusBadRequest {
		t.Errorf("retention without a date: %v, want 400", err)
	}
	_, err = getRetention(t, c, "rules", "other", other)
	wantCode(t, err, "NoSuchObjectLockConfiguration")
	// Unknown versions are NoSuchVersion.
	wantCode(t, retention(t, c, "rules", "k", "null", gov, base, false), "NoSuchVersion")
	wantCode(t, legalHold(t, c, "rules", "k", "null", true), "NoSuchVersion")

	// Legal hold is independent of retention and can be turned off by
	// anyone allowed to set it.
	for _, on := range []bool{true, false, true} {
		if err := legalHold(t, c, "rules", "other", other, on); err != nil {
			t.Fatalf("legal hold %v: %v", on, err)
		}
		want := types.ObjectLockLegalHoldStatusOff
		if on {
			want = types.ObjectLockLegalHoldStatusOn
		}
		lh, err := c.GetObjectLegalHold(x, &s3.GetObjectLegalHoldInput{Bucket: aws.String("rules"), Key: aws.String("other"), VersionId: aws.String(other)})
		if err != nil || lh.LegalHold.Status != want {
			t.Errorf("legal hold after setting %v = %+v, %v", on, lh, err)
		}
	}
}

// TestSDKLockedVersionDeletes: a protected version cannot be removed by
// DeleteObject or DeleteObjects; a DELETE without a version id only adds a
// marker; the bypass header opens GOVERNANCE only; protection ends with the
// retain-until date.
func TestSDKLockedVersionDeletes(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	createLockBucket(t, c, "locked")
	until := time.Now().Add(time.Hour)
	lockedPut := func(key string, mode types.ObjectLockMode, hold bool) string {
		t.Helper()
		in := &s3.PutObjectInput{Bucket: aws.String("locked"), Key: aws.String(key), Body: strings.NewReader(key)}
		if mode != "" {
			in.ObjectLockMode, in.ObjectLockRetainUntilDate = mode, aws.Time(until)
		}
		if hold {
			in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn
		}
		out, err := c.PutObject(x, in)
		if err != nil {
			t.Fatalf("PUT %s: %v", key, err)
		}
		return aws.ToString(out.VersionId)
	}
	comp := lockedPut("comp", types.ObjectLockModeCompliance, false)
	gov := lockedPut("gov", types.ObjectLockModeGovernance, false)
	hold := lockedPut("hold", "", true)
	govHold := lockedPut("govhold", types.ObjectLockModeGovernance, true)

	wantLocked(t, deleteVersionErr(t, c, "locked", "comp", comp, false), "deleting a COMPLIANCE version")
	wantLocked(t, deleteVersionErr(t, c, "locked", "comp", comp, true), "deleting a COMPLIANCE version with the bypass")
	wantLocked(t, deleteVersionErr(t, c, "locked", "gov", gov, false), "deleting a GOVERNANCE version without the bypass")
	wantLocked(t, deleteVersionErr(t, c, "locked", "hold", hold, false), "deleting a version under legal hold")
	wantLocked(t, deleteVersionErr(t, c, "locked", "hold", hold, true), "deleting a version under legal hold with the bypass")
	wantLocked(t, deleteVersionErr(t, c, "locked", "govhold", govHold, true), "deleting a GOVERNANCE version under legal hold with the bypass")
	for key, vid := range map[string]string{"comp": comp, "gov": gov, "hold": hold, "govhold": govHold} {
		if got, err := readVersion(t, c, "locked", key, vid); err != nil || got != key {
			t.Errorf("%s@%s after refused deletes = %q, %v", key, vid, got, err)
		}
	}

	// DELETE without a version id adds a marker over any lock; the locked
	// version stays readable by id.
	for _, key := range []string{"comp", "hold"} {
		d := deleteKey(t, c, "locked", key)
		if !aws.ToBool(d.DeleteMarker) {
			t.Errorf("DELETE of locked %s without versionId = %+v; want a marker", key, d)
		}
		// The marker itself is not locked.
		if err := deleteVersionErr(t, c, "locked", key, aws.ToString(d.VersionId), false); err != nil {
			t.Errorf("removing the marker over locked %s: %v", key, err)
		}
	}
	// Overwriting a locked key adds a version; the locked one stays.
	putVersion(t, c, "locked", "comp", "newer")
	if got, err := readVersion(t, c, "locked", "comp", comp); err != nil || got != "comp" {
		t.Errorf("locked version after an overwrite = %q, %v", got, err)
	}

	if err := deleteVersionErr(t, c, "locked", "gov", gov, true); err != nil {
		t.Errorf("deleting a GOVERNANCE version with the bypass: %v", err)
	}
	_, err := readVersion(t, c, "locked", "gov", gov)
	wantCode(t, err, "NoSuchVersion")
	if err := legalHold(t, c, "locked", "hold", hold, false); err != nil {
		t.Fatal(err)
	}
	if err := deleteVersionErr(t, c, "locked", "hold", hold, false); err != nil {
		t.Errorf("deleting after the legal hold was lifted: %v", err)
	}

	// DeleteObjects decides each version on its own.
	gov2 := lockedPut("gov2", types.ObjectLockModeGovernance, false)
	free := putVersion(t, c, "locked", "free", "f")
	batch := func(bypass bool) *s3.DeleteObjectsOutput {
		t.Helper()
		in := &s3.DeleteObjectsInput{Bucket: aws.String("locked"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
			{Key: aws.String("comp"), VersionId: aws.String(comp)},
			{Key: aws.String("gov2"), VersionId: aws.String(gov2)},
			{Key: aws.String("free"), VersionId: aws.String(free)},
		}}}
		if bypass {
			in.BypassGovernanceRetention = aws.Bool(true)
		}
		out, err := c.DeleteObjects(x, in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	out := batch(false)
	failed := map[string]string{}
	for _, e := range out.Errors {
		failed[aws.ToString(e.Key)] = aws.ToString(e.Code)
		if aws.ToString(e.VersionId) == "" {
			t.Errorf("error entry for %s lacks its VersionId", aws.ToString(e.Key))
		}
	}
	if failed["comp"] != "AccessDenied" || failed["gov2"] != "AccessDenied" || len(out.Deleted) != 1 || aws.ToString(out.Deleted[0].Key) != "free" {
		t.Errorf("DeleteObjects without the bypass: errors %v, deleted %d; want comp and gov2 denied, free deleted", failed, len(out.Deleted))
	}
	out = batch(true)
	failed = map[string]string{}
	for _, e := range out.Errors {
		failed[aws.ToString(e.Key)] = aws.ToString(e.Code)
	}
	deleted := map[string]bool{}
	for _, d := range out.Deleted {
		deleted[aws.ToString(d.Key)] = true
	}
	if failed["comp"] != "AccessDenied" || len(failed) != 1 || !deleted["gov2"] {
		t.Errorf("DeleteObjects with the bypass: errors %v, deleted %v; want only comp denied", failed, deleted)
	}

	// Protection ends at the retain-until date.
	short := time.Now().Add(1500 * time.Millisecond)
	out2, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("locked"), Key: aws.String("short"), Body: strings.NewReader("s"),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(short)})
	if err != nil {
		t.Fatal(err)
	}
	wantLocked(t, deleteVersionErr(t, c, "locked", "short", aws.ToString(out2.VersionId), false), "deleting before the retain-until date")
	time.Sleep(time.Until(short) + 500*time.Millisecond)
	if err := deleteVersionErr(t, c, "locked", "short", aws.ToString(out2.VersionId), false); err != nil {
		t.Errorf("deleting after the retain-until date passed: %v", err)
	}

	// The bucket cannot be deleted while a locked version is in it.
	_, err = c.DeleteBucket(x, &s3.DeleteBucketInput{Bucket: aws.String("locked")})
	wantCode(t, err, "BucketNotEmpty")
	if got, err := readVersion(t, c, "locked", "comp", comp); err != nil || got != "comp" {
		t.Errorf("COMPLIANCE version after every attempt = %q, %v", got, err)
	}
}

// TestSDKLockHeadersOnCopyAndMultipart: CopyObject and
// CreateMultipartUpload take the object-lock headers as PutObject does, and
// a copy never inherits its source's lock.
func TestSDKLockHeadersOnCopyAndMultipart(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	createLockBucket(t, c, "lockcp")
	until := time.Now().Add(3 * time.Hour).UTC().Truncate(time.Second)
	src, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("lockcp"), Key: aws.String("src"), Body: strings.NewReader("source"),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(until), ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
	if err != nil {
		t.Fatal(err)
	}
	head := func(key string) *s3.HeadObjectOutput {
		t.Helper()
		h, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("lockcp"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("HEAD %s: %v", key, err)
		}
		return h
	}
	if _, err := c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("lockcp"), Key: aws.String("plain-copy"), CopySource: aws.String("lockcp/src")}); err != nil {
		t.Fatal(err)
	}
	if h := head("plain-copy"); h.ObjectLockMode != "" || h.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOff {
		t.Errorf("a copy inherited its source's lock: mode %q hold %q", h.ObjectLockMode, h.ObjectLockLegalHoldStatus)
	}
	cp, err := c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("lockcp"), Key: aws.String("locked-copy"),
		CopySource:     aws.String("lockcp/src?versionId=" + aws.ToString(src.VersionId)),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(until), ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
	if err != nil {
		t.Fatal(err)
	}
	if h := head("locked-copy"); h.ObjectLockMode != types.ObjectLockModeGovernance || h.ObjectLockRetainUntilDate == nil ||
		!h.ObjectLockRetainUntilDate.Equal(until) || h.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn {
		t.Errorf("copy with lock headers: mode %q until %v hold %q", h.ObjectLockMode, h.ObjectLockRetainUntilDate, h.ObjectLockLegalHoldStatus)
	}
	wantLocked(t, deleteVersionErr(t, c, "lockcp", "locked-copy", aws.ToString(cp.VersionId), true), "deleting a copy under legal hold")

	cr, err := c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("lockcp"), Key: aws.String("mpu"),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(until)})
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("lockcp"), Key: aws.String("mpu"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: uploadParts(t, c, "lockcp", "mpu", aws.ToString(cr.UploadId), "", []byte("part"))}})
	if err != nil {
		t.Fatal(err)
	}
	if h := head("mpu"); h.ObjectLockMode != types.ObjectLockModeCompliance || h.ObjectLockRetainUntilDate == nil || !h.ObjectLockRetainUntilDate.Equal(until) {
		t.Errorf("multipart object with lock headers: mode %q until %v", h.ObjectLockMode, h.ObjectLockRetainUntilDate)
	}
	wantLocked(t, deleteVersionErr(t, c, "lockcp", "mpu", aws.ToString(done.VersionId), true), "deleting a COMPLIANCE multipart object")

	// Under a default retention, a copy and a multipart upload that name no
	// lock get the default, like a PUT.
	if err := putLockConfig(c, t, "lockcp", defaultRule(types.ObjectLockRetentionModeGovernance, 5, 0)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("lockcp"), Key: aws.String("default-copy"), CopySource: aws.String("lockcp/src")}); err != nil {
		t.Fatal(err)
	}
	if h := head("default-copy"); h.ObjectLockMode != types.ObjectLockModeGovernance || !near(h.ObjectLockRetainUntilDate, start.AddDate(0, 0, 5)) {
		t.Errorf("copy under a default retention: mode %q until %v; want GOVERNANCE until about %v", h.ObjectLockMode, h.ObjectLockRetainUntilDate, start.AddDate(0, 0, 5))
	}
	cr, err = c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("lockcp"), Key: aws.String("default-mpu")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("lockcp"), Key: aws.String("default-mpu"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: uploadParts(t, c, "lockcp", "default-mpu", aws.ToString(cr.UploadId), "", []byte("part"))}}); err != nil {
		t.Fatal(err)
	}
	if h := head("default-mpu"); h.ObjectLockMode != types.ObjectLockModeGovernance || !near(h.ObjectLockRetainUntilDate, start.AddDate(0, 0, 5)) {
		t.Errorf("multipart object under a default retention: mode %q until %v", h.ObjectLockMode, h.ObjectLockRetainUntilDate)
	}

	// Malformed lock headers.
	for name, mutate := range map[string]func(*http.Request){
		"mode without date": func(r *http.Request) { r.Header.Set("X-Amz-Object-Lock-Mode", "GOVERNANCE") },
		"date without mode": func(r *http.Request) { r.Header.Set("X-Amz-Object-Lock-Retain-Until-Date", until.Format(time.RFC3339)) },
		"unknown mode": func(r *http.Request) {
			r.Header.Set("X-Amz-Object-Lock-Mode", "FOREVER")
			r.Header.Set("X-Amz-Object-Lock-Retain-Until-Date", until.Format(time.RFC3339))
		},
		"bad date": func(r *http.Request) {
			r.Header.Set("X-Amz-Object-Lock-Mode", "GOVERNANCE")
			r.Header.Set("X-Amz-Object-Lock-Retain-Until-Date", "tomorrow")
		},
		"past date": func(r *http.Request) {
			r.Header.Set("X-Amz-Object-Lock-Mode", "GOVERNANCE")
			r.Header.Set("X-Amz-Object-Lock-Retain-Until-Date", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
		},
		"bad legal hold": func(r *http.Request) { r.Header.Set("X-Amz-Object-Lock-Legal-Hold", "MAYBE") },
	} {
		resp, e, _ := do(t, signedRequest(t, http.MethodPut, ts.URL+"/lockcp/bad", []byte("b"), time.Now(), mutate))
		if resp.StatusCode != http.StatusBadRequest || e.Code != "InvalidArgument" {
			t.Errorf("%s: %d %s, want 400 InvalidArgument", name, resp.StatusCode, e.Code)
		}
	}
	if _, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("lockcp"), Key: aws.String("bad")}); statusOf(err) != http.StatusNotFound {
		t.Errorf("a refused PUT left an object: %v", err)
	}
}

// TestLockBodiesAreVerified: the object-lock and versioning configuration
// bodies carry Content-MD5 (required by PutObjectLockConfiguration,
// PutObjectRetention and PutObjectLegalHold); one that does not match the
// body is refused with BadDigest and changes nothing.
func TestLockBodiesAreVerified(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	createLockBucket(t, c, "digest")
	vid := putVersion(t, c, "digest", "k", "v")
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	wrongMD5 := func(r *http.Request) { r.Header.Set("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==") } // MD5 of ""
	for _, tc := range []struct{ name, path, body string }{
		{"PutObjectRetention", "/digest/k?retention&versionId=" + vid, `<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>` + until + `</RetainUntilDate></Retention>`},
		{"PutObjectLegalHold", "/digest/k?legal-hold&versionId=" + vid, `<LegalHold><Status>ON</Status></LegalHold>`},
		{"PutObjectLockConfiguration", "/digest?object-lock", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>`},
		{"PutBucketVersioning", "/digest?versioning", `<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`},
	} {
		resp, e, _ := do(t, signedRequest(t, http.MethodPut, ts.URL+tc.path, []byte(tc.body), time.Now(), wrongMD5))
		if resp.StatusCode != http.StatusBadRequest || e.Code != "BadDigest" {
			t.Errorf("%s with a wrong Content-MD5: %d %s, want 400 BadDigest", tc.name, resp.StatusCode, e.Code)
		}
		if tc.name == "PutObjectRetention" {
			if _, err := getRetention(t, c, "digest", "k", vid); apiCode(err) != "NoSuchObjectLockConfiguration" {
				t.Errorf("a refused retention was applied: %v", err)
			}
		}
		sum := md5.Sum([]byte(tc.body))
		rightMD5 := func(r *http.Request) { r.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:])) }
		resp, e, _ = do(t, signedRequest(t, http.MethodPut, ts.URL+tc.path, []byte(tc.body), time.Now(), rightMD5))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s with the right Content-MD5: %d %s", tc.name, resp.StatusCode, e.Code)
		}
	}
}
