package s3api

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/cofferstore/coffer/internal/checksum"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// copySource parses x-amz-copy-source ("[/]bucket/key[?versionId=v]",
// URL-encoded) and the x-amz-copy-source-if-* conditions, and checks that
// the caller may read the source.
func copySource(rq *request) (object.CopySource, error) {
	raw := rq.r.Header.Get("X-Amz-Copy-Source")
	path, query, _ := strings.Cut(raw, "?")
	var vid string
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return object.CopySource{}, errInvalidVersionID
		}
		if v, ok := q["versionId"]; ok {
			if v[0] == "" {
				return object.CopySource{}, errInvalidVersionID
			}
			vid = v[0]
		}
	}
	decoded, err := url.PathUnescape(strings.TrimPrefix(path, "/"))
	if err != nil {
		return object.CopySource{}, errorf("InvalidArgument", http.StatusBadRequest, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	bucket, key, ok := strings.Cut(decoded, "/")
	if !ok || bucket == "" || key == "" {
		return object.CopySource{}, errorf("InvalidArgument", http.StatusBadRequest, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	h := rq.r.Header
	src := object.CopySource{Bucket: bucket, Key: key, VersionID: vid, Cond: parseConditions(http.Header{
		"If-Match":            h.Values("X-Amz-Copy-Source-If-Match"),
		"If-None-Match":       h.Values("X-Amz-Copy-Source-If-None-Match"),
		"If-Modified-Since":   h.Values("X-Amz-Copy-Source-If-Modified-Since"),
		"If-Unmodified-Since": h.Values("X-Amz-Copy-Source-If-Unmodified-Since"),
	})}
	return src, nil
}

// writeConditions reads If-None-Match / If-Match on a write. S3 supports
// only "*" for If-None-Match there.
func writeConditions(h http.Header) (*meta.Condition, error) {
	inm, im := h.Get("If-None-Match"), h.Get("If-Match")
	if inm == "" && im == "" {
		return nil, nil
	}
	c := &meta.Condition{}
	if inm != "" {
		if strings.TrimSpace(inm) != "*" {
			return nil, errorf("NotImplemented", http.StatusNotImplemented, "If-None-Match on a write supports only '*'.")
		}
		c.IfNoneMatch = true
	}
	if im != "" {
		c.IfMatch = strings.Trim(strings.TrimSpace(im), `"`)
	}
	return c, nil
}

func (h *Handler) copyObject(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	src, err := copySource(rq)
	if err != nil {
		return err
	}
	// Reading the source was authorized in serve, with the write.
	cond, err := writeConditions(rq.r.Header)
	if err != nil {
		return err
	}
	in := object.CopyInput{Source: src, Bucket: rq.bucket, Key: rq.key, Cond: cond}
	switch d := rq.r.Header.Get("X-Amz-Metadata-Directive"); d {
	case "", "COPY":
	case "REPLACE":
		in.Replace = true
	default:
		return errorf("InvalidArgument", http.StatusBadRequest, "Unknown metadata directive.")
	}
	if in.Attrs, err = parseAttrs(rq.r.Header); err != nil {
		return err
	}
	if in.Attrs.ACL, err = h.writeACL(rq, rq.r.Header); err != nil {
		return err
	}
	switch d := rq.r.Header.Get("X-Amz-Tagging-Directive"); d {
	case "", "COPY":
	case "REPLACE":
		in.ReplaceTags = true
	default:
		return errorf("InvalidArgument", http.StatusBadRequest, "Unknown tagging directive.")
	}
	if !in.Replace && rq.r.Header.Get("X-Amz-Storage-Class") == "" {
		in.Attrs.StorageClass = ""
	}
	if v := rq.r.Header.Get("X-Amz-Checksum-Algorithm"); v != "" {
		if in.Algorithm, err = checksum.Parse(v); err != nil {
			return errorf("InvalidRequest", http.StatusBadRequest, "Checksum algorithm provided is unsupported.")
		}
	}
	res, err := h.objects.CopyObject(rq.ctx(), in)
	if err != nil {
		return copySourceErr(src, err)
	}
	obj := res.Object
	setCopySourceVersion(rq, src, res.SourceVersionID)
	setVersionHeader(rq, obj.VersionID)
	b := xmlHeader()
	b = append(b, `<CopyObjectResult xmlns="`+xmlNS+`">`...)
	b = appendElem(b, "ETag", quoteETag(obj.ETag))
	b = appendTime(b, "LastModified", obj.Modified)
	for alg, v := range obj.Checksums {
		b = appendElem(b, "Checksum"+alg, v)
	}
	b = append(b, "</CopyObjectResult>"...)
	return rq.writeXML(b)
}

// copySourceErr refuses a copy source that names a delete marker by
// version id as S3 does; without a version id a marker is NoSuchKey.
func copySourceErr(src object.CopySource, err error) error {
	var dm *object.DeleteMarkerError
	if src.VersionID != "" && errors.As(err, &dm) {
		return errorf("InvalidRequest", http.StatusBadRequest, "The source of a copy request may not specifically refer to a delete marker by version id.")
	}
	return err
}

// setCopySourceVersion reports the source version read, when the source
// was addressed by version or its bucket has versioning.
func setCopySourceVersion(rq *request, src object.CopySource, id string) {
	if src.VersionID != "" || (id != "" && id != meta.NullVersion) {
		rq.w.Header().Set("X-Amz-Copy-Source-Version-Id", id)
	}
}

// authorizeSource checks the caller may read the copy source: a copy is a
// read of one object and a write of another, and both are decided.
func (h *Handler) authorizeSource(rq *request, src object.CopySource) error {
	action := "s3:GetObject"
	if src.VersionID != "" {
		action = "s3:GetObjectVersion"
	}
	return h.iam.Authorize(rq.ctx(), rq.principal, h.accessRequest(rq, action, src.Bucket, src.Key, src.VersionID))
}
