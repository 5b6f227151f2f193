package metatest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
)

// entry is one item of a listing: a key or a common prefix.
type entry struct {
	s      string
	prefix bool
}

// reference lists sorted keys the slow, obvious way. Entries come in byte
// order; only those greater than after are kept. This is the contract's "the
// page starts with the first key (or common prefix) greater than it": a
// common prefix equal to After, or containing After, is not greater than it,
// so none of the keys under it appear.
func reference(keys []string, prefix, delim, after string) []entry {
	var out []entry
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		e := entry{s: k}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				e = entry{s: k[:len(prefix)+i+len(delim)], prefix: true}
			}
		}
		if e.s <= after || (len(out) > 0 && out[len(out)-1] == e) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// checkPage compares a page against the reference entries after its After.
func checkPage(t *testing.T, what string, got meta.ListPage, want []entry, limit int) bool {
	t.Helper()
	if limit < 1 {
		limit = 1000
	}
	wantPage := want[:min(limit, len(want))]
	var wantObjs, wantCPs []string
	for _, e := range wantPage {
		if e.prefix {
			wantCPs = append(wantCPs, e.s)
		} else {
			wantObjs = append(wantObjs, e.s)
		}
	}
	ok := true
	if gotObjs := pageKeys(got); !slices.Equal(gotObjs, wantObjs) {
		t.Errorf("%s: objects = %q, want %q", what, gotObjs, wantObjs)
		ok = false
	}
	if !slices.Equal(got.CommonPrefixes, wantCPs) {
		t.Errorf("%s: common prefixes = %q, want %q", what, got.CommonPrefixes, wantCPs)
		ok = false
	}
	wantTrunc := len(want) > limit
	if got.Truncated != wantTrunc {
		t.Errorf("%s: truncated = %v, want %v", what, got.Truncated, wantTrunc)
		ok = false
	}
	if wantTrunc && got.NextAfter != wantPage[len(wantPage)-1].s {
		t.Errorf("%s: NextAfter = %q, want %q", what, got.NextAfter, wantPage[len(wantPage)-1].s)
		ok = false
	}
	for _, o := range got.Objects {
		if o.Inline != nil {
			t.Errorf("%s: listed object %q carries Inline", what, o.Key)
			ok = false
		}
	}
	return ok
}

// putKeys stores one small inline object per key, from several goroutines
// so that a store that groups commits fills quickly.
func putKeys(t *testing.T, s meta.Store, bucket string, keys []string) {
	t.Helper()
	const workers = 16
	ch := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range workers {
		wg.Go(func() {
			for k := range ch {
				o := meta.Object{Bucket: bucket, Key: k, Size: int64(len(k)), ETag: etagOf(k), Modified: fixedTime(0), Inline: []byte(k)}
				if _, err := PutObj(s, context.Background(), o, nil); err != nil {
					mu.Lock()
					firstErr = fmt.Errorf("PutObject(%q): %w", k, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

func (h *harness) testListBasic(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	putKeys(t, s, "b", []string{"a/1", "a/2", "a/b/1", "a/b/2", "a/", "b", "c/x", "c/y/z", "d//e", "d::f"})
	for _, tc := range []struct {
		opts  meta.ListOptions
		objs  []string
		cps   []string
		trunc bool
	}{
		{meta.ListOptions{}, []string{"a/", "a/1", "a/2", "a/b/1", "a/b/2", "b", "c/x", "c/y/z", "d//e", "d::f"}, nil, false},
		{meta.ListOptions{Delimiter: "/"}, []string{"b", "d::f"}, []string{"a/", "c/", "d/"}, false},
		{meta.ListOptions{Prefix: "a/", Delimiter: "/"}, []string{"a/", "a/1", "a/2"}, []string{"a/b/"}, false},
		{meta.ListOptions{Prefix: "a", Delimiter: "/"}, nil, []string{"a/"}, false},
		{meta.ListOptions{Prefix: "a/b"}, []string{"a/b/1", "a/b/2"}, nil, false},
		{meta.ListOptions{Delimiter: "//"}, []string{"a/", "a/1", "a/2", "a/b/1", "a/b/2", "b", "c/x", "c/y/z", "d::f"}, []string{"d//"}, false},
		{meta.ListOptions{Delimiter: "::"}, []string{"a/", "a/1", "a/2", "a/b/1", "a/b/2", "b", "c/x", "c/y/z", "d//e"}, []string{"d::"}, false},
		{meta.ListOptions{Delimiter: "/1"}, []string{"a/", "a/2", "a/b/2", "b", "c/x", "c/y/z", "d//e", "d::f"}, []string{"a/1", "a/b/1"}, false},
		{meta.ListOptions{Prefix: "c/", Delimiter: "/"}, []string{"c/x"}, []string{"c/y/"}, false},
		{meta.ListOptions{Prefix: "zz", Delimiter: "/"}, nil, nil, false},
		// Limit counts common prefixes and keys together.
		{meta.ListOptions{Delimiter: "/", Limit: 2}, []string{"b"}, []string{"a/"}, true},
		{meta.ListOptions{Delimiter: "/", Limit: 5}, []string{"b", "d::f"}, []string{"a/", "c/", "d/"}, false},
		{meta.ListOptions{Limit: 3}, []string{"a/", "a/1", "a/2"}, nil, true},
	} {
		page, err := s.ListObjects(ctx, "b", tc.opts)
		if err != nil {
			t.Fatalf("ListObjects(%+v): %v", tc.opts, err)
		}
		if got := pageKeys(page); !slices.Equal(got, tc.objs) {
			t.Errorf("ListObjects(%+v) objects = %q, want %q", tc.opts, got, tc.objs)
		}
		if !slices.Equal(page.CommonPrefixes, tc.cps) {
			t.Errorf("ListObjects(%+v) prefixes = %q, want %q", tc.opts, page.CommonPrefixes, tc.cps)
		}
		if page.Truncated != tc.trunc {
			t.Errorf("ListObjects(%+v) truncated = %v, want %v", tc.opts, page.Truncated, tc.trunc)
		}
	}
}

func (h *harness) testListAfter(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	putKeys(t, s, "b", []string{"a/1", "a/2", "a/b/1", "a0", "b", "b/1", "c"})
	for _, tc := range []struct {
		opts meta.ListOptions
		objs []string
		cps  []string
	}{
		// After is exclusive.
		{meta.ListOptions{After: "a/2"}, []string{"a/b/1", "a0", "b", "b/1", "c"}, nil},
		{meta.ListOptions{After: "a/1\x00"}, []string{"a/2", "a/b/1", "a0", "b", "b/1", "c"}, nil},
		{meta.ListOptions{After: "0"}, []string{"a/1", "a/2", "a/b/1", "a0", "b", "b/1", "c"}, nil},
		{meta.ListOptions{After: "c"}, nil, nil},
		// After a common prefix skips every key under it.
		{meta.ListOptions{Delimiter: "/", After: "a/"}, []string{"a0", "b", "c"}, []string{"b/"}},
		{meta.ListOptions{Delimiter: "/", After: "b/"}, []string{"c"}, nil},
		{meta.ListOptions{Prefix: "a/", Delimiter: "/", After: "a/b/"}, nil, nil},
		// After inside a common prefix: the prefix is not greater than After.
		{meta.ListOptions{Delimiter: "/", After: "a/1"}, []string{"a0", "b", "c"}, []string{"b/"}},
		// After inside the listed prefix behaves like a plain key.
		{meta.ListOptions{Prefix: "a/", Delimiter: "/", After: "a/1"}, []string{"a/2"}, []string{"a/b/"}},
		// After before or beyond the prefix.
		{meta.ListOptions{Prefix: "b", After: "a"}, []string{"b", "b/1"}, nil},
		{meta.ListOptions{Prefix: "a", After: "b"}, nil, nil},
		// After equal to the prefix lists everything greater.
		{meta.ListOptions{Prefix: "b", After: "b"}, []string{"b/1"}, nil},
	} {
		page, err := s.ListObjects(ctx, "b", tc.opts)
		if err != nil {
			t.Fatalf("ListObjects(%+v): %v", tc.opts, err)
		}
		if got := pageKeys(page); !slices.Equal(got, tc.objs) {
			t.Errorf("ListObjects(%+v) objects = %q, want %q", tc.opts, got, tc.objs)
		}
		if !slices.Equal(page.CommonPrefixes, tc.cps) {
			t.Errorf("ListObjects(%+v) prefixes = %q, want %q", tc.opts, page.CommonPrefixes, tc.cps)
		}
	}
}

// testListFields: listed objects carry every field but Inline.
func (h *harness) testListFields(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	objs := []meta.Object{fullObject("b", "1-inline", 1), segmentObject("b", "2-seg", "blob", 2)}
	objs[0].Inline = []byte(strings.Repeat("x", 64<<10))
	for _, o := range objs {
		mustPut(t, s, o, nil)
	}
	page, err := s.ListObjects(ctx, "b", meta.ListOptions{})
	if err != nil {
		t.Fatalf("ListObjects: %v", err)
	}
	if len(page.Objects) != len(objs) {
		t.Fatalf("ListObjects = %q, want %d objects", pageKeys(page), len(objs))
	}
	for i, o := range objs {
		checkObject(t, "listed", o, page.Objects[i], false)
	}
}

// testListByteOrder: keys sort by UTF-8 bytes, not by UTF-16 code units or
// collation. U+FFFF (EF BF BF) sorts before U+10000 (F0 90 80 80), which
// UTF-16 order reverses; "Z" before "a"; NUL before everything.
func (h *harness) testListByteOrder(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	want := []string{"\x00", "A", "Z", "a", "a\x00", "a/", "aa", "z", "~", "\u00e9", "\u00ff", "\uffff", "\U00010000", "\U0010ffff"}
	shuffled := slices.Clone(want)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, k := range shuffled {
		mustPut(t, s, fullObject("b", k, 0), nil)
	}
	var got []string
	after := ""
	for {
		page, err := s.ListObjects(ctx, "b", meta.ListOptions{After: after, Limit: 3})
		if err != nil {
			t.Fatalf("ListObjects: %v", err)
		}
		got = append(got, pageKeys(page)...)
		if !page.Truncated {
			break
		}
		after = page.NextAfter
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listing order = %q, want %q", got, want)
	}
}

func (h *harness) testListDefaultLimit(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	keys := make([]string, 1001)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%05d", i)
	}
	putKeys(t, s, "b", keys)
	for _, limit := range []int{0, -1} {
		page, err := s.ListObjects(ctx, "b", meta.ListOptions{Limit: limit})
		if err != nil {
			t.Fatalf("ListObjects: %v", err)
		}
		if len(page.Objects) != 1000 || !page.Truncated || page.NextAfter != keys[999] {
			t.Errorf("Limit %d: %d objects, truncated %v, NextAfter %q; want 1000, true, %q",
				limit, len(page.Objects), page.Truncated, page.NextAfter, keys[999])
		}
	}
	page, err := s.ListObjects(ctx, "b", meta.ListOptions{Limit: 1001})
	if err != nil {
		t.Fatalf("ListObjects: %v", err)
	}
	if len(page.Objects) != 1001 || page.Truncated {
		t.Errorf("Limit 1001: %d objects, truncated %v; want 1001, false", len(page.Objects), page.Truncated)
	}
}

// genKeys makes n distinct keys from segments and separators chosen to hit
// the edge cases of prefix roll-up: unicode, the highest code point, NUL,
// empty segments ("//"), dot segments and multi-byte separators.
func genKeys(n int) []string {
	segs := []string{"a", "b", "ab", "", "..", ".", "ü", "\u00ff", "\U0010ffff", "日本", "x\x00y", "\x00", "-", "z", "y/"}
	seps := []string{"/", "/", "/", "//", "-", "::"}
	rng := rand.New(rand.NewPCG(7, 11))
	seen := make(map[string]bool, n)
	keys := make([]string, 0, n)
	for len(keys) < n {
		var b strings.Builder
		depth := 1 + rng.IntN(4)
		for d := range depth {
			if d > 0 {
				b.WriteString(seps[rng.IntN(len(seps))])
			}
			b.WriteString(segs[rng.IntN(len(segs))])
		}
		if rng.IntN(8) == 0 {
			b.WriteString("/") // folder-marker style keys
		}
		k := b.String()
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// testListReference pages through a few thousand awkward keys under many
// (prefix, delimiter, limit) combinations and compares every page with the
// brute-force reference, then probes single pages from awkward After values.
func (h *harness) testListReference(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	keys := genKeys(3000)
	putKeys(t, s, "b", keys)
	// A neighbouring bucket whose keys must never leak in.
	mustCreateBucket(t, s, meta.Bucket{Name: "b0", Owner: "o", Created: fixedTime(0)})
	putKeys(t, s, "b0", []string{"a", "b", "\x00", "zzz"})

	prefixes := []string{"", "a", "a/", "a//", "ab", "b/", "/", "//", "-", "ü", "\u00ff", "\U0010ffff", "x\x00", "\x00", "..", "nothing-here", keys[1234]}
	delims := []string{"", "/", "//", "-", "::", "\x00", "ab", "\U0010ffff", "y/", "/."}
	type combo struct {
		prefix, delim string
		limit         int
	}
	var combos []combo
	for _, p := range prefixes {
		for _, d := range delims {
			combos = append(combos, combo{p, d, 7})
		}
	}
	for _, d := range []string{"", "/", "::"} {
		combos = append(combos, combo{"", d, 1}, combo{"", d, 1000}, combo{"a", d, 0}, combo{"", d, 333})
	}
	for _, c := range combos {
		full := reference(keys, c.prefix, c.delim, "")
		what := fmt.Sprintf("prefix %q delim %q limit %d", c.prefix, c.delim, c.limit)
		limit := c.limit
		if limit < 1 {
			limit = 1000
		}
		// Paging.
		cursor, after := 0, ""
		for pages := 0; ; pages++ {
			if pages > len(full)+1 {
				t.Fatalf("%s: paging does not end", what)
			}
			page, err := s.ListObjects(ctx, "b", meta.ListOptions{Prefix: c.prefix, Delimiter: c.delim, After: after, Limit: c.limit})
			if err != nil {
				t.Fatalf("%s: ListObjects: %v", what, err)
			}
			if !checkPage(t, fmt.Sprintf("%s page %d (after %q)", what, pages, after), page, full[cursor:], c.limit) {
				break
			}
			for _, o := range page.Objects {
				if o.Bucket != "b" || o.Size != int64(len(o.Key)) || o.ETag != etagOf(o.Key) {
					t.Fatalf("%s: listed %q has Bucket %q Size %d ETag %q", what, o.Key, o.Bucket, o.Size, o.ETag)
				}
			}
			cursor += min(limit, len(full)-cursor)
			if !page.Truncated {
				break
			}
			after = page.NextAfter
		}
		// Single pages from After values that are keys, common prefixes,
		// inside common prefixes, between keys, or nowhere near a key.
		rng := rand.New(rand.NewPCG(uint64(len(c.prefix)), uint64(len(c.delim))))
		afters := []string{"", c.prefix, c.prefix + "\x00", c.prefix + "\U0010ffff", "\U0010ffff\U0010ffff"}
		for range 12 {
			k := keys[rng.IntN(len(keys))]
			afters = append(afters, k, k[:rng.IntN(len(k)+1)], k+"\x00")
		}
		for _, e := range full[:min(len(full), 40)] {
			if e.prefix {
				afters = append(afters, e.s, e.s+"a", e.s[:len(e.s)-1])
			}
		}
		for _, after := range afters {
			page, err := s.ListObjects(ctx, "b", meta.ListOptions{Prefix: c.prefix, Delimiter: c.delim, After: after, Limit: 5})
			if err != nil {
				t.Fatalf("%s: ListObjects(after %q): %v", what, after, err)
			}
			checkPage(t, fmt.Sprintf("%s after %q", what, after), page, reference(keys, c.prefix, c.delim, after), 5)
		}
	}
}
