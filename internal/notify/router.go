package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// ConfigName is the bucket configuration holding a bucket's notification
// configuration, as Config.Marshal writes it.
const ConfigName = "notification"

// routeTTL bounds how long a Router trusts its cached copy of a bucket's
// configuration. Another instance sharing the store may change it; AWS
// also documents that a new configuration takes a moment to apply.
const routeTTL = 2 * time.Second

// Router decides, for each change, which targets hear of it: it is the
// object service's EventRouter. It also saves bucket configurations, since
// saving one must check its targets, cache it and send the test events.
// It is safe for concurrent use.
type Router struct {
	configs meta.BucketConfigs
	outbox  meta.Outbox
	known   map[string]bool
	wake    func()
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]cachedConfig
}

type cachedConfig struct {
	cfg *Config // nil: the bucket has none
	at  time.Time
}

// NewRouter returns a Router over the store's bucket configs and outbox.
// targets are the ARNs of the configured targets (the only ones a bucket
// configuration may name); wake, when non-nil, is called after each commit
// that recorded events (Dispatcher.Notify).
func NewRouter(configs meta.BucketConfigs, outbox meta.Outbox, targets []string, wake func()) *Router {
	known := make(map[string]bool, len(targets))
	for _, t := range targets {
		known[t] = true
	}
	return &Router{configs: configs, outbox: outbox, known: known, wake: wake, now: time.Now, cache: make(map[string]cachedConfig)}
}

// Route returns the destinations of event name for key in bucket.
func (r *Router) Route(ctx context.Context, bucket, name, key string) ([]meta.Destination, error) {
	cfg, err := r.config(ctx, bucket)
	if err != nil || cfg == nil {
		return nil, err
	}
	return cfg.Match(name, key), nil
}

// Committed wakes delivery.
func (r *Router) Committed() {
	if r.wake != nil {
		r.wake()
	}
}

// config returns the bucket's parsed configuration, nil when it has none.
func (r *Router) config(ctx context.Context, bucket string) (*Config, error) {
	now := r.now()
	r.mu.Lock()
	c, ok := r.cache[bucket]
	r.mu.Unlock()
	if ok && now.Sub(c.at) < routeTTL {
		return c.cfg, nil
	}
	data, err := r.configs.GetBucketConfig(ctx, bucket, ConfigName)
	var cfg *Config
	switch {
	case errors.Is(err, meta.ErrConfigNotFound), errors.Is(err, meta.ErrBucketNotFound):
	case err != nil:
		return nil, fmt.Errorf("reading notification configuration of %s: %w", bucket, err)
	default:
		if cfg, err = ParseConfig(data); err != nil {
			return nil, fmt.Errorf("stored notification configuration of %s: %w", bucket, err)
		}
		if len(cfg.Rules) == 0 {
			cfg = nil
		}
	}
	r.mu.Lock()
	r.cache[bucket] = cachedConfig{cfg: cfg, at: now}
	r.mu.Unlock()
	return cfg, nil
}

// PutConfig validates and saves a bucket's notification configuration (an
// empty one removes it) and queues an s3:TestEvent for each target it
// names, as S3 does when a configuration is saved.
func (r *Router) PutConfig(ctx context.Context, bucket string, data []byte, requestID string) error {
	cfg, err := ParseConfig(data)
	if err != nil {
		return err
	}
	if err := Validate(cfg, func(arn string) bool { return r.known[arn] }); err != nil {
		return err
	}
	if len(cfg.Rules) == 0 {
		err = r.configs.DeleteBucketConfig(ctx, bucket, ConfigName)
	} else {
		var out []byte
		if out, err = cfg.Marshal(); err == nil {
			err = r.configs.PutBucketConfig(ctx, bucket, ConfigName, out)
		}
	}
	if err != nil {
		return fmt.Errorf("saving notification configuration of %s: %w", bucket, err)
	}
	r.mu.Lock()
	delete(r.cache, bucket)
	r.mu.Unlock()
	if tests := TestEvents(cfg, bucket, requestID, r.now().UTC()); len(tests) > 0 {
		if err := r.outbox.AppendEvents(ctx, tests); err != nil {
			return fmt.Errorf("queueing test events for %s: %w", bucket, err)
		}
		r.Committed()
	}
	return nil
}

// Config returns the bucket's configuration as stored (nil when unset).
func (r *Router) Config(ctx context.Context, bucket string) ([]byte, error) {
	data, err := r.configs.GetBucketConfig(ctx, bucket, ConfigName)
	if errors.Is(err, meta.ErrConfigNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading notification configuration of %s: %w", bucket, err)
	}
	return data, nil
}
