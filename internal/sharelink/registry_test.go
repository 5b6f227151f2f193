package sharelink

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/meta/postgres"
	"github.com/cofferstore/coffer/internal/meta/postgres/pgtest"
)

// backend opens the store a test runs on, and returns a function giving a
// second handle on the same data: an independent one where the store
// allows it (PostgreSQL: a second pool, as a second Coffer instance has),
// else the same one (embedded: one process owns the directory).
type backend struct {
	name string
	open func(t *testing.T) (first meta.Store, second func() meta.Store)
}

func embeddedBackend() backend {
	return backend{name: "embedded", open: func(t *testing.T) (meta.Store, func() meta.Store) {
		s, err := embedded.Open(filepath.Join(t.TempDir(), "meta"), embedded.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, func() meta.Store { return s }
	}}
}

func postgresBackend() backend {
	return backend{name: "postgres", open: func(t *testing.T) (meta.Store, func() meta.Store) {
		pgtest.Need(t)
		schema := pgtest.NewSchema(t)
		open := func() meta.Store {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := postgres.Open(ctx, pgtest.DSN(), postgres.Options{Schema: schema, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatalf("opening postgres store: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open(), open
	}}
}

func backends() []backend { return []backend{embeddedBackend(), postgresBackend()} }

func testRequest(key, method string) Request {
	return Request{
		Bucket: "photos", Key: key, Method: method, Expires: time.Hour,
		AccessKey: "AKIDSHARE", Secret: "share-secret", Endpoint: "http://127.0.0.1:9000",
		CreatedBy: "alice",
	}
}

func TestRegistry(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Run("lifecycle", func(t *testing.T) { testLifecycle(t, b) })
			t.Run("list", func(t *testing.T) { testList(t, b) })
			t.Run("expiry", func(t *testing.T) { testExpiry(t, b) })
			t.Run("unavailable", func(t *testing.T) { testUnavailable(t, b) })
		})
	}
}

func testLifecycle(t *testing.T, b backend) {
	ctx := context.Background()
	store, second := b.open(t)
	reg := NewRegistry(store, nil)
	other := NewRegistry(second(), nil)

	link, err := reg.Create(ctx, testRequest("a/b c.txt", "GET"))
	if err != nil {
		t.Fatal(err)
	}
	if !ValidID(link.ID) || link.URL == "" || !strings.Contains(link.URL, QueryParam+"="+link.ID) {
		t.Fatalf("Create returned %+v", link)
	}
	if got := link.Expires.Sub(link.Created); got != time.Hour {
		t.Fatalf("Expires-Created = %s, want 1h", got)
	}
	got, err := other.Get(ctx, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := link
	want.URL = ""
	if !got.Created.Equal(want.Created) || !got.Expires.Equal(want.Expires) {
		t.Fatalf("times: got %v..%v, want %v..%v", got.Created, got.Expires, want.Created, want.Expires)
	}
	got.Created, got.Expires, want.Created, want.Expires = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if got != want {
		t.Fatalf("Get = %+v, want %+v", got, want)
	}
	for _, r := range []*Registry{reg, other} {
		if err := r.Active(ctx, link.ID); err != nil {
			t.Fatalf("Active before revoke: %v", err)
		}
	}
	second2, err := reg.Create(ctx, testRequest("x", "PUT"))
	if err != nil {
		t.Fatal(err)
	}
	if second2.ID == link.ID {
		t.Fatal("two links with one id")
	}

	// Revoking through one registry holds at once through the other: the
	// second one has answered Active for this id before, so a cache would
	// show here.
	if err := reg.Revoke(ctx, link.ID); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Registry{reg, other} {
		if err := r.Active(ctx, link.ID); !errors.Is(err, ErrRevoked) {
			t.Fatalf("Active after revoke = %v, want ErrRevoked", err)
		}
		if _, err := r.Get(ctx, link.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get after revoke = %v, want ErrNotFound", err)
		}
	}
	if err := other.Revoke(ctx, link.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Revoke = %v, want ErrNotFound", err)
	}
	if err := other.Active(ctx, second2.ID); err != nil {
		t.Fatalf("the other link was affected: %v", err)
	}
	for _, id := range []string{"", "nope", strings.ToUpper(second2.ID), second2.ID + "0", "../" + second2.ID[3:]} {
		if err := reg.Active(ctx, id); !errors.Is(err, ErrRevoked) {
			t.Errorf("Active(%q) = %v, want ErrRevoked", id, err)
		}
		if _, err := reg.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
		if err := reg.Revoke(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Revoke(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func testList(t *testing.T, b backend) {
	ctx := context.Background()
	store, _ := b.open(t)
	clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	reg := NewRegistry(store, func() time.Time { return clock })
	reg.page = 2 // cross several pages with few records
	if n, err := reg.Count(ctx); err != nil || n != 0 {
		t.Fatalf("Count on empty = %d, %v", n, err)
	}
	var alice, all []string
	for i, who := range []string{"alice", "bob", "alice", "carol", "alice"} {
		clock = clock.Add(time.Minute)
		req := testRequest("k"+string(rune('0'+i)), "GET")
		req.CreatedBy = who
		l, err := reg.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, l.ID)
		if who == "alice" {
			alice = append(alice, l.ID)
		}
	}
	ids := func(ls []Link) []string {
		var out []string
		for _, l := range ls {
			if l.URL != "" {
				t.Errorf("List returned a URL for %s", l.ID)
			}
			out = append(out, l.ID)
		}
		return out
	}
	check := func(createdBy string, want []string) {
		t.Helper()
		got, err := reg.List(ctx, createdBy)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(ids(got), ",") != strings.Join(want, ",") {
			t.Fatalf("List(%q) = %v, want %v (oldest first)", createdBy, ids(got), want)
		}
	}
	check("", all)
	check("alice", alice)
	check("nobody", nil)
	if n, err := reg.Count(ctx); err != nil || n != len(all) {
		t.Fatalf("Count = %d, %v, want %d", n, err, len(all))
	}
	if err := reg.Revoke(ctx, alice[1]); err != nil {
		t.Fatal(err)
	}
	check("alice", []string{alice[0], alice[2]})
	if n, err := reg.Count(ctx); err != nil || n != len(all)-1 {
		t.Fatalf("Count after revoke = %d, %v, want %d", n, err, len(all)-1)
	}
}

// testExpiry makes links that are already past their expiry by dating them
// in the past, so that nothing waits for a clock.
func testExpiry(t *testing.T, b backend) {
	ctx := context.Background()
	store, _ := b.open(t)
	past := NewRegistry(store, func() time.Time { return time.Now().Add(-time.Hour) })
	now := NewRegistry(store, nil)
	old, err := past.Create(ctx, testRequest("old", "GET"))
	if err != nil {
		t.Fatal(err)
	}
	// The store no longer returns the record: expired records are absent.
	if err := now.Active(ctx, old.ID); !errors.Is(err, ErrRevoked) {
		t.Fatalf("Active of an expired link = %v, want ErrRevoked", err)
	}
	if _, err := now.Get(ctx, old.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of an expired link = %v, want ErrNotFound", err)
	}
	if n, err := now.Count(ctx); err != nil || n != 0 {
		t.Fatalf("Count with only an expired link = %d, %v", n, err)
	}

	// A registry whose clock is past the expiry refuses a link the store
	// still holds.
	live, err := now.Create(ctx, testRequest("live", "GET"))
	if err != nil {
		t.Fatal(err)
	}
	late := NewRegistry(store, func() time.Time { return live.Expires })
	if err := late.Active(ctx, live.ID); !errors.Is(err, ErrRevoked) {
		t.Fatalf("Active at the expiry instant = %v, want ErrRevoked", err)
	}
	if err := now.Active(ctx, live.ID); err != nil {
		t.Fatalf("Active before expiry: %v", err)
	}
}

func testUnavailable(t *testing.T, b backend) {
	ctx := context.Background()
	store, _ := b.open(t)
	reg := NewRegistry(store, nil)
	l, err := reg.Create(ctx, testRequest("k", "GET"))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := reg.Active(ctx, l.ID); !errors.Is(err, meta.ErrUnavailable) || errors.Is(err, ErrRevoked) {
		t.Fatalf("Active on a closed store = %v, want meta.ErrUnavailable", err)
	}
	if _, err := reg.Create(ctx, testRequest("k", "GET")); !errors.Is(err, meta.ErrUnavailable) {
		t.Fatalf("Create on a closed store = %v, want meta.ErrUnavailable", err)
	}
	if _, err := reg.List(ctx, ""); !errors.Is(err, meta.ErrUnavailable) {
		t.Fatalf("List on a closed store = %v, want meta.ErrUnavailable", err)
	}
}

func TestCreateInvalid(t *testing.T) {
	store, _ := embeddedBackend().open(t)
	reg := NewRegistry(store, nil)
	for name, mod := range map[string]func(*Request){
		"method HEAD":        func(r *Request) { r.Method = "HEAD" },
		"method lower":       func(r *Request) { r.Method = "get" },
		"expires zero":       func(r *Request) { r.Expires = 0 },
		"expires 999ms":      func(r *Request) { r.Expires = 999 * time.Millisecond },
		"expires negative":   func(r *Request) { r.Expires = -time.Hour },
		"expires over week":  func(r *Request) { r.Expires = MaxExpires + time.Second },
		"bucket empty":       func(r *Request) { r.Bucket = "" },
		"bucket upper":       func(r *Request) { r.Bucket = "Photos" },
		"bucket slash":       func(r *Request) { r.Bucket = "a/b" },
		"key empty":          func(r *Request) { r.Key = "" },
		"key not utf-8":      func(r *Request) { r.Key = "a\xffb" },
		"key too long":       func(r *Request) { r.Key = strings.Repeat("k", 1025) },
		"no access key":      func(r *Request) { r.AccessKey = "" },
		"no secret":          func(r *Request) { r.Secret = "" },
		"access key slash":   func(r *Request) { r.AccessKey = "a/b" },
		"region slash":       func(r *Request) { r.Region = "us/east" },
		"endpoint empty":     func(r *Request) { r.Endpoint = "" },
		"endpoint ftp":       func(r *Request) { r.Endpoint = "ftp://h" },
		"endpoint no host":   func(r *Request) { r.Endpoint = "http://" },
		"endpoint path":      func(r *Request) { r.Endpoint = "http://h/s3" },
		"endpoint query":     func(r *Request) { r.Endpoint = "http://h/?x=1" },
		"endpoint user":      func(r *Request) { r.Endpoint = "http://u:p@h" },
		"endpoint no scheme": func(r *Request) { r.Endpoint = "127.0.0.1:9000" },
	} {
		req := testRequest("k", "GET")
		mod(&req)
		if _, err := reg.Create(context.Background(), req); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Create = %v, want ErrInvalid", name, err)
		}
	}
	if n, err := reg.Count(context.Background()); err != nil || n != 0 {
		t.Fatalf("invalid requests stored %d records (%v)", n, err)
	}
	for _, exp := range []time.Duration{MinExpires, MaxExpires} {
		req := testRequest("k", "DELETE")
		req.Expires = exp
		if _, err := reg.Create(context.Background(), req); err != nil {
			t.Errorf("Create with expiry %s: %v", exp, err)
		}
	}
}
