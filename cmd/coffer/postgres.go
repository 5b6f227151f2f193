package main

import (
	"context"
	"errors"

	"github.com/cofferstore/coffer/internal/meta/migrate"
)

// openPostgres opens a PostgreSQL metadata store. Until the PostgreSQL
// store lands it refuses clearly.
func openPostgres(ctx context.Context, dsn string) (migrate.Destination, error) {
	return nil, errors.New("the PostgreSQL metadata store is not built into this binary yet")
}
