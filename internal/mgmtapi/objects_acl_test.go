package mgmtapi_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

type objACLView struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	VersionID string `json:"versionId"`
	Owner     struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
	} `json:"owner"`
	Grants []iam.Grant `json:"grants"`
}

// objACLGrants renders grants as "who=PERMISSION,...".
func objACLGrants(v objACLView) string {
	s := ""
	for i, g := range v.Grants {
		if i > 0 {
			s += ","
		}
		who := g.Grantee.DisplayName
		if g.Grantee.Type == iam.GranteeGroup {
			who = g.Grantee.URI[len("http://acs.amazonaws.com/groups/"):]
		}
		s += who + "=" + g.Permission
	}
	return s
}

func objACLPath(bucket, key string) string { return "/api/objects/acl/" + bucket + "/" + b64(key) }

func objACLGet(c *client, path string) objACLView {
	c.e.t.Helper()
	var v objACLView
	c.do("GET", path, nil).want(http.StatusOK).json(&v)
	return v
}

// objACLAnonS3 reads an object through the S3 surface without
// credentials and returns the status.
func objACLAnonS3(t *testing.T, e *env, bucket, key, vid string) int {
	t.Helper()
	u := e.S3URL + "/" + bucket + "/" + key
	if vid != "" {
		u += "?versionId=" + url.QueryEscape(vid)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestObjectACLGetPut(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	bob := e.user("bob")
	reader := e.user("reader", "readonly")
	objectsBucket(e, "docs", "alice")
	objectsPut(e, "docs", "a/k", []byte("v"), object.Attrs{})
	p := objACLPath("docs", "a/k")

	v := objACLGet(alice, p)
	if v.Bucket != "docs" || v.Key != "a/k" || v.VersionID != meta.NullVersion || v.Owner.DisplayName != "alice" ||
		v.Owner.ID != iam.CanonicalID("alice") || objACLGrants(v) != "alice=FULL_CONTROL" {
		t.Fatalf("default ACL %+v", v)
	}
	if got := objACLGrants(objACLGet(reader, p)); got != "alice=FULL_CONTROL" {
		t.Fatalf("readonly reads the ACL: %s", got)
	}
	e.anon().do("GET", p, nil).wantError(http.StatusUnauthorized, "Unauthorized")
	bob.do("GET", p, nil).wantError(http.StatusForbidden, "AccessDenied")
	alice.do("GET", objACLPath("docs", "missing"), nil).wantError(http.StatusNotFound, "NoSuchKey")
	alice.do("GET", objACLPath("nobucket", "k"), nil).wantError(http.StatusNotFound, "NoSuchBucket")
	alice.do("GET", "/api/objects/acl/docs/%25%25", nil).wantError(http.StatusBadRequest, "InvalidKey")
	alice.do("GET", p+"?versionId=", nil).wantError(http.StatusBadRequest, "InvalidArgument")

	// A canned ACL opens the object to anonymous S3 readers.
	if code := objACLAnonS3(t, e, "docs", "a/k", ""); code != http.StatusForbidden {
		t.Fatalf("anonymous S3 GET before public-read: %d", code)
	}
	alice.do("PUT", p, map[string]any{"acl": "public-read"}).want(http.StatusOK).json(&v)
	if objACLGrants(v) != "alice=FULL_CONTROL,global/AllUsers=READ" {
		t.Fatalf("PUT public-read answered %+v", v)
	}
	if code := objACLAnonS3(t, e, "docs", "a/k", ""); code != http.StatusOK {
		t.Fatalf("anonymous S3 GET after public-read: %d", code)
	}

	// Grants by canonical id (or display name), resolved.
	alice.do("PUT", p, map[string]any{"grants": []map[string]any{
		{"grantee": map[string]string{"type": "CanonicalUser", "id": iam.CanonicalID("alice")}, "permission": "FULL_CONTROL"},
		{"grantee": map[string]string{"type": "CanonicalUser", "displayName": "bob"}, "permission": "READ_ACP"},
	}}).want(http.StatusOK).json(&v)
	if objACLGrants(v) != "alice=FULL_CONTROL,bob=READ_ACP" {
		t.Fatalf("PUT grants answered %+v", v)
	}
	if got := objACLGrants(objACLGet(bob, p)); got != "alice=FULL_CONTROL,bob=READ_ACP" {
		t.Fatalf("READ_ACP grantee reads: %s", got)
	}
	bob.do("PUT", p, map[string]any{"acl": "public-read"}).wantError(http.StatusForbidden, "AccessDenied")
	reader.do("PUT", p, map[string]any{"acl": "private"}).wantError(http.StatusForbidden, "AccessDenied")
	e.anon().do("PUT", p, map[string]any{"acl": "private"}).wantError(http.StatusUnauthorized, "Unauthorized")

	// Refusals change nothing.
	alice.do("PUT", p, map[string]any{}).wantError(http.StatusBadRequest, "InvalidRequest")
	alice.do("PUT", p, map[string]any{"acl": "private", "grants": []any{}}).wantError(http.StatusBadRequest, "InvalidRequest")
	alice.do("PUT", p, map[string]any{"acl": "everyone"}).wantError(http.StatusBadRequest, "InvalidACL")
	alice.do("PUT", p, map[string]any{"grants": []map[string]any{
		{"grantee": map[string]string{"type": "CanonicalUser", "id": iam.CanonicalID("nobody")}, "permission": "READ"}}}).
		wantError(http.StatusBadRequest, "InvalidArgument")
	alice.do("PUT", p, map[string]any{"grants": []map[string]any{
		{"grantee": map[string]string{"type": "Group", "uri": iam.GroupAllUsers}, "permission": "ALL"}}}).
		wantError(http.StatusBadRequest, "InvalidACL")
	alice.do("PUT", p, map[string]any{"acl": "private", "owner": map[string]string{"id": iam.CanonicalID("bob")}}).
		wantError(http.StatusForbidden, "AccessDenied")
	alice.do("PUT", objACLPath("docs", "missing"), map[string]any{"acl": "private"}).wantError(http.StatusNotFound, "NoSuchKey")
	alice.do("PUT", p, "{").wantError(http.StatusBadRequest, "InvalidJSON")
	if got := objACLGrants(objACLGet(alice, p)); got != "alice=FULL_CONTROL,bob=READ_ACP" {
		t.Fatalf("refusals changed the ACL: %s", got)
	}

	// BucketOwnerEnforced: only the owner's full control.
	if err := e.objects.PutBucketConfig(context.Background(), "docs", iam.ConfigOwnership, []byte(iam.OwnershipEnforced)); err != nil {
		t.Fatal(err)
	}
	if got := objACLGrants(objACLGet(alice, p)); got != "alice=FULL_CONTROL" {
		t.Fatalf("ACL shown under BucketOwnerEnforced: %s", got)
	}
	bob.do("GET", p, nil).wantError(http.StatusForbidden, "AccessDenied")
	alice.do("PUT", p, map[string]any{"acl": "public-read"}).wantError(http.StatusBadRequest, "AccessControlListNotSupported")
	alice.do("PUT", p, map[string]any{"acl": "bucket-owner-full-control"}).want(http.StatusOK)
}

func TestObjectACLVersionsAPI(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	x := context.Background()
	objectsBucket(e, "hist", "alice")
	if err := e.objects.SetVersioning(x, "hist", meta.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	put := func(body string) string {
		t.Helper()
		res, err := e.objects.PutObject(x, object.PutInput{Bucket: "hist", Key: "k", Body: bytes.NewReader([]byte(body)), Size: int64(len(body))})
		if err != nil {
			t.Fatal(err)
		}
		return res.VersionID
	}
	v1, v2 := put("one"), put("two")
	p := objACLPath("hist", "k")
	var v objACLView
	alice.do("PUT", p+"?versionId="+url.QueryEscape(v1), map[string]any{"acl": "public-read"}).want(http.StatusOK).json(&v)
	if v.VersionID != v1 {
		t.Fatalf("PUT by version answered version %q, want %q", v.VersionID, v1)
	}
	if got := objACLGet(alice, p+"?versionId="+url.QueryEscape(v1)); objACLGrants(got) != "alice=FULL_CONTROL,global/AllUsers=READ" || got.VersionID != v1 {
		t.Fatalf("v1: %+v", got)
	}
	if got := objACLGet(alice, p); objACLGrants(got) != "alice=FULL_CONTROL" || got.VersionID != v2 {
		t.Fatalf("latest: %+v", got)
	}
	if code := objACLAnonS3(t, e, "hist", "k", v1); code != http.StatusOK {
		t.Fatalf("anonymous S3 GET of the public version: %d", code)
	}
	if code := objACLAnonS3(t, e, "hist", "k", ""); code != http.StatusForbidden {
		t.Fatalf("anonymous S3 GET of the private latest: %d", code)
	}
	alice.do("GET", p+"?versionId=0000000000000001", nil).wantError(http.StatusNotFound, "NoSuchVersion")
}

// TestObjectACLParity: the S3 API and /api answer GetObjectAcl and
// PutObjectAcl alike for the same users, object ACL grants included.
func TestObjectACLParity(t *testing.T) {
	e := newEnv(t)
	x := context.Background()
	users := map[string][]string{"owner": nil, "ro": {"readonly"}, "wo": {"writeonly"}, "other": nil, "acp": nil}
	api := map[string]*client{}
	sdk := map[string]*s3.Client{}
	for name, pols := range users {
		api[name] = e.user(name, pols...)
		sdk[name] = bucketsUserSDK(t, e, name)
	}
	objectsBucket(e, "par", "owner")
	objectsPut(e, "par", "k", []byte("v"), object.Attrs{})
	if _, err := sdk["owner"].PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("par"), Key: aws.String("k"),
		GrantReadACP: aws.String(`id="` + iam.CanonicalID("acp") + `"`), GrantWriteACP: aws.String(`id="` + iam.CanonicalID("acp") + `"`),
		GrantFullControl: aws.String(`id="` + iam.CanonicalID("owner") + `"`)}); err != nil {
		t.Fatal(err)
	}
	allowed := func(err error) bool { return err == nil }
	for name := range users {
		_, err := sdk[name].GetObjectAcl(x, &s3.GetObjectAclInput{Bucket: aws.String("par"), Key: aws.String("k")})
		s3Get := allowed(err)
		apiGet := api[name].do("GET", objACLPath("par", "k"), nil).Status == http.StatusOK
		if s3Get != apiGet {
			t.Errorf("%s GetObjectAcl: S3 allowed=%v (%s), /api allowed=%v", name, s3Get, bucketsS3Code(err), apiGet)
		}
		// Each writes the ACL the object already has, so that who may is
		// all that changes.
		grants := []types.Grant{
			{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(iam.CanonicalID("owner"))}, Permission: types.PermissionFullControl},
			{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(iam.CanonicalID("acp"))}, Permission: types.PermissionReadAcp},
			{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(iam.CanonicalID("acp"))}, Permission: types.PermissionWriteAcp},
		}
		_, err = sdk[name].PutObjectAcl(x, &s3.PutObjectAclInput{Bucket: aws.String("par"), Key: aws.String("k"),
			AccessControlPolicy: &types.AccessControlPolicy{Grants: grants}})
		s3Put := allowed(err)
		body := map[string]any{"grants": []map[string]any{
			{"grantee": map[string]string{"type": "CanonicalUser", "id": iam.CanonicalID("owner")}, "permission": "FULL_CONTROL"},
			{"grantee": map[string]string{"type": "CanonicalUser", "id": iam.CanonicalID("acp")}, "permission": "READ_ACP"},
			{"grantee": map[string]string{"type": "CanonicalUser", "id": iam.CanonicalID("acp")}, "permission": "WRITE_ACP"},
		}}
		apiPut := api[name].do("PUT", objACLPath("par", "k"), body).Status == http.StatusOK
		if s3Put != apiPut {
			t.Errorf("%s PutObjectAcl: S3 allowed=%v (%s), /api allowed=%v", name, s3Put, bucketsS3Code(err), apiPut)
		}
		want := map[string][2]bool{"owner": {true, true}, "ro": {true, false}, "wo": {false, true}, "other": {false, false}, "acp": {true, true}}[name]
		if s3Get != want[0] || s3Put != want[1] {
			t.Errorf("%s: get/put allowed %v/%v, want %v/%v", name, s3Get, s3Put, want[0], want[1])
		}
	}
}
