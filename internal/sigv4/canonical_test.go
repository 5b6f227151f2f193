package sigv4

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestAppendEncoded(t *testing.T) {
	tests := []struct{ in, path, query string }{
		{"a-z_A.Z~0", "a-z_A.Z~0", "a-z_A.Z~0"},
		{"a b+c", "a%20b%2Bc", "a%20b%2Bc"},
		{"x/y//z", "x/y//z", "x%2Fy%2F%2Fz"},
		{"%2F", "%252F", "%252F"},
		{"!*'()=&?#", "%21%2A%27%28%29%3D%26%3F%23", "%21%2A%27%28%29%3D%26%3F%23"},
		{"ü", "%C3%BC", "%C3%BC"},
		{"\x00\xff", "%00%FF", "%00%FF"},
	}
	for _, tc := range tests {
		if got := string(appendEncoded(nil, tc.in, true)); got != tc.path {
			t.Errorf("path %q: %q, want %q", tc.in, got, tc.path)
		}
		if got := string(appendEncoded(nil, tc.in, false)); got != tc.query {
			t.Errorf("query %q: %q, want %q", tc.in, got, tc.query)
		}
	}
	if got := string(appendCanonicalURI(nil, "")); got != "/" {
		t.Errorf("empty path: %q", got)
	}
}

func TestCanonicalQuery(t *testing.T) {
	params, err := parseQuery("b=2&a=%20x+y&uploads&&c=&a=1&X-Amz-Signature=s")
	if err != nil {
		t.Fatal(err)
	}
	got := string(appendCanonicalQuery(nil, params, "X-Amz-Signature", false))
	want := "a=%20x%2By&a=1&b=2&c=&uploads="
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	got = string(appendCanonicalQuery(nil, params, "", true))
	want = "X-Amz-Signature=s&a=%20x%2By&a=1&b=2&c=&uploads="
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := parseQuery("a=%g0"); err == nil {
		t.Fatal("bad escape accepted")
	}
	if !hasRawQueryKey("x=1&X-Amz-Algorithm=y", "X-Amz-Algorithm") || hasRawQueryKey("x=X-Amz-Algorithm=1", "X-Amz-Algorithm") {
		t.Fatal("hasRawQueryKey")
	}
}

func TestHeaderValuesFromNetHTTP(t *testing.T) {
	// A chunked request: net/http moves Transfer-Encoding out of the header
	// map and sends no Content-Length.
	r, err := http.NewRequest("PUT", "http://example.com:81/b/k", strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	r.ContentLength = -1
	r.TransferEncoding = []string{"chunked"}
	r.Header.Set("X-Multi", "a")
	r.Header.Add("X-Multi", "  b   c ")
	sr := serverSide(t, r)
	if _, ok := sr.Header["Transfer-Encoding"]; ok {
		t.Fatal("expected net/http to remove Transfer-Encoding from the header map")
	}
	check := func(name, want string) {
		t.Helper()
		cr := canonicalRequest{method: "PUT", path: "/", signedHeaders: []string{name}}
		got := string(cr.appendTo(nil, sr))
		if !strings.Contains(got, "\n"+name+":"+want+"\n") {
			t.Errorf("%s: canonical request %q", name, got)
		}
	}
	check("host", "example.com:81")
	check("transfer-encoding", "chunked")
	check("content-length", "")
	check("x-multi", "a,b c")
	check("x-absent", "")

	r2, _ := http.NewRequest("PUT", "http://h/b/k", strings.NewReader("abcd"))
	sr2 := serverSide(t, r2)
	cr := canonicalRequest{method: "PUT", path: "/", signedHeaders: []string{"content-length"}}
	if got := string(cr.appendTo(nil, sr2)); !strings.Contains(got, "\ncontent-length:4\n") {
		t.Errorf("content-length: %q", got)
	}
	sr2.Header.Del("Content-Length")
	if got := string(cr.appendTo(nil, sr2)); !strings.Contains(got, "\ncontent-length:4\n") {
		t.Errorf("content-length from r.ContentLength: %q", got)
	}
}

func TestKeyCacheBoundedAndConcurrent(t *testing.T) {
	var c keyCache
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range keyCacheMax {
				secret := fmt.Sprint("s", g, i)
				k := c.get(secret, "20240101", "r")
				if k != deriveSigningKey(secret, "20240101", "r") {
					t.Error("cached key differs from derivation")
					return
				}
			}
		}()
	}
	wg.Wait()
	c.mu.Lock()
	n := len(c.m)
	c.mu.Unlock()
	if n > keyCacheMax {
		t.Fatalf("cache holds %d entries", n)
	}
}

// TestErrorsCarryNoSecret checks that no failure message contains the secret.
func TestErrorsCarryNoSecret(t *testing.T) {
	now := mustTime("20240102T030405Z")
	u := s3URL(t, "h", "k", nil)
	r := serverSide(t, sdkSign(t, "PUT", u, []byte("x"), nil, now))
	flipSig(r)
	_, err := testVerifier(now).Verify(r)
	mustIs(t, err, ErrSignatureMismatch)
	if strings.Contains(err.Error(), testSecret) || bytes.Contains([]byte(fmt.Sprintf("%+v", err)), []byte(testSecret)) {
		t.Fatal("secret in error")
	}
}
