package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/meta/migrate"
)

func TestExporter(t *testing.T) {
	ctx := context.Background()
	s := openFresh(t).(*Store)
	defer s.Close()
	if kinds, err := s.RecordKinds(ctx); err != nil || len(kinds) != 0 {
		t.Fatalf("kinds of an empty store = %q, %v", kinds, err)
	}
	for _, k := range []string{"user", "lease", "user", "a", "user2"} {
		if _, err := s.PutRecord(ctx, meta.Record{Kind: k, ID: "id-" + k, Rev: meta.RevAny}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutRecord(ctx, meta.Record{Kind: "user", ID: "second", Rev: meta.RevAny}); err != nil {
		t.Fatal(err)
	}
	kinds, err := s.RecordKinds(ctx)
	if err != nil || !slices.Equal(kinds, []string{"a", "lease", "user", "user2"}) {
		t.Errorf("RecordKinds = %q, %v", kinds, err)
	}
	for _, b := range []string{"b1", "b2"} {
		if err := s.CreateBucket(ctx, meta.Bucket{Name: b}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"tagging", "cors", "lifecycle"} {
		if err := s.PutBucketConfig(ctx, "b1", n, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutBucketConfig(ctx, "b2", "policy", []byte("p")); err != nil {
		t.Fatal(err)
	}
	names, err := s.BucketConfigNames(ctx, "b1")
	if err != nil || !slices.Equal(names, []string{"cors", "lifecycle", "tagging"}) {
		t.Errorf("BucketConfigNames(b1) = %q, %v", names, err)
	}
	if _, err := s.BucketConfigNames(ctx, "nob"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("BucketConfigNames(missing bucket) err = %v, want ErrBucketNotFound", err)
	}
}

func TestImportVersions(t *testing.T) {
	ctx := context.Background()
	s := openFresh(t).(*Store)
	defer s.Close()
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "b", Versioning: meta.VersioningEnabled}); err != nil {
		t.Fatal(err)
	}
	at := func(i int) time.Time { return time.Unix(1700000000, int64(i)).UTC() }
	vs := []meta.Object{ // newest first
		{Bucket: "b", Key: "k", VersionID: formatVersionID(at(9).UnixNano()), DeleteMarker: true, Modified: at(9)},
		{Bucket: "b", Key: "k", VersionID: formatVersionID(at(5).UnixNano()), ETag: "v5", Size: 2, Modified: at(5),
			Inline: []byte("v5"), LegalHold: true, Tags: map[string]string{"t": "5"}},
		{Bucket: "b", Key: "k", VersionID: meta.NullVersion, ETag: "null", Size: 4, Modified: at(3),
			Segments: []meta.Segment{{BlobID: "blob-null", Size: 4}}},
		{Bucket: "b", Key: "k", VersionID: formatVersionID(at(1).UnixNano()), ETag: "v1", Size: 2, Modified: at(1), Inline: []byte("v1")},
	}
	if err := s.ImportVersions(ctx, vs); err != nil {
		t.Fatal(err)
	}
	page, err := s.ListObjectVersions(ctx, "b", meta.VersionListOptions{})
	if err != nil || len(page.Versions) != len(vs) {
		t.Fatalf("ListObjectVersions = %d versions, %v; want %d", len(page.Versions), err, len(vs))
	}
	for i, got := range page.Versions {
		want := vs[i]
		if got.VersionID != want.VersionID || got.DeleteMarker != want.DeleteMarker || got.IsLatest != (i == 0) ||
			got.ETag != want.ETag || !got.Modified.Equal(want.Modified) || got.LegalHold != want.LegalHold ||
			!slices.Equal(got.Segments, want.Segments) {
			t.Errorf("version %d = %+v, want %+v", i, got, want)
		}
	}
	if o, err := s.GetObject(ctx, "b", "k", vs[1].VersionID); err != nil || string(o.Inline) != "v5" || o.Tags["t"] != "5" {
		t.Errorf("GetObject(imported version) = %+v, %v", o, err)
	}
	if o, err := s.GetObject(ctx, "b", "k", meta.NullVersion); err != nil || o.ETag != "null" {
		t.Errorf("GetObject(imported null version) = %+v, %v", o, err)
	}
	if used, err := s.BlobInUse(ctx, "blob-null"); err != nil || !used {
		t.Errorf("BlobInUse(imported segment) = %v, %v", used, err)
	}
	// The key now has versions; new writes go on top of the imported ones.
	if err := s.ImportVersions(ctx, vs); !errors.Is(err, meta.ErrPreconditionFailed) {
		t.Errorf("ImportVersions into a key with versions err = %v, want ErrPreconditionFailed", err)
	}
	res, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: "k", ETag: "new", Inline: []byte{}}, meta.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cur, err := s.GetObject(ctx, "b", "k", ""); err != nil || cur.VersionID != res.VersionID {
		t.Errorf("after a put on imported versions, latest = %+v, %v", cur, err)
	}
	for _, bad := range [][]meta.Object{
		{{Bucket: "b", Key: "x", VersionID: "not-ours"}},
		{{Bucket: "b", Key: "x", VersionID: formatVersionID(1)}, {Bucket: "b", Key: "x", VersionID: formatVersionID(2)}},
		{{Bucket: "b", Key: "x", VersionID: meta.NullVersion}, {Bucket: "b", Key: "x", VersionID: meta.NullVersion}},
		{{Bucket: "b", Key: "x", VersionID: formatVersionID(2)}, {Bucket: "b", Key: "y", VersionID: formatVersionID(1)}},
	} {
		if err := s.ImportVersions(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ImportVersions(%+v) err = %v, want ErrInvalid", bad, err)
		}
	}
	if err := s.ImportVersions(ctx, []meta.Object{{Bucket: "nob", Key: "k", VersionID: meta.NullVersion}}); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("ImportVersions(missing bucket) err = %v, want ErrBucketNotFound", err)
	}
}

// copyAndCompare copies the embedded store into a fresh PostgreSQL store
// with coffer meta migrate's Copy (which checks the counts), and then
// compares every version of bucket "b", ids and bytes included.
func (d *differ) copyAndCompare(ref *embedded.Store) {
	t, ctx := d.t, context.Background()
	// Something of every other kind, for Copy to carry and count.
	u := meta.Upload{ID: "up", Initiated: time.Now(), Object: meta.Object{Bucket: "b", Key: "mp"}}
	if err := ref.CreateUpload(ctx, u); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		if _, err := ref.PutPart(ctx, "b", "mp", "up", meta.Part{Number: n, Size: 1, BlobID: fmt.Sprint("part-", n)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ref.PutRecord(ctx, meta.Record{Kind: "user", ID: "alice", Data: []byte("a"), Rev: meta.RevNew}); err != nil {
		t.Fatal(err)
	}
	if err := ref.AppendEvents(ctx, []meta.Event{{Target: "t", Name: "s3:TestEvent", Bucket: "b"}}); err != nil {
		t.Fatal(err)
	}
	dst := openSchema(t, newSchema(t))
	defer dst.Close()
	counts, err := migrate.Copy(ctx, ref, dst, nil)
	if err != nil {
		t.Fatalf("migrate.Copy: %v", err)
	}
	t.Logf("copied %s", counts)
	exact := func(s meta.Store) string {
		out := ""
		opts := meta.VersionListOptions{Limit: 7}
		for {
			p, err := s.ListObjectVersions(ctx, "b", opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range p.Versions {
				o, err := s.GetObject(ctx, "b", v.Key, v.VersionID)
				if err != nil && !errors.Is(err, meta.ErrDeleteMarker) {
					t.Fatal(err)
				}
				out += fmt.Sprintf("%q@%s latest=%v marker=%v etag=%s hold=%v tags=%v segs=%v inline=%q\n",
					v.Key, v.VersionID, v.IsLatest, v.DeleteMarker, v.ETag, v.LegalHold, v.Tags, v.BlobIDs(), o.Inline)
			}
			if !p.Truncated {
				return out
			}
			opts.KeyMarker, opts.VersionIDMarker = p.NextKeyMarker, p.NextVersionIDMarker
		}
	}
	if want, got := exact(ref), exact(dst); want != got {
		t.Errorf("copied versions differ:\nembedded:\n%s\npostgres:\n%s", want, got)
	}
}
