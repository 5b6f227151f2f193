package mgmtapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/object"
)

// Object ACLs, the same documents S3's GetObjectAcl and PutObjectAcl read
// and write (see internal/s3api/acl.go for the rules: owners, ownership
// settings, BucketOwnerEnforced), as JSON.

func (a *API) objectACLRoutes() {
	a.handle("GET /api/objects/acl/{bucket}/{encodedKey}", a.getObjectACL)
	a.handle("PUT /api/objects/acl/{bucket}/{encodedKey}", a.putObjectACL)
}

// objectACLJSON is an object version's ACL: bucketACLJSON with the version
// it belongs to.
type objectACLJSON struct {
	Bucket    string          `json:"bucket"`
	Key       string          `json:"key"`
	VersionID string          `json:"versionId"`
	Owner     bucketOwnerJSON `json:"owner"`
	Grants    []iam.Grant     `json:"grants"`
}

func viewObjectACL(bucket, key, vid, bucketOwner string, acl iam.ACL) objectACLJSON {
	owner := acl.OwnerName(bucketOwner)
	grants := acl.Grants
	if grants == nil {
		grants = []iam.Grant{}
	}
	return objectACLJSON{Bucket: bucket, Key: key, VersionID: vid, Owner: bucketOwnerJSON{ID: iam.CanonicalID(owner), DisplayName: owner}, Grants: grants}
}

// objectACLReader returns what iam.Request.ObjectACL needs: the stored ACL
// of a version (none for a missing one). Every authorization of an action
// an object ACL may grant (reading the object, reading or writing its ACL)
// should carry it, so that the API answers as S3 does.
func (a *API) objectACLReader(bucket, key, vid string) func(context.Context) (iam.ACL, error) {
	return func(ctx context.Context) (iam.ACL, error) {
		data, _, err := a.cfg.Objects.ObjectACL(ctx, bucket, key, vid)
		switch {
		case errors.Is(err, object.ErrNoSuchKey) || errors.Is(err, object.ErrNoSuchVersion):
			return iam.ACL{}, nil
		case err != nil:
			return iam.ACL{}, err
		case len(data) == 0:
			return iam.ACL{}, nil
		}
		return iam.DecodeACL(data)
	}
}

// objACLVersion reads ?versionId= and picks the action S3 checks:
// versionAction when a version is named, action otherwise.
func (c *call) objACLVersion(action, versionAction string) (vid, checked string, err error) {
	q := c.r.URL.Query()
	if !q.Has("versionId") {
		return "", action, nil
	}
	vid = q.Get("versionId")
	if vid == "" {
		return "", "", errorf(http.StatusBadRequest, "InvalidArgument", "versionId must not be empty")
	}
	return vid, versionAction, nil
}

// objectACLState reads a version's effective ACL with what deciding on it
// needs: the bucket's owner and ownership setting, and the version's id.
func (a *API) objectACLState(c *call, bucket, key, vid string) (acl iam.ACL, bucketOwner, ownership, id string, err error) {
	b, err := a.cfg.Objects.Bucket(c.ctx, bucket)
	if err != nil {
		return iam.ACL{}, "", "", "", err
	}
	if ownership, err = a.bucketOwnershipSetting(c.ctx, bucket); err != nil {
		return iam.ACL{}, "", "", "", err
	}
	data, id, err := a.cfg.Objects.ObjectACL(c.ctx, bucket, key, vid)
	if err != nil {
		return iam.ACL{}, "", "", "", err
	}
	if acl, err = iam.EffectiveObjectACL(data, b.Owner, ownership); err != nil {
		return iam.ACL{}, "", "", "", err
	}
	return acl, b.Owner, ownership, id, nil
}

// GET /api/objects/acl/{bucket}/{encodedKey}?versionId= (S3 GetObjectAcl; no seed route)
func (a *API) getObjectACL(c *call) (any, error) {
	bucket, key, err := c.objKey()
	if err != nil {
		return nil, err
	}
	vid, action, err := c.objACLVersion("s3:GetObjectAcl", "s3:GetObjectVersionAcl")
	if err != nil {
		return nil, err
	}
	if err := c.authorize(action, bucket, key, objVersionCond(vid)); err != nil {
		return nil, err
	}
	acl, bucketOwner, _, id, err := a.objectACLState(c, bucket, key, vid)
	if err != nil {
		return nil, err
	}
	return viewObjectACL(bucket, key, id, bucketOwner, acl), nil
}

// PUT /api/objects/acl/{bucket}/{encodedKey}?versionId= {"acl":"public-read"} or {"grants":[...]} (S3 PutObjectAcl; no seed route)
func (a *API) putObjectACL(c *call) (any, error) {
	bucket, key, err := c.objKey()
	if err != nil {
		return nil, err
	}
	var in struct {
		ACL    string           `json:"acl"`
		Grants []iam.Grant      `json:"grants"`
		Owner  *bucketOwnerJSON `json:"owner"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if (in.ACL == "") == (in.Grants == nil) {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "give either acl (a canned ACL) or grants")
	}
	vid, action, err := c.objACLVersion("s3:PutObjectAcl", "s3:PutObjectVersionAcl")
	if err != nil {
		return nil, err
	}
	conds := objVersionCond(vid)
	if in.ACL != "" {
		if conds == nil {
			conds = map[string][]string{}
		}
		conds["s3:x-amz-acl"] = []string{in.ACL}
	}
	if err := c.authorize(action, bucket, key, conds); err != nil {
		return nil, err
	}
	cur, bucketOwner, own, id, err := a.objectACLState(c, bucket, key, vid)
	if err != nil {
		return nil, err
	}
	// The object keeps its owner: an ACL names grantees, never a new owner.
	owner := cur.OwnerName(bucketOwner)
	if in.Owner != nil && in.Owner.ID != "" && in.Owner.ID != iam.CanonicalID(owner) {
		return nil, fmt.Errorf("changing the owner of %s/%s: %w", bucket, key, iam.ErrAccessDenied)
	}
	var acl iam.ACL
	if in.ACL != "" {
		if acl, err = iam.CannedObjectACL(in.ACL, cur.Owner, bucketOwner); err != nil {
			return nil, err
		}
	} else {
		acl.Grants = in.Grants
		if err := a.resolveBucketGrantees(c.ctx, acl); err != nil {
			return nil, err
		}
	}
	if err := acl.Validate(); err != nil {
		return nil, err
	}
	acl.Owner = cur.Owner
	var data []byte
	if own == iam.OwnershipEnforced {
		if !acl.OwnerOnly(iam.CanonicalID(bucketOwner)) {
			return nil, errorf(http.StatusBadRequest, "AccessControlListNotSupported", "the bucket does not allow ACLs (BucketOwnerEnforced)")
		}
	} else if data, err = iam.EncodeObjectACL(acl, bucketOwner); err != nil {
		return nil, err
	}
	// The update names the version read and refuses it if its owner
	// changed since (an unversioned key overwritten meanwhile).
	raced := errorf(http.StatusConflict, "Conflict", "the object changed while its ACL was being set; try again")
	if _, err := a.cfg.Objects.PutObjectACL(c.ctx, bucket, key, id, func(stored []byte) ([]byte, error) {
		now, err := iam.EffectiveObjectACL(stored, bucketOwner, own)
		if err != nil {
			return nil, err
		}
		if now.Owner != cur.Owner {
			return nil, raced
		}
		return data, nil
	}); err != nil {
		return nil, err
	}
	stored, err := iam.EffectiveObjectACL(data, bucketOwner, own)
	if err != nil {
		return nil, err
	}
	return viewObjectACL(bucket, key, id, bucketOwner, stored), nil
}
