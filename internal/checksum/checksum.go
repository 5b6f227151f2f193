// Package checksum implements the additional checksums of the S3 API
// (x-amz-checksum-*): naming, hashing, value validation and the CRC
// combination that full-object checksums of multipart uploads need.
package checksum

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"strings"

	"github.com/minio/crc64nvme"
)

// Algorithm names an S3 checksum algorithm. Its value is the name S3 uses in
// x-amz-checksum-algorithm and x-amz-sdk-checksum-algorithm. Only the
// constants below are valid; Parse turns untrusted names into one of them.
type Algorithm string

// The algorithms S3 supports.
const (
	CRC32     Algorithm = "CRC32"
	CRC32C    Algorithm = "CRC32C"
	CRC64NVME Algorithm = "CRC64NVME"
	SHA1      Algorithm = "SHA1"
	SHA256    Algorithm = "SHA256"
)

var (
	// ErrUnknownAlgorithm means a name or an Algorithm value is not one of
	// the supported algorithms.
	ErrUnknownAlgorithm = errors.New("unknown checksum algorithm")
	// ErrInvalidValue means a checksum value is not the standard base64
	// encoding of a digest of the algorithm's size.
	ErrInvalidValue = errors.New("invalid checksum value")
	// ErrNotCombinable means the algorithm has no combination function
	// (only the CRCs do).
	ErrNotCombinable = errors.New("checksum algorithm cannot be combined")
)

// All lists the supported algorithms.
var All = []Algorithm{CRC32, CRC32C, CRC64NVME, SHA1, SHA256}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Parse returns the algorithm named name, ignoring case.
func Parse(name string) (Algorithm, error) {
	for _, a := range All {
		if strings.EqualFold(name, string(a)) {
			return a, nil
		}
	}
	return "", fmt.Errorf("parsing %q: %w", name, ErrUnknownAlgorithm)
}

// Valid reports whether a is one of the supported algorithms.
func (a Algorithm) Valid() bool {
	return a.Size() > 0
}

// Size returns the digest size in bytes, or 0 for an unknown algorithm.
func (a Algorithm) Size() int {
	switch a {
	case CRC32, CRC32C:
		return 4
	case CRC64NVME:
		return 8
	case SHA1:
		return sha1.Size
	case SHA256:
		return sha256.Size
	}
	return 0
}

// New returns a fresh hash for a. Its Sum is the digest S3 encodes in the
// checksum header (big-endian for the CRCs). It panics for an unknown
// algorithm, which only a programming error can produce: untrusted names
// go through Parse.
func (a Algorithm) New() hash.Hash {
	switch a {
	case CRC32:
		return crc32.NewIEEE()
	case CRC32C:
		return crc32.New(castagnoli)
	case CRC64NVME:
		return crc64nvme.New()
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	}
	panic(fmt.Sprintf("checksum: New of unknown algorithm %q", string(a)))
}

// Header returns the lower-case name of the header that carries a's value,
// such as "x-amz-checksum-crc32", or "" for an unknown algorithm.
func (a Algorithm) Header() string {
	if !a.Valid() {
		return ""
	}
	return "x-amz-checksum-" + strings.ToLower(string(a))
}

const headerPrefix = "x-amz-checksum-"

// FromHeader returns the algorithm whose value header is h, ignoring case.
// It reports false for any other header, including x-amz-checksum-type and
// x-amz-checksum-algorithm.
func FromHeader(h string) (Algorithm, bool) {
	if len(h) <= len(headerPrefix) || !strings.EqualFold(h[:len(headerPrefix)], headerPrefix) {
		return "", false
	}
	a, err := Parse(h[len(headerPrefix):])
	if err != nil {
		return "", false
	}
	return a, true
}

// Encode returns the header form of a digest: standard base64 with padding.
func Encode(sum []byte) string {
	return base64.StdEncoding.EncodeToString(sum)
}

// Decode returns the digest in a header value. The value must be the
// canonical standard base64 encoding (padded, no line breaks, zero
// trailing bits) of exactly a.Size() bytes, so that two valid values are
// equal exactly when their digests are.
func (a Algorithm) Decode(b64 string) ([]byte, error) {
	size := a.Size()
	if size == 0 {
		return nil, fmt.Errorf("decoding checksum: %w", ErrUnknownAlgorithm)
	}
	// The length check also rules out the line breaks that the base64
	// decoder would otherwise skip.
	if len(b64) != base64.StdEncoding.EncodedLen(size) {
		return nil, fmt.Errorf("decoding %s checksum of length %d: %w", a, len(b64), ErrInvalidValue)
	}
	sum, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(sum) != size {
		return nil, fmt.Errorf("decoding %s checksum: %w", a, ErrInvalidValue)
	}
	return sum, nil
}

// Validate checks that b64 is a well-formed value for a (see Decode).
func (a Algorithm) Validate(b64 string) error {
	_, err := a.Decode(b64)
	return err
}
