package policy

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

type family uint8

const (
	famString family = iota + 1
	famStringFold
	famStringLike
	famNumeric
	famDate
	famBool
	famIP
	famNull
)

type comparison uint8

const (
	cmpEq comparison = iota
	cmpLT
	cmpLTE
	cmpGT
	cmpGTE
)

type opSpec struct {
	fam family
	cmp comparison
	// negated operators (StringNotEquals, NotIpAddress...) hold when the
	// request value matches none of the policy's values, and hold when the
	// key is absent (AWS: "If the policy condition requires that the key is
	// not matched ... and the right key is not present, the condition is
	// true").
	negated bool
}

// operators are the condition operators without a set qualifier or
// IfExists suffix. Names are case-sensitive, as in AWS.
var operators = map[string]opSpec{
	"StringEquals":              {fam: famString},
	"StringNotEquals":           {fam: famString, negated: true},
	"StringEqualsIgnoreCase":    {fam: famStringFold},
	"StringNotEqualsIgnoreCase": {fam: famStringFold, negated: true},
	"StringLike":                {fam: famStringLike},
	"StringNotLike":             {fam: famStringLike, negated: true},
	"NumericEquals":             {fam: famNumeric},
	"NumericNotEquals":          {fam: famNumeric, negated: true},
	"NumericLessThan":           {fam: famNumeric, cmp: cmpLT},
	"NumericLessThanEquals":     {fam: famNumeric, cmp: cmpLTE},
	"NumericGreaterThan":        {fam: famNumeric, cmp: cmpGT},
	"NumericGreaterThanEquals":  {fam: famNumeric, cmp: cmpGTE},
	"DateEquals":                {fam: famDate},
	"DateNotEquals":             {fam: famDate, negated: true},
	"DateLessThan":              {fam: famDate, cmp: cmpLT},
	"DateLessThanEquals":        {fam: famDate, cmp: cmpLTE},
	"DateGreaterThan":           {fam: famDate, cmp: cmpGT},
	"DateGreaterThanEquals":     {fam: famDate, cmp: cmpGTE},
	"Bool":                      {fam: famBool},
	"IpAddress":                 {fam: famIP},
	"NotIpAddress":              {fam: famIP, negated: true},
	"Null":                      {fam: famNull},
}

type qualifier uint8

const (
	qualNone qualifier = iota
	qualAnyValue
	qualAllValues
)

// condition is one operator/key pair of a Condition element with its values
// compiled for the operator's type.
type condition struct {
	operator string // as written: "ForAnyValue:StringLikeIfExists"
	key      string
	values   []string // as written; numbers and booleans as their JSON text

	spec     opSpec
	qual     qualifier
	ifExists bool
	pats     []pattern // string families
	nums     []float64
	times    []time.Time
	nets     []netip.Prefix
	bools    []bool // Bool, and Null (true: the key must be absent)
}

// parseOperator splits "ForAllValues:NumericLessThanIfExists" into its parts.
func parseOperator(op string) (opSpec, qualifier, bool, bool) {
	qual := qualNone
	name := op
	if rest, ok := strings.CutPrefix(name, "ForAnyValue:"); ok {
		qual, name = qualAnyValue, rest
	} else if rest, ok := strings.CutPrefix(name, "ForAllValues:"); ok {
		qual, name = qualAllValues, rest
	}
	ifExists := false
	if rest, ok := strings.CutSuffix(name, "IfExists"); ok {
		ifExists, name = true, rest
	}
	spec, ok := operators[name]
	if !ok || spec.fam == famNull && (ifExists || qual != qualNone) {
		return opSpec{}, 0, false, false
	}
	return spec, qual, ifExists, true
}

func newCondition(op, key string, values []string, vars bool) (condition, error) {
	spec, qual, ifExists, ok := parseOperator(op)
	if !ok {
		return condition{}, malformed("unknown condition operator %q", op)
	}
	if key == "" {
		return condition{}, malformed("%s has an empty condition key", op)
	}
	c := condition{operator: op, key: key, values: values, spec: spec, qual: qual, ifExists: ifExists}
	for _, v := range values {
		switch spec.fam {
		case famString, famStringFold:
			c.pats = append(c.pats, compilePattern(v, false, vars))
		case famStringLike:
			c.pats = append(c.pats, compilePattern(v, true, vars))
		case famNumeric:
			n, ok := parseNumber(v)
			if !ok {
				return condition{}, malformed("%s value %q for %s is not a number", op, v, key)
			}
			c.nums = append(c.nums, n)
		case famDate:
			t, ok := parseDate(v)
			if !ok {
				return condition{}, malformed("%s value %q for %s is not an ISO 8601 date or epoch seconds", op, v, key)
			}
			c.times = append(c.times, t)
		case famBool, famNull:
			b, ok := parseBool(v)
			if !ok {
				return condition{}, malformed("%s value %q for %s is not true or false", op, v, key)
			}
			c.bools = append(c.bools, b)
		case famIP:
			p, ok := parseCIDR(v)
			if !ok {
				return condition{}, malformed("%s value %q for %s is not an IP address or CIDR", op, v, key)
			}
			c.nets = append(c.nets, p)
		}
	}
	return c, nil
}

// holds evaluates the condition against the request, following AWS: the
// values of one key are ORed (NORed for negated operators), a missing key
// fails the condition except for negated operators, ...IfExists, Null and
// ForAllValues (which holds vacuously on an empty set).
func (c *condition) holds(r *Request) bool {
	vals := lookup(r, c.key)
	if c.spec.fam == famNull {
		absent := len(vals) == 0
		for _, want := range c.bools {
			if want == absent {
				return true
			}
		}
		return false
	}
	if len(vals) == 0 {
		switch {
		case c.ifExists, c.qual == qualAllValues:
			return true
		case c.qual == qualAnyValue:
			return false
		}
		return c.spec.negated
	}
	// Without a qualifier a multi-valued key behaves like ForAnyValue for a
	// positive operator, and a negated operator holds only if no value
	// matches: either way the unqualified negated operator is exactly the
	// negation of its positive form.
	all := c.qual == qualAllValues || c.qual == qualNone && c.spec.negated
	for _, v := range vals {
		ok := c.matchesAny(v, r) != c.spec.negated
		if all && !ok {
			return false
		}
		if !all && ok {
			return true
		}
	}
	return all
}

// matchesAny reports whether the request value v matches at least one of
// the policy's values under the positive form of the operator.
func (c *condition) matchesAny(v string, r *Request) bool {
	switch c.spec.fam {
	case famString, famStringLike:
		for i := range c.pats {
			if c.pats[i].match(v, false, r) {
				return true
			}
		}
	case famStringFold:
		for i := range c.pats {
			if want, ok := c.pats[i].expand(r); ok && strings.EqualFold(v, want) {
				return true
			}
		}
	case famNumeric:
		n, ok := parseNumber(strings.TrimSpace(v))
		if !ok {
			return false
		}
		for _, want := range c.nums {
			if compare(cmpFloat(n, want), c.spec.cmp) {
				return true
			}
		}
	case famDate:
		t, ok := parseDate(strings.TrimSpace(v))
		if !ok {
			return false
		}
		for _, want := range c.times {
			if compare(t.Compare(want), c.spec.cmp) {
				return true
			}
		}
	case famBool:
		b, ok := parseBool(v)
		if !ok {
			return false
		}
		for _, want := range c.bools {
			if b == want {
				return true
			}
		}
	case famIP:
		a, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil {
			return false
		}
		a = a.Unmap().WithZone("")
		for _, n := range c.nets {
			if n.Contains(a) {
				return true
			}
		}
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare turns a three-way result (request value against policy value)
// into the operator's answer.
func compare(order int, cmp comparison) bool {
	switch cmp {
	case cmpLT:
		return order < 0
	case cmpLTE:
		return order <= 0
	case cmpGT:
		return order > 0
	case cmpGTE:
		return order >= 0
	}
	return order == 0
}

// parseNumber accepts plain decimal notation only (sign, digits, fraction,
// exponent): strconv alone would also take hex, "Inf" and "NaN", which
// AWS does not and which would make comparisons meaningless.
func parseNumber(s string) (float64, bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, exp = i+1, exp+1
		}
		if exp == 0 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, false
	}
	return n, true
}

var dateLayouts = []string{
	time.RFC3339Nano,           // 2026-01-02T03:04:05.123Z, offsets
	"2006-01-02T15:04:05Z0700", // basic offset: +0100
	"2006-01-02T15:04:05",      // no zone: UTC (a fraction is accepted too)
	"2006-01-02T15:04Z07:00",   // no seconds
	"2006-01-02",
}

// parseDate reads the forms the Date operators take: ISO 8601 (AWS's
// W3C profile) or whole epoch seconds, as aws:EpochTime carries. Times are
// kept in UTC so that equal instants compare and print alike.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if allDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > 1<<40 {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// parseCIDR takes a CIDR or a single address (a /32 or /128). The prefix
// is masked so that 192.0.2.7/24 means the network 192.0.2.0/24.
func parseCIDR(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}
