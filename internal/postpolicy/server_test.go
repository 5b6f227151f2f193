package postpolicy

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

var errTooLarge = errors.New("file larger than content-length-range")
var errTooSmall = errors.New("file smaller than content-length-range")

// postServer handles S3 POST Object the way the S3 layer is meant to use
// this package, on 127.0.0.1: parse, verify, check, then stream the file
// while enforcing the length range.
type postServer struct {
	creds   Credentials
	now     func() time.Time
	mu      sync.Mutex
	objects map[string][]byte
	errs    []error
	owners  []string
}

func (s *postServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, owner, data, err := s.handle(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
	if err != nil {
		code := http.StatusForbidden
		if errors.Is(err, ErrMalformed) || errors.Is(err, ErrMalformedPolicy) || errors.Is(err, errTooLarge) || errors.Is(err, errTooSmall) {
			code = http.StatusBadRequest
		}
		http.Error(w, err.Error(), code)
		return
	}
	s.objects[key] = data
	s.owners = append(s.owners, owner)
	w.WriteHeader(http.StatusNoContent)
}

func (s *postServer) handle(r *http.Request) (key, owner string, data []byte, err error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return "", "", nil, fmt.Errorf("content type: %w", ErrMalformed)
	}
	f, err := ParseForm(r.Body, params["boundary"], 0)
	if err != nil {
		return "", "", nil, err
	}
	bucket := strings.Trim(r.URL.Path, "/")
	f.Fields["bucket"] = bucket
	now := s.now()
	owner, err = VerifySignature(r.Context(), f.Fields, s.creds, now)
	if err != nil {
		return "", "", nil, err
	}
	p, err := ParsePolicy(f.Fields["policy"])
	if err != nil {
		return "", "", nil, err
	}
	f.Fields["key"] = ExpandKey(f.Fields["key"], f.FileName)
	if err := p.Check(f.Fields, now); err != nil {
		return "", "", nil, err
	}
	lo, hi, ok := p.LengthRange()
	if !ok {
		hi = 1 << 40
	}
	data, err = io.ReadAll(io.LimitReader(f.File, hi+1))
	if err != nil {
		return "", "", nil, err
	}
	switch {
	case int64(len(data)) > hi:
		return "", "", nil, errTooLarge
	case int64(len(data)) < lo:
		return "", "", nil, errTooSmall
	}
	return bucket + "/" + f.Fields["key"], owner, data, nil
}

func (s *postServer) lastErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errs[len(s.errs)-1]
}

// post sends a form built from fields (in the given order) and a file.
func post(t *testing.T, url string, fields []field, fileName string, file []byte) int {
	t.Helper()
	body, boundary := formSpec{before: fields, fileName: fileName, fileType: "application/octet-stream", file: file,
		after: []field{{"submit", "Upload"}}}.build(t)
	resp, err := http.Post(url, "multipart/form-data; boundary="+boundary, body)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func toFields(m map[string]string) []field {
	var fs []field
	for k, v := range m {
		fs = append(fs, field{k, v})
	}
	return fs
}

func withField(fs []field, name, value string) []field {
	out := make([]field, 0, len(fs)+1)
	replaced := false
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			f.value, replaced = value, true
		}
		out = append(out, f)
	}
	if !replaced {
		out = append(out, field{name, value})
	}
	return out
}

// minioForm asks minio-go for a presigned POST policy against srv.
func minioForm(t *testing.T, srv *httptest.Server, creds *credentials.Credentials, expires time.Time) (string, []field) {
	t.Helper()
	c, err := minio.New(srv.Listener.Addr().String(), &minio.Options{Creds: creds, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	pp := minio.NewPostPolicy()
	for _, err := range []error{
		pp.SetBucket("bkt"),
		pp.SetKeyStartsWith("uploads/"),
		pp.SetExpires(expires),
		pp.SetContentLengthRange(1, 1<<20),
		pp.SetUserMetadata("owner", "team a"),
		pp.SetSuccessStatusAction("204"),
		pp.SetContentTypeStartsWith("image/"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	u, form, err := c.PresignedPostPolicy(context.Background(), pp)
	if err != nil {
		t.Fatal(err)
	}
	fs := toFields(form)
	fs = withField(fs, "key", "uploads/${filename}")
	fs = withField(fs, "Content-Type", "image/png")
	return u.String(), fs
}

func TestMinioPresignedPost(t *testing.T) {
	for _, v := range []struct {
		name  string
		creds *credentials.Credentials
	}{
		{"v4", credentials.NewStaticV4(testAK, testSecret, "")},
		{"v2", credentials.NewStaticV2(testAK, testSecret, "")},
	} {
		t.Run(v.name, func(t *testing.T) {
			ps := &postServer{creds: newCreds(testAK, testSecret), now: time.Now, objects: map[string][]byte{}}
			srv := httptest.NewServer(ps)
			defer srv.Close()
			u, fs := minioForm(t, srv, v.creds, time.Now().Add(10*time.Minute))
			if !strings.HasSuffix(u, "/bkt") && !strings.HasSuffix(u, "/bkt/") {
				t.Fatalf("url %s", u)
			}
			content := bytes.Repeat([]byte("png!"), 1000)
			if code := post(t, u, fs, "pic.png", content); code != http.StatusNoContent {
				t.Fatalf("POST = %d: %v", code, ps.lastErr())
			}
			if !bytes.Equal(ps.objects["bkt/uploads/pic.png"], content) || ps.owners[0] != testAK {
				t.Fatalf("objects %v owners %v", len(ps.objects), ps.owners)
			}

			// Each change to a signed form is refused with its own sentinel.
			policy := ""
			for _, f := range fs {
				if f.name == "policy" {
					policy = f.value
				}
			}
			doc, _ := base64.StdEncoding.DecodeString(policy)
			looser := base64.StdEncoding.EncodeToString(bytes.Replace(doc, []byte("uploads/"), []byte(""), 1))
			sigField, akField := "x-amz-signature", "x-amz-credential"
			if v.name == "v2" {
				sigField, akField = "signature", "AWSAccessKeyId"
			}
			cases := []struct {
				name   string
				fields []field
				file   []byte
				code   int
				want   error
			}{
				{"policy loosened", withField(fs, "policy", looser), content, 403, ErrSignatureMismatch},
				{"key outside prefix", withField(fs, "key", "elsewhere/${filename}"), content, 403, ErrConditionFailed},
				{"metadata changed", withField(fs, "x-amz-meta-owner", "team b"), content, 403, ErrConditionFailed},
				{"content type", withField(fs, "content-type", "text/html"), content, 403, ErrConditionFailed},
				{"extra field", withField(fs, "acl", "public-read"), content, 403, ErrConditionFailed},
				{"ignored extra field", withField(fs, "x-ignore-me", "1"), content, 204, nil},
				{"file too large", fs, make([]byte, 1<<20+1), 400, errTooLarge},
				{"file empty", fs, nil, 400, errTooSmall},
				{"signature garbage", withField(fs, sigField, "zz"), content, 403, ErrMalformedAuth},
				{"unknown key", withField(fs, akField, strings.Replace(fieldValue(fs, akField), testAK, "NOSUCH", 1)), content, 403, ErrUnknownAccessKey},
				{"no policy", withField(fs, "policy", ""), content, 403, ErrMalformedAuth},
			}
			for _, c := range cases {
				if code := post(t, u, c.fields, "pic.png", c.file); code != c.code || !errors.Is(ps.lastErr(), c.want) && c.want != nil {
					t.Errorf("%s: POST = %d, %v; want %d, %v", c.name, code, ps.lastErr(), c.code, c.want)
				}
			}

			ps.now = func() time.Time { return time.Now().Add(time.Hour) }
			if code := post(t, u, fs, "pic.png", content); code != 403 || !errors.Is(ps.lastErr(), ErrPolicyExpired) {
				t.Errorf("expired: POST = %d, %v", code, ps.lastErr())
			}
		})
	}
}

func fieldValue(fs []field, name string) string {
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// A V2 form made by hand as the AWS documentation describes it, with field
// names in mixed case and a submit button after the file.
func TestHandMadeV2Form(t *testing.T) {
	ps := &postServer{creds: newCreds(testAK, testSecret), now: time.Now, objects: map[string][]byte{}}
	srv := httptest.NewServer(ps)
	defer srv.Close()
	doc := fmt.Sprintf(`{"expiration": "%s",
	  "conditions": [{"bucket": "johnsmith"}, ["starts-with", "$key", "user/eric/"], {"acl": "public-read"},
	    {"success_action_redirect": "http://johnsmith.s3.amazonaws.com/successful_upload.html"},
	    ["starts-with", "$Content-Type", "image/"], {"x-amz-meta-uuid": "14365123651274"},
	    ["starts-with", "$x-amz-meta-tag", ""], ["content-length-range", 0, 100]]}`,
		time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"))
	policy := b64(doc)
	mac := hmac.New(sha1.New, []byte(testSecret))
	mac.Write([]byte(policy))
	fs := []field{
		{"key", "user/eric/${filename}"}, {"AWSAccessKeyId", testAK}, {"acl", "public-read"},
		{"success_action_redirect", "http://johnsmith.s3.amazonaws.com/successful_upload.html"},
		{"Content-Type", "image/jpeg"}, {"x-amz-meta-uuid", "14365123651274"}, {"x-amz-meta-tag", ""},
		{"Policy", policy}, {"Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil))},
	}
	if code := post(t, srv.URL+"/johnsmith", fs, "face.jpg", []byte("jpeg")); code != 204 {
		t.Fatalf("POST = %d: %v", code, ps.lastErr())
	}
	if string(ps.objects["johnsmith/user/eric/face.jpg"]) != "jpeg" {
		t.Fatalf("objects = %v", ps.objects)
	}
	if code := post(t, srv.URL+"/otherbucket", fs, "face.jpg", []byte("jpeg")); code != 403 || !errors.Is(ps.lastErr(), ErrConditionFailed) {
		t.Fatalf("other bucket: POST = %d, %v", code, ps.lastErr())
	}
}

// TestPostStreamsLargeFile sends 50 MiB through net/http and the form
// parser: the server must not hold the file in memory to check it.
func TestPostStreamsLargeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("large upload")
	}
	doc := fmt.Sprintf(`{"expiration":"%s","conditions":[["starts-with","$key",""],["content-length-range",0,%d]]}`,
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339), 64<<20)
	policy := b64(doc)
	mac := hmac.New(sha1.New, []byte(testSecret))
	mac.Write([]byte(policy))
	var seen int64
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		f, err := ParseForm(r.Body, params["boundary"], 0)
		if err == nil {
			_, err = VerifySignature(r.Context(), f.Fields, newCreds(testAK, testSecret), time.Now())
		}
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		n, err := io.Copy(io.Discard, f.File)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		seen = n
		mu.Unlock()
		w.WriteHeader(204)
	}))
	defer srv.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, f := range []field{{"key", "big"}, {"AWSAccessKeyId", testAK}, {"policy", policy}, {"signature", base64.StdEncoding.EncodeToString(mac.Sum(nil))}} {
			mw.WriteField(f.name, f.value)
		}
		fw, _ := mw.CreateFormFile("file", "big.bin")
		io.Copy(fw, &patternReader{n: 50 << 20})
		pw.CloseWithError(mw.Close())
	}()
	resp, err := http.Post(srv.URL+"/b", mw.FormDataContentType(), pr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || seen != 50<<20 {
		t.Fatalf("status %d, server read %d bytes", resp.StatusCode, seen)
	}
}
