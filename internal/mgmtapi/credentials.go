package mgmtapi

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/meta"
)

// credentialRoutes registers the storage server seed's /api/credentials: its
// "credential" is one access key with the user it belongs to, in the seed's
// snake_case fields. It is an administrator's view (admin:* actions only);
// users manage their own keys under /api/users/{name}/keys and /api/keys.
//
// A credential's id is the access key's numeric id; the routes also accept
// the access key itself in its place.
func (a *API) credentialRoutes() {
	a.handle("POST /api/credentials", a.createCredential)
	a.handle("GET /api/credentials", a.listCredentials)
	a.handle("GET /api/credentials/{id}", a.getCredential)
	a.handle("PUT /api/credentials/{id}", a.updateCredential)
	a.handle("PATCH /api/credentials/{id}", a.updateCredential)
	a.handle("DELETE /api/credentials/{id}", a.deleteCredential)
}

type credentialView struct {
	ID        int64     `json:"id"`
	AccessKey string    `json:"access_key"`
	SecretKey string    `json:"secret_key,omitempty"` // in the creation response only
	UserName  string    `json:"user_name"`
	IsActive  bool      `json:"is_active"`
	CreatedAt time.Time `json:"created_at"`
}

func viewCredential(k iam.AccessKey) credentialView {
	return credentialView{ID: k.ID, AccessKey: k.AccessKey, UserName: k.User, IsActive: k.Active, CreatedAt: k.Created}
}

type credentialBucket struct {
	Name           string    `json:"name"`
	Region         string    `json:"region"`
	Owner          string    `json:"owner"`
	CreatedAt      time.Time `json:"created_at"`
	ObjectCount    int64     `json:"object_count"`
	TotalSize      int64     `json:"total_size"`
	TotalSizeHuman string    `json:"total_size_human"`
}

type credentialDetail struct {
	credentialView
	BucketCount int                `json:"bucket_count"`
	Buckets     []credentialBucket `json:"buckets"`
}

type createCredentialRequest struct {
	UserName  string `json:"user_name"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

// operationOK is the seed's answer to updates and deletions.
var operationOK = messageResponse{Message: "Operation completed successfully"}

// generateAccessKey makes a 20-character upper-case key like those IAM
// generates (here chosen before the key exists, to name its user).
func generateAccessKey() string {
	return rand.Text()[:20] // base32, A-Z and 2-7: 100 random bits
}

// POST /api/credentials — seed 003 POST /api/credentials: {"user_name"?,
// "access_key"?, "secret_key"?} (custom key and secret, else generated).
// With a user_name, the key is added to that user, which is created if
// missing; without one, a new user named after the access key is created
// (as the seed's credentials stand for accounts). Needs
// admin:CreateAccessKey, and admin:CreateUser when a user is created. 201
// with the secret, shown this once.
func (a *API) createCredential(c *call) (any, error) {
	var in createCredentialRequest
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := c.authorizeAdmin("admin:CreateAccessKey"); err != nil {
		return nil, err
	}
	ids := a.cfg.IAM
	user, mustCreate := in.UserName, false
	if user == "" {
		if in.AccessKey == "" {
			in.AccessKey = generateAccessKey()
		}
		user, mustCreate = in.AccessKey, true
	} else if _, err := ids.GetUser(c.ctx, user); errors.Is(err, iam.ErrUserNotFound) {
		mustCreate = true
	} else if err != nil {
		return nil, fmt.Errorf("reading user: %w", err)
	}
	if mustCreate {
		if err := a.createCredentialUser(c, user); err != nil {
			return nil, err
		}
	}
	k, err := ids.CreateAccessKey(c.ctx, iam.AccessKeyInput{User: user, AccessKey: in.AccessKey, Secret: in.SecretKey})
	if err != nil {
		if mustCreate {
			// Leave nothing behind from a request that failed.
			if derr := ids.DeleteUser(c.ctx, user); derr != nil {
				c.log.Warn("removing the user of a failed credential", "user", user, "err", derr)
			}
		}
		return nil, fmt.Errorf("creating credential: %w", err)
	}
	v := viewCredential(k)
	v.SecretKey = k.Secret
	return created(v), nil
}

func (a *API) createCredentialUser(c *call, name string) error {
	if err := c.authorizeAdmin("admin:CreateUser"); err != nil {
		return err
	}
	if _, err := a.cfg.IAM.CreateUser(c.ctx, iam.UserInput{Name: name}); err != nil {
		return fmt.Errorf("creating the credential's user: %w", err)
	}
	return nil
}

// GET /api/credentials — seed 003 GET /api/credentials: every user's access
// keys, without secrets (admin:ListAccessKeys). Root's key, from the
// configuration, is not listed.
func (a *API) listCredentials(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:ListAccessKeys"); err != nil {
		return nil, err
	}
	ks, err := a.cfg.IAM.ListAccessKeys(c.ctx, "")
	if err != nil {
		return nil, fmt.Errorf("listing credentials: %w", err)
	}
	out := struct {
		Credentials []credentialView `json:"credentials"`
	}{Credentials: make([]credentialView, 0, len(ks))}
	for _, k := range ks {
		out.Credentials = append(out.Credentials, viewCredential(k))
	}
	return out, nil
}

// credential finds a credential by numeric id or by access key.
func (a *API) credential(c *call) (iam.AccessKey, error) {
	id := c.r.PathValue("id")
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		if n < 1 {
			return iam.AccessKey{}, errorf(http.StatusBadRequest, "InvalidRequest", "credential id must be at least 1")
		}
		k, err := a.cfg.IAM.AccessKeyByID(c.ctx, n)
		if err != nil {
			return iam.AccessKey{}, fmt.Errorf("reading credential: %w", err)
		}
		return k, nil
	}
	k, err := a.cfg.IAM.GetAccessKey(c.ctx, id)
	if err != nil {
		return iam.AccessKey{}, fmt.Errorf("reading credential: %w", err)
	}
	return k, nil
}

// GET /api/credentials/{id} — seed 003 GET /api/credentials/{id}: the
// credential with the buckets its user owns, each with its object count
// and total size from the store's maintained counters (admin:ListAccessKeys).
func (a *API) getCredential(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:ListAccessKeys"); err != nil {
		return nil, err
	}
	k, err := a.credential(c)
	if err != nil {
		return nil, err
	}
	bs, err := a.cfg.Objects.Buckets(c.ctx)
	if err != nil {
		return nil, fmt.Errorf("listing buckets: %w", err)
	}
	out := credentialDetail{credentialView: viewCredential(k), Buckets: []credentialBucket{}}
	for _, b := range bs {
		if b.Owner != k.User {
			continue
		}
		u, err := a.bucketUsage(c.ctx, b.Name)
		if errors.Is(err, meta.ErrBucketNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, err
		}
		region := b.Region
		if region == "" {
			region = a.cfg.Region
		}
		out.Buckets = append(out.Buckets, credentialBucket{Name: b.Name, Region: region, Owner: b.Owner,
			CreatedAt: b.Created.UTC(), ObjectCount: u.Objects, TotalSize: u.Bytes, TotalSizeHuman: humanStorage(u.Bytes)})
	}
	out.BucketCount = len(out.Buckets)
	return out, nil
}

type updateCredentialRequest struct {
	UserName *string `json:"user_name"`
	IsActive *bool   `json:"is_active"`
}

// PUT /api/credentials/{id} (and PATCH) — seed 003's credential update:
// {"user_name"?, "is_active"?} (admin:UpdateAccessKey). A new user_name
// moves the key to that user (created if missing, with admin:CreateUser):
// the key then acts as that user.
func (a *API) updateCredential(c *call) (any, error) {
	var in updateCredentialRequest
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.UserName == nil && in.IsActive == nil {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "nothing to change: send user_name or is_active")
	}
	if err := c.authorizeAdmin("admin:UpdateAccessKey"); err != nil {
		return nil, err
	}
	k, err := a.credential(c)
	if err != nil {
		return nil, err
	}
	u := iam.AccessKeyUpdate{Active: in.IsActive}
	if in.UserName != nil && *in.UserName != k.User {
		if *in.UserName == "" {
			return nil, errorf(http.StatusBadRequest, "InvalidRequest", "user_name must not be empty")
		}
		if _, err := a.cfg.IAM.GetUser(c.ctx, *in.UserName); errors.Is(err, iam.ErrUserNotFound) {
			if err := a.createCredentialUser(c, *in.UserName); err != nil {
				return nil, err
			}
		} else if err != nil {
			return nil, fmt.Errorf("reading user: %w", err)
		}
		u.User = in.UserName
	}
	if _, err := a.cfg.IAM.UpdateAccessKey(c.ctx, k.AccessKey, u); err != nil {
		return nil, fmt.Errorf("updating credential: %w", err)
	}
	return operationOK, nil
}

// DELETE /api/credentials/{id} — seed 003's credential deletion
// (admin:DeleteAccessKey). Only the key goes: its user, which may own
// buckets or hold other keys, stays (DELETE /api/users/{name} removes it).
func (a *API) deleteCredential(c *call) (any, error) {
	if err := c.authorizeAdmin("admin:DeleteAccessKey"); err != nil {
		return nil, err
	}
	k, err := a.credential(c)
	if err != nil {
		return nil, err
	}
	if err := a.cfg.IAM.DeleteAccessKey(c.ctx, k.AccessKey); err != nil {
		return nil, fmt.Errorf("deleting credential: %w", err)
	}
	return operationOK, nil
}
