package s3api

import (
	"encoding/xml"
	"net/http"

	"github.com/cofferstore/coffer/internal/meta"
)

var errInvalidVersionID = errorf("InvalidArgument", http.StatusBadRequest, "Invalid version id specified")

// versionID reads the versionId query parameter ("" when absent).
func versionID(rq *request) (string, error) {
	v, ok := rq.query["versionId"]
	if !ok {
		return "", nil
	}
	if v[0] == "" {
		return "", errInvalidVersionID
	}
	return v[0], nil
}

// setVersionHeader reports a version id the way S3 does: always when it is
// not null, and for the null version only in a bucket that has had
// versioning (an unversioned bucket never shows version ids).
func setVersionHeader(rq *request, id string) {
	if id == "" || (id == meta.NullVersion && rq.bkt.Versioning == "") {
		return
	}
	rq.w.Header().Set("X-Amz-Version-Id", id)
}

type versioningConfiguration struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	Status    string   `xml:"Status"`
	MfaDelete string   `xml:"MfaDelete"`
}

func (h *Handler) getBucketVersioning(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	out := xmlHeader()
	out = append(out, `<VersioningConfiguration xmlns="`+xmlNS+`">`...)
	if rq.bkt.Versioning != "" {
		out = appendElem(out, "Status", rq.bkt.Versioning)
	}
	out = append(out, "</VersioningConfiguration>"...)
	return rq.writeXML(out)
}

func (h *Handler) putBucketVersioning(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	var cfg versioningConfiguration
	if err := h.readXML(rq, &cfg); err != nil {
		return err
	}
	if cfg.MfaDelete == "Enabled" {
		return errorf("NotImplemented", http.StatusNotImplemented, "MFA delete is not supported.")
	}
	if cfg.Status != meta.VersioningEnabled && cfg.Status != meta.VersioningSuspended {
		return errMalformedXML
	}
	if err := h.objects.SetVersioning(rq.ctx(), rq.bucket, cfg.Status); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusOK)
}

// readXML reads a configuration body of at most maxConfigXML bytes into v.
func (h *Handler) readXML(rq *request, v any) error {
	data, err := h.readBody(rq)
	if err != nil {
		return err
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return errMalformedXML
	}
	return nil
}

func (h *Handler) listObjectVersions(rq *request) error {
	lo, enc, err := listParams(rq)
	if err != nil {
		return err
	}
	opts := meta.VersionListOptions{Prefix: lo.Prefix, Delimiter: lo.Delimiter, Limit: lo.Limit,
		KeyMarker: rq.query.Get("key-marker"), VersionIDMarker: rq.query.Get("version-id-marker")}
	if opts.VersionIDMarker != "" && opts.KeyMarker == "" {
		return errorf("InvalidArgument", http.StatusBadRequest, "A version-id marker cannot be specified without a key marker.")
	}
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	var page meta.VersionPage
	if opts.Limit > 0 {
		if page, err = h.objects.ListObjectVersions(rq.ctx(), rq.bucket, opts); err != nil {
			return err
		}
	}
	n := 1024
	for i := range page.Versions {
		n += 400 + len(page.Versions[i].Key)
	}
	b := xmlHeaderSized(n)
	b = appendListHead(b, "ListVersionsResult", rq.bucket, lo, lo.Limit, enc)
	b = appendElem(b, "KeyMarker", enc.enc(opts.KeyMarker))
	b = appendElem(b, "VersionIdMarker", opts.VersionIDMarker)
	b = appendBool(b, "IsTruncated", page.Truncated)
	if page.Truncated {
		b = appendElem(b, "NextKeyMarker", enc.enc(page.NextKeyMarker))
		b = appendElem(b, "NextVersionIdMarker", page.NextVersionIDMarker)
	}
	for i := range page.Versions {
		o := &page.Versions[i]
		tag := "Version"
		if o.DeleteMarker {
			tag = "DeleteMarker"
		}
		b = append(b, '<')
		b = append(b, tag...)
		b = append(b, '>')
		b = appendElem(b, "Key", enc.enc(o.Key))
		b = appendElem(b, "VersionId", o.VersionID)
		b = appendBool(b, "IsLatest", o.IsLatest)
		b = appendTime(b, "LastModified", o.Modified)
		if !o.DeleteMarker {
			b = appendETag(b, o.ETag)
			for alg := range o.Checksums {
				b = appendElem(b, "ChecksumAlgorithm", alg)
			}
			b = appendInt(b, "Size", o.Size)
			b = appendElem(b, "StorageClass", storageClass(o))
		}
		b = appendOwner(b, rq.owner)
		b = append(b, "</"...)
		b = append(b, tag...)
		b = append(b, '>')
	}
	b = appendPrefixes(b, page.CommonPrefixes, enc)
	b = append(b, "</ListVersionsResult>"...)
	return rq.writeXML(b)
}
