package s3api_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/meta/postgres"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/s3api"
	"github.com/cofferstore/coffer/internal/sharelink"
)

// The share-link message distinguishes a refusal by the registry from a
// refusal by the signature check ("Request has expired."), so each test
// knows which layer said no.
const revokedMessage = "This share link has been revoked or has expired."

func withShareLinks(reg *sharelink.Registry) serverOpt {
	return func(cfg *s3api.Config, _ *object.Options) { cfg.ShareLinks = reg }
}

func openLinkStore(t testing.TB) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(filepath.Join(t.TempDir(), "links"), embedded.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func linkFor(t testing.TB, reg *sharelink.Registry, endpoint, bucket, key, method string, exp time.Duration) sharelink.Link {
	t.Helper()
	l, err := reg.Create(context.Background(), sharelink.Request{
		Bucket: bucket, Key: key, Method: method, Expires: exp,
		AccessKey: rootKey, Secret: rootSecret, Endpoint: endpoint, Region: region, CreatedBy: "test",
	})
	if err != nil {
		t.Fatalf("creating %s link for %s/%s: %v", method, bucket, key, err)
	}
	return l
}

// s3Error is an S3 error response body.
type s3Error struct {
	Code    string
	Message string
}

// use sends a plain net/http request to rawURL, as a browser or curl
// holding the link would, and returns the status, the body, and the S3
// error when the body is one.
func use(t testing.TB, method, rawURL, body string) (int, string, s3Error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var e s3Error
	if resp.StatusCode >= 300 {
		if err := xml.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s %s: status %d with a body that is not S3 error XML: %q", method, rawURL, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, string(b), e
}

func wantDenied(t testing.TB, method, rawURL, body, message string) {
	t.Helper()
	status, _, e := use(t, method, rawURL, body)
	if status != http.StatusForbidden || e.Code != "AccessDenied" || e.Message != message {
		t.Fatalf("%s %s: status %d %+v, want 403 AccessDenied %q", method, rawURL, status, e, message)
	}
}

func TestShareLinks(t *testing.T) {
	links := openLinkStore(t)
	reg := sharelink.NewRegistry(links, nil)
	ts := newServer(t, withShareLinks(reg))
	c := ts.sdk(t)
	mustCreateBucket(t, c, "share")
	const key = "docs/../report 2024 ü//final.txt"
	if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("share"), Key: aws.String(key), Body: strings.NewReader("the report")}); err != nil {
		t.Fatal(err)
	}

	get := linkFor(t, reg, ts.URL, "share", key, "GET", 10*time.Minute)
	put := linkFor(t, reg, ts.URL, "share", "uploads/../in box/é.bin", "PUT", 10*time.Minute)
	del := linkFor(t, reg, ts.URL, "share", key, "DELETE", 10*time.Minute)

	if status, body, _ := use(t, "GET", get.URL, ""); status != http.StatusOK || body != "the report" {
		t.Fatalf("GET through the link: %d %q", status, body)
	}
	if status, _, e := use(t, "PUT", put.URL, "uploaded through a link"); status != http.StatusOK {
		t.Fatalf("PUT through the link: %d %+v", status, e)
	}
	if got, err := getBody(t, c, "share", "uploads/../in box/é.bin"); err != nil || got != "uploaded through a link" {
		t.Fatalf("object written through the PUT link: %q, %v", got, err)
	}

	// Tampering with the id breaks the signature, whether the new id is a
	// live link or the parameter is gone.
	param := sharelink.QueryParam + "=" + get.ID
	for _, tampered := range []string{
		strings.Replace(get.URL, param, sharelink.QueryParam+"="+put.ID, 1),
		strings.Replace(get.URL, param+"&", "", 1),
	} {
		if tampered == get.URL {
			t.Fatal("tampering did not change the URL")
		}
		status, _, e := use(t, "GET", tampered, "")
		if status != http.StatusForbidden || e.Code != "SignatureDoesNotMatch" {
			t.Fatalf("tampered link %s: %d %+v, want 403 SignatureDoesNotMatch", tampered, status, e)
		}
	}

	// Revoked: refused at once, by this registry and by another over the
	// same store.
	if err := reg.Revoke(context.Background(), get.ID); err != nil {
		t.Fatal(err)
	}
	wantDenied(t, "GET", get.URL, "", revokedMessage)
	if err := sharelink.NewRegistry(links, nil).Revoke(context.Background(), put.ID); err != nil {
		t.Fatal(err)
	}
	wantDenied(t, "PUT", put.URL, "overwrite after revocation", revokedMessage)
	if got, err := getBody(t, c, "share", "uploads/../in box/é.bin"); err != nil || got != "uploaded through a link" {
		t.Fatalf("a revoked PUT link changed the object: %q, %v", got, err)
	}

	// The untouched DELETE link still works, and a presigned URL that is not
	// a share link is not affected by the registry.
	if status, _, e := use(t, "DELETE", del.URL, ""); status != http.StatusNoContent {
		t.Fatalf("DELETE through the link: %d %+v", status, e)
	}
	if _, err := getBody(t, c, "share", key); apiCode(err) != "NoSuchKey" {
		t.Fatalf("after DELETE through the link: %v, want NoSuchKey", err)
	}
	pre, err := s3.NewPresignClient(c).PresignGetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("share"), Key: aws.String("uploads/../in box/é.bin")})
	if err != nil {
		t.Fatal(err)
	}
	if status, body, _ := use(t, "GET", pre.URL, ""); status != http.StatusOK || body != "uploaded through a link" {
		t.Fatalf("plain presigned GET: %d %q", status, body)
	}

	// Expired: the signature check refuses it before the registry is asked.
	past := sharelink.NewRegistry(links, func() time.Time { return time.Now().Add(-time.Hour) })
	expired := linkFor(t, past, ts.URL, "share", "uploads/../in box/é.bin", "GET", 59*time.Minute)
	wantDenied(t, "GET", expired.URL, "", "Request has expired.")
}

// TestShareLinkRecordExpiry runs a server whose signature clock lags by two
// hours, so that a link's signature is still valid while its record has
// expired: the registry alone must refuse it.
func TestShareLinkRecordExpiry(t *testing.T) {
	links := openLinkStore(t)
	lag := func() time.Time { return time.Now().Add(-2 * time.Hour) }
	ts := newServer(t, withShareLinks(sharelink.NewRegistry(links, nil)), func(cfg *s3api.Config, _ *object.Options) { cfg.Now = lag })
	then := sharelink.NewRegistry(links, lag)

	gone := linkFor(t, then, ts.URL, "nobucket", "k", "GET", time.Hour)
	wantDenied(t, "GET", gone.URL, "", revokedMessage)

	// The control: a link whose record is live passes the registry and
	// reaches the object layer, which has no such bucket.
	live := linkFor(t, then, ts.URL, "nobucket", "k", "GET", 3*time.Hour)
	if status, _, e := use(t, "GET", live.URL, ""); status != http.StatusNotFound || e.Code != "NoSuchBucket" {
		t.Fatalf("live link: %d %+v, want 404 NoSuchBucket", status, e)
	}
}

// TestShareLinkStoreDown: when the registry's store cannot answer, the
// link is neither served nor declared revoked: 503, which clients retry.
func TestShareLinkStoreDown(t *testing.T) {
	links := openLinkStore(t)
	reg := sharelink.NewRegistry(links, nil)
	ts := newServer(t, withShareLinks(reg))
	mustCreateBucket(t, ts.sdk(t), "down")
	mustPut(t, ts.sdk(t), "down", "k", "v")
	l := linkFor(t, reg, ts.URL, "down", "k", "GET", time.Minute)
	if status, body, _ := use(t, "GET", l.URL, ""); status != http.StatusOK || body != "v" {
		t.Fatalf("before the outage: %d %q", status, body)
	}
	if err := links.Close(); err != nil {
		t.Fatal(err)
	}
	status, _, e := use(t, "GET", l.URL, "")
	if status != http.StatusServiceUnavailable || e.Code != "ServiceUnavailable" {
		t.Fatalf("registry store down: %d %+v, want 503 ServiceUnavailable", status, e)
	}
}

// TestShareLinksTwoInstances: two instances over one PostgreSQL database,
// each with its own pool; a link revoked through one is refused by the
// server of the other at once.
func TestShareLinksTwoInstances(t *testing.T) {
	a, b := openPostgresPair(t)
	regA, regB := sharelink.NewRegistry(a, nil), sharelink.NewRegistry(b, nil)
	ts := newServer(t, withShareLinks(regA))
	mustCreateBucket(t, ts.sdk(t), "pgshare")
	mustPut(t, ts.sdk(t), "pgshare", "k", "v")
	l := linkFor(t, regB, ts.URL, "pgshare", "k", "GET", time.Minute)
	if status, body, _ := use(t, "GET", l.URL, ""); status != http.StatusOK || body != "v" {
		t.Fatalf("link made on the other instance: %d %q", status, body)
	}
	if err := regB.Revoke(context.Background(), l.ID); err != nil {
		t.Fatal(err)
	}
	wantDenied(t, "GET", l.URL, "", revokedMessage)
}

// openPostgresPair opens two stores on one fresh schema, as two instances
// would. PostgreSQL unreachable: skip, or fail under CI=true.
func openPostgresPair(t *testing.T) (meta.Store, meta.Store) {
	t.Helper()
	dsn := os.Getenv("COFFER_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	x, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(x, dsn)
	if err == nil {
		err = conn.Ping(x)
		conn.Close(x)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is unreachable: %v", dsn, err)
		}
		t.Skipf("PostgreSQL at %s is unreachable (set CI=true to fail instead): %v", dsn, err)
	}
	var rb [6]byte
	rand.Read(rb[:])
	schema := "coffer_test_" + hex.EncodeToString(rb[:])
	t.Cleanup(func() {
		x, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(x, dsn)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(x)
		if _, err := conn.Exec(x, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	open := func() meta.Store {
		s, err := postgres.Open(x, dsn, postgres.Options{Schema: schema, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return open(), open()
}
