package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/cofferstore/coffer/internal/blob/disk"
	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/meta/postgres"
	"github.com/cofferstore/coffer/internal/mgmtapi"
	"github.com/cofferstore/coffer/internal/notify"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/s3api"
	"github.com/cofferstore/coffer/internal/server"
	"github.com/cofferstore/coffer/internal/session"
	"github.com/cofferstore/coffer/internal/sharelink"
	"github.com/cofferstore/coffer/internal/worker"
)

// serve runs the server until ctx is cancelled, then shuts down in order:
// listeners (in-flight requests finish), workers, stores.
func serve(ctx context.Context, cfg *Config, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data dir: %w", err)
	}
	rootUser, rootSecret := cfg.RootUser, cfg.RootPassword
	if rootUser == "" {
		rc, created, err := loadOrCreateRoot(cfg.DataDir)
		if err != nil {
			return err
		}
		rootUser, rootSecret = rc.AccessKey, rc.SecretKey
		if created {
			// Printed once, on the start that generated the pair; later
			// starts point at the file instead.
			fmt.Fprintf(stdout, "Generated root credentials (saved in %s, shown only now):\n  access key: %s\n  secret key: %s\n",
				filepath.Join(cfg.DataDir, rootCredentialsFile), rc.AccessKey, rc.SecretKey)
		} else {
			log.Info("using root credentials from the data dir", "file", filepath.Join(cfg.DataDir, rootCredentialsFile))
		}
	}
	metaStore, err := openMeta(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("opening metadata store: %w", err)
	}
	defer func() {
		if err := metaStore.Close(); err != nil {
			log.Error("closing metadata store", "err", err)
		}
	}()
	blobs, err := disk.Open(filepath.Join(cfg.DataDir, "blobs"))
	if err != nil {
		return fmt.Errorf("opening blob store: %w", err)
	}
	targets, err := openTargets(cfg)
	if err != nil {
		return err
	}
	defer func() {
		for _, t := range targets {
			if err := t.Close(); err != nil {
				log.Warn("closing notification target", "target", t.ARN(), "err", err)
			}
		}
	}()
	arns := make([]string, len(targets))
	for i, t := range targets {
		arns[i] = t.ARN()
	}
	// Background work that must run once across every instance sharing
	// the metadata store (delivery, lifecycle, collection) runs under
	// leases; an instance that dies loses them within the TTL.
	leases := &worker.Leases{Records: metaStore, Holder: instanceID(), TTL: cfg.LeaseTTL}
	encoder := notify.Encoder{Region: cfg.Region, BucketOwner: func(ctx context.Context, bucket string) (string, error) {
		b, err := metaStore.GetBucket(ctx, bucket)
		return b.Owner, err
	}}
	// Check the targets once at start; a dispatcher is made each time this
	// instance takes the delivery lease.
	if _, err := notify.NewDispatcher(metaStore, targets, log, notify.Options{Encoder: encoder}); err != nil {
		return fmt.Errorf("starting notification delivery: %w", err)
	}
	var current atomic.Pointer[notify.Dispatcher]
	router := notify.NewRouter(metaStore, metaStore, arns, func() {
		if d := current.Load(); d != nil {
			d.Notify()
		}
	})
	dctx, stopDispatch := context.WithCancel(context.Background())
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		if len(targets) == 0 {
			return // nothing to deliver to; events for no target are never routed
		}
		leases.Keep(dctx, "notification-delivery", func(ctx context.Context) error {
			d, err := notify.NewDispatcher(metaStore, targets, log, notify.Options{Encoder: encoder})
			if err != nil {
				return err
			}
			current.Store(d)
			defer current.Store(nil)
			d.Run(ctx)
			return nil
		}, func(err error) { log.Error("notification delivery", "err", err) })
	}()
	// Delivery stops after the listeners (deferred calls run last first),
	// so events of the last requests are still sent if their targets are up.
	defer func() {
		stopDispatch()
		<-dispatched
	}()

	objects := object.New(metaStore, blobs, object.Options{InlineMax: cfg.InlineMax, Logger: log, Events: router})
	defer objects.Close()

	masterKey, created, err := iam.LoadMasterKey(cfg.MasterKey, cfg.MasterKeyFile, cfg.DataDir)
	if err != nil {
		return err
	}
	if created {
		log.Warn("generated the master key that encrypts access key secrets: back it up, and give every instance sharing this metadata store the same one",
			"file", filepath.Join(cfg.DataDir, iam.MasterKeyFile))
	}
	ids, err := iam.Open(ctx, iam.Config{RootUser: rootUser, RootSecret: rootSecret, Store: metaStore, MasterKey: masterKey, Buckets: objects})
	if err != nil {
		return fmt.Errorf("opening identity store: %w", err)
	}

	lc := &worker.Lifecycle{Objects: objects, Log: log, Day: cfg.LifecycleDay}
	if cfg.LifecycleDay != 24*time.Hour {
		log.Warn("lifecycle days are shortened: rules expire objects early", "day", cfg.LifecycleDay)
	}
	workers := worker.NewRunner(log)
	workers.Leases = leases
	lcJob := lc.Job(cfg.LifecycleInterval)
	lcJob.Exclusive = true
	workers.Start(
		lcJob,
		worker.Job{Name: "orphan-collector", Every: cfg.OrphanInterval, Exclusive: true, Run: func(ctx context.Context) error {
			_, err := objects.CollectOrphans(ctx, cfg.OrphanGrace)
			return err
		}},
		// Checked often relative to the expiry so an upload outlives it by
		// a small fraction at most.
		// Sessions' revocations, tickets, rate-limit windows, share links
		// and finished tasks are records with an expiry: reads already
		// ignore expired ones, this reclaims their space.
		worker.Job{Name: "record-expiry", Every: 5 * time.Minute, Exclusive: true, Run: func(ctx context.Context) error {
			for {
				n, err := metaStore.PurgeExpiredRecords(ctx, time.Now(), 1000)
				if err != nil || n < 1000 {
					return err
				}
			}
		}},
		worker.Job{Name: "upload-expiry", Every: min(cfg.UploadExpiry/10, time.Hour), Exclusive: true, Run: func(ctx context.Context) error {
			_, err := objects.ExpireUploads(ctx, cfg.UploadExpiry)
			return err
		}},
	)
	defer workers.Stop()

	var tlsCfg *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("loading TLS certificate: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	shares := sharelink.NewRegistry(metaStore, nil)
	s3 := s3api.New(s3api.Config{Region: cfg.Region, Domains: cfg.Domains, Logger: log, DisableSigV2: !cfg.SigV2, Notifications: router, ShareLinks: shares}, objects, ids)
	group := server.NewGroup(log)
	s3Addr, err := group.Listen("s3", cfg.S3Addr, s3, tlsCfg)
	if err != nil {
		return err
	}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	publicS3 := cfg.PublicS3URL
	if publicS3 == "" {
		publicS3 = defaultPublicS3(scheme, s3Addr)
		log.Info("share links point at the S3 listener's address; set COFFER_PUBLIC_S3_URL to the URL clients use", "url", publicS3)
	}
	sessions, err := session.New(session.Config{Store: metaStore, Key: session.DeriveKey(masterKey, "coffer-session"), TTL: cfg.SessionTTL})
	if err != nil {
		return fmt.Errorf("starting sessions: %w", err)
	}
	api, err := mgmtapi.New(mgmtapi.Config{
		IAM: ids, Objects: objects, Store: metaStore, Sessions: sessions, Limiter: session.NewLimiter(metaStore, nil),
		Shares: shares, Notifications: router, Logger: log, Region: cfg.Region, S3Endpoint: publicS3,
		AllowedOrigins: cfg.AllowedOrigins, TrustedProxies: cfg.TrustedProxies, SecureCookies: tlsCfg != nil,
		TempDir: filepath.Join(cfg.DataDir, "tmp"), LocalLocations: cfg.LocalLocations,
		Health: func() any {
			var stats any = "delivered by another instance"
			if d := current.Load(); d != nil {
				st, err := d.Stats(context.Background())
				if err != nil {
					log.Warn("reading notification stats", "err", err)
				}
				stats = st
			}
			return map[string]any{"status": "ok", "version": version, "workers": workers.Health(), "notifications": stats}
		},
	})
	if err != nil {
		return err
	}
	defer api.Close()
	consoleAddr, err := group.Listen("console", cfg.ConsoleAddr, server.ConsoleHandler(api), tlsCfg)
	if err != nil {
		return err
	}
	log.Info("coffer started", "version", version, "s3", scheme+"://"+s3Addr.String(), "console", scheme+"://"+consoleAddr.String(), "data_dir", cfg.DataDir)

	served := make(chan error, 1)
	go func() { served <- group.Serve() }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = group.Shutdown(sctx)
	if serr := <-served; serr != nil {
		err = errors.Join(err, serr)
	}
	log.Info("stopped")
	return err
}

// defaultPublicS3 is the URL share links use when none is configured: the
// S3 listener's address, with "localhost" for a wildcard listener (an
// address of all interfaces is no URL a client can use).
func defaultPublicS3(scheme string, addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// openMeta opens the configured metadata store.
func openMeta(ctx context.Context, cfg *Config, log *slog.Logger) (meta.Store, error) {
	if cfg.Meta != "" {
		s, err := postgres.Open(ctx, cfg.Meta, postgres.Options{Logger: log})
		if err != nil {
			return nil, err
		}
		log.Info("metadata in PostgreSQL", "schema", s.Schema())
		return s, nil
	}
	return embedded.Open(filepath.Join(cfg.DataDir, "meta"), embedded.Options{Logger: log})
}

// instanceID names this process in lease records: host and pid, plus a
// random suffix so a restarted process is a new holder.
func instanceID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// openTargets opens the notification targets the operator configured.
func openTargets(cfg *Config) ([]notify.Target, error) {
	if cfg.NotifyTargets == "" {
		return nil, nil
	}
	data, err := os.ReadFile(cfg.NotifyTargets)
	if err != nil {
		return nil, fmt.Errorf("--notify-targets/COFFER_NOTIFY_TARGETS: %w", err)
	}
	tcs, err := notify.ParseTargets(data)
	if err != nil {
		return nil, fmt.Errorf("--notify-targets/COFFER_NOTIFY_TARGETS %s: %w", cfg.NotifyTargets, err)
	}
	targets, err := notify.OpenTargets(tcs, cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("--notify-targets/COFFER_NOTIFY_TARGETS %s: %w", cfg.NotifyTargets, err)
	}
	return targets, nil
}

func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
