// Package server runs Coffer's HTTP listeners and shuts them down
// gracefully: stop accepting, let in-flight requests finish within a bound,
// then return so the caller can close the stores.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Group is a set of HTTP servers that live and stop together.
type Group struct {
	log     *slog.Logger
	mu      sync.Mutex
	servers []*http.Server
	lns     []net.Listener
}

// NewGroup returns an empty Group.
func NewGroup(log *slog.Logger) *Group { return &Group{log: log} }

// Listen binds addr now (so that port 0 is resolved before Serve and the
// caller can print the real address) and registers h to serve on it. A
// non-nil tlsCfg makes it an HTTPS listener.
func (g *Group) Listen(name, addr string, h http.Handler, tlsCfg *tls.Config) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for %s on %s: %w", name, addr, err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	srv := &http.Server{
		Handler: h,
		// No ReadTimeout or WriteTimeout: a multi-gigabyte upload or download
		// legitimately takes long. Slow-header attacks are bounded here,
		// idle keep-alive connections below.
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(g.log.Handler().WithAttrs([]slog.Attr{slog.String("listener", name)}), slog.LevelDebug),
	}
	g.mu.Lock()
	g.servers = append(g.servers, srv)
	g.lns = append(g.lns, ln)
	g.mu.Unlock()
	return ln.Addr(), nil
}

// Serve serves every listener until Shutdown, or until one fails, and
// returns the first failure (nil after a clean Shutdown).
func (g *Group) Serve() error {
	g.mu.Lock()
	servers, lns := g.servers, g.lns
	g.mu.Unlock()
	errc := make(chan error, len(servers))
	for i := range servers {
		go func() {
			err := servers[i].Serve(lns[i])
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			errc <- err
		}()
	}
	var first error
	for range servers {
		if err := <-errc; err != nil && first == nil {
			first = err
			// One listener failing takes the process down in order.
			go g.Shutdown(context.Background())
		}
	}
	return first
}

// Shutdown stops accepting connections and waits for in-flight requests
// until ctx ends; then it closes the remaining connections.
func (g *Group) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	servers := g.servers
	g.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Shutdown(ctx); err != nil {
				s.Close()
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}
