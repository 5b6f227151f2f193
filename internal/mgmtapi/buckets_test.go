package mgmtapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/session"
)

// bucketsSDK is an aws-sdk-go-v2 client of the env's S3 listener.
func bucketsSDK(e *env, key, secret string) *s3.Client {
	return s3.New(s3.Options{
		Region:           region,
		BaseEndpoint:     aws.String(e.S3URL),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
		RetryMaxAttempts: 1,
	})
}

func bucketsRootSDK(e *env) *s3.Client { return bucketsSDK(e, rootUser, rootSecret) }

// bucketsUserSDK gives an existing user an access key and a client.
func bucketsUserSDK(t *testing.T, e *env, user string) *s3.Client {
	t.Helper()
	k, err := e.iam.CreateAccessKey(context.Background(), iam.AccessKeyInput{User: user})
	if err != nil {
		t.Fatal(err)
	}
	return bucketsSDK(e, k.AccessKey, k.Secret)
}

// bucketsS3Code is the S3 error code of an SDK error, "" for none.
func bucketsS3Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "non-API error: " + err.Error()
	}
	return ""
}

func bucketsPut(t *testing.T, c *s3.Client, bucket, key, body string) string {
	t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return aws.ToString(out.VersionId)
}

type bucketsSummary struct {
	Name           string `json:"name"`
	Owner          string `json:"owner"`
	Region         string `json:"region"`
	CreationDate   string `json:"creationDate"`
	Versioning     string `json:"versioning"`
	ObjectLock     bool   `json:"objectLock"`
	ObjectCount    int64  `json:"objectCount"`
	TotalSize      int64  `json:"totalSize"`
	TotalSizeHuman string `json:"totalSizeHuman"`
	ObjectCountS   int64  `json:"object_count"`
	TotalSizeS     int64  `json:"total_size"`
}

func bucketsList(t *testing.T, c *client) map[string]bucketsSummary {
	t.Helper()
	var out struct {
		Buckets []bucketsSummary `json:"buckets"`
	}
	c.do("GET", "/api/buckets", nil).want(http.StatusOK).json(&out)
	m := map[string]bucketsSummary{}
	for _, b := range out.Buckets {
		m[b.Name] = b
	}
	return m
}

func TestBucketsCreateListDetail(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	r := root.do("POST", "/api/buckets", map[string]any{"name": "alpha", "versioning": true}).want(http.StatusCreated).obj()
	if r["name"] != "alpha" || r["owner"] != rootUser || r["versioning"] != "Enabled" || r["region"] != region {
		t.Fatalf("create answer: %v", r)
	}
	// S4's and ra-hcp's field names create too.
	root.do("POST", "/api/buckets", map[string]any{"bucketName": "beta"}).want(http.StatusCreated)
	root.do("POST", "/api/buckets", map[string]any{"bucket": "gamma", "region": region}).want(http.StatusCreated)

	s3c := bucketsRootSDK(e)
	bucketsPut(t, s3c, "alpha", "a.txt", strings.Repeat("x", 1000))
	bucketsPut(t, s3c, "alpha", "b.txt", strings.Repeat("y", 2000))
	bucketsPut(t, s3c, "alpha", "b.txt", strings.Repeat("z", 3000)) // a second version
	if _, err := s3c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("a.txt")}); err != nil {
		t.Fatal(err)
	}

	list := bucketsList(t, root)
	if len(list) != 3 {
		t.Fatalf("listed %v", list)
	}
	a := list["alpha"]
	// Current objects: b.txt (3000). a.txt is behind a delete marker.
	if a.ObjectCount != 1 || a.TotalSize != 3000 || a.TotalSizeHuman != "2.9 KB" || a.ObjectCountS != 1 || a.TotalSizeS != 3000 {
		t.Fatalf("alpha counts: %+v", a)
	}
	if a.Owner != rootUser || a.Region != region || a.Versioning != "Enabled" || a.CreationDate == "" {
		t.Fatalf("alpha: %+v", a)
	}
	if _, err := time.Parse(time.RFC3339, a.CreationDate); err != nil {
		t.Fatalf("creationDate %q: %v", a.CreationDate, err)
	}

	var d struct {
		bucketsSummary
		Usage struct {
			Objects, Bytes, Versions, VersionBytes, Uploads int64
		} `json:"usage"`
		IsPublic *bool `json:"isPublic"`
		Objects  []struct {
			Key       string `json:"key"`
			Size      int64  `json:"size"`
			SizeHuman string `json:"size_human"`
		} `json:"objects"`
	}
	root.do("GET", "/api/buckets/alpha", nil).want(http.StatusOK).json(&d)
	// Versions: a.txt + marker, b.txt x2.
	if d.Usage.Objects != 1 || d.Usage.Bytes != 3000 || d.Usage.Versions != 4 || d.Usage.VersionBytes != 6000 {
		t.Fatalf("usage %+v", d.Usage)
	}
	if d.IsPublic == nil || *d.IsPublic {
		t.Fatalf("isPublic %v", d.IsPublic)
	}
	if len(d.Objects) != 1 || d.Objects[0].Key != "b.txt" || d.Objects[0].Size != 3000 {
		t.Fatalf("objects %+v", d.Objects)
	}
	root.do("GET", "/api/buckets/alpha?objects=0", nil).want(http.StatusOK).json(&d)
	if len(d.Objects) != 0 {
		t.Fatalf("objects=0 listed %+v", d.Objects)
	}
	root.do("GET", "/api/buckets/alpha?objects=-1", nil).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("HEAD", "/api/buckets/alpha", nil).want(http.StatusOK)
	root.do("HEAD", "/api/buckets/nope-missing", nil).want(http.StatusNotFound)
	root.do("GET", "/api/buckets/nope-missing", nil).wantError(http.StatusNotFound, "NoSuchBucket")

	// The S3 surface sees buckets made here, and the other way round.
	out, err := s3c.ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 3 {
		t.Fatalf("S3 ListBuckets: %v %v", out, err)
	}
	v, err := s3c.GetBucketVersioning(context.Background(), &s3.GetBucketVersioningInput{Bucket: aws.String("alpha")})
	if err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("S3 versioning of alpha: %v %v", v, err)
	}
}

func TestBucketsCreateErrors(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	e.anon().do("POST", "/api/buckets", map[string]any{"name": "anon-bucket"}).wantError(http.StatusUnauthorized, "Unauthorized")
	root.do("POST", "/api/buckets", map[string]any{}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("POST", "/api/buckets", map[string]any{"name": "Bad_Name"}).wantError(http.StatusBadRequest, "InvalidBucketName")
	root.do("POST", "/api/buckets", map[string]any{"name": "reg", "region": "eu-west-9"}).wantError(http.StatusBadRequest, "InvalidLocationConstraint")
	root.do("POST", "/api/buckets", map[string]any{"name": "lockless", "objectLock": true, "versioning": false}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("POST", "/api/buckets", map[string]any{"name": "canned", "acl": "world-writable"}).wantError(http.StatusBadRequest, "InvalidACL")
	root.do("POST", "/api/buckets", map[string]any{"name": "own", "objectOwnership": "Nobody"}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("POST", "/api/buckets", map[string]any{"name": "seed3", "owner_id": 1}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("POST", "/api/buckets", map[string]any{"name": "seed3", "owner": "someone-else"}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("POST", "/api/buckets", map[string]any{"name": "taken"}).want(http.StatusCreated)
	root.do("POST", "/api/buckets", map[string]any{"name": "taken"}).wantError(http.StatusConflict, "BucketAlreadyOwnedByYou")
	alice := e.user("alice")
	alice.do("POST", "/api/buckets", map[string]any{"name": "taken"}).wantError(http.StatusConflict, "BucketAlreadyExists")
	reader := e.user("reader", "readonly")
	reader.do("POST", "/api/buckets", map[string]any{"name": "reader-bucket"}).wantError(http.StatusForbidden, "AccessDenied")
	if _, err := e.objects.Bucket(context.Background(), "reader-bucket"); err == nil {
		t.Fatal("a refused create made the bucket")
	}
	for _, name := range []string{"reg", "lockless", "canned", "own", "seed3"} {
		root.do("GET", "/api/buckets/"+name, nil).wantError(http.StatusNotFound, "NoSuchBucket")
	}

	// Settings given at creation are applied and visible to S3.
	alice.do("POST", "/api/buckets", map[string]any{"name": "alice-pub", "acl": "public-read", "objectOwnership": "BucketOwnerPreferred"}).want(http.StatusCreated)
	acl, err := bucketsRootSDK(e).GetBucketAcl(context.Background(), &s3.GetBucketAclInput{Bucket: aws.String("alice-pub")})
	if err != nil {
		t.Fatal(err)
	}
	public := false
	for _, g := range acl.Grants {
		public = public || (g.Grantee != nil && aws.ToString(g.Grantee.URI) == iam.GroupAllUsers && g.Permission == types.PermissionRead)
	}
	if !public || aws.ToString(acl.Owner.DisplayName) != "alice" {
		t.Fatalf("ACL of alice-pub: %+v", acl)
	}
	oc, err := bucketsRootSDK(e).GetBucketOwnershipControls(context.Background(), &s3.GetBucketOwnershipControlsInput{Bucket: aws.String("alice-pub")})
	if err != nil || oc.OwnershipControls.Rules[0].ObjectOwnership != types.ObjectOwnershipBucketOwnerPreferred {
		t.Fatalf("ownership of alice-pub: %v %v", oc, err)
	}
	alice.do("POST", "/api/buckets", map[string]any{"name": "alice-enf", "acl": "public-read", "objectOwnership": "BucketOwnerEnforced"}).
		wantError(http.StatusBadRequest, "InvalidBucketAclWithObjectOwnership")
	// Object lock at creation turns versioning on.
	r := alice.do("POST", "/api/buckets", map[string]any{"name": "alice-lock", "objectLock": true}).want(http.StatusCreated).obj()
	if r["objectLock"] != true || r["versioning"] != "Enabled" || r["owner"] != "alice" {
		t.Fatalf("lock bucket: %v", r)
	}
}

func TestBucketsListShowsWhatS3Shows(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	e.user("bob")
	alice.do("POST", "/api/buckets", map[string]any{"name": "alice-1"}).want(http.StatusCreated)
	e.root().do("POST", "/api/buckets", map[string]any{"name": "root-1"}).want(http.StatusCreated)
	if l := bucketsList(t, alice); len(l) != 1 || l["alice-1"].Owner != "alice" {
		t.Fatalf("alice lists %v", l)
	}
	if l := bucketsList(t, e.root()); len(l) != 2 {
		t.Fatalf("root lists %v", l)
	}
	bob := e.as(session.Subject{User: "bob"})
	if l := bucketsList(t, bob); len(l) != 0 {
		t.Fatalf("bob lists %v", l)
	}
	out, err := bucketsUserSDK(t, e, "alice").ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 1 || aws.ToString(out.Buckets[0].Name) != "alice-1" {
		t.Fatalf("S3 ListBuckets as alice: %v %v", out, err)
	}
	e.anon().do("GET", "/api/buckets", nil).wantError(http.StatusUnauthorized, "Unauthorized")
	// A user whose policies do not allow listing is refused, as by S3.
	w := e.user("writer", "writeonly")
	w.do("GET", "/api/buckets", nil).wantError(http.StatusForbidden, "AccessDenied")
	if _, err := bucketsUserSDK(t, e, "writer").ListBuckets(context.Background(), &s3.ListBucketsInput{}); bucketsS3Code(err) != "AccessDenied" {
		t.Fatalf("S3 ListBuckets as writer: %v", err)
	}
	// Someone else's bucket: 403 for its detail, 404 for a missing one.
	bob.do("GET", "/api/buckets/alice-1", nil).wantError(http.StatusForbidden, "AccessDenied")
	bob.do("HEAD", "/api/buckets/alice-1", nil).want(http.StatusForbidden)
	bob.do("GET", "/api/buckets/no-such-bucket", nil).wantError(http.StatusNotFound, "NoSuchBucket")
	e.anon().do("GET", "/api/buckets/alice-1", nil).wantError(http.StatusUnauthorized, "Unauthorized")
}

func TestBucketsDetailHidesWhatTheCallerMayNotRead(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	alice.do("POST", "/api/buckets", map[string]any{"name": "alice-tagged", "versioning": true}).want(http.StatusCreated)
	alice.do("PUT", "/api/buckets/alice-tagged/tagging", map[string]any{"tags": []map[string]string{{"key": "team", "value": "blue"}}}).want(http.StatusOK)
	alice.do("PUT", "/api/buckets/alice-tagged/policy", map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{
			{"Effect": "Allow", "Principal": map[string]string{"AWS": "carol"}, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::alice-tagged"},
		},
	}).want(http.StatusOK)
	var full map[string]any
	alice.do("GET", "/api/buckets/alice-tagged", nil).want(http.StatusOK).json(&full)
	if full["tags"] == nil || full["versioning"] != "Enabled" || full["isPublic"] != false {
		t.Fatalf("owner's detail: %v", full)
	}
	carol := e.user("carol")
	r := carol.do("GET", "/api/buckets/alice-tagged", nil).want(http.StatusOK).obj()
	for _, k := range []string{"tags", "isPublic", "objectLockConfiguration"} {
		if _, ok := r[k]; ok {
			t.Errorf("carol, allowed only s3:ListBucket, sees %s: %v", k, r[k])
		}
	}
	if r["versioning"] != "" {
		t.Errorf("carol sees versioning %v", r["versioning"])
	}
	// And S3 refuses her the same.
	if _, err := bucketsUserSDK(t, e, "carol").GetBucketTagging(context.Background(), &s3.GetBucketTaggingInput{Bucket: aws.String("alice-tagged")}); bucketsS3Code(err) != "AccessDenied" {
		t.Fatalf("S3 GetBucketTagging as carol: %v", err)
	}
}

func TestBucketsDelete(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	root.do("POST", "/api/buckets", map[string]any{"name": "full"}).want(http.StatusCreated)
	bucketsPut(t, bucketsRootSDK(e), "full", "k", "v")
	root.do("DELETE", "/api/buckets/full", nil).wantError(http.StatusConflict, "BucketNotEmpty")
	root.do("DELETE", "/api/buckets/full?force=maybe", nil).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("DELETE", "/api/buckets/full?force=false", nil).wantError(http.StatusConflict, "BucketNotEmpty")
	root.do("DELETE", "/api/buckets/no-such-bucket", nil).wantError(http.StatusNotFound, "NoSuchBucket")
	e.anon().do("DELETE", "/api/buckets/full", nil).wantError(http.StatusUnauthorized, "Unauthorized")
	e.user("mallory").do("DELETE", "/api/buckets/full?force=true", nil).wantError(http.StatusForbidden, "AccessDenied")
	e.user("reader", "readonly").do("DELETE", "/api/buckets/full?force=true", nil).wantError(http.StatusForbidden, "AccessDenied")
	if _, err := e.objects.Bucket(context.Background(), "full"); err != nil {
		t.Fatalf("refused deletes removed the bucket: %v", err)
	}
	root.do("POST", "/api/buckets", map[string]any{"name": "empty"}).want(http.StatusCreated)
	// ra-hcp's answer: 200 {status:"deleted", bucket}.
	if got := root.do("DELETE", "/api/buckets/empty", nil).want(http.StatusOK).obj(); len(got) != 2 || got["status"] != "deleted" || got["bucket"] != "empty" {
		t.Fatalf("delete answer %v", got)
	}
	root.do("GET", "/api/buckets/empty", nil).wantError(http.StatusNotFound, "NoSuchBucket")
}

func TestBucketsForceDeleteVersionsMarkersUploads(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	alice.do("POST", "/api/buckets", map[string]any{"name": "doomed", "versioning": true}).want(http.StatusCreated)
	s3c := bucketsUserSDK(t, e, "alice")
	x := context.Background()
	for i := 0; i < 3; i++ {
		bucketsPut(t, s3c, "doomed", "dir/same", "version")
	}
	bucketsPut(t, s3c, "doomed", "other", "v")
	if _, err := s3c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("doomed"), Key: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	// A marker on a key that never existed.
	if _, err := s3c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("doomed"), Key: aws.String("ghost")}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"big/1", "big/2"} {
		if _, err := s3c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("doomed"), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	// Suspended versioning adds a null version next to the others.
	if _, err := s3c.PutBucketVersioning(x, &s3.PutBucketVersioningInput{Bucket: aws.String("doomed"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}}); err != nil {
		t.Fatal(err)
	}
	bucketsPut(t, s3c, "doomed", "dir/same", "null version")

	u, err := e.store.BucketUsage(x, "doomed")
	if err != nil || u.Versions != 7 || u.Uploads != 2 {
		t.Fatalf("before: %+v %v", u, err)
	}
	alice.do("DELETE", "/api/buckets/doomed", nil).wantError(http.StatusConflict, "BucketNotEmpty")
	alice.do("DELETE", "/api/buckets/doomed?force=true", nil).want(http.StatusOK)
	alice.do("GET", "/api/buckets/doomed", nil).wantError(http.StatusNotFound, "NoSuchBucket")
	if _, err := s3c.HeadBucket(x, &s3.HeadBucketInput{Bucket: aws.String("doomed")}); err == nil {
		t.Fatal("S3 still sees the bucket")
	}
	// The name is free again, and a new bucket starts empty.
	alice.do("POST", "/api/buckets", map[string]any{"name": "doomed"}).want(http.StatusCreated)
	if l := bucketsList(t, alice); l["doomed"].ObjectCount != 0 || l["doomed"].TotalSize != 0 {
		t.Fatalf("recreated bucket: %+v", l["doomed"])
	}
}

func TestBucketsForceDeleteStopsAtLockedVersion(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	root.do("POST", "/api/buckets", map[string]any{"name": "vault", "objectLock": true}).want(http.StatusCreated)
	s3c := bucketsRootSDK(e)
	x := context.Background()
	bucketsPut(t, s3c, "vault", "a-free", "free")
	_, err := s3c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("vault"), Key: aws.String("m-locked"), Body: strings.NewReader("kept"),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	bucketsPut(t, s3c, "vault", "z-free", "free")

	r := root.do("DELETE", "/api/buckets/vault?force=true", nil).wantError(http.StatusConflict, "ObjectLocked")
	if !strings.Contains(string(r.Body), "m-locked") {
		t.Fatalf("the refusal does not name the key: %s", r.Body)
	}
	// Keys before the locked one are gone; the locked one and the rest stay.
	u, err := e.store.BucketUsage(x, "vault")
	if err != nil {
		t.Fatal(err)
	}
	if u.Versions != 2 {
		t.Fatalf("versions left: %+v", u)
	}
	if _, err := s3c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("vault"), Key: aws.String("a-free")}); err == nil {
		t.Fatal("a-free survived")
	}
	if _, err := s3c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("vault"), Key: aws.String("m-locked")}); err != nil {
		t.Fatalf("the locked object is gone: %v", err)
	}
	root.do("GET", "/api/buckets/vault", nil).want(http.StatusOK)
}

func TestBucketsUploads(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	alice.do("POST", "/api/buckets", map[string]any{"name": "parts"}).want(http.StatusCreated)
	s3c := bucketsUserSDK(t, e, "alice")
	x := context.Background()
	ids := map[string]string{}
	for _, k := range []string{"a/one", "a/two", "b/three"} {
		out, err := s3c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("parts"), Key: aws.String(k), ContentType: aws.String("text/plain")})
		if err != nil {
			t.Fatal(err)
		}
		ids[k] = aws.ToString(out.UploadId)
	}
	for n, body := range []string{strings.Repeat("p", 5<<20), "tail"} {
		if _, err := s3c.UploadPart(x, &s3.UploadPartInput{Bucket: aws.String("parts"), Key: aws.String("a/one"), UploadId: aws.String(ids["a/one"]),
			PartNumber: aws.Int32(int32(n + 1)), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	type upload struct {
		UploadID       string `json:"upload_id"`
		ObjectKey      string `json:"object_key"`
		EncodedKey     string `json:"encoded_key"`
		InitiatedBy    string `json:"initiated_by"`
		ContentType    string `json:"content_type"`
		InitiatedAt    string `json:"initiated_at"`
		PartCount      int    `json:"part_count"`
		TotalSize      int64  `json:"total_size"`
		TotalSizeHuman string `json:"total_size_human"`
	}
	type page struct {
		Bucket             string   `json:"bucket"`
		Uploads            []upload `json:"uploads"`
		CommonPrefixes     []string `json:"common_prefixes"`
		IsTruncated        bool     `json:"is_truncated"`
		NextKeyMarker      string   `json:"next_key_marker"`
		NextUploadIDMarker string   `json:"next_upload_id_marker"`
	}
	var p page
	alice.do("GET", "/api/buckets/parts/uploads", nil).want(http.StatusOK).json(&p)
	if len(p.Uploads) != 3 || p.IsTruncated || p.Bucket != "parts" {
		t.Fatalf("uploads: %+v", p)
	}
	one := p.Uploads[0]
	if one.ObjectKey != "a/one" || one.UploadID != ids["a/one"] || one.PartCount != 2 || one.TotalSize != 5<<20+4 ||
		one.TotalSizeHuman != "5.0 MB" || one.InitiatedBy != "alice" || one.ContentType != "text/plain" || one.EncodedKey != b64("a/one") {
		t.Fatalf("first upload: %+v", one)
	}
	// Paging, S4's and the seeds' parameter names alike.
	alice.do("GET", "/api/buckets/parts/uploads?max_uploads=1", nil).want(http.StatusOK).json(&p)
	if len(p.Uploads) != 1 || !p.IsTruncated || p.NextKeyMarker != "a/one" {
		t.Fatalf("page 1: %+v", p)
	}
	alice.do("GET", "/api/buckets/parts/uploads?maxUploads=5&keyMarker=a%2Fone&uploadIdMarker="+p.NextUploadIDMarker, nil).want(http.StatusOK).json(&p)
	if len(p.Uploads) != 2 || p.Uploads[0].ObjectKey != "a/two" || p.IsTruncated {
		t.Fatalf("page 2: %+v", p)
	}
	alice.do("GET", "/api/buckets/parts/uploads?prefix=b%2F", nil).want(http.StatusOK).json(&p)
	if len(p.Uploads) != 1 || p.Uploads[0].ObjectKey != "b/three" {
		t.Fatalf("prefix b/: %+v", p)
	}
	alice.do("GET", "/api/buckets/parts/uploads?delimiter=%2F", nil).want(http.StatusOK).json(&p)
	if len(p.Uploads) != 0 || len(p.CommonPrefixes) != 2 {
		t.Fatalf("delimiter: %+v", p)
	}
	alice.do("GET", "/api/buckets/parts/uploads?max_uploads=0", nil).wantError(http.StatusBadRequest, "InvalidRequest")
	alice.do("GET", "/api/buckets/parts/uploads?uploadIdMarker=x", nil).wantError(http.StatusBadRequest, "InvalidRequest")
	alice.do("GET", "/api/buckets/nothere/uploads", nil).wantError(http.StatusNotFound, "NoSuchBucket")
	e.anon().do("GET", "/api/buckets/parts/uploads", nil).wantError(http.StatusUnauthorized, "Unauthorized")
	e.user("bob").do("GET", "/api/buckets/parts/uploads", nil).wantError(http.StatusForbidden, "AccessDenied")

	// Abort.
	path := "/api/buckets/parts/uploads/" + ids["a/two"] + "?key=" + b64("a/two")
	e.user("reader", "readonly").do("DELETE", path, nil).wantError(http.StatusForbidden, "AccessDenied")
	e.anon().do("DELETE", path, nil).wantError(http.StatusUnauthorized, "Unauthorized")
	alice.do("DELETE", "/api/buckets/parts/uploads/"+ids["a/two"], nil).wantError(http.StatusBadRequest, "InvalidRequest")
	alice.do("DELETE", "/api/buckets/parts/uploads/"+ids["a/two"]+"?key=***", nil).wantError(http.StatusBadRequest, "InvalidKey")
	alice.do("DELETE", "/api/buckets/parts/uploads/"+ids["a/two"]+"?key="+b64("a/one"), nil).wantError(http.StatusNotFound, "NoSuchUpload")
	alice.do("DELETE", path, nil).want(http.StatusNoContent)
	alice.do("DELETE", path, nil).wantError(http.StatusNotFound, "NoSuchUpload")
	out, err := s3c.ListMultipartUploads(x, &s3.ListMultipartUploadsInput{Bucket: aws.String("parts")})
	if err != nil || len(out.Uploads) != 2 {
		t.Fatalf("S3 sees %v uploads after the abort: %v", out, err)
	}
	if u, err := e.store.BucketUsage(x, "parts"); err != nil || u.Uploads != 2 {
		t.Fatalf("usage uploads: %+v %v", u, err)
	}
}

// TestBucketsSizeHuman: bucket sizes read as seed 003's (and /api/stats')
// do: binary multiples named KB, MB, GB.
func TestBucketsSizeHuman(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	root.do("POST", "/api/buckets", map[string]any{"name": "sizes"}).want(http.StatusCreated)
	s3c := bucketsRootSDK(e)
	for _, c := range []struct {
		size int
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KB"}, {1536 << 10, "1.5 MB"}, {1<<20 - 1, "1.0 MB"}} {
		if c.size > 0 {
			bucketsPut(t, s3c, "sizes", "k", strings.Repeat("s", c.size))
		}
		if got := bucketsList(t, root)["sizes"].TotalSizeHuman; got != c.want {
			t.Errorf("%d bytes shown as %q, want %q", c.size, got, c.want)
		}
	}
}

// TestBucketsForceDeleteIsAuthorizedPerKey: a forced delete removes each
// version and aborts each upload as the S3 calls doing it would be
// authorized, so a Deny on some keys stops it there.
func TestBucketsForceDeleteIsAuthorizedPerKey(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	alice.do("POST", "/api/buckets", map[string]any{"name": "guarded", "versioning": true}).want(http.StatusCreated)
	s3c := bucketsUserSDK(t, e, "alice")
	x := context.Background()
	bucketsPut(t, s3c, "guarded", "a", "1")
	bucketsPut(t, s3c, "guarded", "keep/x", "2")
	if _, err := s3c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("guarded"), Key: aws.String("up/1")}); err != nil {
		t.Fatal(err)
	}
	deny := func(action, resource string) {
		alice.do("PUT", "/api/buckets/guarded/policy", map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{
			{"Effect": "Deny", "Principal": map[string]string{"AWS": "alice"}, "Action": action, "Resource": "arn:aws:s3:::guarded/" + resource}}}).want(http.StatusOK)
	}
	deny("s3:DeleteObjectVersion", "keep/*")
	alice.do("DELETE", "/api/buckets/guarded?force=true", nil).wantError(http.StatusForbidden, "AccessDenied")
	u, err := e.store.BucketUsage(x, "guarded")
	if err != nil || u.Versions != 1 || u.Uploads != 1 {
		t.Fatalf("after the refusal: %+v %v", u, err)
	}
	deny("s3:AbortMultipartUpload", "up/*")
	alice.do("DELETE", "/api/buckets/guarded?force=true", nil).wantError(http.StatusForbidden, "AccessDenied")
	if u, err = e.store.BucketUsage(x, "guarded"); err != nil || u.Versions != 0 || u.Uploads != 1 {
		t.Fatalf("after the second refusal: %+v %v", u, err)
	}
	alice.do("DELETE", "/api/buckets/guarded/policy", nil).want(http.StatusNoContent)
	alice.do("DELETE", "/api/buckets/guarded?force=true", nil).want(http.StatusOK)
}
