package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// param is one decoded query parameter.
type param struct {
	key, value string
}

// hasRawQueryKey reports whether raw has a parameter whose undecoded key is
// exactly key. It is used only to pick the authentication form, so it must
// not depend on the query being well formed.
func hasRawQueryKey(raw, key string) bool {
	for raw != "" {
		var piece string
		piece, raw, _ = strings.Cut(raw, "&")
		k, _, _ := strings.Cut(piece, "=")
		if k == key {
			return true
		}
	}
	return false
}

// parseQuery splits a raw query into decoded parameters. Unlike
// url.ParseQuery it keeps '+' as a literal plus: SigV4 signers percent-encode
// spaces, so a '+' on the wire is a '+' the client signed. Empty pieces
// ("a&&b") carry nothing and are skipped; a piece without '=' has an empty
// value.
func parseQuery(raw string) ([]param, error) {
	if raw == "" {
		return nil, nil
	}
	params := make([]param, 0, strings.Count(raw, "&")+1)
	for raw != "" {
		var piece string
		piece, raw, _ = strings.Cut(raw, "&")
		if piece == "" {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		dk, err := url.PathUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("decoding query key: %w", err)
		}
		dv, err := url.PathUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("decoding query value: %w", err)
		}
		params = append(params, param{dk, dv})
	}
	return params, nil
}

const upperHex = "0123456789ABCDEF"

// unreserved reports the bytes SigV4 leaves unencoded (RFC 3986 unreserved).
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// appendEncoded percent-encodes s with SigV4's rule: every byte outside the
// unreserved set becomes %XX (upper-case hex); '/' is kept when keepSlash
// (S3 object paths are encoded once, segment separators intact).
func appendEncoded(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || c == '/' && keepSlash {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
	}
	return dst
}

// canonicalURI appends the canonical URI of a decoded request path. S3 signs
// the path encoded exactly once and never normalised: "a//b", "./" and "../"
// segments are signed as they are.
func appendCanonicalURI(dst []byte, path string) []byte {
	if path == "" {
		return append(dst, '/')
	}
	if path[0] != '/' {
		dst = append(dst, '/')
	}
	return appendEncoded(dst, path, true)
}

// appendCanonicalQuery appends the canonical query string: each key and value
// encoded, pairs sorted by encoded key then encoded value, joined by '&'.
// A parameter named skip (X-Amz-Signature for presigned URLs) is left out.
// With keepValueOrder, values of a repeated key keep their order on the wire
// (minio-go signs them that way; the AWS SDKs sort them).
func appendCanonicalQuery(dst []byte, params []param, skip string, keepValueOrder bool) []byte {
	if len(params) == 0 {
		return dst
	}
	type pair struct{ k, v string }
	pairs := make([]pair, 0, len(params))
	var scratch []byte
	for _, p := range params {
		if skip != "" && p.key == skip {
			continue
		}
		scratch = appendEncoded(scratch[:0], p.key, false)
		k := string(scratch)
		scratch = appendEncoded(scratch[:0], p.value, false)
		pairs = append(pairs, pair{k, string(scratch)})
	}
	slices.SortStableFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 || keepValueOrder {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	for i, p := range pairs {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, p.k...)
		dst = append(dst, '=')
		dst = append(dst, p.v...)
	}
	return dst
}

// headerValues returns the values of a signed header as the client sent
// them. net/http moves some headers out of r.Header on the server side, so
// those are rebuilt from the fields that hold them.
func headerValues(r *http.Request, name string) []string {
	switch name {
	case "host":
		if r.Host != "" {
			return []string{r.Host}
		}
		return []string{r.URL.Host}
	case "content-length":
		if v := r.Header.Values("Content-Length"); len(v) > 0 {
			return v
		}
		if r.ContentLength >= 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
		return nil
	case "transfer-encoding":
		if v := r.Header.Values("Transfer-Encoding"); len(v) > 0 {
			return v
		}
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
		return nil
	}
	if v := r.Header.Values(name); len(v) > 0 {
		return v
	}
	// A header map filled by hand may hold keys in non-canonical case.
	for k, v := range r.Header {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// appendTrimmed appends v without leading and trailing whitespace and with
// each inner run of spaces collapsed to one, as the AWS signers do (inner
// tabs are kept, as aws-sdk-go-v2 keeps them).
func appendTrimmed(dst []byte, v string) []byte {
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		dst = append(dst, v[i])
	}
	return dst
}

// canonicalRequest holds what the canonical request is built from.
type canonicalRequest struct {
	method        string
	path          string // decoded request path (r.URL.Path)
	params        []param
	skipParam     string
	signedHeaders []string
	payloadHash   string
	// keepValueOrder selects the minio-go variant of the query (see
	// appendCanonicalQuery); it only matters when a key repeats.
	keepValueOrder bool
}

// appendTo appends the canonical request:
//
//	method \n uri \n query \n (name:value\n)* \n signed;headers \n payloadhash
func (c *canonicalRequest) appendTo(dst []byte, r *http.Request) []byte {
	dst = append(dst, c.method...)
	dst = append(dst, '\n')
	dst = appendCanonicalURI(dst, c.path)
	dst = append(dst, '\n')
	dst = appendCanonicalQuery(dst, c.params, c.skipParam, c.keepValueOrder)
	dst = append(dst, '\n')
	for _, name := range c.signedHeaders {
		dst = append(dst, name...)
		dst = append(dst, ':')
		for i, v := range headerValues(r, name) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendTrimmed(dst, v)
		}
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	for i, name := range c.signedHeaders {
		if i > 0 {
			dst = append(dst, ';')
		}
		dst = append(dst, name...)
	}
	dst = append(dst, '\n')
	return append(dst, c.payloadHash...)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// requestSignature computes the SigV4 signature of the request described by c.
func requestSignature(r *http.Request, c *canonicalRequest, key *[32]byte, amzDate, scope string) [32]byte {
	bp := bufPool.Get().(*[]byte)
	buf := c.appendTo((*bp)[:0], r)
	crHash := sha256.Sum256(buf)

	buf = append(buf[:0], algorithm...)
	buf = append(buf, '\n')
	buf = append(buf, amzDate...)
	buf = append(buf, '\n')
	buf = append(buf, scope...)
	buf = append(buf, '\n')
	buf = hex.AppendEncode(buf, crHash[:])
	sig := hmacSum(key[:], buf)

	if cap(buf) <= 64<<10 {
		*bp = buf[:0]
		bufPool.Put(bp)
	}
	return sig
}

// repeatedKey reports whether some query key occurs more than once.
func repeatedKey(params []param) bool {
	for i := range params {
		for j := i + 1; j < len(params); j++ {
			if params[i].key == params[j].key {
				return true
			}
		}
	}
	return false
}

// matchSignature computes the signature of c and compares it in constant
// time with want; for a query with a repeated key it also accepts the
// minio-go ordering. It returns the matching signature.
func matchSignature(r *http.Request, c *canonicalRequest, key *[32]byte, amzDate, scope string, want *[32]byte) ([32]byte, bool) {
	sig := requestSignature(r, c, key, amzDate, scope)
	if hmac.Equal(sig[:], want[:]) {
		return sig, true
	}
	if len(c.params) < 2 || len(c.params) > 64 || !repeatedKey(c.params) {
		return sig, false
	}
	alt := *c
	alt.keepValueOrder = true
	sig = requestSignature(r, &alt, key, amzDate, scope)
	return sig, hmac.Equal(sig[:], want[:])
}

func hmacSum(key, data []byte) [32]byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// deriveSigningKey runs the SigV4 key derivation chain for the s3 service.
func deriveSigningKey(secret, date, region string) [32]byte {
	k := hmacSum([]byte("AWS4"+secret), []byte(date))
	k = hmacSum(k[:], []byte(region))
	k = hmacSum(k[:], []byte(service))
	return hmacSum(k[:], []byte(scopeTerminator))
}

// keyCacheMax bounds the signing-key cache; keys change once a day per
// (secret, region), so a few hundred entries cover a busy server.
const keyCacheMax = 1024

type keyCacheKey struct{ secret, date, region string }

// keyCache memoises derived signing keys: the derivation costs four HMACs,
// more than verifying a small request otherwise does.
type keyCache struct {
	mu sync.Mutex
	m  map[keyCacheKey][32]byte
}

func (c *keyCache) get(secret, date, region string) [32]byte {
	k := keyCacheKey{secret, date, region}
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return v
	}
	v = deriveSigningKey(secret, date, region)
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[keyCacheKey][32]byte)
	}
	if len(c.m) >= keyCacheMax {
		// Map iteration order is random: this evicts an arbitrary entry,
		// which is enough to keep the cache bounded.
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = v
	c.mu.Unlock()
	return v
}

// AppendEncoded appends s percent-encoded by SigV4's rule (every byte
// outside RFC 3986's unreserved set as %XX; '/' kept when keepSlash), for
// code that signs requests, such as share links, and must encode exactly
// as the verifier does.
func AppendEncoded(dst []byte, s string, keepSlash bool) []byte {
	return appendEncoded(dst, s, keepSlash)
}

// SigningKey derives the SigV4 signing key of the s3 service for a secret,
// a day (YYYYMMDD) and a region.
func SigningKey(secret, day, region string) [32]byte { return deriveSigningKey(secret, day, region) }
