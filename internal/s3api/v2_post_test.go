package s3api_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	mcreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/s3api"
)

func minioV2(t *testing.T, endpoint, secret string) *minio.Client {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(endpoint, "http://"), &minio.Options{Creds: mcreds.NewStaticV2(rootKey, secret, ""), Region: region})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSignatureV2(t *testing.T) {
	ts := newServer(t)
	mc := minioV2(t, ts.URL, rootSecret)
	x := ctx(t)
	if err := mc.MakeBucket(x, "vtwo", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := randBytes(t, 300<<10)
	if _, err := mc.PutObject(x, "vtwo", "dir/k ey+1", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true}); err != nil {
		t.Fatalf("V2 PUT: %v", err)
	}
	obj, err := mc.GetObject(x, "vtwo", "dir/k ey+1", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("V2 GET: %v", err)
	}
	u, err := mc.PresignedGetObject(x, "vtwo", "dir/k ey+1", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Errorf("V2 presigned GET: %d", resp.StatusCode)
	}
	_, err = minioV2(t, ts.URL, "wrong-secret-value").StatObject(x, "vtwo", "dir/k ey+1", minio.StatObjectOptions{})
	if minio.ToErrorResponse(err).StatusCode != 403 {
		t.Errorf("V2 with a wrong secret: %v", err)
	}

	// Disabled: V2 is refused with a message, SigV4 still works.
	off := newServer(t, func(c *s3api.Config, _ *object.Options) { c.DisableSigV2 = true })
	mustCreateBucket(t, off.sdk(t), "vtwo")
	if err := minioV2(t, off.URL, rootSecret).MakeBucket(x, "other", minio.MakeBucketOptions{}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Errorf("V2 on a server with V2 disabled: %v", err)
	}
}

// postForm builds and sends a browser-style form upload.
func postForm(t *testing.T, url string, fields map[string]string, file []byte) *http.Response {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	fw, err := w.CreateFormFile("file", "photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	w.Close()
	resp, err := http.Post(url, w.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestPostPolicyUpload(t *testing.T) {
	ts := newServer(t)
	mc := ts.minio(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "forms")
	policy := func(mut func(*minio.PostPolicy)) (string, map[string]string) {
		p := minio.NewPostPolicy()
		p.SetBucket("forms")
		p.SetKeyStartsWith("uploads/")
		p.SetExpires(time.Now().Add(10 * time.Minute))
		p.SetContentLengthRange(1, 1<<20)
		if mut != nil {
			mut(p)
		}
		u, fields, err := mc.PresignedPostPolicy(x, p)
		if err != nil {
			t.Fatal(err)
		}
		fields["key"] = "uploads/${filename}"
		return u.String(), fields
	}
	// Every field must be covered by the policy, success_action_status too.
	u, fields := policy(func(p *minio.PostPolicy) { p.SetSuccessStatusAction("201") })
	data := randBytes(t, 1000)
	resp := postForm(t, u, fields, data)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || !strings.Contains(string(body), "<Key>uploads/photo.jpg</Key>") {
		t.Fatalf("POST upload: %d %s", resp.StatusCode, body)
	}
	out, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("forms"), Key: aws.String("uploads/photo.jpg")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, data) {
		t.Error("posted object differs")
	}

	// The policy is enforced: too large, wrong key, tampered fields, expired.
	for name, tc := range map[string]struct {
		mutate   func(map[string]string)
		file     []byte
		wantCode int
	}{
		"too large":      {nil, randBytes(t, 2<<20), 400},
		"key outside":    {func(f map[string]string) { f["key"] = "elsewhere/x" }, data, 403},
		"extra field":    {func(f map[string]string) { f["x-amz-meta-sneaky"] = "1" }, data, 403},
		"bad signature":  {func(f map[string]string) { f["x-amz-signature"] = strings.Repeat("0", 64) }, data, 403},
		"empty file":     {nil, []byte{}, 400},
		"unlisted field": {func(f map[string]string) { f["success_action_redirect"] = "https://app.example/done" }, data, 403},
	} {
		u, fields := policy(nil)
		if tc.mutate != nil {
			tc.mutate(fields)
		}
		resp := postForm(t, u, fields, tc.file)
		resp.Body.Close()
		if resp.StatusCode != tc.wantCode {
			t.Errorf("%s: status %d, want %d", name, resp.StatusCode, tc.wantCode)
		}
	}
	// A redirect the policy allows answers 303 with bucket, key and etag.
	u, fields = policy(func(p *minio.PostPolicy) { p.SetSuccessActionRedirect("https://app.example/done") })
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fields["success_action_redirect"] = "https://app.example/done"
	for k, v := range fields {
		w.WriteField(k, v)
	}
	fw, _ := w.CreateFormFile("file", "r.txt")
	fw.Write([]byte("redirected"))
	w.Close()
	resp, err = noFollow.Post(u, w.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || !strings.HasPrefix(loc, "https://app.example/done?") || !strings.Contains(loc, "key=uploads%2Fr.txt") {
		t.Errorf("redirect: %d %s", resp.StatusCode, loc)
	}
	// An unsigned form is anonymous, which no policy allows yet.
	resp = postForm(t, ts.URL+"/forms", map[string]string{"key": "anon"}, data)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("anonymous POST: %d", resp.StatusCode)
	}
}
