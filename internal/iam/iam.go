// Package iam decides who a caller is and what they may do. Today it knows
// one principal, root, whose credentials come from configuration; users,
// access keys and policies extend it without changing its callers: every
// surface asks Authorize and nothing else.
package iam

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
)

var (
	// ErrUnknownAccessKey means no principal holds the access key. Its
	// text must not include the key's secret.
	ErrUnknownAccessKey = errors.New("unknown access key")
	// ErrAccessDenied means the principal may not perform the action.
	ErrAccessDenied = errors.New("access denied")
)

// Principal is an authenticated caller, or the anonymous one.
type Principal struct {
	Name      string // user name; "" for anonymous
	AccessKey string
	Root      bool
}

// Anonymous reports whether the caller presented no credentials.
func (p Principal) Anonymous() bool { return p.Name == "" }

// CanonicalID is the stable opaque id S3 shows as an Owner ID.
func (p Principal) CanonicalID() string { return CanonicalID(p.Name) }

// CanonicalID derives the 64-hex canonical user id S3 clients expect from a
// user name.
func CanonicalID(name string) string {
	h := sha256.Sum256([]byte("coffer-user:" + name))
	return hex.EncodeToString(h[:])
}

// Request is what a caller wants to do: an S3 action name such as
// "s3:GetObject", and the bucket and key it touches ("" when none).
type Request struct {
	Action string
	Bucket string
	Key    string
}

// IAM resolves credentials and makes the allow/deny decision.
type IAM struct {
	rootUser, rootSecret string
}

// New returns an IAM whose only principal is root with the given
// credentials. Both must be non-empty.
func New(rootUser, rootSecret string) (*IAM, error) {
	if rootUser == "" || rootSecret == "" {
		return nil, errors.New("root credentials must be non-empty")
	}
	return &IAM{rootUser: rootUser, rootSecret: rootSecret}, nil
}

// SecretKey returns the secret of accessKey, for signature verification.
// The comparison of the key is constant-time so that response timing does
// not reveal how much of a guessed key is right.
func (m *IAM) SecretKey(_ context.Context, accessKey string) (string, error) {
	if subtle.ConstantTimeCompare([]byte(accessKey), []byte(m.rootUser)) == 1 {
		return m.rootSecret, nil
	}
	return "", fmt.Errorf("looking up access key: %w", ErrUnknownAccessKey)
}

// PrincipalFor returns the principal owning an access key that already
// passed signature verification.
func (m *IAM) PrincipalFor(_ context.Context, accessKey string) (Principal, error) {
	if subtle.ConstantTimeCompare([]byte(accessKey), []byte(m.rootUser)) == 1 {
		return Principal{Name: m.rootUser, AccessKey: accessKey, Root: true}, nil
	}
	return Principal{}, fmt.Errorf("looking up principal: %w", ErrUnknownAccessKey)
}

// Authorize returns nil when p may perform req, else an error wrapping
// ErrAccessDenied. It is the single decision point for every surface.
func (m *IAM) Authorize(_ context.Context, p Principal, req Request) error {
	if p.Root {
		return nil
	}
	return fmt.Errorf("%s on %s/%s: %w", req.Action, req.Bucket, req.Key, ErrAccessDenied)
}
