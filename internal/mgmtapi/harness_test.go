package mgmtapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofferstore/coffer/internal/blob/disk"
	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/mgmtapi"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/s3api"
	"github.com/cofferstore/coffer/internal/session"
	"github.com/cofferstore/coffer/internal/sharelink"
)

const (
	rootUser   = "rootadmin"
	rootSecret = "rootsecret-for-tests-only"
	region     = "us-east-1"
)

// env is a real Coffer in process: an embedded metadata store and disk
// blobs in a temp dir, the object service, IAM, sessions, share links,
// and both surfaces on 127.0.0.1 (the management API and S3, so share
// links and permission comparisons hit a real S3 listener).
type env struct {
	t        testing.TB
	URL      string // management API base, e.g. http://127.0.0.1:1234
	S3URL    string
	iam      *iam.IAM
	objects  *object.Service
	store    meta.Store
	sessions *session.Manager
	shares   *sharelink.Registry
	api      *mgmtapi.API
}

type envOpt func(*mgmtapi.Config)

func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ms, err := embedded.Open(filepath.Join(dir, "meta"), embedded.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := disk.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	objects := object.New(ms, bs, object.Options{Logger: log})
	key := make([]byte, iam.MasterKeySize)
	rand.Read(key)
	ids, err := iam.Open(context.Background(), iam.Config{RootUser: rootUser, RootSecret: rootSecret, Store: ms,
		MasterKey: key, Buckets: objects})
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := session.New(session.Config{Store: ms, Key: session.DeriveKey(key, "coffer-session")})
	if err != nil {
		t.Fatal(err)
	}
	shares := sharelink.NewRegistry(ms, nil)
	s3srv := httptest.NewServer(s3api.New(s3api.Config{Region: region, Logger: log, ShareLinks: shares}, objects, ids))
	cfg := mgmtapi.Config{
		IAM: ids, Objects: objects, Store: ms, Sessions: sessions, Limiter: session.NewLimiter(ms, nil),
		Shares: shares, Logger: log, Region: region, S3Endpoint: s3srv.URL,
	}
	for _, o := range opts {
		o(&cfg)
	}
	api, err := mgmtapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		s3srv.Close()
		api.Close()
		objects.Close()
		if err := ms.Close(); err != nil {
			t.Errorf("closing meta store: %v", err)
		}
	})
	return &env{t: t, URL: srv.URL, S3URL: s3srv.URL, iam: ids, objects: objects, store: ms, sessions: sessions, shares: shares, api: api}
}

// client calls the API as one caller.
type client struct {
	e      *env
	hc     *http.Client
	bearer string // session JWT or API token sent as Authorization: Bearer
	admin  string // API token sent as X-Admin-Token
	csrf   string // sent as X-CSRF-Token on writes
	header http.Header
}

func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, header: http.Header{}}
}

// as returns a client with a Bearer session for s, issued directly by the
// session manager (independent of the login endpoint).
func (e *env) as(s session.Subject) *client {
	e.t.Helper()
	tok, _, err := e.sessions.Issue(context.Background(), s)
	if err != nil {
		e.t.Fatal(err)
	}
	c := e.anon()
	c.bearer = tok
	return c
}

func (e *env) root() *client { return e.as(session.Subject{User: rootUser, Root: true}) }

// user creates a user with the given policies and returns a client with
// a session for it.
func (e *env) user(name string, policies ...string) *client {
	e.t.Helper()
	if _, err := e.iam.CreateUser(context.Background(), iam.UserInput{Name: name, Policies: policies}); err != nil {
		e.t.Fatal(err)
	}
	return e.as(session.Subject{User: name})
}

// cookie returns a client holding a session cookie for s, as a browser
// would after logging in, and knowing its CSRF token.
func (e *env) cookie(s session.Subject) *client {
	e.t.Helper()
	tok, cl, err := e.sessions.Issue(context.Background(), s)
	if err != nil {
		e.t.Fatal(err)
	}
	c := e.anon()
	u, _ := url.Parse(e.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "coffer_session", Value: tok, Path: "/"}})
	c.csrf = cl.CSRF
	return c
}

// resp is a finished response with its body read.
type resp struct {
	t      testing.TB
	Status int
	Header http.Header
	Body   []byte
}

// do sends body (nil, []byte/string sent as is, or a value sent as JSON).
func (c *client) do(method, path string, body any) *resp {
	c.e.t.Helper()
	var rd io.Reader
	var sent []byte // the body, for validation; nil for a streamed one
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, sent = bytes.NewReader(b), b
	case string:
		rd, sent = strings.NewReader(b), []byte(b)
	case io.Reader:
		rd = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd, ct, sent = bytes.NewReader(data), "application/json", data
	}
	req, err := http.NewRequest(method, c.e.URL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if ct != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", ct)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.admin != "" {
		req.Header.Set("X-Admin-Token", c.admin)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	// Every exchange of every test is checked against the OpenAPI document.
	validateExchange(c.e.t, req, sent, res.StatusCode, res.Header, data)
	return &resp{t: c.e.t, Status: res.StatusCode, Header: res.Header, Body: data}
}

// want fails the test unless the status is status; it returns r.
func (r *resp) want(status int) *resp {
	r.t.Helper()
	if r.Status != status {
		r.t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// wantError checks status and the JSON error name.
func (r *resp) wantError(status int, name string) *resp {
	r.t.Helper()
	r.want(status)
	var e struct{ Error, Message string }
	if err := json.Unmarshal(r.Body, &e); err != nil {
		r.t.Fatalf("error body is not JSON: %s", r.Body)
	}
	if e.Error != name || e.Message == "" {
		r.t.Fatalf("error %q (%q), want %q with a message", e.Error, e.Message, name)
	}
	return r
}

// json decodes the body into v.
func (r *resp) json(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// obj decodes the body as a JSON object.
func (r *resp) obj() map[string]any {
	r.t.Helper()
	var m map[string]any
	r.json(&m)
	return m
}

// b64 encodes an object key as the API expects it in paths.
func b64(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }
