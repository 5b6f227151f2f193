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

// ACL is an access control list with its owner: S3's
// AccessControlPolicy.
type ACL struct {
	// Owner is the user name of an object version's owner when that is
	// not the bucket's owner: a version another user wrote while the
	// bucket's ownership setting let writers own objects (ObjectOwner).
	// "" means the bucket's owner, and always does for a bucket's ACL.
	Owner  string  `json:"owner,omitempty"`
	Grants []Grant `json:"grants"`
}

// CannedACL expands a canned ACL name for a resource owned by ownerID
// (ownerName is shown as its display name), as for a bucket: its owner is
// the bucket owner, so bucket-owner-read and bucket-owner-full-control are
// the same as private (CannedObjectACL expands them for objects).
// ErrInvalidACL for an unknown name.
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
// owner: what a bucket with OwnershipEnforced accepts.
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

// cannedHandOver is the canned ACL with which, under OwnershipPreferred,
// a writer hands the object it writes to the bucket's owner.
const cannedHandOver = "bucket-owner-full-control"

// ObjectOwner returns who owns an object version that writer writes into
// a bucket owned by bucketOwner whose ownership setting is ownership (""
// when unset), with the canned ACL canned ("" when none): a user name, ""
// meaning the bucket's owner. Under OwnershipObjectWriter the writer owns
// what it writes; under OwnershipPreferred too, unless it writes with
// bucket-owner-full-control; under OwnershipEnforced the bucket's owner
// owns everything (AWS's Object Ownership rules). Without a setting the
// bucket's owner owns every object, as in Coffer before ownership
// controls: revoking a user's access to a bucket then revokes it to what
// it wrote there, and a writer owns objects only where the bucket's owner
// chose ObjectWriter or BucketOwnerPreferred. Pass writer "" for root and
// anonymous writers: what they write belongs to the bucket's owner.
func ObjectOwner(ownership, bucketOwner, writer, canned string) string {
	switch {
	case writer == "" || writer == bucketOwner:
		return ""
	case ownership == OwnershipObjectWriter:
		return writer
	case ownership == OwnershipPreferred && canned != cannedHandOver:
		return writer
	}
	return ""
}

// CannedObjectACL expands a canned ACL name for an object version owned by
// owner ("" for the bucket's owner) in a bucket owned by bucketOwner. When
// the object's owner is not the bucket's, bucket-owner-read adds READ and
// bucket-owner-full-control FULL_CONTROL for the bucket's owner.
// ErrInvalidACL for an unknown name.
func CannedObjectACL(name, owner, bucketOwner string) (ACL, error) {
	if owner == bucketOwner {
		owner = ""
	}
	who := owner
	if who == "" {
		who = bucketOwner
	}
	a, err := CannedACL(name, CanonicalID(who), who)
	if err != nil {
		return ACL{}, err
	}
	a.Owner = owner
	if owner != "" {
		bo := Grantee{Type: GranteeCanonicalUser, ID: CanonicalID(bucketOwner), DisplayName: bucketOwner}
		switch name {
		case "bucket-owner-read":
			a.Grants = append(a.Grants, Grant{bo, PermRead})
		case cannedHandOver:
			a.Grants = append(a.Grants, Grant{bo, PermFullControl})
		}
	}
	return a, nil
}

// OwnerName returns the user name of the owner of an object version whose
// ACL is a, in a bucket owned by bucketOwner.
func (a ACL) OwnerName(bucketOwner string) string {
	if a.Owner != "" {
		return a.Owner
	}
	return bucketOwner
}

// EffectiveObjectACL returns the ACL of an object version from what is
// stored for it (data, as EncodeObjectACL wrote it; nil when nothing is)
// in a bucket owned by bucketOwner with the ownership setting ownership:
// full control for the bucket's owner when nothing is stored or when
// ACLs are disabled (OwnershipEnforced), as S3 answers GetObjectAcl then.
func EffectiveObjectACL(data []byte, bucketOwner, ownership string) (ACL, error) {
	if len(data) == 0 || ownership == OwnershipEnforced {
		return CannedObjectACL("private", "", bucketOwner)
	}
	return DecodeACL(data)
}

// EncodeObjectACL returns what to store as an object version's ACL: nil
// for the default (the bucket's owner owns it and alone has full
// control), which is what most objects have and costs no bytes.
func EncodeObjectACL(a ACL, bucketOwner string) ([]byte, error) {
	if a.Owner == bucketOwner {
		a.Owner = ""
	}
	if a.Owner == "" && len(a.Grants) == 1 {
		g := a.Grants[0]
		if g.Permission == PermFullControl && g.Grantee.Type == GranteeCanonicalUser && g.Grantee.ID == CanonicalID(bucketOwner) {
			return nil, nil
		}
	}
	return EncodeACL(a)
}

// objectACLActions maps an object ACL permission to the actions it
// allows, after AWS's "Mapping of ACL permissions and access policy
// permissions". WRITE means nothing on an object.
var objectACLActions = map[string][]string{
	PermRead:     {"s3:GetObject", "s3:GetObjectVersion"},
	PermReadACP:  {"s3:GetObjectAcl", "s3:GetObjectVersionAcl"},
	PermWriteACP: {"s3:PutObjectAcl", "s3:PutObjectVersionAcl"},
}

// objectACLAction reports whether an object ACL can allow action.
func objectACLAction(action string) bool {
	for _, actions := range objectACLActions {
		if containsFold(actions, action) {
			return true
		}
	}
	return false
}

// allowsObject reports whether an object version's ACL lets p perform
// action. The object's owner may always read and write its ACL (S3 gives
// the owner READ_ACP and WRITE_ACP whatever the grants say).
func (a ACL) allowsObject(p Principal, action string) bool {
	if a.Owner != "" && !p.Anonymous() && p.Name == a.Owner &&
		(containsFold(objectACLActions[PermReadACP], action) || containsFold(objectACLActions[PermWriteACP], action)) {
		return true
	}
	for _, g := range a.Grants {
		if !g.Grantee.matches(p) {
			continue
		}
		if g.Permission == PermFullControl && objectACLAction(action) {
			return true
		}
		if containsFold(objectACLActions[g.Permission], action) {
			return true
		}
	}
	return false
}
