// Package mgmtapi serves Coffer's JSON management API under /api: sessions
// and tokens, users, groups, access keys and policies, buckets and their
// settings, objects, background tasks, share links and statistics.
//
// Every handler returns (response, error); one wrapper (route.serve)
// authenticates, rate-limits, checks CSRF, renders the response and maps
// the error to {"error": "Name", "message": "..."} in exactly one place
// (errors.go). Authorization is iam.Authorize for every action, with the
// same S3 action names the S3 surface uses, so a user gets the same answer
// here as through S3.
//
// Nothing a request needs lives only in this process: sessions, their
// revocation, tickets, rate-limit windows, share links and task status are
// kept in the metadata store, so any instance can serve the next request.
package mgmtapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/notify"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/session"
	"github.com/cofferstore/coffer/internal/sharelink"
)

// Config wires the API to the services it fronts.
type Config struct {
	IAM      *iam.IAM
	Objects  *object.Service
	Store    meta.Store
	Sessions *session.Manager
	Limiter  *session.Limiter
	Shares   *sharelink.Registry
	Logger   *slog.Logger
	// Notifications saves bucket notification configurations and knows the
	// configured targets; nil: no targets, so only empty configurations.
	Notifications *notify.Router
	// Region is what bucket listings report.
	Region string
	// S3Endpoint is the S3 listener's public base URL (scheme://host:port),
	// used in share links.
	S3Endpoint string
	// AllowedOrigins are the browser origins allowed to call the API with
	// credentials (CORS). Empty: same-origin only.
	AllowedOrigins []string
	// TrustedProxies are the peers whose X-Forwarded-For is believed when
	// deciding a client's address (rate limits, aws:SourceIp).
	TrustedProxies []netip.Prefix
	// SecureCookies marks session cookies Secure (the listener is HTTPS or
	// sits behind a TLS-terminating proxy).
	SecureCookies bool
	// LocalLocations are server directories the operator exposes to
	// administrators through S4's /api/local routes (browse, upload,
	// download, transfer to and from buckets). None by default.
	LocalLocations []LocalLocation
	// Limits overrides the per-client rate limits; zero fields keep the
	// defaults S4 documents.
	Limits Limits
	// Health returns the body of GET /api/health (public).
	Health func() any
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TempDir holds the archives background tasks build (in its
	// coffer-tasks subdirectory); "" means os.TempDir(). Instances that
	// serve one API behind a load balancer share it, or route downloads
	// to the instance that built the archive.
	TempDir string
}

// LocalLocation is one exposed server directory.
type LocalLocation struct {
	ID   string // as S4 names them, e.g. "local-0"
	Name string // shown to users
	Path string // absolute directory on this server
}

// Limits are requests per minute per client address.
type Limits struct {
	Login, Tickets, Search, Uploads int
}

func (l Limits) withDefaults() Limits {
	def := func(v, d int) int {
		if v > 0 {
			return v
		}
		return d
	}
	return Limits{Login: def(l.Login, 5), Tickets: def(l.Tickets, 20), Search: def(l.Search, 5), Uploads: def(l.Uploads, 20)}
}

// API is the management API's http.Handler.
type API struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	limits Limits
	mux    *http.ServeMux
	// routes lists every registered pattern, for the OpenAPI coverage test.
	routes []string
	// tasks runs the background tasks this instance started.
	tasks *taskRunner
}

// New checks cfg and registers every route.
func New(cfg Config) (*API, error) {
	switch {
	case cfg.IAM == nil:
		return nil, errors.New("mgmtapi: IAM is required")
	case cfg.Objects == nil:
		return nil, errors.New("mgmtapi: Objects is required")
	case cfg.Store == nil:
		return nil, errors.New("mgmtapi: Store is required")
	case cfg.Sessions == nil:
		return nil, errors.New("mgmtapi: Sessions is required")
	case cfg.Limiter == nil:
		return nil, errors.New("mgmtapi: Limiter is required")
	case cfg.Shares == nil:
		return nil, errors.New("mgmtapi: Shares is required")
	}
	a := &API{cfg: cfg, log: cfg.Logger, now: cfg.Now, limits: cfg.Limits.withDefaults(), mux: http.NewServeMux()}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.cfg.Region == "" {
		a.cfg.Region = "us-east-1"
	}
	a.tasks = newTaskRunner(a)
	a.handle("GET /api/health", a.health, public())
	a.authRoutes()
	a.identityRoutes()
	a.credentialRoutes()
	a.bucketRoutes()
	a.bucketSettingRoutes()
	a.objectRoutes()
	a.taskRoutes()
	a.shareRoutes()
	a.statsRoutes()
	a.transferRoutes()
	a.settingsRoutes()
	a.objectACLRoutes()
	a.localRoutes()
	a.handle("GET /api/openapi.json", a.openAPI, public())
	a.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, errorf(http.StatusNotFound, "NotFound", "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return a, nil
}

// Close stops the background tasks this instance runs (their records say
// they were interrupted).
func (a *API) Close() { a.tasks.close() }

// ServeHTTP applies the headers every response carries, answers CORS
// preflights, and dispatches.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		// JSON and downloads only: nothing here may run script.
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; sandbox")
		h.Set("Cache-Control", "no-store")
	}
	if a.cors(w, r) {
		return
	}
	a.mux.ServeHTTP(w, r)
}

func (a *API) health(c *call) (any, error) {
	if a.cfg.Health == nil {
		return map[string]string{"status": "ok"}, nil
	}
	return a.cfg.Health(), nil
}

// cors sets the CORS response headers for an allowed origin and answers a
// preflight; it reports whether the request was a preflight (answered).
func (a *API) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if origin == "" || !a.originAllowed(origin) {
		if preflight {
			w.WriteHeader(http.StatusForbidden)
			return true
		}
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Expose-Headers", "Content-Disposition, Content-Length, Retry-After")
	if !preflight {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-CSRF-Token, X-Admin-Token")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

func (a *API) originAllowed(origin string) bool {
	// No wildcard: credentials are allowed, so each origin is named.
	for _, o := range a.cfg.AllowedOrigins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// background is the context of work that outlives its request.
func (a *API) background() context.Context { return context.WithoutCancel(context.Background()) }

// Routes returns every registered route pattern ("METHOD /path"), for
// documentation coverage tests.
func (a *API) Routes() []string { return append([]string(nil), a.routes...) }
