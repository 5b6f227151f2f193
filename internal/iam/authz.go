package iam

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/policy"
)

// BucketSettings is what Authorize reads about buckets: a bucket's record
// (its owner), every bucket (to check what a user owns), and the access
// documents kept among its configurations (ConfigPolicy, ConfigACL,
// ConfigOwnership). *object.Service implements it. Bucket fails with an
// error wrapping meta.ErrBucketNotFound for a missing bucket; BucketConfig
// with meta.ErrConfigNotFound for an unset document (and
// meta.ErrBucketNotFound for a missing bucket).
type BucketSettings interface {
	Bucket(ctx context.Context, name string) (meta.Bucket, error)
	Buckets(ctx context.Context) ([]meta.Bucket, error)
	BucketConfig(ctx context.Context, bucket, name string) ([]byte, error)
}

// Request is what a caller wants to do.
type Request struct {
	// Action is an S3 action such as "s3:GetObject", or a management
	// action ("admin:CreateUser").
	Action string
	// Bucket and Key name what the action touches ("" when nothing): no
	// bucket is the service itself (ListAllMyBuckets, admin actions), no
	// key the bucket.
	Bucket string
	Key    string
	// Conditions are the request's policy condition keys (aws:SourceIp,
	// aws:SecureTransport, s3:prefix, s3:delimiter, s3:max-keys,
	// s3:x-amz-acl...). aws:CurrentTime and aws:EpochTime are added from
	// IAM's clock unless present; aws:username and aws:userid come from the
	// principal.
	Conditions map[string][]string
	// ObjectTags, when set on an object request, returns the object's tags
	// for s3:ExistingObjectTag/<key> conditions. It is called only when a
	// policy that applies names such a key; an object that does not exist
	// should return no tags and no error.
	ObjectTags func(ctx context.Context) (map[string]string, error)
	// ObjectACL, when set on an object request, returns the stored ACL of
	// the object version the request addresses, as DecodeACL reads it:
	// ACL{} when the version has none or does not exist. It is called only
	// for the actions object ACLs grant (reading the object, reading or
	// writing its ACL) and only when nothing else has allowed the request.
	ObjectACL func(ctx context.Context) (ACL, error)
}

// Resource returns the ARN the request's action applies to.
func (r Request) Resource() string {
	switch {
	case r.Bucket == "":
		return policy.ServiceResource
	case r.Key == "":
		return "arn:aws:s3:::" + r.Bucket
	}
	return "arn:aws:s3:::" + r.Bucket + "/" + r.Key
}

// accountActions are what a user with no attached policy may do outside
// any bucket: as an AWS account, create buckets and list its own. A user
// with policies gets them only from its policies, so a readonly user
// cannot create a bucket to write into.
var accountActions = []string{"s3:CreateBucket", "s3:ListAllMyBuckets"}

// Authorize returns nil when p may perform req, else an error wrapping
// ErrAccessDenied (or the error that prevented deciding, such as a
// missing bucket, wrapping meta.ErrBucketNotFound). It is the single
// decision point for every surface. The rules are AWS's:
//
//   - root may do everything;
//   - a disabled user may do nothing (ErrUserDisabled);
//   - an explicit Deny in any applicable policy (the user's and its
//     groups' identity policies, the bucket policy) wins;
//   - the bucket's owner may do everything to its bucket;
//   - otherwise an Allow from an identity policy, from the bucket policy
//     (whose Principal names the user, its canonical id, or "*"), from a
//     grant of the bucket ACL, or from the object's ACL (a grant, or being
//     the object's owner for its ACL) allows; ACLs count only while the
//     bucket's ownership is not OwnershipEnforced;
//   - a user with no attached policy may create buckets and list its own;
//   - anything else is denied. Anonymous callers can be allowed only by a
//     bucket policy or ACL granting everyone.
func (m *IAM) Authorize(ctx context.Context, p Principal, req Request) error {
	if p.Root {
		return nil
	}
	denied := func(why string) error {
		who := p.Name
		if who == "" {
			who = "anonymous"
		}
		return fmt.Errorf("%s may not %s on %s (%s): %w", who, req.Action, req.Resource(), why, ErrAccessDenied)
	}
	var id *identity
	if !p.Anonymous() {
		if m.store == nil {
			return denied("no identity store")
		}
		var err error
		if id, err = m.activeUser(ctx, p.Name, ""); err != nil {
			if errors.Is(err, ErrUserNotFound) {
				return fmt.Errorf("authorizing: %w: %w", err, ErrAccessDenied)
			}
			return fmt.Errorf("authorizing: %w", err)
		}
	}
	pr := &policy.Request{Action: req.Action, Resource: req.Resource(), Conditions: m.conditions(req)}
	if id != nil {
		pr.Principal, pr.Account = p.Name, p.CanonicalID()
	}
	var identityPolicies []*compiled
	if id != nil {
		identityPolicies = id.policies
	}

	if req.Bucket == "" || strings.EqualFold(req.Action, "s3:CreateBucket") {
		// No bucket's documents apply: CreateBucket's bucket does not exist
		// yet (who else owns the name is CreateBucket's answer to give).
		if err := m.addObjectTags(ctx, req, pr, identityPolicies); err != nil {
			return err
		}
		switch decide(pr, identityPolicies...) {
		case policy.Deny:
			return denied("explicit deny in an identity policy")
		case policy.Allow:
			return nil
		}
		if id != nil && len(id.policies) == 0 && containsFold(accountActions, req.Action) {
			return nil
		}
		return denied("no policy allows it")
	}

	if m.buckets == nil {
		return denied("no bucket settings")
	}
	b, err := m.buckets.Bucket(ctx, req.Bucket)
	if err != nil {
		return fmt.Errorf("authorizing: %w", err)
	}
	bucketPolicy, err := m.bucketPolicy(ctx, req.Bucket)
	if err != nil {
		return err
	}
	all := identityPolicies
	if bucketPolicy != nil {
		all = append(all[:len(all):len(all)], bucketPolicy)
	}
	if err := m.addObjectTags(ctx, req, pr, all); err != nil {
		return err
	}
	switch decide(pr, all...) {
	case policy.Deny:
		return denied("explicit deny")
	case policy.Allow:
		return nil
	}
	if id != nil && b.Owner == p.Name {
		return nil
	}
	acl, err := m.bucketACL(ctx, req.Bucket)
	if err != nil {
		return err
	}
	if acl.allows(p, req.Action) {
		return nil
	}
	if req.Key != "" && req.ObjectACL != nil && objectACLAction(req.Action) {
		ok, err := m.objectACLAllows(ctx, p, req)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	return denied("no policy or ACL allows it")
}

// objectACLAllows reports whether the ACL of the object the request
// addresses allows it.
func (m *IAM) objectACLAllows(ctx context.Context, p Principal, req Request) (bool, error) {
	acl, err := req.ObjectACL(ctx)
	if err != nil {
		return false, fmt.Errorf("authorizing: reading object ACL: %w", err)
	}
	if acl.Owner == "" && len(acl.Grants) == 0 {
		return false, nil
	}
	disabled, err := m.aclsDisabled(ctx, req.Bucket)
	if err != nil || disabled {
		return false, err
	}
	return acl.allowsObject(p, req.Action), nil
}

// aclsDisabled reports whether the bucket's ownership setting disables
// ACLs.
func (m *IAM) aclsDisabled(ctx context.Context, bucket string) (bool, error) {
	own, err := m.buckets.BucketConfig(ctx, bucket, ConfigOwnership)
	switch {
	case errors.Is(err, meta.ErrConfigNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("authorizing: reading bucket ownership: %w", err)
	}
	return string(own) == OwnershipEnforced, nil
}

// decide evaluates the policies together: any Deny wins, then any Allow.
func decide(r *policy.Request, ps ...*compiled) policy.Effect {
	res := policy.NotApplicable
	for _, c := range ps {
		switch c.p.Evaluate(r) {
		case policy.Deny:
			return policy.Deny
		case policy.Allow:
			res = policy.Allow
		}
	}
	return res
}

// conditions copies the request's condition keys and adds the clock's.
func (m *IAM) conditions(req Request) map[string][]string {
	c := make(map[string][]string, len(req.Conditions)+4)
	for k, v := range req.Conditions {
		c[k] = v
	}
	now := m.now().UTC()
	if _, ok := c["aws:CurrentTime"]; !ok {
		c["aws:CurrentTime"] = []string{now.Format(time.RFC3339)}
	}
	if _, ok := c["aws:EpochTime"]; !ok {
		c["aws:EpochTime"] = []string{strconv.FormatInt(now.Unix(), 10)}
	}
	return c
}

// addObjectTags puts the object's tags into the conditions when a policy
// may look at them: reading them costs a store read per request.
func (m *IAM) addObjectTags(ctx context.Context, req Request, pr *policy.Request, ps []*compiled) error {
	if req.Key == "" || req.ObjectTags == nil {
		return nil
	}
	need := false
	for _, c := range ps {
		need = need || c.tags
	}
	if !need {
		return nil
	}
	tags, err := req.ObjectTags(ctx)
	if err != nil {
		return fmt.Errorf("authorizing: reading object tags: %w", err)
	}
	for k, v := range tags {
		pr.Conditions["s3:ExistingObjectTag/"+k] = []string{v}
	}
	return nil
}

// bucketPolicy returns the bucket's parsed policy, nil when it has none.
func (m *IAM) bucketPolicy(ctx context.Context, bucket string) (*compiled, error) {
	doc, err := m.buckets.BucketConfig(ctx, bucket, ConfigPolicy)
	if errors.Is(err, meta.ErrConfigNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("authorizing: reading bucket policy: %w", err)
	}
	c, err := m.compiled.parse(doc)
	if err != nil {
		return nil, fmt.Errorf("authorizing: stored policy of %s: %w", bucket, err)
	}
	return c, nil
}

// bucketACL returns the ACL that grants access: none when the bucket's
// ownership setting disables ACLs.
func (m *IAM) bucketACL(ctx context.Context, bucket string) (ACL, error) {
	data, err := m.buckets.BucketConfig(ctx, bucket, ConfigACL)
	if errors.Is(err, meta.ErrConfigNotFound) {
		return ACL{}, nil
	}
	if err != nil {
		return ACL{}, fmt.Errorf("authorizing: reading bucket ACL: %w", err)
	}
	acl, err := DecodeACL(data)
	if err != nil {
		return ACL{}, fmt.Errorf("authorizing: ACL of %s: %w", bucket, err)
	}
	if len(acl.Grants) == 0 {
		return acl, nil
	}
	disabled, err := m.aclsDisabled(ctx, bucket)
	if err != nil || disabled {
		return ACL{}, err
	}
	return acl, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
