package policy

import "strings"

// Effect is the outcome of evaluating policies for one request.
type Effect uint8

const (
	// NotApplicable: no statement matched. Combined over every policy that
	// governs a request it is an implicit deny.
	NotApplicable Effect = iota
	// Allow: a matching Allow statement and no matching Deny.
	Allow
	// Deny: a matching Deny statement; it overrides any Allow.
	Deny
)

func (e Effect) String() string {
	switch e {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "NotApplicable"
}

// ServiceResource is the Resource to evaluate for actions that concern no
// bucket (s3:ListAllMyBuckets, admin: actions). Both "*" and
// "arn:aws:s3:::*", the forms AWS's examples use for such actions, match it.
const ServiceResource = "arn:aws:s3:::"

// Request is the context one authorization decision is made in.
type Request struct {
	// Principal is the authenticated user name; "" for an anonymous request.
	Principal string
	// Account is the canonical id of the principal ("" when anonymous):
	// what CanonicalUser and "arn:aws:iam::<account>:root" principals name.
	Account string
	// Action is the action asked for, such as "s3:GetObject" or
	// "admin:CreateUser".
	Action string
	// Resource is "arn:aws:s3:::bucket", "arn:aws:s3:::bucket/key", or
	// ServiceResource.
	Resource string
	// Conditions holds the condition keys of the request (aws:SourceIp,
	// aws:SecureTransport, aws:CurrentTime, aws:EpochTime, s3:prefix,
	// s3:ExistingObjectTag/<tag>...). Key names are matched
	// case-insensitively, except the part after the first "/" (a tag key,
	// which S3 keeps case-sensitive). A key absent or with no values is
	// missing. The caller supplies the time keys: evaluation reads no clock.
	// aws:username and aws:userid default to Principal and Account.
	Conditions map[string][]string
}

// Evaluate applies one policy to a request: Deny if any statement that
// matches denies, else Allow if one allows, else NotApplicable. A statement
// with a Principal (bucket policies) matches only the principals it names;
// one without (identity policies) matches whoever the policy is attached to.
func (p *Policy) Evaluate(r *Request) Effect {
	if p == nil {
		return NotApplicable
	}
	if r == nil {
		r = &Request{}
	}
	res := NotApplicable
	for i := range p.statements {
		s := &p.statements[i]
		if s.effect == Allow && res == Allow {
			continue
		}
		if s.applies(r) {
			if s.effect == Deny {
				return Deny
			}
			res = Allow
		}
	}
	return res
}

// Decide combines every policy that governs a request (identity policies of
// the user and its groups, the bucket policy...; nil entries are skipped):
// an explicit Deny in any of them wins, otherwise any Allow allows,
// otherwise NotApplicable, which callers must treat as a deny.
func Decide(r *Request, policies ...*Policy) Effect {
	res := NotApplicable
	for _, p := range policies {
		switch p.Evaluate(r) {
		case Deny:
			return Deny
		case Allow:
			res = Allow
		}
	}
	return res
}

func (s *statement) applies(r *Request) bool {
	if matchAny(s.actions, r.Action, true, r) == s.notAction {
		return false
	}
	if matchAny(s.resources, r.Resource, false, r) == s.notResource {
		return false
	}
	if s.principal != nil && s.principal.matches(r) == s.notPrincipal {
		return false
	}
	for i := range s.conditions {
		if !s.conditions[i].holds(r) {
			return false
		}
	}
	return true
}

func matchAny(pats []pattern, s string, fold bool, r *Request) bool {
	for i := range pats {
		if pats[i].match(s, fold, r) {
			return true
		}
	}
	return false
}

// matches reports whether the principal element names the requester.
// Anonymous requests match only "*". For a user ARN only the user name is
// compared: Coffer has one namespace of users, and policies written for AWS
// carry an account number that means nothing here.
func (p *principal) matches(r *Request) bool {
	if p.wildcard {
		return true
	}
	for _, a := range p.aws {
		if a == "*" {
			return true
		}
		if rest, ok := strings.CutPrefix(a, iamARNPrefix); ok {
			account, res, _ := strings.Cut(rest, ":")
			if res == "root" {
				if r.Account != "" && account == r.Account {
					return true
				}
				continue
			}
			name := strings.TrimPrefix(res, "user/")
			name = name[strings.LastIndexByte(name, '/')+1:]
			if r.Principal != "" && name == r.Principal {
				return true
			}
			continue
		}
		if r.Principal != "" && a == r.Principal || r.Account != "" && a == r.Account {
			return true
		}
	}
	for _, c := range p.canonical {
		if r.Account != "" && c == r.Account {
			return true
		}
	}
	return false
}

// lookup returns the request's values for a condition key.
func lookup(r *Request, key string) []string {
	if v, ok := r.Conditions[key]; ok {
		return v
	}
	for k, v := range r.Conditions {
		if keyEqual(k, key) {
			return v
		}
	}
	switch {
	case strings.EqualFold(key, "aws:username") && r.Principal != "":
		return []string{r.Principal}
	case strings.EqualFold(key, "aws:userid") && r.Account != "":
		return []string{r.Account}
	}
	return nil
}

// keyEqual compares condition key names: the name case-insensitively, a
// "/<tag key>" suffix exactly.
func keyEqual(a, b string) bool {
	an, at, _ := strings.Cut(a, "/")
	bn, bt, _ := strings.Cut(b, "/")
	return at == bt && strings.EqualFold(an, bn) && len(a) == len(b)
}

// variable resolves a policy variable; a key with several values cannot be
// substituted, so it resolves like a missing one.
func variable(r *Request, key string) (string, bool) {
	if r == nil {
		return "", false
	}
	if v := lookup(r, key); len(v) == 1 {
		return v[0], true
	}
	return "", false
}
