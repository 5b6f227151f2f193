package mgmtapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/sharelink"
)

// Share links are presigned S3 URLs kept in a registry (package
// sharelink) so that they can be listed and revoked before they expire.
// A link acts as the access key that signed it, so a caller may sign only
// with its own keys (root with any), and only for what it may do itself.

func (a *API) shareRoutes() {
	a.handle("POST /api/presigned-urls", a.createShareLink)
	a.handle("GET /api/presigned-urls", a.listShareLinks)
	a.handle("GET /api/presigned-urls/{id}", a.getShareLink)
	a.handle("DELETE /api/presigned-urls/{id}", a.revokeShareLink)
	a.handle("POST /api/presign", a.presignAlias)
}

// shareView is a link as seed 003 shows it; url only in Create's answer
// (the registry keeps no copy of a bearer credential).
type shareView struct {
	ID         string    `json:"id"`
	URL        string    `json:"url,omitempty"`
	BucketName string    `json:"bucket_name"`
	ObjectKey  string    `json:"object_key"`
	Method     string    `json:"method"`
	AccessKey  string    `json:"access_key"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	ExpiresIn  int64     `json:"expires_in,omitempty"`
}

func viewShare(l sharelink.Link) shareView {
	return shareView{ID: l.ID, URL: l.URL, BucketName: l.Bucket, ObjectKey: l.Key, Method: l.Method,
		AccessKey: l.AccessKey, CreatedBy: l.CreatedBy, CreatedAt: l.Created, ExpiresAt: l.Expires}
}

const defaultShareExpiry = 3600 // seconds, seed 003's and ra-hcp's default

// POST /api/presigned-urls — seed 003 POST /api/presigned-urls
// Body {bucket_name, object_key, method (GET|PUT|DELETE, default GET),
// expires_in (1..604800, default 3600), access_key (default: the caller's
// own)} → 201 with the URL.
func (a *API) createShareLink(c *call) (any, error) {
	var in struct {
		BucketName string `json:"bucket_name"`
		ObjectKey  string `json:"object_key"`
		Method     string `json:"method"`
		ExpiresIn  *int64 `json:"expires_in"`
		AccessKey  string `json:"access_key"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	expires := int64(defaultShareExpiry)
	if in.ExpiresIn != nil {
		expires = *in.ExpiresIn
	}
	method := strings.ToUpper(in.Method)
	if method == "" {
		method = http.MethodGet
	}
	l, err := a.makeShareLink(c, in.BucketName, in.ObjectKey, method, expires, in.AccessKey)
	if err != nil {
		return nil, err
	}
	v := viewShare(l)
	v.ExpiresIn = expires
	return created(v), nil
}

// POST /api/presign — ra-hcp POST /presign
// Body {bucket, key, expires_in (default 3600), method (get_object,
// put_object, delete_object; default get_object)} → 200 {url, bucket,
// key, expires_in, method} (plus id and expires_at, to revoke it).
func (a *API) presignAlias(c *call) (any, error) {
	var in struct {
		Bucket    string `json:"bucket"`
		Key       string `json:"key"`
		ExpiresIn *int64 `json:"expires_in"`
		Method    string `json:"method"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.Method == "" {
		in.Method = "get_object"
	}
	methods := map[string]string{"get_object": "GET", "put_object": "PUT", "delete_object": "DELETE",
		"GET": "GET", "PUT": "PUT", "DELETE": "DELETE"}
	method, ok := methods[in.Method]
	if !ok {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "method must be one of: delete_object, get_object, put_object")
	}
	expires := int64(defaultShareExpiry)
	if in.ExpiresIn != nil {
		expires = *in.ExpiresIn
	}
	l, err := a.makeShareLink(c, in.Bucket, in.Key, method, expires, "")
	if err != nil {
		return nil, err
	}
	return map[string]any{"url": l.URL, "bucket": l.Bucket, "key": l.Key, "expires_in": expires,
		"method": in.Method, "id": l.ID, "expires_at": l.Expires}, nil
}

func (a *API) makeShareLink(c *call, bucket, key, method string, expires int64, accessKey string) (sharelink.Link, error) {
	var action string
	switch method {
	case http.MethodGet:
		action = "s3:GetObject"
	case http.MethodPut:
		action = "s3:PutObject"
	case http.MethodDelete:
		action = "s3:DeleteObject"
	default:
		return sharelink.Link{}, errorf(http.StatusBadRequest, "InvalidRequest", "method must be GET, PUT or DELETE")
	}
	maxSecs := int64(sharelink.MaxExpires / time.Second)
	if expires < 1 || expires > maxSecs {
		return sharelink.Link{}, errorf(http.StatusBadRequest, "InvalidRequest", "expires_in must be 1 to %d seconds", maxSecs)
	}
	if bucket == "" {
		return sharelink.Link{}, errorf(http.StatusBadRequest, "InvalidRequest", "the bucket is required")
	}
	if err := object.ValidateKey(key); err != nil {
		return sharelink.Link{}, err
	}
	if _, err := a.cfg.Objects.Bucket(c.ctx, bucket); err != nil {
		return sharelink.Link{}, err
	}
	if err := c.authorize(action, bucket, key, nil); err != nil {
		return sharelink.Link{}, err
	}
	ak, err := a.signingKey(c, accessKey)
	if err != nil {
		return sharelink.Link{}, err
	}
	secret, err := a.cfg.IAM.SecretKey(c.ctx, ak)
	if err != nil {
		// The key exists (signingKey checked) but cannot sign: say so
		// without the 401 an unknown key means elsewhere.
		return sharelink.Link{}, errorf(http.StatusBadRequest, "InvalidRequest", "access key %s cannot sign (inactive or expired)", ak)
	}
	if a.cfg.S3Endpoint == "" {
		return sharelink.Link{}, errorf(http.StatusServiceUnavailable, "ServiceUnavailable", "no S3 endpoint is configured for share links")
	}
	l, err := a.cfg.Shares.Create(c.ctx, sharelink.Request{Bucket: bucket, Key: key, Method: method,
		Expires: time.Duration(expires) * time.Second, AccessKey: ak, Secret: secret,
		Endpoint: a.cfg.S3Endpoint, Region: a.cfg.Region, CreatedBy: c.p.Name})
	if err != nil {
		return sharelink.Link{}, err
	}
	c.log.Info("share link created", "link", l.ID, "bucket", bucket, "method", method, "access_key", ak)
	return l, nil
}

// signingKey picks the access key a link is signed with: the one asked
// for if the caller may use it, else the key the caller logged in with,
// else its first usable key (root: the root key).
func (a *API) signingKey(c *call, asked string) (string, error) {
	ids := a.cfg.IAM
	if asked != "" {
		if c.p.Root && asked == ids.RootName() {
			return asked, nil
		}
		k, err := ids.GetAccessKey(c.ctx, asked)
		if errors.Is(err, iam.ErrKeyNotFound) || (err == nil && !c.p.Root && k.User != c.p.Name) {
			// One answer for "not yours" and "no such key": key ids are
			// not to be probed through this endpoint.
			return "", fmt.Errorf("%s may sign only with its own access keys: %w", c.p.Name, iam.ErrAccessDenied)
		}
		if err != nil {
			return "", err
		}
		if !k.Usable(a.now()) {
			return "", errorf(http.StatusBadRequest, "InvalidRequest", "access key %s is inactive or expired", asked)
		}
		return asked, nil
	}
	if c.p.Root {
		return ids.RootName(), nil
	}
	if c.p.AccessKey != "" {
		return c.p.AccessKey, nil
	}
	keys, err := ids.ListAccessKeys(c.ctx, c.p.Name)
	if err != nil {
		return "", err
	}
	now := a.now()
	for _, k := range keys {
		if k.Usable(now) {
			return k.AccessKey, nil
		}
	}
	return "", errorf(http.StatusConflict, "NoAccessKey", "%s has no active access key to sign with; create one first", c.p.Name)
}

// GET /api/presigned-urls — seed 003 GET /api/presigned-urls
// {urls: [...]}: the caller's links; every link for a principal allowed
// admin:ListShareLinks (root, admin), or ?created_by= to narrow that.
func (a *API) listShareLinks(c *call) (any, error) {
	by := c.p.Name
	if err := c.authorize("admin:ListShareLinks", "", "", nil); err == nil {
		by = c.r.URL.Query().Get("created_by")
	} else if !errors.Is(err, iam.ErrAccessDenied) {
		return nil, err
	}
	links, err := a.cfg.Shares.List(c.ctx, by)
	if err != nil {
		return nil, err
	}
	urls := make([]shareView, 0, len(links))
	for _, l := range links {
		urls = append(urls, viewShare(l))
	}
	return map[string]any{"urls": urls}, nil
}

// GET /api/presigned-urls/{id} — (no seed route)
func (a *API) getShareLink(c *call) (any, error) {
	l, err := a.shareFor(c, "admin:ListShareLinks")
	if err != nil {
		return nil, err
	}
	return viewShare(l), nil
}

// DELETE /api/presigned-urls/{id} — seed 003 presigned URL registry (revocation)
// The URL answers 403 AccessDenied on the S3 surface from then on → 204.
func (a *API) revokeShareLink(c *call) (any, error) {
	l, err := a.shareFor(c, "admin:RevokeShareLink")
	if err != nil {
		return nil, err
	}
	if err := a.cfg.Shares.Revoke(c.ctx, l.ID); err != nil {
		return nil, err
	}
	c.log.Info("share link revoked", "link", l.ID)
	return noContent, nil
}

// shareFor loads link {id} for its creator or a principal allowed
// adminAction.
func (a *API) shareFor(c *call, adminAction string) (sharelink.Link, error) {
	l, err := a.cfg.Shares.Get(c.ctx, c.r.PathValue("id"))
	if err != nil {
		return sharelink.Link{}, err
	}
	if l.CreatedBy != c.p.Name {
		if err := c.authorize(adminAction, "", "", nil); err != nil {
			return sharelink.Link{}, err
		}
	}
	return l, nil
}
