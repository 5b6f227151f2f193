package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/encoding/httpbinding"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// Keys that S3 accepts and that canonicalisation most often gets wrong.
var trickyKeys = []string{
	"plain.txt",
	"with space/and+plus",
	"unicode/日本語/ünïcödé.bin",
	"tilde~bang!star*quote'paren(x)",
	"eq=amp&q?pct%hash#semi;colon:at@dollar$comma,",
	"double//slash",
	"./dot/./segments",
	"../up/../../x",
	"literal%2Fslash",
	"trailing/",
	"ctrl\x01byte",
	"brackets[]{}<>|^`\"\\",
}

// Query strings in decoded form: each entry is (key, value) pairs.
var trickyQueries = [][][2]string{
	nil,
	{{"uploads", ""}},
	{{"prefix", "a b+c/d=e&f"}, {"delimiter", "/"}, {"max-keys", "10"}},
	{{"list-type", "2"}, {"start-after", "日本"}, {"continuation-token", "AbC+/=="}},
	{{"partNumber", "3"}, {"uploadId", "x~y*z'(!)"}},
	{{"tag", "b"}, {"tag", "a"}, {"tag", ""}},
}

// encodeQuery percent-encodes for the request line. '+' must be %2B here
// because the SDK parses the query with url.ParseQuery before signing.
func encodeQuery(q [][2]string) string {
	var parts []string
	for _, kv := range q {
		parts = append(parts, url.QueryEscape(kv[0])+"="+strings.ReplaceAll(url.QueryEscape(kv[1]), "+", "%20"))
	}
	return strings.Join(parts, "&")
}

// s3URL builds the URL an S3 client sends for key: the path escaped once with
// the SDK's own escaper (not ours), as the S3 client does.
func s3URL(t testing.TB, host, key string, q [][2]string) *url.URL {
	t.Helper()
	u, err := url.Parse("http://" + host + "/bucket/" + httpbinding.EscapePath(key, false))
	if err != nil {
		t.Fatal(err)
	}
	u.RawQuery = encodeQuery(q)
	return u
}

// serverSide sends r through net/http's own wire format and parser, so the
// verifier sees the request exactly as a server would (Host moved to r.Host,
// Content-Length and Transfer-Encoding handled by net/http, path decoded).
func serverSide(t testing.TB, r *http.Request) *http.Request {
	t.Helper()
	var wire bytes.Buffer
	if err := r.Write(&wire); err != nil {
		t.Fatal(err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		t.Fatal(err)
	}
	return sr
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

var sdkCreds = aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSecret}

func s3Signer() *v4.Signer {
	// The S3 client signs the path as sent (escaped once), not re-escaped.
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

func sdkSign(t testing.TB, method string, u *url.URL, body []byte, hdr http.Header, when time.Time) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		r.Header[k] = v
	}
	ph := sha256Hex(body)
	r.Header.Set("X-Amz-Content-Sha256", ph)
	if err := s3Signer().SignHTTP(context.Background(), sdkCreds, r, ph, "s3", testRegion, when); err != nil {
		t.Fatal(err)
	}
	return r
}

func testVerifier(now time.Time) *Verifier {
	return &Verifier{Creds: newCreds(testAK, testSecret), Region: testRegion, Now: fixedClock(now)}
}

func TestSDKSignedRequestsVerify(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	v := testVerifier(now)
	hdr := http.Header{
		"X-Amz-Meta-Spaces": {"  a   b  c  "},
		"X-Amz-Meta-Multi":  {"one", "two"},
		"Content-Type":      {"text/plain; charset=utf-8"},
		"Content-Md5":       {"1B2M2Y8AsgTpgAEAQUq8Zw=="},
		"Range":             {"bytes=0-9"},
	}
	for _, key := range trickyKeys {
		for qi, q := range trickyQueries {
			for _, method := range []string{"GET", "PUT"} {
				body := []byte(nil)
				if method == "PUT" {
					body = []byte("payload for " + key)
				}
				r := serverSide(t, sdkSign(t, method, s3URL(t, "127.0.0.1:9000", key, q), body, hdr, now))
				if r.URL.Path != "/bucket/"+key {
					t.Fatalf("path %q decoded as %q", key, r.URL.Path)
				}
				a, err := v.Verify(r)
				if err != nil {
					t.Fatalf("key %q query %d %s: %v", key, qi, method, err)
				}
				got, _, err := readBody(t, a, r.Body)
				mustIs(t, err, nil)
				if !bytes.Equal(got, body) {
					t.Fatalf("body %q", got)
				}
			}
		}
	}
}

func TestMinioSignedRequestsVerify(t *testing.T) {
	v := &Verifier{Creds: newCreds(testAK, testSecret), Region: testRegion}
	for _, key := range trickyKeys {
		for qi, q := range trickyQueries {
			body := []byte("minio payload " + key)
			r, err := http.NewRequest("PUT", s3URL(t, "localhost:9000", key, q).String(), bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("X-Amz-Content-Sha256", sha256Hex(body))
			r.Header.Set("X-Amz-Meta-Note", "a  b")
			r = signer.SignV4(*r, testAK, testSecret, "", testRegion)
			sr := serverSide(t, r)
			a, err := v.Verify(sr)
			if err != nil {
				t.Fatalf("key %q query %d: %v", key, qi, err)
			}
			got, _, err := readBody(t, a, sr.Body)
			mustIs(t, err, nil)
			if !bytes.Equal(got, body) {
				t.Fatalf("body %q", got)
			}
		}
	}
}

func TestPresignedVerify(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	v := testVerifier(now)
	for _, key := range trickyKeys {
		for qi, q := range trickyQueries {
			// aws-sdk-go-v2 presigner, as the S3 presign client uses it.
			r, err := http.NewRequest("GET", s3URL(t, "127.0.0.1:9000", key, q).String(), nil)
			if err != nil {
				t.Fatal(err)
			}
			u := *r.URL
			qs := u.Query()
			qs.Set("X-Amz-Expires", "900")
			u.RawQuery = strings.ReplaceAll(qs.Encode(), "+", "%20")
			r.URL = &u
			signed, _, err := s3Signer().PresignHTTP(context.Background(), sdkCreds, r, UnsignedPayload, "s3", testRegion, now)
			if err != nil {
				t.Fatal(err)
			}
			pr := newReq(t, "GET", signed, "", nil)
			pr.Host = pr.URL.Host
			a, err := v.Verify(serverSide(t, pr))
			if err != nil {
				t.Fatalf("sdk presign key %q query %d: %v", key, qi, err)
			}
			if !a.Presigned || a.AccessKey != testAK || a.PayloadHash != UnsignedPayload {
				t.Fatalf("auth = %+v", a)
			}

			// minio-go presigner (signs with the wall clock).
			mr, err := http.NewRequest("GET", s3URL(t, "localhost:9000", key, q).String(), nil)
			if err != nil {
				t.Fatal(err)
			}
			mr = signer.PreSignV4(*mr, testAK, testSecret, "", testRegion, 3600)
			vm := &Verifier{Creds: newCreds(testAK, testSecret), Region: testRegion}
			if _, err := vm.Verify(serverSide(t, mr)); err != nil {
				t.Fatalf("minio presign key %q query %d: %v", key, qi, err)
			}
		}
	}
}
