package session

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cofferstore/coffer/internal/meta"
)

var testKey = DeriveKey([]byte("a master key used only by these tests"), "coffer session v1")

// clock is a settable test clock. It starts at the next full hour, ahead of
// the store's real clock, so that records written under it never look
// expired to the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Add(time.Hour).Truncate(time.Hour)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newManager(t testing.TB, store meta.Records, clk *clock, key []byte) *Manager {
	t.Helper()
	cfg := Config{Store: store, Key: key}
	if clk != nil {
		cfg.Now = clk.Now
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func TestDeriveKey(t *testing.T) {
	a := DeriveKey([]byte("master"), "session")
	if len(a) != 32 {
		t.Fatalf("key of %d bytes, want 32", len(a))
	}
	if !bytes.Equal(a, DeriveKey([]byte("master"), "session")) {
		t.Error("DeriveKey is not deterministic")
	}
	if bytes.Equal(a, DeriveKey([]byte("master"), "ticket")) {
		t.Error("different labels give the same key")
	}
	if bytes.Equal(a, DeriveKey([]byte("master2"), "session")) {
		t.Error("different masters give the same key")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	store := openEmbedded(t, 1)[0]
	if _, err := New(Config{Store: store, Key: make([]byte, MinKeyLen-1)}); err == nil {
		t.Error("New accepted a short key")
	}
	if _, err := New(Config{Key: testKey}); err == nil {
		t.Error("New accepted a nil store")
	}
	if _, err := New(Config{Store: store, Key: testKey, TTL: -time.Second}); err == nil {
		t.Error("New accepted a negative TTL")
	}
}

func TestIssueVerify(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open backend) {
		ctx := context.Background()
		stores := open(t, 2)
		clk := newClock()
		a := newManager(t, stores[0], clk, testKey)
		b := newManager(t, stores[1], clk, testKey)
		subjects := []Subject{
			{User: "alice"},
			{User: "root", Root: true},
			{User: "bob", AccessKey: "AKIAEXAMPLE"},
		}
		ids, csrfs := map[string]bool{}, map[string]bool{}
		for _, s := range subjects {
			token, c, err := a.Issue(ctx, s)
			if err != nil {
				t.Fatalf("Issue(%+v): %v", s, err)
			}
			if c.Subject != s || c.ID == "" || len(c.CSRF) != 43 {
				t.Errorf("Issue(%+v) claims %+v", s, c)
			}
			if !c.IssuedAt.Equal(clk.Now()) || !c.ExpiresAt.Equal(clk.Now().Add(DefaultTTL)) {
				t.Errorf("claims times %v..%v, want %v..+%v", c.IssuedAt, c.ExpiresAt, clk.Now(), DefaultTTL)
			}
			if ids[c.ID] || csrfs[c.CSRF] {
				t.Errorf("id %q or csrf %q repeated", c.ID, c.CSRF)
			}
			ids[c.ID], csrfs[c.CSRF] = true, true
			// The other instance accepts it: nothing lives in a's memory.
			got, err := b.Verify(ctx, token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Errorf("Verify = %+v, want %+v", got, c)
			}
		}
	})
}

// segments splits a token and decodes its payload.
func segments(t testing.TB, token string) (header, payload, sig string, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d segments", token, len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return parts[0], parts[1], parts[2], claims
}

func encodeJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func sign(t testing.TB, method jwt.SigningMethod, claims jwt.Claims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mangled returns tokens derived from a genuine one that must all be
// refused with ErrInvalidToken.
func mangled(t testing.TB, token string) map[string]string {
	header, payload, sig, claims := segments(t, token)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	flip := func(s string, i int) string {
		j := strings.IndexByte(alphabet, s[i])
		return s[:i] + string(alphabet[(j+1)%64]) + s[i+1:]
	}
	elevated := map[string]any{}
	for k, v := range claims {
		elevated[k] = v
	}
	elevated["root"] = true
	mapClaims := jwt.MapClaims(claims)
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	out := map[string]string{
		"empty":              "",
		"garbage":            "not a token",
		"two segments":       header + "." + payload,
		"four segments":      token + "." + sig,
		"elevated payload":   header + "." + encodeJSON(t, elevated) + "." + sig,
		"flipped payload":    header + "." + flip(payload, len(payload)/2) + "." + sig,
		"flipped header":     flip(header, 3) + "." + payload + "." + sig,
		"flipped signature":  header + "." + payload + "." + flip(sig, 5),
		"empty signature":    header + "." + payload + ".",
		"padded signature":   token + "=",
		"newline signature":  header + "." + payload + "." + sig[:20] + "\n" + sig[20:],
		"space prefix":       " " + token,
		"truncated":          token[:len(token)-1],
		"non-canonical sig":  header + "." + payload + "." + sig[:len(sig)-1] + string(alphabet[last|1]),
		"alg none":           sign(t, jwt.SigningMethodNone, mapClaims, jwt.UnsafeAllowNoneSignatureType),
		"alg none, real sig": sign(t, jwt.SigningMethodNone, mapClaims, jwt.UnsafeAllowNoneSignatureType) + sig,
		"alg HS512":          sign(t, jwt.SigningMethodHS512, mapClaims, testKey),
		"alg HS384":          sign(t, jwt.SigningMethodHS384, mapClaims, testKey),
		"wrong key":          sign(t, jwt.SigningMethodHS256, mapClaims, DeriveKey([]byte("another master"), "coffer session v1")),
		"header alg none":    encodeJSON(t, map[string]string{"alg": "none", "typ": "JWT"}) + "." + payload + "." + sig,
		"header alg HS512":   encodeJSON(t, map[string]string{"alg": "HS512", "typ": "JWT"}) + "." + payload + "." + sig,
	}
	// Genuine signatures over claims Issue never makes.
	for _, drop := range []string{"jti", "csrf", "exp", "iat"} {
		c := jwt.MapClaims{}
		for k, v := range claims {
			if k != drop {
				c[k] = v
			}
		}
		out["signed without "+drop] = sign(t, jwt.SigningMethodHS256, c, testKey)
	}
	return out
}

func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m := newManager(t, openEmbedded(t, 1)[0], clk, testKey)
	token, _, err := m.Issue(ctx, Subject{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, token); err != nil {
		t.Fatalf("genuine token: %v", err)
	}
	for name, bad := range mangled(t, token) {
		if _, err := m.Verify(ctx, bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: Verify(%q) = %v, want ErrInvalidToken", name, bad, err)
		}
	}
	// A token from a Manager with another key is not ours.
	other := newManager(t, openEmbedded(t, 1)[0], clk, DeriveKey([]byte("another master"), "coffer session v1"))
	foreign, _, err := other.Issue(ctx, Subject{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, foreign); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("foreign token: %v, want ErrInvalidToken", err)
	}
}

func TestExpiry(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := openEmbedded(t, 1)[0]
	m, err := New(Config{Store: store, Key: testKey, TTL: time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	token, c, err := m.Issue(ctx, Subject{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.ExpiresAt.Equal(c.IssuedAt.Add(time.Hour)) {
		t.Errorf("ExpiresAt %v, want IssuedAt+1h", c.ExpiresAt)
	}
	clk.Advance(time.Hour - time.Second)
	if _, err := m.Verify(ctx, token); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	clk.Advance(time.Second)
	if _, err := m.Verify(ctx, token); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v, want ErrExpired", err)
	}
	// Expiry is reported only for genuine tokens: a forged expired one is
	// invalid.
	header, payload, sig, _ := segments(t, token)
	swap := "A"
	if sig[10] == 'A' {
		swap = "B"
	}
	forged := header + "." + payload + "." + sig[:10] + swap + sig[11:]
	if _, err := m.Verify(ctx, forged); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("forged expired token: %v, want ErrInvalidToken", err)
	}
}

func TestRevoke(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open backend) {
		ctx := context.Background()
		stores := open(t, 2)
		clk := newClock()
		a := newManager(t, stores[0], clk, testKey)
		b := newManager(t, stores[1], clk, testKey)
		token, c, err := a.Issue(ctx, Subject{User: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		keep, _, err := a.Issue(ctx, Subject{User: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Verify(ctx, token); err != nil {
			t.Fatalf("before revocation: %v", err)
		}
		got, err := b.Verify(ctx, token)
		if err != nil {
			t.Fatalf("before revocation, on b: %v", err)
		}
		// Logout on b, from the claims b verified.
		if err := b.Revoke(ctx, got); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if _, err := a.Verify(ctx, token); !errors.Is(err, ErrRevoked) {
			t.Errorf("after revocation on the other instance: %v, want ErrRevoked", err)
		}
		if _, err := b.Verify(ctx, token); !errors.Is(err, ErrRevoked) {
			t.Errorf("after revocation: %v, want ErrRevoked", err)
		}
		if _, err := a.Verify(ctx, keep); err != nil {
			t.Errorf("another session of the same user: %v", err)
		}
		if err := a.Revoke(ctx, c); err != nil {
			t.Errorf("revoking twice: %v", err)
		}
		rec, err := stores[0].GetRecord(ctx, KindRevoked, c.ID)
		if err != nil {
			t.Fatalf("revocation record: %v", err)
		}
		if rec.Expires.Before(c.ExpiresAt) || rec.Expires.After(c.ExpiresAt.Add(time.Hour)) {
			t.Errorf("revocation record expires %v, token %v", rec.Expires, c.ExpiresAt)
		}
		if err := a.Revoke(ctx, Claims{}); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Revoke(empty claims) = %v, want ErrInvalidToken", err)
		}
	})
}

func TestTickets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open backend) {
		ctx := context.Background()
		stores := open(t, 2)
		clk := newClock()
		a := newManager(t, stores[0], clk, testKey)
		b := newManager(t, stores[1], clk, testKey)
		who := Subject{User: "alice", AccessKey: "AK1"}
		tk, err := a.NewTicket(ctx, who, "/api/events")
		if err != nil {
			t.Fatalf("NewTicket: %v", err)
		}
		if len(tk.ID) != 43 || tk.Subject != who || tk.Resource != "/api/events" || !tk.ExpiresAt.Equal(clk.Now().Add(DefaultTicketTTL)) {
			t.Errorf("ticket %+v", tk)
		}
		// The wrong resource is refused and leaves the ticket usable.
		if _, err := b.RedeemTicket(ctx, tk.ID, "/api/other"); !errors.Is(err, ErrTicketInvalid) {
			t.Errorf("wrong resource: %v, want ErrTicketInvalid", err)
		}
		got, err := b.RedeemTicket(ctx, tk.ID, "/api/events")
		if err != nil {
			t.Fatalf("RedeemTicket on the other instance: %v", err)
		}
		if got != who {
			t.Errorf("redeemed %+v, want %+v", got, who)
		}
		if _, err := a.RedeemTicket(ctx, tk.ID, "/api/events"); !errors.Is(err, ErrTicketInvalid) {
			t.Errorf("second redemption: %v, want ErrTicketInvalid", err)
		}
		for _, id := range []string{"", "short", strings.Repeat("A", 43), strings.Repeat("*", 43), tk.ID + "A"} {
			if _, err := a.RedeemTicket(ctx, id, "/api/events"); !errors.Is(err, ErrTicketInvalid) {
				t.Errorf("RedeemTicket(%q) = %v, want ErrTicketInvalid", id, err)
			}
		}
		if _, err := a.NewTicket(ctx, who, ""); err == nil {
			t.Error("NewTicket accepted an empty resource")
		}

		// Expiry is judged by the Manager's clock, even while the store
		// still holds the record.
		old, err := a.NewTicket(ctx, who, "/api/events")
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(DefaultTicketTTL - time.Second)
		fresh, err := a.NewTicket(ctx, who, "/api/events")
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		if _, err := b.RedeemTicket(ctx, old.ID, "/api/events"); !errors.Is(err, ErrTicketInvalid) {
			t.Errorf("expired ticket: %v, want ErrTicketInvalid", err)
		}
		if _, err := stores[0].GetRecord(ctx, KindTicket, old.ID); !errors.Is(err, meta.ErrRecordNotFound) {
			t.Errorf("expired ticket's record after a redemption attempt: %v, want removed", err)
		}
		if _, err := b.RedeemTicket(ctx, fresh.ID, "/api/events"); err != nil {
			t.Errorf("ticket within its lifetime: %v", err)
		}
	})
}

func TestTicketConcurrentRedeemers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open backend) {
		ctx := context.Background()
		stores := open(t, 3)
		clk := newClock()
		var ms []*Manager
		for _, s := range stores {
			ms = append(ms, newManager(t, s, clk, testKey))
		}
		for round := range 3 {
			tk, err := ms[0].NewTicket(ctx, Subject{User: "alice"}, "/api/events")
			if err != nil {
				t.Fatal(err)
			}
			const redeemers = 20
			start := make(chan struct{})
			errs := make([]error, redeemers)
			var wg sync.WaitGroup
			for i := range redeemers {
				wg.Go(func() {
					<-start
					_, errs[i] = ms[i%len(ms)].RedeemTicket(ctx, tk.ID, "/api/events")
				})
			}
			close(start)
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, ErrTicketInvalid):
					t.Errorf("round %d: redeemer failed with %v", round, err)
				}
			}
			if wins != 1 {
				t.Errorf("round %d: %d of %d redeemers won, want exactly 1", round, wins, redeemers)
			}
		}
	})
}

func TestUnavailableStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open backend) {
		ctx := context.Background()
		store := open(t, 1)[0]
		m := newManager(t, store, newClock(), testKey)
		l := NewLimiter(store, nil)
		token, c, err := m.Issue(ctx, Subject{User: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		tk, err := m.NewTicket(ctx, Subject{User: "alice"}, "/r")
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Close(); err != nil {
			t.Fatal(err)
		}
		// A store that cannot answer never lets a request through.
		if _, err := m.Verify(ctx, token); !errors.Is(err, meta.ErrUnavailable) {
			t.Errorf("Verify: %v, want ErrUnavailable", err)
		}
		if err := m.Revoke(ctx, c); !errors.Is(err, meta.ErrUnavailable) {
			t.Errorf("Revoke: %v, want ErrUnavailable", err)
		}
		if _, err := m.NewTicket(ctx, Subject{User: "alice"}, "/r"); !errors.Is(err, meta.ErrUnavailable) {
			t.Errorf("NewTicket: %v, want ErrUnavailable", err)
		}
		if _, err := m.RedeemTicket(ctx, tk.ID, "/r"); !errors.Is(err, meta.ErrUnavailable) {
			t.Errorf("RedeemTicket: %v, want ErrUnavailable", err)
		}
		if d, err := l.Allow(ctx, "login", "1.2.3.4", 5, time.Minute); !errors.Is(err, meta.ErrUnavailable) || d.Allowed {
			t.Errorf("Allow: %+v, %v, want a denial with ErrUnavailable", d, err)
		}
	})
}

// TestRevokeUser: revoking a user's sessions on one instance ends every
// session of that user issued before, on every instance, and no other
// user's; a login after it works.
func TestRevokeUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open backend) {
		ctx := context.Background()
		stores := open(t, 2)
		clk := newClock()
		a := newManager(t, stores[0], clk, testKey)
		b := newManager(t, stores[1], clk, testKey)
		old1, _, err := a.Issue(ctx, Subject{User: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		old2, _, err := b.Issue(ctx, Subject{User: "alice", AccessKey: "AKALICE"})
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := a.Issue(ctx, Subject{User: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Second)
		if err := b.RevokeUser(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{old1, old2} {
			for _, m := range []*Manager{a, b} {
				if _, err := m.Verify(ctx, tok); !errors.Is(err, ErrRevoked) {
					t.Fatalf("alice's earlier session after RevokeUser: %v, want ErrRevoked", err)
				}
			}
		}
		if _, err := a.Verify(ctx, other); err != nil {
			t.Fatalf("bob's session after alice's revocation: %v", err)
		}
		fresh, _, err := a.Issue(ctx, Subject{User: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Verify(ctx, fresh); err != nil {
			t.Fatalf("a login right after RevokeUser: %v", err)
		}
		if err := a.RevokeUser(ctx, ""); err == nil {
			t.Fatal("RevokeUser of no user accepted")
		}
	})
}
