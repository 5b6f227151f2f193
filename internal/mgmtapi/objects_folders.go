package mgmtapi

import (
	"context"
	"errors"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// Folders are key prefixes ending in "/", as in every S3 console; a
// folder may also have a marker object (its own key, empty). Operations on
// a folder act on every key under it, server-side, page by page
// (objServicePage keys at a time, objWorkers at once), and report a result
// per key: one key's refusal or failure does not stop the others. Each key
// is authorized on its own, as S3's DeleteObjects and CopyObject are.

// objWorkers bounds the keys one request works on at once.
const objWorkers = 8

// objMaxBulkKeys is S3 DeleteObjects' limit, applied to bulk deletes.
const objMaxBulkKeys = 1000

// objForEach runs fn(0..n-1) on up to objWorkers goroutines.
func objForEach(n int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, objWorkers)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}

// objEachUnder calls fn with every page of keys under prefix, after
// checking the caller may list them.
func (a *API) objEachUnder(c *call, bucket, prefix string, fn func(keys []string) error) error {
	if err := c.authorize("s3:ListBucket", bucket, "", objListConds(prefix, "", objServicePage)); err != nil {
		return err
	}
	after := ""
	for {
		page, err := a.cfg.Objects.ListObjects(c.ctx, bucket, meta.ListOptions{Prefix: prefix, After: after, Limit: objServicePage})
		if err != nil {
			return err
		}
		keys := make([]string, len(page.Objects))
		for i, o := range page.Objects {
			keys[i] = o.Key
		}
		if len(keys) > 0 {
			if err := fn(keys); err != nil {
				return err
			}
		}
		if !page.Truncated || len(keys) == 0 {
			return nil
		}
		after = page.NextAfter
		if err := c.ctx.Err(); err != nil {
			return err
		}
	}
}

// objDeleteOne deletes one key (or version) after authorizing it.
func (a *API) objDeleteOne(c *call, bucket, key, vid string) (object.DeleteResult, error) {
	action := "s3:DeleteObject"
	if vid != "" {
		action = "s3:DeleteObjectVersion"
	}
	if err := c.authorize(action, bucket, key, objVersionCond(vid)); err != nil {
		return object.DeleteResult{}, err
	}
	return a.cfg.Objects.DeleteObject(c.ctx, object.DeleteInput{Bucket: bucket, Key: key, VersionID: vid})
}

// objDeleteTree deletes every key under prefix, with a result per key.
func (a *API) objDeleteTree(c *call, bucket, prefix string) (deleted []string, failed []objErrorJSON, err error) {
	err = a.objEachUnder(c, bucket, prefix, func(keys []string) error {
		errs := make([]error, len(keys))
		objForEach(len(keys), func(i int) {
			_, errs[i] = a.objDeleteOne(c, bucket, keys[i], "")
		})
		for i, k := range keys {
			if errs[i] != nil {
				failed = append(failed, objKeyError(k, errs[i]))
			} else {
				deleted = append(deleted, k)
			}
		}
		return nil
	})
	return deleted, failed, err
}

// s4Deleted is an entry of S4's delete answer.
type s4Deleted struct {
	Key          string `json:"Key"`
	Success      bool   `json:"success"`
	VersionID    string `json:"VersionId,omitempty"`
	DeleteMarker bool   `json:"DeleteMarker,omitempty"`
}

type s4DeleteResponse struct {
	Message string         `json:"message"`
	Deleted []s4Deleted    `json:"deleted"`
	Errors  []objErrorJSON `json:"errors"`
}

// DELETE /api/objects/{bucket}/{encodedKey} — S4 DELETE /objects/:bucketName/:encodedKey (a key, or with a trailing "/" a whole folder; ?versionId=)
//
// Deleting a missing key succeeds, as in S3.
func (a *API) deleteObject(c *call) (any, error) {
	bucket, key, err := c.objKey()
	if err != nil {
		return nil, err
	}
	out := s4DeleteResponse{Message: "Deleted successfully", Deleted: []s4Deleted{}, Errors: []objErrorJSON{}}
	if strings.HasSuffix(key, "/") && c.r.URL.Query().Get("versionId") == "" {
		deleted, failed, err := a.objDeleteTree(c, bucket, key)
		if err != nil {
			return nil, err
		}
		for _, k := range deleted {
			out.Deleted = append(out.Deleted, s4Deleted{Key: k, Success: true})
		}
		if len(failed) > 0 {
			out.Errors = failed
			out.Message = "Some objects could not be deleted"
		}
		return out, nil
	}
	res, err := a.objDeleteOne(c, bucket, key, c.r.URL.Query().Get("versionId"))
	if err != nil {
		return nil, err
	}
	d := s4Deleted{Key: key, Success: true, DeleteMarker: res.DeleteMarker}
	if res.VersionID != meta.NullVersion {
		d.VersionID = res.VersionID
	}
	out.Deleted = append(out.Deleted, d)
	return out, nil
}

// DELETE /api/buckets/{bucket}/objects/{key...} — seed 003 "Deletes a specific object" (plain key)
func (a *API) deleteObjectSeed(c *call) (any, error) {
	v, err := a.deleteObject(c)
	if err != nil {
		return nil, err
	}
	r := v.(s4DeleteResponse)
	msg := "Operation completed successfully"
	if len(r.Errors) > 0 {
		msg = r.Message
	}
	return map[string]any{"message": msg, "deleted": r.Deleted, "errors": r.Errors}, nil
}

// bulkDeleteResponse is seed 003's bulk delete answer, with the failures.
type bulkDeleteResponse struct {
	Deleted []string       `json:"deleted"`
	Errors  []objErrorJSON `json:"errors"`
}

// POST /api/objects/{bucket}/delete — seed 003 "Deletes multiple objects from a bucket" {keys}
// POST /api/buckets/{bucket}/objects/delete — seed 003 bulk delete
//
// At most 1000 keys; a key ending in "/" deletes that folder's contents.
// Each key is deleted and reported once (listed twice, or also inside a
// listed folder).
func (a *API) bulkDelete(c *call) (any, error) {
	bucket := c.r.PathValue("bucket")
	var in struct {
		Keys []string `json:"keys"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.Keys) == 0 || len(in.Keys) > objMaxBulkKeys {
		return nil, errorf(http.StatusBadRequest, "InvalidArgument", "keys must list 1 to %d keys", objMaxBulkKeys)
	}
	if _, err := a.cfg.Objects.Bucket(c.ctx, bucket); err != nil {
		return nil, err
	}
	c.log = c.log.With("bucket", bucket)
	out := bulkDeleteResponse{Deleted: []string{}, Errors: []objErrorJSON{}}
	// Each key is deleted and reported once, however often it is listed
	// and whether or not a listed folder holds it too: a second delete of
	// a key in a versioned bucket would add a second delete marker.
	listed := make(map[string]bool, len(in.Keys))
	var plain, folders []string
	for _, k := range in.Keys {
		if listed[k] {
			continue
		}
		listed[k] = true
		if err := object.ValidateKey(k); err != nil {
			out.Errors = append(out.Errors, objKeyError(k, err))
			continue
		}
		if strings.HasSuffix(k, "/") {
			folders = append(folders, k)
		} else {
			plain = append(plain, k)
		}
	}
	// Folders first, one after the other: done records every key they
	// reached (deleted or failed), and a key reached once is not
	// attempted again, by a later folder holding it or as a plain key.
	done := map[string]bool{}
	for _, f := range folders {
		deleted, failed, err := a.objDeleteTree(c, bucket, f)
		for _, k := range deleted {
			if !done[k] {
				done[k] = true
				out.Deleted = append(out.Deleted, k)
			}
		}
		for _, fe := range failed {
			if !done[fe.Key] {
				done[fe.Key] = true
				out.Errors = append(out.Errors, fe)
			}
		}
		if err != nil {
			out.Errors = append(out.Errors, objKeyError(f, err))
		}
	}
	plain = slices.DeleteFunc(plain, func(k string) bool { return done[k] })
	errs := make([]error, len(plain))
	objForEach(len(plain), func(i int) {
		_, errs[i] = a.objDeleteOne(c, bucket, plain[i], "")
	})
	for i, k := range plain {
		if errs[i] != nil {
			out.Errors = append(out.Errors, objKeyError(k, errs[i]))
		} else {
			out.Deleted = append(out.Deleted, k)
		}
	}
	return out, nil
}

// POST /api/objects/{bucket}/folder — no S4 route; same handler as the ra-hcp alias below
// POST /api/buckets/{bucket}/objects/folder — ra-hcp POST /buckets/{bucket}/objects/folder {folder_name} (201 {bucket, key})
//
// Body {path} (or ra-hcp's {folder_name}); creates the empty marker
// "path/". 409 when the folder marker exists.
func (a *API) createFolder(c *call) (any, error) {
	bucket := c.r.PathValue("bucket")
	var in struct {
		Path       string `json:"path"`
		FolderName string `json:"folder_name"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	name := in.Path
	if name == "" {
		name = in.FolderName
	}
	if strings.Trim(name, "/") == "" {
		return nil, errorf(http.StatusBadRequest, "InvalidArgument", "path must name a folder")
	}
	key := name
	if !strings.HasSuffix(key, "/") {
		key += "/"
	}
	if err := object.ValidateKey(key); err != nil {
		return nil, err
	}
	if err := c.authorize("s3:PutObject", bucket, key, nil); err != nil {
		return nil, err
	}
	_, err := a.cfg.Objects.PutObject(c.ctx, object.PutInput{Bucket: bucket, Key: key, Body: strings.NewReader(""), Size: 0,
		Cond: &meta.Condition{IfNoneMatch: true}})
	if errors.Is(err, object.ErrPreconditionFailed) {
		return nil, errorf(http.StatusConflict, "FolderAlreadyExists", "folder %q already exists", key)
	}
	if err != nil {
		return nil, err
	}
	return created(map[string]string{"message": "Folder created", "bucket": bucket, "key": key}), nil
}

// objTransferRequest is the body of copy, move and rename. Keys are plain
// (JSON carries any key).
type objTransferRequest struct {
	SourceKey         string `json:"sourceKey"`
	DestinationKey    string `json:"destinationKey"`
	DestinationBucket string `json:"destinationBucket"`
}

type objTransferItem struct {
	SourceKey      string `json:"sourceKey"`
	DestinationKey string `json:"destinationKey"`
}

type objTransferResponse struct {
	Operation         string            `json:"operation"`
	SourceBucket      string            `json:"sourceBucket"`
	DestinationBucket string            `json:"destinationBucket"`
	Results           []objTransferItem `json:"results"`
	Errors            []objErrorJSON    `json:"errors"`
}

// POST /api/objects/{bucket}/copy — no seed route (the server-side copy) {sourceKey, destinationKey, destinationBucket?}
func (a *API) copyObjects(c *call) (any, error) { return a.objTransfer(c, "copy") }

// POST /api/objects/{bucket}/move — no seed route: copy, then delete each source key whose copy succeeded
func (a *API) moveObjects(c *call) (any, error) { return a.objTransfer(c, "move") }

// POST /api/objects/{bucket}/rename — no seed route: a move within the bucket
func (a *API) renameObjects(c *call) (any, error) { return a.objTransfer(c, "rename") }

// objTransfer copies or moves a key, or with a source ending in "/" every
// key under that folder. A destination ending in "/" is a folder to copy
// a single key into.
func (a *API) objTransfer(c *call, op string) (any, error) {
	bucket := c.r.PathValue("bucket")
	var in objTransferRequest
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	dstBucket := in.DestinationBucket
	if dstBucket == "" {
		dstBucket = bucket
	}
	if op == "rename" && dstBucket != bucket {
		return nil, errorf(http.StatusBadRequest, "InvalidArgument", "rename stays in its bucket: use move")
	}
	src, dst := in.SourceKey, in.DestinationKey
	if src == "" || dst == "" {
		return nil, errorf(http.StatusBadRequest, "InvalidArgument", "sourceKey and destinationKey are required")
	}
	folder := strings.HasSuffix(src, "/")
	switch {
	case folder && !strings.HasSuffix(dst, "/"):
		dst += "/"
	case !folder && strings.HasSuffix(dst, "/"):
		dst += path.Base(src)
	}
	for _, k := range []string{src, dst} {
		if err := object.ValidateKey(k); err != nil {
			return nil, err
		}
	}
	if dstBucket == bucket && (dst == src || (folder && strings.HasPrefix(dst, src))) {
		return nil, errorf(http.StatusBadRequest, "InvalidArgument", "the destination %q is the source or inside it", dst)
	}
	c.log = c.log.With("bucket", bucket, "key", src, "destination_bucket", dstBucket, "destination_key", dst)
	move := op != "copy"
	out := objTransferResponse{Operation: op, SourceBucket: bucket, DestinationBucket: dstBucket,
		Results: []objTransferItem{}, Errors: []objErrorJSON{}}
	if !folder {
		if err := a.objTransferOne(c, bucket, src, dstBucket, dst, move); err != nil {
			return nil, err
		}
		out.Results = append(out.Results, objTransferItem{SourceKey: src, DestinationKey: dst})
		return out, nil
	}
	if _, err := a.cfg.Objects.Bucket(c.ctx, dstBucket); err != nil {
		return nil, err
	}
	seen := 0
	err := a.objEachUnder(c, bucket, src, func(keys []string) error {
		seen += len(keys)
		errs := make([]error, len(keys))
		objForEach(len(keys), func(i int) {
			errs[i] = a.objTransferOne(c, bucket, keys[i], dstBucket, dst+keys[i][len(src):], move)
		})
		for i, k := range keys {
			if errs[i] != nil {
				out.Errors = append(out.Errors, objKeyError(k, errs[i]))
			} else {
				out.Results = append(out.Results, objTransferItem{SourceKey: k, DestinationKey: dst + k[len(src):]})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if seen == 0 {
		return nil, errorf(http.StatusNotFound, "NoSuchKey", "no objects under %q", src)
	}
	return out, nil
}

// objTransferOne copies one key (a read of the source and a write of the
// destination, both authorized) and, for a move, deletes the source once
// its copy is stored. A move is authorized whole before anything is
// copied, so a caller who may not delete the source gets no copy.
func (a *API) objTransferOne(c *call, srcBucket, src, dstBucket, dst string, move bool) error {
	if err := c.authorize("s3:GetObject", srcBucket, src, nil); err != nil {
		return err
	}
	if err := c.authorize("s3:PutObject", dstBucket, dst, nil); err != nil {
		return err
	}
	if move {
		if err := c.authorize("s3:DeleteObject", srcBucket, src, nil); err != nil {
			return err
		}
	}
	if _, err := a.cfg.Objects.CopyObject(c.ctx, object.CopyInput{Source: object.CopySource{Bucket: srcBucket, Key: src},
		Bucket: dstBucket, Key: dst}); err != nil {
		return err
	}
	if !move {
		return nil
	}
	_, err := a.cfg.Objects.DeleteObject(context.WithoutCancel(c.ctx), object.DeleteInput{Bucket: srcBucket, Key: src})
	return err
}
