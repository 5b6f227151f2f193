package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

var fuzzSeeds = append(append([]string{}, validDocs...),
	`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":["","home/${aws:username}/*"]}}},{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/home/${aws:username}/*"}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:Get*","Resource":"arn:aws:s3:::b/*","Condition":{"ForAllValues:StringLike":{"k":["a*","?b"]},"DateGreaterThanIfExists":{"aws:CurrentTime":"1593561599"}}}]}`,
	`{"Statement":{"Effect":"Deny","NotPrincipal":{"CanonicalUser":["x"]},"NotAction":"s3:GetObject","NotResource":"arn:aws:s3:::b/${x}"}}`,
	`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"k":[1,true,"x"]}}}]}`,
	`{"Statement":[]}`, `{"Statement":[[[]]]}`, `{"Version":"x"}`, `[]`, `"`, ``,
)

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc)
		if err != nil {
			if p != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse = %v, %v", p, err)
			}
			return
		}
		out, err := p.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		q, err := Parse(out)
		if err != nil {
			t.Fatalf("canonical form rejected: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the policy:\n%s\n%s", doc, out)
		}
		again, _ := q.MarshalJSON()
		if !bytes.Equal(out, again) {
			t.Fatalf("canonical form not stable:\n%s\n%s", out, again)
		}
	})
}

// flipEffects returns the policy with every Allow turned into Deny. The
// statements that apply to a request do not depend on their effect, so the
// flipped policy must deny exactly the requests the original decides.
func flipEffects(t *testing.T, p *Policy) *Policy {
	out, _ := p.MarshalJSON()
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	for _, s := range doc["Statement"].([]any) {
		s.(map[string]any)["Effect"] = "Deny"
	}
	b, _ := json.Marshal(doc)
	q, err := Parse(b)
	if err != nil {
		t.Fatalf("flipped policy rejected: %v\n%s", err, b)
	}
	return q
}

func FuzzEvaluate(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add([]byte(s), []byte(fuzzSeeds[(i+1)%len(fuzzSeeds)]), "alice", "c1", "s3:GetObject", "arn:aws:s3:::b/home/alice/x", "s3:prefix", "home/alice/")
	}
	f.Add([]byte(validDocs[4]), []byte(`{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Null":{"aws:SourceIp":"true"}}}]}`),
		"", "", "s3:ListBucket", "arn:aws:s3:::b", "aws:SourceIp", "10.1.2.3")
	f.Fuzz(func(t *testing.T, docA, docB []byte, principal, account, action, resource, key, value string) {
		a, _ := Parse(docA)
		b, _ := Parse(docB)
		r := &Request{
			Principal: principal, Account: account, Action: action, Resource: resource,
			Conditions: map[string][]string{key: {value}, "aws:SourceIp": {value}, "aws:CurrentTime": {value}, "aws:TagKeys": {key, value}},
		}
		ea, eb := a.Evaluate(r), b.Evaluate(r)
		want := NotApplicable
		switch {
		case ea == Deny || eb == Deny:
			want = Deny
		case ea == Allow || eb == Allow:
			want = Allow
		}
		if got := Decide(r, a, b); got != want {
			t.Fatalf("Decide = %v with policies giving %v and %v", got, ea, eb)
		}
		if want == Deny && Decide(r, Admin, a, ReadWrite, b) != Deny {
			t.Fatal("an Allow overrode a Deny")
		}
		if a != nil {
			if again := a.Evaluate(r); again != ea {
				t.Fatalf("Evaluate not deterministic: %v then %v", ea, again)
			}
			flipped := flipEffects(t, a).Evaluate(r)
			if (ea == NotApplicable) != (flipped == NotApplicable) || flipped == Allow {
				t.Fatalf("original %v, with every effect Deny %v", ea, flipped)
			}
		}
		_ = IsPublic(a)
	})
}
