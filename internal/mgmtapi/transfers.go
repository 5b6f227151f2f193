package mgmtapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// Transfers (S4's Transfer API): server-side copies, or moves, of keys
// and folders between buckets and prefixes, run as background tasks of
// type "transfer" (tasks.go) so that any instance answers progress,
// cancel and cleanup. The items are expanded to keys when the job is
// created (S4 answers with the count), and the keys are copied
// max-concurrent-transfers at a time, each authorized as the job's
// creator at the moment it is copied.
//
// S4's main use is between "local" storage (server directories) and
// buckets: Coffer's local storage is the operator's LocalLocations
// (local.go), and transfers_local.go uploads from one into a bucket or
// downloads a bucket's keys into one, through the location's os.Root.
// A server without locations refuses type "local" as S4's unknown types.

const (
	taskTransfer = "transfer"
	// maxTransferItems and maxTransferFiles are S4's limits on a request's
	// items and on the keys they expand to.
	maxTransferItems = 1000
	maxTransferFiles = 100_000
	// A check-conflicts answer warns above these (S4's thresholds).
	largeTransferFiles = 1000
	largeTransferBytes = 10 << 30
	// transferPoll is how often a progress stream rereads the record, and
	// transferKeepAlive how long it stays silent at most.
	transferPoll      = 250 * time.Millisecond
	transferKeepAlive = 15 * time.Second
	// maxRenameTries bounds the search for a free name under "rename".
	maxRenameTries = 100
)

// Conflict policies (S4's conflictResolution).
const (
	conflictOverwrite = "overwrite"
	conflictSkip      = "skip"
	conflictRename    = "rename"
)

func (a *API) transferRoutes() {
	a.handle("POST /api/transfer", a.createTransfer)
	a.handle("GET /api/transfer/progress/{jobId}", a.transferProgress,
		ticketed(func(r *http.Request) string { return "transfer:" + r.PathValue("jobId") }))
	a.handle("POST /api/transfer/cancel/{jobId}", a.cancelTransfer)
	a.handle("POST /api/transfer/cleanup/{jobId}", a.cleanupTransfer)
	a.handle("POST /api/transfer/check-conflicts", a.checkTransferConflicts)
}

// transferEndpoint is one end of a transfer: S4's {type, locationId,
// path}, or its newer "type:locationId/path" string.
type transferEndpoint struct {
	Type       string `json:"type"`
	LocationID string `json:"locationId"`
	Path       string `json:"path"`
}

func (e *transferEndpoint) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		typ, rest, ok := strings.Cut(s, ":")
		if !ok {
			return fmt.Errorf("an endpoint string is \"type:bucket/path\", not %q", s)
		}
		loc, p, _ := strings.Cut(rest, "/")
		*e = transferEndpoint{Type: typ, LocationID: loc, Path: p}
		return nil
	}
	type plain transferEndpoint
	return json.Unmarshal(b, (*plain)(e))
}

// base is the endpoint's path as a key prefix: "" or ending in "/". A
// leading "/" is dropped (S4's paths are rooted; keys conventionally are
// not).
func (e transferEndpoint) base() string {
	p := strings.TrimLeft(e.Path, "/")
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

type transferItem struct {
	Path string `json:"path"`
	// Type is "file" or "directory"; "" means directory when the path
	// ends in "/".
	Type string `json:"type"`
}

// transferRequest is the body of POST /api/transfer and (without the
// policy and deleteSource) of check-conflicts.
type transferRequest struct {
	Source             *transferEndpoint `json:"source"`
	Destination        *transferEndpoint `json:"destination"`
	Items              []transferItem    `json:"items"`
	ConflictResolution string            `json:"conflictResolution"`
	// DeleteSource makes the transfer a move (S4's deleteSource).
	DeleteSource bool `json:"deleteSource"`
}

// transferFile is one key to copy: src and dst are keys, or paths in a
// location for a local end (cleaned by localCleanPath).
type transferFile struct {
	src, dst string
	size     int64
	// err is why the file cannot be transferred (a key that names no
	// local path); the file fails when its turn comes.
	err error
}

// transferDetail is a transfer's part of its task record (Detail).
type transferDetail struct {
	Source             transferEndpoint `json:"source"`
	Destination        transferEndpoint `json:"destination"`
	ConflictResolution string           `json:"conflictResolution"`
	DeleteSource       bool             `json:"deleteSource"`
	TotalBytes         int64            `json:"totalBytes"`
	Skipped            int64            `json:"skipped"`
	Renamed            int64            `json:"renamed"`
	Concurrency        int              `json:"concurrency"`
	CurrentFile        *transferCurrent `json:"currentFile,omitempty"`
}

type transferCurrent struct {
	Path   string `json:"path"`
	Loaded int64  `json:"loaded"`
	Total  int64  `json:"total"`
	Status string `json:"status"`
}

// validate checks the request's shape; policy says whether a conflict
// policy may be given (create) or not (check-conflicts), local whether
// the server has local storage locations.
func (req *transferRequest) validate(policy, local bool) error {
	switch {
	case req.Source == nil || req.Destination == nil || len(req.Items) == 0:
		return errorf(http.StatusBadRequest, "InvalidRequest", "source, destination and items are required")
	case len(req.Items) > maxTransferItems:
		return errorf(http.StatusBadRequest, "InvalidRequest", "too many items (%d); the maximum is %d", len(req.Items), maxTransferItems)
	}
	for _, e := range []struct {
		name string
		ep   *transferEndpoint
	}{{"source", req.Source}, {"destination", req.Destination}} {
		switch {
		case e.ep.Type == "local" && !local:
			return errorf(http.StatusBadRequest, "UnsupportedStorageType",
				"%s.type \"local\" is not supported: this server has no local storage locations (COFFER_LOCAL_LOCATIONS); transfers copy between its buckets (type \"s3\")", e.name)
		case e.ep.Type != "s3" && e.ep.Type != "local":
			return errorf(http.StatusBadRequest, "UnsupportedStorageType", "%s.type must be \"s3\" or \"local\", not %q", e.name, e.ep.Type)
		case e.ep.LocationID == "":
			return errorf(http.StatusBadRequest, "InvalidRequest", "%s.locationId (a bucket name, or a local location's id) is required", e.name)
		}
	}
	if req.Source.Type == "local" && req.Destination.Type == "local" {
		return errorf(http.StatusBadRequest, "UnsupportedStorageType",
			"transfers from local to local storage are not supported; one end must be a bucket (type \"s3\")")
	}
	for i, it := range req.Items {
		switch {
		case it.Path == "" || it.Path == "/":
			return errorf(http.StatusBadRequest, "InvalidRequest", "items[%d].path is required", i)
		case it.Type != "" && it.Type != "file" && it.Type != "directory":
			return errorf(http.StatusBadRequest, "InvalidRequest", "items[%d].type must be \"file\" or \"directory\"", i)
		case it.Type == "file" && strings.HasSuffix(it.Path, "/"):
			return errorf(http.StatusBadRequest, "InvalidRequest", "items[%d] is a file but its path ends in \"/\"", i)
		}
	}
	switch req.ConflictResolution {
	case "", conflictOverwrite, conflictSkip, conflictRename:
		if !policy && req.ConflictResolution != "" {
			return errorf(http.StatusBadRequest, "InvalidRequest", "check-conflicts takes no conflictResolution")
		}
	default:
		return errorf(http.StatusBadRequest, "InvalidRequest", "conflictResolution must be \"overwrite\", \"skip\" or \"rename\"")
	}
	if !policy && req.DeleteSource {
		return errorf(http.StatusBadRequest, "InvalidRequest", "check-conflicts takes no deleteSource")
	}
	return nil
}

func (it transferItem) directory() bool {
	return it.Type == "directory" || (it.Type == "" && strings.HasSuffix(it.Path, "/"))
}

// expand turns the items into keys, as the caller: a directory is listed
// (s3:ListBucket), a file's source is looked up (s3:GetObject) and its
// destination checked writable (s3:PutObject), so that a caller who may
// do nothing learns it now. Every key is authorized again when copied.
func (a *API) expandTransfer(c *call, req *transferRequest) ([]transferFile, int64, error) {
	if req.Source.Type == "local" {
		return a.expandLocalSource(c, req)
	}
	srcBucket, dstBucket := req.Source.LocationID, req.Destination.LocationID
	buckets := []string{srcBucket, dstBucket}
	// toLocal maps keys to paths in a location rather than keys.
	toLocal := req.Destination.Type == "local"
	if toLocal {
		root, err := a.transferLocation(c, req.Destination.LocationID, localWriteAction)
		if err != nil {
			return nil, 0, err
		}
		root.Close()
		buckets = buckets[:1]
	}
	for _, b := range buckets {
		if _, err := a.cfg.Objects.Bucket(c.ctx, b); err != nil {
			return nil, 0, err
		}
	}
	srcBase, dstBase := req.Source.base(), req.Destination.base()
	set := transferSet{unit: "keys"}
	add := set.add
	for _, it := range req.Items {
		rel := strings.TrimLeft(it.Path, "/")
		if !it.directory() {
			f := transferFile{src: srcBase + rel, dst: dstBase + rel}
			if toLocal {
				if err := transferLocalDst(&f); err != nil {
					return nil, 0, err
				}
			} else if err := a.checkTransferKeys(c, srcBucket, f.src, dstBucket, f.dst); err != nil {
				return nil, 0, err
			}
			if err := c.authorize("s3:GetObject", srcBucket, f.src, nil); err != nil {
				return nil, 0, err
			}
			if !toLocal {
				if err := c.authorize("s3:PutObject", dstBucket, f.dst, nil); err != nil {
					return nil, 0, err
				}
			}
			rd, err := a.cfg.Objects.GetObject(c.ctx, object.GetInput{Bucket: srcBucket, Key: f.src, HeadOnly: true})
			if err != nil {
				return nil, 0, fmt.Errorf("source %s: %w", f.src, err)
			}
			f.size = rd.Object.Size
			rd.Close()
			if err := add(f); err != nil {
				return nil, 0, err
			}
			continue
		}
		if !strings.HasSuffix(rel, "/") {
			rel += "/"
		}
		srcDir, dstDir := srcBase+rel, dstBase+rel
		if toLocal {
			if err := object.ValidateKey(srcDir); err != nil {
				return nil, 0, fmt.Errorf("key %q: %w", srcDir, err)
			}
			if _, err := localCleanPath(dstDir); err != nil {
				return nil, 0, err
			}
		} else if err := a.checkTransferKeys(c, srcBucket, srcDir, dstBucket, dstDir); err != nil {
			return nil, 0, err
		}
		if !toLocal && srcBucket == dstBucket && strings.HasPrefix(dstDir, srcDir) {
			return nil, 0, errorf(http.StatusBadRequest, "InvalidRequest", "the destination %q is the source folder %q or inside it", dstDir, srcDir)
		}
		if err := c.authorize("s3:ListBucket", srcBucket, "", listConds(srcDir, "")); err != nil {
			return nil, 0, err
		}
		opts := meta.ListOptions{Prefix: srcDir, Limit: object.MaxListKeys}
		for {
			page, err := a.cfg.Objects.ListObjects(c.ctx, srcBucket, opts)
			if err != nil {
				return nil, 0, err
			}
			for _, o := range page.Objects {
				// The folder's own marker ("dir/") copies to the
				// destination folder's marker, so empty folders survive.
				f := transferFile{src: o.Key, dst: dstDir + o.Key[len(srcDir):], size: o.Size}
				if toLocal {
					// A key that names no path fails on its own, later.
					f.err = transferLocalDst(&f)
				}
				if err := add(f); err != nil {
					return nil, 0, err
				}
			}
			if !page.Truncated {
				break
			}
			opts.After = page.NextAfter
		}
	}
	if len(set.files) == 0 {
		return nil, 0, errorf(http.StatusBadRequest, "EmptyTransfer", "no files to transfer: the folders are empty")
	}
	return set.files, set.total, nil
}

// checkTransferKeys refuses keys S3 would refuse, and a copy onto itself.
func (a *API) checkTransferKeys(c *call, srcBucket, src, dstBucket, dst string) error {
	for _, k := range []string{src, dst} {
		if err := object.ValidateKey(k); err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
	}
	if srcBucket == dstBucket && src == dst {
		return errorf(http.StatusBadRequest, "InvalidRequest", "%q would be copied onto itself", src)
	}
	return nil
}

type transferCreated struct {
	JobID          string `json:"jobId"`
	Status         string `json:"status"`
	FilesQueued    int    `json:"filesQueued"`
	EstimatedBytes int64  `json:"estimatedBytes"`
	SSEURL         string `json:"sseUrl"`
}

// POST /api/transfer — S4 POST /transfer
// Body {source: {type: "s3", locationId: bucket, path}, destination: {…},
// items: [{path, type: "file"|"directory"}], conflictResolution:
// "overwrite" (default)|"skip"|"rename", deleteSource: bool (a move)} →
// 200 {jobId, status: "pending", filesQueued, estimatedBytes, sseUrl}.
// A file item is source.path+path copied to destination.path+path; a
// directory item is every key under it, keeping the layout below it.
// Either end may instead be {type: "local", locationId: a location's id,
// path} (transfers_local.go), but not both.
func (a *API) createTransfer(c *call) (any, error) {
	var req transferRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := req.validate(true, len(a.cfg.LocalLocations) > 0); err != nil {
		return nil, err
	}
	if req.ConflictResolution == "" {
		req.ConflictResolution = conflictOverwrite
	}
	files, total, err := a.expandTransfer(c, &req)
	if err != nil {
		return nil, err
	}
	n, err := a.maxConcurrentTransfers(c.ctx)
	if err != nil {
		return nil, err
	}
	j := &transferJob{files: files, srcBucket: req.Source.LocationID, dstBucket: req.Destination.LocationID,
		policy: req.ConflictResolution, move: req.DeleteSource, concurrency: n,
		detail: transferDetail{Source: *req.Source, Destination: *req.Destination, ConflictResolution: req.ConflictResolution,
			DeleteSource: req.DeleteSource, TotalBytes: total, Concurrency: n}}
	// The bucket end names the task (GET /api/buckets/{bucket}/tasks).
	bucket := j.srcBucket
	switch {
	case req.Source.Type == "local":
		j.srcLocal, j.srcBucket, bucket = j.srcBucket, "", j.dstBucket
	case req.Destination.Type == "local":
		j.dstLocal, j.dstBucket = j.dstBucket, ""
	}
	detail, err := json.Marshal(j.detail)
	if err != nil {
		return nil, fmt.Errorf("encoding transfer: %w", err)
	}
	id := newTaskID()
	now := a.now().UTC()
	rec := taskRecord{
		ID: id, Type: taskTransfer, Status: statusQueued, Bucket: bucket, Prefix: req.Source.base(),
		Instance: a.tasks.instance, Created: now, Heartbeat: now, Detail: detail,
		Owner: taskOwner{Name: c.p.Name, AccessKey: c.p.AccessKey, Root: c.p.Root, Token: c.p.Token,
			SourceIP: c.client.String(), Secure: c.r.TLS != nil},
	}
	rec.Progress.Total = int64(len(files))
	rev, err := a.putTask(c.ctx, &rec, meta.RevNew)
	if err != nil {
		return nil, fmt.Errorf("storing transfer: %w", err)
	}
	c.log.Info("transfer started", "task", id, "bucket", j.srcBucket, "destination_bucket", j.dstBucket,
		"source_location", j.srcLocal, "destination_location", j.dstLocal, "files", len(files), "move", req.DeleteSource)
	a.tasks.startWith(rec, rev, j.run)
	return transferCreated{JobID: id, Status: "pending", FilesQueued: len(files), EstimatedBytes: total,
		SSEURL: "/api/transfer/progress/" + id}, nil
}

// transferJob is a transfer being run; its fields are fixed before the
// run starts, except detail, which is guarded by the run's lock (the
// workers read the copies of its fixed parts kept beside it).
type transferJob struct {
	files                []transferFile
	srcBucket, dstBucket string
	// srcLocal or dstLocal is the id of a local end (its bucket is "");
	// root is that location, opened for the run.
	srcLocal, dstLocal string
	root               *os.Root
	policy             string
	move               bool
	concurrency        int
	detail             transferDetail
}

// update changes the detail and puts it in the record, for the next
// progress write.
func (j *transferJob) update(r *taskRun, fn func(*transferDetail)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(&j.detail)
	if data, err := json.Marshal(j.detail); err == nil {
		r.rec.Detail = data
	}
}

// run copies the keys, detail.Concurrency at a time, and stops taking
// new keys once cancelled; a copy under way finishes (S4: "stops after
// the current file"), so the counters match what was copied.
func (j *transferJob) run(r *taskRun) error {
	if err := j.openLocal(r); err != nil {
		return err
	}
	if j.root != nil {
		defer j.root.Close()
	}
	work := make(chan transferFile)
	var wg sync.WaitGroup
	for range j.concurrency {
		wg.Go(func() {
			for f := range work {
				j.one(r, f)
			}
		})
	}
feed:
	for _, f := range j.files {
		select {
		case work <- f:
		case <-r.ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	j.update(r, func(d *transferDetail) { d.CurrentFile = nil })
	if err := context.Cause(r.ctx); err != nil {
		return err
	}
	r.mu.Lock()
	p := r.rec.Progress
	r.mu.Unlock()
	if p.Completed == 0 && p.Failed > 0 {
		return errorf(http.StatusConflict, "TransferFailed", "none of the %d files could be transferred", p.Failed)
	}
	return nil
}

func (j *transferJob) authorize(r *taskRun, action, bucket, key string) error {
	return r.a.cfg.IAM.Authorize(r.ctx, r.p, iam.Request{Action: action, Bucket: bucket, Key: key, Conditions: r.conds})
}

// one transfers one key. Its outcome is counted once: completed (copied
// or skipped) or failed.
func (j *transferJob) one(r *taskRun, f transferFile) {
	if context.Cause(r.ctx) != nil {
		return
	}
	j.update(r, func(d *transferDetail) {
		d.CurrentFile = &transferCurrent{Path: f.src, Total: f.size, Status: "transferring"}
	})
	skipped, renamed, err := j.copy(r, f)
	if err != nil && r.ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, r.ctx.Err())) {
		return // cancelled while authorizing: nothing was written
	}
	if err != nil {
		r.failKey(f.src, err)
	} else {
		r.progress(func(p *taskProgress) { p.Completed++; p.Bytes += f.size })
		j.update(r, func(d *transferDetail) {
			if skipped {
				d.Skipped++
			}
			if renamed {
				d.Renamed++
			}
			if d.CurrentFile != nil && d.CurrentFile.Path == f.src {
				d.CurrentFile.Loaded, d.CurrentFile.Status = f.size, "completed"
			}
		})
	}
	r.tick(1) //nolint:errcheck // a cancel is seen by the feeder
}

// copy copies f as the job's policy says and, for a move, deletes the
// source once its copy is stored. Writes use a context that a cancel
// does not interrupt, so a key is either fully transferred or untouched.
func (j *transferJob) copy(r *taskRun, f transferFile) (skipped, renamed bool, err error) {
	switch {
	case f.err != nil:
		return false, false, f.err
	case j.srcLocal != "":
		return j.upload(r, f)
	case j.dstLocal != "":
		return j.download(r, f)
	}
	if err := j.authorize(r, "s3:GetObject", j.srcBucket, f.src); err != nil {
		return false, false, err
	}
	if j.move {
		if err := j.authorize(r, "s3:DeleteObject", j.srcBucket, f.src); err != nil {
			return false, false, err
		}
	}
	ctx := context.WithoutCancel(r.ctx)
	dst := f.dst
	for try := 0; ; try++ {
		if err := j.authorize(r, "s3:PutObject", j.dstBucket, dst); err != nil {
			return false, false, err
		}
		in := object.CopyInput{Source: object.CopySource{Bucket: j.srcBucket, Key: f.src}, Bucket: j.dstBucket, Key: dst}
		err = nil
		if j.policy != conflictOverwrite {
			// If-None-Match makes "is it free?" and the write one step:
			// no other writer can slip in between. The lookup first only
			// saves streaming a copy that would be refused.
			in.Cond = &meta.Condition{IfNoneMatch: true}
			if rd, herr := r.a.cfg.Objects.GetObject(ctx, object.GetInput{Bucket: j.dstBucket, Key: dst, HeadOnly: true}); herr == nil {
				rd.Close()
				err = object.ErrPreconditionFailed
			}
		}
		if err == nil {
			_, err = r.a.cfg.Objects.CopyObject(ctx, in)
		}
		if errors.Is(err, object.ErrPreconditionFailed) {
			switch {
			case j.policy == conflictSkip:
				return true, false, nil
			case try < maxRenameTries:
				dst = renamedKey(f.dst, try+1)
				continue
			}
			return false, false, fmt.Errorf("no free name for %q after %d tries: %w", f.dst, maxRenameTries, err)
		}
		if err != nil {
			return false, false, err
		}
		break
	}
	if j.move {
		if _, err := r.a.cfg.Objects.DeleteObject(ctx, object.DeleteInput{Bucket: j.srcBucket, Key: f.src}); err != nil {
			return false, false, fmt.Errorf("copied to %s, but deleting the source failed: %w", dst, err)
		}
	}
	return false, dst != f.dst, nil
}

// renamedKey is key with "_n" before its extension ("a/b_2.txt"); a
// folder marker gets it before its final "/".
func renamedKey(key string, n int) string {
	trail := ""
	if strings.HasSuffix(key, "/") {
		key, trail = strings.TrimSuffix(key, "/"), "/"
	}
	ext := path.Ext(key)
	if strings.Contains(ext, "/") || ext == key[strings.LastIndex(key, "/")+1:] {
		ext = "" // ".bashrc" has no extension
	}
	return fmt.Sprintf("%s_%d%s%s", strings.TrimSuffix(key, ext), n, ext, trail)
}

// transferFor loads transfer id for the caller: its creator, or a
// principal allowed adminAction (as tasks are).
func (a *API) transferFor(c *call, id, adminAction string) (taskRecord, int64, error) {
	rec, rev, err := a.getTask(c.ctx, id)
	if errors.Is(err, errTaskNotFound) || (err == nil && rec.Type != taskTransfer) {
		return rec, 0, errorf(http.StatusNotFound, "TransferNotFound", "no transfer job %s (jobs are kept %s after they finish)", id, taskRetention)
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

// transferJobJSON is S4's job in progress events.
type transferJobJSON struct {
	ID               string              `json:"id"`
	Status           string              `json:"status"`
	FilesCompleted   int64               `json:"filesCompleted"`
	FilesFailed      int64               `json:"filesFailed"`
	FilesSkipped     int64               `json:"filesSkipped"`
	TotalFiles       int64               `json:"totalFiles"`
	BytesTransferred int64               `json:"bytesTransferred"`
	TotalBytes       int64               `json:"totalBytes"`
	StartTime        int64               `json:"startTime,omitempty"` // Unix ms
	Errors           []transferErrorJSON `json:"errors"`
	Error            string              `json:"error,omitempty"`
}

type transferErrorJSON struct {
	File    string `json:"file"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

type transferEvent struct {
	Type        string           `json:"type"`
	Job         transferJobJSON  `json:"job"`
	CurrentFile *transferCurrent `json:"currentFile,omitempty"`
}

// transferStatus maps a task status to S4's job status; an interrupted
// job (its instance stopped) is "failed" with an error.
func transferStatus(s string) string {
	switch s {
	case statusQueued:
		return "pending"
	case statusRunning:
		return "in_progress"
	case statusDone:
		return "completed"
	case statusCancelled:
		return "cancelled"
	}
	return "failed"
}

func transferEventOf(rec taskRecord) transferEvent {
	var d transferDetail
	_ = json.Unmarshal(rec.Detail, &d) // written by this package; a bad one shows zeros
	job := transferJobJSON{ID: rec.ID, Status: transferStatus(rec.Status), FilesCompleted: rec.Progress.Completed,
		FilesFailed: rec.Progress.Failed, FilesSkipped: d.Skipped, TotalFiles: rec.Progress.Total,
		BytesTransferred: rec.Progress.Bytes, TotalBytes: d.TotalBytes, Errors: []transferErrorJSON{}, Error: rec.Error}
	if !rec.Started.IsZero() {
		job.StartTime = rec.Started.UnixMilli()
	}
	for _, e := range rec.Errors {
		name, msg, ok := strings.Cut(e.Error, ": ")
		if !ok {
			name, msg = "Error", e.Error
		}
		job.Errors = append(job.Errors, transferErrorJSON{File: e.Key, Error: name, Message: msg})
	}
	ev := transferEvent{Type: "progress", Job: job, CurrentFile: d.CurrentFile}
	switch job.Status {
	case "completed":
		ev.Type = "complete"
	case "cancelled":
		ev.Type = "cancelled"
	case "failed":
		ev.Type = "error"
	}
	return ev
}

// GET /api/transfer/progress/{jobId} — S4 GET /transfer/progress/:jobId (SSE; ?ticket= for resource "transfer:<jobId>", or a session)
//
// Events are S4's {"type", "job": {id, status, filesCompleted, totalFiles,
// bytesTransferred, totalBytes, startTime, errors, …}, "currentFile":
// {path, loaded, total, status}}, read from the job's record (so any
// instance serves them) whenever it changes; the last has type
// "complete", "cancelled" or "error", and the stream then ends.
func (a *API) transferProgress(c *call) (any, error) {
	id := c.r.PathValue("jobId")
	rec, _, err := a.transferFor(c, id, "admin:GetTask")
	if err != nil {
		return nil, err
	}
	rc := http.NewResponseController(c.w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	c.w.WriteHeader(http.StatusOK)
	poll := time.NewTicker(transferPoll)
	defer poll.Stop()
	var last []byte
	beat := time.Now()
	for {
		data, err := json.Marshal(transferEventOf(rec))
		if err != nil {
			return written, nil
		}
		if string(data) != string(last) {
			if _, err := fmt.Fprintf(c.w, "data: %s\n\n", data); err != nil || rc.Flush() != nil {
				return written, nil
			}
			last, beat = data, time.Now()
		}
		if !taskActive(rec.Status) {
			return written, nil
		}
		if time.Since(beat) > transferKeepAlive {
			if _, err := io.WriteString(c.w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return written, nil
			}
			beat = time.Now()
		}
		select {
		case <-c.ctx.Done():
			return written, nil
		case <-poll.C:
		}
		next, nrev, err := a.getTask(c.ctx, id)
		switch {
		case errors.Is(err, errTaskNotFound):
			// Cleaned up while watched: the last state seen is final.
			return written, nil
		case err != nil:
			c.log.Warn("reading transfer progress", "task", id, "err", err)
			continue
		}
		rec, _ = a.tasks.reconcile(c.ctx, next, nrev)
	}
}

type transferCancelled struct {
	Message        string `json:"message"`
	JobID          string `json:"jobId"`
	Status         string `json:"status"`
	FilesCompleted int64  `json:"filesCompleted"`
	TotalFiles     int64  `json:"totalFiles"`
}

// POST /api/transfer/cancel/{jobId} — S4 POST /transfer/cancel/:jobId
// → 200 {message, jobId, status, filesCompleted, totalFiles}; the runner,
// on whichever instance, stops after the keys being copied. 409 when the
// job has finished.
func (a *API) cancelTransfer(c *call) (any, error) {
	rec, rev, err := a.transferFor(c, c.r.PathValue("jobId"), "admin:CancelTask")
	if err != nil {
		return nil, err
	}
	if !taskActive(rec.Status) {
		return nil, errorf(http.StatusConflict, "TransferFinished", "transfer %s is already %s", rec.ID, transferStatus(rec.Status))
	}
	if _, err := a.requestCancel(c, rec, rev); err != nil {
		return nil, err
	}
	if cur, _, err := a.getTask(c.ctx, rec.ID); err == nil {
		rec = cur
	}
	return transferCancelled{Message: "Transfer cancelled", JobID: rec.ID, Status: transferStatus(rec.Status),
		FilesCompleted: rec.Progress.Completed, TotalFiles: rec.Progress.Total}, nil
}

// POST /api/transfer/cleanup/{jobId} — S4 POST /transfer/cleanup/:jobId
// Forgets a finished job → 200 {message, jobId}; 409 while it runs
// (cancel it first). Copied keys stay: cleanup never deletes objects.
func (a *API) cleanupTransfer(c *call) (any, error) {
	rec, rev, err := a.transferFor(c, c.r.PathValue("jobId"), "admin:CancelTask")
	if err != nil {
		return nil, err
	}
	if taskActive(rec.Status) {
		return nil, errorf(http.StatusConflict, "TransferInProgress", "transfer %s is still %s: cancel it first", rec.ID, transferStatus(rec.Status))
	}
	if err := a.cfg.Store.DeleteRecord(c.ctx, taskKind, rec.ID, rev); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			return nil, errorf(http.StatusConflict, "Conflict", "transfer %s changed; try again", rec.ID)
		}
		return nil, fmt.Errorf("removing transfer %s: %w", rec.ID, err)
	}
	return map[string]string{"message": "Transfer job cleaned up", "jobId": rec.ID}, nil
}

type transferWarning struct {
	Type      string `json:"type"`
	FileCount int    `json:"fileCount"`
	TotalSize int64  `json:"totalSize"`
	Message   string `json:"message"`
}

// POST /api/transfer/check-conflicts — S4 POST /transfer/check-conflicts
// Body as POST /api/transfer (without conflictResolution and
// deleteSource) → {conflicts: [destination keys that exist],
// nonConflicting: [those that do not], warning?: {type: "large_folder",
// fileCount, totalSize, message}} (above 1000 files or 10 GiB). Needs
// s3:ListBucket on the destination under its path.
func (a *API) checkTransferConflicts(c *call) (any, error) {
	var req transferRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := req.validate(false, len(a.cfg.LocalLocations) > 0); err != nil {
		return nil, err
	}
	files, total, err := a.expandTransfer(c, &req)
	if err != nil {
		return nil, err
	}
	dst := req.Destination
	if dst.Type == "local" {
		return a.checkLocalConflicts(c, dst.LocationID, files, total)
	}
	if err := c.authorize("s3:ListBucket", dst.LocationID, "", listConds(dst.base(), "")); err != nil {
		return nil, err
	}
	out := transferConflicts{Conflicts: []string{}, NonConflicting: []string{}}
	for _, f := range files {
		rd, err := a.cfg.Objects.GetObject(c.ctx, object.GetInput{Bucket: dst.LocationID, Key: f.dst, HeadOnly: true})
		switch {
		case err == nil:
			rd.Close()
			out.Conflicts = append(out.Conflicts, f.dst)
		case errors.Is(err, object.ErrNoSuchKey): // a delete marker too
			out.NonConflicting = append(out.NonConflicting, f.dst)
		default:
			return nil, fmt.Errorf("checking %s: %w", f.dst, err)
		}
	}
	out.warn(len(files), total)
	return out, nil
}

type transferConflicts struct {
	Conflicts      []string         `json:"conflicts"`
	NonConflicting []string         `json:"nonConflicting"`
	Warning        *transferWarning `json:"warning,omitempty"`
}

func (out *transferConflicts) warn(files int, total int64) {
	if files > largeTransferFiles || total > largeTransferBytes {
		out.Warning = &transferWarning{Type: "large_folder", FileCount: files, TotalSize: total,
			Message: fmt.Sprintf("This transfer contains %d files (%.1f GiB). It may take significant time.", files, float64(total)/(1<<30))}
	}
}

// transferSet collects a job's files, each source once, up to
// maxTransferFiles; unit names what the items expand to in the error.
type transferSet struct {
	unit  string
	files []transferFile
	total int64
	seen  map[string]bool
}

func (s *transferSet) add(f transferFile) error {
	if s.seen[f.src] {
		return nil
	}
	if len(s.files) == maxTransferFiles {
		return errorf(http.StatusBadRequest, "TooManyObjects", "the items expand to more than %d %s; transfer fewer at a time", maxTransferFiles, s.unit)
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[f.src] = true
	s.files = append(s.files, f)
	s.total += f.size
	return nil
}
