package s3api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestSDKLifecycleConfiguration: the configuration round-trips through
// the SDK, invalid ones are refused with S3's codes, and delete removes it.
func TestSDKLifecycleConfiguration(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "life")
	_, err := c.GetBucketLifecycleConfiguration(x, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("life")})
	wantCode(t, err, "NoSuchLifecycleConfiguration")

	date := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	rules := []types.LifecycleRule{
		{ID: aws.String("logs"), Status: types.ExpirationStatusEnabled,
			Filter:     &types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(30)}},
		{ID: aws.String("old"), Status: types.ExpirationStatusEnabled,
			Filter: &types.LifecycleRuleFilter{And: &types.LifecycleRuleAndOperator{Prefix: aws.String("data/"),
				Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("cold")}}, ObjectSizeGreaterThan: aws.Int64(1024)}},
			NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(7), NewerNoncurrentVersions: aws.Int32(2)}},
		{ID: aws.String("mpu"), Status: types.ExpirationStatusDisabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
			AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(3)}},
		{ID: aws.String("dated"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("tmp/")},
			Expiration: &types.LifecycleExpiration{Date: &date}},
	}
	if _, err := c.PutBucketLifecycleConfiguration(x, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("life"),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: rules}}); err != nil {
		t.Fatalf("PutBucketLifecycleConfiguration: %v", err)
	}
	got, err := c.GetBucketLifecycleConfiguration(x, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("life")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rules) != 4 {
		t.Fatalf("got %d rules, want 4", len(got.Rules))
	}
	r0, r1, r2, r3 := got.Rules[0], got.Rules[1], got.Rules[2], got.Rules[3]
	if aws.ToString(r0.ID) != "logs" || aws.ToInt32(r0.Expiration.Days) != 30 || aws.ToString(r0.Filter.Prefix) != "logs/" {
		t.Errorf("rule 0 = %+v", r0)
	}
	if a := r1.Filter.And; a == nil || aws.ToString(a.Prefix) != "data/" || len(a.Tags) != 1 || aws.ToInt64(a.ObjectSizeGreaterThan) != 1024 ||
		aws.ToInt32(r1.NoncurrentVersionExpiration.NoncurrentDays) != 7 || aws.ToInt32(r1.NoncurrentVersionExpiration.NewerNoncurrentVersions) != 2 {
		t.Errorf("rule 1 = %+v", r1)
	}
	if r2.Status != types.ExpirationStatusDisabled || aws.ToInt32(r2.AbortIncompleteMultipartUpload.DaysAfterInitiation) != 3 {
		t.Errorf("rule 2 = %+v", r2)
	}
	if r3.Expiration == nil || r3.Expiration.Date == nil || !r3.Expiration.Date.Equal(date) {
		t.Errorf("rule 3 = %+v", r3)
	}

	for name, c2 := range map[string]struct {
		rule types.LifecycleRule
		code string
		msg  string
	}{
		"zero days": {types.LifecycleRule{ID: aws.String("z"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(0)}}, "InvalidArgument", "positive integer"},
		"no action": {types.LifecycleRule{ID: aws.String("n"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")}}, "", ""},
		"transition": {types.LifecycleRule{ID: aws.String("t"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
			Transitions: []types.Transition{{Days: aws.Int32(30), StorageClass: types.TransitionStorageClassGlacier}}}, "NotImplemented", ""},
	} {
		_, err := c.PutBucketLifecycleConfiguration(x, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("life"),
			LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{c2.rule}}})
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if c2.code != "" {
			wantCode(t, err, c2.code)
		}
		if c2.msg != "" && !strings.Contains(err.Error(), c2.msg) {
			t.Errorf("%s: error %v does not say %q", name, err, c2.msg)
		}
	}
	// A refused configuration leaves the stored one alone.
	if got, err := c.GetBucketLifecycleConfiguration(x, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("life")}); err != nil || len(got.Rules) != 4 {
		t.Errorf("after refusals: %d rules, %v", len(got.Rules), err)
	}
	if _, err := c.DeleteBucketLifecycle(x, &s3.DeleteBucketLifecycleInput{Bucket: aws.String("life")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetBucketLifecycleConfiguration(x, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("life")})
	wantCode(t, err, "NoSuchLifecycleConfiguration")
	_, err = c.GetBucketLifecycleConfiguration(x, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("nosuchbucket")})
	wantCode(t, err, "NoSuchBucket")
}
