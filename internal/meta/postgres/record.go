package postgres

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// Records. The fields of a row that no query filters on live in one bytea
// column, encoded as a sequence of fields uvarint(tag) uvarint(len)
// payload. Every field carries its length, so a decoder skips tags it does
// not know: a field added by a later release needs no migration, and
// UpdateObject keeps the fields it does not know byte for byte. Empty fields
// are omitted. The encoding holds what a column cannot: any byte in a string
// (NUL included) and times to the nanosecond in any year.

// errCorrupt reports a record that cannot be decoded.
var errCorrupt = errors.New("corrupt metadata record")

// Object record fields (versions.record, and the template of an upload).
// The key, version id, delete marker flag and size are columns of versions;
// an upload's template stores its size here (fSize).
const (
	fETag               = 1
	fModified           = 2
	fContentType        = 3
	fContentEncoding    = 4
	fContentDisposition = 5
	fContentLanguage    = 6
	fCacheControl       = 7
	fExpires            = 8
	fUserMeta           = 9  // repeated: uvarint(len(name)) name value
	fChecksum           = 10 // repeated: uvarint(len(algorithm)) algorithm digest
	fChecksumType       = 11
	fStorageClass       = 12
	fUploadID           = 13
	fPartsCount         = 14 // varint
	fTag                = 15 // repeated: uvarint(len(key)) key value
	// fSegment is repeated: uvarint(len(blob)) blob varint(size)
	// varint(part number) uvarint(len(etag)) etag checksum.
	fSegment        = 16
	fRetentionMode  = 17
	fRetentionUntil = 18
	fLegalHold      = 19 // present (empty payload) when on
	fSize           = 20 // varint; upload templates only
	// fACL is the version's access control list, opaque (iam encodes it);
	// records without it are owner-only. Like every field it needs no
	// column and no migration: a release that does not know it skips it.
	fACL = 21
)

// mutableFields are the fields UpdateObject rewrites; it copies every
// other field of the stored record unchanged.
var mutableFields = map[uint64]bool{fTag: true, fRetentionMode: true, fRetentionUntil: true, fLegalHold: true, fACL: true}

// Bucket record fields.
const (
	fBucketOwner   = 1
	fBucketRegion  = 2
	fBucketCreated = 3
)

// Upload record fields.
const (
	fUploadInitiated         = 1
	fUploadOwner             = 2
	fUploadChecksumAlgorithm = 3
	fUploadChecksumType      = 4
	fUploadTemplate          = 5 // an object record
)

// Part record fields. Number, blob id and size are columns.
const (
	fPartETag     = 1
	fPartChecksum = 2
	fPartModified = 3
)

// Event record fields. Target and Seq are columns.
const (
	fEvConfigID  = 1
	fEvName      = 2
	fEvTime      = 3
	fEvBucket    = 4
	fEvKey       = 5
	fEvVersionID = 6
	fEvETag      = 7
	fEvSize      = 8
	fEvPrincipal = 9
	fEvSourceIP  = 10
	fEvRequestID = 11
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

func appendVarint(b []byte, tag uint64, v int64) []byte {
	if v == 0 {
		return b
	}
	var buf [binary.MaxVarintLen64]byte
	return appendField(b, tag, binary.AppendVarint(buf[:0], v))
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

func appendFlag(b []byte, tag uint64, on bool) []byte {
	if !on {
		return b
	}
	return appendField(b, tag, nil)
}

// appendPairs appends one field per map entry: uvarint(len(k)) k v.
func appendPairs(b []byte, tag uint64, m map[string]string) []byte {
	var p []byte
	for k, v := range m {
		p = binary.AppendUvarint(p[:0], uint64(len(k)))
		p = append(append(p, k...), v...)
		b = appendField(b, tag, p)
	}
	return b
}

// fields calls fn for every field of rec, in order.
func fields(rec []byte, fn func(tag uint64, payload []byte) error) error {
	for len(rec) > 0 {
		tag, n := binary.Uvarint(rec)
		if n <= 0 {
			return errCorrupt
		}
		rec = rec[n:]
		l, n := binary.Uvarint(rec)
		if n <= 0 || l > uint64(len(rec)-n) {
			return errCorrupt
		}
		payload := rec[n : n+int(l)]
		rec = rec[n+int(l):]
		if err := fn(tag, payload); err != nil {
			return err
		}
	}
	return nil
}

func decodeVarint(p []byte) (int64, error) {
	v, n := binary.Varint(p)
	if n <= 0 || n != len(p) {
		return 0, errCorrupt
	}
	return v, nil
}

func decodeTime(p []byte) (time.Time, error) {
	sec, n := binary.Varint(p)
	// Beyond ±2^62 seconds (10^11 years) time.Unix overflows; no record
	// the store writes holds such a time.
	if n <= 0 || sec > 1<<62 || sec < -1<<62 {
		return time.Time{}, errCorrupt
	}
	nsec, m := binary.Uvarint(p[n:])
	if m <= 0 || n+m != len(p) || nsec >= 1e9 {
		return time.Time{}, errCorrupt
	}
	return time.Unix(sec, int64(nsec)).UTC(), nil
}

// decodePair splits a pair payload.
func decodePair(p []byte) (string, string, error) {
	l, n := binary.Uvarint(p)
	if n <= 0 || l > uint64(len(p)-n) {
		return "", "", errCorrupt
	}
	return string(p[n : n+int(l)]), string(p[n+int(l):]), nil
}

func putPair(m *map[string]string, p []byte) error {
	k, v, err := decodePair(p)
	if err != nil {
		return err
	}
	if *m == nil {
		*m = make(map[string]string)
	}
	(*m)[k] = v
	return nil
}

// encodeObject encodes the record of o. withSize adds Size, which a
// version keeps in a column instead.
func encodeObject(o *meta.Object, withSize bool) []byte {
	b := make([]byte, 0, 160+len(o.ACL)+len(o.ContentType)+len(o.ContentDisposition)+48*len(o.Segments))
	b = appendString(b, fETag, o.ETag)
	b = appendTime(b, fModified, o.Modified)
	b = appendString(b, fContentType, o.ContentType)
	b = appendString(b, fContentEncoding, o.ContentEncoding)
	b = appendString(b, fContentDisposition, o.ContentDisposition)
	b = appendString(b, fContentLanguage, o.ContentLanguage)
	b = appendString(b, fCacheControl, o.CacheControl)
	b = appendString(b, fExpires, o.Expires)
	b = appendPairs(b, fUserMeta, o.UserMeta)
	b = appendPairs(b, fChecksum, o.Checksums)
	b = appendString(b, fChecksumType, o.ChecksumType)
	b = appendString(b, fStorageClass, o.StorageClass)
	b = appendString(b, fUploadID, o.UploadID)
	b = appendVarint(b, fPartsCount, int64(o.PartsCount))
	var p []byte
	for _, sg := range o.Segments {
		p = binary.AppendUvarint(p[:0], uint64(len(sg.BlobID)))
		p = append(p, sg.BlobID...)
		p = binary.AppendVarint(p, sg.Size)
		p = binary.AppendVarint(p, int64(sg.PartNumber))
		p = binary.AppendUvarint(p, uint64(len(sg.ETag)))
		p = append(append(p, sg.ETag...), sg.Checksum...)
		b = appendField(b, fSegment, p)
	}
	if withSize {
		b = appendVarint(b, fSize, o.Size)
	}
	return appendMutable(b, o)
}

// appendMutable appends the fields UpdateObject may change.
func appendMutable(b []byte, o *meta.Object) []byte {
	b = appendPairs(b, fTag, o.Tags)
	b = appendString(b, fRetentionMode, o.Retention.Mode)
	b = appendTime(b, fRetentionUntil, o.Retention.Until)
	b = appendFlag(b, fLegalHold, o.LegalHold)
	if len(o.ACL) > 0 {
		b = appendField(b, fACL, o.ACL)
	}
	return b
}

// replaceMutable returns rec with its mutable fields replaced by o's, every
// other field (known or not) copied as is.
func replaceMutable(rec []byte, o *meta.Object) ([]byte, error) {
	out := make([]byte, 0, len(rec)+32+len(o.ACL))
	err := fields(rec, func(tag uint64, p []byte) error {
		if !mutableFields[tag] {
			out = appendField(out, tag, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return appendMutable(out, o), nil
}

func decodeSegment(p []byte) (meta.Segment, error) {
	var sg meta.Segment
	l, n := binary.Uvarint(p)
	if n <= 0 || l > uint64(len(p)-n) {
		return sg, errCorrupt
	}
	sg.BlobID = string(p[n : n+int(l)])
	p = p[n+int(l):]
	size, n := binary.Varint(p)
	if n <= 0 {
		return sg, errCorrupt
	}
	sg.Size, p = size, p[n:]
	num, n := binary.Varint(p)
	if n <= 0 || num != int64(int(num)) {
		return sg, errCorrupt
	}
	sg.PartNumber, p = int(num), p[n:]
	l, n = binary.Uvarint(p)
	if n <= 0 || l > uint64(len(p)-n) {
		return sg, errCorrupt
	}
	sg.ETag = string(p[n : n+int(l)])
	sg.Checksum = string(p[n+int(l):])
	return sg, nil
}

// decodeObject decodes an object record into o, leaving the fields that
// are not in it (Bucket, Key, VersionID, ...) as they are.
func decodeObject(rec []byte, o *meta.Object) error {
	return fields(rec, func(tag uint64, p []byte) error {
		var err error
		switch tag {
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
		case fUserMeta:
			err = putPair(&o.UserMeta, p)
		case fChecksum:
			err = putPair(&o.Checksums, p)
		case fChecksumType:
			o.ChecksumType = string(p)
		case fStorageClass:
			o.StorageClass = string(p)
		case fUploadID:
			o.UploadID = string(p)
		case fPartsCount:
			var n int64
			n, err = decodeVarint(p)
			o.PartsCount = int(n)
			if int64(o.PartsCount) != n {
				err = errCorrupt
			}
		case fTag:
			err = putPair(&o.Tags, p)
		case fSegment:
			var sg meta.Segment
			sg, err = decodeSegment(p)
			o.Segments = append(o.Segments, sg)
		case fRetentionMode:
			o.Retention.Mode = string(p)
		case fRetentionUntil:
			o.Retention.Until, err = decodeTime(p)
		case fLegalHold:
			o.LegalHold = true
		case fACL:
			o.ACL = append([]byte(nil), p...)
		case fSize:
			o.Size, err = decodeVarint(p)
		}
		return err
	})
}

// Record (meta.Record) fields. Kind, id, revision and data are columns.
const fRecExpires = 1

func encodeRecordMeta(r *meta.Record) []byte {
	return append([]byte{}, appendTime(nil, fRecExpires, r.Expires)...)
}

func decodeRecordMeta(rec []byte, r *meta.Record) error {
	return fields(rec, func(tag uint64, p []byte) error {
		var err error
		if tag == fRecExpires {
			r.Expires, err = decodeTime(p)
		}
		return err
	})
}

func encodeBucket(b *meta.Bucket) []byte {
	out := appendString(nil, fBucketOwner, b.Owner)
	out = appendString(out, fBucketRegion, b.Region)
	out = appendTime(out, fBucketCreated, b.Created)
	if out == nil {
		out = []byte{} // the column is NOT NULL
	}
	return out
}

func decodeBucket(rec []byte, b *meta.Bucket) error {
	return fields(rec, func(tag uint64, p []byte) error {
		var err error
		switch tag {
		case fBucketOwner:
			b.Owner = string(p)
		case fBucketRegion:
			b.Region = string(p)
		case fBucketCreated:
			b.Created, err = decodeTime(p)
		}
		return err
	})
}

func encodeUpload(u *meta.Upload) []byte {
	b := appendTime(nil, fUploadInitiated, u.Initiated)
	b = appendString(b, fUploadOwner, u.Owner)
	b = appendString(b, fUploadChecksumAlgorithm, u.ChecksumAlgorithm)
	b = appendString(b, fUploadChecksumType, u.ChecksumType)
	return appendField(b, fUploadTemplate, encodeObject(&u.Object, true))
}

// decodeUpload decodes an upload record into u, whose ID and Object.Bucket
// and Object.Key the caller sets.
func decodeUpload(rec []byte, u *meta.Upload) error {
	return fields(rec, func(tag uint64, p []byte) error {
		var err error
		switch tag {
		case fUploadInitiated:
			u.Initiated, err = decodeTime(p)
		case fUploadOwner:
			u.Owner = string(p)
		case fUploadChecksumAlgorithm:
			u.ChecksumAlgorithm = string(p)
		case fUploadChecksumType:
			u.ChecksumType = string(p)
		case fUploadTemplate:
			err = decodeObject(p, &u.Object)
		}
		return err
	})
}

func encodePart(p *meta.Part) []byte {
	b := appendString(nil, fPartETag, p.ETag)
	b = appendString(b, fPartChecksum, p.Checksum)
	b = appendTime(b, fPartModified, p.Modified)
	if b == nil {
		b = []byte{}
	}
	return b
}

func decodePart(rec []byte, p *meta.Part) error {
	return fields(rec, func(tag uint64, payload []byte) error {
		var err error
		switch tag {
		case fPartETag:
			p.ETag = string(payload)
		case fPartChecksum:
			p.Checksum = string(payload)
		case fPartModified:
			p.Modified, err = decodeTime(payload)
		}
		return err
	})
}

func encodeEvent(e *meta.Event) []byte {
	b := make([]byte, 0, 96+len(e.Key)+len(e.Bucket)+len(e.Name))
	b = appendString(b, fEvConfigID, e.ConfigID)
	b = appendString(b, fEvName, e.Name)
	b = appendTime(b, fEvTime, e.Time)
	b = appendString(b, fEvBucket, e.Bucket)
	b = appendString(b, fEvKey, e.Key)
	b = appendString(b, fEvVersionID, e.VersionID)
	b = appendString(b, fEvETag, e.ETag)
	b = appendVarint(b, fEvSize, e.Size)
	b = appendString(b, fEvPrincipal, e.Principal)
	b = appendString(b, fEvSourceIP, e.SourceIP)
	return appendString(b, fEvRequestID, e.RequestID)
}

func decodeEvent(rec []byte, e *meta.Event) error {
	return fields(rec, func(tag uint64, p []byte) error {
		var err error
		switch tag {
		case fEvConfigID:
			e.ConfigID = string(p)
		case fEvName:
			e.Name = string(p)
		case fEvTime:
			e.Time, err = decodeTime(p)
		case fEvBucket:
			e.Bucket = string(p)
		case fEvKey:
			e.Key = string(p)
		case fEvVersionID:
			e.VersionID = string(p)
		case fEvETag:
			e.ETag = string(p)
		case fEvSize:
			e.Size, err = decodeVarint(p)
		case fEvPrincipal:
			e.Principal = string(p)
		case fEvSourceIP:
			e.SourceIP = string(p)
		case fEvRequestID:
			e.RequestID = string(p)
		}
		return err
	})
}
