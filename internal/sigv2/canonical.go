package sigv2

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// subResources are the query parameters that V2 signs, in byte order (the
// order they appear in the string to sign). It is the AWS list (acl ...
// website, the response-* overrides, cors, delete, restore, tagging) plus the
// ones minio-go signs (encryption, legal-hold, replication, retention,
// select, select-type). A signer that leaves out one of these while sending
// it fails verification, as it would against S3; nothing outside the list is
// signed, so unlisted parameters never affect the signature.
var subResources = []string{
	"acl",
	"cors",
	"delete",
	"encryption",
	"legal-hold",
	"lifecycle",
	"location",
	"logging",
	"notification",
	"partNumber",
	"policy",
	"replication",
	"requestPayment",
	"response-cache-control",
	"response-content-disposition",
	"response-content-encoding",
	"response-content-language",
	"response-content-type",
	"response-expires",
	"restore",
	"retention",
	"select",
	"select-type",
	"tagging",
	"torrent",
	"uploadId",
	"uploads",
	"versionId",
	"versioning",
	"versions",
	"website",
}

// dateLayouts are the forms of Date / x-amz-date that V2 clients send:
// RFC 1123 with "GMT" (Go, minio-go), with a numeric zone (s3cmd, boto,
// the AWS examples), with a one-digit day, the obsolete HTTP forms, and
// the ISO 8601 basic form some clients put in x-amz-date.
var dateLayouts = []string{
	http.TimeFormat,
	time.RFC1123Z,
	time.RFC1123,
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	time.RFC850,
	time.ANSIC,
	"20060102T150405Z",
}

func isV2Header(h string) bool { return strings.HasPrefix(h, "AWS ") }

// parseAuthorization parses "AWS <access key>:<base64 HMAC-SHA1>". The
// signature is split at the last colon (base64 has none); the access key
// must be non-empty and free of whitespace and control characters.
func parseAuthorization(h string) (string, [sigLen]byte, error) {
	var sig [sigLen]byte
	if len(h) > maxAuthHeaderLength {
		return "", sig, fmt.Errorf("parsing authorization header: too long: %w", ErrMalformedAuth)
	}
	rest, ok := strings.CutPrefix(h, "AWS ")
	if !ok {
		return "", sig, fmt.Errorf("parsing authorization header: not the AWS scheme: %w", ErrMalformedAuth)
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return "", sig, fmt.Errorf("parsing authorization header: want AWS key:signature: %w", ErrMalformedAuth)
	}
	ak := rest[:i]
	for j := 0; j < len(ak); j++ {
		if ak[j] <= ' ' || ak[j] == 0x7f {
			return "", sig, fmt.Errorf("parsing authorization header: access key has whitespace or control characters: %w", ErrMalformedAuth)
		}
	}
	sig, err := decodeSignature(rest[i+1:])
	if err != nil {
		return "", sig, fmt.Errorf("parsing authorization header: %w", err)
	}
	return ak, sig, nil
}

// decodeSignature decodes the 28-character padded standard base64 of a
// 20-byte HMAC-SHA1. Strict decoding rejects non-canonical encodings, and the
// length check rejects the newlines the decoder would otherwise skip.
func decodeSignature(s string) ([sigLen]byte, error) {
	var sig [sigLen]byte
	if len(s) != base64.StdEncoding.EncodedLen(sigLen) {
		return sig, fmt.Errorf("decoding signature: want %d base64 characters: %w", base64.StdEncoding.EncodedLen(sigLen), ErrMalformedAuth)
	}
	// Decode wants room for DecodedLen bytes: 28 characters without
	// padding would decode to 21.
	var buf [(sigLen + 2) / 3 * 3]byte
	n, err := base64.StdEncoding.Strict().Decode(buf[:], []byte(s))
	if err != nil || n != sigLen {
		return sig, fmt.Errorf("decoding signature: not base64 of %d bytes: %w", sigLen, ErrMalformedAuth)
	}
	copy(sig[:], buf[:sigLen])
	return sig, nil
}

// requestDate returns the Date line of the string to sign and the request
// time. x-amz-date, when present, is the request time and the Date line is
// empty (x-amz-date is signed among the amz headers instead); otherwise the
// Date header is both, its text used as sent.
func requestDate(h http.Header) (string, time.Time, error) {
	if xs := h.Values("X-Amz-Date"); len(xs) > 0 {
		if len(xs) > 1 {
			return "", time.Time{}, fmt.Errorf("reading x-amz-date: more than one: %w", ErrMissingDate)
		}
		t, ok := parseHTTPDate(xs[0])
		if !ok {
			return "", time.Time{}, fmt.Errorf("parsing x-amz-date: %w", ErrMissingDate)
		}
		return "", t, nil
	}
	d := h.Get("Date")
	if d == "" {
		return "", time.Time{}, fmt.Errorf("reading request date: no date or x-amz-date header: %w", ErrMissingDate)
	}
	t, ok := parseHTTPDate(d)
	if !ok {
		return "", time.Time{}, fmt.Errorf("parsing date header: %w", ErrMissingDate)
	}
	return d, t, nil
}

func parseHTTPDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// stringToSign builds
//
//	Method \n Content-MD5 \n Content-Type \n dateLine \n
//	CanonicalizedAmzHeaders CanonicalizedResource
//
// where dateLine is the Date header (header form, "" when x-amz-date is
// present) or the Expires parameter (presigned form).
func stringToSign(r *http.Request, dateLine, vhostBucket string, query url.Values) ([]byte, error) {
	path := rawPath(r.URL)
	b := make([]byte, 0, 128+len(path)+len(vhostBucket))
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = append(b, r.Header.Get("Content-Md5")...)
	b = append(b, '\n')
	b = append(b, r.Header.Get("Content-Type")...)
	b = append(b, '\n')
	b = append(b, dateLine...)
	b = append(b, '\n')
	b = appendAmzHeaders(b, r.Header)
	if vhostBucket != "" {
		b = append(b, '/')
		b = append(b, vhostBucket...)
	}
	b = append(b, path...)
	return appendSubResources(b, query)
}

// rawPath is the request path as the client sent it, still escaped: V2 signs
// the URI "from the protocol name up to the query string" without
// re-encoding. net/url keeps the sent form in RawPath whenever it differs
// from the default encoding of Path, so RawPath or else EscapedPath is
// exactly what was on the wire.
func rawPath(u *url.URL) string {
	p := u.RawPath
	if p == "" {
		p = u.EscapedPath()
	}
	if p == "" {
		p = "/"
	}
	return p
}

// appendAmzHeaders appends "name:v1,v2\n" for every x-amz-* header, names
// lower-cased and sorted, values trimmed and joined in the order received.
// Header names that Go did not canonicalise (invalid tokens) may differ
// only in case; they merge into one lower-case name, in sorted key order so
// that the result never depends on map iteration.
func appendAmzHeaders(b []byte, h http.Header) []byte {
	var keys []string
	for k := range h {
		if len(k) > 6 && strings.EqualFold(k[:6], "x-amz-") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return b
	}
	slices.SortFunc(keys, func(x, y string) int {
		if c := strings.Compare(strings.ToLower(x), strings.ToLower(y)); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	prev := ""
	for _, k := range keys {
		name := strings.ToLower(k)
		if name == prev {
			b = append(b, ',')
		} else {
			if prev != "" {
				b = append(b, '\n')
			}
			b = append(b, name...)
			b = append(b, ':')
		}
		for i, v := range h[k] {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, strings.Trim(v, " \t")...)
		}
		prev = name
	}
	return append(b, '\n')
}

// appendSubResources appends "?a&b=v..." for the signed sub-resources present
// in the query, values decoded. A sub-resource given twice is rejected: which
// value the handler would act on is not something the signature can bind.
func appendSubResources(b []byte, query url.Values) ([]byte, error) {
	sep := byte('?')
	for _, name := range subResources {
		vs, ok := query[name]
		if !ok {
			continue
		}
		if len(vs) > 1 {
			return nil, fmt.Errorf("building string to sign: repeated %s parameter: %w", name, ErrMalformedAuth)
		}
		b = append(b, sep)
		sep = '&'
		b = append(b, name...)
		if vs[0] != "" {
			b = append(b, '=')
			b = append(b, vs[0]...)
		}
	}
	return b, nil
}
