package embedded

import "encoding/binary"

// Key spaces. Each kind of entry lives under its own first byte so that a
// range scan of one kind never meets another: listing reads only object
// records, never inline bytes or blob references.
const (
	nsSchema  byte = 'V' // single key: the on-disk schema version
	nsBucket  byte = 'B' // nsBucket + bucket name -> bucket record
	nsObject  byte = 'O' // nsObject + bucket + 0x00 + key -> object record
	nsInline  byte = 'I' // nsInline + bucket + 0x00 + key -> inline bytes
	nsBlobRef byte = 'R' // nsBlobRef + uvarint(len(id)) + id + bucket + 0x00 + key -> empty
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
