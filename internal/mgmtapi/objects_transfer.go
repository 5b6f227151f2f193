package mgmtapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// Uploads stream the form's file part straight into the object service:
// nothing is buffered whole, in memory or on disk, whatever the size. A
// body up to objSinglePutMax is one PutObject; a larger one (declared by
// Content-Length) becomes a multipart upload of objPartSize parts, so the
// limit is the multipart one (objUploadMax), not a single PUT's 5 GiB.
// (Atomics only so that tests can lower them while servers run.)
var objSinglePutMax, objPartSize atomic.Int64

// objProgressSettle is how long a stream that finds an attempt which
// ended before the stream opened waits for a new attempt under the same
// id before reporting that end (see uploadProgress).
var objProgressSettle atomic.Int64

func init() {
	objSinglePutMax.Store(object.MaxPutSize)
	objPartSize.Store(64 << 20)
	objProgressSettle.Store(int64(3 * time.Second))
}

// objUploadMax is the largest file an upload accepts: a multipart
// object's maximum.
const objUploadMax = int64(object.MaxParts) * object.MaxPartSize

// Progress records: one per upload in progress, in the metadata store so
// that the SSE stream can be served by any instance.
const (
	kindUploadProgress = "upload-progress"
	// objProgressBytes and objProgressEvery bound how often an upload
	// writes its record: at most every 250 ms, and then only after 256 KiB
	// more (or a second without any write, for slow clients).
	objProgressBytes = 256 << 10
	objProgressEvery = 250 * time.Millisecond
	objProgressQuiet = time.Second
	// objProgressTTL keeps a record a few minutes after its last write:
	// a stalled upload's stream ends when it expires.
	objProgressTTL = 5 * time.Minute
	// objProgressIdle is how long a stream waits for an upload that has
	// not started.
	objProgressIdle = 2 * time.Minute
	objProgressPoll = 250 * time.Millisecond
	objHeartbeat    = 15 * time.Second
	objMaxProgessID = 512
)

// Upload progress statuses (S4's, plus failed).
const (
	progressIdle      = "idle"
	progressUploading = "uploading"
	progressCompleted = "completed"
	progressFailed    = "failed"
)

// progressEvent is one SSE event, and the record's data.
type progressEvent struct {
	Loaded int64  `json:"loaded"`
	Total  int64  `json:"total"`
	Status string `json:"status"`
	Bucket string `json:"bucket,omitempty"`
	Key    string `json:"key,omitempty"`
	Error  string `json:"error,omitempty"`
	// At is when the record was written (the record only; streams do
	// not send it): for a finished upload, when it finished.
	At time.Time `json:"at,omitzero"`
}

// objProgressRecordID scopes progress ids by caller: a client sees only
// its own uploads, and two users uploading the same key do not mix.
func objProgressRecordID(principal, id string) string { return principal + "\x00" + id }

func objValidProgressID(id string) error {
	if id == "" || len(id) > objMaxProgessID || !utf8.ValidString(id) || strings.ContainsAny(id, "\x00\r\n") {
		return errorf(http.StatusBadRequest, "InvalidArgument", "uploadId must be 1 to %d printable characters", objMaxProgessID)
	}
	return nil
}

// objProgress reports one upload's progress into its record.
type objProgress struct {
	now    func() time.Time
	store  meta.Records
	log    interface{ Warn(string, ...any) }
	id     string
	ev     progressEvent
	loaded atomic.Int64
	stop   chan struct{}
	done   sync.WaitGroup
}

// startProgress begins an upload attempt: it replaces whatever record an
// earlier attempt under the same id left (its "completed" or "failed"
// stays for objProgressTTL) with a fresh "uploading" one, before anything
// else about the request is judged, so that a stream never takes the
// previous attempt's end for this one's. track starts the periodic
// writes once the body is being read.
func (a *API) startProgress(c *call, id, bucket, key string, total int64) *objProgress {
	p := &objProgress{now: a.now, store: a.cfg.Store, log: c.log, id: objProgressRecordID(c.p.Name, id),
		ev: progressEvent{Total: total, Status: progressUploading, Bucket: bucket, Key: key}, stop: make(chan struct{})}
	p.write(a.background(), 0)
	return p
}

// track records the total once the form has given it and writes the
// record as the body is read, until finish.
func (p *objProgress) track(ctx context.Context, total int64) {
	if total != p.ev.Total {
		p.ev.Total = total
		p.write(ctx, 0)
	}
	p.done.Add(1)
	go p.run(ctx)
}

func (p *objProgress) write(ctx context.Context, loaded int64) {
	ev := p.ev
	ev.Loaded = loaded
	ev.At = p.now().UTC()
	data, _ := json.Marshal(ev)
	_, err := p.store.PutRecord(ctx, meta.Record{Kind: kindUploadProgress, ID: p.id, Data: data, Rev: meta.RevAny,
		Expires: p.now().Add(objProgressTTL)})
	if err != nil {
		// Progress is advisory: the upload goes on without it.
		p.log.Warn("recording upload progress", "err", err)
	}
}

func (p *objProgress) run(ctx context.Context) {
	defer p.done.Done()
	t := time.NewTicker(objProgressEvery)
	defer t.Stop()
	written, at := int64(0), time.Now()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			n := p.loaded.Load()
			if n-written >= objProgressBytes || (n != written && now.Sub(at) >= objProgressQuiet) {
				p.write(ctx, n)
				written, at = n, now
			}
		}
	}
}

// finish records the outcome; the record stays until its TTL, so that a
// stream opened late still learns it.
func (p *objProgress) finish(ctx context.Context, size int64, err error) {
	close(p.stop)
	p.done.Wait() // returns at once when track was never called
	if err != nil {
		p.ev.Status, p.ev.Error = progressFailed, asError(err).Message
		p.write(ctx, p.loaded.Load())
		return
	}
	p.ev.Status, p.ev.Total = progressCompleted, size
	p.write(ctx, size)
}

// countingReader counts what the object service has read.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// uploadResult is S4's upload answer, with what was stored.
type uploadResult struct {
	Message   string `json:"message"`
	Key       string `json:"key"`
	Bucket    string `json:"bucket"`
	Size      int64  `json:"size"`
	ETag      string `json:"etag"`
	VersionID string `json:"versionId,omitempty"`
	UploadID  string `json:"uploadId"`
}

// POST /api/objects/upload/{bucket}/{encodedKey} — S4 POST /objects/upload/:bucketName/:encodedKey
//
// multipart/form-data with the file in a part named "file" (or any part
// with a filename). Progress goes to the record that GET
// /api/objects/upload-progress/{id} streams, id being ?uploadId= or the
// encoded key as sent. ?size= or a "size" field sent before the file gives
// the total progress reports; otherwise the request's length does.
func (a *API) uploadObject(c *call) (any, error) {
	bucket, key, err := c.objKey()
	if err != nil {
		return nil, err
	}
	if err := c.authorize("s3:PutObject", bucket, key, nil); err != nil {
		return nil, err
	}
	progressID := c.r.URL.Query().Get("uploadId")
	if progressID == "" {
		progressID = c.r.PathValue("encodedKey")
	}
	if err := objValidProgressID(progressID); err != nil {
		return nil, err
	}
	total := c.r.ContentLength
	if s := c.r.URL.Query().Get("size"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			total = n
		}
	}
	// From here on the request is an attempt under progressID: its record
	// is reset now and ends "completed" or "failed", whatever happens.
	prog := a.startProgress(c, progressID, bucket, key, max(total, 0))
	res, err := a.objUpload(c, prog, bucket, key, total)
	prog.finish(a.background(), res.Size, err)
	if err != nil {
		return nil, err
	}
	out := uploadResult{Message: "Upload successful", Key: key, Bucket: bucket, Size: res.Size, ETag: res.ETag,
		UploadID: progressID}
	// As S3 omits x-amz-version-id for the null version (and view omits
	// metadata.versionId), an unversioned bucket's upload has none.
	if res.VersionID != meta.NullVersion {
		out.VersionID = res.VersionID
	}
	return out, nil
}

// objUpload checks the form, finds its file part and streams it into the
// store, reporting progress to prog.
func (a *API) objUpload(c *call, prog *objProgress, bucket, key string, total int64) (object.PutResult, error) {
	if c.r.ContentLength > objUploadMax+1<<20 {
		return object.PutResult{}, errorf(http.StatusRequestEntityTooLarge, "PayloadTooLarge", "File size exceeds maximum limit of %s", humanStorage(objUploadMax))
	}
	mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return object.PutResult{}, errorf(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "send multipart/form-data with a file part")
	}
	mr, err := c.r.MultipartReader()
	if err != nil {
		return object.PutResult{}, errorf(http.StatusBadRequest, "InvalidRequest", "reading the form: %v", err)
	}
	file, err := objFilePart(mr, &total)
	if err != nil {
		return object.PutResult{}, err
	}
	defer file.Close()
	attrs := object.Attrs{ContentType: objUploadType(file.Header.Get("Content-Type"), key)}

	prog.track(a.background(), max(total, 0))
	body := countingReader{r: file, n: &prog.loaded}
	var res object.PutResult
	if c.r.ContentLength > objSinglePutMax.Load() {
		res, err = a.objMultipartUpload(c, bucket, key, attrs, body, c.r.ContentLength)
	} else {
		res, err = a.cfg.Objects.PutObject(c.ctx, object.PutInput{Bucket: bucket, Key: key, Body: body, Size: -1, Attrs: attrs})
	}
	if errors.Is(err, object.ErrEntityTooLarge) {
		return res, errorf(http.StatusRequestEntityTooLarge, "PayloadTooLarge", "File size exceeds maximum limit of %s", humanStorage(object.MaxPutSize))
	}
	return res, err
}

// objFilePart returns the form's file part, reading the small fields
// before it (a "size" field sets *total).
func objFilePart(mr *multipart.Reader, total *int64) (*multipart.Part, error) {
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, errorf(http.StatusBadRequest, "InvalidRequest", `the form has no "file" part`)
		}
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidRequest", "reading the form: %v", err)
		}
		if part.FormName() == "file" || part.FileName() != "" {
			return part, nil
		}
		if part.FormName() == "size" {
			v, _ := io.ReadAll(io.LimitReader(part, 32))
			if n, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64); err == nil && n >= 0 {
				*total = n
			}
		}
		part.Close()
	}
}

// objUploadType is the content type an upload is stored with: the part's,
// unless it is the browser's "don't know", then the key's extension's.
func objUploadType(partType, key string) string {
	if partType != "" && partType != "application/octet-stream" {
		if mt, params, err := mime.ParseMediaType(partType); err == nil {
			return mime.FormatMediaType(mt, params)
		}
	}
	if t := mime.TypeByExtension(path.Ext(key)); t != "" {
		return t
	}
	if partType != "" {
		return partType
	}
	return "application/octet-stream"
}

// objMultipartUpload streams body into a multipart upload of parts sized
// so that length fits in object.MaxParts of them. Any failure aborts the
// upload, so nothing is left behind.
func (a *API) objMultipartUpload(c *call, bucket, key string, attrs object.Attrs, body io.Reader, length int64) (object.PutResult, error) {
	partSize := max(objPartSize.Load(), (length+object.MaxParts-1)/object.MaxParts, object.MinPartSize)
	svc := a.cfg.Objects
	u, err := svc.CreateUpload(c.ctx, object.CreateUploadInput{Bucket: bucket, Key: key, Owner: c.p.Name, Attrs: attrs})
	if err != nil {
		return object.PutResult{}, err
	}
	fail := func(err error) (object.PutResult, error) {
		if aerr := svc.AbortUpload(a.background(), bucket, key, u.ID); aerr != nil && !errors.Is(aerr, object.ErrNoSuchUpload) {
			c.log.Warn("aborting a failed upload", "upload", u.ID, "err", aerr)
		}
		return object.PutResult{}, err
	}
	br := bufio.NewReaderSize(body, 64<<10)
	var parts []object.CompletePart
	var size int64
	for n := 1; ; n++ {
		if _, err := br.Peek(1); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fail(fmt.Errorf("reading the upload: %w: %w", object.ErrIncompleteBody, err))
		}
		if n > object.MaxParts {
			return fail(fmt.Errorf("more than %d parts of %d bytes: %w", object.MaxParts, partSize, object.ErrEntityTooLarge))
		}
		p, err := svc.UploadPart(c.ctx, object.PartInput{Bucket: bucket, Key: key, UploadID: u.ID, Number: n,
			Body: io.LimitReader(br, partSize), Size: -1})
		if err != nil {
			return fail(err)
		}
		parts = append(parts, object.CompletePart{Number: n, ETag: p.ETag})
		size += p.Size
	}
	if len(parts) == 0 {
		// An empty file: a multipart object needs at least one part.
		if err := svc.AbortUpload(a.background(), bucket, key, u.ID); err != nil {
			return object.PutResult{}, err
		}
		return svc.PutObject(c.ctx, object.PutInput{Bucket: bucket, Key: key, Body: strings.NewReader(""), Size: 0, Attrs: attrs})
	}
	obj, err := svc.CompleteUpload(c.ctx, object.CompleteInput{Bucket: bucket, Key: key, UploadID: u.ID, Parts: parts})
	if err != nil {
		return fail(err)
	}
	return object.PutResult{ETag: obj.ETag, Size: size, VersionID: obj.VersionID}, nil
}

// GET /api/objects/upload-progress/{encodedKey} — S4 GET /objects/upload-progress/:encodedKey (SSE; ?ticket= or a session)
//
// {encodedKey} is the progress id: the upload's ?uploadId= or its encoded
// key as sent. Events are {loaded, total, status}; the stream ends after
// "completed" or "failed", when the upload stalls past its record's TTL,
// or when no upload starts within objProgressIdle.
func (a *API) uploadProgress(c *call) (any, error) {
	id := c.r.PathValue("encodedKey")
	if err := objValidProgressID(id); err != nil {
		return nil, err
	}
	recID := objProgressRecordID(c.p.Name, id)
	rc := http.NewResponseController(c.w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	c.w.WriteHeader(http.StatusOK)
	send := func(data []byte) bool {
		if _, err := fmt.Fprintf(c.w, "data: %s\n\n", data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	poll := time.NewTicker(objProgressPoll)
	defer poll.Stop()
	var last []byte
	idle := func() bool {
		if last != nil {
			return true
		}
		last, _ = json.Marshal(progressEvent{Status: progressIdle})
		return send(last)
	}
	seen := false
	start, beat := time.Now(), time.Now()
	opened := a.now()
	for {
		rec, err := a.cfg.Store.GetRecord(c.ctx, kindUploadProgress, recID)
		switch {
		case errors.Is(err, meta.ErrRecordNotFound):
			if seen || time.Since(start) > objProgressIdle {
				return written, nil
			}
			if !idle() {
				return written, nil
			}
		case err != nil:
			c.log.Warn("reading upload progress", "err", err)
		default:
			var ev progressEvent
			if json.Unmarshal(rec.Data, &ev) != nil {
				return written, nil
			}
			if !seen && objProgressEnded(ev) && ev.At.Before(opened) && time.Since(start) < time.Duration(objProgressSettle.Load()) {
				// An attempt that ended before this stream opened: either
				// the client opened the stream just after a quick upload
				// (it wants that end), or it is about to upload again
				// under the same id (it wants the next attempt, whose
				// start replaces this record). Wait a little for the
				// latter before reporting the former.
				if !idle() {
					return written, nil
				}
				break
			}
			seen = true
			data, _ := json.Marshal(progressEvent{Loaded: ev.Loaded, Total: ev.Total, Status: ev.Status, Error: ev.Error})
			if string(data) != string(last) {
				if !send(data) {
					return written, nil
				}
				last, beat = data, time.Now()
			}
			if objProgressEnded(ev) {
				return written, nil
			}
		}
		if time.Since(beat) > objHeartbeat {
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
	}
}

func objProgressEnded(ev progressEvent) bool {
	return ev.Status == progressCompleted || ev.Status == progressFailed
}

// GET /api/objects/download/{bucket}/{encodedKey} — S4 GET /objects/download/:bucketName/:encodedKey (?versionId=, Range, If-None-Match)
func (a *API) downloadObject(c *call) (any, error) { return a.objServe(c, false) }

// GET /api/objects/preview/{bucket}/{encodedKey} — no seed route: the image URL view's preview points to (S4 inlines a data URL)
//
// Raster images are served inline with their type; anything else
// (HTML and SVG included, which could run script) as an attachment of
// type application/octet-stream.
func (a *API) previewObject(c *call) (any, error) { return a.objServe(c, true) }

func (a *API) objServe(c *call, preview bool) (any, error) {
	bucket, key, err := c.objKey()
	if err != nil {
		return nil, err
	}
	vid, err := c.authorizeRead(bucket, key)
	if err != nil {
		return nil, err
	}
	in := object.GetInput{Bucket: bucket, Key: key, VersionID: vid, HeadOnly: c.r.Method == http.MethodHead,
		Cond: object.Conditions{IfNoneMatch: c.r.Header.Get("If-None-Match")}}
	if rg, ok := parseByteRange(c.r.Header.Get("Range")); ok {
		in.Range = &rg
	}
	rd, err := a.cfg.Objects.GetObject(c.ctx, in)
	if errors.Is(err, object.ErrNotModified) {
		c.w.WriteHeader(http.StatusNotModified)
		return written, nil
	}
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	o := rd.Object
	h := c.w.Header()
	ctype, disposition := objContentType(o), "attachment"
	if preview {
		if t, ok := objInlineImage(o); ok {
			ctype, disposition = t, "inline"
		} else {
			ctype = "application/octet-stream"
		}
	}
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", objDisposition(disposition, key))
	h.Set("Content-Length", strconv.FormatInt(rd.Length, 10))
	h.Set("ETag", objQuote(o.ETag))
	h.Set("Last-Modified", o.Modified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	if o.VersionID != "" && o.VersionID != meta.NullVersion {
		h.Set("X-Version-Id", o.VersionID)
	}
	status := http.StatusOK
	if rd.Partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rd.Offset, rd.Offset+rd.Length-1, o.Size))
	}
	c.w.WriteHeader(status)
	if in.HeadOnly {
		return written, nil
	}
	if _, err := io.Copy(c.w, rd); err != nil {
		// The status is sent: all that is left is to cut the response
		// short, which the client sees as a length mismatch.
		c.log.Warn("download cut short", "err", err)
	}
	return written, nil
}

// parseByteRange parses a Range header holding one byte range. Anything
// else (several ranges, other units, malformed) is ignored, as RFC 9110
// allows, and the whole object is sent.
func parseByteRange(h string) (object.Range, bool) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return object.Range{}, false
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return object.Range{}, false
	}
	num := func(s string) (int64, bool) {
		if s == "" || len(s) > 18 {
			return 0, false
		}
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	if first == "" {
		n, ok := num(last)
		if !ok {
			return object.Range{}, false
		}
		return object.Range{IsSuffix: true, Suffix: n}, true
	}
	f, ok := num(first)
	if !ok {
		return object.Range{}, false
	}
	if last == "" {
		return object.Range{First: f, Last: -1}, true
	}
	l, ok := num(last)
	if !ok || l < f {
		return object.Range{}, false
	}
	return object.Range{First: f, Last: l}, true
}

// objDisposition builds a Content-Disposition with the key's last segment
// as file name: an ASCII fallback and, for other names, RFC 6266's
// filename* in UTF-8 (RFC 8187).
func objDisposition(kind, key string) string {
	name := path.Base(strings.TrimRight(key, "/"))
	if name == "." || name == "/" || name == "" {
		name = "download"
	}
	var ascii strings.Builder
	plain := true
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f || r >= utf8.RuneSelf:
			ascii.WriteByte('_')
			plain = false
		case r == '"' || r == '\\':
			ascii.WriteByte('_')
		default:
			ascii.WriteRune(r)
		}
	}
	v := kind + `; filename="` + ascii.String() + `"`
	if !plain {
		v += "; filename*=UTF-8''" + objRFC8187(name)
	}
	return v
}

// objRFC8187 percent-encodes everything but attr-char.
func objRFC8187(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// objInlineImages are the types a browser renders as pictures without
// running anything; SVG, which may hold script, is not one of them.
var objInlineImages = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"image/avif": true, "image/bmp": true, "image/x-icon": true, "image/vnd.microsoft.icon": true,
}

// objInlineImage returns the raster image type o may be shown inline as:
// its own type, or its key's extension's when it has none useful.
func objInlineImage(o meta.Object) (string, bool) {
	for _, t := range []string{o.ContentType, mime.TypeByExtension(strings.ToLower(path.Ext(o.Key)))} {
		mt, _, err := mime.ParseMediaType(t)
		if err == nil && objInlineImages[strings.ToLower(mt)] {
			return strings.ToLower(mt), true
		}
		if err == nil && mt != "" && mt != "application/octet-stream" && mt != "binary/octet-stream" {
			// A declared type that is not a raster image decides.
			return "", false
		}
	}
	return "", false
}

// objPreviewMax is how much of an object view previews (S4: 1 MB).
const objPreviewMax = 1 << 20

type viewMetadata struct {
	Key          string            `json:"key"`
	Size         int64             `json:"size"`
	LastModified string            `json:"lastModified"`
	ContentType  string            `json:"contentType"`
	ETag         string            `json:"etag"`
	VersionID    string            `json:"versionId,omitempty"`
	StorageClass string            `json:"storageClass"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

type viewPreview struct {
	Available bool `json:"available"`
	// Type is "text", "json" or "image".
	Type      string `json:"type,omitempty"`
	Content   string `json:"content,omitempty"`
	Truncated bool   `json:"truncated"`
	// URL streams an image inline (GET /api/objects/preview/...).
	URL    string `json:"url,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// GET /api/objects/view/{bucket}/{encodedKey} — S4 GET /objects/view/:bucketName/:encodedKey (?versionId=)
//
// Text (including HTML and SVG, shown as their source) up to 1 MiB, JSON
// formatted, raster images as a URL to the preview route (and, up to
// 1 MiB, a data URL as S4 gives).
func (a *API) viewObject(c *call) (any, error) {
	bucket, key, err := c.objKey()
	if err != nil {
		return nil, err
	}
	vid, err := c.authorizeRead(bucket, key)
	if err != nil {
		return nil, err
	}
	rd, err := a.cfg.Objects.GetObject(c.ctx, object.GetInput{Bucket: bucket, Key: key, VersionID: vid})
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	o := rd.Object
	md := viewMetadata{Key: key, Size: o.Size, LastModified: objTime(o.Modified), ContentType: objContentType(o),
		ETag: objQuote(o.ETag), StorageClass: o.StorageClass, Metadata: o.UserMeta}
	if md.StorageClass == "" {
		md.StorageClass = "STANDARD"
	}
	if o.VersionID != meta.NullVersion {
		md.VersionID = o.VersionID
	}
	pv, err := objPreview(rd, o)
	if err != nil {
		return nil, err
	}
	if pv.Type == "image" {
		pv.URL = objPathFor("preview", bucket, key)
		if vid != "" {
			pv.URL += "?versionId=" + vid
		}
	}
	return map[string]any{"metadata": md, "preview": pv}, nil
}

// objPreview reads at most objPreviewMax bytes of the object to preview it.
func objPreview(body io.Reader, o meta.Object) (viewPreview, error) {
	if t, ok := objInlineImage(o); ok {
		pv := viewPreview{Available: true, Type: "image", Truncated: o.Size > objPreviewMax}
		if !pv.Truncated {
			data, err := io.ReadAll(io.LimitReader(body, objPreviewMax))
			if err != nil {
				return viewPreview{}, err
			}
			pv.Content = "data:" + t + ";base64," + base64.StdEncoding.EncodeToString(data)
		}
		return pv, nil
	}
	kind := objTextKind(o)
	if kind == "" && !objUnknownType(o.ContentType) {
		return viewPreview{Reason: "binary content type " + o.ContentType}, nil
	}
	data, err := io.ReadAll(io.LimitReader(body, objPreviewMax))
	if err != nil {
		return viewPreview{}, err
	}
	truncated := o.Size > int64(len(data))
	if truncated {
		// Do not cut a character in two.
		for i := 0; i < utf8.UTFMax && len(data) > 0 && !utf8.Valid(data); i++ {
			data = data[:len(data)-1]
		}
	}
	if !utf8.Valid(data) || strings.IndexByte(string(data), 0) >= 0 {
		return viewPreview{Reason: "binary content"}, nil
	}
	if kind == "" {
		kind = "text"
	}
	pv := viewPreview{Available: true, Type: "text", Content: string(data), Truncated: truncated}
	if kind == "json" && !truncated {
		var buf bytes.Buffer
		if err := json.Indent(&buf, data, "", "  "); err == nil {
			pv.Type, pv.Content = "json", buf.String()
		}
	}
	return pv, nil
}

// objTextKind says whether o is text by its type or extension: "json",
// "text", or "" when neither says.
func objTextKind(o meta.Object) string {
	mt, _, _ := mime.ParseMediaType(o.ContentType)
	mt = strings.ToLower(mt)
	ext := strings.ToLower(path.Ext(o.Key))
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || (objUnknownType(mt) && ext == ".json"):
		return "json"
	case strings.HasPrefix(mt, "text/"), mt == "image/svg+xml", strings.HasSuffix(mt, "+xml"), mt == "application/xml",
		mt == "application/javascript", mt == "application/x-yaml", mt == "application/yaml", mt == "application/toml",
		mt == "application/x-sh", mt == "application/sql":
		return "text"
	}
	if objUnknownType(mt) {
		switch ext {
		case ".txt", ".md", ".csv", ".tsv", ".log", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".xml", ".html", ".htm",
			".svg", ".js", ".ts", ".css", ".go", ".py", ".rs", ".java", ".c", ".h", ".cpp", ".sh", ".sql", ".env", ".properties":
			return "text"
		}
	}
	return ""
}

func objUnknownType(mt string) bool {
	mt, _, _ = mime.ParseMediaType(mt)
	return mt == "" || mt == "application/octet-stream" || mt == "binary/octet-stream"
}
