package mgmtapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/mgmtapi"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/session"
)

type transfersEvent struct {
	Type string `json:"type"`
	Job  struct {
		ID               string `json:"id"`
		Status           string `json:"status"`
		FilesCompleted   int64  `json:"filesCompleted"`
		FilesFailed      int64  `json:"filesFailed"`
		FilesSkipped     int64  `json:"filesSkipped"`
		TotalFiles       int64  `json:"totalFiles"`
		BytesTransferred int64  `json:"bytesTransferred"`
		TotalBytes       int64  `json:"totalBytes"`
		StartTime        int64  `json:"startTime"`
		Errors           []struct {
			File    string `json:"file"`
			Error   string `json:"error"`
			Message string `json:"message"`
		} `json:"errors"`
		Error string `json:"error"`
	} `json:"job"`
	CurrentFile *struct {
		Path   string `json:"path"`
		Loaded int64  `json:"loaded"`
		Total  int64  `json:"total"`
	} `json:"currentFile"`
}

type transfersCreated struct {
	JobID          string `json:"jobId"`
	Status         string `json:"status"`
	FilesQueued    int    `json:"filesQueued"`
	EstimatedBytes int64  `json:"estimatedBytes"`
	SSEURL         string `json:"sseUrl"`
}

func transfersEP(bucket, path string) map[string]string {
	return map[string]string{"type": "s3", "locationId": bucket, "path": path}
}

func transfersFile(p string) map[string]string { return map[string]string{"path": p, "type": "file"} }
func transfersDir(p string) map[string]string {
	return map[string]string{"path": p, "type": "directory"}
}

func transfersBody(src, dst map[string]string, items ...map[string]string) map[string]any {
	return map[string]any{"source": src, "destination": dst, "items": items}
}

func transfersStart(c *client, body any) transfersCreated {
	c.e.t.Helper()
	var v transfersCreated
	c.do("POST", "/api/transfer", body).want(http.StatusOK).json(&v)
	if v.JobID == "" || v.Status != "pending" || v.SSEURL != "/api/transfer/progress/"+v.JobID {
		c.e.t.Fatalf("create answered %+v", v)
	}
	return v
}

// transfersTicket issues a one-time ticket for a job's stream, as
// POST /api/auth/sse-ticket would.
func transfersTicket(t *testing.T, e *env, s session.Subject, id string) string {
	t.Helper()
	tk, err := e.sessions.NewTicket(context.Background(), s, "transfer:"+id)
	if err != nil {
		t.Fatal(err)
	}
	return tk.ID
}

// transfersStream reads a progress stream to its end. The client timeout
// only keeps a broken stream from hanging the suite.
func transfersStream(t *testing.T, rawURL string, header http.Header) []transfersEvent {
	t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream answered %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var evs []transfersEvent
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev transfersEvent
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %s: %v", data, err)
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading stream: %v", err)
	}
	if len(evs) == 0 {
		t.Fatal("the stream ended without an event")
	}
	return evs
}

// transfersCheckStream checks that counters never go back, that only the
// last event is final, and returns the last.
func transfersCheckStream(t *testing.T, id string, evs []transfersEvent) transfersEvent {
	t.Helper()
	var prev transfersEvent
	for i, ev := range evs {
		last := i == len(evs)-1
		if ev.Job.ID != id || (ev.Type == "progress") == last {
			t.Fatalf("event %d of %d: %+v", i, len(evs), ev)
		}
		if ev.Job.FilesCompleted < prev.Job.FilesCompleted || ev.Job.BytesTransferred < prev.Job.BytesTransferred ||
			ev.Job.FilesCompleted+ev.Job.FilesFailed > ev.Job.TotalFiles {
			t.Fatalf("event %d went back or over: %+v after %+v", i, ev.Job, prev.Job)
		}
		prev = ev
	}
	return prev
}

func transfersKeys(t *testing.T, e *env, bucket, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	page, err := e.objects.ListObjects(context.Background(), bucket, meta.ListOptions{Prefix: prefix, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range page.Objects {
		out[o.Key] = string(objectsRead(e, bucket, o.Key))
	}
	return out
}

func TestTransferFolderAndFilesOverSSE(t *testing.T) {
	e := tasksEnv(t)
	e2 := tasksSecondInstance(t, e)
	tasksBucket(t, e, "src", rootUser)
	tasksBucket(t, e, "dst", rootUser)
	var total int64
	for i := range 30 {
		k := fmt.Sprintf("data/dir/sub%d/f%02d.txt", i%3, i)
		body := strings.Repeat(k, i+1)
		tasksPut(t, e, "src", k, "text/plain", []byte(body))
		total += int64(len(body))
	}
	tasksPut(t, e, "src", "data/a.txt", "text/plain", []byte("alpha"))
	tasksPut(t, e, "src", "data/b.bin", "application/octet-stream", []byte("bravo!"))
	tasksPut(t, e, "src", "data/other/x", "text/plain", []byte("not transferred"))
	total += 11
	root := e.root()

	// S4's newer string form of an endpoint is accepted for the source.
	v := transfersStart(root, map[string]any{
		"source":      "s3:src/data/",
		"destination": transfersEP("dst", "copy"),
		"items":       []map[string]string{transfersDir("dir"), transfersFile("a.txt"), transfersFile("b.bin")},
	})
	if v.FilesQueued != 32 || v.EstimatedBytes != total {
		t.Fatalf("queued %d files, %d bytes; want 32, %d", v.FilesQueued, v.EstimatedBytes, total)
	}

	// The stream is served by the other instance, admitted by a ticket.
	rootSubject := session.Subject{User: rootUser, Root: true}
	tk := transfersTicket(t, e, rootSubject, v.JobID)
	streamURL := e2.URL + v.SSEURL + "?ticket=" + url.QueryEscape(tk)
	last := transfersCheckStream(t, v.JobID, transfersStream(t, streamURL, nil))
	j := last.Job
	if last.Type != "complete" || j.Status != "completed" || j.FilesCompleted != 32 || j.TotalFiles != 32 ||
		j.BytesTransferred != total || j.TotalBytes != total || j.FilesFailed != 0 || len(j.Errors) != 0 || j.StartTime == 0 {
		t.Fatalf("final event %+v", last)
	}
	got := transfersKeys(t, e, "dst", "")
	if len(got) != 32 || got["copy/a.txt"] != "alpha" || got["copy/b.bin"] != "bravo!" {
		t.Fatalf("destination has %d keys: %v", len(got), got)
	}
	for i := range 30 {
		k := fmt.Sprintf("dir/sub%d/f%02d.txt", i%3, i)
		if got["copy/"+k] != strings.Repeat("data/"+k, i+1) {
			t.Fatalf("copy/%s = %q", k, got["copy/"+k])
		}
	}
	if len(transfersKeys(t, e, "src", "data/")) != 33 {
		t.Fatal("a copy removed sources")
	}

	// A ticket is used once, and only for its job.
	r := e2.anon().do("GET", v.SSEURL+"?ticket="+url.QueryEscape(tk), nil)
	r.wantError(http.StatusUnauthorized, "InvalidTicket")
	other := transfersTicket(t, e, rootSubject, "0123456789abcdef0123456789abcdef")
	e.anon().do("GET", v.SSEURL+"?ticket="+url.QueryEscape(other), nil).wantError(http.StatusUnauthorized, "InvalidTicket")
	e.anon().do("GET", v.SSEURL, nil).wantError(http.StatusUnauthorized, "Unauthorized")

	// A session works too, and a finished job streams its final event.
	hdr := http.Header{"Authorization": {"Bearer " + root.bearer}}
	if evs := transfersStream(t, e.URL+v.SSEURL, hdr); len(evs) != 1 || evs[0].Type != "complete" {
		t.Fatalf("stream of a finished job: %+v", evs)
	}
	// The job is a task: listed and polled like one.
	if tv := tasksWait(e2.root(), "/api/tasks/"+v.JobID); tv.Type != "transfer" || tv.Status != "done" || tv.Completed != 32 {
		t.Fatalf("as a task: %+v", tv)
	}

	root.do("POST", "/api/transfer/cancel/"+v.JobID, nil).wantError(http.StatusConflict, "TransferFinished")
	var cl map[string]string
	e2.root().do("POST", "/api/transfer/cleanup/"+v.JobID, nil).want(http.StatusOK).json(&cl)
	if cl["jobId"] != v.JobID || cl["message"] == "" {
		t.Fatalf("cleanup answered %v", cl)
	}
	root.do("GET", v.SSEURL, nil).wantError(http.StatusNotFound, "TransferNotFound")
	root.do("POST", "/api/transfer/cleanup/"+v.JobID, nil).wantError(http.StatusNotFound, "TransferNotFound")
	if len(transfersKeys(t, e, "dst", "")) != 32 {
		t.Fatal("cleanup removed copied objects")
	}
}

func TestTransferMove(t *testing.T) {
	e := tasksEnv(t)
	tasksBucket(t, e, "msrc", rootUser)
	tasksBucket(t, e, "mdst", rootUser)
	for i := range 10 {
		tasksPut(t, e, "msrc", fmt.Sprintf("m/k%02d", i), "text/plain", []byte(fmt.Sprintf("body %d", i)))
	}
	// A user who may do everything but write one destination key: that
	// key's copy fails, so its source must stay.
	objectsPolicy(e, "mover", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::msrc","arn:aws:s3:::msrc/*","arn:aws:s3:::mdst","arn:aws:s3:::mdst/*"]},
		{"Effect":"Deny","Action":"s3:PutObject","Resource":"arn:aws:s3:::mdst/moved/m/k03"}]}`)
	mover := e.user("mover", "mover")

	// Named as a file, the refused key is refused when the job is created.
	body := transfersBody(transfersEP("msrc", "m"), transfersEP("mdst", "moved/m"), transfersFile("k03"))
	body["deleteSource"] = true
	mover.do("POST", "/api/transfer", body).wantError(http.StatusForbidden, "AccessDenied")

	// In a folder, each key is authorized as it is copied.
	body = transfersBody(transfersEP("msrc", ""), transfersEP("mdst", "moved"), transfersDir("m/"))
	body["deleteSource"] = true
	v := transfersStart(mover, body)
	tv := tasksWait(mover, "/api/tasks/"+v.JobID)
	if tv.Status != "done" || tv.Completed != 9 || tv.Failed != 1 || len(tv.Errors) != 1 || tv.Errors[0].Key != "m/k03" ||
		!strings.HasPrefix(tv.Errors[0].Error, "AccessDenied") {
		t.Fatalf("move with one refused key: %+v", tv)
	}
	src, dst := transfersKeys(t, e, "msrc", ""), transfersKeys(t, e, "mdst", "")
	if len(src) != 1 || src["m/k03"] != "body 3" || len(dst) != 9 || dst["moved/m/k05"] != "body 5" || dst["moved/m/k00"] != "body 0" {
		t.Fatalf("after the move: sources %v, copies %v", src, dst)
	}
	tk := transfersTicket(t, e, session.Subject{User: "mover"}, v.JobID)
	evs := transfersStream(t, e.URL+v.SSEURL+"?ticket="+tk, nil)
	ev := evs[len(evs)-1]
	if ev.Type != "complete" || ev.Job.FilesFailed != 1 || len(ev.Job.Errors) != 1 || ev.Job.Errors[0].File != "m/k03" ||
		ev.Job.Errors[0].Error != "AccessDenied" || ev.Job.Errors[0].Message == "" {
		t.Fatalf("errors in the event: %+v", ev.Job)
	}

	// A move needs s3:DeleteObject on every source: without it nothing is
	// copied, and the job fails.
	objectsPolicy(e, "copier", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::mdst","arn:aws:s3:::mdst/*"]}]}`)
	copier := e.user("copier", "copier")
	body = transfersBody(transfersEP("mdst", ""), transfersEP("mdst", "again"), transfersDir("moved/"))
	body["deleteSource"] = true
	v2 := transfersStart(copier, body)
	tv = tasksWait(copier, "/api/tasks/"+v2.JobID)
	if tv.Status != "failed" || tv.Completed != 0 || tv.Failed != 9 || tv.Error == "" {
		t.Fatalf("move without delete: %+v", tv)
	}
	if n := len(transfersKeys(t, e, "mdst", "again/")); n != 0 {
		t.Fatalf("a move without delete permission copied %d keys", n)
	}
	if n := len(transfersKeys(t, e, "mdst", "moved/")); n != 9 {
		t.Fatalf("a refused move deleted sources: %d left", n)
	}
	evs = transfersStream(t, e.URL+v2.SSEURL, http.Header{"Authorization": {"Bearer " + copier.bearer}})
	if ev := evs[len(evs)-1]; ev.Type != "error" || ev.Job.Status != "failed" || ev.Job.Error == "" {
		t.Fatalf("final event of a failed job: %+v", ev)
	}
	copier.do("POST", "/api/transfer/cleanup/"+v2.JobID, nil).want(http.StatusOK)

	// A job is its creator's: another user may not watch, cancel or clean
	// it up; an admin may.
	copier.do("GET", v.SSEURL, nil).wantError(http.StatusForbidden, "AccessDenied")
	copier.do("POST", "/api/transfer/cancel/"+v.JobID, nil).wantError(http.StatusForbidden, "AccessDenied")
	copier.do("POST", "/api/transfer/cleanup/"+v.JobID, nil).wantError(http.StatusForbidden, "AccessDenied")
	e.root().do("POST", "/api/transfer/cleanup/"+v.JobID, nil).want(http.StatusOK)
}

func TestTransferCancel(t *testing.T) {
	e := tasksEnv(t)
	e2 := tasksSecondInstance(t, e)
	tasksBucket(t, e, "big", rootUser)
	tasksBucket(t, e, "bigdst", rootUser)
	var keys []string
	for i := range 1500 {
		keys = append(keys, fmt.Sprintf("a/k%05d", i), fmt.Sprintf("b/k%05d", i))
	}
	tasksPutMany(t, e, "big", keys)
	root, root2 := e.root(), e2.root()
	root.do("PUT", "/api/settings/max-concurrent-transfers", map[string]int{"maxConcurrentTransfers": 1}).want(http.StatusOK)

	check := func(id, prefix string) {
		t.Helper()
		tv := tasksWait(root2, "/api/tasks/"+id)
		copied := tasksCountKeys(t, e, "bigdst", prefix)
		switch {
		case tv.Status == "cancelled" && tv.Completed < 1500 && int64(copied) == tv.Completed && tv.Failed == 0:
		case tv.Status == "done" && tv.Completed == 1500 && copied == 1500:
			t.Logf("%s finished before the cancel arrived", id)
		default:
			t.Fatalf("cancelled transfer: %+v, %d copied", tv, copied)
		}
		t.Logf("%s: %s after %d of 1500 keys", id, tv.Status, tv.Completed)
		evs := transfersStream(t, e2.URL+"/api/transfer/progress/"+id, http.Header{"Authorization": {"Bearer " + root2.bearer}})
		if ev := evs[len(evs)-1]; ev.Job.FilesCompleted != tv.Completed || (tv.Status == "cancelled") != (ev.Type == "cancelled") {
			t.Fatalf("final event %+v for %+v", ev, tv)
		}
	}

	// Cancelled on the instance that runs it.
	v := transfersStart(root, transfersBody(transfersEP("big", ""), transfersEP("bigdst", ""), transfersDir("a")))
	var c map[string]any
	root.do("POST", "/api/transfer/cancel/"+v.JobID, nil).want(http.StatusOK).json(&c)
	if c["jobId"] != v.JobID || c["message"] != "Transfer cancelled" || c["totalFiles"] != float64(1500) {
		t.Fatalf("cancel answered %v", c)
	}
	check(v.JobID, "a/")

	// Cancelled through another instance: only the flag in the record
	// tells the runner.
	v = transfersStart(root, transfersBody(transfersEP("big", ""), transfersEP("bigdst", ""), transfersDir("b")))
	root2.do("POST", "/api/transfer/cancel/"+v.JobID, nil).want(http.StatusOK)
	check(v.JobID, "b/")
	root2.do("POST", "/api/transfer/cancel/"+v.JobID, nil).wantError(http.StatusConflict, "TransferFinished")
}

// transfersRunningElsewhere stores the record of a transfer that another
// (live) instance runs, for the refusals that need a job in progress.
func transfersRunningElsewhere(t *testing.T, e *env, owner string) string {
	t.Helper()
	id := "00112233445566778899aabbccddeeff"
	now := time.Now().UTC()
	data, _ := json.Marshal(map[string]any{"id": id, "type": "transfer", "status": "running", "bucket": "x",
		"owner": map[string]any{"name": owner}, "instance": "elsewhere", "created": now, "heartbeat": now,
		"progress": map[string]int{"total": 10, "completed": 4}})
	if _, err := e.store.PutRecord(context.Background(), meta.Record{Kind: "task", ID: id, Data: data, Rev: meta.RevAny,
		Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestTransferRefusals(t *testing.T) {
	e := tasksEnv(t)
	owner := e.user("owner")
	tasksBucket(t, e, "rsrc", "owner")
	tasksBucket(t, e, "rdst", "owner")
	tasksPut(t, e, "rsrc", "p/f.txt", "text/plain", []byte("f"))
	root := e.root()
	nobody := e.user("nobody")
	anon := e.anon()
	ok := transfersBody(transfersEP("rsrc", "p"), transfersEP("rdst", "q"), transfersFile("f.txt"))

	for _, r := range []struct{ method, path string }{
		{"POST", "/api/transfer"}, {"GET", "/api/transfer/progress/00112233445566778899aabbccddeeff"},
		{"POST", "/api/transfer/cancel/x"}, {"POST", "/api/transfer/cleanup/x"}, {"POST", "/api/transfer/check-conflicts"},
	} {
		anon.do(r.method, r.path, ok).wantError(http.StatusUnauthorized, "Unauthorized")
	}

	bad := func(name string, mutate func(m map[string]any)) {
		t.Helper()
		b := transfersBody(transfersEP("rsrc", "p"), transfersEP("rdst", "q"), transfersFile("f.txt"))
		mutate(b)
		for _, p := range []string{"/api/transfer", "/api/transfer/check-conflicts"} {
			owner.do("POST", p, b).wantError(http.StatusBadRequest, name)
		}
	}
	r := owner.do("POST", "/api/transfer", transfersBody(transfersEP("rsrc", "p"), map[string]string{"type": "local", "locationId": "local-0", "path": "/x"},
		transfersFile("f.txt"))).wantError(http.StatusBadRequest, "UnsupportedStorageType")
	if !strings.Contains(string(r.Body), "local") {
		t.Fatalf("the refusal does not name local storage: %s", r.Body)
	}
	bad("UnsupportedStorageType", func(m map[string]any) {
		m["source"] = map[string]string{"type": "local", "locationId": "l", "path": "/"}
	})
	bad("UnsupportedStorageType", func(m map[string]any) { m["source"] = map[string]string{"type": "gcs", "locationId": "rsrc"} })
	bad("InvalidRequest", func(m map[string]any) { delete(m, "items") })
	bad("InvalidRequest", func(m map[string]any) { delete(m, "destination") })
	bad("InvalidRequest", func(m map[string]any) { m["destination"] = map[string]string{"type": "s3"} })
	bad("InvalidRequest", func(m map[string]any) { m["items"] = []map[string]string{{"path": ""}} })
	bad("InvalidRequest", func(m map[string]any) { m["items"] = []map[string]string{{"path": "x", "type": "link"}} })
	bad("InvalidRequest", func(m map[string]any) { m["items"] = []map[string]string{{"path": "x/", "type": "file"}} })
	bad("InvalidRequest", func(m map[string]any) { m["destination"] = transfersEP("rsrc", "p") })
	bad("InvalidRequest", func(m map[string]any) {
		m["items"] = []map[string]string{{"path": "d", "type": "directory"}}
		m["destination"] = transfersEP("rsrc", "p/d/inner")
	})
	bad("InvalidJSON", func(m map[string]any) { m["source"] = "no-colon" })
	bad("InvalidJSON", func(m map[string]any) { m["items"] = "f.txt" })
	bad("EmptyTransfer", func(m map[string]any) { m["items"] = []map[string]string{transfersDir("nothing")} })
	b := transfersBody(transfersEP("rsrc", "p"), transfersEP("rdst", "q"), transfersFile("f.txt"))
	b["conflictResolution"] = "merge"
	owner.do("POST", "/api/transfer", b).wantError(http.StatusBadRequest, "InvalidRequest")
	b["conflictResolution"] = "skip"
	owner.do("POST", "/api/transfer/check-conflicts", b).wantError(http.StatusBadRequest, "InvalidRequest")
	many := make([]map[string]string, 1001)
	for i := range many {
		many[i] = transfersFile(fmt.Sprint(i))
	}
	b["items"] = many
	owner.do("POST", "/api/transfer", b).wantError(http.StatusBadRequest, "InvalidRequest")
	owner.do("POST", "/api/transfer", "{").wantError(http.StatusBadRequest, "InvalidJSON")

	for _, p := range []string{"/api/transfer", "/api/transfer/check-conflicts"} {
		owner.do("POST", p, transfersBody(transfersEP("nope", "p"), transfersEP("rdst", ""), transfersFile("f.txt"))).
			wantError(http.StatusNotFound, "NoSuchBucket")
		owner.do("POST", p, transfersBody(transfersEP("rsrc", "p"), transfersEP("nope", ""), transfersFile("f.txt"))).
			wantError(http.StatusNotFound, "NoSuchBucket")
		owner.do("POST", p, transfersBody(transfersEP("rsrc", "p"), transfersEP("rdst", ""), transfersFile("missing"))).
			wantError(http.StatusNotFound, "NoSuchKey")
		nobody.do("POST", p, ok).wantError(http.StatusForbidden, "AccessDenied")
		nobody.do("POST", p, transfersBody(transfersEP("rsrc", ""), transfersEP("rdst", ""), transfersDir("p"))).
			wantError(http.StatusForbidden, "AccessDenied")
	}

	for _, id := range []string{"0123456789abcdef0123456789abcdef", "not-an-id"} {
		owner.do("GET", "/api/transfer/progress/"+id, nil).wantError(http.StatusNotFound, "TransferNotFound")
		owner.do("POST", "/api/transfer/cancel/"+id, nil).wantError(http.StatusNotFound, "TransferNotFound")
		owner.do("POST", "/api/transfer/cleanup/"+id, nil).wantError(http.StatusNotFound, "TransferNotFound")
	}
	// A task of another type is not a transfer.
	var task tasksView
	owner.do("POST", "/api/tasks/count", map[string]string{"bucket": "rsrc"}).want(http.StatusAccepted).json(&task)
	owner.do("POST", "/api/transfer/cleanup/"+task.ID, nil).wantError(http.StatusNotFound, "TransferNotFound")

	// A job running on another instance: cleanup waits for it to end,
	// cancel sets the flag that instance's runner reads.
	id := transfersRunningElsewhere(t, e, "owner")
	nobody.do("POST", "/api/transfer/cancel/"+id, nil).wantError(http.StatusForbidden, "AccessDenied")
	owner.do("POST", "/api/transfer/cleanup/"+id, nil).wantError(http.StatusConflict, "TransferInProgress")
	var c map[string]any
	root.do("POST", "/api/transfer/cancel/"+id, nil).want(http.StatusOK).json(&c)
	if c["filesCompleted"] != float64(4) || c["status"] != "in_progress" {
		t.Fatalf("cancel of a remote job answered %v", c)
	}
	var tv tasksView
	owner.do("GET", "/api/tasks/"+id, nil).want(http.StatusOK).json(&tv)
	if !tv.CancelRequested || tv.Status != "running" {
		t.Fatalf("the cancel flag was not stored: %+v", tv)
	}
}

func TestTransferCheckConflictsAndPolicies(t *testing.T) {
	e := tasksEnv(t)
	tasksBucket(t, e, "csrc", rootUser)
	tasksBucket(t, e, "cdst", rootUser)
	for _, k := range []string{"f/a.txt", "f/b.txt", "f/sub/c.txt", "f/.env"} {
		tasksPut(t, e, "csrc", k, "text/plain", []byte("new "+k))
	}
	tasksPut(t, e, "cdst", "to/f/a.txt", "text/plain", []byte("old a"))
	tasksPut(t, e, "cdst", "to/f/.env", "text/plain", []byte("old env"))
	root := e.root()
	body := transfersBody(transfersEP("csrc", ""), transfersEP("cdst", "to"), transfersDir("f"))

	var cc struct {
		Conflicts      []string        `json:"conflicts"`
		NonConflicting []string        `json:"nonConflicting"`
		Warning        json.RawMessage `json:"warning"`
	}
	root.do("POST", "/api/transfer/check-conflicts", body).want(http.StatusOK).json(&cc)
	if strings.Join(cc.Conflicts, ",") != "to/f/.env,to/f/a.txt" || strings.Join(cc.NonConflicting, ",") != "to/f/b.txt,to/f/sub/c.txt" || cc.Warning != nil {
		t.Fatalf("check-conflicts: %+v", cc)
	}
	// Checking needs to see the destination.
	objectsPolicy(e, "src-only", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObject"],"Resource":["arn:aws:s3:::csrc","arn:aws:s3:::csrc/*"]},
		{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::cdst/*"}]}`)
	e.user("srconly", "src-only").do("POST", "/api/transfer/check-conflicts", body).wantError(http.StatusForbidden, "AccessDenied")

	run := func(policy string) transfersEvent {
		t.Helper()
		b := transfersBody(transfersEP("csrc", ""), transfersEP("cdst", "to"), transfersDir("f"))
		b["conflictResolution"] = policy
		v := transfersStart(root, b)
		evs := transfersStream(t, e.URL+v.SSEURL, http.Header{"Authorization": {"Bearer " + root.bearer}})
		return transfersCheckStream(t, v.JobID, evs)
	}
	if ev := run("skip"); ev.Type != "complete" || ev.Job.FilesCompleted != 4 || ev.Job.FilesSkipped != 2 {
		t.Fatalf("skip: %+v", ev.Job)
	}
	got := transfersKeys(t, e, "cdst", "to/")
	if got["to/f/a.txt"] != "old a" || got["to/f/.env"] != "old env" || got["to/f/b.txt"] != "new f/b.txt" || len(got) != 4 {
		t.Fatalf("after skip: %v", got)
	}
	if ev := run("rename"); ev.Type != "complete" || ev.Job.FilesCompleted != 4 || ev.Job.FilesSkipped != 0 {
		t.Fatalf("rename: %+v", ev.Job)
	}
	got = transfersKeys(t, e, "cdst", "to/")
	if got["to/f/a.txt"] != "old a" || got["to/f/a_1.txt"] != "new f/a.txt" || got["to/f/.env_1"] != "new f/.env" ||
		got["to/f/sub/c_1.txt"] != "new f/sub/c.txt" || len(got) != 8 {
		t.Fatalf("after rename: %v", got)
	}
	run("rename")
	if got = transfersKeys(t, e, "cdst", "to/"); got["to/f/a_2.txt"] != "new f/a.txt" || len(got) != 12 {
		t.Fatalf("after a second rename: %v", got)
	}
	if ev := run(""); ev.Type != "complete" || ev.Job.FilesCompleted != 4 {
		t.Fatalf("overwrite: %+v", ev.Job)
	}
	if got = transfersKeys(t, e, "cdst", "to/"); got["to/f/a.txt"] != "new f/a.txt" || got["to/f/.env"] != "new f/.env" || len(got) != 12 {
		t.Fatalf("after overwrite: %v", got)
	}
}

// The job's concurrency is the max-concurrent-transfers setting when it
// starts, as saved through any instance.
func TestTransferUsesConcurrencySetting(t *testing.T) {
	e := tasksEnv(t)
	e2 := tasksSecondInstance(t, e)
	tasksBucket(t, e, "ssrc", rootUser)
	tasksPut(t, e, "ssrc", "k", "text/plain", []byte("k"))
	e2.root().do("PUT", "/api/settings/max-concurrent-transfers", map[string]int{"maxConcurrentTransfers": 7}).want(http.StatusOK)
	v := transfersStart(e.root(), transfersBody(transfersEP("ssrc", ""), transfersEP("ssrc", "copy"), transfersFile("k")))
	tasksWait(e.root(), "/api/tasks/"+v.JobID)
	rec, err := e.store.GetRecord(context.Background(), "task", v.JobID)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Detail struct {
			Concurrency int `json:"concurrency"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(rec.Data, &got); err != nil || got.Detail.Concurrency != 7 {
		t.Fatalf("the job ran with concurrency %d (%v), want 7", got.Detail.Concurrency, err)
	}
}

// Permission parity: creating a one-file transfer is refused exactly when
// S3 refuses the same user the CopyObject.
func TestTransferPermissionParity(t *testing.T) {
	e := tasksEnv(t)
	users := sharesParityUsers(e)
	tasksBucket(t, e, "parity", "owner")
	tasksPut(t, e, "parity", "obj", "text/plain", []byte("x"))
	for _, u := range users {
		k, err := e.iam.CreateAccessKey(context.Background(), iam.AccessKeyInput{User: u.name})
		if err != nil {
			t.Fatal(err)
		}
		_, s3err := sharesS3(e, k.AccessKey, k.Secret).CopyObject(context.Background(), &s3.CopyObjectInput{
			Bucket: aws.String("parity"), Key: aws.String("s3copy/obj"), CopySource: aws.String("parity/obj")})
		r := u.c.do("POST", "/api/transfer", transfersBody(transfersEP("parity", ""), transfersEP("parity", "apicopy"), transfersFile("obj")))
		if (s3err == nil) != (r.Status == http.StatusOK) {
			t.Errorf("%s: S3 CopyObject err %v, /api/transfer %d %s", u.name, s3err, r.Status, r.Body)
		}
	}
}

// FuzzTransferRequest: whatever the body, creating a transfer or checking
// its conflicts answers a client error or 200, never a server error.
func FuzzTransferRequest(f *testing.F) {
	e := newEnv(f, func(c *mgmtapi.Config) { c.TempDir = f.TempDir() })
	for _, b := range []string{"fzz", "fzz2"} {
		if err := e.objects.CreateBucket(context.Background(), b, rootUser, region, object.BucketOptions{}); err != nil {
			f.Fatal(err)
		}
	}
	if _, err := e.objects.PutObject(context.Background(), object.PutInput{Bucket: "fzz", Key: "d/k", Body: strings.NewReader("k"), Size: 1}); err != nil {
		f.Fatal(err)
	}
	root := e.root()
	f.Add(false, `{"source":{"type":"s3","locationId":"fzz","path":"d"},"destination":{"type":"s3","locationId":"fzz2","path":""},"items":[{"path":"k","type":"file"}]}`)
	f.Add(true, `{"source":"s3:fzz/","destination":"s3:fzz2/x","items":[{"path":"d/"}],"conflictResolution":"rename","deleteSource":false}`)
	f.Add(false, `{"source":{"type":"local","locationId":"local-0","path":"/"},"destination":"s3:fzz","items":[{"path":"a"}]}`)
	f.Add(true, `{"source":"s3:fzz/d","destination":"s3:fzz/d/","items":[{"path":"\u0000/../k","type":"directory"}]}`)
	f.Add(false, `{"source":null,"destination":{},"items":[{}]}`)
	f.Add(true, `{"source":"s3:","destination":"s3:/","items":[{"path":"/"}]}`)
	f.Fuzz(func(t *testing.T, check bool, body string) {
		p := "/api/transfer"
		if check {
			p += "/check-conflicts"
		}
		r := sharesFuzzClient(t, root).do("POST", p, body)
		if r.Status >= 500 || r.Status < 200 {
			t.Fatalf("%s %q: %d %s", p, body, r.Status, r.Body)
		}
	})
}
