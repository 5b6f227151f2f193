package mgmtapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/mgmtapi"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/session"
)

// tasksEnv is an env whose archives go to the test's own temp dir.
func tasksEnv(t *testing.T) *env {
	dir := t.TempDir()
	return newEnv(t, func(c *mgmtapi.Config) { c.TempDir = dir })
}

// tasksSecondInstance builds another API over e's store, services and
// clock, as a second stateless instance behind a load balancer would be,
// and returns an env whose clients talk to it.
func tasksSecondInstance(t *testing.T, e *env, opts ...envOpt) *env {
	t.Helper()
	cfg := mgmtapi.Config{
		IAM: e.iam, Objects: e.objects, Store: e.store, Sessions: e.sessions,
		Limiter: session.NewLimiter(e.store, nil), Shares: e.shares, Region: region,
		S3Endpoint: e.S3URL, TempDir: t.TempDir(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	api, err := mgmtapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		api.Close()
	})
	e2 := *e
	e2.t, e2.URL, e2.api = t, srv.URL, api
	return &e2
}

func tasksBucket(t *testing.T, e *env, name, owner string) {
	t.Helper()
	if err := e.objects.CreateBucket(context.Background(), name, owner, region, object.BucketOptions{}); err != nil {
		t.Fatal(err)
	}
}

func tasksPut(t *testing.T, e *env, bucket, key, contentType string, body []byte) {
	t.Helper()
	_, err := e.objects.PutObject(context.Background(), object.PutInput{Bucket: bucket, Key: key,
		Body: bytes.NewReader(body), Size: int64(len(body)), Attrs: object.Attrs{ContentType: contentType}})
	if err != nil {
		t.Fatal(err)
	}
}

// tasksPutMany writes small objects concurrently (the store groups
// concurrent commits, so this is much faster than one by one).
func tasksPutMany(t *testing.T, e *env, bucket string, keys []string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(keys))
	next := make(chan string)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				_, err := e.objects.PutObject(context.Background(), object.PutInput{Bucket: bucket, Key: k,
					Body: strings.NewReader(k), Size: int64(len(k))})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, k := range keys {
		next <- k
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func tasksCountKeys(t *testing.T, e *env, bucket, prefix string) int {
	t.Helper()
	n, after := 0, ""
	for {
		page, err := e.objects.ListObjects(context.Background(), bucket, meta.ListOptions{Prefix: prefix, After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Objects)
		if !page.Truncated {
			return n
		}
		after = page.NextAfter
	}
}

type tasksView struct {
	ID              string `json:"id"`
	TaskID          string `json:"task_id"`
	Type            string `json:"type"`
	Status          string `json:"status"`
	Bucket          string `json:"bucket"`
	Prefix          string `json:"prefix"`
	CreatedBy       string `json:"created_by"`
	CancelRequested bool   `json:"cancel_requested"`
	Files           int64  `json:"files"`
	Folders         int64  `json:"folders"`
	Total           int64  `json:"total"`
	Completed       int64  `json:"completed"`
	Failed          int64  `json:"failed"`
	Bytes           int64  `json:"bytes"`
	Errors          []struct {
		Key   string `json:"key"`
		Error string `json:"error"`
	} `json:"errors"`
	Error       string `json:"error"`
	DownloadURL string `json:"download_url"`
	Size        int64  `json:"size"`
}

func tasksStart(c *client, path string, body any) tasksView {
	c.e.t.Helper()
	var v tasksView
	c.do("POST", path, body).want(http.StatusAccepted).json(&v)
	if v.ID == "" || v.TaskID != v.ID || (v.Status != "queued" && v.Status != "running") {
		c.e.t.Fatalf("start answered %+v", v)
	}
	return v
}

// tasksWait polls until the task leaves queued/running. The deadline only
// keeps a broken runner from hanging the suite; nothing is timed.
func tasksWait(c *client, path string) tasksView {
	c.e.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var v tasksView
		c.do("GET", path, nil).want(http.StatusOK).json(&v)
		if v.Status != "queued" && v.Status != "running" {
			return v
		}
		if time.Now().After(deadline) {
			c.e.t.Fatalf("task still %s: %+v", v.Status, v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTaskCountPolledFromAnotherInstance(t *testing.T) {
	e := tasksEnv(t)
	e2 := tasksSecondInstance(t, e)
	tasksBucket(t, e, "cnt", rootUser)
	var keys []string
	for i := range 2500 {
		keys = append(keys, fmt.Sprintf("data/f%02d/k%04d", i%30, i))
	}
	keys = append(keys, "data/f00/deep/y.txt", "data/f07/", "data/", "top.txt")
	tasksPutMany(t, e, "cnt", keys)

	root, root2 := e.root(), e2.root()
	// Every level below data/: 2,501 files (the markers data/f07/ and
	// data/ are folders, not files) in 31 folders (f00..f29 and f00/deep).
	v := tasksStart(root, "/api/tasks/count", map[string]any{"bucket": "cnt", "prefix": "data/"})
	got := tasksWait(root2, "/api/tasks/"+v.ID)
	if got.Status != "done" || got.Files != 2501 || got.Folders != 31 || got.Type != "count" || got.CreatedBy != rootUser {
		t.Fatalf("count under data/: %+v", got)
	}
	// One level, with a delimiter: the 30 folders and no file.
	v = tasksStart(root2, "/api/tasks/count", map[string]any{"bucket": "cnt", "prefix": "data/", "delimiter": "/"})
	if got = tasksWait(root, "/api/tasks/"+v.ID); got.Status != "done" || got.Files != 0 || got.Folders != 30 {
		t.Fatalf("count one level under data/: %+v", got)
	}
	// The whole bucket through ra-hcp's route: data/ itself is a folder
	// now, and top.txt a file.
	var alias map[string]any
	root.do("POST", "/api/buckets/cnt/objects/s3_stats?prefix=", nil).want(http.StatusAccepted).json(&alias)
	id, _ := alias["task_id"].(string)
	if id == "" {
		t.Fatalf("s3_stats answered %v", alias)
	}
	if got = tasksWait(root2, "/api/buckets/cnt/objects/s3_stats/"+id); got.Files != 2502 || got.Folders != 32 {
		t.Fatalf("count of the bucket: %+v", got)
	}
	root2.do("GET", "/api/buckets/other/objects/s3_stats/"+id, nil).wantError(http.StatusNotFound, "TaskNotFound")
}

func TestTaskCreateRefusals(t *testing.T) {
	e := tasksEnv(t)
	tasksBucket(t, e, "ref", rootUser)
	root := e.root()
	wo := e.user("wo", "writeonly")
	for _, tc := range []struct {
		who    *client
		path   string
		body   any
		status int
		name   string
	}{
		{e.anon(), "/api/tasks/count", map[string]any{"bucket": "ref"}, 401, "Unauthorized"},
		{root, "/api/tasks/count", map[string]any{}, 400, "InvalidRequest"},
		{root, "/api/tasks/count", "{", 400, "InvalidJSON"},
		{root, "/api/tasks/count", map[string]any{"bucket": "nope"}, 404, "NoSuchBucket"},
		{root, "/api/tasks/count", map[string]any{"bucket": "ref", "keys": []string{"a"}}, 400, "InvalidRequest"},
		{wo, "/api/tasks/count", map[string]any{"bucket": "ref", "prefix": "x/"}, 403, "AccessDenied"},
		{root, "/api/tasks/zip", map[string]any{"bucket": "ref"}, 400, "InvalidRequest"},
		{root, "/api/tasks/zip", map[string]any{"bucket": "ref", "prefix": "", "keys": []string{"a"}}, 400, "InvalidRequest"},
		{root, "/api/tasks/zip", map[string]any{"bucket": "ref", "keys": []string{""}}, 400, "InvalidKey"},
		{root, "/api/tasks/zip", map[string]any{"bucket": "ref", "prefix": "", "delimiter": "/"}, 400, "InvalidRequest"},
		{wo, "/api/tasks/zip", map[string]any{"bucket": "ref", "prefix": ""}, 403, "AccessDenied"},
		{root, "/api/tasks/delete", map[string]any{"bucket": "ref"}, 400, "InvalidRequest"},
		{root, "/api/tasks/delete", map[string]any{"bucket": "ref", "prefix": "a", "keys": []string{"a"}}, 400, "InvalidRequest"},
		{wo, "/api/tasks/delete", map[string]any{"bucket": "ref", "prefix": "a"}, 403, "AccessDenied"},
		{root, "/api/buckets/nope/objects/download", map[string]any{"prefix": ""}, 404, "NoSuchBucket"},
	} {
		tc.who.do("POST", tc.path, tc.body).wantError(tc.status, tc.name)
	}
	many := make([]string, 10001)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	root.do("POST", "/api/tasks/zip", map[string]any{"bucket": "ref", "keys": many}).wantError(400, "InvalidRequest")

	// Polling, cancelling and downloading unknown or malformed ids.
	for _, id := range []string{"0123456789abcdef0123456789abcdef", "nope", "0123456789ABCDEF0123456789ABCDEF"} {
		root.do("GET", "/api/tasks/"+id, nil).wantError(404, "TaskNotFound")
		root.do("POST", "/api/tasks/"+id+"/cancel", nil).wantError(404, "TaskNotFound")
		root.do("DELETE", "/api/tasks/"+id, nil).wantError(404, "TaskNotFound")
		root.do("GET", "/api/tasks/"+id+"/download", nil).wantError(404, "TaskNotFound")
	}
	e.anon().do("GET", "/api/tasks", nil).wantError(401, "Unauthorized")
	e.anon().do("GET", "/api/tasks/0123456789abcdef0123456789abcdef", nil).wantError(401, "Unauthorized")
}

// tasksReadZip reads an archive back into name -> contents, and the
// method of each entry.
func tasksReadZip(t *testing.T, data []byte) (map[string]string, map[string]uint16) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("reading archive: %v", err)
	}
	files, methods := map[string]string{}, map[string]uint16{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("opening %s: %v", f.Name, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("reading %s: %v", f.Name, err)
		}
		files[f.Name], methods[f.Name] = string(b), f.Method
	}
	return files, methods
}

// tasksBody downloads path's body.
func tasksBody(c *client, path string) []byte { return c.do("GET", path, nil).want(200).Body }

func TestTaskZip(t *testing.T) {
	e := tasksEnv(t)
	ctx := context.Background()
	tasksBucket(t, e, "zips", rootUser)
	big := make([]byte, 300<<10) // beyond the inline threshold: a blob
	rand.Read(big)
	text := strings.Repeat("all work and no play makes a dull archive\n", 200)
	tasksPut(t, e, "zips", "docs/a.txt", "text/plain", []byte(text))
	tasksPut(t, e, "zips", "docs/photo.jpg", "image/jpeg", big[:5000])
	tasksPut(t, e, "zips", "docs/sub/big.bin", "application/octet-stream", big)
	tasksPut(t, e, "zips", "docs/sub/", "", nil)
	tasksPut(t, e, "zips", "docs/secret/s.txt", "text/plain", []byte("classified"))
	tasksPut(t, e, "zips", "docs/../../escape", "text/plain", []byte("dots"))
	tasksPut(t, e, "zips", "other.txt", "text/plain", []byte("not under docs/"))
	deny := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::*"},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::zips/docs/secret/*"}]}`
	if _, err := e.iam.CreatePolicy(ctx, "nosecret", []byte(deny)); err != nil {
		t.Fatal(err)
	}
	zipper := e.user("zipper", "nosecret")
	other := e.user("other", "readwrite")

	v := tasksStart(zipper, "/api/tasks/zip", map[string]any{"bucket": "zips", "prefix": "docs/"})
	got := tasksWait(zipper, "/api/tasks/"+v.ID)
	if got.Status != "done" || got.Total != 6 || got.Completed != 5 || got.Failed != 1 || len(got.Errors) != 1 ||
		got.Errors[0].Key != "docs/secret/s.txt" || !strings.Contains(got.Errors[0].Error, "AccessDenied") ||
		got.DownloadURL != "/api/tasks/"+v.ID+"/download" || got.Size == 0 {
		t.Fatalf("zip of docs/: %+v", got)
	}
	// Only the creator (or an admin) sees, downloads or cancels it.
	other.do("GET", "/api/tasks/"+v.ID, nil).wantError(403, "AccessDenied")
	other.do("GET", got.DownloadURL, nil).wantError(403, "AccessDenied")
	other.do("POST", "/api/tasks/"+v.ID+"/cancel", nil).wantError(403, "AccessDenied")
	other.do("DELETE", "/api/tasks/"+v.ID, nil).wantError(403, "AccessDenied")
	e.anon().do("GET", got.DownloadURL, nil).wantError(401, "Unauthorized")
	e.user("boss", "admin").do("GET", "/api/tasks/"+v.ID, nil).want(200)
	zipper.do("POST", "/api/tasks/"+v.ID+"/cancel", nil).wantError(409, "TaskFinished")

	r := zipper.do("GET", got.DownloadURL, nil).want(200)
	if ct, cd := r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"); ct != "application/zip" ||
		cd != `attachment; filename=zips-objects.zip` {
		t.Fatalf("download headers: %q, %q", ct, cd)
	}
	if int64(len(r.Body)) != got.Size || r.Header.Get("X-Zip-Failed") != "1" {
		t.Fatalf("downloaded %d bytes (task says %d), X-Zip-Failed %q", len(r.Body), got.Size, r.Header.Get("X-Zip-Failed"))
	}
	files, methods := tasksReadZip(t, r.Body)
	want := map[string]string{
		"docs/a.txt":          text,
		"docs/photo.jpg":      string(big[:5000]),
		"docs/sub/big.bin":    string(big),
		"docs/sub/":           "",
		"docs/_../_../escape": "dots",
	}
	for name, body := range want {
		if files[name] != body {
			t.Errorf("entry %q: %d bytes, want %d", name, len(files[name]), len(body))
		}
	}
	if !strings.Contains(files["ERRORS.txt"], `"docs/secret/s.txt"`) || !strings.Contains(files["ERRORS.txt"], "AccessDenied") {
		t.Errorf("ERRORS.txt = %q", files["ERRORS.txt"])
	}
	if len(files) != len(want)+1 {
		t.Errorf("archive holds %d entries: %v", len(files), slices.Sorted(func(yield func(string) bool) {
			for k := range files {
				if !yield(k) {
					return
				}
			}
		}))
	}
	if methods["docs/a.txt"] != zip.Deflate || methods["docs/photo.jpg"] != zip.Store {
		t.Errorf("methods: text %d, jpeg %d", methods["docs/a.txt"], methods["docs/photo.jpg"])
	}
	// A browser link: a one-time ticket for this task stands in for the
	// session.
	var tk struct{ Ticket string }
	zipper.do("POST", "/api/auth/sse-ticket", map[string]any{"resourceType": "task", "resource": v.ID}).want(200).json(&tk)
	link := got.DownloadURL + "?ticket=" + tk.Ticket
	if r := e.anon().do("GET", link, nil).want(200); !bytes.Equal(r.Body, tasksBody(zipper, got.DownloadURL)) {
		t.Error("the ticketed download differs")
	}
	e.anon().do("GET", link, nil).want(http.StatusUnauthorized)
	zipper.do("POST", "/api/auth/sse-ticket", map[string]any{"resourceType": "task", "resource": "0123456789abcdef0123456789abcdef"}).
		want(200).json(&tk)
	e.anon().do("GET", got.DownloadURL+"?ticket="+tk.Ticket, nil).want(http.StatusUnauthorized)

	// A range of the archive, as a resumed download asks.
	zipper.header.Set("Range", "bytes=0-3")
	if r := zipper.do("GET", got.DownloadURL, nil).want(http.StatusPartialContent); string(r.Body) != "PK\x03\x04" {
		t.Errorf("first bytes %q", r.Body)
	}
	zipper.header.Del("Range")

	// Explicit keys through ra-hcp's route, one of them missing (as if
	// deleted between listing and reading): listed, not fatal.
	var started map[string]any
	zipper.do("POST", "/api/buckets/zips/objects/download", map[string]any{"keys": []string{"docs/a.txt", "docs/gone", "other.txt"}}).
		want(http.StatusAccepted).json(&started)
	id := started["task_id"].(string)
	got = tasksWait(zipper, "/api/tasks/"+id)
	if got.Status != "done" || got.Total != 3 || got.Completed != 2 || got.Failed != 1 || got.Errors[0].Key != "docs/gone" ||
		!strings.Contains(got.Errors[0].Error, "NoSuchKey") {
		t.Fatalf("zip of keys: %+v", got)
	}
	r = zipper.do("GET", "/api/buckets/zips/objects/download/"+id, nil).want(200)
	files, _ = tasksReadZip(t, r.Body)
	if files["docs/a.txt"] != text || files["other.txt"] != "not under docs/" || !strings.Contains(files["ERRORS.txt"], "docs/gone") {
		t.Fatalf("archive of keys holds %d entries", len(files))
	}

	// Nothing readable: the task fails and has no download.
	v = tasksStart(zipper, "/api/tasks/zip", map[string]any{"bucket": "zips", "keys": []string{"docs/secret/s.txt", "nothing"}})
	if got = tasksWait(zipper, "/api/tasks/"+v.ID); got.Status != "failed" || got.Failed != 2 || got.Error == "" {
		t.Fatalf("zip of unreadable keys: %+v", got)
	}
	zipper.do("GET", "/api/tasks/"+v.ID+"/download", nil).wantError(409, "TaskNotReady")
	var poll tasksView
	zipper.do("GET", "/api/buckets/zips/objects/download/"+v.ID, nil).want(200).json(&poll)
	if poll.Status != "failed" {
		t.Fatalf("ra-hcp poll of a failed zip: %+v", poll)
	}
	// A count task has no download.
	v = tasksStart(zipper, "/api/tasks/count", map[string]any{"bucket": "zips"})
	tasksWait(zipper, "/api/tasks/"+v.ID)
	zipper.do("GET", "/api/tasks/"+v.ID+"/download", nil).wantError(400, "InvalidRequest")

	// Forgetting a finished zip removes it and its archive.
	zipper.do("DELETE", "/api/tasks/"+id, nil).want(http.StatusNoContent)
	zipper.do("GET", "/api/tasks/"+id, nil).wantError(404, "TaskNotFound")
	zipper.do("GET", "/api/tasks/"+id+"/download", nil).wantError(404, "TaskNotFound")
}

func TestTaskDeleteWithCancel(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, func(c *mgmtapi.Config) { c.TempDir = dir })
	e2 := tasksSecondInstance(t, e)
	tasksBucket(t, e, "del", rootUser)
	var keys []string
	for i := range 3000 {
		keys = append(keys, fmt.Sprintf("a/k%05d", i), fmt.Sprintf("b/k%05d", i))
	}
	tasksPutMany(t, e, "del", keys)
	root, root2 := e.root(), e2.root()

	// A zip cancelled as it starts leaves no file behind.
	v := tasksStart(root, "/api/tasks/zip", map[string]any{"bucket": "del", "prefix": "a/"})
	root.do("POST", "/api/tasks/"+v.ID+"/cancel", nil).want(http.StatusAccepted)
	if got := tasksWait(root2, "/api/tasks/"+v.ID); got.Status != "cancelled" || got.DownloadURL != "" {
		t.Fatalf("cancelled zip: %+v", got)
	}
	if files := tasksArchives(t, dir); len(files) != 0 {
		t.Fatalf("a cancelled zip left %v", files)
	}
	root.do("GET", "/api/tasks/"+v.ID+"/download", nil).wantError(409, "TaskNotReady")

	// Cancelled on the instance that runs it, right after it starts: the
	// runner stops at its next key.
	v = tasksStart(root, "/api/tasks/delete", map[string]any{"bucket": "del", "prefix": "a/"})
	var c tasksView
	root.do("POST", "/api/tasks/"+v.ID+"/cancel", nil).want(http.StatusAccepted).json(&c)
	if !c.CancelRequested {
		t.Fatalf("cancel answered %+v", c)
	}
	got := tasksWait(root2, "/api/tasks/"+v.ID)
	left := tasksCountKeys(t, e, "del", "a/")
	if got.Status != "cancelled" || left == 0 || int64(3000-left) != got.Completed {
		t.Fatalf("cancelled delete: %+v, %d keys left", got, left)
	}
	t.Logf("cancelled locally after %d of 3000 keys", got.Completed)
	root.do("POST", "/api/tasks/"+v.ID+"/cancel", nil).wantError(409, "TaskFinished")

	// Cancelled through another instance, with DELETE: only the flag in
	// the record tells the runner.
	v = tasksStart(root, "/api/tasks/delete", map[string]any{"bucket": "del", "prefix": "b/"})
	root2.do("DELETE", "/api/tasks/"+v.ID, nil).want(http.StatusAccepted)
	got = tasksWait(root2, "/api/tasks/"+v.ID)
	if left := tasksCountKeys(t, e, "del", "b/"); got.Status != "cancelled" || left == 0 {
		t.Fatalf("delete cancelled from another instance: %+v, %d keys left", got, left)
	}
	t.Logf("cancelled remotely after %d of 3000 keys", got.Completed)
	root2.do("DELETE", "/api/tasks/"+v.ID, nil).want(http.StatusNoContent)
	root.do("GET", "/api/tasks/"+v.ID, nil).wantError(404, "TaskNotFound")
}

// tasksArchives lists the files in an instance's archive directory.
func tasksArchives(t *testing.T, tempDir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(tempDir, "coffer-tasks"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// An archive goes once its task has expired, even if no instance that
// knew the task is left: the sweep of any instance sharing the directory
// removes it.
func TestTaskArchiveRemovedAfterExpiry(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, func(c *mgmtapi.Config) { c.TempDir = dir })
	tasksBucket(t, e, "exp", rootUser)
	tasksPut(t, e, "exp", "a", "text/plain", []byte("a"))
	root := e.root()
	v := tasksStart(root, "/api/tasks/zip", map[string]any{"bucket": "exp", "keys": []string{"a"}})
	got := tasksWait(root, "/api/tasks/"+v.ID)
	if files := tasksArchives(t, dir); got.Status != "done" || len(files) != 1 || !strings.HasPrefix(files[0], v.ID) {
		t.Fatalf("done zip %+v, files %v", got, files)
	}
	root.do("GET", got.DownloadURL, nil).want(200)
	// An instance whose clock is a day and more ahead sweeps at start.
	tasksSecondInstance(t, e, func(c *mgmtapi.Config) {
		c.TempDir = dir
		c.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	})
	deadline := time.Now().Add(time.Minute)
	for len(tasksArchives(t, dir)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("archive still there: %v", tasksArchives(t, dir))
		}
		time.Sleep(10 * time.Millisecond)
	}
	root.do("GET", got.DownloadURL, nil).wantError(404, "ArchiveNotFound")
}

func TestTaskDeleteAuthorizedPerKey(t *testing.T) {
	e := tasksEnv(t)
	ctx := context.Background()
	tasksBucket(t, e, "perkey", rootUser)
	tasksPutMany(t, e, "perkey", []string{"p/1", "p/2", "p/keep/3", "p/4", "q/5"})
	deny := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:ListBucket","s3:DeleteObject"],"Resource":"arn:aws:s3:::*"},
		{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::perkey/p/keep/*"}]}`
	if _, err := e.iam.CreatePolicy(ctx, "keepsome", []byte(deny)); err != nil {
		t.Fatal(err)
	}
	u := e.user("deleter", "keepsome")
	v := tasksStart(u, "/api/tasks/delete", map[string]any{"bucket": "perkey", "prefix": "p/"})
	got := tasksWait(u, "/api/tasks/"+v.ID)
	if got.Status != "done" || got.Total != 4 || got.Completed != 3 || got.Failed != 1 || got.Errors[0].Key != "p/keep/3" {
		t.Fatalf("delete: %+v", got)
	}
	if n := tasksCountKeys(t, e, "perkey", ""); n != 2 {
		t.Fatalf("%d keys left, want p/keep/3 and q/5", n)
	}
}

func TestTaskList(t *testing.T) {
	e := tasksEnv(t)
	tasksBucket(t, e, "lst", rootUser)
	alice, bob := e.user("alice", "readonly"), e.user("bob", "readonly")
	a1 := tasksStart(alice, "/api/tasks/count", map[string]any{"bucket": "lst"})
	b1 := tasksStart(bob, "/api/tasks/count", map[string]any{"bucket": "lst"})
	tasksWait(alice, "/api/tasks/"+a1.ID)
	tasksWait(bob, "/api/tasks/"+b1.ID)
	ids := func(c *client, q string) []string {
		var out struct{ Tasks []tasksView }
		c.do("GET", "/api/tasks"+q, nil).want(200).json(&out)
		var ids []string
		for _, v := range out.Tasks {
			ids = append(ids, v.ID)
		}
		slices.Sort(ids)
		return ids
	}
	if got := ids(alice, ""); !slices.Equal(got, []string{a1.ID}) {
		t.Errorf("alice lists %v", got)
	}
	if got, want := ids(e.root(), "?all=true"), []string{a1.ID, b1.ID}; !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("root lists %v", got)
	}
	if got := ids(e.root(), ""); len(got) != 0 {
		t.Errorf("root's own tasks: %v", got)
	}
	alice.do("GET", "/api/tasks?all=true", nil).wantError(403, "AccessDenied")
}

// A task whose instance died stops heartbeating; the next poll, on any
// instance, reports it interrupted and records that.
func TestTaskInterruptedWhenHeartbeatStops(t *testing.T) {
	e := tasksEnv(t)
	ctx := context.Background()
	id := "00112233445566778899aabbccddeeff"
	old := time.Now().Add(-time.Hour).UTC()
	rec := map[string]any{"id": id, "type": "delete", "status": "running", "bucket": "gone", "prefix": "x/",
		"owner": map[string]any{"name": rootUser, "root": true}, "instance": "deadbeef",
		"created": old, "started": old, "heartbeat": old, "progress": map[string]any{"total": 10, "completed": 4}}
	data, _ := json.Marshal(rec)
	if _, err := e.store.PutRecord(ctx, meta.Record{Kind: "task", ID: id, Data: data, Rev: meta.RevNew, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var got tasksView
	e.root().do("GET", "/api/tasks/"+id, nil).want(200).json(&got)
	if got.Status != "interrupted" || got.Completed != 4 || got.Error == "" {
		t.Fatalf("stale task: %+v", got)
	}
	stored, err := e.store.GetRecord(ctx, "task", id)
	if err != nil || !strings.Contains(string(stored.Data), `"status":"interrupted"`) {
		t.Fatalf("stored: %s, %v", stored.Data, err)
	}
	e.root().do("POST", "/api/tasks/"+id+"/cancel", nil).wantError(409, "TaskFinished")
}

// Closing an instance interrupts the tasks it runs, and says so in their
// records, which another instance then reports.
func TestTaskCloseInterrupts(t *testing.T) {
	e := tasksEnv(t)
	e2 := tasksSecondInstance(t, e)
	tasksBucket(t, e, "intr", rootUser)
	var keys []string
	for i := range 3000 {
		keys = append(keys, fmt.Sprintf("k%05d", i))
	}
	tasksPutMany(t, e, "intr", keys)
	v := tasksStart(e2.root(), "/api/tasks/delete", map[string]any{"bucket": "intr", "prefix": ""})
	e2.api.Close()
	var got tasksView
	e.root().do("GET", "/api/tasks/"+v.ID, nil).want(200).json(&got)
	if left := tasksCountKeys(t, e, "intr", ""); got.Status != "interrupted" || left == 0 {
		t.Fatalf("after close: %+v, %d keys left", got, left)
	}
	t.Logf("interrupted after %d of 3000 keys", got.Completed)
	// A closed instance starts nothing.
	var late tasksView
	e2.root().do("POST", "/api/tasks/count", map[string]any{"bucket": "intr"}).want(http.StatusAccepted).json(&late)
	if got := tasksWait(e.root(), "/api/tasks/"+late.ID); got.Status != "interrupted" {
		t.Fatalf("task started after close: %+v", got)
	}
}

// Permission parity: a count task (s3:ListBucket) is refused exactly when
// S3's ListObjectsV2 is.
func TestTaskPermissionParity(t *testing.T) {
	e := tasksEnv(t)
	users := sharesParityUsers(e)
	tasksBucket(t, e, "parity", "owner")
	for _, u := range users {
		c := u.c
		key, err := e.iam.CreateAccessKey(context.Background(), iam.AccessKeyInput{User: u.name})
		if err != nil {
			t.Fatal(err)
		}
		_, s3err := sharesS3(e, key.AccessKey, key.Secret).ListObjectsV2(context.Background(), sharesListInput("parity"))
		r := c.do("POST", "/api/tasks/count", map[string]any{"bucket": "parity"})
		if (s3err == nil) != (r.Status == http.StatusAccepted) {
			t.Errorf("%s: S3 ListObjectsV2 err %v, /api count task %d %s", u.name, s3err, r.Status, r.Body)
		}
	}
}

// FuzzTaskRequest: whatever the body, creating a task answers a client
// error or 202, never a server error.
func FuzzTaskRequest(f *testing.F) {
	e := newEnv(f, func(c *mgmtapi.Config) { c.TempDir = f.TempDir() })
	if err := e.objects.CreateBucket(context.Background(), "fuzz", rootUser, region, object.BucketOptions{}); err != nil {
		f.Fatal(err)
	}
	root := e.root()
	f.Add("zip", `{"bucket":"fuzz","keys":["a","b"]}`)
	f.Add("count", `{"bucket":"fuzz","prefix":"x/","delimiter":"/"}`)
	f.Add("delete", `{"bucket":"fuzz","prefix":"nothing-here/"}`)
	f.Add("zip", `{"bucket":"fuzz","prefix":null}`)
	f.Add("count", `{"bucket":"fuzz","keys":[""]}`)
	f.Add("zip", `{"bucket":"fuzz","keys":["\u0000../x"]}`)
	f.Fuzz(func(t *testing.T, typ, body string) {
		if typ != "zip" && typ != "count" {
			typ = "delete" // harmless: the only bucket is empty
		}
		r := sharesFuzzClient(t, root).do("POST", "/api/tasks/"+typ, body)
		if r.Status >= 500 || r.Status < 200 {
			t.Fatalf("%s %q: %d %s", typ, body, r.Status, r.Body)
		}
	})
}
