package s3api_test

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// Backup tools (restic, kopia, Velero's plugins) reach versioning and
// object lock through minio-go; these tests drive the same flows as the SDK
// tests through its API.

func minioVersions(t *testing.T, mc *minio.Client, bucket, prefix string) []minio.ObjectInfo {
	t.Helper()
	var out []minio.ObjectInfo
	for o := range mc.ListObjects(ctx(t), bucket, minio.ListObjectsOptions{WithVersions: true, Recursive: true, Prefix: prefix}) {
		if o.Err != nil {
			t.Fatalf("listing versions: %v", o.Err)
		}
		out = append(out, o)
	}
	return out
}

func minioRead(t *testing.T, mc *minio.Client, bucket, key, vid string) (string, error) {
	t.Helper()
	obj, err := mc.GetObject(ctx(t), bucket, key, minio.GetObjectOptions{VersionID: vid})
	if err != nil {
		return "", err
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	return string(b), err
}

func TestMinioVersioning(t *testing.T) {
	ts := newServer(t)
	mc := ts.minio(t)
	x := ctx(t)
	if err := mc.MakeBucket(x, "mvers", minio.MakeBucketOptions{Region: region}); err != nil {
		t.Fatal(err)
	}
	if cfg, err := mc.GetBucketVersioning(x, "mvers"); err != nil || cfg.Status != "" || cfg.Enabled() {
		t.Errorf("versioning of a new bucket = %+v, %v", cfg, err)
	}
	if _, err := mc.PutObject(x, "mvers", "k", strings.NewReader("null"), 4, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := mc.EnableVersioning(x, "mvers"); err != nil {
		t.Fatal(err)
	}
	if cfg, err := mc.GetBucketVersioning(x, "mvers"); err != nil || !cfg.Enabled() {
		t.Fatalf("versioning after EnableVersioning = %+v, %v", cfg, err)
	}
	var ids []string
	for _, body := range []string{"one", "two"} {
		info, err := mc.PutObject(x, "mvers", "k", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if info.VersionID == "" || info.VersionID == "null" || slices.Contains(ids, info.VersionID) {
			t.Fatalf("PutObject version id %q (earlier %q)", info.VersionID, ids)
		}
		ids = append(ids, info.VersionID)
	}
	// minio-go lists newest first: two, one, then the null version.
	vs := minioVersions(t, mc, "mvers", "")
	if len(vs) != 3 || vs[0].VersionID != ids[1] || !vs[0].IsLatest || vs[1].VersionID != ids[0] || vs[1].IsLatest || vs[2].VersionID != "null" {
		t.Fatalf("versions = %+v", vs)
	}
	for vid, want := range map[string]string{ids[0]: "one", ids[1]: "two", "null": "null", "": "two"} {
		if got, err := minioRead(t, mc, "mvers", "k", vid); err != nil || got != want {
			t.Errorf("GetObject version %q = %q, %v; want %q", vid, got, err, want)
		}
	}
	if st, err := mc.StatObject(x, "mvers", "k", minio.StatObjectOptions{VersionID: ids[0]}); err != nil || st.VersionID != ids[0] || st.Size != 3 {
		t.Errorf("StatObject of %s = %+v, %v", ids[0], st, err)
	}
	// A copy from a given version.
	if _, err := mc.CopyObject(x, minio.CopyDestOptions{Bucket: "mvers", Object: "copy"},
		minio.CopySrcOptions{Bucket: "mvers", Object: "k", VersionID: ids[0]}); err != nil {
		t.Fatalf("CopyObject from %s: %v", ids[0], err)
	}
	if got, err := minioRead(t, mc, "mvers", "copy", ""); err != nil || got != "one" {
		t.Errorf("copy of %s = %q, %v", ids[0], got, err)
	}

	// RemoveObject without a version: a delete marker.
	if err := mc.RemoveObject(x, "mvers", "k", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	vs = minioVersions(t, mc, "mvers", "k")
	if len(vs) != 4 || !vs[0].IsDeleteMarker || !vs[0].IsLatest {
		t.Fatalf("after RemoveObject: %+v; want a latest delete marker over 3 versions", vs)
	}
	marker := vs[0].VersionID
	st, err := mc.StatObject(x, "mvers", "k", minio.StatObjectOptions{})
	if minio.ToErrorResponse(err).StatusCode != 404 || !st.IsDeleteMarker || st.VersionID != marker {
		t.Errorf("StatObject behind a marker = %+v, %v; want 404 naming marker %s", st, err, marker)
	}
	st, err = mc.StatObject(x, "mvers", "k", minio.StatObjectOptions{VersionID: marker})
	if minio.ToErrorResponse(err).Code != minio.MethodNotAllowed || !st.IsDeleteMarker {
		t.Errorf("StatObject of the marker by id = %+v, %v; want MethodNotAllowed", st, err)
	}
	// RemoveObject with the marker's id restores the key; with a version's
	// id removes it for good.
	if err := mc.RemoveObject(x, "mvers", "k", minio.RemoveObjectOptions{VersionID: marker}); err != nil {
		t.Fatal(err)
	}
	if err := mc.RemoveObject(x, "mvers", "k", minio.RemoveObjectOptions{VersionID: ids[1]}); err != nil {
		t.Fatal(err)
	}
	if got, err := minioRead(t, mc, "mvers", "k", ""); err != nil || got != "one" {
		t.Errorf("after removing the marker and %s: %q, %v; want one", ids[1], got, err)
	}

	// RemoveObjects with versions, the way tools empty a versioned bucket.
	objs := make(chan minio.ObjectInfo)
	go func() {
		defer close(objs)
		for _, o := range minioVersions(t, mc, "mvers", "") {
			objs <- o
		}
	}()
	n := 0
	for r := range mc.RemoveObjectsWithResult(x, "mvers", objs, minio.RemoveObjectsOptions{}) {
		if r.Err != nil {
			t.Errorf("removing %s@%s: %v", r.ObjectName, r.ObjectVersionID, r.Err)
		}
		n++
	}
	if n != 3 {
		t.Errorf("RemoveObjects reported %d results, want 3 (k@one, k@null, copy)", n)
	}
	if left := minioVersions(t, mc, "mvers", ""); len(left) != 0 {
		t.Errorf("left after removing every version: %+v", left)
	}

	// Suspended: PUT makes and replaces the null version; RemoveObject makes
	// a null marker.
	if err := mc.SuspendVersioning(x, "mvers"); err != nil {
		t.Fatal(err)
	}
	if cfg, err := mc.GetBucketVersioning(x, "mvers"); err != nil || !cfg.Suspended() {
		t.Errorf("versioning after SuspendVersioning = %+v, %v", cfg, err)
	}
	for _, body := range []string{"s1", "s2"} {
		if _, err := mc.PutObject(x, "mvers", "s", strings.NewReader(body), 2, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if vs := minioVersions(t, mc, "mvers", "s"); len(vs) != 1 || vs[0].VersionID != "null" {
		t.Errorf("suspended PUTs left %+v; want one null version", vs)
	}
	if err := mc.RemoveObject(x, "mvers", "s", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if vs := minioVersions(t, mc, "mvers", "s"); len(vs) != 1 || vs[0].VersionID != "null" || !vs[0].IsDeleteMarker {
		t.Errorf("suspended RemoveObject left %+v; want one null delete marker", vs)
	}
	if err := mc.RemoveBucket(x, "mvers"); minio.ToErrorResponse(err).Code != "BucketNotEmpty" {
		t.Errorf("RemoveBucket with a marker left: %v, want BucketNotEmpty", err)
	}
}

func TestMinioObjectLock(t *testing.T) {
	ts := newServer(t)
	mc := ts.minio(t)
	x := ctx(t)
	if err := mc.MakeBucket(x, "mlock", minio.MakeBucketOptions{Region: region, ObjectLocking: true}); err != nil {
		t.Fatal(err)
	}
	if cfg, err := mc.GetBucketVersioning(x, "mlock"); err != nil || !cfg.Enabled() {
		t.Errorf("versioning of a lock bucket = %+v, %v", cfg, err)
	}
	if err := mc.SuspendVersioning(x, "mlock"); minio.ToErrorResponse(err).Code != "InvalidBucketState" {
		t.Errorf("suspending a lock bucket: %v, want InvalidBucketState", err)
	}
	enabled, mode, validity, unit, err := mc.GetObjectLockConfig(x, "mlock")
	if err != nil || enabled != "Enabled" || mode != nil || validity != nil || unit != nil {
		t.Errorf("GetObjectLockConfig of a new lock bucket = %q %v %v %v, %v", enabled, mode, validity, unit, err)
	}
	gov, days, d := minio.Governance, uint(2), minio.Days
	if err := mc.SetObjectLockConfig(x, "mlock", &gov, &days, &d); err != nil {
		t.Fatalf("SetObjectLockConfig: %v", err)
	}
	enabled, mode, validity, unit, err = mc.GetObjectLockConfig(x, "mlock")
	if err != nil || enabled != "Enabled" || mode == nil || *mode != minio.Governance || validity == nil || *validity != 2 || unit == nil || *unit != minio.Days {
		t.Fatalf("GetObjectLockConfig = %q %v %v %v, %v", enabled, mode, validity, unit, err)
	}

	// The default applies to a new version.
	start := time.Now()
	info, err := mc.PutObject(x, "mlock", "k", strings.NewReader("data"), 4, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, until, err := mc.GetObjectRetention(x, "mlock", "k", info.VersionID)
	if err != nil || m == nil || *m != minio.Governance || until == nil || until.Sub(start.AddDate(0, 0, 2)).Abs() > time.Minute {
		t.Errorf("GetObjectRetention of a defaulted version = %v %v, %v", m, until, err)
	}
	if err := mc.RemoveObject(x, "mlock", "k", minio.RemoveObjectOptions{VersionID: info.VersionID}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Errorf("RemoveObject of a GOVERNANCE version: %v, want AccessDenied", err)
	}

	// Extend to COMPLIANCE: then not even the bypass removes it.
	comp := minio.Compliance
	later := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	if err := mc.PutObjectRetention(x, "mlock", "k", minio.PutObjectRetentionOptions{Mode: &comp, RetainUntilDate: &later, VersionID: info.VersionID}); err != nil {
		t.Fatalf("PutObjectRetention COMPLIANCE: %v", err)
	}
	if m, until, err := mc.GetObjectRetention(x, "mlock", "k", info.VersionID); err != nil || *m != minio.Compliance || !until.Equal(later) {
		t.Errorf("GetObjectRetention = %v %v, %v; want COMPLIANCE until %v", m, until, err, later)
	}
	earlier := later.Add(-time.Hour)
	if err := mc.PutObjectRetention(x, "mlock", "k", minio.PutObjectRetentionOptions{Mode: &comp, RetainUntilDate: &earlier,
		VersionID: info.VersionID, GovernanceBypass: true}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Errorf("shortening COMPLIANCE: %v, want AccessDenied", err)
	}
	if err := mc.RemoveObject(x, "mlock", "k", minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Errorf("RemoveObject of a COMPLIANCE version with the bypass: %v, want AccessDenied", err)
	}

	// Explicit lock options on PutObject, then a legal hold.
	soon := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	g, err := mc.PutObject(x, "mlock", "g", strings.NewReader("g"), 1, minio.PutObjectOptions{Mode: minio.Governance, RetainUntilDate: soon})
	if err != nil {
		t.Fatal(err)
	}
	if m, until, err := mc.GetObjectRetention(x, "mlock", "g", g.VersionID); err != nil || *m != minio.Governance || !until.Equal(soon) {
		t.Errorf("retention from PutObject options = %v %v, %v", m, until, err)
	}
	on, off := minio.LegalHoldEnabled, minio.LegalHoldDisabled
	if err := mc.PutObjectLegalHold(x, "mlock", "g", minio.PutObjectLegalHoldOptions{VersionID: g.VersionID, Status: &on}); err != nil {
		t.Fatalf("PutObjectLegalHold: %v", err)
	}
	if st, err := mc.GetObjectLegalHold(x, "mlock", "g", minio.GetObjectLegalHoldOptions{VersionID: g.VersionID}); err != nil || st == nil || *st != minio.LegalHoldEnabled {
		t.Errorf("GetObjectLegalHold = %v, %v", st, err)
	}
	if err := mc.RemoveObject(x, "mlock", "g", minio.RemoveObjectOptions{VersionID: g.VersionID, GovernanceBypass: true}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Errorf("RemoveObject under legal hold with the bypass: %v, want AccessDenied", err)
	}
	if err := mc.PutObjectLegalHold(x, "mlock", "g", minio.PutObjectLegalHoldOptions{VersionID: g.VersionID, Status: &off}); err != nil {
		t.Fatal(err)
	}
	if err := mc.RemoveObject(x, "mlock", "g", minio.RemoveObjectOptions{VersionID: g.VersionID}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Errorf("RemoveObject of a GOVERNANCE version without the bypass: %v, want AccessDenied", err)
	}
	if err := mc.RemoveObject(x, "mlock", "g", minio.RemoveObjectOptions{VersionID: g.VersionID, GovernanceBypass: true}); err != nil {
		t.Errorf("RemoveObject of a GOVERNANCE version with the bypass: %v", err)
	}

	// RemoveObjects with the bypass removes governed versions and reports
	// the compliant one as denied.
	g2, err := mc.PutObject(x, "mlock", "g2", strings.NewReader("g"), 1, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	objs := make(chan minio.ObjectInfo, 2)
	objs <- minio.ObjectInfo{Key: "k", VersionID: info.VersionID}
	objs <- minio.ObjectInfo{Key: "g2", VersionID: g2.VersionID}
	close(objs)
	denied := map[string]string{}
	for e := range mc.RemoveObjects(x, "mlock", objs, minio.RemoveObjectsOptions{GovernanceBypass: true}) {
		denied[e.ObjectName] = minio.ToErrorResponse(e.Err).Code
	}
	if len(denied) != 1 || denied["k"] != "AccessDenied" {
		t.Errorf("RemoveObjects with the bypass: errors %v; want only k denied", denied)
	}
	if vs := minioVersions(t, mc, "mlock", "g2"); len(vs) != 0 {
		t.Errorf("g2 left after RemoveObjects with the bypass: %+v", vs)
	}
	if got, err := minioRead(t, mc, "mlock", "k", info.VersionID); err != nil || got != "data" {
		t.Errorf("COMPLIANCE version after every attempt = %q, %v", got, err)
	}

	// Object lock on an existing bucket through minio-go, once versioned.
	if err := mc.MakeBucket(x, "mlater", minio.MakeBucketOptions{Region: region}); err != nil {
		t.Fatal(err)
	}
	if err := mc.SetObjectLockConfig(x, "mlater", nil, nil, nil); minio.ToErrorResponse(err).Code != "InvalidBucketState" {
		t.Errorf("object lock on an unversioned bucket: %v, want InvalidBucketState", err)
	}
	if _, _, _, _, err := mc.GetObjectLockConfig(x, "mlater"); minio.ToErrorResponse(err).Code != "ObjectLockConfigurationNotFoundError" {
		t.Errorf("GetObjectLockConfig without lock: %v", err)
	}
	if err := mc.EnableVersioning(x, "mlater"); err != nil {
		t.Fatal(err)
	}
	if err := mc.SetObjectLockConfig(x, "mlater", nil, nil, nil); err != nil {
		t.Errorf("object lock on a versioned bucket: %v", err)
	}
	if enabled, _, _, _, err := mc.GetObjectLockConfig(x, "mlater"); err != nil || enabled != "Enabled" {
		t.Errorf("GetObjectLockConfig after enabling = %q, %v", enabled, err)
	}
}
