package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// Target delivers event messages to one destination.
//
// Send delivers payload (the JSON message for ev) and returns nil only once
// the destination has accepted it as far as its protocol can tell: a 2xx
// answer, a broker's publisher confirm, an MQTT PUBACK, a committed INSERT.
// Any error means "not delivered, try again later"; a retried Send may
// deliver a message twice (delivery is at-least-once). Send honours ctx and
// its own configured timeout. The Dispatcher calls Send from one goroutine
// per target; the implementations here are safe for concurrent use anyway.
// Targets connect lazily on Send and reconnect after a failure, so a
// destination that is down when Coffer starts only delays delivery.
//
// Close releases connections; Send must not be called after it.
type Target interface {
	ARN() string
	Send(ctx context.Context, payload []byte, ev meta.Event) error
	Close() error
}

// ErrInvalidTarget reports a target file the server cannot use.
var ErrInvalidTarget = errors.New("invalid notification target configuration")

// Target types.
const (
	TypeWebhook  = "webhook"
	TypeNATS     = "nats"
	TypeAMQP     = "amqp"
	TypeMQTT     = "mqtt"
	TypeRedis    = "redis"
	TypePostgres = "postgres"
)

// DefaultTimeout bounds one Send when the target sets no timeout.
const DefaultTimeout = 10 * time.Second

// TargetConfig is one entry of the target file's "targets" array; see the
// package documentation for the fields each type uses.
type TargetConfig struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	URL     string `json:"url"`
	Timeout string `json:"timeout,omitempty"` // a Go duration, "5s"

	Secret string `json:"secret,omitempty"` // webhook

	Subject   string `json:"subject,omitempty"`   // nats
	JetStream bool   `json:"jetstream,omitempty"` // nats

	Exchange     string `json:"exchange,omitempty"`     // amqp
	ExchangeType string `json:"exchangeType,omitempty"` // amqp
	RoutingKey   string `json:"routingKey,omitempty"`   // amqp

	Topic string `json:"topic,omitempty"` // mqtt
	QoS   int    `json:"qos,omitempty"`   // mqtt

	Username string `json:"username,omitempty"` // nats, mqtt
	Password string `json:"password,omitempty"` // nats, mqtt

	Mode string `json:"mode,omitempty"` // redis: "list" or "pubsub"
	Key  string `json:"key,omitempty"`  // redis: list key or channel

	Table string `json:"table,omitempty"` // postgres
}

// targetFile is the operator's file.
type targetFile struct {
	Targets []TargetConfig `json:"targets"`
}

var (
	idPattern    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	tablePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
)

// ParseTargets decodes and checks the operator's target file. Unknown
// fields are refused (a typo must not silently disable a setting), and so
// are duplicate ids, unknown types and fields missing for a type. It does
// no network I/O.
func ParseTargets(data []byte) ([]TargetConfig, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f targetFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidTarget, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrInvalidTarget)
	}
	seen := map[string]bool{}
	for i, tc := range f.Targets {
		if err := tc.check(); err != nil {
			return nil, fmt.Errorf("target %d: %w", i, err)
		}
		if seen[tc.ID] {
			return nil, fmt.Errorf("%w: duplicate id %q", ErrInvalidTarget, tc.ID)
		}
		seen[tc.ID] = true
	}
	return f.Targets, nil
}

func (tc TargetConfig) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidTarget, fmt.Sprintf(format, args...))
	}
	if !idPattern.MatchString(tc.ID) {
		return bad("id %q must be 1-64 letters, digits, '-' or '_'", tc.ID)
	}
	if tc.URL == "" {
		return bad("target %q has no url", tc.ID)
	}
	if _, err := tc.timeout(); err != nil {
		return bad("target %q: timeout %q: %v", tc.ID, tc.Timeout, err)
	}
	switch tc.Type {
	case TypeWebhook:
		if u, err := url.Parse(tc.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("webhook target %q: url must be an http or https URL", tc.ID)
		}
	case TypeNATS:
		if tc.Subject == "" {
			return bad("nats target %q has no subject", tc.ID)
		}
	case TypeAMQP:
		if tc.Exchange == "" && tc.RoutingKey == "" {
			return bad("amqp target %q needs an exchange or a routing key", tc.ID)
		}
		if tc.ExchangeType != "" && tc.Exchange == "" {
			return bad("amqp target %q: exchangeType without exchange", tc.ID)
		}
	case TypeMQTT:
		if tc.Topic == "" {
			return bad("mqtt target %q has no topic", tc.ID)
		}
		if tc.QoS != 0 && tc.QoS != 1 && tc.QoS != 2 {
			return bad("mqtt target %q: qos must be 1 or 2", tc.ID)
		}
	case TypeRedis:
		if tc.Mode != "list" && tc.Mode != "pubsub" {
			return bad("redis target %q: mode must be \"list\" or \"pubsub\"", tc.ID)
		}
		if tc.Key == "" {
			return bad("redis target %q has no key", tc.ID)
		}
	case TypePostgres:
		if !tablePattern.MatchString(tc.Table) {
			return bad("postgres target %q: table %q must be a plain SQL identifier", tc.ID, tc.Table)
		}
	default:
		return bad("target %q: unknown type %q", tc.ID, tc.Type)
	}
	return nil
}

func (tc TargetConfig) timeout() (time.Duration, error) {
	if tc.Timeout == "" {
		return DefaultTimeout, nil
	}
	d, err := time.ParseDuration(tc.Timeout)
	if err == nil && d <= 0 {
		err = errors.New("must be positive")
	}
	return d, err
}

// ARN returns the ARN that bucket notification configurations use to name
// a target: "arn:coffer:sqs:<region>:<id>:<type>".
func ARN(region, id, typ string) string {
	return "arn:coffer:sqs:" + region + ":" + id + ":" + typ
}

// OpenTarget builds the target tc describes, named by ARN(region, ...).
// It does no network I/O: the target connects on its first Send.
func OpenTarget(tc TargetConfig, region string) (Target, error) {
	if err := tc.check(); err != nil {
		return nil, err
	}
	timeout, _ := tc.timeout()
	arn := ARN(region, tc.ID, tc.Type)
	switch tc.Type {
	case TypeWebhook:
		return newWebhook(arn, tc, timeout), nil
	case TypeNATS:
		return newNATS(arn, tc, timeout), nil
	case TypeAMQP:
		return newAMQP(arn, tc, timeout), nil
	case TypeMQTT:
		return newMQTT(arn, tc, timeout), nil
	case TypeRedis:
		return newRedis(arn, tc, timeout)
	case TypePostgres:
		return newPostgres(arn, tc, timeout), nil
	}
	return nil, fmt.Errorf("%w: unknown type %q", ErrInvalidTarget, tc.Type)
}

// OpenTargets opens every target of a parsed target file.
func OpenTargets(cfgs []TargetConfig, region string) ([]Target, error) {
	var out []Target
	for _, tc := range cfgs {
		t, err := OpenTarget(tc, region)
		if err != nil {
			for _, o := range out {
				_ = o.Close()
			}
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// eventID identifies an event across redeliveries, for receivers that
// deduplicate: the outbox Seq alone could repeat if a store were rebuilt.
func eventID(ev meta.Event) string {
	return strconv.FormatInt(ev.Time.UnixNano(), 36) + "-" + strconv.FormatUint(ev.Seq, 10)
}
