package postpolicy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors of policy parsing and checking.
var (
	// ErrMalformedPolicy: the policy is not base64 of a JSON document of the
	// POST policy shape (InvalidPolicyDocument).
	ErrMalformedPolicy = errors.New("malformed POST policy")
	// ErrPolicyExpired: the policy's expiration has passed (AccessDenied:
	// Invalid according to Policy: Policy expired).
	ErrPolicyExpired = errors.New("policy expired")
	// ErrConditionFailed: a condition does not hold, or a field is not
	// covered by any condition (AccessDenied: Invalid according to Policy).
	// The error text names the condition or the fields.
	ErrConditionFailed = errors.New("invalid according to policy")
)

// Condition operators.
const (
	OpEq                 = "eq"
	OpStartsWith         = "starts-with"
	OpContentLengthRange = "content-length-range"
)

// maxPolicySize bounds the base64 text given to ParsePolicy; a form field is
// smaller still (MaxFieldSize).
const maxPolicySize = 64 << 10

// Condition is one entry of a policy's conditions.
type Condition struct {
	// Op is OpEq, OpStartsWith or OpContentLengthRange.
	Op string
	// Field is the lower-cased form field name, without the '$'; empty for
	// OpContentLengthRange.
	Field string
	// Value is what the field must equal or start with.
	Value string
	// Min and Max bound the file size for OpContentLengthRange.
	Min, Max int64
}

func (c Condition) String() string {
	if c.Op == OpContentLengthRange {
		return fmt.Sprintf("[%q, %d, %d]", c.Op, c.Min, c.Max)
	}
	return fmt.Sprintf("[%q, %q, %q]", c.Op, "$"+c.Field, c.Value)
}

// Policy is a parsed POST policy document.
type Policy struct {
	// Expiration is when the policy stops being valid.
	Expiration time.Time
	// Conditions are the conditions in document order; {"field": "value"}
	// entries appear as OpEq.
	Conditions []Condition
}

// ParsePolicy decodes a base64 (standard alphabet) POST policy:
//
//	{"expiration": "2007-12-01T12:00:00.000Z",
//	 "conditions": [{"acl": "public-read"}, ["eq", "$bucket", "b"],
//	   ["starts-with", "$key", "user/"], ["content-length-range", 0, 1048576]]}
//
// Both members are required and no other is allowed: a misspelt
// "conditions" must not silently allow everything. Condition values may be
// JSON strings or numbers (a number stands for its text); range bounds are
// non-negative integers, or strings of digits. Unknown operators and shapes
// are ErrMalformedPolicy.
func ParsePolicy(b64 string) (*Policy, error) {
	if len(b64) > maxPolicySize {
		return nil, fmt.Errorf("parsing policy: over %d bytes: %w", maxPolicySize, ErrMalformedPolicy)
	}
	doc, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("parsing policy: not base64: %w", ErrMalformedPolicy)
	}
	// One pass into a generic tree (numbers kept as text) is several times
	// cheaper than decoding each condition separately.
	var tree any
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	if err := d.Decode(&tree); err != nil {
		return nil, fmt.Errorf("parsing policy: not JSON: %w", ErrMalformedPolicy)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("parsing policy: data after the document: %w", ErrMalformedPolicy)
	}
	top, ok := tree.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parsing policy: not a JSON object: %w", ErrMalformedPolicy)
	}
	exp, okExp := top["expiration"].(string)
	conds, okConds := top["conditions"].([]any)
	if !okExp || !okConds || len(top) != 2 {
		return nil, fmt.Errorf("parsing policy: want exactly a string expiration and a conditions array: %w", ErrMalformedPolicy)
	}
	p := &Policy{Conditions: make([]Condition, 0, len(conds))}
	if p.Expiration, err = time.Parse(time.RFC3339, exp); err != nil {
		return nil, fmt.Errorf("parsing policy: expiration %q is not an ISO 8601 time: %w", exp, ErrMalformedPolicy)
	}
	for i, raw := range conds {
		if p.Conditions, err = appendCondition(p.Conditions, raw); err != nil {
			return nil, fmt.Errorf("parsing policy: condition %d: %w", i, err)
		}
	}
	return p, nil
}

func appendCondition(dst []Condition, raw any) ([]Condition, error) {
	switch c := raw.(type) {
	case map[string]any:
		if len(c) == 0 {
			return nil, fmt.Errorf("empty object: %w", ErrMalformedPolicy)
		}
		n := len(dst)
		for k, v := range c {
			val, ok := scalar(v)
			if !ok || k == "" {
				return nil, fmt.Errorf("field %q: value is not a string: %w", k, ErrMalformedPolicy)
			}
			dst = append(dst, Condition{Op: OpEq, Field: strings.ToLower(k), Value: val})
		}
		// Map order is random; keep the conditions in a stable order.
		slices.SortFunc(dst[n:], func(x, y Condition) int { return strings.Compare(x.Field, y.Field) })
		return dst, nil
	case []any:
		if len(c) != 3 {
			return nil, fmt.Errorf("want a 3-element array: %w", ErrMalformedPolicy)
		}
		op, ok := c[0].(string)
		if !ok {
			return nil, fmt.Errorf("operator is not a string: %w", ErrMalformedPolicy)
		}
		switch op = strings.ToLower(op); op {
		case OpEq, OpStartsWith:
			field, ok := c[1].(string)
			if !ok || len(field) < 2 || field[0] != '$' {
				return nil, fmt.Errorf("%s: want \"$field\": %w", op, ErrMalformedPolicy)
			}
			val, ok := scalar(c[2])
			if !ok {
				return nil, fmt.Errorf("%s: value is not a string: %w", op, ErrMalformedPolicy)
			}
			return append(dst, Condition{Op: op, Field: strings.ToLower(field[1:]), Value: val}), nil
		case OpContentLengthRange:
			lo, ok1 := bound(c[1])
			hi, ok2 := bound(c[2])
			if !ok1 || !ok2 || lo > hi {
				return nil, fmt.Errorf("%s: want 0 <= min <= max: %w", op, ErrMalformedPolicy)
			}
			return append(dst, Condition{Op: op, Min: lo, Max: hi}), nil
		}
		return nil, fmt.Errorf("unknown operator %q: %w", op, ErrMalformedPolicy)
	}
	return nil, fmt.Errorf("neither an object nor an array: %w", ErrMalformedPolicy)
}

// scalar returns a JSON string's value or a JSON number's text.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// bound parses a content-length-range bound: a non-negative integer given as
// a JSON number or a string of digits.
func bound(v any) (int64, bool) {
	s, ok := scalar(v)
	if !ok || s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// exemptFields never need a condition: the signature fields, the policy
// itself, the file, and the bucket (which comes from the request, not the
// form). Field names starting with "x-ignore-" are exempt too.
var exemptFields = map[string]bool{
	"x-amz-signature": true,
	"signature":       true,
	"awsaccesskeyid":  true,
	"policy":          true,
	"file":            true,
	"bucket":          true,
}

// Check reports whether fields satisfy p at time now. fields are lower-cased
// form field names (Form.Fields) with "bucket" set by the caller to the
// bucket the request addresses and "key" already expanded with ExpandKey. A
// condition on an absent field sees the empty string. Every field other than
// the exempt ones (x-amz-signature, signature, awsaccesskeyid, policy, file,
// bucket, x-ignore-*) must be named by some condition. Content-length-range
// is not checked here: the caller enforces LengthRange on the file.
func (p *Policy) Check(fields map[string]string, now time.Time) error {
	if now.After(p.Expiration) {
		return fmt.Errorf("checking policy: expired at %s: %w", p.Expiration.UTC().Format(time.RFC3339), ErrPolicyExpired)
	}
	covered := make(map[string]bool, len(p.Conditions))
	for _, c := range p.Conditions {
		if c.Op == OpContentLengthRange {
			continue
		}
		covered[c.Field] = true
		if !c.holds(fields[c.Field]) {
			return fmt.Errorf("checking policy: %w: policy condition failed: %s", ErrConditionFailed, c)
		}
	}
	var extra []string
	for name := range fields {
		if !covered[name] && !exemptFields[name] && !strings.HasPrefix(name, "x-ignore-") {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return fmt.Errorf("checking policy: %w: extra input fields: %s", ErrConditionFailed, strings.Join(extra, ", "))
	}
	return nil
}

func (c Condition) holds(v string) bool {
	switch c.Op {
	case OpEq:
		return v == c.Value
	case OpStartsWith:
		if c.Field != "content-type" {
			return strings.HasPrefix(v, c.Value)
		}
		// S3 reads a Content-Type with commas as a list; every entry must
		// match.
		for item := range strings.SplitSeq(v, ",") {
			if !strings.HasPrefix(strings.TrimSpace(item), c.Value) {
				return false
			}
		}
		return true
	}
	return false
}

// LengthRange returns the bounds on the file size set by the policy's
// content-length-range conditions (their intersection if there are several);
// ok is false when there are none. The caller rejects a file shorter than
// min (EntityTooSmall) or longer than max (EntityTooLarge) while streaming.
func (p *Policy) LengthRange() (lo, hi int64, ok bool) {
	for _, c := range p.Conditions {
		if c.Op != OpContentLengthRange {
			continue
		}
		if !ok {
			lo, hi, ok = c.Min, c.Max, true
			continue
		}
		lo, hi = max(lo, c.Min), min(hi, c.Max)
	}
	return lo, hi, ok
}
