package s3api

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/cofferstore/coffer/internal/object"
)

const maxConfigXML = 1 << 20

func (h *Handler) listBuckets(rq *request) error {
	buckets, err := h.objects.Buckets(rq.ctx())
	if err != nil {
		return err
	}
	b := xmlHeader()
	b = append(b, `<ListAllMyBucketsResult xmlns="`+xmlNS+`"><Owner>`...)
	b = appendElem(b, "ID", rq.principal.CanonicalID())
	b = appendElem(b, "DisplayName", rq.principal.Name)
	b = append(b, "</Owner><Buckets>"...)
	for _, bk := range buckets {
		// Root sees every bucket, a user the buckets it owns, as in S3:
		// buckets others share with it by policy or ACL are not listed.
		if !rq.principal.Root && bk.Owner != rq.principal.Name {
			continue
		}
		b = append(b, "<Bucket>"...)
		b = appendElem(b, "Name", bk.Name)
		b = appendTime(b, "CreationDate", bk.Created)
		b = appendElem(b, "BucketRegion", bk.Region)
		b = append(b, "</Bucket>"...)
	}
	b = append(b, "</Buckets></ListAllMyBucketsResult>"...)
	return rq.writeXML(b)
}

type createBucketConfiguration struct {
	LocationConstraint string
}

func (h *Handler) createBucket(rq *request) error {
	var cfg createBucketConfiguration
	body, err := rq.auth.Body(rq.r.Body)
	if err != nil {
		return err
	}
	data, err := readLimited(body, maxConfigXML)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := xml.Unmarshal(data, &cfg); err != nil {
			return errMalformedXML
		}
	}
	region := h.cfg.Region
	if cfg.LocationConstraint != "" && cfg.LocationConstraint != region {
		return errorf("InvalidLocationConstraint", http.StatusBadRequest,
			"The specified location-constraint is not valid: this server is region "+region+".")
	}
	var opts object.BucketOptions
	switch v := rq.r.Header.Get("X-Amz-Bucket-Object-Lock-Enabled"); {
	case v == "":
	case strings.EqualFold(v, "true"):
		opts.ObjectLock = true
	case !strings.EqualFold(v, "false"):
		return errorf("InvalidArgument", http.StatusBadRequest, "x-amz-bucket-object-lock-enabled must be true or false.")
	}
	if err := h.objects.CreateBucket(rq.ctx(), rq.bucket, rq.principal.Name, region, opts); err != nil {
		return err
	}
	rq.w.Header().Set("Location", "/"+rq.bucket)
	return rq.writeStatus(http.StatusOK)
}

// bucketFor loads the request's bucket. Whether the caller may act on it
// was decided before the handler ran (serve's iam.Authorize, which knows
// the bucket's owner, policy and ACL).
func (h *Handler) bucketFor(rq *request) error {
	b, err := h.objects.Bucket(rq.ctx(), rq.bucket)
	if err != nil {
		return err
	}
	rq.owner = b.Owner
	rq.bkt = b
	rq.w.Header().Set("X-Amz-Bucket-Region", b.Region)
	return nil
}

func (h *Handler) headBucket(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusOK)
}

func (h *Handler) deleteBucket(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	if err := h.objects.DeleteBucket(rq.ctx(), rq.bucket); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusNoContent)
}

func (h *Handler) getBucketLocation(rq *request) error {
	b, err := h.objects.Bucket(rq.ctx(), rq.bucket)
	if err != nil {
		return err
	}
	loc := b.Region
	if loc == "us-east-1" {
		loc = "" // S3 reports us-east-1 as an empty constraint
	}
	out := xmlHeader()
	out = append(out, `<LocationConstraint xmlns="`+xmlNS+`">`...)
	out = appendEscaped(out, loc)
	out = append(out, "</LocationConstraint>"...)
	return rq.writeXML(out)
}
