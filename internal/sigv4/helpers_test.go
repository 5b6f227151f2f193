package sigv4

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

const (
	docAccessKey = "AKIAIOSFODNN7EXAMPLE"
	docSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testAK       = "COFFERTESTKEY"
	testSecret   = "coffer/test+secret=value"
	testRegion   = "us-east-1"
)

// mapCreds is a Credentials backed by a map; it counts lookups so tests can
// tell whether the verifier got as far as the credential check.
type mapCreds struct {
	mu      sync.Mutex
	keys    map[string]string
	lookups int
}

func newCreds(kv ...string) *mapCreds {
	c := &mapCreds{keys: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		c.keys[kv[i]] = kv[i+1]
	}
	return c
}

func (c *mapCreds) SecretKey(_ context.Context, ak string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lookups++
	s, ok := c.keys[ak]
	if !ok {
		return "", fmt.Errorf("no such key: %w", ErrUnknownAccessKey)
	}
	return s, nil
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func mustTime(s string) time.Time {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		panic(err)
	}
	return t
}

// readBody wraps r.Body with a.Body and reads it to the end.
func readBody(t testing.TB, a *Auth, r io.Reader) ([]byte, *Body, error) {
	t.Helper()
	b, err := a.Body(r)
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(b)
	return data, b, err
}

// mustIs fails unless errors.Is(err, want); want nil means no error.
func mustIs(t testing.TB, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

// newReq builds a server-side-like request: Host in r.Host, URL without host.
func newReq(t testing.TB, method, target, host string, body io.Reader) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	r.Host = host
	return r
}

// oneByteReader returns at most one byte per Read, to exercise boundaries.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}
