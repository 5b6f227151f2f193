package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/meta/postgres"
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

// pgDSN is the database the tests use: COFFER_TEST_POSTGRES, or the
// PostgreSQL of the development machines and CI (as in meta/postgres).
func pgDSN() string {
	if dsn := os.Getenv("COFFER_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// needPostgres skips the test when PostgreSQL is unreachable, or fails it
// under CI=true, where a skipped run would hide a broken store.
func needPostgres(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgDSN())
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is unreachable: %v", pgDSN(), err)
		}
		t.Skipf("PostgreSQL at %s is unreachable (set CI=true to fail instead): %v", pgDSN(), err)
	}
}

func openPostgres(t *testing.T, n int) []meta.Store {
	t.Helper()
	needPostgres(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "coffer_test_session_" + hex.EncodeToString(b[:])
	// Registered first so it runs last, after the stores are closed.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pgDSN())
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	out := make([]meta.Store, n)
	for i := range out {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s, err := postgres.Open(ctx, pgDSN(), postgres.Options{Schema: schema, Logger: quietLogger(), MaxConns: 8})
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
