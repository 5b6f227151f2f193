package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigDefaultsEnvAndFlags(t *testing.T) {
	c, err := loadConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "./data" || c.S3Addr != ":9000" || c.ConsoleAddr != ":9001" || c.Region != "us-east-1" ||
		c.InlineMax != 128<<10 || c.ShutdownTimeout != 30*time.Second {
		t.Errorf("defaults: %+v", c)
	}
	c, err = loadConfig([]string{"--s3-addr", "127.0.0.1:7000"}, env(map[string]string{
		"COFFER_S3_ADDR": "127.0.0.1:8000", "COFFER_DATA_DIR": "/tmp/x", "COFFER_DOMAINS": "S3.Example.com, other.test",
		"COFFER_ROOT_USER": "admin", "COFFER_ROOT_PASSWORD": "longenough", "COFFER_INLINE_MAX": "0",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.S3Addr != "127.0.0.1:7000" {
		t.Errorf("flag did not win over env: %s", c.S3Addr)
	}
	if c.DataDir != "/tmp/x" || c.RootUser != "admin" || strings.Join(c.Domains, ",") != "s3.example.com,other.test" || c.InlineMax != -1 {
		t.Errorf("env not applied: %+v", c)
	}
}

func TestConfigReportsEveryProblem(t *testing.T) {
	_, err := loadConfig([]string{"--log-level", "loud"}, env(map[string]string{
		"COFFER_S3_ADDR":          "nonsense",
		"COFFER_ROOT_USER":        "admin",
		"COFFER_SHUTDOWN_TIMEOUT": "-1s",
		"COFFER_INLINE_MAX":       "huge",
		"COFFER_TLS_CERT":         "cert.pem",
	}), io.Discard)
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{"--log-level", "COFFER_S3_ADDR", "COFFER_ROOT_PASSWORD", "COFFER_SHUTDOWN_TIMEOUT", "COFFER_INLINE_MAX", "--tls-key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	_, err = loadConfig(nil, env(map[string]string{"COFFER_ROOT_USER": "admin", "COFFER_ROOT_PASSWORD": "short"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Errorf("short password: %v", err)
	}
	if _, err := loadConfig([]string{"extra"}, env(nil), io.Discard); err == nil {
		t.Error("stray argument accepted")
	}
}

func TestRunUsage(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "coffer ") {
		t.Errorf("version: %d %q", code, out.String())
	}
	if code := run([]string{"bogus"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Errorf("bogus: %d %q", code, errb.String())
	}
	if code := run(nil, &out, &errb); code != 2 {
		t.Errorf("no args: %d", code)
	}
}

func TestConfigManagementAPISettings(t *testing.T) {
	dir := t.TempDir()
	c, err := loadConfig(nil, env(map[string]string{
		"COFFER_ALLOWED_ORIGINS": "https://console.example.com, http://127.0.0.1:5000/",
		"COFFER_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7",
		"COFFER_PUBLIC_S3_URL":   "https://s3.example.com/",
		"COFFER_SESSION_TTL":     "2h",
		"COFFER_LOCAL_LOCATIONS": "datasets=" + dir + "," + dir,
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.AllowedOrigins, " ") != "https://console.example.com http://127.0.0.1:5000" {
		t.Errorf("origins: %v", c.AllowedOrigins)
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[0].String() != "10.0.0.0/8" || c.TrustedProxies[1].String() != "192.168.1.7/32" {
		t.Errorf("proxies: %v", c.TrustedProxies)
	}
	if c.PublicS3URL != "https://s3.example.com" || c.SessionTTL != 2*time.Hour {
		t.Errorf("public URL %q, session TTL %v", c.PublicS3URL, c.SessionTTL)
	}
	if len(c.LocalLocations) != 2 || c.LocalLocations[0].ID != "local-0" || c.LocalLocations[0].Name != "datasets" ||
		c.LocalLocations[1].ID != "local-1" || c.LocalLocations[1].Path != dir {
		t.Errorf("local locations: %+v", c.LocalLocations)
	}

	_, err = loadConfig(nil, env(map[string]string{
		"COFFER_ALLOWED_ORIGINS": "console.example.com",
		"COFFER_TRUSTED_PROXIES": "not-an-address",
		"COFFER_PUBLIC_S3_URL":   "ftp://x",
		"COFFER_LOCAL_LOCATIONS": "relative/dir",
	}), io.Discard)
	if err == nil {
		t.Fatal("invalid settings accepted")
	}
	for _, want := range []string{"COFFER_ALLOWED_ORIGINS", "COFFER_TRUSTED_PROXIES", "COFFER_PUBLIC_S3_URL", "COFFER_LOCAL_LOCATIONS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}
