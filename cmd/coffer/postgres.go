package main

import (
	"context"
	"log/slog"

	"github.com/cofferstore/coffer/internal/meta/postgres"
)

// openPostgres opens the PostgreSQL metadata store at dsn, applying its
// schema migrations.
func openPostgres(ctx context.Context, dsn string) (*postgres.Store, error) {
	return postgres.Open(ctx, dsn, postgres.Options{Logger: slog.Default()})
}
