package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzParseAuthorization(f *testing.F) {
	f.Add(docAuthz("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"))
	f.Add("AWS4-HMAC-SHA256 Credential=AK/with/slash/20240101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("A", 64))
	f.Add("AWS4-HMAC-SHA256 Credential=a/20240101/r/s3/aws4_request,,SignedHeaders=host")
	f.Add("AWS AKIA:sig")
	f.Add("AWS4-HMAC-SHA256")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			return
		}
		if a.cred.accessKey == "" || len(a.cred.date) != 8 || a.cred.region == "" {
			t.Fatalf("accepted incomplete credential %+v", a.cred)
		}
		hasHost := false
		for _, n := range a.signedHeaders {
			hasHost = hasHost || n == "host"
			if !validLowerToken(n) {
				t.Fatalf("accepted header name %q", n)
			}
		}
		if !hasHost {
			t.Fatal("accepted signed headers without host")
		}
		// What was accepted survives a round trip through its canonical form.
		again := "AWS4-HMAC-SHA256 Credential=" + a.cred.accessKey + "/" + a.cred.scope() +
			", SignedHeaders=" + strings.Join(a.signedHeaders, ";") + ", Signature=" + hexString(a.signature[:])
		b, err := parseAuthorization(again)
		if err != nil {
			t.Fatalf("reparse %q: %v", again, err)
		}
		if b.cred != a.cred || b.signature != a.signature || strings.Join(b.signedHeaders, ";") != strings.Join(a.signedHeaders, ";") {
			t.Fatalf("round trip changed %+v to %+v", a, b)
		}
	})
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func FuzzCanonicalRequest(f *testing.F) {
	f.Add("GET", "/bucket/a b+c/日本", "prefix=a%20b&uploads&x=%2B", "X-Amz-Meta-A", "  v  w ", "host;x-amz-meta-a")
	f.Add("PUT", "", "", "Content-Length", "5", "content-length;host")
	f.Add("POST", "//../x", "a=1&a=0&&=&%zz", "Transfer-Encoding", "chunked", "host;transfer-encoding")
	f.Fuzz(func(t *testing.T, method, path, rawQuery, hname, hval, signed string) {
		r := &http.Request{
			Method: method, URL: &url.URL{Path: path, RawQuery: rawQuery}, Host: "h:1",
			Header: http.Header{hname: {hval, hval}}, ContentLength: int64(len(hval)),
		}
		params, err := parseQuery(rawQuery)
		if err != nil {
			return
		}
		names, err := parseSignedHeaders(signed)
		if err != nil {
			names = []string{"host"}
		}
		cr := canonicalRequest{method: method, path: path, params: params, signedHeaders: names, payloadHash: UnsignedPayload}
		a := cr.appendTo(nil, r)
		b := cr.appendTo(nil, r)
		if !bytes.Equal(a, b) {
			t.Fatal("canonical request is not deterministic")
		}
		lines := bytes.SplitN(a, []byte("\n"), 4)
		if len(lines) < 4 || !bytes.Equal(lines[0], []byte(method)) && !strings.Contains(method, "\n") {
			t.Fatalf("bad shape %q", a)
		}
		if !strings.Contains(method, "\n") {
			for _, c := range lines[1] {
				if !unreserved(c) && c != '/' && c != '%' {
					t.Fatalf("unencoded byte %q in canonical uri %q", c, lines[1])
				}
			}
			for _, c := range lines[2] {
				if !unreserved(c) && c != '%' && c != '=' && c != '&' {
					t.Fatalf("unencoded byte %q in canonical query %q", c, lines[2])
				}
			}
		}
		// The whole verifier never panics on such a request.
		r.Header.Set("X-Amz-Date", "20130524T000000Z")
		r.Header.Set("Authorization", docAuthz(signed, strings.Repeat("0", 64)))
		if _, err := docVerifier().Verify(r); err == nil {
			t.Fatal("zero signature verified")
		}
	})
}

func FuzzChunkedDecoder(f *testing.F) {
	// Real small bodies from minio-go's signers, one per streaming form, and
	// the Auth each verified to; mode picks the Auth (and so the decoder).
	now := time.Now().UTC().Truncate(time.Second)
	var auths []*Auth
	for _, form := range []streamForm{formSignedTrailer, formSigned, formUnsignedTrailer} {
		data := []byte("hello, fuzz")
		sr, wire := minioStream(f, form, data, now)
		a, err := testVerifier(now).Verify(sr)
		if err != nil {
			f.Fatal(err)
		}
		auths = append(auths, a)
		f.Add(wire, byte(len(auths)-1), int64(len(data)), uint16(4))
	}
	auths = append(auths, &Auth{PayloadHash: UnsignedPayload}, &Auth{PayloadHash: emptySHA256})
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), byte(2), int64(5), uint16(3))
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), byte(2), int64(-1), uint16(1))
	f.Add([]byte("1000000;chunk-signature="+strings.Repeat("0", 64)+"\r\n"), byte(1), int64(-1), uint16(100))
	f.Add([]byte("ffffffffffffffff\r\n"), byte(2), int64(-1), uint16(100))
	f.Add([]byte(""), byte(4), int64(0), uint16(1))
	f.Fuzz(func(t *testing.T, body []byte, mode byte, declared int64, chunk uint16) {
		a := *auths[int(mode)%len(auths)]
		a.decodedLength = ""
		if declared >= 0 {
			a.decodedLength = strconv.FormatInt(declared, 10)
		}
		b, err := a.Body(bytes.NewReader(body))
		if err != nil {
			return
		}
		buf := make([]byte, int(chunk)%70000+1)
		total := 0
		for i := 0; ; i++ {
			n, err := b.Read(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("Read returned %d for a %d-byte buffer", n, len(buf))
			}
			total += n
			if total > len(body) {
				t.Fatalf("returned %d bytes from a %d-byte body", total, len(body))
			}
			if err == io.EOF {
				if a.PayloadHash != UnsignedPayload && declared >= 0 && int64(total) != declared && a.PayloadHash[0] == 'S' {
					t.Fatalf("EOF after %d bytes, declared %d", total, declared)
				}
				return
			}
			if err != nil {
				if b.Trailer() != nil {
					t.Fatal("trailer reported after a failure")
				}
				return
			}
			if i > len(body)+10 {
				t.Fatal("no progress")
			}
		}
	})
}
