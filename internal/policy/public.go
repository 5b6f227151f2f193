package policy

import "strings"

// IsPublic reports whether a bucket policy grants anything to everyone, as
// GetBucketPolicyStatus answers. Following AWS ("The meaning of public"),
// an Allow statement whose principal is "*" (or which uses NotPrincipal) is
// public unless one of its conditions pins the request to fixed values:
//   - IpAddress on aws:SourceIp with CIDRs narrower than the whole address
//     space;
//   - StringEquals, StringEqualsIgnoreCase or StringLike without wildcards or
//     variables on aws:SourceArn, aws:SourceVpc, aws:SourceVpce,
//     aws:SourceOwner, aws:SourceAccount, aws:PrincipalAccount,
//     aws:PrincipalArn, aws:PrincipalOrgID, aws:userid,
//     s3:x-amz-server-side-encryption-aws-kms-key-id, s3:DataAccessPointArn
//     or s3:DataAccessPointAccount.
//
// Negated, ...IfExists and ForAllValues conditions restrict nothing: each
// holds for a request without the key.
func IsPublic(p *Policy) bool {
	if p == nil {
		return false
	}
	for i := range p.statements {
		s := &p.statements[i]
		if s.effect != Allow || !grantsEveryone(s) {
			continue
		}
		restricted := false
		for j := range s.conditions {
			if restricts(&s.conditions[j]) {
				restricted = true
				break
			}
		}
		if !restricted {
			return true
		}
	}
	return false
}

func grantsEveryone(s *statement) bool {
	switch {
	case s.principal == nil:
		return false // an identity policy grants only to whom it is attached
	case s.notPrincipal, s.principal.wildcard:
		return true
	}
	for _, a := range s.principal.aws {
		if a == "*" {
			return true
		}
	}
	return false
}

var fixedValueKeys = []string{
	"aws:SourceArn", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceOwner", "aws:SourceAccount",
	"aws:PrincipalAccount", "aws:PrincipalArn", "aws:PrincipalOrgID", "aws:userid",
	"s3:x-amz-server-side-encryption-aws-kms-key-id", "s3:DataAccessPointArn", "s3:DataAccessPointAccount",
}

func restricts(c *condition) bool {
	if c.ifExists || c.spec.negated || c.qual == qualAllValues {
		return false
	}
	switch c.spec.fam {
	case famIP:
		if !strings.EqualFold(c.key, "aws:SourceIp") {
			return false
		}
		for _, n := range c.nets {
			if n.Bits() == 0 {
				return false
			}
		}
		return true
	case famString, famStringFold, famStringLike:
		known := false
		for _, k := range fixedValueKeys {
			if strings.EqualFold(c.key, k) {
				known = true
				break
			}
		}
		if !known {
			return false
		}
		for i := range c.pats {
			if !c.pats[i].fixed() {
				return false
			}
		}
		return true
	}
	return false
}

// ValidateBucketPolicy adds the checks S3 makes when a policy is attached
// to a bucket: every statement names a Principal or NotPrincipal, and every
// Resource can only refer to this bucket or its objects. Errors wrap
// ErrMalformed.
func (p *Policy) ValidateBucketPolicy(bucket string) error {
	for i := range p.statements {
		s := &p.statements[i]
		if s.principal == nil {
			return malformed("statement %d: missing required element Principal", i+1)
		}
		if s.notResource {
			continue
		}
		for _, r := range s.resources {
			if !resourceInBucket(&r, bucket) {
				return malformed("statement %d: resource %q is not in bucket %q", i+1, r.raw, bucket)
			}
		}
	}
	return nil
}

// resourceInBucket reports whether a resource pattern's bucket part (up to
// the first "/") may name bucket. A variable there is decided per request,
// so it is accepted.
func resourceInBucket(r *pattern, bucket string) bool {
	if r.raw == "*" {
		return true
	}
	rest := strings.TrimPrefix(r.raw, s3ARNPrefix)
	part, _, _ := strings.Cut(rest, "/")
	if strings.Contains(part, "${") {
		return true
	}
	bp := compilePattern(part, true, false)
	return bp.match(bucket, false, nil)
}

// ValidateIdentityPolicy checks that a policy meant for users and groups
// names no Principal: the principal is whoever it is attached to. Errors
// wrap ErrMalformed.
func (p *Policy) ValidateIdentityPolicy() error {
	for i := range p.statements {
		if p.statements[i].principal != nil {
			return malformed("statement %d: an identity policy must not have Principal or NotPrincipal", i+1)
		}
	}
	return nil
}
