// Package pgtest gives tests a real PostgreSQL: the database of the
// development machines and CI, and a fresh schema per test. It never
// fakes one: when PostgreSQL is unreachable a test skips, or fails under
// CI=true, where a skipped run would hide a broken store.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DSN is the database tests use: COFFER_TEST_POSTGRES, or the PostgreSQL
// on 127.0.0.1:5432 that this machine kind runs.
func DSN() string {
	if dsn := os.Getenv("COFFER_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Need skips t when PostgreSQL does not answer, or fails it under CI=true.
func Need(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, DSN())
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is unreachable: %v", DSN(), err)
		}
		t.Skipf("PostgreSQL at %s is unreachable (set CI=true to fail instead): %v", DSN(), err)
	}
}

// NewSchema returns a fresh schema name, dropped with everything in it
// when t ends, so parallel test runs never share tables.
func NewSchema(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "coffer_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, DSN())
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return schema
}
