package mgmtapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cofferstore/coffer/internal/object"
)

func TestDecodeKey(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"bW9kZWxzL2xsYW1hLTItN2IvY29uZmlnLmpzb24", "models/llama-2-7b/config.json", nil},
		{"YQ", "a", nil},
		{"YQ==", "a", nil},
		{"Pz8_", "??" + "?", nil},
		{"Pz8/", "??" + "?", nil},
		{"w7w-", "ü>", nil},
		{"w7w+", "ü>", nil},
		{"", "", object.ErrInvalidKey},
		{"YQ=", "", object.ErrInvalidKey},
		{"YQ===", "", object.ErrInvalidKey},
		{"Pz8_Pz8/", "", object.ErrInvalidKey}, // mixed alphabets
		{"!!!!", "", object.ErrInvalidKey},
		{"__8", "", object.ErrInvalidKey}, // not UTF-8
		{strings.Repeat("A", maxEncodedKey+1), "", object.ErrKeyTooLong},
	} {
		got, err := decodeKey(tc.in)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("decodeKey(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzDecodeKey(f *testing.F) {
	for _, s := range []string{"YQ", "YQ==", "Pz8_", "Pz8/", "a//b", "../x", "ünï", "", "=", "====", "-_+/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := decodeKey(s)
		if err != nil {
			if !errors.Is(err, object.ErrInvalidKey) && !errors.Is(err, object.ErrKeyTooLong) {
				t.Fatalf("decodeKey(%q): error %v wraps neither sentinel", s, err)
			}
		} else if got == "" || !utf8.ValidString(got) {
			t.Fatalf("decodeKey(%q) = %q", s, got)
		}
		// Every encoding of a key decodes back to it.
		if s == "" || !utf8.ValidString(s) || len(s) > object.MaxKeyLen {
			return
		}
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
			e := enc.EncodeToString([]byte(s))
			if back, err := decodeKey(e); err != nil || back != s {
				t.Fatalf("decodeKey(%q) = %q, %v; want %q", e, back, err, s)
			}
		}
		if encodeKey(s) != base64.RawURLEncoding.EncodeToString([]byte(s)) {
			t.Fatal("encodeKey is not unpadded base64url")
		}
	})
}

func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{
		"", "q=conf&mode=startsWith", "q=%C3%A9t%C3%A9&mode=contains&autoBroaden=true&scanPages=3",
		"prefix=a/&delimiter=&maxKeys=2001", "maxKeys=0", "continuationToken=YQ", "q=a&scanPages=99", "mode=x&q=k",
	} {
		f.Add(s, "", "data/file-0001.txt")
	}
	f.Add("q=K", "YQ", "Kelvin \u212a")
	f.Fuzz(func(t *testing.T, raw, encodedPrefix, key string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseListQuery(v, encodedPrefix)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) && !errors.Is(err, object.ErrInvalidKey) && !errors.Is(err, object.ErrKeyTooLong) {
				t.Fatalf("parseListQuery: unmapped error %v", err)
			}
			return
		}
		if q.maxKeys < 1 || q.maxKeys > objMaxMaxKeys || !utf8.ValidString(q.prefix) || len(q.prefix) > object.MaxKeyLen {
			t.Fatalf("parsed %+v", q)
		}
		s := q.search
		if s == nil {
			return
		}
		if s.scanPages < 1 || s.scanPages > searchMaxScanPages || len(s.folded) != utf8.RuneCountInString(s.q) ||
			(s.mode != searchContains && s.mode != searchStartsWith) {
			t.Fatalf("parsed search %+v", s)
		}
		if !utf8.ValidString(key) {
			return
		}
		// Every range selects, in the key's UTF-16 form, text equal to q
		// under case folding, inside the key's last segment.
		u := utf16.Encode([]rune(key))
		prev := -1
		for _, r := range searchMatch(key, s.folded, s.mode) {
			if r[0] < 0 || r[0] >= r[1] || r[1] > len(u) || r[0] < prev {
				t.Fatalf("range %v of %q (length %d)", r, key, len(u))
			}
			prev = r[1]
			got := string(utf16.Decode(u[r[0]:r[1]]))
			if !strings.EqualFold(got, s.q) {
				t.Fatalf("range %v of %q selects %q, not %q", r, key, got, s.q)
			}
			if strings.Contains(strings.TrimSuffix(string(utf16.Decode(u[r[0]:])), "/"), "/") {
				t.Fatalf("range %v of %q is not in the last segment", r, key)
			}
		}
	})
}

func FuzzParseByteRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=5-", "bytes=-10", "bytes=1-2,3-4", "bytes=9-1", "items=0-1", "bytes= 3 - 4", "bytes=-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r, ok := parseByteRange(h)
		if !ok {
			if r != (object.Range{}) {
				t.Fatalf("refused %q but returned %+v", h, r)
			}
			return
		}
		var back string
		switch {
		case r.IsSuffix:
			if r.Suffix < 0 {
				t.Fatalf("%q: negative suffix", h)
			}
			back = fmt.Sprintf("bytes=-%d", r.Suffix)
		case r.Last < 0:
			back = fmt.Sprintf("bytes=%d-", r.First)
		default:
			if r.First < 0 || r.Last < r.First {
				t.Fatalf("%q parsed as %+v", h, r)
			}
			back = fmt.Sprintf("bytes=%d-%d", r.First, r.Last)
		}
		if r2, ok := parseByteRange(back); !ok || r2 != r {
			t.Fatalf("%q -> %+v -> %q -> %+v", h, r, back, r2)
		}
	})
}

func TestObjDisposition(t *testing.T) {
	for key, want := range map[string]string{
		"a/b/report.pdf":  `attachment; filename="report.pdf"`,
		"dir/":            `attachment; filename="dir"`,
		`q"uote\.txt`:     `attachment; filename="q_uote_.txt"`,
		"données/été.txt": `attachment; filename="_t_.txt"; filename*=UTF-8''%C3%A9t%C3%A9.txt`,
		"/":               `attachment; filename="download"`,
	} {
		if got := objDisposition("attachment", key); got != want {
			t.Errorf("objDisposition(%q) = %s, want %s", key, got, want)
		}
	}
}
