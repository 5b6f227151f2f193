package policy

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// validDocs are accepted documents in many shapes; the round-trip and fuzz
// tests reuse them.
var validDocs = []string{
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`,
	`{"Version":"2008-10-17","Id":"x","Statement":[{"Sid":"1","Effect":"Deny","Principal":"*","NotAction":"s3:Get*","NotResource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}`,
	`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["alice","arn:aws:iam::123456789012:root"],"CanonicalUser":"abc"},"Action":["*"],"Resource":"*"}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::1:user/p/q/alice"},"Action":"admin:*","Resource":"*"}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b",
	  "Condition":{"StringLike":{"s3:prefix":["","home/${aws:username}/*"]},"NumericLessThanEquals":{"s3:max-keys":10},
	  "Bool":{"aws:SecureTransport":true},"ForAnyValue:StringEqualsIgnoreCase":{"aws:TagKeys":["a","B"]},
	  "DateLessThanIfExists":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"Null":{"s3:x-amz-acl":"false"},
	  "NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]}}}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"S3:getobject","Resource":"arn:aws:s3:::*"}]}`,
	`{"Version":"2012-10-17","Statement":[{"Sid":"<&>","Effect":"Allow","Action":"s3:Put*","Resource":"arn:aws:s3:::b/ü/${*}"}]}`,
}

func TestParseValid(t *testing.T) {
	for _, doc := range validDocs {
		p := parse(t, doc)
		out, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		q := parse(t, string(out))
		if !reflect.DeepEqual(p, q) {
			t.Errorf("round trip changed the policy:\n in  %s\n out %s", doc, out)
		}
		again, _ := q.MarshalJSON()
		if !bytes.Equal(out, again) {
			t.Errorf("canonical form not stable:\n%s\n%s", out, again)
		}
	}
}

func TestCanonicalForm(t *testing.T) {
	p := parse(t, `{ "Statement" : { "Effect":"Allow", "Principal":{"AWS":"alice"}, "Action":"s3:GetObject",
	  "Resource":"arn:aws:s3:::b/<x>", "Condition":{"StringEquals":{"s3:x":"1"},"Bool":{"aws:SecureTransport":true}} },
	  "Version":"2012-10-17" }`)
	out, _ := p.MarshalJSON()
	want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["alice"]},"Action":["s3:GetObject"],` +
		`"Resource":["arn:aws:s3:::b/<x>"],"Condition":{"Bool":{"aws:SecureTransport":["true"]},"StringEquals":{"s3:x":["1"]}}}]}`
	if string(out) != want {
		t.Errorf("MarshalJSON:\n got  %s\n want %s", out, want)
	}
	if p.Version() != Version2012 || p.ID() != "" {
		t.Errorf("Version %q ID %q", p.Version(), p.ID())
	}
	star, _ := parse(t, `{"Statement":[{"Effect":"Deny","NotPrincipal":"*","Action":"*","Resource":"*"}]}`).MarshalJSON()
	if want := `{"Statement":[{"Effect":"Deny","NotPrincipal":"*","Action":["*"],"Resource":["*"]}]}`; string(star) != want {
		t.Errorf("MarshalJSON:\n got  %s\n want %s", star, want)
	}
}

func TestParseInvalid(t *testing.T) {
	stmt := func(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }
	for _, c := range []struct{ doc, msg string }{
		{``, "JSON object"},
		{`null`, "JSON object"},
		{`[]`, "JSON object"},
		{`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]`, "unexpected end"},
		{`{}`, "missing required element Statement"},
		{`{"Version":"2012-10-17","Statement":[]}`, "Statement is empty"},
		{`{"Version":"2012-10-18","Statement":[]}`, `Version "2012-10-18"`},
		{`{"Version":20121017,"Statement":[]}`, "Version must be a string"},
		{`{"version":"2012-10-17","Statement":[]}`, `unknown element "version"`},
		{`{"Statement":"x"}`, "statement must be a JSON object"},
		{`{"Statement":[null]}`, "statement 1: statement must be a JSON object"},
		{stmt(`{"Action":"s3:*","Resource":"*"}`), "missing required element Effect"},
		{stmt(`{"Effect":"allow","Action":"s3:*","Resource":"*"}`), `Effect "allow"`},
		{stmt(`{"Effect":"Allow","Resource":"*"}`), "missing required element Action or NotAction"},
		{stmt(`{"Effect":"Allow","Action":"s3:*"}`), "missing required element Resource or NotResource"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}`), "both Action and NotAction"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*"}`), "both Resource and NotResource"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":"*","NotPrincipal":"*"}`), "both Principal and NotPrincipal"},
		{stmt(`{"Effect":"Allow","Action":[],"Resource":"*"}`), "Action is empty"},
		{stmt(`{"Effect":"Allow","Action":[""],"Resource":"*"}`), "empty entry"},
		{stmt(`{"Effect":"Allow","Action":[1],"Resource":"*"}`), "Action must be a string"},
		{stmt(`{"Effect":"Allow","Action":"s3:GetObjet","Resource":"*"}`), `unknown action "s3:GetObjet"`},
		{stmt(`{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}`), "not an s3: or admin: action"},
		{stmt(`{"Effect":"Allow","Action":"GetObject","Resource":"*"}`), `not of the form "s3:Name"`},
		{stmt(`{"Effect":"Allow","Action":"s3:","Resource":"*"}`), `not of the form "s3:Name"`},
		{stmt(`{"Effect":"Allow","Action":"s3:Get Object","Resource":"*"}`), "characters other than"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"bucket/*"}`), "not an S3 ARN"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:iam::1:user/x"}`), "not an S3 ARN"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::/key"}`), "names no bucket"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::"}`), "names no bucket"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":"alice"}`), `a string principal must be "*"`},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":{}}`), "Principal is empty"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":{"Service":"cloudfront.amazonaws.com"}}`), "unsupported principal type"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":{"AWS":"arn:aws:iam::1:role/r"}}`), "invalid principal"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":{"AWS":"ali*"}}`), "invalid principal"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":{"AWS":"arn:aws:iam:::user/x"}}`), "invalid principal"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":{"AWS":[]}}`), "Principal.AWS is empty"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"k":"v"}}}`), `unknown condition operator "StringEqualz"`},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"stringequals":{"k":"v"}}}`), "unknown condition operator"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NullIfExists":{"k":"true"}}}`), "unknown condition operator"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ForAnyValue:Null":{"k":"true"}}}`), "unknown condition operator"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ForSomeValues:StringLike":{"k":"v"}}}`), "unknown condition operator"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:*"}}}`), "unknown condition operator"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericEquals":{"s3:max-keys":"ten"}}}`), "is not a number"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericEquals":{"s3:max-keys":"0x10"}}}`), "is not a number"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"soon"}}}`), "not an ISO 8601 date"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}`), "not true or false"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}`), "not an IP address or CIDR"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"example.com"}}}`), "not an IP address or CIDR"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"k":[]}}}`), "has no values"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"k":null}}}`), "must be strings, numbers or booleans"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"k":{"a":"b"}}}}`), "must be strings, numbers or booleans"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"":"v"}}}`), "empty condition key"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{}}}`), "Condition StringEquals is empty"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{}}`), "Condition is empty"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":[]}`), "Condition must be a JSON object"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Extra":1}`), `unknown element "Extra"`},
		{stmt(`{"Effect":"Allow","action":"s3:*","Resource":"*"}`), `unknown element "action"`},
		{stmt(`{"Sid":"a","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"a","Effect":"Deny","Action":"s3:*","Resource":"*"}`), `statement 2: duplicate Sid "a"`},
		{stmt(`{"Sid":1,"Effect":"Allow","Action":"s3:*","Resource":"*"}`), "Sid must be a string"},
		{`{"Statement":[[[[[[[[[[]]]]]]]]]]}`, "nesting deeper"},
		{`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}],"Statement2":` + strings.Repeat(" ", MaxSize) + `1}`, "larger than"},
		{stmt(strings.Repeat(`{"Effect":"Allow","Action":"s3:*","Resource":"*"},`, maxStatements) + `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`), "more than 512 statements"},
		{stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::` + strings.Repeat("a", maxValueLength) + `"}`), "longer than"},
	} {
		p, err := Parse([]byte(c.doc))
		if err == nil || p != nil {
			t.Errorf("Parse(%.80s) = %v, %v; want an error", c.doc, p, err)
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%.80s): %v does not wrap ErrMalformed", c.doc, err)
		}
		if !strings.Contains(err.Error(), c.msg) || !strings.HasPrefix(err.Error(), "malformed policy: ") {
			t.Errorf("Parse(%.80s): error %q, want it to mention %q", c.doc, err, c.msg)
		}
	}
}

func TestStatementNumberInError(t *testing.T) {
	_, err := Parse([]byte(`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Allow","Action":"s3:Nope","Resource":"*"}]}`))
	if want := `malformed policy: statement 2: unknown action "s3:Nope"`; err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestPatternMatch(t *testing.T) {
	for _, c := range []struct {
		pat, s string
		fold   bool
		want   bool
	}{
		{"", "", false, true},
		{"", "a", false, false},
		{"*", "", false, true},
		{"*", "anything/at/all", false, true},
		{"a*", "a", false, true},
		{"*a", "ba", false, true},
		{"*a", "ab", false, false},
		{"a**b", "ab", false, true},
		{"a*b*c", "aXbYc", false, true},
		{"a*b*c", "aXbY", false, false},
		{"*ab*ab*", "xabyabz", false, true},
		{"*aab", "aaaab", false, true},
		{"?", "é", false, true},
		{"??", "é", false, false},
		{"a?c*", "abcdef", false, true},
		{"s3:get*", "S3:GetObject", true, true},
		{"s3:get*", "S3:GetObject", false, false},
		{"S3:GETOBJECT", "s3:getobject", true, true},
		{"s3:GetObject", "s3:GetObjectX", true, false},
	} {
		p := compilePattern(c.pat, true, false)
		if got := p.match(c.s, c.fold, nil); got != c.want {
			t.Errorf("match(%q, %q, fold=%v) = %v", c.pat, c.s, c.fold, got)
		}
	}
	// An unterminated variable is literal text.
	p := compilePattern("a${b", true, true)
	if !p.match("a${b", false, nil) || p.fixed() != true {
		t.Errorf("unterminated variable: %+v", p)
	}
}

// A pathological pattern must cost at most len(pattern) × len(input).
func TestPatternWorstCase(t *testing.T) {
	pat := compilePattern("*"+strings.Repeat("a?", 1000)+"b", true, false)
	s := strings.Repeat("a", 1100)
	if pat.match(s, false, nil) {
		t.Fatal("matched")
	}
	res := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			pat.match(s, false, nil)
		}
	})
	if res.NsPerOp() > 50e6 {
		t.Errorf("worst-case match took %v", res.NsPerOp())
	}
}
