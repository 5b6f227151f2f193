package sigv2

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// clientReq builds a request the way minio-go does: the key escaped with
// s3utils.EncodePath so that what is signed is what is sent.
func clientReq(t testing.TB, method, host, bucket, key, rawQuery string, vhost bool) *http.Request {
	t.Helper()
	p := "/" + bucket + "/" + s3utils.EncodePath(key)
	if vhost {
		host = bucket + "." + host
		p = "/" + s3utils.EncodePath(key)
	}
	u, err := url.Parse("http://" + host + p)
	if err != nil {
		t.Fatal(err)
	}
	u.RawQuery = rawQuery
	r, err := http.NewRequest(method, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func signed(t testing.TB, r *http.Request, ak, secret string, vhost bool) *http.Request {
	t.Helper()
	return signer.SignV2(*r, ak, secret, vhost)
}

func TestSignV2AwkwardKeys(t *testing.T) {
	v := &Verifier{Creds: newCreds(testAK, testSecret, "key/with:colon", "s")}
	queries := []string{"", "acl", "uploadId=abc%2Fdef&partNumber=7", "versionId=v%20%2B1&response-content-disposition=attachment%3B%20filename%3D%22a%20b%22", "list-type=2&prefix=x"}
	for _, vhost := range []bool{false, true} {
		for _, key := range awkwardKeys {
			for _, q := range queries {
				r := clientReq(t, "GET", vhostDomain, "bkt", key, q, vhost)
				r.Header.Set("X-Amz-Meta-Note", "n")
				r = signed(t, r, testAK, testSecret, vhost)
				bucket := ""
				if vhost {
					bucket = "bkt"
				}
				if _, err := v.Verify(r, bucket); err != nil {
					t.Errorf("vhost=%v key=%q query=%q: %v", vhost, key, q, err)
				}
				p := signer.PreSignV2(*clientReq(t, "GET", vhostDomain, "bkt", key, q, vhost), "key/with:colon", "s", 600, vhost)
				a, err := v.Verify(p, bucket)
				if err != nil || !a.Presigned || a.AccessKey != "key/with:colon" {
					t.Errorf("presigned vhost=%v key=%q query=%q: %+v %v", vhost, key, q, a, err)
				}
			}
		}
	}
}

// TestHeaderMutations signs one request and changes one thing at a time.
func TestHeaderMutations(t *testing.T) {
	base := func() *http.Request {
		r := clientReq(t, "PUT", "127.0.0.1:9000", "bkt", "some key/ü", "uploadId=abc&partNumber=2", false)
		r.Header.Set("Content-Type", "text/plain")
		r.Header.Set("Content-Md5", "1B2M2Y8AsgTpgAmY7PhCfg==")
		r.Header.Set("X-Amz-Meta-A", "alpha")
		r.Header.Add("X-Amz-Meta-A", "beta")
		r.Header.Set("X-Amz-Acl", "private")
		return signed(t, r, testAK, testSecret, false)
	}
	cases := []struct {
		name   string
		mutate func(r *http.Request)
		want   error
	}{
		{"unchanged", func(*http.Request) {}, nil},
		{"unsigned query parameter", func(r *http.Request) { r.URL.RawQuery += "&x-id=UploadPart" }, nil},
		{"non-amz header", func(r *http.Request) { r.Header.Set("User-Agent", "other") }, nil},
		{"amz value whitespace", func(r *http.Request) { r.Header["X-Amz-Acl"] = []string{" \tprivate  "} }, nil},
		{"method", func(r *http.Request) { r.Method = "POST" }, ErrSignatureMismatch},
		{"content-md5", func(r *http.Request) { r.Header.Set("Content-Md5", "XUFAKrxLKna5cZ2REBfFkg==") }, ErrSignatureMismatch},
		{"content-type", func(r *http.Request) { r.Header.Set("Content-Type", "text/html") }, ErrSignatureMismatch},
		{"content-type removed", func(r *http.Request) { r.Header.Del("Content-Type") }, ErrSignatureMismatch},
		{"date within skew", func(r *http.Request) {
			d, _ := http.ParseTime(r.Header.Get("Date"))
			r.Header.Set("Date", d.Add(time.Second).Format(http.TimeFormat))
		}, ErrSignatureMismatch},
		{"x-amz-date added", func(r *http.Request) { r.Header.Set("X-Amz-Date", r.Header.Get("Date")) }, ErrSignatureMismatch},
		{"amz header added", func(r *http.Request) { r.Header.Set("X-Amz-Meta-B", "b") }, ErrSignatureMismatch},
		{"amz header changed", func(r *http.Request) { r.Header.Set("X-Amz-Acl", "public-read") }, ErrSignatureMismatch},
		{"amz header order", func(r *http.Request) { r.Header["X-Amz-Meta-A"] = []string{"beta", "alpha"} }, ErrSignatureMismatch},
		{"path", func(r *http.Request) { r.URL.Path += "x"; r.URL.RawPath = "" }, ErrSignatureMismatch},
		{"path escaping", func(r *http.Request) { r.URL.RawPath = strings.Replace(r.URL.EscapedPath(), "%20", "+", 1) }, ErrSignatureMismatch},
		{"sub-resource value", func(r *http.Request) { r.URL.RawQuery = "uploadId=abd&partNumber=2" }, ErrSignatureMismatch},
		{"sub-resource added", func(r *http.Request) { r.URL.RawQuery += "&tagging" }, ErrSignatureMismatch},
		{"sub-resource removed", func(r *http.Request) { r.URL.RawQuery = "uploadId=abc" }, ErrSignatureMismatch},
		{"sub-resource repeated", func(r *http.Request) { r.URL.RawQuery += "&partNumber=3" }, ErrMalformedAuth},
		{"bad query escape", func(r *http.Request) { r.URL.RawQuery += "&x=%zz" }, ErrMalformedAuth},
		{"signature bit", func(r *http.Request) {
			ak, sig, _ := strings.Cut(r.Header.Get("Authorization"), ":")
			b, _ := base64.StdEncoding.DecodeString(sig)
			b[0] ^= 1
			r.Header.Set("Authorization", ak+":"+base64.StdEncoding.EncodeToString(b))
		}, ErrSignatureMismatch},
		{"signature truncated", func(r *http.Request) {
			h := r.Header.Get("Authorization")
			r.Header.Set("Authorization", h[:len(h)-4])
		}, ErrMalformedAuth},
		{"no colon", func(r *http.Request) { r.Header.Set("Authorization", "AWS "+testAK) }, ErrMalformedAuth},
		{"empty key", func(r *http.Request) {
			_, sig, _ := strings.Cut(r.Header.Get("Authorization"), ":")
			r.Header.Set("Authorization", "AWS :"+sig)
		}, ErrMalformedAuth},
		{"two authorization headers", func(r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }, ErrMalformedAuth},
		{"also presigned", func(r *http.Request) { r.URL.RawQuery += "&AWSAccessKeyId=" + testAK }, ErrMalformedAuth},
		{"mixed with v4 query", func(r *http.Request) { r.URL.RawQuery += "&X-Amz-Algorithm=AWS4-HMAC-SHA256" }, ErrMalformedAuth},
		{"date missing", func(r *http.Request) { r.Header.Del("Date") }, ErrMissingDate},
		{"date garbage", func(r *http.Request) { r.Header.Set("Date", "yesterday") }, ErrMissingDate},
		{"x-amz-date garbage", func(r *http.Request) { r.Header.Set("X-Amz-Date", "now") }, ErrMissingDate},
		{"date old", func(r *http.Request) {
			r.Header.Set("Date", time.Now().Add(-20*time.Minute).UTC().Format(http.TimeFormat))
		}, ErrTimeSkewed},
		{"date future", func(r *http.Request) {
			r.Header.Set("Date", time.Now().Add(20*time.Minute).UTC().Format(http.TimeFormat))
		}, ErrTimeSkewed},
		{"unknown key", func(r *http.Request) {
			_, sig, _ := strings.Cut(r.Header.Get("Authorization"), ":")
			r.Header.Set("Authorization", "AWS NOSUCH:"+sig)
		}, ErrUnknownAccessKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			creds := newCreds(testAK, testSecret)
			v := &Verifier{Creds: creds}
			r := base()
			c.mutate(r)
			a, err := v.Verify(r, "")
			mustIs(t, err, c.want)
			if c.want == nil && (a == nil || a.AccessKey != testAK || a.Presigned) {
				t.Fatalf("auth = %+v", a)
			}
			if err != nil && a != nil {
				t.Fatal("auth returned with an error")
			}
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Fatal("secret in error")
			}
			// Failures found before the signature check never consult the
			// credential store.
			if errors.Is(err, ErrMalformedAuth) || errors.Is(err, ErrMissingDate) || errors.Is(err, ErrTimeSkewed) {
				if creds.lookups != 0 {
					t.Fatalf("%d credential lookups for %v", creds.lookups, err)
				}
			}
		})
	}
}

func TestWrongSecretAndCredentialErrors(t *testing.T) {
	r := signed(t, clientReq(t, "GET", "h", "bkt", "k", "", false), testAK, "not the secret", false)
	v := &Verifier{Creds: newCreds(testAK, testSecret)}
	_, err := v.Verify(r, "")
	mustIs(t, err, ErrSignatureMismatch)

	creds := newCreds(testAK, testSecret)
	creds.fail = errBackend
	v = &Verifier{Creds: creds}
	_, err = v.Verify(r, "")
	mustIs(t, err, ErrUnknownAccessKey)
	mustIs(t, err, errBackend)

	creds.fail = fmt.Errorf("iam: %w", ErrUnknownAccessKey)
	_, err = v.Verify(r, "")
	mustIs(t, err, ErrUnknownAccessKey)

	_, err = (&Verifier{}).Verify(r, "")
	mustIs(t, err, ErrUnknownAccessKey)
}

func TestVirtualHostBucketMatters(t *testing.T) {
	r := signed(t, clientReq(t, "GET", vhostDomain, "bkt", "k", "", true), testAK, testSecret, true)
	v := &Verifier{Creds: newCreds(testAK, testSecret)}
	if _, err := v.Verify(r, "bkt"); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"", "other", "bkt." + vhostDomain} {
		_, err := v.Verify(r, b)
		mustIs(t, err, ErrSignatureMismatch)
	}
}

func TestNotV2(t *testing.T) {
	v := &Verifier{Creds: newCreds(testAK, testSecret)}
	for _, c := range []struct{ target, authz string }{
		{"/b/k", ""},
		{"/b/k?acl&versionId=1", ""},
		{"/b/k", "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"},
		{"/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=00", ""},
		{"/b/k", "Bearer token"},
		{"/b/k", "AWS"},
		{"/b/k?%zz", ""},
	} {
		r := serverReq("GET", c.target, "h")
		if c.authz != "" {
			r.Header.Set("Authorization", c.authz)
		}
		a, err := v.Verify(r, "")
		if a != nil || err != ErrNotV2 {
			t.Errorf("%q %q: %+v, %v; want ErrNotV2", c.target, c.authz, a, err)
		}
	}
}

func presigned(t testing.TB, key, rawQuery string, expires int64) *http.Request {
	t.Helper()
	r := clientReq(t, "GET", "127.0.0.1:9000", "bkt", key, rawQuery, false)
	p := signer.PreSignV2(*r, testAK, testSecret, expires, false)
	// A browser or curl sends the URL without the Expires header PreSignV2
	// sets on its copy.
	out, err := http.NewRequest("GET", p.URL.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPresignedMutations(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(r *http.Request)
		now    time.Duration
		want   error
	}{
		{"unchanged", func(*http.Request) {}, 0, nil},
		{"unsigned parameter", func(r *http.Request) { r.URL.RawQuery += "&foo=bar" }, 0, nil},
		{"expired", func(*http.Request) {}, 2 * time.Minute, ErrRequestExpired},
		{"expires extended", func(r *http.Request) { setQuery(r, "Expires", "99999999999") }, 0, ErrSignatureMismatch},
		{"expires signed", func(r *http.Request) { setQuery(r, "Expires", "-1") }, 0, ErrMalformedAuth},
		{"response override changed", func(r *http.Request) { setQuery(r, "response-content-type", "text/html") }, 0, ErrSignatureMismatch},
		{"sub-resource added", func(r *http.Request) { r.URL.RawQuery += "&acl" }, 0, ErrSignatureMismatch},
		{"content-type header", func(r *http.Request) { r.Header.Set("Content-Type", "x/y") }, 0, ErrSignatureMismatch},
		{"amz header", func(r *http.Request) { r.Header.Set("X-Amz-Meta-X", "y") }, 0, ErrSignatureMismatch},
		{"path", func(r *http.Request) { r.URL.Path = "/bkt/other"; r.URL.RawPath = "" }, 0, ErrSignatureMismatch},
		{"missing signature", func(r *http.Request) { delQuery(r, "Signature") }, 0, ErrMalformedAuth},
		{"missing access key", func(r *http.Request) { delQuery(r, "AWSAccessKeyId") }, 0, ErrMalformedAuth},
		{"empty access key", func(r *http.Request) { setQuery(r, "AWSAccessKeyId", "") }, 0, ErrMalformedAuth},
		{"missing expires", func(r *http.Request) { delQuery(r, "Expires") }, 0, ErrMalformedAuth},
		{"repeated signature", func(r *http.Request) { r.URL.RawQuery += "&Signature=x" }, 0, ErrMalformedAuth},
		{"signature not base64", func(r *http.Request) { setQuery(r, "Signature", strings.Repeat("!", 28)) }, 0, ErrMalformedAuth},
		{"unknown key", func(r *http.Request) { setQuery(r, "AWSAccessKeyId", "NOSUCH") }, 0, ErrUnknownAccessKey},
		{"with authorization header", func(r *http.Request) { r.Header.Set("Authorization", "AWS a:b") }, 0, ErrMalformedAuth},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := presigned(t, "dir/a b+c", "response-content-type=text%2Fplain&versionId=v1", 60)
			c.mutate(r)
			v := &Verifier{Creds: newCreds(testAK, testSecret), Now: func() time.Time { return time.Now().Add(c.now) }}
			a, err := v.Verify(r, "")
			mustIs(t, err, c.want)
			if c.want == nil && (a == nil || !a.Presigned || a.AccessKey != testAK || a.Expires.IsZero()) {
				t.Fatalf("auth = %+v", a)
			}
		})
	}
}

// A signer that leaves '+' unescaped in Signature still verifies: form
// decoding turns it into a space, which cannot be base64.
func TestPresignedUnescapedPlus(t *testing.T) {
	v := &Verifier{Creds: newCreds(testAK, testSecret)}
	for i := 0; ; i++ {
		if i > 500 {
			t.Fatal("no signature with '+' in 500 tries")
		}
		r := presigned(t, fmt.Sprintf("k%d", i), "", 60)
		if !strings.Contains(r.URL.RawQuery, "%2B") {
			continue
		}
		r.URL.RawQuery = strings.ReplaceAll(r.URL.RawQuery, "%2B", "+")
		if _, err := v.Verify(r, ""); err != nil {
			t.Fatal(err)
		}
		return
	}
}

func setQuery(r *http.Request, k, v string) {
	q := r.URL.Query()
	q.Set(k, v)
	r.URL.RawQuery = q.Encode()
}

func delQuery(r *http.Request, k string) {
	q := r.URL.Query()
	q.Del(k)
	r.URL.RawQuery = q.Encode()
}
