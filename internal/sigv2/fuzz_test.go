package sigv2

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=")
	f.Add("AWS key/with:colon:bWq2s1WEIj+Ydj0vQ697zp+IXMU=")
	f.Add("AWS :bWq2s1WEIj+Ydj0vQ697zp+IXMU=")
	f.Add("AWS a b:bWq2s1WEIj+Ydj0vQ697zp+IXMU=")
	f.Add("AWS a:bWq2s1WEIj+Ydj0vQ697zp+IXMV=")
	f.Add("AWS a:bWq2s1WEIj+Ydj0vQ697\nzp+IXMU=")
	f.Add("AWS4-HMAC-SHA256 Credential=a/20240101/r/s3/aws4_request")
	f.Add("AWS ")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		ak, sig, err := parseAuthorization(h)
		if err != nil {
			if !errors.Is(err, ErrMalformedAuth) {
				t.Fatalf("error %v does not wrap ErrMalformedAuth", err)
			}
			return
		}
		if ak == "" || strings.ContainsAny(ak, " \t\r\n") {
			t.Fatalf("accepted access key %q", ak)
		}
		// What was accepted is exactly the canonical form.
		again := "AWS " + ak + ":" + base64.StdEncoding.EncodeToString(sig[:])
		if again != h {
			t.Fatalf("accepted non-canonical %q (canonical %q)", h, again)
		}
	})
}

// FuzzVerify feeds arbitrary request targets, headers and signatures through
// the whole verifier: it must not panic, every error must wrap a sentinel,
// and a forged request must never verify.
func FuzzVerify(f *testing.F) {
	f.Add("GET", "/photos/puppy.jpg", "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=", "Tue, 27 Mar 2007 19:36:42 +0000", "", "johnsmith")
	f.Add("GET", "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620", "", "", "", "johnsmith")
	f.Add("PUT", "/b/k?uploadId=1&partNumber=2&partNumber=3", "AWS a:bWq2s1WEIj+Ydj0vQ697zp+IXMU=", "", "20070327T193642Z", "")
	f.Add("GET", "/b/%zz?acl&versionId=%", "AWS a:b", "garbage", "garbage", "")
	f.Add("DELETE", "/?Signature=++++&AWSAccessKeyId=x&Expires=99999999999999999999", "", "", "", "")
	f.Fuzz(func(t *testing.T, method, target, authz, date, amzDate, bucket string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		h := http.Header{}
		if authz != "" {
			h.Set("Authorization", authz)
		}
		if date != "" {
			h.Set("Date", date)
		}
		if amzDate != "" {
			h.Set("X-Amz-Date", amzDate)
		}
		r := &http.Request{Method: method, URL: u, Header: h, Host: "h"}
		v := &Verifier{Creds: newCreds(docAccessKey, docSecret, "a", "s", "x", "s"), Now: fixedClock(time.Unix(1175139000, 0))}
		a, err := v.Verify(r, bucket)
		if err != nil {
			if a != nil || !wrapsSentinel(err) {
				t.Fatalf("Verify = %+v, %v", a, err)
			}
			return
		}
		// Only the two documented seeds carry a genuine signature.
		if a.AccessKey != docAccessKey {
			t.Fatalf("verified a forged request as %q", a.AccessKey)
		}
	})
}
