package mgmtapi

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/session"
)

// authRoutes registers /api/auth/* (sessions, tickets, the OAuth2
// password flow) and personal API tokens.
//
// Login and the OAuth2 token route share the "login" rate-limit window, so
// guessing through both gets no more attempts than through one.
func (a *API) authRoutes() {
	loginLimit := limited("login", func(l Limits) int { return l.Login })
	a.handle("POST /api/auth/login", a.login, public(), loginLimit)
	a.handle("POST /api/auth/token", a.oauthToken, public(), loginLimit)
	a.handle("GET /api/auth/info", a.authInfo, public())
	a.handle("GET /api/auth/me", a.authMe)
	// Logout is public so that a browser holding an expired or revoked
	// cookie can still have it cleared.
	a.handle("POST /api/auth/logout", a.logout, public())
	a.handle("POST /api/auth/sse-ticket", a.sseTicket, limited("tickets", func(l Limits) int { return l.Tickets }))
	a.handle("GET /api/auth/credentials", a.authCredentials)

	a.handle("POST /api/tokens", a.createToken)
	a.handle("GET /api/tokens", a.listTokens)
	a.handle("GET /api/tokens/{id}", a.getToken)
	a.handle("DELETE /api/tokens/{id}", a.revokeToken)
}

// authUser is the user object of S4's login and info responses.
type authUser struct {
	ID       string   `json:"id"`
	Username string   `json:"username"`
	Roles    []string `json:"roles"`
}

type authLoginRequest struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
	// The storage server seed's spelling.
	AccessKeySnake string `json:"access_key"`
	SecretKeySnake string `json:"secret_key"`
}

type authLoginResponse struct {
	Token     string    `json:"token"`
	User      authUser  `json:"user"`
	ExpiresIn int64     `json:"expiresIn"` // seconds
	ExpiresAt time.Time `json:"expiresAt"`
	CSRFToken string    `json:"csrfToken"`
}

// POST /api/auth/login — S4 POST /auth/login. Body {"username","password"}
// (root's name and secret work) or {"accessKey","secretKey"} (also
// access_key/secret_key). Sets the HttpOnly session cookie and the
// script-readable CSRF cookie; the JWT is also returned for Bearer use.
func (a *API) login(c *call) (any, error) {
	// A body without a JSON content type can be sent cross-site without a
	// preflight (a Blob without type); requiring one keeps other sites
	// from logging a victim's browser into their account.
	if mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type")); mt != "application/json" {
		return nil, errorf(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "send application/json")
	}
	var in authLoginRequest
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	ak, sk := firstNonEmpty(in.AccessKey, in.AccessKeySnake), firstNonEmpty(in.SecretKey, in.SecretKeySnake)
	var (
		p   iam.Principal
		s   session.Subject
		err error
	)
	switch {
	case in.Username != "" && ak != "":
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "send username and password, or accessKey and secretKey, not both")
	case in.Username != "":
		p, err = a.checkPassword(c, in.Username, in.Password)
		s = session.Subject{User: p.Name, Root: p.Root}
	case ak != "":
		p, err = a.checkAccessKey(c, ak, sk)
		s = session.Subject{User: p.Name, Root: p.Root, AccessKey: p.AccessKey}
	default:
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "username and password, or accessKey and secretKey, are required")
	}
	if err != nil {
		return nil, err
	}
	token, cl, err := a.cfg.Sessions.Issue(c.ctx, s)
	if err != nil {
		return nil, fmt.Errorf("logging in: %w", err)
	}
	c.p = p
	roles, err := c.roles()
	if err != nil {
		return nil, err
	}
	a.setSessionCookies(c, token, cl)
	c.log.Info("login", "principal", p.Name, "method", loginMethod(s))
	return authLoginResponse{
		Token:     token,
		User:      authUser{ID: p.Name, Username: p.Name, Roles: roles},
		ExpiresIn: int64(cl.ExpiresAt.Sub(a.now()).Round(time.Second) / time.Second),
		ExpiresAt: cl.ExpiresAt,
		CSRFToken: cl.CSRF,
	}, nil
}

// checkPassword and checkAccessKey turn every wrong-credential outcome
// into one answer, InvalidCredentials, whichever part was wrong. A disabled
// user with the right password learns that it is disabled (403).
func (a *API) checkPassword(c *call, user, password string) (iam.Principal, error) {
	if password == "" || len(password) > iam.MaxPasswordLength {
		return iam.Principal{}, errBadLogin
	}
	p, err := a.cfg.IAM.CheckPassword(c.ctx, user, password)
	return p, loginError(err)
}

func (a *API) checkAccessKey(c *call, accessKey, secret string) (iam.Principal, error) {
	if secret == "" {
		return iam.Principal{}, errBadLogin
	}
	p, err := a.cfg.IAM.CheckAccessKey(c.ctx, accessKey, secret)
	return p, loginError(err)
}

// errBadLogin is the one answer to wrong credentials. Its message is
// fixed: the IAM error's text would tell an inactive key from a wrong
// secret.
var errBadLogin = errorf(http.StatusUnauthorized, "InvalidCredentials", "invalid credentials")

func loginError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, iam.ErrBadCredentials):
		return errBadLogin
	}
	return fmt.Errorf("logging in: %w", err)
}

func loginMethod(s session.Subject) string {
	if s.AccessKey != "" {
		return "accessKey"
	}
	return "password"
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// roles is S4's coarse view of the caller for the console: "admin" for
// root and for whoever may manage users (admin:ListUsers), else "user".
// The console only uses it to choose what to show; every action is still
// authorized on its own.
func (c *call) roles() ([]string, error) {
	err := c.authorize("admin:ListUsers", "", "", nil)
	switch {
	case err == nil:
		return []string{"admin"}, nil
	case errors.Is(err, iam.ErrAccessDenied):
		return []string{"user"}, nil
	}
	return nil, fmt.Errorf("finding roles: %w", err)
}

func (a *API) setSessionCookies(c *call, token string, cl session.Claims) {
	secure := a.cfg.SecureCookies || c.r.TLS != nil
	maxAge := int(cl.ExpiresAt.Sub(a.now()) / time.Second)
	http.SetCookie(c.w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", Expires: cl.ExpiresAt, MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	// Readable by the console's script on purpose (double submit).
	http.SetCookie(c.w, &http.Cookie{Name: csrfCookie, Value: cl.CSRF, Path: "/", Expires: cl.ExpiresAt, MaxAge: maxAge,
		Secure: secure, SameSite: http.SameSiteStrictMode})
}

func (a *API) clearSessionCookies(c *call) {
	secure := a.cfg.SecureCookies || c.r.TLS != nil
	for _, name := range []string{sessionCookie, csrfCookie} {
		http.SetCookie(c.w, &http.Cookie{Name: name, Value: "", Path: "/", Expires: time.Unix(0, 0), MaxAge: -1,
			HttpOnly: name == sessionCookie, Secure: secure, SameSite: http.SameSiteStrictMode})
	}
}

// maxTokenForm caps the OAuth2 form body; it holds a name and a password.
const maxTokenForm = 16 << 10

// oauthTenant is what ra-hcp accepts as a tenant name.
func validTenant(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

type oauthTokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// POST /api/auth/token — ra-hcp POST /api/v1/auth/token, the OAuth2
// password grant (RFC 6749 §4.3): an application/x-www-form-urlencoded body
// with username, password and grant_type=password. As in ra-hcp (FastAPI's
// OAuth2PasswordRequestForm), a missing grant_type means password; any
// other value is 400 UnsupportedGrantType. Coffer has no tenants: a tenant
// (the form field, or "tenant/user" in username, as ra-hcp reads them)
// must still be a valid tenant name (else 400 InvalidTenant) and is then
// ignored. The access token is a session JWT, used as a Bearer token.
// Errors keep this API's JSON shape: 401 InvalidCredentials for bad
// credentials.
func (a *API) oauthToken(c *call) (any, error) {
	mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, errorf(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "send application/x-www-form-urlencoded")
	}
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, maxTokenForm)
	if err := c.r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "PayloadTooLarge", "the form is limited to %d bytes", maxTokenForm)
		}
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "malformed form body")
	}
	form := c.r.PostForm
	user, tenant, err := parseOAuthForm(form)
	if err != nil {
		return nil, err
	}
	_ = tenant // single-tenant: validated above, otherwise unused
	p, err := a.checkPassword(c, user, form.Get("password"))
	if err != nil {
		return nil, err
	}
	token, cl, err := a.cfg.Sessions.Issue(c.ctx, session.Subject{User: p.Name, Root: p.Root})
	if err != nil {
		return nil, fmt.Errorf("issuing token: %w", err)
	}
	c.log.Info("login", "principal", p.Name, "method", "oauth2")
	return oauthTokenResponse{
		AccessToken: token,
		TokenType:   "bearer",
		ExpiresIn:   int64(cl.ExpiresAt.Sub(a.now()).Round(time.Second) / time.Second),
	}, nil
}

// parseOAuthForm returns the user name and tenant of an OAuth2 password
// grant form, or a 400 error.
func parseOAuthForm(form url.Values) (user, tenant string, err error) {
	switch gt := form.Get("grant_type"); gt {
	case "", "password":
	default:
		return "", "", errorf(http.StatusBadRequest, "UnsupportedGrantType", "grant_type %q is not supported; use password", gt)
	}
	user = form.Get("username")
	if user == "" {
		return "", "", errorf(http.StatusBadRequest, "InvalidRequest", "username is required")
	}
	tenant = strings.TrimSpace(form.Get("tenant"))
	if tenant == "" {
		if t, u, ok := strings.Cut(user, "/"); ok {
			tenant, user = t, u
			if tenant == "" {
				return "", "", errorf(http.StatusBadRequest, "InvalidTenant", "empty tenant before / in username")
			}
		}
	}
	if tenant != "" && !validTenant(tenant) {
		return "", "", errorf(http.StatusBadRequest, "InvalidTenant", "invalid tenant name")
	}
	return user, tenant, nil
}

type authInfoResponse struct {
	AuthEnabled   bool      `json:"authEnabled"`
	Authenticated bool      `json:"authenticated"`
	User          *authUser `json:"user"`
}

// GET /api/auth/info — S4 GET /auth/info. Public: whether authentication
// is on (always, in Coffer) and whether the caller is logged in.
func (a *API) authInfo(c *call) (any, error) {
	out := authInfoResponse{AuthEnabled: true}
	if c.p.Anonymous() {
		return out, nil
	}
	roles, err := c.roles()
	if err != nil {
		return nil, err
	}
	out.Authenticated = true
	out.User = &authUser{ID: c.p.Name, Username: c.p.Name, Roles: roles}
	return out, nil
}

type authMeResponse struct {
	ID          string   `json:"id"`
	Username    string   `json:"username"`
	Root        bool     `json:"root"`
	Roles       []string `json:"roles"`
	Groups      []string `json:"groups"`
	Policies    []string `json:"policies"`
	CanonicalID string   `json:"canonicalId"`
	// AuthMethod is how the caller proved who it is: "password" or
	// "accessKey" (a session), "token" (an API token) or "ticket".
	AuthMethod string       `json:"authMethod"`
	AccessKey  string       `json:"accessKey,omitempty"`
	TokenID    string       `json:"tokenId,omitempty"`
	Session    *authSession `json:"session,omitempty"`
}

type authSession struct {
	// Cookie is true when the session came in the cookie (writes then
	// need X-CSRF-Token), false when it came as a Bearer token.
	Cookie    bool      `json:"cookie"`
	IssuedAt  time.Time `json:"issuedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// GET /api/auth/me — S4 GET /auth/me: the caller, its roles, groups and
// directly attached policies, and how it authenticated.
func (a *API) authMe(c *call) (any, error) {
	roles, err := c.roles()
	if err != nil {
		return nil, err
	}
	out := authMeResponse{ID: c.p.Name, Username: c.p.Name, Root: c.p.Root, Roles: roles,
		Groups: []string{}, Policies: []string{}, CanonicalID: c.p.CanonicalID(), TokenID: c.p.Token}
	if !c.p.Root {
		u, err := a.cfg.IAM.GetUser(c.ctx, c.p.Name)
		if err != nil {
			return nil, fmt.Errorf("reading own user: %w", err)
		}
		out.Groups, out.Policies = u.Groups, u.Policies
	}
	switch c.via {
	case viaCookie, viaBearerSession:
		out.AuthMethod = loginMethod(c.claims.Subject)
		out.AccessKey = c.claims.AccessKey
		out.Session = &authSession{Cookie: c.via == viaCookie, IssuedAt: c.claims.IssuedAt, ExpiresAt: c.claims.ExpiresAt}
	case viaToken:
		out.AuthMethod = "token"
	case viaTicket:
		out.AuthMethod = "ticket"
	}
	return out, nil
}

// authCredentialsResponse is ra-hcp's S3CredentialsResponse
// (access_key_id, secret_access_key, username, tenant, endpoint_url; null
// when unknown, as ra-hcp sends them), plus region and, when no secret can
// be shown, the caller's keys and why.
type authCredentialsResponse struct {
	AccessKeyID     *string `json:"access_key_id"`
	SecretAccessKey *string `json:"secret_access_key"`
	Username        string  `json:"username"`
	// Tenant is always null: Coffer has one tenant.
	Tenant      *string `json:"tenant"`
	EndpointURL *string `json:"endpoint_url"`
	Region      string  `json:"region"`
	// AccessKeys are the caller's usable keys, without secrets, when no
	// secret can be shown (then access_key_id and secret_access_key are
	// null); absent when they are shown.
	AccessKeys []authCredentialKey `json:"access_keys,omitzero"`
	Message    string              `json:"message,omitempty"`
}

type authCredentialKey struct {
	ID          int64     `json:"id"`
	AccessKeyID string    `json:"access_key_id"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
}

// GET /api/auth/credentials — ra-hcp GET /credentials: the caller's own S3
// credentials and the S3 endpoint to use them with.
//
// A session that logged in with an access key gets that key and its
// secret (which it presented to log in); a root session gets root's key
// and secret (root's password is that secret). Anyone else (a user who
// logged in with a password, an API token) gets its active keys without
// secrets, which are shown only at creation: an API token is a revocable
// delegation, and a secret handed to it would outlive its revocation.
// The caller's own credentials need no permission, as GET /api/auth/me.
func (a *API) authCredentials(c *call) (any, error) {
	out := authCredentialsResponse{Username: c.p.Name, Region: a.cfg.Region}
	if a.cfg.S3Endpoint != "" {
		ep := a.cfg.S3Endpoint
		out.EndpointURL = &ep
	}
	inSession := c.via == viaCookie || c.via == viaBearerSession
	key := ""
	switch {
	case inSession && c.claims.AccessKey != "":
		key = c.claims.AccessKey
	case inSession && c.p.Root:
		key = a.cfg.IAM.RootName()
	}
	if key != "" {
		secret, err := a.cfg.IAM.SecretKey(c.ctx, key)
		if err != nil {
			return nil, fmt.Errorf("reading own credentials: %w", err)
		}
		out.AccessKeyID, out.SecretAccessKey = &key, &secret
		return out, nil
	}
	// Without a secret, access_key_id stays null too: a client configured
	// from this answer would fail to sign. The keys are listed instead.
	out.Message = "Secret keys are shown only when a key is created: create one with POST /api/users/{name}/keys, or log in with an access key and its secret"
	out.AccessKeys = []authCredentialKey{}
	if c.p.Root {
		return out, nil // an API token acting as root: root's key is its name
	}
	keys, err := a.cfg.IAM.ListAccessKeys(c.ctx, c.p.Name)
	if err != nil {
		return nil, fmt.Errorf("listing own access keys: %w", err)
	}
	now := a.now()
	for _, k := range keys {
		if k.Usable(now) {
			out.AccessKeys = append(out.AccessKeys, authCredentialKey{ID: k.ID, AccessKeyID: k.AccessKey,
				Description: k.Description, CreatedAt: k.Created, ExpiresAt: k.Expires})
		}
	}
	return out, nil
}

type messageResponse struct {
	Message string `json:"message"`
}

// POST /api/auth/logout — S4 POST /auth/logout. Revokes the caller's
// session in the store (so the JWT is refused by every instance from now
// on) and clears both cookies. An API token is not revoked by logging out
// (DELETE /api/tokens/{id} does that). A cookie-authenticated logout needs
// X-CSRF-Token like any other cookie write, so another site cannot end the
// session.
func (a *API) logout(c *call) (any, error) {
	// c.claims is set whenever the session verified, even if its user has
	// since been disabled: such a session is revoked too.
	if c.claims.ID != "" {
		if c.via == viaCookie {
			if err := c.checkCSRF(); err != nil {
				return nil, err
			}
		}
		if err := a.cfg.Sessions.Revoke(c.ctx, c.claims); err != nil {
			return nil, fmt.Errorf("logging out: %w", err)
		}
	}
	a.clearSessionCookies(c)
	return messageResponse{Message: "Logged out successfully"}, nil
}

// Tickets name their resource "<resourceType>:<resource>", e.g.
// "upload:<upload id>": the route that consumes them (registered with
// ticketed) builds the same string from its path, so a ticket issued for
// one resource is refused by every other.
type sseTicketRequest struct {
	Resource     string `json:"resource"`
	ResourceType string `json:"resourceType"`
}

type sseTicketResponse struct {
	Ticket    string `json:"ticket"`
	SSEURL    string `json:"sseUrl,omitempty"`
	ExpiresAt int64  `json:"expiresAt"` // Unix milliseconds
	ExpiresIn int64  `json:"expiresIn"` // seconds
}

// ticketURLs gives the SSE endpoint of each resource type whose URL is
// known here (the resource escaped as one path segment).
var ticketURLs = map[string]string{
	"upload":   "/api/objects/upload-progress/%s",
	"transfer": "/api/transfer/progress/%s",
	"task":     "/api/tasks/%s/download",
}

const maxTicketResource = 1024

// POST /api/auth/sse-ticket — S4 POST /auth/sse-ticket: a one-time ticket,
// valid 60 s, for the resource "<resourceType>:<resource>". The consuming
// endpoint authorizes the ticket's holder as the user it was issued to.
func (a *API) sseTicket(c *call) (any, error) {
	var in sseTicketRequest
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if !validResourceType(in.ResourceType) {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "resourceType must be 1 to 32 lowercase letters, digits or -")
	}
	if in.Resource == "" || len(in.Resource) > maxTicketResource || strings.ContainsFunc(in.Resource, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "resource must be 1 to %d printable characters", maxTicketResource)
	}
	t, err := a.cfg.Sessions.NewTicket(c.ctx, c.subject(), in.ResourceType+":"+in.Resource)
	if err != nil {
		return nil, err // NewTicket's errors say "issuing ticket" already
	}
	out := sseTicketResponse{
		Ticket:    t.ID,
		ExpiresAt: t.ExpiresAt.UnixMilli(),
		ExpiresIn: int64(t.ExpiresAt.Sub(a.now()).Round(time.Second) / time.Second),
	}
	if tmpl, ok := ticketURLs[in.ResourceType]; ok {
		out.SSEURL = fmt.Sprintf(tmpl, url.PathEscape(in.Resource)) + "?ticket=" + url.QueryEscape(t.ID)
	}
	return out, nil
}

func validResourceType(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

type tokenView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	User      string    `json:"user"`
	Root      bool      `json:"root"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// Token is the secret, shown once, in the creation response only.
	Token string `json:"token,omitempty"`
}

func viewToken(t iam.Token) tokenView {
	return tokenView{ID: t.ID, Name: t.Name, User: t.User, Root: t.Root, CreatedAt: t.Created, ExpiresAt: t.Expires}
}

type createTokenRequest struct {
	Name      string    `json:"name"`
	ExpiresIn int64     `json:"expiresIn"` // seconds
	ExpiresAt time.Time `json:"expiresAt"`
}

// POST /api/tokens — personal API token (no seed route). Body {"name",
// "expiresIn" (seconds) or "expiresAt" (RFC 3339), neither: never}. The
// token is for the caller itself and acts with exactly its permissions, so
// every authenticated caller may create its own; the secret is returned
// once. Send it as "Authorization: Bearer <token>" or "X-Admin-Token".
func (a *API) createToken(c *call) (any, error) {
	var in createTokenRequest
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	exp, err := expiryFrom(in.ExpiresIn, in.ExpiresAt, a.now())
	if err != nil {
		return nil, err
	}
	t, secret, err := a.cfg.IAM.CreateToken(c.ctx, c.p, iam.TokenInput{Name: in.Name, Expires: exp})
	if err != nil {
		return nil, fmt.Errorf("creating token: %w", err)
	}
	v := viewToken(t)
	v.Token = secret
	return created(v), nil
}

// expiryFrom turns "expiresIn" seconds or an "expiresAt" time (at most one)
// into an expiry; zero means never.
func expiryFrom(in int64, at time.Time, now time.Time) (time.Time, error) {
	switch {
	case in != 0 && !at.IsZero():
		return time.Time{}, errorf(http.StatusBadRequest, "InvalidRequest", "send expiresIn or expiresAt, not both")
	case in < 0:
		return time.Time{}, errorf(http.StatusBadRequest, "InvalidRequest", "expiresIn must be positive")
	case in > 0:
		if in > int64(100*365*24*time.Hour/time.Second) {
			return time.Time{}, errorf(http.StatusBadRequest, "InvalidRequest", "expiresIn is too large")
		}
		return now.Add(time.Duration(in) * time.Second), nil
	}
	return at, nil
}

type tokenList struct {
	Tokens []tokenView `json:"tokens"`
}

// GET /api/tokens — the caller's API tokens (never their secrets). With
// ?user=NAME, another user's (admin:ListTokens); with ?all=true, everyone's
// (admin:ListTokens).
func (a *API) listTokens(c *call) (any, error) {
	q := c.r.URL.Query()
	user := q.Get("user")
	all := q.Get("all") == "true"
	switch {
	case all && user != "":
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "send user or all, not both")
	case all:
	case user == "":
		user = c.p.Name
	}
	if all || user != c.p.Name {
		if err := c.authorize("admin:ListTokens", "", "", nil); err != nil {
			return nil, err
		}
	}
	ts, err := a.cfg.IAM.ListTokens(c.ctx, user)
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	out := tokenList{Tokens: make([]tokenView, 0, len(ts))}
	for _, t := range ts {
		out.Tokens = append(out.Tokens, viewToken(t))
	}
	return out, nil
}

// ownedToken returns token id if the caller owns it or may perform action on
// everyone's tokens. A caller with no such right gets AccessDenied for a
// token that does not exist too, so ids cannot be probed.
func (a *API) ownedToken(c *call, id, action string) (iam.Token, error) {
	adminErr := c.authorize(action, "", "", nil)
	if adminErr != nil && !errors.Is(adminErr, iam.ErrAccessDenied) {
		return iam.Token{}, adminErr
	}
	t, err := a.cfg.IAM.GetToken(c.ctx, id)
	switch {
	case adminErr == nil && err != nil:
		return iam.Token{}, fmt.Errorf("reading token: %w", err)
	case adminErr == nil:
		return t, nil
	case err != nil && !errors.Is(err, iam.ErrTokenNotFound):
		return iam.Token{}, fmt.Errorf("reading token: %w", err)
	case err == nil && t.User == c.p.Name && t.Root == c.p.Root:
		return t, nil
	}
	return iam.Token{}, adminErr
}

// GET /api/tokens/{id} — one API token (own, or admin:ListTokens).
func (a *API) getToken(c *call) (any, error) {
	t, err := a.ownedToken(c, c.r.PathValue("id"), "admin:ListTokens")
	if err != nil {
		return nil, err
	}
	return viewToken(t), nil
}

// DELETE /api/tokens/{id} — revoke an API token (own, or
// admin:RevokeToken). Effective at once on every instance: tokens are
// checked against the store on each request.
func (a *API) revokeToken(c *call) (any, error) {
	t, err := a.ownedToken(c, c.r.PathValue("id"), "admin:RevokeToken")
	if err != nil {
		return nil, err
	}
	if err := a.cfg.IAM.RevokeToken(c.ctx, t.ID); err != nil {
		return nil, fmt.Errorf("revoking token: %w", err)
	}
	return noContent, nil
}
