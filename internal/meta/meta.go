// Package meta defines the metadata store: buckets, object records and
// (later) multipart state. Implementations live in sub-packages and all run
// the conformance suite in package metatest.
//
// The store is the single source of truth for what exists. Blob bytes live
// elsewhere (package blob); a record only points at them. Every write method is
// durable when it returns nil: it survives kill -9 and power loss.
package meta

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Implementations wrap them ("doing x: %w") and callers test
// them with errors.Is.
var (
	ErrBucketNotFound     = errors.New("bucket not found")
	ErrBucketExists       = errors.New("bucket already exists")
	ErrBucketNotEmpty     = errors.New("bucket not empty")
	ErrObjectNotFound     = errors.New("object not found")
	ErrPreconditionFailed = errors.New("precondition failed")
	ErrUploadNotFound     = errors.New("multipart upload not found")
	ErrConfigNotFound     = errors.New("bucket configuration not found")
	// ErrUnavailable means the store cannot serve right now (closed, or its
	// backing service is down); the request may be retried later.
	ErrUnavailable = errors.New("metadata store unavailable")
)

// Bucket is a bucket's record.
type Bucket struct {
	Name    string
	Owner   string // id of the owning principal (the access key or user name)
	Region  string
	Created time.Time
}

// Segment is one run of an object's bytes held in a blob. For an object
// assembled from a multipart upload each segment is one part, and carries
// that part's number, ETag and checksum; a single-request object has one
// segment with PartNumber 0.
type Segment struct {
	BlobID     string
	Size       int64
	PartNumber int
	ETag       string // the part's ETag, unquoted
	Checksum   string // base64 of the part's checksum in the object's algorithm
}

// Object is the record of an object's current version.
//
// Its bytes are either Inline (small objects, stored in the metadata store
// itself) or the concatenation of Segments (each a whole blob), never both.
type Object struct {
	Bucket   string
	Key      string
	Size     int64
	ETag     string // without quotes: MD5 hex, or "<md5-of-md5s>-N" for multipart
	Modified time.Time

	ContentType        string
	ContentEncoding    string
	ContentDisposition string
	ContentLanguage    string
	CacheControl       string
	Expires            string
	// UserMeta holds x-amz-meta-* values keyed by the lower-case name without
	// the prefix.
	UserMeta map[string]string
	// Checksums maps an algorithm name (CRC32, CRC32C, CRC64NVME, SHA1,
	// SHA256) to the base64 of its digest over the whole object.
	Checksums map[string]string
	// ChecksumType is COMPOSITE or FULL_OBJECT for multipart objects with
	// a checksum, empty otherwise (single-request checksums are full-object).
	ChecksumType string
	StorageClass string
	// UploadID is the multipart upload this object was completed from, so
	// that a repeated CompleteMultipartUpload can be answered idempotently.
	UploadID string
	// PartsCount is the number of parts of a multipart object, 0 otherwise.
	PartsCount int
	// Tags are the object's tags (S3 object tagging), nil when none.
	Tags map[string]string

	Inline   []byte
	Segments []Segment
}

// BlobIDs returns the ids of the blobs the object references.
func (o *Object) BlobIDs() []string {
	ids := make([]string, 0, len(o.Segments))
	for _, s := range o.Segments {
		ids = append(ids, s.BlobID)
	}
	return ids
}

// Condition is a precondition on the current version of a key, evaluated
// atomically with the write it guards.
type Condition struct {
	// IfNoneMatch fails the write when the key has a current version.
	IfNoneMatch bool
	// IfMatch, when set, fails the write unless the current version's ETag
	// equals it (unquoted).
	IfMatch string
}

// ListOptions selects a page of a bucket's keys in UTF-8 byte order.
type ListOptions struct {
	Prefix    string
	Delimiter string
	// After is exclusive: the page starts with the first key (or common
	// prefix) greater than it. When After is itself a common prefix under
	// Delimiter, every key under that prefix is skipped.
	After string
	// Limit caps Objects plus CommonPrefixes; values < 1 mean 1000.
	Limit int
}

// ListPage is one page of a listing.
type ListPage struct {
	// Objects carry every field except Inline, which is nil in listings.
	Objects        []Object
	CommonPrefixes []string
	// Truncated reports that more entries follow; NextAfter is then the last
	// key or common prefix of this page, to pass as the next After.
	Truncated bool
	NextAfter string
}

// Buckets stores bucket records.
type Buckets interface {
	// CreateBucket adds b. It returns ErrBucketExists if the name is taken
	// (by anyone: the caller compares owners).
	CreateBucket(ctx context.Context, b Bucket) error
	// GetBucket returns ErrBucketNotFound for a missing bucket.
	GetBucket(ctx context.Context, name string) (Bucket, error)
	// ListBuckets returns all buckets ordered by name.
	ListBuckets(ctx context.Context) ([]Bucket, error)
	// DeleteBucket removes an empty bucket: ErrBucketNotFound if missing,
	// ErrBucketNotEmpty if any object exists. In-progress multipart uploads
	// do not count; they are removed with the bucket (their part blobs are
	// left for the orphan collector), and so are its configs. It is atomic against concurrent
	// PutObject and CreateUpload: nothing is ever left in a deleted bucket.
	DeleteBucket(ctx context.Context, name string) error
}

// Objects stores object records.
type Objects interface {
	// PutObject makes obj the current version of (obj.Bucket, obj.Key),
	// durably and atomically: readers see the old record or the new one.
	// cond, when non-nil, is checked atomically with the write and fails it
	// with ErrPreconditionFailed. It returns the record it replaced (nil if
	// none) so the caller can release that record's blobs; blobs still
	// referenced by another record are never returned this way.
	// ErrBucketNotFound if the bucket does not exist. The replaced record
	// carries no Inline bytes.
	PutObject(ctx context.Context, obj Object, cond *Condition) (replaced *Object, err error)
	// GetObject returns the current record, Inline included.
	// ErrBucketNotFound or ErrObjectNotFound when missing.
	GetObject(ctx context.Context, bucket, key string) (Object, error)
	// DeleteObject removes the current record and returns it (without
	// Inline bytes) so the caller can release its blobs; as for PutObject,
	// blobs still referenced by another record are left out of its
	// Segments. A missing key returns ErrObjectNotFound, even with a
	// condition; a missing bucket ErrBucketNotFound. cond as for PutObject.
	DeleteObject(ctx context.Context, bucket, key string, cond *Condition) (Object, error)
	// ListObjects returns one page of current records. Its cost follows the
	// page size, not the bucket size: keys under a common prefix are skipped
	// with a seek, not read one by one.
	ListObjects(ctx context.Context, bucket string, opts ListOptions) (ListPage, error)
	// BlobInUse reports whether any object record or part references the
	// blob. The collector of orphaned blobs calls it; it must see every
	// committed write.
	BlobInUse(ctx context.Context, blobID string) (bool, error)
}

// BucketConfigs stores a bucket's configuration documents (CORS rules,
// tagging, lifecycle, policy, ...), each an opaque byte string under a
// name the caller chooses. The store does not interpret them.
type BucketConfigs interface {
	// PutBucketConfig stores data as the bucket's config name, replacing
	// any, durably. ErrBucketNotFound if the bucket is missing.
	PutBucketConfig(ctx context.Context, bucket, name string, data []byte) error
	// GetBucketConfig returns ErrConfigNotFound when the config is unset,
	// ErrBucketNotFound when the bucket is missing.
	GetBucketConfig(ctx context.Context, bucket, name string) ([]byte, error)
	// DeleteBucketConfig removes a config; removing an unset one is not an
	// error. ErrBucketNotFound if the bucket is missing.
	DeleteBucketConfig(ctx context.Context, bucket, name string) error
}

// ObjectTags updates the tags of an existing object in place.
type ObjectTags interface {
	// PutObjectTags replaces the current version's tags (nil or empty
	// removes them) without changing anything else about the object,
	// durably and atomically with cond (checked as for PutObject).
	// ErrObjectNotFound (even with a condition) or ErrBucketNotFound when
	// missing.
	PutObjectTags(ctx context.Context, bucket, key string, tags map[string]string, cond *Condition) error
}

// Upload is an in-progress multipart upload.
type Upload struct {
	ID        string // unique; IDs of one key sort by initiation time
	Initiated time.Time
	Owner     string
	// Object is the template of the final object: Bucket and Key name the
	// target, and its attributes (content headers, UserMeta, StorageClass)
	// are those given at creation. Size, ETag and Segments are unset.
	Object Object
	// ChecksumAlgorithm (CRC32, ... or "") and ChecksumType (COMPOSITE or
	// FULL_OBJECT) chosen at creation.
	ChecksumAlgorithm string
	ChecksumType      string
}

// Part is an uploaded part of a multipart upload.
type Part struct {
	Number   int // 1..10000
	Size     int64
	ETag     string // unquoted MD5 hex of the part
	Checksum string // base64, in the upload's algorithm, if it has one
	Modified time.Time
	BlobID   string
}

// UploadListOptions selects a page of in-progress uploads, ordered by key
// then by upload ID.
type UploadListOptions struct {
	Prefix    string
	Delimiter string
	// KeyMarker and UploadIDMarker are exclusive: without UploadIDMarker
	// the page starts after every upload of KeyMarker; with it, after that
	// upload of KeyMarker. A KeyMarker that is a common prefix under
	// Delimiter skips every key under it.
	KeyMarker      string
	UploadIDMarker string
	Limit          int // uploads plus common prefixes; < 1 means 1000
}

// UploadPage is one page of uploads.
type UploadPage struct {
	Uploads        []Upload
	CommonPrefixes []string
	Truncated      bool
	// NextKeyMarker and NextUploadIDMarker name the last entry returned
	// (NextUploadIDMarker is empty when that entry is a common prefix).
	NextKeyMarker      string
	NextUploadIDMarker string
}

// Uploads stores multipart upload state. An upload is addressed by bucket,
// key and id together: an id under another bucket or key is not found.
type Uploads interface {
	// CreateUpload records u. ErrBucketNotFound if its bucket is missing.
	CreateUpload(ctx context.Context, u Upload) error
	// GetUpload returns ErrUploadNotFound for an unknown, completed or
	// aborted upload (ErrBucketNotFound when the bucket is missing).
	GetUpload(ctx context.Context, bucket, key, id string) (Upload, error)
	// PutPart records p, replacing any part with the same number, durably.
	// It returns the replaced part so the caller can release its blob.
	// ErrUploadNotFound if the upload is gone, including when it completes
	// or aborts concurrently: a part is never left attached to a finished
	// upload.
	PutPart(ctx context.Context, bucket, key, id string, p Part) (replaced *Part, err error)
	// ListParts returns up to limit parts numbered above after, in order,
	// and whether more follow. ErrUploadNotFound.
	ListParts(ctx context.Context, bucket, key, id string, after, limit int) ([]Part, bool, error)
	// ListUploads returns one page of a bucket's in-progress uploads.
	ListUploads(ctx context.Context, bucket string, opts UploadListOptions) (UploadPage, error)
	// CompleteUpload atomically checks cond against the key's current
	// version, makes obj (whose Segments reference some of the upload's
	// part blobs) the current version, and removes the upload and all its
	// parts. It returns the replaced object (as PutObject does) and the
	// parts whose blobs obj does not reference, for release.
	// ErrUploadNotFound if the upload is gone.
	CompleteUpload(ctx context.Context, bucket, key, id string, obj Object, cond *Condition) (replaced *Object, unused []Part, err error)
	// AbortUpload removes the upload and returns its parts for release.
	// ErrUploadNotFound if it is gone.
	AbortUpload(ctx context.Context, bucket, key, id string) ([]Part, error)
	// UploadsInitiatedBefore returns up to limit uploads, of any bucket,
	// initiated before t (for expiring abandoned uploads).
	UploadsInitiatedBefore(ctx context.Context, t time.Time, limit int) ([]Upload, error)
}

// Store is a complete metadata store. Close releases it; methods called
// after Close return ErrUnavailable.
type Store interface {
	Buckets
	Objects
	Uploads
	BucketConfigs
	ObjectTags
	Close() error
}
