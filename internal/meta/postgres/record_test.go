package postgres

import (
	"bytes"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

func sampleObject() meta.Object {
	return meta.Object{
		Size: 42, ETag: "abc-2", Modified: time.Date(2300, 1, 2, 3, 4, 5, 6, time.UTC),
		ContentType: "text/plain", ContentEncoding: "gzip", ContentDisposition: "inline",
		ContentLanguage: "en", CacheControl: "no-cache", Expires: "soon",
		UserMeta:     map[string]string{"a": "1", "": "empty name", "nul": "x\x00y"},
		Checksums:    map[string]string{"CRC32": "AAAAAA=="},
		ChecksumType: "COMPOSITE", StorageClass: "STANDARD", UploadID: "up\x00", PartsCount: 2,
		Tags:      map[string]string{"t": "v", "\xff": ""},
		Retention: meta.Retention{Mode: meta.LockCompliance, Until: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		LegalHold: true,
		Segments: []meta.Segment{
			{BlobID: "b1", Size: 1 << 40, PartNumber: 1, ETag: "e1", Checksum: "c1"},
			{BlobID: "", Size: 0, PartNumber: -1, ETag: "", Checksum: "\x00"},
		},
	}
}

// TestRecordRoundTrip: every field survives, times exactly and in any
// year, strings with any bytes.
func TestRecordRoundTrip(t *testing.T) {
	o := sampleObject()
	var got meta.Object
	if err := decodeObject(encodeObject(&o, true), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o, got) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, o)
	}
	var noSize meta.Object
	if err := decodeObject(encodeObject(&o, false), &noSize); err != nil || noSize.Size != 0 {
		t.Errorf("record without size decodes to size %d, %v", noSize.Size, err)
	}

	u := meta.Upload{Initiated: time.Unix(-1e12, 5).UTC(), Owner: "o\x00", ChecksumAlgorithm: "CRC32C", ChecksumType: "FULL_OBJECT", Object: o}
	var gu meta.Upload
	if err := decodeUpload(encodeUpload(&u), &gu); err != nil || !reflect.DeepEqual(u, gu) {
		t.Errorf("upload round trip = %+v, %v; want %+v", gu, err, u)
	}
	p := meta.Part{ETag: "e", Checksum: "c", Modified: time.Unix(1, 2).UTC()}
	var gp meta.Part
	if err := decodePart(encodePart(&p), &gp); err != nil || !reflect.DeepEqual(p, gp) {
		t.Errorf("part round trip = %+v, %v; want %+v", gp, err, p)
	}
	e := meta.Event{ConfigID: "c", Name: "n", Time: time.Unix(3, 4).UTC(), Bucket: "b", Key: "k\x00", VersionID: "v",
		ETag: "e", Size: -7, Principal: "p", SourceIP: "ip", RequestID: "r"}
	var ge meta.Event
	if err := decodeEvent(encodeEvent(&e), &ge); err != nil || !reflect.DeepEqual(e, ge) {
		t.Errorf("event round trip = %+v, %v; want %+v", ge, err, e)
	}
	b := meta.Bucket{Owner: "o", Region: "r", Created: time.Unix(5, 6).UTC()}
	var gb meta.Bucket
	if err := decodeBucket(encodeBucket(&b), &gb); err != nil || !reflect.DeepEqual(b, gb) {
		t.Errorf("bucket round trip = %+v, %v; want %+v", gb, err, b)
	}
}

// TestReplaceMutable: an update rewrites tags and lock fields and keeps
// every other field, including one this release does not know.
func TestReplaceMutable(t *testing.T) {
	o := sampleObject()
	const unknownTag = 99
	rec := appendField(encodeObject(&o, false), unknownTag, []byte("from the future"))
	next := o
	next.Tags, next.Retention, next.LegalHold = map[string]string{"new": "tag"}, meta.Retention{}, false
	out, err := replaceMutable(rec, &next)
	if err != nil {
		t.Fatal(err)
	}
	var got meta.Object
	if err := decodeObject(out, &got); err != nil {
		t.Fatal(err)
	}
	want := next
	want.Size = 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after replaceMutable:\n got %+v\nwant %+v", got, want)
	}
	kept := false
	if err := fields(out, func(tag uint64, p []byte) error {
		kept = kept || (tag == unknownTag && bytes.Equal(p, []byte("from the future")))
		return nil
	}); err != nil || !kept {
		t.Errorf("the unknown field was dropped (%v)", err)
	}
}

func TestRecordCorrupt(t *testing.T) {
	rec := encodeObject(&meta.Object{ETag: "x", Modified: time.Unix(1, 1)}, false)
	for i := range len(rec) {
		var o meta.Object
		if err := decodeObject(rec[:i], &o); i > 0 && err == nil && o.ETag == "x" && !o.Modified.IsZero() {
			t.Errorf("truncated record of %d bytes decoded whole", i)
		}
	}
	var o meta.Object
	if err := decodeObject([]byte{byte(fModified), 2, 0, 0xff}, &o); err == nil {
		t.Error("a time with a truncated nanosecond field decoded")
	}
}

// FuzzRecords feeds arbitrary bytes, as a damaged or hostile row would
// hold, to every record decoder: none may panic, and a decoded object
// encodes to a record that decodes to the same object.
func FuzzRecords(f *testing.F) {
	o := sampleObject()
	u := meta.Upload{Owner: "o", Object: o}
	f.Add(encodeObject(&o, true))
	f.Add(encodeUpload(&u))
	f.Add(encodePart(&meta.Part{ETag: "e", Modified: time.Unix(1, 2)}))
	f.Add(encodeEvent(&meta.Event{Name: "n", Key: "k", Size: 3}))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, rec []byte) {
		var (
			b  meta.Bucket
			up meta.Upload
			p  meta.Part
			e  meta.Event
			o  meta.Object
		)
		_ = decodeBucket(rec, &b)
		_ = decodeUpload(rec, &up)
		_ = decodePart(rec, &p)
		_ = decodeEvent(rec, &e)
		if decodeObject(rec, &o) != nil {
			return
		}
		var again meta.Object
		if err := decodeObject(encodeObject(&o, true), &again); err != nil {
			t.Fatalf("re-encoded object does not decode: %v", err)
		}
		if !sameObject(o, again) {
			t.Fatalf("object changed through a round trip:\n%+v\n%+v", o, again)
		}
	})
}

// sameObject compares decoded records: nil and empty maps are the same,
// times compare as instants.
func sameObject(a, b meta.Object) bool {
	return a.Size == b.Size && a.ETag == b.ETag && a.Modified.Equal(b.Modified) &&
		a.ContentType == b.ContentType && a.ContentEncoding == b.ContentEncoding &&
		a.ContentDisposition == b.ContentDisposition && a.ContentLanguage == b.ContentLanguage &&
		a.CacheControl == b.CacheControl && a.Expires == b.Expires &&
		maps.Equal(a.UserMeta, b.UserMeta) && maps.Equal(a.Checksums, b.Checksums) && maps.Equal(a.Tags, b.Tags) &&
		a.ChecksumType == b.ChecksumType && a.StorageClass == b.StorageClass && a.UploadID == b.UploadID &&
		a.PartsCount == b.PartsCount && slices.Equal(a.Segments, b.Segments) &&
		a.Retention.Mode == b.Retention.Mode && a.Retention.Until.Equal(b.Retention.Until) && a.LegalHold == b.LegalHold
}
