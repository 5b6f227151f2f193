package sigv4

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// credential is the parsed Credential / X-Amz-Credential value.
type credential struct {
	accessKey, date, region string
}

func (c credential) scope() string {
	return c.date + "/" + c.region + "/" + service + "/" + scopeTerminator
}

// authorization is a parsed "AWS4-HMAC-SHA256 ..." Authorization header.
type authorization struct {
	cred          credential
	signedHeaders []string
	signature     [32]byte
}

// parseAuthorization parses the header form:
//
//	AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,
//	  SignedHeaders=host;x-amz-date, Signature=<64 hex>
//
// Components are comma separated with optional spaces, each exactly once.
func parseAuthorization(h string) (authorization, error) {
	var a authorization
	if len(h) > maxAuthorizationHeaderLength {
		return a, fmt.Errorf("parsing authorization header: too long: %w", ErrMalformedAuth)
	}
	alg, rest, ok := strings.Cut(h, " ")
	if alg != algorithm {
		if strings.HasPrefix(h, "AWS ") {
			return a, fmt.Errorf("parsing authorization header: signature version 2: %w", ErrUnsupportedAlgorithm)
		}
		if !ok || strings.HasPrefix(h, "AWS4-") {
			return a, fmt.Errorf("parsing authorization header: algorithm: %w", ErrUnsupportedAlgorithm)
		}
		return a, fmt.Errorf("parsing authorization header: unknown scheme: %w", ErrUnsupportedAlgorithm)
	}
	var haveCred, haveHeaders, haveSig bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return a, fmt.Errorf("parsing authorization header: component without '=': %w", ErrMalformedAuth)
		}
		var err error
		switch k {
		case "Credential":
			if haveCred {
				return a, fmt.Errorf("parsing authorization header: duplicate Credential: %w", ErrMalformedAuth)
			}
			haveCred = true
			a.cred, err = parseCredential(v)
		case "SignedHeaders":
			if haveHeaders {
				return a, fmt.Errorf("parsing authorization header: duplicate SignedHeaders: %w", ErrMalformedAuth)
			}
			haveHeaders = true
			a.signedHeaders, err = parseSignedHeaders(v)
		case "Signature":
			if haveSig {
				return a, fmt.Errorf("parsing authorization header: duplicate Signature: %w", ErrMalformedAuth)
			}
			haveSig = true
			a.signature, err = parseSignature(v)
		default:
			return a, fmt.Errorf("parsing authorization header: unknown component: %w", ErrMalformedAuth)
		}
		if err != nil {
			return a, fmt.Errorf("parsing authorization header: %w", err)
		}
	}
	if !haveCred || !haveHeaders || !haveSig {
		return a, fmt.Errorf("parsing authorization header: missing Credential, SignedHeaders or Signature: %w", ErrMalformedAuth)
	}
	return a, nil
}

// parseCredential parses "<access key>/<yyyymmdd>/<region>/s3/aws4_request".
// The scope is taken from the right so that the access key is everything
// before it.
func parseCredential(s string) (credential, error) {
	var c credential
	parts := strings.Split(s, "/")
	if len(parts) < 5 {
		return c, fmt.Errorf("parsing credential: want key/date/region/service/aws4_request: %w", ErrMalformedAuth)
	}
	n := len(parts)
	c.accessKey = strings.Join(parts[:n-4], "/")
	c.date, c.region = parts[n-4], parts[n-3]
	switch {
	case c.accessKey == "":
		return c, fmt.Errorf("parsing credential: empty access key: %w", ErrMalformedAuth)
	case len(c.date) != 8:
		return c, fmt.Errorf("parsing credential: date: %w", ErrMalformedAuth)
	case c.region == "":
		return c, fmt.Errorf("parsing credential: empty region: %w", ErrMalformedAuth)
	case parts[n-2] != service:
		return c, fmt.Errorf("parsing credential: service must be s3: %w", ErrMalformedAuth)
	case parts[n-1] != scopeTerminator:
		return c, fmt.Errorf("parsing credential: scope must end in aws4_request: %w", ErrMalformedAuth)
	}
	if _, err := time.Parse(dateFormat, c.date); err != nil {
		return c, fmt.Errorf("parsing credential: date: %w", ErrMalformedAuth)
	}
	return c, nil
}

// parseSignedHeaders parses "host;x-amz-date;...". Names must be lower-case
// header tokens, unique, and include host. The order is kept as sent: the
// signer built its canonical headers in that order.
func parseSignedHeaders(s string) ([]string, error) {
	if s == "" {
		return nil, fmt.Errorf("parsing signed headers: empty: %w", ErrMalformedAuth)
	}
	names := strings.Split(s, ";")
	host := false
	for i, n := range names {
		if !validLowerToken(n) {
			return nil, fmt.Errorf("parsing signed headers: invalid name: %w", ErrMalformedAuth)
		}
		for _, prev := range names[:i] {
			if prev == n {
				return nil, fmt.Errorf("parsing signed headers: duplicate name: %w", ErrMalformedAuth)
			}
		}
		host = host || n == "host"
	}
	if !host {
		return nil, fmt.Errorf("parsing signed headers: host must be signed: %w", ErrMalformedAuth)
	}
	return names, nil
}

// validLowerToken reports whether s is a non-empty RFC 9110 token without
// upper-case letters.
func validLowerToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func parseSignature(s string) ([32]byte, error) {
	var sig [32]byte
	if !isHex(s, 64) {
		return sig, fmt.Errorf("parsing signature: want 64 hex digits: %w", ErrMalformedAuth)
	}
	if _, err := hex.Decode(sig[:], []byte(s)); err != nil {
		return sig, fmt.Errorf("parsing signature: %w", ErrMalformedAuth)
	}
	return sig, nil
}

func (v *Verifier) checkRegion(region string) error {
	if v.Region != "" && region != v.Region {
		// Naming the expected region is what S3 does and reveals no secret.
		return fmt.Errorf("checking credential scope: region %q is wrong, expecting %q: %w", region, v.Region, ErrMalformedAuth)
	}
	return nil
}

// requestDate returns the string-to-sign timestamp and its time: x-amz-date,
// or the Date header when x-amz-date is absent.
func requestDate(r *http.Request) (string, time.Time, error) {
	if s := r.Header.Get("X-Amz-Date"); s != "" {
		t, err := time.Parse(timeFormat, s)
		if err != nil {
			return "", t, fmt.Errorf("parsing x-amz-date: %w", ErrMissingDate)
		}
		return s, t, nil
	}
	if s := r.Header.Get("Date"); s != "" {
		t, err := http.ParseTime(s)
		if err != nil {
			return "", t, fmt.Errorf("parsing date header: %w", ErrMissingDate)
		}
		t = t.UTC()
		return t.Format(timeFormat), t, nil
	}
	return "", time.Time{}, fmt.Errorf("reading request date: no x-amz-date or date header: %w", ErrMissingDate)
}

// secret looks up the secret for accessKey, keeping the contract that an
// unknown key is reported as ErrUnknownAccessKey.
func (v *Verifier) secret(r *http.Request, accessKey string) (string, error) {
	if v.Creds == nil {
		return "", fmt.Errorf("looking up access key: no credentials configured: %w", ErrUnknownAccessKey)
	}
	s, err := v.Creds.SecretKey(r.Context(), accessKey)
	if err != nil {
		if errors.Is(err, ErrUnknownAccessKey) {
			return "", fmt.Errorf("looking up access key %q: %w", accessKey, ErrUnknownAccessKey)
		}
		return "", fmt.Errorf("looking up access key %q: %w", accessKey, err)
	}
	return s, nil
}

func (v *Verifier) verifyHeader(r *http.Request, header string) (*Auth, error) {
	ah, err := parseAuthorization(header)
	if err != nil {
		return nil, err
	}
	if err := v.checkRegion(ah.cred.region); err != nil {
		return nil, err
	}
	amzDate, t, err := requestDate(r)
	if err != nil {
		return nil, err
	}
	if amzDate[:8] != ah.cred.date {
		return nil, fmt.Errorf("checking credential scope: date differs from x-amz-date: %w", ErrMalformedAuth)
	}
	if d := v.now().Sub(t); d > v.maxSkew() || -d > v.maxSkew() {
		return nil, fmt.Errorf("checking request time: off by %s: %w", d.Round(time.Second), ErrTimeSkewed)
	}
	auth := &Auth{
		AccessKey:     ah.cred.accessKey,
		Region:        ah.cred.region,
		Date:          t,
		SignedHeaders: ah.signedHeaders,
		SecurityToken: r.Header.Get("X-Amz-Security-Token"),
		amzDate:       amzDate,
		scope:         ah.cred.scope(),
	}
	if err := auth.setPayload(r, false, ""); err != nil {
		return nil, err
	}
	params, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("parsing query: %v: %w", err, ErrMalformedAuth)
	}
	secret, err := v.secret(r, ah.cred.accessKey)
	if err != nil {
		return nil, err
	}
	auth.signingKey = v.keys.get(secret, ah.cred.date, ah.cred.region)
	cr := canonicalRequest{
		method:        r.Method,
		path:          r.URL.Path,
		params:        params,
		signedHeaders: ah.signedHeaders,
		payloadHash:   auth.PayloadHash,
	}
	sig, ok := matchSignature(r, &cr, &auth.signingKey, amzDate, auth.scope, &ah.signature)
	if !ok {
		return nil, fmt.Errorf("verifying authorization header: %w", ErrSignatureMismatch)
	}
	auth.seedSig = hex.EncodeToString(sig[:])
	return auth, nil
}

// presignParam returns the single value of a presigned-URL parameter.
func presignParam(params []param, name string, required bool) (string, error) {
	val, found := "", false
	for _, p := range params {
		if p.key != name {
			continue
		}
		if found {
			return "", fmt.Errorf("parsing presigned query: duplicate %s: %w", name, ErrMalformedAuth)
		}
		val, found = p.value, true
	}
	if required && (!found || val == "") {
		return "", fmt.Errorf("parsing presigned query: missing %s: %w", name, ErrMalformedAuth)
	}
	return val, nil
}

func (v *Verifier) verifyPresigned(r *http.Request) (*Auth, error) {
	params, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("parsing presigned query: %v: %w", err, ErrMalformedAuth)
	}
	get := func(name string) string {
		if err != nil {
			return ""
		}
		var s string
		s, err = presignParam(params, name, true)
		return s
	}
	alg := get("X-Amz-Algorithm")
	if err == nil && alg != algorithm {
		return nil, fmt.Errorf("parsing presigned query: algorithm: %w", ErrUnsupportedAlgorithm)
	}
	credStr, amzDate, expiresStr := get("X-Amz-Credential"), get("X-Amz-Date"), get("X-Amz-Expires")
	headersStr, sigStr := get("X-Amz-SignedHeaders"), get("X-Amz-Signature")
	if err != nil {
		return nil, err
	}
	cred, err := parseCredential(credStr)
	if err != nil {
		return nil, fmt.Errorf("parsing presigned query: %w", err)
	}
	if err := v.checkRegion(cred.region); err != nil {
		return nil, err
	}
	t, err := time.Parse(timeFormat, amzDate)
	if err != nil {
		return nil, fmt.Errorf("parsing presigned query: X-Amz-Date: %w", ErrMalformedAuth)
	}
	if amzDate[:8] != cred.date {
		return nil, fmt.Errorf("checking credential scope: date differs from X-Amz-Date: %w", ErrMalformedAuth)
	}
	expires, err := strconv.ParseInt(expiresStr, 10, 64)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(expiresStr, "-"):
		return nil, fmt.Errorf("parsing presigned query: %w", ErrExpiresTooLarge)
	case err != nil || expires < 1:
		return nil, fmt.Errorf("parsing presigned query: X-Amz-Expires must be a positive integer: %w", ErrMalformedAuth)
	case expires > maxPresignExpires:
		return nil, fmt.Errorf("parsing presigned query: %w", ErrExpiresTooLarge)
	}
	signedHeaders, err := parseSignedHeaders(headersStr)
	if err != nil {
		return nil, fmt.Errorf("parsing presigned query: %w", err)
	}
	want, err := parseSignature(sigStr)
	if err != nil {
		return nil, fmt.Errorf("parsing presigned query: %w", err)
	}
	queryHash, err := presignParam(params, "X-Amz-Content-Sha256", false)
	if err != nil {
		return nil, err
	}
	token, err := presignParam(params, "X-Amz-Security-Token", false)
	if err != nil {
		return nil, err
	}

	now := v.now()
	expiry := t.Add(time.Duration(expires) * time.Second)
	if t.Sub(now) > v.maxSkew() {
		return nil, fmt.Errorf("checking presigned url: dated %s ahead: %w", t.Sub(now).Round(time.Second), ErrRequestNotYetValid)
	}
	if now.After(expiry) {
		return nil, fmt.Errorf("checking presigned url: expired at %s: %w", expiry.Format(time.RFC3339), ErrRequestExpired)
	}

	auth := &Auth{
		AccessKey:     cred.accessKey,
		Presigned:     true,
		Region:        cred.region,
		Date:          t,
		Expires:       expiry,
		SignedHeaders: signedHeaders,
		SecurityToken: token,
		amzDate:       amzDate,
		scope:         cred.scope(),
	}
	if err := auth.setPayload(r, true, queryHash); err != nil {
		return nil, err
	}
	secret, err := v.secret(r, cred.accessKey)
	if err != nil {
		return nil, err
	}
	auth.signingKey = v.keys.get(secret, cred.date, cred.region)
	cr := canonicalRequest{
		method:        r.Method,
		path:          r.URL.Path,
		params:        params,
		skipParam:     "X-Amz-Signature",
		signedHeaders: signedHeaders,
		payloadHash:   auth.PayloadHash,
	}
	sig, ok := matchSignature(r, &cr, &auth.signingKey, amzDate, auth.scope, &want)
	if !ok {
		return nil, fmt.Errorf("verifying presigned url: %w", ErrSignatureMismatch)
	}
	auth.seedSig = hex.EncodeToString(sig[:])
	return auth, nil
}
