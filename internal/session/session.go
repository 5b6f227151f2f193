// Package session keeps the management API's login sessions, one-time
// tickets and rate-limit counters.
//
// Instances are stateless: everything that decides whether a request may
// proceed lives in the metadata store's Records, so several instances
// behind one load balancer agree. A session is a JWT (HS256) signed with a
// key every instance derives from the master key; its revocation is a
// record every Verify reads, so a logout is effective at once everywhere.
// Nothing is cached.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/hkdf"

	"github.com/cofferstore/coffer/internal/meta"
)

// Sentinel errors, tested with errors.Is. Store failures are returned
// wrapped instead (meta.ErrUnavailable stays detectable); callers must
// treat them as a refusal, never as a pass.
var (
	// ErrInvalidToken: not a token this server issued (malformed, bad
	// signature, another algorithm, missing claims).
	ErrInvalidToken = errors.New("invalid session token")
	// ErrExpired: a genuine token past its expiry.
	ErrExpired = errors.New("session expired")
	// ErrRevoked: a genuine, unexpired token that was revoked (logout).
	ErrRevoked = errors.New("session revoked")
	// ErrTicketInvalid: unknown, already used, expired, or for another
	// resource.
	ErrTicketInvalid = errors.New("invalid ticket")
	// ErrContended: a rate-limit counter stayed contended through every
	// retry; the caller should deny the request as if over the limit.
	ErrContended = errors.New("rate-limit counter contended")
)

// Record kinds in the metadata store.
const (
	KindRevoked = "session.revoked"
	// KindUserRevoked holds, per user name, the time before which every
	// session of that user is revoked (RevokeUser).
	KindUserRevoked = "session.user-revoked"
	KindTicket      = "session.ticket"
	KindRateLimit   = "ratelimit"
)

const (
	// DefaultTTL and DefaultTicketTTL apply when Config leaves them zero.
	DefaultTTL       = 12 * time.Hour
	DefaultTicketTTL = 60 * time.Second
	// MinKeyLen is the shortest signing key New accepts: HS256 is only
	// as strong as its key, and RFC 7518 asks for at least the hash size.
	MinKeyLen = 32
	// maxTokenLen bounds the work an unauthenticated caller can cause;
	// our tokens are about 400 bytes.
	maxTokenLen = 4096
	// revocationSkew keeps a revocation record a little past the token's
	// expiry, so that an instance (or store) whose clock runs behind the
	// one that judges expiry never sees the token alive and its
	// revocation gone.
	revocationSkew = time.Minute
)

// Config configures a Manager.
type Config struct {
	// Store holds revocations and tickets; every instance must use the
	// same store.
	Store meta.Records
	// Key is the HMAC-SHA256 signing key, at least MinKeyLen bytes and
	// identical on every instance (see DeriveKey).
	Key []byte
	// TTL is a session's lifetime; 0 means DefaultTTL.
	TTL time.Duration
	// TicketTTL is a ticket's lifetime; 0 means DefaultTicketTTL.
	TicketTTL time.Duration
	// Now is the clock; nil means time.Now. The store judges record
	// expiry by its own clock, so Now should not run behind it.
	Now func() time.Time
}

// Manager issues and checks sessions and tickets. It is safe for
// concurrent use and holds no state of its own beyond its Config.
type Manager struct {
	store     meta.Records
	key       []byte
	ttl       time.Duration
	ticketTTL time.Duration
	now       func() time.Time
	parser    *jwt.Parser
	// random is crypto/rand.Reader; the fuzz target replaces it so that
	// its worker processes issue the same tokens.
	random io.Reader
}

// New returns a Manager for cfg.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("creating session manager: no store")
	}
	if len(cfg.Key) < MinKeyLen {
		return nil, fmt.Errorf("creating session manager: signing key of %d bytes, need at least %d", len(cfg.Key), MinKeyLen)
	}
	if cfg.TTL < 0 || cfg.TicketTTL < 0 {
		return nil, errors.New("creating session manager: negative lifetime")
	}
	m := &Manager{
		store:     cfg.Store,
		key:       append([]byte(nil), cfg.Key...),
		ttl:       cfg.TTL,
		ticketTTL: cfg.TicketTTL,
		now:       cfg.Now,
		random:    rand.Reader,
	}
	if m.ttl == 0 {
		m.ttl = DefaultTTL
	}
	if m.ticketTTL == 0 {
		m.ticketTTL = DefaultTicketTTL
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.parser = jwt.NewParser(
		// Only the one algorithm we sign with: "none", other HMACs and
		// every asymmetric algorithm (key confusion) are refused.
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		// Strict base64 leaves one encoding per signature, so an accepted
		// token is byte for byte the one issued.
		jwt.WithStrictDecoding(),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(m.now),
	)
	return m, nil
}

// DeriveKey derives a purpose-specific 32-byte key from a master key with
// HKDF-SHA256, label as the info: keys for different labels are
// independent, so a token signed for one purpose never verifies for
// another.
func DeriveKey(master []byte, label string) []byte {
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, master, nil, []byte(label)), key); err != nil {
		// HKDF-SHA256 yields up to 8160 bytes; 32 cannot fail.
		panic("session: deriving key: " + err.Error())
	}
	return key
}

// Subject is who logged in.
type Subject struct {
	User      string
	Root      bool
	AccessKey string // the access key used to log in, if any
}

// Claims are a session's contents. Times have a precision of one second
// (the JWT's NumericDate).
type Claims struct {
	ID string // the JWT's jti: the session's identity for revocation
	Subject
	// CSRF is the session's anti-CSRF token (43 base64url characters),
	// which the console echoes in a header on state-changing requests.
	CSRF      string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// tokenClaims is the JWT payload.
type tokenClaims struct {
	jwt.RegisteredClaims
	Root bool   `json:"root,omitempty"`
	AK   string `json:"ak,omitempty"`
	CSRF string `json:"csrf"`
}

// Issue starts a session for s. Nothing is stored: a session exists until
// it expires or is revoked.
func (m *Manager) Issue(ctx context.Context, s Subject) (string, Claims, error) {
	if err := ctx.Err(); err != nil {
		return "", Claims{}, fmt.Errorf("issuing session: %w", err)
	}
	id, err := m.randomID(16)
	if err != nil {
		return "", Claims{}, fmt.Errorf("issuing session: %w", err)
	}
	csrf, err := m.randomID(32)
	if err != nil {
		return "", Claims{}, fmt.Errorf("issuing session: %w", err)
	}
	now := m.now().Truncate(time.Second).UTC()
	c := Claims{ID: id, Subject: s, CSRF: csrf, IssuedAt: now, ExpiresAt: now.Add(m.ttl)}
	tc := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        c.ID,
			Subject:   s.User,
			IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
		},
		Root: s.Root,
		AK:   s.AccessKey,
		CSRF: csrf,
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, tc).SignedString(m.key)
	if err != nil {
		return "", Claims{}, fmt.Errorf("issuing session: signing: %w", err)
	}
	return token, c, nil
}

// Verify returns the claims of a token this server issued, unexpired and
// not revoked. The revocation check reads the store on every call.
func (m *Manager) Verify(ctx context.Context, token string) (Claims, error) {
	if !wellFormed(token) {
		return Claims{}, fmt.Errorf("verifying session: malformed token: %w", ErrInvalidToken)
	}
	var tc tokenClaims
	_, err := m.parser.ParseWithClaims(token, &tc, func(*jwt.Token) (any, error) { return m.key, nil })
	switch {
	// The library validates claims only after the signature, so an
	// expired token here is a genuine one.
	case err != nil && errors.Is(err, jwt.ErrTokenInvalidClaims) && errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, fmt.Errorf("verifying session: %w", ErrExpired)
	case err != nil:
		return Claims{}, fmt.Errorf("verifying session: %w (%v)", ErrInvalidToken, err)
	case tc.ID == "" || tc.CSRF == "" || tc.IssuedAt == nil || tc.ExpiresAt == nil:
		return Claims{}, fmt.Errorf("verifying session: missing claims: %w", ErrInvalidToken)
	}
	c := Claims{
		ID:        tc.ID,
		Subject:   Subject{User: tc.Subject, Root: tc.Root, AccessKey: tc.AK},
		CSRF:      tc.CSRF,
		IssuedAt:  tc.IssuedAt.UTC(),
		ExpiresAt: tc.ExpiresAt.UTC(),
	}
	_, err = m.store.GetRecord(ctx, KindRevoked, c.ID)
	switch {
	case err == nil:
		return Claims{}, fmt.Errorf("verifying session: %w", ErrRevoked)
	case !errors.Is(err, meta.ErrRecordNotFound):
		return Claims{}, fmt.Errorf("verifying session: checking revocation: %w", err)
	}
	if c.User != "" {
		r, err := m.store.GetRecord(ctx, KindUserRevoked, c.User)
		switch {
		case err == nil:
			var ur userRevocation
			if err := json.Unmarshal(r.Data, &ur); err != nil {
				return Claims{}, fmt.Errorf("verifying session: decoding user revocation: %w", err)
			}
			// iat has whole seconds: a session issued in the second of the
			// revocation survives it, so that logging in again right after
			// a password change works.
			if c.IssuedAt.Before(ur.Before.Truncate(time.Second)) {
				return Claims{}, fmt.Errorf("verifying session: every session of the user was revoked: %w", ErrRevoked)
			}
		case !errors.Is(err, meta.ErrRecordNotFound):
			return Claims{}, fmt.Errorf("verifying session: checking user revocation: %w", err)
		}
	}
	return c, nil
}

// userRevocation is a KindUserRevoked record's data.
type userRevocation struct {
	Before time.Time `json:"before"`
}

// RevokeUser revokes every session of user issued before now, on every
// instance at once: after a password change, when a user is disabled or
// deleted (a user created again under the name must not inherit its
// sessions). The record expires when the last such session would have.
func (m *Manager) RevokeUser(ctx context.Context, user string) error {
	if user == "" {
		return fmt.Errorf("revoking sessions: no user: %w", ErrInvalidToken)
	}
	now := m.now().UTC()
	data, err := json.Marshal(userRevocation{Before: now})
	if err != nil {
		return fmt.Errorf("revoking sessions of %s: %w", user, err)
	}
	_, err = m.store.PutRecord(ctx, meta.Record{Kind: KindUserRevoked, ID: user, Data: data, Rev: meta.RevAny,
		Expires: now.Add(m.ttl + revocationSkew)})
	if err != nil {
		return fmt.Errorf("revoking sessions of %s: %w", user, err)
	}
	return nil
}

// wellFormed accepts only the compact serialization's alphabet: base64url
// decoders skip newlines, which would let two different strings verify as
// the same token.
func wellFormed(token string) bool {
	if len(token) == 0 || len(token) > maxTokenLen {
		return false
	}
	dots := 0
	for i := 0; i < len(token); i++ {
		switch c := token[i]; {
		case c == '.':
			dots++
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return dots == 2
}

// revocation is a revocation record's data, for operators reading the
// store; Verify only tests the record's existence.
type revocation struct {
	User    string    `json:"user"`
	Revoked time.Time `json:"revoked"`
}

// Revoke ends the session c everywhere. The record lasts until the token
// would have expired (plus a margin for clock skew), then the store purges
// it. Revoking twice is not an error.
func (m *Manager) Revoke(ctx context.Context, c Claims) error {
	if c.ID == "" || c.ExpiresAt.IsZero() {
		return fmt.Errorf("revoking session: claims without id or expiry: %w", ErrInvalidToken)
	}
	data, err := json.Marshal(revocation{User: c.User, Revoked: m.now().UTC()})
	if err != nil {
		return fmt.Errorf("revoking session: %w", err)
	}
	_, err = m.store.PutRecord(ctx, meta.Record{
		Kind:    KindRevoked,
		ID:      c.ID,
		Data:    data,
		Rev:     meta.RevAny,
		Expires: c.ExpiresAt.Add(revocationSkew),
	})
	if err != nil {
		return fmt.Errorf("revoking session: %w", err)
	}
	return nil
}

// randomID returns n random bytes in unpadded base64url.
func (m *Manager) randomID(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(m.random, b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
