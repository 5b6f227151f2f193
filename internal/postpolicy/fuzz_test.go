package postpolicy

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{
		`{"expiration":"2026-01-02T12:00:00.000Z","conditions":[{"acl":"public-read"},["starts-with","$key","u/"],["content-length-range",0,10]]}`,
		`{"expiration":"2026-01-02T12:00:00Z","conditions":[["eq","$x",5],{"a":"b","c":1}]}`,
		`{"expiration":"2026-01-02T12:00:00Z","conditions":[["content-length-range","1","2"]]}`,
		`{"expiration":"2026-01-02T12:00:00Z","conditions":[["in","$x",["a"]]]}`,
		`{"expiration":"x"}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := ParsePolicy(base64.StdEncoding.EncodeToString(doc))
		if err != nil {
			if p != nil || !errors.Is(err, ErrMalformedPolicy) {
				t.Fatalf("ParsePolicy = %+v, %v", p, err)
			}
			return
		}
		for _, c := range p.Conditions {
			switch c.Op {
			case OpEq, OpStartsWith:
				if c.Field == "" || c.Field != strings.ToLower(c.Field) {
					t.Fatalf("condition field %q", c.Field)
				}
			case OpContentLengthRange:
				if c.Min < 0 || c.Min > c.Max {
					t.Fatalf("range %d..%d", c.Min, c.Max)
				}
			default:
				t.Fatalf("operator %q", c.Op)
			}
		}
		// Check never panics and fails closed: with no fields, a policy
		// passes only if each condition accepts the empty string.
		fields := map[string]string{}
		err = p.Check(fields, p.Expiration)
		for _, c := range p.Conditions {
			if c.Op != OpContentLengthRange && !c.holds("") && err == nil {
				t.Fatalf("condition %v accepted a missing field", c)
			}
		}
		fields["unexpected-field"] = "x"
		if p.Check(fields, p.Expiration) == nil {
			t.Fatal("extra field accepted")
		}
		if !errors.Is(p.Check(nil, p.Expiration.Add(time.Nanosecond)), ErrPolicyExpired) {
			t.Fatal("expired policy accepted")
		}
	})
}

func FuzzParseForm(f *testing.F) {
	var seed bytes.Buffer
	seed.WriteString("--B\r\nContent-Disposition: form-data; name=\"Key\"\r\n\r\nu/${filename}\r\n")
	seed.WriteString("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--B--\r\n")
	f.Add(seed.Bytes(), "B")
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B\r\nContent-Disposition: form-data; name=\"A\"\r\n\r\n2\r\n--B--\r\n"), "B")
	f.Add([]byte("--B\r\n\r\n\r\n--B--"), "B")
	f.Add([]byte("garbage"), "x")
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		form, err := ParseForm(bytes.NewReader(body), boundary, 4096)
		if err != nil {
			if form != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseForm = %v, %v", form, err)
			}
			return
		}
		var total int
		for k, v := range form.Fields {
			if k != strings.ToLower(k) || k == "" || k == "file" || len(v) > MaxFieldSize {
				t.Fatalf("field %q (%d bytes)", k, len(v))
			}
			total += len(k) + len(v)
		}
		if total > 4096 {
			t.Fatalf("fields total %d over the limit", total)
		}
		n, err := io.Copy(io.Discard, form.File)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("file read error %v does not wrap ErrMalformed", err)
		}
		if n > int64(len(body)) {
			t.Fatalf("file of %d bytes from a %d-byte body", n, len(body))
		}
	})
}
