package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"
)

// config is the validated command line.
type config struct {
	endpoint    *url.URL
	access      string
	secret      string
	region      string
	bucket      string
	op          string
	size        int64
	concurrency int
	duration    time.Duration // 0: no time bound
	count       int64         // 0: no count bound
	objects     int
	prefix      string
	json        bool
	partSize    int64 // multipart: bytes per part
	partConc    int   // multipart: parts in flight per upload
}

var errUsage = errors.New("invalid arguments")

// defaultObjects is how many objects get and list prepare when -objects
// is not given.
var defaultObjects = map[string]int{"put": 0, "get": 100, "list": 1000, "mixed": 100, "multipart": 0}

// parseArgs parses the command line (without the program name). getenv
// supplies credential defaults (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
// Usage and flag errors are written to out.
func parseArgs(args []string, getenv func(string) string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("coffer-load", flag.ContinueOnError)
	fs.SetOutput(out)
	endpoint := fs.String("endpoint", "http://127.0.0.1:9000", "S3 endpoint `URL` (path-style requests)")
	fs.StringVar(&c.access, "access", "", "access key (default $AWS_ACCESS_KEY_ID)")
	fs.StringVar(&c.secret, "secret", "", "secret key (default $AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&c.region, "region", "us-east-1", "signing region")
	fs.StringVar(&c.bucket, "bucket", "coffer-load", "bucket, created if missing")
	fs.StringVar(&c.op, "op", "put", "operation: put, get, list, mixed (70% get, 30% put) or multipart (each operation one whole multipart upload of -size)")
	size := fs.String("size", "4KiB", "object size (e.g. 4KiB, 64MiB, 10MB)")
	fs.IntVar(&c.concurrency, "concurrency", 16, "concurrent requests")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "run time bound (0: none)")
	fs.Int64Var(&c.count, "count", 0, "operation count bound (0: none)")
	fs.IntVar(&c.objects, "objects", -1, "objects to prepare: for get and mixed the objects read, for list the keys under the prefix (default get/mixed 100, list 1000)")
	fs.StringVar(&c.prefix, "prefix", "coffer-load/", "key prefix")
	fs.BoolVar(&c.json, "json", false, "print the result as JSON")
	partSize := fs.String("part-size", "16MiB", "multipart: part size")
	fs.IntVar(&c.partConc, "part-concurrency", 16, "multipart: parts uploaded in parallel per upload")
	allowRemote := fs.Bool("allow-remote", false, "allow a non-loopback endpoint")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	// Read after parsing so that -h never prints a secret from the
	// environment as a flag default.
	if c.access == "" {
		c.access = getenv("AWS_ACCESS_KEY_ID")
	}
	if c.secret == "" {
		c.secret = getenv("AWS_SECRET_ACCESS_KEY")
	}
	if fs.NArg() != 0 {
		return c, fmt.Errorf("unexpected argument %q: %w", fs.Arg(0), errUsage)
	}
	var err error
	if c.endpoint, err = parseEndpoint(*endpoint, *allowRemote); err != nil {
		return c, err
	}
	if c.size, err = parseSize(*size); err != nil {
		return c, err
	}
	if c.partSize, err = parseSize(*partSize); err != nil {
		return c, err
	}
	if _, ok := defaultObjects[c.op]; !ok {
		return c, fmt.Errorf("-op %q: want put, get, list, mixed or multipart: %w", c.op, errUsage)
	}
	if c.objects < 0 {
		c.objects = defaultObjects[c.op]
	}
	switch {
	case c.access == "" || c.secret == "":
		return c, fmt.Errorf("-access and -secret (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) are required: %w", errUsage)
	case c.bucket == "" || c.bucket != url.PathEscape(c.bucket):
		return c, fmt.Errorf("-bucket %q is not a valid bucket name: %w", c.bucket, errUsage)
	case c.region == "":
		return c, fmt.Errorf("-region is empty: %w", errUsage)
	case c.concurrency < 1 || c.concurrency > 4096:
		return c, fmt.Errorf("-concurrency %d: want 1 to 4096: %w", c.concurrency, errUsage)
	case c.duration < 0 || c.count < 0:
		return c, fmt.Errorf("-duration and -count must not be negative: %w", errUsage)
	case c.duration == 0 && c.count == 0:
		return c, fmt.Errorf("-duration and -count are both 0: the run would not stop: %w", errUsage)
	case c.op == opMultipart && (c.partSize < 5<<20 || c.partConc < 1):
		return c, fmt.Errorf("-part-size must be at least 5MiB and -part-concurrency at least 1: %w", errUsage)
	case (c.op == "get" || c.op == "mixed" || c.op == "list") && c.objects < 1:
		return c, fmt.Errorf("-op %s needs -objects of at least 1: %w", c.op, errUsage)
	}
	return c, nil
}
