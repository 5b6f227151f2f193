package s3api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/policy"
)

const aclDoc = `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Owner><ID>OWNER</ID><DisplayName>o</DisplayName></Owner>
  <AccessControlList>
    <Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>U1</ID><DisplayName>u</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>
    <Grant><Grantee xmlns:x="http://www.w3.org/2001/XMLSchema-instance" x:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>
    <Grant><Grantee xsi:type="CanonicalUser"><ID>U2</ID></Grantee><Permission>WRITE_ACP</Permission></Grant>
  </AccessControlList>
</AccessControlPolicy>`

func TestParseAccessControlPolicy(t *testing.T) {
	owner, acl, err := ParseAccessControlPolicy([]byte(aclDoc))
	if err != nil {
		t.Fatal(err)
	}
	want := []iam.Grant{
		{Grantee: iam.Grantee{Type: iam.GranteeCanonicalUser, ID: "U1"}, Permission: iam.PermFullControl},
		{Grantee: iam.Grantee{Type: iam.GranteeGroup, URI: iam.GroupAllUsers}, Permission: iam.PermRead},
		{Grantee: iam.Grantee{Type: iam.GranteeCanonicalUser, ID: "U2"}, Permission: iam.PermWriteACP},
	}
	if owner != "OWNER" || len(acl.Grants) != len(want) {
		t.Fatalf("owner %q grants %+v", owner, acl.Grants)
	}
	for i := range want {
		if acl.Grants[i] != want[i] {
			t.Errorf("grant %d = %+v, want %+v", i, acl.Grants[i], want[i])
		}
	}
	grant := func(grantee, perm string) string {
		return `<AccessControlPolicy><AccessControlList><Grant>` + grantee + `<Permission>` + perm + `</Permission></Grant></AccessControlList></AccessControlPolicy>`
	}
	xsi := func(typ, inner string) string {
		return `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="` + typ + `">` + inner + `</Grantee>`
	}
	for name, c := range map[string]struct {
		doc  string
		code string
	}{
		"not xml":           {"<AccessControlPolicy>", "MalformedACLError"},
		"other root":        {"<Tagging/>", "MalformedACLError"},
		"bad permission":    {grant(xsi("CanonicalUser", "<ID>x</ID>"), "ALL"), "MalformedACLError"},
		"no grantee":        {`<AccessControlPolicy><AccessControlList><Grant><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>`, "MalformedACLError"},
		"no type":           {grant(`<Grantee><ID>x</ID></Grantee>`, "READ"), "MalformedACLError"},
		"user without id":   {grant(xsi("CanonicalUser", ""), "READ"), "MalformedACLError"},
		"unknown group":     {grant(xsi("Group", "<URI>http://example.com/g</URI>"), "READ"), "MalformedACLError"},
		"email grantee":     {grant(xsi("AmazonCustomerByEmail", "<EmailAddress>a@b.c</EmailAddress>"), "READ"), "UnresolvableGrantByEmailAddress"},
		"too many grants":   {`<AccessControlPolicy><AccessControlList>` + strings.Repeat(`<Grant>`+xsi("Group", "<URI>"+iam.GroupAllUsers+"</URI>")+`<Permission>READ</Permission></Grant>`, iam.MaxGrants+1) + `</AccessControlList></AccessControlPolicy>`, "MalformedACLError"},
		"type in other ns":  {grant(`<Grantee xmlns:z="urn:other" z:type="CanonicalUser"><ID>x</ID></Grantee>`, "READ"), "MalformedACLError"},
		"unknown type name": {grant(xsi("Robot", "<ID>x</ID>"), "READ"), "MalformedACLError"},
	} {
		_, _, err := ParseAccessControlPolicy([]byte(c.doc))
		if ae := toAPIError(err); err == nil || ae.Code != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
}

func TestParseGrantHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("X-Amz-Grant-Read", `id="A", uri="http://acs.amazonaws.com/groups/global/AuthenticatedUsers"`)
	h.Set("X-Amz-Grant-Full-Control", `ID=B`)
	acl, given, err := ParseGrantHeaders(h)
	if err != nil || !given || len(acl.Grants) != 3 {
		t.Fatalf("%+v %v %v", acl, given, err)
	}
	if g := acl.Grants[2]; g.Grantee.ID != "B" || g.Permission != iam.PermFullControl {
		t.Errorf("unquoted, upper-case key: %+v", g)
	}
	if _, given, err := ParseGrantHeaders(http.Header{}); given || err != nil {
		t.Errorf("no headers: %v %v", given, err)
	}
	for _, bad := range []string{`id`, `name="x"`, `emailAddress="a@b.c"`, `uri="http://example.com/x"`, `id=""`} {
		h := http.Header{}
		h.Set("X-Amz-Grant-Write", bad)
		if _, _, err := ParseGrantHeaders(h); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// headerACL: canned and grants are exclusive; canned names are checked.
	h = http.Header{}
	h.Set("X-Amz-Acl", "public-read")
	h.Set("X-Amz-Grant-Read", `id="A"`)
	if _, _, err := headerACL(h, "o"); !errors.Is(err, errCannedAndGrants) {
		t.Errorf("canned and grants: %v", err)
	}
	h.Del("X-Amz-Grant-Read")
	acl, given, err = headerACL(h, "o")
	if err != nil || !given || acl.OwnerOnly(iam.CanonicalID("o")) {
		t.Errorf("public-read: %+v %v", acl, err)
	}
	h.Set("X-Amz-Acl", "bucket-owner-full-control")
	if acl, _, err := headerACL(h, "o"); err != nil || !acl.OwnerOnly(iam.CanonicalID("o")) {
		t.Errorf("bucket-owner-full-control: %+v %v", acl, err)
	}
	h.Set("X-Amz-Acl", "nope")
	if _, _, err := headerACL(h, "o"); toAPIError(err).Code != "InvalidArgument" {
		t.Errorf("unknown canned ACL: %v", err)
	}
}

func TestParseOwnershipControls(t *testing.T) {
	doc := func(rules string) []byte { return []byte(`<OwnershipControls>` + rules + `</OwnershipControls>`) }
	rule := func(v string) string { return `<Rule><ObjectOwnership>` + v + `</ObjectOwnership></Rule>` }
	if own, err := ParseOwnershipControls(doc(rule("ObjectWriter"))); err != nil || own != iam.OwnershipObjectWriter {
		t.Fatalf("%q %v", own, err)
	}
	for _, bad := range [][]byte{doc(""), doc(rule("ObjectWriter") + rule("BucketOwnerEnforced")), doc(rule("Anyone")), []byte("<x/>"), []byte("<")} {
		if _, err := ParseOwnershipControls(bad); !errors.Is(err, errMalformedXML) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestParseBucketPolicy(t *testing.T) {
	canon, err := ParseBucketPolicy([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`), "b")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(canon, &v); err != nil {
		t.Fatalf("canonical form is not JSON: %v", err)
	}
	if _, err := ParseBucketPolicy(canon, "b"); err != nil {
		t.Fatalf("canonical form does not parse again: %v", err)
	}
	_, err = ParseBucketPolicy([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`), "b")
	ae := toAPIError(err)
	if ae.Code != "MalformedPolicy" || strings.Contains(ae.Message, policy.ErrMalformed.Error()+":") || !strings.Contains(ae.Message, "Maybe") {
		t.Errorf("message %q (code %s)", ae.Message, ae.Code)
	}
}

func FuzzParseAccessControlPolicy(f *testing.F) {
	f.Add([]byte(aclDoc))
	f.Add([]byte(`<AccessControlPolicy><AccessControlList><Grant><Grantee xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>`))
	f.Add([]byte(`<AccessControlPolicy><Owner/><AccessControlList/></AccessControlPolicy>`))
	f.Add([]byte(`<AccessControlPolicy><AccessControlList><Grant><Grantee/></Grant>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, acl, err := ParseAccessControlPolicy(data)
		if err != nil {
			if toAPIError(err).Status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		// Whatever parses is valid and survives storage.
		if err := acl.Validate(); err != nil {
			t.Fatalf("accepted an invalid ACL: %v", err)
		}
		enc, err := iam.EncodeACL(acl)
		if err != nil {
			t.Fatal(err)
		}
		back, err := iam.DecodeACL(enc)
		if err != nil || len(back.Grants) != len(acl.Grants) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range acl.Grants {
			if back.Grants[i] != acl.Grants[i] {
				t.Fatalf("grant %d changed in storage", i)
			}
		}
	})
}

func FuzzParseGrantHeaders(f *testing.F) {
	f.Add(`id="abc"`, `uri="http://acs.amazonaws.com/groups/global/AllUsers"`)
	f.Add(`id=a, id=b`, ``)
	f.Add(`emailAddress="x@y"`, `id`)
	f.Add(``, `=,=,`)
	f.Fuzz(func(t *testing.T, read, full string) {
		h := http.Header{}
		h.Set("X-Amz-Grant-Read", read)
		h.Set("X-Amz-Grant-Full-Control", full)
		acl, _, err := ParseGrantHeaders(h)
		if err != nil {
			if toAPIError(err).Status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if err := acl.Validate(); err != nil {
			t.Fatalf("accepted an invalid ACL: %v", err)
		}
	})
}

func FuzzParseOwnershipControls(f *testing.F) {
	f.Add([]byte(`<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>`))
	f.Add([]byte(`<OwnershipControls><Rule/></OwnershipControls>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		own, err := ParseOwnershipControls(data)
		if err == nil && !iam.ValidOwnership(own) {
			t.Fatalf("accepted %q", own)
		}
	})
}

func FuzzParseBucketPolicy(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"AWS":["u"]},"NotAction":"s3:*","Resource":"arn:aws:s3:::b","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		canon, err := ParseBucketPolicy(data, "b")
		if err != nil {
			if toAPIError(err).Code != "MalformedPolicy" {
				t.Fatalf("error %v is not MalformedPolicy", err)
			}
			return
		}
		// What is stored parses again to the same canonical form.
		again, err := ParseBucketPolicy(canon, "b")
		if err != nil || string(again) != string(canon) {
			t.Fatalf("canonical form unstable: %v\n%s\n%s", err, canon, again)
		}
	})
}
