package mgmtapi

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// Search by name (S4's q and mode) filters the listing of a prefix: the
// same prefix and delimiter, so a search at a folder level finds that
// level's files and folders, and delimiter= (empty) searches the whole
// tree below the prefix. It runs server-side over as many pages as it
// takes to fill the answer, but never more than scanPages pages of
// objServicePage entries: its cost is bounded whatever the bucket's size,
// and partialResult with a continuation token tells the client where to
// resume.
//
// A name is an entry's last path segment ("c.txt" of "a/b/c.txt", "b" of
// the folder "a/b/"). Matching folds case (Unicode simple folding).
// Match ranges are [start, end) offsets into the whole key in UTF-16 code
// units, so a browser can slice the key it shows with them directly.

const (
	searchStartsWith = "startsWith"
	searchContains   = "contains"

	searchDefaultScanPages = 5
	searchMaxScanPages     = 25
	searchMaxQuery         = 256 // runes
	objMaxDelimiter        = 16  // bytes
)

// listQuery is a parsed listing or search request.
type listQuery struct {
	prefix, delimiter string
	maxKeys           int
	after             string
	search            *searchQuery // nil: a plain listing
}

type searchQuery struct {
	q           string
	folded      []rune
	mode        string
	autoBroaden bool
	scanPages   int
}

func badList(format string, args ...any) error {
	return errorf(http.StatusBadRequest, "InvalidArgument", format, args...)
}

// parseListQuery reads a listing's query parameters. encodedPrefix is the
// path's prefix segment, if any (it wins over ?prefix=).
func parseListQuery(v url.Values, encodedPrefix string) (listQuery, error) {
	q := listQuery{delimiter: "/", maxKeys: objDefaultMaxKeys}
	if encodedPrefix != "" {
		p, err := decodeKey(encodedPrefix)
		if err != nil {
			return listQuery{}, err
		}
		q.prefix = p
	} else {
		q.prefix = v.Get("prefix")
	}
	if !utf8.ValidString(q.prefix) || len(q.prefix) > object.MaxKeyLen {
		return listQuery{}, badList("prefix must be UTF-8 of at most %d bytes", object.MaxKeyLen)
	}
	if v.Has("delimiter") {
		q.delimiter = v.Get("delimiter")
		if !utf8.ValidString(q.delimiter) || len(q.delimiter) > objMaxDelimiter {
			return listQuery{}, badList("delimiter must be UTF-8 of at most %d bytes", objMaxDelimiter)
		}
	}
	if s := v.Get("maxKeys"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return listQuery{}, badList("maxKeys must be a positive integer")
		}
		q.maxKeys = min(n, objMaxMaxKeys)
	}
	if tok := v.Get("continuationToken"); tok != "" {
		after, err := objParseToken(tok)
		if err != nil {
			return listQuery{}, err
		}
		q.after = after
	}
	text := v.Get("q")
	if text == "" {
		return q, nil
	}
	s := &searchQuery{q: text, mode: searchContains, scanPages: searchDefaultScanPages}
	if !utf8.ValidString(text) || utf8.RuneCountInString(text) > searchMaxQuery {
		return listQuery{}, badList("q must be UTF-8 of at most %d characters", searchMaxQuery)
	}
	for _, r := range text {
		s.folded = append(s.folded, foldRune(r))
	}
	switch m := v.Get("mode"); {
	case m == "", strings.EqualFold(m, searchContains):
	case strings.EqualFold(m, searchStartsWith):
		s.mode = searchStartsWith
	default:
		return listQuery{}, badList("mode must be startsWith or contains")
	}
	if b := v.Get("autoBroaden"); b != "" {
		on, err := strconv.ParseBool(b)
		if err != nil {
			return listQuery{}, badList("autoBroaden must be true or false")
		}
		s.autoBroaden = on
	}
	if p := v.Get("scanPages"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return listQuery{}, badList("scanPages must be a positive integer")
		}
		s.scanPages = min(n, searchMaxScanPages)
	}
	q.search = s
	return q, nil
}

// searchFilter is S4's "filter" member of a search answer.
type searchFilter struct {
	Q    string `json:"q"`
	Mode string `json:"mode"`
	// AutoBroadened reports that a startsWith search found nothing and
	// the answer is the contains search autoBroaden asked for.
	AutoBroaden   bool          `json:"autoBroaden"`
	AutoBroadened bool          `json:"autoBroadened"`
	Matches       searchMatches `json:"matches"`
	// ScanPages is how many pages were scanned, of at most ScanPagesLimit.
	ScanPages      int `json:"scanPages"`
	ScanPagesLimit int `json:"scanPagesLimit"`
	ScannedKeys    int `json:"scannedKeys"`
	// PartialResult reports that the scan stopped at its page limit before
	// the end of the prefix: more may match after nextContinuationToken.
	PartialResult bool `json:"partialResult"`
}

type searchMatches struct {
	Objects  map[string][][2]int `json:"objects"`
	Prefixes map[string][][2]int `json:"prefixes"`
}

// objSearch runs q's search, broadening a fruitless startsWith search to
// contains when asked (which costs a contains search's rate-limit token;
// without one the startsWith answer stands).
func (a *API) objSearch(c *call, bucket string, q listQuery) (objListResult, error) {
	res, err := a.objScan(c, bucket, q, q.search.mode)
	if err != nil {
		return objListResult{}, err
	}
	s := q.search
	if s.mode != searchStartsWith || !s.autoBroaden || q.after != "" || len(res.objects)+len(res.prefixes) > 0 {
		return res, nil
	}
	if err := c.rateLimit("search", c.api.limits.Search); err != nil {
		var rl *rateLimitError
		if errors.As(err, &rl) {
			return res, nil
		}
		return objListResult{}, err
	}
	broad, err := a.objScan(c, bucket, q, searchContains)
	if err != nil {
		return objListResult{}, err
	}
	broad.filter.AutoBroadened = true
	return broad, nil
}

// objScan scans the listing from q.after, keeping the entries whose name
// matches, until it has q.maxKeys matches, the listing ends, or it has
// read q.search.scanPages pages.
func (a *API) objScan(c *call, bucket string, q listQuery, mode string) (objListResult, error) {
	s := q.search
	f := &searchFilter{Q: s.q, Mode: mode, AutoBroaden: s.autoBroaden, ScanPagesLimit: s.scanPages,
		Matches: searchMatches{Objects: map[string][][2]int{}, Prefixes: map[string][][2]int{}}}
	res := objListResult{filter: f}
	after := q.after
	found := 0
	for f.ScanPages < s.scanPages {
		page, err := a.cfg.Objects.ListObjects(c.ctx, bucket, meta.ListOptions{Prefix: q.prefix, Delimiter: q.delimiter,
			After: after, Limit: objServicePage})
		if err != nil {
			return objListResult{}, err
		}
		f.ScanPages++
		objs, prefixes := page.Objects, page.CommonPrefixes
		// Entries are examined in key order across both lists, so that
		// stopping at maxKeys leaves a correct place to resume.
		for len(objs) > 0 || len(prefixes) > 0 {
			if found == q.maxKeys {
				res.truncated, res.next = true, after
				return res, nil
			}
			isPrefix := len(objs) == 0 || (len(prefixes) > 0 && prefixes[0] < objs[0].Key)
			var name string
			if isPrefix {
				name = prefixes[0]
			} else {
				name = objs[0].Key
			}
			if m := searchMatch(name, s.folded, mode); m != nil {
				found++
				if isPrefix {
					res.prefixes = append(res.prefixes, name)
					f.Matches.Prefixes[name] = m
				} else {
					res.objects = append(res.objects, objs[0])
					f.Matches.Objects[name] = m
				}
			}
			if isPrefix {
				prefixes = prefixes[1:]
			} else {
				objs = objs[1:]
			}
			f.ScannedKeys++
			after = name
		}
		if !page.Truncated {
			return res, nil
		}
		after = page.NextAfter
		if found == q.maxKeys {
			res.truncated, res.next = true, after
			return res, nil
		}
	}
	res.truncated, res.next, f.PartialResult = true, after, true
	return res, nil
}

// searchMatch returns where the folded query occurs in entry's name, as
// UTF-16 offsets into entry; nil when it does not.
func searchMatch(entry string, q []rune, mode string) [][2]int {
	if len(q) == 0 {
		return nil
	}
	trimmed := strings.TrimSuffix(entry, "/")
	start := strings.LastIndexByte(trimmed, '/') + 1
	name := trimmed[start:]
	if utf8.RuneCountInString(name) < len(q) {
		return nil
	}
	runes := []rune(name)
	at := func(i int) bool {
		for j, r := range q {
			if foldRune(runes[i+j]) != r {
				return false
			}
		}
		return true
	}
	var hits []int
	switch mode {
	case searchStartsWith:
		if at(0) {
			hits = append(hits, 0)
		}
	default:
		for i := 0; i+len(q) <= len(runes); {
			if at(i) {
				hits = append(hits, i)
				i += len(q)
				continue
			}
			i++
		}
	}
	if hits == nil {
		return nil
	}
	// UTF-16 offset of every rune boundary of the name, from the key's start.
	off := make([]int, len(runes)+1)
	off[0] = len(utf16.Encode([]rune(entry[:start])))
	for i, r := range runes {
		off[i+1] = off[i] + utf16.RuneLen(r)
	}
	out := make([][2]int, 0, len(hits))
	for _, h := range hits {
		out = append(out, [2]int{off[h], off[h+len(q)]})
	}
	return out
}

// foldRune maps r to the smallest rune of its simple case-folding orbit,
// so that two runes are equal under case folding exactly when their folds
// are equal (what strings.EqualFold does rune by rune).
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		// An ASCII letter's orbit's smallest member is its upper case,
		// even for k and s (whose orbits also hold U+212A and U+017F).
		if 'a' <= r && r <= 'z' {
			return r - ('a' - 'A')
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}
