package policy

import (
	"fmt"
	"strings"
	"testing"
)

// benchPolicies are three policies of ten statements each, shaped like a
// user's identity policy, a group policy and a bucket policy.
func benchPolicies(b *testing.B) []*Policy {
	var user, group, bucket []string
	for i := range 10 {
		user = append(user, fmt.Sprintf(`{"Sid":"U%d","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:List*"],
		  "Resource":["arn:aws:s3:::team-%d","arn:aws:s3:::team-%d/home/${aws:username}/*"]}`, i, i, i))
		group = append(group, fmt.Sprintf(`{"Sid":"G%d","Effect":"Deny","NotAction":"s3:Get*",
		  "Resource":"arn:aws:s3:::archive-%d/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`, i, i))
		bucket = append(bucket, fmt.Sprintf(`{"Sid":"B%d","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:user/u%d","bob"]},
		  "Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/p%d/*",
		  "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},"StringLike":{"s3:prefix":"p%d/*"}}}`, i, i, i, i))
	}
	var out []*Policy
	for _, stmts := range [][]string{user, group, bucket} {
		out = append(out, parse(b, `{"Version":"2012-10-17","Statement":[`+strings.Join(stmts, ",")+`]}`))
	}
	return out
}

func BenchmarkDecide(b *testing.B) {
	ps := benchPolicies(b)
	r := &Request{
		Principal: "bob", Account: "c0ffee", Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/p9/cat.png",
		Conditions: map[string][]string{
			"aws:SourceIp": {"10.1.2.3"}, "aws:SecureTransport": {"true"}, "s3:prefix": {"p9/x"},
			"aws:CurrentTime": {"2026-01-02T03:04:05Z"}, "aws:UserAgent": {"aws-sdk-go-v2"},
		},
	}
	if got := Decide(r, ps...); got != Allow {
		b.Fatalf("Decide = %v", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		Decide(r, ps...)
	}
}

func BenchmarkParse(b *testing.B) {
	doc := []byte(validDocs[4])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}
