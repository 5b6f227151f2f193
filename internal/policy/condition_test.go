package policy

import (
	"fmt"
	"testing"
)

// condPolicy wraps one Condition element in an Allow-everything statement,
// so the policy allows exactly when the condition holds.
func condPolicy(t testing.TB, condition string) *Policy {
	t.Helper()
	return parse(t, fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":%s}]}`, condition))
}

func TestConditionOperators(t *testing.T) {
	none := map[string][]string(nil)
	kv := func(k string, v ...string) map[string][]string { return map[string][]string{k: v} }
	for _, c := range []struct {
		condition string
		ctx       map[string][]string
		want      bool
	}{
		// Strings.
		{`{"StringEquals":{"s3:x-amz-acl":"private"}}`, kv("s3:x-amz-acl", "private"), true},
		{`{"StringEquals":{"s3:x-amz-acl":"private"}}`, kv("s3:x-amz-acl", "Private"), false},
		{`{"StringEquals":{"s3:x-amz-acl":["private","bucket-owner-full-control"]}}`, kv("s3:x-amz-acl", "bucket-owner-full-control"), true},
		{`{"StringEquals":{"s3:x-amz-acl":"priv*"}}`, kv("s3:x-amz-acl", "private"), false},
		{`{"StringEquals":{"s3:x-amz-acl":"priv*"}}`, kv("s3:x-amz-acl", "priv*"), true},
		{`{"StringEquals":{"s3:x-amz-acl":"private"}}`, none, false},
		{`{"StringNotEquals":{"s3:x-amz-acl":["public-read","public-read-write"]}}`, kv("s3:x-amz-acl", "private"), true},
		{`{"StringNotEquals":{"s3:x-amz-acl":["public-read","public-read-write"]}}`, kv("s3:x-amz-acl", "public-read"), false},
		{`{"StringNotEquals":{"s3:x-amz-acl":"public-read"}}`, none, true},
		{`{"StringEqualsIgnoreCase":{"aws:UserAgent":"MyClient/1.0"}}`, kv("aws:UserAgent", "myclient/1.0"), true},
		{`{"StringEqualsIgnoreCase":{"aws:UserAgent":"MyClient/1.0"}}`, kv("aws:UserAgent", "myclient/1.1"), false},
		{`{"StringNotEqualsIgnoreCase":{"aws:UserAgent":"BadBot"}}`, kv("aws:UserAgent", "BADBOT"), false},
		{`{"StringNotEqualsIgnoreCase":{"aws:UserAgent":"BadBot"}}`, kv("aws:UserAgent", "curl"), true},
		{`{"StringLike":{"aws:Referer":["http://www.example.com/*","http://example.com/*"]}}`, kv("aws:Referer", "http://example.com/page"), true},
		{`{"StringLike":{"aws:Referer":"http://www.example.com/*"}}`, kv("aws:Referer", "http://evil.com/http://www.example.com/"), false},
		{`{"StringLike":{"s3:prefix":"a?c"}}`, kv("s3:prefix", "abc"), true},
		{`{"StringLike":{"s3:prefix":"a?c"}}`, kv("s3:prefix", "aé"+"c"), true},
		{`{"StringLike":{"s3:prefix":"a?c"}}`, kv("s3:prefix", "ac"), false},
		{`{"StringLike":{"s3:prefix":"A*"}}`, kv("s3:prefix", "abc"), false},
		{`{"StringNotLike":{"s3:prefix":"secret/*"}}`, kv("s3:prefix", "public/"), true},
		{`{"StringNotLike":{"s3:prefix":"secret/*"}}`, kv("s3:prefix", "secret/x"), false},
		{`{"StringNotLike":{"s3:prefix":"secret/*"}}`, none, true},

		// Numbers: "limit max-keys" from the S3 examples.
		{`{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, kv("s3:max-keys", "10"), true},
		{`{"NumericLessThanEquals":{"s3:max-keys":10}}`, kv("s3:max-keys", "11"), false},
		{`{"NumericLessThan":{"s3:max-keys":10}}`, kv("s3:max-keys", "10"), false},
		{`{"NumericGreaterThan":{"s3:max-keys":"1e1"}}`, kv("s3:max-keys", "10.5"), true},
		{`{"NumericGreaterThanEquals":{"s3:max-keys":-1}}`, kv("s3:max-keys", "-1"), true},
		{`{"NumericEquals":{"s3:max-keys":["5","7"]}}`, kv("s3:max-keys", "7"), true},
		{`{"NumericEquals":{"s3:max-keys":"5"}}`, kv("s3:max-keys", "five"), false},
		{`{"NumericNotEquals":{"s3:max-keys":"5"}}`, kv("s3:max-keys", "6"), true},
		{`{"NumericNotEquals":{"s3:max-keys":"5"}}`, kv("s3:max-keys", "5.0"), false},
		{`{"NumericLessThan":{"s3:max-keys":"5"}}`, none, false},

		// Dates: a time window, ISO 8601 and epoch forms on either side.
		{`{"DateGreaterThan":{"aws:CurrentTime":"2020-04-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2020-06-30T23:59:59Z"}}`,
			kv("aws:CurrentTime", "2020-05-15T12:00:00Z"), true},
		{`{"DateGreaterThan":{"aws:CurrentTime":"2020-04-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2020-06-30T23:59:59Z"}}`,
			kv("aws:CurrentTime", "2020-07-01T00:00:00Z"), false},
		{`{"DateLessThan":{"aws:EpochTime":"1593561599"}}`, kv("aws:EpochTime", "1593561598"), true},
		{`{"DateLessThan":{"aws:CurrentTime":1593561599}}`, kv("aws:CurrentTime", "2020-06-30T23:59:58Z"), true},
		{`{"DateEquals":{"aws:CurrentTime":"2020-06-30T23:59:59+02:00"}}`, kv("aws:CurrentTime", "2020-06-30T21:59:59Z"), true},
		{`{"DateEquals":{"aws:CurrentTime":"2020-06-30"}}`, kv("aws:CurrentTime", "2020-06-30T00:00:00.000Z"), true},
		{`{"DateNotEquals":{"aws:CurrentTime":"2020-06-30"}}`, kv("aws:CurrentTime", "2020-06-30T00:00:01Z"), true},
		{`{"DateLessThanEquals":{"aws:CurrentTime":"2020-06-30T10:00:00Z"}}`, kv("aws:CurrentTime", "2020-06-30T10:00:00Z"), true},
		{`{"DateGreaterThanEquals":{"aws:CurrentTime":"2020-06-30T10:00:00Z"}}`, kv("aws:CurrentTime", "yesterday"), false},

		// Bool and Null.
		{`{"Bool":{"aws:SecureTransport":"true"}}`, kv("aws:SecureTransport", "true"), true},
		{`{"Bool":{"aws:SecureTransport":true}}`, kv("aws:SecureTransport", "false"), false},
		{`{"Bool":{"aws:SecureTransport":"true"}}`, kv("aws:SecureTransport", "yes"), false},
		{`{"Null":{"aws:TokenIssueTime":"true"}}`, none, true},
		{`{"Null":{"aws:TokenIssueTime":"true"}}`, kv("aws:TokenIssueTime", "2020-01-01T00:00:00Z"), false},
		{`{"Null":{"aws:TokenIssueTime":false}}`, kv("aws:TokenIssueTime", "x"), true},
		{`{"Null":{"aws:TokenIssueTime":"false"}}`, kv("aws:TokenIssueTime"), false},

		// IP addresses; a bare address is a /32.
		{`{"IpAddress":{"aws:SourceIp":"203.0.113.5"}}`, kv("aws:SourceIp", "203.0.113.5"), true},
		{`{"IpAddress":{"aws:SourceIp":"203.0.113.5"}}`, kv("aws:SourceIp", "203.0.113.6"), false},
		{`{"IpAddress":{"aws:SourceIp":"203.0.113.7/24"}}`, kv("aws:SourceIp", "203.0.113.200"), true},
		{`{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, kv("aws:SourceIp", "2001:db8:ffff::1"), true},
		{`{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, kv("aws:SourceIp", "192.0.2.1"), false},
		{`{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, kv("aws:SourceIp", "192.0.2.1"), true},
		{`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, kv("aws:SourceIp", "11.0.0.1"), true},

		// IfExists: missing key passes, present key is checked.
		{`{"StringEqualsIfExists":{"s3:x-amz-acl":"private"}}`, none, true},
		{`{"StringEqualsIfExists":{"s3:x-amz-acl":"private"}}`, kv("s3:x-amz-acl", "public-read"), false},
		{`{"StringEqualsIfExists":{"s3:x-amz-acl":"private"}}`, kv("s3:x-amz-acl", "private"), true},
		{`{"NumericLessThanIfExists":{"s3:max-keys":"100"}}`, none, true},
		{`{"NumericLessThanIfExists":{"s3:max-keys":"100"}}`, kv("s3:max-keys", "1000"), false},
		{`{"NotIpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`, none, true},
		{`{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}`, none, true},
		{`{"DateLessThanIfExists":{"aws:CurrentTime":"2020-01-01"}}`, kv("aws:CurrentTime", "2021-01-01T00:00:00Z"), false},

		// Set qualifiers on a multi-valued key (the IAM guide's aws:TagKeys
		// examples).
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}`, kv("aws:TagKeys", "environment"), true},
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}`, kv("aws:TagKeys", "environment", "cost-center"), true},
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}`, kv("aws:TagKeys", "environment", "owner"), false},
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":["environment"]}}`, none, true}, // vacuously
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":["environment"]}}`, kv("aws:TagKeys"), true},
		{`{"ForAnyValue:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}`, kv("aws:TagKeys", "owner", "cost-center"), true},
		{`{"ForAnyValue:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}`, kv("aws:TagKeys", "owner"), false},
		{`{"ForAnyValue:StringEquals":{"aws:TagKeys":["environment"]}}`, none, false},
		{`{"ForAnyValue:StringLike":{"aws:TagKeys":"env*"}}`, kv("aws:TagKeys", "a", "environment"), true},
		{`{"ForAllValues:StringLike":{"aws:TagKeys":"env*"}}`, kv("aws:TagKeys", "a", "environment"), false},
		{`{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"}}`, kv("aws:TagKeys", "a", "b"), true},
		{`{"ForAllValues:StringNotEquals":{"aws:TagKeys":"a"}}`, kv("aws:TagKeys", "a", "b"), false},
		{`{"ForAllValues:StringNotEquals":{"aws:TagKeys":"a"}}`, kv("aws:TagKeys", "c", "b"), true},
		{`{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}}`, none, true},
		// Unqualified on a multi-valued key: positive = any, negated = none.
		{`{"StringEquals":{"aws:TagKeys":"a"}}`, kv("aws:TagKeys", "b", "a"), true},
		{`{"StringNotEquals":{"aws:TagKeys":"a"}}`, kv("aws:TagKeys", "b", "a"), false},

		// Several keys and operators are ANDed.
		{`{"StringEquals":{"s3:prefix":"p","s3:delimiter":"/"}}`, map[string][]string{"s3:prefix": {"p"}, "s3:delimiter": {"/"}}, true},
		{`{"StringEquals":{"s3:prefix":"p","s3:delimiter":"/"}}`, map[string][]string{"s3:prefix": {"p"}}, false},
		{`{"StringEquals":{"s3:prefix":"p"},"Bool":{"aws:SecureTransport":"true"}}`, map[string][]string{"s3:prefix": {"p"}, "aws:SecureTransport": {"false"}}, false},
	} {
		p := condPolicy(t, c.condition)
		got := p.Evaluate(&Request{Action: "s3:GetObject", Resource: obj("k"), Conditions: c.ctx}) == Allow
		if got != c.want {
			t.Errorf("%s with %v: holds = %v, want %v", c.condition, c.ctx, got, c.want)
		}
	}
}

func TestUsernameConditionFallsBackToPrincipal(t *testing.T) {
	p := condPolicy(t, `{"StringEquals":{"aws:username":"alice"}}`)
	if got := p.Evaluate(&Request{Principal: "alice", Action: "s3:GetObject", Resource: obj("k")}); got != Allow {
		t.Errorf("alice: %v", got)
	}
	if got := p.Evaluate(&Request{Action: "s3:GetObject", Resource: obj("k")}); got != NotApplicable {
		t.Errorf("anonymous: %v", got)
	}
}

func TestParseDate(t *testing.T) {
	for _, s := range []string{"2020-06-30T23:59:59Z", "2020-06-30T23:59:59.123Z", "2020-06-30T23:59:59+0200",
		"2020-06-30T23:59:59", "2020-06-30T23:59Z", "2020-06-30", "0", "1593561599"} {
		if _, ok := parseDate(s); !ok {
			t.Errorf("parseDate(%q) failed", s)
		}
	}
	for _, s := range []string{"", "2020-13-01", "yesterday", "-5", "99999999999999999999", "2020-06-30T25:00:00Z"} {
		if _, ok := parseDate(s); ok {
			t.Errorf("parseDate(%q) accepted", s)
		}
	}
}

func TestParseNumber(t *testing.T) {
	for s, want := range map[string]float64{"1": 1, "-2.5": -2.5, "+3": 3, "1e3": 1000, ".5": 0.5, "5.": 5, "1E-1": 0.1} {
		if got, ok := parseNumber(s); !ok || got != want {
			t.Errorf("parseNumber(%q) = %v, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "-", "0x10", "NaN", "Inf", "1e", "1e400", "1_000", " 1", "."} {
		if _, ok := parseNumber(s); ok {
			t.Errorf("parseNumber(%q) accepted", s)
		}
	}
}
