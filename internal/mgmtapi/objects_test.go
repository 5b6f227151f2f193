package mgmtapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// objectsBucket creates a bucket owned by owner straight through the
// object service (independent of the bucket routes).
func objectsBucket(e *env, name, owner string) {
	e.t.Helper()
	if err := e.objects.CreateBucket(context.Background(), name, owner, region, object.BucketOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// objectsPut stores an object through the object service.
func objectsPut(e *env, bucket, key string, body []byte, attrs object.Attrs) {
	e.t.Helper()
	_, err := e.objects.PutObject(context.Background(), object.PutInput{Bucket: bucket, Key: key,
		Body: bytes.NewReader(body), Size: int64(len(body)), Attrs: attrs})
	if err != nil {
		e.t.Fatalf("putting %s/%s: %v", bucket, key, err)
	}
}

// objectsPutMany stores keys concurrently (the store groups the commits).
func objectsPutMany(e *env, bucket string, keys []string) {
	e.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(keys))
	sem := make(chan struct{}, 32)
	for _, k := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, err := e.objects.PutObject(context.Background(), object.PutInput{Bucket: bucket, Key: k,
				Body: strings.NewReader("v:" + k), Size: int64(len("v:" + k))})
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		e.t.Fatal(err)
	}
}

// objectsExists reports whether bucket/key has a current version.
func objectsExists(e *env, bucket, key string) bool {
	e.t.Helper()
	rd, err := e.objects.GetObject(context.Background(), object.GetInput{Bucket: bucket, Key: key, HeadOnly: true})
	if errors.Is(err, object.ErrNoSuchKey) {
		return false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	rd.Close()
	return true
}

// objectsRead returns an object's bytes through the object service.
func objectsRead(e *env, bucket, key string) []byte {
	e.t.Helper()
	rd, err := e.objects.GetObject(context.Background(), object.GetInput{Bucket: bucket, Key: key})
	if err != nil {
		e.t.Fatalf("reading %s/%s: %v", bucket, key, err)
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	if err != nil {
		e.t.Fatal(err)
	}
	return data
}

// objectsForm builds a multipart/form-data body with one file part.
func objectsForm(t testing.TB, name, ctype string, data []byte) (body []byte, contentType string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="file"; filename=%q`, name)}
	if ctype != "" {
		h["Content-Type"] = []string{ctype}
	}
	pw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(data)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// objectsUpload uploads data through the API.
func objectsUpload(c *client, bucket, key, ctype string, data []byte) *resp {
	c.e.t.Helper()
	body, ct := objectsForm(c.e.t, "f", ctype, data)
	old := c.header.Get("Content-Type")
	c.header.Set("Content-Type", ct)
	defer c.header.Set("Content-Type", old)
	return c.do("POST", "/api/objects/upload/"+bucket+"/"+b64(key), body)
}

type objectsListing struct {
	Objects []struct {
		Key          string
		Size         int64
		ETag         string
		LastModified string
		StorageClass string
	} `json:"objects"`
	Prefixes []struct {
		Prefix string
	} `json:"prefixes"`
	IsTruncated           bool   `json:"isTruncated"`
	NextContinuationToken string `json:"nextContinuationToken"`
	Filter                *struct {
		Q             string `json:"q"`
		Mode          string `json:"mode"`
		AutoBroadened bool   `json:"autoBroadened"`
		Matches       struct {
			Objects  map[string][][2]int `json:"objects"`
			Prefixes map[string][][2]int `json:"prefixes"`
		} `json:"matches"`
		ScanPages     int  `json:"scanPages"`
		ScannedKeys   int  `json:"scannedKeys"`
		PartialResult bool `json:"partialResult"`
	} `json:"filter"`
}

func (l objectsListing) keys() []string {
	var ks []string
	for _, o := range l.Objects {
		ks = append(ks, o.Key)
	}
	return ks
}

func (l objectsListing) prefixes() []string {
	var ps []string
	for _, p := range l.Prefixes {
		ps = append(ps, p.Prefix)
	}
	return ps
}

func objectsList(c *client, bucket string, q url.Values) objectsListing {
	c.e.t.Helper()
	var l objectsListing
	c.do("GET", "/api/objects/"+bucket+"?"+q.Encode(), nil).want(http.StatusOK).json(&l)
	return l
}

func TestObjectsList(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	objectsBucket(e, "lst", rootUser)
	keys := []string{"a.txt", "b/1.txt", "b/2.txt", "b/c/3.txt", "d/", "z.bin"}
	for _, k := range keys {
		objectsPut(e, "lst", k, []byte("x"+k), object.Attrs{})
	}

	l := objectsList(root, "lst", nil)
	if got := strings.Join(l.keys(), ","); got != "a.txt,z.bin" {
		t.Fatalf("root level objects %q", got)
	}
	if got := strings.Join(l.prefixes(), ","); got != "b/,d/" {
		t.Fatalf("root level prefixes %q", got)
	}
	if l.IsTruncated || l.Objects[0].Size != int64(len("xa.txt")) || !strings.HasPrefix(l.Objects[0].ETag, `"`) ||
		l.Objects[0].StorageClass != "STANDARD" || l.Objects[0].LastModified == "" {
		t.Fatalf("listing %+v", l)
	}

	// The prefix in the path, Base64url-encoded as S4 documents.
	var byPath objectsListing
	root.do("GET", "/api/objects/lst/"+b64("b/"), nil).want(http.StatusOK).json(&byPath)
	if got := strings.Join(byPath.keys(), ",") + "|" + strings.Join(byPath.prefixes(), ","); got != "b/1.txt,b/2.txt|b/c/" {
		t.Fatalf("listing of b/: %q", got)
	}
	// A flat listing, paged one key at a time.
	var all []string
	q := url.Values{"delimiter": {""}, "maxKeys": {"1"}}
	for i := 0; ; i++ {
		l := objectsList(root, "lst", q)
		all = append(all, l.keys()...)
		if !l.IsTruncated {
			break
		}
		if i > len(keys) || l.NextContinuationToken == "" {
			t.Fatalf("paging does not end: %+v", l)
		}
		q.Set("continuationToken", l.NextContinuationToken)
	}
	if strings.Join(all, ",") != strings.Join(keys, ",") {
		t.Fatalf("paged flat listing %q", all)
	}

	root.do("GET", "/api/objects/lst?maxKeys=0", nil).wantError(http.StatusBadRequest, "InvalidArgument")
	root.do("GET", "/api/objects/lst?maxKeys=x", nil).wantError(http.StatusBadRequest, "InvalidArgument")
	root.do("GET", "/api/objects/lst?continuationToken=%21%21", nil).wantError(http.StatusBadRequest, "InvalidContinuationToken")
	root.do("GET", "/api/objects/lst/%21notbase64", nil).wantError(http.StatusBadRequest, "InvalidKey")
	root.do("GET", "/api/objects/lst?mode=sideways&q=a", nil).wantError(http.StatusBadRequest, "InvalidArgument")
	root.do("GET", "/api/objects/nosuchbucket", nil).wantError(http.StatusNotFound, "NoSuchBucket")
	e.anon().do("GET", "/api/objects/lst", nil).wantError(http.StatusUnauthorized, "Unauthorized")
	e.user("stranger").do("GET", "/api/objects/lst", nil).wantError(http.StatusForbidden, "AccessDenied")

	// The seed-003 alias lists flat, in its snake_case shape.
	var seed struct {
		Objects []struct {
			Key         string `json:"key"`
			SizeHuman   string `json:"size_human"`
			IsMultipart bool   `json:"is_multipart"`
		} `json:"objects"`
	}
	root.do("GET", "/api/buckets/lst/objects?prefix=b/", nil).want(http.StatusOK).json(&seed)
	if len(seed.Objects) != 3 || seed.Objects[2].Key != "b/c/3.txt" || seed.Objects[0].SizeHuman == "" {
		t.Fatalf("seed listing %+v", seed)
	}
}

// TestObjectsListPrefixCondition: a user allowed to list only under a
// prefix (s3:prefix condition) gets that prefix and nothing else.
func TestObjectsListPrefixCondition(t *testing.T) {
	e := newEnv(t)
	objectsBucket(e, "cond", rootUser)
	objectsPut(e, "cond", "home/alice/a", []byte("a"), object.Attrs{})
	objectsPut(e, "cond", "home/bob/b", []byte("b"), object.Attrs{})
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::cond",
		"Condition":{"StringLike":{"s3:prefix":["home/alice/*"]}}}]}`
	if _, err := e.iam.CreatePolicy(context.Background(), "alice-home", []byte(doc)); err != nil {
		t.Fatal(err)
	}
	alice := e.user("alice", "alice-home")
	l := objectsList(alice, "cond", url.Values{"prefix": {"home/alice/"}})
	if strings.Join(l.keys(), ",") != "home/alice/a" {
		t.Fatalf("alice's listing %q", l.keys())
	}
	alice.do("GET", "/api/objects/cond?prefix=home/bob/", nil).wantError(http.StatusForbidden, "AccessDenied")
	alice.do("GET", "/api/objects/cond", nil).wantError(http.StatusForbidden, "AccessDenied")
}

// TestObjectsAwkwardKeys: keys a path router would clean, split or
// decode survive upload, listing, view, download, detail and delete.
func TestObjectsAwkwardKeys(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	objectsBucket(e, "odd", rootUser)
	keys := []string{"with space.txt", "ünïcødé/файл 名.txt", "a//b", "../x", "./y", "p%41q", "q?r#s&t=u", "+/=", "dir/", "emoji 🙂.txt"}
	for _, k := range keys {
		data := []byte("content of " + k)
		objectsUpload(root, "odd", k, "text/plain", data).want(http.StatusOK)
		r := root.do("GET", "/api/objects/download/odd/"+b64(k), nil).want(http.StatusOK)
		if !bytes.Equal(r.Body, data) {
			t.Fatalf("%q: downloaded %q", k, r.Body)
		}
		var d struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
		}
		root.do("GET", "/api/objects/detail/odd/"+b64(k), nil).want(http.StatusOK).json(&d)
		if d.Key != k || d.Size != int64(len(data)) {
			t.Fatalf("%q: detail %+v", k, d)
		}
		var v struct {
			Metadata struct{ Key string }
			Preview  struct{ Content string }
		}
		root.do("GET", "/api/objects/view/odd/"+b64(k), nil).want(http.StatusOK).json(&v)
		if v.Metadata.Key != k || v.Preview.Content != string(data) {
			t.Fatalf("%q: view %+v", k, v)
		}
	}
	l := objectsList(root, "odd", url.Values{"delimiter": {""}})
	if len(l.Objects) != len(keys) {
		t.Fatalf("listed %q", l.keys())
	}
	// Padded and standard base64 decode to the same key.
	k := "ünïcødé/файл 名.txt"
	std := strings.NewReplacer("-", "+", "_", "/").Replace(b64(k))
	for len(std)%4 != 0 {
		std += "="
	}
	root.do("GET", "/api/objects/download/odd/"+url.PathEscape(std), nil).want(http.StatusOK)
	root.do("GET", "/api/objects/download/odd/"+b64(k)+"===", nil).wantError(http.StatusBadRequest, "InvalidKey")
	root.do("GET", "/api/objects/download/odd/"+b64(string([]byte{0xff, 0xfe})), nil).wantError(http.StatusBadRequest, "InvalidKey")
	for _, k := range keys {
		if k == "dir/" {
			continue // a folder: deleting it is TestObjectsDeleteFolder's
		}
		root.do("DELETE", "/api/objects/odd/"+b64(k), nil).want(http.StatusOK)
		if objectsExists(e, "odd", k) {
			t.Fatalf("%q survived its delete", k)
		}
	}
}

func TestObjectsDetail(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root := e.root()
	objectsBucket(e, "det", rootUser)
	if err := e.objects.SetVersioning(ctx, "det", meta.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	objectsPut(e, "det", "doc.txt", []byte("one"), object.Attrs{})
	objectsPut(e, "det", "doc.txt", []byte("two!"), object.Attrs{ContentType: "text/plain",
		UserMeta: map[string]string{"category": "docs"}, Tags: map[string]string{"team": "blue"}})
	objectsPut(e, "det", "doc.txt.bak", []byte("other key"), object.Attrs{})

	type detail struct {
		Key         string            `json:"key"`
		Size        int64             `json:"size"`
		SizeHuman   string            `json:"size_human"`
		ContentType string            `json:"content_type"`
		IsMultipart bool              `json:"is_multipart"`
		PartCount   int               `json:"part_count"`
		Metadata    map[string]string `json:"metadata"`
		Tags        map[string]string `json:"tags"`
		Versions    []struct {
			VersionID string `json:"version_id"`
			IsLatest  bool   `json:"is_latest"`
			Size      int64  `json:"size"`
		} `json:"versions"`
	}
	var d detail
	root.do("GET", "/api/objects/detail/det/"+b64("doc.txt"), nil).want(http.StatusOK).json(&d)
	if d.Size != 4 || d.ContentType != "text/plain" || d.IsMultipart || d.PartCount != 0 ||
		d.Metadata["category"] != "docs" || d.Tags["team"] != "blue" || d.SizeHuman == "" {
		t.Fatalf("detail %+v", d)
	}
	if len(d.Versions) != 2 || !d.Versions[0].IsLatest || d.Versions[0].Size != 4 || d.Versions[1].Size != 3 {
		t.Fatalf("versions %+v", d.Versions)
	}
	// An older version by id.
	var old detail
	root.do("GET", "/api/objects/detail/det/"+b64("doc.txt")+"?versionId="+d.Versions[1].VersionID, nil).want(http.StatusOK).json(&old)
	if old.Size != 3 {
		t.Fatalf("old version %+v", old)
	}
	// The seed's route takes the key plain.
	var seed detail
	root.do("GET", "/api/buckets/det/objects/doc.txt", nil).want(http.StatusOK).json(&seed)
	if seed.Key != "doc.txt" || seed.Size != 4 {
		t.Fatalf("seed detail %+v", seed)
	}

	// A multipart object.
	u, err := e.objects.CreateUpload(ctx, object.CreateUploadInput{Bucket: "det", Key: "big.bin", Owner: rootUser})
	if err != nil {
		t.Fatal(err)
	}
	var parts []object.CompletePart
	for n, size := range []int{object.MinPartSize, 10} {
		p, err := e.objects.UploadPart(ctx, object.PartInput{Bucket: "det", Key: "big.bin", UploadID: u.ID, Number: n + 1,
			Body: bytes.NewReader(make([]byte, size)), Size: int64(size)})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, object.CompletePart{Number: n + 1, ETag: p.ETag})
	}
	if _, err := e.objects.CompleteUpload(ctx, object.CompleteInput{Bucket: "det", Key: "big.bin", UploadID: u.ID, Parts: parts}); err != nil {
		t.Fatal(err)
	}
	var mp detail
	root.do("GET", "/api/objects/detail/det/"+b64("big.bin"), nil).want(http.StatusOK).json(&mp)
	if !mp.IsMultipart || mp.PartCount != 2 || mp.Size != object.MinPartSize+10 {
		t.Fatalf("multipart detail %+v", mp)
	}

	// A reader without s3:ListBucketVersions or tagging rights sees the
	// object but neither its versions nor its tags.
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::det/*"}]}`
	if _, err := e.iam.CreatePolicy(ctx, "getonly", []byte(doc)); err != nil {
		t.Fatal(err)
	}
	var limited detail
	e.user("getter", "getonly").do("GET", "/api/objects/detail/det/"+b64("doc.txt"), nil).want(http.StatusOK).json(&limited)
	if limited.Size != 4 || limited.Versions != nil || limited.Tags != nil {
		t.Fatalf("limited detail %+v", limited)
	}

	root.do("GET", "/api/objects/detail/det/"+b64("missing"), nil).wantError(http.StatusNotFound, "NoSuchKey")
	root.do("GET", "/api/objects/detail/det/"+b64("doc.txt")+"?versionId=nope", nil).wantError(http.StatusNotFound, "NoSuchVersion")
	root.do("GET", "/api/objects/detail/nobucket/"+b64("doc.txt"), nil).wantError(http.StatusNotFound, "NoSuchBucket")
	e.user("nobody").do("GET", "/api/objects/detail/det/"+b64("doc.txt"), nil).wantError(http.StatusForbidden, "AccessDenied")
	e.anon().do("GET", "/api/objects/detail/det/"+b64("doc.txt"), nil).wantError(http.StatusUnauthorized, "Unauthorized")
}

// TestObjectsPermissionParity: for the same user and action, S3 (through
// aws-sdk-go-v2) and the management API answer alike.
func TestObjectsPermissionParity(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	users := map[string][]string{"ro": {"readonly"}, "wo": {"writeonly"}, "owner": nil, "other": nil}
	clients := map[string]*client{}
	sdks := map[string]*s3.Client{}
	for name, pols := range users {
		clients[name] = e.user(name, pols...)
		k, err := e.iam.CreateAccessKey(ctx, iam.AccessKeyInput{User: name})
		if err != nil {
			t.Fatal(err)
		}
		sdks[name] = s3.New(s3.Options{Region: region, BaseEndpoint: aws.String(e.S3URL), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(k.AccessKey, k.Secret, ""), RetryMaxAttempts: 1})
	}
	objectsBucket(e, "parity", "owner")
	objectsPut(e, "parity", "s3/seed.txt", []byte("seed"), object.Attrs{})
	objectsPut(e, "parity", "api/seed.txt", []byte("seed"), object.Attrs{})

	s3Allowed := func(err error) bool {
		if err == nil {
			return true
		}
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied" {
			return false
		}
		t.Fatalf("S3 call failed otherwise: %v", err)
		return false
	}
	apiAllowed := func(r *resp) bool {
		switch r.Status {
		case http.StatusOK:
			return true
		case http.StatusForbidden:
			return false
		}
		t.Fatalf("API call failed otherwise: %d %s", r.Status, r.Body)
		return false
	}
	want := map[string]map[string]bool{
		"ro":    {"list": true, "get": true, "put": false, "delete": false},
		"wo":    {"list": false, "get": false, "put": true, "delete": false},
		"owner": {"list": true, "get": true, "put": true, "delete": true},
		"other": {"list": false, "get": false, "put": false, "delete": false},
	}
	for name := range users {
		sdk, c := sdks[name], clients[name]
		got := map[string][2]bool{}
		_, err := sdk.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("parity")})
		got["list"] = [2]bool{s3Allowed(err), apiAllowed(c.do("GET", "/api/objects/parity", nil))}
		out, err := sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("parity"), Key: aws.String("s3/seed.txt")})
		if err == nil {
			out.Body.Close()
		}
		got["get"] = [2]bool{s3Allowed(err), apiAllowed(c.do("GET", "/api/objects/download/parity/"+b64("api/seed.txt"), nil))}
		_, err = sdk.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("parity"), Key: aws.String("s3/" + name),
			Body: strings.NewReader("x")})
		got["put"] = [2]bool{s3Allowed(err), apiAllowed(objectsUpload(c, "parity", "api/"+name, "text/plain", []byte("x")))}
		// Delete keys the user did not write, so earlier answers don't matter.
		objectsPut(e, "parity", "s3/del-"+name, []byte("d"), object.Attrs{})
		objectsPut(e, "parity", "api/del-"+name, []byte("d"), object.Attrs{})
		_, err = sdk.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("parity"), Key: aws.String("s3/del-" + name)})
		got["delete"] = [2]bool{s3Allowed(err), apiAllowed(c.do("DELETE", "/api/objects/parity/"+b64("api/del-"+name), nil))}
		for action, g := range got {
			if g[0] != g[1] {
				t.Errorf("%s %s: S3 allowed=%v, API allowed=%v", name, action, g[0], g[1])
			}
			if g[1] != want[name][action] {
				t.Errorf("%s %s: allowed=%v, want %v", name, action, g[1], want[name][action])
			}
		}
		if want[name]["delete"] != !objectsExists(e, "parity", "api/del-"+name) {
			t.Errorf("%s: the API's delete answer does not match what happened", name)
		}
	}
}
