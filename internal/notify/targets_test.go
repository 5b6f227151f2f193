package notify

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseTargets(t *testing.T) {
	good := `{"targets":[
		{"id":"hooks","type":"webhook","url":"http://127.0.0.1:9/x","secret":"s","timeout":"5s"},
		{"id":"bus","type":"nats","url":"nats://127.0.0.1:4222","subject":"s","jetstream":true},
		{"id":"rabbit","type":"amqp","url":"amqp://guest:guest@127.0.0.1:5672/","exchange":"e","exchangeType":"topic","routingKey":"k"},
		{"id":"iot","type":"mqtt","url":"tcp://127.0.0.1:1883","topic":"t","qos":2},
		{"id":"cache","type":"redis","url":"redis://127.0.0.1:6379/0","mode":"pubsub","key":"c"},
		{"id":"audit","type":"postgres","url":"postgres://postgres@127.0.0.1:5432/test","table":"events"}]}`
	cfgs, err := ParseTargets([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 6 || cfgs[2].RoutingKey != "k" || cfgs[3].QoS != 2 || !cfgs[1].JetStream {
		t.Fatalf("parsed %+v", cfgs)
	}
	targets, err := OpenTargets(cfgs, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	wantARNs := []string{
		"arn:coffer:sqs:eu-west-1:hooks:webhook", "arn:coffer:sqs:eu-west-1:bus:nats",
		"arn:coffer:sqs:eu-west-1:rabbit:amqp", "arn:coffer:sqs:eu-west-1:iot:mqtt",
		"arn:coffer:sqs:eu-west-1:cache:redis", "arn:coffer:sqs:eu-west-1:audit:postgres",
	}
	for i, tg := range targets {
		if tg.ARN() != wantARNs[i] {
			t.Errorf("ARN %q, want %q", tg.ARN(), wantARNs[i])
		}
		if err := tg.Close(); err != nil {
			t.Errorf("closing an unused %s: %v", tg.ARN(), err)
		}
	}

	bad := map[string]string{
		"not json":          `targets`,
		"unknown field":     `{"targets":[{"id":"a","type":"webhook","url":"http://x/","secert":"s"}]}`,
		"trailing data":     `{"targets":[]} {}`,
		"duplicate id":      `{"targets":[{"id":"a","type":"webhook","url":"http://x/"},{"id":"a","type":"webhook","url":"http://y/"}]}`,
		"bad id":            `{"targets":[{"id":"a:b","type":"webhook","url":"http://x/"}]}`,
		"unknown type":      `{"targets":[{"id":"a","type":"kafka","url":"x"}]}`,
		"no url":            `{"targets":[{"id":"a","type":"webhook"}]}`,
		"webhook not http":  `{"targets":[{"id":"a","type":"webhook","url":"ftp://x/"}]}`,
		"bad timeout":       `{"targets":[{"id":"a","type":"webhook","url":"http://x/","timeout":"5"}]}`,
		"negative timeout":  `{"targets":[{"id":"a","type":"webhook","url":"http://x/","timeout":"-1s"}]}`,
		"nats no subject":   `{"targets":[{"id":"a","type":"nats","url":"nats://x"}]}`,
		"amqp nothing":      `{"targets":[{"id":"a","type":"amqp","url":"amqp://x"}]}`,
		"amqp type only":    `{"targets":[{"id":"a","type":"amqp","url":"amqp://x","routingKey":"k","exchangeType":"topic"}]}`,
		"mqtt no topic":     `{"targets":[{"id":"a","type":"mqtt","url":"tcp://x"}]}`,
		"mqtt qos 3":        `{"targets":[{"id":"a","type":"mqtt","url":"tcp://x","topic":"t","qos":3}]}`,
		"redis mode":        `{"targets":[{"id":"a","type":"redis","url":"redis://x","mode":"stream","key":"k"}]}`,
		"redis no key":      `{"targets":[{"id":"a","type":"redis","url":"redis://x","mode":"list"}]}`,
		"postgres bad name": `{"targets":[{"id":"a","type":"postgres","url":"postgres://x","table":"x; DROP TABLE y"}]}`,
	}
	for name, data := range bad {
		if _, err := ParseTargets([]byte(data)); !errors.Is(err, ErrInvalidTarget) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	if _, err := OpenTarget(TargetConfig{ID: "a", Type: "redis", URL: "mysql://x", Mode: "list", Key: "k"}, "r"); !errors.Is(err, ErrInvalidTarget) {
		t.Errorf("redis with a bad url: %v", err)
	}
}

// needService fails (CI=true) or skips the test when a broker the test
// needs is not listening on loopback.
func needService(t *testing.T, addr, what string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		msg := what + " is not reachable at " + addr + " (" + err.Error() + "); ../shared/NOTES.md says how to start it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	_ = c.Close()
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// uniqueName is a name no other test run uses.
func uniqueName(prefix string) string {
	return prefix + "_" + strings.ReplaceAll(time.Now().UTC().Format("150405.000000000"), ".", "_")
}

// sendDown checks that a target pointed at a closed port fails within its
// timeout instead of hanging.
func sendDown(t *testing.T, tc TargetConfig) {
	t.Helper()
	tc.Timeout = "2s"
	tg, err := OpenTarget(tc, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tg.Close() }()
	start := time.Now()
	ev := sampleEvent()
	payload, _ := Encoder{}.Encode(context.Background(), ev)
	if err := tg.Send(context.Background(), payload, ev); err == nil {
		t.Fatalf("%s: Send to a closed port succeeded", tc.Type)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("%s: Send to a closed port took %s", tc.Type, d)
	}
}
