package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/cofferstore/coffer/internal/meta"
)

// mqttTarget publishes with QoS 1 (or 2) and returns once the broker has
// acknowledged (PUBACK, or PUBCOMP for QoS 2). It does not let the client
// reconnect and resend by itself: a lost connection fails the Send and the
// dispatcher retries from the outbox, which is the only copy that counts.
type mqttTarget struct {
	arn     string
	tc      TargetConfig
	timeout time.Duration
	qos     byte

	mu     sync.Mutex
	client mqtt.Client
}

func newMQTT(arn string, tc TargetConfig, timeout time.Duration) *mqttTarget {
	qos := byte(1)
	if tc.QoS == 2 {
		qos = 2
	}
	return &mqttTarget{arn: arn, tc: tc, timeout: timeout, qos: qos}
}

func (m *mqttTarget) ARN() string { return m.arn }

func (m *mqttTarget) connect(ctx context.Context) (mqtt.Client, error) {
	if m.client != nil && m.client.IsConnectionOpen() {
		return m.client, nil
	}
	m.drop()
	// Two servers with one client id would disconnect each other.
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	opts := mqtt.NewClientOptions().
		AddBroker(m.tc.URL).
		SetClientID("coffer-" + m.tc.ID + "-" + hex.EncodeToString(suffix)).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(m.timeout).
		SetWriteTimeout(m.timeout)
	if m.tc.Username != "" {
		opts.SetUsername(m.tc.Username).SetPassword(m.tc.Password)
	}
	c := mqtt.NewClient(opts)
	if err := wait(ctx, c.Connect()); err != nil {
		c.Disconnect(0)
		return nil, fmt.Errorf("mqtt: connecting: %w", err)
	}
	m.client = c
	return c, nil
}

func (m *mqttTarget) drop() {
	if m.client != nil {
		m.client.Disconnect(0)
		m.client = nil
	}
}

// wait waits for a paho token or ctx.
func wait(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *mqttTarget) Send(ctx context.Context, payload []byte, _ meta.Event) error {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.connect(ctx)
	if err != nil {
		return err
	}
	if err := wait(ctx, c.Publish(m.tc.Topic, m.qos, false, payload)); err != nil {
		// The ack may never come on this connection; a fresh one makes
		// the retry's outcome unambiguous.
		m.drop()
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("mqtt: no acknowledgement within %s: %w", m.timeout, err)
		}
		return fmt.Errorf("mqtt: publishing: %w", err)
	}
	return nil
}

func (m *mqttTarget) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drop()
	return nil
}
