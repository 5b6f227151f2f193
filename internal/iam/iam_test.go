package iam

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/policy"
)

const (
	testRoot   = "ROOTACCESSKEY"
	testSecret = "root-secret-0123456789"
)

// clock is a settable clock shared by the IAM under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// storeBuckets gives Authorize the buckets of a real metadata store.
type storeBuckets struct{ s meta.Store }

func (b storeBuckets) Bucket(ctx context.Context, name string) (meta.Bucket, error) {
	return b.s.GetBucket(ctx, name)
}
func (b storeBuckets) Buckets(ctx context.Context) ([]meta.Bucket, error) {
	return b.s.ListBuckets(ctx)
}
func (b storeBuckets) BucketConfig(ctx context.Context, bucket, name string) ([]byte, error) {
	return b.s.GetBucketConfig(ctx, bucket, name)
}

type env struct {
	store *embedded.Store
	m     *IAM
	clock *clock
	key   []byte
}

// newEnv opens an IAM over a real embedded store in a temp dir.
func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "meta"), embedded.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{store: st, clock: &clock{t: time.Now().UTC()}, key: make([]byte, MasterKeySize)}
	rand.Read(e.key)
	e.m = e.open(t)
	return e
}

// open returns another IAM over the same store, as a second instance.
func (e *env) open(t testing.TB) *IAM {
	t.Helper()
	m, err := Open(context.Background(), Config{RootUser: testRoot, RootSecret: testSecret, Store: e.store,
		MasterKey: e.key, Buckets: storeBuckets{e.store}, Now: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestRootOnly(t *testing.T) {
	ctx := context.Background()
	m, err := New("admin", "secret-value")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := m.SecretKey(ctx, "admin"); err != nil || s != "secret-value" {
		t.Fatalf("SecretKey(admin) = %q, %v", s, err)
	}
	for _, k := range []string{"", "admi", "admin2", "ADMIN"} {
		if _, err := m.SecretKey(ctx, k); !errors.Is(err, ErrUnknownAccessKey) {
			t.Errorf("SecretKey(%q) err = %v, want ErrUnknownAccessKey", k, err)
		}
		if _, err := m.PrincipalFor(ctx, k); !errors.Is(err, ErrUnknownAccessKey) {
			t.Errorf("PrincipalFor(%q) err = %v", k, err)
		}
	}
	root, err := m.PrincipalFor(ctx, "admin")
	if err != nil || !root.Root || root.Anonymous() {
		t.Fatalf("root principal = %+v, %v", root, err)
	}
	req := Request{Action: "s3:PutObject", Bucket: "b", Key: "k"}
	if err := m.Authorize(ctx, root, req); err != nil {
		t.Errorf("root denied: %v", err)
	}
	if err := m.Authorize(ctx, Principal{}, req); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("anonymous allowed: %v", err)
	}
	if err := m.Authorize(ctx, Principal{Name: "someone"}, req); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("unknown user allowed: %v", err)
	}
	if _, err := m.CreateUser(ctx, UserInput{Name: "x"}); !errors.Is(err, ErrNoStore) {
		t.Errorf("CreateUser on a root-only IAM: %v", err)
	}
	if _, err := New("", "x"); err == nil {
		t.Error("empty root user accepted")
	}
	if len(root.CanonicalID()) != 64 || root.CanonicalID() == CanonicalID("other") {
		t.Error("canonical ids not 64-hex or not distinct")
	}
	if p, err := m.CheckPassword(ctx, "admin", "secret-value"); err != nil || !p.Root {
		t.Errorf("root password login: %+v %v", p, err)
	}
	if _, err := m.CheckPassword(ctx, "admin", "wrong"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("wrong root password: %v", err)
	}
}

func TestMasterKey(t *testing.T) {
	dir := t.TempDir()
	k1, created, err := LoadMasterKey("", "", dir)
	if err != nil || !created || len(k1) != MasterKeySize {
		t.Fatalf("generate: %v created=%v len=%d", err, created, len(k1))
	}
	fi, err := os.Stat(filepath.Join(dir, MasterKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v mode %v", err, fi.Mode())
	}
	k2, created, err := LoadMasterKey("", "", dir)
	if err != nil || created || string(k2) != string(k1) {
		t.Fatalf("reload: %v created=%v same=%v", err, created, string(k2) == string(k1))
	}
	other := make([]byte, MasterKeySize)
	rand.Read(other)
	enc := base64.StdEncoding.EncodeToString(other)
	if k, _, err := LoadMasterKey(enc, "", dir); err != nil || string(k) != string(other) {
		t.Fatalf("from value: %v", err)
	}
	file := filepath.Join(t.TempDir(), "mk")
	if err := os.WriteFile(file, []byte(enc+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, _, err := LoadMasterKey("", file, dir); err != nil || string(k) != string(other) {
		t.Fatalf("from file: %v", err)
	}
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, _, err := LoadMasterKey(bad, "", dir); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("LoadMasterKey(%q) err = %v", bad, err)
		}
	}
	if _, _, err := LoadMasterKey("", filepath.Join(dir, "missing"), dir); err == nil {
		t.Error("missing key file accepted")
	}
}

func TestOpenRefusesAnotherMasterKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := must[AccessKey](t)(e.m.CreateAccessKey(ctx, AccessKeyInput{User: must[User](t)(e.m.CreateUser(ctx, UserInput{Name: "u"})).Name}))
	e.open(t) // the same key opens again
	wrong := make([]byte, MasterKeySize)
	rand.Read(wrong)
	_, err := Open(ctx, Config{RootUser: testRoot, RootSecret: testSecret, Store: e.store, MasterKey: wrong})
	wantErr(t, err, ErrMasterKeyMismatch)
	if _, err := Open(ctx, Config{RootUser: testRoot, RootSecret: testSecret, Store: e.store, MasterKey: wrong[:16]}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("short master key: %v", err)
	}
	// The secret is sealed, not stored in clear.
	rec, err := e.store.GetRecord(ctx, kindKey, k.AccessKey)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rec.Data), k.Secret) {
		t.Fatal("secret stored in clear")
	}
}

func TestUsers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.m
	u, err := m.CreateUser(ctx, UserInput{Name: "alice", Password: "correct horse", Policies: []string{"readonly"}})
	if err != nil {
		t.Fatal(err)
	}
	if !u.Enabled || !u.HasPassword || !slices.Equal(u.Policies, []string{"readonly"}) || u.Created.IsZero() {
		t.Fatalf("created %+v", u)
	}
	wantErr(t, second(m.CreateUser(ctx, UserInput{Name: "alice"})), ErrUserExists)
	wantErr(t, second(m.CreateUser(ctx, UserInput{Name: testRoot})), ErrUserExists)
	for _, bad := range []string{"", "has space", "a/b", "x:y", "a*", strings.Repeat("a", MaxNameLength+1)} {
		wantErr(t, second(m.CreateUser(ctx, UserInput{Name: bad})), ErrInvalidName)
	}
	wantErr(t, second(m.CreateUser(ctx, UserInput{Name: "bob", Password: "short"})), ErrInvalidInput)
	wantErr(t, second(m.CreateUser(ctx, UserInput{Name: "bob", Policies: []string{"nope"}})), ErrPolicyNotFound)
	wantErr(t, second(m.CreateUser(ctx, UserInput{Name: "bob", Groups: []string{"nope"}})), ErrGroupNotFound)
	if _, err := m.GetUser(ctx, "bob"); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("a failed create left a user: %v", err)
	}
	must[User](t)(m.CreateUser(ctx, UserInput{Name: "bob", Disabled: true}))

	users := must[[]User](t)(m.ListUsers(ctx))
	if len(users) != 2 || users[0].Name != "alice" || users[1].Name != "bob" || users[1].Enabled {
		t.Fatalf("ListUsers = %+v", users)
	}

	// Passwords.
	if p, err := m.CheckPassword(ctx, "alice", "correct horse"); err != nil || p.Name != "alice" || p.Root {
		t.Fatalf("CheckPassword: %+v %v", p, err)
	}
	wantErr(t, second(m.CheckPassword(ctx, "alice", "wrong horse")), ErrBadCredentials)
	wantErr(t, second(m.CheckPassword(ctx, "nobody", "correct horse")), ErrBadCredentials)
	wantErr(t, second(m.CheckPassword(ctx, "bob", "")), ErrBadCredentials) // bob has no password
	wantErr(t, m.SetUserPassword(ctx, "alice", "tiny"), ErrInvalidInput)
	wantErr(t, m.SetUserPassword(ctx, "nobody", "long enough"), ErrUserNotFound)
	if err := m.SetUserPassword(ctx, "alice", "new password"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, second(m.CheckPassword(ctx, "alice", "correct horse")), ErrBadCredentials)
	if _, err := m.CheckPassword(ctx, "alice", "new password"); err != nil {
		t.Fatal(err)
	}
	if err := m.SetUserPassword(ctx, "alice", ""); err != nil {
		t.Fatal(err)
	}
	wantErr(t, second(m.CheckPassword(ctx, "alice", "new password")), ErrBadCredentials)
	if u := must[User](t)(m.GetUser(ctx, "alice")); u.HasPassword {
		t.Fatal("password not removed")
	}

	// Enable and disable.
	if err := m.SetUserPassword(ctx, "bob", "bob's password"); err != nil {
		t.Fatal(err)
	}
	_, err = m.CheckPassword(ctx, "bob", "bob's password")
	wantErr(t, err, ErrUserDisabled)
	wantErr(t, err, ErrAccessDenied)
	wantErr(t, m.SetUserEnabled(ctx, "nobody", true), ErrUserNotFound)
	if err := m.SetUserEnabled(ctx, "bob", true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CheckPassword(ctx, "bob", "bob's password"); err != nil {
		t.Fatal(err)
	}
	if p, err := m.UserPrincipal(ctx, "bob"); err != nil || p.Name != "bob" {
		t.Fatalf("UserPrincipal: %+v %v", p, err)
	}
	if p, err := m.UserPrincipal(ctx, testRoot); err != nil || !p.Root {
		t.Fatalf("UserPrincipal(root): %+v %v", p, err)
	}
	wantErr(t, second(m.UserPrincipal(ctx, "nobody")), ErrUserNotFound)

	// Delete, with keys and tokens.
	k := must[AccessKey](t)(m.CreateAccessKey(ctx, AccessKeyInput{User: "bob"}))
	_, tok, err := m.CreateToken(ctx, Principal{Name: "bob"}, TokenInput{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, m.DeleteUser(ctx, "nobody"), ErrUserNotFound)
	if err := m.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, second(m.GetUser(ctx, "bob")), ErrUserNotFound)
	wantErr(t, second(m.GetAccessKey(ctx, k.AccessKey)), ErrKeyNotFound)
	wantErr(t, second(m.SecretKey(ctx, k.AccessKey)), ErrUnknownAccessKey)
	wantErr(t, second(m.CheckToken(ctx, tok)), ErrBadCredentials)
	if ts := must[[]Token](t)(m.ListTokens(ctx, "")); len(ts) != 0 {
		t.Fatalf("tokens left: %+v", ts)
	}
}

func second[T any](_ T, err error) error { return err }

func TestUserBucketOwnership(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.m
	must[User](t)(m.CreateUser(ctx, UserInput{Name: "carol"}))
	if err := e.store.CreateBucket(ctx, meta.Bucket{Name: "carols", Owner: "carol", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, m.DeleteUser(ctx, "carol"), ErrUserOwnsBuckets)
	// A bucket left by a user deleted some other way keeps its name from
	// being reused, so it cannot pass to a newcomer.
	if err := e.store.CreateBucket(ctx, meta.Bucket{Name: "ghosts", Owner: "ghost", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, second(m.CreateUser(ctx, UserInput{Name: "ghost"})), ErrUserOwnsBuckets)
	if err := e.store.DeleteBucket(ctx, "carols"); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
}

func TestGroups(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.m
	must[User](t)(m.CreateUser(ctx, UserInput{Name: "ann"}))
	must[User](t)(m.CreateUser(ctx, UserInput{Name: "ben"}))
	g, err := m.CreateGroup(ctx, "devs", []string{"readwrite"})
	if err != nil || g.Name != "devs" || !slices.Equal(g.Policies, []string{"readwrite"}) || len(g.Members) != 0 {
		t.Fatalf("CreateGroup: %+v %v", g, err)
	}
	wantErr(t, second(m.CreateGroup(ctx, "devs", nil)), ErrGroupExists)
	wantErr(t, second(m.CreateGroup(ctx, "bad name", nil)), ErrInvalidName)
	wantErr(t, second(m.CreateGroup(ctx, "ops", []string{"missing"})), ErrPolicyNotFound)
	wantErr(t, m.AddUserToGroup(ctx, "ann", "nope"), ErrGroupNotFound)
	wantErr(t, m.AddUserToGroup(ctx, "nobody", "devs"), ErrUserNotFound)
	for _, u := range []string{"ben", "ann", "ann"} {
		if err := m.AddUserToGroup(ctx, u, "devs"); err != nil {
			t.Fatal(err)
		}
	}
	g = must[Group](t)(m.GetGroup(ctx, "devs"))
	if !slices.Equal(g.Members, []string{"ann", "ben"}) {
		t.Fatalf("members %v", g.Members)
	}
	if u := must[User](t)(m.GetUser(ctx, "ann")); !slices.Equal(u.Groups, []string{"devs"}) {
		t.Fatalf("ann's groups %v", u.Groups)
	}
	wantErr(t, m.RemoveUserFromGroup(ctx, "ann", "nope"), ErrGroupNotFound)
	if err := m.RemoveUserFromGroup(ctx, "ben", "devs"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, m.RemoveUserFromGroup(ctx, "ben", "devs"), ErrNotAttached)
	must[Group](t)(m.CreateGroup(ctx, "ops", nil))
	gs := must[[]Group](t)(m.ListGroups(ctx))
	if len(gs) != 2 || gs[0].Name != "devs" || !slices.Equal(gs[0].Members, []string{"ann"}) || len(gs[1].Members) != 0 {
		t.Fatalf("ListGroups %+v", gs)
	}
	wantErr(t, second(m.GetGroup(ctx, "nope")), ErrGroupNotFound)

	// ann writes through the group; deleting the group takes that away,
	// and a new group of the same name does not inherit the membership.
	write := Request{Action: "s3:PutObject", Bucket: "b", Key: "k"}
	if err := e.store.CreateBucket(ctx, meta.Bucket{Name: "b", Owner: testRoot, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := m.Authorize(ctx, Principal{Name: "ann"}, write); err != nil {
		t.Fatalf("group member denied: %v", err)
	}
	wantErr(t, m.DeleteGroup(ctx, "nope"), ErrGroupNotFound)
	if err := m.DeleteGroup(ctx, "devs"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, m.Authorize(ctx, Principal{Name: "ann"}, write), ErrAccessDenied)
	must[Group](t)(m.CreateGroup(ctx, "devs", []string{"readwrite"}))
	if u := must[User](t)(m.GetUser(ctx, "ann")); len(u.Groups) != 0 {
		t.Fatalf("membership survived its group: %v", u.Groups)
	}
	wantErr(t, m.Authorize(ctx, Principal{Name: "ann"}, write), ErrAccessDenied)
}

func TestPolicies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.m
	ps := must[[]Policy](t)(m.ListPolicies(ctx))
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
		if !p.Builtin {
			t.Fatalf("fresh store lists a stored policy %q", p.Name)
		}
	}
	if !slices.Equal(names, policy.BuiltinNames()) {
		t.Fatalf("built-ins %v", names)
	}
	doc := []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}]}`)
	p, err := m.CreatePolicy(ctx, "pub-read", doc)
	if err != nil || p.Builtin || p.Created.IsZero() {
		t.Fatalf("CreatePolicy: %+v %v", p, err)
	}
	if _, err := policy.Parse(p.Document); err != nil {
		t.Fatalf("stored document does not parse: %v", err)
	}
	wantErr(t, second(m.CreatePolicy(ctx, "pub-read", doc)), ErrPolicyExists)
	wantErr(t, second(m.CreatePolicy(ctx, "readonly", doc)), ErrPolicyExists)
	wantErr(t, second(m.CreatePolicy(ctx, "bad/name", doc)), ErrInvalidName)
	wantErr(t, second(m.CreatePolicy(ctx, "x", []byte(`{"Statement":[]}`))), policy.ErrMalformed)
	wantErr(t, second(m.CreatePolicy(ctx, "x", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`))), policy.ErrMalformed)
	wantErr(t, second(m.CreatePolicy(ctx, "x", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Sid":"`+strings.Repeat("a", MaxPolicySize)+`"}]}`))), policy.ErrMalformed)
	if got := must[Policy](t)(m.GetPolicy(ctx, "readonly")); !got.Builtin || len(got.Document) == 0 {
		t.Fatalf("GetPolicy(readonly) = %+v", got)
	}
	wantErr(t, second(m.GetPolicy(ctx, "nope")), ErrPolicyNotFound)
	wantErr(t, second(m.UpdatePolicy(ctx, "readonly", doc)), ErrBuiltinPolicy)
	wantErr(t, second(m.UpdatePolicy(ctx, "nope", doc)), ErrPolicyNotFound)
	wantErr(t, second(m.UpdatePolicy(ctx, "pub-read", []byte("{"))), policy.ErrMalformed)
	wantErr(t, m.DeletePolicy(ctx, "admin"), ErrBuiltinPolicy)
	wantErr(t, m.DeletePolicy(ctx, "nope"), ErrPolicyNotFound)

	// Attach, detach, in use.
	must[User](t)(m.CreateUser(ctx, UserInput{Name: "dan"}))
	must[Group](t)(m.CreateGroup(ctx, "g", nil))
	wantErr(t, m.AttachUserPolicy(ctx, "dan", "nope"), ErrPolicyNotFound)
	wantErr(t, m.AttachUserPolicy(ctx, "nobody", "pub-read"), ErrUserNotFound)
	wantErr(t, m.AttachGroupPolicy(ctx, "nope", "pub-read"), ErrGroupNotFound)
	for range 2 {
		if err := m.AttachUserPolicy(ctx, "dan", "pub-read"); err != nil {
			t.Fatal(err)
		}
	}
	if u := must[User](t)(m.GetUser(ctx, "dan")); !slices.Equal(u.Policies, []string{"pub-read"}) {
		t.Fatalf("dan's policies %v", u.Policies)
	}
	if err := m.AttachGroupPolicy(ctx, "g", "pub-read"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, m.DeletePolicy(ctx, "pub-read"), ErrPolicyInUse)
	if err := m.DetachUserPolicy(ctx, "dan", "pub-read"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, m.DetachUserPolicy(ctx, "dan", "pub-read"), ErrNotAttached)
	wantErr(t, m.DetachUserPolicy(ctx, "nobody", "pub-read"), ErrUserNotFound)
	wantErr(t, m.DeletePolicy(ctx, "pub-read"), ErrPolicyInUse) // still on the group
	if err := m.DetachGroupPolicy(ctx, "g", "pub-read"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, m.DetachGroupPolicy(ctx, "g", "pub-read"), ErrNotAttached)
	wantErr(t, m.DetachGroupPolicy(ctx, "nope", "pub-read"), ErrGroupNotFound)
	if err := m.DeletePolicy(ctx, "pub-read"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, second(m.GetPolicy(ctx, "pub-read")), ErrPolicyNotFound)
}

// TestUpdatePolicyTakesEffect: a policy edit changes what its users may
// do at once here, and within the cache TTL on another instance.
func TestUpdatePolicyTakesEffect(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other := e.open(t) // a second instance over the same store
	if err := e.store.CreateBucket(ctx, meta.Bucket{Name: "b", Owner: testRoot, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	allow := func(action string) []byte {
		return []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"arn:aws:s3:::b/*"}]}`)
	}
	must[Policy](t)(e.m.CreatePolicy(ctx, "p", allow("s3:GetObject")))
	must[User](t)(e.m.CreateUser(ctx, UserInput{Name: "eve", Policies: []string{"p"}}))
	get := Request{Action: "s3:GetObject", Bucket: "b", Key: "k"}
	put := Request{Action: "s3:PutObject", Bucket: "b", Key: "k"}
	eve := Principal{Name: "eve"}
	for _, m := range []*IAM{e.m, other} {
		if err := m.Authorize(ctx, eve, get); err != nil {
			t.Fatal(err)
		}
		wantErr(t, m.Authorize(ctx, eve, put), ErrAccessDenied)
	}
	must[Policy](t)(e.m.UpdatePolicy(ctx, "p", allow("s3:PutObject")))
	if err := e.m.Authorize(ctx, eve, put); err != nil {
		t.Fatalf("updated policy not applied here: %v", err)
	}
	wantErr(t, other.Authorize(ctx, eve, put), ErrAccessDenied) // still cached there
	e.clock.add(DefaultCacheTTL)
	if err := other.Authorize(ctx, eve, put); err != nil {
		t.Fatalf("updated policy not applied after the TTL: %v", err)
	}
	wantErr(t, other.Authorize(ctx, eve, get), ErrAccessDenied)
}

// TestConcurrentUpdates: writers racing on one user all land (revision
// preconditions and retries), through two instances.
func TestConcurrentUpdates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other := e.open(t)
	must[User](t)(e.m.CreateUser(ctx, UserInput{Name: "busy"}))
	var names []string
	for i := range 12 {
		n := "p" + string(rune('a'+i))
		names = append(names, n)
		must[Policy](t)(e.m.CreatePolicy(ctx, n, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	for i, n := range names {
		m := e.m
		if i%2 == 1 {
			m = other
		}
		wg.Go(func() { errs <- m.AttachUserPolicy(ctx, "busy", n) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	u := must[User](t)(e.m.GetUser(ctx, "busy"))
	slices.Sort(u.Policies)
	if !slices.Equal(u.Policies, names) {
		t.Fatalf("policies after concurrent attaches: %v", u.Policies)
	}
}
