package mgmtapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/cofferstore/coffer/internal/mgmtapi"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/session"
)

func sessionSubject(user string) session.Subject { return session.Subject{User: user} }

// The OpenAPI document is checked three ways: every registered route is
// documented and every documented operation registered; the document is
// valid OpenAPI 3; and real responses validate against it (validateExchange,
// which harness_test.go's client.do runs on every exchange, and the
// scenario below). Request and response are judged differently:
//
//   - A request is validated loosely: tests send bad input on purpose, so a
//     request the document calls invalid is a problem only if the server
//     accepted it (2xx): then the document's request schema is wrong.
//   - A response is validated strictly: its status must be documented for
//     the operation, its Content-Type must be one the document lists, and a
//     JSON body must match the schema with no undocumented field (object
//     schemas with properties get additionalProperties: false here, in a
//     copy of the document used only for responses; the served document
//     leaves clients free to meet new fields).
//
// Routing uses a net/http.ServeMux built from the document's paths, so
// that paths resolve exactly as the API's own ServeMux resolves them
// (kin-openapi's routers cannot express the plain-key route
// /api/buckets/{bucket}/objects/{key...}, whose key spans segments, nor
// ServeMux's precedence and HEAD-for-GET rules).

// oaSpec is the parsed document and its router.
type oaSpec struct {
	loose, strict *openapi3.T
	mux           *http.ServeMux
}

// oaMatch is what the router found for a request.
type oaMatch struct {
	path, method string
	params       map[string]string
}

type oaMatchKey struct{}

var oaLoad = sync.OnceValues(func() (*oaSpec, error) {
	data, err := mgmtapi.OpenAPIJSON()
	if err != nil {
		return nil, err
	}
	load := func() (*openapi3.T, error) {
		doc, err := openapi3.NewLoader().LoadFromData(data)
		if err != nil {
			return nil, err
		}
		return doc, doc.Validate(context.Background())
	}
	s := &oaSpec{mux: http.NewServeMux()}
	if s.loose, err = load(); err != nil {
		return nil, fmt.Errorf("loading the served document: %w", err)
	}
	if s.strict, err = load(); err != nil {
		return nil, err
	}
	oaStrict(s.strict)
	for path, item := range s.loose.Paths.Map() {
		for method, op := range item.Operations() {
			pattern, names := oaPattern(path, item, op)
			s.mux.HandleFunc(method+" "+pattern, func(w http.ResponseWriter, r *http.Request) {
				m := r.Context().Value(oaMatchKey{}).(*oaMatch)
				m.path, m.method, m.params = path, method, map[string]string{}
				for _, n := range names {
					m.params[n] = r.PathValue(n)
				}
			})
		}
	}
	return s, nil
})

var oaParam = regexp.MustCompile(`\{([^}]+)\}`)

// oaPattern turns a documented path into the ServeMux pattern the API
// registers: a parameter marked x-coffer-rest matches the rest of the
// path, as {name...} does.
func oaPattern(path string, item *openapi3.PathItem, op *openapi3.Operation) (string, []string) {
	rest := map[string]bool{}
	for _, params := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == "path" && p.Value.Extensions["x-coffer-rest"] == true {
				rest[p.Value.Name] = true
			}
		}
	}
	var names []string
	pattern := oaParam.ReplaceAllStringFunc(path, func(m string) string {
		name := m[1 : len(m)-1]
		names = append(names, name)
		if rest[name] {
			return "{" + name + "...}"
		}
		return m
	})
	return pattern, names
}

// oaStrict forbids undocumented members in every object schema that lists
// its properties and says nothing of others.
func oaStrict(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(r *openapi3.SchemaRef)
	walk = func(r *openapi3.SchemaRef) {
		if r == nil || r.Value == nil || seen[r.Value] {
			return
		}
		s := r.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			no := false
			s.AdditionalProperties.Has = &no
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		walk(s.Not)
		for _, set := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
			for _, x := range set {
				walk(x)
			}
		}
	}
	for _, r := range doc.Components.Schemas {
		walk(r)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, resp := range op.Responses.Map() {
				if resp.Value != nil {
					for _, mt := range resp.Value.Content {
						walk(mt.Schema)
					}
				}
			}
		}
	}
}

// oaRoute finds the documented operation of req; ok is false for a path
// the document does not have (which the API answers 404 NotFound).
func (s *oaSpec) oaRoute(req *http.Request) (oaMatch, bool) {
	m := &oaMatch{}
	r := req.Clone(context.WithValue(context.Background(), oaMatchKey{}, m))
	r.Body = http.NoBody
	s.mux.ServeHTTP(discardWriter{}, r)
	return *m, m.path != ""
}

type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}

func oaRouteOf(doc *openapi3.T, m oaMatch) *routers.Route {
	item := doc.Paths.Value(m.path)
	return &routers.Route{Spec: doc, Path: m.path, PathItem: item, Method: m.method, Operation: item.GetOperation(m.method)}
}

func oaIsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// validateExchange checks one request/response pair against the OpenAPI document; it reports problems with t.Errorf.
func validateExchange(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	t.Helper()
	if op := oaCheck(t, req, reqBody, status, header, body); op != "" {
		exercised.Store(op, true)
	}
}

// exercised collects every documented operation some test called through
// the harness, so that TestMain can require them all.
var exercised sync.Map

// TestMain runs the tests and then, when the whole package ran, fails if a
// documented operation was never called (and so never validated).
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		spec, err := oaLoad()
		if err != nil {
			fmt.Fprintln(os.Stderr, "OpenAPI document:", err)
			os.Exit(1)
		}
		var missed []string
		for path, item := range spec.loose.Paths.Map() {
			for method := range item.Operations() {
				if _, ok := exercised.Load(method + " " + path); !ok {
					missed = append(missed, method+" "+path)
				}
			}
		}
		if len(missed) > 0 {
			sort.Strings(missed)
			fmt.Fprintf(os.Stderr, "FAIL: documented operations no test called through the validating harness: %s\n", strings.Join(missed, ", "))
			code = 1
		}
	}
	os.Exit(code)
}

// oaCheck is validateExchange, returning the operation it matched
// ("METHOD /path", "" for none).
func oaCheck(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) string {
	t.Helper()
	spec, err := oaLoad()
	if err != nil {
		t.Errorf("OpenAPI document: %v", err)
		return ""
	}
	what := fmt.Sprintf("OpenAPI: %s %s → %d", req.Method, req.URL.RequestURI(), status)
	if req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" {
		// A CORS preflight is answered before routing; it is no operation.
		return ""
	}
	m, ok := spec.oaRoute(req)
	if !ok {
		// Only the API's catch-all may answer a path the document lacks.
		var e struct{ Error, Message string }
		if status != http.StatusNotFound || json.Unmarshal(body, &e) != nil || e.Error != "NotFound" ||
			!strings.HasPrefix(e.Message, "no such endpoint") {
			t.Errorf("%s: the route is not documented; body: %.300s", what, body)
		}
		return ""
	}
	key := m.method + " " + m.path
	ctx := context.Background()

	// The request, loosely: only a request the server accepted must be
	// one the document allows.
	if status < 400 {
		r := req.Clone(ctx)
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
		ct := req.Header.Get("Content-Type")
		mt, _, _ := mime.ParseMediaType(ct)
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: m.params, Route: oaRouteOf(spec.loose, m),
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true,
				SkipSettingDefaults: true,
				// Bodies other than JSON and forms (uploads) are
				// described, not decoded here.
				ExcludeRequestBody: len(reqBody) == 0 || !(oaIsJSON(ct) || mt == "application/x-www-form-urlencoded")}}
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("%s: the server accepted a request the document does not allow: %v", what, err)
		}
	}

	// The response, strictly.
	route := oaRouteOf(spec.strict, m)
	ref := route.Operation.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		t.Errorf("%s: status %d is not documented for %s; body: %.300s", what, status, key, body)
		return key
	}
	if req.Method == http.MethodHead || status == http.StatusNotModified {
		return key
	}
	resp := ref.Value
	ct := header.Get("Content-Type")
	if len(resp.Content) == 0 {
		if len(body) > 0 {
			t.Errorf("%s: a body (%s) where the document has none: %.300s", what, ct, body)
		}
		return key
	}
	if resp.Content.Get(ct) == nil {
		t.Errorf("%s: Content-Type %q is not documented; body: %.300s", what, ct, body)
		return key
	}
	// A JSON body is validated against the document's JSON schema; others
	// (downloads, archives, event streams) only by their content type.
	validateBody := oaIsJSON(ct) && resp.Content.Get("application/json") != nil
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: m.params, Route: route},
		Status:                 status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, ExcludeResponseBody: !validateBody},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		t.Errorf("%s: the response does not match the document: %v\nbody: %.500s", what, err, body)
	}
	return key
}

// oaNormalize makes a route pattern comparable with a documented path:
// OpenAPI requires one parameter name per position (GET
// /api/objects/{bucket}/{encodedPrefix} and DELETE
// /api/objects/{bucket}/{encodedKey} are one path), and {key...} is
// written {key} with x-coffer-rest.
func oaNormalize(pattern string) string { return oaParam.ReplaceAllString(pattern, "{}") }

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	e := newEnv(t)
	spec, err := oaLoad()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range spec.loose.Paths.Map() {
		for method, op := range item.Operations() {
			pattern, _ := oaPattern(path, item, op)
			documented[method+" "+oaNormalize(pattern)] = true
		}
	}
	registered := map[string]bool{}
	for _, r := range e.api.Routes() {
		method, path, ok := strings.Cut(r, " ")
		if !ok {
			continue // the catch-all, which answers 404 to undocumented paths
		}
		registered[method+" "+oaNormalize(path)] = true
	}
	if len(registered) < 100 {
		t.Fatalf("only %d routes registered", len(registered))
	}
	var missing, extra []string
	for r := range registered {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for d := range documented {
		if !registered[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, r := range missing {
		t.Errorf("registered but not documented: %s", r)
	}
	for _, d := range extra {
		t.Errorf("documented but not registered: %s", d)
	}
}

func TestOpenAPIDocumentIsServedAndValid(t *testing.T) {
	e := newEnv(t)
	r := e.anon().do("GET", "/api/openapi.json", nil).want(http.StatusOK)
	if !oaIsJSON(r.Header.Get("Content-Type")) {
		t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the served document is not valid OpenAPI 3: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || doc.Paths.Len() < 70 {
		t.Fatalf("openapi %q with %d paths", doc.OpenAPI, doc.Paths.Len())
	}
	// The common responses are filled in: a write that needs credentials
	// and takes JSON documents all of them.
	op := doc.Paths.Value("/api/buckets").Post
	for _, status := range []string{"400", "401", "403", "413", "415", "500", "503", "507"} {
		if op.Responses.Value(status) == nil {
			t.Errorf("POST /api/buckets does not document %s", status)
		}
	}
	// A public route does not claim 401.
	if doc.Paths.Value("/api/health").Get.Responses.Value("401") != nil {
		t.Error("GET /api/health documents 401")
	}
}

// oaErrors is a testing.TB that collects what validateExchange reports.
type oaErrors struct {
	testing.TB
	errs []string
}

func (o *oaErrors) Helper() {}
func (o *oaErrors) Errorf(format string, args ...any) {
	o.errs = append(o.errs, fmt.Sprintf(format, args...))
}

// The validator must catch what it is there to catch.
func TestOpenAPIValidatorFindsDisagreements(t *testing.T) {
	get := func(path string) *http.Request {
		r, _ := http.NewRequest("GET", "http://127.0.0.1"+path, nil)
		return r
	}
	jsonHeader := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	goodUser := `{"name":"a","status":"enabled","hasPassword":false,"groups":[],"policies":[],"canonicalId":"x","createdAt":"2024-01-02T03:04:05Z"}`
	cases := []struct {
		name   string
		req    *http.Request
		status int
		header http.Header
		body   string
		want   string // "" means no complaint
	}{
		{"good", get("/api/users/a"), 200, jsonHeader, goodUser, ""},
		{"undocumented field", get("/api/users/a"), 200, jsonHeader, goodUser[:len(goodUser)-1] + `,"extra":1}`, "does not match"},
		{"missing field", get("/api/users/a"), 200, jsonHeader, `{"name":"a"}`, "does not match"},
		{"wrong type", get("/api/users/a"), 200, jsonHeader, strings.Replace(goodUser, `"groups":[]`, `"groups":null`, 1), "does not match"},
		{"undocumented status", get("/api/users/a"), 418, jsonHeader, `{"error":"Teapot","message":"x"}`, "not documented"},
		{"error shape", get("/api/users/a"), 404, jsonHeader, `{"error":"UserNotFound"}`, "does not match"},
		{"good error", get("/api/users/a"), 404, jsonHeader, `{"error":"UserNotFound","message":"no"}`, ""},
		{"content type", get("/api/users/a"), 200, http.Header{"Content-Type": {"text/plain"}}, "hi", "not documented"},
		{"undocumented route", get("/api/nowhere"), 200, jsonHeader, `{}`, "not documented"},
		{"catch-all", get("/api/nowhere"), 404, jsonHeader, `{"error":"NotFound","message":"no such endpoint: GET /api/nowhere"}`, ""},
		{"plain key spans segments", get("/api/buckets/b/objects/a/b/c.txt"), 404, jsonHeader, `{"error":"NoSuchKey","message":"no"}`, ""},
		{"download of any type", get("/api/objects/download/b/YQ"), 200, http.Header{"Content-Type": {"application/json"}}, `not json`, ""},
	}
	for _, tc := range cases {
		rec := &oaErrors{TB: t}
		validateExchange(rec, tc.req, nil, tc.status, tc.header, []byte(tc.body))
		got := strings.Join(rec.errs, "\n")
		switch {
		case tc.want == "" && got != "":
			t.Errorf("%s: unexpected complaint: %s", tc.name, got)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("%s: complaint %q, want one containing %q", tc.name, got, tc.want)
		}
	}
	// A request the server accepted must be one the document allows.
	rec := &oaErrors{TB: t}
	r, _ := http.NewRequest("PATCH", "http://127.0.0.1/api/users/a", strings.NewReader(`{"status":"sleeping"}`))
	r.Header.Set("Content-Type", "application/json")
	validateExchange(rec, r, []byte(`{"status":"sleeping"}`), 200, jsonHeader, []byte(goodUser))
	if len(rec.errs) == 0 {
		t.Error("an accepted request outside the document passed")
	}
	// ...while a refused one is the test's business.
	rec = &oaErrors{TB: t}
	validateExchange(rec, r, []byte(`{"status":"sleeping"}`), 400, jsonHeader, []byte(`{"error":"InvalidRequest","message":"no"}`))
	if len(rec.errs) != 0 {
		t.Errorf("a refused bad request was reported: %v", rec.errs)
	}
}

// oaTransport validates every exchange of a client against the document,
// as the harness's client does.
type oaTransport struct {
	t    testing.TB
	base http.RoundTripper
}

func (tr *oaTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var sent []byte
	if req.Body != nil {
		var err error
		if sent, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(sent))
	}
	res, err := tr.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(data))
	validateExchange(tr.t, req, sent, res.StatusCode, res.Header, data)
	return res, nil
}

// oaForm is a multipart upload body holding one file part.
func oaForm(t testing.TB, name string, data []byte) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// TestOpenAPIScenario calls (nearly) every operation, for success and for
// failure, through a transport that validates each exchange.
func TestOpenAPIScenario(t *testing.T) {
	e := newEnv(t)
	tr := &oaTransport{t: t, base: http.DefaultTransport}
	rec := func(c *client) *client { c.hc.Transport = tr; return c }
	anon, root := rec(e.anon()), rec(e.root())
	str := func(r *resp, field string) string {
		t.Helper()
		v, ok := r.obj()[field].(string)
		if !ok {
			t.Fatalf("no %s in %s", field, r.Body)
		}
		return v
	}

	// system and auth
	anon.do("GET", "/api/health", nil).want(200)
	anon.do("GET", "/api/openapi.json", nil).want(200)
	anon.do("GET", "/api/auth/info", nil).want(200)
	root.do("GET", "/api/auth/info", nil).want(200)
	anon.do("GET", "/api/no/such/thing", nil).wantError(404, "NotFound")
	anon.do("GET", "/api/stats", nil).wantError(401, "Unauthorized")
	root.do("GET", "/api/stats", nil).want(200)
	root.do("GET", "/api/auth/me", nil).want(200)
	root.do("GET", "/api/auth/credentials", nil).want(200)
	login := rec(e.anon())
	login.do("POST", "/api/auth/login", map[string]string{"username": rootUser, "password": rootSecret}).want(200)
	login.do("POST", "/api/auth/login", map[string]string{"username": rootUser, "password": "wrong-password"}).wantError(401, "InvalidCredentials")
	login.do("POST", "/api/auth/login", map[string]string{"username": rootUser, "accessKey": "x"}).wantError(400, "InvalidRequest")
	login.header.Set("Content-Type", "application/x-www-form-urlencoded")
	login.do("POST", "/api/auth/token", "grant_type=password&username="+rootUser+"&password="+rootSecret).want(200)
	login.do("POST", "/api/auth/token", "grant_type=code&username=x&password=y").wantError(400, "UnsupportedGrantType")
	login.header.Del("Content-Type")
	root.do("POST", "/api/auth/sse-ticket", map[string]string{"resource": "up1", "resourceType": "upload"}).want(200)
	root.do("POST", "/api/auth/sse-ticket", map[string]string{"resource": "up1", "resourceType": "Bad Type"}).wantError(400, "InvalidRequest")
	rec(e.root()).do("POST", "/api/auth/logout", nil).want(200)

	tok := root.do("POST", "/api/tokens", map[string]any{"name": "ci", "expiresIn": 3600}).want(201)
	tokID := str(tok, "id")
	root.do("GET", "/api/tokens", nil).want(200)
	root.do("GET", "/api/tokens?all=true&user=x", nil).wantError(400, "InvalidRequest")
	root.do("GET", "/api/tokens/"+tokID, nil).want(200)
	root.do("DELETE", "/api/tokens/"+tokID, nil).want(204)
	root.do("GET", "/api/tokens/"+tokID, nil).wantError(404, "TokenNotFound")

	// identity
	doc := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"}}}
	root.do("POST", "/api/policies", map[string]any{"name": "oa-read", "document": doc}).want(201)
	root.do("POST", "/api/policies", map[string]any{"name": "oa-read", "document": doc}).wantError(409, "PolicyAlreadyExists")
	root.do("POST", "/api/policies", map[string]any{"name": "oa-bad", "document": map[string]any{"Statement": "no"}}).wantError(400, "MalformedPolicy")
	root.do("GET", "/api/policies", nil).want(200)
	root.do("GET", "/api/policies/oa-read", nil).want(200)
	root.do("PUT", "/api/policies/oa-read", map[string]any{"document": doc}).want(200)
	root.do("GET", "/api/policies/nope", nil).wantError(404, "PolicyNotFound")
	root.do("POST", "/api/users", map[string]any{"name": "oa-alice", "password": "alice-password-1"}).want(201)
	root.do("POST", "/api/users", map[string]any{"name": "oa-alice"}).wantError(409, "UserAlreadyExists")
	root.do("GET", "/api/users", nil).want(200)
	root.do("GET", "/api/users/oa-alice", nil).want(200)
	root.do("GET", "/api/users/nobody", nil).wantError(404, "UserNotFound")
	root.do("PATCH", "/api/users/oa-alice", map[string]any{"status": "disabled"}).want(200)
	root.do("PATCH", "/api/users/oa-alice", map[string]any{"status": "enabled"}).want(200)
	root.do("PATCH", "/api/users/oa-alice", map[string]any{}).wantError(400, "InvalidRequest")
	root.do("POST", "/api/users/oa-alice/policies/oa-read", nil).want(200)
	root.do("DELETE", "/api/users/oa-alice/policies/oa-read", nil).want(200)
	root.do("DELETE", "/api/users/oa-alice/policies/oa-read", nil).wantError(404, "NotAttached")
	root.do("POST", "/api/groups", map[string]any{"name": "oa-devs"}).want(201)
	root.do("GET", "/api/groups", nil).want(200)
	root.do("GET", "/api/groups/oa-devs", nil).want(200)
	root.do("GET", "/api/groups/nope", nil).wantError(404, "GroupNotFound")
	root.do("POST", "/api/groups/oa-devs/members/oa-alice", nil).want(200)
	root.do("POST", "/api/groups/oa-devs/policies/oa-read", nil).want(200)
	root.do("DELETE", "/api/policies/oa-read", nil).wantError(409, "PolicyInUse")
	root.do("DELETE", "/api/groups/oa-devs/policies/oa-read", nil).want(200)
	root.do("DELETE", "/api/groups/oa-devs/members/oa-alice", nil).want(200)
	root.do("DELETE", "/api/groups/oa-devs", nil).want(204)
	key := root.do("POST", "/api/users/oa-alice/keys", map[string]any{"description": "ci"}).want(201)
	ak := str(key, "accessKey")
	root.do("GET", "/api/users/oa-alice/keys", nil).want(200)
	root.do("GET", "/api/keys", nil).want(200)
	root.do("GET", "/api/keys?user=oa-alice", nil).want(200)
	root.do("GET", "/api/keys/"+ak, nil).want(200)
	root.do("PATCH", "/api/keys/"+ak, map[string]any{"active": false, "expiresAt": nil}).want(200)
	root.do("PATCH", "/api/keys/"+ak, map[string]any{}).wantError(400, "InvalidRequest")
	root.do("DELETE", "/api/keys/"+ak, nil).want(204)
	root.do("GET", "/api/keys/"+ak, nil).wantError(404, "AccessKeyNotFound")
	cred := root.do("POST", "/api/credentials", map[string]any{"user_name": "oa-alice"}).want(201)
	credID := fmt.Sprint(int64(cred.obj()["id"].(float64)))
	root.do("GET", "/api/credentials", nil).want(200)
	root.do("GET", "/api/credentials/"+credID, nil).want(200)
	root.do("GET", "/api/credentials/0", nil).wantError(400, "InvalidRequest")
	root.do("GET", "/api/credentials/999999", nil).wantError(404, "AccessKeyNotFound")
	root.do("PUT", "/api/credentials/"+credID, map[string]any{"is_active": false}).want(200)
	root.do("PATCH", "/api/credentials/"+credID, map[string]any{"is_active": true}).want(200)
	root.do("DELETE", "/api/credentials/"+credID, nil).want(200)
	alice := rec(e.as(sessionSubject("oa-alice")))
	alice.do("GET", "/api/users", nil).wantError(403, "AccessDenied")
	alice.do("GET", "/api/stats", nil).want(200)
	alice.do("GET", "/api/auth/me", nil).want(200)

	// buckets and their settings
	root.do("POST", "/api/buckets", map[string]any{"name": "oa-b", "versioning": true}).want(201)
	root.do("POST", "/api/buckets", map[string]any{"name": "oa-b"}).wantError(409, "BucketAlreadyOwnedByYou")
	root.do("POST", "/api/buckets", map[string]any{"name": "oa-lock", "objectLock": true}).want(201)
	root.do("POST", "/api/buckets", map[string]any{}).wantError(400, "InvalidRequest")
	root.do("GET", "/api/buckets", nil).want(200)
	root.do("HEAD", "/api/buckets/oa-b", nil).want(200)
	root.do("HEAD", "/api/buckets/nope", nil).want(404)
	root.do("GET", "/api/buckets/oa-b", nil).want(200)
	root.do("GET", "/api/buckets/oa-lock", nil).want(200)
	root.do("GET", "/api/buckets/oa-b?objects=x", nil).wantError(400, "InvalidRequest")
	root.do("GET", "/api/buckets/nope", nil).wantError(404, "NoSuchBucket")
	b := "/api/buckets/oa-b"
	root.do("GET", b+"/versioning", nil).want(200)
	root.do("PUT", b+"/versioning", map[string]any{"status": "Enabled"}).want(200)
	root.do("PUT", b+"/versioning", map[string]any{"status": "On"}).wantError(400, "InvalidRequest")
	root.do("PUT", b+"/versioning", map[string]any{"status": "Enabled", "mfaDelete": "Enabled"}).wantError(501, "NotImplemented")
	root.do("GET", "/api/buckets/oa-lock/object-lock", nil).want(200)
	root.do("PUT", "/api/buckets/oa-lock/object-lock", map[string]any{"rule": map[string]any{"defaultRetention": map[string]any{"mode": "GOVERNANCE", "days": 1}}}).want(200)
	root.do("PUT", "/api/buckets/oa-lock/versioning", map[string]any{"status": "Suspended"}).wantError(409, "InvalidBucketState")
	root.do("GET", b+"/tagging", nil).wantError(404, "NoSuchTagSet")
	root.do("PUT", b+"/tagging", map[string]any{"tags": []any{map[string]string{"key": "team", "value": "ci"}}}).want(200)
	root.do("GET", b+"/tagging", nil).want(200)
	root.do("DELETE", b+"/tagging", nil).want(204)
	root.do("GET", b+"/cors", nil).wantError(404, "NoSuchCORSConfiguration")
	root.do("PUT", b+"/cors", map[string]any{"rules": []any{map[string]any{"allowedOrigins": []string{"*"}, "allowedMethods": []string{"GET"}, "maxAgeSeconds": 60}}}).want(200)
	root.do("PUT", b+"/cors", map[string]any{"rules": []any{}}).wantError(400, "InvalidCORSConfiguration")
	root.do("GET", b+"/cors", nil).want(200)
	root.do("DELETE", b+"/cors", nil).want(200)
	root.do("GET", b+"/lifecycle", nil).wantError(404, "NoSuchLifecycleConfiguration")
	root.do("PUT", b+"/lifecycle", map[string]any{"rules": []any{map[string]any{"status": "Enabled", "filter": map[string]any{"prefix": "tmp/"},
		"expiration": map[string]any{"days": 1}, "noncurrentVersionExpiration": map[string]any{"noncurrentDays": 2}}}}).want(200)
	root.do("GET", b+"/lifecycle", nil).want(200)
	root.do("DELETE", b+"/lifecycle", nil).want(204)
	root.do("GET", b+"/policy", nil).wantError(404, "NoSuchBucketPolicy")
	root.do("GET", b+"/policy/status", nil).wantError(404, "NoSuchBucketPolicy")
	bp := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::oa-b/*"}}}
	root.do("PUT", b+"/policy", bp).want(200)
	root.do("PUT", b+"/policy", map[string]any{"Statement": 1}).wantError(400, "MalformedPolicy")
	root.do("GET", b+"/policy", nil).want(200)
	root.do("GET", b+"/policy/status", nil).want(200)
	root.do("DELETE", b+"/policy", nil).want(204)
	root.do("GET", b+"/acl", nil).want(200)
	root.do("PUT", b+"/acl", map[string]any{"acl": "public-read"}).want(200)
	root.do("PUT", b+"/acl", map[string]any{"acl": "private"}).want(200)
	root.do("PUT", b+"/acl", map[string]any{}).wantError(400, "InvalidRequest")
	root.do("GET", b+"/ownership-controls", nil).wantError(404, "OwnershipControlsNotFoundError")
	root.do("PUT", b+"/ownership-controls", map[string]any{"objectOwnership": "BucketOwnerPreferred"}).want(200)
	root.do("PUT", b+"/ownership-controls", map[string]any{"objectOwnership": "Mine"}).wantError(400, "InvalidRequest")
	root.do("GET", b+"/ownership-controls", nil).want(200)
	root.do("DELETE", b+"/ownership-controls", nil).want(204)
	for _, base := range []string{"/api/notifications/oa-b", b + "/notifications"} {
		root.do("GET", base, nil).want(200)
		root.do("PUT", base, map[string]any{"notifications": []any{}}).want(200)
		root.do("PUT", base, map[string]any{"notifications": []any{map[string]any{"endpoint": "https://example.com/hook", "events": []string{"s3:ObjectCreated:*"}}}}).wantError(400, "InvalidRequest")
		root.do("DELETE", base+"/nope", nil).want(200)
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(202) }))
	root.do("POST", "/api/notifications/test-endpoint", map[string]string{"endpoint": hook.URL, "bucket": "oa-b"}).want(200)
	hook.Close()
	root.do("POST", "/api/notifications/test-endpoint", map[string]string{"endpoint": hook.URL}).want(400)
	root.do("POST", "/api/notifications/test-endpoint", map[string]string{"endpoint": "ftp://x"}).wantError(400, "InvalidRequest")

	// objects
	upload := func(key, progressID string, data []byte) *resp {
		t.Helper()
		body, ct := oaForm(t, key, data)
		root.header.Set("Content-Type", ct)
		defer root.header.Del("Content-Type")
		return root.do("POST", "/api/objects/upload/oa-b/"+b64(key)+"?uploadId="+progressID, body)
	}
	upload("dir/a.txt", "up1", []byte("hello, world")).want(200)
	upload("dir/b.json", "up2", []byte(`{"a":[1,2]}`)).want(200)
	upload("img.png", "up3", []byte("\x89PNG\r\n\x1a\n0000")).want(200)
	root.do("POST", "/api/objects/upload/oa-b/"+b64("x"), "plain").wantError(415, "UnsupportedMediaType")
	root.do("GET", "/api/objects/upload-progress/up1", nil).want(200)
	ticket := str(root.do("POST", "/api/auth/sse-ticket", map[string]string{"resource": "up2", "resourceType": "upload"}).want(200), "ticket")
	anon.do("GET", "/api/objects/upload-progress/up2?ticket="+ticket, nil).want(200)
	anon.do("GET", "/api/objects/upload-progress/up2?ticket="+ticket, nil).wantError(401, "InvalidTicket")
	root.do("GET", "/api/objects/oa-b", nil).want(200)
	root.do("GET", "/api/objects/oa-b/"+b64("dir/"), nil).want(200)
	root.do("GET", "/api/objects/oa-b?q=a&mode=startsWith&autoBroaden=true&delimiter=", nil).want(200)
	root.do("GET", "/api/objects/oa-b?maxKeys=1", nil).want(200)
	root.do("GET", "/api/objects/oa-b?mode=sideways&q=a", nil).wantError(400, "InvalidArgument")
	root.do("GET", "/api/objects/nope", nil).wantError(404, "NoSuchBucket")
	root.do("GET", "/api/buckets/oa-b/objects?prefix=dir/", nil).want(200)
	root.do("GET", "/api/objects/detail/oa-b/"+b64("dir/a.txt"), nil).want(200)
	root.do("GET", "/api/objects/detail/oa-b/"+b64("dir/none"), nil).wantError(404, "NoSuchKey")
	root.do("GET", "/api/objects/detail/oa-b/!!", nil).wantError(400, "InvalidKey")
	root.do("GET", "/api/buckets/oa-b/objects/dir/a.txt", nil).want(200)
	root.do("GET", "/api/objects/view/oa-b/"+b64("dir/b.json"), nil).want(200)
	root.do("GET", "/api/objects/view/oa-b/"+b64("img.png"), nil).want(200)
	dl := root.do("GET", "/api/objects/download/oa-b/"+b64("dir/a.txt"), nil).want(200)
	root.header.Set("If-None-Match", dl.Header.Get("ETag"))
	root.do("GET", "/api/objects/download/oa-b/"+b64("dir/a.txt"), nil).want(304)
	root.header.Del("If-None-Match")
	root.header.Set("Range", "bytes=0-4")
	root.do("GET", "/api/objects/download/oa-b/"+b64("dir/a.txt"), nil).want(206)
	root.header.Set("Range", "bytes=100-200")
	root.do("GET", "/api/objects/download/oa-b/"+b64("dir/a.txt"), nil).wantError(416, "InvalidRange")
	root.header.Del("Range")
	root.do("HEAD", "/api/objects/download/oa-b/"+b64("dir/a.txt"), nil).want(200)
	root.do("GET", "/api/objects/preview/oa-b/"+b64("img.png"), nil).want(200)
	root.do("GET", "/api/objects/preview/oa-b/"+b64("dir/a.txt"), nil).want(200)
	root.do("POST", "/api/objects/oa-b/folder", map[string]string{"path": "new"}).want(201)
	root.do("POST", "/api/objects/oa-b/folder", map[string]string{"path": "new"}).wantError(409, "FolderAlreadyExists")
	root.do("POST", "/api/buckets/oa-b/objects/folder", map[string]string{"folder_name": "other"}).want(201)
	root.do("POST", "/api/objects/oa-b/copy", map[string]string{"sourceKey": "dir/a.txt", "destinationKey": "c/a.txt"}).want(200)
	root.do("POST", "/api/objects/oa-b/copy", map[string]string{"sourceKey": "dir/", "destinationKey": "d/"}).want(200)
	root.do("POST", "/api/objects/oa-b/copy", map[string]string{"sourceKey": "none/", "destinationKey": "e/"}).wantError(404, "NoSuchKey")
	root.do("POST", "/api/objects/oa-b/move", map[string]string{"sourceKey": "c/a.txt", "destinationKey": "m/a.txt"}).want(200)
	root.do("POST", "/api/objects/oa-b/rename", map[string]string{"sourceKey": "m/a.txt", "destinationKey": "m/b.txt"}).want(200)
	root.do("POST", "/api/objects/oa-b/rename", map[string]string{"sourceKey": "m/b.txt"}).wantError(400, "InvalidArgument")
	root.do("POST", "/api/objects/oa-b/delete", map[string]any{"keys": []string{"m/b.txt", "d/"}}).want(200)
	root.do("POST", "/api/objects/oa-b/delete", map[string]any{"keys": []string{}}).wantError(400, "InvalidArgument")
	root.do("POST", "/api/buckets/oa-b/objects/delete", map[string]any{"keys": []string{"new/"}}).want(200)
	root.do("DELETE", "/api/objects/oa-b/"+b64("other/"), nil).want(200)
	root.do("DELETE", "/api/objects/oa-b/"+b64("img.png"), nil).want(200)
	root.do("DELETE", "/api/buckets/oa-b/objects/dir/b.json", nil).want(200)
	up, err := e.objects.CreateUpload(context.Background(), object.CreateUploadInput{Bucket: "oa-b", Key: "big.bin", Owner: rootUser})
	if err != nil {
		t.Fatal(err)
	}
	root.do("GET", b+"/uploads", nil).want(200)
	root.do("GET", b+"/uploads?max_uploads=0", nil).wantError(400, "InvalidRequest")
	root.do("DELETE", b+"/uploads/"+up.ID, nil).wantError(400, "InvalidRequest")
	root.do("DELETE", b+"/uploads/"+up.ID+"?key="+b64("big.bin"), nil).want(204)
	root.do("DELETE", b+"/uploads/"+up.ID+"?key="+b64("big.bin"), nil).wantError(404, "NoSuchUpload")

	// tasks
	wait := func(id string) *resp {
		t.Helper()
		for range 2000 {
			r := root.do("GET", "/api/tasks/"+id, nil).want(200)
			if s := str(r, "status"); s != "queued" && s != "running" {
				return r
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("task %s did not finish", id)
		return nil
	}
	count := str(root.do("POST", "/api/tasks/count", map[string]any{"bucket": "oa-b", "prefix": ""}).want(202), "id")
	zip := str(root.do("POST", "/api/tasks/zip", map[string]any{"bucket": "oa-b", "prefix": "dir/"}).want(202), "id")
	del := str(root.do("POST", "/api/tasks/delete", map[string]any{"bucket": "oa-b", "prefix": "d/"}).want(202), "id")
	root.do("POST", "/api/tasks/delete", map[string]any{"bucket": "oa-b"}).wantError(400, "InvalidRequest")
	root.do("POST", "/api/tasks/count", map[string]any{"bucket": "nope", "prefix": ""}).wantError(404, "NoSuchBucket")
	for _, id := range []string{count, zip, del} {
		wait(id)
	}
	root.do("GET", "/api/tasks", nil).want(200)
	root.do("GET", "/api/tasks/"+zip+"/download", nil).want(200)
	root.header.Set("Range", "bytes=0-9")
	root.do("GET", "/api/tasks/"+zip+"/download", nil).want(206)
	root.header.Set("Range", "bytes=999999999-")
	root.do("GET", "/api/tasks/"+zip+"/download", nil).want(416)
	root.header.Del("Range")
	root.do("GET", "/api/tasks/"+count+"/download", nil).wantError(400, "InvalidRequest")
	root.do("POST", "/api/tasks/"+count+"/cancel", nil).wantError(409, "TaskFinished")
	root.do("DELETE", "/api/tasks/"+count, nil).want(204)
	root.do("GET", "/api/tasks/"+count, nil).wantError(404, "TaskNotFound")
	alias := str(root.do("POST", "/api/buckets/oa-b/objects/s3_stats?prefix=dir/", nil).want(202), "id")
	wait(alias)
	root.do("GET", "/api/buckets/oa-b/objects/s3_stats/"+alias, nil).want(200)
	root.do("GET", "/api/buckets/oa-lock/objects/s3_stats/"+alias, nil).wantError(404, "TaskNotFound")
	zipAlias := str(root.do("POST", "/api/buckets/oa-b/objects/download", map[string]any{"keys": []string{"dir/a.txt"}}).want(202), "id")
	wait(zipAlias)
	root.do("GET", "/api/buckets/oa-b/objects/download/"+zipAlias, nil).want(200)
	root.do("GET", "/api/buckets/oa-b/objects/download/"+alias, nil).want(200)

	// share links
	link := root.do("POST", "/api/presigned-urls", map[string]any{"bucket_name": "oa-b", "object_key": "dir/a.txt", "expires_in": 60}).want(201)
	linkID := str(link, "id")
	root.do("POST", "/api/presigned-urls", map[string]any{"bucket_name": "oa-b", "object_key": "dir/a.txt", "expires_in": 0}).wantError(400, "InvalidRequest")
	root.do("POST", "/api/presigned-urls", map[string]any{"bucket_name": "nope", "object_key": "a"}).wantError(404, "NoSuchBucket")
	root.do("GET", "/api/presigned-urls", nil).want(200)
	root.do("GET", "/api/presigned-urls/"+linkID, nil).want(200)
	root.do("DELETE", "/api/presigned-urls/"+linkID, nil).want(204)
	root.do("GET", "/api/presigned-urls/"+linkID, nil).wantError(404, "ShareLinkNotFound")
	root.do("POST", "/api/presign", map[string]any{"bucket": "oa-b", "key": "dir/a.txt", "method": "put_object"}).want(200)
	root.do("POST", "/api/presign", map[string]any{"bucket": "oa-b", "key": "dir/a.txt", "method": "post"}).wantError(400, "InvalidRequest")
	alice.do("POST", "/api/presign", map[string]any{"bucket": "oa-b", "key": "dir/a.txt"}).wantError(403, "AccessDenied")

	// clean up through the API too
	root.do("DELETE", "/api/buckets/oa-b", nil).wantError(409, "BucketNotEmpty")
	root.do("DELETE", "/api/buckets/oa-b?force=maybe", nil).wantError(400, "InvalidRequest")
	root.do("DELETE", "/api/buckets/oa-b?force=true", nil).want(200)
	root.do("DELETE", "/api/buckets/nope", nil).wantError(404, "NoSuchBucket")
	root.do("DELETE", "/api/users/oa-alice", nil).want(204)
	root.do("DELETE", "/api/policies/oa-read", nil).want(204)
	root.do("DELETE", "/api/policies/admin", nil).wantError(409, "BuiltinPolicy")
}
