package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/meta/embedded"
	"github.com/cofferstore/coffer/internal/meta/migrate"
)

func openEmbedded(t *testing.T) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fill writes one of everything a store holds into s.
func fill(t *testing.T, s meta.Store) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateBucket(ctx, meta.Bucket{Name: "plain", Owner: "alice", Region: "eu-1", Created: time.Unix(1e9, 0)}))
	must(s.CreateBucket(ctx, meta.Bucket{Name: "versioned", Owner: "bob", Region: "eu-1", Created: time.Unix(1e9, 5)}))
	must(s.PutBucketConfig(ctx, "plain", "cors", []byte("<CORSConfiguration/>")))
	must(s.PutBucketConfig(ctx, "versioned", "lifecycle", []byte("<LifecycleConfiguration/>")))
	for i := range 5 {
		o := meta.Object{Bucket: "plain", Key: fmt.Sprintf("inline/%d", i), Size: 3, ETag: "e", Modified: time.Now().UTC(), Inline: []byte("abc")}
		_, err := s.PutObject(ctx, o, meta.PutOptions{})
		must(err)
	}
	_, err := s.PutObject(ctx, meta.Object{Bucket: "plain", Key: "big", Size: 10, ETag: "b", Modified: time.Now().UTC(),
		Segments: []meta.Segment{{BlobID: "blob-1", Size: 10}}}, meta.PutOptions{})
	must(err)
	// A null version from before versioning, versions, a marker, a lock.
	_, err = s.PutObject(ctx, meta.Object{Bucket: "versioned", Key: "k", Size: 1, ETag: "n", Modified: time.Now().UTC(), Inline: []byte("n")}, meta.PutOptions{})
	must(err)
	_, err = s.UpdateBucket(ctx, "versioned", func(b *meta.Bucket) error { b.Versioning = meta.VersioningEnabled; return nil })
	must(err)
	for i := range 3 {
		o := meta.Object{Bucket: "versioned", Key: "k", Size: 1, ETag: fmt.Sprint("v", i), Modified: time.Now().UTC(), Inline: []byte{byte('0' + i)},
			Tags: map[string]string{"i": fmt.Sprint(i)}, LegalHold: i == 1}
		_, err = s.PutObject(ctx, o, meta.PutOptions{})
		must(err)
	}
	_, err = s.DeleteObject(ctx, "versioned", "gone", meta.DeleteOptions{})
	must(err)
	_, err = s.DeleteObject(ctx, "versioned", "k", meta.DeleteOptions{})
	must(err)
	u := meta.Upload{ID: "up-1", Initiated: time.Now().UTC(), Owner: "bob", Object: meta.Object{Bucket: "versioned", Key: "mp"}, ChecksumAlgorithm: "CRC32"}
	must(s.CreateUpload(ctx, u))
	for n := 1; n <= 3; n++ {
		_, err := s.PutPart(ctx, "versioned", "mp", "up-1", meta.Part{Number: n, Size: 5, ETag: "p", BlobID: fmt.Sprint("part-", n), Modified: time.Now().UTC()})
		must(err)
	}
	for _, id := range []string{"alice", "bob"} {
		_, err := s.PutRecord(ctx, meta.Record{Kind: "user", ID: id, Data: []byte(id), Rev: meta.RevNew})
		must(err)
	}
	_, err = s.PutRecord(ctx, meta.Record{Kind: "session", ID: "s1", Rev: meta.RevNew, Expires: time.Now().Add(time.Hour)})
	must(err)
	must(s.AppendEvents(ctx, []meta.Event{{Target: "t1", Name: "s3:TestEvent", Bucket: "plain"}, {Target: "t2", Name: "s3:TestEvent", Bucket: "versioned"}}))
}

// versionsOf renders every version of a bucket for comparison.
func versionsOf(t *testing.T, s meta.Store, bucket string) []string {
	t.Helper()
	ctx := context.Background()
	p, err := s.ListObjectVersions(ctx, bucket, meta.VersionListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range p.Versions {
		line := fmt.Sprintf("%s@%s latest=%v marker=%v etag=%s tags=%v hold=%v", v.Key, v.VersionID, v.IsLatest, v.DeleteMarker, v.ETag, v.Tags, v.LegalHold)
		if !v.DeleteMarker {
			full, err := s.GetObject(ctx, bucket, v.Key, v.VersionID)
			if err != nil {
				t.Fatalf("GetObject(%s@%s): %v", v.Key, v.VersionID, err)
			}
			line += fmt.Sprintf(" inline=%q segments=%v", full.Inline, full.Segments)
		}
		out = append(out, line)
	}
	return out
}

// CheckCopy fills a source, copies it into dst and compares everything.
// Other stores' tests call it with their own destination.
func checkCopy(t *testing.T, dst migrate.Destination) {
	src := openEmbedded(t)
	fill(t, src)
	ctx := context.Background()
	counts, err := migrate.Copy(ctx, src, dst, nil)
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if counts.Buckets != 2 || counts.Configs != 2 || counts.Versions["versioned"] != 6 || counts.Uploads != 1 || counts.Parts != 3 ||
		counts.Records["user"] != 2 || counts.Events["t1"] != 1 {
		t.Errorf("counts = %+v", counts)
	}
	for _, b := range []string{"plain", "versioned"} {
		want, got := versionsOf(t, src, b), versionsOf(t, dst, b)
		if fmt.Sprint(want) != fmt.Sprint(got) {
			t.Errorf("bucket %s:\nsource %q\ncopy   %q", b, want, got)
		}
		sb, _ := src.GetBucket(ctx, b)
		db, err := dst.GetBucket(ctx, b)
		if err != nil || db.Owner != sb.Owner || db.Versioning != sb.Versioning || !db.Created.Equal(sb.Created) {
			t.Errorf("bucket record %+v, %v; want %+v", db, err, sb)
		}
	}
	if used, err := dst.BlobInUse(ctx, "part-2"); err != nil || !used {
		t.Errorf("part blob in use in the copy = %v, %v", used, err)
	}
	if used, err := dst.BlobInUse(ctx, "blob-1"); err != nil || !used {
		t.Errorf("object blob in use in the copy = %v, %v", used, err)
	}
	// The copy behaves as a store: the held version is still protected.
	p, _ := dst.ListObjectVersions(ctx, "versioned", meta.VersionListOptions{Prefix: "k"})
	for _, v := range p.Versions {
		if v.LegalHold {
			if _, err := dst.DeleteObject(ctx, "versioned", "k", meta.DeleteOptions{VersionID: v.VersionID}); !errors.Is(err, meta.ErrLocked) {
				t.Errorf("deleting the held version in the copy: err = %v", err)
			}
		}
	}
	if _, err := migrate.Copy(ctx, src, dst, nil); !errors.Is(err, migrate.ErrNotEmpty) {
		t.Errorf("second copy err = %v, want ErrNotEmpty", err)
	}
}

func TestCopyEmbeddedToEmbedded(t *testing.T) {
	checkCopy(t, openEmbedded(t))
}
