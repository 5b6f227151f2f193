package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/checksum"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// isoMillis is the timestamp form of object-lock dates in headers.
const isoMillis = "2006-01-02T15:04:05.000Z"

var errInvalidLockDate = errorf("InvalidArgument", http.StatusBadRequest, "The retain until date must be an ISO 8601 date-time.")

func legalHoldStatus(on bool) string {
	if on {
		return "ON"
	}
	return "OFF"
}

// parseLockTime reads an ISO 8601 date-time as S3 accepts them. The date
// keeps the milliseconds that GET shows (isoMillis), rounded up: a client
// that reads a retention back and writes it again must not be seen as
// shortening it, and a lock never ends before the date asked for.
func parseLockTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.000Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			ms := t.Truncate(time.Millisecond)
			if ms.Before(t) {
				ms = ms.Add(time.Millisecond)
			}
			if ms = ms.UTC(); ms.Year() > 9999 {
				return time.Time{}, false // not writable back as ISO 8601
			}
			return ms, true
		}
	}
	return time.Time{}, false
}

// parseLockHeaders reads the object-lock headers of PUT, copy and
// CreateMultipartUpload into a.
func parseLockHeaders(h http.Header, a *object.Attrs) error {
	mode, until := h.Get("X-Amz-Object-Lock-Mode"), h.Get("X-Amz-Object-Lock-Retain-Until-Date")
	if (mode == "") != (until == "") {
		return errorf("InvalidArgument", http.StatusBadRequest, "x-amz-object-lock-mode and x-amz-object-lock-retain-until-date must both be supplied.")
	}
	if mode != "" {
		if mode != meta.LockGovernance && mode != meta.LockCompliance {
			return errorf("InvalidArgument", http.StatusBadRequest, "Unknown wormMode directive.")
		}
		t, ok := parseLockTime(until)
		if !ok {
			return errInvalidLockDate
		}
		a.Retention = meta.Retention{Mode: mode, Until: t}
	}
	switch v := h.Get("X-Amz-Object-Lock-Legal-Hold"); v {
	case "":
	case "ON":
		a.LegalHold = true
	case "OFF":
	default:
		return errorf("InvalidArgument", http.StatusBadRequest, "Legal Hold must be either of 'ON' or 'OFF'.")
	}
	return nil
}

type lockConfigXML struct {
	XMLName           xml.Name `xml:"ObjectLockConfiguration"`
	ObjectLockEnabled string   `xml:"ObjectLockEnabled"`
	Rule              *struct {
		DefaultRetention *struct {
			Mode  string `xml:"Mode"`
			Days  *int   `xml:"Days"`
			Years *int   `xml:"Years"`
		} `xml:"DefaultRetention"`
	} `xml:"Rule"`
}

// ParseLockConfig reads an ObjectLockConfiguration body.
func ParseLockConfig(data []byte) (object.LockConfig, error) {
	var x lockConfigXML
	if err := xml.Unmarshal(data, &x); err != nil {
		return object.LockConfig{}, errMalformedXML
	}
	if x.ObjectLockEnabled != "Enabled" {
		return object.LockConfig{}, errMalformedXML
	}
	c := object.LockConfig{Enabled: true}
	if x.Rule != nil {
		dr := x.Rule.DefaultRetention
		if dr == nil {
			return object.LockConfig{}, errMalformedXML
		}
		if dr.Mode != meta.LockGovernance && dr.Mode != meta.LockCompliance {
			return object.LockConfig{}, errMalformedXML
		}
		c.Mode = dr.Mode
		if dr.Days != nil {
			if *dr.Days <= 0 {
				return object.LockConfig{}, errorf("InvalidArgument", http.StatusBadRequest, "Default retention period must be a positive integer value.")
			}
			c.Days = *dr.Days
		}
		if dr.Years != nil {
			if *dr.Years <= 0 {
				return object.LockConfig{}, errorf("InvalidArgument", http.StatusBadRequest, "Default retention period must be a positive integer value.")
			}
			c.Years = *dr.Years
		}
		if c.Mode == "" || (dr.Days == nil) == (dr.Years == nil) {
			return object.LockConfig{}, errMalformedXML
		}
	}
	return c, nil
}

func appendLockConfig(b []byte, c object.LockConfig) []byte {
	b = append(b, `<ObjectLockConfiguration xmlns="`+xmlNS+`"><ObjectLockEnabled>Enabled</ObjectLockEnabled>`...)
	if c.Mode != "" {
		b = append(b, "<Rule><DefaultRetention>"...)
		b = appendElem(b, "Mode", c.Mode)
		if c.Days > 0 {
			b = appendInt(b, "Days", int64(c.Days))
		}
		if c.Years > 0 {
			b = appendInt(b, "Years", int64(c.Years))
		}
		b = append(b, "</DefaultRetention></Rule>"...)
	}
	return append(b, "</ObjectLockConfiguration>"...)
}

func (h *Handler) getObjectLockConfig(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	c, err := h.objects.LockConfig(rq.ctx(), rq.bucket)
	if errors.Is(err, object.ErrNoObjectLockConfig) {
		return errorf("ObjectLockConfigurationNotFoundError", http.StatusNotFound, "Object Lock configuration does not exist for this bucket")
	}
	if err != nil {
		return err
	}
	return rq.writeXML(appendLockConfig(xmlHeader(), c))
}

func (h *Handler) putObjectLockConfig(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	data, err := h.readBody(rq)
	if err != nil {
		return err
	}
	c, err := ParseLockConfig(data)
	if err != nil {
		return err
	}
	if err := h.objects.PutLockConfig(rq.ctx(), rq.bucket, c); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusOK)
}

type retentionXML struct {
	XMLName         xml.Name `xml:"Retention"`
	Mode            string   `xml:"Mode"`
	RetainUntilDate string   `xml:"RetainUntilDate"`
}

// ParseRetention reads a Retention body; an empty one removes retention.
func ParseRetention(data []byte) (meta.Retention, error) {
	var x retentionXML
	if err := xml.Unmarshal(data, &x); err != nil {
		return meta.Retention{}, errMalformedXML
	}
	if x.Mode == "" && x.RetainUntilDate == "" {
		return meta.Retention{}, nil
	}
	if x.Mode != meta.LockGovernance && x.Mode != meta.LockCompliance {
		return meta.Retention{}, errMalformedXML
	}
	t, ok := parseLockTime(strings.TrimSpace(x.RetainUntilDate))
	if !ok {
		return meta.Retention{}, errInvalidLockDate
	}
	return meta.Retention{Mode: x.Mode, Until: t}, nil
}

func (h *Handler) getObjectRetention(rq *request) error {
	vid, err := versionID(rq)
	if err != nil {
		return err
	}
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	r, err := h.objects.Retention(rq.ctx(), rq.bucket, rq.key, vid)
	if err != nil {
		return deleteMarkerErr(rq, vid, err)
	}
	return rq.writeXML(appendRetention(xmlHeader(), r))
}

func appendRetention(b []byte, r meta.Retention) []byte {
	b = append(b, `<Retention xmlns="`+xmlNS+`">`...)
	b = appendElem(b, "Mode", r.Mode)
	b = appendElem(b, "RetainUntilDate", r.Until.UTC().Format(isoMillis))
	return append(b, "</Retention>"...)
}

func (h *Handler) putObjectRetention(rq *request) error {
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
	data, err := h.readBody(rq)
	if err != nil {
		return err
	}
	r, err := ParseRetention(data)
	if err != nil {
		return err
	}
	id, err := h.objects.PutRetention(rq.ctx(), object.RetentionInput{Bucket: rq.bucket, Key: rq.key, VersionID: vid, Retention: r, Bypass: bypass})
	if err != nil {
		return deleteMarkerErr(rq, vid, err)
	}
	setVersionHeader(rq, id)
	return rq.writeStatus(http.StatusOK)
}

type legalHoldXML struct {
	XMLName xml.Name `xml:"LegalHold"`
	Status  string   `xml:"Status"`
}

// ParseLegalHold reads a LegalHold body.
func ParseLegalHold(data []byte) (bool, error) {
	var x legalHoldXML
	if err := xml.Unmarshal(data, &x); err != nil {
		return false, errMalformedXML
	}
	switch x.Status {
	case "ON":
		return true, nil
	case "OFF":
		return false, nil
	}
	return false, errMalformedXML
}

func (h *Handler) getObjectLegalHold(rq *request) error {
	vid, err := versionID(rq)
	if err != nil {
		return err
	}
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	on, err := h.objects.LegalHold(rq.ctx(), rq.bucket, rq.key, vid)
	if err != nil {
		return deleteMarkerErr(rq, vid, err)
	}
	return rq.writeXML(appendLegalHold(xmlHeader(), on))
}

func appendLegalHold(b []byte, on bool) []byte {
	b = append(b, `<LegalHold xmlns="`+xmlNS+`">`...)
	b = appendElem(b, "Status", legalHoldStatus(on))
	return append(b, "</LegalHold>"...)
}

func (h *Handler) putObjectLegalHold(rq *request) error {
	vid, err := versionID(rq)
	if err != nil {
		return err
	}
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	data, err := h.readBody(rq)
	if err != nil {
		return err
	}
	on, err := ParseLegalHold(data)
	if err != nil {
		return err
	}
	id, err := h.objects.PutLegalHold(rq.ctx(), rq.bucket, rq.key, vid, on)
	if err != nil {
		return deleteMarkerErr(rq, vid, err)
	}
	setVersionHeader(rq, id)
	return rq.writeStatus(http.StatusOK)
}

// readBody reads a configuration body of at most maxConfigXML bytes and
// checks it against the Content-MD5 or x-amz-checksum-* header the client
// sent. S3 requires one on the object-lock calls; a request with none is
// accepted, as for tagging and CORS.
func (h *Handler) readBody(rq *request) ([]byte, error) {
	body, err := rq.auth.Body(rq.r.Body)
	if err != nil {
		return nil, err
	}
	data, err := readLimited(body, maxConfigXML)
	if err != nil {
		return nil, err
	}
	if hasBodyDigest(rq.r.Header) {
		if err := verifyBodyDigest(rq.r.Header, data); err != nil {
			return nil, err
		}
	}
	return data, nil
}

// hasBodyDigest reports whether h carries Content-MD5 or a checksum header.
func hasBodyDigest(h http.Header) bool {
	if h.Get("Content-MD5") != "" {
		return true
	}
	for _, alg := range checksum.All {
		if h.Get(alg.Header()) != "" {
			return true
		}
	}
	return false
}
