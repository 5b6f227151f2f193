package mgmtapi

// The runner side of background tasks (tasks.go has the API side): the
// goroutines that count, zip and delete, their progress and heartbeat
// writes, and the sweep of the archive directory.

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	kflate "github.com/klauspost/compress/flate"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// taskRunner runs the tasks this instance accepted and sweeps its archive
// directory.
type taskRunner struct {
	a        *API
	instance string
	dir      string

	mu     sync.Mutex
	runs   map[string]context.CancelCauseFunc
	closed bool
	wg     sync.WaitGroup
	stop   chan struct{}
}

func newTaskRunner(a *API) *taskRunner {
	base := a.cfg.TempDir
	if base == "" {
		base = os.TempDir()
	}
	t := &taskRunner{a: a, instance: newTaskID()[:16], dir: filepath.Join(base, taskDirName),
		runs: map[string]context.CancelCauseFunc{}, stop: make(chan struct{})}
	t.wg.Add(1)
	go t.janitor()
	return t
}

// close stops every task this instance runs; each records itself as
// interrupted before close returns.
func (t *taskRunner) close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	for _, cancel := range t.runs {
		cancel(errTaskShutdown)
	}
	t.mu.Unlock()
	close(t.stop)
	t.wg.Wait()
}

func (t *taskRunner) start(rec taskRecord, rev int64) { t.startWith(rec, rev, nil) }

// startWith runs rec with body as its work: the extension point for task
// types defined outside these two files (transfers.go), which get the
// record, heartbeats, cancellation and the final status from here. A nil
// body runs one of the built-in types.
func (t *taskRunner) startWith(rec taskRecord, rev int64, body func(*taskRun) error) {
	ctx, cancel := context.WithCancelCause(t.a.background())
	o := rec.Owner
	r := &taskRun{t: t, a: t.a, ctx: ctx, cancel: cancel, rec: rec, rev: rev, p: o.principal(), body: body,
		conds: map[string][]string{"aws:SourceIp": {o.SourceIP}, "aws:SecureTransport": {strconv.FormatBool(o.Secure)}},
		log:   t.a.log.With("task", rec.ID, "type", rec.Type, "bucket", rec.Bucket)}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		cancel(errTaskShutdown)
		r.finish(errTaskShutdown)
		return
	}
	t.runs[rec.ID] = cancel
	t.wg.Add(1)
	t.mu.Unlock()
	go func() {
		defer t.wg.Done()
		defer func() {
			t.mu.Lock()
			delete(t.runs, rec.ID)
			t.mu.Unlock()
			cancel(nil)
		}()
		r.run()
	}()
}

// signal cancels task id with cause if this instance runs it.
func (t *taskRunner) signal(id string, cause error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cancel, ok := t.runs[id]; ok {
		cancel(cause)
	}
}

func (t *taskRunner) local(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.runs[id]
	return ok
}

// reconcile reports an active task whose runner stopped heartbeating as
// interrupted, and records that (best effort: a poll still answers when
// the write loses a race).
func (t *taskRunner) reconcile(ctx context.Context, rec taskRecord, rev int64) (taskRecord, int64) {
	now := t.a.now()
	if !taskActive(rec.Status) || now.Sub(rec.Heartbeat) <= taskStaleAfter || t.local(rec.ID) {
		return rec, rev
	}
	rec.Status = statusInterrupted
	rec.Error = fmt.Sprintf("the instance running this task stopped responding (last heartbeat %s)", rec.Heartbeat.UTC().Format(time.RFC3339))
	rec.Finished = now.UTC()
	if newRev, err := t.a.putTask(ctx, &rec, rev); err == nil {
		rev = newRev
	} else if !errors.Is(err, meta.ErrConflict) {
		t.a.log.Warn("recording interrupted task", "task", rec.ID, "err", err)
	}
	return rec, rev
}

func (t *taskRunner) janitor() {
	defer t.wg.Done()
	tick := time.NewTicker(taskJanitorTick)
	defer tick.Stop()
	for {
		t.sweep()
		select {
		case <-t.stop:
			return
		case <-tick.C:
		}
	}
}

// sweep removes archives whose task expired, was deleted or did not
// finish. A file whose record is absent may belong to another deployment
// sharing the directory, so it goes only once it is past any retention.
func (t *taskRunner) sweep() {
	ents, err := os.ReadDir(t.dir)
	if err != nil {
		return
	}
	now := t.a.now()
	ctx := t.a.background()
	for _, e := range ents {
		id, deadline, ok := parseTaskFile(e.Name())
		if !ok || t.local(id) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		remove := !deadline.IsZero() && now.After(deadline)
		rec, _, err := t.a.getTask(ctx, id)
		switch {
		case err == nil:
			stale := taskActive(rec.Status) && now.Sub(rec.Heartbeat) > taskStaleAfter
			remove = remove || stale || (!taskActive(rec.Status) && rec.File != e.Name())
		case errors.Is(err, errTaskNotFound):
			remove = remove || now.Sub(info.ModTime()) > taskRetention+time.Hour
		}
		if remove {
			if err := os.Remove(filepath.Join(t.dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.a.log.Warn("removing task archive", "file", e.Name(), "err", err)
			}
		}
	}
}

// Archive files are "<id>.part" while written, "<id>-<unix deadline>.zip"
// when done: the name says when it may go even without its record.
func taskFileName(id string, deadline time.Time) string {
	return id + "-" + strconv.FormatInt(deadline.Unix(), 10) + ".zip"
}

func parseTaskFile(name string) (id string, deadline time.Time, ok bool) {
	if id, found := strings.CutSuffix(name, ".part"); found {
		return id, time.Time{}, validTaskID(id)
	}
	base, found := strings.CutSuffix(name, ".zip")
	if !found {
		return "", time.Time{}, false
	}
	id, secs, _ := strings.Cut(base, "-")
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || !validTaskID(id) {
		return "", time.Time{}, false
	}
	return id, time.Unix(n, 0), true
}

// taskRun is one task being run.
type taskRun struct {
	t      *taskRunner
	a      *API
	ctx    context.Context
	cancel context.CancelCauseFunc
	p      iam.Principal
	conds  map[string][]string
	log    *slog.Logger
	body   func(*taskRun) error // the work of a startWith task type

	mu       sync.Mutex // guards rec, rev and the sync state
	rec      taskRecord
	rev      int64
	lastSync time.Time
	pending  int
	errs     []taskKeyError // every per-key failure, for ERRORS.txt
}

func (r *taskRun) run() {
	r.mu.Lock()
	r.rec.Status = statusRunning
	r.rec.Started = r.a.now().UTC()
	err := r.syncLocked()
	r.mu.Unlock()
	if err == nil {
		done := make(chan struct{})
		var hb sync.WaitGroup
		hb.Add(1)
		go func() {
			defer hb.Done()
			r.heartbeat(done)
		}()
		switch r.rec.Type {
		case taskCount:
			err = r.count()
		case taskZip:
			err = r.zip()
		case taskDelete:
			err = r.delete()
		default:
			err = fmt.Errorf("unknown task type %q", r.rec.Type)
			if r.body != nil {
				err = r.body(r)
			}
		}
		close(done)
		hb.Wait()
	}
	r.finish(err)
}

func (r *taskRun) heartbeat(done <-chan struct{}) {
	tick := time.NewTicker(taskHeartbeat)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			r.mu.Lock()
			if r.a.now().Sub(r.lastSync) >= taskHeartbeat/2 {
				if err := r.syncLocked(); err != nil && !errors.Is(err, errTaskSuperseded) {
					r.log.Warn("task heartbeat", "err", err)
				}
			}
			r.mu.Unlock()
		}
	}
}

// syncLocked writes the record. A revision conflict means someone else
// wrote it: a cancel request (adopted, and the run cancelled) or a
// poller that declared the run dead (errTaskSuperseded).
func (r *taskRun) syncLocked() error {
	ctx := r.a.background()
	now := r.a.now().UTC()
	r.rec.Heartbeat = now
	for range 5 {
		rev, err := r.a.putTask(ctx, &r.rec, r.rev)
		if err == nil {
			r.rev, r.lastSync, r.pending = rev, now, 0
			return nil
		}
		if !errors.Is(err, meta.ErrConflict) && !errors.Is(err, meta.ErrRecordNotFound) {
			return fmt.Errorf("updating task: %w", err)
		}
		cur, rev, err := r.a.getTask(ctx, r.rec.ID)
		if errors.Is(err, errTaskNotFound) || (err == nil && !taskActive(cur.Status)) {
			r.cancel(errTaskSuperseded)
			return errTaskSuperseded
		}
		if err != nil {
			return err
		}
		if cur.Cancel && !r.rec.Cancel {
			r.rec.Cancel = true
			r.cancel(errTaskCancelled)
		}
		r.rev = rev
	}
	return fmt.Errorf("updating task: %w", meta.ErrConflict)
}

// tick counts n keys done and writes progress when it is due. It returns
// the cause once the run is cancelled.
func (r *taskRun) tick(n int) error {
	if err := context.Cause(r.ctx); err != nil {
		return err
	}
	r.mu.Lock()
	r.pending += n
	var err error
	if r.pending >= taskSyncKeys || r.a.now().Sub(r.lastSync) >= taskSyncEvery {
		err = r.syncLocked()
	}
	r.mu.Unlock()
	if err != nil && !errors.Is(err, errTaskSuperseded) {
		// Progress is advisory; a store hiccup must not fail the work.
		r.log.Warn("task progress", "err", err)
	}
	return context.Cause(r.ctx)
}

func (r *taskRun) progress(fn func(*taskProgress)) {
	r.mu.Lock()
	fn(&r.rec.Progress)
	r.mu.Unlock()
}

func (r *taskRun) failKey(key string, err error) {
	msg := asError(err)
	if msg.Status >= 500 {
		r.log.Error("task key failed", "key", key, "err", err)
	}
	e := taskKeyError{Key: key, Error: msg.Name + ": " + msg.Message}
	r.mu.Lock()
	r.rec.Progress.Failed++
	if len(r.rec.Errors) < taskErrorsKept {
		r.rec.Errors = append(r.rec.Errors, e)
	}
	r.errs = append(r.errs, e)
	r.mu.Unlock()
}

// cancelled reports whether err is only the run's cancellation surfacing
// through a call, which is not the key's fault.
func (r *taskRun) cancelled(err error) bool {
	return err != nil && r.ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, r.ctx.Err()))
}

func (r *taskRun) finish(err error) {
	cause := context.Cause(r.ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := &r.rec
	switch {
	case err == nil:
		rec.Status = statusDone
		if rec.Type == taskZip && rec.Progress.Completed == 0 && rec.Progress.Failed > 0 {
			rec.Status, rec.Error = statusFailed, "no object could be added to the archive"
		}
	case errors.Is(cause, errTaskSuperseded) || errors.Is(err, errTaskSuperseded):
		r.removeFiles()
		return
	case errors.Is(cause, errTaskCancelled):
		rec.Status = statusCancelled
	case errors.Is(cause, errTaskShutdown):
		rec.Status, rec.Error = statusInterrupted, errTaskShutdown.Error()
	default:
		e := asError(err)
		if e.Status >= 500 {
			r.log.Error("task failed", "err", err)
		}
		rec.Status, rec.Error = statusFailed, e.Message
	}
	if rec.Status != statusDone {
		r.removeFiles()
	}
	if rec.Finished.IsZero() {
		rec.Finished = r.a.now().UTC()
	}
	rec.Heartbeat = r.a.now().UTC()
	ctx := r.a.background()
	for range 5 {
		rev, err := r.a.putTask(ctx, rec, r.rev)
		if err == nil {
			r.rev = rev
			return
		}
		if !errors.Is(err, meta.ErrConflict) {
			r.log.Error("recording task end", "err", err)
			return
		}
		// A cancel that came too late, or a poller that thought the run
		// dead: the run's own outcome is the truth.
		cur, rev, err := r.a.getTask(ctx, rec.ID)
		if err != nil {
			r.removeFiles()
			return
		}
		rec.Cancel, r.rev = rec.Cancel || cur.Cancel, rev
	}
	r.log.Error("recording task end: the record keeps changing")
}

func (r *taskRun) removeFiles() {
	for _, name := range []string{r.rec.ID + ".part", r.rec.File} {
		if name == "" {
			continue
		}
		if err := os.Remove(filepath.Join(r.t.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.log.Warn("removing task archive", "err", err)
		}
	}
	r.rec.File, r.rec.FileSize = "", 0
}

func (r *taskRun) authorize(action, key string, extra map[string][]string) error {
	conds := make(map[string][]string, len(r.conds)+len(extra))
	for k, v := range r.conds {
		conds[k] = v
	}
	for k, v := range extra {
		conds[k] = v
	}
	return r.a.cfg.IAM.Authorize(r.ctx, r.p, iam.Request{Action: action, Bucket: r.rec.Bucket, Key: key, Conditions: conds})
}

// list calls fn with every page under the task's prefix, as the owner.
func (r *taskRun) list(delimiter string, fn func(meta.ListPage) error) error {
	if err := r.authorize("s3:ListBucket", "", listConds(r.rec.Prefix, delimiter)); err != nil {
		return err
	}
	opts := meta.ListOptions{Prefix: r.rec.Prefix, Delimiter: delimiter, Limit: object.MaxListKeys}
	for {
		page, err := r.a.cfg.Objects.ListObjects(r.ctx, r.rec.Bucket, opts)
		if err != nil {
			if r.cancelled(err) {
				return context.Cause(r.ctx)
			}
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		if !page.Truncated {
			return nil
		}
		opts.After = page.NextAfter
	}
}

// count counts files and folders. Without a delimiter every level counts:
// a folder is each distinct "dir/" a key lies under (below the prefix),
// found without remembering them because keys arrive sorted, so the keys
// under one folder are contiguous. A key ending in "/" is a folder marker,
// not a file.
func (r *taskRun) count() error {
	prev := ""
	base := len(r.rec.Prefix)
	return r.list(r.rec.Delimiter, func(page meta.ListPage) error {
		var files, folders, bytes int64
		for _, o := range page.Objects {
			bytes += o.Size
			if r.rec.Delimiter != "" {
				if o.Key != r.rec.Prefix || !strings.HasSuffix(o.Key, "/") {
					files++
				}
				continue
			}
			folders += newFolders(prev, o.Key, base)
			if !strings.HasSuffix(o.Key, "/") {
				files++
			}
			prev = o.Key
		}
		folders += int64(len(page.CommonPrefixes))
		r.progress(func(p *taskProgress) {
			p.Files += files
			p.Folders += folders
			p.Bytes += bytes
			p.Total += files + folders
			p.Completed += files + folders
		})
		return r.tick(len(page.Objects) + len(page.CommonPrefixes))
	})
}

// newFolders counts the folders of key (its "/" positions at or after
// base) that prev does not lie in: key[:i+1] is a prefix of prev exactly
// when i is below their common prefix length.
func newFolders(prev, key string, base int) int64 {
	common := 0
	for common < len(prev) && common < len(key) && prev[common] == key[common] {
		common++
	}
	var n int64
	for i := max(base, common); i < len(key); i++ {
		if key[i] == '/' {
			n++
		}
	}
	return n
}

// delete removes every key under the prefix that the owner may delete,
// as DELETE would (a delete marker in a versioned bucket).
func (r *taskRun) delete() error {
	return r.list("", func(page meta.ListPage) error {
		r.progress(func(p *taskProgress) { p.Total += int64(len(page.Objects)) })
		for _, o := range page.Objects {
			if err := context.Cause(r.ctx); err != nil {
				return err
			}
			err := r.authorize("s3:DeleteObject", o.Key, nil)
			if err == nil {
				_, err = r.a.cfg.Objects.DeleteObject(r.ctx, object.DeleteInput{Bucket: r.rec.Bucket, Key: o.Key})
			}
			if r.cancelled(err) {
				return context.Cause(r.ctx)
			}
			if err != nil {
				r.failKey(o.Key, err)
			} else {
				r.progress(func(p *taskProgress) { p.Completed++ })
			}
			if err := r.tick(1); err != nil {
				return err
			}
		}
		return nil
	})
}

func (r *taskRun) zipKeys() ([]string, error) {
	if r.rec.KeyCount > 0 {
		ctx := r.a.background()
		rec, err := r.a.cfg.Store.GetRecord(ctx, taskKeysKind, r.rec.ID)
		if err != nil {
			return nil, fmt.Errorf("reading task keys: %w", err)
		}
		var keys []string
		if err := json.Unmarshal(rec.Data, &keys); err != nil {
			return nil, fmt.Errorf("decoding task keys: %w", err)
		}
		if err := r.a.cfg.Store.DeleteRecord(ctx, taskKeysKind, r.rec.ID, meta.RevAny); err != nil {
			r.log.Warn("removing task keys", "err", err)
		}
		return keys, nil
	}
	var keys []string
	err := r.list("", func(page meta.ListPage) error {
		for _, o := range page.Objects {
			if len(keys) == maxZipEntries {
				return fmt.Errorf("more than %d objects under %q: %w", maxZipEntries, r.rec.Prefix, errTaskTooLarge)
			}
			keys = append(keys, o.Key)
		}
		r.progress(func(p *taskProgress) { p.Total = int64(len(keys)) })
		return r.tick(0)
	})
	return keys, err
}

// zip writes the archive to a file, streaming each object through (the
// archive is never held in memory), and lists the keys it could not add
// in ERRORS.txt.
func (r *taskRun) zip() (err error) {
	keys, err := r.zipKeys()
	if err != nil {
		if errors.Is(err, errTaskTooLarge) {
			return errorf(http.StatusBadRequest, "TooManyObjects", "%v", err)
		}
		return err
	}
	if err := os.MkdirAll(r.t.dir, 0o700); err != nil {
		return fmt.Errorf("creating task directory: %w", err)
	}
	part := filepath.Join(r.t.dir, r.rec.ID+".part")
	f, err := os.OpenFile(part, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("creating archive: %w", err)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	zw := zip.NewWriter(bw)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return kflate.NewWriter(w, 5)
	})
	names := map[string]bool{}
	for _, key := range keys {
		n, err := r.addEntry(zw, names, key)
		if r.cancelled(err) {
			return context.Cause(r.ctx)
		}
		if err != nil {
			r.failKey(key, err)
		} else {
			r.progress(func(p *taskProgress) { p.Completed++; p.Bytes += n })
		}
		if err := r.tick(1); err != nil {
			return err
		}
	}
	r.mu.Lock()
	errs := r.errs
	r.mu.Unlock()
	if len(errs) > 0 {
		w, err := zw.Create(uniqueEntryName(names, "ERRORS.txt"))
		if err != nil {
			return fmt.Errorf("writing archive: %w", err)
		}
		fmt.Fprintf(w, "%d object(s) could not be added to this archive:\n\n", len(errs))
		for _, e := range errs {
			fmt.Fprintf(w, "%q\t%s\n", e.Key, e.Error)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	f = nil
	finished := r.a.now().UTC()
	name := taskFileName(r.rec.ID, finished.Add(taskRetention))
	if err := os.Rename(part, filepath.Join(r.t.dir, name)); err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	r.mu.Lock()
	r.rec.File, r.rec.FileSize, r.rec.Finished = name, st.Size(), finished
	r.mu.Unlock()
	return nil
}

// addEntry adds one object as the owner may read it. A failure after the
// entry began leaves a truncated entry (a streamed archive cannot take it
// back); the error says so and the key is listed in ERRORS.txt.
func (r *taskRun) addEntry(zw *zip.Writer, names map[string]bool, key string) (int64, error) {
	if err := r.authorize("s3:GetObject", key, nil); err != nil {
		return 0, err
	}
	rd, err := r.a.cfg.Objects.GetObject(r.ctx, object.GetInput{Bucket: r.rec.Bucket, Key: key})
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	obj := rd.Object
	name := zipEntryName(key)
	if strings.HasSuffix(name, "/") {
		if names[name] {
			return 0, nil
		}
		names[name] = true
		hdr := &zip.FileHeader{Name: name, Method: zip.Store, Modified: obj.Modified}
		hdr.SetMode(fs.ModeDir | 0o755)
		_, err := zw.CreateHeader(hdr)
		return 0, err
	}
	hdr := &zip.FileHeader{Name: uniqueEntryName(names, name), Method: zip.Deflate, Modified: obj.Modified}
	if compressedAlready(obj.ContentType, key) {
		hdr.Method = zip.Store
	}
	hdr.SetMode(0o644)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return 0, fmt.Errorf("writing archive: %w", err)
	}
	n, err := io.Copy(w, ctxReader{r.ctx, rd})
	if err != nil {
		return n, fmt.Errorf("reading %s failed after %d bytes; its entry is truncated: %w", key, n, err)
	}
	return n, nil
}

// ctxReader stops a long copy when the task is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// zipEntryName makes a key safe to extract: no absolute paths, no "." or
// ".." segments, no backslashes (a separator on Windows), no empty
// segments.
func zipEntryName(key string) string {
	dir := strings.HasSuffix(key, "/")
	var segs []string
	for s := range strings.SplitSeq(key, "/") {
		switch s {
		case "":
			continue
		case ".", "..":
			s = "_" + s
		}
		segs = append(segs, strings.ReplaceAll(s, `\`, "_"))
	}
	name := strings.Join(segs, "/")
	if name == "" {
		name = "_"
	}
	if dir {
		name += "/"
	}
	return name
}

// uniqueEntryName returns name, or "name (n).ext" when name is taken
// (two keys can sanitize to one name), and marks it taken.
func uniqueEntryName(names map[string]bool, name string) string {
	cand := name
	ext := path.Ext(name)
	for i := 1; names[cand]; i++ {
		cand = fmt.Sprintf("%s (%d)%s", strings.TrimSuffix(name, ext), i, ext)
	}
	names[cand] = true
	return cand
}

// compressedAlready reports content that deflate would not shrink, which
// is stored as is.
func compressedAlready(contentType, key string) bool {
	ct, _, _ := mime.ParseMediaType(contentType)
	switch {
	case ct == "image/svg+xml" || ct == "image/bmp" || ct == "image/tiff" || ct == "audio/wav" || ct == "audio/x-wav":
		return false
	case strings.HasPrefix(ct, "image/"), strings.HasPrefix(ct, "video/"), strings.HasPrefix(ct, "audio/"):
		return true
	}
	switch ct {
	case "application/zip", "application/gzip", "application/x-gzip", "application/x-7z-compressed",
		"application/x-rar-compressed", "application/vnd.rar", "application/x-bzip2", "application/x-xz",
		"application/zstd", "application/x-zstd", "application/pdf", "application/java-archive",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"application/vnd.openxmlformats-officedocument.presentationml.presentation", "font/woff2":
		return true
	}
	switch strings.ToLower(path.Ext(key)) {
	case ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".jpg", ".jpeg", ".png", ".gif",
		".webp", ".avif", ".heic", ".mp4", ".mkv", ".mov", ".webm", ".mp3", ".ogg", ".flac", ".aac", ".m4a",
		".docx", ".xlsx", ".pptx", ".jar", ".apk", ".woff2", ".pdf":
		return true
	}
	return false
}
