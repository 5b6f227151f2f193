package mgmtapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/mgmtapi"
	"github.com/cofferstore/coffer/internal/session"
)

func TestUnknownRouteIsJSON404(t *testing.T) {
	e := newEnv(t)
	e.root().do("GET", "/api/no/such/thing", nil).wantError(http.StatusNotFound, "NotFound")
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	r := e.anon().do("GET", "/api/health", nil).want(http.StatusOK)
	for k, v := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "no-store",
	} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(r.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", r.Header.Get("Content-Security-Policy"))
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
}

func TestAuthenticationRequired(t *testing.T) {
	e := newEnv(t)
	r := e.anon().do("GET", "/api/stats", nil).wantError(http.StatusUnauthorized, "Unauthorized")
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	c := e.anon()
	c.bearer = "not.a.jwt"
	c.do("GET", "/api/stats", nil).wantError(http.StatusUnauthorized, "InvalidToken")
	c.bearer = "plain-token-that-is-unknown"
	c.do("GET", "/api/stats", nil).wantError(http.StatusUnauthorized, "InvalidCredentials")
	c = e.anon()
	c.header.Set("Authorization", "Basic cm9vdDpyb290")
	c.do("GET", "/api/stats", nil).wantError(http.StatusUnauthorized, "Unauthorized")
}

func TestCSRFOnCookieWrites(t *testing.T) {
	e := newEnv(t)
	c := e.cookie(session.Subject{User: rootUser, Root: true})
	// Reads need no CSRF token.
	c.do("GET", "/api/buckets", nil).want(http.StatusOK)
	token := c.csrf
	c.csrf = ""
	c.do("POST", "/api/buckets", map[string]any{"name": "csrf-bucket"}).wantError(http.StatusForbidden, "CSRFTokenInvalid")
	c.csrf = "wrong" + token
	c.do("POST", "/api/buckets", map[string]any{"name": "csrf-bucket"}).wantError(http.StatusForbidden, "CSRFTokenInvalid")
	c.csrf = token
	c.do("POST", "/api/buckets", map[string]any{"name": "csrf-bucket"}).want(http.StatusCreated)
	// A Bearer caller is not exposed to CSRF (browsers do not add the
	// header on their own) and needs no token.
	e.root().do("DELETE", "/api/buckets/csrf-bucket", nil).want(http.StatusOK)
}

func TestCORS(t *testing.T) {
	e := newEnv(t, func(c *mgmtapi.Config) { c.AllowedOrigins = []string{"https://console.example"} })
	c := e.anon()
	c.header.Set("Origin", "https://console.example")
	c.header.Set("Access-Control-Request-Method", "POST")
	r := c.do("OPTIONS", "/api/buckets", nil).want(http.StatusNoContent)
	if r.Header.Get("Access-Control-Allow-Origin") != "https://console.example" || r.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("preflight headers: %v", r.Header)
	}
	c.header.Set("Origin", "https://evil.example")
	r = c.do("OPTIONS", "/api/buckets", nil).want(http.StatusForbidden)
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("disallowed origin got CORS headers")
	}
	c.header.Del("Access-Control-Request-Method")
	r = c.do("GET", "/api/health", nil).want(http.StatusOK)
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("disallowed origin got CORS headers on a simple request")
	}
}

func TestJSONBodyLimits(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	big := `{"name":"` + strings.Repeat("a", 1<<20) + `"}`
	root.header.Set("Content-Type", "application/json")
	root.do("POST", "/api/buckets", big).wantError(http.StatusRequestEntityTooLarge, "PayloadTooLarge")
	root.do("POST", "/api/buckets", `{"name":`).wantError(http.StatusBadRequest, "InvalidJSON")
	root.do("POST", "/api/buckets", ``).wantError(http.StatusBadRequest, "InvalidRequest")
	root.header.Set("Content-Type", "text/plain")
	root.do("POST", "/api/buckets", `{"name":"x"}`).wantError(http.StatusUnsupportedMediaType, "UnsupportedMediaType")
}

// TestTicketBeatsStaleCookie: EventSource sends the browser's cookies with
// a ticketed request; a logged-out session's cookie must not refuse a
// valid ticket.
func TestTicketBeatsStaleCookie(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	root := session.Subject{User: rootUser, Root: true}
	c := e.cookie(root)
	cl, err := e.sessions.Verify(ctx, c.hc.Jar.Cookies(mustURL(t, e.URL))[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sessions.Revoke(ctx, cl); err != nil {
		t.Fatal(err)
	}
	e.root().do("POST", "/api/buckets", map[string]any{"name": "tickets"}).want(http.StatusCreated)
	var task struct{ ID string }
	e.root().do("POST", "/api/tasks/count", map[string]any{"bucket": "tickets", "prefix": ""}).want(http.StatusAccepted).json(&task)
	tk, err := e.sessions.NewTicket(ctx, root, "transfer:"+task.ID)
	if err != nil {
		t.Fatal(err)
	}
	c.do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "TokenRevoked")
	// The transfer progress route is ticketed; the task is no transfer, so
	// an admitted caller gets 404, a refused one 401.
	c.do("GET", "/api/transfer/progress/"+task.ID+"?ticket="+tk.ID, nil).wantError(http.StatusNotFound, "TransferNotFound")
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestUserSessionsEndWithTheUser: disabling then enabling a user, or
// deleting it and creating one of the same name, does not revive the
// sessions it had.
func TestUserSessionsEndWithTheUser(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	for _, name := range []string{"dora", "dave"} {
		root.do("POST", "/api/users", map[string]any{"name": name}).want(http.StatusCreated)
	}
	dora, dave := e.as(session.Subject{User: "dora"}), e.as(session.Subject{User: "dave"})
	dora.do("GET", "/api/auth/me", nil).want(http.StatusOK)
	dave.do("GET", "/api/auth/me", nil).want(http.StatusOK)
	// Sessions carry whole-second issue times; act in a later second.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))

	root.do("PATCH", "/api/users/dora", map[string]any{"status": "disabled"}).want(http.StatusOK)
	root.do("PATCH", "/api/users/dora", map[string]any{"status": "enabled"}).want(http.StatusOK)
	dora.do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "TokenRevoked")

	root.do("DELETE", "/api/users/dave", nil).want(http.StatusNoContent)
	root.do("POST", "/api/users", map[string]any{"name": "dave"}).want(http.StatusCreated)
	dave.do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "TokenRevoked")
	e.as(session.Subject{User: "dave"}).do("GET", "/api/auth/me", nil).want(http.StatusOK)
}
