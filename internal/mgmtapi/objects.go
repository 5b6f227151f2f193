package mgmtapi

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// objectRoutes registers object browsing, search, transfer and folder
// operations.
//
// Keys in paths are Base64url (keys.go); keys in JSON bodies are plain
// strings. Every handler authorizes, per key, the S3 action the S3 surface
// checks for the same operation, so a user gets the same answer through
// both: s3:ListBucket (with s3:prefix, s3:delimiter and s3:max-keys) to
// list or search, s3:GetObject to read, s3:PutObject to write,
// s3:DeleteObject to delete, and a copy is a read of its source and a
// write of its destination.
//
// Route shapes: the one-segment-after-bucket routes are S4's; object
// operations need a verb segment before the bucket (download, view...)
// because a pattern ending in /{bucket}/{key}/detail would overlap
// /download/{bucket}/{key} in ServeMux. A bucket named "upload-progress"
// is listed with ?prefix= rather than a path prefix, for the same reason.
func (a *API) objectRoutes() {
	a.handle("GET /api/objects/{bucket}", a.listObjects)
	a.handle("GET /api/objects/{bucket}/{encodedPrefix}", a.listObjects)
	a.handle("GET /api/objects/detail/{bucket}/{encodedKey}", a.objectDetail)
	a.handle("DELETE /api/objects/{bucket}/{encodedKey}", a.deleteObject)
	a.handle("POST /api/objects/{bucket}/delete", a.bulkDelete)
	a.handle("POST /api/objects/{bucket}/folder", a.createFolder)
	a.handle("POST /api/objects/{bucket}/copy", a.copyObjects)
	a.handle("POST /api/objects/{bucket}/move", a.moveObjects)
	a.handle("POST /api/objects/{bucket}/rename", a.renameObjects)

	a.handle("POST /api/objects/upload/{bucket}/{encodedKey}", a.uploadObject,
		limited("uploads", func(l Limits) int { return l.Uploads }))
	a.handle("GET /api/objects/upload-progress/{encodedKey}", a.uploadProgress,
		ticketed(func(r *http.Request) string { return "upload:" + r.PathValue("encodedKey") }))
	a.handle("GET /api/objects/download/{bucket}/{encodedKey}", a.downloadObject)
	a.handle("GET /api/objects/view/{bucket}/{encodedKey}", a.viewObject)
	a.handle("GET /api/objects/preview/{bucket}/{encodedKey}", a.previewObject)

	// The storage-server seed (003) addresses objects by plain key under
	// its bucket routes.
	a.handle("GET /api/buckets/{bucket}/objects", a.listObjectsSeed)
	a.handle("POST /api/buckets/{bucket}/objects/delete", a.bulkDelete)
	a.handle("GET /api/buckets/{bucket}/objects/{key...}", a.objectDetail)
	a.handle("DELETE /api/buckets/{bucket}/objects/{key...}", a.deleteObjectSeed)
	// ra-hcp's object routes live under /buckets/{bucket}/objects too.
	a.handle("POST /api/buckets/{bucket}/objects/folder", a.createFolder)
}

// Listing bounds: S4's page sizes, and the object service's page.
const (
	objDefaultMaxKeys = 500
	objMaxMaxKeys     = 2000
	objServicePage    = object.MaxListKeys
)

// objKey returns the request's bucket and decoded key: {encodedKey}
// (Base64url) on the /api/objects routes, {key...} (plain) on the seed's.
func (c *call) objKey() (bucket, key string, err error) {
	bucket, key = c.r.PathValue("bucket"), c.r.PathValue("key")
	if enc := c.r.PathValue("encodedKey"); enc != "" {
		if key, err = decodeKey(enc); err != nil {
			return "", "", err
		}
	}
	if err := object.ValidateKey(key); err != nil {
		return "", "", err
	}
	c.log = c.log.With("bucket", bucket, "key", key)
	return bucket, key, nil
}

// objAllowed is c.authorize answering false for a refusal and an error
// only when no decision could be made.
func (c *call) objAllowed(action, bucket, key string, conds map[string][]string) (bool, error) {
	err := c.authorize(action, bucket, key, conds)
	if errors.Is(err, iam.ErrAccessDenied) {
		return false, nil
	}
	return err == nil, err
}

// objListConds are the condition keys S3 sets for a listing.
func objListConds(prefix, delimiter string, maxKeys int) map[string][]string {
	c := map[string][]string{"s3:prefix": {prefix}}
	if delimiter != "" {
		c["s3:delimiter"] = []string{delimiter}
	}
	if maxKeys > 0 {
		c["s3:max-keys"] = []string{strconv.Itoa(maxKeys)}
	}
	return c
}

// s4Object and s4Prefix are S4's listing entries (S3's field names).
type s4Object struct {
	Key          string `json:"Key"`
	LastModified string `json:"LastModified"`
	Size         int64  `json:"Size"`
	ETag         string `json:"ETag"`
	StorageClass string `json:"StorageClass"`
}

type s4Prefix struct {
	Prefix string `json:"Prefix"`
}

func objS4(o meta.Object) s4Object {
	sc := o.StorageClass
	if sc == "" {
		sc = "STANDARD"
	}
	return s4Object{Key: o.Key, LastModified: objTime(o.Modified), Size: o.Size, ETag: objQuote(o.ETag), StorageClass: sc}
}

// objTime renders a time as S4 does (RFC 3339, UTC, milliseconds).
func objTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func objQuote(etag string) string { return `"` + etag + `"` }

// listResponse is S4's GET /objects/:bucketName answer.
type listResponse struct {
	Objects               []s4Object     `json:"objects"`
	Prefixes              []s4Prefix     `json:"prefixes"`
	IsTruncated           bool           `json:"isTruncated"`
	NextContinuationToken string         `json:"nextContinuationToken,omitempty"`
	Prefix                string         `json:"prefix"`
	Delimiter             string         `json:"delimiter"`
	Filter                *searchFilter  `json:"filter,omitempty"`
	page                  *objListResult // for the seed-shaped alias
}

// GET /api/objects/{bucket} — S4 GET /objects/:bucketName (list and search: q, mode, autoBroaden)
// GET /api/objects/{bucket}/{encodedPrefix} — S4 GET /objects/:bucketName/:encodedPrefix
//
// Query: prefix (plain; the path's encoded prefix wins), delimiter
// (default "/", empty for a flat listing), maxKeys (default 500, max
// 2000), continuationToken; q, mode (startsWith|contains), autoBroaden,
// scanPages for search (objects_search.go).
func (a *API) listObjects(c *call) (any, error) {
	lr, err := a.objList(c, c.r.PathValue("encodedPrefix"))
	if err != nil {
		return nil, err
	}
	return lr, nil
}

func (a *API) objList(c *call, encodedPrefix string) (*listResponse, error) {
	bucket := c.r.PathValue("bucket")
	q, err := parseListQuery(c.r.URL.Query(), encodedPrefix)
	if err != nil {
		return nil, err
	}
	c.log = c.log.With("bucket", bucket)
	if q.search != nil && q.search.mode == searchContains {
		if err := c.rateLimit("search", c.api.limits.Search); err != nil {
			return nil, err
		}
	}
	if err := c.authorize("s3:ListBucket", bucket, "", objListConds(q.prefix, q.delimiter, q.maxKeys)); err != nil {
		return nil, err
	}
	var res objListResult
	if q.search == nil {
		res, err = a.objListPage(c.ctx, bucket, q)
	} else {
		res, err = a.objSearch(c, bucket, q)
	}
	if err != nil {
		return nil, err
	}
	out := &listResponse{Objects: make([]s4Object, 0, len(res.objects)), Prefixes: make([]s4Prefix, 0, len(res.prefixes)),
		IsTruncated: res.truncated, Prefix: q.prefix, Delimiter: q.delimiter, Filter: res.filter, page: &res}
	for _, o := range res.objects {
		out.Objects = append(out.Objects, objS4(o))
	}
	for _, p := range res.prefixes {
		out.Prefixes = append(out.Prefixes, s4Prefix{Prefix: p})
	}
	if res.truncated {
		out.NextContinuationToken = objToken(res.next)
	}
	return out, nil
}

// objListResult is one answer of a listing or a search.
type objListResult struct {
	objects   []meta.Object
	prefixes  []string
	truncated bool
	next      string // resume after this key or common prefix
	filter    *searchFilter
}

// objListPage reads up to q.maxKeys entries, in as many service pages as
// that takes (S4 allows pages larger than the service's).
func (a *API) objListPage(ctx context.Context, bucket string, q listQuery) (objListResult, error) {
	var res objListResult
	after := q.after
	for remaining := q.maxKeys; remaining > 0; {
		page, err := a.cfg.Objects.ListObjects(ctx, bucket, meta.ListOptions{Prefix: q.prefix, Delimiter: q.delimiter,
			After: after, Limit: min(remaining, objServicePage)})
		if err != nil {
			return objListResult{}, err
		}
		res.objects = append(res.objects, page.Objects...)
		res.prefixes = append(res.prefixes, page.CommonPrefixes...)
		n := len(page.Objects) + len(page.CommonPrefixes)
		remaining -= n
		res.truncated, res.next = page.Truncated, page.NextAfter
		if !page.Truncated || n == 0 {
			break
		}
		after = page.NextAfter
	}
	return res, nil
}

// Continuation tokens are the position to resume after, Base64url: opaque
// to clients, and harmless to forge (the listing's prefix and the
// caller's permission decide what can be seen, not the position).
func objToken(after string) string { return base64.RawURLEncoding.EncodeToString([]byte(after)) }

func objParseToken(tok string) (string, error) {
	after, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(tok, "="))
	if err != nil || len(after) > object.MaxKeyLen {
		return "", errorf(http.StatusBadRequest, "InvalidContinuationToken", "the continuation token is not one this API issued")
	}
	return string(after), nil
}

// seedObject is an object in the storage-server seed's (003) shape.
type seedObject struct {
	Key         string    `json:"key"`
	Size        int64     `json:"size"`
	SizeHuman   string    `json:"size_human"`
	ContentType string    `json:"content_type"`
	ETag        string    `json:"etag"`
	IsMultipart bool      `json:"is_multipart"`
	CreatedAt   time.Time `json:"created_at"`
}

func objSeed(o meta.Object) seedObject {
	return seedObject{Key: o.Key, Size: o.Size, SizeHuman: humanStorage(o.Size), ContentType: objContentType(o),
		ETag: o.ETag, IsMultipart: o.PartsCount > 0, CreatedAt: o.Modified.UTC()}
}

// GET /api/buckets/{bucket}/objects — seed 003 "list of objects in the specified bucket" (?prefix=)
//
// Seed 003 lists flat (no delimiter) unless ?delimiter= is given, and
// answers {objects: [...]} in its snake_case shape; the paging fields of
// the S4 listing are added.
func (a *API) listObjectsSeed(c *call) (any, error) {
	q := c.r.URL.Query()
	if !q.Has("delimiter") {
		q.Set("delimiter", "")
	}
	if v := q.Get("max-keys"); v != "" && !q.Has("maxKeys") {
		q.Set("maxKeys", v)
	}
	c.r.URL.RawQuery = q.Encode()
	lr, err := a.objList(c, "")
	if err != nil {
		return nil, err
	}
	objs := make([]seedObject, 0, len(lr.page.objects))
	for _, o := range lr.page.objects {
		objs = append(objs, objSeed(o))
	}
	prefixes := make([]string, 0, len(lr.page.prefixes))
	prefixes = append(prefixes, lr.page.prefixes...)
	return map[string]any{"objects": objs, "prefixes": prefixes, "is_truncated": lr.IsTruncated,
		"next_continuation_token": lr.NextContinuationToken}, nil
}

// objContentType is what an object is served as.
func objContentType(o meta.Object) string {
	if o.ContentType != "" {
		return o.ContentType
	}
	return "application/octet-stream"
}

// objectDetailJSON is seed 003's object detail, with the tags and the
// key's versions the issue asks for.
type objectDetailJSON struct {
	Bucket          string            `json:"bucket"`
	Key             string            `json:"key"`
	Size            int64             `json:"size"`
	SizeHuman       string            `json:"size_human"`
	ContentType     string            `json:"content_type"`
	ETag            string            `json:"etag"`
	IsMultipart     bool              `json:"is_multipart"`
	PartCount       int               `json:"part_count"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
	VersionID       string            `json:"version_id"`
	StorageClass    string            `json:"storage_class"`
	ContentEncoding string            `json:"content_encoding,omitempty"`
	CacheControl    string            `json:"cache_control,omitempty"`
	Disposition     string            `json:"content_disposition,omitempty"`
	Language        string            `json:"content_language,omitempty"`
	Checksums       map[string]string `json:"checksums,omitempty"`
	Metadata        map[string]string `json:"metadata"`
	// Tags and Versions are omitted for a caller the S3 surface would not
	// show them to (s3:GetObjectTagging, s3:ListBucketVersions).
	Tags     map[string]string `json:"tags,omitempty"`
	Versions []versionJSON     `json:"versions,omitempty"`
	// VersionsTruncated says the key has more versions than listed.
	VersionsTruncated bool `json:"versions_truncated,omitempty"`
	Retention         *struct {
		Mode  string    `json:"mode"`
		Until time.Time `json:"until"`
	} `json:"retention,omitempty"`
	LegalHold bool `json:"legal_hold,omitempty"`
}

type versionJSON struct {
	VersionID      string    `json:"version_id"`
	IsLatest       bool      `json:"is_latest"`
	IsDeleteMarker bool      `json:"is_delete_marker"`
	Size           int64     `json:"size"`
	ETag           string    `json:"etag,omitempty"`
	LastModified   time.Time `json:"last_modified"`
}

// objMaxVersions bounds the versions a detail lists.
const objMaxVersions = 1000

// GET /api/objects/detail/{bucket}/{encodedKey} — seed 003 "detailed information about a specific object" (?versionId=)
// GET /api/buckets/{bucket}/objects/{key...} — seed 003 object detail, plain key
func (a *API) objectDetail(c *call) (any, error) {
	bucket, key, err := c.objKey()
	if err != nil {
		return nil, err
	}
	vid, err := c.authorizeRead(bucket, key)
	if err != nil {
		return nil, err
	}
	rd, err := a.cfg.Objects.GetObject(c.ctx, object.GetInput{Bucket: bucket, Key: key, VersionID: vid, HeadOnly: true})
	if err != nil {
		return nil, err
	}
	rd.Close()
	o := rd.Object
	d := objectDetailJSON{Bucket: bucket, Key: key, Size: o.Size, SizeHuman: humanStorage(o.Size), ContentType: objContentType(o),
		ETag: o.ETag, IsMultipart: o.PartsCount > 0, PartCount: o.PartsCount, CreatedAt: o.Modified.UTC(), UpdatedAt: o.Modified.UTC(),
		VersionID: o.VersionID, StorageClass: o.StorageClass, ContentEncoding: o.ContentEncoding, CacheControl: o.CacheControl,
		Disposition: o.ContentDisposition, Language: o.ContentLanguage, Checksums: o.Checksums, Metadata: o.UserMeta, LegalHold: o.LegalHold}
	if d.StorageClass == "" {
		d.StorageClass = "STANDARD"
	}
	if d.Metadata == nil {
		d.Metadata = map[string]string{}
	}
	if o.Retention.Mode != "" {
		d.Retention = &struct {
			Mode  string    `json:"mode"`
			Until time.Time `json:"until"`
		}{o.Retention.Mode, o.Retention.Until.UTC()}
	}
	if ok, err := c.objAllowed("s3:GetObjectTagging", bucket, key, objVersionCond(vid)); err != nil {
		return nil, err
	} else if ok {
		d.Tags = o.Tags
	}
	if ok, err := c.objAllowed("s3:ListBucketVersions", bucket, "", objListConds(key, "", 0)); err != nil {
		return nil, err
	} else if ok {
		d.Versions, d.VersionsTruncated, err = a.objVersions(c.ctx, bucket, key)
		if err != nil {
			return nil, err
		}
		// The first version kept is when the key was created, as far as
		// the store still knows.
		if n := len(d.Versions); n > 0 && !d.VersionsTruncated {
			d.CreatedAt = d.Versions[n-1].LastModified
		}
	}
	return d, nil
}

// authorizeRead authorizes reading the object version ?versionId= names
// (the latest without one) with the action S3 checks for it, and returns
// that version id.
func (c *call) authorizeRead(bucket, key string) (string, error) {
	vid := c.r.URL.Query().Get("versionId")
	action := "s3:GetObject"
	if vid != "" {
		action = "s3:GetObjectVersion"
	}
	return vid, c.authorize(action, bucket, key, objVersionCond(vid))
}

func objVersionCond(vid string) map[string][]string {
	if vid == "" {
		return nil
	}
	return map[string][]string{"s3:VersionId": {vid}}
}

// objVersions lists the versions of exactly key, newest first.
func (a *API) objVersions(ctx context.Context, bucket, key string) ([]versionJSON, bool, error) {
	var out []versionJSON
	opts := meta.VersionListOptions{Prefix: key, Limit: objServicePage}
	for {
		page, err := a.cfg.Objects.ListObjectVersions(ctx, bucket, opts)
		if err != nil {
			return nil, false, err
		}
		for _, v := range page.Versions {
			if v.Key != key {
				// Keys that merely start with key sort after it.
				return out, false, nil
			}
			if len(out) == objMaxVersions {
				return out, true, nil
			}
			out = append(out, versionJSON{VersionID: v.VersionID, IsLatest: v.IsLatest, IsDeleteMarker: v.DeleteMarker,
				Size: v.Size, ETag: v.ETag, LastModified: v.Modified.UTC()})
		}
		if !page.Truncated {
			return out, false, nil
		}
		opts.KeyMarker, opts.VersionIDMarker = page.NextKeyMarker, page.NextVersionIDMarker
	}
}

// objPathFor is the API path of a per-object route, for links in
// responses.
func objPathFor(verb, bucket, key string) string {
	return "/api/objects/" + verb + "/" + url.PathEscape(bucket) + "/" + encodeKey(key)
}

// objErrorJSON is one key's failure in a per-key result list.
type objErrorJSON struct {
	Key     string `json:"key"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

func objKeyError(key string, err error) objErrorJSON {
	e := asError(err)
	return objErrorJSON{Key: key, Error: e.Name, Message: e.Message}
}
