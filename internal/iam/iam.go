// Package iam decides who a caller is and what they may do.
//
// Identities are root (from configuration, never stored), users, their
// groups, access keys and API tokens, and named policies; they are kept as
// documents in the metadata store's Records (kinds "iam.*"), so every
// instance sharing a store sees the same identities, and concurrent
// administrators never overwrite each other (writes name the revision they
// read and retry on meta.ErrConflict).
//
// Authorize is the single allow/deny decision every surface asks: S3, the
// management API, the console and background work.
//
// The only state kept in memory is a short-lived cache (Config.CacheTTL, a
// few seconds) of access keys and resolved users (their status and
// policies), so that SigV4 verification and Authorize do not read the
// store on every request. A change made through this IAM clears it at
// once; a change made by another instance is seen here within the TTL,
// which bounds how long a revoked key or a detached policy keeps working
// elsewhere. API tokens are not cached: revoking one takes effect at once
// everywhere.
package iam

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// Sentinel errors. Methods wrap them ("doing x: %w"); test with errors.Is.
// No error text ever contains a secret.
var (
	// ErrUnknownAccessKey means no principal holds the access key, or the
	// key is inactive or expired (S3 answers InvalidAccessKeyId to both).
	ErrUnknownAccessKey = errors.New("unknown access key")
	// ErrAccessDenied means the principal may not perform the action.
	ErrAccessDenied = errors.New("access denied")
	// ErrBadCredentials means a password, secret or token did not match (or
	// named nobody): deliberately vague, for login surfaces.
	ErrBadCredentials = errors.New("bad credentials")
	// ErrUserDisabled accompanies ErrAccessDenied (or ErrBadCredentials)
	// when the credentials are right but their user is disabled.
	ErrUserDisabled = errors.New("user is disabled")
	// ErrKeyInactive accompanies ErrUnknownAccessKey (or ErrBadCredentials)
	// for an access key that is inactive or past its expiry.
	ErrKeyInactive = errors.New("access key is inactive or expired")

	ErrUserNotFound   = errors.New("user not found")
	ErrUserExists     = errors.New("user already exists")
	ErrGroupNotFound  = errors.New("group not found")
	ErrGroupExists    = errors.New("group already exists")
	ErrKeyNotFound    = errors.New("access key not found")
	ErrKeyExists      = errors.New("access key already exists")
	ErrPolicyNotFound = errors.New("policy not found")
	ErrPolicyExists   = errors.New("policy already exists")
	// ErrPolicyInUse refuses deleting a policy attached to a user or group.
	ErrPolicyInUse = errors.New("policy is attached")
	// ErrBuiltinPolicy refuses changing or deleting a built-in policy.
	ErrBuiltinPolicy = errors.New("built-in policies cannot be changed")
	// ErrNotAttached: detaching a policy (or removing a group membership)
	// that is not there.
	ErrNotAttached   = errors.New("not attached")
	ErrTokenNotFound = errors.New("token not found")
	// ErrUserOwnsBuckets refuses deleting a user that owns buckets, and
	// creating a user whose name still owns buckets (they would silently
	// become the new user's).
	ErrUserOwnsBuckets = errors.New("user name owns buckets")
	// ErrInvalidName: a user, group, policy or token name, or a custom
	// access key id, outside the allowed characters or length.
	ErrInvalidName = errors.New("invalid name")
	// ErrInvalidInput: any other malformed argument (a short password or
	// secret, an expiry in the past). Policy documents fail with
	// policy.ErrMalformed instead.
	ErrInvalidInput = errors.New("invalid input")
	// ErrInvalidACL: an unknown canned ACL, grantee type, group or
	// permission.
	ErrInvalidACL = errors.New("invalid access control list")
	// ErrNoStore: an identity method on an IAM made by New, which knows
	// root only.
	ErrNoStore = errors.New("no identity store configured")
	// ErrMasterKeyMismatch: the store's secrets were sealed under another
	// master key (every instance must share one).
	ErrMasterKeyMismatch = errors.New("master key does not match the identity store")
)

// Principal is an authenticated caller, or the anonymous one (zero value).
type Principal struct {
	Name      string // user name (root's access key for root); "" for anonymous
	AccessKey string // the access key used, "" for password and token logins
	Root      bool
	// Token is the id of the API token the caller authenticated with.
	Token string
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

// DefaultCacheTTL bounds how stale another instance's view of a key or user
// may be.
const DefaultCacheTTL = 5 * time.Second

// Config configures an IAM opened over a store.
type Config struct {
	// RootUser and RootSecret are root's access key and secret (also its
	// console user name and password). Required.
	RootUser, RootSecret string
	// Store keeps users, groups, keys, policies and tokens. Required.
	Store Records
	// MasterKey (MasterKeySize bytes) seals access key secrets at rest.
	// Required; LoadMasterKey finds or makes one.
	MasterKey []byte
	// Buckets tells Authorize who owns a bucket and what its policy and
	// ACL say, and lets user deletion check ownership. Nil: only root may
	// act on buckets.
	Buckets BucketSettings
	// CacheTTL is how long a looked-up access key or user is reused; 0
	// means DefaultCacheTTL, negative disables the cache.
	CacheTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// IAM resolves credentials, manages identities and makes the allow/deny
// decision. It is safe for concurrent use.
type IAM struct {
	rootUser, rootSecret string
	store                Records // nil for a root-only IAM
	seal                 *sealer
	buckets              BucketSettings
	now                  func() time.Time

	keys     *ttlCache[keyEntry]
	users    *ttlCache[*identity]
	compiled *policyCache
}

// New returns an IAM whose only principal is root with the given
// credentials (both non-empty). Identity methods return ErrNoStore.
func New(rootUser, rootSecret string) (*IAM, error) {
	if rootUser == "" || rootSecret == "" {
		return nil, errors.New("root credentials must be non-empty")
	}
	return &IAM{rootUser: rootUser, rootSecret: rootSecret, now: time.Now, compiled: newPolicyCache()}, nil
}

// Open returns an IAM over cfg.Store. It checks that the store's secrets
// were sealed under cfg.MasterKey (ErrMasterKeyMismatch otherwise),
// recording the key's fingerprint on first use.
func Open(ctx context.Context, cfg Config) (*IAM, error) {
	m, err := New(cfg.RootUser, cfg.RootSecret)
	if err != nil {
		return nil, err
	}
	if cfg.Store == nil {
		return nil, errors.New("opening iam: no store")
	}
	if m.seal, err = newSealer(cfg.MasterKey); err != nil {
		return nil, fmt.Errorf("opening iam: %w", err)
	}
	m.store, m.buckets = cfg.Store, cfg.Buckets
	if cfg.Now != nil {
		m.now = cfg.Now
	}
	ttl := cfg.CacheTTL
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	m.keys = newTTLCache[keyEntry](ttl, m.now)
	m.users = newTTLCache[*identity](ttl, m.now)
	if err := m.checkMasterKey(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// RootName returns root's name (its access key).
func (m *IAM) RootName() string { return m.rootUser }

// RootPrincipal returns the root principal.
func (m *IAM) RootPrincipal() Principal {
	return Principal{Name: m.rootUser, AccessKey: m.rootUser, Root: true}
}

// isRoot compares in constant time so that response timing does not reveal
// how much of a guessed name is right.
func (m *IAM) isRoot(name string) bool {
	return subtle.ConstantTimeCompare([]byte(name), []byte(m.rootUser)) == 1
}

func (m *IAM) needStore() error {
	if m.store == nil {
		return ErrNoStore
	}
	return nil
}

// invalidate forgets every cached key and user after a change made here.
func (m *IAM) invalidate() {
	if m.keys != nil {
		m.keys.clear()
		m.users.clear()
	}
}

// checkMasterKey compares the master key with the fingerprint the store
// recorded when it was first opened: a seal of a fixed text. A store shared
// by instances with different keys would otherwise fail later, key by key.
func (m *IAM) checkMasterKey(ctx context.Context) error {
	const id = "master-key-check"
	aad := []byte("coffer-iam-master-key-check")
	for range maxRetries {
		rec, err := m.store.GetRecord(ctx, kindMeta, id)
		if errors.Is(err, meta.ErrRecordNotFound) {
			sealed, err := m.seal.seal([]byte(masterCheckText), aad)
			if err != nil {
				return err
			}
			_, err = m.store.PutRecord(ctx, meta.Record{Kind: kindMeta, ID: id, Data: []byte(sealed), Rev: meta.RevNew})
			if errors.Is(err, meta.ErrConflict) {
				continue // another instance recorded it first: compare with that
			}
			if err != nil {
				return fmt.Errorf("recording master key fingerprint: %w", err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading master key fingerprint: %w", err)
		}
		plain, err := m.seal.open(string(rec.Data), aad)
		if err != nil || string(plain) != masterCheckText {
			return fmt.Errorf("opening iam: %w", ErrMasterKeyMismatch)
		}
		return nil
	}
	return fmt.Errorf("recording master key fingerprint: %w", meta.ErrConflict)
}

const masterCheckText = "coffer identity store"
