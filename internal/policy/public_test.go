package policy

import (
	"errors"
	"testing"
)

func TestIsPublic(t *testing.T) {
	doc := func(stmt string) string { return `{"Version":"2012-10-17","Statement":[` + stmt + `]}` }
	for _, c := range []struct {
		name string
		doc  string
		want bool
	}{
		{"star principal", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`), true},
		{"AWS star", doc(`{"Effect":"Allow","Principal":{"AWS":["alice","*"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`), true},
		{"NotPrincipal allow", doc(`{"Effect":"Allow","NotPrincipal":{"AWS":"alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`), true},
		{"fixed user", doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:user/alice"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`), false},
		{"canonical user", doc(`{"Effect":"Allow","Principal":{"CanonicalUser":"abc"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`), false},
		{"deny star", doc(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`), false},
		{"identity policy", doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`), false},
		{"source ip", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["192.0.2.0/24","2001:db8::/32"]}}}`), false},
		{"source ip everything", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["192.0.2.0/24","0.0.0.0/0"]}}}`), true},
		{"source ip v6 everything", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"::/0"}}}`), true},
		{"not source ip", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}`), true},
		{"source ip if exists", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddressIfExists":{"aws:SourceIp":"192.0.2.0/24"}}}`), true},
		{"fixed vpc", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-91237329"}}}`), false},
		{"wildcard vpc", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringLike":{"aws:SourceVpc":"vpc-*"}}}`), true},
		{"fixed vpc via StringLike", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringLike":{"aws:sourcevpc":"vpc-1"}}}`), false},
		{"variable value", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:userid":"${aws:username}"}}}`), true},
		{"fixed account", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}}`), false},
		{"ForAllValues restricts nothing", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:SourceVpc":"vpc-1"}}}`), true},
		{"negated restricts nothing", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceVpc":"vpc-1"}}}`), true},
		{"unrelated key", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"public/"}}}`), true},
		{"secure transport is no restriction", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}`), true},
		{"one public statement among private", doc(`{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"s3:*","Resource":"*"},
			{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}`), true},
	} {
		if got := IsPublic(parse(t, c.doc)); got != c.want {
			t.Errorf("%s: IsPublic = %v, want %v", c.name, got, c.want)
		}
	}
	if IsPublic(nil) {
		t.Error("IsPublic(nil)")
	}
}

func TestValidateBucketPolicy(t *testing.T) {
	doc := func(stmt string) string { return `{"Version":"2012-10-17","Statement":[` + stmt + `]}` }
	for _, c := range []struct {
		doc string
		ok  bool
	}{
		{doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":["arn:aws:s3:::photos/*","arn:aws:s3:::photos"]}`), true},
		{doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}`), true},
		{doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pho*/x"}`), true},
		{doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::${aws:username}/x"}`), true},
		{doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","NotResource":"arn:aws:s3:::other/*"}`), true},
		{doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}`), false},
		{doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos2/*"}`), false},
		{doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}`), false},
	} {
		err := parse(t, c.doc).ValidateBucketPolicy("photos")
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("ValidateBucketPolicy(%s) = %v, want ok=%v", c.doc, err, c.ok)
		}
	}
}

func TestValidateIdentityPolicy(t *testing.T) {
	for _, name := range BuiltinNames() {
		p, _ := Builtin(name)
		if err := p.ValidateIdentityPolicy(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	err := parse(t, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`).ValidateIdentityPolicy()
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("identity policy with Principal: %v", err)
	}
}
