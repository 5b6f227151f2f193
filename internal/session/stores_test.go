package session

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/meta/postgres"
	"github.com/cofferstore/coffer/internal/meta/postgres/pgtest"
)

// A backend opens n handles on one fresh store: n Stores on one database
// for PostgreSQL (as n instances would), the same Store n times for the
// embedded engine (which one process owns). They are closed when the test
// ends.
type backend func(t *testing.T, n int) []meta.Store

var backends = map[string]backend{
	"embedded": openEmbedded,
	"postgres": openPostgres,
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openEmbedded(t *testing.T, n int) []meta.Store {
	t.Helper()
	s, err := embedded.Open(t.TempDir(), embedded.Options{Logger: quietLogger(), CacheSize: 8 << 20})
	if err != nil {
		t.Fatalf("opening embedded store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing embedded store: %v", err)
		}
	})
	out := make([]meta.Store, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func openPostgres(t *testing.T, n int) []meta.Store {
	t.Helper()
	pgtest.Need(t)
	// Registered first so it is dropped last, after the stores are closed.
	schema := pgtest.NewSchema(t)
	out := make([]meta.Store, n)
	for i := range out {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s, err := postgres.Open(ctx, pgtest.DSN(), postgres.Options{Schema: schema, Logger: quietLogger(), MaxConns: 8})
		cancel()
		if err != nil {
			t.Fatalf("opening postgres store: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("closing postgres store: %v", err)
			}
		})
		out[i] = s
	}
	return out
}

// forEachBackend runs test once per store engine.
func forEachBackend(t *testing.T, test func(t *testing.T, open backend)) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) { test(t, open) })
	}
}
