package s3api

import (
	"errors"

	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/postpolicy"
)

// isPostObject reports a browser form upload: POST to a bucket with a
// multipart/form-data body.
func isPostObject(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

var errMalformedPOST = errorf("MalformedPOSTRequest", http.StatusBadRequest, "The body of your POST request is not well-formed multipart/form-data.")

// postObject serves POST Object: the form carries its own signature and
// policy, so this handler authenticates and authorizes itself (the form
// signature replaces the Authorization header).
func (h *Handler) postObject(rq *request) error {
	_, params, err := mime.ParseMediaType(rq.r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return errMalformedPOST
	}
	form, err := postpolicy.ParseForm(rq.r.Body, params["boundary"], 0)
	if err != nil {
		return err
	}
	fields := form.Fields
	fields["bucket"] = rq.bucket
	now := h.now()
	accessKey, err := postpolicy.VerifySignature(rq.ctx(), fields, h.iam, now)
	switch {
	case errors.Is(err, postpolicy.ErrNotSigned):
		// Anonymous: only a policy granting public writes could allow it.
	case err != nil:
		return err
	default:
		if rq.principal, err = h.iam.PrincipalFor(rq.ctx(), accessKey); err != nil {
			return err
		}
		rq.addLogAttrs("principal", rq.principal.Name)
	}
	if fields["key"] == "" {
		return errorf("InvalidArgument", http.StatusBadRequest, "Bucket POST must contain a field named 'key'.")
	}
	fields["key"] = postpolicy.ExpandKey(fields["key"], form.FileName)
	rq.key = fields["key"]
	var lo, hi int64 = 0, object.MaxPutSize
	if accessKey != "" {
		policy, err := postpolicy.ParsePolicy(fields["policy"])
		if err != nil {
			return err
		}
		if err := policy.Check(fields, now); err != nil {
			return err
		}
		if l, u, ok := policy.LengthRange(); ok {
			lo, hi = l, min(u, hi)
		}
	}
	access := h.accessRequest(rq, "s3:PutObject", rq.bucket, rq.key, "")
	if access.Conditions != nil { // nil for root, whom conditions do not concern
		access.Conditions["s3:authType"] = []string{"POST"}
		if acl := fields["acl"]; acl != "" {
			access.Conditions["s3:x-amz-acl"] = []string{acl}
		}
	}
	if err := h.iam.Authorize(rq.ctx(), rq.principal, access); err != nil {
		return err
	}
	aclHeader := http.Header{}
	if acl := fields["acl"]; acl != "" {
		// The form's acl field is x-amz-acl: it needs s3:PutObjectAcl.
		if err := h.iam.Authorize(rq.ctx(), rq.principal, h.accessRequest(rq, "s3:PutObjectAcl", rq.bucket, rq.key, "")); err != nil {
			return err
		}
		aclHeader.Set("X-Amz-Acl", acl)
	}
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	acl, err := h.writeACL(rq, aclHeader)
	if err != nil {
		return err
	}
	rq.withRequestInfo()
	attrs, err := parseAttrs(formHeader(fields, form.FileContentType))
	if err != nil {
		return err
	}
	attrs.ACL = acl
	res, err := h.objects.PutObject(rq.ctx(), object.PutInput{Bucket: rq.bucket, Key: rq.key, Size: -1, Attrs: attrs,
		Body: &lengthRange{r: form.File, lo: lo, hi: hi}, Event: object.EventPost})
	if err != nil {
		return err
	}
	setVersionHeader(rq, res.VersionID)
	return h.postResponse(rq, fields, res.ETag)
}

// formHeader turns form fields into the request headers they stand for,
// so attributes are parsed one way whatever carried them.
func formHeader(fields map[string]string, fileType string) http.Header {
	hd := http.Header{}
	for k, v := range fields {
		switch {
		case strings.HasPrefix(k, "x-amz-meta-"), k == "x-amz-storage-class", k == "content-type", k == "cache-control",
			k == "content-disposition", k == "content-encoding", k == "content-language", k == "expires":
			hd.Set(k, v)
		}
	}
	if hd.Get("Content-Type") == "" && fileType != "" {
		hd.Set("Content-Type", fileType)
	}
	return hd
}

// lengthRange enforces a policy's content-length-range while the file
// streams: exceeding it or ending short fails the read, so nothing is
// stored.
type lengthRange struct {
	r      io.Reader
	lo, hi int64
	n      int64
}

var (
	errPostTooLarge = errorf("EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed size.")
	errPostTooSmall = errorf("EntityTooSmall", http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed size.")
)

func (l *lengthRange) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.hi {
		return n, errPostTooLarge
	}
	if err == io.EOF && l.n < l.lo {
		return n, errPostTooSmall
	}
	return n, err
}

func (h *Handler) postResponse(rq *request, fields map[string]string, etag string) error {
	hdr := rq.w.Header()
	location := "/" + rq.bucket + "/" + url.PathEscape(rq.key)
	hdr.Set("ETag", quoteETag(etag))
	hdr.Set("Location", location)
	redirect := fields["success_action_redirect"]
	if redirect == "" {
		redirect = fields["redirect"]
	}
	if u, err := url.Parse(redirect); redirect != "" && err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		q := u.Query()
		q.Set("bucket", rq.bucket)
		q.Set("key", rq.key)
		q.Set("etag", quoteETag(etag))
		u.RawQuery = q.Encode()
		hdr.Set("Location", u.String())
		return rq.writeStatus(http.StatusSeeOther)
	}
	switch fields["success_action_status"] {
	case "200":
		return rq.writeStatus(http.StatusOK)
	case "201":
		b := xmlHeader()
		b = append(b, "<PostResponse>"...)
		b = appendElem(b, "Location", location)
		b = appendElem(b, "Bucket", rq.bucket)
		b = appendElem(b, "Key", rq.key)
		b = appendElem(b, "ETag", quoteETag(etag))
		b = append(b, "</PostResponse>"...)
		rq.w.Header().Set("Content-Type", "application/xml")
		rq.status = http.StatusCreated
		rq.w.WriteHeader(http.StatusCreated)
		rq.write(b)
		return nil
	default:
		return rq.writeStatus(http.StatusNoContent)
	}
}
