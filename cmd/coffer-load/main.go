// Command coffer-load drives an S3 endpoint (Coffer, MinIO, VersityGW...)
// with PUT, GET or ListObjectsV2 load and reports throughput and latency,
// so servers can be compared in one run on one machine. It refuses
// endpoints other than loopback unless -allow-remote is given.
//
//	coffer-load -endpoint http://127.0.0.1:9000 -access A -secret S -op put -size 4KiB -concurrency 16 -duration 10s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole tool behind main; it returns the exit status: 0 for a
// run without errors, 1 when operations failed or the setup did, 2 for bad
// arguments.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "coffer-load: %v\n", err)
		return 2
	}
	b := newBench(cfg)
	if err := b.prepare(ctx); err != nil {
		fmt.Fprintf(stderr, "coffer-load: %v\n", err)
		return 1
	}
	res := b.run(ctx)
	if cfg.json {
		err = writeJSON(stdout, res)
	} else {
		err = writeText(stdout, res)
	}
	if err != nil {
		fmt.Fprintf(stderr, "coffer-load: writing result: %v\n", err)
		return 1
	}
	if res.Errors > 0 {
		return 1
	}
	return 0
}
