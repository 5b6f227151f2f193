package s3api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/checksum"
	"github.com/cofferstore/coffer/internal/object"
)

// ParseRange parses a Range header. It reports ok=false for a header that
// is absent, syntactically invalid, or asks for several ranges: S3, like
// RFC 9110 allows, then serves the whole object. A well-formed range that
// misses the object is rejected later, against its size.
func ParseRange(h string) (r object.Range, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return r, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return r, false
	}
	if first == "" {
		n, err := parseDigits(last)
		if err != nil {
			return r, false
		}
		return object.Range{IsSuffix: true, Suffix: n}, true
	}
	f, err := parseDigits(first)
	if err != nil {
		return r, false
	}
	r = object.Range{First: f, Last: -1}
	if last != "" {
		l, err := parseDigits(last)
		if err != nil || l < f {
			return object.Range{}, false
		}
		r.Last = l
	}
	return r, true
}

// parseDigits accepts only ASCII digits (no sign, no spaces), as the Range
// grammar does; strconv alone would accept "+5".
func parseDigits(s string) (int64, error) {
	if s == "" || len(s) > 19 {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// parseConditions reads the conditional headers. Unparseable dates are
// ignored, as HTTP requires.
func parseConditions(h http.Header) object.Conditions {
	c := object.Conditions{IfMatch: h.Get("If-Match"), IfNoneMatch: h.Get("If-None-Match")}
	if v := h.Get("If-Modified-Since"); v != "" {
		c.IfModifiedSince, _ = http.ParseTime(v)
	}
	if v := h.Get("If-Unmodified-Since"); v != "" {
		c.IfUnmodifiedSince, _ = http.ParseTime(v)
	}
	return c
}

var validStorageClasses = map[string]bool{
	"STANDARD": true, "REDUCED_REDUNDANCY": true, "STANDARD_IA": true, "ONEZONE_IA": true,
	"INTELLIGENT_TIERING": true, "GLACIER": true, "DEEP_ARCHIVE": true, "GLACIER_IR": true, "OUTPOSTS": true,
}

// parseAttrs reads the stored attributes from a write request's headers.
func parseAttrs(h http.Header) (object.Attrs, error) {
	a := object.Attrs{
		ContentType:        h.Get("Content-Type"),
		ContentEncoding:    stripAWSChunked(h.Get("Content-Encoding")),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentLanguage:    h.Get("Content-Language"),
		CacheControl:       h.Get("Cache-Control"),
		Expires:            h.Get("Expires"),
	}
	if a.ContentType == "" {
		a.ContentType = "binary/octet-stream"
	}
	tags, err := object.ParseTaggingHeader(h.Get("X-Amz-Tagging"))
	if err != nil {
		return a, err
	}
	a.Tags = tags
	if err := parseLockHeaders(h, &a); err != nil {
		return a, err
	}
	if sc := h.Get("X-Amz-Storage-Class"); sc != "" {
		if !validStorageClasses[sc] {
			return a, errorf("InvalidStorageClass", http.StatusBadRequest, "The storage class you specified is not valid.")
		}
		if sc != "STANDARD" {
			a.StorageClass = sc
		}
	}
	for k, v := range h {
		if name, ok := strings.CutPrefix(k, "X-Amz-Meta-"); ok {
			if a.UserMeta == nil {
				a.UserMeta = make(map[string]string)
			}
			a.UserMeta[strings.ToLower(name)] = strings.Join(v, ",")
		}
	}
	return a, nil
}

// stripAWSChunked removes the transfer coding aws-chunked, which describes
// the request body, not the object.
func stripAWSChunked(ce string) string {
	if !strings.Contains(ce, "aws-chunked") {
		return ce
	}
	var keep []string
	for _, p := range strings.Split(ce, ",") {
		if p = strings.TrimSpace(p); p != "" && p != "aws-chunked" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ",")
}

// parseContentMD5 decodes Content-MD5; an undecodable value is InvalidDigest.
func parseContentMD5(h http.Header) ([]byte, error) {
	v, ok := h["Content-Md5"]
	if !ok {
		return nil, nil
	}
	sum, err := base64.StdEncoding.DecodeString(v[0])
	if err != nil || len(sum) != 16 {
		return nil, object.ErrInvalidDigest
	}
	return sum, nil
}

var errMultipleChecksums = errorf("InvalidRequest", http.StatusBadRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")

// parseChecksum finds the checksum the client sent or announced: a value
// header (x-amz-checksum-ALG), a trailer (x-amz-trailer), or only an
// algorithm (x-amz-sdk-checksum-algorithm) for us to compute and store.
// trailer is called after the body's end to fetch a trailing value.
func parseChecksum(h http.Header, trailer func(name string) string) (*object.ExpectedChecksum, error) {
	var found *object.ExpectedChecksum
	for _, alg := range checksum.All {
		if v, ok := h[http.CanonicalHeaderKey(alg.Header())]; ok {
			if found != nil {
				return nil, errMultipleChecksums
			}
			found = &object.ExpectedChecksum{Algorithm: alg, Value: v[0]}
		}
	}
	if t := h.Get("X-Amz-Trailer"); t != "" {
		alg, ok := checksum.FromHeader(strings.ToLower(strings.TrimSpace(t)))
		if !ok {
			return nil, errorf("InvalidRequest", http.StatusBadRequest, "The value specified in the x-amz-trailer header is not supported.")
		}
		if found != nil {
			return nil, errMultipleChecksums
		}
		name := alg.Header()
		found = &object.ExpectedChecksum{Algorithm: alg, Trailer: func() string { return trailer(name) }}
	}
	if v := h.Get("X-Amz-Sdk-Checksum-Algorithm"); v != "" {
		alg, err := checksum.Parse(v)
		if err != nil {
			return nil, errorf("InvalidRequest", http.StatusBadRequest, "Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
		if found == nil {
			found = &object.ExpectedChecksum{Algorithm: alg}
		} else if found.Algorithm != alg {
			return nil, errorf("InvalidRequest", http.StatusBadRequest, "Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
	}
	return found, nil
}

// httpDate formats t for Last-Modified and friends.
func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }
