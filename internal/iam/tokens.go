package iam

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

type tokenRecord struct {
	ID      string    `json:"id"`
	Name    string    `json:"name,omitempty"`
	User    string    `json:"user"` // root's name for a root token
	UserUID string    `json:"userUid,omitempty"`
	Root    bool      `json:"root,omitempty"`
	Hash    string    `json:"hash"` // hashToken(secret): the secret itself is never stored
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
}

// Token is a personal API token for automation, as listings show it.
type Token struct {
	ID      string // public, for listing and revoking
	Name    string
	User    string
	Root    bool
	Created time.Time
	Expires time.Time // zero: never
}

// TokenInput describes a new token.
type TokenInput struct {
	Name    string    // a label, up to 128 printable characters
	Expires time.Time // zero: never; else in the future
}

// tokenPrefix starts every token, so that secret scanners and people can
// tell what one is.
const tokenPrefix = "coffer_"

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// CreateToken issues an API token acting as p and returns it with the
// token string, which is shown only now (the store keeps a hash).
// ErrAccessDenied for the anonymous principal, ErrUserNotFound,
// ErrUserDisabled, ErrInvalidName, ErrInvalidInput.
func (m *IAM) CreateToken(ctx context.Context, p Principal, in TokenInput) (Token, string, error) {
	if err := m.needStore(); err != nil {
		return Token{}, "", err
	}
	if len(in.Name) > 128 || strings.ContainsFunc(in.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Token{}, "", fmt.Errorf("token name: up to 128 printable characters: %w", ErrInvalidName)
	}
	now := m.now().UTC()
	if !in.Expires.IsZero() && !in.Expires.After(now) {
		return Token{}, "", fmt.Errorf("token expiry is not in the future: %w", ErrInvalidInput)
	}
	rec := tokenRecord{Name: in.Name, Created: now}
	if !in.Expires.IsZero() {
		rec.Expires = in.Expires.UTC()
	}
	switch {
	case p.Root:
		rec.Root, rec.User = true, m.rootUser
	case p.Anonymous():
		return Token{}, "", fmt.Errorf("creating token: anonymous: %w", ErrAccessDenied)
	default:
		u, err := m.userRecord(ctx, p.Name)
		if err != nil {
			return Token{}, "", fmt.Errorf("creating token: %w", err)
		}
		if u.Disabled {
			return Token{}, "", fmt.Errorf("creating token for %q: %w: %w", u.Name, ErrUserDisabled, ErrAccessDenied)
		}
		rec.User, rec.UserUID = u.Name, u.UID
	}
	for range maxRetries {
		rec.ID = randomString(16, hexChars)
		secret := randomString(43, alnum) // ~256 bits
		rec.Hash = hashToken(secret)
		err := m.createRecord(ctx, kindToken, rec.ID, rec, rec.Expires)
		if errors.Is(err, meta.ErrConflict) {
			continue
		}
		if err != nil {
			return Token{}, "", fmt.Errorf("creating token: %w", err)
		}
		return tokenFrom(rec), tokenPrefix + rec.ID + "_" + secret, nil
	}
	return Token{}, "", fmt.Errorf("creating token: no free id: %w", meta.ErrConflict)
}

// ListTokens returns the live tokens of a user (root's name for root's),
// or every token when user is "", ordered by id.
func (m *IAM) ListTokens(ctx context.Context, user string) ([]Token, error) {
	if err := m.needStore(); err != nil {
		return nil, err
	}
	recs, err := listRecords[tokenRecord](ctx, m, kindToken)
	if err != nil {
		return nil, err
	}
	out := []Token{}
	for _, r := range recs {
		if user == "" || r.User == user {
			out = append(out, tokenFrom(r))
		}
	}
	return out, nil
}

// GetToken returns a live token by id; ErrTokenNotFound.
func (m *IAM) GetToken(ctx context.Context, id string) (Token, error) {
	if err := m.needStore(); err != nil {
		return Token{}, err
	}
	var rec tokenRecord
	if _, err := m.getRecord(ctx, kindToken, id, &rec); err != nil {
		return Token{}, fmt.Errorf("getting token %q: %w", id, notFound(err, ErrTokenNotFound))
	}
	return tokenFrom(rec), nil
}

// RevokeToken deletes a token: it is refused from then on, on every
// instance (tokens are never cached). ErrTokenNotFound.
func (m *IAM) RevokeToken(ctx context.Context, id string) error {
	if err := m.needStore(); err != nil {
		return err
	}
	if err := m.deleteRecord(ctx, kindToken, id); err != nil {
		return fmt.Errorf("revoking token %q: %w", id, notFound(err, ErrTokenNotFound))
	}
	return nil
}

// CheckToken authenticates a token string and returns the principal it
// acts as. ErrBadCredentials for anything malformed, unknown, revoked or
// expired; ErrUserDisabled (with ErrAccessDenied) when its user is
// disabled.
func (m *IAM) CheckToken(ctx context.Context, token string) (Principal, error) {
	if err := m.needStore(); err != nil {
		return Principal{}, err
	}
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	id, secret, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(id) != 16 || secret == "" || len(secret) > 128 {
		return Principal{}, fmt.Errorf("checking token: malformed: %w", ErrBadCredentials)
	}
	var rec tokenRecord
	if _, err := m.getRecord(ctx, kindToken, id, &rec); err != nil {
		if errors.Is(err, meta.ErrRecordNotFound) {
			return Principal{}, fmt.Errorf("checking token: %w", ErrBadCredentials)
		}
		return Principal{}, fmt.Errorf("checking token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(hashToken(secret)), []byte(rec.Hash)) != 1 {
		return Principal{}, fmt.Errorf("checking token: %w", ErrBadCredentials)
	}
	// The store drops the record at expiry by its own clock; this check
	// makes IAM's clock count too.
	if !rec.Expires.IsZero() && !m.now().Before(rec.Expires) {
		return Principal{}, fmt.Errorf("checking token: expired: %w", ErrBadCredentials)
	}
	if rec.Root {
		// A root token survives only as long as root keeps its name.
		if !m.isRoot(rec.User) {
			return Principal{}, fmt.Errorf("checking token: root was renamed: %w", ErrBadCredentials)
		}
		p := m.RootPrincipal()
		p.AccessKey, p.Token = "", rec.ID
		return p, nil
	}
	if _, err := m.activeUser(ctx, rec.User, rec.UserUID); err != nil {
		return Principal{}, fmt.Errorf("checking token: %w", err)
	}
	return Principal{Name: rec.User, Token: rec.ID}, nil
}

func tokenFrom(r tokenRecord) Token {
	return Token{ID: r.ID, Name: r.Name, User: r.User, Root: r.Root, Created: r.Created, Expires: r.Expires}
}
