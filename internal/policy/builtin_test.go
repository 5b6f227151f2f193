package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestS3Actions(t *testing.T) {
	if !slices.IsSorted(s3ActionNames) {
		t.Error("s3ActionNames is not sorted")
	}
	if len(knownS3) != len(s3ActionNames) {
		t.Error("s3ActionNames has duplicates (case-insensitively)")
	}
	all := S3Actions()
	// Every action the S3 surface asks for, and those the issue names.
	for _, a := range []string{
		"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion",
		"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads", "s3:ListMultipartUploadParts",
		"s3:AbortMultipartUpload", "s3:GetObjectTagging", "s3:PutObjectTagging", "s3:DeleteObjectTagging",
		"s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:GetBucketPolicy", "s3:PutBucketPolicy",
		"s3:DeleteBucketPolicy", "s3:GetBucketPolicyStatus", "s3:PutObjectRetention", "s3:GetObjectRetention",
		"s3:BypassGovernanceRetention", "s3:PutObjectLegalHold", "s3:GetObjectLegalHold",
		"s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:GetBucketNotification",
		"s3:PutBucketNotification", "s3:GetBucketCORS", "s3:PutBucketCORS", "s3:CreateBucket", "s3:DeleteBucket",
		"s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:GetBucketTagging", "s3:PutBucketTagging",
		"s3:GetObjectAttributes", "s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetObjectAcl", "s3:PutObjectAcl",
		"s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls", "s3:GetBucketObjectLockConfiguration",
		"s3:PutBucketObjectLockConfiguration", "s3:RestoreObject",
	} {
		if !slices.Contains(all, a) || !IsS3Action(a) || ValidateAction(a) != nil {
			t.Errorf("%s missing", a)
		}
	}
	all[0] = "mutated"
	if S3Actions()[0] == "mutated" {
		t.Error("S3Actions shares its backing array")
	}
	for _, a := range []string{"s3:getobject", "S3:GETOBJECT"} {
		if !IsS3Action(a) {
			t.Errorf("IsS3Action(%q) = false", a)
		}
	}
	for _, a := range []string{"s3:Nope", "GetObject", "ec2:GetObject", "s3:Get*", ""} {
		if IsS3Action(a) {
			t.Errorf("IsS3Action(%q) = true", a)
		}
	}
}

func TestValidateAction(t *testing.T) {
	for _, a := range []string{"*", "s3:*", "s3:Get*", "s3:?etObject", "S3:GetObject", "s3:NotAThing*", "admin:*", "admin:CreateUser", "ADMIN:x"} {
		if err := ValidateAction(a); err != nil {
			t.Errorf("ValidateAction(%q) = %v", a, err)
		}
	}
	for _, a := range []string{"", "s3", "s3:", "s3:GetObjects", "iam:CreateUser", "s3:Get Object", "s3:Get/Object", "**", "admin:"} {
		if err := ValidateAction(a); !errors.Is(err, ErrMalformed) {
			t.Errorf("ValidateAction(%q) = %v", a, err)
		}
	}
}

func TestBuiltins(t *testing.T) {
	if got := strings.Join(BuiltinNames(), ","); got != "admin,readonly,readwrite,writeonly" {
		t.Errorf("BuiltinNames = %s", got)
	}
	if _, ok := Builtin("superuser"); ok {
		t.Error("unknown builtin found")
	}
	type access struct {
		action, resource string
	}
	b := "arn:aws:s3:::photos"
	o := b + "/cat.png"
	allowed := map[string][]access{
		"readonly": {{"s3:GetObject", o}, {"s3:GetObjectVersion", o}, {"s3:GetObjectTagging", o}, {"s3:ListBucket", b},
			{"s3:ListBucketVersions", b}, {"s3:ListBucketMultipartUploads", b}, {"s3:ListAllMyBuckets", ServiceResource},
			{"s3:GetBucketLocation", b}, {"s3:GetBucketPolicy", b}},
		"writeonly": {{"s3:PutObject", o}, {"s3:PutObjectTagging", o}, {"s3:AbortMultipartUpload", o},
			{"s3:ListMultipartUploadParts", o}, {"s3:ListBucketMultipartUploads", b}, {"s3:GetBucketLocation", b}},
		"readwrite": {{"s3:GetObject", o}, {"s3:PutObject", o}, {"s3:DeleteObject", o}, {"s3:CreateBucket", b},
			{"s3:PutBucketPolicy", b}, {"s3:ListAllMyBuckets", ServiceResource}},
		"admin": {{"s3:DeleteBucket", b}, {"admin:CreateUser", ServiceResource}, {"admin:ListPolicies", "*"}},
	}
	denied := map[string][]access{
		"readonly": {{"s3:PutObject", o}, {"s3:DeleteObject", o}, {"s3:DeleteObjectVersion", o}, {"s3:CreateBucket", b},
			{"s3:DeleteBucket", b}, {"s3:PutBucketPolicy", b}, {"s3:AbortMultipartUpload", o}, {"s3:PutObjectTagging", o},
			{"admin:ListUsers", ServiceResource}},
		"writeonly": {{"s3:GetObject", o}, {"s3:ListBucket", b}, {"s3:DeleteObject", o}, {"s3:GetObjectVersion", o},
			{"s3:ListAllMyBuckets", ServiceResource}, {"admin:CreateUser", ServiceResource}},
		"readwrite": {{"admin:CreateUser", ServiceResource}},
		"admin":     {},
	}
	for name, cases := range allowed {
		p, ok := Builtin(name)
		if !ok {
			t.Fatalf("Builtin(%q) missing", name)
		}
		for _, a := range cases {
			if got := p.Evaluate(&Request{Principal: "u", Action: a.action, Resource: a.resource}); got != Allow {
				t.Errorf("%s: %s on %s = %v, want Allow", name, a.action, a.resource, got)
			}
		}
		for _, a := range denied[name] {
			if got := p.Evaluate(&Request{Principal: "u", Action: a.action, Resource: a.resource}); got != NotApplicable {
				t.Errorf("%s: %s on %s = %v, want NotApplicable", name, a.action, a.resource, got)
			}
		}
	}
	// A readonly user cannot write anything, whatever action it names.
	for _, a := range S3Actions() {
		n := strings.TrimPrefix(a, "s3:")
		write := !strings.HasPrefix(n, "Get") && !strings.HasPrefix(n, "List")
		got := ReadOnly.Evaluate(&Request{Principal: "u", Action: a, Resource: o})
		if write && got != NotApplicable || !write && got != Allow {
			t.Errorf("readonly: %s = %v", a, got)
		}
	}
}
