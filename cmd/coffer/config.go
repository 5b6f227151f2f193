package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/mgmtapi"
	"github.com/cofferstore/coffer/internal/object"
)

// Config is the server's whole configuration. Every field has a flag and
// an environment variable; a flag given on the command line wins over the
// environment, which wins over the default.
type Config struct {
	DataDir string
	// Meta is the metadata store: "" for the embedded store in the data
	// dir, or a postgres:// URL shared by several instances.
	Meta            string
	S3Addr          string
	ConsoleAddr     string
	RootUser        string
	RootPassword    string
	Region          string
	Domains         []string
	InlineMax       int64
	TLSCert         string
	TLSKey          string
	LogLevel        slog.Level
	LogFormat       string
	ShutdownTimeout time.Duration
	OrphanGrace     time.Duration
	OrphanInterval  time.Duration
	UploadExpiry    time.Duration
	SigV2           bool
	// LifecycleDay is how long one lifecycle "day" lasts (24h outside
	// tests); LifecycleInterval how often the rules are applied.
	LifecycleDay      time.Duration
	LifecycleInterval time.Duration
	// NotifyTargets is the JSON file of event notification targets.
	NotifyTargets string
	// LeaseTTL bounds how long cluster-wide background work (delivery,
	// lifecycle, collection) waits when the instance running it dies.
	LeaseTTL time.Duration
	// MasterKey (base64) or MasterKeyFile gives the key that encrypts
	// secrets at rest; neither means DATA_DIR/master.key, generated once.
	MasterKey     string
	MasterKeyFile string
	// AllowedOrigins are browser origins allowed to call the management
	// API with credentials (CORS); empty means same-origin only.
	AllowedOrigins []string
	// TrustedProxies are peers whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	// PublicS3URL is the S3 endpoint share links point at; empty means
	// the S3 listener's own address.
	PublicS3URL string
	// SessionTTL is how long a console or API login lasts.
	SessionTTL time.Duration
	// LocalLocations are server directories administrators may browse
	// and transfer from through the management API.
	LocalLocations []mgmtapi.LocalLocation
}

// setting binds one configuration value to its flag and variable.
type setting struct {
	flag, env, def, usage string
	set                   func(*Config, string) error
}

func str(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *dst(c) = v; return nil }
}

func dur(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration such as 30s or 15m", v)
		}
		*dst(c) = d
		return nil
	}
}

var settings = []setting{
	{"data-dir", "COFFER_DATA_DIR", "./data", "directory holding all metadata and object data", str(func(c *Config) *string { return &c.DataDir })},
	{"meta", "COFFER_META", "", "metadata store: empty for the embedded store in the data dir, or a postgres:// URL shared by several instances", str(func(c *Config) *string { return &c.Meta })},
	{"s3-addr", "COFFER_S3_ADDR", ":9000", "listen address of the S3 API", str(func(c *Config) *string { return &c.S3Addr })},
	{"console-addr", "COFFER_CONSOLE_ADDR", ":9001", "listen address of the console and management API (port 0 picks a free port)", str(func(c *Config) *string { return &c.ConsoleAddr })},
	{"root-user", "COFFER_ROOT_USER", "", "root access key (generated at first start when unset)", str(func(c *Config) *string { return &c.RootUser })},
	{"root-password", "COFFER_ROOT_PASSWORD", "", "root secret key, at least 8 characters (generated when unset)", str(func(c *Config) *string { return &c.RootPassword })},
	{"region", "COFFER_REGION", "us-east-1", "the region this server reports", str(func(c *Config) *string { return &c.Region })},
	{"domains", "COFFER_DOMAINS", "", "comma-separated domains for virtual-hosted-style requests (bucket.DOMAIN)", func(c *Config, v string) error {
		c.Domains = nil
		for _, d := range strings.Split(v, ",") {
			if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
				c.Domains = append(c.Domains, d)
			}
		}
		return nil
	}},
	{"inline-max", "COFFER_INLINE_MAX", strconv.Itoa(object.DefaultInline), "largest object in bytes stored inside the metadata store (0 disables inlining)", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > 4<<20 {
			return fmt.Errorf("%q is not a byte count between 0 and 4194304", v)
		}
		c.InlineMax = n
		if n == 0 {
			c.InlineMax = -1
		}
		return nil
	}},
	{"tls-cert", "COFFER_TLS_CERT", "", "PEM certificate file: serve HTTPS (with --tls-key)", str(func(c *Config) *string { return &c.TLSCert })},
	{"tls-key", "COFFER_TLS_KEY", "", "PEM private key file for --tls-cert", str(func(c *Config) *string { return &c.TLSKey })},
	{"log-level", "COFFER_LOG_LEVEL", "info", "debug, info, warn or error", func(c *Config, v string) error {
		return c.LogLevel.UnmarshalText([]byte(v))
	}},
	{"log-format", "COFFER_LOG_FORMAT", "text", "text or json", func(c *Config, v string) error {
		if v != "text" && v != "json" {
			return fmt.Errorf("%q is neither text nor json", v)
		}
		c.LogFormat = v
		return nil
	}},
	{"shutdown-timeout", "COFFER_SHUTDOWN_TIMEOUT", "30s", "how long in-flight requests may finish after SIGTERM", dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{"orphan-grace", "COFFER_ORPHAN_GRACE", "15m", "age before an unreferenced blob counts as orphaned", dur(func(c *Config) *time.Duration { return &c.OrphanGrace })},
	{"orphan-interval", "COFFER_ORPHAN_INTERVAL", "15m", "how often orphaned blobs are collected", dur(func(c *Config) *time.Duration { return &c.OrphanInterval })},
	{"sigv2", "COFFER_SIGV2", "on", "accept Signature Version 2 requests from older clients (on or off)", func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "on", "true", "1":
			c.SigV2 = true
		case "off", "false", "0":
			c.SigV2 = false
		default:
			return fmt.Errorf("%q is neither on nor off", v)
		}
		return nil
	}},
	{"notify-targets", "COFFER_NOTIFY_TARGETS", "", "JSON file of event notification targets (webhook, nats, amqp, mqtt, redis, postgres)", str(func(c *Config) *string { return &c.NotifyTargets })},
	{"lease-ttl", "COFFER_LEASE_TTL", "30s", "how long before another instance takes over background work from one that died", dur(func(c *Config) *time.Duration { return &c.LeaseTTL })},
	{"lifecycle-interval", "COFFER_LIFECYCLE_INTERVAL", "1h", "how often bucket lifecycle rules are applied", dur(func(c *Config) *time.Duration { return &c.LifecycleInterval })},
	{"lifecycle-day", "COFFER_LIFECYCLE_DAY", "24h", "length of one lifecycle day; shorten only for testing rules", dur(func(c *Config) *time.Duration { return &c.LifecycleDay })},
	{"master-key", "COFFER_MASTER_KEY", "", "base64 of the 32-byte key encrypting secrets at rest (prefer the variable: flags show in ps; default DATA_DIR/master.key, generated)", str(func(c *Config) *string { return &c.MasterKey })},
	{"master-key-file", "COFFER_MASTER_KEY_FILE", "", "file holding the base64 master key (instead of COFFER_MASTER_KEY)", str(func(c *Config) *string { return &c.MasterKeyFile })},
	{"allowed-origins", "COFFER_ALLOWED_ORIGINS", "", "comma-separated browser origins (scheme://host[:port]) allowed to call the management API from another site", func(c *Config, v string) error {
		c.AllowedOrigins = nil
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o == "" {
				continue
			}
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
				return fmt.Errorf("%q is not an origin such as https://console.example.com", o)
			}
			c.AllowedOrigins = append(c.AllowedOrigins, u.Scheme+"://"+u.Host)
		}
		return nil
	}},
	{"trusted-proxies", "COFFER_TRUSTED_PROXIES", "", "comma-separated addresses or CIDRs of load balancers whose X-Forwarded-For is believed", func(c *Config, v string) error {
		c.TrustedProxies = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			if !strings.Contains(s, "/") {
				a, err := netip.ParseAddr(s)
				if err != nil {
					return fmt.Errorf("%q is not an address or CIDR", s)
				}
				s = netip.PrefixFrom(a, a.BitLen()).String()
			}
			pfx, err := netip.ParsePrefix(s)
			if err != nil {
				return fmt.Errorf("%q is not an address or CIDR", s)
			}
			c.TrustedProxies = append(c.TrustedProxies, pfx.Masked())
		}
		return nil
	}},
	{"public-s3-url", "COFFER_PUBLIC_S3_URL", "", "S3 base URL that share links use (default: the S3 listener's address)", func(c *Config, v string) error {
		if v == "" {
			c.PublicS3URL = ""
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q is not a URL such as https://s3.example.com", v)
		}
		c.PublicS3URL = strings.TrimRight(v, "/")
		return nil
	}},
	{"local-locations", "COFFER_LOCAL_LOCATIONS", "", "comma-separated server directories administrators may browse through the management API, each NAME=/abs/path or /abs/path", func(c *Config, v string) error {
		c.LocalLocations = nil
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			name, dir, named := strings.Cut(item, "=")
			if !named {
				name, dir = filepath.Base(item), item
			}
			if !filepath.IsAbs(dir) || name == "" {
				return fmt.Errorf("%q is not NAME=/absolute/path or /absolute/path", item)
			}
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return fmt.Errorf("%q is not an existing directory", dir)
			}
			id := fmt.Sprintf("local-%d", len(c.LocalLocations))
			c.LocalLocations = append(c.LocalLocations, mgmtapi.LocalLocation{ID: id, Name: name, Path: filepath.Clean(dir)})
		}
		return nil
	}},
	{"session-ttl", "COFFER_SESSION_TTL", "12h", "how long a management API login lasts", dur(func(c *Config) *time.Duration { return &c.SessionTTL })},
	{"upload-expiry", "COFFER_UPLOAD_EXPIRY", "168h", "age after which an unfinished multipart upload is aborted", dur(func(c *Config) *time.Duration { return &c.UploadExpiry })},
}

// loadConfig builds the configuration from defaults, env and args, and
// validates it. Every problem is reported, each naming its flag and
// variable, so one run shows the operator everything to fix.
func loadConfig(args []string, getenv func(string) string, usageOut io.Writer) (*Config, error) {
	fs := flag.NewFlagSet("coffer server", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	vals := make([]*string, len(settings))
	for i, s := range settings {
		vals[i] = fs.String(s.flag, "", fmt.Sprintf("%s (env %s, default %q)", s.usage, s.env, s.def))
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	c := &Config{}
	var errs []error
	for i, s := range settings {
		v, src := s.def, "default"
		if e := getenv(s.env); e != "" {
			v, src = e, s.env
		}
		if given[s.flag] {
			v, src = *vals[i], "--"+s.flag
		}
		if err := s.set(c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", src, err))
		}
	}
	errs = append(errs, c.validate()...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid configuration:\n  %w", joinLines(errs))
	}
	return c, nil
}

func (c *Config) validate() []error {
	var errs []error
	for _, a := range []struct{ name, v string }{{"--s3-addr/COFFER_S3_ADDR", c.S3Addr}, {"--console-addr/COFFER_CONSOLE_ADDR", c.ConsoleAddr}} {
		if _, port, err := net.SplitHostPort(a.v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port (e.g. :9000 or 127.0.0.1:9000)", a.name, a.v))
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s: port %q is not 0-65535", a.name, port))
		}
	}
	if c.Meta != "" && !isPostgresURL(c.Meta) {
		errs = append(errs, errors.New("--meta/COFFER_META: must be empty (embedded store) or a postgres:// URL"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir/COFFER_DATA_DIR: must not be empty"))
	}
	if (c.RootUser == "") != (c.RootPassword == "") {
		errs = append(errs, errors.New("COFFER_ROOT_USER and COFFER_ROOT_PASSWORD: set both or neither (neither generates a pair)"))
	}
	if c.RootUser != "" && (len(c.RootUser) < 3 || len(c.RootUser) > 128) {
		errs = append(errs, errors.New("COFFER_ROOT_USER: must be 3 to 128 characters"))
	}
	if c.RootPassword != "" && len(c.RootPassword) < 8 {
		errs = append(errs, errors.New("COFFER_ROOT_PASSWORD: must be at least 8 characters"))
	}
	if c.MasterKey != "" && c.MasterKeyFile != "" {
		errs = append(errs, errors.New("COFFER_MASTER_KEY and COFFER_MASTER_KEY_FILE: set one or neither"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key: give both or neither"))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("--region/COFFER_REGION: must not be empty"))
	}
	return errs
}

// joinLines joins errors one per indented line.
func joinLines(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "\n  "))
}

// envGetter reads the process environment.
func envGetter(k string) string { return os.Getenv(k) }
