package s3api_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestSDKBuckets(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)

	mustCreateBucket(t, c, "alpha")
	mustCreateBucket(t, c, "beta.with.dots")
	_, err := c.CreateBucket(x, &s3.CreateBucketInput{Bucket: aws.String("alpha")})
	wantCode(t, err, "BucketAlreadyOwnedByYou")

	for _, bad := range []string{"ab", "UPPER", "has_underscore", "-leading", "trailing-", "a..b", "192.168.1.1", "xn--punycode", strings.Repeat("a", 64)} {
		_, err := c.CreateBucket(x, &s3.CreateBucketInput{Bucket: aws.String(bad)})
		if code := apiCode(err); code != "InvalidBucketName" {
			t.Errorf("CreateBucket(%q) = %v (code %q), want InvalidBucketName", bad, err, code)
		}
	}

	_, err = c.CreateBucket(x, &s3.CreateBucketInput{Bucket: aws.String("elsewhere"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}})
	wantCode(t, err, "InvalidLocationConstraint")

	// Our own region may be named explicitly.
	if _, err := c.CreateBucket(x, &s3.CreateBucketInput{Bucket: aws.String("gamma"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: region}}); err != nil {
		t.Fatalf("CreateBucket with own region: %v", err)
	}

	out, err := c.ListBuckets(x, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range out.Buckets {
		names = append(names, *b.Name)
		if b.CreationDate == nil || b.CreationDate.IsZero() {
			t.Errorf("bucket %s has no creation date", *b.Name)
		}
	}
	if got := strings.Join(names, ","); got != "alpha,beta.with.dots,gamma" {
		t.Errorf("ListBuckets = %s", got)
	}
	if out.Owner == nil || out.Owner.ID == nil || len(*out.Owner.ID) != 64 {
		t.Errorf("owner = %+v", out.Owner)
	}

	if _, err := c.HeadBucket(x, &s3.HeadBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Errorf("HeadBucket: %v", err)
	}
	_, err = c.HeadBucket(x, &s3.HeadBucketInput{Bucket: aws.String("missing")})
	if httpStatus(err) != 404 {
		t.Errorf("HeadBucket missing: %v", err)
	}

	loc, err := c.GetBucketLocation(x, &s3.GetBucketLocationInput{Bucket: aws.String("alpha")})
	if err != nil || loc.LocationConstraint != "" {
		t.Errorf("GetBucketLocation = %+v, %v (us-east-1 is reported empty)", loc, err)
	}

	if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteBucket(x, &s3.DeleteBucketInput{Bucket: aws.String("alpha")})
	wantCode(t, err, "BucketNotEmpty")
	if _, err := c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(x, &s3.DeleteBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Fatalf("DeleteBucket empty: %v", err)
	}
	_, err = c.DeleteBucket(x, &s3.DeleteBucketInput{Bucket: aws.String("alpha")})
	wantCode(t, err, "NoSuchBucket")
	_, err = c.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("alpha")})
	wantCode(t, err, "NoSuchBucket")
	_, err = c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k"), Body: strings.NewReader("x")})
	wantCode(t, err, "NoSuchBucket")

	// A deleted name can be created again.
	mustCreateBucket(t, c, "alpha")

	v, err := c.GetBucketVersioning(x, &s3.GetBucketVersioningInput{Bucket: aws.String("alpha")})
	if err != nil || v.Status != "" {
		t.Errorf("GetBucketVersioning = %+v, %v", v, err)
	}
}

func TestVirtualHostedStyle(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	mustCreateBucket(t, c, "vhost")
	if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("vhost"), Key: aws.String("dir/file.txt"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatal(err)
	}
	// Address the server by IP but present the virtual host name, as a
	// client behind DNS would: vhost.s3.test -> bucket "vhost".
	vc := sdkClient("http://s3.test", rootKey, rootSecret, func(o *s3.Options) {
		o.UsePathStyle = false
		o.HTTPClient = hostRewriter(ts.URL)
	})
	got, err := vc.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("vhost"), Key: aws.String("dir/file.txt")})
	if err != nil {
		t.Fatalf("virtual-hosted GET: %v", err)
	}
	defer got.Body.Close()
	if b := readAll(t, got.Body); b != "hello" {
		t.Errorf("body = %q", b)
	}
}
