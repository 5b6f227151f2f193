package iam

import (
	"encoding/json"
	"fmt"
)

// Names of the bucket configuration documents (meta.BucketConfigs) that
// Authorize reads. The S3 layer validates what it stores under them.
const (
	// ConfigPolicy holds the bucket policy in canonical JSON
	// (policy.Policy.MarshalJSON).
	ConfigPolicy = "policy"
	// ConfigACL holds the bucket ACL as EncodeACL writes it.
	ConfigACL = "acl"
	// ConfigOwnership holds the object ownership setting, one of the
	// Ownership* values, as plain text.
	ConfigOwnership = "ownership"
)

// Object ownership settings (S3 bucket ownership controls). A bucket
// without one behaves as before AWS introduced them: ACLs apply.
const (
	// OwnershipEnforced disables ACLs: they grant nothing, and only ACLs
	// giving the owner full control may be set.
	OwnershipEnforced     = "BucketOwnerEnforced"
	OwnershipPreferred    = "BucketOwnerPreferred"
	OwnershipObjectWriter = "ObjectWriter"
)

// ValidOwnership reports whether s is an object ownership setting.
func ValidOwnership(s string) bool {
	return s == OwnershipEnforced || s == OwnershipPreferred || s == OwnershipObjectWriter
}

// ACL permissions.
const (
	PermFullControl = "FULL_CONTROL"
	PermRead        = "READ"
	PermWrite       = "WRITE"
	PermReadACP     = "READ_ACP"
	PermWriteACP    = "WRITE_ACP"
)

// Grantee types and the predefined groups.
const (
	GranteeCanonicalUser = "CanonicalUser"
	GranteeGroup         = "Group"

	GroupAllUsers           = "http://acs.amazonaws.com/groups/global/AllUsers"
	GroupAuthenticatedUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	GroupLogDelivery        = "http://acs.amazonaws.com/groups/s3/LogDelivery"
)

// MaxGrants is how many grants one ACL may hold (AWS's limit).
const MaxGrants = 100

// Grantee is who a grant is for: a user by canonical id, or a predefined
// group by URI.
type Grantee struct {
	Type        string `json:"type"`
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	URI         string `json:"uri,omitempty"`
}

// Grant gives a grantee one permission.
type Grant struct {
	Grantee    Grantee `json:"grantee"`
	Permission string  `json:"permission"`
}

// ACL is an access control list. Its owner is the bucket's owner, so it
// is not part of the list.
type ACL struct {
	Grants []Grant `json:"grants"`
}

// CannedACL expands a canned ACL name for a resource owned by ownerID
// (ownerName is shown as its display name). Objects belong to their
// bucket's owner in Coffer, so bucket-owner-read and
// bucket-owner-full-control are the same as private. ErrInvalidACL for an
// unknown name.
func CannedACL(name, ownerID, ownerName string) (ACL, error) {
	owner := Grant{Grantee{Type: GranteeCanonicalUser, ID: ownerID, DisplayName: ownerName}, PermFullControl}
	group := func(uri, perm string) Grant { return Grant{Grantee{Type: GranteeGroup, URI: uri}, perm} }
	a := ACL{Grants: []Grant{owner}}
	switch name {
	case "private", "bucket-owner-read", "bucket-owner-full-control":
	case "public-read":
		a.Grants = append(a.Grants, group(GroupAllUsers, PermRead))
	case "public-read-write":
		a.Grants = append(a.Grants, group(GroupAllUsers, PermRead), group(GroupAllUsers, PermWrite))
	case "authenticated-read":
		a.Grants = append(a.Grants, group(GroupAuthenticatedUsers, PermRead))
	case "log-delivery-write":
		a.Grants = append(a.Grants, group(GroupLogDelivery, PermWrite), group(GroupLogDelivery, PermReadACP))
	default:
		return ACL{}, fmt.Errorf("canned ACL %q: %w", name, ErrInvalidACL)
	}
	return a, nil
}

// Validate checks grantee types, group URIs, permissions and the number
// of grants. ErrInvalidACL.
func (a ACL) Validate() error {
	if len(a.Grants) > MaxGrants {
		return fmt.Errorf("more than %d grants: %w", MaxGrants, ErrInvalidACL)
	}
	for _, g := range a.Grants {
		switch g.Permission {
		case PermFullControl, PermRead, PermWrite, PermReadACP, PermWriteACP:
		default:
			return fmt.Errorf("permission %q: %w", g.Permission, ErrInvalidACL)
		}
		switch g.Grantee.Type {
		case GranteeCanonicalUser:
			if g.Grantee.ID == "" {
				return fmt.Errorf("grant to a user without an id: %w", ErrInvalidACL)
			}
		case GranteeGroup:
			switch g.Grantee.URI {
			case GroupAllUsers, GroupAuthenticatedUsers, GroupLogDelivery:
			default:
				return fmt.Errorf("group %q: %w", g.Grantee.URI, ErrInvalidACL)
			}
		default:
			return fmt.Errorf("grantee type %q: %w", g.Grantee.Type, ErrInvalidACL)
		}
	}
	return nil
}

// OwnerOnly reports whether the ACL grants nothing to anyone but the
// owner: what a bucket with OwnershipEnforced accepts, and all an object
// ACL can be until object ACLs are stored.
func (a ACL) OwnerOnly(ownerID string) bool {
	for _, g := range a.Grants {
		if g.Grantee.Type != GranteeCanonicalUser || g.Grantee.ID != ownerID {
			return false
		}
	}
	return true
}

// EncodeACL renders an ACL for storage under ConfigACL.
func EncodeACL(a ACL) ([]byte, error) {
	if a.Grants == nil {
		a.Grants = []Grant{}
	}
	return json.Marshal(a)
}

// DecodeACL reads what EncodeACL wrote.
func DecodeACL(data []byte) (ACL, error) {
	var a ACL
	if err := json.Unmarshal(data, &a); err != nil {
		return ACL{}, fmt.Errorf("decoding ACL: %w", err)
	}
	return a, nil
}

// bucketACLActions maps a bucket ACL permission to the actions it allows,
// after AWS's "Mapping of ACL permissions and access policy permissions".
// WRITE on a bucket lets the grantee create, overwrite and delete any of
// its objects, multipart uploads included.
var bucketACLActions = map[string][]string{
	PermRead:     {"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"},
	PermWrite:    {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
	PermReadACP:  {"s3:GetBucketAcl"},
	PermWriteACP: {"s3:PutBucketAcl"},
}

// allows reports whether a grant of the bucket ACL lets p perform action.
func (a ACL) allows(p Principal, action string) bool {
	for _, g := range a.Grants {
		if !g.Grantee.matches(p) {
			continue
		}
		if g.Permission == PermFullControl {
			for _, actions := range bucketACLActions {
				if containsFold(actions, action) {
					return true
				}
			}
			continue
		}
		if containsFold(bucketACLActions[g.Permission], action) {
			return true
		}
	}
	return false
}

func (g Grantee) matches(p Principal) bool {
	switch g.Type {
	case GranteeCanonicalUser:
		return !p.Anonymous() && g.ID == p.CanonicalID()
	case GranteeGroup:
		switch g.URI {
		case GroupAllUsers:
			return true
		case GroupAuthenticatedUsers:
			return !p.Anonymous()
		}
	}
	return false
}
