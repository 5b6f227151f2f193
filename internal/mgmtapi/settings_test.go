package mgmtapi_test

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/cofferstore/coffer/internal/mgmtapi"
	"github.com/cofferstore/coffer/internal/session"
)

var consoleSettingsRoutes = []struct{ method, path string }{
	{"GET", "/api/settings/s3"}, {"PUT", "/api/settings/s3"}, {"POST", "/api/settings/test-s3"},
	{"GET", "/api/settings/huggingface"}, {"PUT", "/api/settings/huggingface"}, {"POST", "/api/settings/test-huggingface"},
	{"GET", "/api/settings/proxy"}, {"PUT", "/api/settings/proxy"}, {"POST", "/api/settings/test-proxy"},
	{"GET", "/api/settings/max-concurrent-transfers"}, {"PUT", "/api/settings/max-concurrent-transfers"},
	{"GET", "/api/settings/max-files-per-page"}, {"PUT", "/api/settings/max-files-per-page"},
	{"GET", "/api/settings/disclaimer"}, {"PUT", "/api/settings/disclaimer"},
}

func TestConsoleSettingsRoundTripAcrossInstances(t *testing.T) {
	e := newEnv(t)
	e2 := tasksSecondInstance(t, e)
	root, root2 := e.root(), e2.root()

	// Defaults (S4's).
	if m := root.do("GET", "/api/settings/max-concurrent-transfers", nil).want(200).obj(); m["maxConcurrentTransfers"] != float64(2) {
		t.Fatalf("default concurrency %v", m)
	}
	if m := root.do("GET", "/api/settings/max-files-per-page", nil).want(200).obj(); m["maxFilesPerPage"] != float64(100) {
		t.Fatalf("default page size %v", m)
	}
	var disc struct{ Disclaimer struct{ Status string } }
	root.do("GET", "/api/settings/disclaimer", nil).want(200).json(&disc)
	if disc.Disclaimer.Status != "unknown" {
		t.Fatalf("default disclaimer %+v", disc)
	}
	var hf struct{ Settings struct{ HFToken string } }
	root.do("GET", "/api/settings/huggingface", nil).want(200).json(&hf)
	if hf.Settings.HFToken != "" {
		t.Fatalf("default token %+v", hf)
	}

	// Saved on one instance, read on the other.
	ok := func(r *resp) {
		t.Helper()
		if m := r.want(200).obj(); m["message"] == "" || m["message"] == nil {
			t.Fatalf("PUT answered %v", m)
		}
	}
	ok(root.do("PUT", "/api/settings/max-concurrent-transfers", map[string]int{"maxConcurrentTransfers": 5}))
	ok(root.do("PUT", "/api/settings/max-files-per-page", map[string]int{"maxFilesPerPage": 250}))
	ok(root.do("PUT", "/api/settings/disclaimer", map[string]string{"status": "accepted"}))
	ok(root.do("PUT", "/api/settings/huggingface", map[string]string{"hfToken": "hf_secretTOKENvalue123"}))
	ok(root.do("PUT", "/api/settings/proxy", map[string]string{"httpProxy": "http://proxy.example:8080",
		"httpsProxy": "http://user:pa55word@proxy.example:8443"}))

	if m := root2.do("GET", "/api/settings/max-concurrent-transfers", nil).want(200).obj(); m["maxConcurrentTransfers"] != float64(5) {
		t.Fatalf("concurrency on the other instance %v", m)
	}
	user := e2.user("reader", "readonly")
	if m := user.do("GET", "/api/settings/max-files-per-page", nil).want(200).obj(); m["maxFilesPerPage"] != float64(250) {
		t.Fatalf("page size on the other instance %v", m)
	}
	user.do("GET", "/api/settings/disclaimer", nil).want(200).json(&disc)
	if disc.Disclaimer.Status != "accepted" {
		t.Fatalf("disclaimer on the other instance %+v", disc)
	}
	r := root2.do("GET", "/api/settings/huggingface", nil).want(200)
	r.json(&hf)
	if hf.Settings.HFToken != "hf_s****" || strings.Contains(string(r.Body), "TOKEN") {
		t.Fatalf("token shown as %s", r.Body)
	}
	var px struct {
		Settings struct{ HTTPProxy, HTTPSProxy string }
	}
	r = root2.do("GET", "/api/settings/proxy", nil).want(200)
	r.json(&px)
	if px.Settings.HTTPProxy != "http://proxy.example:8080" || !strings.HasPrefix(px.Settings.HTTPSProxy, "http://user:") ||
		strings.Contains(string(r.Body), "pa55word") {
		t.Fatalf("proxy shown as %s", r.Body)
	}
	// Clearing.
	ok(root2.do("PUT", "/api/settings/huggingface", map[string]string{"hfToken": ""}))
	ok(root2.do("PUT", "/api/settings/proxy", map[string]string{}))
	root.do("GET", "/api/settings/huggingface", nil).want(200).json(&hf)
	root.do("GET", "/api/settings/proxy", nil).want(200).json(&px)
	if hf.Settings.HFToken != "" || px.Settings.HTTPProxy != "" || px.Settings.HTTPSProxy != "" {
		t.Fatalf("after clearing: %+v %+v", hf, px)
	}
}

func TestConsoleSettingsS3Endpoint(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	var s3s struct {
		Settings struct{ Endpoint, Region, AccessKeyID, SecretAccessKey string }
		ReadOnly bool
	}
	root.do("GET", "/api/settings/s3", nil).want(200).json(&s3s)
	if s3s.Settings.Endpoint != e.S3URL || s3s.Settings.Region != region || !s3s.ReadOnly || s3s.Settings.SecretAccessKey != "" {
		t.Fatalf("s3 settings %+v", s3s)
	}
	r := root.do("PUT", "/api/settings/s3", map[string]string{"endpoint": "http://elsewhere"}).wantError(400, "ReadOnlySetting")
	if !strings.Contains(string(r.Body), "S3 endpoint") {
		t.Fatalf("the refusal does not explain: %s", r.Body)
	}
	// The test contacts Coffer's own endpoint whatever the body names.
	m := root.do("POST", "/api/settings/test-s3", map[string]string{"endpoint": "http://169.254.169.254"}).want(200).obj()
	if m["endpoint"] != e.S3URL || m["status"] == nil {
		t.Fatalf("test-s3 answered %v", m)
	}
	root.do("POST", "/api/settings/test-s3", nil).want(200)

	// An endpoint that does not answer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	e2 := tasksSecondInstance(t, e, func(c *mgmtapi.Config) { c.S3Endpoint = dead })
	e2.root().do("POST", "/api/settings/test-s3", nil).wantError(http.StatusBadGateway, "ConnectionFailed")
	e3 := tasksSecondInstance(t, e, func(c *mgmtapi.Config) { c.S3Endpoint = "" })
	e3.root().do("POST", "/api/settings/test-s3", nil).wantError(400, "NotConfigured")
}

func TestConsoleSettingsRefusals(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	anon := e.anon()
	user := e.user("plain", "readwrite")
	for _, r := range consoleSettingsRoutes {
		anon.do(r.method, r.path, map[string]any{}).wantError(http.StatusUnauthorized, "Unauthorized")
		st := user.do(r.method, r.path, map[string]any{}).Status
		public := r.method == "GET" && (strings.HasSuffix(r.path, "/max-files-per-page") || strings.HasSuffix(r.path, "/disclaimer"))
		if public != (st == http.StatusOK) || (!public && st != http.StatusForbidden) {
			t.Errorf("%s %s as a non-admin: %d", r.method, r.path, st)
		}
	}
	for _, p := range []string{"/api/settings/test-huggingface", "/api/settings/test-proxy"} {
		r := root.do("POST", p, map[string]string{"hfToken": "hf_x", "testUrl": "https://example.com"}).wantError(http.StatusNotImplemented, "NotImplemented")
		if !strings.Contains(string(r.Body), "outbound") {
			t.Fatalf("%s: %s", p, r.Body)
		}
	}
	for _, b := range []string{`{}`, `{"maxConcurrentTransfers":0}`, `{"maxConcurrentTransfers":21}`, `{"maxConcurrentTransfers":1.5}`,
		`{"maxConcurrentTransfers":"4"}`, `{"maxConcurrentTransfers":null}`} {
		root.do("PUT", "/api/settings/max-concurrent-transfers", b).wantError(400, "InvalidRequest")
	}
	for _, b := range []string{`{"maxFilesPerPage":9}`, `{"maxFilesPerPage":1001}`, `{"maxFilesPerPage":true}`} {
		root.do("PUT", "/api/settings/max-files-per-page", b).wantError(400, "InvalidRequest")
	}
	root.do("PUT", "/api/settings/max-files-per-page", `[1]`).wantError(400, "InvalidJSON")
	root.do("PUT", "/api/settings/max-files-per-page", ``).wantError(400, "InvalidRequest")
	for _, b := range []string{`{}`, `{"status":""}`, `{"status":"` + strings.Repeat("a", 65) + `"}`, `{"status":"a\nb"}`} {
		root.do("PUT", "/api/settings/disclaimer", b).wantError(400, "InvalidRequest")
	}
	root.do("PUT", "/api/settings/disclaimer", `{"status":5}`).wantError(400, "InvalidJSON")
	root.do("PUT", "/api/settings/huggingface", `{}`).wantError(400, "InvalidRequest")
	root.do("PUT", "/api/settings/huggingface", `{"hfToken":"has space"}`).wantError(400, "InvalidRequest")
	root.do("PUT", "/api/settings/huggingface", `{"hfToken":7}`).wantError(400, "InvalidJSON")
	for _, b := range []string{`{"httpProxy":"ftp://proxy:21"}`, `{"httpsProxy":"proxy.example:8080"}`, `{"httpProxy":"http://"}`} {
		root.do("PUT", "/api/settings/proxy", b).wantError(400, "InvalidRequest")
	}
	// Nothing refused was saved.
	if m := root.do("GET", "/api/settings/max-concurrent-transfers", nil).want(200).obj(); m["maxConcurrentTransfers"] != float64(2) {
		t.Fatalf("a refused PUT changed the setting: %v", m)
	}
	// Cookie sessions need the CSRF header on writes.
	ck := e.cookie(session.Subject{User: rootUser, Root: true})
	ck.csrf = ""
	ck.do("PUT", "/api/settings/disclaimer", map[string]string{"status": "accepted"}).wantError(http.StatusForbidden, "CSRFTokenInvalid")
}

// TestConsoleSettingsTokenSealedAtRest: the stored record holds the token
// only encrypted under the master key, never in plain text.
func TestConsoleSettingsTokenSealedAtRest(t *testing.T) {
	e := newEnv(t)
	e.root().do("PUT", "/api/settings/huggingface", map[string]string{"hfToken": "hf_plainTEXTtoken42"}).want(http.StatusOK)
	recs, err := e.store.ListRecords(t.Context(), "setting", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if strings.Contains(string(r.Data), "plainTEXT") {
			t.Fatalf("setting record %s holds the token in plain text: %s", r.ID, r.Data)
		}
		found = found || strings.Contains(r.ID, "huggingface")
	}
	if !found {
		t.Fatalf("no huggingface setting among %d records", len(recs))
	}
}
