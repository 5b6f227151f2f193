package mgmtapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/session"
)

type identUserResult struct {
	Name, Status, CanonicalID string
	HasPassword               bool
	Groups, Policies          []string
	CreatedAt                 time.Time
}

type identKeyResult struct {
	ID                         int64
	AccessKey, SecretKey, User string
	Description                string
	Active                     bool
	CreatedAt, ExpiresAt       time.Time
}

type identGroupResult struct {
	Name              string
	Members, Policies []string
}

func TestUsersCRUD(t *testing.T) {
	e := newEnv(t, authManyLogins)
	root := e.root()
	e.anon().do("GET", "/api/users", nil).wantError(http.StatusUnauthorized, "Unauthorized")

	var u identUserResult
	root.do("POST", "/api/users", map[string]any{"name": "quinn", "password": "quinn-password", "policies": []string{"readonly"}}).
		want(http.StatusCreated).json(&u)
	if u.Name != "quinn" || u.Status != "enabled" || !u.HasPassword || len(u.Policies) != 1 || u.CanonicalID != iam.CanonicalID("quinn") || u.CreatedAt.IsZero() {
		t.Fatalf("created: %+v", u)
	}
	root.do("POST", "/api/users", map[string]any{"name": "off", "status": "disabled"}).want(http.StatusCreated).json(&u)
	if u.Status != "disabled" || u.HasPassword {
		t.Fatalf("created disabled: %+v", u)
	}
	root.do("POST", "/api/users", map[string]any{"name": "quinn"}).wantError(http.StatusConflict, "UserAlreadyExists")
	root.do("POST", "/api/users", map[string]any{"name": rootUser}).wantError(http.StatusConflict, "UserAlreadyExists")
	root.do("POST", "/api/users", map[string]any{"name": "bad/name"}).wantError(http.StatusBadRequest, "InvalidName")
	root.do("POST", "/api/users", map[string]any{"name": ""}).wantError(http.StatusBadRequest, "InvalidName")
	root.do("POST", "/api/users", map[string]any{"name": "shortpw", "password": "short"}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("POST", "/api/users", map[string]any{"name": "x", "status": "maybe"}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("POST", "/api/users", map[string]any{"name": "x", "policies": []string{"nope"}}).wantError(http.StatusNotFound, "PolicyNotFound")
	root.do("POST", "/api/users", map[string]any{"name": "x", "groups": []string{"nope"}}).wantError(http.StatusNotFound, "GroupNotFound")

	var list struct{ Users []identUserResult }
	root.do("GET", "/api/users", nil).want(http.StatusOK).json(&list)
	if len(list.Users) != 2 || list.Users[0].Name != "off" || list.Users[1].Name != "quinn" {
		t.Fatalf("list: %+v", list)
	}
	root.do("GET", "/api/users/quinn", nil).want(http.StatusOK).json(&u)
	if u.Name != "quinn" {
		t.Fatalf("get: %+v", u)
	}
	root.do("GET", "/api/users/nobody", nil).wantError(http.StatusNotFound, "UserNotFound")

	root.do("PATCH", "/api/users/quinn", map[string]any{"status": "disabled"}).want(http.StatusOK).json(&u)
	if u.Status != "disabled" {
		t.Fatalf("patched: %+v", u)
	}
	r, _ := authLogin(e.anon(), map[string]string{"username": "quinn", "password": "quinn-password"})
	r.wantError(http.StatusForbidden, "UserDisabled")
	root.do("PATCH", "/api/users/quinn", map[string]any{"status": "enabled", "password": "new-quinn-password"}).want(http.StatusOK)
	r, _ = authLogin(e.anon(), map[string]string{"username": "quinn", "password": "new-quinn-password"})
	r.want(http.StatusOK)
	root.do("PATCH", "/api/users/quinn", map[string]any{"password": ""}).want(http.StatusOK).json(&u)
	if u.HasPassword {
		t.Fatal("password not removed")
	}
	root.do("PATCH", "/api/users/quinn", map[string]any{}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("PATCH", "/api/users/quinn", map[string]any{"status": "gone"}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("PATCH", "/api/users/quinn", map[string]any{"password": "short"}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("PATCH", "/api/users/nobody", map[string]any{"status": "enabled"}).wantError(http.StatusNotFound, "UserNotFound")

	// A user owning a bucket cannot be deleted.
	if err := e.objects.CreateBucket(context.Background(), "quinns-bucket", "quinn", region, object.BucketOptions{}); err != nil {
		t.Fatal(err)
	}
	root.do("DELETE", "/api/users/quinn", nil).wantError(http.StatusConflict, "UserOwnsBuckets")
	if err := e.objects.DeleteBucket(context.Background(), "quinns-bucket"); err != nil {
		t.Fatal(err)
	}
	root.do("DELETE", "/api/users/quinn", nil).want(http.StatusNoContent)
	root.do("DELETE", "/api/users/quinn", nil).wantError(http.StatusNotFound, "UserNotFound")
	root.do("GET", "/api/users/quinn", nil).wantError(http.StatusNotFound, "UserNotFound")
}

func TestUserAdministrationNeedsRights(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ro := e.user("reader", "readonly")
	victim := e.user("victim")
	k, err := e.iam.CreateAccessKey(ctx, iam.AccessKeyInput{User: "victim"})
	if err != nil {
		t.Fatal(err)
	}
	deny := func(method, path string, body any) {
		t.Helper()
		ro.do(method, path, body).wantError(http.StatusForbidden, "AccessDenied")
	}
	deny("GET", "/api/users", nil)
	deny("POST", "/api/users", map[string]any{"name": "sneaky"})
	deny("GET", "/api/users/victim", nil)
	deny("PATCH", "/api/users/victim", map[string]any{"status": "disabled"})
	deny("PATCH", "/api/users/victim", map[string]any{"password": "reader-chose-it"})
	deny("DELETE", "/api/users/victim", nil)
	deny("POST", "/api/users/reader/policies/admin", nil)
	deny("DELETE", "/api/users/reader/policies/readonly", nil)
	deny("GET", "/api/users/victim/keys", nil)
	deny("POST", "/api/users/victim/keys", map[string]any{})
	deny("GET", "/api/keys", nil)
	deny("GET", "/api/keys?user=victim", nil)
	deny("GET", "/api/keys/"+k.AccessKey, nil)
	deny("PATCH", "/api/keys/"+k.AccessKey, map[string]any{"active": false})
	deny("DELETE", "/api/keys/"+k.AccessKey, nil)
	// A key that does not exist looks the same as another's.
	deny("DELETE", "/api/keys/AKNOSUCHKEY0000000000", nil)
	deny("GET", "/api/groups", nil)
	deny("POST", "/api/groups", map[string]any{"name": "g"})
	deny("GET", "/api/policies", nil)
	deny("POST", "/api/policies", map[string]any{"name": "p", "document": identAllow("admin:*", "*")})
	// Its own status is the administrator's to change.
	deny("PATCH", "/api/users/reader", map[string]any{"status": "disabled"})

	// Nothing changed.
	victim.do("GET", "/api/auth/me", nil).want(http.StatusOK)
	if got, err := e.iam.GetAccessKey(ctx, k.AccessKey); err != nil || !got.Active {
		t.Fatalf("victim's key: %+v, %v", got, err)
	}
	if _, err := e.iam.GetUser(ctx, "sneaky"); !errors.Is(err, iam.ErrUserNotFound) {
		t.Fatalf("sneaky user: %v", err)
	}

	// An administrator may do all of it.
	boss := e.user("boss", "admin")
	boss.do("GET", "/api/users", nil).want(http.StatusOK)
	boss.do("GET", "/api/keys/"+k.AccessKey, nil).want(http.StatusOK)
	boss.do("PATCH", "/api/keys/"+k.AccessKey, map[string]any{"active": false}).want(http.StatusOK)
	boss.do("DELETE", "/api/keys/AKNOSUCHKEY0000000000", nil).wantError(http.StatusNotFound, "AccessKeyNotFound")
	boss.do("PATCH", "/api/users/victim", map[string]any{"status": "disabled"}).want(http.StatusOK)
	victim.do("GET", "/api/auth/me", nil).wantError(http.StatusForbidden, "UserDisabled")
}

// identAllow is a policy document allowing actions on resource.
func identAllow(action, resource string) map[string]any {
	return map[string]any{"Version": "2012-10-17", "Statement": []any{
		map[string]any{"Effect": "Allow", "Action": action, "Resource": resource}}}
}

func TestCreateUserCannotGrantMoreThanAllowed(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	root.do("POST", "/api/policies", map[string]any{"name": "user-creator", "document": identAllow("admin:CreateUser", "*")}).
		want(http.StatusCreated)
	hr := e.user("hr", "user-creator")
	hr.do("POST", "/api/users", map[string]any{"name": "newbie"}).want(http.StatusCreated)
	hr.do("POST", "/api/users", map[string]any{"name": "newboss", "policies": []string{"admin"}}).wantError(http.StatusForbidden, "AccessDenied")
	root.do("POST", "/api/groups", map[string]any{"name": "admins", "policies": []string{"admin"}}).want(http.StatusCreated)
	hr.do("POST", "/api/users", map[string]any{"name": "newboss", "groups": []string{"admins"}}).wantError(http.StatusForbidden, "AccessDenied")
	root.do("GET", "/api/users/newboss", nil).wantError(http.StatusNotFound, "UserNotFound")
}

func TestSelfService(t *testing.T) {
	e := newEnv(t, authManyLogins)
	authUser(e, "sam", "sam-password") // no policy at all
	_, out := authLogin(e.anon(), map[string]string{"username": "sam", "password": "sam-password"})
	sam := e.anon()
	sam.bearer = out.Token

	sam.do("GET", "/api/users/sam", nil).want(http.StatusOK)
	var k identKeyResult
	sam.do("POST", "/api/users/sam/keys", map[string]any{"description": "laptop"}).want(http.StatusCreated).json(&k)
	if k.AccessKey == "" || k.SecretKey == "" || k.User != "sam" || !k.Active || k.Description != "laptop" || k.ID < 1 {
		t.Fatalf("own key: %+v", k)
	}
	var list struct{ Keys []identKeyResult }
	sam.do("GET", "/api/users/sam/keys", nil).want(http.StatusOK).json(&list)
	if len(list.Keys) != 1 || list.Keys[0].AccessKey != k.AccessKey || list.Keys[0].SecretKey != "" {
		t.Fatalf("own keys: %+v", list)
	}
	sam.do("GET", "/api/keys?user=sam", nil).want(http.StatusOK).json(&list)
	if len(list.Keys) != 1 {
		t.Fatalf("own keys via /api/keys: %+v", list)
	}
	var got identKeyResult
	sam.do("GET", "/api/keys/"+k.AccessKey, nil).want(http.StatusOK).json(&got)
	if got.SecretKey != "" || got.AccessKey != k.AccessKey {
		t.Fatalf("get own key: %+v", got)
	}
	sam.do("PATCH", "/api/keys/"+k.AccessKey, map[string]any{"active": false, "description": "old laptop"}).want(http.StatusOK).json(&got)
	if got.Active || got.Description != "old laptop" {
		t.Fatalf("patched own key: %+v", got)
	}
	sam.do("DELETE", "/api/keys/"+k.AccessKey, nil).want(http.StatusNoContent)
	sam.do("GET", "/api/users/sam/keys", nil).want(http.StatusOK).json(&list)
	if len(list.Keys) != 0 {
		t.Fatalf("keys after delete: %+v", list)
	}

	// Its own password, with the current one.
	sam.do("PATCH", "/api/users/sam", map[string]any{"password": "sam-new-password"}).wantError(http.StatusForbidden, "InvalidCurrentPassword")
	sam.do("PATCH", "/api/users/sam", map[string]any{"password": "sam-new-password", "currentPassword": "wrong"}).
		wantError(http.StatusForbidden, "InvalidCurrentPassword")
	// Sessions carry whole-second issue times and one issued in the second
	// of a password change survives it: start the change in a later second
	// than the session's, so the old session is certainly revoked.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	sam.do("PATCH", "/api/users/sam", map[string]any{"password": "sam-new-password", "currentPassword": "sam-password"}).want(http.StatusOK)
	sam.do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "TokenRevoked")
	r, _ := authLogin(e.anon(), map[string]string{"username": "sam", "password": "sam-password"})
	r.wantError(http.StatusUnauthorized, "InvalidCredentials")
	r, out = authLogin(e.anon(), map[string]string{"username": "sam", "password": "sam-new-password"})
	r.want(http.StatusOK)
	sam.bearer = out.Token
	sam.do("GET", "/api/auth/me", nil).want(http.StatusOK)
	// But not its policies or status.
	sam.do("POST", "/api/users/sam/policies/admin", nil).wantError(http.StatusForbidden, "AccessDenied")
	sam.do("PATCH", "/api/users/sam", map[string]any{"status": "enabled", "password": "whatever-pass", "currentPassword": "sam-new-password"}).
		wantError(http.StatusForbidden, "AccessDenied")
}

func TestAccessKeys(t *testing.T) {
	e := newEnv(t, authManyLogins)
	root := e.root()
	e.user("tess")
	var k identKeyResult
	root.do("POST", "/api/users/tess/keys", map[string]any{"accessKey": "TESSCUSTOMKEY", "secretKey": "tess-custom-secret", "expiresIn": 3600}).
		want(http.StatusCreated).json(&k)
	if k.AccessKey != "TESSCUSTOMKEY" || k.SecretKey != "tess-custom-secret" || k.ExpiresAt.IsZero() {
		t.Fatalf("custom key: %+v", k)
	}
	// The custom pair logs in.
	r, _ := authLogin(e.anon(), map[string]string{"accessKey": "TESSCUSTOMKEY", "secretKey": "tess-custom-secret"})
	r.want(http.StatusOK)

	root.do("POST", "/api/users/tess/keys", map[string]any{"accessKey": "TESSCUSTOMKEY"}).wantError(http.StatusConflict, "AccessKeyAlreadyExists")
	root.do("POST", "/api/users/tess/keys", map[string]any{"accessKey": "no spaces"}).wantError(http.StatusBadRequest, "InvalidName")
	root.do("POST", "/api/users/tess/keys", map[string]any{"secretKey": "short"}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("POST", "/api/users/tess/keys", map[string]any{"expiresIn": -1}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("POST", "/api/users/tess/keys", map[string]any{"expiresAt": time.Now().Add(-time.Hour)}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("POST", "/api/users/nobody/keys", map[string]any{}).wantError(http.StatusNotFound, "UserNotFound")
	root.do("GET", "/api/users/nobody/keys", nil).wantError(http.StatusNotFound, "UserNotFound")

	var off identKeyResult
	root.do("POST", "/api/users/tess/keys", map[string]any{"active": false}).want(http.StatusCreated).json(&off)
	if off.Active {
		t.Fatalf("inactive key: %+v", off)
	}
	r, _ = authLogin(e.anon(), map[string]string{"accessKey": off.AccessKey, "secretKey": off.SecretKey})
	r.wantError(http.StatusUnauthorized, "InvalidCredentials")

	var list struct{ Keys []identKeyResult }
	root.do("GET", "/api/keys", nil).want(http.StatusOK).json(&list)
	if len(list.Keys) != 2 {
		t.Fatalf("all keys: %+v", list)
	}
	for _, k := range list.Keys {
		if k.SecretKey != "" {
			t.Fatal("a listing shows a secret")
		}
	}

	got := identKeyResult{}
	root.do("PATCH", "/api/keys/TESSCUSTOMKEY", map[string]any{"expiresAt": nil}).want(http.StatusOK).json(&got)
	if !got.ExpiresAt.IsZero() {
		t.Fatalf("expiry not cleared: %+v", got)
	}
	at := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	root.do("PATCH", "/api/keys/TESSCUSTOMKEY", map[string]any{"expiresAt": at.Format(time.RFC3339)}).want(http.StatusOK).json(&got)
	if !got.ExpiresAt.Equal(at) {
		t.Fatalf("expiry %v, want %v", got.ExpiresAt, at)
	}
	got = identKeyResult{}
	root.do("PATCH", "/api/keys/TESSCUSTOMKEY", map[string]any{"expiresAt": ""}).want(http.StatusOK).json(&got)
	if !got.ExpiresAt.IsZero() {
		t.Fatalf("expiry not cleared by \"\": %+v", got)
	}
	root.do("PATCH", "/api/keys/TESSCUSTOMKEY", map[string]any{"expiresAt": "tomorrow"}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("PATCH", "/api/keys/TESSCUSTOMKEY", map[string]any{"expiresAt": 5}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("PATCH", "/api/keys/TESSCUSTOMKEY", map[string]any{"expiresAt": "2001-01-01T00:00:00Z"}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("PATCH", "/api/keys/TESSCUSTOMKEY", map[string]any{}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("PATCH", "/api/keys/TESSCUSTOMKEY", map[string]any{"description": strings.Repeat("d", 300)}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("PATCH", "/api/keys/NOSUCHKEY", map[string]any{"active": true}).wantError(http.StatusNotFound, "AccessKeyNotFound")
	root.do("GET", "/api/keys/NOSUCHKEY", nil).wantError(http.StatusNotFound, "AccessKeyNotFound")

	// Deactivating a key ends its login sessions at once.
	_, out := authLogin(e.anon(), map[string]string{"accessKey": "TESSCUSTOMKEY", "secretKey": "tess-custom-secret"})
	s := e.anon()
	s.bearer = out.Token
	s.do("GET", "/api/auth/me", nil).want(http.StatusOK)
	root.do("PATCH", "/api/keys/TESSCUSTOMKEY", map[string]any{"active": false}).want(http.StatusOK)
	s.do("GET", "/api/auth/me", nil).wantError(http.StatusUnauthorized, "InvalidCredentials")

	root.do("DELETE", "/api/keys/TESSCUSTOMKEY", nil).want(http.StatusNoContent)
	root.do("DELETE", "/api/keys/TESSCUSTOMKEY", nil).wantError(http.StatusNotFound, "AccessKeyNotFound")
}

func TestGroups(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	e.user("uma")
	var g identGroupResult
	root.do("POST", "/api/groups", map[string]any{"name": "devs", "policies": []string{"readonly"}}).want(http.StatusCreated).json(&g)
	if g.Name != "devs" || len(g.Members) != 0 || len(g.Policies) != 1 {
		t.Fatalf("created: %+v", g)
	}
	root.do("POST", "/api/groups", map[string]any{"name": "devs"}).wantError(http.StatusConflict, "GroupAlreadyExists")
	root.do("POST", "/api/groups", map[string]any{"name": "bad name"}).wantError(http.StatusBadRequest, "InvalidName")
	root.do("POST", "/api/groups", map[string]any{"name": "g2", "policies": []string{"nope"}}).wantError(http.StatusNotFound, "PolicyNotFound")

	root.do("POST", "/api/groups/devs/members/uma", nil).want(http.StatusOK).json(&g)
	if len(g.Members) != 1 || g.Members[0] != "uma" {
		t.Fatalf("members: %+v", g)
	}
	var u identUserResult
	root.do("GET", "/api/users/uma", nil).want(http.StatusOK).json(&u)
	if len(u.Groups) != 1 || u.Groups[0] != "devs" {
		t.Fatalf("user groups: %+v", u)
	}
	root.do("POST", "/api/groups/devs/members/nobody", nil).wantError(http.StatusNotFound, "UserNotFound")
	root.do("POST", "/api/groups/nogroup/members/uma", nil).wantError(http.StatusNotFound, "GroupNotFound")

	root.do("POST", "/api/groups/devs/policies/writeonly", nil).want(http.StatusOK).json(&g)
	if len(g.Policies) != 2 {
		t.Fatalf("policies: %+v", g)
	}
	root.do("POST", "/api/groups/devs/policies/nope", nil).wantError(http.StatusNotFound, "PolicyNotFound")
	root.do("DELETE", "/api/groups/devs/policies/writeonly", nil).want(http.StatusOK).json(&g)
	if len(g.Policies) != 1 {
		t.Fatalf("policies after detach: %+v", g)
	}
	root.do("DELETE", "/api/groups/devs/policies/writeonly", nil).wantError(http.StatusNotFound, "NotAttached")

	var list struct{ Groups []identGroupResult }
	root.do("GET", "/api/groups", nil).want(http.StatusOK).json(&list)
	if len(list.Groups) != 1 || list.Groups[0].Name != "devs" || len(list.Groups[0].Members) != 1 {
		t.Fatalf("list: %+v", list)
	}
	root.do("GET", "/api/groups/devs", nil).want(http.StatusOK)
	root.do("DELETE", "/api/groups/devs/members/uma", nil).want(http.StatusOK).json(&g)
	if len(g.Members) != 0 {
		t.Fatalf("members after removal: %+v", g)
	}
	root.do("DELETE", "/api/groups/devs/members/uma", nil).wantError(http.StatusNotFound, "NotAttached")
	root.do("DELETE", "/api/groups/devs", nil).want(http.StatusNoContent)
	root.do("GET", "/api/groups/devs", nil).wantError(http.StatusNotFound, "GroupNotFound")
	root.do("DELETE", "/api/groups/devs", nil).wantError(http.StatusNotFound, "GroupNotFound")
	e.user("nogroups").do("DELETE", "/api/groups/devs", nil).wantError(http.StatusForbidden, "AccessDenied")
}

// TestGroupPolicyGrants checks that a group's policy takes effect through
// the API at once: membership gives the admin role, removal takes it away.
func TestGroupPolicyGrants(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	v := e.user("vic")
	v.do("GET", "/api/users", nil).wantError(http.StatusForbidden, "AccessDenied")
	root.do("POST", "/api/groups", map[string]any{"name": "ops", "policies": []string{"admin"}}).want(http.StatusCreated)
	root.do("POST", "/api/groups/ops/members/vic", nil).want(http.StatusOK)
	v.do("GET", "/api/users", nil).want(http.StatusOK)
	if m := authMe(v); m.Roles[0] != "admin" {
		t.Fatalf("roles %v", m.Roles)
	}
	root.do("DELETE", "/api/groups/ops/members/vic", nil).want(http.StatusOK)
	v.do("GET", "/api/users", nil).wantError(http.StatusForbidden, "AccessDenied")
}

type identPolicyResult struct {
	Name                 string
	Builtin              bool
	Document             map[string]any
	CreatedAt, UpdatedAt time.Time
}

func TestPolicies(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	var list struct{ Policies []identPolicyResult }
	root.do("GET", "/api/policies", nil).want(http.StatusOK).json(&list)
	builtins := map[string]bool{}
	for _, p := range list.Policies {
		if p.Builtin && p.Document["Statement"] != nil {
			builtins[p.Name] = true
		}
	}
	for _, n := range []string{"readwrite", "readonly", "writeonly", "admin"} {
		if !builtins[n] {
			t.Errorf("built-in %q missing from %+v", n, list.Policies)
		}
	}

	var p identPolicyResult
	root.do("POST", "/api/policies", map[string]any{"name": "list-users", "document": identAllow("admin:ListUsers", "*")}).
		want(http.StatusCreated).json(&p)
	if p.Name != "list-users" || p.Builtin || p.Document["Statement"] == nil || p.CreatedAt.IsZero() {
		t.Fatalf("created: %+v", p)
	}
	// The document may also come as a string, as the AWS CLI sends it.
	root.do("POST", "/api/policies", map[string]any{"name": "as-string",
		"document": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`}).
		want(http.StatusCreated)
	root.do("POST", "/api/policies", map[string]any{"name": "list-users", "document": identAllow("admin:ListUsers", "*")}).
		wantError(http.StatusConflict, "PolicyAlreadyExists")
	root.do("POST", "/api/policies", map[string]any{"name": "admin", "document": identAllow("admin:ListUsers", "*")}).
		wantError(http.StatusConflict, "PolicyAlreadyExists")
	root.do("POST", "/api/policies", map[string]any{"name": "bad", "document": identAllow("nonsense", "*")}).
		wantError(http.StatusBadRequest, "MalformedPolicy")
	root.do("POST", "/api/policies", map[string]any{"name": "bad", "document": "{not json"}).
		wantError(http.StatusBadRequest, "MalformedPolicy")
	root.do("POST", "/api/policies", map[string]any{"name": "bad"}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("POST", "/api/policies", map[string]any{"name": "bad name", "document": identAllow("admin:ListUsers", "*")}).
		wantError(http.StatusBadRequest, "InvalidName")

	root.do("GET", "/api/policies/list-users", nil).want(http.StatusOK).json(&p)
	if p.Name != "list-users" {
		t.Fatalf("get: %+v", p)
	}
	root.do("GET", "/api/policies/readonly", nil).want(http.StatusOK).json(&p)
	if !p.Builtin {
		t.Fatalf("get built-in: %+v", p)
	}
	root.do("GET", "/api/policies/nope", nil).wantError(http.StatusNotFound, "PolicyNotFound")

	// Attached to a user, it grants at once; detached, no longer.
	w := e.user("wes")
	w.do("GET", "/api/users", nil).wantError(http.StatusForbidden, "AccessDenied")
	var u identUserResult
	root.do("POST", "/api/users/wes/policies/list-users", nil).want(http.StatusOK).json(&u)
	if len(u.Policies) != 1 || u.Policies[0] != "list-users" {
		t.Fatalf("attached: %+v", u)
	}
	w.do("GET", "/api/users", nil).want(http.StatusOK)
	w.do("POST", "/api/users", map[string]any{"name": "x"}).wantError(http.StatusForbidden, "AccessDenied")
	root.do("DELETE", "/api/policies/list-users", nil).wantError(http.StatusConflict, "PolicyInUse")

	// Updating the document changes what it grants.
	root.do("PUT", "/api/policies/list-users", map[string]any{"document": identAllow("admin:GetUser", "*")}).want(http.StatusOK).json(&p)
	if p.UpdatedAt.Before(p.CreatedAt) {
		t.Fatalf("updated: %+v", p)
	}
	w.do("GET", "/api/users", nil).wantError(http.StatusForbidden, "AccessDenied")
	root.do("PUT", "/api/policies/readonly", map[string]any{"document": identAllow("admin:GetUser", "*")}).wantError(http.StatusConflict, "BuiltinPolicy")
	root.do("PUT", "/api/policies/nope", map[string]any{"document": identAllow("admin:GetUser", "*")}).wantError(http.StatusNotFound, "PolicyNotFound")
	root.do("PUT", "/api/policies/list-users", map[string]any{"document": map[string]any{"Statement": "x"}}).wantError(http.StatusBadRequest, "MalformedPolicy")

	root.do("DELETE", "/api/users/wes/policies/list-users", nil).want(http.StatusOK)
	root.do("DELETE", "/api/users/wes/policies/list-users", nil).wantError(http.StatusNotFound, "NotAttached")
	root.do("POST", "/api/users/wes/policies/nope", nil).wantError(http.StatusNotFound, "PolicyNotFound")
	root.do("POST", "/api/users/nobody/policies/readonly", nil).wantError(http.StatusNotFound, "UserNotFound")
	root.do("DELETE", "/api/policies/list-users", nil).want(http.StatusNoContent)
	root.do("DELETE", "/api/policies/list-users", nil).wantError(http.StatusNotFound, "PolicyNotFound")
	root.do("DELETE", "/api/policies/admin", nil).wantError(http.StatusConflict, "BuiltinPolicy")
	w.do("GET", "/api/policies/readonly", nil).wantError(http.StatusForbidden, "AccessDenied")
	w.do("PUT", "/api/policies/as-string", map[string]any{"document": identAllow("admin:*", "*")}).wantError(http.StatusForbidden, "AccessDenied")
	w.do("DELETE", "/api/policies/as-string", nil).wantError(http.StatusForbidden, "AccessDenied")
}

// identS3 is an S3 client for an access key against e's S3 listener.
func identS3(e *env, key, secret string) *s3.Client {
	return s3.New(s3.Options{
		Region:           region,
		BaseEndpoint:     aws.String(e.S3URL),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
		RetryMaxAttempts: 1,
	})
}

func identS3Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// TestIdentityParityWithS3: what the management API does to users, keys
// and policies is what S3 sees, and for the account-level action both
// surfaces share (creating a bucket) they give the same answer.
func TestIdentityParityWithS3(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root := e.root()
	for _, tc := range []struct {
		user     string
		policies []string
		allowed  bool
	}{
		{"par-readonly", []string{"readonly"}, false},
		{"par-writeonly", []string{"writeonly"}, false},
		{"par-owner", nil, true}, // no policy: an account that may create buckets
		{"par-readwrite", []string{"readwrite"}, true},
	} {
		var k identKeyResult
		root.do("POST", "/api/users", map[string]any{"name": tc.user, "policies": tc.policies}).want(http.StatusCreated)
		root.do("POST", "/api/users/"+tc.user+"/keys", map[string]any{}).want(http.StatusCreated).json(&k)
		cli := identS3(e, k.AccessKey, k.SecretKey)
		_, s3err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(tc.user + "-s3")})
		api := e.as(session.Subject{User: tc.user})
		r := api.do("POST", "/api/buckets", map[string]any{"name": tc.user + "-api"})
		if (s3err == nil) != tc.allowed || (r.Status == http.StatusCreated) != tc.allowed {
			t.Errorf("%s: S3 CreateBucket %v, /api %d %s; want allowed=%v", tc.user, s3err, r.Status, r.Body, tc.allowed)
		}
		if !tc.allowed && (identS3Code(s3err) != "AccessDenied" || r.Status != http.StatusForbidden) {
			t.Errorf("%s: S3 %q, /api %d: both should be AccessDenied", tc.user, identS3Code(s3err), r.Status)
		}
	}

	// Policy changes made through /api apply to S3 at once.
	var k identKeyResult
	root.do("POST", "/api/users/par-owner/keys", map[string]any{}).want(http.StatusCreated).json(&k)
	cli := identS3(e, k.AccessKey, k.SecretKey)
	body := func() io.Reader { return bytes.NewReader([]byte("hello")) }
	if _, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("par-owner-s3"), Key: aws.String("a"), Body: body()}); err != nil {
		t.Fatalf("owner put: %v", err)
	}
	root.do("POST", "/api/policies", map[string]any{"name": "deny-put", "document": map[string]any{"Version": "2012-10-17",
		"Statement": []any{map[string]any{"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::*"}}}}).want(http.StatusCreated)
	root.do("POST", "/api/users/par-owner/policies/deny-put", nil).want(http.StatusOK)
	_, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("par-owner-s3"), Key: aws.String("b"), Body: body()})
	if identS3Code(err) != "AccessDenied" {
		t.Fatalf("put after deny attached: %v", err)
	}
	// Deactivating the key through /api makes S3 refuse it. (Listing its
	// own bucket: with a policy attached, the user no longer has the
	// account's implicit ListAllMyBuckets.)
	list := func() error {
		_, err := cli.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("par-owner-s3")})
		return err
	}
	root.do("PATCH", "/api/keys/"+k.AccessKey, map[string]any{"active": false}).want(http.StatusOK)
	if err := list(); identS3Code(err) != "InvalidAccessKeyId" {
		t.Fatalf("list with an inactive key: %v", err)
	}
	// So does disabling its user (the key is active again first).
	root.do("PATCH", "/api/keys/"+k.AccessKey, map[string]any{"active": true}).want(http.StatusOK)
	if err := list(); err != nil {
		t.Fatalf("list with the key active again: %v", err)
	}
	root.do("PATCH", "/api/users/par-owner", map[string]any{"status": "disabled"}).want(http.StatusOK)
	if err := list(); identS3Code(err) != "AccessDenied" {
		t.Fatalf("list as a disabled user: %v", err)
	}
}
