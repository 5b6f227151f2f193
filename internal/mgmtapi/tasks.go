package mgmtapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// Background tasks: counting, zipping and deleting everything under a
// prefix take longer than a request should, so they run in a goroutine of
// the instance that accepted them. Their state lives in the metadata
// store, not in that goroutine: any instance answers a poll, a cancel is
// a flag in the record that the runner notices when its next progress
// write fails its revision precondition, and a runner that stops
// heartbeating (its instance died) is reported interrupted.

const (
	taskKind     = "task"
	taskKeysKind = "taskkeys" // the explicit key list of a zip task, read once
	// taskRetention is how long a finished task (and its archive) is kept.
	taskRetention = 24 * time.Hour
	taskHeartbeat = 5 * time.Second
	// taskStaleAfter without a heartbeat means the runner's instance is gone.
	taskStaleAfter = 30 * time.Second
	// Progress is written (and a cancel noticed) after this many keys or
	// this long, whichever comes first: often enough for a progress bar,
	// rarely enough not to make every key a store write.
	taskSyncKeys  = 1000
	taskSyncEvery = 500 * time.Millisecond
	// taskErrorsKept caps the per-key errors kept in the record (the
	// archive's ERRORS.txt lists all of them).
	taskErrorsKept  = 100
	maxZipEntries   = 10000
	taskJanitorTick = 10 * time.Minute
	taskDirName     = "coffer-tasks"
)

// Task types and statuses.
const (
	taskCount  = "count"
	taskZip    = "zip"
	taskDelete = "delete"

	statusQueued      = "queued"
	statusRunning     = "running"
	statusDone        = "done"
	statusFailed      = "failed"
	statusCancelled   = "cancelled"
	statusInterrupted = "interrupted"
)

// Causes with which a task's context is cancelled.
var (
	errTaskNotFound   = errors.New("task not found")
	errTaskCancelled  = errors.New("task cancelled")
	errTaskShutdown   = errors.New("the server shut down")
	errTaskSuperseded = errors.New("task finished elsewhere")
	errTaskTooLarge   = errors.New("too many objects for one archive")
)

func taskActive(status string) bool { return status == statusQueued || status == statusRunning }

// taskRecord is the stored state of a task.
type taskRecord struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Bucket    string `json:"bucket"`
	Prefix    string `json:"prefix,omitempty"`
	Delimiter string `json:"delimiter,omitempty"`
	// KeyCount > 0 means the keys are in the taskKeysKind record.
	KeyCount  int            `json:"key_count,omitempty"`
	Owner     taskOwner      `json:"owner"`
	Instance  string         `json:"instance"`
	Cancel    bool           `json:"cancel,omitempty"`
	Created   time.Time      `json:"created"`
	Started   time.Time      `json:"started,omitzero"`
	Finished  time.Time      `json:"finished,omitzero"`
	Heartbeat time.Time      `json:"heartbeat"`
	Progress  taskProgress   `json:"progress"`
	Errors    []taskKeyError `json:"errors,omitempty"`
	Error     string         `json:"error,omitempty"`
	File      string         `json:"file,omitempty"` // the archive, in the task dir
	FileSize  int64          `json:"file_size,omitempty"`
	// Detail is the state of a task type run through startWith (a
	// transfer's endpoints and current file), opaque here; its runner
	// writes it under the run's lock so progress writes carry it.
	Detail json.RawMessage `json:"detail,omitempty"`
}

// taskOwner is the principal a task runs as, and the request conditions
// it was created under, so that run-time authorization is what the caller
// would have got.
type taskOwner struct {
	Name      string `json:"name"`
	AccessKey string `json:"access_key,omitempty"`
	Root      bool   `json:"root,omitempty"`
	Token     string `json:"token,omitempty"`
	SourceIP  string `json:"source_ip,omitempty"`
	Secure    bool   `json:"secure,omitempty"`
}

func (o taskOwner) principal() iam.Principal {
	return iam.Principal{Name: o.Name, AccessKey: o.AccessKey, Root: o.Root, Token: o.Token}
}

type taskProgress struct {
	Files     int64 `json:"files"`
	Folders   int64 `json:"folders"`
	Total     int64 `json:"total"`
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
	Bytes     int64 `json:"bytes"`
}

type taskKeyError struct {
	Key   string `json:"key"`
	Error string `json:"error"`
}

// taskView is a task as the API shows it. files/folders are the count
// task's (ra-hcp's s3_stats names); total/completed/failed the zip and
// delete tasks' (ra-hcp's download names).
type taskView struct {
	ID              string         `json:"id"`
	TaskID          string         `json:"task_id"`
	Type            string         `json:"type"`
	Status          string         `json:"status"`
	Bucket          string         `json:"bucket"`
	Prefix          string         `json:"prefix,omitempty"`
	Delimiter       string         `json:"delimiter,omitempty"`
	CreatedBy       string         `json:"created_by"`
	CreatedAt       time.Time      `json:"created_at"`
	StartedAt       time.Time      `json:"started_at,omitzero"`
	FinishedAt      time.Time      `json:"finished_at,omitzero"`
	UpdatedAt       time.Time      `json:"updated_at"`
	CancelRequested bool           `json:"cancel_requested"`
	Files           int64          `json:"files"`
	Folders         int64          `json:"folders"`
	Total           int64          `json:"total"`
	Completed       int64          `json:"completed"`
	Failed          int64          `json:"failed"`
	Bytes           int64          `json:"bytes"`
	Errors          []taskKeyError `json:"errors"`
	ErrorsTruncated bool           `json:"errors_truncated,omitempty"`
	Error           string         `json:"error,omitempty"`
	DownloadURL     string         `json:"download_url,omitempty"`
	Size            int64          `json:"size,omitempty"`
}

func viewTask(rec taskRecord) taskView {
	v := taskView{
		ID: rec.ID, TaskID: rec.ID, Type: rec.Type, Status: rec.Status, Bucket: rec.Bucket,
		Prefix: rec.Prefix, Delimiter: rec.Delimiter, CreatedBy: rec.Owner.Name,
		CreatedAt: rec.Created, StartedAt: rec.Started, FinishedAt: rec.Finished, UpdatedAt: rec.Heartbeat,
		CancelRequested: rec.Cancel,
		Files:           rec.Progress.Files, Folders: rec.Progress.Folders, Total: rec.Progress.Total,
		Completed: rec.Progress.Completed, Failed: rec.Progress.Failed, Bytes: rec.Progress.Bytes,
		Errors: rec.Errors, ErrorsTruncated: rec.Progress.Failed > int64(len(rec.Errors)), Error: rec.Error,
	}
	if v.Errors == nil {
		v.Errors = []taskKeyError{}
	}
	if rec.Type == taskZip && rec.Status == statusDone {
		v.DownloadURL = "/api/tasks/" + rec.ID + "/download"
		v.Size = rec.FileSize
	}
	return v
}

func (a *API) taskRoutes() {
	a.handle("POST /api/tasks/count", a.startCount)
	a.handle("POST /api/tasks/zip", a.startZip)
	a.handle("POST /api/tasks/delete", a.startDelete)
	a.handle("GET /api/tasks", a.listTasks)
	a.handle("GET /api/tasks/{id}", a.getTaskStatus)
	a.handle("POST /api/tasks/{id}/cancel", a.cancelTask)
	a.handle("DELETE /api/tasks/{id}", a.deleteTask)
	a.handle("GET /api/tasks/{id}/download", a.downloadTask,
		ticketed(func(r *http.Request) string { return "task:" + r.PathValue("id") }))
	// ra-hcp's routes (its objects router lives under /buckets/{bucket}/objects).
	a.handle("POST /api/buckets/{bucket}/objects/s3_stats", a.startCountAlias)
	a.handle("GET /api/buckets/{bucket}/objects/s3_stats/{id}", a.getTaskAlias)
	a.handle("POST /api/buckets/{bucket}/objects/download", a.startZipAlias)
	a.handle("GET /api/buckets/{bucket}/objects/download/{id}", a.getZipAlias)
}

// taskRequest is the body of POST /api/tasks/{count,zip,delete}. Prefix
// is a pointer because a delete of "" (the whole bucket) must be asked
// for explicitly, and a zip takes either keys or a prefix.
type taskRequest struct {
	Bucket    string   `json:"bucket"`
	Prefix    *string  `json:"prefix"`
	Delimiter string   `json:"delimiter"`
	Keys      []string `json:"keys"`
}

// POST /api/tasks/count — ra-hcp POST /buckets/{bucket}/objects/s3_stats
// Body {bucket, prefix, delimiter}: counts files and folders under prefix
// (every level; with a delimiter, the one level below prefix) → 202.
func (a *API) startCount(c *call) (any, error) {
	var req taskRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return a.createTask(c, taskCount, req)
}

// POST /api/tasks/zip — ra-hcp POST /buckets/{bucket}/objects/download
// Body {bucket, keys} or {bucket, prefix} → 202; the archive is fetched
// from GET /api/tasks/{id}/download once the task is done.
func (a *API) startZip(c *call) (any, error) {
	var req taskRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return a.createTask(c, taskZip, req)
}

// POST /api/tasks/delete — S4 folder delete, as a background task
// Body {bucket, prefix} ("" deletes every key, and must be given) → 202.
func (a *API) startDelete(c *call) (any, error) {
	var req taskRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return a.createTask(c, taskDelete, req)
}

// POST /api/buckets/{bucket}/objects/s3_stats?prefix=&delimiter= — ra-hcp POST /buckets/{bucket}/objects/s3_stats
func (a *API) startCountAlias(c *call) (any, error) {
	q := c.r.URL.Query()
	prefix := q.Get("prefix")
	return a.createTask(c, taskCount, taskRequest{Bucket: c.r.PathValue("bucket"), Prefix: &prefix, Delimiter: q.Get("delimiter")})
}

// POST /api/buckets/{bucket}/objects/download — ra-hcp POST /buckets/{bucket}/objects/download
func (a *API) startZipAlias(c *call) (any, error) {
	var req taskRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	req.Bucket = c.r.PathValue("bucket")
	return a.createTask(c, taskZip, req)
}

func (a *API) createTask(c *call, typ string, req taskRequest) (any, error) {
	if req.Bucket == "" {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "bucket is required")
	}
	prefix := ""
	if req.Prefix != nil {
		prefix = *req.Prefix
	}
	switch {
	case typ == taskZip && (len(req.Keys) == 0) == (req.Prefix == nil):
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "provide either 'prefix' or 'keys'")
	case typ == taskZip && len(req.Keys) > maxZipEntries:
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "too many objects (%d); the maximum is %d", len(req.Keys), maxZipEntries)
	case typ != taskZip && len(req.Keys) > 0:
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "a %s task takes a prefix, not keys", typ)
	case typ != taskCount && req.Delimiter != "":
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "only a count task takes a delimiter")
	case typ == taskDelete && req.Prefix == nil:
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "prefix is required (\"\" deletes every key)")
	}
	keys := make([]string, 0, len(req.Keys))
	seen := make(map[string]bool, len(req.Keys))
	for _, k := range req.Keys {
		if err := object.ValidateKey(k); err != nil {
			return nil, err
		}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if _, err := a.cfg.Objects.Bucket(c.ctx, req.Bucket); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		// Refused now rather than as the task's failure: the caller can
		// act on a 403 at once.
		if err := c.authorize("s3:ListBucket", req.Bucket, "", listConds(prefix, req.Delimiter)); err != nil {
			return nil, err
		}
	}
	id := newTaskID()
	now := a.now().UTC()
	rec := taskRecord{
		ID: id, Type: typ, Status: statusQueued, Bucket: req.Bucket, Prefix: prefix, Delimiter: req.Delimiter,
		KeyCount: len(keys), Instance: a.tasks.instance, Created: now, Heartbeat: now,
		Owner: taskOwner{Name: c.p.Name, AccessKey: c.p.AccessKey, Root: c.p.Root, Token: c.p.Token,
			SourceIP: c.client.String(), Secure: c.r.TLS != nil},
	}
	if len(keys) > 0 {
		data, err := json.Marshal(keys)
		if err != nil {
			return nil, fmt.Errorf("encoding task keys: %w", err)
		}
		rec.Progress.Total = int64(len(keys))
		if _, err := a.cfg.Store.PutRecord(c.ctx, meta.Record{Kind: taskKeysKind, ID: id, Data: data, Rev: meta.RevNew,
			Expires: now.Add(taskRetention)}); err != nil {
			return nil, fmt.Errorf("storing task keys: %w", err)
		}
	}
	rev, err := a.putTask(c.ctx, &rec, meta.RevNew)
	if err != nil {
		return nil, fmt.Errorf("storing task: %w", err)
	}
	c.log.Info("task started", "task", id, "type", typ, "bucket", req.Bucket)
	a.tasks.start(rec, rev)
	return accepted(viewTask(rec)), nil
}

func listConds(prefix, delimiter string) map[string][]string {
	conds := map[string][]string{"s3:prefix": {prefix}}
	if delimiter != "" {
		conds["s3:delimiter"] = []string{delimiter}
	}
	return conds
}

// GET /api/tasks?all=true — (no seed route; all=true needs admin:ListTasks)
// Lists the caller's tasks, newest first.
func (a *API) listTasks(c *call) (any, error) {
	all := c.r.URL.Query().Get("all") == "true"
	if all {
		if err := c.authorize("admin:ListTasks", "", "", nil); err != nil {
			return nil, err
		}
	}
	tasks := []taskView{}
	after := ""
	for {
		recs, err := a.cfg.Store.ListRecords(c.ctx, taskKind, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("listing tasks: %w", err)
		}
		for _, r := range recs {
			var rec taskRecord
			if err := json.Unmarshal(r.Data, &rec); err != nil {
				return nil, fmt.Errorf("decoding task %s: %w", r.ID, err)
			}
			if all || rec.Owner.Name == c.p.Name {
				rec, _ = a.tasks.reconcile(c.ctx, rec, r.Rev)
				tasks = append(tasks, viewTask(rec))
			}
		}
		if len(recs) < 1000 {
			break
		}
		after = recs[len(recs)-1].ID
	}
	slices.SortFunc(tasks, func(x, y taskView) int {
		if c := y.CreatedAt.Compare(x.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return map[string]any{"tasks": tasks}, nil
}

// GET /api/tasks/{id} — ra-hcp GET /buckets/{bucket}/objects/s3_stats/{task_id} and .../download/{task_id} (polling)
func (a *API) getTaskStatus(c *call) (any, error) {
	rec, _, err := a.taskFor(c, c.r.PathValue("id"), "admin:GetTask")
	if err != nil {
		return nil, err
	}
	return viewTask(rec), nil
}

// GET /api/buckets/{bucket}/objects/s3_stats/{id} — ra-hcp GET /buckets/{bucket}/objects/s3_stats/{task_id}
func (a *API) getTaskAlias(c *call) (any, error) {
	rec, _, err := a.taskInBucket(c)
	if err != nil {
		return nil, err
	}
	return viewTask(rec), nil
}

// GET /api/buckets/{bucket}/objects/download/{id} — ra-hcp GET /buckets/{bucket}/objects/download/{task_id}
// The archive once the task is done, else the task's status as JSON.
func (a *API) getZipAlias(c *call) (any, error) {
	rec, _, err := a.taskInBucket(c)
	if err != nil {
		return nil, err
	}
	if rec.Type == taskZip && rec.Status == statusDone {
		return a.serveArchive(c, rec)
	}
	return viewTask(rec), nil
}

func (a *API) taskInBucket(c *call) (taskRecord, int64, error) {
	rec, rev, err := a.taskFor(c, c.r.PathValue("id"), "admin:GetTask")
	if err == nil && rec.Bucket != c.r.PathValue("bucket") {
		err = errorf(http.StatusNotFound, "TaskNotFound", "no task %s in bucket %s", rec.ID, c.r.PathValue("bucket"))
	}
	return rec, rev, err
}

// POST /api/tasks/{id}/cancel — (no seed route)
// Asks the runner, wherever it is, to stop → 202 with the task; the
// status turns "cancelled" once the runner notices. 409 when finished.
func (a *API) cancelTask(c *call) (any, error) {
	rec, rev, err := a.taskFor(c, c.r.PathValue("id"), "admin:CancelTask")
	if err != nil {
		return nil, err
	}
	if !taskActive(rec.Status) {
		return nil, errorf(http.StatusConflict, "TaskFinished", "task %s is already %s", rec.ID, rec.Status)
	}
	return a.requestCancel(c, rec, rev)
}

// DELETE /api/tasks/{id} — (no seed route)
// Cancels an active task (202, as POST .../cancel), or forgets a finished
// one and removes its archive (204).
func (a *API) deleteTask(c *call) (any, error) {
	rec, rev, err := a.taskFor(c, c.r.PathValue("id"), "admin:CancelTask")
	if err != nil {
		return nil, err
	}
	if taskActive(rec.Status) {
		return a.requestCancel(c, rec, rev)
	}
	if err := a.cfg.Store.DeleteRecord(c.ctx, taskKind, rec.ID, rev); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			return nil, errorf(http.StatusConflict, "Conflict", "task %s changed; try again", rec.ID)
		}
		return nil, fmt.Errorf("deleting task %s: %w", rec.ID, err)
	}
	if rec.File != "" {
		if err := os.Remove(filepath.Join(a.tasks.dir, rec.File)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.log.Warn("removing task archive", "task", rec.ID, "err", err)
		}
	}
	return noContent, nil
}

func (a *API) requestCancel(c *call, rec taskRecord, rev int64) (any, error) {
	for range 10 {
		rec.Cancel = true
		_, err := a.putTask(c.ctx, &rec, rev)
		if err == nil {
			// The runner notices the flag at its next progress write; when
			// it runs here, tell it now.
			a.tasks.signal(rec.ID, errTaskCancelled)
			c.log.Info("task cancel requested", "task", rec.ID)
			return accepted(viewTask(rec)), nil
		}
		if !errors.Is(err, meta.ErrConflict) {
			return nil, fmt.Errorf("cancelling task %s: %w", rec.ID, err)
		}
		if rec, rev, err = a.getTask(c.ctx, rec.ID); err != nil {
			return nil, err
		}
		if !taskActive(rec.Status) {
			return accepted(viewTask(rec)), nil
		}
	}
	return nil, errorf(http.StatusConflict, "Conflict", "task %s is changing too fast; try again", rec.ID)
}

// GET /api/tasks/{id}/download — ra-hcp GET /buckets/{bucket}/objects/download/{task_id} (when done)
// Streams the archive (Range supported) until the task expires; ?ticket=
// admits a browser link.
func (a *API) downloadTask(c *call) (any, error) {
	rec, _, err := a.taskFor(c, c.r.PathValue("id"), "admin:GetTask")
	if err != nil {
		return nil, err
	}
	return a.serveArchive(c, rec)
}

func (a *API) serveArchive(c *call, rec taskRecord) (any, error) {
	if rec.Type != taskZip {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "task %s is a %s task; only zip tasks have a download", rec.ID, rec.Type)
	}
	if rec.Status != statusDone {
		return nil, errorf(http.StatusConflict, "TaskNotReady", "task %s is %s", rec.ID, rec.Status)
	}
	if _, _, ok := parseTaskFile(rec.File); !ok {
		return nil, fmt.Errorf("task %s names archive %q", rec.ID, rec.File)
	}
	f, err := os.Open(filepath.Join(a.tasks.dir, rec.File))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(http.StatusNotFound, "ArchiveNotFound",
			"the archive of task %s is gone (expired or deleted), or was built by an instance whose temp dir this one does not share", rec.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("opening archive: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening archive: %w", err)
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": rec.Bucket + "-objects.zip"}))
	// ra-hcp's headers, for clients that read them.
	h.Set("X-Zip-Failed", strconv.FormatInt(rec.Progress.Failed, 10))
	var failed []string
	for _, e := range rec.Errors[:min(len(rec.Errors), 50)] {
		failed = append(failed, url.PathEscape(e.Key))
	}
	if len(failed) > 0 {
		h.Set("X-Zip-Failed-Keys", strings.Join(failed, ","))
	}
	http.ServeContent(c.w, c.r, "", st.ModTime(), f)
	return written, nil
}

// taskFor loads task id for the caller: its creator, or a principal
// allowed adminAction.
func (a *API) taskFor(c *call, id, adminAction string) (taskRecord, int64, error) {
	rec, rev, err := a.getTask(c.ctx, id)
	if errors.Is(err, errTaskNotFound) {
		return rec, 0, errorf(http.StatusNotFound, "TaskNotFound", "no task %s (tasks are kept %s after they finish)", id, taskRetention)
	}
	if err != nil {
		return rec, 0, err
	}
	if rec.Owner.Name != c.p.Name {
		if err := c.authorize(adminAction, "", "", nil); err != nil {
			return rec, 0, err
		}
	}
	rec, rev = a.tasks.reconcile(c.ctx, rec, rev)
	return rec, rev, nil
}

func (a *API) getTask(ctx context.Context, id string) (taskRecord, int64, error) {
	if !validTaskID(id) {
		return taskRecord{}, 0, fmt.Errorf("task %q: %w", id, errTaskNotFound)
	}
	r, err := a.cfg.Store.GetRecord(ctx, taskKind, id)
	if errors.Is(err, meta.ErrRecordNotFound) {
		return taskRecord{}, 0, fmt.Errorf("task %s: %w", id, errTaskNotFound)
	}
	if err != nil {
		return taskRecord{}, 0, fmt.Errorf("reading task %s: %w", id, err)
	}
	var rec taskRecord
	if err := json.Unmarshal(r.Data, &rec); err != nil {
		return taskRecord{}, 0, fmt.Errorf("decoding task %s: %w", id, err)
	}
	return rec, r.Rev, nil
}

// putTask stores rec under the revision precondition rev. An active task's
// record lives a retention past its last heartbeat (so the records of a
// dead instance's tasks go away), a finished one a retention past its end.
func (a *API) putTask(ctx context.Context, rec *taskRecord, rev int64) (int64, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("encoding task: %w", err)
	}
	exp := rec.Heartbeat.Add(taskRetention)
	if !taskActive(rec.Status) {
		exp = rec.Finished.Add(taskRetention)
	}
	return a.cfg.Store.PutRecord(ctx, meta.Record{Kind: taskKind, ID: rec.ID, Data: data, Rev: rev, Expires: exp})
}

func newTaskID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validTaskID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}
