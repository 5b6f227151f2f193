package embedded

import (
	"bytes"
	"encoding/binary"
	"strings"
	"time"
)

// Key spaces. Each kind of entry lives under its own first byte so that a
// range scan of one kind never meets another: listing reads only object
// records, never inline bytes or blob references.
const (
	nsSchema  byte = 'V' // single key: the on-disk schema version
	nsBucket  byte = 'B' // nsBucket + bucket name -> bucket record
	nsObject  byte = 'O' // nsObject + bucket + 0x00 + key -> object record
	nsInline  byte = 'I' // nsInline + bucket + 0x00 + key -> inline bytes
	nsBlobRef byte = 'R' // nsBlobRef + uvarint(len(id)) + id + bucket + 0x00 + key -> empty
	//                      nsBlobRef + uvarint(len(id)) + id + 0x00 + partKey[1:] -> empty (a part's blob)
	nsUpload     byte = 'U' // nsUpload + bucket + 0x00 + esc(key) + escEnd + uploadID -> upload record
	nsPart       byte = 'P' // nsPart + lp(bucket) + lp(key) + lp(uploadID) + be16(number) -> part record
	nsUploadTime byte = 'T' // nsUploadTime + be64(sec^1<<63) + be32(nsec) + lp(bucket) + lp(key) + uploadID -> empty
	nsConfig     byte = 'C' // nsConfig + bucket + 0x00 + name -> the config document, as given
	// Versions other than the current one (versions.go).
	nsVersion       byte = 'W' // nsVersion + bucket + 0x00 + esc(key) + escEnd + vkey -> record
	nsVersionInline byte = 'J' // nsVersionInline + the same suffix -> inline bytes
	nsNull          byte = 'N' // nsNull + bucket + 0x00 + key -> vkey of the null version when under nsVersion
	//                      nsBlobRef + uvarint(len(id)) + id + 0x01 + versionKey[1:] -> empty (a noncurrent version's blob)
	nsEvent byte = 'E' // nsEvent + lp(target) + be64(seq) -> event record (outbox.go)
	nsUsage byte = 'S' // nsUsage + bucket + 0x00 + 0x00 -> base usage; + 0x01 + be64(seq) -> a write's delta (usage.go)
	// Control-plane records (records.go).
	nsRecord       byte = 'K' // nsRecord + lp(kind) + id -> uvarint(rev) expiry data
	nsRecordExpiry byte = 'X' // nsRecordExpiry + time key + lp(kind) + id -> empty
)

// Upload keys must sort by (key, upload ID) while the key is followed by
// more bytes, and keys may contain NUL. So a key is escaped: NUL becomes
// 0x00 0xff and the key ends with 0x00 0x01. Escaping maps each byte on its
// own and the code is prefix-free, so esc(p) is a prefix of esc(k) exactly
// when p is a prefix of k, and (key, id) pairs sort as their encodings do:
// the terminator sorts below any continuation of the key.
const (
	escNul = 0xff
	escEnd = 0x01
)

// sep ends the bucket name inside object, inline and blob-reference keys.
// Bucket names never contain it (CreateBucket rejects such names), so
// "a"+sep+key and "ab"+sep+key never share a prefix whatever the keys hold.
const sep = 0x00

var schemaKey = []byte{nsSchema}

func bucketKey(name string) []byte {
	k := make([]byte, 0, 1+len(name))
	return append(append(k, nsBucket), name...)
}

// objectPrefix is the common prefix of every object record of a bucket.
func objectPrefix(bucket string) []byte {
	k := make([]byte, 0, 2+len(bucket)+64)
	k = append(k, nsObject)
	k = append(k, bucket...)
	return append(k, sep)
}

func objectKey(bucket, key string) []byte {
	k := make([]byte, 0, 2+len(bucket)+len(key))
	k = append(k, nsObject)
	k = append(k, bucket...)
	k = append(k, sep)
	return append(k, key...)
}

func inlineKey(bucket, key string) []byte {
	k := make([]byte, 0, 2+len(bucket)+len(key))
	k = append(k, nsInline)
	k = append(k, bucket...)
	k = append(k, sep)
	return append(k, key...)
}

// blobRefPrefix is the prefix of every reference to blob id. The id is
// length-prefixed rather than terminated so that no id can be a prefix of
// another's references, whatever bytes ids contain.
func blobRefPrefix(id string) []byte {
	k := make([]byte, 0, 1+binary.MaxVarintLen64+len(id))
	k = append(k, nsBlobRef)
	k = binary.AppendUvarint(k, uint64(len(id)))
	return append(k, id...)
}

func blobRefKey(id, bucket, key string) []byte {
	k := blobRefPrefix(id)
	k = append(k, bucket...)
	k = append(k, sep)
	return append(k, key...)
}

// configPrefix is the common prefix of every config of a bucket.
func configPrefix(bucket string) []byte {
	k := make([]byte, 0, 2+len(bucket)+16)
	k = append(k, nsConfig)
	k = append(k, bucket...)
	return append(k, sep)
}

func configKey(bucket, name string) []byte {
	return append(configPrefix(bucket), name...)
}

// appendEscaped appends the escaped form of s, without terminator.
func appendEscaped(b []byte, s string) []byte {
	if strings.IndexByte(s, 0) < 0 {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			b = append(b, 0, escNul)
		} else {
			b = append(b, s[i])
		}
	}
	return b
}

// splitEscaped undoes appendEscaped on p, which must hold a terminated
// escaped string; it returns the string and the bytes after the
// terminator, or ok false when p is malformed.
func splitEscaped(p []byte) (s string, rest []byte, ok bool) {
	i := bytes.IndexByte(p, 0)
	if i >= 0 && i+1 < len(p) && p[i+1] == escEnd {
		return string(p[:i]), p[i+2:], true // the common case: no NUL in s
	}
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] != 0 {
			out = append(out, p[i])
			continue
		}
		if i+1 == len(p) {
			return "", nil, false
		}
		switch p[i+1] {
		case escNul:
			out = append(out, 0)
			i++
		case escEnd:
			return string(out), p[i+2:], true
		default:
			return "", nil, false
		}
	}
	return "", nil, false
}

// uploadPrefix is the common prefix of every upload record of a bucket.
func uploadPrefix(bucket string) []byte {
	k := make([]byte, 0, 2+len(bucket)+64)
	k = append(k, nsUpload)
	k = append(k, bucket...)
	return append(k, sep)
}

func uploadKey(bucket, key, id string) []byte {
	k := make([]byte, 0, 4+len(bucket)+len(key)+len(id))
	k = append(k, nsUpload)
	k = append(k, bucket...)
	k = append(k, sep)
	k = appendEscaped(k, key)
	k = append(k, 0, escEnd)
	return append(k, id...)
}

// appendLP appends s preceded by its length, so that any bytes may follow.
func appendLP(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// cutLP undoes appendLP.
func cutLP(p []byte) (string, []byte, bool) {
	l, n := binary.Uvarint(p)
	if n <= 0 || l > uint64(len(p)-n) {
		return "", nil, false
	}
	return string(p[n : n+int(l)]), p[n+int(l):], true
}

// bucketPartsPrefix is the common prefix of the parts of every upload of a
// bucket. Part keys carry bucket and key as well as the upload ID so that
// an ID reused under another key, which the caller should never do, still
// cannot mix two uploads' parts.
func bucketPartsPrefix(bucket string) []byte {
	k := make([]byte, 0, 1+binary.MaxVarintLen64+len(bucket))
	return appendLP(append(k, nsPart), bucket)
}

// partPrefix is the common prefix of the parts of one upload.
func partPrefix(bucket, key, id string) []byte {
	k := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(bucket)+len(key)+len(id)+2)
	k = appendLP(append(k, nsPart), bucket)
	k = appendLP(k, key)
	return appendLP(k, id)
}

func partKey(bucket, key, id string, number int) []byte {
	return binary.BigEndian.AppendUint16(partPrefix(bucket, key, id), uint16(number))
}

// partRefKey is the blob reference held by the part stored at partKey.
// Object references continue the blob's prefix with a bucket name, which is
// never empty and never holds NUL, so a NUL here cannot meet one of them.
func partRefKey(blobID string, partKey []byte) []byte {
	k := blobRefPrefix(blobID)
	k = append(k, sep)
	return append(k, partKey[1:]...)
}

// appendTimeKey encodes t so that byte order is time order over the whole
// range of time.Time (flipping the sign bit orders negative seconds first).
func appendTimeKey(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix())^1<<63)
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

// uploadTimeKey indexes an upload by initiation time for
// UploadsInitiatedBefore.
func uploadTimeKey(t time.Time, bucket, key, id string) []byte {
	k := make([]byte, 0, 13+2*binary.MaxVarintLen64+len(bucket)+len(key)+len(id))
	k = appendTimeKey(append(k, nsUploadTime), t)
	k = appendLP(k, bucket)
	k = appendLP(k, key)
	return append(k, id...)
}

// splitUploadTimeKey returns the bucket, key and ID an index entry names.
func splitUploadTimeKey(k []byte) (bucket, key, id string, ok bool) {
	if len(k) < 13 || k[0] != nsUploadTime {
		return "", "", "", false
	}
	bucket, rest, ok := cutLP(k[13:])
	if !ok {
		return "", "", "", false
	}
	key, rest, ok = cutLP(rest)
	return bucket, key, string(rest), ok
}

// prefixSuccessor returns the smallest key greater than every key that starts
// with p, or nil when there is none (p empty or all 0xff).
func prefixSuccessor(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xff {
			s := make([]byte, i+1)
			copy(s, p)
			s[i]++
			return s
		}
	}
	return nil
}

// versionPrefix is the common prefix of every noncurrent version of a
// bucket.
func versionPrefix(bucket string) []byte {
	k := make([]byte, 0, 2+len(bucket)+64)
	k = append(k, nsVersion)
	k = append(k, bucket...)
	return append(k, sep)
}

// keyVersionsPrefix is the common prefix of the noncurrent versions of one
// key: escaped and terminated, so that no other key's versions share it.
func keyVersionsPrefix(bucket, key string) []byte {
	k := appendEscaped(versionPrefix(bucket), key)
	return append(k, 0, escEnd)
}

func versionKey(bucket, key string, vk vkey) []byte {
	return append(keyVersionsPrefix(bucket, key), vk[:]...)
}

// versionInlineKey holds the inline bytes of the version at vk.
func versionInlineKey(bucket, key string, vk vkey) []byte {
	k := versionKey(bucket, key, vk)
	k[0] = nsVersionInline
	return k
}

func nullKey(bucket, key string) []byte {
	k := make([]byte, 0, 2+len(bucket)+len(key))
	k = append(k, nsNull)
	k = append(k, bucket...)
	k = append(k, sep)
	return append(k, key...)
}

// versionRefKey is the blob reference held by the noncurrent version stored
// at versionKey. Object references continue the blob's prefix with a bucket
// name, which never starts with 0x01, and part references with 0x00.
func versionRefKey(blobID string, versionKey []byte) []byte {
	k := blobRefPrefix(blobID)
	k = append(k, 0x01)
	return append(k, versionKey[1:]...)
}

func eventPrefix(target string) []byte {
	k := make([]byte, 0, 1+binary.MaxVarintLen64+len(target)+8)
	return appendLP(append(k, nsEvent), target)
}

func eventKey(target string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(eventPrefix(target), seq)
}
