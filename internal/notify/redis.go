package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cofferstore/coffer/internal/meta"
)

// redisTarget appends to a list (RPUSH: the list keeps events until a
// consumer pops them) or publishes on a channel (PUBLISH: only subscribers
// listening at that moment get the event; Redis keeps nothing).
type redisTarget struct {
	arn     string
	mode    string
	key     string
	timeout time.Duration
	client  *redis.Client
}

func newRedis(arn string, tc TargetConfig, timeout time.Duration) (*redisTarget, error) {
	opts, err := redis.ParseURL(tc.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: redis target %q: url: %v", ErrInvalidTarget, tc.ID, err)
	}
	opts.DialTimeout = timeout
	opts.ReadTimeout = timeout
	opts.WriteTimeout = timeout
	opts.MaxRetries = -1 // the dispatcher retries, with backoff
	return &redisTarget{arn: arn, mode: tc.Mode, key: tc.Key, timeout: timeout, client: redis.NewClient(opts)}, nil
}

func (r *redisTarget) ARN() string { return r.arn }

func (r *redisTarget) Send(ctx context.Context, payload []byte, _ meta.Event) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var err error
	if r.mode == "pubsub" {
		err = r.client.Publish(ctx, r.key, payload).Err()
	} else {
		err = r.client.RPush(ctx, r.key, payload).Err()
	}
	if err != nil {
		return fmt.Errorf("redis: %s: %w", r.mode, err)
	}
	return nil
}

func (r *redisTarget) Close() error { return r.client.Close() }
