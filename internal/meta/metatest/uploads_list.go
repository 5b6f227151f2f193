package metatest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
)

// upEntry is one item of an upload listing: an upload or a common prefix.
type upEntry struct {
	key, id string
	prefix  bool
}

// uploadReference lists (key, id) pairs sorted by key then id the slow,
// obvious way. This pins the contract's marker reading: without idMarker an
// upload is kept when its key is greater than keyMarker; with it, also when
// its key equals keyMarker and its id is greater. A common prefix is kept
// when it is greater than keyMarker, so a keyMarker equal to it, or under
// it, skips every upload under it (as ListOptions.After does for objects).
func uploadReference(ups [][2]string, prefix, delim, keyMarker, idMarker string) []upEntry {
	var out []upEntry
	for _, u := range ups {
		k, id := u[0], u[1]
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp := k[:len(prefix)+i+len(delim)]
				e := upEntry{key: cp, prefix: true}
				if cp > keyMarker && (len(out) == 0 || out[len(out)-1] != e) {
					out = append(out, e)
				}
				continue
			}
		}
		if k > keyMarker || (idMarker != "" && k == keyMarker && id > idMarker) {
			out = append(out, upEntry{key: k, id: id})
		}
	}
	return out
}

// checkUploadPage compares a page with the reference entries after its
// markers.
func checkUploadPage(t *testing.T, what string, got meta.UploadPage, want []upEntry, limit int) bool {
	t.Helper()
	if limit < 1 {
		limit = 1000
	}
	wantPage := want[:min(limit, len(want))]
	var wantUps [][2]string
	var wantCPs []string
	for _, e := range wantPage {
		if e.prefix {
			wantCPs = append(wantCPs, e.key)
		} else {
			wantUps = append(wantUps, [2]string{e.key, e.id})
		}
	}
	var gotUps [][2]string
	for _, u := range got.Uploads {
		gotUps = append(gotUps, [2]string{u.Object.Key, u.ID})
	}
	ok := true
	if !slices.Equal(gotUps, wantUps) {
		t.Errorf("%s: uploads = %q, want %q", what, gotUps, wantUps)
		ok = false
	}
	if !slices.Equal(got.CommonPrefixes, wantCPs) {
		t.Errorf("%s: common prefixes = %q, want %q", what, got.CommonPrefixes, wantCPs)
		ok = false
	}
	if wantTrunc := len(want) > limit; got.Truncated != wantTrunc {
		t.Errorf("%s: truncated = %v, want %v", what, got.Truncated, wantTrunc)
		ok = false
	}
	if len(wantPage) > 0 {
		last := wantPage[len(wantPage)-1]
		if got.NextKeyMarker != last.key || got.NextUploadIDMarker != last.id {
			t.Errorf("%s: next markers = %q, %q; want %q, %q", what, got.NextKeyMarker, got.NextUploadIDMarker, last.key, last.id)
			ok = false
		}
	}
	return ok
}

// testUploadListBasic pins a few hand-checked pages.
func (h *harness) testUploadListBasic(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	mustCreateBucket(t, s, meta.Bucket{Name: "b0", Owner: "o", Created: fixedTime(0)})
	for i, c := range [][2]string{{"a/1", "x"}, {"a/1", "y"}, {"a/2", "x"}, {"a/b/c", "z"}, {"b", "2"}, {"b", "1"}, {"c", "x"}} {
		mustCreateUpload(t, s, newUpload("b", c[0], c[1], i))
	}
	mustCreateUpload(t, s, newUpload("b0", "a/1", "n", 0))
	type ku = [2]string
	for _, tc := range []struct {
		opts  meta.UploadListOptions
		ups   []ku
		cps   []string
		trunc bool
	}{
		{meta.UploadListOptions{}, []ku{{"a/1", "x"}, {"a/1", "y"}, {"a/2", "x"}, {"a/b/c", "z"}, {"b", "1"}, {"b", "2"}, {"c", "x"}}, nil, false},
		{meta.UploadListOptions{Delimiter: "/"}, []ku{{"b", "1"}, {"b", "2"}, {"c", "x"}}, []string{"a/"}, false},
		{meta.UploadListOptions{Prefix: "a/", Delimiter: "/"}, []ku{{"a/1", "x"}, {"a/1", "y"}, {"a/2", "x"}}, []string{"a/b/"}, false},
		{meta.UploadListOptions{KeyMarker: "a/1"}, []ku{{"a/2", "x"}, {"a/b/c", "z"}, {"b", "1"}, {"b", "2"}, {"c", "x"}}, nil, false},
		{meta.UploadListOptions{KeyMarker: "a/1", UploadIDMarker: "x"}, []ku{{"a/1", "y"}, {"a/2", "x"}, {"a/b/c", "z"}, {"b", "1"}, {"b", "2"}, {"c", "x"}}, nil, false},
		{meta.UploadListOptions{KeyMarker: "b", UploadIDMarker: "1", Limit: 1}, []ku{{"b", "2"}}, nil, true},
		{meta.UploadListOptions{KeyMarker: "a/", Delimiter: "/"}, []ku{{"b", "1"}, {"b", "2"}, {"c", "x"}}, nil, false},
		{meta.UploadListOptions{Delimiter: "/", Limit: 2}, []ku{{"b", "1"}}, []string{"a/"}, true},
	} {
		page, err := s.ListUploads(ctx, "b", tc.opts)
		if err != nil {
			t.Fatalf("ListUploads(%+v): %v", tc.opts, err)
		}
		var got []ku
		for _, u := range page.Uploads {
			got = append(got, ku{u.Object.Key, u.ID})
			if u.Object.Bucket != "b" {
				t.Errorf("ListUploads(%+v): upload %q has bucket %q", tc.opts, u.ID, u.Object.Bucket)
			}
		}
		if !slices.Equal(got, tc.ups) || !slices.Equal(page.CommonPrefixes, tc.cps) || page.Truncated != tc.trunc {
			t.Errorf("ListUploads(%+v) = %q %q truncated %v; want %q %q %v", tc.opts, got, page.CommonPrefixes, page.Truncated, tc.ups, tc.cps, tc.trunc)
		}
	}
	// Listed uploads carry their whole record.
	page, err := s.ListUploads(ctx, "b", meta.UploadListOptions{Prefix: "c"})
	if err != nil || len(page.Uploads) != 1 {
		t.Fatalf("ListUploads(prefix c) = %+v, %v", page, err)
	}
	checkUpload(t, "listed", newUpload("b", "c", "x", 6), page.Uploads[0])
}

// testUploadListReference pages through uploads of awkward keys, several
// per key, under many option combinations, and compares every page with
// the brute-force reference; then probes single pages from awkward markers.
func (h *harness) testUploadListReference(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	mustCreateBucket(t, s, meta.Bucket{Name: "b0", Owner: "o", Created: fixedTime(0)})
	keys := genKeys(150)
	rng := rand.New(rand.NewPCG(3, 5))
	var ups [][2]string
	for i, k := range keys {
		for j := range 1 + rng.IntN(3) {
			// IDs whose order differs from creation order, one with NUL.
			id := fmt.Sprintf("%c-%d", 'z'-rune(j), i)
			if j == 2 {
				id = "id\x00" + id
			}
			ups = append(ups, [2]string{k, id})
		}
	}
	for i, u := range ups {
		mustCreateUpload(t, s, newUpload("b", u[0], u[1], i))
	}
	// A neighbouring bucket whose uploads must never leak in.
	for _, k := range []string{"a", "\x00", "zzz"} {
		mustCreateUpload(t, s, newUpload("b0", k, "n-"+k, 0))
	}
	slices.SortFunc(ups, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })

	prefixes := []string{"", "a", "a/", "ab", "/", "ü", "x\x00", "\x00", "nothing", keys[77]}
	delims := []string{"", "/", "//", "-", "\x00", "y/"}
	for _, prefix := range prefixes {
		for _, delim := range delims {
			for _, limit := range []int{1, 4, 0} {
				what := fmt.Sprintf("prefix %q delim %q limit %d", prefix, delim, limit)
				full := uploadReference(ups, prefix, delim, "", "")
				pageSize := limit
				if pageSize < 1 {
					pageSize = 1000
				}
				cursor := 0
				var opts meta.UploadListOptions
				for pages := 0; ; pages++ {
					if pages > len(full)+1 {
						t.Fatalf("%s: paging does not end", what)
					}
					opts.Prefix, opts.Delimiter, opts.Limit = prefix, delim, limit
					page, err := s.ListUploads(ctx, "b", opts)
					if err != nil {
						t.Fatalf("%s: ListUploads: %v", what, err)
					}
					if !checkUploadPage(t, fmt.Sprintf("%s page %d (%q, %q)", what, pages, opts.KeyMarker, opts.UploadIDMarker), page, full[cursor:], limit) {
						break
					}
					cursor += min(pageSize, len(full)-cursor)
					if !page.Truncated {
						break
					}
					opts.KeyMarker, opts.UploadIDMarker = page.NextKeyMarker, page.NextUploadIDMarker
				}
			}
			// Single pages from markers that are keys, ids of them, common
			// prefixes, inside prefixes, between keys or beyond them.
			type marker struct{ key, id string }
			markers := []marker{{prefix, ""}, {prefix + "\x00", ""}, {"\U0010ffff", ""}, {"", "zz"}}
			for range 10 {
				u := ups[rng.IntN(len(ups))]
				k := u[0]
				markers = append(markers, marker{k, ""}, marker{k, u[1]}, marker{k, u[1] + "\x00"},
					marker{k, "a"}, marker{k, "\xff"}, marker{k[:rng.IntN(len(k)+1)], ""}, marker{k + "\x00", "x"})
			}
			ref := uploadReference(ups, prefix, delim, "", "")
			for _, e := range ref[:min(20, len(ref))] {
				if e.prefix {
					markers = append(markers, marker{e.key, ""}, marker{e.key, "z"}, marker{e.key[:len(e.key)-1], ""})
				}
			}
			for _, m := range markers {
				opts := meta.UploadListOptions{Prefix: prefix, Delimiter: delim, KeyMarker: m.key, UploadIDMarker: m.id, Limit: 5}
				page, err := s.ListUploads(ctx, "b", opts)
				if err != nil {
					t.Fatalf("ListUploads(%+v): %v", opts, err)
				}
				checkUploadPage(t, fmt.Sprintf("prefix %q delim %q markers %q %q", prefix, delim, m.key, m.id),
					page, uploadReference(ups, prefix, delim, m.key, m.id), 5)
			}
		}
	}
}
