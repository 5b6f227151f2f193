package embedded

import (
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

func sampleRecord() meta.Object {
	return meta.Object{
		Size: 1234567, ETag: "0123456789abcdef0123456789abcdef-2",
		Modified:    time.Date(2025, 1, 2, 3, 4, 5, 999999999, time.UTC),
		ContentType: "text/plain", ContentEncoding: "gzip", ContentDisposition: "inline",
		ContentLanguage: "en", CacheControl: "no-cache", Expires: "tomorrow",
		UserMeta:     map[string]string{"a": "1", "": "empty name", "nul\x00": "v\x00"},
		Checksums:    map[string]string{"CRC32C": "abcd"},
		StorageClass: "STANDARD",
		Segments: []meta.Segment{{BlobID: "b1", Size: 1 << 40}, {BlobID: "", Size: 0},
			{BlobID: "p3", Size: 5 << 20, PartNumber: 3, ETag: "ffeeddccbbaa99887766554433221100", Checksum: "AAAAAA=="},
			{BlobID: "p4", Size: 1, PartNumber: 10000}},
		ChecksumType: "COMPOSITE", UploadID: "upload-\x00-id", PartsCount: 4,
		Tags:      map[string]string{"project": "coffer", "": "", "k\x00": "v=1&w"},
		VersionID: "0000000000000001", DeleteMarker: true, LegalHold: true,
		Retention: meta.Retention{Mode: meta.LockCompliance, Until: time.Date(2030, 1, 1, 0, 0, 0, 5, time.UTC)},
	}
}

// replaceTags retags a record through replaceLock, keeping its lock fields.
func replaceTags(rec []byte, tags map[string]string) ([]byte, error) {
	var o meta.Object
	if _, err := decodeObject(rec, &o); err != nil {
		return nil, err
	}
	o.Tags = tags
	return replaceLock(rec, &o)
}

func sampleUpload() meta.Upload {
	o := sampleRecord()
	o.Size, o.ETag, o.Segments, o.PartsCount, o.UploadID = 0, "", nil, 0, ""
	return meta.Upload{
		Initiated: time.Date(2025, 6, 7, 8, 9, 10, 11, time.UTC), Owner: "alice",
		Object: o, ChecksumAlgorithm: "CRC64NVME", ChecksumType: "FULL_OBJECT",
	}
}

func samplePart() meta.Part {
	return meta.Part{Size: 5 << 20, ETag: "00112233445566778899aabbccddeeff", Checksum: "AAAAAAAAAAA=",
		Modified: time.Date(2025, 6, 7, 8, 9, 11, 0, time.UTC), BlobID: "blob/part\x00"}
}

func TestRecordRoundTrip(t *testing.T) {
	cases := map[string]meta.Object{
		"full":     sampleRecord(),
		"empty":    {},
		"inline":   {Size: 3, Inline: []byte("abc")},
		"zeroLen":  {Inline: []byte{}},
		"negative": {Size: -1, Modified: time.Unix(-1e10, 5).UTC()},
		"maxSize":  {Size: math.MaxInt64, Segments: []meta.Segment{{BlobID: "x", Size: math.MaxInt64}}},
		"epoch":    {Modified: time.Unix(0, 0).UTC()},
	}
	for name, o := range cases {
		var got meta.Object
		hasInline, err := decodeObject(encodeObject(&o), &got)
		if err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if hasInline != (o.Inline != nil) {
			t.Errorf("%s: hasInline = %v", name, hasInline)
		}
		o.Inline = nil
		if o.VersionID == "" {
			o.VersionID = meta.NullVersion // a version's record without an id is the null version
		}
		if !reflect.DeepEqual(got, o) {
			t.Errorf("%s: round trip = %+v, want %+v", name, got, o)
		}
	}
	// A segment with only part fields, one of several: the index must
	// point at the right one.
	mid := meta.Object{VersionID: "v", Segments: []meta.Segment{{BlobID: "a"}, {BlobID: "b", Checksum: "c"}, {BlobID: "d"}}}
	var gotMid meta.Object
	if _, err := decodeObject(encodeObject(&mid), &gotMid); err != nil || !reflect.DeepEqual(gotMid, mid) {
		t.Errorf("partial part fields round trip = %+v, %v; want %+v", gotMid, err, mid)
	}
	for name, u := range map[string]meta.Upload{"full": sampleUpload(), "empty": {}} {
		var got meta.Upload
		if err := decodeUpload(encodeUpload(&u), &got); err != nil || !reflect.DeepEqual(got, u) {
			t.Errorf("upload %s round trip = %+v, %v; want %+v", name, got, err, u)
		}
	}
	for name, p := range map[string]meta.Part{"full": samplePart(), "empty": {}, "negative": {Size: -1}} {
		var got meta.Part
		if err := decodePart(encodePart(&p), &got); err != nil || got != p {
			t.Errorf("part %s round trip = %+v, %v; want %+v", name, got, err, p)
		}
	}
	b := meta.Bucket{Owner: "o", Region: "r", Created: time.Date(2030, 1, 1, 0, 0, 0, 1, time.UTC)}
	var gotB meta.Bucket
	if err := decodeBucket(encodeBucket(&b), &gotB); err != nil || gotB != b {
		t.Errorf("bucket round trip = %+v, %v; want %+v", gotB, err, b)
	}
}

// TestRecordSkipsUnknownFields: a record from a newer release, with fields
// this one does not know, still decodes.
func TestRecordSkipsUnknownFields(t *testing.T) {
	o := sampleRecord()
	rec := encodeObject(&o)
	rec = appendField(rec, 99, []byte("future field"))
	rec = appendField(rec, 1<<20, nil)
	var got meta.Object
	if _, err := decodeObject(rec, &got); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !reflect.DeepEqual(got, o) {
		t.Errorf("decoded %+v, want %+v", got, o)
	}
	u := sampleUpload()
	var gotU meta.Upload
	if err := decodeUpload(appendField(encodeUpload(&u), 77, []byte("x")), &gotU); err != nil || !reflect.DeepEqual(gotU, u) {
		t.Errorf("upload with unknown field = %+v, %v; want %+v", gotU, err, u)
	}
	p := samplePart()
	var gotP meta.Part
	if err := decodePart(appendField(encodePart(&p), 77, []byte("x")), &gotP); err != nil || gotP != p {
		t.Errorf("part with unknown field = %+v, %v; want %+v", gotP, err, p)
	}
}

// TestRecordOlderReader: a reader that knows only the first release's
// fields (here: decoding with the part fields skipped) still reads every
// segment's blob and size from a multipart object's record.
func TestRecordOlderReader(t *testing.T) {
	o := sampleRecord()
	var old []meta.Segment
	err := fields(encodeObject(&o), func(tag uint64, p []byte) error {
		if tag == fSegment {
			size, n := binary.Uvarint(p)
			old = append(old, meta.Segment{BlobID: string(p[n:]), Size: int64(size)})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(old) != len(o.Segments) {
		t.Fatalf("old reader saw %d segments, want %d", len(old), len(o.Segments))
	}
	for i, sg := range o.Segments {
		if old[i].BlobID != sg.BlobID || old[i].Size != sg.Size {
			t.Errorf("old reader segment %d = %+v, want blob %q size %d", i, old[i], sg.BlobID, sg.Size)
		}
	}
}

func TestRecordCorrupt(t *testing.T) {
	o := sampleRecord()
	good := encodeObject(&o)
	for name, rec := range map[string][]byte{
		"empty":        nil,
		"version":      {recordVersion + 1},
		"truncated":    good[:len(good)-1],
		"badLength":    {recordVersion, fETag, 200, 'x'},
		"badTag":       {recordVersion, 0x80},
		"badSize":      {recordVersion, fSize, 1, 0x80},
		"sizeTrailing": {recordVersion, fSize, 2, 2, 2},
		"badTime":      {recordVersion, fModified, 2, 0, 0x80},
		"badNanos":     binary.AppendUvarint([]byte{recordVersion, fModified, 6, 0}, 1e9),
		"badPair":      {recordVersion, fUserMeta, 1, 5},
		"badSegment":   {recordVersion, fSegment, 0},
		// Part fields for a segment that does not exist (yet).
		"partIndex":     {recordVersion, fSegment, 1, 0, fSegmentPart, 3, 1, 2, 0},
		"partBeforeSeg": {recordVersion, fSegmentPart, 3, 0, 2, 0, fSegment, 1, 0},
		"partNumber":    {recordVersion, fSegment, 1, 0, fSegmentPart, 2, 0, 0x80},
		"partETag":      {recordVersion, fSegment, 1, 0, fSegmentPart, 3, 0, 2, 5},
		"partsCount":    {recordVersion, fPartsCount, 1, 0x80},
	} {
		var got meta.Object
		if _, err := decodeObject(rec, &got); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: err = %v, want errCorrupt", name, err)
		}
	}
	for name, rec := range map[string][]byte{
		"empty":     nil,
		"version":   {0},
		"initiated": {recordVersion, fUploadInitiated, 1, 0x80},
		"object":    {recordVersion, fUploadObject, 1, recordVersion + 1},
		"objField":  {recordVersion, fUploadObject, 3, recordVersion, fSize, 5},
	} {
		var u meta.Upload
		if err := decodeUpload(rec, &u); !errors.Is(err, errCorrupt) {
			t.Errorf("upload %s: err = %v, want errCorrupt", name, err)
		}
	}
	for name, rec := range map[string][]byte{
		"empty":    nil,
		"size":     {recordVersion, fPartSize, 2, 1, 1},
		"modified": {recordVersion, fPartModified, 0},
		"length":   {recordVersion, fPartBlob, 9, 'x'},
	} {
		var p meta.Part
		if err := decodePart(rec, &p); !errors.Is(err, errCorrupt) {
			t.Errorf("part %s: err = %v, want errCorrupt", name, err)
		}
	}
}

// FuzzDecodeObject: records come from disk, which can be corrupt. Decoding
// must never panic, and whatever decodes must survive a re-encode unchanged.
func FuzzDecodeObject(f *testing.F) {
	o := sampleRecord()
	f.Add(encodeObject(&o))
	f.Add(encodeObject(&meta.Object{Inline: []byte{}}))
	f.Add([]byte{recordVersion, fUserMeta, 3, 1, 'k', 'v'})
	f.Add([]byte{recordVersion, fSegment, 2, 0x80, 1})
	f.Add([]byte{recordVersion, 99, 0})
	f.Add([]byte{recordVersion, fSegment, 1, 0, fSegmentPart, 4, 0, 2, 1, 'e'})
	f.Add([]byte{recordVersion, fTag, 3, 1, 'k', 'v', fTag, 1, 0, fInline, 0})
	f.Add([]byte{recordVersion, fTag, 2, 5, 'k'})
	b := meta.Bucket{Owner: "o", Created: time.Unix(1, 2)}
	f.Add(encodeBucket(&b))
	u := sampleUpload()
	f.Add(encodeUpload(&u))
	p := samplePart()
	f.Add(encodePart(&p))
	f.Fuzz(func(t *testing.T, rec []byte) {
		var got meta.Object
		hasInline, err := decodeObject(rec, &got)
		if err == nil {
			if hasInline {
				got.Inline = []byte{}
			}
			var again meta.Object
			hasInline2, err := decodeObject(encodeObject(&got), &again)
			if err != nil {
				t.Fatalf("re-decoding an encoded record: %v", err)
			}
			again.Inline = got.Inline
			if hasInline2 != hasInline || !sameObject(got, again) {
				t.Fatalf("re-encode changed the record: %+v -> %+v", got, again)
			}
			checkReplaceTags(t, rec, got, hasInline)
		}
		var bk meta.Bucket
		if err := decodeBucket(rec, &bk); err == nil {
			var again meta.Bucket
			if err := decodeBucket(encodeBucket(&bk), &again); err != nil || again != bk {
				t.Fatalf("bucket re-encode: %+v -> %+v, %v", bk, again, err)
			}
		}
		var up meta.Upload
		if err := decodeUpload(rec, &up); err == nil {
			var again meta.Upload
			if err := decodeUpload(encodeUpload(&up), &again); err != nil {
				t.Fatalf("re-decoding an encoded upload: %v", err)
			}
			if !again.Initiated.Equal(up.Initiated) || again.Owner != up.Owner ||
				again.ChecksumAlgorithm != up.ChecksumAlgorithm || again.ChecksumType != up.ChecksumType ||
				!sameObject(again.Object, up.Object) {
				t.Fatalf("upload re-encode: %+v -> %+v", up, again)
			}
		}
		var pt meta.Part
		if err := decodePart(rec, &pt); err == nil {
			var again meta.Part
			if err := decodePart(encodePart(&pt), &again); err != nil || again != pt {
				t.Fatalf("part re-encode: %+v -> %+v, %v", pt, again, err)
			}
		}
	})
}

func sameObject(a, b meta.Object) bool {
	return a.Size == b.Size && a.ETag == b.ETag && a.Modified.Equal(b.Modified) &&
		a.ContentType == b.ContentType && a.ContentEncoding == b.ContentEncoding &&
		a.ContentDisposition == b.ContentDisposition && a.ContentLanguage == b.ContentLanguage &&
		a.CacheControl == b.CacheControl && a.Expires == b.Expires && a.StorageClass == b.StorageClass &&
		maps.Equal(a.UserMeta, b.UserMeta) && maps.Equal(a.Checksums, b.Checksums) &&
		a.ChecksumType == b.ChecksumType && a.UploadID == b.UploadID && a.PartsCount == b.PartsCount &&
		maps.Equal(a.Tags, b.Tags) && slices.Equal(a.Segments, b.Segments) &&
		a.VersionID == b.VersionID && a.DeleteMarker == b.DeleteMarker && a.LegalHold == b.LegalHold &&
		a.Retention.Mode == b.Retention.Mode && a.Retention.Until.Equal(b.Retention.Until)
}

// checkReplaceTags: retagging the record rec (which decodes to got) changes
// its tags and nothing else, and retagging twice is the same as once.
func checkReplaceTags(t *testing.T, rec []byte, got meta.Object, hasInline bool) {
	t.Helper()
	for _, tags := range []map[string]string{nil, {"new": "tag", "": "\x00"}} {
		out, err := replaceTags(rec, tags)
		if err != nil {
			t.Fatalf("replaceTags of a decodable record: %v", err)
		}
		var re meta.Object
		hasInline2, err := decodeObject(out, &re)
		if err != nil {
			t.Fatalf("decoding a retagged record: %v", err)
		}
		want := got
		want.Tags = tags
		if len(tags) == 0 {
			want.Tags = nil
		}
		re.Inline = got.Inline
		if hasInline2 != hasInline || !sameObject(re, want) {
			t.Fatalf("replaceTags(%q) changed more than tags: %+v -> %+v", tags, got, re)
		}
		twice, err := replaceTags(out, tags)
		if err != nil || len(twice) != len(out) {
			t.Fatalf("retagging a retagged record: %d bytes, %v; want %d bytes", len(twice), err, len(out))
		}
	}
}

// TestReplaceTags: a retagged record keeps every other field byte for byte,
// fields unknown to this release included; old records decode with nil
// Tags; a record with broken framing is refused.
func TestReplaceTags(t *testing.T) {
	o := sampleRecord()
	o.Inline = []byte("x")
	rec := appendField(encodeObject(&o), 99, []byte("future field"))
	tags := map[string]string{"a": "1"}
	out, err := replaceTags(rec, tags)
	if err != nil {
		t.Fatal(err)
	}
	var got meta.Object
	hasInline, err := decodeObject(out, &got)
	if err != nil || !hasInline {
		t.Fatalf("decode retagged = inline %v, %v", hasInline, err)
	}
	want := o
	want.Inline, want.Tags = nil, tags
	if !reflect.DeepEqual(got, want) {
		t.Errorf("retagged record = %+v, want %+v", got, want)
	}
	var future []byte
	_ = fields(out, func(tag uint64, p []byte) error {
		if tag == 99 {
			future = p
		}
		return nil
	})
	if string(future) != "future field" {
		t.Errorf("unknown field after retagging = %q, want it kept", future)
	}

	// A record written before tags existed: no fTag field, nil Tags.
	o.Tags = nil
	var old meta.Object
	if _, err := decodeObject(encodeObject(&o), &old); err != nil || old.Tags != nil {
		t.Errorf("record without tags decodes with Tags %#v, %v; want nil", old.Tags, err)
	}
	for name, bad := range map[string][]byte{
		"empty":   nil,
		"version": {recordVersion + 1},
		"length":  {recordVersion, fETag, 9, 'x'},
	} {
		if _, err := replaceTags(bad, tags); !errors.Is(err, errCorrupt) {
			t.Errorf("replaceTags(%s) err = %v, want errCorrupt", name, err)
		}
	}
	var m meta.Object
	if _, err := decodeObject([]byte{recordVersion, fTag, 2, 5, 'k'}, &m); !errors.Is(err, errCorrupt) {
		t.Errorf("decoding a bad tag entry: err = %v, want errCorrupt", err)
	}
}
