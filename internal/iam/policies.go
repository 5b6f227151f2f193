package iam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/policy"
)

type policyRecord struct {
	Name     string          `json:"name"`
	UID      string          `json:"uid"`
	Document json.RawMessage `json:"document"` // canonical JSON, as validated
	Created  time.Time       `json:"created"`
	Updated  time.Time       `json:"updated"`
}

// Policy is a named identity policy: a built-in one (readwrite, readonly,
// writeonly, admin) or one stored by an administrator.
type Policy struct {
	Name string
	// Document is the policy in canonical JSON (policy.Policy.MarshalJSON).
	Document []byte
	Builtin  bool
	Created  time.Time // zero for built-ins
	Updated  time.Time
}

// MaxPolicySize is the largest identity policy document accepted, in
// bytes (AWS allows 6,144 characters for a managed policy; Coffer is
// more generous but still bounded).
const MaxPolicySize = 20 << 10

// parseIdentityPolicy validates a document for users and groups: AWS IAM
// JSON without Principal. Errors wrap policy.ErrMalformed.
func parseIdentityPolicy(doc []byte) (*policy.Policy, []byte, error) {
	if len(doc) > MaxPolicySize {
		return nil, nil, fmt.Errorf("%w: document is larger than %d bytes", policy.ErrMalformed, MaxPolicySize)
	}
	p, err := policy.Parse(doc)
	if err != nil {
		return nil, nil, err
	}
	if err := p.ValidateIdentityPolicy(); err != nil {
		return nil, nil, err
	}
	canon, err := p.MarshalJSON()
	if err != nil {
		return nil, nil, err
	}
	return p, canon, nil
}

// CreatePolicy stores a named identity policy. ErrInvalidName,
// ErrPolicyExists (built-in names included), policy.ErrMalformed.
func (m *IAM) CreatePolicy(ctx context.Context, name string, document []byte) (Policy, error) {
	if err := m.needStore(); err != nil {
		return Policy{}, err
	}
	if err := checkName("policy", name, MaxPolicyNameLength); err != nil {
		return Policy{}, err
	}
	if _, ok := policy.Builtin(name); ok {
		return Policy{}, fmt.Errorf("creating policy %q: %w", name, ErrPolicyExists)
	}
	_, canon, err := parseIdentityPolicy(document)
	if err != nil {
		return Policy{}, fmt.Errorf("creating policy %q: %w", name, err)
	}
	now := m.now().UTC()
	rec := policyRecord{Name: name, UID: newUID(), Document: canon, Created: now, Updated: now}
	if err := m.createRecord(ctx, kindPolicy, name, rec, time.Time{}); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			err = ErrPolicyExists
		}
		return Policy{}, fmt.Errorf("creating policy %q: %w", name, err)
	}
	m.invalidate()
	return policyFrom(rec), nil
}

// GetPolicy returns a built-in or stored policy; ErrPolicyNotFound.
func (m *IAM) GetPolicy(ctx context.Context, name string) (Policy, error) {
	if p, ok := builtinPolicy(name); ok {
		return p, nil
	}
	if err := m.needStore(); err != nil {
		return Policy{}, err
	}
	var rec policyRecord
	if _, err := m.getRecord(ctx, kindPolicy, name, &rec); err != nil {
		return Policy{}, fmt.Errorf("getting policy %q: %w", name, notFound(err, ErrPolicyNotFound))
	}
	return policyFrom(rec), nil
}

// ListPolicies returns the built-in policies, then the stored ones, each
// ordered by name.
func (m *IAM) ListPolicies(ctx context.Context) ([]Policy, error) {
	var out []Policy
	for _, n := range policy.BuiltinNames() {
		p, _ := builtinPolicy(n)
		out = append(out, p)
	}
	if m.store == nil {
		return out, nil
	}
	recs, err := listRecords[policyRecord](ctx, m, kindPolicy)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		out = append(out, policyFrom(r))
	}
	return out, nil
}

// UpdatePolicy replaces a stored policy's document; users and groups it is
// attached to get the new permissions at once (within the cache TTL on
// other instances). ErrPolicyNotFound, ErrBuiltinPolicy,
// policy.ErrMalformed.
func (m *IAM) UpdatePolicy(ctx context.Context, name string, document []byte) (Policy, error) {
	if _, ok := policy.Builtin(name); ok {
		return Policy{}, fmt.Errorf("updating policy %q: %w", name, ErrBuiltinPolicy)
	}
	if err := m.needStore(); err != nil {
		return Policy{}, err
	}
	_, canon, err := parseIdentityPolicy(document)
	if err != nil {
		return Policy{}, fmt.Errorf("updating policy %q: %w", name, err)
	}
	rec, err := modify(ctx, m, kindPolicy, name, func(r *policyRecord) error {
		r.Document, r.Updated = canon, m.now().UTC()
		return nil
	})
	if err != nil {
		return Policy{}, fmt.Errorf("updating policy %q: %w", name, notFound(err, ErrPolicyNotFound))
	}
	return policyFrom(rec), nil
}

// DeletePolicy removes a stored policy. ErrPolicyNotFound,
// ErrBuiltinPolicy, ErrPolicyInUse while a user or group has it attached
// (as AWS refuses; detach it first).
func (m *IAM) DeletePolicy(ctx context.Context, name string) error {
	if _, ok := policy.Builtin(name); ok {
		return fmt.Errorf("deleting policy %q: %w", name, ErrBuiltinPolicy)
	}
	if err := m.needStore(); err != nil {
		return err
	}
	var rec policyRecord
	if _, err := m.getRecord(ctx, kindPolicy, name, &rec); err != nil {
		return fmt.Errorf("deleting policy %q: %w", name, notFound(err, ErrPolicyNotFound))
	}
	r := ref{rec.Name, rec.UID}
	users, err := listRecords[userRecord](ctx, m, kindUser)
	if err != nil {
		return err
	}
	for _, u := range users {
		if slices.Contains(u.Policies, r) {
			return fmt.Errorf("deleting policy %q: attached to user %q: %w", name, u.Name, ErrPolicyInUse)
		}
	}
	groups, err := listRecords[groupRecord](ctx, m, kindGroup)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if slices.Contains(g.Policies, r) {
			return fmt.Errorf("deleting policy %q: attached to group %q: %w", name, g.Name, ErrPolicyInUse)
		}
	}
	// An attachment racing with this deletion names this uid, which no
	// later policy of the same name will have: it grants nothing.
	if err := m.deleteRecord(ctx, kindPolicy, name); err != nil {
		return fmt.Errorf("deleting policy %q: %w", name, notFound(err, ErrPolicyNotFound))
	}
	return nil
}

// AttachUserPolicy attaches a policy to a user (a no-op when attached).
// ErrUserNotFound, ErrPolicyNotFound.
func (m *IAM) AttachUserPolicy(ctx context.Context, user, policyName string) error {
	r, err := m.policyRef(ctx, policyName)
	if err != nil {
		return err
	}
	return m.updateUser(ctx, user, func(u *userRecord) error {
		u.Policies = attach(u.Policies, r)
		return nil
	})
}

// DetachUserPolicy detaches a policy from a user. ErrUserNotFound,
// ErrNotAttached.
func (m *IAM) DetachUserPolicy(ctx context.Context, user, policyName string) error {
	return m.updateUser(ctx, user, func(u *userRecord) error {
		var ok bool
		u.Policies, ok = detach(u.Policies, policyName)
		if !ok {
			return fmt.Errorf("policy %q is not attached to user %q: %w", policyName, user, ErrNotAttached)
		}
		return nil
	})
}

// AttachGroupPolicy attaches a policy to a group (a no-op when attached).
// ErrGroupNotFound, ErrPolicyNotFound.
func (m *IAM) AttachGroupPolicy(ctx context.Context, group, policyName string) error {
	r, err := m.policyRef(ctx, policyName)
	if err != nil {
		return err
	}
	return m.updateGroup(ctx, group, func(g *groupRecord) error {
		g.Policies = attach(g.Policies, r)
		return nil
	})
}

// DetachGroupPolicy detaches a policy from a group. ErrGroupNotFound,
// ErrNotAttached.
func (m *IAM) DetachGroupPolicy(ctx context.Context, group, policyName string) error {
	return m.updateGroup(ctx, group, func(g *groupRecord) error {
		var ok bool
		g.Policies, ok = detach(g.Policies, policyName)
		if !ok {
			return fmt.Errorf("policy %q is not attached to group %q: %w", policyName, group, ErrNotAttached)
		}
		return nil
	})
}

func (m *IAM) updateGroup(ctx context.Context, name string, fn func(*groupRecord) error) error {
	if err := m.needStore(); err != nil {
		return err
	}
	if _, err := modify(ctx, m, kindGroup, name, fn); err != nil {
		return fmt.Errorf("updating group %q: %w", name, notFound(err, ErrGroupNotFound))
	}
	return nil
}

// attach adds r, replacing an attachment of an older policy of that name.
func attach(refs []ref, r ref) []ref {
	refs = slices.DeleteFunc(refs, func(x ref) bool { return x.Name == r.Name })
	return append(refs, r)
}

func detach(refs []ref, name string) ([]ref, bool) {
	n := len(refs)
	refs = slices.DeleteFunc(refs, func(x ref) bool { return x.Name == name })
	return refs, len(refs) != n
}

func builtinPolicy(name string) (Policy, bool) {
	p, ok := policy.Builtin(name)
	if !ok {
		return Policy{}, false
	}
	doc, err := p.MarshalJSON()
	if err != nil {
		return Policy{}, false
	}
	return Policy{Name: name, Document: doc, Builtin: true}, true
}

func policyFrom(r policyRecord) Policy {
	return Policy{Name: r.Name, Document: r.Document, Created: r.Created, Updated: r.Updated}
}
