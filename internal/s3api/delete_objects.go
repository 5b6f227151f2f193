package s3api

import (
	"bytes"
	"crypto/md5"
	"encoding/xml"
	"net/http"
	"sync"

	"github.com/cofferstore/coffer/internal/checksum"
	"github.com/cofferstore/coffer/internal/object"
)

// maxDeleteXML bounds a DeleteObjects body: 1000 keys of up to 1024
// bytes, escaped, fit comfortably.
const maxDeleteXML = 8 << 20

type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

// ParseDeleteRequest decodes a DeleteObjects body: at most 1000 keys, each
// non-empty. It is exported for its fuzz target.
func ParseDeleteRequest(data []byte) (deleteRequest, error) {
	var req deleteRequest
	if err := xml.Unmarshal(data, &req); err != nil {
		return req, errMalformedXML
	}
	if len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return req, errMalformedXML
	}
	for _, o := range req.Objects {
		if o.Key == "" {
			return req, errorf("UserKeyMustBeSpecified", http.StatusBadRequest, "The bucket POST must contain the specified field name. If it is specified, please check the order of the fields.")
		}
	}
	return req, nil
}

var errMissingBodyDigest = errorf("InvalidRequest", http.StatusBadRequest, "Missing required header for this request: Content-MD5 or x-amz-checksum-*")

// verifyBodyDigest checks the integrity header S3 requires on
// DeleteObjects: Content-MD5 or one x-amz-checksum-* value.
func verifyBodyDigest(h http.Header, data []byte) error {
	if want, err := parseContentMD5(h); err != nil {
		return err
	} else if want != nil {
		got := md5.Sum(data)
		if !bytes.Equal(got[:], want) {
			return errorf("BadDigest", http.StatusBadRequest, "The Content-MD5 you specified did not match what we received.")
		}
		return nil
	}
	for _, alg := range checksum.All {
		if v := h.Get(alg.Header()); v != "" {
			hh := alg.New()
			hh.Write(data)
			if checksum.Encode(hh.Sum(nil)) != v {
				return errorf("BadDigest", http.StatusBadRequest, "The "+string(alg)+" you specified did not match the calculated checksum.")
			}
			return nil
		}
	}
	return errMissingBodyDigest
}

func (h *Handler) deleteObjects(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	body, err := rq.auth.Body(rq.r.Body)
	if err != nil {
		return err
	}
	data, err := readLimited(body, maxDeleteXML)
	if err != nil {
		return err
	}
	if err := verifyBodyDigest(rq.r.Header, data); err != nil {
		return err
	}
	req, err := ParseDeleteRequest(data)
	if err != nil {
		return err
	}
	// Deletes run concurrently so the metadata store can group their
	// durable commits; results keep the request's order.
	bypass, err := h.bypassGovernance(rq)
	if err != nil {
		return err
	}
	errs := make([]error, len(req.Objects))
	results := make([]object.DeleteResult, len(req.Objects))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, o := range req.Objects {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// The request was authorized for the bucket; each key is
			// decided on its own, as a DeleteObject of it would be, so a
			// Deny on some keys cannot be got round by batching them.
			action := "s3:DeleteObject"
			if o.VersionID != "" {
				action = "s3:DeleteObjectVersion"
			}
			if err := h.iam.Authorize(rq.ctx(), rq.principal, h.accessRequest(rq, action, rq.bucket, o.Key, o.VersionID)); err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = h.objects.DeleteObject(rq.ctx(), object.DeleteInput{
				Bucket: rq.bucket, Key: o.Key, VersionID: o.VersionID, Bypass: bypass})
		}()
	}
	wg.Wait()
	b := xmlHeader()
	b = append(b, `<DeleteResult xmlns="`+xmlNS+`">`...)
	for i, o := range req.Objects {
		if errs[i] != nil {
			ae := toAPIError(errs[i])
			if ae == errInternal {
				rq.log().ErrorContext(rq.ctx(), "deleting object", "key", o.Key, "err", errs[i])
			}
			b = append(b, "<Error>"...)
			b = appendElem(b, "Key", o.Key)
			if o.VersionID != "" {
				b = appendElem(b, "VersionId", o.VersionID)
			}
			b = appendElem(b, "Code", ae.Code)
			b = appendElem(b, "Message", ae.Message)
			b = append(b, "</Error>"...)
			continue
		}
		if req.Quiet {
			continue
		}
		b = append(b, "<Deleted>"...)
		b = appendElem(b, "Key", o.Key)
		if o.VersionID != "" {
			b = appendElem(b, "VersionId", o.VersionID)
		}
		if res := results[i]; res.DeleteMarker {
			b = appendBool(b, "DeleteMarker", true)
			b = appendElem(b, "DeleteMarkerVersionId", res.VersionID)
		}
		b = append(b, "</Deleted>"...)
	}
	b = append(b, "</DeleteResult>"...)
	return rq.writeXML(b)
}
