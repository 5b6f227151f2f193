package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
)

// TestMatchesEmbedded runs the same random sequence of writes against this
// store and the embedded one (the reference implementation) and compares
// every result, then every listing of the final state under many options,
// page by page. Version ids differ between the stores (both derive them from
// the clock), so they are compared through the write that created them.
func TestMatchesEmbedded(t *testing.T) {
	needDB(t)
	ctx := context.Background()
	pg := openSchema(t, newSchema(t))
	defer pg.Close()
	ref, err := embedded.Open(t.TempDir(), embedded.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	d := &differ{t: t, stores: [2]meta.Store{ref, pg}, ids: [2]map[string]string{{}, {}}, back: [2]map[string]string{{}, {}}}
	for _, s := range d.stores {
		if err := s.CreateBucket(ctx, meta.Bucket{Name: "b", Owner: "o"}); err != nil {
			t.Fatal(err)
		}
	}
	keys := []string{"a", "a/b", "a/c", "a/c/d", "b", "b/", "c\x00", "c", "d/e/f", "d/e/g", "\U0010ffff"}
	rng := rand.New(rand.NewPCG(42, 7))
	for step := range 1500 {
		d.step = step
		key := keys[rng.IntN(len(keys))]
		switch op := rng.IntN(20); {
		case op < 8:
			d.put(key, rng)
		case op < 13:
			d.del(key, rng)
		case op < 15:
			d.update(key, rng)
		case op == 15:
			state := []string{meta.VersioningEnabled, meta.VersioningSuspended}[rng.IntN(2)]
			if step < 200 {
				continue // the first writes run unversioned
			}
			for _, s := range d.stores {
				if _, err := s.UpdateBucket(ctx, "b", func(b *meta.Bucket) error { b.Versioning = state; return nil }); err != nil {
					t.Fatal(err)
				}
			}
		default:
			d.get(key, rng)
		}
	}
	d.compareListings(keys)
	d.copyAndCompare(ref)
}

type differ struct {
	t      *testing.T
	stores [2]meta.Store // reference, then the store under test
	// ids maps a logical version name ("w12": made by step 12) to each
	// store's id; back maps each store's id to the logical name.
	ids, back [2]map[string]string
	step      int
	known     []string // logical names of versions that may still exist
}

func (d *differ) record(i int, id string) string {
	if id == "" || id == meta.NullVersion {
		return id
	}
	if name, ok := d.back[i][id]; ok {
		return name
	}
	name := fmt.Sprintf("w%d", d.step)
	d.ids[i][name], d.back[i][id] = id, name
	if i == 0 {
		d.known = append(d.known, name)
	}
	return name
}

func (d *differ) name(i int, id string) string {
	if id == "" || id == meta.NullVersion {
		return id
	}
	if n, ok := d.back[i][id]; ok {
		return n
	}
	return "unknown:" + id
}

func (d *differ) storeID(i int, name string) string {
	if id, ok := d.ids[i][name]; ok {
		return id
	}
	return name
}

// class names the sentinel an error matches, so that the two stores'
// differently worded errors compare.
func class(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{{meta.ErrDeleteMarker, "delete-marker"}, {meta.ErrObjectNotFound, "not-found"}, {meta.ErrBucketNotFound, "no-bucket"},
		{meta.ErrPreconditionFailed, "precondition"}, {meta.ErrLocked, "locked"}} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return "ok"
}

// describe renders the fields of a record the comparison looks at.
func (d *differ) describe(i int, o *meta.Object) string {
	if o == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q@%s latest=%v marker=%v etag=%s size=%d segs=%v hold=%v ret=%s tags=%v",
		o.Key, d.name(i, o.VersionID), o.IsLatest, o.DeleteMarker, o.ETag, o.Size, o.BlobIDs(), o.LegalHold, o.Retention.Mode, o.Tags)
}

func (d *differ) same(what string, got [2]string) {
	d.t.Helper()
	if got[0] != got[1] {
		d.t.Fatalf("step %d: %s:\n embedded: %s\n postgres: %s", d.step, what, got[0], got[1])
	}
}

func (d *differ) cond(rng *rand.Rand, key string) *meta.Condition {
	switch rng.IntN(6) {
	case 0:
		return &meta.Condition{IfNoneMatch: true}
	case 1:
		o, err := d.stores[0].GetObject(context.Background(), "b", key, "")
		if err == nil {
			return &meta.Condition{IfMatch: o.ETag}
		}
		return &meta.Condition{IfMatch: "nope"}
	}
	return nil
}

func (d *differ) put(key string, rng *rand.Rand) {
	o := meta.Object{Bucket: "b", Key: key, ETag: fmt.Sprintf("e%d", d.step), Size: int64(d.step), Modified: time.Unix(int64(d.step), 0)}
	if rng.IntN(2) == 0 {
		o.Inline = []byte(o.ETag)
	} else {
		o.Segments = []meta.Segment{{BlobID: "blob-" + o.ETag, Size: o.Size}}
	}
	if rng.IntN(8) == 0 {
		o.LegalHold = true
	}
	if rng.IntN(8) == 0 {
		o.Retention = meta.Retention{Mode: meta.LockGovernance, Until: time.Now().Add(time.Hour)}
	}
	cond := d.cond(rng, key)
	var got [2]string
	for i, s := range d.stores {
		res, err := s.PutObject(context.Background(), o, meta.PutOptions{Cond: cond})
		got[i] = fmt.Sprintf("%s id=%s replaced=%s", class(err), d.record(i, res.VersionID), d.describe(i, res.Replaced))
	}
	d.same(fmt.Sprintf("PutObject(%q, %+v)", key, cond), got)
}

func (d *differ) pickVersion(rng *rand.Rand) string {
	switch n := rng.IntN(10); {
	case n == 0:
		return ""
	case n == 1:
		return meta.NullVersion
	case n == 2:
		return "0000000000000001"
	case len(d.known) > 0:
		return d.known[rng.IntN(len(d.known))]
	}
	return ""
}

func (d *differ) del(key string, rng *rand.Rand) {
	name := d.pickVersion(rng)
	bypass := rng.IntN(2) == 0
	var cond *meta.Condition
	if name == "" {
		cond = d.cond(rng, key)
	}
	var got [2]string
	for i, s := range d.stores {
		res, err := s.DeleteObject(context.Background(), "b", key, meta.DeleteOptions{VersionID: d.storeID(i, name), Cond: cond, BypassGovernance: bypass})
		got[i] = fmt.Sprintf("%s id=%s marker=%v removed=%s", class(err), d.record(i, res.VersionID), res.DeleteMarker, d.describe(i, res.Removed))
	}
	d.same(fmt.Sprintf("DeleteObject(%q, %q, bypass %v, %+v)", key, name, bypass, cond), got)
}

func (d *differ) update(key string, rng *rand.Rand) {
	name := d.pickVersion(rng)
	hold := rng.IntN(2) == 0
	tags := map[string]string{"step": fmt.Sprint(d.step)}
	var got [2]string
	for i, s := range d.stores {
		o, err := s.UpdateObject(context.Background(), "b", key, d.storeID(i, name), meta.UpdateOptions{}, func(o *meta.Object) error {
			o.LegalHold, o.Tags = hold, tags
			return nil
		})
		got[i] = fmt.Sprintf("%s %s", class(err), d.describe(i, &o))
	}
	d.same(fmt.Sprintf("UpdateObject(%q, %q)", key, name), got)
}

func (d *differ) get(key string, rng *rand.Rand) {
	name := d.pickVersion(rng)
	var got [2]string
	for i, s := range d.stores {
		o, err := s.GetObject(context.Background(), "b", key, d.storeID(i, name))
		got[i] = fmt.Sprintf("%s %s inline=%q", class(err), d.describe(i, &o), o.Inline)
	}
	d.same(fmt.Sprintf("GetObject(%q, %q)", key, name), got)
}

// compareListings pages through the final state with many options on both
// stores and compares the pages.
func (d *differ) compareListings(keys []string) {
	ctx := context.Background()
	prefixes := []string{"", "a", "a/", "a/c", "b", "c", "d/", "d/e/", "z", "\U0010ffff"}
	delims := []string{"", "/", "c", "\x00", "e/"}
	for _, prefix := range prefixes {
		for _, delim := range delims {
			for _, limit := range []int{1, 2, 3, 1000} {
				var got [2]string
				for i, s := range d.stores {
					got[i] = d.pageObjects(ctx, s, i, meta.ListOptions{Prefix: prefix, Delimiter: delim, Limit: limit})
				}
				d.same(fmt.Sprintf("ListObjects(prefix %q, delim %q, limit %d)", prefix, delim, limit), got)
				for i, s := range d.stores {
					got[i] = d.pageVersions(ctx, s, i, meta.VersionListOptions{Prefix: prefix, Delimiter: delim, Limit: limit})
				}
				d.same(fmt.Sprintf("ListObjectVersions(prefix %q, delim %q, limit %d)", prefix, delim, limit), got)
			}
			// Pages from markers of every kind.
			for _, k := range append(slices.Clone(keys), "", "a/c/", "d/e", "zz") {
				var got [2]string
				for i, s := range d.stores {
					got[i] = d.pageObjects(ctx, s, i, meta.ListOptions{Prefix: prefix, Delimiter: delim, After: k, Limit: 4})
				}
				d.same(fmt.Sprintf("ListObjects(prefix %q, delim %q, after %q)", prefix, delim, k), got)
				for _, name := range append([]string{"", meta.NullVersion, "0000000000000001"}, d.known[len(d.known)-5:]...) {
					for i, s := range d.stores {
						got[i] = d.pageVersions(ctx, s, i, meta.VersionListOptions{Prefix: prefix, Delimiter: delim,
							KeyMarker: k, VersionIDMarker: d.storeID(i, name), Limit: 4})
					}
					d.same(fmt.Sprintf("ListObjectVersions(prefix %q, delim %q, markers %q %q)", prefix, delim, k, name), got)
				}
			}
		}
	}
}

// pageObjects renders every page of a listing from opts on.
func (d *differ) pageObjects(ctx context.Context, s meta.Store, i int, opts meta.ListOptions) string {
	var b strings.Builder
	for pages := 0; pages < 100; pages++ {
		p, err := s.ListObjects(ctx, "b", opts)
		if err != nil {
			return "error: " + err.Error()
		}
		fmt.Fprintf(&b, "[")
		for _, o := range p.Objects {
			// Listed objects are current versions; the embedded store
			// leaves their IsLatest unset, which the suite does not pin.
			o.IsLatest = true
			fmt.Fprintf(&b, "%s; ", d.describe(i, &o))
		}
		fmt.Fprintf(&b, "cps %q truncated %v next %q] ", p.CommonPrefixes, p.Truncated, p.NextAfter)
		if !p.Truncated || opts.Limit > 4 {
			break
		}
		opts.After = p.NextAfter
	}
	return b.String()
}

func (d *differ) pageVersions(ctx context.Context, s meta.Store, i int, opts meta.VersionListOptions) string {
	var b strings.Builder
	for pages := 0; pages < 200; pages++ {
		p, err := s.ListObjectVersions(ctx, "b", opts)
		if err != nil {
			return "error: " + err.Error()
		}
		fmt.Fprintf(&b, "[")
		for _, o := range p.Versions {
			fmt.Fprintf(&b, "%s; ", d.describe(i, &o))
		}
		fmt.Fprintf(&b, "cps %q truncated %v next %q %s] ", p.CommonPrefixes, p.Truncated, p.NextKeyMarker, d.name(i, p.NextVersionIDMarker))
		if !p.Truncated || opts.Limit > 4 {
			break
		}
		opts.KeyMarker, opts.VersionIDMarker = p.NextKeyMarker, p.NextVersionIDMarker
	}
	return b.String()
}
