package mgmtapi_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/mgmtapi"
	"github.com/cofferstore/coffer/internal/object"
)

// Tests for the gaps a review of the management API found: each fails
// without its fix.

// gapsCredentials is ra-hcp's S3CredentialsResponse plus Coffer's fields.
type gapsCredentials struct {
	AccessKeyID     *string `json:"access_key_id"`
	SecretAccessKey *string `json:"secret_access_key"`
	Username        string  `json:"username"`
	Tenant          *string `json:"tenant"`
	EndpointURL     *string `json:"endpoint_url"`
	Region          string  `json:"region"`
	AccessKeys      []struct {
		ID          int64  `json:"id"`
		AccessKeyID string `json:"access_key_id"`
	} `json:"access_keys"`
	Message string `json:"message"`
}

func gapsGetCredentials(c *client) (gapsCredentials, map[string]any) {
	c.e.t.Helper()
	r := c.do("GET", "/api/auth/credentials", nil).want(http.StatusOK)
	var out gapsCredentials
	r.json(&out)
	return out, r.obj()
}

func gapsLoginWithKey(e *env, key, secret string) *client {
	e.t.Helper()
	var res struct{ Token string }
	e.anon().do("POST", "/api/auth/login", map[string]string{"accessKey": key, "secretKey": secret}).want(http.StatusOK).json(&res)
	c := e.anon()
	c.bearer = res.Token
	return c
}

// TestGapsAuthCredentials: ra-hcp's GET /credentials, as GET
// /api/auth/credentials: the caller's own S3 credentials, which work
// against the endpoint it names.
func TestGapsAuthCredentials(t *testing.T) {
	e := newEnv(t)
	x := context.Background()
	e.anon().do("GET", "/api/auth/credentials", nil).wantError(http.StatusUnauthorized, "Unauthorized")

	// A session that logged in with an access key: that key and secret.
	if _, err := e.iam.CreateUser(x, iam.UserInput{Name: "kate"}); err != nil {
		t.Fatal(err)
	}
	k, err := e.iam.CreateAccessKey(x, iam.AccessKeyInput{User: "kate"})
	if err != nil {
		t.Fatal(err)
	}
	got, raw := gapsGetCredentials(gapsLoginWithKey(e, k.AccessKey, k.Secret))
	if got.AccessKeyID == nil || *got.AccessKeyID != k.AccessKey || got.SecretAccessKey == nil || *got.SecretAccessKey != k.Secret ||
		got.Username != "kate" || got.EndpointURL == nil || *got.EndpointURL != e.S3URL || got.Region != region || got.Tenant != nil {
		t.Fatalf("access-key session: %+v", raw)
	}
	for _, f := range []string{"access_key_id", "secret_access_key", "username", "tenant", "endpoint_url"} {
		if _, ok := raw[f]; !ok {
			t.Errorf("ra-hcp's field %s is missing: %v", f, raw)
		}
	}
	if _, ok := raw["access_keys"]; ok {
		t.Errorf("access_keys listed beside a secret: %v", raw)
	}
	// They work: the answer is enough to configure an S3 client.
	s3c := bucketsSDK(e, *got.AccessKeyID, *got.SecretAccessKey)
	s3c = s3.New(s3c.Options(), func(o *s3.Options) { o.BaseEndpoint = got.EndpointURL; o.Region = got.Region })
	if _, err := s3c.ListBuckets(x, &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("the returned credentials do not work: %v", err)
	}

	// Root, logged in with its password: root's key and secret.
	got, raw = gapsGetCredentials(e.root())
	if got.AccessKeyID == nil || *got.AccessKeyID != rootUser || got.SecretAccessKey == nil || *got.SecretAccessKey != rootSecret {
		t.Fatalf("root session: %+v", raw)
	}

	// A user logged in with a password: its usable keys, no secret.
	lou := e.user("lou")
	active, err := e.iam.CreateAccessKey(x, iam.AccessKeyInput{User: "lou"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.iam.CreateAccessKey(x, iam.AccessKeyInput{User: "lou", Inactive: true}); err != nil {
		t.Fatal(err)
	}
	got, raw = gapsGetCredentials(lou)
	if got.AccessKeyID != nil || got.SecretAccessKey != nil || got.Message == "" || len(got.AccessKeys) != 1 ||
		got.AccessKeys[0].AccessKeyID != active.AccessKey || got.AccessKeys[0].ID != active.ID || got.Username != "lou" {
		t.Fatalf("password session: %+v", raw)
	}
	if strings.Contains(string(lou.do("GET", "/api/auth/credentials", nil).Body), active.Secret) {
		t.Fatal("a password session was shown a secret")
	}
	// Without keys: an empty list.
	if got, raw = gapsGetCredentials(e.user("nokeys")); got.AccessKeys == nil || len(got.AccessKeys) != 0 || got.SecretAccessKey != nil {
		t.Fatalf("user without keys: %+v", raw)
	}

	// An API token, even root's, is never handed a secret.
	var tok struct{ Token string }
	e.root().do("POST", "/api/tokens", map[string]any{"name": "ci"}).want(http.StatusCreated).json(&tok)
	tc := e.anon()
	tc.bearer = tok.Token
	if got, raw = gapsGetCredentials(tc); got.SecretAccessKey != nil || got.AccessKeyID != nil || got.Message == "" {
		t.Fatalf("root's API token: %+v", raw)
	}
}

// TestGapsCreateBucketOwnerID: seed 003's required owner_id is accepted
// when it names the caller, and refused otherwise.
func TestGapsCreateBucketOwnerID(t *testing.T) {
	e := newEnv(t)
	x := context.Background()
	alice := e.user("alice")
	k, err := e.iam.CreateAccessKey(x, iam.AccessKeyInput{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	e.user("bob")
	bk, err := e.iam.CreateAccessKey(x, iam.AccessKeyInput{User: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	for i, owner := range []any{"alice", iam.CanonicalID("alice"), k.AccessKey, k.ID, fmt.Sprint(k.ID)} {
		name := fmt.Sprintf("owned-%d", i)
		alice.do("POST", "/api/buckets", map[string]any{"name": name, "owner_id": owner, "region": region}).want(http.StatusCreated)
		b, err := e.objects.Bucket(x, name)
		if err != nil || b.Owner != "alice" {
			t.Fatalf("owner_id %v: bucket %+v, %v", owner, b, err)
		}
	}
	for _, owner := range []any{"bob", iam.CanonicalID("bob"), bk.AccessKey, bk.ID, fmt.Sprint(bk.ID), 0, -1, 1.5, 999999, "nobody", true, []string{"alice"}} {
		alice.do("POST", "/api/buckets", map[string]any{"name": "refused", "owner_id": owner}).wantError(http.StatusBadRequest, "InvalidRequest")
	}
	alice.do("POST", "/api/buckets", map[string]any{"name": "refused", "owner": "bob"}).wantError(http.StatusBadRequest, "InvalidRequest")
	if _, err := e.objects.Bucket(x, "refused"); err == nil {
		t.Fatal("a refused owner_id created the bucket")
	}
	// An empty owner_id names nobody else: the caller owns the bucket.
	alice.do("POST", "/api/buckets", map[string]any{"name": "empty-owner", "owner_id": ""}).want(http.StatusCreated)
	// Root is named by its name (its access key) or canonical id.
	root := e.root()
	root.do("POST", "/api/buckets", map[string]any{"name": "root-named", "owner_id": rootUser}).want(http.StatusCreated)
	root.do("POST", "/api/buckets", map[string]any{"name": "root-canon", "owner_id": iam.CanonicalID(rootUser)}).want(http.StatusCreated)
	root.do("POST", "/api/buckets", map[string]any{"name": "root-other", "owner_id": "alice"}).wantError(http.StatusBadRequest, "InvalidRequest")
	root.do("POST", "/api/buckets", map[string]any{"name": "root-other", "owner_id": k.ID}).wantError(http.StatusBadRequest, "InvalidRequest")
}

// TestGapsHumanSizesAgree: every human-readable size is written one way,
// seed 003's ("1.5 MB" for 1.5 MiB), the way /api/stats writes it.
func TestGapsHumanSizesAgree(t *testing.T) {
	e := newEnv(t)
	x := context.Background()
	root := e.root()
	if _, err := e.iam.CreateUser(x, iam.UserInput{Name: "sizer"}); err != nil {
		t.Fatal(err)
	}
	k, err := e.iam.CreateAccessKey(x, iam.AccessKeyInput{User: "sizer"})
	if err != nil {
		t.Fatal(err)
	}
	objectsBucket(e, "sized", "sizer")
	objectsPut(e, "sized", "f.bin", make([]byte, 1536<<10), object.Attrs{})
	const want = "1.5 MB"

	var stats struct {
		Human string `json:"total_storage_human"`
	}
	root.do("GET", "/api/stats", nil).want(http.StatusOK).json(&stats)
	var detail struct {
		SizeHuman string `json:"size_human"`
	}
	root.do("GET", "/api/objects/detail/sized/"+b64("f.bin"), nil).want(http.StatusOK).json(&detail)
	var bucket struct {
		Human   string `json:"total_size_human"`
		Camel   string `json:"totalSizeHuman"`
		Usage   struct{ BytesHuman string }
		Objects []struct {
			SizeHuman string `json:"size_human"`
		}
	}
	root.do("GET", "/api/buckets/sized", nil).want(http.StatusOK).json(&bucket)
	var listing struct {
		Objects []struct {
			SizeHuman string `json:"size_human"`
		}
	}
	root.do("GET", "/api/buckets/sized/objects", nil).want(http.StatusOK).json(&listing)
	var cred struct {
		Buckets []struct {
			Human string `json:"total_size_human"`
		}
	}
	root.do("GET", "/api/credentials/"+k.AccessKey, nil).want(http.StatusOK).json(&cred)
	got := map[string]string{"stats": stats.Human, "detail": detail.SizeHuman, "bucket": bucket.Human, "bucket camel": bucket.Camel,
		"bucket usage": bucket.Usage.BytesHuman}
	if len(bucket.Objects) == 1 {
		got["bucket objects"] = bucket.Objects[0].SizeHuman
	}
	if len(listing.Objects) == 1 {
		got["listing"] = listing.Objects[0].SizeHuman
	}
	if len(cred.Buckets) == 1 {
		got["credential"] = cred.Buckets[0].Human
	}
	if len(got) != 8 {
		t.Fatalf("missing sizes: %v", got)
	}
	for where, h := range got {
		if h != want {
			t.Errorf("%s shows %q, want %q", where, h, want)
		}
	}
}

// gapsVersions counts key's versions and delete markers.
func gapsVersions(t *testing.T, e *env, bucket, key string) (versions, markers int) {
	t.Helper()
	page, err := e.objects.ListObjectVersions(context.Background(), bucket, meta.VersionListOptions{Prefix: key})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range page.Versions {
		if v.Key != key {
			continue
		}
		if v.DeleteMarker {
			markers++
		} else {
			versions++
		}
	}
	return versions, markers
}

// TestGapsBulkDeleteOnce: a key listed twice, or listed and also inside a
// listed folder (or in two listed folders), is deleted once and reported
// once: in a versioned bucket it gets one delete marker. Both routes.
func TestGapsBulkDeleteOnce(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	i := 0
	for _, route := range []string{"/api/objects/%s/delete", "/api/buckets/%s/objects/delete"} {
		for _, versioned := range []bool{true, false} {
			i++
			bucket := fmt.Sprintf("dup-%d", i)
			objectsBucket(e, bucket, rootUser)
			if versioned {
				if err := e.objects.SetVersioning(context.Background(), bucket, meta.VersioningEnabled); err != nil {
					t.Fatal(err)
				}
			}
			objectsPutMany(e, bucket, []string{"z", "a/x", "a/y", "a/b/w", "keep"})
			var out struct {
				Deleted []string
				Errors  []struct{ Key string }
			}
			root.do("POST", fmt.Sprintf(route, bucket), map[string]any{"keys": []string{"z", "z", "a/x", "a/", "a/x", "a/b/", "a/b/w", "", ""}}).
				want(http.StatusOK).json(&out)
			slices.Sort(out.Deleted)
			if want := []string{"a/b/w", "a/x", "a/y", "z"}; !slices.Equal(out.Deleted, want) {
				t.Fatalf("%s, versioned=%v: deleted %v, want %v", route, versioned, out.Deleted, want)
			}
			if len(out.Errors) != 1 || out.Errors[0].Key != "" {
				t.Fatalf("%s, versioned=%v: errors %+v, want the empty key once", route, versioned, out.Errors)
			}
			for _, k := range []string{"z", "a/x", "a/y", "a/b/w"} {
				wantMarkers := 0
				if versioned {
					wantMarkers = 1
				}
				if v, m := gapsVersions(t, e, bucket, k); m != wantMarkers || (versioned && v != 1) || (!versioned && v != 0) {
					t.Errorf("%s, versioned=%v, %s: %d versions and %d delete markers", route, versioned, k, v, m)
				}
			}
			if !objectsExists(e, bucket, "keep") {
				t.Fatal("an unlisted key was deleted")
			}
		}
	}
}

// TestGapsUploadProgressRetry: a stream opened before the same key is
// uploaded again (same user, default progress id, the previous attempt's
// record still there) follows the new attempt instead of ending at once
// on the previous one's end.
func TestGapsUploadProgressRetry(t *testing.T) {
	// The stream waits this long for the new attempt: generous, so that
	// a slow machine cannot make it give up before the upload starts.
	t.Cleanup(mgmtapi.SetProgressSettle(time.Minute))
	e := newEnv(t)
	root := e.root()
	objectsBucket(e, "retry", rootUser)
	key := "again.bin"
	enc := b64(key)
	objectsUpload(root, "retry", key, "", make([]byte, 100)).want(http.StatusOK)

	watch := func() *objectsSSE {
		sse, res := objectsOpenSSE(t, e.URL+"/api/objects/upload-progress/"+enc, http.Header{"Authorization": {"Bearer " + root.bearer}})
		if sse == nil {
			t.Fatalf("progress stream: %d", res.StatusCode)
		}
		if ev, ok := sse.next(t); !ok || ev.Status != "idle" {
			t.Fatalf("a stream opened before the retry starts with %+v (ok=%v), want idle", ev, ok)
		}
		return sse
	}
	sse := watch()
	const size = 300 << 10
	objectsUpload(root, "retry", key, "", make([]byte, size)).want(http.StatusOK)
	var last objectsEvent
	for {
		ev, ok := sse.next(t)
		if !ok {
			break
		}
		last = ev
	}
	sse.close()
	if last.Status != "completed" || last.Loaded != size {
		t.Fatalf("the stream ended on %+v, want the retry's completion (%d bytes)", last, size)
	}

	// A retry refused before its body is read (not a form) still ends the
	// stream, with "failed", rather than leaving it idle.
	sse = watch()
	root.header.Set("Content-Type", "text/plain")
	root.do("POST", "/api/objects/upload/retry/"+enc, "plain").wantError(http.StatusUnsupportedMediaType, "UnsupportedMediaType")
	root.header.Del("Content-Type")
	last = objectsEvent{}
	for {
		ev, ok := sse.next(t)
		if !ok {
			break
		}
		last = ev
	}
	sse.close()
	if last.Status != "failed" {
		t.Fatalf("the stream ended on %+v, want failed", last)
	}
}

// TestGapsUploadVersionID: the upload answer names a version id only when
// there is one, as S3 omits x-amz-version-id for the null version and
// view omits metadata.versionId.
func TestGapsUploadVersionID(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	objectsBucket(e, "plain", rootUser)
	objectsBucket(e, "kept", rootUser)
	if err := e.objects.SetVersioning(context.Background(), "kept", meta.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"plain", "kept"} {
		up := objectsUpload(root, b, "k.txt", "text/plain", []byte("hello")).want(http.StatusOK).obj()
		var view struct {
			Metadata map[string]any `json:"metadata"`
		}
		root.do("GET", "/api/objects/view/"+b+"/"+b64("k.txt"), nil).want(http.StatusOK).json(&view)
		vid, inUpload := up["versionId"]
		viewVid, inView := view.Metadata["versionId"]
		if inUpload != inView || vid != viewVid {
			t.Fatalf("%s: upload versionId %v (%v), view %v (%v)", b, vid, inUpload, viewVid, inView)
		}
		if (b == "kept") != inUpload || vid == "null" {
			t.Fatalf("%s: upload answer %v", b, up)
		}
	}
}

// TestGapsAbortUploadKeyDecoding: the abort route reads ?key= as every
// other route reads an encoded key (keys.go's decodeKey): standard base64
// as btoa() writes it is accepted, and a key that is not UTF-8 is refused.
func TestGapsAbortUploadKeyDecoding(t *testing.T) {
	e := newEnv(t)
	x := context.Background()
	alice := e.user("alice")
	objectsBucket(e, "parts", "alice")
	key := "up/??>?"
	std := base64.StdEncoding.EncodeToString([]byte(key))
	if !strings.ContainsAny(std, "+/") {
		t.Fatalf("%q encodes as %q, which the test needs to hold + or /", key, std)
	}
	u, err := e.objects.CreateUpload(x, object.CreateUploadInput{Bucket: "parts", Key: key, Owner: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/buckets/parts/uploads/" + u.ID + "?key="
	alice.do("DELETE", base+url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte{0xff, 0xfe})), nil).wantError(http.StatusBadRequest, "InvalidKey")
	alice.do("DELETE", base+url.QueryEscape(std), nil).want(http.StatusNoContent)
	alice.do("DELETE", base+url.QueryEscape(std), nil).wantError(http.StatusNotFound, "NoSuchUpload")
}

// TestGapsBucketAnswers: where S4 documents no answer, the bucket routes
// answer as ra-hcp documents them (200 and a status instead of 204), with
// our fields kept beside.
func TestGapsBucketAnswers(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	root.do("POST", "/api/buckets", map[string]any{"name": "answers"}).want(http.StatusCreated)

	v := root.do("PUT", "/api/buckets/answers/versioning", map[string]any{"status": "Enabled"}).want(http.StatusOK).obj()
	if v["status"] != "updated" || v["versioning"] != "Enabled" {
		t.Fatalf("PUT versioning: %v", v)
	}
	if g := root.do("GET", "/api/buckets/answers/versioning", nil).want(http.StatusOK).obj(); g["status"] != "Enabled" {
		t.Fatalf("GET versioning: %v", g)
	}
	acl := root.do("PUT", "/api/buckets/answers/acl", map[string]any{"acl": "private"}).want(http.StatusOK).obj()
	if acl["status"] != "updated" || acl["grants"] == nil || acl["owner"] == nil {
		t.Fatalf("PUT acl: %v", acl)
	}
	rules := []map[string]any{{"allowedOrigins": []string{"https://app.example"}, "allowedMethods": []string{"GET"}}}
	cors := root.do("PUT", "/api/buckets/answers/cors", map[string]any{"cors_rules": rules}).want(http.StatusOK).obj()
	if cors["status"] != "updated" || cors["cors_rules"] == nil || cors["rules"] == nil {
		t.Fatalf("PUT cors: %v", cors)
	}
	if d := root.do("DELETE", "/api/buckets/answers/cors", nil).want(http.StatusOK).obj(); len(d) != 1 || d["status"] != "deleted" {
		t.Fatalf("DELETE cors: %v", d)
	}
	if d := root.do("DELETE", "/api/buckets/answers", nil).want(http.StatusOK).obj(); len(d) != 2 || d["status"] != "deleted" || d["bucket"] != "answers" {
		t.Fatalf("DELETE bucket: %v", d)
	}
	root.do("DELETE", "/api/buckets/answers", nil).wantError(http.StatusNotFound, "NoSuchBucket")
}

// FuzzCreateBucketOwnerID sends arbitrary owner_id values (any JSON, or
// not JSON) to POST /api/buckets: the answer is a client error or a
// bucket the caller owns, never a server error.
func FuzzCreateBucketOwnerID(f *testing.F) {
	e := newEnv(f)
	x := context.Background()
	caller := e.user("fuzzer")
	k, err := e.iam.CreateAccessKey(x, iam.AccessKeyInput{User: "fuzzer"})
	if err != nil {
		f.Fatal(err)
	}
	e.user("other")
	for _, s := range []string{`"fuzzer"`, `"` + iam.CanonicalID("fuzzer") + `"`, `"` + k.AccessKey + `"`, fmt.Sprint(k.ID),
		`"` + fmt.Sprint(k.ID) + `"`, `"other"`, `1e400`, `-0`, `9223372036854775808`, `1.0`, `null`, `{}`, `[1]`, `"\u0000"`, `tru`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, ownerID []byte) {
		body := `{"name":"fuzz-owned","owner_id":` + string(ownerID) + `}`
		req, err := http.NewRequest("POST", e.URL+"/api/buckets", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+caller.bearer)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		switch {
		case res.StatusCode == http.StatusCreated:
			b, err := e.objects.Bucket(x, "fuzz-owned")
			if err != nil || b.Owner != "fuzzer" {
				t.Fatalf("owner_id %s: bucket %+v, %v", ownerID, b, err)
			}
			if err := e.objects.DeleteBucket(x, "fuzz-owned"); err != nil {
				t.Fatal(err)
			}
		case res.StatusCode != http.StatusBadRequest:
			t.Fatalf("owner_id %s: status %d", ownerID, res.StatusCode)
		}
	})
}
