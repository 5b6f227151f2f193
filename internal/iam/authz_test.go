package iam

import (
	"context"
	"errors"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// authzWorld is a store with users, groups, buckets and access documents
// for the authorization table.
func authzWorld(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	ctx := context.Background()
	m := e.m
	deny := []byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::*/protected/*"}]}`)
	must[Policy](t)(m.CreatePolicy(ctx, "no-protected-deletes", deny))
	must[Group](t)(m.CreateGroup(ctx, "writers", []string{"readwrite"}))
	for _, u := range []UserInput{
		{Name: "alice"}, // an account: no policies
		{Name: "bob", Policies: []string{"readonly"}},
		{Name: "carol", Policies: []string{"writeonly"}},
		{Name: "dave", Policies: []string{"readwrite", "no-protected-deletes"}},
		{Name: "eve", Groups: []string{"writers"}},
		{Name: "frank", Disabled: true},
		{Name: "grace", Policies: []string{"admin"}},
		{Name: "henry"}, // another account
	} {
		must[User](t)(m.CreateUser(ctx, u))
	}
	for _, b := range []meta.Bucket{
		{Name: "alices", Owner: "alice"},
		{Name: "roots", Owner: testRoot},
		{Name: "pub", Owner: "alice"},
		{Name: "lan", Owner: "alice"},
		{Name: "acl-auth", Owner: "alice"},
		{Name: "acl-world", Owner: "alice"},
		{Name: "acl-enforced", Owner: "alice"},
		{Name: "tagged", Owner: "alice"},
		{Name: "until", Owner: "alice"},
		{Name: "acl-deny", Owner: "alice"},
	} {
		b.Created = time.Now()
		if err := e.store.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	put := func(bucket, name, doc string) {
		t.Helper()
		if err := e.store.PutBucketConfig(ctx, bucket, name, []byte(doc)); err != nil {
			t.Fatal(err)
		}
	}
	put("alices", ConfigPolicy, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Deny","Principal":{"AWS":"alice"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::alices/locked/*"},
		{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/bob"]},"Action":"s3:PutObject","Resource":"arn:aws:s3:::alices/drop/*"},
		{"Effect":"Allow","Principal":{"CanonicalUser":"`+CanonicalID("carol")+`"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::alices/*"}]}`)
	put("pub", ConfigPolicy, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}]}`)
	put("lan", ConfigPolicy, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::lan/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
		{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::lan/*","Condition":{"Bool":{"aws:SecureTransport":"false"},"StringEquals":{"s3:x-amz-acl":"public-read"}}}]}`)
	put("tagged", ConfigPolicy, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::tagged/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/scratch":"yes"}}}]}`)
	put("until", ConfigPolicy, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::until/*","Condition":{"DateLessThan":{"aws:CurrentTime":"`+
		e.clock.now().Add(time.Hour).Format(time.RFC3339)+`"}}}]}`)
	aclOf := func(canned string) string {
		a, err := CannedACL(canned, CanonicalID("alice"), "alice")
		if err != nil {
			t.Fatal(err)
		}
		data, err := EncodeACL(a)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	put("acl-auth", ConfigACL, aclOf("authenticated-read"))
	withCarol, err := CannedACL("private", CanonicalID("alice"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	withCarol.Grants = append(withCarol.Grants, Grant{Grantee{Type: GranteeCanonicalUser, ID: CanonicalID("carol")}, PermWriteACP})
	data, err := EncodeACL(withCarol)
	if err != nil {
		t.Fatal(err)
	}
	put("acl-auth", ConfigACL, string(data))
	put("acl-world", ConfigACL, aclOf("public-read-write"))
	put("acl-enforced", ConfigACL, aclOf("public-read-write"))
	put("acl-enforced", ConfigOwnership, OwnershipEnforced)
	put("acl-deny", ConfigPolicy, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acl-deny/secret/*"}]}`)
	return e
}

func TestAuthorizeTable(t *testing.T) {
	e := authzWorld(t)
	m := e.m
	ctx := context.Background()
	user := func(n string) Principal { return Principal{Name: n} }
	anon := Principal{}
	lanReq := func(ip, secure string) map[string][]string {
		return map[string][]string{"aws:SourceIp": {ip}, "aws:SecureTransport": {secure}}
	}
	var tagReads atomic.Int32
	tags := func(v string) func(context.Context) (map[string]string, error) {
		return func(context.Context) (map[string]string, error) {
			tagReads.Add(1)
			return map[string]string{"scratch": v}, nil
		}
	}
	var aclReads atomic.Int32
	// obj is an object request whose object has an ACL of grants (and an
	// owner other than the bucket's when owner is set).
	obj := func(action, bucket, key, owner string, grants ...Grant) Request {
		return Request{Action: action, Bucket: bucket, Key: key, ObjectACL: func(context.Context) (ACL, error) {
			aclReads.Add(1)
			return ACL{Owner: owner, Grants: grants}, nil
		}}
	}
	to := func(who, perm string) Grant {
		return Grant{Grantee{Type: GranteeCanonicalUser, ID: CanonicalID(who)}, perm}
	}
	everyone := Grant{Grantee{Type: GranteeGroup, URI: GroupAllUsers}, PermRead}
	cases := []struct {
		name   string
		p      Principal
		req    Request
		want   error // nil: allowed
		reason string
	}{
		{"root does anything", m.RootPrincipal(), Request{Action: "s3:DeleteBucket", Bucket: "alices"}, nil, ""},
		{"root on a missing bucket", m.RootPrincipal(), Request{Action: "s3:GetObject", Bucket: "missing", Key: "k"}, nil, ""},

		// Ownership.
		{"owner reads", user("alice"), Request{Action: "s3:GetObject", Bucket: "alices", Key: "k"}, nil, ""},
		{"owner deletes its bucket", user("alice"), Request{Action: "s3:DeleteBucket", Bucket: "alices"}, nil, ""},
		{"owner changes its bucket policy", user("alice"), Request{Action: "s3:PutBucketPolicy", Bucket: "alices"}, nil, ""},
		{"owner under its bucket policy's deny", user("alice"), Request{Action: "s3:PutObject", Bucket: "alices", Key: "locked/x"}, ErrAccessDenied, "explicit deny beats ownership"},
		{"account cannot read others' buckets", user("alice"), Request{Action: "s3:GetObject", Bucket: "roots", Key: "k"}, ErrAccessDenied, ""},
		{"account cannot list others' buckets", user("alice"), Request{Action: "s3:ListBucket", Bucket: "roots"}, ErrAccessDenied, ""},
		{"account creates buckets", user("alice"), Request{Action: "s3:CreateBucket", Bucket: "new"}, nil, ""},
		{"account lists its buckets", user("alice"), Request{Action: "s3:ListAllMyBuckets"}, nil, ""},
		{"account is no admin", user("alice"), Request{Action: "admin:CreateUser"}, ErrAccessDenied, ""},

		// Identity policies.
		{"readonly reads any bucket", user("bob"), Request{Action: "s3:GetObject", Bucket: "roots", Key: "k"}, nil, ""},
		{"readonly lists", user("bob"), Request{Action: "s3:ListBucket", Bucket: "roots"}, nil, ""},
		{"readonly cannot write", user("bob"), Request{Action: "s3:PutObject", Bucket: "roots", Key: "k"}, ErrAccessDenied, ""},
		{"readonly cannot create buckets", user("bob"), Request{Action: "s3:CreateBucket", Bucket: "bobs"}, ErrAccessDenied, "policies replace the account defaults"},
		{"readonly lists buckets", user("bob"), Request{Action: "s3:ListAllMyBuckets"}, nil, ""},
		{"writeonly writes", user("carol"), Request{Action: "s3:PutObject", Bucket: "roots", Key: "k"}, nil, ""},
		{"writeonly cannot read", user("carol"), Request{Action: "s3:GetObject", Bucket: "roots", Key: "k"}, ErrAccessDenied, ""},
		{"writeonly cannot list buckets", user("carol"), Request{Action: "s3:ListAllMyBuckets"}, ErrAccessDenied, ""},
		{"group grants readwrite", user("eve"), Request{Action: "s3:PutObject", Bucket: "roots", Key: "k"}, nil, ""},
		{"identity deny beats identity allow", user("dave"), Request{Action: "s3:DeleteObject", Bucket: "roots", Key: "protected/x"}, ErrAccessDenied, ""},
		{"identity deny is narrow", user("dave"), Request{Action: "s3:DeleteObject", Bucket: "roots", Key: "other/x"}, nil, ""},
		{"identity deny applies in an owned bucket too", user("dave"), Request{Action: "s3:DeleteObject", Bucket: "alices", Key: "protected/x"}, ErrAccessDenied, ""},
		{"admin policy allows admin actions", user("grace"), Request{Action: "admin:CreateUser"}, nil, ""},
		{"readwrite is no admin", user("dave"), Request{Action: "admin:ListUsers"}, ErrAccessDenied, ""},
		{"disabled user", user("frank"), Request{Action: "s3:ListAllMyBuckets"}, ErrUserDisabled, ""},
		{"unknown user", user("nobody"), Request{Action: "s3:ListAllMyBuckets"}, ErrAccessDenied, ""},

		// Bucket policies.
		{"bucket policy grants a user ARN", user("bob"), Request{Action: "s3:PutObject", Bucket: "alices", Key: "drop/x"}, nil, ""},
		{"bucket policy grant is narrow", user("bob"), Request{Action: "s3:PutObject", Bucket: "alices", Key: "elsewhere"}, ErrAccessDenied, ""},
		{"bucket policy grants a canonical id", user("carol"), Request{Action: "s3:GetObject", Bucket: "alices", Key: "k"}, nil, ""},
		{"bucket policy does not grant what it does not name", user("carol"), Request{Action: "s3:DeleteObject", Bucket: "alices", Key: "k"}, ErrAccessDenied, ""},
		{"public policy: anonymous GET", anon, Request{Action: "s3:GetObject", Bucket: "pub", Key: "k"}, nil, ""},
		{"public policy: any user GET", user("carol"), Request{Action: "s3:GetObject", Bucket: "pub", Key: "k"}, nil, ""},
		{"public policy: anonymous PUT", anon, Request{Action: "s3:PutObject", Bucket: "pub", Key: "k"}, ErrAccessDenied, ""},
		{"public policy: anonymous list", anon, Request{Action: "s3:ListBucket", Bucket: "pub"}, ErrAccessDenied, ""},
		{"anonymous on a private bucket", anon, Request{Action: "s3:GetObject", Bucket: "alices", Key: "k"}, ErrAccessDenied, ""},
		{"anonymous on the service", anon, Request{Action: "s3:ListAllMyBuckets"}, ErrAccessDenied, ""},
		{"anonymous creating a bucket", anon, Request{Action: "s3:CreateBucket", Bucket: "x"}, ErrAccessDenied, ""},
		{"missing bucket", user("alice"), Request{Action: "s3:GetObject", Bucket: "missing", Key: "k"}, meta.ErrBucketNotFound, ""},
		{"missing bucket, anonymous", anon, Request{Action: "s3:GetObject", Bucket: "missing", Key: "k"}, meta.ErrBucketNotFound, ""},

		// Conditions.
		{"source ip inside", anon, Request{Action: "s3:GetObject", Bucket: "lan", Key: "k", Conditions: lanReq("10.1.2.3", "true")}, nil, ""},
		{"source ip outside", anon, Request{Action: "s3:GetObject", Bucket: "lan", Key: "k", Conditions: lanReq("192.168.1.1", "true")}, ErrAccessDenied, ""},
		{"no source ip", anon, Request{Action: "s3:GetObject", Bucket: "lan", Key: "k"}, ErrAccessDenied, ""},
		{"deny on two conditions, one holds", user("alice"), Request{Action: "s3:PutObject", Bucket: "lan", Key: "k",
			Conditions: map[string][]string{"aws:SecureTransport": {"false"}}}, nil, "owner: the deny needs both conditions"},
		{"deny on two conditions, both hold", user("alice"), Request{Action: "s3:PutObject", Bucket: "lan", Key: "k",
			Conditions: map[string][]string{"aws:SecureTransport": {"false"}, "s3:x-amz-acl": {"public-read"}}}, ErrAccessDenied, ""},
		{"existing tag matches", user("bob"), Request{Action: "s3:DeleteObject", Bucket: "tagged", Key: "k", ObjectTags: tags("yes")}, nil, ""},
		{"existing tag differs", user("bob"), Request{Action: "s3:DeleteObject", Bucket: "tagged", Key: "k", ObjectTags: tags("no")}, ErrAccessDenied, ""},
		{"time window open", anon, Request{Action: "s3:GetObject", Bucket: "until", Key: "k"}, nil, ""},

		// ACLs.
		{"authenticated-read lets users list", user("bob"), Request{Action: "s3:ListBucket", Bucket: "acl-auth"}, nil, ""},
		{"authenticated-read does not let users read objects", user("carol"), Request{Action: "s3:GetObject", Bucket: "acl-auth", Key: "k"}, ErrAccessDenied, "bucket READ is listing"},
		{"authenticated-read: anonymous", anon, Request{Action: "s3:ListBucket", Bucket: "acl-auth"}, ErrAccessDenied, ""},
		{"canonical user grant", user("carol"), Request{Action: "s3:PutBucketAcl", Bucket: "acl-auth"}, nil, ""},
		{"canonical user grant is narrow", user("carol"), Request{Action: "s3:GetBucketAcl", Bucket: "acl-auth"}, ErrAccessDenied, ""},
		{"public-read-write: anonymous PUT", anon, Request{Action: "s3:PutObject", Bucket: "acl-world", Key: "k"}, nil, ""},
		{"public-read-write: anonymous list", anon, Request{Action: "s3:ListBucket", Bucket: "acl-world"}, nil, ""},
		{"public-read-write: not the ACL itself", anon, Request{Action: "s3:PutBucketAcl", Bucket: "acl-world"}, ErrAccessDenied, ""},
		{"ACLs disabled by ownership", anon, Request{Action: "s3:PutObject", Bucket: "acl-enforced", Key: "k"}, ErrAccessDenied, ""},
		{"ACLs disabled, owner unaffected", user("alice"), Request{Action: "s3:PutObject", Bucket: "acl-enforced", Key: "k"}, nil, ""},

		// Object ACLs.
		{"public-read object: anonymous GET", anon, obj("s3:GetObject", "alices", "k", "", everyone), nil, ""},
		{"public-read object: anonymous GET of the version", anon, obj("s3:GetObjectVersion", "alices", "k", "", everyone), nil, ""},
		{"public-read object: not its ACL", anon, obj("s3:GetObjectAcl", "alices", "k", "", everyone), ErrAccessDenied, ""},
		{"public-read object: no writes", anon, obj("s3:PutObject", "alices", "k", "", everyone), ErrAccessDenied, ""},
		{"public-read object: no deletes", anon, obj("s3:DeleteObject", "alices", "k", "", everyone), ErrAccessDenied, ""},
		{"public-read object: no listing", anon, obj("s3:ListBucket", "alices", "", "", everyone), ErrAccessDenied, ""},
		{"READ to a user", user("henry"), obj("s3:GetObject", "alices", "k", "", to("henry", PermRead)), nil, ""},
		{"READ to another user", user("carol"), obj("s3:GetObject", "acl-deny", "k", "", to("henry", PermRead)), ErrAccessDenied, ""},
		{"READ is not READ_ACP", user("henry"), obj("s3:GetObjectAcl", "alices", "k", "", to("henry", PermRead)), ErrAccessDenied, ""},
		{"READ does not write", user("henry"), obj("s3:PutObject", "alices", "k", "", to("henry", PermRead)), ErrAccessDenied, ""},
		{"READ_ACP reads the ACL", user("henry"), obj("s3:GetObjectAcl", "alices", "k", "", to("henry", PermReadACP)), nil, ""},
		{"READ_ACP reads a version's ACL", user("henry"), obj("s3:GetObjectVersionAcl", "alices", "k", "", to("henry", PermReadACP)), nil, ""},
		{"READ_ACP does not read the object", user("henry"), obj("s3:GetObject", "alices", "k", "", to("henry", PermReadACP)), ErrAccessDenied, ""},
		{"READ_ACP does not write the ACL", user("henry"), obj("s3:PutObjectAcl", "alices", "k", "", to("henry", PermReadACP)), ErrAccessDenied, ""},
		{"WRITE_ACP writes the ACL", user("henry"), obj("s3:PutObjectAcl", "alices", "k", "", to("henry", PermWriteACP)), nil, ""},
		{"WRITE_ACP writes a version's ACL", user("henry"), obj("s3:PutObjectVersionAcl", "alices", "k", "", to("henry", PermWriteACP)), nil, ""},
		{"WRITE_ACP does not read", user("henry"), obj("s3:GetObject", "alices", "k", "", to("henry", PermWriteACP)), ErrAccessDenied, ""},
		{"WRITE on an object means nothing", user("henry"), obj("s3:PutObject", "alices", "k", "", to("henry", PermWrite)), ErrAccessDenied, ""},
		{"FULL_CONTROL reads", user("henry"), obj("s3:GetObject", "alices", "k", "", to("henry", PermFullControl)), nil, ""},
		{"FULL_CONTROL writes the ACL", user("henry"), obj("s3:PutObjectAcl", "alices", "k", "", to("henry", PermFullControl)), nil, ""},
		{"FULL_CONTROL does not delete", user("henry"), obj("s3:DeleteObject", "alices", "k", "", to("henry", PermFullControl)), ErrAccessDenied, "deleting is the bucket's WRITE"},
		{"FULL_CONTROL does not overwrite", user("henry"), obj("s3:PutObject", "alices", "k", "", to("henry", PermFullControl)), ErrAccessDenied, ""},
		{"FULL_CONTROL is not the bucket", user("henry"), obj("s3:GetBucketAcl", "alices", "", "", to("henry", PermFullControl)), ErrAccessDenied, ""},
		{"object owner writes its ACL", user("henry"), obj("s3:PutObjectAcl", "alices", "k", "henry"), nil, "owners keep WRITE_ACP"},
		{"object owner reads its ACL", user("henry"), obj("s3:GetObjectAcl", "alices", "k", "henry"), nil, "owners keep READ_ACP"},
		{"object owner without READ", user("henry"), obj("s3:GetObject", "alices", "k", "henry"), ErrAccessDenied, "the grants decide"},
		{"another object's owner", user("carol"), obj("s3:GetObjectAcl", "alices", "k", "henry"), ErrAccessDenied, ""},
		{"bucket owner reads an object it does not own", user("alice"), obj("s3:GetObject", "alices", "k", "henry"), nil, "Coffer's bucket owner keeps control"},
		{"object ACLs disabled by ownership", anon, obj("s3:GetObject", "acl-enforced", "k", "", everyone), ErrAccessDenied, ""},
		{"object ACLs disabled: the owner neither", user("henry"), obj("s3:PutObjectAcl", "acl-enforced", "k", "henry"), ErrAccessDenied, ""},
		{"explicit deny beats an object ACL", anon, obj("s3:GetObject", "acl-deny", "secret/x", "", everyone), ErrAccessDenied, ""},
		{"the deny is narrow", anon, obj("s3:GetObject", "acl-deny", "open/x", "", everyone), nil, ""},
		{"identity deny beats an object ACL", user("dave"), obj("s3:DeleteObject", "alices", "protected/x", "", to("dave", PermFullControl)), ErrAccessDenied, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := m.Authorize(ctx, c.p, c.req)
			if c.want == nil {
				if err != nil {
					t.Fatalf("denied: %v (%s)", err, c.reason)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v (%s)", err, c.want, c.reason)
			}
		})
	}

	// Tags are read only when a policy that applies looks at them.
	tagReads.Store(0)
	if err := m.Authorize(ctx, user("alice"), Request{Action: "s3:GetObject", Bucket: "alices", Key: "k", ObjectTags: tags("yes")}); err != nil {
		t.Fatal(err)
	}
	if n := tagReads.Load(); n != 0 {
		t.Fatalf("tags read %d times for a bucket whose policy ignores them", n)
	}

	// Object ACLs are read only for the actions they grant, and only when
	// nothing else allowed; a failure to read one is no decision.
	aclReads.Store(0)
	for _, c := range []struct {
		p   Principal
		req Request
	}{
		{user("alice"), obj("s3:GetObject", "alices", "k", "", everyone)},
		{user("bob"), obj("s3:GetObject", "alices", "k", "", everyone)},
		{anon, obj("s3:PutObject", "alices", "k", "", everyone)},
		{anon, obj("s3:DeleteObject", "alices", "k", "", everyone)},
	} {
		_ = m.Authorize(ctx, c.p, c.req)
	}
	if n := aclReads.Load(); n != 0 {
		t.Fatalf("object ACL read %d times where it cannot matter", n)
	}
	boom := errors.New("store down")
	failing := Request{Action: "s3:GetObject", Bucket: "alices", Key: "k",
		ObjectACL: func(context.Context) (ACL, error) { return ACL{}, boom }}
	if err := m.Authorize(ctx, anon, failing); !errors.Is(err, boom) || errors.Is(err, ErrAccessDenied) {
		t.Fatalf("Authorize with a failing ACL read = %v, want the read's error", err)
	}

	// The time window closes by IAM's clock.
	e.clock.add(2 * time.Hour)
	wantErr(t, m.Authorize(ctx, anon, Request{Action: "s3:GetObject", Bucket: "until", Key: "k"}), ErrAccessDenied)
}

func TestCannedACL(t *testing.T) {
	owner := CanonicalID("o")
	for name, want := range map[string]int{
		"private": 1, "bucket-owner-read": 1, "bucket-owner-full-control": 1, "public-read": 2,
		"public-read-write": 3, "authenticated-read": 2, "log-delivery-write": 3,
	} {
		a, err := CannedACL(name, owner, "o")
		if err != nil || len(a.Grants) != want || a.Validate() != nil {
			t.Errorf("%s: %+v %v", name, a, err)
		}
		if a.OwnerOnly(owner) != (want == 1) {
			t.Errorf("%s: OwnerOnly = %v", name, !(want == 1))
		}
		data, err := EncodeACL(a)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeACL(data)
		if err != nil || len(back.Grants) != len(a.Grants) || back.Grants[0] != a.Grants[0] {
			t.Errorf("%s: round trip %+v %v", name, back, err)
		}
	}
	if _, err := CannedACL("aws-exec-read", owner, "o"); !errors.Is(err, ErrInvalidACL) {
		t.Errorf("unsupported canned ACL: %v", err)
	}
	for _, bad := range []ACL{
		{Grants: []Grant{{Grantee{Type: GranteeCanonicalUser, ID: owner}, "EVERYTHING"}}},
		{Grants: []Grant{{Grantee{Type: GranteeCanonicalUser}, PermRead}}},
		{Grants: []Grant{{Grantee{Type: GranteeGroup, URI: "http://example.com/group"}, PermRead}}},
		{Grants: []Grant{{Grantee{Type: "AmazonCustomerByEmail"}, PermRead}}},
		{Grants: make([]Grant, MaxGrants+1)},
	} {
		if err := bad.Validate(); !errors.Is(err, ErrInvalidACL) {
			t.Errorf("Validate(%+v) = %v", bad.Grants[:1], err)
		}
	}
	if !ValidOwnership(OwnershipEnforced) || ValidOwnership("Nobody") {
		t.Error("ValidOwnership")
	}
}

func TestObjectOwnerAndCannedObjectACL(t *testing.T) {
	for _, c := range []struct {
		ownership, writer, canned, want string
	}{
		{"", "w", "", ""},
		{"", "w", "public-read", ""},
		{OwnershipObjectWriter, "w", "", "w"},
		{OwnershipObjectWriter, "w", cannedHandOver, "w"},
		{OwnershipObjectWriter, "b", "", ""},
		{OwnershipPreferred, "w", "", "w"},
		{OwnershipPreferred, "w", "public-read", "w"},
		{OwnershipPreferred, "w", cannedHandOver, ""},
		{OwnershipEnforced, "w", "", ""},
		{OwnershipObjectWriter, "", "public-read", ""},
	} {
		if got := ObjectOwner(c.ownership, "b", c.writer, c.canned); got != c.want {
			t.Errorf("ObjectOwner(%q, b, %q, %q) = %q, want %q", c.ownership, c.writer, c.canned, got, c.want)
		}
	}
	grants := func(a ACL) map[string]string {
		m := map[string]string{}
		for _, g := range a.Grants {
			m[g.Grantee.ID+g.Grantee.URI] += g.Permission
		}
		return m
	}
	w, b := CanonicalID("w"), CanonicalID("b")
	for _, c := range []struct {
		name, owner string
		want        map[string]string
	}{
		{"private", "w", map[string]string{w: PermFullControl}},
		{"bucket-owner-read", "w", map[string]string{w: PermFullControl, b: PermRead}},
		{"bucket-owner-full-control", "w", map[string]string{w: PermFullControl, b: PermFullControl}},
		{"bucket-owner-full-control", "", map[string]string{b: PermFullControl}},
		{"bucket-owner-read", "b", map[string]string{b: PermFullControl}},
		{"public-read", "w", map[string]string{w: PermFullControl, GroupAllUsers: PermRead}},
	} {
		a, err := CannedObjectACL(c.name, c.owner, "b")
		if err != nil {
			t.Fatalf("CannedObjectACL(%s): %v", c.name, err)
		}
		if got := grants(a); !maps.Equal(got, c.want) {
			t.Errorf("CannedObjectACL(%s, owner %q) grants %v, want %v", c.name, c.owner, got, c.want)
		}
		wantOwner := c.owner
		if wantOwner == "b" {
			wantOwner = ""
		}
		if a.Owner != wantOwner || a.OwnerName("b") != map[bool]string{true: "b", false: wantOwner}[wantOwner == ""] {
			t.Errorf("CannedObjectACL(%s, owner %q) owner %q", c.name, c.owner, a.Owner)
		}
	}
	if _, err := CannedObjectACL("nope", "w", "b"); !errors.Is(err, ErrInvalidACL) {
		t.Errorf("unknown canned ACL: %v", err)
	}

	// The default is stored as nothing, and read back as itself.
	def, _ := CannedObjectACL("private", "", "b")
	if data, err := EncodeObjectACL(def, "b"); err != nil || data != nil {
		t.Errorf("EncodeObjectACL(default) = %q, %v; want nil", data, err)
	}
	if data, err := EncodeObjectACL(ACL{Owner: "b", Grants: def.Grants}, "b"); err != nil || data != nil {
		t.Errorf("EncodeObjectACL(default naming the bucket owner) = %q, %v; want nil", data, err)
	}
	for _, a := range []ACL{{Grants: []Grant{}}, {Owner: "w", Grants: def.Grants}} {
		data, err := EncodeObjectACL(a, "b")
		if err != nil || data == nil {
			t.Fatalf("EncodeObjectACL(%+v) = %q, %v; want a document", a, data, err)
		}
		back, err := EffectiveObjectACL(data, "b", "")
		if err != nil || back.Owner != a.Owner || len(back.Grants) != len(a.Grants) {
			t.Errorf("EffectiveObjectACL(EncodeObjectACL(%+v)) = %+v, %v", a, back, err)
		}
		if dis, _ := EffectiveObjectACL(data, "b", OwnershipEnforced); dis.Owner != "" || !maps.Equal(grants(dis), map[string]string{b: PermFullControl}) {
			t.Errorf("EffectiveObjectACL under %s = %+v, want the bucket owner's full control", OwnershipEnforced, dis)
		}
	}
	if got, _ := EffectiveObjectACL(nil, "b", ""); !maps.Equal(grants(got), map[string]string{b: PermFullControl}) || got.Owner != "" {
		t.Errorf("EffectiveObjectACL(nil) = %+v", got)
	}
}
