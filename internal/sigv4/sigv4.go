// Package sigv4 verifies AWS Signature Version 4 on incoming S3 requests: the
// Authorization header form, presigned URLs (query form), and the payload
// forms that ride on them (hex SHA-256, UNSIGNED-PAYLOAD, and the three
// aws-chunked streaming forms with their chunk and trailer signatures).
//
// The package is pure: it imports only the standard library, never logs, and
// never puts a secret key into an error. Every failure wraps exactly one of
// the exported sentinel errors so that the S3 layer can map it to one S3
// error code with errors.Is.
package sigv4

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors. Each failure returned by this package wraps exactly one of
// them (ErrRequestNotYetValid additionally wraps ErrRequestExpired).
var (
	// ErrUnknownAccessKey: the access key is not known (InvalidAccessKeyId).
	ErrUnknownAccessKey = errors.New("unknown access key")
	// ErrSignatureMismatch: the request signature is wrong (SignatureDoesNotMatch).
	ErrSignatureMismatch = errors.New("signature does not match")
	// ErrMalformedAuth: the Authorization header or the presigned query
	// parameters cannot be parsed or are inconsistent
	// (AuthorizationHeaderMalformed / AuthorizationQueryParametersError).
	ErrMalformedAuth = errors.New("malformed authorization")
	// ErrUnsupportedAlgorithm: an algorithm other than AWS4-HMAC-SHA256,
	// including signature version 2.
	ErrUnsupportedAlgorithm = errors.New("unsupported signature algorithm")
	// ErrMissingDate: no usable x-amz-date / Date (AccessDenied).
	ErrMissingDate = errors.New("missing or invalid request date")
	// ErrRequestExpired: a presigned URL used after its expiry (AccessDenied).
	ErrRequestExpired = errors.New("request has expired")
	// ErrRequestNotYetValid: a presigned URL dated further in the future than
	// the allowed clock skew. It wraps ErrRequestExpired, so a caller that
	// only knows ErrRequestExpired maps it to AccessDenied as well.
	ErrRequestNotYetValid = fmt.Errorf("request is not valid yet: %w", ErrRequestExpired)
	// ErrExpiresTooLarge: X-Amz-Expires above seven days.
	ErrExpiresTooLarge = errors.New("X-Amz-Expires must be less than a week (604800 seconds)")
	// ErrTimeSkewed: header-signed request whose date is too far from now
	// (RequestTimeTooSkewed).
	ErrTimeSkewed = errors.New("request time too skewed")
	// ErrInvalidContentSHA256: x-amz-content-sha256 is neither 64 hex digits
	// nor a known keyword (InvalidArgument).
	ErrInvalidContentSHA256 = errors.New("invalid x-amz-content-sha256")
	// ErrContentSHA256Mismatch: the body does not hash to the declared
	// x-amz-content-sha256 (XAmzContentSHA256Mismatch).
	ErrContentSHA256Mismatch = errors.New("x-amz-content-sha256 does not match the body")
	// ErrChunkSignatureMismatch: an aws-chunked chunk or trailer signature is
	// wrong (SignatureDoesNotMatch).
	ErrChunkSignatureMismatch = errors.New("chunk signature does not match")
	// ErrMalformedChunk: the aws-chunked framing is invalid: bad chunk header,
	// oversized chunk, size that lies, premature end, trailing garbage, bad or
	// undeclared trailer (IncompleteBody / InvalidRequest).
	ErrMalformedChunk = errors.New("malformed aws-chunked body")
	// ErrIncompleteBody: a well-formed aws-chunked body that decodes to fewer
	// bytes than x-amz-decoded-content-length (IncompleteBody).
	ErrIncompleteBody = errors.New("body shorter than x-amz-decoded-content-length")
)

// Payload hash keywords accepted in x-amz-content-sha256.
const (
	UnsignedPayload              = "UNSIGNED-PAYLOAD"
	StreamingPayload             = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingPayloadTrailer      = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedTrailer     = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	emptySHA256                  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	algorithm                    = "AWS4-HMAC-SHA256"
	service                      = "s3"
	scopeTerminator              = "aws4_request"
	timeFormat                   = "20060102T150405Z"
	dateFormat                   = "20060102"
	defaultMaxSkew               = 15 * time.Minute
	maxPresignExpires            = 7 * 24 * 60 * 60
	maxAuthorizationHeaderLength = 16 << 10
)

// Credentials looks up secret keys. Implementations must be safe for
// concurrent use. SecretKey returns the secret for accessKey, or an error
// wrapping ErrUnknownAccessKey when the key does not exist (any other error is
// passed through to the caller of Verify as an internal failure).
type Credentials interface {
	SecretKey(ctx context.Context, accessKey string) (string, error)
}

// Verifier authenticates requests signed with AWS Signature Version 4 for the
// "s3" service. The exported fields are configuration and must not change
// once Verify has been called; Verify is safe for concurrent use. A Verifier
// must not be copied after first use (it holds a signing-key cache).
type Verifier struct {
	// Creds resolves access keys to secrets. Required.
	Creds Credentials
	// Region is the only region accepted in the credential scope; "" accepts
	// any region.
	Region string
	// MaxSkew bounds |now - x-amz-date| for header-signed requests and how far
	// in the future a presigned URL may be dated. Zero means 15 minutes.
	MaxSkew time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	keys keyCache
}

// Auth is the outcome of a successful Verify. It also carries the signing
// state needed to verify an aws-chunked body (see Body).
type Auth struct {
	// AccessKey is the verified access key; empty when Anonymous.
	AccessKey string
	// Anonymous is true when the request carried no SigV4 authentication.
	Anonymous bool
	// Presigned is true for the query (presigned URL) form.
	Presigned bool
	// Region is the region of the credential scope.
	Region string
	// Date is the signing time (x-amz-date or X-Amz-Date).
	Date time.Time
	// Expires is when a presigned URL stops being valid; zero otherwise.
	Expires time.Time
	// PayloadHash is the payload hash the signature covers, as sent: 64 hex
	// digits, UNSIGNED-PAYLOAD or one of the STREAMING-* keywords. It is the
	// SHA-256 of the empty string when a header-signed request omitted
	// x-amz-content-sha256 (that is what such signers sign), and
	// UNSIGNED-PAYLOAD when a presigned or anonymous request gave no hash.
	PayloadHash string
	// SignedHeaders lists the lower-case header names covered by the signature.
	SignedHeaders []string
	// SecurityToken is X-Amz-Security-Token as sent, if any; the package does
	// not interpret it.
	SecurityToken string

	// Streaming state, set only for authenticated requests.
	signingKey [32]byte
	seedSig    string // hex signature of the request, first link of the chunk chain
	amzDate    string // the timestamp string used in string-to-sign
	scope      string // date/region/s3/aws4_request

	decodedLength string   // x-amz-decoded-content-length as sent
	trailerNames  []string // lower-cased names declared in x-amz-trailer
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

// Verify authenticates r: the header form ("Authorization: AWS4-HMAC-SHA256
// ...") or the presigned query form (X-Amz-Algorithm=...). A request with
// neither returns an anonymous Auth and no error. Verify reads neither the
// body nor anything but the URL, Host, headers, ContentLength and
// TransferEncoding of r; the body is verified by reading Auth.Body.
// Errors wrap one of the package sentinels, or are the Credentials error
// when it is not ErrUnknownAccessKey.
func (v *Verifier) Verify(r *http.Request) (*Auth, error) {
	authz := r.Header.Values("Authorization")
	presigned := hasRawQueryKey(r.URL.RawQuery, "X-Amz-Algorithm")
	switch {
	case len(authz) > 1:
		return nil, fmt.Errorf("parsing authorization header: more than one: %w", ErrMalformedAuth)
	case len(authz) == 1 && presigned:
		return nil, fmt.Errorf("parsing request: both authorization header and presigned query: %w", ErrMalformedAuth)
	case len(authz) == 1:
		return v.verifyHeader(r, authz[0])
	case presigned:
		return v.verifyPresigned(r)
	}
	if hasRawQueryKey(r.URL.RawQuery, "AWSAccessKeyId") {
		return nil, fmt.Errorf("parsing presigned query: signature version 2: %w", ErrUnsupportedAlgorithm)
	}
	auth := &Auth{Anonymous: true}
	if err := auth.setPayload(r, true, ""); err != nil {
		return nil, err
	}
	switch auth.PayloadHash {
	case StreamingPayload, StreamingPayloadTrailer:
		return nil, fmt.Errorf("checking payload: signed streaming payload without a signature: %w", ErrMalformedAuth)
	}
	return auth, nil
}

// setPayload records the payload hash and the aws-chunked headers of r.
// unsignedDefault is set for presigned and anonymous requests, whose payload
// is UNSIGNED-PAYLOAD unless a hash is given; queryHash is
// X-Amz-Content-Sha256 from the query of a presigned request.
func (a *Auth) setPayload(r *http.Request, unsignedDefault bool, queryHash string) error {
	h := ""
	if unsignedDefault {
		// Presigned URLs normally carry UNSIGNED-PAYLOAD; a signer may instead
		// put a hash in the query or (minio-go) in the header. An anonymous
		// request that sends a hash still has its body checked against it.
		h = queryHash
		if h == "" {
			h = r.Header.Get("X-Amz-Content-Sha256")
		}
		if h == "" {
			h = UnsignedPayload
		}
	} else {
		h = r.Header.Get("X-Amz-Content-Sha256")
		if h == "" {
			// Signers that omit the header sign the hash of an empty body;
			// Body then enforces that the body is indeed empty.
			h = emptySHA256
		}
	}
	if !validPayloadHash(h) {
		return fmt.Errorf("checking x-amz-content-sha256: %w", ErrInvalidContentSHA256)
	}
	a.PayloadHash = h
	a.decodedLength = r.Header.Get("X-Amz-Decoded-Content-Length")
	for _, v := range r.Header.Values("X-Amz-Trailer") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				a.trailerNames = append(a.trailerNames, name)
			}
		}
	}
	return nil
}

func validPayloadHash(h string) bool {
	switch h {
	case UnsignedPayload, StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer:
		return true
	}
	return isHex(h, 64)
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
