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
	// ErrDeleteMarker accompanies ErrObjectNotFound when the version asked
	// for (or the latest version) is a delete marker; the marker's record is
	// returned alongside so the caller can report its version id.
	ErrDeleteMarker = errors.New("version is a delete marker")
	// ErrLocked refuses the removal (or replacement) of a version under
	// object-lock retention or legal hold.
	ErrLocked = errors.New("object version is locked")
	// ErrRecordNotFound and ErrConflict are the Records sentinels: no such
	// (live) record, and a revision precondition that did not hold.
	ErrRecordNotFound = errors.New("record not found")
	ErrConflict       = errors.New("record changed concurrently")
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
	// Versioning is "" (never enabled), VersioningEnabled or
	// VersioningSuspended. The store reads it atomically with every object
	// write to decide whether the write makes a new version.
	Versioning string
	// ObjectLock reports that object lock is enabled (it never turns off).
	ObjectLock bool
}

// Bucket versioning states, and the version id of the null version.
const (
	VersioningEnabled   = "Enabled"
	VersioningSuspended = "Suspended"
	NullVersion         = "null"
)

// Object-lock retention modes.
const (
	LockGovernance = "GOVERNANCE"
	LockCompliance = "COMPLIANCE"
)

// Retention is an object version's object-lock retention.
type Retention struct {
	Mode  string // "", LockGovernance or LockCompliance
	Until time.Time
}

// Protects reports whether r forbids removing the version at now; bypass
// is the caller's governance bypass (compliance cannot be bypassed).
func (r Retention) Protects(now time.Time, bypass bool) bool {
	if r.Mode == "" || !now.Before(r.Until) {
		return false
	}
	return r.Mode == LockCompliance || !bypass
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

// Object is the record of one version of an object.
//
// Its bytes are either Inline (small objects, stored in the metadata store
// itself) or the concatenation of Segments (each a whole blob), never both.
// A delete marker has neither, no ETag, and Size 0.
type Object struct {
	Bucket string
	Key    string
	// VersionID is assigned by the store on every write: NullVersion in a
	// bucket whose versioning is not enabled, a fresh id otherwise. Ids are
	// opaque and unique within a key.
	VersionID string
	// DeleteMarker marks a version that records a delete.
	DeleteMarker bool
	// IsLatest is set by the store in the records it returns: the version is
	// the newest of its key.
	IsLatest bool
	// Retention and LegalHold are the version's object lock; the store
	// refuses to remove a version they protect (ErrLocked).
	Retention Retention
	LegalHold bool

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
	// ACL is the version's access control list (its owner and grants),
	// encoded by iam and opaque to the store; nil means owner-only, the
	// owner being the bucket's.
	ACL []byte

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

// Condition is a precondition on the latest version of a key, evaluated
// atomically with the write it guards. A delete marker counts as no
// version.
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

// VersionListOptions selects a page of a bucket's versions: keys in UTF-8
// byte order, each key's versions newest first.
type VersionListOptions struct {
	Prefix    string
	Delimiter string
	// KeyMarker and VersionIDMarker are exclusive: without VersionIDMarker
	// the page starts after every version of KeyMarker; with it, after that
	// version of KeyMarker (an unknown VersionIDMarker starts at the next key).
	// A KeyMarker that is a common prefix under Delimiter skips every key
	// under it.
	KeyMarker       string
	VersionIDMarker string
	Limit           int // versions plus common prefixes; < 1 means 1000
}

// VersionPage is one page of versions.
type VersionPage struct {
	// Versions carry every field except Inline; delete markers included,
	// IsLatest set.
	Versions       []Object
	CommonPrefixes []string
	Truncated      bool
	// NextKeyMarker and NextVersionIDMarker name the last entry returned
	// (NextVersionIDMarker is empty when that entry is a common prefix).
	NextKeyMarker       string
	NextVersionIDMarker string
}

// PutOptions qualify an object write.
type PutOptions struct {
	Cond *Condition
	// Notice, when non-nil, is recorded in the outbox in the same commit.
	Notice *Notice
}

// PutResult reports what an object write did.
type PutResult struct {
	// VersionID is the id the store gave the new version.
	VersionID string
	// Replaced is the record that left the store (the key's previous null
	// version, when the write replaced it), without Inline bytes, holding
	// only the segments whose blobs no record references any more, for
	// release. Nil when nothing left the store (for instance when the
	// previous version became noncurrent).
	Replaced *Object
}

// DeleteOptions qualify a delete.
type DeleteOptions struct {
	// VersionID, when set, removes that version permanently (NullVersion
	// names the null version). When empty the delete follows the bucket's
	// versioning: unversioned removes the null version; enabled adds a delete
	// marker with a fresh id (even when the key does not exist); suspended
	// adds a null delete marker, removing any null version.
	VersionID string
	// Cond is checked against the latest version, only when VersionID is
	// empty.
	Cond *Condition
	// BypassGovernance lets the delete remove a version under GOVERNANCE
	// retention (never COMPLIANCE or legal hold).
	BypassGovernance bool
	Notice           *Notice
}

// DeleteResult reports what a delete did.
type DeleteResult struct {
	// VersionID is the id of the version removed or of the marker created.
	VersionID string
	// DeleteMarker is true when a marker was created, or when the version
	// removed was a marker.
	DeleteMarker bool
	// Removed is the record that left the store (as PutResult.Replaced),
	// nil when none did.
	Removed *Object
}

// UpdateOptions qualify an in-place update of a version.
type UpdateOptions struct {
	Cond   *Condition // checked against the latest version
	Notice *Notice
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
	// UpdateBucket applies fn to the bucket's record atomically and stores
	// the result; fn may change only Versioning and ObjectLock (other changes
	// are ignored). An error from fn aborts the update and is returned as is.
	// ErrBucketNotFound if missing.
	UpdateBucket(ctx context.Context, name string, fn func(*Bucket) error) (Bucket, error)
	// DeleteBucket removes an empty bucket: ErrBucketNotFound if missing,
	// ErrBucketNotEmpty if any version (delete markers included) exists. In-progress multipart uploads
	// do not count; they are removed with the bucket (their part blobs are
	// left for the orphan collector), and so are its configs. It is atomic against concurrent
	// PutObject and CreateUpload: nothing is ever left in a deleted bucket.
	DeleteBucket(ctx context.Context, name string) error
}

// Objects stores object versions.
//
// A key's versions form a list, newest first. Its latest version, unless it
// is a delete marker, is the key's current version: the one GET, listing
// and conditions see. Versions are removed only explicitly (DeleteObject
// with a VersionID) or when a write replaces the null version.
type Objects interface {
	// PutObject adds obj as the newest version of (obj.Bucket, obj.Key),
	// durably and atomically: readers see the old state or the new one. The
	// store sets obj.VersionID by the bucket's versioning (see
	// Object.VersionID); outside enabled versioning the key's null version,
	// wherever it is in the list, is replaced. opts.Cond is checked
	// atomically with the write and fails it with ErrPreconditionFailed.
	// ErrLocked if the null version it would replace is locked.
	// ErrBucketNotFound if the bucket does not exist.
	PutObject(ctx context.Context, obj Object, opts PutOptions) (PutResult, error)
	// GetObject returns a version, Inline included: the latest when
	// versionID is empty. If that version is a delete marker it returns the
	// marker's record and an error matching both ErrObjectNotFound and
	// ErrDeleteMarker. ErrBucketNotFound or ErrObjectNotFound when missing.
	GetObject(ctx context.Context, bucket, key, versionID string) (Object, error)
	// DeleteObject removes a version or writes a delete marker, as
	// DeleteOptions says. Removing a version the lock protects at the time
	// of the call fails with ErrLocked. Removing the latest version makes
	// the next one latest. ErrObjectNotFound when there is nothing to
	// remove (unversioned bucket without the key, or an unknown VersionID),
	// even with a condition; ErrBucketNotFound for a missing bucket.
	DeleteObject(ctx context.Context, bucket, key string, opts DeleteOptions) (DeleteResult, error)
	// UpdateObject applies fn to a version's record (the latest when
	// versionID is empty) atomically and stores the result; fn may change
	// only Tags, ACL, Retention and LegalHold (other changes are ignored). An
	// error from fn aborts and is returned as is. Missing versions and
	// delete markers fail as for GetObject. Returns the stored record
	// without Inline bytes.
	UpdateObject(ctx context.Context, bucket, key, versionID string, opts UpdateOptions, fn func(*Object) error) (Object, error)
	// ListObjects returns one page of current versions. Its cost follows
	// the page size, not the bucket size nor the number of versions: keys
	// under a common prefix are skipped with a seek, not read one by one.
	ListObjects(ctx context.Context, bucket string, opts ListOptions) (ListPage, error)
	// ListObjectVersions returns one page of every version, delete markers
	// included.
	ListObjectVersions(ctx context.Context, bucket string, opts VersionListOptions) (VersionPage, error)
	// BlobInUse reports whether any version or part references the
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
	// CompleteUpload atomically checks opts.Cond against the key's latest
	// version, adds obj (whose Segments reference some of the upload's part
	// blobs) as the newest version as PutObject does, and removes the upload
	// and all its parts. It returns what PutObject returns and the parts
	// whose blobs obj does not reference, for release.
	// ErrUploadNotFound if the upload is gone.
	CompleteUpload(ctx context.Context, bucket, key, id string, obj Object, opts PutOptions) (PutResult, []Part, error)
	// AbortUpload removes the upload and returns its parts for release.
	// ErrUploadNotFound if it is gone.
	AbortUpload(ctx context.Context, bucket, key, id string) ([]Part, error)
	// UploadsInitiatedBefore returns up to limit uploads, of any bucket,
	// initiated before t (for expiring abandoned uploads).
	UploadsInitiatedBefore(ctx context.Context, t time.Time, limit int) ([]Upload, error)
}

// Destination names where an event goes: a notification target (its ARN)
// and the id of the bucket notification configuration that matched.
type Destination struct {
	Target   string
	ConfigID string
}

// Notice asks a write to record an event for each Destination in the
// outbox, in the same commit as the write: the event exists exactly when the
// change does.
type Notice struct {
	Name         string // the S3 event name, e.g. "s3:ObjectCreated:Put"
	Principal    string
	SourceIP     string
	RequestID    string
	Destinations []Destination
}

// Event is an outbox entry: one change, for one target. The store fills
// Seq, Time and the object fields from the write it accompanied.
type Event struct {
	Seq      uint64 // unique and increasing across the store
	Target   string
	ConfigID string
	Name     string
	Time     time.Time
	Bucket   string
	Key      string
	// VersionID, ETag and Size describe the version written, removed or
	// the marker created.
	VersionID string
	ETag      string
	Size      int64
	Principal string
	SourceIP  string
	RequestID string
}

// Outbox holds undelivered events, per target, until delivery is
// acknowledged.
type Outbox interface {
	// AppendEvents records events that accompany no object write (a
	// notification test event, say), assigning Seq; Time is kept if set.
	AppendEvents(ctx context.Context, events []Event) error
	// PendingEvents returns up to limit of target's events in Seq order.
	PendingEvents(ctx context.Context, target string, limit int) ([]Event, error)
	// AckEvents removes target's events with the given Seqs; absent ones
	// are ignored.
	AckEvents(ctx context.Context, target string, seqs []uint64) error
	// OutboxDepths returns the number of pending events per target (targets
	// with none are absent). Its cost follows the outbox size.
	OutboxDepths(ctx context.Context) (map[string]int, error)
}

// Record is a control-plane document: a user, an access key, a policy, a
// session, a share link. Records are few, small, read often and written
// rarely; the store does not interpret Data.
type Record struct {
	Kind string
	ID   string
	Data []byte
	// Rev is the record's revision, set by the store: positive, and
	// different after every write of (Kind, ID).
	Rev int64
	// Expires, when not zero, is when the record stops existing: reads,
	// lists and preconditions treat an expired record as absent.
	Expires time.Time
}

// Revision preconditions for Records writes.
const (
	// RevAny writes whatever the record's state.
	RevAny int64 = -1
	// RevNew writes only when no live record exists.
	RevNew int64 = 0
)

// Records stores control-plane documents by kind and id, with optimistic
// concurrency: every write names the revision it expects, so two
// administrators (or two instances) never overwrite each other unknowingly.
type Records interface {
	// PutRecord writes r and returns its new revision. r.Rev is the
	// precondition: RevNew creates (ErrConflict when a live record exists),
	// a positive revision replaces exactly that revision (ErrConflict when
	// the record has another, ErrRecordNotFound when it is absent), RevAny
	// writes unconditionally.
	PutRecord(ctx context.Context, r Record) (int64, error)
	// GetRecord returns a live record; ErrRecordNotFound otherwise.
	GetRecord(ctx context.Context, kind, id string) (Record, error)
	// DeleteRecord removes a live record whose revision is rev (RevAny: any
	// revision). ErrRecordNotFound when absent, ErrConflict when the
	// revision differs. Deleting and checking are one atomic step, so a
	// one-time token deleted by revision is consumed exactly once.
	DeleteRecord(ctx context.Context, kind, id string, rev int64) error
	// ListRecords returns up to limit live records of kind whose ID is
	// greater than after, in ID byte order (limit < 1 means 1000).
	ListRecords(ctx context.Context, kind, after string, limit int) ([]Record, error)
	// PurgeExpiredRecords removes up to limit records that expired before
	// now and returns how many it removed.
	PurgeExpiredRecords(ctx context.Context, now time.Time, limit int) (int, error)
}

// Exporter is implemented by stores that can be copied whole into another
// (coffer meta migrate): it enumerates what the Store interface addresses
// only by name.
type Exporter interface {
	// BucketConfigNames returns the names of the bucket's configs, sorted.
	BucketConfigNames(ctx context.Context, bucket string) ([]string, error)
	// RecordKinds returns every kind that has records, sorted.
	RecordKinds(ctx context.Context) ([]string, error)
}

// Importer is implemented by stores that can receive a copy of another.
type Importer interface {
	// ImportVersions writes all the versions of one key (newest first, as
	// ListObjectVersions returns them, Inline included) into a key that has
	// none, keeping their version ids (whichever store made them), times,
	// delete markers, tags and lock fields. ErrPreconditionFailed when the
	// key already has versions; ErrBucketNotFound when the bucket is missing.
	ImportVersions(ctx context.Context, versions []Object) error
}

// Usage is a bucket's maintained totals.
type Usage struct {
	Objects      int64 // current versions that are not delete markers
	Bytes        int64 // sum of their Size
	Versions     int64 // every stored version, delete markers included
	VersionBytes int64 // sum of Size over every stored version (a marker's is 0)
	Uploads      int64 // in-progress multipart uploads
}

// Add returns the field-wise sum of u and d.
func (u Usage) Add(d Usage) Usage {
	return Usage{
		Objects:      u.Objects + d.Objects,
		Bytes:        u.Bytes + d.Bytes,
		Versions:     u.Versions + d.Versions,
		VersionBytes: u.VersionBytes + d.VersionBytes,
		Uploads:      u.Uploads + d.Uploads,
	}
}

// UsageCounter reports usage that the store maintains with every write, so
// that reading it never scans objects.
//
// Contract: the counters change in the same atomic commit as the write that
// changes what they count (PutObject, DeleteObject, CompleteUpload,
// CreateUpload, AbortUpload, ImportVersions), so a read after a write
// returned sees it, and a read concurrent with writes sees the totals as of
// some point between them, never a half-applied write. DeleteBucket drops
// the bucket's counters; a bucket created again under the name starts at
// zero. The cost of a read does not depend on the number of objects.
type UsageCounter interface {
	// BucketUsage returns the bucket's totals; ErrBucketNotFound for a
	// missing bucket.
	BucketUsage(ctx context.Context, bucket string) (Usage, error)
	// TotalUsage sums every bucket (cost follows the number of buckets, not
	// objects).
	TotalUsage(ctx context.Context) (Usage, error)
}

// Store is a complete metadata store. Close releases it; methods called
// after Close return ErrUnavailable.
type Store interface {
	Buckets
	Objects
	Uploads
	BucketConfigs
	Outbox
	Records
	UsageCounter
	Close() error
}
