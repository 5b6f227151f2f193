package mgmtapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/cofferstore/coffer/internal/object"
)

func TestObjectsSearch(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	objectsBucket(e, "srch", rootUser)
	keys := make([]string, 0, 3000)
	for i := range 3000 {
		keys = append(keys, fmt.Sprintf("data/file-%04d.txt", i))
	}
	objectsPutMany(e, "srch", keys)
	objectsPut(e, "srch", "données/Été-Résumé.txt", []byte("é"), object.Attrs{})
	objectsPut(e, "srch", "Data-Archive/old.txt", []byte("o"), object.Attrs{})

	flat := url.Values{"prefix": {"data/"}, "delimiter": {""}}
	with := func(extra ...string) url.Values {
		q := url.Values{}
		for k, v := range flat {
			q[k] = v
		}
		for i := 0; i < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return q
	}

	// startsWith, case-insensitive, across three service pages.
	l := objectsList(root, "srch", with("q", "FILE-29", "mode", "startsWith"))
	if len(l.Objects) != 100 || l.Objects[0].Key != "data/file-2900.txt" || l.IsTruncated {
		t.Fatalf("startsWith: %d objects, truncated %v", len(l.Objects), l.IsTruncated)
	}
	f := l.Filter
	if f == nil || f.Mode != "startsWith" || f.ScanPages != 3 || f.PartialResult || f.ScannedKeys != 3000 {
		t.Fatalf("startsWith filter %+v", f)
	}
	if r := f.Matches.Objects["data/file-2942.txt"]; len(r) != 1 || r[0] != [2]int{5, 12} {
		t.Fatalf("startsWith ranges %v", r)
	}

	// contains: every key ending in 9.txt, with each occurrence's range.
	l = objectsList(root, "srch", with("q", "9.TX", "mode", "contains"))
	if len(l.Objects) != 300 || l.IsTruncated || l.Filter.PartialResult {
		t.Fatalf("contains: %d objects, truncated %v, filter %+v", len(l.Objects), l.IsTruncated, l.Filter)
	}
	if r := l.Filter.Matches.Objects["data/file-0009.txt"]; len(r) != 1 || r[0] != [2]int{13, 17} {
		t.Fatalf("contains ranges %v", r)
	}
	l = objectsList(root, "srch", with("q", "1", "mode", "contains", "maxKeys", "2000"))
	if r := l.Filter.Matches.Objects["data/file-1111.txt"]; len(r) != 4 || r[3] != [2]int{13, 14} {
		t.Fatalf("every occurrence: %v", r)
	}

	// The scan cap: two pages find none of 29xx; the token resumes.
	l = objectsList(root, "srch", with("q", "file-29", "mode", "startsWith", "scanPages", "2"))
	if len(l.Objects) != 0 || !l.Filter.PartialResult || !l.IsTruncated || l.NextContinuationToken == "" || l.Filter.ScanPages != 2 {
		t.Fatalf("capped scan: %d objects, %+v", len(l.Objects), l.Filter)
	}
	l = objectsList(root, "srch", with("q", "file-29", "mode", "startsWith", "scanPages", "2", "continuationToken", l.NextContinuationToken))
	if len(l.Objects) != 100 || l.Filter.PartialResult || l.IsTruncated {
		t.Fatalf("resumed scan: %d objects, %+v", len(l.Objects), l.Filter)
	}

	// maxKeys bounds the matches; the token continues after the last one.
	l = objectsList(root, "srch", with("q", "file", "mode", "startsWith", "maxKeys", "10"))
	if len(l.Objects) != 10 || !l.IsTruncated || l.Filter.PartialResult {
		t.Fatalf("maxKeys: %d objects, %+v", len(l.Objects), l.Filter)
	}
	l = objectsList(root, "srch", with("q", "file", "mode", "startsWith", "maxKeys", "10", "continuationToken", l.NextContinuationToken))
	if len(l.Objects) != 10 || l.Objects[0].Key != "data/file-0010.txt" {
		t.Fatalf("second page starts at %q", l.keys())
	}

	// autoBroaden: a fruitless startsWith becomes contains.
	l = objectsList(root, "srch", with("q", "ile-000", "mode", "startsWith"))
	if len(l.Objects) != 0 || l.Filter.AutoBroadened {
		t.Fatalf("startsWith without autoBroaden: %d objects", len(l.Objects))
	}
	l = objectsList(root, "srch", with("q", "ile-000", "mode", "startsWith", "autoBroaden", "true"))
	if len(l.Objects) != 10 || !l.Filter.AutoBroadened || l.Filter.Mode != "contains" {
		t.Fatalf("autoBroaden: %d objects, %+v", len(l.Objects), l.Filter)
	}

	// At a folder level (delimiter "/"), folders match by name too.
	l = objectsList(root, "srch", url.Values{"q": {"dat"}, "mode": {"startsWith"}})
	if strings.Join(l.prefixes(), ",") != "Data-Archive/,data/" || len(l.Objects) != 0 {
		t.Fatalf("folder search: %q %q", l.prefixes(), l.keys())
	}
	if r := l.Filter.Matches.Prefixes["data/"]; len(r) != 1 || r[0] != [2]int{0, 3} {
		t.Fatalf("folder ranges %v", r)
	}

	// Non-ASCII names: ranges are UTF-16 offsets into the whole key.
	l = objectsList(root, "srch", url.Values{"q": {"RÉSUMÉ"}, "mode": {"contains"}, "delimiter": {""}, "prefix": {"données/"}})
	key := "données/Été-Résumé.txt"
	r := l.Filter.Matches.Objects[key]
	if len(r) != 1 {
		t.Fatalf("unicode search: %+v", l)
	}
	u := utf16.Encode([]rune(key))
	if got := string(utf16.Decode(u[r[0][0]:r[0][1]])); got != "Résumé" {
		t.Fatalf("range %v selects %q", r[0], got)
	}

	// A plain listing may span two service pages (maxKeys up to 2000).
	l = objectsList(root, "srch", url.Values{"prefix": {"data/"}, "maxKeys": {"5000"}})
	if len(l.Objects) != 2000 || !l.IsTruncated {
		t.Fatalf("2000-key page: %d objects, truncated %v", len(l.Objects), l.IsTruncated)
	}
	l = objectsList(root, "srch", url.Values{"prefix": {"data/"}, "maxKeys": {"2000"}, "continuationToken": {l.NextContinuationToken}})
	if len(l.Objects) != 1000 || l.IsTruncated || l.Objects[0].Key != "data/file-2000.txt" {
		t.Fatalf("rest: %d objects from %q", len(l.Objects), l.Objects[0].Key)
	}

	root.do("GET", "/api/objects/srch?q=a&scanPages=0", nil).wantError(http.StatusBadRequest, "InvalidArgument")
	root.do("GET", "/api/objects/srch?q=a&autoBroaden=maybe", nil).wantError(http.StatusBadRequest, "InvalidArgument")
	root.do("GET", "/api/objects/srch?q="+strings.Repeat("a", 300), nil).wantError(http.StatusBadRequest, "InvalidArgument")
	e.user("nosearch").do("GET", "/api/objects/srch?q=file&mode=startsWith", nil).wantError(http.StatusForbidden, "AccessDenied")
}

// TestObjectsSearchRateLimit: contains searches are limited per client
// (S4: 5 a minute); startsWith searches are not.
func TestObjectsSearchRateLimit(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	objectsBucket(e, "ratelim", rootUser)
	objectsPut(e, "ratelim", "a.txt", []byte("a"), object.Attrs{})
	for i := range 8 {
		root.do("GET", "/api/objects/ratelim?q=a&mode=startsWith", nil).want(http.StatusOK)
		if i < 5 {
			root.do("GET", "/api/objects/ratelim?q=a&mode=contains", nil).want(http.StatusOK)
		}
	}
	r := root.do("GET", "/api/objects/ratelim?q=a", nil).wantError(http.StatusTooManyRequests, "RateLimitExceeded")
	if r.Header.Get("Retry-After") == "" || r.obj()["retryAfter"] == nil {
		t.Fatalf("429 without retry information: %v %s", r.Header, r.Body)
	}
	// A fruitless startsWith may not broaden without a token: it answers
	// its own (empty) result instead of 429.
	var l objectsListing
	root.do("GET", "/api/objects/ratelim?q=zzz&mode=startsWith&autoBroaden=true", nil).want(http.StatusOK).json(&l)
	if l.Filter.AutoBroadened || len(l.Objects) != 0 {
		t.Fatalf("broadened past the limit: %+v", l.Filter)
	}
}
