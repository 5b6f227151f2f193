package sharelink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/sigv4"
)

// staticCreds is a fixed table of access keys, which is all a Verifier
// needs from an identity store.
type staticCreds map[string]string

func (c staticCreds) SecretKey(_ context.Context, ak string) (string, error) {
	if s, ok := c[ak]; ok {
		return s, nil
	}
	return "", fmt.Errorf("looking up %s: %w", ak, sigv4.ErrUnknownAccessKey)
}

// verdict is what verifyServer saw of one request.
type verdict struct {
	Err    string // empty when the signature verified
	Method string
	Path   string // decoded path, as an S3 router reads it
	Share  string // X-Coffer-Share as IDFromQuery finds it
	Body   string
}

// verifyServer is a real HTTP server on 127.0.0.1 that checks every request
// with Coffer's own SigV4 verifier and reports what it saw, so the tests
// judge links by what arrives over the wire, not by what was built.
func verifyServer(t *testing.T, v *sigv4.Verifier) (*httptest.Server, func(*http.Request) verdict) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := verdict{Method: r.Method, Path: r.URL.Path}
		if _, err := v.Verify(r); err != nil {
			out.Err = err.Error()
			if errors.Is(err, sigv4.ErrSignatureMismatch) {
				out.Err = "mismatch"
			}
			if errors.Is(err, sigv4.ErrRequestExpired) {
				out.Err = "expired"
			}
		}
		id, found, err := IDFromQuery(r.URL.RawQuery)
		if err != nil {
			out.Share = "error"
		} else if found {
			out.Share = id
		}
		b, _ := io.ReadAll(r.Body)
		out.Body = string(b)
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	do := func(req *http.Request) verdict {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out verdict
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	return srv, do
}

// weirdKeys are keys whose URLs are easy to get wrong.
var weirdKeys = []string{
	"plain.txt",
	"with space and+plus",
	"unicode/é/日本語/🙂",
	"a//b",
	"../x",
	"a/../b",
	"./x",
	"..",
	".",
	"x/.",
	"x/..",
	"../../etc/passwd",
	"/leading",
	"trailing/",
	"100%?#&=;,:@!$'()*[]{}|\\^`\"<>",
	"%2F%2e%2E%00",
	"tab\tnew\nline\r",
	"a/%2e%2e/b",
	"~_-.",
}

func newTestRegistry(t *testing.T) *Registry {
	store, _ := embeddedBackend().open(t)
	return NewRegistry(store, nil)
}

func TestLinksVerify(t *testing.T) {
	ctx := context.Background()
	reg := newTestRegistry(t)
	srv, do := verifyServer(t, &sigv4.Verifier{Creds: staticCreds{"AKIDSHARE": "share-secret"}})
	for _, key := range weirdKeys {
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			req := testRequest(key, method)
			req.Endpoint = srv.URL
			l, err := reg.Create(ctx, req)
			if err != nil {
				t.Fatalf("Create %q: %v", key, err)
			}
			checkBrowserSafe(t, l.URL)
			var body io.Reader
			if method == "PUT" {
				body = strings.NewReader("payload of " + key)
			}
			hr, err := http.NewRequest(method, l.URL, body)
			if err != nil {
				t.Fatalf("%q: %v", l.URL, err)
			}
			got := do(hr)
			want := verdict{Method: method, Path: "/photos/" + key, Share: l.ID}
			if method == "PUT" {
				want.Body = "payload of " + key
			}
			if got != want {
				t.Errorf("%s %q via %s:\n got %+v\nwant %+v", method, key, l.URL, got, want)
			}
		}
	}
}

// checkBrowserSafe fails when a browser or curl, which remove dot segments
// before sending, would send another path than the URL's.
func checkBrowserSafe(t *testing.T, link string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.ResolveReference(&url.URL{}).String(); got != link {
		t.Errorf("dot-segment removal changes %s into %s", link, got)
	}
	for seg := range strings.SplitSeq(u.EscapedPath(), "/") {
		if d := strings.ReplaceAll(strings.ToLower(seg), "%2e", "."); d == "." || d == ".." {
			t.Errorf("%s has the dot segment %q", link, seg)
		}
	}
}

func TestLinkTampering(t *testing.T) {
	ctx := context.Background()
	reg := newTestRegistry(t)
	srv, do := verifyServer(t, &sigv4.Verifier{Creds: staticCreds{"AKIDSHARE": "share-secret"}})
	mk := func(key, method string) Link {
		req := testRequest(key, method)
		req.Endpoint = srv.URL
		l, err := reg.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	link, other := mk("doc.pdf", "GET"), mk("doc.pdf", "GET")
	send := func(method, raw string) verdict {
		t.Helper()
		hr, err := http.NewRequest(method, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		return do(hr)
	}
	if v := send("GET", link.URL); v.Err != "" || v.Share != link.ID {
		t.Fatalf("untampered link: %+v", v)
	}
	param := QueryParam + "=" + link.ID
	for name, tampered := range map[string]string{
		"id swapped for another live link": strings.Replace(link.URL, param, QueryParam+"="+other.ID, 1),
		"id removed":                       strings.Replace(link.URL, param+"&", "", 1),
		"id emptied":                       strings.Replace(link.URL, param, QueryParam+"=", 1),
		"id given twice":                   link.URL + "&" + param,
		"second id appended":               link.URL + "&" + QueryParam + "=" + other.ID,
		"other key":                        strings.Replace(link.URL, "/doc.pdf?", "/doc.pdg?", 1),
		"expiry lengthened":                strings.Replace(link.URL, "X-Amz-Expires=3600", "X-Amz-Expires=7200", 1),
	} {
		if tampered == link.URL {
			t.Fatalf("%s: the URL did not change (%s)", name, link.URL)
		}
		if v := send("GET", tampered); v.Err != "mismatch" {
			t.Errorf("%s: verifier said %q, want a signature mismatch (%s)", name, v.Err, tampered)
		}
	}
	if v := send("PUT", link.URL); v.Err != "mismatch" {
		t.Errorf("GET link used for PUT: verifier said %q", v.Err)
	}
	// Spelling the parameter name with escapes does not change what was
	// signed, so the verifier accepts it; the id must still be found, or a
	// link could dodge revocation by being re-spelled.
	respelled := strings.Replace(link.URL, param, "X-Coffer-%53hare="+link.ID[:4]+"%"+fmt.Sprintf("%02X", link.ID[4])+link.ID[5:], 1)
	if v := send("GET", respelled); v.Err != "" || v.Share != link.ID {
		t.Errorf("re-spelled link: %+v, want verified with share %s", v, link.ID)
	}
}

func TestLinkExpiryAndRegion(t *testing.T) {
	ctx := context.Background()
	store, _ := embeddedBackend().open(t)
	v := &sigv4.Verifier{Creds: staticCreds{"AKIDSHARE": "share-secret"}, Region: "eu-west-1"}
	srv, do := verifyServer(t, v)
	get := func(reg *Registry, region string, exp time.Duration) verdict {
		req := testRequest("k", "GET")
		req.Endpoint, req.Region, req.Expires = srv.URL, region, exp
		l, err := reg.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		hr, _ := http.NewRequest("GET", l.URL, nil)
		return do(hr)
	}
	now := NewRegistry(store, nil)
	if got := get(now, "eu-west-1", time.Minute); got.Err != "" {
		t.Fatalf("link in the verifier's region: %s", got.Err)
	}
	if got := get(now, "", time.Minute); got.Err == "" {
		t.Fatal("link for us-east-1 verified by an eu-west-1 verifier")
	}
	past := NewRegistry(store, func() time.Time { return time.Now().Add(-time.Hour) })
	if got := get(past, "eu-west-1", 59*time.Minute); got.Err != "expired" {
		t.Fatalf("link that expired a minute ago: %q, want expired", got.Err)
	}
	if got := get(past, "eu-west-1", 2*time.Hour); got.Err != "" {
		t.Fatalf("link dated an hour ago, valid for two: %q", got.Err)
	}
}

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:9000":  "http 127.0.0.1:9000",
		"http://127.0.0.1:9000/": "http 127.0.0.1:9000",
		"http://S3.Example.COM":  "http s3.example.com",
		"http://h:80":            "http h",
		"https://h:443":          "https h",
		"https://h:80":           "https h:80",
		"http://h:443":           "http h:443",
		"http://h:":              "http h",
		"http://[::1]:80":        "http [::1]",
		"http://[::1]:9000":      "http [::1]:9000",
	} {
		scheme, host, err := parseEndpoint(in)
		if got := scheme + " " + host; err != nil || got != want {
			t.Errorf("parseEndpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
