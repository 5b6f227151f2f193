package postpolicy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var policyNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestParsePolicy(t *testing.T) {
	doc := `{ "expiration": "2026-01-02T12:00:00.000Z",
	  "conditions": [
	    {"acl": "public-read" },
	    {"Bucket": "johnsmith", "success_action_status": 201},
	    ["starts-with", "$key", "user/eric/"],
	    ["EQ", "$Content-Type", "image/jpeg"],
	    ["content-length-range", 1048576, "10485760"],
	    ["starts-with", "$x-amz-meta-tag", ""]
	  ]}`
	p, err := ParsePolicy(b64(doc))
	mustIs(t, err, nil)
	if !p.Expiration.Equal(time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("expiration %v", p.Expiration)
	}
	want := []Condition{
		{Op: OpEq, Field: "acl", Value: "public-read"},
		{Op: OpEq, Field: "bucket", Value: "johnsmith"},
		{Op: OpEq, Field: "success_action_status", Value: "201"},
		{Op: OpStartsWith, Field: "key", Value: "user/eric/"},
		{Op: OpEq, Field: "content-type", Value: "image/jpeg"},
		{Op: OpContentLengthRange, Min: 1048576, Max: 10485760},
		{Op: OpStartsWith, Field: "x-amz-meta-tag", Value: ""},
	}
	if fmt.Sprint(p.Conditions) != fmt.Sprint(want) {
		t.Fatalf("conditions\n got %v\nwant %v", p.Conditions, want)
	}
	lo, hi, ok := p.LengthRange()
	if !ok || lo != 1048576 || hi != 10485760 {
		t.Fatalf("LengthRange = %d %d %v", lo, hi, ok)
	}
	// Offsets other than Z, and no fraction.
	p, err = ParsePolicy(b64(`{"expiration":"2026-01-02T14:00:00+02:00","conditions":[]}`))
	mustIs(t, err, nil)
	if !p.Expiration.Equal(time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)) || len(p.Conditions) != 0 {
		t.Fatalf("policy %+v", p)
	}
}

func TestParsePolicyMalformed(t *testing.T) {
	const exp = `"expiration":"2026-01-02T12:00:00Z"`
	for _, doc := range []string{
		``,
		`[]`,
		`null`,
		`"policy"`,
		`{"conditions":[]}`,
		`{` + exp + `}`,
		`{` + exp + `,"conditions":[],"condition":[]}`,
		`{` + exp + `,"conditions":null}`,
		`{` + exp + `,"conditions":{}}`,
		`{"expiration":12,"conditions":[]}`,
		`{"expiration":"tomorrow","conditions":[]}`,
		`{"expiration":"2026-01-02","conditions":[]}`,
		`{` + exp + `,"conditions":[]} {}`,
		`{` + exp + `,"conditions":[],}`,
		`{` + exp + `,"conditions":[1]}`,
		`{` + exp + `,"conditions":["eq"]}`,
		`{` + exp + `,"conditions":[null]}`,
		`{` + exp + `,"conditions":[{}]}`,
		`{` + exp + `,"conditions":[{"acl":null}]}`,
		`{` + exp + `,"conditions":[{"acl":["a"]}]}`,
		`{` + exp + `,"conditions":[{"":"a"}]}`,
		`{` + exp + `,"conditions":[["eq","$key"]]}`,
		`{` + exp + `,"conditions":[["eq","$key","a","b"]]}`,
		`{` + exp + `,"conditions":[["ends-with","$key","a"]]}`,
		`{` + exp + `,"conditions":[["eq","key","a"]]}`,
		`{` + exp + `,"conditions":[["eq","$","a"]]}`,
		`{` + exp + `,"conditions":[["eq",5,"a"]]}`,
		`{` + exp + `,"conditions":[[5,"$key","a"]]}`,
		`{` + exp + `,"conditions":[["eq","$key",{"a":1}]]}`,
		`{` + exp + `,"conditions":[["eq","$key",true]]}`,
		`{` + exp + `,"conditions":[["content-length-range",-1,10]]}`,
		`{` + exp + `,"conditions":[["content-length-range",10,1]]}`,
		`{` + exp + `,"conditions":[["content-length-range",1.5,10]]}`,
		`{` + exp + `,"conditions":[["content-length-range","1e3",10]]}`,
		`{` + exp + `,"conditions":[["content-length-range",0,99999999999999999999]]}`,
		`{` + exp + `,"conditions":[["content-length-range",0]]}`,
	} {
		if p, err := ParsePolicy(b64(doc)); !errors.Is(err, ErrMalformedPolicy) {
			t.Errorf("ParsePolicy(%s) = %+v, %v; want ErrMalformedPolicy", doc, p, err)
		}
	}
	for _, s := range []string{"not base64!", b64(`{}`)[:3], strings.Repeat("A", maxPolicySize+4)} {
		if _, err := ParsePolicy(s); !errors.Is(err, ErrMalformedPolicy) {
			t.Errorf("ParsePolicy(%.20q) = %v", s, err)
		}
	}
}

func TestCheck(t *testing.T) {
	p, err := ParsePolicy(b64(`{"expiration":"2026-01-02T12:00:00.000Z","conditions":[
		{"bucket":"photos"},
		["starts-with","$key","user/eric/"],
		{"acl":"public-read"},
		["starts-with","$Content-Type","image/"],
		["starts-with","$x-amz-meta-tag",""],
		["eq","$success_action_redirect","https://example.com/done"],
		["content-length-range",0,1048576]]}`))
	mustIs(t, err, nil)
	base := func() map[string]string {
		return map[string]string{
			"bucket": "photos", "key": "user/eric/cat.jpg", "acl": "public-read", "content-type": "image/jpeg",
			"x-amz-meta-tag": "anything", "success_action_redirect": "https://example.com/done",
			"policy": "p", "x-amz-signature": "s", "signature": "s", "awsaccesskeyid": "a", "x-ignore-note": "n",
		}
	}
	cases := []struct {
		name    string
		mutate  func(m map[string]string)
		now     time.Time
		want    error
		mention string
	}{
		{name: "all hold", mutate: func(map[string]string) {}},
		{name: "starts-with empty matches missing field", mutate: func(m map[string]string) { delete(m, "x-amz-meta-tag") }},
		{name: "content-type list all images", mutate: func(m map[string]string) { m["content-type"] = "image/png,image/gif" }},
		{name: "exactly at expiration", now: time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC), mutate: func(map[string]string) {}},
		{name: "expired", now: time.Date(2026, 1, 2, 12, 0, 0, 1, time.UTC), mutate: func(map[string]string) {}, want: ErrPolicyExpired},
		{name: "bucket differs", mutate: func(m map[string]string) { m["bucket"] = "other" }, want: ErrConditionFailed, mention: `"$bucket"`},
		{name: "key prefix", mutate: func(m map[string]string) { m["key"] = "user/bob/cat.jpg" }, want: ErrConditionFailed, mention: `"$key"`},
		{name: "eq value", mutate: func(m map[string]string) { m["acl"] = "private" }, want: ErrConditionFailed, mention: `"$acl"`},
		{name: "eq missing field", mutate: func(m map[string]string) { delete(m, "acl") }, want: ErrConditionFailed, mention: `"$acl"`},
		{name: "content-type list with a non-image", mutate: func(m map[string]string) { m["content-type"] = "image/png,text/plain" }, want: ErrConditionFailed, mention: `"$content-type"`},
		{name: "extra field", mutate: func(m map[string]string) { m["x-amz-meta-other"] = "x"; m["cache-control"] = "y" },
			want: ErrConditionFailed, mention: "extra input fields: cache-control, x-amz-meta-other"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := base()
			c.mutate(m)
			now := c.now
			if now.IsZero() {
				now = policyNow
			}
			err := p.Check(m, now)
			mustIs(t, err, c.want)
			if c.mention != "" && !strings.Contains(err.Error(), c.mention) {
				t.Fatalf("error %q does not mention %s", err, c.mention)
			}
		})
	}
}

// Field names are matched case-insensitively on both sides, and the key is
// checked after ${filename} is expanded.
func TestCheckCaseAndFilename(t *testing.T) {
	p, err := ParsePolicy(b64(`{"expiration":"2026-01-02T12:00:00Z","conditions":[
		{"ACL":"private"},["eq","$KEY","uploads/report.pdf"],["starts-with","$X-Amz-Meta-Owner","team-"]]}`))
	mustIs(t, err, nil)
	body, boundary := formSpec{before: []field{{"Key", "uploads/${filename}"}, {"acl", "private"}, {"x-amz-META-owner", "team-a"}},
		fileName: "report.pdf", file: []byte("%PDF")}.build(t)
	f, err := ParseForm(body, boundary, 0)
	mustIs(t, err, nil)
	mustIs(t, p.Check(f.Fields, policyNow), ErrConditionFailed)
	f.Fields["key"] = ExpandKey(f.Fields["key"], f.FileName)
	mustIs(t, p.Check(f.Fields, policyNow), nil)
	if got := ExpandKey("a/${filename}/${filename}.bak", "x y"); got != "a/x y/x y.bak" {
		t.Fatalf("ExpandKey = %q", got)
	}
}

func TestLengthRange(t *testing.T) {
	for _, c := range []struct {
		conds  string
		lo, hi int64
		ok     bool
	}{
		{`[]`, 0, 0, false},
		{`[["content-length-range",5,10]]`, 5, 10, true},
		{`[["content-length-range",5,10],["content-length-range",0,8]]`, 5, 8, true},
		{`[["content-length-range",0,0]]`, 0, 0, true},
	} {
		p, err := ParsePolicy(b64(`{"expiration":"2026-01-02T12:00:00Z","conditions":` + c.conds + `}`))
		mustIs(t, err, nil)
		lo, hi, ok := p.LengthRange()
		if lo != c.lo || hi != c.hi || ok != c.ok {
			t.Errorf("%s: LengthRange = %d, %d, %v", c.conds, lo, hi, ok)
		}
	}
}
