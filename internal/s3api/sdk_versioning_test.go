package s3api_test

import (
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The tests in this file hold Coffer to the versioning behaviour AWS
// documents in the S3 user guide ("Retaining multiple versions of objects",
// "Working with delete markers", "Deleting object versions", "Working with
// objects in a versioning-suspended bucket") and the API reference
// (GetObject, DeleteObject, DeleteObjects, ListObjectVersions, CopyObject).

func setVersioning(t *testing.T, c *s3.Client, bucket string, status types.BucketVersioningStatus) {
	t.Helper()
	if _, err := c.PutBucketVersioning(ctx(t), &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: status}}); err != nil {
		t.Fatalf("PutBucketVersioning %s %s: %v", bucket, status, err)
	}
}

// putVersion writes body and returns the version id the response reported.
func putVersion(t *testing.T, c *s3.Client, bucket, key, body string) string {
	t.Helper()
	return aws.ToString(putBody(t, c, bucket, key, body).VersionId)
}

// deleteKey is a DELETE without a version id.
func deleteKey(t *testing.T, c *s3.Client, bucket, key string) *s3.DeleteObjectOutput {
	t.Helper()
	out, err := c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("DELETE %s: %v", key, err)
	}
	return out
}

func deleteVersion(t *testing.T, c *s3.Client, bucket, key, vid string) *s3.DeleteObjectOutput {
	t.Helper()
	out, err := c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(vid)})
	if err != nil {
		t.Fatalf("DELETE %s?versionId=%s: %v", key, vid, err)
	}
	return out
}

// errHeader returns a response header carried by an SDK error.
func errHeader(err error, name string) string {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get(name)
	}
	return ""
}

// versionEntry is one <Version> or <DeleteMarker> of a ListVersionsResult.
type versionEntry struct {
	Key, VersionID string
	Marker, Latest bool
}

// versionModel is what AWS documents a bucket's versions to be: per key, a
// list newest first, in which a null version is replaced wherever it is.
type versionModel map[string][]versionEntry

func (m versionModel) add(key, vid string, marker bool) {
	m.remove(key, vid)
	m[key] = append([]versionEntry{{Key: key, VersionID: vid, Marker: marker}}, m[key]...)
}

func (m versionModel) remove(key, vid string) {
	m[key] = slices.DeleteFunc(m[key], func(e versionEntry) bool { return e.VersionID == vid })
	if len(m[key]) == 0 {
		delete(m, key)
	}
}

// entries lists the model's versions under prefix as ListObjectVersions
// must: keys in byte order, each key's versions newest first.
func (m versionModel) entries(prefix string) []versionEntry {
	var keys []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []versionEntry
	for _, k := range keys {
		for i, e := range m[k] {
			e.Latest = i == 0
			out = append(out, e)
		}
	}
	return out
}

// versionListing is one ListObjectVersions page read from the raw XML, so
// that the interleaving of versions and delete markers is seen (the SDK
// splits them into two slices).
type versionListing struct {
	Entries             []versionEntry
	Prefixes            []string
	Truncated           bool
	NextKeyMarker       string
	NextVersionIDMarker string
}

func listVersionsRaw(t *testing.T, ts *testServer, bucket string, q url.Values) versionListing {
	t.Helper()
	q.Set("versions", "")
	resp, e, body := do(t, signedRequest(t, http.MethodGet, ts.URL+"/"+bucket+"?"+q.Encode(), nil, time.Now(), nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ListObjectVersions %v: %d %s %s", q, resp.StatusCode, e.Code, e.Message)
	}
	var x struct {
		IsTruncated         bool
		NextKeyMarker       string
		NextVersionIdMarker string
		Children            []struct {
			XMLName   xml.Name
			Key       string
			VersionId string
			IsLatest  bool
			Prefix    string
		} `xml:",any"`
	}
	if err := xml.Unmarshal(body, &x); err != nil {
		t.Fatalf("ListVersionsResult: %v: %s", err, body)
	}
	l := versionListing{Truncated: x.IsTruncated, NextKeyMarker: x.NextKeyMarker, NextVersionIDMarker: x.NextVersionIdMarker}
	for _, c := range x.Children {
		switch c.XMLName.Local {
		case "Version", "DeleteMarker":
			l.Entries = append(l.Entries, versionEntry{Key: c.Key, VersionID: c.VersionId, Marker: c.XMLName.Local == "DeleteMarker", Latest: c.IsLatest})
		case "CommonPrefixes":
			l.Prefixes = append(l.Prefixes, c.Prefix)
		}
	}
	return l
}

func TestSDKBucketVersioningStatus(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "vstat")
	get := func() types.BucketVersioningStatus {
		t.Helper()
		out, err := c.GetBucketVersioning(x, &s3.GetBucketVersioningInput{Bucket: aws.String("vstat")})
		if err != nil {
			t.Fatal(err)
		}
		return out.Status
	}
	// "If the versioning state has never been set on a bucket, it has no
	// versioning state; a GetBucketVersioning request does not return a
	// versioning state value."
	if s := get(); s != "" {
		t.Errorf("status of a new bucket = %q, want none", s)
	}
	for _, s := range []types.BucketVersioningStatus{types.BucketVersioningStatusEnabled, types.BucketVersioningStatusSuspended, types.BucketVersioningStatusEnabled} {
		setVersioning(t, c, "vstat", s)
		if got := get(); got != s {
			t.Errorf("status after setting %s = %q", s, got)
		}
	}
	_, err := c.PutBucketVersioning(x, &s3.PutBucketVersioningInput{Bucket: aws.String("vstat"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: "Disabled"}})
	wantCode(t, err, "MalformedXML")
	_, err = c.GetBucketVersioning(x, &s3.GetBucketVersioningInput{Bucket: aws.String("nosuchbucket")})
	wantCode(t, err, "NoSuchBucket")
	_, err = c.PutBucketVersioning(x, &s3.PutBucketVersioningInput{Bucket: aws.String("nosuchbucket"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	wantCode(t, err, "NoSuchBucket")
}

// TestSDKVersionIDsOnWrites: every write into a versioning-enabled bucket
// reports the version it made, and reads address versions by id.
func TestSDKVersionIDsOnWrites(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "vids")
	setVersioning(t, c, "vids", types.BucketVersioningStatusEnabled)

	v1 := putVersion(t, c, "vids", "src", "first")
	v2 := putVersion(t, c, "vids", "src", "second")
	if v1 == "" || v2 == "" || v1 == v2 || v1 == "null" || v2 == "null" {
		t.Fatalf("PUT version ids %q, %q", v1, v2)
	}
	for vid, want := range map[string]string{v1: "first", v2: "second"} {
		out, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("vids"), Key: aws.String("src"), VersionId: aws.String(vid)})
		if err != nil {
			t.Fatalf("GET %s: %v", vid, err)
		}
		if got := readAll(t, out.Body); got != want || aws.ToString(out.VersionId) != vid {
			t.Errorf("GET versionId=%s = %q (version %q), want %q", vid, got, aws.ToString(out.VersionId), want)
		}
		out.Body.Close()
		head, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("vids"), Key: aws.String("src"), VersionId: aws.String(vid)})
		if err != nil || aws.ToString(head.VersionId) != vid || aws.ToInt64(head.ContentLength) != int64(len(want)) {
			t.Errorf("HEAD versionId=%s = %+v, %v", vid, head, err)
		}
	}
	if head, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("vids"), Key: aws.String("src")}); err != nil || aws.ToString(head.VersionId) != v2 {
		t.Errorf("HEAD of the current version: %v, %v; want version %s", head, err, v2)
	}

	// CopyObject: x-amz-version-id names the copy, x-amz-copy-source-version-id
	// the source version read (the current one unless the source names one).
	cp, err := c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("vids"), Key: aws.String("copy"), CopySource: aws.String("vids/src")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cp.CopySourceVersionId) != v2 || aws.ToString(cp.VersionId) == "" || aws.ToString(cp.VersionId) == "null" {
		t.Errorf("copy of the current version: source version %q, version %q; want source %s and a fresh id",
			aws.ToString(cp.CopySourceVersionId), aws.ToString(cp.VersionId), v2)
	}
	if got, err := readVersion(t, c, "vids", "copy", aws.ToString(cp.VersionId)); err != nil || got != "second" {
		t.Errorf("copy = %q, %v", got, err)
	}
	cp, err = c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("vids"), Key: aws.String("copy"), CopySource: aws.String("vids/src?versionId=" + v1)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cp.CopySourceVersionId) != v1 {
		t.Errorf("copy of version %s reported source version %q", v1, aws.ToString(cp.CopySourceVersionId))
	}
	if got, err := readVersion(t, c, "vids", "copy", ""); err != nil || got != "first" {
		t.Errorf("copy of an old version = %q, %v; want first", got, err)
	}
	// Copying a key onto itself from an older version restores it (the
	// documented way to promote an old version).
	cp, err = c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("vids"), Key: aws.String("src"), CopySource: aws.String("vids/src?versionId=" + v1)})
	if err != nil {
		t.Fatalf("promoting %s by copy: %v", v1, err)
	}
	if got, err := readVersion(t, c, "vids", "src", ""); err != nil || got != "first" || slices.Contains([]string{v1, v2}, aws.ToString(cp.VersionId)) {
		t.Errorf("after promoting %s: current %q, %v, new version %q", v1, got, err, aws.ToString(cp.VersionId))
	}
	lv, err := c.ListObjectVersions(x, &s3.ListObjectVersionsInput{Bucket: aws.String("vids"), Prefix: aws.String("src")})
	if err != nil || len(lv.Versions) != 3 {
		t.Errorf("versions of src after the promotion: %d, %v; want 3", len(lv.Versions), err)
	}

	// A delete marker cannot be a copy source: by version id it is
	// InvalidRequest, as the current version the key is missing.
	marker := aws.ToString(deleteKey(t, c, "vids", "src").VersionId)
	_, err = c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("vids"), Key: aws.String("c2"), CopySource: aws.String("vids/src")})
	wantCode(t, err, "NoSuchKey")
	_, err = c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("vids"), Key: aws.String("c2"), CopySource: aws.String("vids/src?versionId=" + marker)})
	wantCode(t, err, "InvalidRequest")
	// An older version is still a valid source behind the marker.
	if _, err := c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("vids"), Key: aws.String("c2"), CopySource: aws.String("vids/src?versionId=" + v2)}); err != nil {
		t.Errorf("copying a noncurrent version behind a marker: %v", err)
	}

	// CompleteMultipartUpload reports the version it made.
	cr, err := c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("vids"), Key: aws.String("mpu")})
	if err != nil {
		t.Fatal(err)
	}
	parts := uploadParts(t, c, "vids", "mpu", aws.ToString(cr.UploadId), "", []byte("only part"))
	done, err := c.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("vids"), Key: aws.String("mpu"),
		UploadId: cr.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatal(err)
	}
	mv := aws.ToString(done.VersionId)
	if mv == "" || mv == "null" {
		t.Errorf("CompleteMultipartUpload version id %q", mv)
	}
	putVersion(t, c, "vids", "mpu", "overwritten")
	if got, err := readVersion(t, c, "vids", "mpu", mv); err != nil || got != "only part" {
		t.Errorf("multipart version %s = %q, %v", mv, got, err)
	}

	// An id that names no version of the key is NoSuchVersion (404), for
	// reads and for the other version-addressed calls.
	// Version ids are opaque; a well-formed unknown one differs from a real
	// id in its last character.
	repl := "0"
	if strings.HasSuffix(v1, "0") {
		repl = "1"
	}
	unknown := v1[:len(v1)-1] + repl
	if slices.Contains([]string{v1, v2, aws.ToString(cp.VersionId)}, unknown) {
		t.Fatal("constructing an unknown id")
	}
	_, err = readVersion(t, c, "vids", "src", unknown)
	wantCode(t, err, "NoSuchVersion")
	_, err = c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("vids"), Key: aws.String("src"), VersionId: aws.String(unknown)})
	if statusOf(err) != http.StatusNotFound {
		t.Errorf("HEAD of an unknown version: %v, want 404", err)
	}
	_, err = readVersion(t, c, "vids", "no-such-key", v1)
	wantCode(t, err, "NoSuchVersion")
	_, err = c.GetObjectTagging(x, &s3.GetObjectTaggingInput{Bucket: aws.String("vids"), Key: aws.String("src"), VersionId: aws.String(unknown)})
	wantCode(t, err, "NoSuchVersion")
	_, err = c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("vids"), Key: aws.String("c3"), CopySource: aws.String("vids/src?versionId=" + unknown)})
	wantCode(t, err, "NoSuchVersion")
}

// TestSDKDeleteMarkers follows "Working with delete markers" and "Deleting
// object versions".
func TestSDKDeleteMarkers(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "dmark")
	setVersioning(t, c, "dmark", types.BucketVersioningStatusEnabled)
	v1 := putVersion(t, c, "dmark", "k", "one")
	v2 := putVersion(t, c, "dmark", "k", "two")

	del := deleteKey(t, c, "dmark", "k")
	m1 := aws.ToString(del.VersionId)
	if !aws.ToBool(del.DeleteMarker) || m1 == "" || m1 == "null" || m1 == v2 {
		t.Fatalf("DELETE without versionId = marker %v, version %q", aws.ToBool(del.DeleteMarker), m1)
	}
	// GET and HEAD of the key: 404 with x-amz-delete-marker: true.
	_, err := readVersion(t, c, "dmark", "k", "")
	wantCode(t, err, "NoSuchKey")
	if errHeader(err, "X-Amz-Delete-Marker") != "true" || errHeader(err, "X-Amz-Version-Id") != m1 {
		t.Errorf("GET of a deleted key: x-amz-delete-marker %q, x-amz-version-id %q; want true, %s",
			errHeader(err, "X-Amz-Delete-Marker"), errHeader(err, "X-Amz-Version-Id"), m1)
	}
	_, err = c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("dmark"), Key: aws.String("k")})
	if statusOf(err) != http.StatusNotFound || errHeader(err, "X-Amz-Delete-Marker") != "true" {
		t.Errorf("HEAD of a deleted key: %v (marker header %q), want 404 with the marker header", err, errHeader(err, "X-Amz-Delete-Marker"))
	}
	// GET and HEAD of the marker by version id: 405.
	_, err = readVersion(t, c, "dmark", "k", m1)
	wantCode(t, err, "MethodNotAllowed")
	if statusOf(err) != http.StatusMethodNotAllowed || errHeader(err, "X-Amz-Delete-Marker") != "true" {
		t.Errorf("GET of the marker by id: %v (marker header %q), want 405 with the marker header", err, errHeader(err, "X-Amz-Delete-Marker"))
	}
	_, err = c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("dmark"), Key: aws.String("k"), VersionId: aws.String(m1)})
	if statusOf(err) != http.StatusMethodNotAllowed || errHeader(err, "X-Amz-Delete-Marker") != "true" {
		t.Errorf("HEAD of the marker by id: %v, want 405 with the marker header", err)
	}
	// The versions behind the marker are intact, and listings hide the key.
	if got, err := readVersion(t, c, "dmark", "k", v2); err != nil || got != "two" {
		t.Errorf("GET %s behind a marker = %q, %v", v2, got, err)
	}
	if l, err := c.ListObjectsV2(x, &s3.ListObjectsV2Input{Bucket: aws.String("dmark")}); err != nil || len(l.Contents) != 0 {
		t.Errorf("ListObjectsV2 shows a deleted key: %+v, %v", l, err)
	}
	// A second DELETE stacks a second marker; only the newest is latest.
	m2 := aws.ToString(deleteKey(t, c, "dmark", "k").VersionId)
	lv, err := c.ListObjectVersions(x, &s3.ListObjectVersionsInput{Bucket: aws.String("dmark")})
	if err != nil {
		t.Fatal(err)
	}
	if len(lv.DeleteMarkers) != 2 || aws.ToString(lv.DeleteMarkers[0].VersionId) != m2 || !aws.ToBool(lv.DeleteMarkers[0].IsLatest) ||
		aws.ToString(lv.DeleteMarkers[1].VersionId) != m1 || aws.ToBool(lv.DeleteMarkers[1].IsLatest) {
		t.Errorf("delete markers = %+v; want %s (latest) then %s", lv.DeleteMarkers, m2, m1)
	}
	if len(lv.Versions) != 2 || aws.ToBool(lv.Versions[0].IsLatest) || aws.ToBool(lv.Versions[1].IsLatest) {
		t.Errorf("versions behind markers = %+v; none latest", lv.Versions)
	}
	for _, dm := range lv.DeleteMarkers {
		if dm.LastModified == nil || dm.LastModified.IsZero() || aws.ToString(dm.Key) != "k" {
			t.Errorf("delete marker entry %+v lacks key or LastModified", dm)
		}
	}

	// DELETE of a marker by id: the response says it was a marker. The older
	// marker is then latest, so the key stays deleted.
	d := deleteVersion(t, c, "dmark", "k", m2)
	if !aws.ToBool(d.DeleteMarker) || aws.ToString(d.VersionId) != m2 {
		t.Errorf("DELETE of marker %s = marker %v, version %q", m2, aws.ToBool(d.DeleteMarker), aws.ToString(d.VersionId))
	}
	if _, err := readVersion(t, c, "dmark", "k", ""); apiCode(err) != "NoSuchKey" || errHeader(err, "X-Amz-Version-Id") != m1 {
		t.Errorf("GET after removing the newer marker: %v (version %q), want NoSuchKey behind %s", err, errHeader(err, "X-Amz-Version-Id"), m1)
	}
	deleteVersion(t, c, "dmark", "k", m1)
	if got, err := readVersion(t, c, "dmark", "k", ""); err != nil || got != "two" {
		t.Errorf("GET after removing both markers = %q, %v; want two", got, err)
	}
	// DELETE of a version by id removes it for good; the previous one is
	// current again.
	d = deleteVersion(t, c, "dmark", "k", v2)
	if aws.ToBool(d.DeleteMarker) || aws.ToString(d.VersionId) != v2 {
		t.Errorf("DELETE of version %s = marker %v, version %q", v2, aws.ToBool(d.DeleteMarker), aws.ToString(d.VersionId))
	}
	_, err = readVersion(t, c, "dmark", "k", v2)
	wantCode(t, err, "NoSuchVersion")
	if got, err := readVersion(t, c, "dmark", "k", ""); err != nil || got != "one" {
		t.Errorf("current after removing %s = %q, %v; want one", v2, got, err)
	}
	if head, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("dmark"), Key: aws.String("k")}); err != nil || aws.ToString(head.VersionId) != v1 {
		t.Errorf("HEAD after removing %s: %v, %v; want version %s", v2, head, err, v1)
	}
	// Removing the last version leaves nothing: a plain 404, no marker.
	deleteVersion(t, c, "dmark", "k", v1)
	_, err = readVersion(t, c, "dmark", "k", "")
	wantCode(t, err, "NoSuchKey")
	if h := errHeader(err, "X-Amz-Delete-Marker"); h != "" {
		t.Errorf("404 of a key with no versions carries x-amz-delete-marker %q", h)
	}
	if lv, err := c.ListObjectVersions(x, &s3.ListObjectVersionsInput{Bucket: aws.String("dmark")}); err != nil || len(lv.Versions)+len(lv.DeleteMarkers) != 0 {
		t.Errorf("versions left: %+v, %v", lv, err)
	}

	// A key that never had a null version has none to read.
	_, err = readVersion(t, c, "dmark", "k", "null")
	wantCode(t, err, "NoSuchVersion")

	// A write conditional on the key not existing succeeds over a delete
	// marker: the key does not exist for GET, so not for If-None-Match.
	deleteKey(t, c, "dmark", "cond")
	if _, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("dmark"), Key: aws.String("cond"), Body: strings.NewReader("c"),
		IfNoneMatch: aws.String("*")}); err != nil {
		t.Errorf("If-None-Match: * over a delete marker: %v", err)
	}
	_, err = c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("dmark"), Key: aws.String("cond"), Body: strings.NewReader("c"), IfNoneMatch: aws.String("*")})
	wantCode(t, err, "PreconditionFailed")

	// An empty versionId is malformed, not "the current version".
	resp, e, _ := do(t, signedRequest(t, http.MethodGet, ts.URL+"/dmark/cond?versionId=", nil, time.Now(), nil))
	if resp.StatusCode != http.StatusBadRequest || e.Code != "InvalidArgument" {
		t.Errorf("GET with an empty versionId: %d %s, want 400 InvalidArgument", resp.StatusCode, e.Code)
	}

	// In a versioning-enabled bucket DELETE of a key that does not exist
	// still adds a marker.
	d = deleteKey(t, c, "dmark", "never")
	if !aws.ToBool(d.DeleteMarker) || aws.ToString(d.VersionId) == "" {
		t.Errorf("DELETE of a missing key = %+v; want a delete marker", d)
	}
	if lv, err := c.ListObjectVersions(x, &s3.ListObjectVersionsInput{Bucket: aws.String("dmark"), Prefix: aws.String("never")}); err != nil ||
		len(lv.DeleteMarkers) != 1 || aws.ToString(lv.DeleteMarkers[0].VersionId) != aws.ToString(d.VersionId) {
		t.Errorf("marker of a missing key not listed: %+v, %v", lv, err)
	}
}

// TestSDKNullVersions: "Objects stored in your bucket before you set the
// versioning state have a version ID of null"; in a suspended bucket a PUT
// replaces the null version and a DELETE replaces it with a null marker,
// leaving versioned versions alone.
func TestSDKNullVersions(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "nulls")
	model := versionModel{}
	check := func(when string) {
		t.Helper()
		got := listVersionsRaw(t, ts, "nulls", url.Values{})
		if want := model.entries(""); !slices.Equal(got.Entries, want) {
			t.Errorf("%s: versions\n got %+v\nwant %+v", when, got.Entries, want)
		}
	}

	// Unversioned: one null version per key, overwritten in place.
	if out := putBody(t, c, "nulls", "k", "pre-1"); out.VersionId != nil {
		t.Errorf("unversioned PUT reported version %q", aws.ToString(out.VersionId))
	}
	putBody(t, c, "nulls", "k", "pre")
	model.add("k", "null", false)
	putBody(t, c, "nulls", "gone", "x")
	d := deleteKey(t, c, "nulls", "gone")
	if aws.ToBool(d.DeleteMarker) || d.VersionId != nil {
		t.Errorf("unversioned DELETE = marker %v, version %q; want a plain delete", aws.ToBool(d.DeleteMarker), aws.ToString(d.VersionId))
	}
	check("unversioned")
	if got, err := readVersion(t, c, "nulls", "k", "null"); err != nil || got != "pre" {
		t.Errorf("GET versionId=null in an unversioned bucket = %q, %v", got, err)
	}

	// Enabled: the old object is the null version, kept as new ones stack.
	setVersioning(t, c, "nulls", types.BucketVersioningStatusEnabled)
	if head, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("nulls"), Key: aws.String("k")}); err != nil || aws.ToString(head.VersionId) != "null" {
		t.Errorf("HEAD of a pre-versioning object once enabled: version %q, %v; want null", aws.ToString(head.VersionId), err)
	}
	v1 := putVersion(t, c, "nulls", "k", "v1")
	model.add("k", v1, false)
	check("enabled")
	if got, err := readVersion(t, c, "nulls", "k", "null"); err != nil || got != "pre" {
		t.Errorf("null version after enabling = %q, %v", got, err)
	}

	// Suspended PUT: a null version that is not current is removed, and the
	// new null version becomes current; v1 is untouched.
	setVersioning(t, c, "nulls", types.BucketVersioningStatusSuspended)
	if vid := putVersion(t, c, "nulls", "k", "s1"); vid != "null" {
		t.Errorf("suspended PUT version %q, want null", vid)
	}
	model.add("k", "null", false)
	check("suspended PUT over a noncurrent null version")
	if vid := putVersion(t, c, "nulls", "k", "s2"); vid != "null" {
		t.Errorf("suspended PUT version %q, want null", vid)
	}
	check("suspended PUT over the current null version")
	for vid, want := range map[string]string{"": "s2", "null": "s2", v1: "v1"} {
		if got, err := readVersion(t, c, "nulls", "k", vid); err != nil || got != want {
			t.Errorf("suspended: GET %q = %q, %v; want %q", vid, got, err, want)
		}
	}
	// A suspended copy is a null version too.
	cp, err := c.CopyObject(x, &s3.CopyObjectInput{Bucket: aws.String("nulls"), Key: aws.String("cp"), CopySource: aws.String("nulls/k")})
	if err != nil || aws.ToString(cp.VersionId) != "null" {
		t.Errorf("suspended copy: version %q, %v; want null", aws.ToString(cp.VersionId), err)
	}
	model.add("cp", "null", false)
	// So is a suspended multipart upload, which replaces the null version.
	cr, err := c.CreateMultipartUpload(x, &s3.CreateMultipartUploadInput{Bucket: aws.String("nulls"), Key: aws.String("cp")})
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.CompleteMultipartUpload(x, &s3.CompleteMultipartUploadInput{Bucket: aws.String("nulls"), Key: aws.String("cp"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: uploadParts(t, c, "nulls", "cp", aws.ToString(cr.UploadId), "", []byte("mp"))}})
	if err != nil || aws.ToString(done.VersionId) != "null" {
		t.Errorf("suspended CompleteMultipartUpload: version %q, %v; want null", aws.ToString(done.VersionId), err)
	}
	if got, err := readVersion(t, c, "nulls", "cp", "null"); err != nil || got != "mp" {
		t.Errorf("null version after a suspended multipart upload = %q, %v", got, err)
	}

	// Enabled again: v2 on top; suspended PUT then replaces the null version
	// from the middle of the list.
	setVersioning(t, c, "nulls", types.BucketVersioningStatusEnabled)
	v2 := putVersion(t, c, "nulls", "k", "v2")
	model.add("k", v2, false)
	check("enabled over a null version")
	setVersioning(t, c, "nulls", types.BucketVersioningStatusSuspended)
	putVersion(t, c, "nulls", "k", "s3")
	model.add("k", "null", false)
	check("suspended PUT with the null version in the middle")

	// Suspended DELETE: the null version is replaced by a null marker.
	d = deleteKey(t, c, "nulls", "k")
	if !aws.ToBool(d.DeleteMarker) || aws.ToString(d.VersionId) != "null" {
		t.Errorf("suspended DELETE = marker %v, version %q; want a null marker", aws.ToBool(d.DeleteMarker), aws.ToString(d.VersionId))
	}
	model.add("k", "null", true)
	check("suspended DELETE")
	_, err = readVersion(t, c, "nulls", "k", "")
	wantCode(t, err, "NoSuchKey")
	if errHeader(err, "X-Amz-Delete-Marker") != "true" {
		t.Errorf("GET behind a null marker lacks x-amz-delete-marker")
	}
	if _, err := readVersion(t, c, "nulls", "k", "null"); statusOf(err) != http.StatusMethodNotAllowed {
		t.Errorf("GET versionId=null of a null marker: %v, want 405", err)
	}
	// A second suspended DELETE replaces the null marker: still one.
	deleteKey(t, c, "nulls", "k")
	check("second suspended DELETE")
	// A suspended PUT replaces the null marker with a null version.
	putVersion(t, c, "nulls", "k", "s4")
	model.add("k", "null", false)
	check("suspended PUT over a null marker")

	// A key with only versioned versions: the suspended DELETE removes
	// nothing and adds a null marker.
	setVersioning(t, c, "nulls", types.BucketVersioningStatusEnabled)
	w1 := putVersion(t, c, "nulls", "w", "w1")
	model.add("w", w1, false)
	setVersioning(t, c, "nulls", types.BucketVersioningStatusSuspended)
	deleteKey(t, c, "nulls", "w")
	model.add("w", "null", true)
	// And for a key that does not exist at all.
	if d := deleteKey(t, c, "nulls", "absent"); !aws.ToBool(d.DeleteMarker) || aws.ToString(d.VersionId) != "null" {
		t.Errorf("suspended DELETE of a missing key = %+v; want a null marker", d)
	}
	model.add("absent", "null", true)
	check("suspended DELETE without a null version")
	if got, err := readVersion(t, c, "nulls", "w", w1); err != nil || got != "w1" {
		t.Errorf("versioned version after a suspended DELETE = %q, %v", got, err)
	}
	// The owner can still remove a given version while suspended.
	deleteVersion(t, c, "nulls", "k", v1)
	model.remove("k", v1)
	deleteVersion(t, c, "nulls", "w", "null")
	model.remove("w", "null")
	check("suspended DELETE by version id")
	if got, err := readVersion(t, c, "nulls", "w", ""); err != nil || got != "w1" {
		t.Errorf("after removing the null marker of w: %q, %v; want w1", got, err)
	}
}

// TestSDKListObjectVersionsPaging pages through versions and markers with
// key-marker and version-id-marker at every page size up to 3 (so pages end
// on null versions, markers and mid-key), with and without a delimiter, and
// with the SDK's paginator.
func TestSDKListObjectVersionsPaging(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "pages")
	model := versionModel{}
	for _, k := range []string{"a", "c", "b/2"} {
		putBody(t, c, "pages", k, "null "+k)
		model.add(k, "null", false)
	}
	setVersioning(t, c, "pages", types.BucketVersioningStatusEnabled)
	for i, k := range []string{"a", "b/1", "a", "b/1", "c", "b/2", "a", "d/x", "b/3"} {
		model.add(k, putVersion(t, c, "pages", k, k+string(rune('0'+i))), false)
	}
	for _, k := range []string{"a", "b/1", "e"} {
		model.add(k, aws.ToString(deleteKey(t, c, "pages", k).VersionId), true)
	}
	model.add("a", putVersion(t, c, "pages", "a", "after marker"), false)
	want := model.entries("")
	if len(want) < 16 {
		t.Fatalf("model has only %d entries", len(want))
	}

	full := listVersionsRaw(t, ts, "pages", url.Values{})
	if !slices.Equal(full.Entries, want) || full.Truncated || len(full.Prefixes) != 0 {
		t.Fatalf("full listing\n got %+v\nwant %+v", full.Entries, want)
	}
	page := func(q url.Values, max int) (entries []versionEntry, prefixes []string) {
		t.Helper()
		var km, vm string
		for n := 0; ; n++ {
			if n > 100 {
				t.Fatalf("paging %v does not end", q)
			}
			pq := url.Values{}
			for k, v := range q {
				pq[k] = v
			}
			pq.Set("max-keys", strconv.Itoa(max))
			if km != "" {
				pq.Set("key-marker", km)
			}
			if vm != "" {
				pq.Set("version-id-marker", vm)
			}
			l := listVersionsRaw(t, ts, "pages", pq)
			if got := len(l.Entries) + len(l.Prefixes); got > max || (l.Truncated && got == 0) {
				t.Fatalf("page %v: %d entries, max-keys %d, truncated %v", pq, got, max, l.Truncated)
			}
			entries = append(entries, l.Entries...)
			prefixes = append(prefixes, l.Prefixes...)
			if !l.Truncated {
				return entries, prefixes
			}
			if l.NextKeyMarker == "" {
				t.Fatalf("page %v truncated without NextKeyMarker", pq)
			}
			km, vm = l.NextKeyMarker, l.NextVersionIDMarker
		}
	}
	for max := 1; max <= 3; max++ {
		if got, _ := page(url.Values{}, max); !slices.Equal(got, want) {
			t.Errorf("max-keys %d:\n got %+v\nwant %+v", max, got, want)
		}
		got, prefixes := page(url.Values{"delimiter": {"/"}}, max)
		var top []versionEntry
		for _, e := range want {
			if !strings.Contains(e.Key, "/") {
				top = append(top, e)
			}
		}
		if !slices.Equal(got, top) || !slices.Equal(prefixes, []string{"b/", "d/"}) {
			t.Errorf("delimiter, max-keys %d:\n got %+v %q\nwant %+v [b/ d/]", max, got, prefixes, top)
		}
		if got, _ := page(url.Values{"prefix": {"b/"}}, max); !slices.Equal(got, model.entries("b/")) {
			t.Errorf("prefix b/, max-keys %d:\n got %+v\nwant %+v", max, got, model.entries("b/"))
		}
	}
	// key-marker alone starts after every version of that key; with a
	// version-id-marker, after that version.
	after := func(key, vid string) []versionEntry {
		for i, e := range want {
			if (vid == "" && e.Key > key) || (vid != "" && e.Key == key && e.VersionID == vid) {
				if vid != "" {
					i++
				}
				return want[i:]
			}
		}
		return nil
	}
	if l := listVersionsRaw(t, ts, "pages", url.Values{"key-marker": {"a"}}); !slices.Equal(l.Entries, after("a", "")) {
		t.Errorf("key-marker a:\n got %+v\nwant %+v", l.Entries, after("a", ""))
	}
	aVersions := model["a"]
	mid := aVersions[1].VersionID
	if l := listVersionsRaw(t, ts, "pages", url.Values{"key-marker": {"a"}, "version-id-marker": {mid}}); !slices.Equal(l.Entries, after("a", mid)) {
		t.Errorf("key-marker a, version-id-marker %s:\n got %+v\nwant %+v", mid, l.Entries, after("a", mid))
	}
	if l := listVersionsRaw(t, ts, "pages", url.Values{"key-marker": {"c"}, "version-id-marker": {"null"}}); len(l.Entries) == 0 || l.Entries[0].Key != "d/x" {
		t.Errorf("key-marker c, version-id-marker null (c's last version): %+v; want to start at d/x", l.Entries)
	}
	_, err := c.ListObjectVersions(x, &s3.ListObjectVersionsInput{Bucket: aws.String("pages"), VersionIdMarker: aws.String(mid)})
	wantCode(t, err, "InvalidArgument")

	// The SDK's paginator, and what the SDK reads from each entry.
	var versions, markers int
	seen := map[string]bool{}
	p := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: aws.String("pages"), MaxKeys: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(x)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(out.Versions) + len(out.DeleteMarkers); n > 2 || n == 0 {
			t.Fatalf("paginator page with %d entries", n)
		}
		for _, v := range out.Versions {
			versions++
			seen[aws.ToString(v.Key)+"@"+aws.ToString(v.VersionId)] = true
			if v.ETag == nil || v.Size == nil || v.LastModified == nil || v.StorageClass == "" {
				t.Errorf("version entry lacks fields: %+v", v)
			}
		}
		for _, m := range out.DeleteMarkers {
			markers++
			seen[aws.ToString(m.Key)+"@"+aws.ToString(m.VersionId)] = true
		}
	}
	var wantMarkers int
	for _, e := range want {
		if e.Marker {
			wantMarkers++
		}
	}
	if versions+markers != len(want) || markers != wantMarkers || len(seen) != len(want) {
		t.Errorf("paginator saw %d versions and %d markers (%d distinct), want %d entries with %d markers", versions, markers, len(seen), len(want), wantMarkers)
	}
}

// TestSDKDeleteObjectsVersions: DeleteObjects with and without version ids,
// as the DeletedObject type documents DeleteMarker and
// DeleteMarkerVersionId.
func TestSDKDeleteObjectsVersions(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "batch")
	setVersioning(t, c, "batch", types.BucketVersioningStatusEnabled)
	v1 := putVersion(t, c, "batch", "k", "one")
	v2 := putVersion(t, c, "batch", "k", "two")
	o1 := putVersion(t, c, "batch", "other", "o")

	// Without version ids: a marker per key, reported with its id.
	out, err := c.DeleteObjects(x, &s3.DeleteObjectsInput{Bucket: aws.String("batch"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("k")}, {Key: aws.String("missing")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Errors) != 0 || len(out.Deleted) != 2 {
		t.Fatalf("DeleteObjects = %+v", out)
	}
	markers := map[string]string{}
	for _, d := range out.Deleted {
		if !aws.ToBool(d.DeleteMarker) || aws.ToString(d.DeleteMarkerVersionId) == "" || d.VersionId != nil {
			t.Errorf("deleted %s: marker %v, marker version %q, version %q; want a new marker and no VersionId",
				aws.ToString(d.Key), aws.ToBool(d.DeleteMarker), aws.ToString(d.DeleteMarkerVersionId), aws.ToString(d.VersionId))
		}
		markers[aws.ToString(d.Key)] = aws.ToString(d.DeleteMarkerVersionId)
	}
	lv, err := c.ListObjectVersions(x, &s3.ListObjectVersionsInput{Bucket: aws.String("batch")})
	if err != nil || len(lv.DeleteMarkers) != 2 {
		t.Fatalf("markers after DeleteObjects: %+v, %v", lv, err)
	}
	for _, m := range lv.DeleteMarkers {
		if markers[aws.ToString(m.Key)] != aws.ToString(m.VersionId) {
			t.Errorf("listed marker %s@%s, DeleteObjects reported %s", aws.ToString(m.Key), aws.ToString(m.VersionId), markers[aws.ToString(m.Key)])
		}
	}

	// With version ids: a marker removed is reported as one (its id as
	// DeleteMarkerVersionId); a version removed is not.
	out, err = c.DeleteObjects(x, &s3.DeleteObjectsInput{Bucket: aws.String("batch"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("k"), VersionId: aws.String(markers["k"])},
		{Key: aws.String("k"), VersionId: aws.String(v1)},
		{Key: aws.String("missing"), VersionId: aws.String(markers["missing"])},
		{Key: aws.String("other"), VersionId: aws.String(o1)},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Errors) != 0 || len(out.Deleted) != 4 {
		t.Fatalf("DeleteObjects by version = %+v", out)
	}
	for _, d := range out.Deleted {
		key, vid := aws.ToString(d.Key), aws.ToString(d.VersionId)
		wasMarker := vid == markers[key]
		if !wasMarker && vid != v1 && vid != o1 {
			t.Errorf("deleted %s@%s: unexpected version", key, vid)
		}
		if aws.ToBool(d.DeleteMarker) != wasMarker {
			t.Errorf("deleted %s@%s: DeleteMarker %v, want %v", key, vid, aws.ToBool(d.DeleteMarker), wasMarker)
		}
		if wasMarker && aws.ToString(d.DeleteMarkerVersionId) != vid {
			t.Errorf("deleted marker %s@%s: DeleteMarkerVersionId %q, want the marker's id", key, vid, aws.ToString(d.DeleteMarkerVersionId))
		}
	}
	if got, err := readVersion(t, c, "batch", "k", ""); err != nil || got != "two" {
		t.Errorf("k after removing its marker and %s = %q, %v; want two", v1, got, err)
	}
	lv, err = c.ListObjectVersions(x, &s3.ListObjectVersionsInput{Bucket: aws.String("batch")})
	if err != nil || len(lv.DeleteMarkers) != 0 || len(lv.Versions) != 1 || aws.ToString(lv.Versions[0].VersionId) != v2 {
		t.Errorf("left after DeleteObjects: %+v, %v; want only k@%s", lv, err, v2)
	}
	// Quiet mode reports nothing for successes.
	out, err = c.DeleteObjects(x, &s3.DeleteObjectsInput{Bucket: aws.String("batch"), Delete: &types.Delete{Quiet: aws.Bool(true),
		Objects: []types.ObjectIdentifier{{Key: aws.String("k"), VersionId: aws.String(v2)}}}})
	if err != nil || len(out.Deleted) != 0 || len(out.Errors) != 0 {
		t.Errorf("quiet DeleteObjects = %+v, %v", out, err)
	}
	if _, err := c.DeleteBucket(x, &s3.DeleteBucketInput{Bucket: aws.String("batch")}); err != nil {
		t.Errorf("DeleteBucket after removing every version: %v", err)
	}
}

// TestSDKVersionedTagging: tags belong to a version; the tagging calls
// address one with versionId and report the version they touched.
func TestSDKVersionedTagging(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "vtags")
	setVersioning(t, c, "vtags", types.BucketVersioningStatusEnabled)
	put, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("vtags"), Key: aws.String("k"), Body: strings.NewReader("old"), Tagging: aws.String("stage=draft")})
	if err != nil {
		t.Fatal(err)
	}
	v1 := aws.ToString(put.VersionId)
	v2 := putVersion(t, c, "vtags", "k", "new")

	tags := func(vid string) (map[string]string, string) {
		t.Helper()
		in := &s3.GetObjectTaggingInput{Bucket: aws.String("vtags"), Key: aws.String("k")}
		if vid != "" {
			in.VersionId = aws.String(vid)
		}
		out, err := c.GetObjectTagging(x, in)
		if err != nil {
			t.Fatalf("GetObjectTagging %q: %v", vid, err)
		}
		return tagMap(out.TagSet), aws.ToString(out.VersionId)
	}
	if m, vid := tags(""); len(m) != 0 || vid != v2 {
		t.Errorf("tags of the current version = %v (version %q), want none of %s", m, vid, v2)
	}
	if m, vid := tags(v1); m["stage"] != "draft" || len(m) != 1 || vid != v1 {
		t.Errorf("tags of %s = %v (version %q)", v1, m, vid)
	}
	pt, err := c.PutObjectTagging(x, &s3.PutObjectTaggingInput{Bucket: aws.String("vtags"), Key: aws.String("k"), VersionId: aws.String(v1),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("stage"), Value: aws.String("final")}, {Key: aws.String("owner"), Value: aws.String("ops")}}}})
	if err != nil || aws.ToString(pt.VersionId) != v1 {
		t.Fatalf("PutObjectTagging on %s: version %q, %v", v1, aws.ToString(pt.VersionId), err)
	}
	if m, _ := tags(v1); m["stage"] != "final" || m["owner"] != "ops" || len(m) != 2 {
		t.Errorf("tags of %s after the put = %v", v1, m)
	}
	if m, _ := tags(v2); len(m) != 0 {
		t.Errorf("tagging %s changed the current version's tags: %v", v1, m)
	}
	get, err := c.GetObject(x, &s3.GetObjectInput{Bucket: aws.String("vtags"), Key: aws.String("k"), VersionId: aws.String(v1)})
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
	if aws.ToInt32(get.TagCount) != 2 {
		t.Errorf("x-amz-tagging-count of %s = %d, want 2", v1, aws.ToInt32(get.TagCount))
	}
	dt, err := c.DeleteObjectTagging(x, &s3.DeleteObjectTaggingInput{Bucket: aws.String("vtags"), Key: aws.String("k"), VersionId: aws.String(v1)})
	if err != nil || aws.ToString(dt.VersionId) != v1 {
		t.Errorf("DeleteObjectTagging on %s: version %q, %v", v1, aws.ToString(dt.VersionId), err)
	}
	if m, _ := tags(v1); len(m) != 0 {
		t.Errorf("tags of %s after DeleteObjectTagging = %v", v1, m)
	}
	// Tagging the current version without versionId reports its id.
	pt, err = c.PutObjectTagging(x, &s3.PutObjectTaggingInput{Bucket: aws.String("vtags"), Key: aws.String("k"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("cur"), Value: aws.String("yes")}}}})
	if err != nil || aws.ToString(pt.VersionId) != v2 {
		t.Errorf("PutObjectTagging of the current version: version %q, %v; want %s", aws.ToString(pt.VersionId), err, v2)
	}
	// Writing a new version does not carry tags over.
	v3 := putVersion(t, c, "vtags", "k", "newest")
	if m, vid := tags(""); len(m) != 0 || vid != v3 {
		t.Errorf("tags of a fresh version = %v (%q)", m, vid)
	}
	if m, _ := tags(v2); m["cur"] != "yes" {
		t.Errorf("tags of %s after it became noncurrent = %v", v2, m)
	}
}

// TestSDKDeleteVersionedBucket: a bucket is empty only when no version and
// no delete marker is left.
func TestSDKDeleteVersionedBucket(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "vdel")
	setVersioning(t, c, "vdel", types.BucketVersioningStatusEnabled)
	v := putVersion(t, c, "vdel", "k", "data")
	m := aws.ToString(deleteKey(t, c, "vdel", "k").VersionId)
	drop := func() error {
		_, err := c.DeleteBucket(x, &s3.DeleteBucketInput{Bucket: aws.String("vdel")})
		return err
	}
	wantCode(t, drop(), "BucketNotEmpty")
	deleteVersion(t, c, "vdel", "k", v)
	// Only a delete marker is left: still not empty.
	wantCode(t, drop(), "BucketNotEmpty")
	deleteVersion(t, c, "vdel", "k", m)
	if err := drop(); err != nil {
		t.Fatalf("DeleteBucket with nothing left: %v", err)
	}
	_, err := c.HeadBucket(x, &s3.HeadBucketInput{Bucket: aws.String("vdel")})
	if statusOf(err) != http.StatusNotFound {
		t.Errorf("HeadBucket after delete: %v", err)
	}
}

// TestSDKConcurrentVersions: concurrent writers of one key each get their
// own version, exactly one of which is latest; while suspended, they leave
// exactly one null version.
func TestSDKConcurrentVersions(t *testing.T) {
	ts := newServer(t)
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "race")
	setVersioning(t, c, "race", types.BucketVersioningStatusEnabled)
	const writers, each = 8, 5
	write := func() []string {
		ids := make([][]string, writers)
		errs := make(chan error, writers)
		for w := range writers {
			go func() {
				var err error
				for i := 0; i < each && err == nil; i++ {
					var out *s3.PutObjectOutput
					out, err = c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("race"), Key: aws.String("k"), Body: strings.NewReader(strconv.Itoa(w*each + i))})
					if err == nil {
						ids[w] = append(ids[w], aws.ToString(out.VersionId))
					}
				}
				errs <- err
			}()
		}
		for range writers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		return slices.Concat(ids...)
	}
	ids := write()
	slices.Sort(ids)
	if len(slices.Compact(slices.Clone(ids))) != writers*each {
		t.Fatalf("concurrent PUTs got %d distinct ids of %d", len(slices.Compact(slices.Clone(ids))), writers*each)
	}
	lv, err := c.ListObjectVersions(x, &s3.ListObjectVersionsInput{Bucket: aws.String("race")})
	if err != nil || len(lv.Versions) != writers*each {
		t.Fatalf("listed %d versions, %v; want %d", len(lv.Versions), err, writers*each)
	}
	var latest []string
	for _, v := range lv.Versions {
		if aws.ToBool(v.IsLatest) {
			latest = append(latest, aws.ToString(v.VersionId))
		}
	}
	head, err := c.HeadObject(x, &s3.HeadObjectInput{Bucket: aws.String("race"), Key: aws.String("k")})
	if err != nil || len(latest) != 1 || latest[0] != aws.ToString(head.VersionId) || aws.ToString(lv.Versions[0].VersionId) != latest[0] {
		t.Errorf("latest versions %q, HEAD version %q, first listed %q, %v", latest, aws.ToString(head.VersionId), aws.ToString(lv.Versions[0].VersionId), err)
	}

	setVersioning(t, c, "race", types.BucketVersioningStatusSuspended)
	for _, id := range write() {
		if id != "null" {
			t.Fatalf("suspended PUT got version %q", id)
		}
	}
	lv, err = c.ListObjectVersions(x, &s3.ListObjectVersionsInput{Bucket: aws.String("race")})
	if err != nil || len(lv.Versions) != writers*each+1 || aws.ToString(lv.Versions[0].VersionId) != "null" || !aws.ToBool(lv.Versions[0].IsLatest) {
		t.Errorf("after concurrent suspended PUTs: %d versions (first %q), %v; want %d with the null one latest",
			len(lv.Versions), aws.ToString(lv.Versions[0].VersionId), err, writers*each+1)
	}
}
