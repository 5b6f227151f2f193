package s3api_test

import (
	"bytes"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestSDKCopyObject(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "src")
	mustCreateBucket(t, c, "dst")
	for _, size := range []int{100, 3 << 20} {
		data := randBytes(t, size)
		srcKey := "dir/sp ace+é " + string(rune('a'+size%26))
		put, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String(srcKey), Body: bytes.NewReader(data),
			ContentType: aws.String("text/x-src"), Metadata: map[string]string{"origin": "src"}})
		if err != nil {
			t.Fatal(err)
		}
		copySrc := "src/" + url.PathEscape(srcKey)
		// COPY keeps the source's metadata; the copy is independent of it.
		out, err := c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String(copySrc)})
		if err != nil {
			t.Fatalf("CopyObject %d: %v", size, err)
		}
		if *out.CopyObjectResult.ETag != *put.ETag {
			t.Errorf("copy etag %s, source %s", *out.CopyObjectResult.ETag, *put.ETag)
		}
		if _, err := c.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("src"), Key: aws.String(srcKey)}); err != nil {
			t.Fatal(err)
		}
		got, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy")})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(got.Body)
		got.Body.Close()
		if !bytes.Equal(body, data) || *got.ContentType != "text/x-src" || got.Metadata["origin"] != "src" {
			t.Errorf("copy %d: body ok=%v type=%s meta=%v", size, bytes.Equal(body, data), *got.ContentType, got.Metadata)
		}
	}
	// A self-copy must change something.
	_, err := c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String("dst/copy")})
	wantCode(t, err, "InvalidRequest")
	// REPLACE rewrites the metadata in place.
	if _, err := c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String("/dst/copy"),
		MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("image/new"), Metadata: map[string]string{"v": "2"}}); err != nil {
		t.Fatalf("self copy with REPLACE: %v", err)
	}
	head, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy")})
	if err != nil || *head.ContentType != "image/new" || head.Metadata["v"] != "2" || head.Metadata["origin"] != "" {
		t.Errorf("after REPLACE: %+v %v", head, err)
	}
	// Copy-source conditions: a failing one is 412 for every form.
	etag := *head.ETag
	past := time.Now().Add(-time.Hour)
	for name, in := range map[string]*s3.CopyObjectInput{
		"if-match":            {CopySourceIfMatch: aws.String(`"nope"`)},
		"if-none-match":       {CopySourceIfNoneMatch: aws.String(etag)},
		"if-unmodified-since": {CopySourceIfUnmodifiedSince: aws.Time(past)},
		"if-modified-since":   {CopySourceIfModifiedSince: aws.Time(time.Now().Add(time.Hour))},
	} {
		in.Bucket, in.Key, in.CopySource = aws.String("dst"), aws.String("cond"), aws.String("dst/copy")
		_, err := c.CopyObject(x, in)
		if apiCode(err) != "PreconditionFailed" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("cond"), CopySource: aws.String("dst/copy"), CopySourceIfMatch: aws.String(etag)}); err != nil {
		t.Errorf("matching copy-source-if-match: %v", err)
	}
	_, err = c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("x"), CopySource: aws.String("dst/missing")})
	wantCode(t, err, "NoSuchKey")
	_, err = c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("x"), CopySource: aws.String("nobucket/k")})
	wantCode(t, err, "NoSuchBucket")
}

func TestSDKConditionalWrites(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "condwrite")
	put := func(in *s3.PutObjectInput) (*s3.PutObjectOutput, error) {
		in.Bucket, in.Key, in.Body = aws.String("condwrite"), aws.String("k"), bytes.NewReader([]byte("v"))
		return c.PutObject(x, in)
	}
	_, err := put(&s3.PutObjectInput{IfMatch: aws.String(`"abc"`)})
	wantCode(t, err, "NoSuchKey")
	first, err := put(&s3.PutObjectInput{IfNoneMatch: aws.String("*")})
	if err != nil {
		t.Fatalf("create-only on a new key: %v", err)
	}
	_, err = put(&s3.PutObjectInput{IfNoneMatch: aws.String("*")})
	wantCode(t, err, "PreconditionFailed")
	_, err = put(&s3.PutObjectInput{IfMatch: aws.String(`"0123"`)})
	wantCode(t, err, "PreconditionFailed")
	if _, err := put(&s3.PutObjectInput{IfMatch: first.ETag}); err != nil {
		t.Errorf("if-match with the current etag: %v", err)
	}
}
