package mgmtapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/notify"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/policy"
)

// bucketRoutes registers bucket CRUD and in-progress multipart uploads.
//
// Every handler authorizes the S3 action the S3 surface checks for the
// same operation (HeadBucket and the detail are s3:ListBucket, as S3's
// HeadBucket), so a user gets the same answer through both.
func (a *API) bucketRoutes() {
	a.handle("GET /api/buckets", a.listBuckets)
	a.handle("POST /api/buckets", a.createBucket)
	a.handle("HEAD /api/buckets/{bucket}", a.headBucket)
	a.handle("GET /api/buckets/{bucket}", a.getBucket)
	a.handle("DELETE /api/buckets/{bucket}", a.deleteBucket)
	a.handle("GET /api/buckets/{bucket}/uploads", a.listBucketUploads)
	a.handle("DELETE /api/buckets/{bucket}/uploads/{uploadId}", a.abortBucketUpload)
}

// bucketSummary is one bucket as listings show it. Field names are S4's
// camelCase; the storage-server seed's snake_case names for the same
// values are kept beside them so its clients keep working.
type bucketSummary struct {
	Name           string    `json:"name"`
	Owner          string    `json:"owner"`
	Region         string    `json:"region"`
	CreationDate   time.Time `json:"creationDate"`
	Versioning     string    `json:"versioning"` // "", "Enabled" or "Suspended", as S3 reports it
	ObjectLock     bool      `json:"objectLock"`
	ObjectCount    int64     `json:"objectCount"`
	TotalSize      int64     `json:"totalSize"`
	TotalSizeHuman string    `json:"totalSizeHuman"`

	CreatedAt         time.Time `json:"created_at"`
	ObjectCountSnake  int64     `json:"object_count"`
	TotalSizeSnake    int64     `json:"total_size"`
	TotalSizeHumanSnk string    `json:"total_size_human"`
}

func summarizeBucket(b meta.Bucket, u bucketUsageCounts) bucketSummary {
	h := humanStorage(u.Bytes)
	return bucketSummary{
		Name: b.Name, Owner: b.Owner, Region: b.Region, CreationDate: b.Created.UTC(),
		Versioning: b.Versioning, ObjectLock: b.ObjectLock,
		ObjectCount: u.Objects, TotalSize: u.Bytes, TotalSizeHuman: h,
		CreatedAt: b.Created.UTC(), ObjectCountSnake: u.Objects, TotalSizeSnake: u.Bytes, TotalSizeHumanSnk: h,
	}
}

type bucketUsageCounts = meta.Usage

// bucketUsage reads the bucket's counters, which the store maintains with
// every write: nothing here scans objects.
func (a *API) bucketUsage(ctx context.Context, bucket string) (bucketUsageCounts, error) {
	u, err := a.cfg.Store.BucketUsage(ctx, bucket)
	if err != nil {
		return bucketUsageCounts{}, fmt.Errorf("reading usage of %s: %w", bucket, err)
	}
	return u, nil
}

// mayOnBucket reports whether the caller may perform action on bucket: false only
// for a refusal, so that a store failure is not mistaken for one.
func (c *call) mayOnBucket(action, bucket string) (bool, error) {
	err := c.authorize(action, bucket, "", nil)
	if errors.Is(err, iam.ErrAccessDenied) {
		return false, nil
	}
	return err == nil, err
}

// GET /api/buckets — S4 GET /buckets, ra-hcp GET /buckets, seed 003 GET /api/buckets.
// The buckets S3 ListBuckets shows the caller: root sees every bucket, a
// user the ones it owns.
func (a *API) listBuckets(c *call) (any, error) {
	if err := c.authorize("s3:ListAllMyBuckets", "", "", nil); err != nil {
		return nil, err
	}
	all, err := a.cfg.Objects.Buckets(c.ctx)
	if err != nil {
		return nil, err
	}
	out := make([]bucketSummary, 0, len(all))
	for _, b := range all {
		if !c.p.Root && b.Owner != c.p.Name {
			continue
		}
		u, err := a.bucketUsage(c.ctx, b.Name)
		if errors.Is(err, meta.ErrBucketNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, summarizeBucket(b, u))
	}
	return map[string]any{
		"buckets": out,
		"owner":   map[string]string{"id": c.p.CanonicalID(), "displayName": c.p.Name},
	}, nil
}

// createBucketRequest accepts the name under each seed's field: name
// (seed 003), bucketName (S4), bucket (ra-hcp).
type createBucketRequest struct {
	Name       string `json:"name"`
	BucketName string `json:"bucketName"`
	Bucket     string `json:"bucket"`
	Region     string `json:"region"`
	Versioning *bool  `json:"versioning"`
	ObjectLock bool   `json:"objectLock"`
	// ACL is a canned ACL (x-amz-acl on S3 CreateBucket).
	ACL string `json:"acl"`
	// ObjectOwnership is x-amz-object-ownership.
	ObjectOwnership string `json:"objectOwnership"`
	// Owner and OwnerID (seed 003, where owner_id is required) are
	// refused unless they name the caller: a bucket belongs to its
	// creator, as in S3.
	Owner   string `json:"owner"`
	OwnerID any    `json:"owner_id"`
}

// checkBucketOwner accepts an owner or owner_id that names the caller: its
// user name, its canonical id, one of its access keys, or (seed 003's
// owner_id is a credential's numeric id) one of its access keys' ids,
// as a JSON number or a numeric string. Only the caller's own keys are
// read, so a refusal says nothing of other users' keys.
func (a *API) checkBucketOwner(c *call, v any) error {
	refuse := errorf(http.StatusBadRequest, "InvalidRequest",
		"owner_id must name the caller (its user name, canonical id or one of its access keys or credential ids): a bucket is owned by the user who creates it; create it as that user")
	var s string
	switch o := v.(type) {
	case nil:
		return nil
	case string:
		if o == "" {
			return nil
		}
		s = o
	case float64:
		if o != float64(int64(o)) {
			return refuse
		}
		s = strconv.FormatInt(int64(o), 10)
	default:
		return refuse
	}
	if s == c.p.Name || s == c.p.CanonicalID() {
		return nil
	}
	if c.p.Root {
		return refuse // root's only key is its name
	}
	keys, err := a.cfg.IAM.ListAccessKeys(c.ctx, c.p.Name)
	if errors.Is(err, iam.ErrUserNotFound) {
		return refuse
	}
	if err != nil {
		return fmt.Errorf("checking owner_id: %w", err)
	}
	for _, k := range keys {
		if s == k.AccessKey || s == strconv.FormatInt(k.ID, 10) {
			return nil
		}
	}
	return refuse
}

// POST /api/buckets — S4 POST /buckets, ra-hcp POST /buckets, seed 003 POST /api/buckets.
func (a *API) createBucket(c *call) (any, error) {
	var in createBucketRequest
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	name := in.Name
	for _, alt := range []string{in.BucketName, in.Bucket} {
		if name == "" {
			name = alt
		}
	}
	if name == "" {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "name is required")
	}
	// Authorized before the body is judged, as S3 decides before it reads
	// the request: a caller who may not create learns nothing more.
	var conds map[string][]string
	if in.ACL != "" {
		conds = map[string][]string{"s3:x-amz-acl": {in.ACL}}
	}
	if err := c.authorize("s3:CreateBucket", name, "", conds); err != nil {
		return nil, err
	}
	for _, o := range []any{in.Owner, in.OwnerID} {
		if err := a.checkBucketOwner(c, o); err != nil {
			return nil, err
		}
	}
	if in.Region != "" && in.Region != a.cfg.Region {
		return nil, errorf(http.StatusBadRequest, "InvalidLocationConstraint", "this server is region %s", a.cfg.Region)
	}
	if in.ObjectLock && in.Versioning != nil && !*in.Versioning {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "object lock needs versioning")
	}
	if in.ObjectOwnership != "" && !iam.ValidOwnership(in.ObjectOwnership) {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "objectOwnership must be %s, %s or %s",
			iam.OwnershipEnforced, iam.OwnershipPreferred, iam.OwnershipObjectWriter)
	}
	var acl iam.ACL
	if in.ACL != "" {
		var err error
		if acl, err = iam.CannedACL(in.ACL, c.p.CanonicalID(), c.p.Name); err != nil {
			return nil, err
		}
		if in.ObjectOwnership == iam.OwnershipEnforced && !acl.OwnerOnly(c.p.CanonicalID()) {
			return nil, errorf(http.StatusBadRequest, "InvalidBucketAclWithObjectOwnership",
				"a bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
		}
	}
	c.log = c.log.With("bucket", name)
	if err := a.cfg.Objects.CreateBucket(c.ctx, name, c.p.Name, a.cfg.Region, object.BucketOptions{ObjectLock: in.ObjectLock}); err != nil {
		return nil, err
	}
	if err := a.initBucket(c, name, in, acl); err != nil {
		// Half-made buckets are worse than none: the caller retries.
		if derr := a.cfg.Objects.DeleteBucket(a.background(), name); derr != nil {
			c.log.Error("removing a bucket whose settings failed", "err", derr)
		}
		return nil, err
	}
	b, err := a.cfg.Objects.Bucket(c.ctx, name)
	if err != nil {
		return nil, err
	}
	return created(struct {
		bucketSummary
		Status string `json:"status"`
		Bucket string `json:"bucket"`
	}{summarizeBucket(b, bucketUsageCounts{}), "created", name}), nil
}

// initBucket applies the settings asked for at creation, each authorized
// as its own S3 call would be (the owner is allowed unless a policy
// denies).
func (a *API) initBucket(c *call, name string, in createBucketRequest, acl iam.ACL) error {
	if in.Versioning != nil && *in.Versioning && !in.ObjectLock {
		if err := c.authorize("s3:PutBucketVersioning", name, "", nil); err != nil {
			return err
		}
		if err := a.cfg.Objects.SetVersioning(c.ctx, name, meta.VersioningEnabled); err != nil {
			return err
		}
	}
	if in.ObjectOwnership != "" {
		if err := c.authorize("s3:PutBucketOwnershipControls", name, "", nil); err != nil {
			return err
		}
		if err := a.cfg.Objects.PutBucketConfig(c.ctx, name, iam.ConfigOwnership, []byte(in.ObjectOwnership)); err != nil {
			return err
		}
	}
	if in.ACL != "" {
		data, err := iam.EncodeACL(acl)
		if err != nil {
			return err
		}
		if err := a.cfg.Objects.PutBucketConfig(c.ctx, name, iam.ConfigACL, data); err != nil {
			return err
		}
	}
	return nil
}

// HEAD /api/buckets/{bucket} — ra-hcp HEAD /buckets/{bucket}.
func (a *API) headBucket(c *call) (any, error) {
	name := c.r.PathValue("bucket")
	if err := c.authorize("s3:ListBucket", name, "", nil); err != nil {
		return nil, err
	}
	if _, err := a.cfg.Objects.Bucket(c.ctx, name); err != nil {
		return nil, err
	}
	c.w.WriteHeader(http.StatusOK)
	return written, nil
}

// bucketUsageJSON is a bucket's maintained counters.
type bucketUsageJSON struct {
	Objects      int64  `json:"objects"`
	Bytes        int64  `json:"bytes"`
	BytesHuman   string `json:"bytesHuman"`
	Versions     int64  `json:"versions"`
	VersionBytes int64  `json:"versionBytes"`
	Uploads      int64  `json:"uploads"`
}

// bucketDetailObject is one object of the detail's first page, in seed 003's
// shape.
type bucketDetailObject struct {
	Key         string    `json:"key"`
	Size        int64     `json:"size"`
	SizeHuman   string    `json:"size_human"`
	ContentType string    `json:"content_type"`
	ETag        string    `json:"etag"`
	IsMultipart bool      `json:"is_multipart"`
	CreatedAt   time.Time `json:"created_at"`
}

// detailObjects bounds the objects the detail lists (seed 003 includes
// them); ?objects=N asks for fewer or more, 0 for none.
const (
	detailObjectsDefault = 100
	detailObjectsMax     = 1000
)

// GET /api/buckets/{bucket} — seed 003 GET /api/buckets/{bucket}.
// Each part of the detail is shown only to a caller the S3 surface would
// show it to (versioning needs s3:GetBucketVersioning, tags
// s3:GetBucketTagging, and so on); parts it may not see are omitted.
func (a *API) getBucket(c *call) (any, error) {
	name := c.r.PathValue("bucket")
	limit := detailObjectsDefault
	if v := c.r.URL.Query().Get("objects"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > detailObjectsMax {
			return nil, errorf(http.StatusBadRequest, "InvalidRequest", "objects must be 0 to %d", detailObjectsMax)
		}
		limit = n
	}
	if err := c.authorize("s3:ListBucket", name, "", nil); err != nil {
		return nil, err
	}
	b, err := a.cfg.Objects.Bucket(c.ctx, name)
	if err != nil {
		return nil, err
	}
	u, err := a.bucketUsage(c.ctx, name)
	if err != nil {
		return nil, err
	}
	d := struct {
		bucketSummary
		Usage      bucketUsageJSON      `json:"usage"`
		ObjectLock *bucketLockJSON      `json:"objectLockConfiguration,omitempty"`
		Tags       []bucketTagJSON      `json:"tags,omitempty"`
		IsPublic   *bool                `json:"isPublic,omitempty"`
		Objects    []bucketDetailObject `json:"objects"`
		Truncated  bool                 `json:"objectsTruncated"`
	}{
		bucketSummary: summarizeBucket(b, u),
		Usage: bucketUsageJSON{Objects: u.Objects, Bytes: u.Bytes, BytesHuman: humanStorage(u.Bytes), Versions: u.Versions,
			VersionBytes: u.VersionBytes, Uploads: u.Uploads},
		Objects: []bucketDetailObject{},
	}
	ok, err := c.mayOnBucket("s3:GetBucketVersioning", name)
	if err != nil {
		return nil, err
	}
	if !ok {
		d.bucketSummary.Versioning = ""
	}
	if ok, err = c.mayOnBucket("s3:GetBucketObjectLockConfiguration", name); err != nil {
		return nil, err
	} else if ok && b.ObjectLock {
		lc, err := a.cfg.Objects.LockConfig(c.ctx, name)
		if err != nil {
			return nil, err
		}
		j := bucketLockToJSON(lc)
		d.ObjectLock = &j
	}
	if ok, err = c.mayOnBucket("s3:GetBucketTagging", name); err != nil {
		return nil, err
	} else if ok {
		tags, err := a.bucketTags(c.ctx, name)
		if err != nil && !errors.Is(err, object.ErrNoSuchConfig) {
			return nil, err
		}
		d.Tags = tags
	}
	if ok, err = c.mayOnBucket("s3:GetBucketPolicyStatus", name); err != nil {
		return nil, err
	} else if ok {
		pub, err := a.bucketPublic(c.ctx, name)
		if err != nil {
			return nil, err
		}
		d.IsPublic = &pub
	}
	if limit > 0 {
		page, err := a.cfg.Objects.ListObjects(c.ctx, name, meta.ListOptions{Limit: limit})
		if err != nil {
			return nil, err
		}
		for _, o := range page.Objects {
			d.Objects = append(d.Objects, bucketDetailObject{Key: o.Key, Size: o.Size, SizeHuman: humanStorage(o.Size),
				ContentType: o.ContentType, ETag: o.ETag, IsMultipart: o.PartsCount > 0, CreatedAt: o.Modified.UTC()})
		}
		d.Truncated = page.Truncated
	}
	return d, nil
}

// bucketPublic reports whether the bucket policy makes the bucket public
// (false without a policy).
func (a *API) bucketPublic(ctx context.Context, bucket string) (bool, error) {
	doc, err := a.cfg.Objects.BucketConfig(ctx, bucket, iam.ConfigPolicy)
	if errors.Is(err, object.ErrNoSuchConfig) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	p, err := policy.Parse(doc)
	if err != nil {
		return false, fmt.Errorf("stored policy of %s: %w", bucket, err)
	}
	return policy.IsPublic(p), nil
}

// DELETE /api/buckets/{bucket} — S4 DELETE /buckets/:bucketName, ra-hcp DELETE /buckets/{bucket}?force=true.
// 200 {status:"deleted", bucket}, as ra-hcp answers.
func (a *API) deleteBucket(c *call) (any, error) {
	name := c.r.PathValue("bucket")
	force := false
	if v := c.r.URL.Query().Get("force"); v != "" {
		var err error
		if force, err = strconv.ParseBool(v); err != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidRequest", "force must be true or false")
		}
	}
	c.log = c.log.With("bucket", name)
	if err := c.authorize("s3:DeleteBucket", name, "", nil); err != nil {
		return nil, err
	}
	if _, err := a.cfg.Objects.Bucket(c.ctx, name); err != nil {
		return nil, err
	}
	if force {
		if err := a.emptyBucket(c, name); err != nil {
			return nil, err
		}
	}
	if err := a.cfg.Objects.DeleteBucket(c.ctx, name); err != nil {
		return nil, err
	}
	// ra-hcp's documented answer; S4 documents none for this route.
	return bucketStatus{Status: "deleted", Bucket: name}, nil
}

// bucketStatus is ra-hcp's BucketMutationResponse: {status, bucket?}.
type bucketStatus struct {
	Status string `json:"status"`
	Bucket string `json:"bucket,omitempty"`
}

// bucketEmptyPage is how many versions or uploads one round of a forced delete
// lists.
const bucketEmptyPage = 1000

// emptyBucket removes every version and delete marker, then aborts every
// upload, each authorized as the S3 call that does it would be. Every
// round lists from the start: what the previous round listed is gone, so
// no marker can skip a version. A locked version stops it with
// ErrObjectLocked naming the key; what was removed before stays removed.
func (a *API) emptyBucket(c *call, bucket string) error {
	if err := c.authorize("s3:ListBucketVersions", bucket, "", nil); err != nil {
		return err
	}
	removed := 0
	for {
		page, err := a.cfg.Objects.ListObjectVersions(c.ctx, bucket, meta.VersionListOptions{Limit: bucketEmptyPage})
		if err != nil {
			return err
		}
		if len(page.Versions) == 0 {
			break
		}
		for _, v := range page.Versions {
			if err := c.authorize("s3:DeleteObjectVersion", bucket, v.Key, map[string][]string{"s3:VersionId": {v.VersionID}}); err != nil {
				return err
			}
			_, err := a.cfg.Objects.DeleteObject(c.ctx, object.DeleteInput{Bucket: bucket, Key: v.Key, VersionID: v.VersionID})
			if err != nil {
				return fmt.Errorf("force delete of %s stopped at key %q (version %s) after removing %d versions: %w",
					bucket, v.Key, v.VersionID, removed, err)
			}
			removed++
		}
	}
	if err := c.authorize("s3:ListBucketMultipartUploads", bucket, "", nil); err != nil {
		return err
	}
	for {
		page, err := a.cfg.Objects.ListUploads(c.ctx, bucket, meta.UploadListOptions{Limit: bucketEmptyPage})
		if err != nil {
			return err
		}
		if len(page.Uploads) == 0 {
			break
		}
		for _, u := range page.Uploads {
			key := u.Object.Key
			if err := c.authorize("s3:AbortMultipartUpload", bucket, key, nil); err != nil {
				return err
			}
			err := a.cfg.Objects.AbortUpload(c.ctx, bucket, key, u.ID)
			if err != nil && !errors.Is(err, object.ErrNoSuchUpload) {
				return err
			}
		}
	}
	c.log.Info("bucket emptied for deletion", "versions", removed)
	return nil
}

// bucketUploadJSON is an in-progress upload in the seeds' snake_case (ra-hcp
// and seed 003 both document this route that way).
type bucketUploadJSON struct {
	UploadID       string    `json:"upload_id"`
	ObjectKey      string    `json:"object_key"`
	EncodedKey     string    `json:"encoded_key"` // Base64url, for the abort route
	InitiatedBy    string    `json:"initiated_by"`
	ContentType    string    `json:"content_type"`
	InitiatedAt    time.Time `json:"initiated_at"`
	PartCount      int       `json:"part_count"`
	TotalSize      int64     `json:"total_size"`
	TotalSizeHuman string    `json:"total_size_human"`
	StorageClass   string    `json:"storage_class,omitempty"`
}

// bucketQuery returns the first non-empty of the named query parameters (each
// route accepts S4's camelCase and the seeds' snake_case names).
func (c *call) bucketQuery(names ...string) string {
	q := c.r.URL.Query()
	for _, n := range names {
		if v := q.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// maxUploadPartsListed bounds the parts read to total one upload (S3's limit).
const maxUploadPartsListed = 10000

// GET /api/buckets/{bucket}/uploads — ra-hcp GET /buckets/{bucket}/uploads, seed 003 "active multipart uploads for a bucket".
func (a *API) listBucketUploads(c *call) (any, error) {
	name := c.r.PathValue("bucket")
	opts := meta.UploadListOptions{
		Prefix:         c.bucketQuery("prefix"),
		Delimiter:      c.bucketQuery("delimiter"),
		KeyMarker:      c.bucketQuery("keyMarker", "key_marker"),
		UploadIDMarker: c.bucketQuery("uploadIdMarker", "upload_id_marker"),
		Limit:          1000,
	}
	if v := c.bucketQuery("maxUploads", "max_uploads"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, errorf(http.StatusBadRequest, "InvalidRequest", "max_uploads must be 1 to 1000")
		}
		opts.Limit = n
	}
	if opts.UploadIDMarker != "" && opts.KeyMarker == "" {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "uploadIdMarker needs keyMarker")
	}
	conds := map[string][]string{"s3:max-keys": {strconv.Itoa(opts.Limit)}}
	if opts.Prefix != "" {
		conds["s3:prefix"] = []string{opts.Prefix}
	}
	if opts.Delimiter != "" {
		conds["s3:delimiter"] = []string{opts.Delimiter}
	}
	if err := c.authorize("s3:ListBucketMultipartUploads", name, "", conds); err != nil {
		return nil, err
	}
	page, err := a.cfg.Objects.ListUploads(c.ctx, name, opts)
	if err != nil {
		return nil, err
	}
	ups := make([]bucketUploadJSON, 0, len(page.Uploads))
	for _, u := range page.Uploads {
		j := bucketUploadJSON{UploadID: u.ID, ObjectKey: u.Object.Key, EncodedKey: base64.RawURLEncoding.EncodeToString([]byte(u.Object.Key)),
			InitiatedBy: u.Owner, ContentType: u.Object.ContentType, InitiatedAt: u.Initiated.UTC(), StorageClass: u.Object.StorageClass}
		after := 0
		for after < maxUploadPartsListed {
			parts, more, err := a.cfg.Objects.ListParts(c.ctx, name, u.Object.Key, u.ID, after, 1000)
			if errors.Is(err, object.ErrNoSuchUpload) {
				break // completed or aborted since the listing
			}
			if err != nil {
				return nil, err
			}
			for _, p := range parts {
				j.PartCount++
				j.TotalSize += p.Size
				after = p.Number
			}
			if !more || len(parts) == 0 {
				break
			}
		}
		j.TotalSizeHuman = humanStorage(j.TotalSize)
		ups = append(ups, j)
	}
	prefixes := page.CommonPrefixes
	if prefixes == nil {
		prefixes = []string{}
	}
	return map[string]any{
		"bucket":                name,
		"uploads":               ups,
		"common_prefixes":       prefixes,
		"is_truncated":          page.Truncated,
		"next_key_marker":       page.NextKeyMarker,
		"next_upload_id_marker": page.NextUploadIDMarker,
	}, nil
}

// DELETE /api/buckets/{bucket}/uploads/{uploadId}?key=<base64url> — abort (S3 AbortMultipartUpload).
func (a *API) abortBucketUpload(c *call) (any, error) {
	name, id := c.r.PathValue("bucket"), c.r.PathValue("uploadId")
	enc := c.r.URL.Query().Get("key")
	if enc == "" {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "key (Base64url) is required")
	}
	key, err := decodeKey(enc)
	if err != nil {
		return nil, err
	}
	if err := c.authorize("s3:AbortMultipartUpload", name, key, nil); err != nil {
		return nil, err
	}
	if err := a.cfg.Objects.AbortUpload(c.ctx, name, key, id); err != nil {
		return nil, err
	}
	return noContent, nil
}

// ---- notifications (registered by bucketSettingRoutes) ----

// notificationRoutes registers S4's notification routes and the same
// configuration under the bucket's settings.
func (a *API) notificationRoutes() {
	a.handle("GET /api/notifications/{bucket}", a.getBucketNotifications)
	a.handle("PUT /api/notifications/{bucket}", a.putBucketNotifications)
	a.handle("DELETE /api/notifications/{bucket}/{notificationId}", a.deleteBucketNotification)
	a.handle("POST /api/notifications/test-endpoint", a.testNotificationEndpoint)
	a.handle("GET /api/buckets/{bucket}/notifications", a.getBucketNotifications)
	a.handle("PUT /api/buckets/{bucket}/notifications", a.putBucketNotifications)
	a.handle("DELETE /api/buckets/{bucket}/notifications/{notificationId}", a.deleteBucketNotification)
}

// bucketNotificationJSON is one of S4's notifications. Coffer delivers to
// targets the operator configures (notify's targets file), never to URLs
// a bucket's configuration names, so endpoint holds a configured target's
// ARN (arn:coffer:sqs:<region>:<id>:<type>); target is the same value
// under S3's meaning. Kind is the S3 element the rule is kept as (Queue,
// Topic or CloudFunction; Queue when omitted).
type bucketNotificationJSON struct {
	ID       string   `json:"id,omitempty"`
	Endpoint string   `json:"endpoint"`
	Target   string   `json:"target,omitempty"`
	Kind     string   `json:"kind,omitempty"`
	Events   []string `json:"events"`
	Prefix   string   `json:"prefix,omitempty"`
	Suffix   string   `json:"suffix,omitempty"`
}

func (a *API) bucketNotifications(ctx context.Context, bucket string) ([]bucketNotificationJSON, error) {
	out := []bucketNotificationJSON{}
	data, err := a.cfg.Objects.BucketConfig(ctx, bucket, notify.ConfigName)
	if errors.Is(err, object.ErrNoSuchConfig) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	cfg, err := notify.ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("stored notification configuration of %s: %w", bucket, err)
	}
	for _, r := range cfg.Rules {
		out = append(out, bucketNotificationJSON{ID: r.ID, Endpoint: r.ARN, Target: r.ARN, Kind: string(r.Kind),
			Events: r.Events, Prefix: r.Prefix, Suffix: r.Suffix})
	}
	return out, nil
}

// GET /api/notifications/{bucket} — S4 GET /notifications/:bucketName (S3 GetBucketNotificationConfiguration).
// Also GET /api/buckets/{bucket}/notifications.
func (a *API) getBucketNotifications(c *call) (any, error) {
	b, err := a.bucketSetting(c, "s3:GetBucketNotification")
	if err != nil {
		return nil, err
	}
	ns, err := a.bucketNotifications(c.ctx, b.Name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"notifications": ns}, nil
}

// bucketNotifyConfig turns S4's list into a notification configuration.
func bucketNotifyConfig(ns []bucketNotificationJSON) (*notify.Config, error) {
	cfg := &notify.Config{}
	for i, n := range ns {
		arn := n.Target
		if arn == "" {
			arn = n.Endpoint
		}
		if arn == "" {
			return nil, errorf(http.StatusBadRequest, "InvalidRequest", "notification %d needs an endpoint (a configured target's ARN)", i+1)
		}
		if !strings.HasPrefix(arn, "arn:") {
			return nil, errorf(http.StatusBadRequest, "InvalidRequest",
				"notification %d: endpoint must name a notification target the operator configured, by its ARN (arn:coffer:sqs:<region>:<id>:<type>); URLs are set in the targets file", i+1)
		}
		if len(n.Events) == 0 {
			return nil, errorf(http.StatusBadRequest, "InvalidRequest", "notification %d needs at least one event", i+1)
		}
		kind := notify.Kind(n.Kind)
		switch kind {
		case "":
			kind = notify.KindQueue
		case notify.KindQueue, notify.KindTopic, notify.KindCloudFunction:
		default:
			return nil, errorf(http.StatusBadRequest, "InvalidRequest", "kind must be Queue, Topic or CloudFunction")
		}
		cfg.Rules = append(cfg.Rules, notify.Rule{ID: n.ID, Kind: kind, ARN: arn, Events: n.Events, Prefix: n.Prefix, Suffix: n.Suffix})
	}
	return cfg, nil
}

// saveBucketNotifications stores cfg the way S3 PutBucketNotificationConfiguration
// does: through the notify.Router, which parses it again (S3's
// validation), checks its targets and queues their test events.
func (a *API) saveBucketNotifications(c *call, bucket string, cfg *notify.Config) error {
	data, err := cfg.Marshal()
	if err != nil {
		return err
	}
	if a.cfg.Notifications != nil {
		return a.cfg.Notifications.PutConfig(c.ctx, bucket, data, c.id)
	}
	// No targets configured: only an empty configuration is valid.
	parsed, err := notify.ParseConfig(data)
	if err != nil {
		return err
	}
	if err := notify.Validate(parsed, func(string) bool { return false }); err != nil {
		return err
	}
	return a.cfg.Objects.DeleteBucketConfig(c.ctx, bucket, notify.ConfigName)
}

// PUT /api/notifications/{bucket} {"notifications":[...]} — S4 PUT /notifications/:bucketName (replaces the list).
// Also PUT /api/buckets/{bucket}/notifications.
func (a *API) putBucketNotifications(c *call) (any, error) {
	var in struct {
		Notifications []bucketNotificationJSON `json:"notifications"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	b, err := a.bucketSetting(c, "s3:PutBucketNotification")
	if err != nil {
		return nil, err
	}
	cfg, err := bucketNotifyConfig(in.Notifications)
	if err != nil {
		return nil, err
	}
	if err := a.saveBucketNotifications(c, b.Name, cfg); err != nil {
		return nil, err
	}
	ns, err := a.bucketNotifications(c.ctx, b.Name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"message": "Notification configuration updated successfully", "notifications": ns}, nil
}

// DELETE /api/notifications/{bucket}/{notificationId} — S4 DELETE /notifications/:bucketName/:notificationId.
// An unknown id succeeds, as in S4. Also DELETE /api/buckets/{bucket}/notifications/{notificationId}.
func (a *API) deleteBucketNotification(c *call) (any, error) {
	b, err := a.bucketSetting(c, "s3:PutBucketNotification")
	if err != nil {
		return nil, err
	}
	id := c.r.PathValue("notificationId")
	ns, err := a.bucketNotifications(c.ctx, b.Name)
	if err != nil {
		return nil, err
	}
	kept := ns[:0]
	for _, n := range ns {
		if n.ID != id {
			kept = append(kept, n)
		}
	}
	if len(kept) != len(ns) {
		cfg, err := bucketNotifyConfig(kept)
		if err != nil {
			return nil, err
		}
		if err := a.saveBucketNotifications(c, b.Name, cfg); err != nil {
			return nil, err
		}
	}
	return map[string]string{"message": "Notification removed successfully"}, nil
}

// notificationTestTimeout is S4's webhook timeout.
const notificationTestTimeout = 5 * time.Second

// notificationTestReply is S4's answer, with reachable and status for
// clients that read those names.
type notificationTestReply struct {
	Error      string `json:"error,omitempty"`
	Success    bool   `json:"success"`
	Reachable  bool   `json:"reachable"`
	StatusCode int    `json:"statusCode,omitempty"`
	Status     int    `json:"status,omitempty"`
	Message    string `json:"message"`
}

// POST /api/notifications/test-endpoint {"endpoint": "https://...", "bucket"?: "..."} — S4 POST /notifications/test-endpoint.
// It posts an s3:TestEvent message (as targets receive one when a
// configuration is saved) and reports the status the endpoint answered,
// whatever it was. Posting from the server to a URL the caller names is a
// privilege: it needs s3:PutBucketNotification on the bucket named, or
// admin:TestNotificationEndpoint when none is.
func (a *API) testNotificationEndpoint(c *call) (any, error) {
	var in struct {
		Endpoint string `json:"endpoint"`
		Bucket   string `json:"bucket"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.Bucket != "" {
		if err := c.authorize("s3:PutBucketNotification", in.Bucket, "", nil); err != nil {
			return nil, err
		}
		if _, err := a.cfg.Objects.Bucket(c.ctx, in.Bucket); err != nil {
			return nil, err
		}
	} else if err := c.authorize("admin:TestNotificationEndpoint", "", "", nil); err != nil {
		return nil, err
	}
	u, err := url.Parse(in.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "endpoint must be an http or https URL")
	}
	bucket := in.Bucket
	if bucket == "" {
		bucket = "test-bucket"
	}
	now := a.now().UTC()
	payload, err := notify.Encoder{Region: a.cfg.Region}.Encode(c.ctx, meta.Event{Name: notify.TestEventName, Bucket: bucket, Time: now, RequestID: c.id})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(c.ctx, notificationTestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(payload))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "endpoint must be an http or https URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(notify.EventNameHeader, notify.TestEventName)
	hc := &http.Client{
		// A redirect is the endpoint's answer; following it would post
		// elsewhere than the caller asked.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The URL may carry a token: the message names only what failed.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &reply{status: http.StatusBadRequest, body: notificationTestReply{Error: "EndpointUnreachable",
			Message: "Failed to reach endpoint: " + err.Error()}}, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return notificationTestReply{Success: true, Reachable: true, StatusCode: resp.StatusCode, Status: resp.StatusCode,
		Message: fmt.Sprintf("Endpoint responded with status %d", resp.StatusCode)}, nil
}
