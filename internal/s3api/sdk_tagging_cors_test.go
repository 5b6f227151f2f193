package s3api_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func tagMap(ts []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range ts {
		m[*t.Key] = *t.Value
	}
	return m
}

func TestSDKObjectTagging(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "tags")
	if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("k"), Body: strings.NewReader("data"),
		Tagging: aws.String("project=coffer&team=storage%20eng")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetObjectTagging(x, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if m := tagMap(got.TagSet); len(m) != 2 || m["project"] != "coffer" || m["team"] != "storage eng" {
		t.Errorf("tags from x-amz-tagging: %v", m)
	}
	head, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("tags"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("tags"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if aws.ToInt32(out.TagCount) != 2 {
		t.Errorf("x-amz-tagging-count = %v", out.TagCount)
	}
	if _, err := c.PutObjectTagging(x, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("only"), Value: aws.String("one")}}}}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetObjectTagging(x, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k")})
	if m := tagMap(got.TagSet); len(m) != 1 || m["only"] != "one" {
		t.Errorf("after PutObjectTagging: %v", m)
	}
	// Tagging changes nothing else about the object.
	after, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("tags"), Key: aws.String("k")})
	if err != nil || *after.ETag != *head.ETag || !after.LastModified.Equal(*head.LastModified) {
		t.Errorf("tagging changed the object: %v", err)
	}
	// Limits.
	var eleven []types.Tag
	for i := range 11 {
		eleven = append(eleven, types.Tag{Key: aws.String(strings.Repeat("k", i+1)), Value: aws.String("v")})
	}
	for name, set := range map[string][]types.Tag{
		"11 tags":     eleven,
		"long key":    {{Key: aws.String(strings.Repeat("k", 129)), Value: aws.String("v")}},
		"long value":  {{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", 257))}},
		"aws: prefix": {{Key: aws.String("aws:x"), Value: aws.String("v")}},
		"duplicate":   {{Key: aws.String("d"), Value: aws.String("1")}, {Key: aws.String("d"), Value: aws.String("2")}},
	} {
		_, err := c.PutObjectTagging(x, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k"), Tagging: &types.Tagging{TagSet: set}})
		if apiCode(err) != "InvalidTag" {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Copy keeps the source's tags unless told to replace them.
	if _, err := c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("tags"), Key: aws.String("copy"), CopySource: aws.String("tags/k")}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetObjectTagging(x, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("copy")})
	if m := tagMap(got.TagSet); m["only"] != "one" {
		t.Errorf("copied tags: %v", m)
	}
	if _, err := c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("tags"), Key: aws.String("copy2"), CopySource: aws.String("tags/k"),
		TaggingDirective: types.TaggingDirectiveReplace, Tagging: aws.String("new=tag")}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetObjectTagging(x, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("copy2")})
	if m := tagMap(got.TagSet); len(m) != 1 || m["new"] != "tag" {
		t.Errorf("replaced tags: %v", m)
	}
	// Multipart uploads carry x-amz-tagging to the object.
	cr, err := c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("tags"), Key: aws.String("mp"), Tagging: aws.String("mp=yes")})
	if err != nil {
		t.Fatal(err)
	}
	parts := uploadParts(t, c, "tags", "mp", *cr.UploadId, "", []byte("one part"))
	if _, err := c.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("tags"), Key: aws.String("mp"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetObjectTagging(x, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("mp")})
	if m := tagMap(got.TagSet); m["mp"] != "yes" {
		t.Errorf("multipart tags: %v", m)
	}
	if _, err := c.DeleteObjectTagging(x, &s3.DeleteObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetObjectTagging(x, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k")})
	if len(got.TagSet) != 0 {
		t.Errorf("tags after delete: %v", got.TagSet)
	}
	_, err = c.GetObjectTagging(x, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("missing")})
	wantCode(t, err, "NoSuchKey")
}

func TestSDKBucketTagging(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "btags")
	_, err := c.GetBucketTagging(x, &s3.GetBucketTaggingInput{Bucket: aws.String("btags")})
	wantCode(t, err, "NoSuchTagSet")
	set := []types.Tag{{Key: aws.String("cost-center"), Value: aws.String("42")}, {Key: aws.String("env"), Value: aws.String("prod")}}
	if _, err := c.PutBucketTagging(x, &s3.PutBucketTaggingInput{Bucket: aws.String("btags"), Tagging: &types.Tagging{TagSet: set}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketTagging(x, &s3.GetBucketTaggingInput{Bucket: aws.String("btags")})
	if err != nil {
		t.Fatal(err)
	}
	if m := tagMap(got.TagSet); len(m) != 2 || m["env"] != "prod" {
		t.Errorf("bucket tags: %v", m)
	}
	if _, err := c.DeleteBucketTagging(x, &s3.DeleteBucketTaggingInput{Bucket: aws.String("btags")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetBucketTagging(x, &s3.GetBucketTaggingInput{Bucket: aws.String("btags")})
	wantCode(t, err, "NoSuchTagSet")
}

func TestSDKCORS(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "web")
	if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("web"), Key: aws.String("index.html"), Body: bytes.NewReader([]byte("<p>hi</p>"))}); err != nil {
		t.Fatal(err)
	}
	preflight := func(origin, method, headers string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, ts.URL+"/web/index.html", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			req.Header.Set("Access-Control-Request-Headers", headers)
		}
		resp, err := rawClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := preflight("https://app.example", "PUT", ""); resp.StatusCode != 403 {
		t.Errorf("preflight without CORS rules: %d", resp.StatusCode)
	}
	_, err := c.GetBucketCors(x, &s3.GetBucketCorsInput{Bucket: aws.String("web")})
	wantCode(t, err, "NoSuchCORSConfiguration")
	_, err = c.PutBucketCors(x, &s3.PutBucketCorsInput{Bucket: aws.String("web"), CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{
		{AllowedOrigins: []string{"https://*.example"}, AllowedMethods: []string{"PATCH"}}}}})
	wantCode(t, err, "InvalidRequest")
	if _, err := c.PutBucketCors(x, &s3.PutBucketCorsInput{Bucket: aws.String("web"), CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{
		{AllowedOrigins: []string{"https://*.example"}, AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"content-type", "x-amz-*"},
			ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(600)},
		{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}},
	}}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketCors(x, &s3.GetBucketCorsInput{Bucket: aws.String("web")})
	if err != nil || len(got.CORSRules) != 2 || aws.ToInt32(got.CORSRules[0].MaxAgeSeconds) != 600 {
		t.Fatalf("GetBucketCors: %+v %v", got, err)
	}

	resp := preflight("https://app.example", "PUT", "Content-Type, X-Amz-Date")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "PUT") || resp.Header.Get("Access-Control-Max-Age") != "600" ||
		resp.Header.Get("Access-Control-Expose-Headers") != "ETag" {
		t.Errorf("allowed preflight: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := preflight("https://app.example", "PUT", "x-not-allowed"); resp.StatusCode != 403 {
		t.Errorf("preflight with a header no rule allows: %d", resp.StatusCode)
	}
	if resp := preflight("https://evil.test", "PUT", ""); resp.StatusCode != 403 {
		t.Errorf("preflight from another origin for PUT: %d", resp.StatusCode)
	}
	if resp := preflight("https://evil.test", "GET", ""); resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("wildcard GET preflight: %d %v", resp.StatusCode, resp.Header)
	}
	// An actual request from an allowed origin gets the headers, so the
	// page can read the ETag of its upload.
	ps := s3.NewPresignClient(c)
	put, err := ps.PresignPutObject(x, &s3.PutObjectInput{Bucket: aws.String("web"), Key: aws.String("upload.bin")})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, put.URL, strings.NewReader("from the browser"))
	req.Header.Set("Origin", "https://app.example")
	resp2, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 200 || resp2.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || resp2.Header.Get("Access-Control-Expose-Headers") != "ETag" {
		t.Errorf("cross-origin PUT: %d %v", resp2.StatusCode, resp2.Header)
	}
	if _, err := c.DeleteBucketCors(x, &s3.DeleteBucketCorsInput{Bucket: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if resp := preflight("https://app.example", "GET", ""); resp.StatusCode != 403 {
		t.Errorf("preflight after DeleteBucketCors: %d", resp.StatusCode)
	}
}
