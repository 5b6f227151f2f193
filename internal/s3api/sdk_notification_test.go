package s3api_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestSDKNotificationWithoutTargets: a server with no notification targets
// reports an empty configuration and refuses any that names a destination,
// saying which; an empty configuration is accepted. (Delivery to real
// targets is tested end to end in test/notify.)
func TestSDKNotificationWithoutTargets(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "quiet")
	got, err := c.GetBucketNotificationConfiguration(x, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("quiet")})
	if err != nil || len(got.QueueConfigurations)+len(got.TopicConfigurations)+len(got.LambdaFunctionConfigurations) != 0 {
		t.Fatalf("empty configuration = %+v, %v", got, err)
	}
	arn := "arn:coffer:sqs:us-east-1:hooks:webhook"
	_, err = c.PutBucketNotificationConfiguration(x, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("quiet"),
		NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{
			{QueueArn: aws.String(arn), Events: []types.Event{"s3:ObjectCreated:*"}}}}})
	wantCode(t, err, "InvalidArgument")
	if err != nil && !strings.Contains(err.Error(), arn) {
		t.Errorf("refusal %v does not name the destination", err)
	}
	_, err = c.PutBucketNotificationConfiguration(x, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("quiet"),
		NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{
			{QueueArn: aws.String(arn), Events: []types.Event{"s3:NoSuchEvent"}}}}})
	wantCode(t, err, "InvalidArgument")
	if _, err := c.PutBucketNotificationConfiguration(x, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("quiet"),
		NotificationConfiguration: &types.NotificationConfiguration{}}); err != nil {
		t.Errorf("empty configuration refused: %v", err)
	}
	_, err = c.GetBucketNotificationConfiguration(x, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("nosuchbucket")})
	wantCode(t, err, "NoSuchBucket")
}
