// Command coffer is the Coffer object store: an S3-compatible server with
// a management API and console, in one binary.
//
//	coffer server        start the server (zero configuration needed)
//	coffer meta migrate  copy the metadata of a data dir into another store
//	coffer admin         manage a server through its management API
//	coffer version       print the version
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

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `Coffer, an S3-compatible object store.

Usage:
  coffer server [flags]   start the server; every flag also reads a COFFER_* variable
  coffer meta migrate --from DATA_DIR --to postgres://...
                          copy a stopped server's metadata into PostgreSQL and verify the copy
  coffer admin COMMAND    manage users, keys, policies, buckets, objects and share
                          links through the management API ("coffer admin -h")
  coffer version          print the version
  coffer help             show this text

Run "coffer server -h" for the server's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "server":
		cfg, err := loadConfig(args[1:], envGetter, stderr)
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if err != nil {
			fmt.Fprintln(stderr, "coffer:", err)
			return 2
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := serve(ctx, cfg, stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "coffer:", err)
			return 1
		}
		return 0
	case "meta":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return metaCommand(ctx, args[1:], stdout, stderr)
	case "admin":
		return adminCommand(args[1:], os.Getenv, os.Stdin, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "coffer", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "coffer: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
