package iam

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

type keyRecord struct {
	AccessKey   string    `json:"accessKey"`
	ID          int64     `json:"id"`
	User        string    `json:"user"`
	UserUID     string    `json:"userUid"` // the key dies with this incarnation of the user
	Secret      string    `json:"secret"`  // sealed under the master key
	Inactive    bool      `json:"inactive,omitempty"`
	Expires     time.Time `json:"expires,omitzero"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
}

// AccessKey is an S3 credential of a user.
type AccessKey struct {
	// ID is a small sequential number, never reused: the id the seed's
	// credentials API addresses a credential by.
	ID        int64
	AccessKey string
	// Secret is set only in CreateAccessKey's result: it is never shown
	// again.
	Secret      string
	User        string
	Active      bool
	Expires     time.Time // zero: never
	Description string
	Created     time.Time
}

// Usable reports whether the key authenticates at now.
func (k AccessKey) Usable(now time.Time) bool {
	return k.Active && (k.Expires.IsZero() || now.Before(k.Expires))
}

// AccessKeyInput describes a new access key.
type AccessKeyInput struct {
	User string
	// AccessKey and Secret are generated (20 and 40 characters, as AWS's)
	// when empty. A custom access key is 3 to 128 letters, digits or
	// "._-@+"; a custom secret 8 to 128 printable ASCII characters.
	AccessKey   string
	Secret      string
	Description string
	Expires     time.Time // zero: never; else must be in the future
	Inactive    bool
}

// AccessKeyUpdate changes the fields that are not nil.
type AccessKeyUpdate struct {
	Active      *bool
	Description *string
	// Expires sets the expiry; a pointer to the zero time removes it.
	Expires *time.Time
	// User moves the key to another (existing) user.
	User *string
}

const maxDescription = 256

func validAccessKeyID(s string) bool {
	if len(s) < 3 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@' || c == '+') {
			return false
		}
	}
	return true
}

func validSecret(s string) bool {
	if len(s) < 8 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func keyAAD(accessKey string) []byte { return []byte("coffer-iam-key:" + accessKey) }

// CreateAccessKey adds an access key to a user and returns it with its
// secret (shown only now). ErrUserNotFound, ErrKeyExists (a custom key in
// use, root's included), ErrInvalidName (custom key), ErrInvalidInput
// (custom secret, description, expiry).
func (m *IAM) CreateAccessKey(ctx context.Context, in AccessKeyInput) (AccessKey, error) {
	if err := m.needStore(); err != nil {
		return AccessKey{}, err
	}
	custom := in.AccessKey != ""
	if custom && !validAccessKeyID(in.AccessKey) {
		return AccessKey{}, fmt.Errorf("access key %q: 3 to 128 letters, digits or ._-@+: %w", in.AccessKey, ErrInvalidName)
	}
	if in.Secret != "" && !validSecret(in.Secret) {
		return AccessKey{}, fmt.Errorf("secret key: 8 to 128 printable ASCII characters without spaces: %w", ErrInvalidInput)
	}
	if len(in.Description) > maxDescription {
		return AccessKey{}, fmt.Errorf("description longer than %d bytes: %w", maxDescription, ErrInvalidInput)
	}
	now := m.now().UTC()
	if !in.Expires.IsZero() && !in.Expires.After(now) {
		return AccessKey{}, fmt.Errorf("expiry %s is not in the future: %w", in.Expires.Format(time.RFC3339), ErrInvalidInput)
	}
	if custom && m.isRoot(in.AccessKey) {
		return AccessKey{}, fmt.Errorf("creating access key: %w", ErrKeyExists)
	}
	user, err := m.userRecord(ctx, in.User)
	if err != nil {
		return AccessKey{}, fmt.Errorf("creating access key: %w", err)
	}
	secret := in.Secret
	if secret == "" {
		secret = randomString(40, secretChars)
	}
	id, err := m.nextSeq(ctx, "accesskey")
	if err != nil {
		return AccessKey{}, fmt.Errorf("creating access key: %w", err)
	}
	for range maxRetries {
		ak := in.AccessKey
		if !custom {
			ak = randomString(20, upperDigits)
		}
		sealed, err := m.seal.seal([]byte(secret), keyAAD(ak))
		if err != nil {
			return AccessKey{}, err
		}
		rec := keyRecord{AccessKey: ak, ID: id, User: user.Name, UserUID: user.UID, Secret: sealed,
			Inactive: in.Inactive, Expires: in.Expires.UTC(), Description: in.Description, Created: now}
		if in.Expires.IsZero() {
			rec.Expires = time.Time{}
		}
		err = m.createRecord(ctx, kindKey, ak, rec, time.Time{})
		if errors.Is(err, meta.ErrConflict) {
			if custom {
				return AccessKey{}, fmt.Errorf("creating access key %q: %w", ak, ErrKeyExists)
			}
			continue // a generated id collided: draw another
		}
		if err != nil {
			return AccessKey{}, fmt.Errorf("creating access key: %w", err)
		}
		m.invalidate()
		k := keyFrom(rec)
		k.Secret = secret
		return k, nil
	}
	return AccessKey{}, fmt.Errorf("creating access key: no free id: %w", ErrKeyExists)
}

// GetAccessKey returns a key without its secret; ErrKeyNotFound.
func (m *IAM) GetAccessKey(ctx context.Context, accessKey string) (AccessKey, error) {
	rec, err := m.keyRecord(ctx, accessKey)
	if err != nil {
		return AccessKey{}, err
	}
	return keyFrom(rec), nil
}

// AccessKeyByID returns the key with that sequential id; ErrKeyNotFound.
func (m *IAM) AccessKeyByID(ctx context.Context, id int64) (AccessKey, error) {
	keys, err := m.ListAccessKeys(ctx, "")
	if err != nil {
		return AccessKey{}, err
	}
	for _, k := range keys {
		if k.ID == id {
			return k, nil
		}
	}
	return AccessKey{}, fmt.Errorf("access key #%d: %w", id, ErrKeyNotFound)
}

// ListAccessKeys returns the keys of a user (ErrUserNotFound), or of every
// user when user is "", ordered by access key, without secrets.
func (m *IAM) ListAccessKeys(ctx context.Context, user string) ([]AccessKey, error) {
	if err := m.needStore(); err != nil {
		return nil, err
	}
	uids := map[string]string{}
	if user != "" {
		u, err := m.userRecord(ctx, user)
		if err != nil {
			return nil, err
		}
		uids[u.Name] = u.UID
	} else {
		users, err := listRecords[userRecord](ctx, m, kindUser)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			uids[u.Name] = u.UID
		}
	}
	recs, err := listRecords[keyRecord](ctx, m, kindKey)
	if err != nil {
		return nil, err
	}
	out := []AccessKey{}
	for _, r := range recs {
		if uid, ok := uids[r.User]; ok && uid == r.UserUID {
			out = append(out, keyFrom(r))
			continue
		}
		if user != "" {
			continue
		}
		// The user may have been created after the users were listed;
		// read it to be sure before treating the key as an orphan.
		u, err := m.userRecord(ctx, r.User)
		switch {
		case err == nil && u.UID == r.UserUID:
			out = append(out, keyFrom(r))
		case err == nil || errors.Is(err, ErrUserNotFound):
			// Left behind by a user deletion that did not finish: its
			// user's incarnation is gone for good, so it can never
			// authenticate again. Finish the job.
			if err := m.deleteRecord(ctx, kindKey, r.AccessKey); err != nil && !errors.Is(err, meta.ErrRecordNotFound) {
				return nil, fmt.Errorf("removing orphaned access key: %w", err)
			}
		default:
			return nil, err
		}
	}
	return out, nil
}

// UpdateAccessKey changes a key's active flag, description, expiry or
// user. ErrKeyNotFound, ErrUserNotFound, ErrInvalidInput.
func (m *IAM) UpdateAccessKey(ctx context.Context, accessKey string, u AccessKeyUpdate) (AccessKey, error) {
	if err := m.needStore(); err != nil {
		return AccessKey{}, err
	}
	if u.Description != nil && len(*u.Description) > maxDescription {
		return AccessKey{}, fmt.Errorf("description longer than %d bytes: %w", maxDescription, ErrInvalidInput)
	}
	var owner userRecord
	if u.User != nil {
		var err error
		if owner, err = m.userRecord(ctx, *u.User); err != nil {
			return AccessKey{}, fmt.Errorf("updating access key %q: %w", accessKey, err)
		}
	}
	rec, err := modify(ctx, m, kindKey, accessKey, func(k *keyRecord) error {
		if u.Active != nil {
			k.Inactive = !*u.Active
		}
		if u.Description != nil {
			k.Description = *u.Description
		}
		if u.Expires != nil {
			k.Expires = u.Expires.UTC()
			if u.Expires.IsZero() {
				k.Expires = time.Time{}
			}
		}
		if u.User != nil {
			k.User, k.UserUID = owner.Name, owner.UID
		}
		return nil
	})
	if err != nil {
		return AccessKey{}, fmt.Errorf("updating access key %q: %w", accessKey, notFound(err, ErrKeyNotFound))
	}
	return keyFrom(rec), nil
}

// DeleteAccessKey removes a key; ErrKeyNotFound.
func (m *IAM) DeleteAccessKey(ctx context.Context, accessKey string) error {
	if err := m.needStore(); err != nil {
		return err
	}
	if err := m.deleteRecord(ctx, kindKey, accessKey); err != nil {
		return fmt.Errorf("deleting access key %q: %w", accessKey, notFound(err, ErrKeyNotFound))
	}
	return nil
}

func (m *IAM) keyRecord(ctx context.Context, accessKey string) (keyRecord, error) {
	if err := m.needStore(); err != nil {
		return keyRecord{}, err
	}
	var rec keyRecord
	if _, err := m.getRecord(ctx, kindKey, accessKey, &rec); err != nil {
		return keyRecord{}, fmt.Errorf("getting access key %q: %w", accessKey, notFound(err, ErrKeyNotFound))
	}
	return rec, nil
}

func keyFrom(r keyRecord) AccessKey {
	return AccessKey{ID: r.ID, AccessKey: r.AccessKey, User: r.User, Active: !r.Inactive,
		Expires: r.Expires, Description: r.Description, Created: r.Created}
}

// nextSeq returns the next value of a named counter, shared by every
// instance through the store.
func (m *IAM) nextSeq(ctx context.Context, name string) (int64, error) {
	id := "seq." + name
	for range maxRetries {
		rec, err := m.store.GetRecord(ctx, kindMeta, id)
		var n int64
		rev := meta.RevNew
		switch {
		case errors.Is(err, meta.ErrRecordNotFound):
		case err != nil:
			return 0, err
		default:
			if n, err = strconv.ParseInt(string(rec.Data), 10, 64); err != nil {
				return 0, fmt.Errorf("counter %s is corrupt: %w", name, err)
			}
			rev = rec.Rev
		}
		n++
		_, err = m.store.PutRecord(ctx, meta.Record{Kind: kindMeta, ID: id, Data: []byte(strconv.FormatInt(n, 10)), Rev: rev})
		if errors.Is(err, meta.ErrConflict) {
			continue
		}
		if err != nil {
			return 0, err
		}
		return n, nil
	}
	return 0, fmt.Errorf("counter %s: too much contention: %w", name, meta.ErrConflict)
}
