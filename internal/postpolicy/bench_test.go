package postpolicy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/minio/minio-go/v7/pkg/signer"
)

const benchPolicy = `{"expiration":"2026-01-02T12:00:00.000Z","conditions":[{"bucket":"photos"},["starts-with","$key","user/eric/"],
	{"acl":"public-read"},["starts-with","$Content-Type","image/"],["content-length-range",0,1048576],
	["eq","$x-amz-algorithm","AWS4-HMAC-SHA256"],["eq","$x-amz-credential","COFFERPOSTKEY/20260102/us-east-1/s3/aws4_request"],
	["eq","$x-amz-date","20260102T030405Z"]]}`

func BenchmarkParsePolicy(b *testing.B) {
	s := b64(benchPolicy)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePolicy(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPostForm is the per-request work before the file: parse the form
// fields, verify the V4 signature, parse and check the policy.
func BenchmarkPostForm(b *testing.B) {
	fields := v4Fields(testAK, "us-east-1")
	fields["policy"] = b64(benchPolicy)
	fields["x-amz-signature"] = signer.PostPresignSignatureV4(fields["policy"], sigTime, testSecret, "us-east-1")
	fs := []field{{"key", "user/eric/${filename}"}, {"acl", "public-read"}, {"Content-Type", "image/png"}}
	for k, v := range fields {
		fs = append(fs, field{k, v})
	}
	body, boundary := formSpec{before: fs, fileName: "cat.png", file: []byte("png")}.build(b)
	raw := body.Bytes()
	creds := newCreds(testAK, testSecret)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f, err := ParseForm(bytes.NewReader(raw), boundary, 0)
		if err != nil {
			b.Fatal(err)
		}
		f.Fields["bucket"] = "photos"
		if _, err := VerifySignature(ctx, f.Fields, creds, sigTime); err != nil {
			b.Fatal(err)
		}
		p, err := ParsePolicy(f.Fields["policy"])
		if err != nil {
			b.Fatal(err)
		}
		f.Fields["key"] = ExpandKey(f.Fields["key"], f.FileName)
		if err := p.Check(f.Fields, sigTime); err != nil {
			b.Fatal(fmt.Errorf("check: %w", err))
		}
		io.Copy(io.Discard, f.File)
	}
}

func BenchmarkStreamFile(b *testing.B) {
	const size = 16 << 20
	head := []byte("--B\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n")
	body := append(head, bytes.Repeat([]byte("x"), size)...)
	body = append(body, "\r\n--B--\r\n"...)
	buf := make([]byte, 64<<10)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		f, err := ParseForm(bytes.NewReader(body), "B", 0)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f.File}, buf); err != nil || n != size {
			b.Fatal(n, err)
		}
	}
}
