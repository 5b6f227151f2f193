package s3api_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cofferstore/coffer/internal/iam"
)

// objACLHelperGrants returns an object version's ACL as grants() renders
// it, and its owner's display name.
func objACLHelperGrants(t *testing.T, c *s3.Client, bucket, key, vid string) (string, string) {
	t.Helper()
	in := &s3.GetObjectAclInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	out, err := c.GetObjectAcl(ctx(t), in)
	if err != nil {
		t.Fatalf("GetObjectAcl %s/%s@%s: %v", bucket, key, vid, err)
	}
	if id := aws.ToString(out.Owner.ID); id != iam.CanonicalID(aws.ToString(out.Owner.DisplayName)) {
		t.Errorf("owner id %s does not match display name %s", id, aws.ToString(out.Owner.DisplayName))
	}
	return grants(out.Grants), aws.ToString(out.Owner.DisplayName)
}

// objACLHelperAnon reads an object without credentials and returns the
// status and body.
func objACLHelperAnon(t *testing.T, s *iamServer, path string) (int, string) {
	t.Helper()
	return s.anon(t, "GET", path, "")
}

func objACLHelperGrantID(user string) *string {
	return aws.String(`id="` + iam.CanonicalID(user) + `"`)
}

// TestObjectACLPublicRead: a public-read object in a private bucket is
// readable anonymously, and nothing else about the bucket opens up.
func TestObjectACLPublicRead(t *testing.T) {
	s := newIAMServer(t)
	x := ctx(t)
	alice := s.user(t, "alice")
	mustCreateBucket(t, alice, "pics")
	if _, err := alice.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("pics"), Key: aws.String("pub"), Body: strings.NewReader("public bytes"),
		ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	mustPut(t, alice, "pics", "priv", "private bytes")

	if code, body := objACLHelperAnon(t, s, "/pics/pub"); code != http.StatusOK || body != "public bytes" {
		t.Fatalf("anonymous GET of a public-read object: %d %q", code, body)
	}
	if code, _ := s.anon(t, "HEAD", "/pics/pub", ""); code != http.StatusOK {
		t.Fatalf("anonymous HEAD of a public-read object: %d", code)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/pics/priv", ""},
		{"GET", "/pics/pub?acl", ""},
		{"GET", "/pics?list-type=2", ""},
		{"PUT", "/pics/pub", "overwritten"},
		{"DELETE", "/pics/pub", ""},
		{"PUT", "/pics/pub?acl", ""},
	} {
		if code, _ := s.anon(t, c.method, c.path, c.body); code != http.StatusForbidden {
			t.Errorf("anonymous %s %s: %d, want 403", c.method, c.path, code)
		}
	}
	if g, owner := objACLHelperGrants(t, alice, "pics", "pub", ""); g != "alice=FULL_CONTROL,global/AllUsers=READ" || owner != "alice" {
		t.Fatalf("ACL of the public-read object: %s owner %s", g, owner)
	}
	if g, _ := objACLHelperGrants(t, alice, "pics", "priv", ""); g != "alice=FULL_CONTROL" {
		t.Fatalf("ACL of the default object: %s", g)
	}

	// Setting it private again closes it; authenticated-read opens it to
	// users only.
	if _, err := alice.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("pics"), Key: aws.String("pub"), ACL: types.ObjectCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	if code, _ := objACLHelperAnon(t, s, "/pics/pub"); code != http.StatusForbidden {
		t.Fatalf("anonymous GET after PutObjectAcl private: %d", code)
	}
	bob := s.user(t, "bob")
	if _, err := getBody(t, bob, "pics", "pub"); apiCode(err) != "AccessDenied" {
		t.Fatalf("another user reads a private object: %v", err)
	}
	if _, err := alice.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("pics"), Key: aws.String("pub"), ACL: types.ObjectCannedACLAuthenticatedRead}); err != nil {
		t.Fatal(err)
	}
	if body, err := getBody(t, bob, "pics", "pub"); err != nil || body != "public bytes" {
		t.Fatalf("authenticated-read, another user: %q %v", body, err)
	}
	if code, _ := objACLHelperAnon(t, s, "/pics/pub"); code != http.StatusForbidden {
		t.Fatalf("authenticated-read, anonymous: %d", code)
	}
}

// TestObjectACLGrantRead: READ granted to another user's canonical id lets
// that user read the object (and copy it out), and nothing else.
func TestObjectACLGrantRead(t *testing.T) {
	s := newIAMServer(t)
	x := ctx(t)
	alice := s.user(t, "alice")
	bob := s.user(t, "bob")
	mustCreateBucket(t, alice, "docs")
	mustCreateBucket(t, bob, "bobs")
	if _, err := alice.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String("shared"), Body: strings.NewReader("for bob"),
		GrantRead: objACLHelperGrantID("bob")}); err != nil {
		t.Fatal(err)
	}
	mustPut(t, alice, "docs", "other", "not for bob")

	if body, err := getBody(t, bob, "docs", "shared"); err != nil || body != "for bob" {
		t.Fatalf("granted READ: %q %v", body, err)
	}
	if _, err := bob.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("docs"), Key: aws.String("shared")}); err != nil {
		t.Fatalf("granted READ, HEAD: %v", err)
	}
	if _, err := bob.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("bobs"), Key: aws.String("mine"), CopySource: aws.String("docs/shared")}); err != nil {
		t.Fatalf("granted READ, copying out: %v", err)
	}
	if body, err := getBody(t, bob, "bobs", "mine"); err != nil || body != "for bob" {
		t.Fatalf("the copy: %q %v", body, err)
	}
	denied := map[string]error{}
	_, denied["GET other"] = bob.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("docs"), Key: aws.String("other")})
	_, denied["GetObjectAcl"] = bob.GetObjectAcl(x, &s3.GetObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("shared")})
	_, denied["PutObjectAcl"] = bob.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("shared"), ACL: types.ObjectCannedACLPublicRead})
	_, denied["PutObject"] = bob.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String("shared"), Body: strings.NewReader("x")})
	_, denied["DeleteObject"] = bob.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("docs"), Key: aws.String("shared")})
	_, denied["ListObjects"] = bob.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("docs")})
	_, denied["GetObjectTagging"] = bob.GetObjectTagging(x, &s3.GetObjectTaggingInput{Bucket: aws.String("docs"), Key: aws.String("shared")})
	for what, err := range denied {
		if apiCode(err) != "AccessDenied" {
			t.Errorf("%s with only READ on one object: %v, want AccessDenied", what, err)
		}
	}
	if code, _ := objACLHelperAnon(t, s, "/docs/shared"); code != http.StatusForbidden {
		t.Errorf("anonymous GET of an object granted to a user: %d", code)
	}

	// A grant to an unknown canonical id or by e-mail is refused.
	_, err := alice.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String("x"), Body: strings.NewReader("x"),
		GrantRead: objACLHelperGrantID("nobody")})
	wantCode(t, err, "InvalidArgument")
	_, err = alice.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("shared"), GrantRead: aws.String(`emailAddress="a@example.com"`)})
	wantCode(t, err, "UnresolvableGrantByEmailAddress")
	_, err = alice.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("shared"), ACL: types.ObjectCannedACLPrivate,
		GrantRead: objACLHelperGrantID("bob")})
	wantCode(t, err, "InvalidRequest")
	if g, _ := objACLHelperGrants(t, alice, "docs", "shared", ""); g != "bob=READ" {
		t.Fatalf("refusals changed the ACL: %s", g)
	}
}

// TestObjectACLReadWriteACP: READ_ACP reads the ACL, WRITE_ACP writes it
// (and so may grant anything, itself included), neither reads the object.
func TestObjectACLReadWriteACP(t *testing.T) {
	s := newIAMServer(t)
	x := ctx(t)
	alice := s.user(t, "alice")
	bob := s.user(t, "bob")
	carol := s.user(t, "carol")
	mustCreateBucket(t, alice, "docs")
	mustPut(t, alice, "docs", "k", "secret")
	user := func(name string, perm types.Permission) types.Grant {
		return types.Grant{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(iam.CanonicalID(name))}, Permission: perm}
	}
	if _, err := alice.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("k"), AccessControlPolicy: &types.AccessControlPolicy{
		Owner:  &types.Owner{ID: aws.String(iam.CanonicalID("alice"))},
		Grants: []types.Grant{user("alice", types.PermissionFullControl), user("bob", types.PermissionReadAcp), user("carol", types.PermissionWriteAcp)},
	}}); err != nil {
		t.Fatal(err)
	}
	if g, _ := objACLHelperGrants(t, bob, "docs", "k", ""); g != "alice=FULL_CONTROL,bob=READ_ACP,carol=WRITE_ACP" {
		t.Fatalf("READ_ACP reads the ACL: %s", g)
	}
	_, err := bob.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("docs"), Key: aws.String("k")})
	wantCode(t, err, "AccessDenied")
	_, err = bob.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("k"), ACL: types.ObjectCannedACLPublicRead})
	wantCode(t, err, "AccessDenied")
	_, err = carol.GetObjectAcl(x, &s3.GetObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("k")})
	wantCode(t, err, "AccessDenied")
	_, err = carol.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("docs"), Key: aws.String("k")})
	wantCode(t, err, "AccessDenied")
	// WRITE_ACP cannot change the owner...
	_, err = carol.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("k"), AccessControlPolicy: &types.AccessControlPolicy{
		Owner: &types.Owner{ID: aws.String(iam.CanonicalID("carol"))}, Grants: []types.Grant{user("carol", types.PermissionFullControl)}}})
	wantCode(t, err, "AccessDenied")
	// ...but may grant itself anything on the object.
	if _, err := carol.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("docs"), Key: aws.String("k"),
		GrantFullControl: objACLHelperGrantID("carol")}); err != nil {
		t.Fatalf("WRITE_ACP writes the ACL: %v", err)
	}
	if body, err := getBody(t, carol, "docs", "k"); err != nil || body != "secret" {
		t.Fatalf("after granting itself FULL_CONTROL: %q %v", body, err)
	}
	if g, owner := objACLHelperGrants(t, carol, "docs", "k", ""); g != "carol=FULL_CONTROL" || owner != "alice" {
		t.Fatalf("ACL written by a WRITE_ACP grantee: %s owner %s", g, owner)
	}
	_, err = carol.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("docs"), Key: aws.String("k")})
	wantCode(t, err, "AccessDenied") // FULL_CONTROL on an object is not the bucket's WRITE
	// The bucket's owner keeps full access whatever the object's ACL says.
	if body, err := getBody(t, alice, "docs", "k"); err != nil || body != "secret" {
		t.Fatalf("bucket owner after losing its grant: %q %v", body, err)
	}
}

// TestObjectACLOwnershipEnforced: with BucketOwnerEnforced, ACLs granting
// more than the bucket owner's full control are refused on every write and
// on PutObjectAcl, and ACLs stored before grant nothing (until ACLs are
// enabled again).
func TestObjectACLOwnershipEnforced(t *testing.T) {
	s := newIAMServer(t)
	x := ctx(t)
	alice := s.user(t, "alice")
	mustCreateBucket(t, alice, "locked")
	if _, err := alice.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("locked"), Key: aws.String("was-public"), Body: strings.NewReader("v"),
		ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	if code, _ := objACLHelperAnon(t, s, "/locked/was-public"); code != http.StatusOK {
		t.Fatalf("public-read before enforcement: %d", code)
	}
	setOwnership := func(o types.ObjectOwnership) {
		t.Helper()
		if _, err := alice.PutBucketOwnershipControls(x, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String("locked"),
			OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: o}}}}); err != nil {
			t.Fatal(err)
		}
	}
	setOwnership(types.ObjectOwnershipBucketOwnerEnforced)
	if code, _ := objACLHelperAnon(t, s, "/locked/was-public"); code != http.StatusForbidden {
		t.Fatalf("a stored public-read ACL under BucketOwnerEnforced: %d", code)
	}
	if g, owner := objACLHelperGrants(t, alice, "locked", "was-public", ""); g != "alice=FULL_CONTROL" || owner != "alice" {
		t.Fatalf("GetObjectAcl under BucketOwnerEnforced: %s owner %s", g, owner)
	}

	_, err := alice.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("locked"), Key: aws.String("k"), Body: strings.NewReader("v"), ACL: types.ObjectCannedACLPublicRead})
	wantCode(t, err, "AccessControlListNotSupported")
	_, err = alice.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("locked"), Key: aws.String("k"), Body: strings.NewReader("v"),
		GrantRead: aws.String(`uri="` + iam.GroupAllUsers + `"`)})
	wantCode(t, err, "AccessControlListNotSupported")
	_, err = alice.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("locked"), Key: aws.String("k"), ACL: types.ObjectCannedACLPublicRead})
	wantCode(t, err, "AccessControlListNotSupported")
	_, err = alice.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("locked"), Key: aws.String("k"), CopySource: aws.String("locked/was-public"),
		ACL: types.ObjectCannedACLPublicRead})
	wantCode(t, err, "AccessControlListNotSupported")
	_, err = alice.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("locked"), Key: aws.String("was-public"), ACL: types.ObjectCannedACLPublicRead})
	wantCode(t, err, "AccessControlListNotSupported")
	if _, err := alice.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("locked"), Key: aws.String("k")}); httpStatus(err) != http.StatusNotFound {
		t.Fatalf("a refused write stored an object: %v", err)
	}
	// Owner-only ACLs are accepted, as S3 does.
	for _, a := range []types.ObjectCannedACL{types.ObjectCannedACLBucketOwnerFullControl, types.ObjectCannedACLPrivate} {
		if _, err := alice.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("locked"), Key: aws.String("k"), Body: strings.NewReader("v"), ACL: a}); err != nil {
			t.Fatalf("PutObject with %s under BucketOwnerEnforced: %v", a, err)
		}
	}

	// ACLs stored before enforcement apply again once it is lifted.
	setOwnership(types.ObjectOwnershipObjectWriter)
	if code, _ := objACLHelperAnon(t, s, "/locked/was-public"); code != http.StatusOK {
		t.Fatalf("public-read after lifting enforcement: %d", code)
	}
}

// TestObjectACLVersions: every version has its own ACL, read and written
// by versionId.
func TestObjectACLVersions(t *testing.T) {
	s := newIAMServer(t)
	x := ctx(t)
	alice := s.user(t, "alice")
	mustCreateBucket(t, alice, "hist")
	if _, err := alice.PutBucketVersioning(x, &s3.PutBucketVersioningInput{Bucket: aws.String("hist"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	put := func(body string) string {
		t.Helper()
		out, err := alice.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("hist"), Key: aws.String("k"), Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.VersionId)
	}
	v1, v2 := put("one"), put("two")
	if _, err := alice.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("hist"), Key: aws.String("k"), VersionId: aws.String(v1),
		ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	if code, body := objACLHelperAnon(t, s, "/hist/k?versionId="+url.QueryEscape(v1)); code != http.StatusOK || body != "one" {
		t.Fatalf("anonymous GET of the public version: %d %q", code, body)
	}
	if code, _ := objACLHelperAnon(t, s, "/hist/k"); code != http.StatusForbidden {
		t.Fatalf("anonymous GET of the latest, private version: %d", code)
	}
	if code, _ := objACLHelperAnon(t, s, "/hist/k?versionId="+url.QueryEscape(v2)); code != http.StatusForbidden {
		t.Fatalf("anonymous GET of the private version by id: %d", code)
	}
	if g, _ := objACLHelperGrants(t, alice, "hist", "k", v1); g != "alice=FULL_CONTROL,global/AllUsers=READ" {
		t.Fatalf("v1 ACL: %s", g)
	}
	if g, _ := objACLHelperGrants(t, alice, "hist", "k", ""); g != "alice=FULL_CONTROL" {
		t.Fatalf("latest ACL: %s", g)
	}
	// READ_ACP for everyone on v1 only: the answer names the version.
	if _, err := alice.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("hist"), Key: aws.String("k"), VersionId: aws.String(v1),
		GrantRead: aws.String(`uri="` + iam.GroupAllUsers + `"`), GrantReadACP: aws.String(`uri="` + iam.GroupAllUsers + `"`)}); err != nil {
		t.Fatal(err)
	}
	resp, err := rawClient.Get(s.URL + "/hist/k?acl&versionId=" + url.QueryEscape(v1))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Version-Id") != v1 || !strings.Contains(string(body), "READ_ACP") {
		t.Fatalf("anonymous GetObjectAcl of v1: %d version %q %s", resp.StatusCode, resp.Header.Get("X-Amz-Version-Id"), body)
	}
	if code, _ := s.anon(t, "GET", "/hist/k?acl&versionId="+url.QueryEscape(v2), ""); code != http.StatusForbidden {
		t.Fatalf("anonymous GetObjectAcl of v2: %d", code)
	}
	_, err = alice.GetObjectAcl(x, &s3.GetObjectAclInput{Bucket: aws.String("hist"), Key: aws.String("k"), VersionId: aws.String("0000000000000001")})
	wantCode(t, err, "NoSuchVersion")
	if _, err := alice.DeleteObject(x, &s3.DeleteObjectInput{Bucket: aws.String("hist"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	_, err = alice.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("hist"), Key: aws.String("k"), ACL: types.ObjectCannedACLPublicRead})
	wantCode(t, err, "NoSuchKey")
	// The version under the marker keeps its ACL.
	if code, _ := objACLHelperAnon(t, s, "/hist/k?versionId="+url.QueryEscape(v1)); code != http.StatusOK {
		t.Fatalf("public version under a delete marker: %d", code)
	}
}

// TestObjectACLOnWrites: x-amz-acl and the grant headers on PutObject,
// CopyObject and CreateMultipartUpload set the new object's ACL; a copy
// never takes its source's.
func TestObjectACLOnWrites(t *testing.T) {
	s := newIAMServer(t)
	x := ctx(t)
	alice := s.user(t, "alice")
	mustCreateBucket(t, alice, "wrt")
	if _, err := alice.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("wrt"), Key: aws.String("src"), Body: strings.NewReader("source"),
		GrantRead: aws.String(`uri="` + iam.GroupAllUsers + `"`)}); err != nil {
		t.Fatal(err)
	}
	if code, _ := objACLHelperAnon(t, s, "/wrt/src"); code != http.StatusOK {
		t.Fatalf("grant header on PUT: %d", code)
	}
	if _, err := alice.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("wrt"), Key: aws.String("copy-default"), CopySource: aws.String("wrt/src")}); err != nil {
		t.Fatal(err)
	}
	if code, _ := objACLHelperAnon(t, s, "/wrt/copy-default"); code != http.StatusForbidden {
		t.Fatalf("a copy took its source's ACL: %d", code)
	}
	mustPut(t, alice, "wrt", "private-src", "p")
	if _, err := alice.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("wrt"), Key: aws.String("copy-public"), CopySource: aws.String("wrt/private-src"),
		ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	if code, body := objACLHelperAnon(t, s, "/wrt/copy-public"); code != http.StatusOK || body != "p" {
		t.Fatalf("x-amz-acl on copy: %d %q", code, body)
	}

	up, err := alice.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("wrt"), Key: aws.String("mp"), ACL: types.ObjectCannedACLPublicRead})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("m"), 1000)
	part, err := alice.UploadPart(x, &s3.UploadPartInput{Bucket: aws.String("wrt"), Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(1),
		Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := objACLHelperAnon(t, s, "/wrt/mp"); code != http.StatusNotFound && code != http.StatusForbidden {
		t.Fatalf("anonymous GET before completion: %d", code)
	}
	if _, err := alice.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("wrt"), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}}); err != nil {
		t.Fatal(err)
	}
	if code, body := objACLHelperAnon(t, s, "/wrt/mp"); code != http.StatusOK || body != string(data) {
		t.Fatalf("x-amz-acl on CreateMultipartUpload: %d (%d bytes)", code, len(body))
	}
	// An overwrite without ACL headers is private again.
	mustPut(t, alice, "wrt", "mp", "replaced")
	if code, _ := objACLHelperAnon(t, s, "/wrt/mp"); code != http.StatusForbidden {
		t.Fatalf("an overwrite kept the old version's ACL: %d", code)
	}
}

// TestObjectACLOwnership: under ObjectWriter a user writing into another
// user's bucket owns what it writes (private to it by default, its ACL
// always its own to read and change); under BucketOwnerPreferred the
// bucket-owner-full-control canned ACL hands the object to the bucket's
// owner; without a setting the bucket's owner owns everything.
func TestObjectACLOwnership(t *testing.T) {
	s := newIAMServer(t)
	x := ctx(t)
	alice := s.user(t, "alice")
	bob := s.user(t, "bob")
	carol := s.user(t, "carol")
	for _, b := range []string{"writer", "preferred", "unset"} {
		mustCreateBucket(t, alice, b)
		putPolicy(t, alice, b, `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":["s3:PutObject","s3:PutObjectAcl"],"Resource":"arn:aws:s3:::`+b+`/*"}]}`)
	}
	for b, o := range map[string]types.ObjectOwnership{"writer": types.ObjectOwnershipObjectWriter, "preferred": types.ObjectOwnershipBucketOwnerPreferred} {
		if _, err := alice.PutBucketOwnershipControls(x, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String(b),
			OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: o}}}}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(bucket, key string, acl types.ObjectCannedACL) {
		t.Helper()
		if _, err := bob.PutObject(x, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("by bob"), ACL: acl}); err != nil {
			t.Fatalf("bob PutObject %s/%s: %v", bucket, key, err)
		}
	}
	put("writer", "plain", "")
	put("writer", "handed", types.ObjectCannedACLBucketOwnerFullControl)
	put("preferred", "plain", "")
	put("preferred", "handed", types.ObjectCannedACLBucketOwnerFullControl)
	put("unset", "plain", "")
	if _, err := bob.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("writer"), Key: aws.String("granted"), Body: strings.NewReader("by bob"),
		GrantRead: objACLHelperGrantID("carol")}); err != nil {
		t.Fatal(err)
	}
	put("unset", "read", types.ObjectCannedACLBucketOwnerRead)
	for _, c := range []struct{ bucket, key, owner, grants string }{
		{"writer", "plain", "bob", "bob=FULL_CONTROL"},
		{"writer", "handed", "bob", "bob=FULL_CONTROL,alice=FULL_CONTROL"},
		{"writer", "granted", "bob", "carol=READ"},
		{"preferred", "plain", "bob", "bob=FULL_CONTROL"},
		{"preferred", "handed", "alice", "alice=FULL_CONTROL"},
		{"unset", "plain", "alice", "alice=FULL_CONTROL"},
		{"unset", "read", "alice", "alice=FULL_CONTROL"},
	} {
		if g, owner := objACLHelperGrants(t, alice, c.bucket, c.key, ""); g != c.grants || owner != c.owner {
			t.Errorf("%s/%s: owner %s grants %s; want owner %s grants %s", c.bucket, c.key, owner, g, c.owner, c.grants)
		}
	}

	// bob owns writer/plain: it reads it (its FULL_CONTROL grant) and its
	// ACL (as owner, with no policy granting s3:GetObjectAcl), and may
	// share it; carol may not read it until then.
	if body, err := getBody(t, bob, "writer", "plain"); err != nil || body != "by bob" {
		t.Fatalf("the writer reads its object: %q %v", body, err)
	}
	if g, owner := objACLHelperGrants(t, bob, "writer", "plain", ""); owner != "bob" || g != "bob=FULL_CONTROL" {
		t.Fatalf("the writer reads its ACL: %s owner %s", g, owner)
	}
	if _, err := getBody(t, carol, "writer", "plain"); apiCode(err) != "AccessDenied" {
		t.Fatalf("carol reads bob's object: %v", err)
	}
	if _, err := bob.PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("writer"), Key: aws.String("plain"),
		GrantRead: objACLHelperGrantID("carol")}); err != nil {
		t.Fatalf("the writer shares its object: %v", err)
	}
	if body, err := getBody(t, carol, "writer", "plain"); err != nil || body != "by bob" {
		t.Fatalf("carol after bob's grant: %q %v", body, err)
	}
	if _, owner := objACLHelperGrants(t, alice, "writer", "plain", ""); owner != "bob" {
		t.Fatalf("PutObjectAcl changed the owner to %s", owner)
	}
	// Without ObjectWriter, bob owns nothing: the unset bucket's object is
	// alice's, private to her.
	if _, err := getBody(t, bob, "unset", "plain"); apiCode(err) != "AccessDenied" {
		t.Fatalf("bob reads an object it wrote into a bucket without ownership controls: %v", err)
	}
	// The bucket's owner reads everything in its bucket.
	if body, err := getBody(t, alice, "writer", "plain"); err != nil || body != "by bob" {
		t.Fatalf("the bucket owner reads bob's object: %q %v", body, err)
	}
}
