// Package policy parses, validates, evaluates and renders AWS IAM policy
// documents: the identity policies attached to users and groups, bucket
// policies, and Coffer's built-in policies. It is pure: no I/O, no clock
// (the caller puts aws:CurrentTime into the request).
//
// A Policy is built only by Parse (or Builtin), which validates and
// compiles it once, so evaluation is a walk over prepared patterns.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ErrMalformed wraps every validation error; the rest of the message says
// what is wrong, as S3's MalformedPolicy does.
var ErrMalformed = errors.New("malformed policy")

// malformedError carries the description apart from the sentinel's text, so
// that Parse can prefix the statement number without repeating
// "malformed policy".
type malformedError struct{ msg string }

func (e *malformedError) Error() string        { return ErrMalformed.Error() + ": " + e.msg }
func (e *malformedError) Is(target error) bool { return target == ErrMalformed }

func malformed(format string, args ...any) error {
	return &malformedError{msg: fmt.Sprintf(format, args...)}
}

// Limits on what Parse accepts, so that a hostile document costs little to
// parse and to evaluate. They are well above what AWS allows (20 KiB per
// bucket policy, 6 KiB per managed policy); callers enforce those.
const (
	MaxSize        = 64 << 10 // bytes of JSON
	maxDepth       = 8        // nesting; a valid document needs 6
	maxStatements  = 512
	maxValues      = 512 // entries in one Action, Resource, principal or condition value list
	maxConditions  = 64  // operator/key pairs in one statement
	maxValueLength = 4096
)

// Policy versions. Policy variables are interpreted only under Version2012;
// under Version2008 (or with no Version, which means 2008) "${...}" is
// literal text.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Policy is a parsed, validated policy document. It is immutable and safe
// for concurrent use.
type Policy struct {
	version    string
	id         string
	statements []statement
}

type statement struct {
	sid          string
	effect       Effect
	principal    *principal // nil: no Principal nor NotPrincipal
	notPrincipal bool       // principal came from NotPrincipal
	actions      []pattern
	notAction    bool
	resources    []pattern
	notResource  bool
	conditions   []condition // sorted by operator, then key
}

type principal struct {
	wildcard  bool     // "Principal": "*"
	aws       []string // {"AWS": ...}
	canonical []string // {"CanonicalUser": ...}
}

const (
	s3ARNPrefix  = "arn:aws:s3:::"
	iamARNPrefix = "arn:aws:iam::"
)

// Version returns the document's Version, "" when it had none.
func (p *Policy) Version() string { return p.version }

// ID returns the document's Id element, "" when it had none.
func (p *Policy) ID() string { return p.id }

// Parse validates and compiles a policy document. Every error wraps
// ErrMalformed. Element names are case-sensitive and unknown elements are
// rejected, as AWS does.
func Parse(data []byte) (*Policy, error) {
	if len(data) > MaxSize {
		return nil, malformed("policy document is larger than %d bytes", MaxSize)
	}
	if err := checkDepth(data); err != nil {
		return nil, err
	}
	top, err := object(data, "policy document")
	if err != nil {
		return nil, err
	}
	p := &Policy{}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		v := top[k]
		switch k {
		case "Version":
			if p.version, err = str(v, "Version"); err != nil {
				return nil, err
			}
			if p.version != Version2012 && p.version != Version2008 {
				return nil, malformed("Version %q is not %s or %s", p.version, Version2012, Version2008)
			}
		case "Id":
			if p.id, err = str(v, "Id"); err != nil {
				return nil, err
			}
		case "Statement":
		default:
			return nil, malformed("unknown element %q", k)
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, malformed("missing required element Statement")
	}
	var raws []json.RawMessage
	if isKind(raw, '[') {
		if err := json.Unmarshal(raw, &raws); err != nil {
			return nil, malformed("Statement: %v", err)
		}
	} else {
		raws = []json.RawMessage{raw}
	}
	if len(raws) == 0 {
		return nil, malformed("Statement is empty")
	}
	if len(raws) > maxStatements {
		return nil, malformed("more than %d statements", maxStatements)
	}
	vars := p.version == Version2012
	sids := map[string]bool{}
	p.statements = make([]statement, 0, len(raws))
	for i, r := range raws {
		s, err := parseStatement(r, vars)
		if err != nil {
			var me *malformedError
			if errors.As(err, &me) {
				return nil, malformed("statement %d: %s", i+1, me.msg)
			}
			return nil, err
		}
		if s.sid != "" {
			if sids[s.sid] {
				return nil, malformed("statement %d: duplicate Sid %q", i+1, s.sid)
			}
			sids[s.sid] = true
		}
		p.statements = append(p.statements, s)
	}
	return p, nil
}

func parseStatement(data json.RawMessage, vars bool) (statement, error) {
	m, err := object(data, "statement")
	if err != nil {
		return statement{}, err
	}
	var s statement
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch k {
		case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition":
		default:
			return statement{}, malformed("unknown element %q", k)
		}
	}
	if raw, ok := m["Sid"]; ok {
		if s.sid, err = str(raw, "Sid"); err != nil {
			return statement{}, err
		}
	}
	raw, ok := m["Effect"]
	if !ok {
		return statement{}, malformed("missing required element Effect")
	}
	effect, err := str(raw, "Effect")
	if err != nil {
		return statement{}, err
	}
	switch effect {
	case "Allow":
		s.effect = Allow
	case "Deny":
		s.effect = Deny
	default:
		return statement{}, malformed("Effect %q is not Allow or Deny", effect)
	}

	name, raw, err := oneOf(m, "Principal", "NotPrincipal", false)
	if err != nil {
		return statement{}, err
	}
	if raw != nil {
		if s.principal, err = parsePrincipal(raw, name); err != nil {
			return statement{}, err
		}
		s.notPrincipal = name == "NotPrincipal"
	}

	name, raw, err = oneOf(m, "Action", "NotAction", true)
	if err != nil {
		return statement{}, err
	}
	actions, err := strs(raw, name)
	if err != nil {
		return statement{}, err
	}
	for _, a := range actions {
		if err := ValidateAction(a); err != nil {
			return statement{}, err
		}
		s.actions = append(s.actions, compilePattern(a, true, false))
	}
	s.notAction = name == "NotAction"

	name, raw, err = oneOf(m, "Resource", "NotResource", true)
	if err != nil {
		return statement{}, err
	}
	resources, err := strs(raw, name)
	if err != nil {
		return statement{}, err
	}
	for _, r := range resources {
		if err := validateResource(r); err != nil {
			return statement{}, err
		}
		s.resources = append(s.resources, compilePattern(r, true, vars))
	}
	s.notResource = name == "NotResource"

	if raw, ok := m["Condition"]; ok {
		if s.conditions, err = parseConditions(raw, vars); err != nil {
			return statement{}, err
		}
	}
	return s, nil
}

// oneOf returns whichever of the two exclusive elements is present.
func oneOf(m map[string]json.RawMessage, a, b string, required bool) (string, json.RawMessage, error) {
	ra, okA := m[a]
	rb, okB := m[b]
	switch {
	case okA && okB:
		return "", nil, malformed("both %s and %s are present", a, b)
	case okA:
		return a, ra, nil
	case okB:
		return b, rb, nil
	case required:
		return "", nil, malformed("missing required element %s or %s", a, b)
	}
	return "", nil, nil
}

func validateResource(r string) error {
	if r == "*" {
		return nil
	}
	rest, ok := strings.CutPrefix(r, s3ARNPrefix)
	if !ok {
		return malformed("resource %q is not an S3 ARN (arn:aws:s3:::bucket/key) or *", r)
	}
	if bucket, _, _ := strings.Cut(rest, "/"); bucket == "" {
		return malformed("resource %q names no bucket", r)
	}
	return nil
}

func parsePrincipal(raw json.RawMessage, name string) (*principal, error) {
	if isKind(raw, '"') {
		s, err := str(raw, name)
		if err != nil {
			return nil, err
		}
		if s != "*" {
			return nil, malformed("%s %q: a string principal must be \"*\"", name, s)
		}
		return &principal{wildcard: true}, nil
	}
	m, err := object(raw, name)
	if err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, malformed("%s is empty", name)
	}
	p := &principal{}
	for k, v := range m {
		switch k {
		case "AWS":
			if p.aws, err = strs(v, name+".AWS"); err != nil {
				return nil, err
			}
			for _, a := range p.aws {
				if !validAWSPrincipal(a) {
					return nil, malformed("invalid principal %q: want *, a user name, an account id, "+
						"arn:aws:iam::<account>:user/<name> or arn:aws:iam::<account>:root", a)
				}
			}
		case "CanonicalUser":
			if p.canonical, err = strs(v, name+".CanonicalUser"); err != nil {
				return nil, err
			}
		default:
			return nil, malformed("unsupported principal type %q (want AWS or CanonicalUser)", k)
		}
	}
	return p, nil
}

func validAWSPrincipal(a string) bool {
	if a == "*" {
		return true
	}
	if strings.ContainsAny(a, "*?") {
		return false
	}
	rest, ok := strings.CutPrefix(a, iamARNPrefix)
	if !ok {
		return !strings.Contains(a, ":")
	}
	account, res, ok := strings.Cut(rest, ":")
	if !ok || account == "" {
		return false
	}
	if res == "root" {
		return true
	}
	user, ok := strings.CutPrefix(res, "user/")
	return ok && user != "" && !strings.HasSuffix(user, "/")
}

// parseConditions reads {"Operator": {"key": value(s)}}. Values may be
// strings, numbers or booleans, alone or in an array; numbers and booleans
// are kept as their JSON text, which is how AWS compares them too.
func parseConditions(raw json.RawMessage, vars bool) ([]condition, error) {
	ops, err := object(raw, "Condition")
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, malformed("Condition is empty")
	}
	// Sorted, so that errors name the first bad entry deterministically and
	// the compiled form does not depend on the document's key order.
	var out []condition
	for _, op := range slices.Sorted(maps.Keys(ops)) {
		keys, err := object(ops[op], "Condition "+op)
		if err != nil {
			return nil, err
		}
		if len(keys) == 0 {
			return nil, malformed("Condition %s is empty", op)
		}
		for _, key := range slices.Sorted(maps.Keys(keys)) {
			if len(out) == maxConditions {
				return nil, malformed("more than %d conditions in one statement", maxConditions)
			}
			values, err := conditionValues(keys[key], op+" "+key)
			if err != nil {
				return nil, err
			}
			c, err := newCondition(op, key, values, vars)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func conditionValues(raw json.RawMessage, what string) ([]string, error) {
	var items []json.RawMessage
	if isKind(raw, '[') {
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, malformed("%s: %v", what, err)
		}
		if len(items) == 0 {
			return nil, malformed("%s has no values", what)
		}
	} else {
		items = []json.RawMessage{raw}
	}
	if len(items) > maxValues {
		return nil, malformed("%s has more than %d values", what, maxValues)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		it = bytes.TrimSpace(it)
		switch {
		case isKind(it, '"'):
			s, err := str(it, what)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		case string(it) == "true" || string(it) == "false":
			out = append(out, string(it))
		case len(it) > 0 && (it[0] == '-' || it[0] >= '0' && it[0] <= '9'):
			if len(it) > maxValueLength {
				return nil, malformed("%s: value longer than %d bytes", what, maxValueLength)
			}
			out = append(out, string(it))
		default:
			return nil, malformed("%s: values must be strings, numbers or booleans", what)
		}
	}
	return out, nil
}

// object decodes a JSON object into its members. Go's decoder would match
// field names case-insensitively; keeping the raw members lets Parse insist
// on AWS's exact element names.
func object(raw []byte, what string) (map[string]json.RawMessage, error) {
	if !isKind(raw, '{') {
		return nil, malformed("%s must be a JSON object", what)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, malformed("%s: %v", what, err)
	}
	return m, nil
}

func str(raw json.RawMessage, what string) (string, error) {
	if !isKind(raw, '"') {
		return "", malformed("%s must be a string", what)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", malformed("%s: %v", what, err)
	}
	if len(s) > maxValueLength {
		return "", malformed("%s: value longer than %d bytes", what, maxValueLength)
	}
	return s, nil
}

// strs decodes a string or a non-empty array of non-empty strings.
func strs(raw json.RawMessage, what string) ([]string, error) {
	var items []json.RawMessage
	if isKind(raw, '[') {
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, malformed("%s: %v", what, err)
		}
		if len(items) == 0 {
			return nil, malformed("%s is empty", what)
		}
		if len(items) > maxValues {
			return nil, malformed("%s has more than %d entries", what, maxValues)
		}
	} else {
		items = []json.RawMessage{raw}
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, err := str(it, what)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, malformed("%s has an empty entry", what)
		}
		out = append(out, s)
	}
	return out, nil
}

// isKind reports whether the JSON value starts with the given byte.
func isKind(raw []byte, c byte) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == c
}

// checkDepth rejects deeply nested documents before decoding: no valid
// policy nests beyond six levels, and refusing early bounds the decoder's
// work on hostile input.
func checkDepth(data []byte) error {
	depth := 0
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > maxDepth {
				return malformed("nesting deeper than %d levels", maxDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}
