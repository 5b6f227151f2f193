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
		Segments:     []meta.Segment{{BlobID: "b1", Size: 1 << 40}, {BlobID: "", Size: 0}},
	}
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
		if !reflect.DeepEqual(got, o) {
			t.Errorf("%s: round trip = %+v, want %+v", name, got, o)
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
	} {
		var got meta.Object
		if _, err := decodeObject(rec, &got); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: err = %v, want errCorrupt", name, err)
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
	b := meta.Bucket{Owner: "o", Created: time.Unix(1, 2)}
	f.Add(encodeBucket(&b))
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
		}
		var bk meta.Bucket
		if err := decodeBucket(rec, &bk); err == nil {
			var again meta.Bucket
			if err := decodeBucket(encodeBucket(&bk), &again); err != nil || again != bk {
				t.Fatalf("bucket re-encode: %+v -> %+v, %v", bk, again, err)
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
		slices.Equal(a.Segments, b.Segments)
}
