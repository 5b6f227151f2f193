package iam

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/policy"
)

// ref names a group or policy from a user or group record, with the uid the
// target had when it was attached. A target deleted and created again under
// the same name has another uid, so a membership or attachment left behind
// by a race with the deletion never grants the new one's permissions.
type ref struct {
	Name string `json:"name"`
	UID  string `json:"uid,omitempty"` // "" for built-in policies
}

type userRecord struct {
	Name     string    `json:"name"`
	UID      string    `json:"uid"`
	Disabled bool      `json:"disabled,omitempty"`
	Password string    `json:"password,omitempty"` // PHC argon2id (or imported bcrypt)
	Groups   []ref     `json:"groups,omitempty"`
	Policies []ref     `json:"policies,omitempty"`
	Created  time.Time `json:"created"`
}

type groupRecord struct {
	Name     string    `json:"name"`
	UID      string    `json:"uid"`
	Policies []ref     `json:"policies,omitempty"`
	Created  time.Time `json:"created"`
}

// User is a user as the admin API shows it. A user is like an AWS account:
// it may create buckets and has full access to the buckets it owns; its
// attached policies (and its groups') grant it more, or restrict it.
type User struct {
	Name        string
	Enabled     bool
	HasPassword bool
	Groups      []string
	Policies    []string // attached directly, not through groups
	Created     time.Time
}

// UserInput describes a new user.
type UserInput struct {
	Name string
	// Password, when set, lets the user log in to the console (at least
	// MinPasswordLength characters).
	Password string
	Disabled bool
	Groups   []string // existing groups to join
	Policies []string // existing policies to attach
}

// Group is a named set of users sharing attached policies.
type Group struct {
	Name     string
	Members  []string // sorted
	Policies []string
	Created  time.Time
}

// Limits on names and passwords.
const (
	MaxNameLength       = 64
	MaxPolicyNameLength = 128
	MinPasswordLength   = 8
	MaxPasswordLength   = 1024
)

// validName accepts AWS IAM's name characters: letters, digits and
// "+=,.@_-". They include nothing that policy principals, ARNs, SigV4
// credential scopes or record keys give a meaning to.
func validName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '=' ||
			c == ',' || c == '.' || c == '@' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func checkName(kind, name string, max int) error {
	if !validName(name, max) {
		return fmt.Errorf("%s name %q: 1 to %d letters, digits or +=,.@_-: %w", kind, name, max, ErrInvalidName)
	}
	return nil
}

func passwordRules(pw string) error {
	if len(pw) < MinPasswordLength || len(pw) > MaxPasswordLength {
		return fmt.Errorf("password must be %d to %d characters: %w", MinPasswordLength, MaxPasswordLength, ErrInvalidInput)
	}
	return nil
}

func newUID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CreateUser adds a user. ErrInvalidName, ErrInvalidInput (password),
// ErrUserExists (also for root's name), ErrUserOwnsBuckets (the name still
// owns buckets of a deleted user), ErrGroupNotFound, ErrPolicyNotFound.
func (m *IAM) CreateUser(ctx context.Context, in UserInput) (User, error) {
	if err := m.needStore(); err != nil {
		return User{}, err
	}
	if err := checkName("user", in.Name, MaxNameLength); err != nil {
		return User{}, err
	}
	if in.Password != "" {
		if err := passwordRules(in.Password); err != nil {
			return User{}, err
		}
	}
	if m.isRoot(in.Name) {
		return User{}, fmt.Errorf("creating user %q: %w", in.Name, ErrUserExists)
	}
	rec := userRecord{Name: in.Name, UID: newUID(), Disabled: in.Disabled, Created: m.now().UTC()}
	var err error
	if rec.Policies, err = m.policyRefs(ctx, in.Policies); err != nil {
		return User{}, fmt.Errorf("creating user %q: %w", in.Name, err)
	}
	if rec.Groups, err = m.groupRefs(ctx, in.Groups); err != nil {
		return User{}, fmt.Errorf("creating user %q: %w", in.Name, err)
	}
	if owns, err := m.ownsBuckets(ctx, in.Name); err != nil {
		return User{}, fmt.Errorf("creating user %q: %w", in.Name, err)
	} else if owns {
		return User{}, fmt.Errorf("creating user %q: %w", in.Name, ErrUserOwnsBuckets)
	}
	if in.Password != "" {
		rec.Password = hashPassword(in.Password)
	}
	if err := m.createRecord(ctx, kindUser, in.Name, rec, time.Time{}); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			err = ErrUserExists
		}
		return User{}, fmt.Errorf("creating user %q: %w", in.Name, err)
	}
	m.invalidate()
	return m.userView(ctx, rec)
}

// GetUser returns a user; ErrUserNotFound.
func (m *IAM) GetUser(ctx context.Context, name string) (User, error) {
	rec, err := m.userRecord(ctx, name)
	if err != nil {
		return User{}, err
	}
	return m.userView(ctx, rec)
}

// ListUsers returns every user, ordered by name.
func (m *IAM) ListUsers(ctx context.Context) ([]User, error) {
	if err := m.needStore(); err != nil {
		return nil, err
	}
	recs, err := listRecords[userRecord](ctx, m, kindUser)
	if err != nil {
		return nil, err
	}
	groups, err := m.groupUIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]User, 0, len(recs))
	for _, r := range recs {
		out = append(out, userFrom(r, groups))
	}
	return out, nil
}

// DeleteUser removes a user with its access keys and API tokens.
// ErrUserNotFound; ErrUserOwnsBuckets while it owns any bucket (delete them
// first: a bucket outliving its owner would pass to the next user of the
// name).
func (m *IAM) DeleteUser(ctx context.Context, name string) error {
	rec, err := m.userRecord(ctx, name)
	if err != nil {
		return err
	}
	if owns, err := m.ownsBuckets(ctx, name); err != nil {
		return fmt.Errorf("deleting user %q: %w", name, err)
	} else if owns {
		return fmt.Errorf("deleting user %q: %w", name, ErrUserOwnsBuckets)
	}
	if err := m.deleteRecord(ctx, kindUser, name); err != nil {
		return fmt.Errorf("deleting user %q: %w", name, notFound(err, ErrUserNotFound))
	}
	// Keys and tokens are bound to the user's uid and stop working with
	// the record; removing them is housekeeping, retried by later listings.
	return m.removeCredentialsOf(ctx, rec)
}

// SetUserPassword sets (or, with "", removes) a user's console password.
// ErrUserNotFound, ErrInvalidInput.
func (m *IAM) SetUserPassword(ctx context.Context, name, password string) error {
	hash := ""
	if password != "" {
		if err := passwordRules(password); err != nil {
			return err
		}
		hash = hashPassword(password)
	}
	return m.updateUser(ctx, name, func(u *userRecord) error {
		u.Password = hash
		return nil
	})
}

// SetUserEnabled enables or disables a user. A disabled user's keys,
// tokens and password are refused (within the cache TTL on other
// instances). ErrUserNotFound.
func (m *IAM) SetUserEnabled(ctx context.Context, name string, enabled bool) error {
	return m.updateUser(ctx, name, func(u *userRecord) error {
		u.Disabled = !enabled
		return nil
	})
}

func (m *IAM) updateUser(ctx context.Context, name string, fn func(*userRecord) error) error {
	if err := m.needStore(); err != nil {
		return err
	}
	if _, err := modify(ctx, m, kindUser, name, fn); err != nil {
		return fmt.Errorf("updating user %q: %w", name, notFound(err, ErrUserNotFound))
	}
	return nil
}

func (m *IAM) userRecord(ctx context.Context, name string) (userRecord, error) {
	if err := m.needStore(); err != nil {
		return userRecord{}, err
	}
	var rec userRecord
	if _, err := m.getRecord(ctx, kindUser, name, &rec); err != nil {
		return userRecord{}, fmt.Errorf("getting user %q: %w", name, notFound(err, ErrUserNotFound))
	}
	return rec, nil
}

func (m *IAM) userView(ctx context.Context, rec userRecord) (User, error) {
	groups := map[string]string{}
	for _, g := range rec.Groups {
		var gr groupRecord
		if _, err := m.getRecord(ctx, kindGroup, g.Name, &gr); err == nil {
			groups[gr.Name] = gr.UID
		} else if !errors.Is(err, meta.ErrRecordNotFound) {
			return User{}, fmt.Errorf("getting group %q: %w", g.Name, err)
		}
	}
	return userFrom(rec, groups), nil
}

// userFrom renders a record, leaving out memberships of groups that no
// longer exist (groups maps live group names to their uids).
func userFrom(r userRecord, groups map[string]string) User {
	u := User{Name: r.Name, Enabled: !r.Disabled, HasPassword: r.Password != "", Created: r.Created,
		Groups: []string{}, Policies: []string{}}
	for _, g := range r.Groups {
		if groups[g.Name] == g.UID {
			u.Groups = append(u.Groups, g.Name)
		}
	}
	for _, p := range r.Policies {
		u.Policies = append(u.Policies, p.Name)
	}
	return u
}

// groupUIDs maps every group's name to its uid.
func (m *IAM) groupUIDs(ctx context.Context) (map[string]string, error) {
	gs, err := listRecords[groupRecord](ctx, m, kindGroup)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(gs))
	for _, g := range gs {
		out[g.Name] = g.UID
	}
	return out, nil
}

func (m *IAM) ownsBuckets(ctx context.Context, name string) (bool, error) {
	if m.buckets == nil {
		return false, nil
	}
	bs, err := m.buckets.Buckets(ctx)
	if err != nil {
		return false, fmt.Errorf("listing buckets: %w", err)
	}
	for _, b := range bs {
		if b.Owner == name {
			return true, nil
		}
	}
	return false, nil
}

func (m *IAM) removeCredentialsOf(ctx context.Context, u userRecord) error {
	var errs []error
	keys, err := listRecords[keyRecord](ctx, m, kindKey)
	if err != nil {
		errs = append(errs, err)
	}
	for _, k := range keys {
		if k.User == u.Name {
			if err := m.deleteRecord(ctx, kindKey, k.AccessKey); err != nil && !errors.Is(err, meta.ErrRecordNotFound) {
				errs = append(errs, err)
			}
		}
	}
	tokens, err := listRecords[tokenRecord](ctx, m, kindToken)
	if err != nil {
		errs = append(errs, err)
	}
	for _, t := range tokens {
		if !t.Root && t.User == u.Name {
			if err := m.deleteRecord(ctx, kindToken, t.ID); err != nil && !errors.Is(err, meta.ErrRecordNotFound) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing credentials of user %q: %w", u.Name, err)
	}
	return nil
}

// policyRefs resolves policy names (built-in or stored) to references.
func (m *IAM) policyRefs(ctx context.Context, names []string) ([]ref, error) {
	var out []ref
	for _, n := range names {
		r, err := m.policyRef(ctx, n)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *IAM) policyRef(ctx context.Context, name string) (ref, error) {
	if _, ok := policy.Builtin(name); ok {
		return ref{Name: name}, nil
	}
	var rec policyRecord
	if _, err := m.getRecord(ctx, kindPolicy, name, &rec); err != nil {
		return ref{}, fmt.Errorf("policy %q: %w", name, notFound(err, ErrPolicyNotFound))
	}
	return ref{Name: name, UID: rec.UID}, nil
}

func (m *IAM) groupRefs(ctx context.Context, names []string) ([]ref, error) {
	var out []ref
	for _, n := range names {
		var rec groupRecord
		if _, err := m.getRecord(ctx, kindGroup, n, &rec); err != nil {
			return nil, fmt.Errorf("group %q: %w", n, notFound(err, ErrGroupNotFound))
		}
		if r := (ref{Name: n, UID: rec.UID}); !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// CreateGroup adds a group with the given policies attached.
// ErrInvalidName, ErrGroupExists, ErrPolicyNotFound.
func (m *IAM) CreateGroup(ctx context.Context, name string, policies []string) (Group, error) {
	if err := m.needStore(); err != nil {
		return Group{}, err
	}
	if err := checkName("group", name, MaxNameLength); err != nil {
		return Group{}, err
	}
	refs, err := m.policyRefs(ctx, policies)
	if err != nil {
		return Group{}, fmt.Errorf("creating group %q: %w", name, err)
	}
	rec := groupRecord{Name: name, UID: newUID(), Policies: refs, Created: m.now().UTC()}
	if err := m.createRecord(ctx, kindGroup, name, rec, time.Time{}); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			err = ErrGroupExists
		}
		return Group{}, fmt.Errorf("creating group %q: %w", name, err)
	}
	m.invalidate()
	return groupFrom(rec, nil), nil
}

// GetGroup returns a group with its members; ErrGroupNotFound.
func (m *IAM) GetGroup(ctx context.Context, name string) (Group, error) {
	rec, err := m.groupRecord(ctx, name)
	if err != nil {
		return Group{}, err
	}
	members, err := m.members(ctx)
	if err != nil {
		return Group{}, err
	}
	return groupFrom(rec, members[ref{rec.Name, rec.UID}]), nil
}

// ListGroups returns every group with its members, ordered by name.
func (m *IAM) ListGroups(ctx context.Context) ([]Group, error) {
	if err := m.needStore(); err != nil {
		return nil, err
	}
	recs, err := listRecords[groupRecord](ctx, m, kindGroup)
	if err != nil {
		return nil, err
	}
	members, err := m.members(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Group, 0, len(recs))
	for _, r := range recs {
		out = append(out, groupFrom(r, members[ref{r.Name, r.UID}]))
	}
	return out, nil
}

// DeleteGroup removes a group; its members lose its policies at once.
// ErrGroupNotFound.
func (m *IAM) DeleteGroup(ctx context.Context, name string) error {
	rec, err := m.groupRecord(ctx, name)
	if err != nil {
		return err
	}
	if err := m.deleteRecord(ctx, kindGroup, name); err != nil {
		return fmt.Errorf("deleting group %q: %w", name, notFound(err, ErrGroupNotFound))
	}
	// Memberships now name a uid no group has, so they grant nothing;
	// dropping them only tidies the user records.
	users, err := listRecords[userRecord](ctx, m, kindUser)
	if err != nil {
		return fmt.Errorf("deleting group %q: %w", name, err)
	}
	gone := ref{rec.Name, rec.UID}
	for _, u := range users {
		if !slices.Contains(u.Groups, gone) {
			continue
		}
		_, err := modify(ctx, m, kindUser, u.Name, func(u *userRecord) error {
			u.Groups = slices.DeleteFunc(u.Groups, func(r ref) bool { return r == gone })
			return nil
		})
		if err != nil && !errors.Is(err, meta.ErrRecordNotFound) {
			return fmt.Errorf("deleting group %q: removing member %q: %w", name, u.Name, err)
		}
	}
	return nil
}

// AddUserToGroup makes user a member of group (a no-op when it is one).
// ErrUserNotFound, ErrGroupNotFound.
func (m *IAM) AddUserToGroup(ctx context.Context, user, group string) error {
	g, err := m.groupRecord(ctx, group)
	if err != nil {
		return err
	}
	r := ref{g.Name, g.UID}
	return m.updateUser(ctx, user, func(u *userRecord) error {
		// A membership of an older group of that name is replaced.
		u.Groups = slices.DeleteFunc(u.Groups, func(x ref) bool { return x.Name == group })
		u.Groups = append(u.Groups, r)
		return nil
	})
}

// RemoveUserFromGroup ends a membership. ErrUserNotFound, ErrGroupNotFound,
// ErrNotAttached when the user is not a member.
func (m *IAM) RemoveUserFromGroup(ctx context.Context, user, group string) error {
	if _, err := m.groupRecord(ctx, group); err != nil {
		return err
	}
	return m.updateUser(ctx, user, func(u *userRecord) error {
		n := len(u.Groups)
		u.Groups = slices.DeleteFunc(u.Groups, func(x ref) bool { return x.Name == group })
		if len(u.Groups) == n {
			return fmt.Errorf("user %q is not in group %q: %w", user, group, ErrNotAttached)
		}
		return nil
	})
}

func (m *IAM) groupRecord(ctx context.Context, name string) (groupRecord, error) {
	if err := m.needStore(); err != nil {
		return groupRecord{}, err
	}
	var rec groupRecord
	if _, err := m.getRecord(ctx, kindGroup, name, &rec); err != nil {
		return groupRecord{}, fmt.Errorf("getting group %q: %w", name, notFound(err, ErrGroupNotFound))
	}
	return rec, nil
}

// members maps each group (name and uid) to its members' names, sorted.
func (m *IAM) members(ctx context.Context) (map[ref][]string, error) {
	users, err := listRecords[userRecord](ctx, m, kindUser)
	if err != nil {
		return nil, err
	}
	out := map[ref][]string{}
	for _, u := range users { // listed in name order, so each list is sorted
		for _, g := range u.Groups {
			out[g] = append(out[g], u.Name)
		}
	}
	return out, nil
}

func groupFrom(r groupRecord, members []string) Group {
	g := Group{Name: r.Name, Members: members, Policies: []string{}, Created: r.Created}
	if g.Members == nil {
		g.Members = []string{}
	}
	for _, p := range r.Policies {
		g.Policies = append(g.Policies, p.Name)
	}
	return g
}
