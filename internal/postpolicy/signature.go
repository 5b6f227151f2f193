package postpolicy

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors of signature verification.
var (
	// ErrNotSigned: the form carries no signature fields at all; S3 treats
	// it as an anonymous upload (allowed only into a publicly writable
	// bucket, and then a policy is not required).
	ErrNotSigned = errors.New("form is not signed")
	// ErrMalformedAuth: signature fields are missing, inconsistent or
	// unparseable, or the algorithm is not AWS4-HMAC-SHA256
	// (InvalidArgument / AuthorizationQueryParametersError).
	ErrMalformedAuth = errors.New("malformed form signature fields")
	// ErrUnknownAccessKey: the access key is not known (InvalidAccessKeyId).
	ErrUnknownAccessKey = errors.New("unknown access key")
	// ErrSignatureMismatch: the signature over the policy is wrong
	// (SignatureDoesNotMatch).
	ErrSignatureMismatch = errors.New("signature does not match")
)

const (
	v4Algorithm    = "AWS4-HMAC-SHA256"
	v4TimeFormat   = "20060102T150405Z"
	v4DateFormat   = "20060102"
	v4Terminator   = "aws4_request"
	v4Service      = "s3"
	maxFutureScope = 24 * time.Hour
)

// Credentials looks up secret keys. Implementations must be safe for
// concurrent use. SecretKey returns the secret for accessKey, or an error
// when it has none; VerifySignature reports any such error as
// ErrUnknownAccessKey, wrapping the original error too.
type Credentials interface {
	SecretKey(ctx context.Context, accessKey string) (string, error)
}

// VerifySignature checks the signature of a POST form over its policy field
// and returns the access key that signed it. fields are lower-cased form
// field names (Form.Fields).
//
// Signature Version 4 forms carry x-amz-algorithm (AWS4-HMAC-SHA256),
// x-amz-credential (key/yyyymmdd/region/s3/aws4_request), x-amz-date
// (yyyymmddThhmmssZ, same day as the credential) and x-amz-signature, the
// hex HMAC-SHA256 of the base64 policy text under the SigV4 signing key.
// Version 2 forms carry AWSAccessKeyId and signature, the base64
// HMAC-SHA1 of the policy text. A form with neither returns ErrNotSigned,
// unless it has a policy (ErrMalformedAuth).
//
// The validity of a signed form is bounded by its policy's expiration
// (Policy.Check); now only rejects a credential dated more than a day ahead,
// which no clock skew explains. Any region is accepted.
func VerifySignature(ctx context.Context, fields map[string]string, creds Credentials, now time.Time) (string, error) {
	has := func(k string) bool { _, ok := fields[k]; return ok }
	v4 := has("x-amz-algorithm") || has("x-amz-credential") || has("x-amz-signature")
	v2 := has("awsaccesskeyid") || has("signature")
	switch {
	case v4 && v2:
		return "", fmt.Errorf("verifying form: both signature version 2 and 4 fields: %w", ErrMalformedAuth)
	case v4:
		return verifyV4(ctx, fields, creds, now)
	case v2:
		return verifyV2(ctx, fields, creds)
	}
	if has("policy") {
		// S3 answers this with "Bucket POST must contain a field named
		// 'AWSAccessKeyId'": a policy nobody signed constrains nothing.
		return "", fmt.Errorf("verifying form: policy without signature fields: %w", ErrMalformedAuth)
	}
	return "", ErrNotSigned
}

func verifyV4(ctx context.Context, fields map[string]string, creds Credentials, now time.Time) (string, error) {
	if alg := fields["x-amz-algorithm"]; alg != v4Algorithm {
		return "", fmt.Errorf("verifying form: x-amz-algorithm %q is not %s: %w", alg, v4Algorithm, ErrMalformedAuth)
	}
	ak, date, region, err := parseCredential(fields["x-amz-credential"])
	if err != nil {
		return "", err
	}
	amzDate := fields["x-amz-date"]
	t, err := time.Parse(v4TimeFormat, amzDate)
	if err != nil {
		return "", fmt.Errorf("verifying form: x-amz-date %q: %w", amzDate, ErrMalformedAuth)
	}
	if amzDate[:8] != date {
		return "", fmt.Errorf("verifying form: credential date differs from x-amz-date: %w", ErrMalformedAuth)
	}
	if t.Sub(now) > maxFutureScope {
		return "", fmt.Errorf("verifying form: x-amz-date is in the future: %w", ErrMalformedAuth)
	}
	sigHex := fields["x-amz-signature"]
	sig, err := hex.DecodeString(sigHex)
	if err != nil || len(sig) != sha256.Size {
		return "", fmt.Errorf("verifying form: x-amz-signature is not 64 hex digits: %w", ErrMalformedAuth)
	}
	policy, err := policyField(fields)
	if err != nil {
		return "", err
	}
	secret, err := lookup(ctx, creds, ak)
	if err != nil {
		return "", err
	}
	key := signingKey(secret, date, region)
	if !hmac.Equal(hmacSHA256(key, policy), sig) {
		return "", fmt.Errorf("verifying form signature of access key %q: %w", ak, ErrSignatureMismatch)
	}
	return ak, nil
}

func verifyV2(ctx context.Context, fields map[string]string, creds Credentials) (string, error) {
	ak := fields["awsaccesskeyid"]
	if ak == "" {
		return "", fmt.Errorf("verifying form: empty AWSAccessKeyId: %w", ErrMalformedAuth)
	}
	sigText := fields["signature"]
	sig, err := base64.StdEncoding.Strict().DecodeString(sigText)
	if err != nil || len(sig) != sha1.Size || strings.ContainsAny(sigText, "\r\n") {
		return "", fmt.Errorf("verifying form: signature is not base64 of an HMAC-SHA1: %w", ErrMalformedAuth)
	}
	policy, err := policyField(fields)
	if err != nil {
		return "", err
	}
	secret, err := lookup(ctx, creds, ak)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(policy))
	if !hmac.Equal(mac.Sum(nil), sig) {
		return "", fmt.Errorf("verifying form signature of access key %q: %w", ak, ErrSignatureMismatch)
	}
	return ak, nil
}

func policyField(fields map[string]string) (string, error) {
	p := fields["policy"]
	if p == "" {
		return "", fmt.Errorf("verifying form: signed form without a policy: %w", ErrMalformedAuth)
	}
	return p, nil
}

// parseCredential splits "<key>/<yyyymmdd>/<region>/s3/aws4_request", taking
// the scope from the right so that the key is everything before it.
func parseCredential(s string) (ak, date, region string, err error) {
	parts := strings.Split(s, "/")
	n := len(parts)
	if n < 5 {
		return "", "", "", fmt.Errorf("verifying form: x-amz-credential: want key/date/region/s3/aws4_request: %w", ErrMalformedAuth)
	}
	ak, date, region = strings.Join(parts[:n-4], "/"), parts[n-4], parts[n-3]
	if _, perr := time.Parse(v4DateFormat, date); perr != nil || len(date) != 8 {
		return "", "", "", fmt.Errorf("verifying form: x-amz-credential: date: %w", ErrMalformedAuth)
	}
	if ak == "" || region == "" || parts[n-2] != v4Service || parts[n-1] != v4Terminator {
		return "", "", "", fmt.Errorf("verifying form: x-amz-credential: want key/date/region/s3/aws4_request: %w", ErrMalformedAuth)
	}
	return ak, date, region, nil
}

func lookup(ctx context.Context, creds Credentials, ak string) (string, error) {
	if creds == nil {
		return "", fmt.Errorf("looking up access key %q: no credentials configured: %w", ak, ErrUnknownAccessKey)
	}
	secret, err := creds.SecretKey(ctx, ak)
	if err != nil {
		if errors.Is(err, ErrUnknownAccessKey) {
			return "", fmt.Errorf("looking up access key %q: %w", ak, err)
		}
		return "", fmt.Errorf("looking up access key %q: %w: %w", ak, ErrUnknownAccessKey, err)
	}
	return secret, nil
}

// signingKey derives the SigV4 key for the s3 service:
// HMAC chain "AWS4"+secret -> date -> region -> "s3" -> "aws4_request".
func signingKey(secret, date, region string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, v4Service)
	return hmacSHA256(k, v4Terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
