// Package sigv2 verifies AWS Signature Version 2 on incoming S3 requests, for
// older clients (s3cmd --signature-v2, boto 2, old SDKs, minio-go with V2
// credentials): the "Authorization: AWS AKID:signature" header form and the
// presigned query form (AWSAccessKeyId, Expires, Signature).
//
// The package is pure: it imports only the standard library, never logs, and
// never puts a secret key into an error. Every failure wraps one of the
// exported sentinel errors so that the S3 layer can map it to one S3 error
// code with errors.Is.
package sigv2

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Sentinel errors. Each failure returned by Verify wraps exactly one of them,
// except that ErrUnknownAccessKey also wraps the Credentials error.
var (
	// ErrNotV2: the request carries no Signature Version 2 authentication;
	// the caller tries SigV4 or treats the request as anonymous.
	ErrNotV2 = errors.New("not signed with signature version 2")
	// ErrUnknownAccessKey: the access key is not known (InvalidAccessKeyId).
	ErrUnknownAccessKey = errors.New("unknown access key")
	// ErrSignatureMismatch: the signature is wrong (SignatureDoesNotMatch).
	ErrSignatureMismatch = errors.New("signature does not match")
	// ErrMalformedAuth: the Authorization header or the presigned query
	// cannot be parsed, or both forms are present (InvalidArgument /
	// AuthorizationHeaderMalformed).
	ErrMalformedAuth = errors.New("malformed authorization")
	// ErrMissingDate: a header-signed request without a usable Date or
	// x-amz-date (AccessDenied).
	ErrMissingDate = errors.New("missing or invalid request date")
	// ErrTimeSkewed: the request date is further than MaxSkew from now
	// (RequestTimeTooSkewed).
	ErrTimeSkewed = errors.New("request time too skewed")
	// ErrRequestExpired: a presigned URL used after its Expires
	// (AccessDenied).
	ErrRequestExpired = errors.New("request has expired")
)

const (
	defaultMaxSkew      = 15 * time.Minute
	maxAuthHeaderLength = 4 << 10
	sigLen              = sha1.Size
)

// Credentials looks up secret keys. Implementations must be safe for
// concurrent use. SecretKey returns the secret for accessKey, or an error
// when it has none; Verify reports any such error as ErrUnknownAccessKey
// (wrapping the original error too, so a caller can still recognise an
// internal failure by its own sentinel).
type Credentials interface {
	SecretKey(ctx context.Context, accessKey string) (string, error)
}

// Verifier authenticates requests signed with Signature Version 2. The
// exported fields are configuration and must not change once Verify has been
// called; Verify is safe for concurrent use.
type Verifier struct {
	// Creds resolves access keys to secrets. Required.
	Creds Credentials
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds |now - request date| for header-signed requests. Zero
	// means 15 minutes.
	MaxSkew time.Duration
}

// Auth is the outcome of a successful Verify.
type Auth struct {
	// AccessKey is the verified access key.
	AccessKey string
	// Presigned is true for the query (presigned URL) form.
	Presigned bool
	// Expires is when a presigned URL stops being valid; zero otherwise.
	Expires time.Time
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return defaultMaxSkew
}

// Verify authenticates r. vhostBucket is the bucket named by the Host of a
// virtual-hosted-style request ("" for path-style): V2 signs the resource as
// "/bucket/key" in both styles, so the caller, which knows its domains, says
// which bucket the host addressed.
//
// A request with neither a V2 Authorization header nor AWSAccessKeyId /
// Signature query parameters returns (nil, ErrNotV2). Verify reads only the
// method, URL, and headers of r, never the body: V2 does not sign the body
// (beyond Content-MD5, which the caller checks against the body).
func (v *Verifier) Verify(r *http.Request, vhostBucket string) (*Auth, error) {
	authz := r.Header.Values("Authorization")
	header := false
	for _, h := range authz {
		if isV2Header(h) {
			header = true
		}
	}
	query, qerr := url.ParseQuery(r.URL.RawQuery)
	presigned := query.Has("AWSAccessKeyId") || query.Has("Signature")
	if !header && !presigned {
		return nil, ErrNotV2
	}
	if qerr != nil {
		return nil, fmt.Errorf("parsing query: %v: %w", qerr, ErrMalformedAuth)
	}
	switch {
	case len(authz) > 1:
		return nil, fmt.Errorf("parsing authorization header: more than one: %w", ErrMalformedAuth)
	case presigned && len(authz) > 0:
		return nil, fmt.Errorf("parsing request: both authorization header and presigned query: %w", ErrMalformedAuth)
	case query.Has("X-Amz-Algorithm") || query.Has("X-Amz-Signature"):
		return nil, fmt.Errorf("parsing request: signature version 2 mixed with version 4 query: %w", ErrMalformedAuth)
	case header:
		return v.verifyHeader(r, authz[0], vhostBucket, query)
	default:
		return v.verifyPresigned(r, vhostBucket, query)
	}
}

func (v *Verifier) verifyHeader(r *http.Request, h, vhostBucket string, query url.Values) (*Auth, error) {
	accessKey, sig, err := parseAuthorization(h)
	if err != nil {
		return nil, err
	}
	date, t, err := requestDate(r.Header)
	if err != nil {
		return nil, err
	}
	if d := v.now().Sub(t); d > v.maxSkew() || -d > v.maxSkew() {
		return nil, fmt.Errorf("checking request time: off by %s: %w", d.Round(time.Second), ErrTimeSkewed)
	}
	sts, err := stringToSign(r, date, vhostBucket, query)
	if err != nil {
		return nil, err
	}
	if err := v.check(r.Context(), accessKey, sts, sig); err != nil {
		return nil, err
	}
	return &Auth{AccessKey: accessKey}, nil
}

func (v *Verifier) verifyPresigned(r *http.Request, vhostBucket string, query url.Values) (*Auth, error) {
	accessKey, err := single(query, "AWSAccessKeyId")
	if err != nil {
		return nil, err
	}
	if accessKey == "" {
		return nil, fmt.Errorf("parsing presigned query: empty AWSAccessKeyId: %w", ErrMalformedAuth)
	}
	expires, err := single(query, "Expires")
	if err != nil {
		return nil, err
	}
	sigText, err := single(query, "Signature")
	if err != nil {
		return nil, err
	}
	// Some signers leave '+' unescaped in the query, which form decoding
	// turns into a space; base64 has no spaces, so mapping them back is
	// unambiguous.
	sig, err := decodeSignature(spaceToPlus(sigText))
	if err != nil {
		return nil, fmt.Errorf("parsing presigned query: %w", err)
	}
	exp, err := parseExpires(expires)
	if err != nil {
		return nil, err
	}
	if v.now().Unix() > exp {
		return nil, fmt.Errorf("checking presigned URL: expired at %s: %w", time.Unix(exp, 0).UTC().Format(time.RFC3339), ErrRequestExpired)
	}
	sts, err := stringToSign(r, expires, vhostBucket, query)
	if err != nil {
		return nil, err
	}
	if err := v.check(r.Context(), accessKey, sts, sig); err != nil {
		return nil, err
	}
	return &Auth{AccessKey: accessKey, Presigned: true, Expires: time.Unix(exp, 0).UTC()}, nil
}

// check looks up the secret and compares HMAC-SHA1(secret, sts) with sig in
// constant time.
func (v *Verifier) check(ctx context.Context, accessKey string, sts []byte, sig [sigLen]byte) error {
	if v.Creds == nil {
		return fmt.Errorf("looking up access key %q: no credentials configured: %w", accessKey, ErrUnknownAccessKey)
	}
	secret, err := v.Creds.SecretKey(ctx, accessKey)
	if err != nil {
		if errors.Is(err, ErrUnknownAccessKey) {
			return fmt.Errorf("looking up access key %q: %w", accessKey, err)
		}
		return fmt.Errorf("looking up access key %q: %w: %w", accessKey, ErrUnknownAccessKey, err)
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(sts)
	if !hmac.Equal(mac.Sum(nil), sig[:]) {
		return fmt.Errorf("verifying signature of access key %q: %w", accessKey, ErrSignatureMismatch)
	}
	return nil
}

// single returns the one value of a required presigned query parameter.
func single(q url.Values, name string) (string, error) {
	vs := q[name]
	switch len(vs) {
	case 0:
		return "", fmt.Errorf("parsing presigned query: missing %s: %w", name, ErrMalformedAuth)
	case 1:
		return vs[0], nil
	}
	return "", fmt.Errorf("parsing presigned query: repeated %s: %w", name, ErrMalformedAuth)
}

// parseExpires parses Expires: decimal seconds since the epoch, digits only
// (strconv would also take a sign).
func parseExpires(s string) (int64, error) {
	if s == "" || len(s) > 18 {
		return 0, fmt.Errorf("parsing presigned query: Expires: %w", ErrMalformedAuth)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("parsing presigned query: Expires: %w", ErrMalformedAuth)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing presigned query: Expires: %w", ErrMalformedAuth)
	}
	return n, nil
}

func spaceToPlus(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == ' ' {
			b[i] = '+'
		}
	}
	return string(b)
}
