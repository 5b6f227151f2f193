// Package lifecycle_test runs the built binary with lifecycle days shortened
// to a second and checks that rules put through the S3 API are applied by
// the background worker: the setting, the job and its health report are
// wired end to end.
package lifecycle_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cofferstore/coffer/test/coffertest"
)

func TestLifecycleWorkerExpiresObjects(t *testing.T) {
	bin := coffertest.Build(t)
	srv := coffertest.Start(t, bin, coffertest.Options{Env: []string{
		"COFFER_LIFECYCLE_DAY=1s", "COFFER_LIFECYCLE_INTERVAL=1s"}})
	c := s3.New(s3.Options{Region: coffertest.Region, BaseEndpoint: aws.String(srv.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(coffertest.AccessKey, coffertest.SecretKey, "")})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("aging")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("aging"),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
			ID: aws.String("tmp"), Status: types.ExpirationStatusEnabled,
			Filter:     &types.LifecycleRuleFilter{Prefix: aws.String("tmp/")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(2)}}}}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tmp/a", "tmp/b", "keep/a"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("aging"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("aging")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Contents) == 1 && aws.ToString(out.Contents[0].Key) == "keep/a" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s of 1s lifecycle days, objects left: %d (want only keep/a)", len(out.Contents))
		}
		time.Sleep(250 * time.Millisecond)
	}
	h, err := srv.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w, ok := h.Worker("lifecycle")
	if !ok || w.Runs == 0 || w.LastError != "" || !strings.Contains(w.Progress, `"scanned"`) {
		t.Errorf("lifecycle worker health = %+v (listed %v)", w, ok)
	}
	if !strings.Contains(srv.Log(), "lifecycle days are shortened") {
		t.Error("the server did not warn that lifecycle days are shortened")
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("aging"), Key: aws.String("tmp/a")})
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("HEAD of an expired object: %v, want 404", err)
	}
}
