package s3api_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/minio/minio-go/v7"
)

func putBody(t *testing.T, c *s3.Client, bucket, key, body string) *s3.PutObjectOutput {
	t.Helper()
	out, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return out
}

func readVersion(t *testing.T, c *s3.Client, bucket, key, vid string) (string, error) {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	out, err := c.GetObject(ctx(t), in)
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	return readAll(t, out.Body), nil
}

func statusOf(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// TestSDKVersionFlow follows AWS's documented versioning semantics through
// aws-sdk-go-v2: the null version from before versioning, version ids,
// delete markers (404 with the marker header, 405 by version id),
// permanent deletes, suspended-mode null versions, and listing.
func TestSDKVersionFlow(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "vflow")
	if out := putBody(t, c, "vflow", "k", "null-1"); out.VersionId != nil {
		t.Errorf("unversioned PUT returned version id %q", *out.VersionId)
	}
	v, err := c.GetBucketVersioning(x, &s3.GetBucketVersioningInput{Bucket: aws.String("vflow")})
	if err != nil || v.Status != "" {
		t.Fatalf("versioning before enabling = %q, %v", v.Status, err)
	}
	if _, err := c.PutBucketVersioning(x, &s3.PutBucketVersioningInput{Bucket: aws.String("vflow"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	v1 := aws.ToString(putBody(t, c, "vflow", "k", "one").VersionId)
	v2 := aws.ToString(putBody(t, c, "vflow", "k", "two").VersionId)
	if v1 == "" || v2 == "" || v1 == v2 || v1 == "null" {
		t.Fatalf("version ids %q, %q", v1, v2)
	}
	for vid, want := range map[string]string{"": "two", v1: "one", v2: "two", "null": "null-1"} {
		if got, err := readVersion(t, c, "vflow", "k", vid); err != nil || got != want {
			t.Errorf("GET version %q = %q, %v; want %q", vid, got, err, want)
		}
	}
	del, err := c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("vflow"), Key: aws.String("k")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) == "" {
		t.Fatalf("DELETE = %+v, %v; want a delete marker", del, err)
	}
	marker := aws.ToString(del.VersionId)
	_, err = readVersion(t, c, "vflow", "k", "")
	wantCode(t, err, "NoSuchKey")
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response.Header.Get("X-Amz-Delete-Marker") != "true" {
		t.Errorf("404 of a deleted key lacks x-amz-delete-marker")
	}
	_, err = readVersion(t, c, "vflow", "k", marker)
	if statusOf(err) != http.StatusMethodNotAllowed {
		t.Errorf("GET of the marker by version id: %v, want 405", err)
	}
	if errors.As(err, &re) && re.Response.Header.Get("Last-Modified") == "" {
		t.Error("the 405 for a delete marker lacks Last-Modified (the GetObject reference requires it)")
	}
	hm, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("vflow"), Key: aws.String("k"), VersionId: aws.String(marker)})
	if statusOf(err) != http.StatusMethodNotAllowed || (errors.As(err, &re) && re.Response.Header.Get("Last-Modified") == "") {
		t.Errorf("HEAD of the marker by version id = %v, %v; want 405 with Last-Modified", hm, err)
	}
	lv, err := c.ListObjectVersions(x, &s3.ListObjectVersionsInput{Bucket: aws.String("vflow")})
	if err != nil || len(lv.Versions) != 3 || len(lv.DeleteMarkers) != 1 || !aws.ToBool(lv.DeleteMarkers[0].IsLatest) ||
		aws.ToString(lv.Versions[0].VersionId) != v2 || aws.ToString(lv.Versions[2].VersionId) != "null" {
		t.Fatalf("ListObjectVersions = %d versions, %d markers, %v", len(lv.Versions), len(lv.DeleteMarkers), err)
	}
	// Removing the marker brings the key back; removing v2 makes v1 current.
	if _, err := c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("vflow"), Key: aws.String("k"), VersionId: aws.String(marker)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("vflow"), Key: aws.String("k"), VersionId: aws.String(v2)}); err != nil {
		t.Fatal(err)
	}
	if got, err := readVersion(t, c, "vflow", "k", ""); err != nil || got != "one" {
		t.Errorf("after removing the marker and v2: %q, %v; want one", got, err)
	}
	// Suspended: PUT overwrites the null version; DELETE makes a null marker.
	if _, err := c.PutBucketVersioning(x, &s3.PutBucketVersioningInput{Bucket: aws.String("vflow"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}}); err != nil {
		t.Fatal(err)
	}
	if out := putBody(t, c, "vflow", "k", "null-2"); aws.ToString(out.VersionId) != "null" {
		t.Errorf("suspended PUT version id = %q, want null", aws.ToString(out.VersionId))
	}
	if got, err := readVersion(t, c, "vflow", "k", "null"); err != nil || got != "null-2" {
		t.Errorf("null version after a suspended PUT = %q, %v", got, err)
	}
	del, err = c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("vflow"), Key: aws.String("k")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) != "null" {
		t.Errorf("suspended DELETE = %+v, %v; want a null delete marker", del, err)
	}
	lv, err = c.ListObjectVersions(x, &s3.ListObjectVersionsInput{Bucket: aws.String("vflow")})
	if err != nil || len(lv.Versions) != 1 || aws.ToString(lv.Versions[0].VersionId) != v1 || len(lv.DeleteMarkers) != 1 {
		t.Errorf("after suspended writes: %d versions, %d markers, %v; want v1 and a null marker", len(lv.Versions), len(lv.DeleteMarkers), err)
	}
	_, err = c.DeleteBucket(x, &s3.DeleteBucketInput{Bucket: aws.String("vflow")})
	wantCode(t, err, "BucketNotEmpty")
	_, err = readVersion(t, c, "vflow", "k", "0000000000000001")
	wantCode(t, err, "NoSuchVersion")
}

// TestSDKObjectLockFlow: a bucket created with object lock, default
// retention applied, governance bypass, compliance and legal hold.
func TestSDKObjectLockFlow(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	if _, err := c.CreateBucket(x, &s3.CreateBucketInput{Bucket: aws.String("vault"), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if v, err := c.GetBucketVersioning(x, &s3.GetBucketVersioningInput{Bucket: aws.String("vault")}); err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning of a lock bucket = %q, %v", v.Status, err)
	}
	_, err := c.PutBucketVersioning(x, &s3.PutBucketVersioningInput{Bucket: aws.String("vault"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
	wantCode(t, err, "InvalidBucketState")
	if _, err := c.PutObjectLockConfiguration(x, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("vault"),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)}}}}); err != nil {
		t.Fatal(err)
	}
	gov := aws.ToString(putBody(t, c, "vault", "gov", "g").VersionId)
	head, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("vault"), Key: aws.String("gov")})
	if err != nil || head.ObjectLockMode != types.ObjectLockModeGovernance || head.ObjectLockRetainUntilDate == nil ||
		head.ObjectLockRetainUntilDate.Before(time.Now().Add(23*time.Hour)) {
		t.Fatalf("default retention on HEAD = %v %v, %v", head.ObjectLockMode, head.ObjectLockRetainUntilDate, err)
	}
	_, err = c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("vault"), Key: aws.String("gov"), VersionId: aws.String(gov)})
	wantCode(t, err, "AccessDenied")
	if _, err := c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("vault"), Key: aws.String("gov"), VersionId: aws.String(gov),
		BypassGovernanceRetention: aws.Bool(true)}); err != nil {
		t.Errorf("governance delete with bypass: %v", err)
	}
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	comp := aws.ToString(putBody(t, c, "vault", "comp", "c").VersionId)
	if _, err := c.PutObjectRetention(x, &s3.PutObjectRetentionInput{Bucket: aws.String("vault"), Key: aws.String("comp"), VersionId: aws.String(comp),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: &until}}); err != nil {
		t.Fatal(err)
	}
	shorter := until.Add(-time.Hour)
	_, err = c.PutObjectRetention(x, &s3.PutObjectRetentionInput{Bucket: aws.String("vault"), Key: aws.String("comp"), VersionId: aws.String(comp),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: &shorter}, BypassGovernanceRetention: aws.Bool(true)})
	wantCode(t, err, "AccessDenied")
	r, err := c.GetObjectRetention(x, &s3.GetObjectRetentionInput{Bucket: aws.String("vault"), Key: aws.String("comp"), VersionId: aws.String(comp)})
	if err != nil || r.Retention.Mode != types.ObjectLockRetentionModeCompliance || !r.Retention.RetainUntilDate.Equal(until) {
		t.Errorf("GetObjectRetention = %+v, %v", r, err)
	}
	_, err = c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("vault"), Key: aws.String("comp"), VersionId: aws.String(comp),
		BypassGovernanceRetention: aws.Bool(true)})
	wantCode(t, err, "AccessDenied")
	// A delete without a version id only adds a marker: allowed.
	if d, err := c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("vault"), Key: aws.String("comp")}); err != nil || !aws.ToBool(d.DeleteMarker) {
		t.Errorf("marker over a locked version = %+v, %v", d, err)
	}
	hold := aws.ToString(putBody(t, c, "vault", "hold", "h").VersionId)
	if _, err := c.PutObjectLegalHold(x, &s3.PutObjectLegalHoldInput{Bucket: aws.String("vault"), Key: aws.String("hold"), VersionId: aws.String(hold),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}}); err != nil {
		t.Fatal(err)
	}
	if lh, err := c.GetObjectLegalHold(x, &s3.GetObjectLegalHoldInput{Bucket: aws.String("vault"), Key: aws.String("hold"), VersionId: aws.String(hold)}); err != nil ||
		lh.LegalHold.Status != types.ObjectLockLegalHoldStatusOn {
		t.Errorf("GetObjectLegalHold = %+v, %v", lh, err)
	}
	_, err = c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("vault"), Key: aws.String("hold"), VersionId: aws.String(hold),
		BypassGovernanceRetention: aws.Bool(true)})
	wantCode(t, err, "AccessDenied")
	// Lock headers on a bucket without object lock are refused.
	mustCreateBucket(t, c, "plainlock")
	_, err = c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("plainlock"), Key: aws.String("k"), Body: strings.NewReader("x"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: &until})
	wantCode(t, err, "InvalidRequest")
	_, err = c.GetObjectLockConfiguration(x, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("plainlock")})
	wantCode(t, err, "ObjectLockConfigurationNotFoundError")
}

// TestMinioVersionFlow: versions and a retention through minio-go.
func TestMinioVersionFlow(t *testing.T) {
	ts := newServer(t)
	mc := ts.minio(t)
	x := ctx(t)
	if err := mc.MakeBucket(x, "mver", minio.MakeBucketOptions{Region: region, ObjectLocking: true}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, body := range []string{"a", "b"} {
		info, err := mc.PutObject(x, "mver", "k", strings.NewReader(body), 1, minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.VersionID)
	}
	n := 0
	for o := range mc.ListObjects(x, "mver", minio.ListObjectsOptions{WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("listed %d versions, want 2", n)
	}
	until := time.Now().Add(time.Hour).UTC()
	mode := minio.Governance
	if err := mc.PutObjectRetention(x, "mver", "k", minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &until, VersionID: ids[0]}); err != nil {
		t.Fatalf("PutObjectRetention: %v", err)
	}
	if err := mc.RemoveObject(x, "mver", "k", minio.RemoveObjectOptions{VersionID: ids[0]}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Errorf("removing a governed version: %v, want AccessDenied", err)
	}
	if err := mc.RemoveObject(x, "mver", "k", minio.RemoveObjectOptions{VersionID: ids[0], GovernanceBypass: true}); err != nil {
		t.Errorf("removing with the bypass: %v", err)
	}
	if err := mc.RemoveObject(x, "mver", "k", minio.RemoveObjectOptions{VersionID: ids[1]}); err != nil {
		t.Errorf("removing the other version: %v", err)
	}
}
