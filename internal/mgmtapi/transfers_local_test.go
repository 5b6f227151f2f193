package mgmtapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cofferstore/coffer/internal/mgmtapi"
	"github.com/cofferstore/coffer/internal/object"
)

// transfersLocalFixture is an env with one local location ("local-0"),
// and beside it a directory the location must never reach.
type transfersLocalFixture struct {
	e       *env
	loc     string
	outside string
}

const transfersLocalSecret = "outside the location: never transferred"

func transfersLocalSetup(t *testing.T) *transfersLocalFixture {
	t.Helper()
	base := t.TempDir()
	f := &transfersLocalFixture{loc: filepath.Join(base, "loc"), outside: filepath.Join(base, "outside")}
	for _, d := range []string{f.loc, f.outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(f.outside, "secret.txt"), []byte(transfersLocalSecret), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	f.e = newEnv(t, func(c *mgmtapi.Config) {
		c.TempDir = tmp
		c.LocalLocations = []mgmtapi.LocalLocation{{ID: "local-0", Name: "Data", Path: f.loc}}
	})
	return f
}

// write creates rel (slash-separated) under the location with random
// content of n bytes, and returns the content.
func (f *transfersLocalFixture) write(t *testing.T, rel string, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	p := filepath.Join(f.loc, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

func (f *transfersLocalFixture) read(t *testing.T, rel string) ([]byte, bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.loc, filepath.FromSlash(rel)))
	if os.IsNotExist(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return data, true
}

// files lists every regular file under rel, slash-separated, relative to
// the location, failing on a temporary file left behind.
func (f *transfersLocalFixture) files(t *testing.T, rel string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(f.loc, filepath.FromSlash(rel))
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".coffer-upload-") {
			t.Errorf("temporary file left: %s", p)
		}
		if d.Type().IsRegular() {
			r, _ := filepath.Rel(f.loc, p)
			out = append(out, filepath.ToSlash(r))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func transfersLocalEP(path string) map[string]string {
	return map[string]string{"type": "local", "locationId": "local-0", "path": path}
}

// transfersLocalRun starts a transfer as c and reads its progress stream
// to the final event.
func transfersLocalRun(t *testing.T, c *client, body map[string]any) (transfersCreated, transfersEvent) {
	t.Helper()
	v := transfersStart(c, body)
	hdr := http.Header{"Authorization": {"Bearer " + c.bearer}}
	last := transfersCheckStream(t, v.JobID, transfersStream(t, c.e.URL+v.SSEURL, hdr))
	return v, last
}

func TestTransferLocalFolderToBucket(t *testing.T) {
	f := transfersLocalSetup(t)
	e := f.e
	tasksBucket(t, e, "upl", rootUser)
	want := map[string][]byte{}
	var total int64
	for i, rel := range []string{"f0.txt", "f1.bin", "a/f2.txt", "a/f3.csv", "a/b/f4", "a/b/f5.json",
		"a/b/c/f6.txt", "a/b/c/f7", "d/f8.bin", "d/e/f9.txt"} {
		n := 1000*i + 7
		if i == 4 {
			n = 300 << 10 // beyond any inline threshold
		}
		want["backup/data/"+rel] = f.write(t, "data/"+rel, n)
		total += int64(n)
	}
	// A link out of the location is skipped, however deep.
	if err := os.Symlink("../../../outside/secret.txt", filepath.Join(f.loc, "data", "a", "escape.txt")); err != nil {
		t.Fatal(err)
	}
	f.write(t, "other/not-sent.txt", 10)
	root := e.root()
	body := transfersBody(transfersLocalEP("/"), transfersEP("upl", "backup"), transfersDir("data"))
	v, last := transfersLocalRun(t, root, body)
	if v.FilesQueued != 10 || v.EstimatedBytes != total {
		t.Fatalf("queued %d files, %d bytes; want 10, %d", v.FilesQueued, v.EstimatedBytes, total)
	}
	if j := last.Job; last.Type != "complete" || j.FilesCompleted != 10 || j.FilesFailed != 0 || j.BytesTransferred != total {
		t.Fatalf("final event %+v", last)
	}
	got := transfersKeys(t, e, "upl", "")
	if len(got) != len(want) {
		t.Fatalf("bucket has %d keys, want %d: %v", len(got), len(want), keysOf(got))
	}
	for k, data := range want {
		if g, ok := got[k]; !ok || !bytes.Equal([]byte(g), data) {
			t.Fatalf("%s: present %v, %d bytes, want %d", k, ok, len(g), len(data))
		}
	}
	for k, body := range got {
		if strings.Contains(k, "escape") || strings.Contains(body, transfersLocalSecret) {
			t.Fatalf("the escaping link was transferred as %s", k)
		}
	}
	if len(f.files(t, "data")) != 10 {
		t.Fatal("a copy removed sources")
	}
	// As a task, it names the bucket it wrote.
	if tv := tasksWait(root, "/api/tasks/"+v.JobID); tv.Type != "transfer" || tv.Bucket != "upl" || tv.Completed != 10 {
		t.Fatalf("as a task: %+v", tv)
	}

	// Every destination key exists now.
	var cc struct{ Conflicts, NonConflicting []string }
	root.do("POST", "/api/transfer/check-conflicts", body).want(http.StatusOK).json(&cc)
	if len(cc.Conflicts) != 10 || len(cc.NonConflicting) != 0 {
		t.Fatalf("check-conflicts: %+v", cc)
	}

	// Again with skip: nothing is rewritten.
	f.write(t, "data/f0.txt", 5)
	body["conflictResolution"] = "skip"
	_, last = transfersLocalRun(t, root, body)
	if last.Type != "complete" || last.Job.FilesSkipped != 10 {
		t.Fatalf("skip: %+v", last)
	}
	if !bytes.Equal([]byte(transfersKeys(t, e, "upl", "backup/data/f0.txt")["backup/data/f0.txt"]), want["backup/data/f0.txt"]) {
		t.Fatal("skip overwrote a key")
	}
	// A single file item with rename keeps both.
	body = transfersBody(transfersLocalEP("data"), transfersEP("upl", "backup/data"), transfersFile("f0.txt"))
	body["conflictResolution"] = "rename"
	if _, last = transfersLocalRun(t, root, body); last.Type != "complete" || last.Job.FilesCompleted != 1 {
		t.Fatalf("rename: %+v", last)
	}
	now, _ := f.read(t, "data/f0.txt")
	if g := transfersKeys(t, e, "upl", "backup/data/f0_1.txt")["backup/data/f0_1.txt"]; !bytes.Equal([]byte(g), now) {
		t.Fatalf("renamed copy has %d bytes, want %d", len(g), len(now))
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestTransferBucketToLocal(t *testing.T) {
	f := transfersLocalSetup(t)
	e := f.e
	tasksBucket(t, e, "down", rootUser)
	want := map[string][]byte{}
	for i, k := range []string{"set/a.txt", "set/b.bin", "set/x/c.txt", "set/x/y/d", "set/x/y/e.json", "set/z/f"} {
		data := make([]byte, 500*i+3)
		if i == 1 {
			data = make([]byte, 300<<10)
		}
		rand.Read(data)
		tasksPut(t, e, "down", k, "application/octet-stream", data)
		want["restore/"+k] = data
	}
	tasksPut(t, e, "down", "set/empty/", "application/x-directory", nil)
	tasksPut(t, e, "down", "elsewhere/g", "text/plain", []byte("not transferred"))
	root := e.root()
	body := transfersBody(transfersEP("down", ""), transfersLocalEP("/restore"), transfersDir("set/"))

	// Nothing is there yet: no conflicts.
	var cc struct{ Conflicts, NonConflicting []string }
	root.do("POST", "/api/transfer/check-conflicts", body).want(http.StatusOK).json(&cc)
	if len(cc.Conflicts) != 0 || len(cc.NonConflicting) != 7 {
		t.Fatalf("check-conflicts before: %+v", cc)
	}

	check := func(label string) {
		t.Helper()
		got := f.files(t, "restore")
		if len(got) != len(want) {
			t.Fatalf("%s: %d files, want %d: %v", label, len(got), len(want), got)
		}
		for rel, data := range want {
			if g, ok := f.read(t, rel); !ok || !bytes.Equal(g, data) {
				t.Fatalf("%s: %s present %v, %d bytes, want %d", label, rel, ok, len(g), len(data))
			}
		}
	}
	v, last := transfersLocalRun(t, root, body)
	if v.FilesQueued != 7 || last.Type != "complete" || last.Job.FilesCompleted != 7 || last.Job.FilesFailed != 0 {
		t.Fatalf("queued %+v, final %+v", v, last)
	}
	check("first")
	if fi, err := os.Stat(filepath.Join(f.loc, "restore", "set", "empty")); err != nil || !fi.IsDir() {
		t.Fatalf("the folder marker made no directory: %v", err)
	}
	if len(transfersKeys(t, e, "down", "set/")) != 7 {
		t.Fatal("a copy removed keys")
	}

	// Now every file conflicts; the existing directory merges.
	root.do("POST", "/api/transfer/check-conflicts", body).want(http.StatusOK).json(&cc)
	if len(cc.Conflicts) != 6 || len(cc.NonConflicting) != 1 || cc.NonConflicting[0] != "restore/set/empty" {
		t.Fatalf("check-conflicts after: %+v", cc)
	}

	// skip leaves a changed local file alone.
	local := []byte("changed locally")
	if err := os.WriteFile(filepath.Join(f.loc, "restore", "set", "a.txt"), local, 0o644); err != nil {
		t.Fatal(err)
	}
	body["conflictResolution"] = "skip"
	if _, last = transfersLocalRun(t, root, body); last.Type != "complete" || last.Job.FilesSkipped != 6 {
		t.Fatalf("skip: %+v", last)
	}
	if g, _ := f.read(t, "restore/set/a.txt"); !bytes.Equal(g, local) {
		t.Fatal("skip overwrote a file")
	}

	// rename writes beside it.
	body["conflictResolution"] = "rename"
	body["items"] = []map[string]string{transfersFile("set/a.txt")}
	if _, last = transfersLocalRun(t, root, body); last.Type != "complete" || last.Job.FilesCompleted != 1 {
		t.Fatalf("rename: %+v", last)
	}
	if g, _ := f.read(t, "restore/set/a_1.txt"); !bytes.Equal(g, want["restore/set/a.txt"]) {
		t.Fatal("rename did not write the key beside the file")
	}
	if g, _ := f.read(t, "restore/set/a.txt"); !bytes.Equal(g, local) {
		t.Fatal("rename overwrote a file")
	}
	if err := os.Remove(filepath.Join(f.loc, "restore", "set", "a_1.txt")); err != nil {
		t.Fatal(err)
	}

	// overwrite (the default) replaces it.
	delete(body, "conflictResolution")
	body["items"] = []map[string]string{transfersDir("set/")}
	if _, last = transfersLocalRun(t, root, body); last.Type != "complete" || last.Job.FilesCompleted != 7 {
		t.Fatalf("overwrite: %+v", last)
	}
	check("overwrite")
}

// A key that names no path in a location (".." segments) fails alone.
func TestTransferBucketToLocalBadKey(t *testing.T) {
	f := transfersLocalSetup(t)
	e := f.e
	tasksBucket(t, e, "odd", rootUser)
	tasksPut(t, e, "odd", "k/../../outside/secret.txt", "text/plain", []byte("escape attempt"))
	tasksPut(t, e, "odd", "k/fine.txt", "text/plain", []byte("fine"))
	body := transfersBody(transfersEP("odd", ""), transfersLocalEP(""), transfersDir("k/"))
	_, last := transfersLocalRun(t, e.root(), body)
	if last.Job.FilesCompleted != 1 || last.Job.FilesFailed != 1 || len(last.Job.Errors) != 1 ||
		last.Job.Errors[0].Error != "InvalidPath" {
		t.Fatalf("final event %+v", last)
	}
	if g, _ := f.read(t, "k/fine.txt"); string(g) != "fine" {
		t.Fatal("the good key was not written")
	}
	if data, _ := os.ReadFile(filepath.Join(f.outside, "secret.txt")); string(data) != transfersLocalSecret {
		t.Fatal("a key wrote outside the location")
	}
}

func TestTransferLocalMove(t *testing.T) {
	f := transfersLocalSetup(t)
	e := f.e
	tasksBucket(t, e, "mvb", rootUser)
	objectsPolicy(e, "localmover", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["admin:ReadLocalFiles","admin:WriteLocalFiles"],"Resource":"*"},
		{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::mvb","arn:aws:s3:::mvb/*"]},
		{"Effect":"Deny","Action":"s3:PutObject","Resource":"arn:aws:s3:::mvb/in/m/k3"}]}`)
	mover := e.user("mover", "localmover")
	want := map[string][]byte{}
	for i := range 5 {
		want[fmt.Sprintf("k%d", i)] = f.write(t, fmt.Sprintf("m/k%d", i), 100+i)
	}
	body := transfersBody(transfersLocalEP(""), transfersEP("mvb", "in"), transfersDir("m"))
	body["deleteSource"] = true
	_, last := transfersLocalRun(t, mover, body)
	if last.Job.FilesCompleted != 4 || last.Job.FilesFailed != 1 || len(last.Job.Errors) != 1 || last.Job.Errors[0].File != "m/k3" {
		t.Fatalf("final event %+v", last)
	}
	got := transfersKeys(t, e, "mvb", "")
	for name, data := range want {
		_, local := f.read(t, "m/"+name)
		stored, ok := got["in/m/"+name]
		if name == "k3" {
			// Not stored, so still there.
			if ok || !local {
				t.Fatalf("k3: stored %v, source kept %v", ok, local)
			}
			continue
		}
		if !ok || !bytes.Equal([]byte(stored), data) || local {
			t.Fatalf("%s: stored %v, source kept %v", name, ok, local)
		}
	}

	// And back: each key is deleted once its file is written.
	back := transfersBody(transfersEP("mvb", "in"), transfersLocalEP("back"), transfersDir("m"))
	back["deleteSource"] = true
	if _, last = transfersLocalRun(t, mover, back); last.Type != "complete" || last.Job.FilesCompleted != 4 {
		t.Fatalf("move back: %+v", last)
	}
	if n := len(transfersKeys(t, e, "mvb", "")); n != 0 {
		t.Fatalf("%d keys left after the move back", n)
	}
	for name, data := range want {
		if g, ok := f.read(t, "back/m/"+name); name != "k3" && (!ok || !bytes.Equal(g, data)) {
			t.Fatalf("back/m/%s: present %v", name, ok)
		}
	}
}

func TestTransferLocalRefusals(t *testing.T) {
	f := transfersLocalSetup(t)
	e := f.e
	tasksBucket(t, e, "rbk", rootUser)
	tasksPut(t, e, "rbk", "p/f.txt", "text/plain", []byte("f"))
	f.write(t, "dir/f.txt", 10)
	if err := os.Symlink("../outside/secret.txt", filepath.Join(f.loc, "escape.txt")); err != nil {
		t.Fatal(err)
	}
	up := transfersBody(transfersLocalEP(""), transfersEP("rbk", "q"), transfersDir("dir"))
	down := transfersBody(transfersEP("rbk", ""), transfersLocalEP("q"), transfersFile("p/f.txt"))
	before := localSnapshot(t, f.loc)

	// Users without local storage permission, whatever their S3 rights.
	for _, u := range []*client{e.user("rina", "readonly"), e.user("rw", "readwrite")} {
		for _, p := range []string{"/api/transfer", "/api/transfer/check-conflicts"} {
			u.do("POST", p, up).wantError(http.StatusForbidden, "AccessDenied")
			u.do("POST", p, down).wantError(http.StatusForbidden, "AccessDenied")
		}
	}
	// Reading local files is not writing them (a download, or a move's
	// removal of its sources).
	objectsPolicy(e, "localreader", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"admin:ReadLocalFiles","Resource":"*"},
		{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	reader := e.user("reader", "localreader")
	reader.do("POST", "/api/transfer", down).wantError(http.StatusForbidden, "AccessDenied")
	move := transfersBody(transfersLocalEP(""), transfersEP("rbk", "q"), transfersDir("dir"))
	move["deleteSource"] = true
	reader.do("POST", "/api/transfer", move).wantError(http.StatusForbidden, "AccessDenied")
	// An administrator without S3 rights on the bucket may not write it.
	objectsPolicy(e, "localonly", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["admin:ReadLocalFiles","admin:WriteLocalFiles"],"Resource":"*"}]}`)
	localOnly := e.user("lo", "localonly")
	localOnly.do("POST", "/api/transfer", transfersBody(transfersLocalEP(""), transfersEP("rbk", "q"), transfersFile("dir/f.txt"))).
		wantError(http.StatusForbidden, "AccessDenied")
	localOnly.do("POST", "/api/transfer", down).wantError(http.StatusForbidden, "AccessDenied")

	root := e.root()
	unknown := transfersBody(map[string]string{"type": "local", "locationId": "local-9", "path": ""}, transfersEP("rbk", "q"), transfersDir("dir"))
	root.do("POST", "/api/transfer", unknown).wantError(http.StatusNotFound, "LocationNotFound")
	unknown = transfersBody(transfersEP("rbk", ""), map[string]string{"type": "local", "locationId": "local-9"}, transfersFile("p/f.txt"))
	root.do("POST", "/api/transfer", unknown).wantError(http.StatusNotFound, "LocationNotFound")
	root.do("POST", "/api/transfer", transfersBody(transfersLocalEP(""), transfersEP("nobucket", ""), transfersDir("dir"))).
		wantError(http.StatusNotFound, "NoSuchBucket")

	r := root.do("POST", "/api/transfer", transfersBody(transfersLocalEP("a"), transfersLocalEP("b"), transfersDir("dir")))
	r.wantError(http.StatusBadRequest, "UnsupportedStorageType")
	if !strings.Contains(string(r.Body), "local to local") {
		t.Fatalf("the refusal does not name the pair: %s", r.Body)
	}
	for _, c := range []struct {
		body   map[string]any
		status int
		name   string
	}{
		{transfersBody(transfersLocalEP(""), transfersEP("rbk", ""), transfersDir("../outside")), http.StatusBadRequest, "InvalidPath"},
		{transfersBody(transfersLocalEP("../outside"), transfersEP("rbk", ""), transfersFile("secret.txt")), http.StatusBadRequest, "InvalidPath"},
		{transfersBody(transfersEP("rbk", ""), transfersLocalEP("../outside"), transfersFile("p/f.txt")), http.StatusBadRequest, "InvalidPath"},
		{transfersBody(transfersLocalEP(""), transfersEP("rbk", ""), transfersFile("escape.txt")), http.StatusForbidden, "PathOutsideLocation"},
		{transfersBody(transfersLocalEP(""), transfersEP("rbk", ""), transfersFile("missing.txt")), http.StatusNotFound, "FileNotFound"},
		{transfersBody(transfersLocalEP(""), transfersEP("rbk", ""), transfersFile("dir")), http.StatusBadRequest, "NotAFile"},
		{transfersBody(transfersLocalEP(""), transfersEP("rbk", ""), transfersDir("dir/f.txt")), http.StatusBadRequest, "NotADirectory"},
		{transfersBody(transfersEP("rbk", ""), transfersLocalEP(""), transfersFile("p/missing")), http.StatusNotFound, "NoSuchKey"},
	} {
		root.do("POST", "/api/transfer", c.body).wantError(c.status, c.name)
	}
	if after := localSnapshot(t, f.loc); after != before {
		t.Fatalf("refused transfers changed the location:\n%s\nthen\n%s", before, after)
	}
}

// FuzzTransferLocalRequest: with a location configured, whatever the
// body, creating a transfer or checking its conflicts answers a client
// error or 200, never a server error, and nothing outside the location
// changes.
func FuzzTransferLocalRequest(f *testing.F) {
	base := f.TempDir()
	loc, outside := filepath.Join(base, "loc"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(loc, "d"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	for p, data := range map[string]string{filepath.Join(loc, "d", "k"): "k", filepath.Join(outside, "secret.txt"): transfersLocalSecret} {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.Symlink("../outside", filepath.Join(loc, "escape")); err != nil {
		f.Fatal(err)
	}
	e := newEnv(f, func(c *mgmtapi.Config) {
		c.TempDir = f.TempDir()
		c.LocalLocations = []mgmtapi.LocalLocation{{ID: "local-0", Name: "Data", Path: loc}}
	})
	if err := e.objects.CreateBucket(context.Background(), "fzl", rootUser, region, object.BucketOptions{}); err != nil {
		f.Fatal(err)
	}
	if _, err := e.objects.PutObject(context.Background(), object.PutInput{Bucket: "fzl", Key: "d/k", Body: strings.NewReader("k"), Size: 1}); err != nil {
		f.Fatal(err)
	}
	before := localSnapshot(f, outside)
	root := e.root()
	f.Add(false, `{"source":{"type":"local","locationId":"local-0","path":"/"},"destination":"s3:fzl/up","items":[{"path":"d"}]}`)
	f.Add(true, `{"source":"local:local-0/","destination":"s3:fzl","items":[{"path":"escape/","type":"directory"}]}`)
	f.Add(false, `{"source":"s3:fzl/","destination":"local:local-0/escape","items":[{"path":"d/"}]}`)
	f.Add(true, `{"source":"s3:fzl/d","destination":{"type":"local","locationId":"local-0","path":"../outside"},"items":[{"path":"k","type":"file"}]}`)
	f.Add(false, `{"source":"local:local-0/d","destination":"local:local-0/e","items":[{"path":"k"}]}`)
	f.Add(false, `{"source":"local:nope/","destination":"s3:fzl","items":[{"path":"\u0000"}]}`)
	f.Fuzz(func(t *testing.T, check bool, body string) {
		p := "/api/transfer"
		if check {
			p += "/check-conflicts"
		}
		r := sharesFuzzClient(t, root).do("POST", p, body)
		if r.Status >= 500 || r.Status < 200 {
			t.Fatalf("%s %q: %d %s", p, body, r.Status, r.Body)
		}
		if after := localSnapshot(t, outside); after != before {
			t.Fatalf("%s %q changed the outside directory", p, body)
		}
	})
}
