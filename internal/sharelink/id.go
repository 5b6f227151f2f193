package sharelink

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// QueryParam names the query parameter that carries a link's id. It is part
// of the signed canonical query, so it cannot be removed or changed without
// breaking the signature.
const QueryParam = "X-Coffer-Share"

// idLen is the length of an id: 16 random bytes in lower-case hex, so ids
// cannot be guessed and need no escaping anywhere.
const idLen = 32

func newID() (string, error) {
	var b [idLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating share link id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// ValidID reports whether id has the form Create gives ids. Anything else
// is not a link, so the store is not asked about it.
func ValidID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// IDFromQuery finds QueryParam in a raw query string. It decodes the query
// exactly as internal/sigv4 does (pieces split on '&', keys and values
// percent-decoded, '+' kept literal), so that whatever spelling of the
// parameter the signature covered is found here too. found is false when
// the parameter is absent; a parameter given twice, or one that cannot be
// decoded, is an error wrapping ErrInvalid.
func IDFromQuery(rawQuery string) (id string, found bool, err error) {
	// Cheap exit for the common presigned URL without a link: an encoded
	// spelling still contains "Share" or an escape, so only those queries
	// are decoded.
	if !strings.Contains(rawQuery, "Share") && !strings.Contains(rawQuery, "%") {
		return "", false, nil
	}
	for rawQuery != "" {
		var piece string
		piece, rawQuery, _ = strings.Cut(rawQuery, "&")
		if piece == "" {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		dk, err := url.PathUnescape(k)
		if err != nil {
			return "", false, fmt.Errorf("decoding query key: %w", ErrInvalid)
		}
		if dk != QueryParam {
			continue
		}
		if found {
			return "", false, fmt.Errorf("%s given more than once: %w", QueryParam, ErrInvalid)
		}
		id, err = url.PathUnescape(v)
		if err != nil {
			return "", false, fmt.Errorf("decoding %s: %w", QueryParam, ErrInvalid)
		}
		found = true
	}
	return id, found, nil
}
