package s3api

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/sigv4"
)

func (h *Handler) putObject(rq *request) error {
	r := rq.r
	if r.Header.Get("X-Amz-Copy-Source") != "" {
		return h.copyObject(rq)
	}
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	attrs, err := parseAttrs(r.Header)
	if err != nil {
		return err
	}
	if attrs.ACL, err = h.writeACL(rq, r.Header); err != nil {
		return err
	}
	md5sum, err := parseContentMD5(r.Header)
	if err != nil {
		return err
	}
	cond, err := writeConditions(r.Header)
	if err != nil {
		return err
	}
	body, size, err := h.requestBody(rq)
	if err != nil {
		return err
	}
	sum, err := parseChecksum(r.Header, func(name string) string { return body.Trailer().Get(name) })
	if err != nil {
		return err
	}
	res, err := h.objects.PutObject(rq.ctx(), object.PutInput{
		Bucket: rq.bucket, Key: rq.key, Body: body, Size: size,
		Attrs: attrs, ContentMD5: md5sum, Checksum: sum, Cond: cond,
	})
	if err != nil {
		return err
	}
	hdr := rq.w.Header()
	hdr.Set("ETag", quoteETag(res.ETag))
	setVersionHeader(rq, res.VersionID)
	if sum != nil {
		for alg, v := range res.Checksums {
			hdr.Set("X-Amz-Checksum-"+alg, v)
		}
	}
	return rq.writeStatus(http.StatusOK)
}

// requestBody returns the verified body of a data-carrying request and
// its decoded length (-1 when unknown).
func (h *Handler) requestBody(rq *request) (*sigv4.Body, int64, error) {
	r := rq.r
	size := r.ContentLength
	if strings.HasPrefix(rq.auth.PayloadHash, "STREAMING-") {
		v := r.Header.Get("X-Amz-Decoded-Content-Length")
		if v == "" {
			return nil, 0, errMissingLength
		}
		var err error
		if size, err = strconv.ParseInt(v, 10, 64); err != nil || size < 0 {
			return nil, 0, errorf("InvalidArgument", http.StatusBadRequest, "x-amz-decoded-content-length is not a valid length.")
		}
	}
	body, err := rq.auth.Body(r.Body)
	if err != nil {
		return nil, 0, err
	}
	return body, size, nil
}

// responseOverrides maps response-* query parameters to the header each
// replaces in a GET response.
var responseOverrides = [...][2]string{
	{"response-content-type", "Content-Type"},
	{"response-content-language", "Content-Language"},
	{"response-expires", "Expires"},
	{"response-cache-control", "Cache-Control"},
	{"response-content-disposition", "Content-Disposition"},
	{"response-content-encoding", "Content-Encoding"},
}

// objectRequest reads what GET and HEAD share: range, conditions, part.
func objectRequest(rq *request, headOnly bool) (object.GetInput, error) {
	vid, err := versionID(rq)
	if err != nil {
		return object.GetInput{}, err
	}
	in := object.GetInput{Bucket: rq.bucket, Key: rq.key, VersionID: vid, Cond: parseConditions(rq.r.Header), HeadOnly: headOnly}
	if rg, ok := ParseRange(rq.r.Header.Get("Range")); ok {
		in.Range = &rg
	}
	if v, ok := rq.query["partNumber"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > 10000 {
			return in, errorf("InvalidArgument", http.StatusBadRequest, "Part number must be an integer between 1 and 10000, inclusive")
		}
		if in.Range != nil {
			return in, errorf("InvalidRequest", http.StatusBadRequest, "Cannot specify both Range header and partNumber query parameter")
		}
		in.PartNumber = n
	}
	return in, nil
}

func (h *Handler) getObject(rq *request) error  { return h.readObject(rq, false) }
func (h *Handler) headObject(rq *request) error { return h.readObject(rq, true) }

func (h *Handler) readObject(rq *request, headOnly bool) error {
	in, err := objectRequest(rq, headOnly)
	if err != nil {
		return err
	}
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	rd, err := h.objects.GetObject(rq.ctx(), in)
	var ce *object.ConditionError
	if errors.As(err, &ce) && errors.Is(err, object.ErrNotModified) {
		rq.w.Header().Set("ETag", quoteETag(ce.ETag))
		rq.w.Header().Set("Last-Modified", httpDate(ce.Modified))
	}
	if err != nil {
		return deleteMarkerErr(rq, in.VersionID, err)
	}
	defer rd.Close()
	status := h.objectHeaders(rq, rd)
	rq.status = status
	rq.w.WriteHeader(status)
	if headOnly {
		return nil
	}
	if _, err := io.Copy(rq.w, rd); err != nil {
		return err
	}
	return nil
}

// objectHeaders sets the response headers of GET and HEAD and returns the
// status to send.
func (h *Handler) objectHeaders(rq *request, rd *object.Reader) int {
	o := &rd.Object
	hdr := rq.w.Header()
	hdr.Set("Last-Modified", httpDate(o.Modified))
	hdr.Set("ETag", quoteETag(o.ETag))
	hdr.Set("Accept-Ranges", "bytes")
	hdr.Set("Content-Length", strconv.FormatInt(rd.Length, 10))
	setIf := func(k, v string) {
		if v != "" {
			hdr.Set(k, v)
		}
	}
	hdr.Set("Content-Type", o.ContentType)
	if o.ContentType == "" {
		hdr.Set("Content-Type", "binary/octet-stream")
	}
	setIf("Content-Encoding", o.ContentEncoding)
	setIf("Content-Disposition", o.ContentDisposition)
	setIf("Content-Language", o.ContentLanguage)
	setIf("Cache-Control", o.CacheControl)
	setIf("Expires", o.Expires)
	setIf("X-Amz-Storage-Class", o.StorageClass)
	setIf("X-Amz-Tagging-Count", tagCount(o.Tags))
	setVersionHeader(rq, o.VersionID)
	if o.Retention.Mode != "" {
		hdr.Set("X-Amz-Object-Lock-Mode", o.Retention.Mode)
		hdr.Set("X-Amz-Object-Lock-Retain-Until-Date", o.Retention.Until.UTC().Format(isoMillis))
	}
	if rq.bkt.ObjectLock {
		hdr.Set("X-Amz-Object-Lock-Legal-Hold", legalHoldStatus(o.LegalHold))
	}
	for k, v := range o.UserMeta {
		hdr["X-Amz-Meta-"+k] = []string{v}
	}
	if _, ok := rq.query["partNumber"]; ok {
		hdr.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(max(o.PartsCount, 1)))
	}
	if !rd.Partial && strings.EqualFold(rq.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		typ := o.ChecksumType
		if typ == "" {
			typ = object.ChecksumFullObject
		}
		for alg, v := range o.Checksums {
			hdr.Set("X-Amz-Checksum-"+alg, v)
			hdr.Set("X-Amz-Checksum-Type", typ)
		}
	}
	for _, ov := range responseOverrides {
		if v := rq.query.Get(ov[0]); v != "" {
			hdr.Set(ov[1], v)
		}
	}
	if rd.Partial {
		hdr.Set("Content-Range", "bytes "+strconv.FormatInt(rd.Offset, 10)+"-"+
			strconv.FormatInt(rd.Offset+rd.Length-1, 10)+"/"+strconv.FormatInt(o.Size, 10))
		return http.StatusPartialContent
	}
	return http.StatusOK
}

func (h *Handler) deleteObject(rq *request) error {
	vid, err := versionID(rq)
	if err != nil {
		return err
	}
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	bypass, err := h.bypassGovernance(rq)
	if err != nil {
		return err
	}
	cond, err := writeConditions(rq.r.Header)
	if err != nil {
		return err
	}
	res, err := h.objects.DeleteObject(rq.ctx(), object.DeleteInput{
		Bucket: rq.bucket, Key: rq.key, VersionID: vid, Bypass: bypass, Cond: cond})
	if err != nil {
		return err
	}
	if res.DeleteMarker {
		rq.w.Header().Set("X-Amz-Delete-Marker", "true")
	}
	if vid != "" || res.DeleteMarker {
		setVersionHeader(rq, res.VersionID)
	}
	return rq.writeStatus(http.StatusNoContent)
}

// deleteMarkerErr reports a read that met a delete marker as S3 does: the
// marker's headers, and 405 when the request named the marker's version.
func deleteMarkerErr(rq *request, versionID string, err error) error {
	var dm *object.DeleteMarkerError
	if !errors.As(err, &dm) {
		return err
	}
	rq.w.Header().Set("X-Amz-Delete-Marker", "true")
	rq.w.Header().Set("X-Amz-Version-Id", dm.VersionID)
	if versionID != "" {
		// S3 sends the marker's time with the 405 (GetObject reference).
		if !dm.Modified.IsZero() {
			rq.w.Header().Set("Last-Modified", httpDate(dm.Modified))
		}
		return errMethodNotAllowed
	}
	return err
}

// bypassGovernance reads x-amz-bypass-governance-retention; the caller must
// also hold s3:BypassGovernanceRetention for it to count.
func (h *Handler) bypassGovernance(rq *request) (bool, error) {
	if !strings.EqualFold(rq.r.Header.Get("X-Amz-Bypass-Governance-Retention"), "true") {
		return false, nil
	}
	vid := ""
	if v, ok := rq.query["versionId"]; ok {
		vid = v[0]
	}
	err := h.iam.Authorize(rq.ctx(), rq.principal, h.accessRequest(rq, "s3:BypassGovernanceRetention", rq.bucket, rq.key, vid))
	if err != nil {
		return false, err
	}
	return true, nil
}
