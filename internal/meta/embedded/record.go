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
	fChecksumType       = 15
	fUploadID           = 16
	fPartsCount         = 17 // varint
	// fSegmentPart carries a segment's part fields: repeated,
	// uvarint(segment index) varint(part number) uvarint(len(etag)) etag
	// checksum. It refers to an fSegment by position instead of extending
	// fSegment's payload so that a release that knows only fSegment still
	// reads every segment's blob and size right.
	fSegmentPart = 18
	// fTag is one object tag, repeated: uvarint(len(key)) key value. Tags
	// came after the first release; records without them decode with nil
	// Tags, and a release that does not know them skips them.
	fTag = 19
	// Versioning fields. A version's record without fVersionID is the null
	// version (every record written before versioning existed is one);
	// without fOrder its place among the key's versions is its Modified time.
	fVersionID      = 20
	fDeleteMarker   = 21 // present (empty payload) on delete markers
	fRetentionMode  = 22
	fRetentionUntil = 23
	fLegalHold      = 24 // present (empty payload) when on
	fOrder          = 25 // varint: the version's position, see versions.go
	// fACL is the version's access control list, opaque (iam encodes it).
	// Records without it are owner-only; a release that does not know it
	// skips it, and keeps it through UpdateObject.
	fACL = 26
)

// lockFields are the fields UpdateObject may rewrite.
var lockFields = map[uint64]bool{fTag: true, fRetentionMode: true, fRetentionUntil: true, fLegalHold: true, fACL: true}

// Bucket record fields.
const (
	fOwner      = 1
	fRegion     = 2
	fCreated    = 3
	fVersioning = 4
	fObjectLock = 5 // present (empty payload) when enabled
)

// Upload record fields. Bucket, key and ID are in the record's key.
const (
	fUploadInitiated         = 1
	fUploadOwner             = 2
	fUploadObject            = 3 // a whole object record: the template
	fUploadChecksumAlgorithm = 4
	fUploadChecksumType      = 5
)

// Part record fields. The number is in the record's key.
const (
	fPartSize     = 1 // varint
	fPartETag     = 2
	fPartModified = 3
	fPartChecksum = 4
	fPartBlob     = 5
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
	n := 32 + len(o.ACL) + len(o.ETag) + len(o.ContentType) + len(o.ContentEncoding) +
		len(o.ContentDisposition) + len(o.ContentLanguage) + len(o.CacheControl) +
		len(o.Expires) + len(o.StorageClass) + len(o.ChecksumType) + len(o.UploadID)
	for k, v := range o.UserMeta {
		n += 8 + len(k) + len(v)
	}
	for k, v := range o.Checksums {
		n += 8 + len(k) + len(v)
	}
	for k, v := range o.Tags {
		n += 8 + len(k) + len(v)
	}
	for _, s := range o.Segments {
		n += 16 + len(s.BlobID)
		if s.PartNumber != 0 || s.ETag != "" || s.Checksum != "" {
			n += 24 + len(s.ETag) + len(s.Checksum)
		}
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
	b = appendString(b, fChecksumType, o.ChecksumType)
	b = appendString(b, fUploadID, o.UploadID)
	if o.PartsCount != 0 {
		b = appendVarint(b, fPartsCount, int64(o.PartsCount))
	}
	for i, s := range o.Segments {
		if s.PartNumber == 0 && s.ETag == "" && s.Checksum == "" {
			continue
		}
		var buf [128]byte // enough for an MD5 ETag and any checksum
		p := binary.AppendUvarint(buf[:0], uint64(i))
		p = binary.AppendVarint(p, int64(s.PartNumber))
		p = binary.AppendUvarint(p, uint64(len(s.ETag)))
		p = append(append(p, s.ETag...), s.Checksum...)
		b = appendField(b, fSegmentPart, p)
	}
	b = appendString(b, fVersionID, o.VersionID)
	if o.DeleteMarker {
		b = appendField(b, fDeleteMarker, nil)
	}
	return appendLock(appendTags(b, o.Tags), o)
}

// appendLock appends the fields UpdateObject may change besides tags.
func appendLock(b []byte, o *meta.Object) []byte {
	b = appendString(b, fRetentionMode, o.Retention.Mode)
	b = appendTime(b, fRetentionUntil, o.Retention.Until)
	if o.LegalHold {
		b = appendField(b, fLegalHold, nil)
	}
	if len(o.ACL) > 0 {
		b = appendField(b, fACL, o.ACL)
	}
	return b
}

// withOrder appends the version's position to an encoded record.
func withOrder(rec []byte, order int64) []byte {
	return appendVarint(rec, fOrder, order)
}

func appendTags(b []byte, tags map[string]string) []byte {
	for k, v := range tags {
		b = appendPair(b, fTag, k, v)
	}
	return b
}

// replaceLock returns a copy of the object record rec with its tags,
// retention, legal hold and ACL replaced by o's. Every other field is copied
// byte for byte, fields this release does not know included, so that an
// update cannot lose what a newer release wrote.
func replaceLock(rec []byte, o *meta.Object) ([]byte, error) {
	n := len(rec) + 48 + len(o.ACL)
	for k, v := range o.Tags {
		n += 8 + len(k) + len(v)
	}
	out := make([]byte, 1, n)
	out[0] = recordVersion
	err := fields(rec, func(tag uint64, p []byte) error {
		if !lockFields[tag] {
			out = appendField(out, tag, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return appendLock(appendTags(out, o.Tags), o), nil
}

func appendVarint(b []byte, tag uint64, v int64) []byte {
	var buf [binary.MaxVarintLen64]byte
	return appendField(b, tag, binary.AppendVarint(buf[:0], v))
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
	hasInline, _, err = decodeVersion(rec, o)
	return hasInline, err
}

// decodeVersion is decodeObject that also returns the version's position.
func decodeVersion(rec []byte, o *meta.Object) (hasInline bool, order int64, err error) {
	return decodeRecord(rec, o, true)
}

// decodeRecord decodes an object record. storedVersion says that rec is a
// version's record, where a missing version id means the null version (the
// records written before versioning); an upload's template has none.
func decodeRecord(rec []byte, o *meta.Object, storedVersion bool) (hasInline bool, order int64, err error) {
	hasOrder := false
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
		case fUserMeta, fChecksum, fTag:
			k, v, err := decodePair(p)
			if err != nil {
				return err
			}
			m := &o.UserMeta
			switch tag {
			case fChecksum:
				m = &o.Checksums
			case fTag:
				m = &o.Tags
			}
			if *m == nil {
				*m = make(map[string]string)
			}
			(*m)[k] = v
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
		case fChecksumType:
			o.ChecksumType = string(p)
		case fUploadID:
			o.UploadID = string(p)
		case fPartsCount:
			var v int64
			v, err = decodeVarint(p)
			o.PartsCount = int(v)
		case fSegmentPart:
			err = decodeSegmentPart(p, o.Segments)
		case fVersionID:
			o.VersionID = string(p)
		case fDeleteMarker:
			o.DeleteMarker = true
		case fRetentionMode:
			o.Retention.Mode = string(p)
		case fRetentionUntil:
			o.Retention.Until, err = decodeTime(p)
		case fLegalHold:
			o.LegalHold = true
		case fACL:
			o.ACL = append([]byte(nil), p...)
		case fOrder:
			order, err = decodeVarint(p)
			hasOrder = true
		}
		return err
	})
	if !hasOrder {
		order = o.Modified.UnixNano()
	}
	if o.VersionID == "" && err == nil && storedVersion {
		o.VersionID = meta.NullVersion
	}
	return hasInline, order, err
}

// decodeSegmentPart applies an fSegmentPart payload to the segment it names,
// which an earlier fSegment field must have decoded.
func decodeSegmentPart(p []byte, segs []meta.Segment) error {
	i, n := binary.Uvarint(p)
	if n <= 0 || i >= uint64(len(segs)) {
		return fmt.Errorf("segment part fields: %w", errCorrupt)
	}
	p = p[n:]
	num, n := binary.Varint(p)
	if n <= 0 {
		return fmt.Errorf("segment part number: %w", errCorrupt)
	}
	p = p[n:]
	l, n := binary.Uvarint(p)
	if n <= 0 || l > uint64(len(p)-n) {
		return fmt.Errorf("segment part etag: %w", errCorrupt)
	}
	p = p[n:]
	sg := &segs[i]
	sg.PartNumber = int(num)
	sg.ETag = string(p[:l])
	sg.Checksum = string(p[l:])
	return nil
}

func encodeBucket(b *meta.Bucket) []byte {
	out := make([]byte, 0, 24+len(b.Owner)+len(b.Region))
	out = append(out, recordVersion)
	out = appendString(out, fOwner, b.Owner)
	out = appendString(out, fRegion, b.Region)
	out = appendString(out, fVersioning, b.Versioning)
	if b.ObjectLock {
		out = appendField(out, fObjectLock, nil)
	}
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
		case fVersioning:
			b.Versioning = string(p)
		case fObjectLock:
			b.ObjectLock = true
		}
		return err
	})
}

func encodeUpload(u *meta.Upload) []byte {
	obj := encodeObject(&u.Object)
	out := make([]byte, 0, 32+len(u.Owner)+len(obj)+len(u.ChecksumAlgorithm)+len(u.ChecksumType))
	out = append(out, recordVersion)
	out = appendTime(out, fUploadInitiated, u.Initiated)
	out = appendString(out, fUploadOwner, u.Owner)
	out = appendField(out, fUploadObject, obj)
	out = appendString(out, fUploadChecksumAlgorithm, u.ChecksumAlgorithm)
	return appendString(out, fUploadChecksumType, u.ChecksumType)
}

// decodeUpload decodes a record into u, leaving ID and the template's
// Bucket and Key alone.
func decodeUpload(rec []byte, u *meta.Upload) error {
	return fields(rec, func(tag uint64, p []byte) error {
		var err error
		switch tag {
		case fUploadInitiated:
			u.Initiated, err = decodeTime(p)
		case fUploadOwner:
			u.Owner = string(p)
		case fUploadObject:
			_, _, err = decodeRecord(p, &u.Object, false)
		case fUploadChecksumAlgorithm:
			u.ChecksumAlgorithm = string(p)
		case fUploadChecksumType:
			u.ChecksumType = string(p)
		}
		return err
	})
}

func encodePart(p *meta.Part) []byte {
	out := make([]byte, 0, 40+len(p.ETag)+len(p.Checksum)+len(p.BlobID))
	out = append(out, recordVersion)
	if p.Size != 0 {
		out = appendVarint(out, fPartSize, p.Size)
	}
	out = appendString(out, fPartETag, p.ETag)
	out = appendTime(out, fPartModified, p.Modified)
	out = appendString(out, fPartChecksum, p.Checksum)
	return appendString(out, fPartBlob, p.BlobID)
}

// decodePart decodes a record into p, leaving Number alone.
func decodePart(rec []byte, p *meta.Part) error {
	return fields(rec, func(tag uint64, b []byte) error {
		var err error
		switch tag {
		case fPartSize:
			p.Size, err = decodeVarint(b)
		case fPartETag:
			p.ETag = string(b)
		case fPartModified:
			p.Modified, err = decodeTime(b)
		case fPartChecksum:
			p.Checksum = string(b)
		case fPartBlob:
			p.BlobID = string(b)
		}
		return err
	})
}
