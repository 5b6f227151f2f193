package mgmtapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cofferstore/coffer/internal/iam"
)

// identityRoutes registers users, groups, access keys and policies.
//
// Managing identities takes admin:<Verb><Noun> actions (the built-in
// "admin" policy allows them all). Self-service needs no policy: any
// authenticated user may list, create, change and delete its OWN access
// keys (and API tokens, in auth.go) and change its own password (giving
// the current one). AWS grants the same through iam:*AccessKey* on
// "${aws:username}"; here it is implicit, as a key or token only ever
// acts with its user's own permissions.
func (a *API) identityRoutes() {
	a.handle("GET /api/users", a.listUsers)
	a.handle("POST /api/users", a.createUser)
	a.handle("GET /api/users/{name}", a.getUser)
	a.handle("PATCH /api/users/{name}", a.updateUser)
	a.handle("DELETE /api/users/{name}", a.deleteUser)
	a.handle("POST /api/users/{name}/policies/{policy}", a.attachUserPolicy)
	a.handle("DELETE /api/users/{name}/policies/{policy}", a.detachUserPolicy)

	a.handle("GET /api/groups", a.listGroups)
	a.handle("POST /api/groups", a.createGroup)
	a.handle("GET /api/groups/{name}", a.getGroup)
	a.handle("DELETE /api/groups/{name}", a.deleteGroup)
	a.handle("POST /api/groups/{name}/members/{user}", a.addGroupMember)
	a.handle("DELETE /api/groups/{name}/members/{user}", a.removeGroupMember)
	a.handle("POST /api/groups/{name}/policies/{policy}", a.attachGroupPolicy)
	a.handle("DELETE /api/groups/{name}/policies/{policy}", a.detachGroupPolicy)

	a.handle("GET /api/users/{name}/keys", a.listUserKeys)
	a.handle("POST /api/users/{name}/keys", a.createUserKey)
	a.handle("GET /api/keys", a.listAccessKeys)
	a.handle("GET /api/keys/{accessKey}", a.getAccessKey)
	a.handle("PATCH /api/keys/{accessKey}", a.updateAccessKey)
	a.handle("DELETE /api/keys/{accessKey}", a.deleteAccessKey)

	a.handle("GET /api/policies", a.listIAMPolicies)
	a.handle("POST /api/policies", a.createIAMPolicy)
	a.handle("GET /api/policies/{name}", a.getIAMPolicy)
	a.handle("PUT /api/policies/{name}", a.updateIAMPolicy)
	a.handle("DELETE /api/policies/{name}", a.deleteIAMPolicy)
}

// self reports whether the caller is the (non-root) user name.
func (c *call) isSelf(name string) bool {
	return !c.p.Root && !c.p.Anonymous() && c.p.Name == name
}

// authorizeSelfOr allows the caller acting on its own user, or anyone
// allowed action.
func (c *call) authorizeSelfOr(user, action string) error {
	if c.isSelf(user) {
		return nil
	}
	return c.authorize(action, "", "", nil)
}

func (c *call) authorizeAdmin(action string) error { return c.authorize(action, "", "", nil) }

const (
	statusEnabled  = "enabled"
	statusDisabled = "disabled"
)

type userView struct {
	Name        string    `json:"name"`
	Status      string    `json:"status"` // "enabled" or "disabled"
	HasPassword bool      `json:"hasPassword"`
	Groups      []string  `json:"groups"`
	Policies    []string  `json:"policies"` // attached directly
	CanonicalID string    `json:"canonicalId"`
	CreatedAt   time.Time `json:"createdAt"`
}

func viewUser(u iam.User) userView {
	st := statusEnabled
	if !u.Enabled {
		st = statusDisabled
	}
	return userView{Name: u.Name, Status: st, HasPassword: u.HasPassword, Groups: u.Groups, Policies: u.Policies,
		CanonicalID: iam.CanonicalID(u.Name), CreatedAt: u.Created}
}

// parseStatus reads "enabled"/"disabled".
func parseStatus(s string) (enabled bool, err error) {
	switch s {
	case statusEnabled:
		return true, nil
	case statusDisabled:
		return false, nil
	}
	return false, errorf(http.StatusBadRequest, "InvalidRequest", "status must be %q or %q", statusEnabled, statusDisabled)
}

// GET /api/users — every user (admin:ListUsers). No seed route; the
// storage server seed's credentials are users with keys (see
// /api/credentials).
func (a *API) listUsers(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:ListUsers"); err != nil {
		return nil, err
	}
	us, err := a.cfg.IAM.ListUsers(c.ctx)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	out := struct {
		Users []userView `json:"users"`
	}{Users: make([]userView, 0, len(us))}
	for _, u := range us {
		out.Users = append(out.Users, viewUser(u))
	}
	return out, nil
}

type createUserRequest struct {
	Name     string   `json:"name"`
	Password string   `json:"password"`
	Status   string   `json:"status"`
	Groups   []string `json:"groups"`
	Policies []string `json:"policies"`
}

// POST /api/users — create a user {"name", "password"?, "status"?,
// "groups"?, "policies"?} (admin:CreateUser; joining groups also takes
// admin:AddUserToGroup and attaching policies admin:AttachUserPolicy).
func (a *API) createUser(c *call) (any, error) {
	var in createUserRequest
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorizeAdmin("admin:CreateUser"); err != nil {
		return nil, err
	}
	if len(in.Groups) > 0 {
		if err := c.authorizeAdmin("admin:AddUserToGroup"); err != nil {
			return nil, err
		}
	}
	if len(in.Policies) > 0 {
		if err := c.authorizeAdmin("admin:AttachUserPolicy"); err != nil {
			return nil, err
		}
	}
	enabled := true
	if in.Status != "" {
		var err error
		if enabled, err = parseStatus(in.Status); err != nil {
			return nil, err
		}
	}
	u, err := a.cfg.IAM.CreateUser(c.ctx, iam.UserInput{Name: in.Name, Password: in.Password, Disabled: !enabled,
		Groups: in.Groups, Policies: in.Policies})
	if err != nil {
		return nil, fmt.Errorf("creating user: %w", err)
	}
	return created(viewUser(u)), nil
}

// GET /api/users/{name} — one user (itself, or admin:GetUser).
func (a *API) getUser(c *call) (any, error) {
	name := c.r.PathValue("name")
	if err := c.authorizeSelfOr(name, "admin:GetUser"); err != nil {
		return nil, err
	}
	u, err := a.cfg.IAM.GetUser(c.ctx, name)
	if err != nil {
		return nil, fmt.Errorf("reading user: %w", err)
	}
	return viewUser(u), nil
}

type updateUserRequest struct {
	Status *string `json:"status"`
	// Password "" removes the console password.
	Password *string `json:"password"`
	// CurrentPassword is required when a user without admin:UpdateUser
	// changes its own password (and has one): a stolen session alone must
	// not be enough to take the account over.
	CurrentPassword string `json:"currentPassword"`
}

// PATCH /api/users/{name} — {"status": "enabled"|"disabled"} (admin:
// UpdateUser), {"password": "..."} (admin:UpdateUser, or the user itself
// with "currentPassword"). A disabled user's sessions, keys and tokens
// stop working at once on this instance (within seconds elsewhere); a
// password change or a disable also revokes every session the user had,
// on every instance.
func (a *API) updateUser(c *call) (any, error) {
	name := c.r.PathValue("name")
	var in updateUserRequest
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.Status == nil && in.Password == nil {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "nothing to change: send status or password")
	}
	adminErr := c.authorizeAdmin("admin:UpdateUser")
	if adminErr != nil && !errors.Is(adminErr, iam.ErrAccessDenied) {
		return nil, adminErr
	}
	if adminErr != nil && (in.Status != nil || !c.isSelf(name)) {
		return nil, adminErr
	}
	ids := a.cfg.IAM
	if adminErr != nil { // self-service password change
		u, err := ids.GetUser(c.ctx, name)
		if err != nil {
			return nil, fmt.Errorf("reading user: %w", err)
		}
		if u.HasPassword {
			if _, err := ids.CheckPassword(c.ctx, name, in.CurrentPassword); err != nil {
				if errors.Is(err, iam.ErrBadCredentials) {
					return nil, errorf(http.StatusForbidden, "InvalidCurrentPassword", "currentPassword is wrong")
				}
				return nil, fmt.Errorf("checking current password: %w", err)
			}
		}
	}
	if in.Status != nil {
		enabled, err := parseStatus(*in.Status)
		if err != nil {
			return nil, err
		}
		if err := ids.SetUserEnabled(c.ctx, name, enabled); err != nil {
			return nil, fmt.Errorf("setting user status: %w", err)
		}
		// Enabling the user again must not revive the sessions it had.
		if !enabled {
			if err := a.cfg.Sessions.RevokeUser(c.ctx, name); err != nil {
				return nil, err
			}
		}
	}
	if in.Password != nil {
		if err := ids.SetUserPassword(c.ctx, name, *in.Password); err != nil {
			return nil, fmt.Errorf("setting password: %w", err)
		}
		// A changed password ends every session made before it (a stolen
		// session must not outlive the password it was made with).
		if err := a.cfg.Sessions.RevokeUser(c.ctx, name); err != nil {
			return nil, err
		}
	}
	u, err := ids.GetUser(c.ctx, name)
	if err != nil {
		return nil, fmt.Errorf("reading user: %w", err)
	}
	return viewUser(u), nil
}

// DELETE /api/users/{name} — delete a user with its keys and tokens
// (admin:DeleteUser); 409 UserOwnsBuckets while it owns buckets.
func (a *API) deleteUser(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:DeleteUser"); err != nil {
		return nil, err
	}
	name := c.r.PathValue("name")
	if err := a.cfg.IAM.DeleteUser(c.ctx, name); err != nil {
		return nil, fmt.Errorf("deleting user: %w", err)
	}
	// A user created again under the name must not inherit its sessions.
	if err := a.cfg.Sessions.RevokeUser(c.ctx, name); err != nil {
		return nil, err
	}
	return noContent, nil
}

// POST /api/users/{name}/policies/{policy} — attach (admin:AttachUserPolicy).
func (a *API) attachUserPolicy(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:AttachUserPolicy"); err != nil {
		return nil, err
	}
	name := c.r.PathValue("name")
	if err := a.cfg.IAM.AttachUserPolicy(c.ctx, name, c.r.PathValue("policy")); err != nil {
		return nil, fmt.Errorf("attaching policy: %w", err)
	}
	return a.userAfterChange(c, name)
}

// DELETE /api/users/{name}/policies/{policy} — detach
// (admin:DetachUserPolicy); 404 NotAttached.
func (a *API) detachUserPolicy(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:DetachUserPolicy"); err != nil {
		return nil, err
	}
	name := c.r.PathValue("name")
	if err := a.cfg.IAM.DetachUserPolicy(c.ctx, name, c.r.PathValue("policy")); err != nil {
		return nil, fmt.Errorf("detaching policy: %w", err)
	}
	return a.userAfterChange(c, name)
}

func (a *API) userAfterChange(c *call, name string) (any, error) {
	u, err := a.cfg.IAM.GetUser(c.ctx, name)
	if err != nil {
		return nil, fmt.Errorf("reading user: %w", err)
	}
	return viewUser(u), nil
}

type groupView struct {
	Name      string    `json:"name"`
	Members   []string  `json:"members"`
	Policies  []string  `json:"policies"`
	CreatedAt time.Time `json:"createdAt"`
}

func viewGroup(g iam.Group) groupView {
	return groupView{Name: g.Name, Members: g.Members, Policies: g.Policies, CreatedAt: g.Created}
}

// GET /api/groups — every group with members (admin:ListGroups).
func (a *API) listGroups(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:ListGroups"); err != nil {
		return nil, err
	}
	gs, err := a.cfg.IAM.ListGroups(c.ctx)
	if err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	out := struct {
		Groups []groupView `json:"groups"`
	}{Groups: make([]groupView, 0, len(gs))}
	for _, g := range gs {
		out.Groups = append(out.Groups, viewGroup(g))
	}
	return out, nil
}

// POST /api/groups — {"name", "policies"?} (admin:CreateGroup, and
// admin:AttachGroupPolicy with policies).
func (a *API) createGroup(c *call) (any, error) {
	var in struct {
		Name     string   `json:"name"`
		Policies []string `json:"policies"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorizeAdmin("admin:CreateGroup"); err != nil {
		return nil, err
	}
	if len(in.Policies) > 0 {
		if err := c.authorizeAdmin("admin:AttachGroupPolicy"); err != nil {
			return nil, err
		}
	}
	g, err := a.cfg.IAM.CreateGroup(c.ctx, in.Name, in.Policies)
	if err != nil {
		return nil, fmt.Errorf("creating group: %w", err)
	}
	return created(viewGroup(g)), nil
}

// GET /api/groups/{name} — one group (admin:GetGroup).
func (a *API) getGroup(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:GetGroup"); err != nil {
		return nil, err
	}
	return a.groupAfterChange(c, c.r.PathValue("name"))
}

func (a *API) groupAfterChange(c *call, name string) (any, error) {
	g, err := a.cfg.IAM.GetGroup(c.ctx, name)
	if err != nil {
		return nil, fmt.Errorf("reading group: %w", err)
	}
	return viewGroup(g), nil
}

// DELETE /api/groups/{name} — delete a group; its members lose its
// policies (admin:DeleteGroup).
func (a *API) deleteGroup(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:DeleteGroup"); err != nil {
		return nil, err
	}
	if err := a.cfg.IAM.DeleteGroup(c.ctx, c.r.PathValue("name")); err != nil {
		return nil, fmt.Errorf("deleting group: %w", err)
	}
	return noContent, nil
}

// POST /api/groups/{name}/members/{user} — add a member
// (admin:AddUserToGroup).
func (a *API) addGroupMember(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:AddUserToGroup"); err != nil {
		return nil, err
	}
	group := c.r.PathValue("name")
	if err := a.cfg.IAM.AddUserToGroup(c.ctx, c.r.PathValue("user"), group); err != nil {
		return nil, fmt.Errorf("adding group member: %w", err)
	}
	return a.groupAfterChange(c, group)
}

// DELETE /api/groups/{name}/members/{user} — remove a member
// (admin:RemoveUserFromGroup); 404 NotAttached for a non-member.
func (a *API) removeGroupMember(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:RemoveUserFromGroup"); err != nil {
		return nil, err
	}
	group := c.r.PathValue("name")
	if err := a.cfg.IAM.RemoveUserFromGroup(c.ctx, c.r.PathValue("user"), group); err != nil {
		return nil, fmt.Errorf("removing group member: %w", err)
	}
	return a.groupAfterChange(c, group)
}

// POST /api/groups/{name}/policies/{policy} — attach
// (admin:AttachGroupPolicy).
func (a *API) attachGroupPolicy(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:AttachGroupPolicy"); err != nil {
		return nil, err
	}
	group := c.r.PathValue("name")
	if err := a.cfg.IAM.AttachGroupPolicy(c.ctx, group, c.r.PathValue("policy")); err != nil {
		return nil, fmt.Errorf("attaching policy: %w", err)
	}
	return a.groupAfterChange(c, group)
}

// DELETE /api/groups/{name}/policies/{policy} — detach
// (admin:DetachGroupPolicy).
func (a *API) detachGroupPolicy(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:DetachGroupPolicy"); err != nil {
		return nil, err
	}
	group := c.r.PathValue("name")
	if err := a.cfg.IAM.DetachGroupPolicy(c.ctx, group, c.r.PathValue("policy")); err != nil {
		return nil, fmt.Errorf("detaching policy: %w", err)
	}
	return a.groupAfterChange(c, group)
}

type keyView struct {
	ID          int64     `json:"id"`
	AccessKey   string    `json:"accessKey"`
	User        string    `json:"user"`
	Active      bool      `json:"active"`
	Description string    `json:"description"`
	ExpiresAt   time.Time `json:"expiresAt,omitzero"`
	CreatedAt   time.Time `json:"createdAt"`
	// SecretKey is shown once, in the creation response only.
	SecretKey string `json:"secretKey,omitempty"`
}

func viewKey(k iam.AccessKey) keyView {
	return keyView{ID: k.ID, AccessKey: k.AccessKey, User: k.User, Active: k.Active, Description: k.Description,
		ExpiresAt: k.Expires, CreatedAt: k.Created}
}

type keyList struct {
	Keys []keyView `json:"keys"`
}

func viewKeys(ks []iam.AccessKey) keyList {
	out := keyList{Keys: make([]keyView, 0, len(ks))}
	for _, k := range ks {
		out.Keys = append(out.Keys, viewKey(k))
	}
	return out
}

// GET /api/users/{name}/keys — a user's access keys, without secrets
// (itself, or admin:ListAccessKeys).
func (a *API) listUserKeys(c *call) (any, error) {
	name := c.r.PathValue("name")
	if err := c.authorizeSelfOr(name, "admin:ListAccessKeys"); err != nil {
		return nil, err
	}
	ks, err := a.cfg.IAM.ListAccessKeys(c.ctx, name)
	if err != nil {
		return nil, fmt.Errorf("listing access keys: %w", err)
	}
	return viewKeys(ks), nil
}

type createKeyRequest struct {
	AccessKey   string    `json:"accessKey"`
	SecretKey   string    `json:"secretKey"`
	Description string    `json:"description"`
	ExpiresIn   int64     `json:"expiresIn"` // seconds
	ExpiresAt   time.Time `json:"expiresAt"`
	Active      *bool     `json:"active"`
}

// POST /api/users/{name}/keys — a new access key for a user (itself, or
// admin:CreateAccessKey): {"accessKey"?, "secretKey"? (custom, else
// generated), "description"?, "expiresIn"? seconds or "expiresAt"?,
// "active"? (default true)}. The secret is in this response only.
func (a *API) createUserKey(c *call) (any, error) {
	name := c.r.PathValue("name")
	var in createKeyRequest
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorizeSelfOr(name, "admin:CreateAccessKey"); err != nil {
		return nil, err
	}
	exp, err := expiryFrom(in.ExpiresIn, in.ExpiresAt, a.now())
	if err != nil {
		return nil, err
	}
	k, err := a.cfg.IAM.CreateAccessKey(c.ctx, iam.AccessKeyInput{User: name, AccessKey: in.AccessKey, Secret: in.SecretKey,
		Description: in.Description, Expires: exp, Inactive: in.Active != nil && !*in.Active})
	if err != nil {
		return nil, fmt.Errorf("creating access key: %w", err)
	}
	v := viewKey(k)
	v.SecretKey = k.Secret
	return created(v), nil
}

// GET /api/keys — every user's access keys (admin:ListAccessKeys); with
// ?user=NAME, that user's (as GET /api/users/{name}/keys).
func (a *API) listAccessKeys(c *call) (any, error) {
	user := c.r.URL.Query().Get("user")
	if err := c.authorizeSelfOr(user, "admin:ListAccessKeys"); err != nil {
		return nil, err
	}
	ks, err := a.cfg.IAM.ListAccessKeys(c.ctx, user)
	if err != nil {
		return nil, fmt.Errorf("listing access keys: %w", err)
	}
	return viewKeys(ks), nil
}

// ownedKey returns the key if the caller's user owns it or the caller may
// perform action on everyone's keys. Without such a right, a key that does
// not exist is AccessDenied too, so key ids cannot be probed.
func (a *API) ownedKey(c *call, accessKey, action string) (iam.AccessKey, error) {
	adminErr := c.authorizeAdmin(action)
	if adminErr != nil && !errors.Is(adminErr, iam.ErrAccessDenied) {
		return iam.AccessKey{}, adminErr
	}
	k, err := a.cfg.IAM.GetAccessKey(c.ctx, accessKey)
	switch {
	case adminErr == nil && err != nil:
		return iam.AccessKey{}, fmt.Errorf("reading access key: %w", err)
	case adminErr == nil:
		return k, nil
	case err != nil && !errors.Is(err, iam.ErrKeyNotFound):
		return iam.AccessKey{}, fmt.Errorf("reading access key: %w", err)
	case err == nil && c.isSelf(k.User):
		return k, nil
	}
	return iam.AccessKey{}, adminErr
}

// GET /api/keys/{accessKey} — one key without its secret (own, or
// admin:ListAccessKeys).
func (a *API) getAccessKey(c *call) (any, error) {
	k, err := a.ownedKey(c, c.r.PathValue("accessKey"), "admin:ListAccessKeys")
	if err != nil {
		return nil, err
	}
	return viewKey(k), nil
}

type updateKeyRequest struct {
	Active      *bool   `json:"active"`
	Description *string `json:"description"`
	// ExpiresAt is an RFC 3339 time, or null or "" for never.
	ExpiresAt json.RawMessage `json:"expiresAt"`
}

// PATCH /api/keys/{accessKey} — {"active"?, "description"?, "expiresAt"?
// (null: never)} (own, or admin:UpdateAccessKey).
func (a *API) updateAccessKey(c *call) (any, error) {
	var in updateKeyRequest
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var u iam.AccessKeyUpdate
	u.Active, u.Description = in.Active, in.Description
	if in.ExpiresAt != nil {
		exp, err := parseOptionalTime(in.ExpiresAt)
		if err != nil {
			return nil, err
		}
		if !exp.IsZero() && !exp.After(a.now()) {
			return nil, errorf(http.StatusBadRequest, "InvalidRequest", "expiresAt is not in the future")
		}
		u.Expires = &exp
	}
	if u.Active == nil && u.Description == nil && u.Expires == nil {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "nothing to change: send active, description or expiresAt")
	}
	k, err := a.ownedKey(c, c.r.PathValue("accessKey"), "admin:UpdateAccessKey")
	if err != nil {
		return nil, err
	}
	k, err = a.cfg.IAM.UpdateAccessKey(c.ctx, k.AccessKey, u)
	if err != nil {
		return nil, fmt.Errorf("updating access key: %w", err)
	}
	return viewKey(k), nil
}

// parseOptionalTime reads a JSON RFC 3339 string; null and "" are the zero
// time.
func parseOptionalTime(raw json.RawMessage) (time.Time, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return time.Time{}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, errorf(http.StatusBadRequest, "InvalidRequest", "expiresAt must be an RFC 3339 time, or null")
	}
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errorf(http.StatusBadRequest, "InvalidRequest", "expiresAt must be an RFC 3339 time, or null")
	}
	return t, nil
}

// DELETE /api/keys/{accessKey} — delete a key (own, or
// admin:DeleteAccessKey). Sessions logged in with it end at once.
func (a *API) deleteAccessKey(c *call) (any, error) {
	k, err := a.ownedKey(c, c.r.PathValue("accessKey"), "admin:DeleteAccessKey")
	if err != nil {
		return nil, err
	}
	if err := a.cfg.IAM.DeleteAccessKey(c.ctx, k.AccessKey); err != nil {
		return nil, fmt.Errorf("deleting access key: %w", err)
	}
	return noContent, nil
}

type policyView struct {
	Name      string          `json:"name"`
	Builtin   bool            `json:"builtin"`
	Document  json.RawMessage `json:"document"`
	CreatedAt time.Time       `json:"createdAt,omitzero"`
	UpdatedAt time.Time       `json:"updatedAt,omitzero"`
}

func viewPolicy(p iam.Policy) policyView {
	return policyView{Name: p.Name, Builtin: p.Builtin, Document: json.RawMessage(p.Document), CreatedAt: p.Created, UpdatedAt: p.Updated}
}

// policyDocument accepts the document as a JSON object, or as a string
// holding one (as the AWS CLI passes PolicyDocument).
func policyDocument(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "document is required")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidRequest", "document: %v", err)
		}
		return []byte(s), nil
	}
	return raw, nil
}

// GET /api/policies — built-in and stored policies (admin:ListPolicies).
func (a *API) listIAMPolicies(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:ListPolicies"); err != nil {
		return nil, err
	}
	ps, err := a.cfg.IAM.ListPolicies(c.ctx)
	if err != nil {
		return nil, fmt.Errorf("listing policies: %w", err)
	}
	out := struct {
		Policies []policyView `json:"policies"`
	}{Policies: make([]policyView, 0, len(ps))}
	for _, p := range ps {
		out.Policies = append(out.Policies, viewPolicy(p))
	}
	return out, nil
}

// POST /api/policies — {"name", "document"} (admin:CreatePolicy); the
// document is AWS IAM policy JSON (400 MalformedPolicy otherwise).
func (a *API) createIAMPolicy(c *call) (any, error) {
	var in struct {
		Name     string          `json:"name"`
		Document json.RawMessage `json:"document"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorizeAdmin("admin:CreatePolicy"); err != nil {
		return nil, err
	}
	doc, err := policyDocument(in.Document)
	if err != nil {
		return nil, err
	}
	p, err := a.cfg.IAM.CreatePolicy(c.ctx, in.Name, doc)
	if err != nil {
		return nil, fmt.Errorf("creating policy: %w", err)
	}
	return created(viewPolicy(p)), nil
}

// GET /api/policies/{name} — one policy (admin:GetPolicy).
func (a *API) getIAMPolicy(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:GetPolicy"); err != nil {
		return nil, err
	}
	p, err := a.cfg.IAM.GetPolicy(c.ctx, c.r.PathValue("name"))
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	return viewPolicy(p), nil
}

// PUT /api/policies/{name} — replace the document {"document"}
// (admin:UpdatePolicy); 409 BuiltinPolicy for a built-in.
func (a *API) updateIAMPolicy(c *call) (any, error) {
	var in struct {
		Document json.RawMessage `json:"document"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorizeAdmin("admin:UpdatePolicy"); err != nil {
		return nil, err
	}
	doc, err := policyDocument(in.Document)
	if err != nil {
		return nil, err
	}
	p, err := a.cfg.IAM.UpdatePolicy(c.ctx, c.r.PathValue("name"), doc)
	if err != nil {
		return nil, fmt.Errorf("updating policy: %w", err)
	}
	return viewPolicy(p), nil
}

// DELETE /api/policies/{name} — (admin:DeletePolicy); 409 PolicyInUse
// while attached, 409 BuiltinPolicy for a built-in.
func (a *API) deleteIAMPolicy(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:DeletePolicy"); err != nil {
		return nil, err
	}
	if err := a.cfg.IAM.DeletePolicy(c.ctx, c.r.PathValue("name")); err != nil {
		return nil, fmt.Errorf("deleting policy: %w", err)
	}
	return noContent, nil
}
