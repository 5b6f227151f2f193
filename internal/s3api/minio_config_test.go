package s3api_test

import (
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/cors"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
	"github.com/minio/minio-go/v7/pkg/notification"
	"github.com/minio/minio-go/v7/pkg/tags"
)

// TestMinioBucketConfigs: lifecycle, CORS, tagging and notification
// configurations through minio-go, which backup tools use, as they go
// through aws-sdk-go-v2 in the other tests.
func TestMinioBucketConfigs(t *testing.T) {
	ts := newServer(t)
	mc := ts.minio(t)
	x := ctx(t)
	if err := mc.MakeBucket(x, "mcfg", minio.MakeBucketOptions{Region: region}); err != nil {
		t.Fatal(err)
	}

	lc := lifecycle.NewConfiguration()
	lc.Rules = []lifecycle.Rule{
		{ID: "logs", Status: "Enabled", RuleFilter: lifecycle.Filter{Prefix: "logs/"}, Expiration: lifecycle.Expiration{Days: 30}},
		{ID: "old", Status: "Enabled", RuleFilter: lifecycle.Filter{Prefix: "data/"},
			NoncurrentVersionExpiration: lifecycle.NoncurrentVersionExpiration{NoncurrentDays: 7}},
		{ID: "mpu", Status: "Enabled", RuleFilter: lifecycle.Filter{Prefix: ""},
			AbortIncompleteMultipartUpload: lifecycle.AbortIncompleteMultipartUpload{DaysAfterInitiation: 2}},
	}
	if err := mc.SetBucketLifecycle(x, "mcfg", lc); err != nil {
		t.Fatalf("SetBucketLifecycle: %v", err)
	}
	got, err := mc.GetBucketLifecycle(x, "mcfg")
	if err != nil || len(got.Rules) != 3 || got.Rules[0].Expiration.Days != 30 || got.Rules[1].NoncurrentVersionExpiration.NoncurrentDays != 7 ||
		got.Rules[2].AbortIncompleteMultipartUpload.DaysAfterInitiation != 2 || got.Rules[0].RuleFilter.Prefix != "logs/" {
		t.Fatalf("GetBucketLifecycle = %+v, %v", got, err)
	}
	// minio-go removes a lifecycle by setting an empty one.
	if err := mc.SetBucketLifecycle(x, "mcfg", lifecycle.NewConfiguration()); err != nil {
		t.Fatalf("removing the lifecycle: %v", err)
	}
	if got, err := mc.GetBucketLifecycle(x, "mcfg"); err == nil && len(got.Rules) != 0 {
		t.Errorf("lifecycle after removal = %+v", got)
	}

	cc := cors.NewConfig([]cors.Rule{{AllowedOrigin: []string{"https://app.example"}, AllowedMethod: []string{"GET", "PUT"},
		AllowedHeader: []string{"*"}, ExposeHeader: []string{"ETag"}, MaxAgeSeconds: 600}})
	if err := mc.SetBucketCors(x, "mcfg", cc); err != nil {
		t.Fatalf("SetBucketCors: %v", err)
	}
	gc, err := mc.GetBucketCors(x, "mcfg")
	if err != nil || len(gc.CORSRules) != 1 || gc.CORSRules[0].MaxAgeSeconds != 600 || gc.CORSRules[0].AllowedOrigin[0] != "https://app.example" {
		t.Fatalf("GetBucketCors = %+v, %v", gc, err)
	}

	bt, err := tags.NewTags(map[string]string{"team": "storage", "env": "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.SetBucketTagging(x, "mcfg", bt); err != nil {
		t.Fatalf("SetBucketTagging: %v", err)
	}
	if gt, err := mc.GetBucketTagging(x, "mcfg"); err != nil || gt.ToMap()["team"] != "storage" || len(gt.ToMap()) != 2 {
		t.Fatalf("GetBucketTagging = %v, %v", gt, err)
	}
	if _, err := mc.PutObject(x, "mcfg", "k", strings.NewReader("v"), 1, minio.PutObjectOptions{UserTags: map[string]string{"a": "1"}}); err != nil {
		t.Fatal(err)
	}
	ot, err := tags.NewTags(map[string]string{"b": "2"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.PutObjectTagging(x, "mcfg", "k", ot, minio.PutObjectTaggingOptions{}); err != nil {
		t.Fatalf("PutObjectTagging: %v", err)
	}
	if g, err := mc.GetObjectTagging(x, "mcfg", "k", minio.GetObjectTaggingOptions{}); err != nil || g.ToMap()["b"] != "2" || len(g.ToMap()) != 1 {
		t.Fatalf("GetObjectTagging = %v, %v", g, err)
	}

	// No notification targets on this server: the configuration is empty,
	// and one naming a destination is refused.
	nc, err := mc.GetBucketNotification(x, "mcfg")
	if err != nil || len(nc.QueueConfigs) != 0 {
		t.Fatalf("GetBucketNotification = %+v, %v", nc, err)
	}
	var cfg notification.Configuration
	q := notification.NewConfig(notification.NewArn("coffer", "sqs", "us-east-1", "hooks", "webhook"))
	q.AddEvents(notification.ObjectCreatedAll)
	cfg.AddQueue(q)
	if err := mc.SetBucketNotification(x, "mcfg", cfg); err == nil || minio.ToErrorResponse(err).Code != "InvalidArgument" {
		t.Errorf("SetBucketNotification with an unknown target: %v, want InvalidArgument", err)
	}
}
