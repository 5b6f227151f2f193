package iam

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestAccessKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.m
	must[User](t)(m.CreateUser(ctx, UserInput{Name: "kim"}))
	must[User](t)(m.CreateUser(ctx, UserInput{Name: "lee"}))

	gen, err := m.CreateAccessKey(ctx, AccessKeyInput{User: "kim", Description: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Z0-9]{20}$`).MatchString(gen.AccessKey) || len(gen.Secret) != 40 || !gen.Active ||
		gen.User != "kim" || gen.Description != "laptop" || gen.ID < 1 {
		t.Fatalf("generated key %+v", gen)
	}
	custom, err := m.CreateAccessKey(ctx, AccessKeyInput{User: "kim", AccessKey: "AKIAIOSFODNN7EXAMPLE", Secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
	if err != nil {
		t.Fatal(err)
	}
	if custom.AccessKey != "AKIAIOSFODNN7EXAMPLE" || custom.Secret != "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" || custom.ID <= gen.ID {
		t.Fatalf("custom key %+v", custom)
	}
	wantErr(t, second(m.CreateAccessKey(ctx, AccessKeyInput{User: "lee", AccessKey: "AKIAIOSFODNN7EXAMPLE"})), ErrKeyExists)
	wantErr(t, second(m.CreateAccessKey(ctx, AccessKeyInput{User: "lee", AccessKey: testRoot})), ErrKeyExists)
	wantErr(t, second(m.CreateAccessKey(ctx, AccessKeyInput{User: "nobody"})), ErrUserNotFound)
	for _, bad := range []string{"ab", "has/slash", "has,comma", "sp ace", strings.Repeat("A", 129)} {
		wantErr(t, second(m.CreateAccessKey(ctx, AccessKeyInput{User: "lee", AccessKey: bad})), ErrInvalidName)
	}
	for _, bad := range []string{"short", "has space in it", strings.Repeat("s", 129)} {
		wantErr(t, second(m.CreateAccessKey(ctx, AccessKeyInput{User: "lee", Secret: bad})), ErrInvalidInput)
	}
	wantErr(t, second(m.CreateAccessKey(ctx, AccessKeyInput{User: "lee", Expires: e.clock.now().Add(-time.Second)})), ErrInvalidInput)
	wantErr(t, second(m.CreateAccessKey(ctx, AccessKeyInput{User: "lee", Description: strings.Repeat("d", 300)})), ErrInvalidInput)

	leeKey := must[AccessKey](t)(m.CreateAccessKey(ctx, AccessKeyInput{User: "lee", Expires: e.clock.now().Add(time.Hour)}))
	got := must[AccessKey](t)(m.GetAccessKey(ctx, gen.AccessKey))
	if got.Secret != "" || got.Description != "laptop" || got.ID != gen.ID {
		t.Fatalf("GetAccessKey = %+v (a secret must never be returned again)", got)
	}
	wantErr(t, second(m.GetAccessKey(ctx, "NOPE")), ErrKeyNotFound)
	if k := must[AccessKey](t)(m.AccessKeyByID(ctx, custom.ID)); k.AccessKey != custom.AccessKey {
		t.Fatalf("AccessKeyByID = %+v", k)
	}
	wantErr(t, second(m.AccessKeyByID(ctx, 999)), ErrKeyNotFound)

	if ks := must[[]AccessKey](t)(m.ListAccessKeys(ctx, "kim")); len(ks) != 2 {
		t.Fatalf("kim's keys %+v", ks)
	}
	all := must[[]AccessKey](t)(m.ListAccessKeys(ctx, ""))
	if len(all) != 3 {
		t.Fatalf("all keys %+v", all)
	}
	for _, k := range all {
		if k.Secret != "" {
			t.Fatal("listing shows a secret")
		}
	}
	wantErr(t, second(m.ListAccessKeys(ctx, "nobody")), ErrUserNotFound)

	// Update: deactivate, describe, expire, move.
	up, err := m.UpdateAccessKey(ctx, gen.AccessKey, AccessKeyUpdate{Active: ptr(false), Description: ptr("old laptop"),
		Expires: ptr(e.clock.now().Add(2 * time.Hour)), User: ptr("lee")})
	if err != nil {
		t.Fatal(err)
	}
	if up.Active || up.Description != "old laptop" || up.User != "lee" || up.Expires.IsZero() {
		t.Fatalf("updated %+v", up)
	}
	up = must[AccessKey](t)(m.UpdateAccessKey(ctx, gen.AccessKey, AccessKeyUpdate{Expires: ptr(time.Time{}), Active: ptr(true)}))
	if !up.Expires.IsZero() || !up.Active {
		t.Fatalf("expiry not removed: %+v", up)
	}
	wantErr(t, second(m.UpdateAccessKey(ctx, "NOPE", AccessKeyUpdate{Active: ptr(true)})), ErrKeyNotFound)
	wantErr(t, second(m.UpdateAccessKey(ctx, gen.AccessKey, AccessKeyUpdate{User: ptr("nobody")})), ErrUserNotFound)
	wantErr(t, second(m.UpdateAccessKey(ctx, gen.AccessKey, AccessKeyUpdate{Description: ptr(strings.Repeat("d", 300))})), ErrInvalidInput)
	if p := must[Principal](t)(m.PrincipalFor(ctx, gen.AccessKey)); p.Name != "lee" {
		t.Fatalf("moved key authenticates as %q", p.Name)
	}

	// Delete.
	if err := m.DeleteAccessKey(ctx, leeKey.AccessKey); err != nil {
		t.Fatal(err)
	}
	wantErr(t, m.DeleteAccessKey(ctx, leeKey.AccessKey), ErrKeyNotFound)
	wantErr(t, second(m.SecretKey(ctx, leeKey.AccessKey)), ErrUnknownAccessKey)
}

// TestKeyAuthentication: what SigV4 (SecretKey, PrincipalFor) and a login
// with keys (CheckAccessKey) say for each state of a key and its user.
func TestKeyAuthentication(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.m
	must[User](t)(m.CreateUser(ctx, UserInput{Name: "max"}))
	k := must[AccessKey](t)(m.CreateAccessKey(ctx, AccessKeyInput{User: "max", Expires: e.clock.now().Add(time.Hour)}))

	if s, err := m.SecretKey(ctx, k.AccessKey); err != nil || s != k.Secret {
		t.Fatalf("SecretKey: %v", err)
	}
	if p, err := m.PrincipalFor(ctx, k.AccessKey); err != nil || p.Name != "max" || p.AccessKey != k.AccessKey || p.Root {
		t.Fatalf("PrincipalFor: %+v %v", p, err)
	}
	if p, err := m.CheckAccessKey(ctx, k.AccessKey, k.Secret); err != nil || p.Name != "max" {
		t.Fatalf("CheckAccessKey: %+v %v", p, err)
	}
	wantErr(t, second(m.CheckAccessKey(ctx, k.AccessKey, k.Secret+"x")), ErrBadCredentials)
	wantErr(t, second(m.CheckAccessKey(ctx, "UNKNOWN", k.Secret)), ErrBadCredentials)
	wantErr(t, second(m.SecretKey(ctx, "UNKNOWN")), ErrUnknownAccessKey)
	if p, err := m.CheckAccessKey(ctx, testRoot, testSecret); err != nil || !p.Root {
		t.Fatalf("root keys: %+v %v", p, err)
	}
	wantErr(t, second(m.CheckAccessKey(ctx, testRoot, "wrong")), ErrBadCredentials)

	// Inactive.
	must[AccessKey](t)(m.UpdateAccessKey(ctx, k.AccessKey, AccessKeyUpdate{Active: ptr(false)}))
	for _, err := range []error{second(m.SecretKey(ctx, k.AccessKey)), second(m.PrincipalFor(ctx, k.AccessKey))} {
		wantErr(t, err, ErrUnknownAccessKey)
		wantErr(t, err, ErrKeyInactive)
	}
	err := second(m.CheckAccessKey(ctx, k.AccessKey, k.Secret))
	wantErr(t, err, ErrBadCredentials)
	wantErr(t, err, ErrKeyInactive)
	must[AccessKey](t)(m.UpdateAccessKey(ctx, k.AccessKey, AccessKeyUpdate{Active: ptr(true)}))

	// Disabled user: the signature verifies, the principal is refused.
	if err := m.SetUserEnabled(ctx, "max", false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SecretKey(ctx, k.AccessKey); err != nil {
		t.Fatalf("SecretKey of a disabled user's key: %v", err)
	}
	err = second(m.PrincipalFor(ctx, k.AccessKey))
	wantErr(t, err, ErrUserDisabled)
	wantErr(t, err, ErrAccessDenied)
	wantErr(t, second(m.CheckAccessKey(ctx, k.AccessKey, k.Secret)), ErrUserDisabled)
	wantErr(t, m.Authorize(ctx, Principal{Name: "max"}, Request{Action: "s3:ListAllMyBuckets"}), ErrUserDisabled)
	if err := m.SetUserEnabled(ctx, "max", true); err != nil {
		t.Fatal(err)
	}

	// Expired.
	e.clock.add(time.Hour)
	wantErr(t, second(m.SecretKey(ctx, k.AccessKey)), ErrKeyInactive)
	wantErr(t, second(m.CheckAccessKey(ctx, k.AccessKey, k.Secret)), ErrKeyInactive)
}

// TestKeyCacheAcrossInstances: another instance sees a new, revoked or
// deactivated key within the TTL, and this one at once.
func TestKeyCacheAcrossInstances(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other := e.open(t)
	must[User](t)(e.m.CreateUser(ctx, UserInput{Name: "ivy"}))
	const ak = "IVYKEY0001"
	wantErr(t, second(other.SecretKey(ctx, ak)), ErrUnknownAccessKey) // remembered as unknown
	must[AccessKey](t)(e.m.CreateAccessKey(ctx, AccessKeyInput{User: "ivy", AccessKey: ak, Secret: "ivy-secret-1"}))
	if _, err := e.m.SecretKey(ctx, ak); err != nil {
		t.Fatalf("new key unknown to the instance that made it: %v", err)
	}
	wantErr(t, second(other.SecretKey(ctx, ak)), ErrUnknownAccessKey)
	e.clock.add(DefaultCacheTTL)
	if s, err := other.SecretKey(ctx, ak); err != nil || s != "ivy-secret-1" {
		t.Fatalf("new key unknown after the TTL: %v", err)
	}
	if err := e.m.DeleteAccessKey(ctx, ak); err != nil {
		t.Fatal(err)
	}
	wantErr(t, second(e.m.SecretKey(ctx, ak)), ErrUnknownAccessKey)
	if _, err := other.SecretKey(ctx, ak); err != nil {
		t.Fatalf("deleted key forgotten before the TTL (the cache is not working): %v", err)
	}
	e.clock.add(DefaultCacheTTL)
	wantErr(t, second(other.SecretKey(ctx, ak)), ErrUnknownAccessKey)
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.m
	must[User](t)(m.CreateUser(ctx, UserInput{Name: "ops"}))
	tok, secret, err := m.CreateToken(ctx, Principal{Name: "ops"}, TokenInput{Name: "deploy bot", Expires: e.clock.now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, tokenPrefix+tok.ID+"_") || tok.User != "ops" || tok.Name != "deploy bot" || tok.Root {
		t.Fatalf("token %+v %q", tok, secret)
	}
	if p, err := m.CheckToken(ctx, secret); err != nil || p.Name != "ops" || p.Token != tok.ID || p.Root {
		t.Fatalf("CheckToken: %+v %v", p, err)
	}
	rootTok, rootSecret, err := m.CreateToken(ctx, m.RootPrincipal(), TokenInput{})
	if err != nil || !rootTok.Root {
		t.Fatalf("root token: %+v %v", rootTok, err)
	}
	if p, err := m.CheckToken(ctx, rootSecret); err != nil || !p.Root {
		t.Fatalf("root CheckToken: %+v %v", p, err)
	}
	wantErr(t, third(m.CreateToken(ctx, Principal{}, TokenInput{})), ErrAccessDenied)
	wantErr(t, third(m.CreateToken(ctx, Principal{Name: "nobody"}, TokenInput{})), ErrUserNotFound)
	wantErr(t, third(m.CreateToken(ctx, Principal{Name: "ops"}, TokenInput{Name: "bad\nname"})), ErrInvalidName)
	wantErr(t, third(m.CreateToken(ctx, Principal{Name: "ops"}, TokenInput{Expires: e.clock.now()})), ErrInvalidInput)

	if ts := must[[]Token](t)(m.ListTokens(ctx, "ops")); len(ts) != 1 || ts[0].ID != tok.ID {
		t.Fatalf("ops tokens %+v", ts)
	}
	if ts := must[[]Token](t)(m.ListTokens(ctx, "")); len(ts) != 2 {
		t.Fatalf("all tokens %+v", ts)
	}
	if got := must[Token](t)(m.GetToken(ctx, tok.ID)); got.ID != tok.ID {
		t.Fatalf("GetToken %+v", got)
	}
	wantErr(t, second(m.GetToken(ctx, "0000000000000000")), ErrTokenNotFound)

	for _, bad := range []string{"", "coffer_", "coffer_abc_def", secret + "x", strings.Replace(secret, tok.ID, "0123456789abcdef", 1), "Bearer " + secret} {
		wantErr(t, second(m.CheckToken(ctx, bad)), ErrBadCredentials)
	}

	// A disabled user's token is refused, and works again once enabled.
	if err := m.SetUserEnabled(ctx, "ops", false); err != nil {
		t.Fatal(err)
	}
	wantErr(t, second(m.CheckToken(ctx, secret)), ErrUserDisabled)
	if err := m.SetUserEnabled(ctx, "ops", true); err != nil {
		t.Fatal(err)
	}

	// Revocation counts at once on every instance: tokens are not cached.
	other := e.open(t)
	if _, err := other.CheckToken(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if err := m.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, second(other.CheckToken(ctx, secret)), ErrBadCredentials)
	wantErr(t, m.RevokeToken(ctx, tok.ID), ErrTokenNotFound)

	// Expiry.
	_, short, err := m.CreateToken(ctx, Principal{Name: "ops"}, TokenInput{Expires: e.clock.now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.add(2 * time.Minute)
	wantErr(t, second(m.CheckToken(ctx, short)), ErrBadCredentials)
}

func TestCanonicalUserName(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must[User](t)(e.m.CreateUser(ctx, UserInput{Name: "zed"}))
	if n, err := e.m.CanonicalUserName(ctx, CanonicalID("zed")); err != nil || n != "zed" {
		t.Fatalf("zed: %q %v", n, err)
	}
	if n, err := e.m.CanonicalUserName(ctx, CanonicalID(testRoot)); err != nil || n != testRoot {
		t.Fatalf("root: %q %v", n, err)
	}
	wantErr(t, second(e.m.CanonicalUserName(ctx, CanonicalID("nobody"))), ErrUserNotFound)
}

func third[T, U any](_ T, _ U, err error) error { return err }

// FuzzCheckToken: no string but the issued token authenticates, and none
// makes CheckToken fail otherwise than with ErrBadCredentials.
func FuzzCheckToken(f *testing.F) {
	e := newEnv(f)
	ctx := context.Background()
	if _, err := e.m.CreateUser(ctx, UserInput{Name: "fz"}); err != nil {
		f.Fatal(err)
	}
	_, secret, err := e.m.CreateToken(ctx, Principal{Name: "fz"}, TokenInput{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(secret)
	f.Add(secret[:len(secret)-1])
	f.Add("coffer_0123456789abcdef_x")
	f.Add("coffer__")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := e.m.CheckToken(ctx, s)
		if err == nil {
			if s != secret || p.Name != "fz" {
				t.Fatalf("%q authenticated as %+v", s, p)
			}
			return
		}
		if !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("%q: %v", s, err)
		}
	})
}

func TestSealSecret(t *testing.T) {
	e := newEnv(t)
	m := e.open(t)
	sealed, err := m.SealSecret("setting:huggingface", []byte("hf_secret_token"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "hf_secret_token") {
		t.Fatal("sealed secret contains the plain text")
	}
	plain, err := m.OpenSecret("setting:huggingface", sealed)
	if err != nil || string(plain) != "hf_secret_token" {
		t.Fatalf("OpenSecret = %q, %v", plain, err)
	}
	if _, err := m.OpenSecret("setting:proxy", sealed); err == nil {
		t.Fatal("a secret sealed for one purpose opened for another")
	}
	root, err := New("rootuser", "rootsecret")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.SealSecret("x", []byte("y")); !errors.Is(err, ErrNoStore) {
		t.Fatalf("root-only IAM: %v", err)
	}
}
