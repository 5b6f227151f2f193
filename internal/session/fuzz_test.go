package session

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta/embedded"
)

// FuzzVerify feeds Verify arbitrary strings, seeded with genuine tokens and
// their mangled forms. Verify must never panic, and must accept only the
// exact strings Issue returned, with the claims it returned.
func FuzzVerify(f *testing.F) {
	ctx := context.Background()
	store, err := embedded.Open(f.TempDir(), embedded.Options{Logger: quietLogger(), CacheSize: 8 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = store.Close() })
	// A fixed clock and a seeded random source: every fuzzing worker
	// process issues the same tokens, so a genuine token found by one is
	// genuine in all. The date is far enough ahead that the store, which
	// judges the revocation record's expiry by the real clock, keeps it.
	now := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := New(Config{Store: store, Key: testKey, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	m.random = rand.NewChaCha8([32]byte{'f', 'u', 'z', 'z'})
	issued := map[string]Claims{}
	var first string
	for _, s := range []Subject{{User: "alice"}, {User: "root", Root: true}, {User: "bob", AccessKey: "AKIAEXAMPLE"}, {}} {
		token, c, err := m.Issue(ctx, s)
		if err != nil {
			f.Fatal(err)
		}
		issued[token] = c
		f.Add(token)
		if first == "" {
			first = token
		}
	}
	revokedToken, revoked, err := m.Issue(ctx, Subject{User: "mallory"})
	if err != nil {
		f.Fatal(err)
	}
	if err := m.Revoke(ctx, revoked); err != nil {
		f.Fatal(err)
	}
	f.Add(revokedToken)
	for _, bad := range mangled(f, first) {
		f.Add(bad)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := m.Verify(ctx, token)
		if err == nil {
			want, ok := issued[token]
			if !ok {
				t.Fatalf("Verify accepted %q, which was never issued: %+v", token, c)
			}
			if !reflect.DeepEqual(c, want) {
				t.Fatalf("Verify(%q) = %+v, issued as %+v", token, c, want)
			}
			return
		}
		if !errors.Is(err, ErrInvalidToken) && !errors.Is(err, ErrRevoked) {
			t.Fatalf("Verify(%q) = %v, want ErrInvalidToken or ErrRevoked", token, err)
		}
		if errors.Is(err, ErrRevoked) && token != revokedToken {
			t.Fatalf("Verify(%q) = ErrRevoked for a token never issued", token)
		}
	})
}

// FuzzRedeemTicket feeds RedeemTicket arbitrary ids and resources: only
// the ticket's own id with its own resource may succeed.
func FuzzRedeemTicket(f *testing.F) {
	ctx := context.Background()
	store, err := embedded.Open(f.TempDir(), embedded.Options{Logger: quietLogger(), CacheSize: 8 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = store.Close() })
	m, err := New(Config{Store: store, Key: testKey, TicketTTL: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	tk, err := m.NewTicket(ctx, Subject{User: "alice"}, "/api/events")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tk.ID, "/api/other")
	f.Add(tk.ID[:42], "/api/events")
	f.Add(tk.ID+"A", "/api/events")
	f.Add("", "")
	f.Add("%2e%2e/../AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/api/events")
	f.Fuzz(func(t *testing.T, id, resource string) {
		_, err := m.RedeemTicket(ctx, id, resource)
		if err == nil && (id != tk.ID || resource != tk.Resource) {
			t.Fatalf("RedeemTicket(%q, %q) succeeded", id, resource)
		}
		if err != nil && !errors.Is(err, ErrTicketInvalid) {
			t.Fatalf("RedeemTicket(%q, %q) = %v, want ErrTicketInvalid", id, resource, err)
		}
	})
}
