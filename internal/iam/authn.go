package iam

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/policy"
)

// keyEntry is a cached access key with its opened secret.
type keyEntry struct {
	rec    keyRecord
	secret string
}

// identity is a user resolved for authorization: its status and every
// policy that applies to it (its own and its groups'), parsed.
type identity struct {
	name, uid string
	disabled  bool
	policies  []*compiled
}

func (m *IAM) lookupKey(ctx context.Context, accessKey string) (keyEntry, error) {
	if e, err, ok := m.keys.get(accessKey); ok {
		return e, err
	}
	var rec keyRecord
	_, err := m.getRecord(ctx, kindKey, accessKey, &rec)
	if errors.Is(err, meta.ErrRecordNotFound) {
		err = ErrUnknownAccessKey
		m.keys.put(accessKey, keyEntry{}, err)
		return keyEntry{}, err
	}
	if err != nil {
		return keyEntry{}, err
	}
	secret, err := m.seal.open(rec.Secret, keyAAD(rec.AccessKey))
	if err != nil {
		return keyEntry{}, fmt.Errorf("access key %q: %w", accessKey, err)
	}
	e := keyEntry{rec: rec, secret: string(secret)}
	m.keys.put(accessKey, e, nil)
	return e, nil
}

func (e keyEntry) usable(m *IAM) bool {
	return !e.rec.Inactive && (e.rec.Expires.IsZero() || m.now().Before(e.rec.Expires))
}

// SecretKey returns the secret of an active, unexpired access key, for
// signature verification (it implements the sigv4 and sigv2 credential
// interfaces). ErrUnknownAccessKey for an unknown key; for an inactive or
// expired one, ErrKeyInactive with ErrUnknownAccessKey (S3 answers both
// InvalidAccessKeyId). A disabled user's keys still verify here and are
// refused by PrincipalFor, after the signature proved the caller holds
// the secret.
func (m *IAM) SecretKey(ctx context.Context, accessKey string) (string, error) {
	if m.isRoot(accessKey) {
		return m.rootSecret, nil
	}
	if m.store == nil {
		return "", fmt.Errorf("looking up access key: %w", ErrUnknownAccessKey)
	}
	e, err := m.lookupKey(ctx, accessKey)
	if err != nil {
		return "", fmt.Errorf("looking up access key: %w", err)
	}
	if !e.usable(m) {
		return "", fmt.Errorf("looking up access key: %w: %w", ErrKeyInactive, ErrUnknownAccessKey)
	}
	return e.secret, nil
}

// PrincipalFor returns the principal owning an access key that already
// passed signature verification. ErrUnknownAccessKey (with ErrKeyInactive
// for an inactive or expired key), ErrUserDisabled with ErrAccessDenied.
func (m *IAM) PrincipalFor(ctx context.Context, accessKey string) (Principal, error) {
	if m.isRoot(accessKey) {
		return m.RootPrincipal(), nil
	}
	if m.store == nil {
		return Principal{}, fmt.Errorf("looking up principal: %w", ErrUnknownAccessKey)
	}
	e, err := m.lookupKey(ctx, accessKey)
	if err != nil {
		return Principal{}, fmt.Errorf("looking up principal: %w", err)
	}
	if !e.usable(m) {
		return Principal{}, fmt.Errorf("looking up principal: %w: %w", ErrKeyInactive, ErrUnknownAccessKey)
	}
	if _, err := m.activeUser(ctx, e.rec.User, e.rec.UserUID); err != nil {
		if errors.Is(err, ErrUserNotFound) {
			err = fmt.Errorf("%w: %w", err, ErrUnknownAccessKey)
		}
		return Principal{}, fmt.Errorf("looking up principal: %w", err)
	}
	return Principal{Name: e.rec.User, AccessKey: accessKey}, nil
}

// CheckAccessKey authenticates an access key and secret pair (a login with
// keys) in constant time. ErrBadCredentials for an unknown key or a wrong
// secret (with ErrKeyInactive for an inactive or expired key),
// ErrUserDisabled with ErrAccessDenied.
func (m *IAM) CheckAccessKey(ctx context.Context, accessKey, secret string) (Principal, error) {
	if m.isRoot(accessKey) {
		if subtle.ConstantTimeCompare([]byte(secret), []byte(m.rootSecret)) != 1 {
			return Principal{}, fmt.Errorf("checking access key: %w", ErrBadCredentials)
		}
		return m.RootPrincipal(), nil
	}
	if m.store == nil {
		return Principal{}, fmt.Errorf("checking access key: %w", ErrBadCredentials)
	}
	e, err := m.lookupKey(ctx, accessKey)
	if errors.Is(err, ErrUnknownAccessKey) {
		return Principal{}, fmt.Errorf("checking access key: %w", ErrBadCredentials)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("checking access key: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(e.secret)) != 1 {
		return Principal{}, fmt.Errorf("checking access key: %w", ErrBadCredentials)
	}
	if !e.usable(m) {
		return Principal{}, fmt.Errorf("checking access key: %w: %w", ErrKeyInactive, ErrBadCredentials)
	}
	if _, err := m.activeUser(ctx, e.rec.User, e.rec.UserUID); err != nil {
		if errors.Is(err, ErrUserNotFound) {
			err = ErrBadCredentials
		}
		return Principal{}, fmt.Errorf("checking access key: %w", err)
	}
	return Principal{Name: e.rec.User, AccessKey: accessKey}, nil
}

// CheckPassword authenticates a console login: root's name and secret, or
// a user's name and password. ErrBadCredentials for an unknown user, a
// user without a password or a wrong password (each taking as long as the
// others); ErrUserDisabled with ErrAccessDenied for a disabled user with
// the right password.
func (m *IAM) CheckPassword(ctx context.Context, user, password string) (Principal, error) {
	if m.isRoot(user) {
		if subtle.ConstantTimeCompare([]byte(password), []byte(m.rootSecret)) != 1 {
			return Principal{}, fmt.Errorf("checking password: %w", ErrBadCredentials)
		}
		return m.RootPrincipal(), nil
	}
	var rec userRecord
	if m.store != nil {
		// Read afresh rather than from the cache: a password change on
		// another instance must count at once.
		if _, err := m.getRecord(ctx, kindUser, user, &rec); err != nil && !errors.Is(err, meta.ErrRecordNotFound) {
			return Principal{}, fmt.Errorf("checking password: %w", err)
		}
	}
	hash := rec.Password
	if hash == "" {
		hash = dummyHash()
	}
	if !checkPassword(hash, password) || rec.Password == "" {
		return Principal{}, fmt.Errorf("checking password: %w", ErrBadCredentials)
	}
	if rec.Disabled {
		return Principal{}, fmt.Errorf("checking password for %q: %w: %w", user, ErrUserDisabled, ErrAccessDenied)
	}
	return Principal{Name: rec.Name}, nil
}

// UserPrincipal returns the principal of a user by name (root's name gives
// root), checking that it still exists and is enabled: what a session
// that carries only a name must ask on every request. ErrUserNotFound,
// ErrUserDisabled with ErrAccessDenied.
func (m *IAM) UserPrincipal(ctx context.Context, name string) (Principal, error) {
	if m.isRoot(name) {
		p := m.RootPrincipal()
		p.AccessKey = ""
		return p, nil
	}
	if m.store == nil {
		return Principal{}, fmt.Errorf("user %q: %w", name, ErrUserNotFound)
	}
	if _, err := m.activeUser(ctx, name, ""); err != nil {
		return Principal{}, err
	}
	return Principal{Name: name}, nil
}

// CanonicalUserName returns the name of the user (or root) whose
// CanonicalID is id, for ACL grants. ErrUserNotFound.
func (m *IAM) CanonicalUserName(ctx context.Context, id string) (string, error) {
	if CanonicalID(m.rootUser) == id {
		return m.rootUser, nil
	}
	if m.store != nil {
		users, err := listRecords[userRecord](ctx, m, kindUser)
		if err != nil {
			return "", err
		}
		for _, u := range users {
			if CanonicalID(u.Name) == id {
				return u.Name, nil
			}
		}
	}
	return "", fmt.Errorf("canonical id %q: %w", id, ErrUserNotFound)
}

// activeUser resolves a user for a credential bound to uid ("" accepts
// any): ErrUserNotFound when the user, or that incarnation of it, is gone;
// ErrUserDisabled with ErrAccessDenied when disabled.
func (m *IAM) activeUser(ctx context.Context, name, uid string) (*identity, error) {
	id, err := m.identity(ctx, name)
	if err != nil {
		return nil, err
	}
	if uid != "" && id.uid != uid {
		return nil, fmt.Errorf("user %q was deleted and created again: %w", name, ErrUserNotFound)
	}
	if id.disabled {
		return nil, fmt.Errorf("user %q: %w: %w", name, ErrUserDisabled, ErrAccessDenied)
	}
	return id, nil
}

// identity resolves a user through the cache.
func (m *IAM) identity(ctx context.Context, name string) (*identity, error) {
	if id, err, ok := m.users.get(name); ok {
		return id, err
	}
	id, err := m.loadIdentity(ctx, name)
	if err == nil || errors.Is(err, ErrUserNotFound) {
		m.users.put(name, id, err)
	}
	return id, err
}

func (m *IAM) loadIdentity(ctx context.Context, name string) (*identity, error) {
	var u userRecord
	if _, err := m.getRecord(ctx, kindUser, name, &u); err != nil {
		return nil, fmt.Errorf("user %q: %w", name, notFound(err, ErrUserNotFound))
	}
	id := &identity{name: u.Name, uid: u.UID, disabled: u.Disabled}
	if err := m.addPolicies(ctx, id, u.Policies); err != nil {
		return nil, err
	}
	for _, g := range u.Groups {
		var gr groupRecord
		_, err := m.getRecord(ctx, kindGroup, g.Name, &gr)
		if errors.Is(err, meta.ErrRecordNotFound) || err == nil && gr.UID != g.UID {
			continue // a stale membership grants nothing
		}
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", g.Name, err)
		}
		if err := m.addPolicies(ctx, id, gr.Policies); err != nil {
			return nil, err
		}
	}
	return id, nil
}

func (m *IAM) addPolicies(ctx context.Context, id *identity, refs []ref) error {
	for _, r := range refs {
		if r.UID == "" {
			if p, ok := policy.Builtin(r.Name); ok {
				id.policies = append(id.policies, &compiled{p: p})
			}
			continue
		}
		var rec policyRecord
		_, err := m.getRecord(ctx, kindPolicy, r.Name, &rec)
		if errors.Is(err, meta.ErrRecordNotFound) || err == nil && rec.UID != r.UID {
			continue // a stale attachment grants nothing
		}
		if err != nil {
			return fmt.Errorf("policy %q: %w", r.Name, err)
		}
		c, err := m.compiled.parse(rec.Document)
		if err != nil {
			return fmt.Errorf("stored policy %q: %w", r.Name, err)
		}
		id.policies = append(id.policies, c)
	}
	return nil
}
