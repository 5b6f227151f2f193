package s3api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// signedRequest builds a request signed with the SDK's signer over body.
func signedRequest(t *testing.T, method, url string, body []byte, at time.Time, mutate func(*http.Request)) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if mutate != nil {
		mutate(req)
	}
	// S3 signs the path as sent, without the second escaping other services use.
	err = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(), aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret}, req, hash, "s3", region, at)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

type errorBody struct {
	Code      string
	Message   string
	Resource  string
	RequestId string
}

func do(t *testing.T, req *http.Request) (*http.Response, errorBody, []byte) {
	t.Helper()
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e errorBody
	if resp.StatusCode >= 300 && len(b) > 0 {
		if err := xml.Unmarshal(b, &e); err != nil {
			t.Fatalf("error body is not S3 XML: %v: %q", err, b)
		}
	}
	if resp.Header.Get("X-Amz-Request-Id") == "" || resp.Header.Get("X-Amz-Id-2") == "" {
		t.Errorf("%s %s: missing request id headers", req.Method, req.URL)
	}
	return resp, e, b
}

func TestAuthFailures(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "auth")

	_, err := sdkClient(ts.URL, rootKey, "wrong-secret-value").ListBuckets(x, &s3.ListBucketsInput{})
	wantCode(t, err, "SignatureDoesNotMatch")
	_, err = sdkClient(ts.URL, "NOSUCHKEY", rootSecret).ListBuckets(x, &s3.ListBucketsInput{})
	wantCode(t, err, "InvalidAccessKeyId")

	// Anonymous requests are denied everywhere (no policy grants them yet).
	for _, u := range []string{"/", "/auth", "/auth/key"} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+u, nil)
		resp, e, _ := do(t, req)
		if resp.StatusCode != 403 || e.Code != "AccessDenied" || e.RequestId == "" || e.Resource != u {
			t.Errorf("anonymous GET %s: %d %+v", u, resp.StatusCode, e)
		}
	}

	// A clock 20 minutes off is refused.
	req := signedRequest(t, http.MethodGet, ts.URL+"/auth", nil, time.Now().Add(-20*time.Minute), nil)
	if resp, e, _ := do(t, req); resp.StatusCode != 403 || e.Code != "RequestTimeTooSkewed" {
		t.Errorf("skewed: %d %+v", resp.StatusCode, e)
	}

	// The body must match x-amz-content-sha256; nothing is stored when it does not.
	req = signedRequest(t, http.MethodPut, ts.URL+"/auth/tampered", []byte("original"), time.Now(), nil)
	req.Body = io.NopCloser(strings.NewReader("tampered"))
	if resp, e, _ := do(t, req); resp.StatusCode != 400 || e.Code != "XAmzContentSHA256Mismatch" {
		t.Errorf("tampered body: %d %+v", resp.StatusCode, e)
	}
	_, err = c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("auth"), Key: aws.String("tampered")})
	if httpStatus(err) != 404 {
		t.Errorf("tampered object was stored: %v", err)
	}

	// A body shorter than its Content-Length is IncompleteBody and stores nothing.
	req = signedRequest(t, http.MethodPut, ts.URL+"/auth/short", bytes.Repeat([]byte("x"), 300<<10), time.Now(), func(r *http.Request) {
		r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	})
	req.Body = io.NopCloser(io.LimitReader(bytes.NewReader(bytes.Repeat([]byte("x"), 300<<10)), 1000))
	req.ContentLength = 300 << 10
	if resp, err := rawClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("short body accepted")
		}
	}
	_, err = c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("auth"), Key: aws.String("short")})
	if httpStatus(err) != 404 {
		t.Errorf("short object was stored: %v", err)
	}
}

func TestPresignedURLs(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "pre")
	ps := s3.NewPresignClient(c)
	put, err := ps.PresignPutObject(x, &s3.PutObjectInput{Bucket: aws.String("pre"), Key: aws.String("dir/up load.txt")}, s3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, put.URL, strings.NewReader("presigned body"))
	for k, v := range put.SignedHeader {
		req.Header[k] = v
	}
	if resp, e, _ := do(t, req); resp.StatusCode != 200 {
		t.Fatalf("presigned PUT: %d %+v", resp.StatusCode, e)
	}
	get, err := ps.PresignGetObject(x, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("dir/up load.txt"), ResponseContentType: aws.String("text/plain")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(http.MethodGet, get.URL, nil)
	resp, e, body := do(t, req)
	if resp.StatusCode != 200 || string(body) != "presigned body" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("presigned GET: %d %+v %q", resp.StatusCode, e, body)
	}
	// Tampering with the URL breaks the signature.
	req, _ = http.NewRequest(http.MethodGet, strings.Replace(get.URL, "text%2Fplain", "text%2Fhtml", 1), nil)
	if resp, e, _ := do(t, req); resp.StatusCode != 403 || e.Code != "SignatureDoesNotMatch" {
		t.Errorf("tampered presigned URL: %d %+v", resp.StatusCode, e)
	}
	// Expired URLs are refused.
	old, err := ps.PresignGetObject(x, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("dir/up load.txt")}, func(o *s3.PresignOptions) {
		o.Expires = time.Second
		o.ClientOptions = append(o.ClientOptions, func(o *s3.Options) {
			o.Credentials = aws.NewCredentialsCache(o.Credentials)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	req, _ = http.NewRequest(http.MethodGet, old.URL, nil)
	if resp, e, _ := do(t, req); resp.StatusCode != 403 || e.Code != "AccessDenied" {
		t.Errorf("expired presigned URL: %d %+v", resp.StatusCode, e)
	}
}

func TestMalformedRequests(t *testing.T) {
	ts := newServer(t)
	mustCreateBucket(t, ts.sdk(t), "bad")
	for name, tc := range map[string]struct {
		method, path string
		body         string
		wantStatus   int
		wantCode     string
	}{
		"malformed create xml":  {"PUT", "/newbucket", "<CreateBucketConfiguration><Loc", 400, "MalformedXML"},
		"delete objects no md5": {"POST", "/bad?delete", "<Delete><Object><Key>a</Key></Object></Delete>", 400, "InvalidRequest"},
		"unknown list-type":     {"GET", "/bad?list-type=3", "", 400, "InvalidArgument"},
		"negative max-keys":     {"GET", "/bad?max-keys=-1", "", 400, "InvalidArgument"},
		"bad encoding-type":     {"GET", "/bad?encoding-type=zip", "", 400, "InvalidArgument"},
		"post object":           {"POST", "/bad/key", "", 501, "NotImplemented"},
		"service put":           {"PUT", "/", "", 405, "MethodNotAllowed"},
		"bad part number":       {"GET", "/bad/key?partNumber=0", "", 400, "InvalidArgument"},
	} {
		req := signedRequest(t, tc.method, ts.URL+tc.path, []byte(tc.body), time.Now(), nil)
		resp, e, _ := do(t, req)
		if resp.StatusCode != tc.wantStatus || e.Code != tc.wantCode {
			t.Errorf("%s: %d %+v, want %d %s", name, resp.StatusCode, e, tc.wantStatus, tc.wantCode)
		}
	}
}

func TestHostileKeys(t *testing.T) {
	ts := newServer(t)
	mustCreateBucket(t, ts.sdk(t), "keys")
	// NUL is valid UTF-8: stored verbatim and listed (url-encoded on request).
	req := signedRequest(t, http.MethodPut, ts.URL+"/keys/nul%00key", []byte("nul"), time.Now(), nil)
	if resp, e, _ := do(t, req); resp.StatusCode != 200 {
		t.Fatalf("PUT key with NUL: %d %+v", resp.StatusCode, e)
	}
	req = signedRequest(t, http.MethodGet, ts.URL+"/keys/nul%00key", nil, time.Now(), nil)
	if resp, _, body := do(t, req); resp.StatusCode != 200 || string(body) != "nul" {
		t.Errorf("GET key with NUL: %d %q", resp.StatusCode, body)
	}
	req = signedRequest(t, http.MethodGet, ts.URL+"/keys?list-type=2&encoding-type=url", nil, time.Now(), nil)
	if resp, _, body := do(t, req); resp.StatusCode != 200 || !strings.Contains(string(body), "<Key>nul%00key</Key>") {
		t.Errorf("listing key with NUL: %d %s", resp.StatusCode, body)
	}
	// Errors about such keys stay parseable XML (do checks that).
	req = signedRequest(t, http.MethodGet, ts.URL+"/keys/missing%00key", nil, time.Now(), nil)
	if resp, e, _ := do(t, req); resp.StatusCode != 404 || e.Code != "NoSuchKey" {
		t.Errorf("GET missing key with NUL: %d %+v", resp.StatusCode, e)
	}
	// Invalid UTF-8 cannot be a key.
	req = signedRequest(t, http.MethodPut, ts.URL+"/keys/bad%FFutf8", []byte("x"), time.Now(), nil)
	if resp, e, _ := do(t, req); resp.StatusCode != 400 || e.Code != "InvalidArgument" {
		t.Errorf("PUT invalid UTF-8 key: %d %+v", resp.StatusCode, e)
	}
	// Dot segments reach the handler uncleaned and are distinct keys.
	for _, k := range []string{"/keys/x/../y", "/keys/./z", "/keys/a//b"} {
		req = signedRequest(t, http.MethodPut, ts.URL+k, []byte(k), time.Now(), nil)
		if resp, e, _ := do(t, req); resp.StatusCode != 200 {
			t.Errorf("PUT %s: %d %+v", k, resp.StatusCode, e)
		}
	}
	req = signedRequest(t, http.MethodGet, ts.URL+"/keys?list-type=2&prefix=x/", nil, time.Now(), nil)
	if resp, _, body := do(t, req); resp.StatusCode != 200 || !strings.Contains(string(body), "<Key>x/../y</Key>") {
		t.Errorf("listing dot-segment key: %d %s", resp.StatusCode, body)
	}
}
