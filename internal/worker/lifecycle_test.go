package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/blob/mem"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/worker"
)

// lcFixture is an object service on the real embedded store whose clock the
// test moves forward; the worker reads the same clock.
type lcFixture struct {
	svc    *object.Service
	meta   meta.Store
	offset atomic.Int64
	lc     *worker.Lifecycle
	events *recordingRouter
}

// recordingRouter sends every event to one target, so the outbox shows
// which events a pass caused.
type recordingRouter struct{}

func (r *recordingRouter) Route(context.Context, string, string, string) ([]meta.Destination, error) {
	return []meta.Destination{{Target: "t", ConfigID: "all"}}, nil
}
func (r *recordingRouter) Committed() {}

func newLCFixture(t *testing.T) *lcFixture {
	t.Helper()
	ms, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ms.Close() })
	f := &lcFixture{meta: ms, events: &recordingRouter{}}
	now := func() time.Time { return time.Now().Add(time.Duration(f.offset.Load())) }
	f.svc = object.New(ms, mem.New(), object.Options{Now: now, Events: f.events})
	t.Cleanup(f.svc.Close)
	f.lc = &worker.Lifecycle{Objects: f.svc, Day: time.Hour, Now: now}
	return f
}

func (f *lcFixture) advance(d time.Duration) { f.offset.Add(int64(d)) }

func (f *lcFixture) bucket(t *testing.T, name string, versioned bool, rules string) {
	t.Helper()
	ctx := context.Background()
	if err := f.svc.CreateBucket(ctx, name, "o", "us-east-1", object.BucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if versioned {
		if err := f.svc.SetVersioning(ctx, name, meta.VersioningEnabled); err != nil {
			t.Fatal(err)
		}
	}
	doc := `<LifecycleConfiguration>` + rules + `</LifecycleConfiguration>`
	if err := f.svc.PutBucketConfig(ctx, name, worker.LifecycleConfig, []byte(doc)); err != nil {
		t.Fatal(err)
	}
}

func (f *lcFixture) put(t *testing.T, bucket, key string, a object.Attrs) string {
	t.Helper()
	res, err := f.svc.PutObject(context.Background(), object.PutInput{Bucket: bucket, Key: key, Body: bytes.NewReader([]byte(key)), Size: int64(len(key)), Attrs: a})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return res.VersionID
}

func (f *lcFixture) run(t *testing.T) worker.LifecycleProgress {
	t.Helper()
	if err := f.lc.Run(context.Background()); err != nil {
		t.Fatalf("lifecycle pass: %v", err)
	}
	var p worker.LifecycleProgress
	if err := json.Unmarshal([]byte(f.lc.Progress()), &p); err != nil {
		t.Fatal(err)
	}
	if !p.Finished {
		t.Errorf("progress after a pass = %+v, want finished", p)
	}
	return p
}

func (f *lcFixture) versions(t *testing.T, bucket string) []string {
	t.Helper()
	page, err := f.svc.ListObjectVersions(context.Background(), bucket, meta.VersionListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range page.Versions {
		s := v.Key + "@" + v.VersionID
		if v.DeleteMarker {
			s += "x"
		}
		out = append(out, s)
	}
	return out
}

func (f *lcFixture) eventNames(t *testing.T) []string {
	t.Helper()
	evs, err := f.meta.PendingEvents(context.Background(), "t", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range evs {
		if strings.HasPrefix(e.Name, "s3:LifecycleExpiration") {
			names = append(names, e.Name+" "+e.Key)
		}
	}
	return names
}

func TestLifecycleExpiresByPrefixAndTag(t *testing.T) {
	f := newLCFixture(t)
	f.bucket(t, "bbb", false, `
		<Rule><ID>logs</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter><Expiration><Days>2</Days></Expiration></Rule>
		<Rule><ID>tmp</ID><Status>Enabled</Status><Filter><Tag><Key>tmp</Key><Value>yes</Value></Tag></Filter><Expiration><Days>1</Days></Expiration></Rule>
		<Rule><ID>off</ID><Status>Disabled</Status><Filter><Prefix>keep/</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule>`)
	for _, k := range []string{"logs/a", "logs/b", "keep/a", "other"} {
		f.put(t, "bbb", k, object.Attrs{})
	}
	f.put(t, "bbb", "tagged", object.Attrs{Tags: map[string]string{"tmp": "yes"}})
	if p := f.run(t); p.Expired != 0 || p.Scanned != 5 {
		t.Fatalf("first pass = %+v, want 5 scanned and nothing due", p)
	}
	f.advance(90 * time.Minute) // 1.5 days of one hour
	if p := f.run(t); p.Expired != 1 {
		t.Errorf("after 1.5 days: %+v, want only the tagged object expired", p)
	}
	f.advance(time.Hour)
	f.run(t)
	got := f.versions(t, "bbb")
	if want := []string{"keep/a@null", "other@null"}; !slices.Equal(got, want) {
		t.Errorf("after 2.5 days: %q, want %q", got, want)
	}
	if names := f.eventNames(t); len(names) != 3 || !strings.HasPrefix(names[0], "s3:LifecycleExpiration:Delete ") {
		t.Errorf("lifecycle events = %q, want three s3:LifecycleExpiration:Delete", names)
	}
}

func TestLifecycleVersionedBucket(t *testing.T) {
	f := newLCFixture(t)
	ctx := context.Background()
	f.bucket(t, "vvv", true, `
		<Rule><ID>cur</ID><Status>Enabled</Status><Filter><Prefix>cur/</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule>
		<Rule><ID>old</ID><Status>Enabled</Status><Filter><Prefix>old/</Prefix></Filter>
			<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>
		<Rule><ID>markers</ID><Status>Enabled</Status><Filter><Prefix>gone/</Prefix></Filter><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`)
	var old []string
	for range 4 {
		old = append(old, f.put(t, "vvv", "old/k", object.Attrs{}))
	}
	cur := f.put(t, "vvv", "cur/k", object.Attrs{})
	marker, err := f.svc.DeleteObject(ctx, object.DeleteInput{Bucket: "vvv", Key: "gone/k"})
	if err != nil || !marker.DeleteMarker {
		t.Fatalf("marker = %+v, %v", marker, err)
	}
	// A held noncurrent version survives its rule.
	held := f.put(t, "vvv", "old/held", object.Attrs{})
	f.put(t, "vvv", "old/held", object.Attrs{})
	f.put(t, "vvv", "old/held", object.Attrs{})
	if _, err := f.meta.UpdateObject(ctx, "vvv", "old/held", held, meta.UpdateOptions{}, func(o *meta.Object) error { o.LegalHold = true; return nil }); err != nil {
		t.Fatal(err)
	}
	f.advance(3 * time.Hour)
	p := f.run(t)
	got := f.versions(t, "vvv")
	// cur/k gets a delete marker over its data; old/k keeps the current
	// version and the newest noncurrent one; the lone marker is removed;
	// old/held keeps its held version.
	for _, want := range []string{"old/k@" + old[3], "old/k@" + old[2], "cur/k@" + cur, "old/held@" + held} {
		if !slices.Contains(got, want) {
			t.Errorf("versions %q lack %s", got, want)
		}
	}
	for _, gone := range []string{"old/k@" + old[1], "old/k@" + old[0], "gone/k@" + marker.VersionID + "x"} {
		if slices.Contains(got, gone) {
			t.Errorf("versions %q still hold %s", got, gone)
		}
	}
	if _, err := f.svc.GetObject(ctx, object.GetInput{Bucket: "vvv", Key: "cur/k"}); !errors.Is(err, object.ErrDeleteMarker) {
		t.Errorf("GET cur/k after expiry err = %v, want a delete marker", err)
	}
	if p.Skipped == 0 {
		t.Errorf("progress %+v: the held version should count as skipped", p)
	}
	names := f.eventNames(t)
	if !slices.Contains(names, "s3:LifecycleExpiration:DeleteMarkerCreated cur/k") || !slices.Contains(names, "s3:LifecycleExpiration:Delete old/k") {
		t.Errorf("lifecycle events = %q", names)
	}
}

func TestLifecycleAbortsUploads(t *testing.T) {
	f := newLCFixture(t)
	ctx := context.Background()
	f.bucket(t, "uuu", false, `<Rule><ID>mpu</ID><Status>Enabled</Status><Filter><Prefix>big/</Prefix></Filter>
		<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`)
	in, err := f.svc.CreateUpload(ctx, object.CreateUploadInput{Bucket: "uuu", Key: "big/1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateUpload(ctx, object.CreateUploadInput{Bucket: "uuu", Key: "small/1"}); err != nil {
		t.Fatal(err)
	}
	f.run(t)
	f.advance(2 * time.Hour)
	if p := f.run(t); p.Aborted != 1 {
		t.Errorf("progress = %+v, want one upload aborted", p)
	}
	page, err := f.svc.ListUploads(ctx, "uuu", meta.UploadListOptions{})
	if err != nil || len(page.Uploads) != 1 || page.Uploads[0].Object.Key != "small/1" || page.Uploads[0].ID == in.ID {
		t.Errorf("uploads left = %+v, %v; want only small/1", page.Uploads, err)
	}
}

// TestLifecycleResumes: a pass resumes after the key its cursor names, and
// a finished pass clears the cursor so the next one starts over.
func TestLifecycleResumes(t *testing.T) {
	f := newLCFixture(t)
	ctx := context.Background()
	f.bucket(t, "rrr", false, `<Rule><ID>all</ID><Status>Enabled</Status><Filter></Filter><Expiration><Days>1</Days></Expiration></Rule>`)
	for _, k := range []string{"a", "b", "c", "d"} {
		f.put(t, "rrr", k, object.Attrs{})
	}
	f.advance(2 * time.Hour)
	if err := f.svc.PutBucketConfig(ctx, "rrr", "lifecycle-cursor", []byte(`{"prefix":0,"after":"b"}`)); err != nil {
		t.Fatal(err)
	}
	f.run(t)
	if got := f.versions(t, "rrr"); !slices.Equal(got, []string{"a@null", "b@null"}) {
		t.Errorf("resumed pass left %q, want a and b (before the cursor)", got)
	}
	if _, err := f.svc.BucketConfig(ctx, "rrr", "lifecycle-cursor"); !errors.Is(err, meta.ErrConfigNotFound) {
		t.Errorf("cursor after a finished pass: %v, want none", err)
	}
	f.run(t)
	if got := f.versions(t, "rrr"); len(got) != 0 {
		t.Errorf("second pass left %q", got)
	}
}
