package sigv4

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestHeaderMutations signs one request with the SDK and changes one part of
// it at a time: each change must fail with its own sentinel.
func TestHeaderMutations(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	body := []byte("hello, coffer")
	base := func() *http.Request {
		u := s3URL(t, "127.0.0.1:9000", "dir/key with space", [][2]string{{"versionId", "v1"}, {"x", "a+b"}, {"y", "c d"}})
		hdr := http.Header{"X-Amz-Meta-Color": {"blue"}, "Content-Type": {"text/plain"}}
		return serverSide(t, sdkSign(t, "PUT", u, body, hdr, now))
	}
	tests := []struct {
		name   string
		mutate func(r *http.Request)
		want   error
	}{
		{"unchanged", func(r *http.Request) {}, nil},
		{"path", func(r *http.Request) { r.URL.Path += "x" }, ErrSignatureMismatch},
		{"path case", func(r *http.Request) { r.URL.Path = strings.Replace(r.URL.Path, "dir", "Dir", 1) }, ErrSignatureMismatch},
		{"query value", func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "v1", "v2", 1) }, ErrSignatureMismatch},
		{"literal plus", func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "%2B", "+", 1) }, nil},
		{"plus is not space", func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "%20", "+", 1) }, ErrSignatureMismatch},
		{"query added", func(r *http.Request) { r.URL.RawQuery += "&acl" }, ErrSignatureMismatch},
		{"bad query escape", func(r *http.Request) { r.URL.RawQuery += "&x=%zz" }, ErrMalformedAuth},
		{"signed header", func(r *http.Request) { r.Header.Set("X-Amz-Meta-Color", "red") }, ErrSignatureMismatch},
		{"signed header removed", func(r *http.Request) { r.Header.Del("Content-Type") }, ErrSignatureMismatch},
		{"unsigned header added", func(r *http.Request) { r.Header.Set("X-Amz-Meta-Other", "1") }, nil},
		{"header spacing", func(r *http.Request) { r.Header.Set("X-Amz-Meta-Color", "  blue ") }, nil},
		{"host", func(r *http.Request) { r.Host = "127.0.0.1:9001" }, ErrSignatureMismatch},
		{"method", func(r *http.Request) { r.Method = "POST" }, ErrSignatureMismatch},
		{"date", func(r *http.Request) {
			r.Header.Set("X-Amz-Date", now.Add(time.Second).Format(timeFormat))
		}, ErrSignatureMismatch},
		{"date unparsable", func(r *http.Request) { r.Header.Set("X-Amz-Date", "yesterday") }, ErrMissingDate},
		{"date missing", func(r *http.Request) { r.Header.Del("X-Amz-Date") }, ErrMissingDate},
		{"access key", func(r *http.Request) { replaceAuth(r, "Credential="+testAK, "Credential=OTHERKEY") }, ErrUnknownAccessKey},
		{"signature", func(r *http.Request) { flipSig(r) }, ErrSignatureMismatch},
		{"region", func(r *http.Request) { replaceAuth(r, "/us-east-1/", "/eu-west-1/") }, ErrMalformedAuth},
		{"service", func(r *http.Request) { replaceAuth(r, "/s3/", "/sts/") }, ErrMalformedAuth},
		{"scope date", func(r *http.Request) { replaceAuth(r, "/"+now.Format(dateFormat)+"/", "/20200101/") }, ErrMalformedAuth},
		{"algorithm", func(r *http.Request) { replaceAuth(r, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256") }, ErrUnsupportedAlgorithm},
		{"sigv2", func(r *http.Request) { r.Header.Set("Authorization", "AWS "+testAK+":c2lnbmF0dXJl") }, ErrUnsupportedAlgorithm},
		{"host unsigned", func(r *http.Request) {
			replaceAuth(r, "SignedHeaders=content-length;content-type;host;", "SignedHeaders=content-length;content-type;")
		}, ErrMalformedAuth},
		{"content sha256 invalid", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "abc") }, ErrInvalidContentSHA256},
		{"two auth forms", func(r *http.Request) { r.URL.RawQuery += "&X-Amz-Algorithm=AWS4-HMAC-SHA256" }, ErrMalformedAuth},
		{"skewed", func(r *http.Request) {}, nil}, // run below with a clock far off
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			tc.mutate(r)
			v := testVerifier(now)
			a, err := v.Verify(r)
			mustIs(t, err, tc.want)
			if err == nil {
				got, _, err := readBody(t, a, r.Body)
				mustIs(t, err, nil)
				if !bytes.Equal(got, body) {
					t.Fatalf("body %q", got)
				}
			}
		})
	}
	t.Run("clock skew", func(t *testing.T) {
		for _, d := range []time.Duration{16 * time.Minute, -16 * time.Minute} {
			_, err := testVerifier(now.Add(d)).Verify(base())
			mustIs(t, err, ErrTimeSkewed)
		}
		_, err := testVerifier(now.Add(14 * time.Minute)).Verify(base())
		mustIs(t, err, nil)
		v := testVerifier(now.Add(2 * time.Minute))
		v.MaxSkew = time.Minute
		_, err = v.Verify(base())
		mustIs(t, err, ErrTimeSkewed)
	})
	t.Run("any region", func(t *testing.T) {
		r := base()
		v := testVerifier(now)
		v.Region = ""
		a, err := v.Verify(r)
		mustIs(t, err, nil)
		if a.Region != testRegion {
			t.Fatalf("region %q", a.Region)
		}
	})
	t.Run("body changed", func(t *testing.T) {
		r := base()
		a, err := testVerifier(now).Verify(r)
		mustIs(t, err, nil)
		bad := bytes.Clone(body)
		bad[3] ^= 1
		got, _, err := readBody(t, a, bytes.NewReader(bad))
		mustIs(t, err, ErrContentSHA256Mismatch)
		if len(got) != len(bad) {
			t.Fatalf("read %d bytes before the verdict", len(got))
		}
		_, _, err = readBody(t, a, bytes.NewReader(body[:5]))
		mustIs(t, err, ErrContentSHA256Mismatch)
	})
	t.Run("no content sha256 header", func(t *testing.T) {
		// A generic SigV4 signer that sends no x-amz-content-sha256 signs the
		// hash of the body; the verifier assumes an empty body and checks it.
		r, err := http.NewRequest("GET", s3URL(t, "127.0.0.1:9000", "k", nil).String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s3Signer().SignHTTP(context.Background(), sdkCreds, r, emptySHA256, "s3", testRegion, now); err != nil {
			t.Fatal(err)
		}
		sr := serverSide(t, r)
		a, err := testVerifier(now).Verify(sr)
		mustIs(t, err, nil)
		if a.PayloadHash != emptySHA256 {
			t.Fatalf("payload hash %q", a.PayloadHash)
		}
		_, _, err = readBody(t, a, strings.NewReader(""))
		mustIs(t, err, nil)
		_, _, err = readBody(t, a, strings.NewReader("smuggled"))
		mustIs(t, err, ErrContentSHA256Mismatch)
	})
	t.Run("credential backend error", func(t *testing.T) {
		v := &Verifier{Creds: failingCreds{}, Now: fixedClock(now)}
		_, err := v.Verify(base())
		if err == nil || !strings.Contains(err.Error(), "backend down") || errors.Is(err, ErrUnknownAccessKey) {
			t.Fatalf("err = %v", err)
		}
	})
}

type failingCreds struct{}

func (failingCreds) SecretKey(context.Context, string) (string, error) {
	return "", errors.New("backend down")
}

func replaceAuth(r *http.Request, old, new string) {
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
}

func flipSig(r *http.Request) {
	h := r.Header.Get("Authorization")
	i := strings.Index(h, "Signature=") + len("Signature=")
	c := byte('0')
	if h[i] == '0' {
		c = '1'
	}
	r.Header.Set("Authorization", h[:i]+string(c)+h[i+1:])
}

func TestPresignedMutations(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	presign := func(expires string, extra string) string {
		payload := UnsignedPayload
		if v, ok := strings.CutPrefix(extra, "&X-Amz-Content-Sha256="); ok {
			payload = v
		}
		u := s3URL(t, "127.0.0.1:9000", "obj", [][2]string{{"response-content-type", "text/plain"}})
		u.RawQuery += "&X-Amz-Expires=" + expires + extra
		r, err := http.NewRequest("GET", u.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		signed, _, err := s3Signer().PresignHTTP(context.Background(), sdkCreds, r, payload, "s3", testRegion, now,
			func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	verify := func(target string, at time.Time) (*Auth, error) {
		r := newReq(t, "GET", target, "127.0.0.1:9000", nil)
		return testVerifier(at).Verify(serverSide(t, r))
	}
	good := presign("600", "")
	tests := []struct {
		name   string
		target string
		at     time.Time
		want   error
	}{
		{"valid", good, now, nil},
		{"valid at expiry", good, now.Add(600 * time.Second), nil},
		{"expired", good, now.Add(601 * time.Second), ErrRequestExpired},
		{"not yet valid", good, now.Add(-16 * time.Minute), ErrRequestNotYetValid},
		{"slightly early", good, now.Add(-time.Minute), nil},
		{"expires too large", presign("604801", ""), now, ErrExpiresTooLarge},
		{"expires max", presign("604800", ""), now, nil},
		{"expires zero", presign("0", ""), now, ErrMalformedAuth},
		{"expires junk", presign("ten", ""), now, ErrMalformedAuth},
		{"expires huge", presign("99999999999999999999999", ""), now, ErrExpiresTooLarge},
		{"query changed", strings.Replace(good, "text%2Fplain", "text%2Fhtml", 1), now, ErrSignatureMismatch},
		{"path changed", strings.Replace(good, "/obj?", "/obj2?", 1), now, ErrSignatureMismatch},
		{"signature changed", flipLastHex(good), now, ErrSignatureMismatch},
		{"signature removed", good[:strings.Index(good, "&X-Amz-Signature")], now, ErrMalformedAuth},
		{"signature twice", good + "&X-Amz-Signature=" + strings.Repeat("0", 64), now, ErrMalformedAuth},
		{"algorithm", strings.Replace(good, "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1", 1), now, ErrUnsupportedAlgorithm},
		{"access key", strings.Replace(good, "X-Amz-Credential="+testAK, "X-Amz-Credential=NOPE", 1), now, ErrUnknownAccessKey},
		{"bad date", strings.Replace(good, "X-Amz-Date=", "X-Amz-Date=x", 1), now, ErrMalformedAuth},
		{"content sha in query", presign("600", "&X-Amz-Content-Sha256="+sha256Hex([]byte("x"))), now, nil},
		{"bad content sha in query", presign("600", "&X-Amz-Content-Sha256=nothex"), now, ErrInvalidContentSHA256},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := verify(tc.target, tc.at)
			mustIs(t, err, tc.want)
			if err == nil && !a.Presigned {
				t.Fatal("not presigned")
			}
		})
	}
}

func flipLastHex(s string) string {
	c := s[len(s)-1]
	if c == '0' {
		c = '1'
	} else {
		c = '0'
	}
	return s[:len(s)-1] + string(c)
}

func TestAnonymous(t *testing.T) {
	v := testVerifier(time.Now())
	r := newReq(t, "PUT", "/b/k?X-Amz-Algorithmic=1", "h", strings.NewReader("data"))
	a, err := v.Verify(r)
	mustIs(t, err, nil)
	if !a.Anonymous || a.AccessKey != "" {
		t.Fatalf("auth = %+v", a)
	}
	// No x-amz-content-sha256: nothing to check, the body passes as is.
	got, _, err := readBody(t, a, r.Body)
	mustIs(t, err, nil)
	if a.PayloadHash != UnsignedPayload || string(got) != "data" {
		t.Fatalf("payload %q body %q", a.PayloadHash, got)
	}

	r.Header.Set("X-Amz-Content-Sha256", sha256Hex([]byte("data")))
	a, err = v.Verify(r)
	mustIs(t, err, nil)
	got, _, err = readBody(t, a, strings.NewReader("data"))
	mustIs(t, err, nil)
	if string(got) != "data" {
		t.Fatalf("body %q", got)
	}

	_, _, err = readBody(t, a, strings.NewReader("date"))
	mustIs(t, err, ErrContentSHA256Mismatch)

	r.Header.Set("X-Amz-Content-Sha256", StreamingPayload)
	_, err = v.Verify(r)
	mustIs(t, err, ErrMalformedAuth)

	r = newReq(t, "GET", "/b/k?AWSAccessKeyId=AK&Signature=x&Expires=1", "h", nil)
	_, err = v.Verify(r)
	mustIs(t, err, ErrUnsupportedAlgorithm)
}
