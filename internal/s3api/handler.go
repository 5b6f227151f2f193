// Package s3api serves the S3 protocol: it classifies each request into an
// operation, authenticates and authorizes it, calls the object service, and
// renders S3 XML responses and errors. It owns no storage semantics.
package s3api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/notify"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/sigv2"
	"github.com/cofferstore/coffer/internal/sigv4"
)

// Config configures the S3 surface.
type Config struct {
	// Region is the one region this server is; CreateBucket accepts no
	// other LocationConstraint. Signatures may name any region.
	Region string
	// Domains are the host names under which virtual-hosted-style requests
	// arrive (bucket.DOMAIN). Requests to other hosts are path-style.
	Domains []string
	Logger  *slog.Logger
	// Now is the clock for signatures; nil means time.Now.
	Now func() time.Time
	// Notifications saves and serves bucket notification configurations;
	// nil means no targets, so every configuration naming one is refused.
	Notifications *notify.Router
	// DisableSigV2 refuses Signature Version 2 requests.
	DisableSigV2 bool
	// ShareLinks, when set, is asked about every presigned request carrying
	// X-Coffer-Share (sharelink.QueryParam) once its signature verifies. An
	// error means the link was revoked, expired or never existed (403
	// AccessDenied), except one wrapping meta.ErrUnavailable (503) or a
	// context error; it must not cache, so a revocation holds at once.
	ShareLinks interface {
		Active(ctx context.Context, id string) error
	}
}

// Handler is the S3 API's http.Handler. It deliberately does not use
// http.ServeMux: the mux cleans paths ("a//b", "x/../y"), which are legal,
// distinct S3 keys.
type Handler struct {
	cfg      Config
	objects  *object.Service
	iam      *iam.IAM
	verifier *sigv4.Verifier
	v2       *sigv2.Verifier // nil when V2 is disabled
	now      func() time.Time
	log      *slog.Logger
	hostID   string
	seq      atomic.Uint64
	idPrefix string
}

// New returns the S3 handler.
func New(cfg Config, objects *object.Service, m *iam.IAM) *Handler {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}

	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	var b [8]byte
	rand.Read(b[:])
	h := &Handler{
		cfg:      cfg,
		objects:  objects,
		iam:      m,
		verifier: &sigv4.Verifier{Creds: m, Now: now, MaxSkew: 15 * time.Minute},
		now:      now,
		log:      cfg.Logger,
		hostID:   hex.EncodeToString(b[:]),
		idPrefix: strings.ToUpper(hex.EncodeToString(b[:4])),
	}
	if !cfg.DisableSigV2 {
		h.v2 = &sigv2.Verifier{Creds: m, Now: now, MaxSkew: 15 * time.Minute}
	}
	return h
}

// request is one S3 call being served.
type request struct {
	w         http.ResponseWriter
	r         *http.Request
	id        string
	bucket    string
	key       string
	query     url.Values
	auth      *sigv4.Auth
	principal iam.Principal
	owner     string      // the bucket's owner, once bucketFor has run
	bkt       meta.Bucket // the bucket's record, once bucketFor has run
	// base and logAttrs make the request's logger, built only when
	// something is logged: most requests log nothing above debug, and
	// building it costs three handler clones per request.
	base     *slog.Logger
	logAttrs []any
	logger   *slog.Logger
	status   int
}

// ServeHTTP serves one S3 request: route, authenticate, dispatch, render.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rq := &request{w: w, r: r, id: h.requestID()}
	hdr := w.Header()
	hdr["X-Amz-Request-Id"] = []string{rq.id}
	hdr["X-Amz-Id-2"] = []string{h.hostID}
	hdr["Server"] = []string{"Coffer"}
	rq.base, rq.logAttrs = h.log, []any{"request_id", rq.id}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			rq.log().ErrorContext(r.Context(), "panic serving request", "panic", p, "method", r.Method, "bucket", rq.bucket, "key", rq.key)
			h.writeError(rq, errInternal)
		}
	}()

	err := h.serve(rq)
	if err != nil {
		h.writeError(rq, err)
	}
	level := slog.LevelDebug
	if rq.status == http.StatusInternalServerError {
		level = slog.LevelError
	}
	if !h.log.Enabled(r.Context(), level) {
		return
	}
	rq.log().Log(r.Context(), level, "s3 request", "method", r.Method, "status", rq.status,
		"duration", time.Since(start), "err", errString(err))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (h *Handler) requestID() string {
	return fmt.Sprintf("%s%012X", h.idPrefix, h.seq.Add(1))
}

func (h *Handler) serve(rq *request) error {
	r := rq.r
	var err error
	var vhost bool
	rq.bucket, rq.key, vhost, err = h.route(r)
	if err != nil {
		return err
	}
	rq.query = r.URL.Query()
	rq.addLogAttrs("bucket", rq.bucket, "key", rq.key)
	if r.Method == http.MethodOptions && rq.bucket != "" {
		return h.preflight(rq)
	}
	h.corsHeaders(rq)
	op, err := classify(rq)
	if err != nil {
		return err
	}
	if op.selfAuth {
		return op.fn(h, rq)
	}
	vhostBucket := ""
	if vhost {
		vhostBucket = rq.bucket
	}
	rq.auth, err = h.authenticate(r, vhostBucket)
	if err != nil {
		return err
	}
	if !rq.auth.Anonymous {
		rq.principal, err = h.iam.PrincipalFor(r.Context(), rq.auth.AccessKey)
		if err != nil {
			return err
		}
		rq.addLogAttrs("principal", rq.principal.Name)
	}
	vid := ""
	if v, ok := rq.query["versionId"]; ok {
		vid = v[0]
	}
	if err := h.iam.Authorize(r.Context(), rq.principal, h.accessRequest(rq, op.action, rq.bucket, rq.key, vid)); err != nil {
		return err
	}
	if op.objectACL {
		if err := h.checkACLHeaders(rq); err != nil {
			return err
		}
	}
	if op.action == "s3:PutObject" && r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "" {
		// CopyObject and UploadPartCopy also read their source: both
		// are decided here, before either handler runs.
		src, err := copySource(rq)
		if err != nil {
			return err
		}
		if err := h.authorizeSource(rq, src); err != nil {
			return err
		}
	}
	rq.withRequestInfo()
	return op.fn(h, rq)
}

// route splits a request into bucket and key, virtual-hosted-style when
// the Host is a subdomain of a configured domain, else path-style.
func (h *Handler) route(r *http.Request) (bucket, key string, vhost bool, err error) {
	host := r.Host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	host = strings.ToLower(host)
	path := r.URL.Path
	if !strings.HasPrefix(path, "/") {
		return "", "", false, errorf("InvalidURI", http.StatusBadRequest, "Couldn't parse the specified URI.")
	}
	for _, d := range h.cfg.Domains {
		if b, ok := strings.CutSuffix(host, "."+d); ok && b != "" {
			return b, path[1:], true, nil
		}
	}
	rest := path[1:]
	bucket, key, _ = strings.Cut(rest, "/")
	return bucket, key, false, nil
}

// operation is a classified S3 call: the IAM action it needs and its
// handler.
type operation struct {
	action string
	fn     func(*Handler, *request) error
	// selfAuth marks an operation whose request carries its own
	// credentials (a POST form): the handler authenticates and authorizes.
	selfAuth bool
	// objectACL marks an object write whose headers may set the new
	// object's ACL (x-amz-acl, x-amz-grant-*).
	objectACL bool
}

// classify picks the operation from the level (service, bucket, object),
// the method, and the sub-resource named in the query.
func classify(rq *request) (operation, error) {
	q, m := rq.query, rq.r.Method
	has := func(k string) bool { _, ok := q[k]; return ok }
	switch {
	case rq.bucket == "":
		if m == http.MethodGet {
			return operation{action: "s3:ListAllMyBuckets", fn: (*Handler).listBuckets}, nil
		}
		return operation{}, errMethodNotAllowed
	case rq.key == "":
		if m == http.MethodPost && len(q) == 0 && isPostObject(rq.r) {
			return operation{fn: (*Handler).postObject, selfAuth: true}, nil
		}
		return classifyBucket(m, has)
	default:
		return classifyObject(m, has)
	}
}

// Sub-resources that name an S3 API we do not implement yet: answering
// NotImplemented is better than treating them as a plain GET or PUT.
var unimplementedBucket = []string{"encryption", "replication", "website", "logging", "accelerate", "requestPayment",
	"publicAccessBlock", "analytics", "metrics", "inventory", "intelligent-tiering"}

var unimplementedObject = []string{"restore", "select",
	"torrent"}

func classifyBucket(m string, has func(string) bool) (operation, error) {
	if op, ok := bucketSubresource(m, has); ok {
		return op, nil
	}
	switch m {
	case http.MethodGet:
		switch {
		case has("location"):
			return operation{action: "s3:GetBucketLocation", fn: (*Handler).getBucketLocation}, nil
		case has("versioning"):
			return operation{action: "s3:GetBucketVersioning", fn: (*Handler).getBucketVersioning}, nil
		case has("versions"):
			return operation{action: "s3:ListBucketVersions", fn: (*Handler).listObjectVersions}, nil
		case has("uploads"):
			return operation{action: "s3:ListBucketMultipartUploads", fn: (*Handler).listMultipartUploads}, nil
		case anyOf(has, unimplementedBucket):
			return operation{}, errNotImplemented
		case has("list-type"):
			return operation{action: "s3:ListBucket", fn: (*Handler).listObjectsV2}, nil
		default:
			return operation{action: "s3:ListBucket", fn: (*Handler).listObjectsV1}, nil
		}
	case http.MethodHead:
		return operation{action: "s3:ListBucket", fn: (*Handler).headBucket}, nil
	case http.MethodPut:
		if has("versioning") {
			return operation{action: "s3:PutBucketVersioning", fn: (*Handler).putBucketVersioning}, nil
		}
		if anyOf(has, unimplementedBucket) {
			return operation{}, errNotImplemented
		}
		return operation{action: "s3:CreateBucket", fn: (*Handler).createBucketWithACL}, nil
	case http.MethodDelete:
		if anyOf(has, unimplementedBucket) {
			return operation{}, errNotImplemented
		}
		return operation{action: "s3:DeleteBucket", fn: (*Handler).deleteBucket}, nil
	case http.MethodPost:
		if has("delete") {
			return operation{action: "s3:DeleteObject", fn: (*Handler).deleteObjects}, nil
		}
		return operation{}, errNotImplemented
	}
	return operation{}, errMethodNotAllowed
}

func classifyObject(m string, has func(string) bool) (operation, error) {
	if anyOf(has, unimplementedObject) {
		return operation{}, errNotImplemented
	}
	if has("retention") || has("legal-hold") {
		get, put := operation{action: "s3:GetObjectRetention", fn: (*Handler).getObjectRetention},
			operation{action: "s3:PutObjectRetention", fn: (*Handler).putObjectRetention}
		if has("legal-hold") {
			get, put = operation{action: "s3:GetObjectLegalHold", fn: (*Handler).getObjectLegalHold},
				operation{action: "s3:PutObjectLegalHold", fn: (*Handler).putObjectLegalHold}
		}
		switch m {
		case http.MethodGet:
			return get, nil
		case http.MethodPut:
			return put, nil
		}
		return operation{}, errMethodNotAllowed
	}
	// Addressing a version by id is its own action in S3 (a policy may
	// allow reading current objects and not their history).
	version := ""
	if has("versionId") {
		version = "Version"
	}
	if has("acl") {
		switch m {
		case http.MethodGet:
			return operation{action: "s3:GetObject" + version + "Acl", fn: (*Handler).getObjectAcl}, nil
		case http.MethodPut:
			return operation{action: "s3:PutObject" + version + "Acl", fn: (*Handler).putObjectAcl}, nil
		}
		return operation{}, errMethodNotAllowed
	}
	if has("tagging") {
		switch m {
		case http.MethodGet:
			return operation{action: "s3:GetObject" + version + "Tagging", fn: (*Handler).getObjectTagging}, nil
		case http.MethodPut:
			return operation{action: "s3:PutObject" + version + "Tagging", fn: (*Handler).putObjectTagging}, nil
		case http.MethodDelete:
			return operation{action: "s3:DeleteObject" + version + "Tagging", fn: (*Handler).deleteObjectTagging}, nil
		}
		return operation{}, errMethodNotAllowed
	}
	upload := has("uploadId")
	switch m {
	case http.MethodGet:
		if upload {
			return operation{action: "s3:ListMultipartUploadParts", fn: (*Handler).listParts}, nil
		}
		if has("attributes") {
			return operation{action: "s3:GetObject" + version + "Attributes", fn: (*Handler).getObjectAttributes}, nil
		}
		return operation{action: "s3:GetObject" + version, fn: (*Handler).getObject}, nil
	case http.MethodHead:
		return operation{action: "s3:GetObject" + version, fn: (*Handler).headObject}, nil
	case http.MethodPut:
		if upload || has("partNumber") {
			if !upload || !has("partNumber") {
				return operation{}, errorf("InvalidRequest", http.StatusBadRequest, "UploadPart needs both partNumber and uploadId.")
			}
			return operation{action: "s3:PutObject", fn: (*Handler).uploadPart}, nil
		}
		return operation{action: "s3:PutObject", fn: (*Handler).putObject, objectACL: true}, nil
	case http.MethodDelete:
		if upload {
			return operation{action: "s3:AbortMultipartUpload", fn: (*Handler).abortMultipartUpload}, nil
		}
		return operation{action: "s3:DeleteObject" + version, fn: (*Handler).deleteObject}, nil
	case http.MethodPost:
		switch {
		case has("uploads"):
			return operation{action: "s3:PutObject", fn: (*Handler).createMultipartUpload, objectACL: true}, nil
		case upload:
			return operation{action: "s3:PutObject", fn: (*Handler).completeMultipartUpload}, nil
		}
		return operation{}, errNotImplemented
	}
	return operation{}, errMethodNotAllowed
}

func methodNotAllowed(*Handler, *request) error { return errMethodNotAllowed }

func anyOf(has func(string) bool, keys []string) bool {
	for _, k := range keys {
		if has(k) {
			return true
		}
	}
	return false
}

// writeError renders err once. HEAD responses and 304 carry no body.
func (h *Handler) writeError(rq *request, err error) {
	ae := toAPIError(err)
	if ae == errInternal {
		rq.log().ErrorContext(rq.r.Context(), "internal error", "err", err)
	}
	if rq.status != 0 {
		// The status line is gone; the body is cut short and the declared
		// Content-Length tells the client so.
		rq.log().WarnContext(rq.r.Context(), "error after response started", "err", err)
		return
	}
	rq.status = ae.Status
	if rq.status == 499 {
		return
	}
	hdr := rq.w.Header()
	if ae.Status == http.StatusNotModified || rq.r.Method == http.MethodHead {
		hdr.Del("Content-Type")
		rq.w.WriteHeader(ae.Status)
		return
	}
	// The escaped form: a decoded path may hold control characters that
	// XML 1.0 cannot carry, and SDKs would fail to parse the whole error.
	resource := rq.r.URL.EscapedPath()
	b := xmlHeader()
	b = append(b, "<Error><Code>"...)
	b = appendEscaped(b, ae.Code)
	b = append(b, "</Code><Message>"...)
	b = appendEscaped(b, ae.Message)
	b = append(b, "</Message>"...)
	if rq.bucket != "" {
		b = appendElem(b, "BucketName", rq.bucket)
	}
	if rq.key != "" && (ae.Code == "NoSuchKey" || ae.Code == "KeyTooLongError") && !hasControl(rq.key) {
		b = appendElem(b, "Key", rq.key)
	}
	b = appendElem(b, "Resource", resource)
	b = appendElem(b, "RequestId", rq.id)
	b = appendElem(b, "HostId", h.hostID)
	b = append(b, "</Error>"...)
	hdr.Set("Content-Type", "application/xml")
	hdr.Del("Content-Length")
	hdr.Del("ETag")
	if hdr.Get("X-Amz-Delete-Marker") == "" {
		// Headers of an object never describe an error, except the
		// delete marker's time that S3 sends with its 405.
		hdr.Del("Last-Modified")
	}
	rq.w.WriteHeader(ae.Status)
	rq.write(b)
}

// withRequestInfo tells the object service who is asking, for the events
// the request causes.
func (rq *request) withRequestInfo() {
	ip := rq.r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	rq.r = rq.r.WithContext(object.WithRequestInfo(rq.r.Context(), object.RequestInfo{
		Principal: rq.principal.Name, SourceIP: ip, RequestID: rq.id}))
}

// addLogAttrs adds attributes to the request's logger.
func (rq *request) addLogAttrs(kv ...any) {
	rq.logAttrs = append(rq.logAttrs, kv...)
	rq.logger = nil
}

// log returns the request's logger, with request id, bucket, key and
// principal as attributes.
func (rq *request) log() *slog.Logger {
	if rq.logger == nil {
		rq.logger = rq.base.With(rq.logAttrs...)
	}
	return rq.logger
}

// ctx returns the request's context.
func (rq *request) ctx() context.Context { return rq.r.Context() }

// writeXML sends a 200 XML body.
func (rq *request) writeXML(b []byte) error {
	rq.w.Header().Set("Content-Type", "application/xml")
	rq.status = http.StatusOK
	rq.w.WriteHeader(http.StatusOK)
	rq.write(b)
	return nil
}

// write sends body bytes after the status line. A failure here means the
// client went away: there is no one left to tell, so it is only logged.
func (rq *request) write(b []byte) {
	if _, err := rq.w.Write(b); err != nil {
		rq.log().DebugContext(rq.ctx(), "writing response body", "err", err)
	}
}

// writeStatus sends an empty response.
func (rq *request) writeStatus(code int) error {
	rq.status = code
	rq.w.WriteHeader(code)
	return nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 {
			return true
		}
	}
	return false
}

// bucketSubresource routes the bucket configuration APIs (?tagging,
// ?cors): one operation per method.
func bucketSubresource(m string, has func(string) bool) (operation, bool) {
	type ops struct{ get, put, del operation }
	table := map[string]ops{
		"tagging": {
			operation{action: "s3:GetBucketTagging", fn: (*Handler).getBucketTagging},
			operation{action: "s3:PutBucketTagging", fn: (*Handler).putBucketTagging},
			operation{action: "s3:PutBucketTagging", fn: (*Handler).deleteBucketTagging},
		},
		"cors": {
			operation{action: "s3:GetBucketCORS", fn: (*Handler).getBucketCors},
			operation{action: "s3:PutBucketCORS", fn: (*Handler).putBucketCors},
			operation{action: "s3:PutBucketCORS", fn: (*Handler).deleteBucketCors},
		},
		"lifecycle": {
			operation{action: "s3:GetLifecycleConfiguration", fn: (*Handler).getBucketLifecycle},
			operation{action: "s3:PutLifecycleConfiguration", fn: (*Handler).putBucketLifecycle},
			operation{action: "s3:PutLifecycleConfiguration", fn: (*Handler).deleteBucketLifecycle},
		},
		"notification": {
			operation{action: "s3:GetBucketNotification", fn: (*Handler).getBucketNotification},
			operation{action: "s3:PutBucketNotification", fn: (*Handler).putBucketNotification},
			operation{fn: methodNotAllowed},
		},
		"object-lock": {
			operation{action: "s3:GetBucketObjectLockConfiguration", fn: (*Handler).getObjectLockConfig},
			operation{action: "s3:PutBucketObjectLockConfiguration", fn: (*Handler).putObjectLockConfig},
			operation{fn: methodNotAllowed},
		},
		"policy": {
			operation{action: "s3:GetBucketPolicy", fn: (*Handler).getBucketPolicy},
			operation{action: "s3:PutBucketPolicy", fn: (*Handler).putBucketPolicy},
			operation{action: "s3:DeleteBucketPolicy", fn: (*Handler).deleteBucketPolicy},
		},
		"policyStatus": {
			operation{action: "s3:GetBucketPolicyStatus", fn: (*Handler).getBucketPolicyStatus},
			operation{fn: methodNotAllowed},
			operation{fn: methodNotAllowed},
		},
		"acl": {
			operation{action: "s3:GetBucketAcl", fn: (*Handler).getBucketAcl},
			operation{action: "s3:PutBucketAcl", fn: (*Handler).putBucketAcl},
			operation{fn: methodNotAllowed},
		},
		"ownershipControls": {
			operation{action: "s3:GetBucketOwnershipControls", fn: (*Handler).getBucketOwnershipControls},
			operation{action: "s3:PutBucketOwnershipControls", fn: (*Handler).putBucketOwnershipControls},
			operation{action: "s3:PutBucketOwnershipControls", fn: (*Handler).deleteBucketOwnershipControls},
		},
	}
	for name, o := range table {
		if !has(name) {
			continue
		}
		switch m {
		case http.MethodGet:
			return o.get, true
		case http.MethodPut:
			return o.put, true
		case http.MethodDelete:
			return o.del, true
		}
	}
	return operation{}, false
}
