package mgmtapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/mgmtapi"
	"github.com/cofferstore/coffer/internal/object"
)

// sharesS3 is an aws-sdk-go-v2 client of the env's S3 listener.
func sharesS3(e *env, key, secret string) *s3.Client {
	return s3.New(s3.Options{Region: region, BaseEndpoint: aws.String(e.S3URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""), RetryMaxAttempts: 1})
}

func sharesListInput(bucket string) *s3.ListObjectsV2Input {
	return &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}
}

type sharesView struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`
	BucketName string    `json:"bucket_name"`
	ObjectKey  string    `json:"object_key"`
	Method     string    `json:"method"`
	AccessKey  string    `json:"access_key"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	ExpiresIn  int64     `json:"expires_in"`
}

// sharesFetch uses a link as anyone would: plain net/http, no credentials.
func sharesFetch(t *testing.T, method, url string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body = nil
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func sharesList(c *client, q string) []sharesView {
	var out struct{ URLs []sharesView }
	c.do("GET", "/api/presigned-urls"+q, nil).want(200).json(&out)
	return out.URLs
}

func sharesHas(links []sharesView, id string) bool {
	for _, l := range links {
		if l.ID == id {
			return true
		}
	}
	return false
}

func TestShareLinkLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tasksBucket(t, e, "shr", rootUser)
	tasksPut(t, e, "shr", "dir/hello world.txt", "text/plain", []byte("hello, share"))
	sharer := e.user("sharer", "readwrite")
	key, err := e.iam.CreateAccessKey(ctx, iam.AccessKeyInput{User: "sharer"})
	if err != nil {
		t.Fatal(err)
	}
	other := e.user("other", "readwrite")

	var l sharesView
	before := time.Now().Add(-time.Second)
	sharer.do("POST", "/api/presigned-urls", map[string]any{"bucket_name": "shr", "object_key": "dir/hello world.txt",
		"expires_in": 600}).want(http.StatusCreated).json(&l)
	if l.ID == "" || !strings.HasPrefix(l.URL, e.S3URL+"/shr/dir/hello%20world.txt?") || l.BucketName != "shr" ||
		l.ObjectKey != "dir/hello world.txt" || l.Method != "GET" || l.AccessKey != key.AccessKey ||
		l.CreatedBy != "sharer" || l.ExpiresIn != 600 || l.CreatedAt.Before(before) ||
		l.ExpiresAt.Sub(l.CreatedAt) != 600*time.Second {
		t.Fatalf("created %+v", l)
	}
	if status, body := sharesFetch(t, "GET", l.URL, nil); status != 200 || body != "hello, share" {
		t.Fatalf("GET through the link: %d %q", status, body)
	}

	// Listing: one's own; root and admins see every link.
	if links := sharesList(sharer, ""); len(links) != 1 || links[0].ID != l.ID || links[0].URL != "" {
		t.Fatalf("sharer lists %+v", links)
	}
	if sharesHas(sharesList(other, ""), l.ID) {
		t.Fatal("other lists sharer's link")
	}
	if !sharesHas(sharesList(e.root(), ""), l.ID) || !sharesHas(sharesList(e.user("boss", "admin"), "?created_by=sharer"), l.ID) {
		t.Fatal("root or admin does not list sharer's link")
	}
	if sharesHas(sharesList(e.root(), "?created_by=other"), l.ID) {
		t.Fatal("created_by filter ignored")
	}
	sharer.do("GET", "/api/presigned-urls/"+l.ID, nil).want(200)
	other.do("GET", "/api/presigned-urls/"+l.ID, nil).wantError(403, "AccessDenied")
	e.anon().do("GET", "/api/presigned-urls", nil).wantError(401, "Unauthorized")

	// Revocation: the creator (or an admin) only; then S3 refuses the URL.
	other.do("DELETE", "/api/presigned-urls/"+l.ID, nil).wantError(403, "AccessDenied")
	e.anon().do("DELETE", "/api/presigned-urls/"+l.ID, nil).wantError(401, "Unauthorized")
	sharer.do("DELETE", "/api/presigned-urls/"+l.ID, nil).want(http.StatusNoContent)
	if status, body := sharesFetch(t, "GET", l.URL, nil); status != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Fatalf("GET through a revoked link: %d %s", status, body)
	}
	sharer.do("DELETE", "/api/presigned-urls/"+l.ID, nil).wantError(404, "ShareLinkNotFound")
	sharer.do("GET", "/api/presigned-urls/"+l.ID, nil).wantError(404, "ShareLinkNotFound")
	sharer.do("DELETE", "/api/presigned-urls/nope", nil).wantError(404, "ShareLinkNotFound")
	if sharesHas(sharesList(sharer, ""), l.ID) {
		t.Fatal("revoked link still listed")
	}

	// An upload link, signed by root's key by default, revoked by an admin.
	var up sharesView
	e.root().do("POST", "/api/presigned-urls", map[string]any{"bucket_name": "shr", "object_key": "up.bin", "method": "put"}).
		want(http.StatusCreated).json(&up)
	if up.AccessKey != rootUser || up.Method != "PUT" || up.ExpiresIn != 3600 {
		t.Fatalf("root's upload link %+v", up)
	}
	if status, body := sharesFetch(t, "PUT", up.URL, []byte("uploaded")); status != 200 {
		t.Fatalf("PUT through the link: %d %s", status, body)
	}
	rd, err := e.objects.GetObject(ctx, object.GetInput{Bucket: "shr", Key: "up.bin"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rd)
	rd.Close()
	if string(got) != "uploaded" {
		t.Fatalf("uploaded %q", got)
	}
	e.user("boss2", "admin").do("DELETE", "/api/presigned-urls/"+up.ID, nil).want(http.StatusNoContent)
	if status, _ := sharesFetch(t, "PUT", up.URL, []byte("again")); status != 403 {
		t.Fatalf("PUT through a revoked link: %d", status)
	}

	// A delete link with an explicit (own) key.
	var del sharesView
	sharer.do("POST", "/api/presigned-urls", map[string]any{"bucket_name": "shr", "object_key": "up.bin", "method": "DELETE",
		"access_key": key.AccessKey}).want(http.StatusCreated).json(&del)
	if status, _ := sharesFetch(t, "DELETE", del.URL, nil); status != http.StatusNoContent {
		t.Fatalf("DELETE through the link: %d", status)
	}
	if _, err := e.objects.GetObject(ctx, object.GetInput{Bucket: "shr", Key: "up.bin", HeadOnly: true}); err == nil {
		t.Fatal("the delete link did not delete")
	}
}

func TestShareLinkRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tasksBucket(t, e, "shr", rootUser)
	ro := e.user("ro", "readonly")
	roKey, err := e.iam.CreateAccessKey(ctx, iam.AccessKeyInput{User: "ro"})
	if err != nil {
		t.Fatal(err)
	}
	rw := e.user("rw", "readwrite")
	if _, err := e.iam.CreateAccessKey(ctx, iam.AccessKeyInput{User: "rw", Inactive: true}); err != nil {
		t.Fatal(err)
	}
	ok := map[string]any{"bucket_name": "shr", "object_key": "k"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range ok {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		who    *client
		body   any
		status int
		name   string
	}{
		{e.anon(), ok, 401, "Unauthorized"},
		{ro, with("expires_in", 0), 400, "InvalidRequest"},
		{ro, with("expires_in", 604801), 400, "InvalidRequest"},
		{ro, with("expires_in", -5), 400, "InvalidRequest"},
		{ro, with("method", "POST"), 400, "InvalidRequest"},
		{ro, with("bucket_name", ""), 400, "InvalidRequest"},
		{ro, with("object_key", ""), 400, "InvalidKey"},
		{ro, with("bucket_name", "nosuchbucket"), 404, "NoSuchBucket"},
		{ro, "[1]", 400, "InvalidJSON"},
		// Not allowed to do what the link would do.
		{ro, with("method", "PUT"), 403, "AccessDenied"},
		{ro, with("method", "DELETE"), 403, "AccessDenied"},
		{e.user("nopolicy"), ok, 403, "AccessDenied"},
		// Someone else's key, an unknown one (the same answer), none usable.
		{rw, with("access_key", roKey.AccessKey), 403, "AccessDenied"},
		{rw, with("access_key", "AKIANOSUCHKEY0000000"), 403, "AccessDenied"},
		{rw, with("access_key", rootUser), 403, "AccessDenied"},
		{rw, ok, 409, "NoAccessKey"},
	} {
		tc.who.do("POST", "/api/presigned-urls", tc.body).wantError(tc.status, tc.name)
	}
	// The bounds themselves are fine.
	ro.do("POST", "/api/presigned-urls", with("expires_in", 1)).want(http.StatusCreated)
	var l sharesView
	ro.do("POST", "/api/presigned-urls", with("expires_in", 604800)).want(http.StatusCreated).json(&l)
	if l.ExpiresAt.Sub(l.CreatedAt) != 7*24*time.Hour {
		t.Fatalf("a week's link: %+v", l)
	}
	// Root may sign with a user's key (the link then acts as that user).
	e.root().do("POST", "/api/presigned-urls", with("access_key", roKey.AccessKey)).want(http.StatusCreated)
}

func TestShareLinkNeedsS3Endpoint(t *testing.T) {
	e := newEnv(t, func(c *mgmtapi.Config) { c.S3Endpoint = "" })
	tasksBucket(t, e, "shr", rootUser)
	e.root().do("POST", "/api/presigned-urls", map[string]any{"bucket_name": "shr", "object_key": "k"}).
		wantError(503, "ServiceUnavailable")
}

// ra-hcp's POST /presign keeps its names and answers 200.
func TestShareLinkRaHcpPresign(t *testing.T) {
	e := newEnv(t)
	tasksBucket(t, e, "shr", rootUser)
	tasksPut(t, e, "shr", "f.txt", "text/plain", []byte("via ra-hcp"))
	var out struct {
		URL       string `json:"url"`
		Bucket    string `json:"bucket"`
		Key       string `json:"key"`
		ExpiresIn int64  `json:"expires_in"`
		Method    string `json:"method"`
		ID        string `json:"id"`
	}
	e.root().do("POST", "/api/presign", map[string]any{"bucket": "shr", "key": "f.txt"}).want(200).json(&out)
	if out.Bucket != "shr" || out.Key != "f.txt" || out.ExpiresIn != 3600 || out.Method != "get_object" || out.ID == "" {
		t.Fatalf("presign answered %+v", out)
	}
	if status, body := sharesFetch(t, "GET", out.URL, nil); status != 200 || body != "via ra-hcp" {
		t.Fatalf("GET through the link: %d %q", status, body)
	}
	e.root().do("POST", "/api/presign", map[string]any{"bucket": "shr", "key": "f.txt", "method": "head_object"}).
		wantError(400, "InvalidRequest")
	e.root().do("POST", "/api/presign", map[string]any{"bucket": "shr", "key": "f.txt", "expires_in": 604801}).
		wantError(400, "InvalidRequest")
	e.anon().do("POST", "/api/presign", map[string]any{"bucket": "shr", "key": "f.txt"}).wantError(401, "Unauthorized")
}

type sharesParityUser struct {
	name string
	c    *client
}

// sharesParityUsers creates users that own a bucket (made after them),
// read, write, or have no policy and own nothing.
func sharesParityUsers(e *env) []sharesParityUser {
	var out []sharesParityUser
	for _, u := range []struct {
		name     string
		policies []string
	}{{"owner", nil}, {"reader", []string{"readonly"}}, {"writer", []string{"writeonly"}}, {"nobody", nil}} {
		out = append(out, sharesParityUser{u.name, e.user(u.name, u.policies...)})
	}
	return out
}

// Permission parity: creating a link for an action is refused exactly
// when S3 refuses the action itself to the same user.
func TestShareLinkPermissionParity(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	users := sharesParityUsers(e)
	tasksBucket(t, e, "parity", "owner")
	tasksPut(t, e, "parity", "obj", "text/plain", []byte("x"))
	for _, u := range users {
		c := u.c
		k, err := e.iam.CreateAccessKey(ctx, iam.AccessKeyInput{User: u.name})
		if err != nil {
			t.Fatal(err)
		}
		sdk := sharesS3(e, k.AccessKey, k.Secret)
		_, getErr := sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("parity"), Key: aws.String("obj")})
		_, putErr := sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("parity"), Key: aws.String("obj"), Body: strings.NewReader("x")})
		for method, s3err := range map[string]error{"GET": getErr, "PUT": putErr} {
			r := c.do("POST", "/api/presigned-urls", map[string]any{"bucket_name": "parity", "object_key": "obj", "method": method})
			if (s3err == nil) != (r.Status == http.StatusCreated) {
				t.Errorf("%s %s: S3 err %v, /api %d %s", u.name, method, s3err, r.Status, r.Body)
			}
		}
	}
}

// FuzzShareLinkRequest: whatever the body, creating a link answers 201
// or a client error, never a server error.
func FuzzShareLinkRequest(f *testing.F) {
	e := newEnv(f)
	if err := e.objects.CreateBucket(context.Background(), "fuzz", rootUser, region, object.BucketOptions{}); err != nil {
		f.Fatal(err)
	}
	root := e.root()
	f.Add(`{"bucket_name":"fuzz","object_key":"a/b c","method":"PUT","expires_in":60}`)
	f.Add(`{"bucket_name":"fuzz","object_key":"k","expires_in":604801}`)
	f.Add(`{"bucket_name":"FB","object_key":"\u0000","access_key":"x/y"}`)
	f.Add(`{"bucket":"fuzz","key":"k","method":"put_object"}`)
	f.Fuzz(func(t *testing.T, body string) {
		c := sharesFuzzClient(t, root)
		for _, path := range []string{"/api/presigned-urls", "/api/presign"} {
			if r := c.do("POST", path, body); r.Status >= 500 {
				t.Fatalf("%s %q: %d %s", path, body, r.Status, r.Body)
			}
		}
	})
}

// sharesFuzzClient rebinds c to the fuzz target's t (the harness reports
// through its env's t, and a fuzz target may not use f's).
func sharesFuzzClient(t *testing.T, c *client) *client {
	e := *c.e
	e.t = t
	cc := *c
	cc.e = &e
	return &cc
}
