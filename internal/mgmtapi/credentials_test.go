package mgmtapi_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// credResult has the storage server seed's field names.
type credResult struct {
	ID        int64     `json:"id"`
	AccessKey string    `json:"access_key"`
	SecretKey string    `json:"secret_key"`
	UserName  string    `json:"user_name"`
	IsActive  bool      `json:"is_active"`
	CreatedAt time.Time `json:"created_at"`

	BucketCount int `json:"bucket_count"`
	Buckets     []struct {
		Name           string    `json:"name"`
		Region         string    `json:"region"`
		Owner          string    `json:"owner"`
		CreatedAt      time.Time `json:"created_at"`
		ObjectCount    int64     `json:"object_count"`
		TotalSize      int64     `json:"total_size"`
		TotalSizeHuman string    `json:"total_size_human"`
	} `json:"buckets"`
}

func credGet(c *client, id string) credResult {
	c.e.t.Helper()
	var out credResult
	c.do("GET", "/api/credentials/"+id, nil).want(http.StatusOK).json(&out)
	return out
}

func TestCredentialCreate(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	e.anon().do("POST", "/api/credentials", map[string]any{}).wantError(http.StatusUnauthorized, "Unauthorized")

	// Nothing given: a generated key, and a user named after it.
	var c credResult
	r := root.do("POST", "/api/credentials", map[string]any{}).want(http.StatusCreated)
	r.json(&c)
	if c.ID < 1 || len(c.AccessKey) != 20 || c.SecretKey == "" || c.UserName != c.AccessKey || !c.IsActive || c.CreatedAt.IsZero() {
		t.Fatalf("created: %s", r.Body)
	}
	root.do("GET", "/api/users/"+c.UserName, nil).want(http.StatusOK)

	// A custom key for a new named user.
	var named credResult
	root.do("POST", "/api/credentials", map[string]any{"user_name": "john-doe", "access_key": "AKIAIOSFODNN7EXAMPLE",
		"secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}).want(http.StatusCreated).json(&named)
	if named.AccessKey != "AKIAIOSFODNN7EXAMPLE" || named.SecretKey != "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" || named.UserName != "john-doe" {
		t.Fatalf("custom: %+v", named)
	}
	// A second key for the same, now existing, user.
	var second credResult
	root.do("POST", "/api/credentials", map[string]any{"user_name": "john-doe"}).want(http.StatusCreated).json(&second)
	if second.UserName != "john-doe" || second.ID == named.ID {
		t.Fatalf("second: %+v", second)
	}
	var keys struct{ Keys []struct{ AccessKey string } }
	root.do("GET", "/api/users/john-doe/keys", nil).want(http.StatusOK).json(&keys)
	if len(keys.Keys) != 2 {
		t.Fatalf("john-doe has %d keys", len(keys.Keys))
	}
	// A custom key without a user name names its user.
	var custom credResult
	root.do("POST", "/api/credentials", map[string]any{"access_key": "CUSTOMNOUSER"}).want(http.StatusCreated).json(&custom)
	if custom.UserName != "CUSTOMNOUSER" {
		t.Fatalf("custom without user: %+v", custom)
	}

	root.do("POST", "/api/credentials", map[string]any{"access_key": "AKIAIOSFODNN7EXAMPLE", "user_name": "fresh-user"}).
		wantError(http.StatusConflict, "AccessKeyAlreadyExists")
	// The failed request left no user behind.
	root.do("GET", "/api/users/fresh-user", nil).wantError(http.StatusNotFound, "UserNotFound")
	// Its user exists already: refused rather than given another key.
	root.do("POST", "/api/credentials", map[string]any{"access_key": "CUSTOMNOUSER"}).wantError(http.StatusConflict, "UserAlreadyExists")
	root.do("POST", "/api/credentials", map[string]any{"access_key": "bad key"}).wantError(http.StatusBadRequest, "InvalidName")
	root.do("POST", "/api/credentials", map[string]any{"user_name": "short-secret", "secret_key": "short"}).
		wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("GET", "/api/users/short-secret", nil).wantError(http.StatusNotFound, "UserNotFound")
	root.do("POST", "/api/credentials", map[string]any{"user_name": "bad name"}).wantError(http.StatusBadRequest, "InvalidName")
}

func TestCredentialDetailCountsBuckets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root := e.root()
	var c credResult
	root.do("POST", "/api/credentials", map[string]any{"user_name": "owner"}).want(http.StatusCreated).json(&c)
	cli := identS3(e, c.AccessKey, c.SecretKey)
	if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("owned-one")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("owned-empty")}); err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{"hello", "sevenby"} {
		if _, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("owned-one"), Key: aws.String("k" + strconv.Itoa(i)),
			Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	// Someone else's bucket is not listed.
	if _, err := identS3(e, rootUser, rootSecret).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("roots")}); err != nil {
		t.Fatal(err)
	}

	for _, id := range []string{strconv.FormatInt(c.ID, 10), c.AccessKey} {
		d := credGet(root, id)
		if d.ID != c.ID || d.AccessKey != c.AccessKey || d.SecretKey != "" || d.UserName != "owner" || !d.IsActive || d.BucketCount != 2 || len(d.Buckets) != 2 {
			t.Fatalf("detail by %s: %+v", id, d)
		}
		byName := map[string]int{}
		for i, b := range d.Buckets {
			byName[b.Name] = i
			if b.Owner != "owner" || b.Region != region || b.CreatedAt.IsZero() {
				t.Errorf("bucket %+v", b)
			}
		}
		one, empty := d.Buckets[byName["owned-one"]], d.Buckets[byName["owned-empty"]]
		if one.ObjectCount != 2 || one.TotalSize != 12 || one.TotalSizeHuman != "12 B" {
			t.Errorf("owned-one usage: %+v", one)
		}
		if empty.ObjectCount != 0 || empty.TotalSize != 0 {
			t.Errorf("owned-empty usage: %+v", empty)
		}
	}
	root.do("GET", "/api/credentials/999", nil).wantError(http.StatusNotFound, "AccessKeyNotFound")
	root.do("GET", "/api/credentials/NOSUCHKEY", nil).wantError(http.StatusNotFound, "AccessKeyNotFound")
	root.do("GET", "/api/credentials/0", nil).wantError(http.StatusBadRequest, "InvalidRequest")
}

func TestCredentialListUpdateDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root := e.root()
	var a, b credResult
	root.do("POST", "/api/credentials", map[string]any{"user_name": "alpha"}).want(http.StatusCreated).json(&a)
	root.do("POST", "/api/credentials", map[string]any{"user_name": "beta"}).want(http.StatusCreated).json(&b)

	r := root.do("GET", "/api/credentials", nil).want(http.StatusOK)
	var list struct {
		Credentials []credResult `json:"credentials"`
	}
	r.json(&list)
	if len(list.Credentials) != 2 || strings.Contains(string(r.Body), "secret_key") {
		t.Fatalf("list: %s", r.Body)
	}

	ok := func(r *resp) {
		t.Helper()
		r.want(http.StatusOK)
		if r.obj()["message"] != "Operation completed successfully" {
			t.Fatalf("update answer: %s", r.Body)
		}
	}
	id := strconv.FormatInt(a.ID, 10)
	ok(root.do("PUT", "/api/credentials/"+id, map[string]any{"is_active": false}))
	if d := credGet(root, id); d.IsActive {
		t.Fatalf("still active: %+v", d)
	}
	_, err := identS3(e, a.AccessKey, a.SecretKey).ListBuckets(ctx, &s3.ListBucketsInput{})
	if identS3Code(err) != "InvalidAccessKeyId" {
		t.Fatalf("S3 with an inactive credential: %v", err)
	}
	ok(root.do("PATCH", "/api/credentials/"+id, map[string]any{"is_active": true}))
	if _, err := identS3(e, a.AccessKey, a.SecretKey).ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("S3 with the credential active again: %v", err)
	}
	// Moving it to another user, created on the way.
	ok(root.do("PUT", "/api/credentials/"+a.AccessKey, map[string]any{"user_name": "gamma"}))
	if d := credGet(root, id); d.UserName != "gamma" {
		t.Fatalf("user_name: %+v", d)
	}
	root.do("GET", "/api/users/gamma", nil).want(http.StatusOK)
	// The key now acts as gamma.
	if _, err := identS3(e, a.AccessKey, a.SecretKey).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("gammas")}); err != nil {
		t.Fatal(err)
	}
	if d := credGet(root, id); d.BucketCount != 1 || d.Buckets[0].Owner != "gamma" {
		t.Fatalf("after move: %+v", d)
	}
	root.do("PUT", "/api/credentials/"+id, map[string]any{}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("PUT", "/api/credentials/"+id, map[string]any{"user_name": ""}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("PUT", "/api/credentials/"+id, map[string]any{"user_name": "bad name"}).wantError(http.StatusBadRequest, "InvalidName")
	root.do("PUT", "/api/credentials/999", map[string]any{"is_active": true}).wantError(http.StatusNotFound, "AccessKeyNotFound")

	ok(root.do("DELETE", "/api/credentials/"+id, nil))
	root.do("GET", "/api/credentials/"+id, nil).wantError(http.StatusNotFound, "AccessKeyNotFound")
	root.do("DELETE", "/api/credentials/"+id, nil).wantError(http.StatusNotFound, "AccessKeyNotFound")
	_, err = identS3(e, a.AccessKey, a.SecretKey).ListBuckets(ctx, &s3.ListBucketsInput{})
	if identS3Code(err) != "InvalidAccessKeyId" {
		t.Fatalf("S3 with a deleted credential: %v", err)
	}
	// The user stays.
	root.do("GET", "/api/users/gamma", nil).want(http.StatusOK)
	root.do("GET", "/api/credentials", nil).want(http.StatusOK).json(&list)
	if len(list.Credentials) != 1 || list.Credentials[0].ID != b.ID {
		t.Fatalf("list after delete: %+v", list)
	}
}

func TestCredentialsNeedAdminRights(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	var c credResult
	root.do("POST", "/api/credentials", map[string]any{"user_name": "target"}).want(http.StatusCreated).json(&c)
	id := strconv.FormatInt(c.ID, 10)
	for _, u := range []*client{e.user("ro", "readonly"), e.user("plain"), e.user("rw", "readwrite")} {
		u.do("POST", "/api/credentials", map[string]any{}).wantError(http.StatusForbidden, "AccessDenied")
		u.do("GET", "/api/credentials", nil).wantError(http.StatusForbidden, "AccessDenied")
		u.do("GET", "/api/credentials/"+id, nil).wantError(http.StatusForbidden, "AccessDenied")
		u.do("PUT", "/api/credentials/"+id, map[string]any{"is_active": false}).wantError(http.StatusForbidden, "AccessDenied")
		u.do("DELETE", "/api/credentials/"+id, nil).wantError(http.StatusForbidden, "AccessDenied")
	}
	if d := credGet(root, id); !d.IsActive || d.UserName != "target" {
		t.Fatalf("changed by the refused calls: %+v", d)
	}
	// Adding a key to an existing user takes admin:CreateAccessKey;
	// creating a user for it takes admin:CreateUser as well.
	root.do("POST", "/api/policies", map[string]any{"name": "key-maker", "document": identAllow("admin:CreateAccessKey", "*")}).
		want(http.StatusCreated)
	km := e.user("keymaker", "key-maker")
	km.do("POST", "/api/credentials", map[string]any{"user_name": "target"}).want(http.StatusCreated)
	km.do("POST", "/api/credentials", map[string]any{"user_name": "brand-new"}).wantError(http.StatusForbidden, "AccessDenied")
	km.do("POST", "/api/credentials", map[string]any{}).wantError(http.StatusForbidden, "AccessDenied")
	root.do("GET", "/api/users/brand-new", nil).wantError(http.StatusNotFound, "UserNotFound")
	// Moving a key to a new user takes admin:CreateUser too.
	root.do("POST", "/api/policies", map[string]any{"name": "key-updater", "document": identAllow("admin:UpdateAccessKey", "*")}).
		want(http.StatusCreated)
	ku := e.user("keyupdater", "key-updater")
	ku.do("PUT", "/api/credentials/"+id, map[string]any{"user_name": "brand-new"}).wantError(http.StatusForbidden, "AccessDenied")
	ku.do("PUT", "/api/credentials/"+id, map[string]any{"user_name": "keymaker"}).want(http.StatusOK)
}
