package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// Records are a version byte followed by fields, each encoded as
// uvarint(tag) uvarint(len) payload. Every field carries its length, so a
// reader skips tags it does not know: records written by a newer release
// (versions, tags, multipart parts...) stay readable by an older one, and new
// fields never need a migration. Empty fields are omitted. This is several
// times cheaper to decode than JSON, which matters because a listing decodes a
// thousand records per page.
const recordVersion = 1

// errCorrupt reports a record that cannot be decoded.
var errCorrupt = errors.New("corrupt record")

// Object record fields. Bucket and Key are not stored: the record's key holds
// them. Inline bytes live under their own key; the record only notes that they
// exist.
const (
	fSize               = 1
	fETag               = 2
	fModified           = 3
	fContentType        = 4
	fContentEncoding    = 5
	fContentDisposition = 6
	fContentLanguage    = 7
	fCacheControl       = 8
	fExpires            = 9
	fUserMeta           = 10 // repeated: uvarint(len(name)) name value
	fChecksum           = 11 // repeated: uvarint(len(algo)) algo digest
	fStorageClass       = 12
	fInline             = 13 // present (empty payload) when Inline is non-nil
	fSegment            = 14 // repeated: uvarint(size) blobID
)

// Bucket record fields.
const (
	fOwner   = 1
	fRegion  = 2
	fCreated = 3
)

func appendField(b []byte, tag uint64, payload []byte) []byte {
	b = binary.AppendUvarint(b, tag)
	b = binary.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...)
}

func appendString(b []byte, tag uint64, s string) []byte {
	if s == "" {
		return b
	}
	b = binary.AppendUvarint(b, tag)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, tag uint64, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	var buf [2 * binary.MaxVarintLen64]byte
	p := binary.AppendVarint(buf[:0], t.Unix())
	p = binary.AppendUvarint(p, uint64(t.Nanosecond()))
	return appendField(b, tag, p)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// appendPair encodes a map entry; the value is the remainder of the payload.
func appendPair(b []byte, tag uint64, k, v string) []byte {
	b = binary.AppendUvarint(b, tag)
	b = binary.AppendUvarint(b, uint64(uvarintLen(uint64(len(k)))+len(k)+len(v)))
	b = binary.AppendUvarint(b, uint64(len(k)))
	return append(append(b, k...), v...)
}

func encodeObject(o *meta.Object) []byte {
	n := 32 + len(o.ETag) + len(o.ContentType) + len(o.ContentEncoding) +
		len(o.ContentDisposition) + len(o.ContentLanguage) + len(o.CacheControl) +
		len(o.Expires) + len(o.StorageClass)
	for k, v := range o.UserMeta {
		n += 8 + len(k) + len(v)
	}
	for k, v := range o.Checksums {
		n += 8 + len(k) + len(v)
	}
	for _, s := range o.Segments {
		n += 16 + len(s.BlobID)
	}
	b := make([]byte, 0, n)
	b = append(b, recordVersion)
	if o.Size != 0 {
		var buf [binary.MaxVarintLen64]byte
		b = appendField(b, fSize, binary.AppendVarint(buf[:0], o.Size))
	}
	b = appendString(b, fETag, o.ETag)
	b = appendTime(b, fModified, o.Modified)
	b = appendString(b, fContentType, o.ContentType)
	b = appendString(b, fContentEncoding, o.ContentEncoding)
	b = appendString(b, fContentDisposition, o.ContentDisposition)
	b = appendString(b, fContentLanguage, o.ContentLanguage)
	b = appendString(b, fCacheControl, o.CacheControl)
	b = appendString(b, fExpires, o.Expires)
	for k, v := range o.UserMeta {
		b = appendPair(b, fUserMeta, k, v)
	}
	for k, v := range o.Checksums {
		b = appendPair(b, fChecksum, k, v)
	}
	b = appendString(b, fStorageClass, o.StorageClass)
	if o.Inline != nil {
		b = appendField(b, fInline, nil)
	}
	for _, s := range o.Segments {
		size := uint64(s.Size)
		b = binary.AppendUvarint(b, fSegment)
		b = binary.AppendUvarint(b, uint64(uvarintLen(size)+len(s.BlobID)))
		b = binary.AppendUvarint(b, size)
		b = append(b, s.BlobID...)
	}
	return b
}

// fields walks the fields of a record, calling fn for each.
func fields(rec []byte, fn func(tag uint64, payload []byte) error) error {
	if len(rec) == 0 {
		return fmt.Errorf("empty record: %w", errCorrupt)
	}
	if rec[0] != recordVersion {
		return fmt.Errorf("record version %d: %w", rec[0], errCorrupt)
	}
	b := rec[1:]
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return fmt.Errorf("field tag: %w", errCorrupt)
		}
		b = b[n:]
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return fmt.Errorf("field %d length: %w", tag, errCorrupt)
		}
		b = b[n:]
		if err := fn(tag, b[:l]); err != nil {
			return err
		}
		b = b[l:]
	}
	return nil
}

func decodeVarint(p []byte) (int64, error) {
	v, n := binary.Varint(p)
	if n <= 0 || n != len(p) {
		return 0, fmt.Errorf("integer field: %w", errCorrupt)
	}
	return v, nil
}

func decodeTime(p []byte) (time.Time, error) {
	sec, n := binary.Varint(p)
	if n <= 0 {
		return time.Time{}, fmt.Errorf("time field: %w", errCorrupt)
	}
	nsec, m := binary.Uvarint(p[n:])
	if m <= 0 || n+m != len(p) || nsec >= 1e9 {
		return time.Time{}, fmt.Errorf("time field: %w", errCorrupt)
	}
	return time.Unix(sec, int64(nsec)).UTC(), nil
}

func decodePair(p []byte) (string, string, error) {
	l, n := binary.Uvarint(p)
	if n <= 0 || l > uint64(len(p)-n) {
		return "", "", fmt.Errorf("map entry: %w", errCorrupt)
	}
	p = p[n:]
	return string(p[:l]), string(p[l:]), nil
}

// decodeObject decodes a record into o, leaving Bucket, Key and Inline alone.
// It reports whether the object has inline bytes.
func decodeObject(rec []byte, o *meta.Object) (hasInline bool, err error) {
	err = fields(rec, func(tag uint64, p []byte) error {
		var err error
		switch tag {
		case fSize:
			o.Size, err = decodeVarint(p)
		case fETag:
			o.ETag = string(p)
		case fModified:
			o.Modified, err = decodeTime(p)
		case fContentType:
			o.ContentType = string(p)
		case fContentEncoding:
			o.ContentEncoding = string(p)
		case fContentDisposition:
			o.ContentDisposition = string(p)
		case fContentLanguage:
			o.ContentLanguage = string(p)
		case fCacheControl:
			o.CacheControl = string(p)
		case fExpires:
			o.Expires = string(p)
		case fUserMeta, fChecksum:
			k, v, err := decodePair(p)
			if err != nil {
				return err
			}
			if tag == fUserMeta {
				if o.UserMeta == nil {
					o.UserMeta = make(map[string]string)
				}
				o.UserMeta[k] = v
			} else {
				if o.Checksums == nil {
					o.Checksums = make(map[string]string)
				}
				o.Checksums[k] = v
			}
		case fStorageClass:
			o.StorageClass = string(p)
		case fInline:
			hasInline = true
		case fSegment:
			size, n := binary.Uvarint(p)
			if n <= 0 || size > 1<<63-1 {
				return fmt.Errorf("segment: %w", errCorrupt)
			}
			o.Segments = append(o.Segments, meta.Segment{BlobID: string(p[n:]), Size: int64(size)})
		}
		return err
	})
	return hasInline, err
}

func encodeBucket(b *meta.Bucket) []byte {
	out := make([]byte, 0, 24+len(b.Owner)+len(b.Region))
	out = append(out, recordVersion)
	out = appendString(out, fOwner, b.Owner)
	out = appendString(out, fRegion, b.Region)
	return appendTime(out, fCreated, b.Created)
}

// decodeBucket decodes a record into b, leaving Name alone.
func decodeBucket(rec []byte, b *meta.Bucket) error {
	return fields(rec, func(tag uint64, p []byte) error {
		var err error
		switch tag {
		case fOwner:
			b.Owner = string(p)
		case fRegion:
			b.Region = string(p)
		case fCreated:
			b.Created, err = decodeTime(p)
		}
		return err
	})
}
