package sigv2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

const (
	docAccessKey = "AKIAIOSFODNN7EXAMPLE"
	docSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testAK       = "COFFERV2KEY"
	testSecret   = "coffer/v2+secret=value"
)

// errBackend stands for an internal failure of a Credentials implementation.
var errBackend = errors.New("credential store unavailable")

// mapCreds is a Credentials backed by a map; it counts lookups so tests can
// tell whether the verifier got as far as the credential check.
type mapCreds struct {
	mu      sync.Mutex
	keys    map[string]string
	lookups int
	fail    error
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
	if c.fail != nil {
		return "", c.fail
	}
	s, ok := c.keys[ak]
	if !ok {
		return "", fmt.Errorf("no such key %q", ak)
	}
	return s, nil
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

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

// serverReq builds a request the way net/http's server does from a request
// line: target is the raw request-URI, host the Host header.
func serverReq(method, target, host string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.Host = host
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

// sentinels lists every exported error; each failure must wrap one.
var sentinels = []error{ErrNotV2, ErrUnknownAccessKey, ErrSignatureMismatch, ErrMalformedAuth,
	ErrMissingDate, ErrTimeSkewed, ErrRequestExpired}

func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
