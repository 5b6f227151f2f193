package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/meta/migrate"
)

// metaCommand runs `coffer meta ...`.
func metaCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "migrate" {
		fmt.Fprint(stderr, "Usage: coffer meta migrate --from DATA_DIR --to DESTINATION\n")
		return 2
	}
	fs := flag.NewFlagSet("coffer meta migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "data directory of the server whose metadata to copy (stop that server first)")
	to := fs.String("to", "", "destination: a postgres:// URL, or another data directory")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *from == "" || *to == "" {
		fmt.Fprintln(stderr, "coffer meta migrate: --from and --to are both required")
		return 2
	}
	if err := runMigrate(ctx, *from, *to, stdout); err != nil {
		fmt.Fprintln(stderr, "coffer meta migrate:", err)
		return 1
	}
	return 0
}

func runMigrate(ctx context.Context, from, to string, stdout io.Writer) (err error) {
	src, err := embedded.Open(filepath.Join(from, "meta"), embedded.Options{})
	if err != nil {
		return fmt.Errorf("opening the source (is its server stopped?): %w", err)
	}
	defer func() { err = errors.Join(err, src.Close()) }()
	dst, err := openDestination(ctx, to)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, dst.Close()) }()
	counts, err := migrate.Copy(ctx, src, dst, func(step string) { fmt.Fprintln(stdout, "copying", step) })
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied and verified: %s\n", counts)
	return nil
}

// openDestination opens the store a migration writes to.
func openDestination(ctx context.Context, to string) (migrate.Destination, error) {
	if isPostgresURL(to) {
		dst, err := openPostgres(ctx, to)
		if err != nil {
			return nil, fmt.Errorf("opening the destination: %w", err)
		}
		return dst, nil
	}
	dst, err := embedded.Open(filepath.Join(to, "meta"), embedded.Options{})
	if err != nil {
		return nil, fmt.Errorf("opening the destination: %w", err)
	}
	return dst, nil
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}
