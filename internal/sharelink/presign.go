package sharelink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/sigv4"
)

// internal/sigv4 only verifies; signing lives here so that the verifier
// stays the one piece trusted to judge signatures, and the tests check
// these URLs against it.
const (
	algorithm       = "AWS4-HMAC-SHA256"
	service         = "s3"
	scopeTerminator = "aws4_request"
	timeFormat      = "20060102T150405Z"
	dateFormat      = "20060102"
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// presignInput is what one presigned URL is made from.
type presignInput struct {
	method    string
	scheme    string // http or https
	host      string // host[:port] as the client will send it in Host
	bucket    string
	key       string
	accessKey string
	secret    string
	region    string
	date      time.Time // signing time, whole seconds, UTC
	expires   int64     // seconds
	extra     [][2]string
}

// presign returns a path-style presigned URL. The canonical request signs
// the key encoded exactly once with '/' kept, which is what the verifier
// rebuilds from the decoded path; the wire path may encode some '/' as %2F
// (see wirePath), which decodes to the same path.
func presign(in presignInput) string {
	amzDate := in.date.UTC().Format(timeFormat)
	day := amzDate[:8]
	scope := day + "/" + in.region + "/" + service + "/" + scopeTerminator

	params := [][2]string{
		{"X-Amz-Algorithm", algorithm},
		{"X-Amz-Credential", in.accessKey + "/" + scope},
		{"X-Amz-Date", amzDate},
		{"X-Amz-Expires", strconv.FormatInt(in.expires, 10)},
		{"X-Amz-SignedHeaders", "host"},
	}
	params = append(params, in.extra...)
	query := canonicalQuery(params)

	canonicalPath := "/" + in.bucket + "/" + string(sigv4.AppendEncoded(nil, in.key, true))
	var cr strings.Builder
	cr.WriteString(in.method)
	cr.WriteByte('\n')
	cr.WriteString(canonicalPath)
	cr.WriteByte('\n')
	cr.WriteString(query)
	cr.WriteString("\nhost:")
	cr.WriteString(in.host)
	cr.WriteString("\n\nhost\n")
	cr.WriteString(unsignedPayload)
	crHash := sha256.Sum256([]byte(cr.String()))

	sts := algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crHash[:])
	key := sigv4.SigningKey(in.secret, day, in.region)
	mac := hmac.New(sha256.New, key[:])
	mac.Write([]byte(sts))
	sig := mac.Sum(nil)

	return in.scheme + "://" + in.host + wirePath(in.bucket, in.key) + "?" + query +
		"&X-Amz-Signature=" + hex.EncodeToString(sig[:])
}

// canonicalQuery encodes each key and value with SigV4's rule and sorts the
// pairs by encoded key, then value. The result is also a valid query
// string for the URL itself.
func canonicalQuery(params [][2]string) string {
	enc := make([][2]string, len(params))
	for i, p := range params {
		enc[i] = [2]string{string(sigv4.AppendEncoded(nil, p[0], false)), string(sigv4.AppendEncoded(nil, p[1], false))}
	}
	slices.SortFunc(enc, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(p[1])
	}
	return b.String()
}

// wirePath is the path the URL carries. Browsers and curl remove "." and
// ".." segments before sending a URL (RFC 3986 section 5.2.4), which would
// turn the key "../x" into another object; so the '/' in front of a dot
// segment is sent as %2F, which glues the dot segment to the one before it.
// The server decodes %2F back to '/', so the decoded path, and the
// signature over it, are unchanged.
func wirePath(bucket, key string) string {
	b := make([]byte, 0, len(bucket)+len(key)*2+2)
	b = append(b, '/')
	b = sigv4.AppendEncoded(b, bucket, false)
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "." || seg == ".." {
			b = append(b, "%2F"...)
		} else {
			b = append(b, '/')
		}
		b = sigv4.AppendEncoded(b, seg, false)
	}
	return string(b)
}

// parseEndpoint accepts a bare scheme://host[:port] (an optional trailing
// '/'), and returns the host as clients send it in Host: without a default
// port, which browsers and SDKs drop before sending (and so before the
// server checks the signature).
func parseEndpoint(endpoint string) (scheme, host string, err error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", "", fmt.Errorf("endpoint: %w", ErrInvalid)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", fmt.Errorf("endpoint scheme must be http or https: %w", ErrInvalid)
	case u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return "", "", fmt.Errorf("endpoint must be scheme://host[:port]: %w", ErrInvalid)
	case u.Path != "" && u.Path != "/":
		return "", "", fmt.Errorf("endpoint must have no path (links are path-style): %w", ErrInvalid)
	}
	host = strings.ToLower(u.Host)
	if h, port, err := net.SplitHostPort(host); err == nil {
		if port == "" || u.Scheme == "http" && port == "80" || u.Scheme == "https" && port == "443" {
			host = h
			if strings.Contains(h, ":") {
				host = "[" + h + "]"
			}
		}
	}
	return u.Scheme, host, nil
}
