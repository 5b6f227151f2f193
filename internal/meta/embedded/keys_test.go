package embedded

import (
	"bytes"
	"cmp"
	"strings"
	"testing"
	"time"
)

// checkUploadKeys checks, for two (key, id) pairs, that upload keys decode
// back to their parts, sort as the pairs do, and that a key prefix of the
// escaped form means a prefix of the key.
func checkUploadKeys(t *testing.T, k1, id1, k2, id2 string) {
	t.Helper()
	base := uploadPrefix("b")
	e1, e2 := uploadKey("b", k1, id1), uploadKey("b", k2, id2)
	for _, c := range []struct {
		enc     []byte
		key, id string
	}{{e1, k1, id1}, {e2, k2, id2}} {
		key, id, ok := splitEscaped(c.enc[len(base):])
		if !ok || key != c.key || string(id) != c.id {
			t.Fatalf("splitEscaped(%q) = %q, %q, %v; want %q, %q", c.enc, key, id, ok, c.key, c.id)
		}
	}
	want := cmp.Or(strings.Compare(k1, k2), strings.Compare(id1, id2))
	if got := bytes.Compare(e1, e2); got != want {
		t.Fatalf("order of (%q,%q) vs (%q,%q): encoded %d, want %d", k1, id1, k2, id2, got, want)
	}
	// k1 used as a listing prefix selects k2 exactly when it prefixes it.
	p := appendEscaped(uploadPrefix("b"), k1)
	if got, want := bytes.HasPrefix(e2, p), strings.HasPrefix(k2, k1); got != want {
		t.Fatalf("prefix %q of key %q: encoded %v, want %v", k1, k2, got, want)
	}
	if succ := prefixSuccessor(p); strings.HasPrefix(k2, k1) != (bytes.Compare(e2, succ) < 0 && bytes.Compare(e2, p) >= 0) {
		t.Fatalf("successor of prefix %q misplaces key %q", k1, k2)
	}
}

func TestUploadKeys(t *testing.T) {
	vals := []string{"", "\x00", "\x00\x00", "\x01", "a", "a\x00", "a\x00b", "a\x01", "a\xff", "ab", "\xff", "\xff\x00"}
	for _, k1 := range vals {
		for _, k2 := range vals {
			for _, ids := range [][2]string{{"", ""}, {"x", "y"}, {"\x00", "\x01"}, {"\xff", ""}} {
				checkUploadKeys(t, k1, ids[0], k2, ids[1])
			}
		}
	}
	for _, bad := range []string{"", "a", "a\x00", "a\x00\x02", "a\x00\xffb"} {
		if _, _, ok := splitEscaped([]byte(bad)); ok {
			t.Errorf("splitEscaped(%q) accepted a malformed key", bad)
		}
	}
}

// FuzzUploadKeys: upload keys come back from disk and their order carries
// ListUploads' semantics.
func FuzzUploadKeys(f *testing.F) {
	f.Add("a/b", "id1", "a/b\x00", "id0")
	f.Add("\x00", "", "", "\x00")
	f.Add("a\x00\xff", "x", "a\x00", "\xff")
	f.Fuzz(func(t *testing.T, k1, id1, k2, id2 string) {
		checkUploadKeys(t, k1, id1, k2, id2)
		if _, _, ok := splitEscaped([]byte(k1 + id1)); ok {
			// Whatever decodes must re-encode to the same bytes.
			key, id, _ := splitEscaped([]byte(k1 + id1))
			re := append(appendEscaped(nil, key), 0, escEnd)
			if !bytes.Equal(append(re, id...), []byte(k1+id1)) {
				t.Fatalf("splitEscaped(%q) = %q, %q does not re-encode", k1+id1, key, id)
			}
		}
	})
}

func TestUploadTimeKeys(t *testing.T) {
	times := []time.Time{
		time.Unix(-1<<40, 0), time.Unix(-1, 999999999), time.Unix(0, 0), time.Unix(0, 1),
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("Z", -7200)), time.Unix(1<<40, 5),
	}
	for i := 1; i < len(times); i++ {
		a, b := uploadTimeKey(times[i-1], "b", "k", "z"), uploadTimeKey(times[i], "a", "a", "a")
		if bytes.Compare(a, b) >= 0 {
			t.Errorf("time key of %v does not sort before %v", times[i-1], times[i])
		}
	}
	k := uploadTimeKey(times[3], "bu\x00", "k\x00ey", "i\x00d")
	if b, key, id, ok := splitUploadTimeKey(k); !ok || b != "bu\x00" || key != "k\x00ey" || id != "i\x00d" {
		t.Errorf("splitUploadTimeKey = %q %q %q %v", b, key, id, ok)
	}
	if _, _, _, ok := splitUploadTimeKey(k[:14]); ok {
		t.Error("splitUploadTimeKey accepted a truncated key")
	}
}
