package mgmtapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/mgmtapi"
	"github.com/cofferstore/coffer/internal/session"
)

// authManyLogins lifts the login limit for tests that log in more often
// than five times a minute.
func authManyLogins(c *mgmtapi.Config) { c.Limits.Login = 1000 }

// authFrozenLimiter counts every request in one window, whatever the
// wall clock does during the test, so a limit test cannot straddle a
// minute boundary. The window is the current one, so the store (which
// judges record expiry by its own clock) keeps the counters.
func authFrozenLimiter(c *mgmtapi.Config) {
	now := time.Now()
	c.Limiter = session.NewLimiter(c.Store, func() time.Time { return now })
}

// authUser creates a user with a console password and the given policies.
func authUser(e *env, name, password string, policies ...string) {
	e.t.Helper()
	if _, err := e.iam.CreateUser(context.Background(), iam.UserInput{Name: name, Password: password, Policies: policies}); err != nil {
		e.t.Fatal(err)
	}
}

type authLoginResult struct {
	Token string
	User  struct {
		ID, Username string
		Roles        []string
	}
	ExpiresIn int64
	CSRFToken string
}

func authLogin(c *client, body any) (*resp, authLoginResult) {
	c.e.t.Helper()
	r := c.do("POST", "/api/auth/login", body)
	var out authLoginResult
	if r.Status == http.StatusOK {
		r.json(&out)
	}
	return r, out
}

func authCookies(t testing.TB, r *resp) map[string]*http.Cookie {
	t.Helper()
	out := map[string]*http.Cookie{}
	for _, line := range r.Header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", line, err)
		}
		out[ck.Name] = ck
	}
	return out
}

type authMeResult struct {
	ID, Username, CanonicalID, AuthMethod, AccessKey, TokenID string
	Root                                                      bool
	Roles, Groups, Policies                                   []string
	Session                                                   *struct {
		Cookie    bool
		ExpiresAt time.Time
	}
}

func authMe(c *client) authMeResult {
	c.e.t.Helper()
	var m authMeResult
	c.do("GET", "/api/auth/me", nil).want(http.StatusOK).json(&m)
	return m
}

func TestLoginWithPassword(t *testing.T) {
	e := newEnv(t, authManyLogins)
	authUser(e, "alice", "alice-password")
	c := e.anon()
	r, out := authLogin(c, map[string]string{"username": "alice", "password": "alice-password"})
	r.want(http.StatusOK)
	if out.Token == "" || out.User.ID != "alice" || out.User.Username != "alice" || len(out.User.Roles) != 1 || out.User.Roles[0] != "user" {
		t.Fatalf("login response: %s", r.Body)
	}
	if out.ExpiresIn < 3600 || out.ExpiresIn > int64(session.DefaultTTL/time.Second) || out.CSRFToken == "" {
		t.Fatalf("expiresIn %d, csrfToken %q", out.ExpiresIn, out.CSRFToken)
	}
	cks := authCookies(t, r)
	sc, cc := cks["coffer_session"], cks["coffer_csrf"]
	if sc == nil || cc == nil {
		t.Fatalf("cookies: %v", r.Header.Values("Set-Cookie"))
	}
	if sc.Value != out.Token || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/" || sc.Secure || sc.Expires.IsZero() {
		t.Errorf("session cookie: %+v", sc)
	}
	if cc.Value != out.CSRFToken || cc.HttpOnly || cc.SameSite != http.SameSiteStrictMode || cc.Path != "/" {
		t.Errorf("csrf cookie: %+v", cc)
	}
	// The JWT works as a Bearer token.
	b := e.anon()
	b.bearer = out.Token
	m := authMe(b)
	if m.Username != "alice" || m.Root || m.AuthMethod != "password" || m.Session == nil || m.Session.Cookie {
		t.Fatalf("me: %+v", m)
	}
	// The cookie works too, and me says so.
	if m := authMe(c); m.Session == nil || !m.Session.Cookie {
		t.Fatalf("me via cookie: %+v", m)
	}
}

func TestLoginSecureCookies(t *testing.T) {
	e := newEnv(t, func(c *mgmtapi.Config) { c.SecureCookies = true })
	r, _ := authLogin(e.anon(), map[string]string{"username": rootUser, "password": rootSecret})
	r.want(http.StatusOK)
	for name, ck := range authCookies(t, r) {
		if !ck.Secure {
			t.Errorf("cookie %s is not Secure", name)
		}
	}
}

func TestLoginRolesAndKeys(t *testing.T) {
	e := newEnv(t, authManyLogins)
	ctx := context.Background()

	_, out := authLogin(e.anon(), map[string]string{"username": rootUser, "password": rootSecret})
	if len(out.User.Roles) != 1 || out.User.Roles[0] != "admin" {
		t.Fatalf("root roles %v", out.User.Roles)
	}
	authUser(e, "boss", "boss-password", "admin")
	_, out = authLogin(e.anon(), map[string]string{"username": "boss", "password": "boss-password"})
	if len(out.User.Roles) != 1 || out.User.Roles[0] != "admin" {
		t.Fatalf("admin-policy user roles %v", out.User.Roles)
	}

	authUser(e, "keyed", "keyed-password", "readonly")
	k, err := e.iam.CreateAccessKey(ctx, iam.AccessKeyInput{User: "keyed"})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []map[string]string{
		{"accessKey": k.AccessKey, "secretKey": k.Secret},
		{"access_key": k.AccessKey, "secret_key": k.Secret},
	} {
		r, out := authLogin(e.anon(), body)
		r.want(http.StatusOK)
		c := e.anon()
		c.bearer = out.Token
		m := authMe(c)
		if m.Username != "keyed" || m.AuthMethod != "accessKey" || m.AccessKey != k.AccessKey || m.Roles[0] != "user" {
			t.Fatalf("me after key login: %+v", m)
		}
	}
	// Root's access key and secret log in as root.
	r, out := authLogin(e.anon(), map[string]string{"accessKey": rootUser, "secretKey": rootSecret})
	r.want(http.StatusOK)
	c := e.anon()
	c.bearer = out.Token
	if m := authMe(c); !m.Root || m.Roles[0] != "admin" {
		t.Fatalf("root key login: %+v", m)
	}

	// A session bound to an access key ends when the key is deleted.
	_, out = authLogin(e.anon(), map[string]string{"accessKey": k.AccessKey, "secretKey": k.Secret})
	c = e.anon()
	c.bearer = out.Token
	c.do("GET", "/api/auth/me", nil).want(http.StatusOK)
	if err := e.iam.DeleteAccessKey(ctx, k.AccessKey); err != nil {
		t.Fatal(err)
	}
	c.do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "InvalidCredentials")
}

func TestLoginFailures(t *testing.T) {
	e := newEnv(t, authManyLogins)
	ctx := context.Background()
	authUser(e, "bob", "bob-password")
	if _, err := e.iam.CreateUser(ctx, iam.UserInput{Name: "nopass"}); err != nil {
		t.Fatal(err)
	}
	k, err := e.iam.CreateAccessKey(ctx, iam.AccessKeyInput{User: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	off, err := e.iam.CreateAccessKey(ctx, iam.AccessKeyInput{User: "bob", Inactive: true})
	if err != nil {
		t.Fatal(err)
	}
	var message string
	for i, body := range []map[string]string{
		{"username": "bob", "password": "wrong-password"},
		{"username": "nobody", "password": "bob-password"},
		{"username": "nopass", "password": "anything-at-all"},
		{"username": rootUser, "password": "wrong"},
		{"username": "bob", "password": ""},
		{"accessKey": k.AccessKey, "secretKey": "wrong-secret"},
		{"accessKey": "AKNOSUCHKEY", "secretKey": k.Secret},
		{"accessKey": k.AccessKey},
		// Right secret, inactive key: told apart from a wrong secret by nothing.
		{"accessKey": off.AccessKey, "secretKey": off.Secret},
	} {
		r, _ := authLogin(e.anon(), body)
		r.wantError(http.StatusUnauthorized, "InvalidCredentials")
		m := r.obj()["message"].(string)
		if i > 0 && m != message {
			t.Errorf("attempt %d: message %q differs from %q", i, m, message)
		}
		message = m
		if strings.Contains(r.Header.Get("Set-Cookie"), "coffer_session") {
			t.Errorf("attempt %d set a session cookie", i)
		}
	}
	for _, body := range []any{
		map[string]string{},
		map[string]string{"username": "bob", "password": "bob-password", "accessKey": k.AccessKey, "secretKey": k.Secret},
	} {
		r, _ := authLogin(e.anon(), body)
		r.wantError(http.StatusBadRequest, "InvalidRequest")
	}
	c := e.anon()
	c.do("POST", "/api/auth/login", `{"username":`).wantError(http.StatusUnsupportedMediaType, "UnsupportedMediaType")
	c.header.Set("Content-Type", "application/json")
	c.do("POST", "/api/auth/login", `{"username":`).wantError(http.StatusBadRequest, "InvalidJSON")
	c.header.Set("Content-Type", "text/plain")
	c.do("POST", "/api/auth/login", `{"username":"bob","password":"bob-password"}`).wantError(http.StatusUnsupportedMediaType, "UnsupportedMediaType")

	// The right password of a disabled user: refused, and told why.
	if err := e.iam.SetUserEnabled(ctx, "bob", false); err != nil {
		t.Fatal(err)
	}
	r, _ := authLogin(e.anon(), map[string]string{"username": "bob", "password": "bob-password"})
	r.wantError(http.StatusForbidden, "UserDisabled")
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, authFrozenLimiter)
	authUser(e, "carol", "carol-password")
	for i := range 5 {
		r, _ := authLogin(e.anon(), map[string]string{"username": "carol", "password": "wrong-" + strconv.Itoa(i)})
		r.wantError(http.StatusUnauthorized, "InvalidCredentials")
	}
	before := time.Now()
	// The sixth attempt is refused before the password is looked at, even
	// the right one.
	r, _ := authLogin(e.anon(), map[string]string{"username": "carol", "password": "carol-password"})
	r.wantError(http.StatusTooManyRequests, "RateLimitExceeded")
	var body struct {
		Message    string
		RetryAfter int64
	}
	r.json(&body)
	if body.RetryAfter < before.UnixMilli() || body.RetryAfter > before.Add(2*time.Minute).UnixMilli() {
		t.Errorf("retryAfter %d, now %d", body.RetryAfter, before.UnixMilli())
	}
	if !strings.Contains(body.Message, "5") {
		t.Errorf("message %q does not state the limit", body.Message)
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 120 {
		t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	// The OAuth2 route shares the window.
	c := e.anon()
	c.header.Set("Content-Type", "application/x-www-form-urlencoded")
	c.do("POST", "/api/auth/token", "grant_type=password&username=carol&password=carol-password").
		wantError(http.StatusTooManyRequests, "RateLimitExceeded")
	// Other routes are not limited by it.
	e.root().do("GET", "/api/auth/me", nil).want(http.StatusOK)
}

func TestCSRFAfterCookieLogin(t *testing.T) {
	e := newEnv(t, authManyLogins)
	authUser(e, "dave", "dave-password")
	c := e.anon() // a browser: a cookie jar, no Authorization header
	r, out := authLogin(c, map[string]string{"username": "dave", "password": "dave-password"})
	r.want(http.StatusOK)
	c.do("GET", "/api/tokens", nil).want(http.StatusOK)
	c.do("POST", "/api/tokens", map[string]any{"name": "no-csrf"}).wantError(http.StatusForbidden, "CSRFTokenInvalid")
	// The console reads the token from the coffer_csrf cookie.
	u, _ := url.Parse(e.URL)
	var fromCookie string
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "coffer_csrf" {
			fromCookie = ck.Value
		}
	}
	if fromCookie != out.CSRFToken {
		t.Fatalf("csrf cookie %q, response %q", fromCookie, out.CSRFToken)
	}
	c.csrf = "x" + fromCookie
	c.do("POST", "/api/tokens", map[string]any{"name": "bad-csrf"}).wantError(http.StatusForbidden, "CSRFTokenInvalid")
	c.csrf = fromCookie
	c.do("POST", "/api/tokens", map[string]any{"name": "with-csrf"}).want(http.StatusCreated)
}

// authSecondInstance serves another API over e's store, sessions and IAM:
// what a second instance behind a load balancer is.
func authSecondInstance(t *testing.T, e *env) *env {
	t.Helper()
	api, err := mgmtapi.New(mgmtapi.Config{IAM: e.iam, Objects: e.objects, Store: e.store, Sessions: e.sessions,
		Limiter: session.NewLimiter(e.store, nil), Shares: e.shares, Region: region, S3Endpoint: e.S3URL})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		api.Close()
	})
	e2 := *e
	e2.URL, e2.api = srv.URL, api
	return &e2
}

func TestLogoutRevokesEverywhere(t *testing.T) {
	e := newEnv(t, authManyLogins)
	e2 := authSecondInstance(t, e)
	authUser(e, "erin", "erin-password")
	_, out := authLogin(e.anon(), map[string]string{"username": "erin", "password": "erin-password"})
	c, c2 := e.anon(), e2.anon()
	c.bearer, c2.bearer = out.Token, out.Token
	c.do("GET", "/api/auth/me", nil).want(http.StatusOK)
	c2.do("GET", "/api/auth/me", nil).want(http.StatusOK)

	r := c.do("POST", "/api/auth/logout", nil).want(http.StatusOK)
	if r.obj()["message"] == "" {
		t.Error("no message")
	}
	c.do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "TokenRevoked")
	c2.do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "TokenRevoked")
	// A logged-out session can no longer do anything, even log out.
	c2.do("POST", "/api/tokens", map[string]any{"name": "x"}).wantError(http.StatusUnauthorized, "TokenRevoked")
}

func TestLogoutWithCookie(t *testing.T) {
	e := newEnv(t, authManyLogins)
	authUser(e, "fay", "fay-password")
	c := e.anon()
	_, out := authLogin(c, map[string]string{"username": "fay", "password": "fay-password"})
	// Another site cannot log the browser out: the CSRF header is needed.
	c.do("POST", "/api/auth/logout", nil).wantError(http.StatusForbidden, "CSRFTokenInvalid")
	c.do("GET", "/api/auth/me", nil).want(http.StatusOK)
	c.csrf = out.CSRFToken
	r := c.do("POST", "/api/auth/logout", nil).want(http.StatusOK)
	cks := authCookies(t, r)
	for _, name := range []string{"coffer_session", "coffer_csrf"} {
		if ck := cks[name]; ck == nil || ck.MaxAge >= 0 || ck.Value != "" {
			t.Errorf("logout did not clear %s: %+v", name, ck)
		}
	}
	u, _ := url.Parse(e.URL)
	if n := len(c.hc.Jar.Cookies(u)); n != 0 {
		t.Errorf("%d cookies left in the jar", n)
	}
	b := e.anon()
	b.bearer = out.Token
	b.do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "TokenRevoked")

	// Logging out without a session clears cookies and succeeds.
	e.anon().do("POST", "/api/auth/logout", nil).want(http.StatusOK)
	// A stale cookie is cleared too.
	stale := e.anon()
	stale.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "coffer_session", Value: out.Token, Path: "/"}})
	stale.do("POST", "/api/auth/logout", nil).want(http.StatusOK)
	if n := len(stale.hc.Jar.Cookies(u)); n != 0 {
		t.Errorf("%d stale cookies left in the jar", n)
	}
}

func TestAuthInfo(t *testing.T) {
	e := newEnv(t)
	var info struct {
		AuthEnabled, Authenticated bool
		User                       *struct {
			ID, Username string
			Roles        []string
		}
	}
	e.anon().do("GET", "/api/auth/info", nil).want(http.StatusOK).json(&info)
	if !info.AuthEnabled || info.Authenticated || info.User != nil {
		t.Fatalf("anonymous info: %+v", info)
	}
	e.root().do("GET", "/api/auth/info", nil).want(http.StatusOK).json(&info)
	if !info.Authenticated || info.User == nil || info.User.Username != rootUser || info.User.Roles[0] != "admin" {
		t.Fatalf("root info: %+v", info)
	}
	u := e.user("gina", "readonly")
	info.User = nil
	u.do("GET", "/api/auth/info", nil).want(http.StatusOK).json(&info)
	if !info.Authenticated || info.User == nil || info.User.Username != "gina" || info.User.Roles[0] != "user" {
		t.Fatalf("user info: %+v", info)
	}
	// A bad token on a public route is just anonymous.
	bad := e.anon()
	bad.bearer = "a.b.c"
	bad.do("GET", "/api/auth/info", nil).want(http.StatusOK).json(&info)
	if info.Authenticated {
		t.Fatal("bad token counted as authenticated")
	}
}

func TestAuthMe(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.anon().do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "Unauthorized")

	m := authMe(e.root())
	if !m.Root || m.Username != rootUser || m.Roles[0] != "admin" || m.CanonicalID != iam.CanonicalID(rootUser) {
		t.Fatalf("root me: %+v", m)
	}
	if _, err := e.iam.CreateGroup(ctx, "staff", []string{"readonly"}); err != nil {
		t.Fatal(err)
	}
	h := e.user("hank", "writeonly")
	if err := e.iam.AddUserToGroup(ctx, "hank", "staff"); err != nil {
		t.Fatal(err)
	}
	m = authMe(h)
	if m.Root || m.Username != "hank" || len(m.Groups) != 1 || m.Groups[0] != "staff" ||
		len(m.Policies) != 1 || m.Policies[0] != "writeonly" || m.AuthMethod != "password" || m.Session == nil {
		t.Fatalf("user me: %+v", m)
	}
}

func TestSSETicket(t *testing.T) {
	e := newEnv(t)
	e.anon().do("POST", "/api/auth/sse-ticket", map[string]string{"resource": "x", "resourceType": "upload"}).
		wantError(http.StatusUnauthorized, "Unauthorized")
	u := e.user("ivy")
	var out struct {
		Ticket               string
		SSEURL               string `json:"sseUrl"`
		ExpiresAt, ExpiresIn int64
	}
	before := time.Now()
	u.do("POST", "/api/auth/sse-ticket", map[string]string{"resource": b64("a/b.txt"), "resourceType": "upload"}).
		want(http.StatusOK).json(&out)
	if out.Ticket == "" || out.SSEURL != "/api/objects/upload-progress/"+b64("a/b.txt")+"?ticket="+out.Ticket {
		t.Fatalf("ticket response: %+v", out)
	}
	if out.ExpiresIn < 50 || out.ExpiresIn > 60 || out.ExpiresAt < before.UnixMilli() || out.ExpiresAt > before.Add(2*time.Minute).UnixMilli() {
		t.Fatalf("expiry: %+v", out)
	}
	// The ticket is for "<resourceType>:<resource>" and that only, once.
	ctx := context.Background()
	if _, err := e.sessions.RedeemTicket(ctx, out.Ticket, "upload:"+b64("other")); !errors.Is(err, session.ErrTicketInvalid) {
		t.Fatalf("redeeming for another resource: %v", err)
	}
	s, err := e.sessions.RedeemTicket(ctx, out.Ticket, "upload:"+b64("a/b.txt"))
	if err != nil || s.User != "ivy" || s.Root {
		t.Fatalf("redeem: %+v, %v", s, err)
	}
	if _, err := e.sessions.RedeemTicket(ctx, out.Ticket, "upload:"+b64("a/b.txt")); !errors.Is(err, session.ErrTicketInvalid) {
		t.Fatalf("second redeem: %v", err)
	}
	// A type without a known SSE endpoint gets a ticket and no URL.
	var other map[string]any
	u.do("POST", "/api/auth/sse-ticket", map[string]string{"resource": "job-1", "resourceType": "thumbnail"}).want(http.StatusOK).json(&other)
	if other["ticket"] == "" || other["sseUrl"] != nil {
		t.Fatalf("thumbnail ticket: %v", other)
	}
	// A task ticket names its archive's download URL.
	var task map[string]any
	u.do("POST", "/api/auth/sse-ticket", map[string]string{"resource": "job-1", "resourceType": "task"}).want(http.StatusOK).json(&task)
	if link, _ := task["sseUrl"].(string); !strings.HasPrefix(link, "/api/tasks/job-1/download?ticket=") {
		t.Fatalf("task ticket: %v", task)
	}
	for _, body := range []map[string]string{
		{"resource": "x"},
		{"resourceType": "upload"},
		{"resource": "x", "resourceType": "Upload"},
		{"resource": "x", "resourceType": "up:load"},
		{"resource": "line\nbreak", "resourceType": "upload"},
		{"resource": strings.Repeat("r", 1025), "resourceType": "upload"},
	} {
		u.do("POST", "/api/auth/sse-ticket", body).wantError(http.StatusBadRequest, "InvalidRequest")
	}
}

func TestSSETicketRateLimit(t *testing.T) {
	e := newEnv(t, authFrozenLimiter)
	u := e.user("jack")
	body := map[string]string{"resource": "r", "resourceType": "upload"}
	for range 20 {
		u.do("POST", "/api/auth/sse-ticket", body).want(http.StatusOK)
	}
	r := u.do("POST", "/api/auth/sse-ticket", body).wantError(http.StatusTooManyRequests, "RateLimitExceeded")
	if r.Header.Get("Retry-After") == "" || r.obj()["retryAfter"] == nil {
		t.Fatalf("429 without retry information: %s", r.Body)
	}
	// The limit is per client address, not per user: another user from
	// the same address is refused too.
	e.user("kate").do("POST", "/api/auth/sse-ticket", body).wantError(http.StatusTooManyRequests, "RateLimitExceeded")
}

func TestOAuthPasswordGrant(t *testing.T) {
	e := newEnv(t, authManyLogins)
	authUser(e, "leo", "leo-password", "readonly")
	form := func(body string) *resp {
		c := e.anon()
		c.header.Set("Content-Type", "application/x-www-form-urlencoded")
		return c.do("POST", "/api/auth/token", body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	for _, body := range []string{
		"grant_type=password&username=leo&password=leo-password",
		"username=leo&password=leo-password", // ra-hcp's form makes grant_type optional
		"grant_type=password&username=leo&password=leo-password&tenant=acme-1",
		"grant_type=password&username=" + url.QueryEscape("acme/leo") + "&password=leo-password",
		"grant_type=password&username=" + rootUser + "&password=" + rootSecret,
	} {
		tok.AccessToken = ""
		form(body).want(http.StatusOK).json(&tok)
		if tok.AccessToken == "" || tok.TokenType != "bearer" || tok.ExpiresIn < 3600 {
			t.Fatalf("%s: %+v", body, tok)
		}
		c := e.anon()
		c.bearer = tok.AccessToken
		c.do("GET", "/api/auth/me", nil).want(http.StatusOK)
	}
	form("grant_type=password&username=leo&password=wrong").wantError(http.StatusUnauthorized, "InvalidCredentials")
	form("grant_type=client_credentials&username=leo&password=leo-password").wantError(http.StatusBadRequest, "UnsupportedGrantType")
	form("grant_type=password&password=leo-password").wantError(http.StatusBadRequest, "InvalidRequest")
	form("grant_type=password&username=leo&password=leo-password&tenant=bad+tenant!").wantError(http.StatusBadRequest, "InvalidTenant")
	form("grant_type=password&username="+url.QueryEscape("/leo")+"&password=leo-password").wantError(http.StatusBadRequest, "InvalidTenant")
	form("grant_type=password&username=leo&password=%zz").wantError(http.StatusBadRequest, "InvalidRequest")
	form("password="+strings.Repeat("p", 20<<10)).wantError(http.StatusRequestEntityTooLarge, "PayloadTooLarge")
	e.anon().do("POST", "/api/auth/token", map[string]string{"username": "leo", "password": "leo-password"}).
		wantError(http.StatusUnsupportedMediaType, "UnsupportedMediaType")
}

type authTokenResult struct {
	ID, Name, User, Token string
	Root                  bool
	CreatedAt, ExpiresAt  time.Time
}

func TestAPITokens(t *testing.T) {
	e := newEnv(t)
	e.anon().do("POST", "/api/tokens", map[string]any{"name": "x"}).wantError(http.StatusUnauthorized, "Unauthorized")
	u := e.user("mia", "readonly")
	var tok authTokenResult
	u.do("POST", "/api/tokens", map[string]any{"name": "ci", "expiresIn": 3600}).want(http.StatusCreated).json(&tok)
	if tok.ID == "" || !strings.HasPrefix(tok.Token, "coffer_") || tok.User != "mia" || tok.Name != "ci" || tok.ExpiresAt.IsZero() {
		t.Fatalf("created token: %+v", tok)
	}
	// The token authenticates as Bearer and as X-Admin-Token.
	viaBearer, viaHeader := e.anon(), e.anon()
	viaBearer.bearer, viaHeader.admin = tok.Token, tok.Token
	for _, c := range []*client{viaBearer, viaHeader} {
		m := authMe(c)
		if m.Username != "mia" || m.AuthMethod != "token" || m.TokenID != tok.ID {
			t.Fatalf("me with token: %+v", m)
		}
	}
	// ... and acts with the user's permissions only.
	viaBearer.do("POST", "/api/users", map[string]any{"name": "x"}).wantError(http.StatusForbidden, "AccessDenied")

	var list struct{ Tokens []authTokenResult }
	u.do("GET", "/api/tokens", nil).want(http.StatusOK).json(&list)
	if len(list.Tokens) != 1 || list.Tokens[0].ID != tok.ID || list.Tokens[0].Token != "" {
		t.Fatalf("list: %s", u.do("GET", "/api/tokens", nil).Body)
	}
	u.do("GET", "/api/tokens/"+tok.ID, nil).want(http.StatusOK)

	// Others see and revoke it only with admin rights.
	other := e.user("ned")
	other.do("GET", "/api/tokens", nil).want(http.StatusOK).json(&list)
	if len(list.Tokens) != 0 {
		t.Fatalf("another user sees %d tokens", len(list.Tokens))
	}
	other.do("GET", "/api/tokens?user=mia", nil).wantError(http.StatusForbidden, "AccessDenied")
	other.do("GET", "/api/tokens?all=true", nil).wantError(http.StatusForbidden, "AccessDenied")
	other.do("GET", "/api/tokens/"+tok.ID, nil).wantError(http.StatusForbidden, "AccessDenied")
	other.do("DELETE", "/api/tokens/"+tok.ID, nil).wantError(http.StatusForbidden, "AccessDenied")
	other.do("DELETE", "/api/tokens/0123456789abcdef", nil).wantError(http.StatusForbidden, "AccessDenied")
	boss := e.user("oscar", "admin")
	boss.do("GET", "/api/tokens?user=mia", nil).want(http.StatusOK).json(&list)
	if len(list.Tokens) != 1 {
		t.Fatalf("admin sees %d of mia's tokens", len(list.Tokens))
	}
	e.root().do("POST", "/api/tokens", map[string]any{"name": "root-token"}).want(http.StatusCreated)
	boss.do("GET", "/api/tokens?all=true", nil).want(http.StatusOK).json(&list)
	if len(list.Tokens) != 2 {
		t.Fatalf("admin sees %d tokens in all", len(list.Tokens))
	}
	boss.do("GET", "/api/tokens?all=true&user=mia", nil).wantError(http.StatusBadRequest, "InvalidRequest")
	boss.do("GET", "/api/tokens/0123456789abcdef", nil).wantError(http.StatusNotFound, "TokenNotFound")

	// Revocation takes effect at once, on every instance.
	e2 := authSecondInstance(t, e)
	onSecond := e2.anon()
	onSecond.bearer = tok.Token
	onSecond.do("GET", "/api/auth/me", nil).want(http.StatusOK)
	u.do("DELETE", "/api/tokens/"+tok.ID, nil).want(http.StatusNoContent)
	viaBearer.do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "InvalidCredentials")
	viaHeader.do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "InvalidCredentials")
	onSecond.do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "InvalidCredentials")
	boss.do("DELETE", "/api/tokens/"+tok.ID, nil).wantError(http.StatusNotFound, "TokenNotFound")

	// An admin revokes someone else's token.
	var t2 authTokenResult
	u.do("POST", "/api/tokens", map[string]any{"name": "second"}).want(http.StatusCreated).json(&t2)
	if !t2.ExpiresAt.IsZero() {
		t.Fatalf("token without expiry has one: %+v", t2)
	}
	boss.do("DELETE", "/api/tokens/"+t2.ID, nil).want(http.StatusNoContent)

	for _, body := range []map[string]any{
		{"name": "x", "expiresIn": -5},
		{"name": "x", "expiresIn": 60, "expiresAt": time.Now().Add(time.Hour)},
		{"name": "x", "expiresAt": time.Now().Add(-time.Hour)},
		{"name": "bad\nname"},
	} {
		r := u.do("POST", "/api/tokens", body).want(http.StatusBadRequest)
		if n := r.obj()["error"]; n != "InvalidRequest" && n != "InvalidName" {
			t.Errorf("%v: error %v", body, n)
		}
	}
}

func TestTokenOfDisabledUser(t *testing.T) {
	e := newEnv(t, authManyLogins)
	authUser(e, "pam", "pam-password")
	_, out := authLogin(e.anon(), map[string]string{"username": "pam", "password": "pam-password"})
	s := e.anon()
	s.bearer = out.Token
	var tok authTokenResult
	s.do("POST", "/api/tokens", map[string]any{"name": "t"}).want(http.StatusCreated).json(&tok)
	tc := e.anon()
	tc.bearer = tok.Token

	root := e.root()
	root.do("PATCH", "/api/users/pam", map[string]any{"status": "disabled"}).want(http.StatusOK)
	s.do("GET", "/api/auth/me", nil).wantError(http.StatusForbidden, "UserDisabled")
	tc.do("GET", "/api/auth/me", nil).wantError(http.StatusForbidden, "UserDisabled")
	// The session of a disabled user can still be ended.
	s.do("POST", "/api/auth/logout", nil).want(http.StatusOK)
	root.do("PATCH", "/api/users/pam", map[string]any{"status": "enabled"}).want(http.StatusOK)
	tc.do("GET", "/api/auth/me", nil).want(http.StatusOK)
	s.do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "TokenRevoked")
}

// FuzzLoginBody sends arbitrary bodies to the login endpoint: whatever
// comes in, the answer is a JSON success or a client error, never a
// server error.
func FuzzLoginBody(f *testing.F) {
	e := newEnv(f, authManyLogins, func(c *mgmtapi.Config) { c.Limits.Login = 1 << 30 })
	authUser(e, "fuzz", "fuzz-password")
	for _, s := range []string{
		`{"username":"fuzz","password":"fuzz-password"}`,
		`{"username":"fuzz","password":"x"}`,
		`{"accessKey":"AK","secretKey":"s"}`,
		`{"access_key":"` + rootUser + `","secret_key":"` + rootSecret + `"}`,
		`{"username":1}`, `[]`, `null`, `{}`, `{"username":"a"} {}`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := http.NewRequest("POST", e.URL+"/api/auth/login", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode >= 500 || res.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("body %q: status %d, %s", body, res.StatusCode, res.Header.Get("Content-Type"))
		}
	})
}

// FuzzOAuthTokenForm sends arbitrary form bodies to the OAuth2 route.
func FuzzOAuthTokenForm(f *testing.F) {
	e := newEnv(f, func(c *mgmtapi.Config) { c.Limits.Login = 1 << 30 })
	authUser(e, "fuzz", "fuzz-password")
	for _, s := range []string{
		"grant_type=password&username=fuzz&password=fuzz-password",
		"username=t%2Ffuzz&password=fuzz-password&tenant=",
		"grant_type=x", "tenant=%zz", "&&&==", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := http.NewRequest("POST", e.URL+"/api/auth/token", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("body %q: status %d", body, res.StatusCode)
		}
	})
}
