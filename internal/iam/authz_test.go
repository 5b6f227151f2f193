package iam

import (
	"context"
	"errors"
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
