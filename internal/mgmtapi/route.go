package mgmtapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/session"
)

// handler is one endpoint. It returns the response body (rendered as JSON
// with status 200, or as a *reply says), or an error that errors.go maps.
// A handler that writes the response itself (downloads, SSE) returns
// (written, nil).
type handler func(c *call) (any, error)

// reply sets the status of a JSON response (201, 202, 204).
type reply struct {
	status int
	body   any
}

func created(body any) any  { return &reply{http.StatusCreated, body} }
func accepted(body any) any { return &reply{http.StatusAccepted, body} }

var noContent = &reply{status: http.StatusNoContent}

// written marks a response the handler streamed itself.
var written = &reply{status: -1}

// route is a registered endpoint and how its callers are admitted.
type route struct {
	api     *API
	pattern string
	h       handler
	// public routes need no credentials.
	public bool
	// limitRule and limitFn rate-limit the route per client before
	// authentication (login must be limited before checking a password).
	limitRule string
	limitN    func(Limits) int
	// ticket, when set, admits a caller presenting ?ticket= for the
	// resource it returns, instead of a session (EventSource cannot send
	// headers).
	ticket func(r *http.Request) string
}

type option func(*route)

func public() option { return func(r *route) { r.public = true } }

func limited(rule string, n func(Limits) int) option {
	return func(r *route) { r.limitRule, r.limitN = rule, n }
}

// ticketed admits a one-time SSE ticket issued for resource(r).
func ticketed(resource func(r *http.Request) string) option {
	return func(r *route) { r.ticket = resource }
}

func (a *API) handle(pattern string, h handler, opts ...option) {
	rt := &route{api: a, pattern: pattern, h: h}
	for _, o := range opts {
		o(rt)
	}
	a.routes = append(a.routes, pattern)
	a.mux.HandleFunc(pattern, rt.serve)
}

// authVia says how a caller authenticated; CSRF applies to cookies only.
type authVia int

const (
	viaNone authVia = iota
	viaCookie
	viaBearerSession
	viaToken
	viaTicket
)

// call is one request being served.
type call struct {
	api    *API
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	p      iam.Principal
	via    authVia
	claims session.Claims // when via is viaCookie or viaBearerSession
	client netip.Addr
	id     string
	log    *slog.Logger
}

// Cookie names. The CSRF cookie is readable by script on purpose: the
// console echoes it in X-CSRF-Token (double submit), which a cross-site
// form cannot do.
const (
	sessionCookie = "coffer_session"
	csrfCookie    = "coffer_csrf"
	csrfHeader    = "X-CSRF-Token"
)

func (rt *route) serve(w http.ResponseWriter, r *http.Request) {
	a := rt.api
	c := &call{api: a, w: w, r: r, ctx: r.Context(), client: a.clientAddr(r), id: newRequestID()}
	w.Header().Set("X-Request-Id", c.id)
	c.log = a.log.With("request_id", c.id, "method", r.Method, "route", rt.pattern)
	resp, err := rt.admit(c)
	if err == nil {
		resp, err = rt.h(c)
	}
	if err != nil {
		a.writeError(w, r, err)
		if e := asError(err); e.Status >= 500 && e.Status != http.StatusNotImplemented {
			c.log.Error("management request failed", "err", err)
		} else {
			c.log.Debug("management request refused", "status", e.Status, "err", err)
		}
		return
	}
	status, body := http.StatusOK, resp
	if rp, ok := resp.(*reply); ok {
		if rp == written {
			return
		}
		status, body = rp.status, rp.body
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

// admit rate-limits, authenticates and checks CSRF.
func (rt *route) admit(c *call) (any, error) {
	if rt.limitRule != "" {
		if err := c.rateLimit(rt.limitRule, rt.limitN(c.api.limits)); err != nil {
			return nil, err
		}
	}
	if rt.public {
		// Public routes still learn who is calling when they can (login
		// info, health), but never fail on bad credentials.
		_ = c.authenticate(nil)
		return nil, nil
	}
	if err := c.authenticate(rt.ticket); err != nil {
		return nil, err
	}
	if c.via == viaCookie && !safeMethod(c.r.Method) {
		if err := c.checkCSRF(); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// authenticate finds the caller from, in order: an Authorization: Bearer
// session JWT or API token, X-Admin-Token, (on ticketed routes) ?ticket=,
// and the session cookie. It fails with ErrUnauthenticated (401).
func (c *call) authenticate(ticket func(*http.Request) string) error {
	a := c.api
	r := c.r
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, cred, _ := strings.Cut(auth, " ")
		if !strings.EqualFold(scheme, "Bearer") || cred == "" {
			return fmt.Errorf("%w: Authorization must be Bearer", ErrUnauthenticated)
		}
		cred = strings.TrimSpace(cred)
		if strings.Count(cred, ".") == 2 {
			return c.fromSession(cred, viaBearerSession)
		}
		return c.fromToken(cred)
	}
	if tok := r.Header.Get("X-Admin-Token"); tok != "" {
		return c.fromToken(tok)
	}
	// A ticket is checked before the cookie: EventSource sends the
	// browser's cookies along, and a stale session cookie must not refuse
	// a request that brings a valid ticket.
	if ticket != nil {
		if id := r.URL.Query().Get("ticket"); id != "" {
			s, err := a.cfg.Sessions.RedeemTicket(c.ctx, id, ticket(r))
			if err != nil {
				return err // already says "redeeming ticket"
			}
			c.via = viaTicket
			return c.fromSubject(s)
		}
	}
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		return c.fromSession(ck.Value, viaCookie)
	}
	return fmt.Errorf("%w: log in, or send a Bearer token", ErrUnauthenticated)
}

func (c *call) fromSession(token string, via authVia) error {
	cl, err := c.api.cfg.Sessions.Verify(c.ctx, token)
	if err != nil {
		return err // already says "verifying session"
	}
	c.via, c.claims = via, cl
	return c.fromSubject(cl.Subject)
}

func (c *call) fromToken(token string) error {
	p, err := c.api.cfg.IAM.CheckToken(c.ctx, token)
	if err != nil {
		return fmt.Errorf("checking API token: %w", err)
	}
	c.via, c.p = viaToken, p
	c.log = c.log.With("principal", p.Name)
	return nil
}

// fromSubject turns a session's subject back into a principal, checking
// that the user (or the access key it logged in with) is still usable: a
// disabled user or a deleted key ends its sessions at once.
func (c *call) fromSubject(s session.Subject) error {
	ids := c.api.cfg.IAM
	var (
		p   iam.Principal
		err error
	)
	switch {
	case s.AccessKey != "":
		p, err = ids.PrincipalFor(c.ctx, s.AccessKey)
	case s.Root:
		p = ids.RootPrincipal()
	default:
		p, err = ids.UserPrincipal(c.ctx, s.User)
	}
	if err != nil {
		return fmt.Errorf("resolving session user: %w", err)
	}
	c.p = p
	c.log = c.log.With("principal", p.Name)
	return nil
}

func (c *call) checkCSRF() error {
	got := c.r.Header.Get(csrfHeader)
	if got == "" || !constantEqual(got, c.claims.CSRF) {
		return fmt.Errorf("%w: cookie-authenticated writes need the %s header", ErrCSRF, csrfHeader)
	}
	return nil
}

// subject is the session subject of the caller, for tickets and logins.
func (c *call) subject() session.Subject {
	return session.Subject{User: c.p.Name, Root: c.p.Root, AccessKey: c.p.AccessKey}
}

// rateLimit counts this request against rule for the client's address.
func (c *call) rateLimit(rule string, perMinute int) error {
	d, err := c.api.cfg.Limiter.Allow(c.ctx, rule, c.client.String(), perMinute, minute)
	if err != nil {
		return fmt.Errorf("rate limiting: %w", err)
	}
	if !d.Allowed {
		return &rateLimitError{limit: perMinute, retryAt: c.api.now().Add(d.RetryAfter)}
	}
	return nil
}

// authorize asks the one decision function whether the caller may perform
// action on bucket/key, with the request's condition keys. For an object,
// the version's ACL (the one extra["s3:VersionId"] names, else the
// latest) is offered too, read only if the decision needs it, so the API
// answers as S3 does for a caller an object ACL grants.
func (c *call) authorize(action, bucket, key string, extra map[string][]string) error {
	conds := map[string][]string{
		"aws:SourceIp":        {c.client.String()},
		"aws:SecureTransport": {fmt.Sprint(c.r.TLS != nil)},
	}
	for k, v := range extra {
		conds[k] = v
	}
	req := iam.Request{Action: action, Bucket: bucket, Key: key, Conditions: conds}
	if key != "" {
		vid := ""
		if v := extra["s3:VersionId"]; len(v) > 0 {
			vid = v[0]
		}
		req.ObjectACL = c.api.objectACLReader(bucket, key, vid)
	}
	return c.api.cfg.IAM.Authorize(c.ctx, c.p, req)
}

// clientAddr is the caller's address: the peer, or, when the peer is a
// trusted proxy, the nearest untrusted hop of X-Forwarded-For.
func (a *API) clientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.IPv4Unspecified()
	}
	addr = addr.Unmap()
	if !a.trusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		hop = hop.Unmap()
		if !a.trusted(hop) {
			return hop
		}
		addr = hop
	}
	return addr
}

func (a *API) trusted(addr netip.Addr) bool {
	for _, p := range a.cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// maxJSONBody caps every JSON request body.
const maxJSONBody = 1 << 20

// decode reads a JSON body of at most maxJSONBody bytes into v.
func (c *call) decode(v any) error {
	if ct := c.r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return errorf(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "send application/json")
		}
	}
	body := http.MaxBytesReader(c.w, c.r.Body, maxJSONBody)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return errorf(http.StatusRequestEntityTooLarge, "PayloadTooLarge", "JSON bodies are limited to %d bytes", maxJSONBody)
		case errors.Is(err, io.EOF):
			return errorf(http.StatusBadRequest, "InvalidRequest", "a JSON body is required")
		}
		return errorf(http.StatusBadRequest, "InvalidJSON", "malformed JSON body: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "InvalidJSON", "one JSON value expected")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v) //nolint:errcheck // the client went away; nothing to tell it
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
