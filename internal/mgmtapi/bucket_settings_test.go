package mgmtapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/lifecycle"
	"github.com/cofferstore/coffer/internal/mgmtapi"
	"github.com/cofferstore/coffer/internal/notify"
	"github.com/cofferstore/coffer/internal/object"
)

func settingsBucket(t *testing.T, c *client, name string, body map[string]any) {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["name"] = name
	c.do("POST", "/api/buckets", body).want(http.StatusCreated)
}

// TestSettingsRefusals checks every setting endpoint refuses anonymous
// callers (401), strangers (403) and missing buckets (404).
func TestSettingsRefusals(t *testing.T) {
	e := newEnv(t)
	settingsBucket(t, e.root(), "guarded", nil)
	stranger := e.user("stranger")
	bodies := map[string]any{
		"versioning":         map[string]any{"status": "Enabled"},
		"object-lock":        map[string]any{"objectLockEnabled": "Enabled"},
		"tagging":            map[string]any{"tags": []any{}},
		"cors":               map[string]any{"rules": []map[string]any{{"allowedOrigins": []string{"*"}, "allowedMethods": []string{"GET"}}}},
		"lifecycle":          map[string]any{"rules": []map[string]any{{"status": "Enabled", "expiration": map[string]int{"days": 1}}}},
		"policy":             map[string]any{"Version": "2012-10-17", "Statement": []any{}},
		"acl":                map[string]any{"acl": "private"},
		"ownership-controls": map[string]any{"objectOwnership": "BucketOwnerPreferred"},
		"notifications":      map[string]any{"notifications": []any{}},
	}
	type ep struct{ method, setting string }
	var eps []ep
	for s := range bodies {
		eps = append(eps, ep{"GET", s}, ep{"PUT", s})
	}
	for _, s := range []string{"tagging", "cors", "lifecycle", "policy", "ownership-controls"} {
		eps = append(eps, ep{"DELETE", s})
	}
	eps = append(eps, ep{"GET", "policy/status"}, ep{"DELETE", "notifications/some-id"})
	for _, x := range eps {
		var body any
		if x.method == "PUT" {
			body = bodies[x.setting]
		}
		path := "/api/buckets/guarded/" + x.setting
		e.anon().do(x.method, path, body).wantError(http.StatusUnauthorized, "Unauthorized")
		stranger.do(x.method, path, body).wantError(http.StatusForbidden, "AccessDenied")
		e.root().do(x.method, "/api/buckets/missing-bucket/"+x.setting, body).wantError(http.StatusNotFound, "NoSuchBucket")
	}
	e.anon().do("GET", "/api/notifications/guarded", nil).wantError(http.StatusUnauthorized, "Unauthorized")
	stranger.do("PUT", "/api/notifications/guarded", map[string]any{"notifications": []any{}}).wantError(http.StatusForbidden, "AccessDenied")
	stranger.do("DELETE", "/api/notifications/guarded/x", nil).wantError(http.StatusForbidden, "AccessDenied")
	e.root().do("GET", "/api/notifications/missing-bucket", nil).wantError(http.StatusNotFound, "NoSuchBucket")
}

func TestSettingsVersioning(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	settingsBucket(t, root, "ver", nil)
	x := context.Background()
	s3c := bucketsRootSDK(e)
	if r := root.do("GET", "/api/buckets/ver/versioning", nil).want(http.StatusOK).obj(); r["status"] != "" {
		t.Fatalf("fresh bucket: %v", r)
	}
	root.do("PUT", "/api/buckets/ver/versioning", map[string]any{"status": "Enabled"}).want(http.StatusOK)
	v, err := s3c.GetBucketVersioning(x, &s3.GetBucketVersioningInput{Bucket: aws.String("ver")})
	if err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("S3 after /api enabled: %v %v", v, err)
	}
	if _, err := s3c.PutBucketVersioning(x, &s3.PutBucketVersioningInput{Bucket: aws.String("ver"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}}); err != nil {
		t.Fatal(err)
	}
	if r := root.do("GET", "/api/buckets/ver/versioning", nil).want(http.StatusOK).obj(); r["status"] != "Suspended" {
		t.Fatalf("after S3 suspended: %v", r)
	}
	root.do("PUT", "/api/buckets/ver/versioning", map[string]any{"status": "Off"}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("PUT", "/api/buckets/ver/versioning", map[string]any{"status": "Enabled", "mfaDelete": "Enabled"}).wantError(http.StatusNotImplemented, "NotImplemented")
	settingsBucket(t, root, "ver-lock", map[string]any{"objectLock": true})
	root.do("PUT", "/api/buckets/ver-lock/versioning", map[string]any{"status": "Suspended"}).wantError(http.StatusConflict, "InvalidBucketState")
	// A readonly user reads it but cannot change it.
	reader := e.user("reader", "readonly")
	reader.do("GET", "/api/buckets/ver/versioning", nil).want(http.StatusOK)
	reader.do("PUT", "/api/buckets/ver/versioning", map[string]any{"status": "Enabled"}).wantError(http.StatusForbidden, "AccessDenied")
}

func TestSettingsObjectLock(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	settingsBucket(t, root, "plain", nil)
	root.do("GET", "/api/buckets/plain/object-lock", nil).wantError(http.StatusNotFound, "ObjectLockConfigurationNotFound")
	body := map[string]any{"objectLockEnabled": "Enabled", "rule": map[string]any{"defaultRetention": map[string]any{"mode": "COMPLIANCE", "days": 2}}}
	root.do("PUT", "/api/buckets/plain/object-lock", body).wantError(http.StatusConflict, "InvalidBucketState")
	root.do("PUT", "/api/buckets/plain/versioning", map[string]any{"status": "Enabled"}).want(http.StatusOK)
	root.do("PUT", "/api/buckets/plain/object-lock", body).want(http.StatusOK)
	var got struct {
		ObjectLockEnabled string `json:"objectLockEnabled"`
		Rule              struct {
			DefaultRetention struct {
				Mode string `json:"mode"`
				Days int    `json:"days"`
			} `json:"defaultRetention"`
		} `json:"rule"`
	}
	root.do("GET", "/api/buckets/plain/object-lock", nil).want(http.StatusOK).json(&got)
	if got.ObjectLockEnabled != "Enabled" || got.Rule.DefaultRetention.Mode != "COMPLIANCE" || got.Rule.DefaultRetention.Days != 2 {
		t.Fatalf("lock config: %+v", got)
	}
	out, err := bucketsRootSDK(e).GetObjectLockConfiguration(context.Background(), &s3.GetObjectLockConfigurationInput{Bucket: aws.String("plain")})
	if err != nil || out.ObjectLockConfiguration.Rule.DefaultRetention.Mode != types.ObjectLockRetentionModeCompliance ||
		aws.ToInt32(out.ObjectLockConfiguration.Rule.DefaultRetention.Days) != 2 {
		t.Fatalf("S3 sees %+v %v", out, err)
	}
	for _, bad := range []map[string]any{
		{"objectLockEnabled": "Disabled"},
		{"rule": map[string]any{"defaultRetention": map[string]any{"mode": "FOREVER", "days": 1}}},
		{"rule": map[string]any{"defaultRetention": map[string]any{"mode": "GOVERNANCE", "days": 1, "years": 1}}},
		{"rule": map[string]any{}},
	} {
		r := root.do("PUT", "/api/buckets/plain/object-lock", bad)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%v: status %d %s", bad, r.Status, r.Body)
		}
	}
	// Clearing the default retention keeps the lock on.
	root.do("PUT", "/api/buckets/plain/object-lock", map[string]any{"objectLockEnabled": "Enabled"}).want(http.StatusOK)
	if r := root.do("GET", "/api/buckets/plain/object-lock", nil).want(http.StatusOK).obj(); r["rule"] != nil || r["objectLockEnabled"] != "Enabled" {
		t.Fatalf("cleared: %v", r)
	}
}

func TestSettingsTagging(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	settingsBucket(t, root, "tags", nil)
	x := context.Background()
	root.do("GET", "/api/buckets/tags/tagging", nil).wantError(http.StatusNotFound, "NoSuchTagSet")
	tags := []map[string]string{{"key": "team", "value": "blue"}, {"key": "cost", "value": "42"}}
	root.do("PUT", "/api/buckets/tags/tagging", map[string]any{"tags": tags}).want(http.StatusOK)
	var got struct {
		Tags []struct{ Key, Value string } `json:"tags"`
	}
	root.do("GET", "/api/buckets/tags/tagging", nil).want(http.StatusOK).json(&got)
	if len(got.Tags) != 2 || got.Tags[0].Key != "cost" || got.Tags[1].Value != "blue" {
		t.Fatalf("tags %+v", got)
	}
	s3c := bucketsRootSDK(e)
	out, err := s3c.GetBucketTagging(x, &s3.GetBucketTaggingInput{Bucket: aws.String("tags")})
	if err != nil || len(out.TagSet) != 2 {
		t.Fatalf("S3 tags %+v %v", out, err)
	}
	if _, err := s3c.PutBucketTagging(x, &s3.PutBucketTaggingInput{Bucket: aws.String("tags"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("from"), Value: aws.String("s3")}}}}); err != nil {
		t.Fatal(err)
	}
	root.do("GET", "/api/buckets/tags/tagging", nil).want(http.StatusOK).json(&got)
	if len(got.Tags) != 1 || got.Tags[0].Key != "from" || got.Tags[0].Value != "s3" {
		t.Fatalf("after S3 put: %+v", got)
	}
	root.do("PUT", "/api/buckets/tags/tagging", map[string]any{"tags": []map[string]string{{"key": "aws:x", "value": "1"}}}).wantError(http.StatusBadRequest, "InvalidTag")
	root.do("PUT", "/api/buckets/tags/tagging", map[string]any{"tags": []map[string]string{{"key": "a", "value": "1"}, {"key": "a", "value": "2"}}}).wantError(http.StatusBadRequest, "InvalidTag")
	root.do("PUT", "/api/buckets/tags/tagging", map[string]any{"tags": []map[string]string{{"key": "", "value": "1"}}}).wantError(http.StatusBadRequest, "InvalidTag")
	root.do("DELETE", "/api/buckets/tags/tagging", nil).want(http.StatusNoContent)
	root.do("GET", "/api/buckets/tags/tagging", nil).wantError(http.StatusNotFound, "NoSuchTagSet")
	if _, err := s3c.GetBucketTagging(x, &s3.GetBucketTaggingInput{Bucket: aws.String("tags")}); bucketsS3Code(err) != "NoSuchTagSet" {
		t.Fatalf("S3 after delete: %v", err)
	}
}

func TestSettingsCORS(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	settingsBucket(t, root, "web", nil)
	x := context.Background()
	root.do("GET", "/api/buckets/web/cors", nil).wantError(http.StatusNotFound, "NoSuchCORSConfiguration")
	rules := []map[string]any{{"id": "site", "allowedOrigins": []string{"https://app.example"}, "allowedMethods": []string{"GET", "PUT"},
		"allowedHeaders": []string{"*"}, "exposeHeaders": []string{"ETag"}, "maxAgeSeconds": 600}}
	root.do("PUT", "/api/buckets/web/cors", map[string]any{"rules": rules}).want(http.StatusOK)
	var got struct {
		Rules []struct {
			ID             string   `json:"id"`
			AllowedOrigins []string `json:"allowedOrigins"`
			AllowedMethods []string `json:"allowedMethods"`
			MaxAgeSeconds  *int     `json:"maxAgeSeconds"`
		} `json:"rules"`
		CORSRules []any `json:"cors_rules"`
	}
	root.do("GET", "/api/buckets/web/cors", nil).want(http.StatusOK).json(&got)
	if len(got.Rules) != 1 || got.Rules[0].ID != "site" || len(got.Rules[0].AllowedMethods) != 2 || *got.Rules[0].MaxAgeSeconds != 600 || len(got.CORSRules) != 1 {
		t.Fatalf("cors %+v", got)
	}
	out, err := bucketsRootSDK(e).GetBucketCors(x, &s3.GetBucketCorsInput{Bucket: aws.String("web")})
	if err != nil || len(out.CORSRules) != 1 || out.CORSRules[0].AllowedOrigins[0] != "https://app.example" {
		t.Fatalf("S3 CORS %+v %v", out, err)
	}
	// The S3 listener enforces it: a browser preflight is answered.
	req, _ := http.NewRequest("OPTIONS", e.S3URL+"/web/file", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("preflight %d %v", res.StatusCode, res.Header)
	}
	// ra-hcp's name for the list, with boto's field names.
	root.do("PUT", "/api/buckets/web/cors", map[string]any{"cors_rules": []map[string]any{{"AllowedOrigins": []string{"*"}, "AllowedMethods": []string{"HEAD"}}}}).want(http.StatusOK)
	root.do("GET", "/api/buckets/web/cors", nil).want(http.StatusOK).json(&got)
	if len(got.Rules) != 1 || got.Rules[0].AllowedMethods[0] != "HEAD" {
		t.Fatalf("after ra-hcp put: %+v", got)
	}
	for _, bad := range []any{
		map[string]any{"rules": []any{}},
		map[string]any{"rules": []map[string]any{{"allowedOrigins": []string{"*"}, "allowedMethods": []string{"PATCH"}}}},
		map[string]any{"rules": []map[string]any{{"allowedOrigins": []string{"*.*.example"}, "allowedMethods": []string{"GET"}}}},
		map[string]any{"rules": []map[string]any{{"allowedMethods": []string{"GET"}}}},
		map[string]any{"rules": []map[string]any{{"allowedOrigins": []string{"*"}, "allowedMethods": []string{"GET"}, "maxAgeSeconds": -1}}},
	} {
		root.do("PUT", "/api/buckets/web/cors", bad).wantError(http.StatusBadRequest, "InvalidCORSConfiguration")
	}
	// ra-hcp's answer: 200 {status:"deleted"}.
	if got := root.do("DELETE", "/api/buckets/web/cors", nil).want(http.StatusOK).obj(); len(got) != 1 || got["status"] != "deleted" {
		t.Fatalf("delete answer %v", got)
	}
	if _, err := bucketsRootSDK(e).GetBucketCors(x, &s3.GetBucketCorsInput{Bucket: aws.String("web")}); bucketsS3Code(err) != "NoSuchCORSConfiguration" {
		t.Fatalf("S3 after delete: %v", err)
	}
}

func TestSettingsLifecycle(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	settingsBucket(t, root, "life", nil)
	x := context.Background()
	root.do("GET", "/api/buckets/life/lifecycle", nil).wantError(http.StatusNotFound, "NoSuchLifecycleConfiguration")
	body := map[string]any{"rules": []map[string]any{
		{"id": "logs", "status": "Enabled", "filter": map[string]any{"prefix": "logs/"}, "expiration": map[string]any{"days": 30},
			"abortIncompleteMultipartUpload": map[string]any{"daysAfterInitiation": 7}},
		{"status": "Disabled", "filter": map[string]any{"and": map[string]any{"prefix": "tmp/", "tags": []map[string]string{{"key": "t", "value": "1"}}}},
			"noncurrentVersionExpiration": map[string]any{"noncurrentDays": 3, "newerNoncurrentVersions": 2}},
		{"status": "Enabled", "expiration": map[string]any{"date": "2030-01-01T00:00:00Z"}},
	}}
	var got struct {
		Rules []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Filter *struct {
				Prefix *string `json:"prefix"`
			} `json:"filter"`
			Expiration *struct {
				Days int    `json:"days"`
				Date string `json:"date"`
			} `json:"expiration"`
		} `json:"rules"`
	}
	root.do("PUT", "/api/buckets/life/lifecycle", body).want(http.StatusOK).json(&got)
	if len(got.Rules) != 3 || got.Rules[0].ID != "logs" || got.Rules[1].ID == "" || got.Rules[2].Expiration.Date != "2030-01-01T00:00:00Z" {
		t.Fatalf("put answer %+v", got)
	}
	id := got.Rules[1].ID
	root.do("GET", "/api/buckets/life/lifecycle", nil).want(http.StatusOK).json(&got)
	if len(got.Rules) != 3 || got.Rules[1].ID != id || *got.Rules[0].Filter.Prefix != "logs/" || got.Rules[0].Expiration.Days != 30 {
		t.Fatalf("get %+v", got)
	}
	out, err := bucketsRootSDK(e).GetBucketLifecycleConfiguration(x, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("life")})
	if err != nil || len(out.Rules) != 3 || aws.ToString(out.Rules[1].ID) != id {
		t.Fatalf("S3 lifecycle %+v %v", out, err)
	}
	// What is stored is what the lifecycle worker reads.
	data, err := e.objects.BucketConfig(x, "life", lifecycle.ConfigName)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := lifecycle.Parse(data); err != nil || len(cfg.Rules) != 3 {
		t.Fatalf("stored lifecycle: %v", err)
	}
	for _, bad := range []map[string]any{
		{"rules": []any{}},
		{"rules": []map[string]any{{"status": "Enabled"}}},
		{"rules": []map[string]any{{"status": "Maybe", "expiration": map[string]any{"days": 1}}}},
		{"rules": []map[string]any{{"status": "Enabled", "expiration": map[string]any{"date": "2030-01-01T10:00:00Z"}}}},
	} {
		root.do("PUT", "/api/buckets/life/lifecycle", bad).wantError(http.StatusBadRequest, "MalformedLifecycle")
	}
	root.do("DELETE", "/api/buckets/life/lifecycle", nil).want(http.StatusNoContent)
	root.do("GET", "/api/buckets/life/lifecycle", nil).wantError(http.StatusNotFound, "NoSuchLifecycleConfiguration")
}

func TestSettingsPolicy(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	settingsBucket(t, root, "pub", nil)
	bucketsPut(t, bucketsRootSDK(e), "pub", "hello.txt", "hi")
	root.do("GET", "/api/buckets/pub/policy", nil).wantError(http.StatusNotFound, "NoSuchBucketPolicy")
	root.do("GET", "/api/buckets/pub/policy/status", nil).wantError(http.StatusNotFound, "NoSuchBucketPolicy")
	anonGet := func() int {
		res, err := http.Get(e.S3URL + "/pub/hello.txt")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := anonGet(); s != http.StatusForbidden {
		t.Fatalf("anonymous GET before the policy: %d", s)
	}
	doc := map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{
		{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pub/*"}}}
	root.do("PUT", "/api/buckets/pub/policy", doc).want(http.StatusOK)
	got := root.do("GET", "/api/buckets/pub/policy", nil).want(http.StatusOK).obj()
	if got["Version"] != "2012-10-17" || len(got["Statement"].([]any)) != 1 {
		t.Fatalf("policy %v", got)
	}
	if r := root.do("GET", "/api/buckets/pub/policy/status", nil).want(http.StatusOK).obj(); r["isPublic"] != true {
		t.Fatalf("status %v", r)
	}
	if s := anonGet(); s != http.StatusOK {
		t.Fatalf("anonymous GET under the public policy: %d", s)
	}
	out, err := bucketsRootSDK(e).GetBucketPolicyStatus(context.Background(), &s3.GetBucketPolicyStatusInput{Bucket: aws.String("pub")})
	if err != nil || !aws.ToBool(out.PolicyStatus.IsPublic) {
		t.Fatalf("S3 policy status %+v %v", out, err)
	}
	for _, bad := range []any{
		map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*"}}},
		map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{"Effect": "Maybe", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pub/*"}}},
		[]int{1, 2},
	} {
		root.do("PUT", "/api/buckets/pub/policy", bad).wantError(http.StatusBadRequest, "MalformedPolicy")
	}
	root.do("DELETE", "/api/buckets/pub/policy", nil).want(http.StatusNoContent)
	root.do("GET", "/api/buckets/pub/policy/status", nil).wantError(http.StatusNotFound, "NoSuchBucketPolicy")
	if s := anonGet(); s != http.StatusForbidden {
		t.Fatalf("anonymous GET after the delete: %d", s)
	}
}

func TestSettingsACLAndOwnership(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	e.user("bob")
	settingsBucket(t, alice, "shared", nil)
	x := context.Background()
	var acl struct {
		Owner  struct{ ID, DisplayName string } `json:"owner"`
		Grants []iam.Grant                      `json:"grants"`
	}
	alice.do("GET", "/api/buckets/shared/acl", nil).want(http.StatusOK).json(&acl)
	if acl.Owner.ID != iam.CanonicalID("alice") || len(acl.Grants) != 1 || acl.Grants[0].Permission != iam.PermFullControl {
		t.Fatalf("default ACL %+v", acl)
	}
	// Bob cannot list until a grant names him, then S3 lets him.
	bobS3 := bucketsUserSDK(t, e, "bob")
	if _, err := bobS3.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("shared")}); bucketsS3Code(err) != "AccessDenied" {
		t.Fatalf("bob lists before the grant: %v", err)
	}
	grants := []map[string]any{
		{"grantee": map[string]string{"type": "CanonicalUser", "id": iam.CanonicalID("alice")}, "permission": "FULL_CONTROL"},
		{"grantee": map[string]string{"type": "CanonicalUser", "displayName": "bob"}, "permission": "READ"},
	}
	alice.do("PUT", "/api/buckets/shared/acl", map[string]any{"grants": grants}).want(http.StatusOK).json(&acl)
	if len(acl.Grants) != 2 || acl.Grants[1].Grantee.ID != iam.CanonicalID("bob") || acl.Grants[1].Grantee.DisplayName != "bob" {
		t.Fatalf("put answer %+v", acl)
	}
	if _, err := bobS3.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("shared")}); err != nil {
		t.Fatalf("bob lists with the grant: %v", err)
	}
	out, err := bucketsRootSDK(e).GetBucketAcl(x, &s3.GetBucketAclInput{Bucket: aws.String("shared")})
	if err != nil || len(out.Grants) != 2 {
		t.Fatalf("S3 ACL %+v %v", out, err)
	}
	alice.do("PUT", "/api/buckets/shared/acl", map[string]any{"grants": []map[string]any{
		{"grantee": map[string]string{"type": "CanonicalUser", "id": strings.Repeat("0", 64)}, "permission": "READ"}}}).wantError(http.StatusBadRequest, "InvalidArgument")
	alice.do("PUT", "/api/buckets/shared/acl", map[string]any{"grants": []map[string]any{
		{"grantee": map[string]string{"type": "Group", "uri": "http://example/none"}, "permission": "READ"}}}).wantError(http.StatusBadRequest, "InvalidACL")
	alice.do("PUT", "/api/buckets/shared/acl", map[string]any{"grants": []map[string]any{
		{"grantee": map[string]string{"type": "AmazonCustomerByEmail"}, "permission": "READ"}}}).wantError(http.StatusBadRequest, "UnresolvableGrantByEmailAddress")
	alice.do("PUT", "/api/buckets/shared/acl", map[string]any{"acl": "no-such-canned"}).wantError(http.StatusBadRequest, "InvalidACL")
	alice.do("PUT", "/api/buckets/shared/acl", map[string]any{"acl": "private", "grants": grants}).wantError(http.StatusBadRequest, "InvalidRequest")
	alice.do("PUT", "/api/buckets/shared/acl", map[string]any{"acl": "private", "owner": map[string]string{"id": iam.CanonicalID("bob")}}).wantError(http.StatusForbidden, "AccessDenied")

	// Ownership controls.
	alice.do("GET", "/api/buckets/shared/ownership-controls", nil).wantError(http.StatusNotFound, "OwnershipControlsNotFoundError")
	alice.do("PUT", "/api/buckets/shared/ownership-controls", map[string]any{"objectOwnership": "BucketOwnerEnforced"}).
		wantError(http.StatusBadRequest, "InvalidBucketAclWithObjectOwnership")
	alice.do("PUT", "/api/buckets/shared/ownership-controls", map[string]any{"objectOwnership": "Whatever"}).wantError(http.StatusBadRequest, "InvalidRequest")
	alice.do("PUT", "/api/buckets/shared/acl", map[string]any{"acl": "private"}).want(http.StatusOK)
	alice.do("PUT", "/api/buckets/shared/ownership-controls", map[string]any{"objectOwnership": "BucketOwnerEnforced"}).want(http.StatusOK)
	if r := alice.do("GET", "/api/buckets/shared/ownership-controls", nil).want(http.StatusOK).obj(); r["objectOwnership"] != "BucketOwnerEnforced" {
		t.Fatalf("ownership %v", r)
	}
	oc, err := bucketsRootSDK(e).GetBucketOwnershipControls(x, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String("shared")})
	if err != nil || oc.OwnershipControls.Rules[0].ObjectOwnership != types.ObjectOwnershipBucketOwnerEnforced {
		t.Fatalf("S3 ownership %+v %v", oc, err)
	}
	alice.do("PUT", "/api/buckets/shared/acl", map[string]any{"acl": "public-read"}).wantError(http.StatusBadRequest, "AccessControlListNotSupported")
	alice.do("DELETE", "/api/buckets/shared/ownership-controls", nil).want(http.StatusNoContent)
	alice.do("GET", "/api/buckets/shared/ownership-controls", nil).wantError(http.StatusNotFound, "OwnershipControlsNotFoundError")
	alice.do("PUT", "/api/buckets/shared/acl", map[string]any{"acl": "public-read"}).want(http.StatusOK)
}

// settingsTargetARN is the one notification target the tests configure.
var settingsTargetARN = notify.ARN(region, "hooks", "webhook")

func withRouter(c *mgmtapi.Config) {
	c.Notifications = notify.NewRouter(c.Store, c.Store, []string{settingsTargetARN}, nil)
}

func TestSettingsNotifications(t *testing.T) {
	e := newEnv(t, withRouter)
	root := e.root()
	settingsBucket(t, root, "events", nil)
	x := context.Background()
	type notif struct {
		ID       string   `json:"id"`
		Endpoint string   `json:"endpoint"`
		Target   string   `json:"target"`
		Kind     string   `json:"kind"`
		Events   []string `json:"events"`
		Prefix   string   `json:"prefix"`
		Suffix   string   `json:"suffix"`
	}
	var got struct {
		Notifications []notif `json:"notifications"`
		Message       string  `json:"message"`
	}
	root.do("GET", "/api/notifications/events", nil).want(http.StatusOK).json(&got)
	if got.Notifications == nil || len(got.Notifications) != 0 {
		t.Fatalf("empty: %s", fmt.Sprint(got))
	}
	body := map[string]any{"notifications": []map[string]any{
		{"endpoint": settingsTargetARN, "events": []string{"s3:ObjectCreated:*"}, "prefix": "data/", "suffix": ".csv"},
		{"id": "removals", "endpoint": settingsTargetARN, "events": []string{"s3:ObjectRemoved:*"}, "kind": "Topic"},
	}}
	root.do("PUT", "/api/notifications/events", body).want(http.StatusOK).json(&got)
	if len(got.Notifications) != 2 || got.Message == "" || got.Notifications[0].ID == "" || got.Notifications[1].ID != "removals" ||
		got.Notifications[0].Prefix != "data/" || got.Notifications[1].Kind != "Topic" || got.Notifications[0].Target != settingsTargetARN {
		t.Fatalf("put answer %+v", got)
	}
	generated := got.Notifications[0].ID
	// The same configuration under the bucket's settings, and in the store
	// as the S3 surface and the event router read it.
	root.do("GET", "/api/buckets/events/notifications", nil).want(http.StatusOK).json(&got)
	if len(got.Notifications) != 2 || got.Notifications[0].ID != generated {
		t.Fatalf("settings route %+v", got)
	}
	data, err := e.store.GetBucketConfig(x, "events", notify.ConfigName)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := notify.ParseConfig(data)
	if err != nil || len(cfg.Match("s3:ObjectCreated:Put", "data/x.csv")) != 1 || len(cfg.Match("s3:ObjectCreated:Put", "other/x.csv")) != 0 {
		t.Fatalf("stored config %+v %v", cfg, err)
	}
	// Saving queued the s3:TestEvent S3 sends to each target.
	evs, err := e.store.PendingEvents(x, settingsTargetARN, 10)
	if err != nil || len(evs) == 0 || evs[0].Name != notify.TestEventName {
		t.Fatalf("outbox %+v %v", evs, err)
	}

	root.do("PUT", "/api/notifications/events", map[string]any{"notifications": []map[string]any{
		{"endpoint": "https://hooks.example/x", "events": []string{"s3:ObjectCreated:*"}}}}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("PUT", "/api/notifications/events", map[string]any{"notifications": []map[string]any{
		{"endpoint": notify.ARN(region, "nobody", "webhook"), "events": []string{"s3:ObjectCreated:*"}}}}).wantError(http.StatusBadRequest, "InvalidNotificationConfiguration")
	root.do("PUT", "/api/notifications/events", map[string]any{"notifications": []map[string]any{
		{"endpoint": settingsTargetARN, "events": []string{"s3:Nothing"}}}}).wantError(http.StatusBadRequest, "InvalidNotificationConfiguration")
	root.do("PUT", "/api/notifications/events", map[string]any{"notifications": []map[string]any{
		{"endpoint": settingsTargetARN, "events": []string{}}}}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("PUT", "/api/notifications/events", map[string]any{"notifications": []map[string]any{
		{"endpoint": settingsTargetARN, "events": []string{"s3:ObjectCreated:*"}, "kind": "Pigeon"}}}).wantError(http.StatusBadRequest, "InvalidRequest")

	// Delete one by id; an unknown id is fine, as in S4.
	root.do("DELETE", "/api/notifications/events/removals", nil).want(http.StatusOK)
	root.do("DELETE", "/api/notifications/events/never-was", nil).want(http.StatusOK)
	root.do("GET", "/api/notifications/events", nil).want(http.StatusOK).json(&got)
	if len(got.Notifications) != 1 || got.Notifications[0].ID != generated {
		t.Fatalf("after delete %+v", got)
	}
	root.do("DELETE", "/api/buckets/events/notifications/"+generated, nil).want(http.StatusOK)
	if _, err := e.store.GetBucketConfig(x, "events", notify.ConfigName); err == nil {
		t.Fatal("the last delete left a configuration")
	}
}

func TestSettingsNotificationsWithoutTargets(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	settingsBucket(t, root, "quiet", nil)
	root.do("PUT", "/api/notifications/quiet", map[string]any{"notifications": []any{}}).want(http.StatusOK)
	root.do("PUT", "/api/notifications/quiet", map[string]any{"notifications": []map[string]any{
		{"endpoint": settingsTargetARN, "events": []string{"s3:ObjectCreated:*"}}}}).wantError(http.StatusBadRequest, "InvalidNotificationConfiguration")
}

func TestSettingsNotificationTestEndpoint(t *testing.T) {
	e := newEnv(t)
	var (
		mu   sync.Mutex
		seen []map[string]any
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		data, _ := io.ReadAll(r.Body)
		json.Unmarshal(data, &m)
		mu.Lock()
		seen = append(seen, m)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer hook.Close()
	root := e.root()
	r := root.do("POST", "/api/notifications/test-endpoint", map[string]any{"endpoint": hook.URL + "/in"}).want(http.StatusOK).obj()
	if r["success"] != true || r["reachable"] != true || r["statusCode"] != float64(http.StatusAccepted) {
		t.Fatalf("answer %v", r)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0]["Event"] != notify.TestEventName {
		t.Fatalf("the endpoint got %v", seen)
	}
	mu.Unlock()

	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	r = root.do("POST", "/api/notifications/test-endpoint", map[string]any{"endpoint": deadURL}).want(http.StatusBadRequest).obj()
	if r["success"] != false || r["reachable"] != false || r["error"] != "EndpointUnreachable" || !strings.HasPrefix(r["message"].(string), "Failed to reach endpoint") {
		t.Fatalf("dead endpoint %v", r)
	}
	for _, bad := range []string{"ftp://example.com/x", "file:///etc/passwd", "not a url", "http://"} {
		root.do("POST", "/api/notifications/test-endpoint", map[string]any{"endpoint": bad}).wantError(http.StatusBadRequest, "InvalidRequest")
	}
	e.anon().do("POST", "/api/notifications/test-endpoint", map[string]any{"endpoint": hook.URL}).wantError(http.StatusUnauthorized, "Unauthorized")
	// Posting from the server is a privilege: an ordinary user may test
	// only for a bucket whose notifications it may configure.
	alice := e.user("alice")
	alice.do("POST", "/api/notifications/test-endpoint", map[string]any{"endpoint": hook.URL}).wantError(http.StatusForbidden, "AccessDenied")
	settingsBucket(t, alice, "alice-events", nil)
	alice.do("POST", "/api/notifications/test-endpoint", map[string]any{"endpoint": hook.URL, "bucket": "alice-events"}).want(http.StatusOK)
	e.user("bob").do("POST", "/api/notifications/test-endpoint", map[string]any{"endpoint": hook.URL, "bucket": "alice-events"}).wantError(http.StatusForbidden, "AccessDenied")
	e.root().do("POST", "/api/notifications/test-endpoint", map[string]any{"endpoint": hook.URL, "bucket": "no-such-bucket"}).wantError(http.StatusNotFound, "NoSuchBucket")
	admin := e.user("ops", "admin")
	admin.do("POST", "/api/notifications/test-endpoint", map[string]any{"endpoint": hook.URL}).want(http.StatusOK)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 {
		t.Fatalf("the endpoint got %d posts, want 3", len(seen))
	}
}

// TestSettingsPermissionParity asks S3 and /api the same questions for
// the same users and requires the same allow/deny answers.
func TestSettingsPermissionParity(t *testing.T) {
	e := newEnv(t)
	x := context.Background()
	users := map[string][]string{"p-reader": {"readonly"}, "p-writer": {"writeonly"}, "p-owner": nil, "p-other": nil}
	s3c := map[string]*s3.Client{}
	api := map[string]*client{}
	for u, pols := range users {
		api[u] = e.user(u, pols...)
		s3c[u] = bucketsUserSDK(t, e, u)
	}
	// Each question is asked twice (once per surface) on its own bucket
	// owned by p-owner, so a write allowed through one surface cannot
	// change the other's answer.
	n := 0
	fresh := func() string {
		n++
		name := fmt.Sprintf("parity-%d", n)
		if err := e.objects.CreateBucket(x, name, "p-owner", region, object.BucketOptions{}); err != nil {
			t.Fatal(err)
		}
		return name
	}
	denied := func(err error) bool {
		code := bucketsS3Code(err)
		if err != nil && code != "AccessDenied" && code != "Forbidden" && !strings.HasPrefix(code, "NoSuch") {
			t.Fatalf("S3 error %v", err)
		}
		// HEAD answers carry no body: the SDK names a 403 Forbidden.
		return code == "AccessDenied" || code == "Forbidden"
	}
	cors := &types.CORSConfiguration{CORSRules: []types.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}}}}
	questions := []struct {
		name string
		s3   func(c *s3.Client, b string) error
		api  func(c *client, b string) *resp
	}{
		{"CreateBucket", func(c *s3.Client, b string) error {
			_, err := c.CreateBucket(x, &s3.CreateBucketInput{Bucket: aws.String(b + "-new-s3")})
			return err
		}, func(c *client, b string) *resp {
			return c.do("POST", "/api/buckets", map[string]any{"name": b + "-new-api"})
		}},
		{"DeleteBucket", func(c *s3.Client, b string) error {
			_, err := c.DeleteBucket(x, &s3.DeleteBucketInput{Bucket: aws.String(b)})
			return err
		}, func(c *client, b string) *resp { return c.do("DELETE", "/api/buckets/"+b, nil) }},
		{"HeadBucket", func(c *s3.Client, b string) error {
			_, err := c.HeadBucket(x, &s3.HeadBucketInput{Bucket: aws.String(b)})
			return err
		}, func(c *client, b string) *resp { return c.do("GET", "/api/buckets/"+b, nil) }},
		{"PutBucketVersioning", func(c *s3.Client, b string) error {
			_, err := c.PutBucketVersioning(x, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
				VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
			return err
		}, func(c *client, b string) *resp {
			return c.do("PUT", "/api/buckets/"+b+"/versioning", map[string]any{"status": "Enabled"})
		}},
		{"GetBucketVersioning", func(c *s3.Client, b string) error {
			_, err := c.GetBucketVersioning(x, &s3.GetBucketVersioningInput{Bucket: aws.String(b)})
			return err
		}, func(c *client, b string) *resp { return c.do("GET", "/api/buckets/"+b+"/versioning", nil) }},
		{"PutBucketCors", func(c *s3.Client, b string) error {
			_, err := c.PutBucketCors(x, &s3.PutBucketCorsInput{Bucket: aws.String(b), CORSConfiguration: cors})
			return err
		}, func(c *client, b string) *resp {
			return c.do("PUT", "/api/buckets/"+b+"/cors", map[string]any{"rules": []map[string]any{{"allowedOrigins": []string{"*"}, "allowedMethods": []string{"GET"}}}})
		}},
		{"GetBucketCors", func(c *s3.Client, b string) error {
			_, err := c.GetBucketCors(x, &s3.GetBucketCorsInput{Bucket: aws.String(b)})
			return err
		}, func(c *client, b string) *resp { return c.do("GET", "/api/buckets/"+b+"/cors", nil) }},
		{"PutBucketTagging", func(c *s3.Client, b string) error {
			_, err := c.PutBucketTagging(x, &s3.PutBucketTaggingInput{Bucket: aws.String(b),
				Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}})
			return err
		}, func(c *client, b string) *resp {
			return c.do("PUT", "/api/buckets/"+b+"/tagging", map[string]any{"tags": []map[string]string{{"key": "k", "value": "v"}}})
		}},
		{"DeleteBucketLifecycle", func(c *s3.Client, b string) error {
			_, err := c.DeleteBucketLifecycle(x, &s3.DeleteBucketLifecycleInput{Bucket: aws.String(b)})
			return err
		}, func(c *client, b string) *resp { return c.do("DELETE", "/api/buckets/"+b+"/lifecycle", nil) }},
		{"GetBucketAcl", func(c *s3.Client, b string) error {
			_, err := c.GetBucketAcl(x, &s3.GetBucketAclInput{Bucket: aws.String(b)})
			return err
		}, func(c *client, b string) *resp { return c.do("GET", "/api/buckets/"+b+"/acl", nil) }},
		{"PutBucketAcl", func(c *s3.Client, b string) error {
			_, err := c.PutBucketAcl(x, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: types.BucketCannedACLPrivate})
			return err
		}, func(c *client, b string) *resp {
			return c.do("PUT", "/api/buckets/"+b+"/acl", map[string]any{"acl": "private"})
		}},
		{"PutBucketPolicy", func(c *s3.Client, b string) error {
			_, err := c.PutBucketPolicy(x, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(parityPolicy(b))})
			return err
		}, func(c *client, b string) *resp {
			var doc any
			json.Unmarshal([]byte(parityPolicy(b)), &doc)
			return c.do("PUT", "/api/buckets/"+b+"/policy", doc)
		}},
		{"GetBucketPolicyStatus", func(c *s3.Client, b string) error {
			_, err := c.GetBucketPolicyStatus(x, &s3.GetBucketPolicyStatusInput{Bucket: aws.String(b)})
			return err
		}, func(c *client, b string) *resp { return c.do("GET", "/api/buckets/"+b+"/policy/status", nil) }},
		{"GetBucketNotification", func(c *s3.Client, b string) error {
			_, err := c.GetBucketNotificationConfiguration(x, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(b)})
			return err
		}, func(c *client, b string) *resp { return c.do("GET", "/api/notifications/"+b, nil) }},
		{"ListMultipartUploads", func(c *s3.Client, b string) error {
			_, err := c.ListMultipartUploads(x, &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
			return err
		}, func(c *client, b string) *resp { return c.do("GET", "/api/buckets/"+b+"/uploads", nil) }},
	}
	// What each user must be answered, so that the test fails if both
	// surfaces went wrong the same way.
	wantAllowed := map[string]map[string]bool{
		"p-owner":  {"CreateBucket": true, "DeleteBucket": true, "PutBucketCors": true, "GetBucketAcl": true},
		"p-other":  {"CreateBucket": true, "DeleteBucket": false, "GetBucketVersioning": false, "PutBucketCors": false},
		"p-reader": {"CreateBucket": false, "DeleteBucket": false, "GetBucketVersioning": true, "GetBucketCors": true, "PutBucketCors": false},
		"p-writer": {"CreateBucket": false, "DeleteBucket": false, "ListMultipartUploads": true, "GetBucketAcl": false},
	}
	for _, q := range questions {
		for u := range users {
			s3Denied := denied(q.s3(s3c[u], fresh()))
			r := q.api(api[u], fresh())
			apiDenied := r.Status == http.StatusForbidden
			if r.Status >= 500 {
				t.Fatalf("%s as %s: /api %d %s", q.name, u, r.Status, r.Body)
			}
			if s3Denied != apiDenied {
				t.Errorf("%s as %s: S3 denied=%v, /api denied=%v (%d %s)", q.name, u, s3Denied, apiDenied, r.Status, r.Body)
			}
			if want, ok := wantAllowed[u][q.name]; ok && want == s3Denied {
				t.Errorf("%s as %s: denied=%v, want allowed=%v", q.name, u, s3Denied, want)
			}
		}
	}
}

func parityPolicy(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/*"}]}`
}

// FuzzBucketSettingsBodies sends arbitrary JSON bodies to every setting
// that parses one: each must be accepted or refused with a 4xx, never a
// 5xx, and whatever was accepted must read back (through /api and through
// the S3 surface's parsers, which read the same stored documents).
func FuzzBucketSettingsBodies(f *testing.F) {
	settings := []string{"versioning", "object-lock", "tagging", "cors", "lifecycle", "policy", "acl", "ownership-controls", "notifications"}
	seeds := []string{
		`{"status":"Enabled"}`,
		`{"objectLockEnabled":"Enabled","rule":{"defaultRetention":{"mode":"GOVERNANCE","days":1}}}`,
		`{"tags":[{"key":"a","value":"b"}]}`,
		`{"rules":[{"allowedOrigins":["*"],"allowedMethods":["GET"],"maxAgeSeconds":1}]}`,
		`{"rules":[{"status":"Enabled","filter":{"and":{"prefix":"p","tags":[{"key":"k","value":"v"}]}},"expiration":{"days":3}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::fuzzbkt/*"}]}`,
		`{"grants":[{"grantee":{"type":"Group","uri":"http://acs.amazonaws.com/groups/global/AllUsers"},"permission":"READ"}]}`,
		`{"objectOwnership":"ObjectWriter"}`,
		`{"notifications":[{"endpoint":"` + settingsTargetARN + `","events":["s3:ObjectCreated:*"],"prefix":"<&>"}]}`,
		`{"rules":[{"allowedOrigins":["<x>&"],"allowedMethods":["GET"],"id":"]]>"}]}`,
		`{"tags":[{"key":"\u0000","value":"\ud800"}]}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	e := newEnv(f, withRouter)
	root := e.root()
	root.do("POST", "/api/buckets", map[string]any{"name": "fuzzbkt", "versioning": true}).want(http.StatusCreated)
	// The harness's client reports through the *testing.F, which a fuzz
	// target may not use: requests here are sent directly.
	send := func(t *testing.T, method, setting string, body []byte) (int, []byte) {
		req, err := http.NewRequest(method, e.URL+"/api/buckets/fuzzbkt/"+setting, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+root.bearer)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		return res.StatusCode, data
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		setting := settings[int(which)%len(settings)]
		put, out := send(t, "PUT", setting, body)
		if put >= 500 {
			t.Fatalf("PUT %s %q: %d %s", setting, body, put, out)
		}
		get, out := send(t, "GET", setting, nil)
		if get >= 500 || (put == http.StatusOK && get != http.StatusOK) {
			t.Fatalf("GET %s after PUT %q (%d): %d %s", setting, body, put, get, out)
		}
		if setting == "cors" && put == http.StatusOK {
			if _, err := bucketsRootSDK(e).GetBucketCors(context.Background(), &s3.GetBucketCorsInput{Bucket: aws.String("fuzzbkt")}); err != nil {
				t.Fatalf("S3 cannot read CORS stored from %q: %v", body, err)
			}
		}
		if setting == "tagging" && put == http.StatusOK {
			if _, err := bucketsRootSDK(e).GetBucketTagging(context.Background(), &s3.GetBucketTaggingInput{Bucket: aws.String("fuzzbkt")}); err != nil {
				t.Fatalf("S3 cannot read tags stored from %q: %v", body, err)
			}
		}
	})
}
