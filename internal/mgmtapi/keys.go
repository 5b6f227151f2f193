package mgmtapi

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cofferstore/coffer/internal/object"
)

// Object keys travel in URL paths Base64url-encoded (RFC 4648 §5), as S4
// documents: a key may hold "/", "//", "..", spaces or "%", all of which a
// router or proxy would clean, split or decode on the way.

// maxEncodedKey bounds the work spent on a path segment before the key's
// own length limit is checked: 4/3 of the longest key, plus padding.
const maxEncodedKey = (object.MaxKeyLen+2)/3*4 + 4

// decodeKey decodes an encoded key or prefix. It accepts Base64url with or
// without padding and, because hand-written clients use btoa() without the
// URL-safe substitution, standard base64 too (but not a mix of both
// alphabets). The result is non-empty valid UTF-8; anything else wraps
// object.ErrInvalidKey (400 InvalidKey).
func decodeKey(s string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("encoded key %q: %s: %w", objClip(s, 64), why, object.ErrInvalidKey)
	}
	if s == "" {
		return bad("empty")
	}
	if len(s) > maxEncodedKey {
		return "", fmt.Errorf("encoded key of %d characters: %w", len(s), object.ErrKeyTooLong)
	}
	body := strings.TrimRight(s, "=")
	if pad := len(s) - len(body); pad > 0 && (pad > 2 || len(s)%4 != 0) {
		return bad("wrong padding")
	}
	urlSafe := strings.ContainsAny(body, "-_")
	std := strings.ContainsAny(body, "+/")
	if urlSafe && std {
		return bad("mixes the base64 and base64url alphabets")
	}
	enc := base64.RawURLEncoding
	if std {
		enc = base64.RawStdEncoding
	}
	raw, err := enc.DecodeString(body)
	if err != nil {
		return bad("not base64url")
	}
	if len(raw) == 0 {
		return bad("empty")
	}
	if !utf8.Valid(raw) {
		return bad("not UTF-8")
	}
	return string(raw), nil
}

// encodeKey is decodeKey's inverse in its canonical form (unpadded
// Base64url), for URLs the API hands out.
func encodeKey(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

// objClip shortens s for an error message.
func objClip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
