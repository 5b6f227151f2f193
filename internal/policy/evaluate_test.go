package policy

import (
	"testing"
)

func parse(t testing.TB, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, doc)
	}
	return p
}

const bucketARN = "arn:aws:s3:::amzn-s3-demo-bucket"

func obj(key string) string { return bucketARN + "/" + key }

func cond(kv ...string) map[string][]string {
	m := map[string][]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = append(m[kv[i]], kv[i+1])
	}
	return m
}

type evalCase struct {
	name string
	req  Request
	want Effect
}

func runEval(t *testing.T, p *Policy, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := p.Evaluate(&c.req); got != c.want {
				t.Errorf("Evaluate(%+v) = %v, want %v", c.req, got, c.want)
			}
		})
	}
}

// From the S3 user guide's bucket policy examples: "Granting read-only
// permission to a public anonymous user".
func TestPublicReadBucketPolicy(t *testing.T) {
	p := parse(t, `{
	  "Version": "2012-10-17",
	  "Statement": [{
	    "Sid": "PublicRead",
	    "Effect": "Allow",
	    "Principal": "*",
	    "Action": ["s3:GetObject", "s3:GetObjectVersion"],
	    "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket/*"]
	  }]}`)
	runEval(t, p, []evalCase{
		{"anonymous get", Request{Action: "s3:GetObject", Resource: obj("index.html")}, Allow},
		{"user get", Request{Principal: "alice", Account: "c1", Action: "s3:GetObject", Resource: obj("a/b/c")}, Allow},
		{"action case-insensitive", Request{Action: "S3:getobject", Resource: obj("x")}, Allow},
		{"version", Request{Action: "s3:GetObjectVersion", Resource: obj("x")}, Allow},
		{"put", Request{Action: "s3:PutObject", Resource: obj("x")}, NotApplicable},
		{"list bucket", Request{Action: "s3:ListBucket", Resource: bucketARN}, NotApplicable},
		{"other bucket", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::other/x"}, NotApplicable},
		{"resource is case-sensitive", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::AMZN-s3-demo-bucket/x"}, NotApplicable},
		{"prefix bucket name", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::amzn-s3-demo-bucket2/x"}, NotApplicable},
	})
	if !IsPublic(p) {
		t.Error("IsPublic = false for a public-read policy")
	}
}

// "Managing access based on specific IP addresses" with its IPv6 variant:
// Deny everything unless the request comes from the listed ranges.
func TestRestrictByIPBucketPolicy(t *testing.T) {
	p := parse(t, `{
	  "Id": "SourceIP",
	  "Version": "2012-10-17",
	  "Statement": [{
	    "Sid": "SourceIP",
	    "Action": "s3:*",
	    "Effect": "Deny",
	    "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket", "arn:aws:s3:::amzn-s3-demo-bucket/*"],
	    "Condition": {
	      "NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24", "2001:DB8:1234:5678::/64"]}
	    },
	    "Principal": "*"
	  }]}`)
	get := func(ip string) Request {
		r := Request{Principal: "alice", Action: "s3:GetObject", Resource: obj("k")}
		if ip != "" {
			r.Conditions = cond("aws:SourceIp", ip)
		}
		return r
	}
	runEval(t, p, []evalCase{
		{"inside v4", get("192.0.2.77"), NotApplicable},
		{"second range", get("203.0.113.1"), NotApplicable},
		{"inside v6", get("2001:db8:1234:5678::1"), NotApplicable},
		{"v4-mapped v6 inside", get("::ffff:192.0.2.1"), NotApplicable},
		{"outside v4", get("198.51.100.1"), Deny},
		{"outside v6", get("2001:db8:1234:5679::1"), Deny},
		// A negated operator holds when the key is missing (AWS), so the
		// Deny applies: missing context never opens a hole.
		{"no source ip", get(""), Deny},
		{"garbage ip", get("not-an-ip"), Deny},
		{"other bucket", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::other/k", Conditions: cond("aws:SourceIp", "198.51.100.1")}, NotApplicable},
	})
	// An Allow with the mirror condition: "Allow only from 192.0.2.0/24,
	// except 192.0.2.188" (IpAddress and NotIpAddress together).
	allow := parse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},
	  "Action":"s3:*","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*",
	  "Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"},"NotIpAddress":{"aws:SourceIp":"192.0.2.188/32"}}}]}`)
	runEval(t, allow, []evalCase{
		{"allowed", get("192.0.2.1"), Allow},
		{"excepted", get("192.0.2.188"), NotApplicable},
		{"outside", get("192.0.3.1"), NotApplicable},
		{"missing", get(""), NotApplicable},
	})
	if IsPublic(allow) {
		t.Error("IsPublic = true for an IP-restricted policy")
	}
}

// "Enforce encryption in transit": deny any request not over TLS.
func TestRequireSecureTransport(t *testing.T) {
	p := parse(t, `{"Version":"2012-10-17","Statement":[{"Sid":"RestrictToTLSRequestsOnly","Action":"s3:*",
	  "Effect":"Deny","Resource":["arn:aws:s3:::amzn-s3-demo-bucket","arn:aws:s3:::amzn-s3-demo-bucket/*"],
	  "Condition":{"Bool":{"aws:SecureTransport":"false"}},"Principal":"*"}]}`)
	runEval(t, p, []evalCase{
		{"plain http", Request{Action: "s3:PutObject", Resource: obj("k"), Conditions: cond("aws:SecureTransport", "false")}, Deny},
		{"key case-insensitive", Request{Action: "s3:PutObject", Resource: obj("k"), Conditions: cond("AWS:SECURETRANSPORT", "FALSE")}, Deny},
		{"tls", Request{Action: "s3:PutObject", Resource: obj("k"), Conditions: cond("aws:SecureTransport", "true")}, NotApplicable},
		{"bucket level", Request{Action: "s3:ListBucket", Resource: bucketARN, Conditions: cond("aws:SecureTransport", "false")}, Deny},
		{"key missing", Request{Action: "s3:PutObject", Resource: obj("k")}, NotApplicable},
	})
	// The same written with the JSON boolean.
	q := parse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
	  "Condition":{"Bool":{"aws:SecureTransport":false}}}]}`)
	if got := q.Evaluate(&Request{Action: "s3:GetObject", Resource: obj("k"), Conditions: cond("aws:SecureTransport", "false")}); got != Deny {
		t.Errorf("JSON boolean condition: %v", got)
	}
}

// The IAM user guide's "Allows IAM users to access their own home directory
// in Amazon S3" policy: list only your own prefix, act only under it.
func TestOwnHomeDirectory(t *testing.T) {
	p := parse(t, `{
	  "Version": "2012-10-17",
	  "Statement": [
	    {"Sid": "AllowListingOfUserFolder", "Action": ["s3:ListBucket"], "Effect": "Allow",
	     "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket"],
	     "Condition": {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/*"]}}},
	    {"Sid": "AllowAllS3ActionsInUserFolder", "Effect": "Allow", "Action": ["s3:*"],
	     "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*"]}
	  ]}`)
	list := func(user, prefix string) Request {
		return Request{Principal: user, Account: "c-" + user, Action: "s3:ListBucket", Resource: bucketARN, Conditions: cond("s3:prefix", prefix)}
	}
	act := func(user, action, key string) Request {
		return Request{Principal: user, Account: "c-" + user, Action: action, Resource: obj(key)}
	}
	runEval(t, p, []evalCase{
		{"list root", list("alice", ""), Allow},
		{"list home", list("alice", "home/"), Allow},
		{"list own", list("alice", "home/alice/photos/"), Allow},
		{"list other's", list("alice", "home/bob/"), NotApplicable},
		{"list own name as prefix of other", list("alice", "home/alicex/"), NotApplicable},
		{"list without prefix key", Request{Principal: "alice", Action: "s3:ListBucket", Resource: bucketARN}, NotApplicable},
		{"put own", act("alice", "s3:PutObject", "home/alice/a.txt"), Allow},
		{"delete own nested", act("alice", "s3:DeleteObject", "home/alice/x/y/z"), Allow},
		{"get other's", act("alice", "s3:GetObject", "home/bob/a.txt"), NotApplicable},
		{"bob gets his", act("bob", "s3:GetObject", "home/bob/a.txt"), Allow},
		{"anonymous", Request{Action: "s3:GetObject", Resource: obj("home//a")}, NotApplicable},
		// A user name is substituted literally: "*" in it is no wildcard.
		{"star user", act("*", "s3:GetObject", "home/bob/a.txt"), NotApplicable},
		{"explicit username key wins", Request{Principal: "alice", Action: "s3:GetObject", Resource: obj("home/carol/a"),
			Conditions: cond("aws:username", "carol")}, Allow},
	})
}

func TestExplicitDenyWins(t *testing.T) {
	deny := parse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteObject*","Resource":"arn:aws:s3:::*"}]}`)
	allowAndDeny := parse(t, `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"s3:*","Resource":"*"},
	  {"Effect":"Deny","Action":"s3:PutObject","Resource":"arn:aws:s3:::locked/*"}]}`)
	del := &Request{Principal: "u", Action: "s3:DeleteObject", Resource: "arn:aws:s3:::b/k"}
	get := &Request{Principal: "u", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}
	for _, c := range []struct {
		name     string
		r        *Request
		policies []*Policy
		want     Effect
	}{
		{"deny over builtin", del, []*Policy{ReadWrite, deny}, Deny},
		{"deny first", del, []*Policy{deny, ReadWrite}, Deny},
		{"allowed action", get, []*Policy{ReadWrite, deny}, Allow},
		{"none", get, nil, NotApplicable},
		{"nil policies skipped", get, []*Policy{nil, ReadOnly, nil}, Allow},
		{"only deny, other action", get, []*Policy{deny}, NotApplicable},
		{"same policy deny", &Request{Action: "s3:PutObject", Resource: "arn:aws:s3:::locked/k"}, []*Policy{allowAndDeny}, Deny},
		{"same policy allow", &Request{Action: "s3:PutObject", Resource: "arn:aws:s3:::open/k"}, []*Policy{allowAndDeny}, Allow},
		{"deny in any order of statements", &Request{Action: "s3:PutObject", Resource: "arn:aws:s3:::locked/k"}, []*Policy{ReadOnly, allowAndDeny, Admin}, Deny},
	} {
		if got := Decide(c.r, c.policies...); got != c.want {
			t.Errorf("%s: Decide = %v, want %v", c.name, got, c.want)
		}
	}
}

// NotAction and NotResource: "deny everything but reads outside this
// folder" style statements.
func TestNotActionNotResource(t *testing.T) {
	p := parse(t, `{"Version":"2012-10-17","Statement":[
	  {"Sid":"DenyAllButGet","Effect":"Deny","NotAction":["s3:GetObject","s3:List*"],"Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*"},
	  {"Sid":"AllowOutsidePrivate","Effect":"Allow","Action":"s3:*","NotResource":["arn:aws:s3:::amzn-s3-demo-bucket/private/*"]}]}`)
	runEval(t, p, []evalCase{
		{"get allowed", Request{Action: "s3:GetObject", Resource: obj("pub/a")}, Allow},
		{"put denied", Request{Action: "s3:PutObject", Resource: obj("pub/a")}, Deny},
		{"list not denied", Request{Action: "s3:ListMultipartUploadParts", Resource: obj("pub/a")}, Allow},
		{"private get not allowed", Request{Action: "s3:GetObject", Resource: obj("private/a")}, NotApplicable},
		{"bucket-level put allowed", Request{Action: "s3:PutBucketTagging", Resource: bucketARN}, Allow},
		{"admin not s3 in NotResource stmt", Request{Action: "admin:CreateUser", Resource: ServiceResource}, NotApplicable},
	})
}

func TestPrincipals(t *testing.T) {
	p := parse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*",
	  "Principal":{"AWS":["arn:aws:iam::111122223333:user/alice","arn:aws:iam::444455556666:root","bob",
	  "arn:aws:iam::111122223333:user/division/team/carol"],"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}}]}`)
	get := func(user, account string) Request {
		return Request{Principal: user, Account: account, Action: "s3:GetObject", Resource: obj("k")}
	}
	runEval(t, p, []evalCase{
		{"user arn", get("alice", "x"), Allow},
		{"user arn with path", get("carol", "x"), Allow},
		{"plain name", get("bob", "x"), Allow},
		{"account root", get("dave", "444455556666"), Allow},
		{"canonical", get("erin", "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"), Allow},
		{"stranger", get("mallory", "999"), NotApplicable},
		{"anonymous", get("", ""), NotApplicable},
		{"name is not a path segment", get("team", "x"), NotApplicable},
	})
	// NotPrincipal: deny everyone except alice.
	np := parse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*",
	  "NotPrincipal":{"AWS":"alice"}}]}`)
	runEval(t, np, []evalCase{
		{"alice spared", get("alice", "a"), NotApplicable},
		{"bob denied", get("bob", "b"), Deny},
		{"anonymous denied", get("", ""), Deny},
	})
	// Identity policies have no Principal: they apply to whoever holds them.
	runEval(t, ReadOnly, []evalCase{{"identity", get("anyone", "a"), Allow}})
	aws := parse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"*"}]}`)
	runEval(t, aws, []evalCase{{"AWS * matches anonymous", get("", ""), Allow}})
}

func TestPolicyVariables(t *testing.T) {
	p := parse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",
	  "Resource":["arn:aws:s3:::b/${*}literal${?}${$}", "arn:aws:s3:::b/id/${aws:userid}/*"]}]}`)
	runEval(t, p, []evalCase{
		{"literal specials", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*literal?$"}, Allow},
		{"star is not a wildcard", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/xliteral?$"}, NotApplicable},
		{"question is not a wildcard", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*literalx$"}, NotApplicable},
		{"userid from account", Request{Principal: "u", Account: "C1", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/id/C1/x"}, Allow},
		{"userid mismatch", Request{Principal: "u", Account: "C2", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/id/C1/x"}, NotApplicable},
		{"multi-valued variable never matches", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/id/C1/x",
			Conditions: map[string][]string{"aws:userid": {"C1", "C2"}}}, NotApplicable},
	})
	// Version 2008 (or none) reads "${...}" literally.
	old := parse(t, `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}/*"}]}`)
	runEval(t, old, []evalCase{
		{"literal variable text", Request{Principal: "alice", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/${aws:username}/x"}, Allow},
		{"not substituted", Request{Principal: "alice", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/alice/x"}, NotApplicable},
	})
	// Variables in condition values.
	c := parse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*",
	  "Condition":{"StringEquals":{"s3:ExistingObjectTag/owner":"${aws:username}"}}}]}`)
	runEval(t, c, []evalCase{
		{"tag equals user", Request{Principal: "alice", Action: "s3:PutObject", Resource: obj("k"), Conditions: cond("s3:ExistingObjectTag/owner", "alice")}, Allow},
		{"tag other", Request{Principal: "alice", Action: "s3:PutObject", Resource: obj("k"), Conditions: cond("s3:ExistingObjectTag/owner", "bob")}, NotApplicable},
		{"tag key case-sensitive", Request{Principal: "alice", Action: "s3:PutObject", Resource: obj("k"), Conditions: cond("s3:existingobjecttag/Owner", "alice")}, NotApplicable},
		{"key name case-insensitive", Request{Principal: "alice", Action: "s3:PutObject", Resource: obj("k"), Conditions: cond("S3:EXISTINGOBJECTTAG/owner", "alice")}, Allow},
		{"anonymous", Request{Action: "s3:PutObject", Resource: obj("k"), Conditions: cond("s3:ExistingObjectTag/owner", "")}, NotApplicable},
	})
}

func TestServiceResource(t *testing.T) {
	for _, doc := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"arn:aws:s3:::*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}`,
	} {
		p := parse(t, doc)
		if got := p.Evaluate(&Request{Principal: "u", Action: "s3:ListAllMyBuckets", Resource: ServiceResource}); got != Allow {
			t.Errorf("%s: %v", doc, got)
		}
	}
	p := parse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b*"}]}`)
	if got := p.Evaluate(&Request{Action: "s3:ListAllMyBuckets", Resource: ServiceResource}); got != NotApplicable {
		t.Errorf("bucket-scoped statement applied to a service-level action: %v", got)
	}
}

func TestEvaluateNil(t *testing.T) {
	var p *Policy
	if got := p.Evaluate(&Request{}); got != NotApplicable {
		t.Errorf("nil policy: %v", got)
	}
	if got := ReadWrite.Evaluate(nil); got != NotApplicable {
		t.Errorf("nil request: %v", got)
	}
	if got := parse(t, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`).Evaluate(nil); got != Allow {
		t.Errorf("nil request against allow-all: %v", got)
	}
	for e, s := range map[Effect]string{NotApplicable: "NotApplicable", Allow: "Allow", Deny: "Deny"} {
		if e.String() != s {
			t.Errorf("%d.String() = %q", e, e.String())
		}
	}
}
