package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/cofferstore/coffer/internal/meta"
)

// amqpTarget publishes persistent messages on a confirm-mode channel and
// returns only after the broker's ack. Messages are mandatory: one that no
// queue takes comes back (basic.return) and counts as a failure, because
// the broker would otherwise ack it and drop it.
type amqpTarget struct {
	arn     string
	tc      TargetConfig
	timeout time.Duration

	mu      sync.Mutex
	conn    *amqp.Connection
	ch      *amqp.Channel
	returns chan amqp.Return
	closed  chan *amqp.Error
}

func newAMQP(arn string, tc TargetConfig, timeout time.Duration) *amqpTarget {
	return &amqpTarget{arn: arn, tc: tc, timeout: timeout}
}

func (a *amqpTarget) ARN() string { return a.arn }

func (a *amqpTarget) channel() (*amqp.Channel, error) {
	if a.ch != nil && !a.ch.IsClosed() && !a.conn.IsClosed() {
		return a.ch, nil
	}
	a.drop()
	conn, err := amqp.DialConfig(a.tc.URL, amqp.Config{Dial: amqp.DefaultDial(a.timeout), Heartbeat: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("amqp: connecting: %w", err)
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Confirm(false)
	}
	if err == nil && a.tc.ExchangeType != "" {
		err = ch.ExchangeDeclare(a.tc.Exchange, a.tc.ExchangeType, true, false, false, false, nil)
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("amqp: opening channel: %w", err)
	}
	// The library delivers returns synchronously, before the ack that
	// follows them; one message is in flight at a time, so a small buffer
	// never blocks its reader.
	a.returns = ch.NotifyReturn(make(chan amqp.Return, 4))
	a.closed = ch.NotifyClose(make(chan *amqp.Error, 1))
	a.conn, a.ch = conn, ch
	return ch, nil
}

func (a *amqpTarget) drop() {
	if a.conn != nil {
		_ = a.conn.Close()
	}
	a.conn, a.ch, a.returns, a.closed = nil, nil, nil, nil
}

func (a *amqpTarget) Send(ctx context.Context, payload []byte, ev meta.Event) error {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	a.mu.Lock()
	defer a.mu.Unlock()
	ch, err := a.channel()
	if err != nil {
		return err
	}
	id := eventID(ev)
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, a.tc.Exchange, a.tc.RoutingKey, true, false, amqp.Publishing{
		ContentType:  "application/json",
		DeliveryMode: amqp.Persistent,
		MessageId:    id,
		Timestamp:    ev.Time,
		Type:         ev.Name,
		Body:         payload,
	})
	if err != nil {
		a.drop()
		return fmt.Errorf("amqp: publishing: %w", err)
	}
	acked, err := dc.WaitContext(ctx)
	if err != nil {
		// The confirm may still come; this channel's delivery tags can no
		// longer be matched to sends, so start over on a fresh one.
		a.drop()
		return fmt.Errorf("amqp: waiting for confirm: %w", err)
	}
	if !acked {
		// The library nacks what is pending when the broker closes the
		// channel (an exchange that does not exist, say): report why.
		select {
		case cerr := <-a.closed:
			a.drop()
			if cerr != nil {
				return fmt.Errorf("amqp: channel closed by the broker: %w", cerr)
			}
		default:
		}
		return errors.New("amqp: broker refused the message (nack)")
	}
	for {
		select {
		case r := <-a.returns:
			if r.MessageId == id {
				return fmt.Errorf("amqp: message unroutable (%d %s): no queue bound to exchange %q with routing key %q",
					r.ReplyCode, r.ReplyText, a.tc.Exchange, a.tc.RoutingKey)
			}
			// A return for an earlier, abandoned send: keep looking.
		default:
			return nil
		}
	}
}

func (a *amqpTarget) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.drop()
	return nil
}
