package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var creds = []string{"-access", "AK", "-secret", "SK"}

func parse(args ...string) (config, error) {
	return parseArgs(append(append([]string{}, creds...), args...), env(nil), io.Discard)
}

func TestParseArgsDefaults(t *testing.T) {
	c, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	if c.endpoint.String() != "http://127.0.0.1:9000" || c.region != "us-east-1" || c.op != "put" ||
		c.size != 4096 || c.concurrency != 16 || c.duration != 10*time.Second || c.count != 0 || c.objects != 0 || c.json {
		t.Fatalf("defaults: %+v", c)
	}
	c, _ = parse("-op", "get")
	if c.objects != 100 {
		t.Errorf("get default objects = %d", c.objects)
	}
	c, _ = parse("-op", "list")
	if c.objects != 1000 {
		t.Errorf("list default objects = %d", c.objects)
	}
}

func TestParseArgs(t *testing.T) {
	c, err := parse("-endpoint", "http://localhost:7070/", "-region", "eu-west-1", "-bucket", "b1", "-op", "list",
		"-size", "64MiB", "-concurrency", "4", "-duration", "0", "-count", "100", "-objects", "20000", "-prefix", "p/", "-json")
	if err != nil {
		t.Fatal(err)
	}
	if c.endpoint.String() != "http://localhost:7070" || c.region != "eu-west-1" || c.bucket != "b1" || c.op != "list" ||
		c.size != 64<<20 || c.concurrency != 4 || c.duration != 0 || c.count != 100 || c.objects != 20000 || c.prefix != "p/" || !c.json {
		t.Fatalf("parsed: %+v", c)
	}
}

func TestParseArgsCredentialsFromEnv(t *testing.T) {
	c, err := parseArgs(nil, env(map[string]string{"AWS_ACCESS_KEY_ID": "envA", "AWS_SECRET_ACCESS_KEY": "envS"}), io.Discard)
	if err != nil || c.access != "envA" || c.secret != "envS" {
		t.Fatalf("env credentials: %+v, %v", c, err)
	}
	var help strings.Builder
	_, err = parseArgs([]string{"-h"}, env(map[string]string{"AWS_SECRET_ACCESS_KEY": "hush"}), &help)
	if !errors.Is(err, flag.ErrHelp) || strings.Contains(help.String(), "hush") {
		t.Fatalf("-h: %v, output mentions the secret: %v", err, strings.Contains(help.String(), "hush"))
	}
	if _, err := parseArgs(nil, env(nil), io.Discard); !errors.Is(err, errUsage) {
		t.Fatalf("missing credentials: %v", err)
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-op", "delete"},
		{"-size", "lots"},
		{"-concurrency", "0"},
		{"-duration", "0"}, // and no -count: unbounded
		{"-duration", "-1s", "-count", "5"},
		{"-count", "-1"},
		{"-op", "get", "-objects", "0"},
		{"-bucket", ""},
		{"-bucket", "a/b"},
		{"-region", ""},
		{"extra"},
		{"-endpoint", "ftp://127.0.0.1"},
		{"-endpoint", "http://127.0.0.1:9000/path"},
		{"-endpoint", "http://u:p@127.0.0.1:9000"},
		{"-endpoint", "127.0.0.1:9000"},
		{"-nosuchflag"},
	} {
		if _, err := parse(args...); err == nil {
			t.Errorf("parseArgs(%q) succeeded", args)
		}
	}
}

func TestEndpointLoopbackOnly(t *testing.T) {
	for _, ep := range []string{"http://127.0.0.1:9000", "http://127.8.9.10", "http://[::1]:9000", "http://localhost:9000", "https://LOCALHOST"} {
		if _, err := parseEndpoint(ep, false); err != nil {
			t.Errorf("parseEndpoint(%q): %v", ep, err)
		}
	}
	for _, ep := range []string{"http://10.0.0.1:9000", "http://192.168.1.1", "http://[2001:db8::1]:9000", "http://example.com", "http://localhost.example.com", "http://0.0.0.0:9000", "http://127.0.0.1.nip.io"} {
		if _, err := parseEndpoint(ep, false); !errors.Is(err, errRemote) {
			t.Errorf("parseEndpoint(%q) = %v, want errRemote", ep, err)
		}
		if _, err := parseEndpoint(ep, true); err != nil {
			t.Errorf("parseEndpoint(%q, allowRemote): %v", ep, err)
		}
	}
	if _, err := parse("-endpoint", "http://10.1.2.3:9000", "-allow-remote"); err != nil {
		t.Errorf("-allow-remote: %v", err)
	}
}
