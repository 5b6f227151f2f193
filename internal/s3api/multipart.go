package s3api

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"github.com/cofferstore/coffer/internal/checksum"
	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// maxCompleteXML bounds a CompleteMultipartUpload body: 10,000 parts with
// ETags and checksums fit well within it.
const maxCompleteXML = 4 << 20

func (h *Handler) createMultipartUpload(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	attrs, err := parseAttrs(rq.r.Header)
	if err != nil {
		return err
	}
	if attrs.ACL, err = h.writeACL(rq, rq.r.Header); err != nil {
		return err
	}
	in := object.CreateUploadInput{Bucket: rq.bucket, Key: rq.key, Owner: rq.principal.Name, Attrs: attrs,
		ChecksumType: strings.ToUpper(rq.r.Header.Get("X-Amz-Checksum-Type"))}
	if v := rq.r.Header.Get("X-Amz-Checksum-Algorithm"); v != "" {
		if in.ChecksumAlgorithm, err = checksum.Parse(v); err != nil {
			return errorf("InvalidRequest", http.StatusBadRequest, "Checksum algorithm provided is unsupported.")
		}
	}
	u, err := h.objects.CreateUpload(rq.ctx(), in)
	if err != nil {
		return err
	}
	if u.ChecksumAlgorithm != "" {
		rq.w.Header().Set("X-Amz-Checksum-Algorithm", u.ChecksumAlgorithm)
		rq.w.Header().Set("X-Amz-Checksum-Type", u.ChecksumType)
	}
	b := xmlHeader()
	b = append(b, `<InitiateMultipartUploadResult xmlns="`+xmlNS+`">`...)
	b = appendElem(b, "Bucket", rq.bucket)
	b = appendElem(b, "Key", rq.key)
	b = appendElem(b, "UploadId", u.ID)
	b = append(b, "</InitiateMultipartUploadResult>"...)
	return rq.writeXML(b)
}

func partNumber(rq *request) (int, error) {
	n, err := strconv.Atoi(rq.query.Get("partNumber"))
	if err != nil || n < 1 || n > object.MaxParts {
		return 0, errorf("InvalidArgument", http.StatusBadRequest, "Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

func (h *Handler) uploadPart(rq *request) error {
	n, err := partNumber(rq)
	if err != nil {
		return err
	}
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	in := object.PartInput{Bucket: rq.bucket, Key: rq.key, UploadID: rq.query.Get("uploadId"), Number: n}
	if rq.r.Header.Get("X-Amz-Copy-Source") != "" {
		return h.uploadPartCopy(rq, in)
	}
	body, size, err := h.requestBody(rq)
	if err != nil {
		return err
	}
	in.Body, in.Size = body, size
	if in.ContentMD5, err = parseContentMD5(rq.r.Header); err != nil {
		return err
	}
	if in.Checksum, err = parseChecksum(rq.r.Header, func(name string) string { return body.Trailer().Get(name) }); err != nil {
		return err
	}
	p, err := h.objects.UploadPart(rq.ctx(), in)
	if err != nil {
		return err
	}
	rq.w.Header().Set("ETag", quoteETag(p.ETag))
	if in.Checksum != nil {
		rq.w.Header().Set(string(in.Checksum.Algorithm.Header()), p.Checksum)
	}
	return rq.writeStatus(http.StatusOK)
}

func (h *Handler) uploadPartCopy(rq *request, in object.PartInput) error {
	src, err := copySource(rq)
	if err != nil {
		return err
	}
	if v := rq.r.Header.Get("X-Amz-Copy-Source-Range"); v != "" {
		rg, ok := ParseRange(v)
		if !ok || rg.IsSuffix || rg.Last < 0 {
			return errorf("InvalidArgument", http.StatusBadRequest, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
		}
		src.Range = &rg
	}
	p, srcVersion, err := h.objects.UploadPartCopy(rq.ctx(), in, src)
	if err == nil {
		setCopySourceVersion(rq, src, srcVersion)
	}
	err = copySourceErr(src, err)
	if err != nil {
		return err
	}
	b := xmlHeader()
	b = append(b, `<CopyPartResult xmlns="`+xmlNS+`">`...)
	b = appendElem(b, "ETag", quoteETag(p.ETag))
	b = appendTime(b, "LastModified", p.Modified)
	b = append(b, "</CopyPartResult>"...)
	return rq.writeXML(b)
}

// completeRequest is the CompleteMultipartUpload body.
type completeRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber        int
		ETag              string
		ChecksumCRC32     string
		ChecksumCRC32C    string
		ChecksumCRC64NVME string
		ChecksumSHA1      string
		ChecksumSHA256    string
	} `xml:"Part"`
}

// ParseCompleteRequest decodes a CompleteMultipartUpload body into the
// parts it lists. It is exported for its fuzz target.
func ParseCompleteRequest(data []byte) ([]object.CompletePart, error) {
	var req completeRequest
	if err := xml.Unmarshal(data, &req); err != nil {
		return nil, errMalformedXML
	}
	if len(req.Parts) == 0 || len(req.Parts) > object.MaxParts {
		return nil, errMalformedXML
	}
	parts := make([]object.CompletePart, len(req.Parts))
	for i, p := range req.Parts {
		sum := p.ChecksumCRC32 + p.ChecksumCRC32C + p.ChecksumCRC64NVME + p.ChecksumSHA1 + p.ChecksumSHA256
		parts[i] = object.CompletePart{Number: p.PartNumber, ETag: p.ETag, Checksum: sum}
	}
	return parts, nil
}

func (h *Handler) completeMultipartUpload(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	cond, err := writeConditions(rq.r.Header)
	if err != nil {
		return err
	}
	body, err := rq.auth.Body(rq.r.Body)
	if err != nil {
		return err
	}
	data, err := readLimited(body, maxCompleteXML)
	if err != nil {
		return err
	}
	parts, err := ParseCompleteRequest(data)
	if err != nil {
		return err
	}
	in := object.CompleteInput{Bucket: rq.bucket, Key: rq.key, UploadID: rq.query.Get("uploadId"), Parts: parts, Cond: cond}
	for _, alg := range checksum.All {
		if v := rq.r.Header.Get(alg.Header()); v != "" {
			in.FullChecksum = v
		}
	}
	obj, err := h.objects.CompleteUpload(rq.ctx(), in)
	if err == nil {
		setVersionHeader(rq, obj.VersionID)
	}
	if err != nil {
		return err
	}
	b := xmlHeader()
	b = append(b, `<CompleteMultipartUploadResult xmlns="`+xmlNS+`">`...)
	b = appendElem(b, "Location", "/"+rq.bucket+"/"+rq.key)
	b = appendElem(b, "Bucket", rq.bucket)
	b = appendElem(b, "Key", rq.key)
	b = appendElem(b, "ETag", quoteETag(obj.ETag))
	if obj.ChecksumType != "" {
		for alg, v := range obj.Checksums {
			b = appendElem(b, "Checksum"+alg, v)
		}
		b = appendElem(b, "ChecksumType", obj.ChecksumType)
	}
	b = append(b, "</CompleteMultipartUploadResult>"...)
	return rq.writeXML(b)
}

func (h *Handler) abortMultipartUpload(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	if err := h.objects.AbortUpload(rq.ctx(), rq.bucket, rq.key, rq.query.Get("uploadId")); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusNoContent)
}

func (h *Handler) listParts(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	id := rq.query.Get("uploadId")
	maxParts, err := intParam(rq, "max-parts", 1000)
	if err != nil {
		return err
	}
	marker, err := intParam(rq, "part-number-marker", 0)
	if err != nil {
		return err
	}
	u, err := h.objects.Upload(rq.ctx(), rq.bucket, rq.key, id)
	if err != nil {
		return err
	}
	parts, more, err := h.objects.ListParts(rq.ctx(), rq.bucket, rq.key, id, marker, min(maxParts, 1000))
	if err != nil {
		return err
	}
	b := xmlHeader()
	b = append(b, `<ListPartsResult xmlns="`+xmlNS+`">`...)
	b = appendElem(b, "Bucket", rq.bucket)
	b = appendElem(b, "Key", rq.key)
	b = appendElem(b, "UploadId", id)
	b = appendInitiator(b, u.Owner)
	b = appendOwner(b, u.Owner)
	b = appendElem(b, "StorageClass", storageClass(&u.Object))
	b = appendInt(b, "PartNumberMarker", int64(marker))
	if len(parts) > 0 {
		b = appendInt(b, "NextPartNumberMarker", int64(parts[len(parts)-1].Number))
	}
	b = appendInt(b, "MaxParts", int64(maxParts))
	b = appendBool(b, "IsTruncated", more)
	for _, p := range parts {
		b = append(b, "<Part>"...)
		b = appendInt(b, "PartNumber", int64(p.Number))
		b = appendTime(b, "LastModified", p.Modified)
		b = appendElem(b, "ETag", quoteETag(p.ETag))
		b = appendInt(b, "Size", p.Size)
		if u.ChecksumAlgorithm != "" {
			b = appendElem(b, "Checksum"+u.ChecksumAlgorithm, p.Checksum)
		}
		b = append(b, "</Part>"...)
	}
	if u.ChecksumAlgorithm != "" {
		b = appendElem(b, "ChecksumAlgorithm", u.ChecksumAlgorithm)
		b = appendElem(b, "ChecksumType", u.ChecksumType)
	}
	b = append(b, "</ListPartsResult>"...)
	return rq.writeXML(b)
}

func appendInitiator(b []byte, name string) []byte {
	b = append(b, "<Initiator>"...)
	b = appendElem(b, "ID", iam.CanonicalID(name))
	b = appendElem(b, "DisplayName", name)
	return append(b, "</Initiator>"...)
}

// intParam reads a non-negative integer query parameter.
func intParam(rq *request, name string, def int) (int, error) {
	v, ok := rq.query[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < 0 {
		return 0, errorf("InvalidArgument", http.StatusBadRequest, "Argument "+name+" must be a non-negative integer.")
	}
	return n, nil
}

func (h *Handler) listMultipartUploads(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	q := rq.query
	maxUploads, err := intParam(rq, "max-uploads", 1000)
	if err != nil {
		return err
	}
	enc := encoder(false)
	switch q.Get("encoding-type") {
	case "":
	case "url":
		enc = true
	default:
		return errorf("InvalidArgument", http.StatusBadRequest, "Invalid Encoding Method specified in Request")
	}
	opts := meta.UploadListOptions{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), UploadIDMarker: q.Get("upload-id-marker"), Limit: min(maxUploads, 1000)}
	if opts.KeyMarker == "" {
		opts.UploadIDMarker = "" // S3 ignores an upload-id-marker without a key-marker
	}
	var page meta.UploadPage
	if maxUploads > 0 {
		if page, err = h.objects.ListUploads(rq.ctx(), rq.bucket, opts); err != nil {
			return err
		}
	}
	b := xmlHeader()
	b = append(b, `<ListMultipartUploadsResult xmlns="`+xmlNS+`">`...)
	b = appendElem(b, "Bucket", rq.bucket)
	b = appendElem(b, "KeyMarker", enc.enc(opts.KeyMarker))
	b = appendElem(b, "UploadIdMarker", opts.UploadIDMarker)
	if page.Truncated {
		b = appendElem(b, "NextKeyMarker", enc.enc(page.NextKeyMarker))
		b = appendElem(b, "NextUploadIdMarker", page.NextUploadIDMarker)
	}
	if opts.Delimiter != "" {
		b = appendElem(b, "Delimiter", enc.enc(opts.Delimiter))
	}
	b = appendElem(b, "Prefix", enc.enc(opts.Prefix))
	b = appendInt(b, "MaxUploads", int64(maxUploads))
	if enc {
		b = appendElem(b, "EncodingType", "url")
	}
	b = appendBool(b, "IsTruncated", page.Truncated)
	for i := range page.Uploads {
		u := &page.Uploads[i]
		b = append(b, "<Upload>"...)
		b = appendElem(b, "Key", enc.enc(u.Object.Key))
		b = appendElem(b, "UploadId", u.ID)
		b = appendInitiator(b, u.Owner)
		b = appendOwner(b, u.Owner)
		b = appendElem(b, "StorageClass", storageClass(&u.Object))
		b = appendTime(b, "Initiated", u.Initiated)
		if u.ChecksumAlgorithm != "" {
			b = appendElem(b, "ChecksumAlgorithm", u.ChecksumAlgorithm)
			b = appendElem(b, "ChecksumType", u.ChecksumType)
		}
		b = append(b, "</Upload>"...)
	}
	b = appendPrefixes(b, page.CommonPrefixes, enc)
	b = append(b, "</ListMultipartUploadsResult>"...)
	return rq.writeXML(b)
}
