package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// adminRun runs coffer admin with args against a session file in dir.
func adminRun(t *testing.T, dir, console, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	env := map[string]string{"COFFER_ADMIN_CONFIG": filepath.Join(dir, "admin.json"), "COFFER_ADMIN_URL": console}
	var out, errb bytes.Buffer
	code = adminCommand(args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// TestAdminCLI drives coffer admin against a real server: login, users,
// keys, policies, buckets, objects, share links, stats, tables and JSON,
// and the errors a user sees.
func TestAdminCLI(t *testing.T) {
	_, console, stop := startServeBoth(t, t.TempDir())
	defer stop()
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := adminRun(t, dir, console, "", args...)
		if code != 0 {
			t.Fatalf("coffer admin %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	fail := func(want string, args ...string) {
		t.Helper()
		_, errOut, code := adminRun(t, dir, console, "", args...)
		if code == 0 || !strings.Contains(errOut, want) {
			t.Fatalf("coffer admin %s: exit %d, stderr %q; want a failure mentioning %q", strings.Join(args, " "), code, errOut, want)
		}
	}

	fail("not logged in", "--url", "", "users", "list")
	if _, errOut, code := adminRun(t, dir, console, "wrong-password\n", "login", "--user", "admin", "--password-stdin"); code != 1 || !strings.Contains(errOut, "InvalidCredentials") {
		t.Fatalf("bad login: exit %d: %s", code, errOut)
	}
	if out, errOut, code := adminRun(t, dir, console, "serve-test-secret\n", "login", "--user", "admin", "--password-stdin"); code != 0 || !strings.Contains(out, "logged in") {
		t.Fatalf("login: exit %d: %s", code, errOut)
	}
	if fi, err := os.Stat(filepath.Join(dir, "admin.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file: %v %v", fi, err)
	}
	if out := run("whoami"); !strings.Contains(out, "admin") {
		t.Fatalf("whoami: %s", out)
	}

	run("users", "create", "alice", "--password", "alice-password-1", "--policy", "readwrite")
	if out := run("users", "list"); !strings.Contains(out, "NAME") || !strings.Contains(out, "alice") || !strings.Contains(out, "readwrite") {
		t.Fatalf("users list table:\n%s", out)
	}
	fail("UserAlreadyExists", "users", "create", "alice")
	out := run("--json", "keys", "create", "alice", "--description", "ci")
	var key struct{ AccessKey, SecretKey string }
	if err := json.Unmarshal([]byte(out), &key); err != nil || key.AccessKey == "" || key.SecretKey == "" {
		t.Fatalf("keys create --json: %v\n%s", err, out)
	}
	if out := run("keys", "list", "alice"); !strings.Contains(out, key.AccessKey) || strings.Contains(out, key.SecretKey) {
		t.Fatalf("keys list shows the key and never its secret:\n%s", out)
	}
	run("keys", "disable", key.AccessKey)

	doc := filepath.Join(dir, "policy.json")
	os.WriteFile(doc, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::photos/*"]}]}`), 0o600)
	run("policies", "create", "photo-reader", doc)
	run("users", "attach", "alice", "photo-reader")
	if out := run("users", "show", "alice"); !strings.Contains(out, "photo-reader") {
		t.Fatalf("users show after attach:\n%s", out)
	}
	os.WriteFile(doc, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Bogus"]`), 0o600)
	fail("not valid JSON", "policies", "update", "photo-reader", doc)

	run("buckets", "create", "photos", "--versioning")
	src := filepath.Join(dir, "holiday.txt")
	os.WriteFile(src, []byte("sunny and warm"), 0o600)
	run("objects", "put", "photos", "2026/holiday.txt", src)
	if out := run("objects", "list", "photos", "2026/"); !strings.Contains(out, "2026/holiday.txt") {
		t.Fatalf("objects list:\n%s", out)
	}
	if out := run("objects", "list", "photos", "--search", "HOLI"); !strings.Contains(out, "holiday") {
		t.Fatalf("objects search:\n%s", out)
	}
	if out := run("objects", "get", "photos", "2026/holiday.txt", "-"); out != "sunny and warm" {
		t.Fatalf("objects get: %q", out)
	}
	if out := run("buckets", "list"); !strings.Contains(out, "photos") || !strings.Contains(out, "1") {
		t.Fatalf("buckets list:\n%s", out)
	}
	out = run("--json", "shares", "create", "photos", "2026/holiday.txt", "--expires", "1h")
	var link struct{ ID, URL string }
	if err := json.Unmarshal([]byte(out), &link); err != nil || link.ID == "" || !strings.Contains(link.URL, "X-Coffer-Share") {
		t.Fatalf("shares create: %v\n%s", err, out)
	}
	if out := run("shares", "list"); !strings.Contains(out, link.ID) {
		t.Fatalf("shares list:\n%s", out)
	}
	run("shares", "revoke", link.ID)
	if out := run("stats"); !strings.Contains(out, "buckets") {
		t.Fatalf("stats:\n%s", out)
	}
	fail("BucketNotEmpty", "buckets", "delete", "photos")
	run("buckets", "delete", "photos", "--force")
	fail("NoSuchBucket", "buckets", "show", "photos")
	fail("usage", "users", "delete")
	fail("unknown command", "frobnicate")

	run("logout")
	fail("not logged in", "--url", "", "whoami")
}
