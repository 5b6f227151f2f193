package notify

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cofferstore/coffer/internal/meta"
)

// natsTarget publishes to a subject. With JetStream the publish waits for
// the stream's ack and carries a message id, so the stream drops a
// redelivered duplicate within its duplicate window. Without it, Send
// returns once the server has the message (a flush round trip): core NATS
// keeps nothing for subscribers that are not listening.
type natsTarget struct {
	arn     string
	tc      TargetConfig
	timeout time.Duration

	mu sync.Mutex
	nc *nats.Conn
	js jetstream.JetStream
}

func newNATS(arn string, tc TargetConfig, timeout time.Duration) *natsTarget {
	return &natsTarget{arn: arn, tc: tc, timeout: timeout}
}

func (n *natsTarget) ARN() string { return n.arn }

func (n *natsTarget) conn() (*nats.Conn, jetstream.JetStream, error) {
	if n.nc != nil && !n.nc.IsClosed() {
		return n.nc, n.js, nil
	}
	opts := []nats.Option{
		nats.Name("coffer"),
		nats.Timeout(n.timeout),
		// Without a reconnect buffer a publish while disconnected fails
		// at once instead of waiting in memory, where a crash would lose
		// it after the outbox had let it go.
		nats.ReconnectBufSize(-1),
		nats.MaxReconnects(-1),
	}
	if n.tc.Username != "" {
		opts = append(opts, nats.UserInfo(n.tc.Username, n.tc.Password))
	}
	nc, err := nats.Connect(n.tc.URL, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("nats: connecting: %w", err)
	}
	var js jetstream.JetStream
	if n.tc.JetStream {
		if js, err = jetstream.New(nc); err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("nats: jetstream: %w", err)
		}
	}
	n.nc, n.js = nc, js
	return nc, js, nil
}

func (n *natsTarget) Send(ctx context.Context, payload []byte, ev meta.Event) error {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	n.mu.Lock()
	defer n.mu.Unlock()
	nc, js, err := n.conn()
	if err != nil {
		return err
	}
	if js != nil {
		if _, err := js.Publish(ctx, n.tc.Subject, payload, jetstream.WithMsgID(eventID(ev))); err != nil {
			return fmt.Errorf("nats: jetstream publish: %w", err)
		}
		return nil
	}
	if err := nc.Publish(n.tc.Subject, payload); err != nil {
		return fmt.Errorf("nats: publish: %w", err)
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("nats: flush: %w", err)
	}
	return nil
}

func (n *natsTarget) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.nc != nil {
		n.nc.Close()
		n.nc, n.js = nil, nil
	}
	return nil
}
