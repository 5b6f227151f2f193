package s3api

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

var errInvalidMaxKeys = errorf("InvalidArgument", http.StatusBadRequest, "max-keys must be a non-negative integer.")

// listParams reads the query parameters every listing shares.
func listParams(rq *request) (opts meta.ListOptions, enc encoder, err error) {
	q := rq.query
	opts.Prefix = q.Get("prefix")
	opts.Delimiter = q.Get("delimiter")
	opts.Limit = object.MaxListKeys
	if v, ok := q["max-keys"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 0 {
			return opts, false, errInvalidMaxKeys
		}
		opts.Limit = min(n, object.MaxListKeys)
	}
	switch q.Get("encoding-type") {
	case "":
	case "url":
		enc = true
	default:
		return opts, false, errorf("InvalidArgument", http.StatusBadRequest, "Invalid Encoding Method specified in Request")
	}
	return opts, enc, nil
}

func (h *Handler) list(rq *request, opts meta.ListOptions) (meta.ListPage, error) {
	if err := h.bucketFor(rq); err != nil {
		return meta.ListPage{}, err
	}
	return h.objects.ListObjects(rq.ctx(), rq.bucket, opts)
}

func appendOwner(b []byte, name string) []byte {
	b = append(b, "<Owner>"...)
	b = appendElem(b, "ID", iam.CanonicalID(name))
	b = appendElem(b, "DisplayName", name)
	return append(b, "</Owner>"...)
}

// appendContents writes one <Contents> (or <Version>) body.
func appendObject(b []byte, o *meta.Object, enc encoder, owner string) []byte {
	b = appendElem(b, "Key", enc.enc(o.Key))
	b = appendTime(b, "LastModified", o.Modified)
	b = appendETag(b, o.ETag)
	for alg := range o.Checksums {
		b = appendElem(b, "ChecksumAlgorithm", alg)
	}
	b = appendInt(b, "Size", o.Size)
	b = appendElem(b, "StorageClass", storageClass(o))
	if owner != "" {
		b = appendOwner(b, owner)
	}
	return b
}

func storageClass(o *meta.Object) string {
	if o.StorageClass == "" {
		return "STANDARD"
	}
	return o.StorageClass
}

// listSizeHint estimates a listing's XML size: about 300 bytes of markup
// per entry besides its key.
func listSizeHint(page meta.ListPage) int {
	n := 1024
	for i := range page.Objects {
		n += 300 + len(page.Objects[i].Key)
	}
	for _, p := range page.CommonPrefixes {
		n += 64 + len(p)
	}
	return n
}

func appendPrefixes(b []byte, prefixes []string, enc encoder) []byte {
	for _, p := range prefixes {
		b = append(b, "<CommonPrefixes>"...)
		b = appendElem(b, "Prefix", enc.enc(p))
		b = append(b, "</CommonPrefixes>"...)
	}
	return b
}

func appendListHead(b []byte, root, bucket string, opts meta.ListOptions, maxKeys int, enc encoder) []byte {
	b = append(b, "<"+root+` xmlns="`+xmlNS+`">`...)
	b = appendElem(b, "Name", bucket)
	b = appendElem(b, "Prefix", enc.enc(opts.Prefix))
	if opts.Delimiter != "" {
		b = appendElem(b, "Delimiter", enc.enc(opts.Delimiter))
	}
	b = appendInt(b, "MaxKeys", int64(maxKeys))
	if enc {
		b = appendElem(b, "EncodingType", "url")
	}
	return b
}

func (h *Handler) listObjectsV1(rq *request) error {
	opts, enc, err := listParams(rq)
	if err != nil {
		return err
	}
	marker := rq.query.Get("marker")
	opts.After = marker
	maxKeys := opts.Limit
	page, err := h.list(rq, opts)
	if err != nil {
		return err
	}
	b := xmlHeaderSized(listSizeHint(page))
	b = appendListHead(b, "ListBucketResult", rq.bucket, opts, maxKeys, enc)
	b = appendElem(b, "Marker", enc.enc(marker))
	if page.Truncated {
		b = appendElem(b, "NextMarker", enc.enc(page.NextAfter))
	}
	b = appendBool(b, "IsTruncated", page.Truncated)
	for i := range page.Objects {
		b = append(b, "<Contents>"...)
		b = appendObject(b, &page.Objects[i], enc, rq.owner)
		b = append(b, "</Contents>"...)
	}
	b = appendPrefixes(b, page.CommonPrefixes, enc)
	b = append(b, "</ListBucketResult>"...)
	return rq.writeXML(b)
}

var errInvalidToken = errorf("InvalidArgument", http.StatusBadRequest, "The continuation token provided is incorrect.")

func (h *Handler) listObjectsV2(rq *request) error {
	if rq.query.Get("list-type") != "2" {
		return errorf("InvalidArgument", http.StatusBadRequest, "Invalid list-type; the only valid value is 2.")
	}
	opts, enc, err := listParams(rq)
	if err != nil {
		return err
	}
	maxKeys := opts.Limit
	startAfter := rq.query.Get("start-after")
	token, hasToken := rq.query["continuation-token"]
	opts.After = startAfter
	if hasToken {
		// The token is the last entry of the previous page; opaque to
		// clients, so encoded rather than shown.
		after, err := base64.RawURLEncoding.DecodeString(token[0])
		if err != nil || token[0] == "" {
			return errInvalidToken
		}
		opts.After = string(after)
	}
	page, err := h.list(rq, opts)
	if err != nil {
		return err
	}
	owner := ""
	if rq.query.Get("fetch-owner") == "true" {
		owner = rq.owner
	}
	b := xmlHeaderSized(listSizeHint(page))
	b = appendListHead(b, "ListBucketResult", rq.bucket, opts, maxKeys, enc)
	b = appendInt(b, "KeyCount", int64(len(page.Objects)+len(page.CommonPrefixes)))
	if hasToken {
		b = appendElem(b, "ContinuationToken", token[0])
	}
	if startAfter != "" {
		b = appendElem(b, "StartAfter", enc.enc(startAfter))
	}
	b = appendBool(b, "IsTruncated", page.Truncated)
	if page.Truncated {
		b = appendElem(b, "NextContinuationToken", base64.RawURLEncoding.EncodeToString([]byte(page.NextAfter)))
	}
	for i := range page.Objects {
		b = append(b, "<Contents>"...)
		b = appendObject(b, &page.Objects[i], enc, owner)
		b = append(b, "</Contents>"...)
	}
	b = appendPrefixes(b, page.CommonPrefixes, enc)
	b = append(b, "</ListBucketResult>"...)
	return rq.writeXML(b)
}
