package s3api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cofferstore/coffer/internal/iam"
)

func TestIAMReadonlyUserReadsButCannotWrite(t *testing.T) {
	s := newIAMServer(t)
	root := s.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, root, "data")
	mustPut(t, root, "data", "report.txt", "numbers")
	reader := s.user(t, "reader", "readonly")

	if body, err := getBody(t, reader, "data", "report.txt"); err != nil || body != "numbers" {
		t.Fatalf("readonly GET: %q %v", body, err)
	}
	if _, err := reader.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("data")}); err != nil {
		t.Fatalf("readonly list: %v", err)
	}
	_, err := reader.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String("x"), Body: strings.NewReader("no")})
	wantCode(t, err, "AccessDenied")
	_, err = reader.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("data"), Key: aws.String("report.txt")})
	wantCode(t, err, "AccessDenied")
	_, err = reader.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("data"), Key: aws.String("copy"), CopySource: aws.String("data/report.txt")})
	wantCode(t, err, "AccessDenied")
	_, err = reader.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("data"), Key: aws.String("big")})
	wantCode(t, err, "AccessDenied")
	// Attached policies replace the account defaults: no bucket of its own
	// to write into either.
	_, err = reader.CreateBucket(x, &s3.CreateBucketInput{Bucket: aws.String("readers")})
	wantCode(t, err, "AccessDenied")
	_, err = reader.PutBucketPolicy(x, &s3.PutBucketPolicyInput{Bucket: aws.String("data"), Policy: aws.String(`{}`)})
	wantCode(t, err, "AccessDenied")
	if body, _ := getBody(t, root, "data", "report.txt"); body != "numbers" {
		t.Fatal("the object changed")
	}
}

func TestIAMUsersAreIsolatedUnlessAPolicyGrants(t *testing.T) {
	s := newIAMServer(t)
	root := s.sdk(t)
	x := ctx(t)
	alice := s.user(t, "alice")
	bob := s.user(t, "bob")
	mustCreateBucket(t, alice, "alices")
	mustCreateBucket(t, bob, "bobs")
	mustCreateBucket(t, root, "roots")
	mustPut(t, alice, "alices", "diary", "dear diary")

	// Each account sees and touches only what it owns.
	if got := bucketNames(t, alice); got != "alices" {
		t.Errorf("alice lists %q", got)
	}
	if got := bucketNames(t, bob); got != "bobs" {
		t.Errorf("bob lists %q", got)
	}
	if got := bucketNames(t, root); got != "alices,bobs,roots" {
		t.Errorf("root lists %q", got)
	}
	_, err := bob.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("alices"), Key: aws.String("diary")})
	wantCode(t, err, "AccessDenied")
	_, err = bob.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("alices")})
	wantCode(t, err, "AccessDenied")
	_, err = bob.HeadBucket(x, &s3.HeadBucketInput{Bucket: aws.String("alices")})
	if httpStatus(err) != http.StatusForbidden {
		t.Errorf("bob HeadBucket alices: %v", err)
	}
	_, err = bob.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("alices"), Key: aws.String("x"), Body: strings.NewReader("x")})
	wantCode(t, err, "AccessDenied")
	_, err = bob.DeleteBucket(x, &s3.DeleteBucketInput{Bucket: aws.String("alices")})
	wantCode(t, err, "AccessDenied")
	_, err = bob.GetBucketPolicy(x, &s3.GetBucketPolicyInput{Bucket: aws.String("alices")})
	wantCode(t, err, "AccessDenied")
	_, err = bob.CreateBucket(x, &s3.CreateBucketInput{Bucket: aws.String("alices")})
	wantCode(t, err, "BucketAlreadyExists")
	_, err = bob.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("roots")})
	wantCode(t, err, "AccessDenied")
	// Copying out of someone else's bucket is a read of it.
	_, err = bob.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("bobs"), Key: aws.String("stolen"), CopySource: aws.String("alices/diary")})
	wantCode(t, err, "AccessDenied")
	up, err := bob.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("bobs"), Key: aws.String("parts")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bob.UploadPartCopy(x, &s3.UploadPartCopyInput{Bucket: aws.String("bobs"), Key: aws.String("parts"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String("alices/diary")})
	wantCode(t, err, "AccessDenied")
	// A missing bucket is missing, whoever asks.
	_, err = bob.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("nowhere")})
	wantCode(t, err, "NoSuchBucket")

	// Alice shares reads of one prefix with bob by bucket policy.
	putPolicy(t, alice, "alices", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":["bob"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::alices/*"]},
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/bob"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::alices",
		 "Condition":{"StringEquals":{"s3:prefix":"shared/"}}}]}`)
	if body, err := getBody(t, bob, "alices", "diary"); err != nil || body != "dear diary" {
		t.Fatalf("granted GET: %q %v", body, err)
	}
	if _, err := bob.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("alices"), Prefix: aws.String("shared/")}); err != nil {
		t.Fatalf("granted list of shared/: %v", err)
	}
	_, err = bob.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("alices")})
	wantCode(t, err, "AccessDenied")
	if _, err := bob.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("bobs"), Key: aws.String("copy"), CopySource: aws.String("alices/diary")}); err != nil {
		t.Fatalf("granted copy: %v", err)
	}
	if _, err := bob.UploadPartCopy(x, &s3.UploadPartCopyInput{Bucket: aws.String("bobs"), Key: aws.String("parts"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String("alices/diary")}); err != nil {
		t.Fatalf("granted part copy: %v", err)
	}
	_, err = bob.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("alices"), Key: aws.String("x"), Body: strings.NewReader("x")})
	wantCode(t, err, "AccessDenied")
	// Shared buckets are still not listed as one's own.
	if got := bucketNames(t, bob); got != "bobs" {
		t.Errorf("bob lists %q after the grant", got)
	}
	// The owner keeps everything, and root too.
	if _, err := root.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("alices"), Key: aws.String("diary")}); err != nil {
		t.Fatalf("root GET: %v", err)
	}
	// Deleting a user that owns buckets is refused.
	if err := s.iam.DeleteUser(x, "alice"); !errors.Is(err, iam.ErrUserOwnsBuckets) {
		t.Errorf("DeleteUser(alice) = %v", err)
	}
}

func TestIAMBucketPolicySourceIPAndDeny(t *testing.T) {
	s := newIAMServer(t)
	x := ctx(t)
	alice := s.user(t, "alice")
	mustCreateBucket(t, alice, "lab")
	mustPut(t, alice, "lab", "keep/me", "kept")
	mustPut(t, alice, "lab", "open/doc", "hello")
	// Tests run over 127.0.0.1: deny deletes from loopback, even to the
	// owner; allow everyone to read open/ from a network we are not on.
	putPolicy(t, alice, "lab", `{"Version":"2012-10-17","Statement":[
		{"Sid":"NoLoopbackDeletes","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::lab/keep/*",
		 "Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}},
		{"Sid":"OfficeReads","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::lab/open/*",
		 "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`)
	_, err := alice.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("lab"), Key: aws.String("keep/me")})
	wantCode(t, err, "AccessDenied")
	// Batching the key with others does not get round the Deny: it is
	// refused for that key alone.
	mustPut(t, alice, "lab", "open/other", "x")
	batch, err := alice.DeleteObjects(x, &s3.DeleteObjectsInput{Bucket: aws.String("lab"), Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("keep/me")}, {Key: aws.String("open/other")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(batch.Errors) != 1 || aws.ToString(batch.Errors[0].Key) != "keep/me" || aws.ToString(batch.Errors[0].Code) != "AccessDenied" ||
		len(batch.Deleted) != 1 || aws.ToString(batch.Deleted[0].Key) != "open/other" {
		t.Errorf("DeleteObjects across a Deny: deleted %+v, errors %+v", batch.Deleted, batch.Errors)
	}
	if got, err := getBody(t, alice, "lab", "keep/me"); err != nil || got != "kept" {
		t.Errorf("keep/me after the batch = %q, %v", got, err)
	}
	if _, err := alice.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("lab"), Key: aws.String("open/doc")}); err != nil {
		t.Fatalf("a delete outside the denied prefix: %v", err)
	}
	mustPut(t, alice, "lab", "open/doc", "hello")
	if code, _ := s.anon(t, "GET", "/lab/open/doc", ""); code != http.StatusForbidden {
		t.Errorf("anonymous GET from outside the allowed network: %d", code)
	}
	// Switch the network condition to ours: the same read is allowed.
	putPolicy(t, alice, "lab", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::lab/open/*",
		 "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","127.0.0.1/32"]},"Bool":{"aws:SecureTransport":"false"}}}]}`)
	if code, body := s.anon(t, "GET", "/lab/open/doc", ""); code != http.StatusOK || body != "hello" {
		t.Errorf("anonymous GET from an allowed address: %d %q", code, body)
	}
	if _, err := alice.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("lab"), Key: aws.String("keep/me")}); err != nil {
		t.Fatalf("the deny is gone: %v", err)
	}
}

func TestIAMPublicReadBucketPolicy(t *testing.T) {
	s := newIAMServer(t)
	root := s.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, root, "www")
	mustPut(t, root, "www", "index.html", "<h1>hi</h1>")

	if code, _ := s.anon(t, "GET", "/www/index.html", ""); code != http.StatusForbidden {
		t.Fatalf("anonymous GET before any policy: %d", code)
	}
	_, err := root.GetBucketPolicy(x, &s3.GetBucketPolicyInput{Bucket: aws.String("www")})
	wantCode(t, err, "NoSuchBucketPolicy")
	_, err = root.GetBucketPolicyStatus(x, &s3.GetBucketPolicyStatusInput{Bucket: aws.String("www")})
	wantCode(t, err, "NoSuchBucketPolicy")

	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::www/*"}]}`
	putPolicy(t, root, "www", doc)
	got, err := root.GetBucketPolicy(x, &s3.GetBucketPolicyInput{Bucket: aws.String("www")})
	if err != nil || !strings.Contains(*got.Policy, `"PublicRead"`) || !strings.Contains(*got.Policy, "arn:aws:s3:::www/*") {
		t.Fatalf("GetBucketPolicy: %v %v", got, err)
	}
	st, err := root.GetBucketPolicyStatus(x, &s3.GetBucketPolicyStatusInput{Bucket: aws.String("www")})
	if err != nil || st.PolicyStatus == nil || !aws.ToBool(st.PolicyStatus.IsPublic) {
		t.Fatalf("GetBucketPolicyStatus: %+v %v", st, err)
	}

	if code, body := s.anon(t, "GET", "/www/index.html", ""); code != http.StatusOK || body != "<h1>hi</h1>" {
		t.Fatalf("anonymous GET: %d %q", code, body)
	}
	if code, _ := s.anon(t, "HEAD", "/www/index.html", ""); code != http.StatusOK {
		t.Fatalf("anonymous HEAD (s3:GetObject too): %d", code)
	}
	if code, body := s.anon(t, "PUT", "/www/evil.html", "defaced"); code != http.StatusForbidden || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("anonymous PUT: %d %s", code, body)
	}
	if code, _ := s.anon(t, "DELETE", "/www/index.html", ""); code != http.StatusForbidden {
		t.Fatalf("anonymous DELETE: %d", code)
	}
	if code, _ := s.anon(t, "GET", "/www", ""); code != http.StatusForbidden {
		t.Fatalf("anonymous list: %d", code)
	}
	if code, _ := s.anon(t, "GET", "/www?policy", ""); code != http.StatusForbidden {
		t.Fatalf("anonymous GetBucketPolicy: %d", code)
	}
	if code, _ := s.anon(t, "GET", "/www/missing", ""); code != http.StatusNotFound {
		t.Fatalf("anonymous GET of a missing key: %d", code)
	}
	if code, _ := s.anon(t, "GET", "/", ""); code != http.StatusForbidden {
		t.Fatalf("anonymous ListBuckets: %d", code)
	}

	// A policy that pins readers to one address is not public.
	putPolicy(t, root, "www", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::www/*",
		"Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.1/32"}}}]}`)
	st, err = root.GetBucketPolicyStatus(x, &s3.GetBucketPolicyStatusInput{Bucket: aws.String("www")})
	if err != nil || aws.ToBool(st.PolicyStatus.IsPublic) {
		t.Fatalf("pinned policy reported public: %+v %v", st, err)
	}

	if _, err := root.DeleteBucketPolicy(x, &s3.DeleteBucketPolicyInput{Bucket: aws.String("www")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.DeleteBucketPolicy(x, &s3.DeleteBucketPolicyInput{Bucket: aws.String("www")}); err != nil {
		t.Fatalf("deleting an absent policy: %v", err)
	}
	if code, _ := s.anon(t, "GET", "/www/index.html", ""); code != http.StatusForbidden {
		t.Fatalf("anonymous GET after the policy was deleted: %d", code)
	}

	// Invalid documents.
	for name, bad := range map[string]string{
		"not JSON":        `{"Version":`,
		"empty":           ` `,
		"no principal":    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::www/*"}]}`,
		"other bucket":    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}`,
		"unknown action":  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:Teleport","Resource":"arn:aws:s3:::www/*"}]}`,
		"bad condition":   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::www/*","Condition":{"IpAddress":{"aws:SourceIp":"nonsense"}}}]}`,
		"larger than 20K": `{"Version":"2012-10-17","Id":"` + strings.Repeat("x", 21<<10) + `","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::www/*"}]}`,
	} {
		_, err := root.PutBucketPolicy(x, &s3.PutBucketPolicyInput{Bucket: aws.String("www"), Policy: aws.String(bad)})
		if apiCode(err) != "MalformedPolicy" {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err = root.GetBucketPolicy(x, &s3.GetBucketPolicyInput{Bucket: aws.String("www")})
	wantCode(t, err, "NoSuchBucketPolicy")
	_, err = root.PutBucketPolicy(x, &s3.PutBucketPolicyInput{Bucket: aws.String("nowhere"), Policy: aws.String(doc)})
	wantCode(t, err, "NoSuchBucket")
}

func TestIAMDisabledUserAndInactiveKey(t *testing.T) {
	s := newIAMServer(t)
	x := ctx(t)
	ids := s.iam
	if _, err := ids.CreateUser(x, iam.UserInput{Name: "temp"}); err != nil {
		t.Fatal(err)
	}
	k, err := ids.CreateAccessKey(x, iam.AccessKeyInput{User: "temp"})
	if err != nil {
		t.Fatal(err)
	}
	c := sdkClient(s.URL, k.AccessKey, k.Secret)
	mustCreateBucket(t, c, "temps")

	if err := ids.SetUserEnabled(x, "temp", false); err != nil {
		t.Fatal(err)
	}
	_, err = c.ListBuckets(x, &s3.ListBucketsInput{})
	wantCode(t, err, "AccessDenied")
	_, err = c.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("temps")})
	wantCode(t, err, "AccessDenied")
	if err := ids.SetUserEnabled(x, "temp", true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("temps")}); err != nil {
		t.Fatalf("re-enabled: %v", err)
	}

	inactive := false
	if _, err := ids.UpdateAccessKey(x, k.AccessKey, iam.AccessKeyUpdate{Active: &inactive}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ListBuckets(x, &s3.ListBucketsInput{})
	wantCode(t, err, "InvalidAccessKeyId")

	// A second key of the same user still works; deleting it ends that.
	k2, err := ids.CreateAccessKey(x, iam.AccessKeyInput{User: "temp", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	c2 := sdkClient(s.URL, k2.AccessKey, k2.Secret)
	if _, err := c2.ListBuckets(x, &s3.ListBucketsInput{}); err != nil {
		t.Fatal(err)
	}
	// Presigned URLs of a deleted key stop working too.
	url := presignGet(t, c2, "temps", "anything")
	if err := ids.DeleteAccessKey(x, k2.AccessKey); err != nil {
		t.Fatal(err)
	}
	_, err = c2.ListBuckets(x, &s3.ListBucketsInput{})
	wantCode(t, err, "InvalidAccessKeyId")
	resp, err := rawClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("presigned URL of a deleted key: %d", resp.StatusCode)
	}
	_, err = sdkClient(s.URL, "NOSUCHKEY", "whatever-secret").ListBuckets(x, &s3.ListBucketsInput{})
	wantCode(t, err, "InvalidAccessKeyId")
}

func presignGet(t testing.TB, c *s3.Client, bucket, key string) string {
	t.Helper()
	req, err := s3.NewPresignClient(c).PresignGetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	return req.URL
}

func TestIAMGroupsAndCustomPolicies(t *testing.T) {
	s := newIAMServer(t)
	root := s.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, root, "team")
	mustCreateBucket(t, root, "secret")
	if _, err := s.iam.CreatePolicy(x, "team-rw", []byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":["arn:aws:s3:::team","arn:aws:s3:::team/*"]},
		{"Effect":"Deny","Action":"s3:PutObject","Resource":"arn:aws:s3:::team/readonly/*"}]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.iam.CreateGroup(x, "team", []string{"team-rw"}); err != nil {
		t.Fatal(err)
	}
	dev := s.user(t, "dev")
	_, err := dev.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("team"), Key: aws.String("a"), Body: strings.NewReader("a")})
	wantCode(t, err, "AccessDenied")
	if err := s.iam.AddUserToGroup(x, "dev", "team"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, dev, "team", "a", "a")
	_, err = dev.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("team"), Key: aws.String("readonly/b"), Body: strings.NewReader("b")})
	wantCode(t, err, "AccessDenied")
	_, err = dev.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("secret")})
	wantCode(t, err, "AccessDenied")
	_, err = dev.ListObjectVersions(x, &s3.ListObjectVersionsInput{Bucket: aws.String("team")})
	wantCode(t, err, "AccessDenied") // s3:ListBucketVersions is not granted
	if err := s.iam.RemoveUserFromGroup(x, "dev", "team"); err != nil {
		t.Fatal(err)
	}
	_, err = dev.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("team"), Key: aws.String("a")})
	wantCode(t, err, "AccessDenied")
}

// TestIAMVersionActions: reading or deleting a version by id is its own
// action, as in S3.
func TestIAMVersionActions(t *testing.T) {
	s := newIAMServer(t)
	root := s.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, root, "hist")
	if _, err := root.PutBucketVersioning(x, &s3.PutBucketVersioningInput{Bucket: aws.String("hist"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	put, err := root.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("hist"), Key: aws.String("k"), Body: strings.NewReader("v1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.iam.CreatePolicy(x, "current-only", []byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:GetObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::hist/*"}]}`)); err != nil {
		t.Fatal(err)
	}
	u := s.user(t, "now", "current-only")
	if _, err := getBody(t, u, "hist", "k"); err != nil {
		t.Fatal(err)
	}
	_, err = u.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("hist"), Key: aws.String("k"), VersionId: put.VersionId})
	wantCode(t, err, "AccessDenied")
	_, err = u.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("hist"), Key: aws.String("k"), VersionId: put.VersionId})
	wantCode(t, err, "AccessDenied")
	_, err = u.GetObjectTagging(x, &s3.GetObjectTaggingInput{Bucket: aws.String("hist"), Key: aws.String("k"), VersionId: put.VersionId})
	wantCode(t, err, "AccessDenied")
	if _, err := u.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("hist"), Key: aws.String("k")}); err != nil {
		t.Fatalf("a delete marker is s3:DeleteObject: %v", err)
	}
	if body, err := getBodyVersion(t, root, "hist", "k", put.VersionId); err != nil || body != "v1" {
		t.Fatalf("the version survived: %q %v", body, err)
	}
}

func getBodyVersion(t testing.TB, c *s3.Client, bucket, key string, vid *string) (string, error) {
	t.Helper()
	out, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: vid})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}
