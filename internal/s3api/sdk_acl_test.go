package s3api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cofferstore/coffer/internal/iam"
)

// grants renders an ACL's grants as "grantee=PERMISSION" for comparison.
func grants(gs []types.Grant) string {
	var out []string
	for _, g := range gs {
		who := aws.ToString(g.Grantee.URI)
		if who == "" {
			who = aws.ToString(g.Grantee.DisplayName)
		}
		who = strings.TrimPrefix(who, "http://acs.amazonaws.com/groups/")
		out = append(out, who+"="+string(g.Permission))
	}
	return strings.Join(out, ",")
}

func TestIAMBucketACL(t *testing.T) {
	s := newIAMServer(t)
	x := ctx(t)
	alice := s.user(t, "alice")
	bob := s.user(t, "bob")
	mustCreateBucket(t, alice, "shared")
	mustPut(t, alice, "shared", "k", "v")

	acl, err := alice.GetBucketAcl(x, &s3.GetBucketAclInput{Bucket: aws.String("shared")})
	if err != nil {
		t.Fatal(err)
	}
	if got := grants(acl.Grants); got != "alice=FULL_CONTROL" || aws.ToString(acl.Owner.ID) != iam.CanonicalID("alice") {
		t.Fatalf("default ACL %s owner %+v", got, acl.Owner)
	}

	// public-read lets anyone list, not read objects (bucket READ is
	// listing in S3).
	if _, err := alice.PutBucketAcl(x, &s3.PutBucketAclInput{Bucket: aws.String("shared"), ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	if code, body := s.anon(t, "GET", "/shared?list-type=2", ""); code != http.StatusOK || !strings.Contains(body, "<Key>k</Key>") {
		t.Fatalf("anonymous list of a public-read bucket: %d %s", code, body)
	}
	if code, _ := s.anon(t, "GET", "/shared/k", ""); code != http.StatusForbidden {
		t.Fatalf("anonymous GET of an object in a public-read bucket: %d", code)
	}
	if code, _ := s.anon(t, "PUT", "/shared/x", "x"); code != http.StatusForbidden {
		t.Fatalf("anonymous PUT into a public-read bucket: %d", code)
	}
	_, err = bob.GetBucketAcl(x, &s3.GetBucketAclInput{Bucket: aws.String("shared")})
	wantCode(t, err, "AccessDenied")

	// Grants by canonical id, in the body.
	_, err = alice.PutBucketAcl(x, &s3.PutBucketAclInput{Bucket: aws.String("shared"), AccessControlPolicy: &types.AccessControlPolicy{
		Owner: &types.Owner{ID: aws.String(iam.CanonicalID("alice"))},
		Grants: []types.Grant{
			{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(iam.CanonicalID("alice"))}, Permission: types.PermissionFullControl},
			{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(iam.CanonicalID("bob"))}, Permission: types.PermissionWrite},
			{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(iam.CanonicalID("bob"))}, Permission: types.PermissionReadAcp},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, bob, "shared", "from-bob", "hi")
	if _, err := bob.GetBucketAcl(x, &s3.GetBucketAclInput{Bucket: aws.String("shared")}); err != nil {
		t.Fatalf("READ_ACP grant: %v", err)
	}
	_, err = bob.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("shared")})
	wantCode(t, err, "AccessDenied")
	acl, err = alice.GetBucketAcl(x, &s3.GetBucketAclInput{Bucket: aws.String("shared")})
	if err != nil || grants(acl.Grants) != "alice=FULL_CONTROL,bob=WRITE,bob=READ_ACP" {
		t.Fatalf("ACL after grants: %s %v", grants(acl.Grants), err)
	}

	// Grants by header.
	if _, err := alice.PutBucketAcl(x, &s3.PutBucketAclInput{Bucket: aws.String("shared"),
		GrantRead: aws.String(`id="` + iam.CanonicalID("bob") + `", uri="http://acs.amazonaws.com/groups/global/AuthenticatedUsers"`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("shared")}); err != nil {
		t.Fatalf("READ grant by header: %v", err)
	}
	_, err = bob.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("shared"), Key: aws.String("x"), Body: strings.NewReader("x")})
	wantCode(t, err, "AccessDenied")

	// Refusals.
	for name, in := range map[string]*s3.PutBucketAclInput{
		"unknown canned":   {ACL: "everyone-welcome"},
		"unknown id":       {GrantRead: aws.String(`id="` + iam.CanonicalID("nobody") + `"`)},
		"email":            {GrantRead: aws.String(`emailAddress="a@example.com"`)},
		"canned and grant": {ACL: types.BucketCannedACLPrivate, GrantRead: aws.String(`id="` + iam.CanonicalID("bob") + `"`)},
		"unknown group":    {GrantRead: aws.String(`uri="http://example.com/everyone"`)},
	} {
		in.Bucket = aws.String("shared")
		_, err := alice.PutBucketAcl(x, in)
		if code := apiCode(err); code != "InvalidArgument" && code != "InvalidRequest" && code != "UnresolvableGrantByEmailAddress" {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err = alice.PutBucketAcl(x, &s3.PutBucketAclInput{Bucket: aws.String("shared"), AccessControlPolicy: &types.AccessControlPolicy{
		Owner:  &types.Owner{ID: aws.String(iam.CanonicalID("bob"))},
		Grants: []types.Grant{{Grantee: &types.Grantee{Type: types.TypeGroup, URI: aws.String(iam.GroupAllUsers)}, Permission: types.PermissionRead}}}})
	wantCode(t, err, "AccessDenied") // the owner cannot be changed
	_, err = alice.PutBucketAcl(x, &s3.PutBucketAclInput{Bucket: aws.String("shared"), AccessControlPolicy: &types.AccessControlPolicy{
		Grants: []types.Grant{{Grantee: &types.Grantee{Type: types.TypeGroup, URI: aws.String(iam.GroupAllUsers)}, Permission: "EVERYTHING"}}}})
	wantCode(t, err, "MalformedACLError")
	// Nothing above changed the ACL.
	acl, err = alice.GetBucketAcl(x, &s3.GetBucketAclInput{Bucket: aws.String("shared")})
	if err != nil || grants(acl.Grants) != "bob=READ,global/AuthenticatedUsers=READ" {
		t.Fatalf("ACL after refusals: %s %v", grants(acl.Grants), err)
	}
}

func TestIAMOwnershipControls(t *testing.T) {
	s := newIAMServer(t)
	root := s.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, root, "owned")
	_, err := root.GetBucketOwnershipControls(x, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String("owned")})
	wantCode(t, err, "OwnershipControlsNotFoundError")

	enforce := func() error {
		_, err := root.PutBucketOwnershipControls(x, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String("owned"),
			OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}}}})
		return err
	}
	if _, err := root.PutBucketAcl(x, &s3.PutBucketAclInput{Bucket: aws.String("owned"), ACL: types.BucketCannedACLPublicReadWrite}); err != nil {
		t.Fatal(err)
	}
	if code, _ := s.anon(t, "PUT", "/owned/drop", "x"); code != http.StatusOK {
		t.Fatalf("anonymous PUT under public-read-write: %d", code)
	}
	// ACLs cannot be disabled while they grant others access.
	wantCode(t, enforce(), "InvalidBucketAclWithObjectOwnership")
	if _, err := root.PutBucketAcl(x, &s3.PutBucketAclInput{Bucket: aws.String("owned"), ACL: types.BucketCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	if err := enforce(); err != nil {
		t.Fatal(err)
	}
	got, err := root.GetBucketOwnershipControls(x, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String("owned")})
	if err != nil || got.OwnershipControls.Rules[0].ObjectOwnership != types.ObjectOwnershipBucketOwnerEnforced {
		t.Fatalf("GetBucketOwnershipControls: %+v %v", got, err)
	}
	_, err = root.PutBucketAcl(x, &s3.PutBucketAclInput{Bucket: aws.String("owned"), ACL: types.BucketCannedACLPublicRead})
	wantCode(t, err, "AccessControlListNotSupported")
	if _, err := root.PutBucketAcl(x, &s3.PutBucketAclInput{Bucket: aws.String("owned"), ACL: types.BucketCannedACLPrivate}); err != nil {
		t.Fatalf("an owner-only ACL under BucketOwnerEnforced: %v", err)
	}
	_, err = root.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("owned"), Key: aws.String("k"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead})
	wantCode(t, err, "AccessControlListNotSupported")
	if code, _ := s.anon(t, "PUT", "/owned/drop", "x"); code != http.StatusForbidden {
		t.Fatalf("anonymous PUT after ACLs were disabled: %d", code)
	}
	_, err = root.PutBucketOwnershipControls(x, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String("owned"),
		OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: "Everyone"}}}})
	wantCode(t, err, "MalformedXML")
	if _, err := root.DeleteBucketOwnershipControls(x, &s3.DeleteBucketOwnershipControlsInput{Bucket: aws.String("owned")}); err != nil {
		t.Fatal(err)
	}
	_, err = root.GetBucketOwnershipControls(x, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String("owned")})
	wantCode(t, err, "OwnershipControlsNotFoundError")
}

func TestIAMCreateBucketWithACL(t *testing.T) {
	s := newIAMServer(t)
	root := s.sdk(t)
	x := ctx(t)
	if _, err := root.CreateBucket(x, &s3.CreateBucketInput{Bucket: aws.String("listed"), ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	acl, err := root.GetBucketAcl(x, &s3.GetBucketAclInput{Bucket: aws.String("listed")})
	if err != nil || grants(acl.Grants) != rootKey+"=FULL_CONTROL,global/AllUsers=READ" {
		t.Fatalf("ACL given at creation: %s %v", grants(acl.Grants), err)
	}
	if code, _ := s.anon(t, "GET", "/listed", ""); code != http.StatusOK {
		t.Fatalf("anonymous list: %d", code)
	}
	_, err = root.CreateBucket(x, &s3.CreateBucketInput{Bucket: aws.String("conflict"), ACL: types.BucketCannedACLPublicRead,
		ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced})
	wantCode(t, err, "InvalidBucketAclWithObjectOwnership")
	_, err = root.HeadBucket(x, &s3.HeadBucketInput{Bucket: aws.String("conflict")})
	if httpStatus(err) != http.StatusNotFound {
		t.Fatalf("a refused CreateBucket left a bucket: %v", err)
	}
	_, err = root.CreateBucket(x, &s3.CreateBucketInput{Bucket: aws.String("badacl"), ACL: "everything"})
	wantCode(t, err, "InvalidArgument")
	if _, err := root.CreateBucket(x, &s3.CreateBucketInput{Bucket: aws.String("preferred"), ObjectOwnership: types.ObjectOwnershipBucketOwnerPreferred}); err != nil {
		t.Fatal(err)
	}
	got, err := root.GetBucketOwnershipControls(x, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String("preferred")})
	if err != nil || got.OwnershipControls.Rules[0].ObjectOwnership != types.ObjectOwnershipBucketOwnerPreferred {
		t.Fatalf("ownership given at creation: %+v %v", got, err)
	}
}

func TestIAMObjectACL(t *testing.T) {
	s := newIAMServer(t)
	x := ctx(t)
	alice := s.user(t, "alice")
	reader := s.user(t, "reader", "readonly")
	mustCreateBucket(t, alice, "docs")
	// Owner-only canned ACLs are accepted on every kind of write.
	for _, a := range []types.ObjectCannedACL{types.ObjectCannedACLPrivate, types.ObjectCannedACLBucketOwnerFullControl, types.ObjectCannedACLBucketOwnerRead} {
		if _, err := alice.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String("k"), Body: strings.NewReader("v"), ACL: a}); err != nil {
			t.Fatalf("PutObject with %s: %v", a, err)
		}
	}
	if _, err := alice.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("docs"), Key: aws.String("k2"), CopySource: aws.String("docs/k"),
		ACL: types.ObjectCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	// Unknown canned ACLs are refused before anything is stored (wider
	// ones are stored: sdk_object_acl_test.go).
	_, err := alice.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String("pub"), Body: strings.NewReader("v"), ACL: "nonsense"})
	wantCode(t, err, "InvalidArgument")
	if _, err := alice.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("docs"), Key: aws.String("pub")}); httpStatus(err) != http.StatusNotFound {
		t.Fatalf("a refused PUT stored an object: %v", err)
	}
	// An ACL on a write needs s3:PutObjectAcl, which writeonly has and
	// readonly does not.
	writer := s.user(t, "writer", "writeonly")
	if _, err := writer.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String("w"), Body: strings.NewReader("v"),
		ACL: types.ObjectCannedACLBucketOwnerFullControl}); err != nil {
		t.Fatalf("writeonly with bucket-owner-full-control: %v", err)
	}

	out, err := alice.GetObjectAcl(x, &s3.GetObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("w")})
	if err != nil || grants(out.Grants) != "alice=FULL_CONTROL" || aws.ToString(out.Owner.DisplayName) != "alice" {
		t.Fatalf("GetObjectAcl: %s %+v %v", grants(out.Grants), out, err)
	}
	if _, err := reader.GetObjectAcl(x, &s3.GetObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("k")}); err != nil {
		t.Fatalf("readonly GetObjectAcl: %v", err)
	}
	_, err = reader.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("k"), ACL: types.ObjectCannedACLPrivate})
	wantCode(t, err, "AccessDenied")
	_, err = alice.GetObjectAcl(x, &s3.GetObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("missing")})
	wantCode(t, err, "NoSuchKey")
	if _, err := alice.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("k"), ACL: types.ObjectCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("k"), ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	_, err = alice.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("missing"), ACL: types.ObjectCannedACLPrivate})
	wantCode(t, err, "NoSuchKey")
}

// TestIAMAnonymousFormUpload: an unsigned POST form is allowed by a bucket
// policy granting everyone PutObject; its acl field needs PutObjectAcl
// too and is stored as the object's ACL.
func TestIAMAnonymousFormUpload(t *testing.T) {
	s := newIAMServer(t)
	root := s.sdk(t)
	mustCreateBucket(t, root, "inbox")
	post := func(fields map[string]string) int {
		t.Helper()
		resp := postForm(t, s.URL+"/inbox", fields, []byte("dropped"))
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(map[string]string{"key": "a"}); code != http.StatusForbidden {
		t.Fatalf("anonymous POST without a policy: %d", code)
	}
	putPolicy(t, root, "inbox", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::inbox/drop/*"}]}`)
	if code := post(map[string]string{"key": "drop/a"}); code != http.StatusNoContent {
		t.Fatalf("anonymous POST under the policy: %d", code)
	}
	if code := post(map[string]string{"key": "other/a"}); code != http.StatusForbidden {
		t.Fatalf("anonymous POST outside the policy: %d", code)
	}
	if code := post(map[string]string{"key": "drop/b", "acl": "private"}); code != http.StatusForbidden {
		t.Fatalf("acl field without s3:PutObjectAcl: %d", code)
	}
	putPolicy(t, root, "inbox", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":"*","Action":["s3:PutObject","s3:PutObjectAcl"],"Resource":"arn:aws:s3:::inbox/drop/*"}]}`)
	if code := post(map[string]string{"key": "drop/b", "acl": "private"}); code != http.StatusNoContent {
		t.Fatalf("acl=private: %d", code)
	}
	if code, _ := s.anon(t, "GET", "/inbox/drop/b", ""); code != http.StatusForbidden {
		t.Fatalf("anonymous GET of a private form upload: %d", code)
	}
	if code := post(map[string]string{"key": "drop/c", "acl": "public-read"}); code != http.StatusNoContent {
		t.Fatalf("acl=public-read: %d", code)
	}
	if code, _ := s.anon(t, "GET", "/inbox/drop/c", ""); code != http.StatusOK {
		t.Fatalf("anonymous GET of a public-read form upload: %d", code)
	}
	if code := post(map[string]string{"key": "drop/c", "acl": "bogus"}); code != http.StatusBadRequest {
		t.Fatalf("acl=bogus: %d", code)
	}
}
