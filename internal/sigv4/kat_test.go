package sigv4

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// Known-answer tests from the examples in the Amazon S3 API reference
// (sig-v4-header-based-auth, sigv4-query-string-auth, sigv4-streaming,
// sigv4-streaming-trailers). They pin the canonicalisation independently of
// any client library.

func docVerifier() *Verifier {
	return &Verifier{
		Creds:  newCreds(docAccessKey, docSecret),
		Region: "us-east-1",
		Now:    fixedClock(mustTime("20130524T000000Z").Add(time.Minute)),
	}
}

func docAuthz(signedHeaders, sig string) string {
	return "AWS4-HMAC-SHA256 Credential=" + docAccessKey + "/20130524/us-east-1/s3/aws4_request,SignedHeaders=" +
		signedHeaders + ",Signature=" + sig
}

func TestDocHeaderExamples(t *testing.T) {
	tests := []struct {
		name, method, target, body string
		headers                    map[string]string
		signed, sig                string
	}{
		{
			name: "get object", method: "GET", target: "/test.txt",
			headers: map[string]string{"Range": "bytes=0-9", "X-Amz-Content-Sha256": emptySHA256},
			signed:  "host;range;x-amz-content-sha256;x-amz-date",
			sig:     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		},
		{
			name: "put object", method: "PUT", target: "/test%24file.text", body: "Welcome to Amazon S3.",
			headers: map[string]string{
				"Date":                 "Fri, 24 May 2013 00:00:00 GMT",
				"X-Amz-Storage-Class":  "REDUCED_REDUNDANCY",
				"X-Amz-Content-Sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
			},
			signed: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
			sig:    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
		},
		{
			name: "get bucket lifecycle", method: "GET", target: "/?lifecycle",
			headers: map[string]string{"X-Amz-Content-Sha256": emptySHA256},
			signed:  "host;x-amz-content-sha256;x-amz-date",
			sig:     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
		},
		{
			name: "list objects", method: "GET", target: "/?max-keys=2&prefix=J",
			headers: map[string]string{"X-Amz-Content-Sha256": emptySHA256},
			signed:  "host;x-amz-content-sha256;x-amz-date",
			sig:     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newReq(t, tc.method, tc.target, "examplebucket.s3.amazonaws.com", strings.NewReader(tc.body))
			r.Header.Set("X-Amz-Date", "20130524T000000Z")
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			r.Header.Set("Authorization", docAuthz(tc.signed, tc.sig))
			a, err := docVerifier().Verify(r)
			mustIs(t, err, nil)
			if a.AccessKey != docAccessKey || a.Anonymous || a.Presigned || a.Region != "us-east-1" {
				t.Fatalf("auth = %+v", a)
			}
			got, _, err := readBody(t, a, r.Body)
			mustIs(t, err, nil)
			if string(got) != tc.body {
				t.Fatalf("body = %q", got)
			}
			// One flipped signature digit must fail.
			bad := []byte(tc.sig)
			bad[10] ^= 1
			r.Header.Set("Authorization", docAuthz(tc.signed, string(bad)))
			_, err = docVerifier().Verify(r)
			mustIs(t, err, ErrSignatureMismatch)
		})
	}
}

func TestDocPresignedExample(t *testing.T) {
	target := "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	r := newReq(t, "GET", target, "examplebucket.s3.amazonaws.com", nil)
	v := docVerifier()
	a, err := v.Verify(r)
	mustIs(t, err, nil)
	if !a.Presigned || a.PayloadHash != UnsignedPayload || !a.Expires.Equal(mustTime("20130525T000000Z")) {
		t.Fatalf("auth = %+v", a)
	}
	v.Now = fixedClock(mustTime("20130525T000001Z"))
	_, err = v.Verify(r)
	mustIs(t, err, ErrRequestExpired)
}

// docChunked builds the aws-chunked body of the streaming examples: 65536
// and 1024 bytes of 'a' and the final chunk, with the given signatures.
func docChunked(sigs [3]string, tail string) []byte {
	var b bytes.Buffer
	b.WriteString("10000;chunk-signature=" + sigs[0] + "\r\n")
	b.Write(bytes.Repeat([]byte("a"), 65536))
	b.WriteString("\r\n400;chunk-signature=" + sigs[1] + "\r\n")
	b.Write(bytes.Repeat([]byte("a"), 1024))
	b.WriteString("\r\n0;chunk-signature=" + sigs[2] + "\r\n")
	b.WriteString(tail)
	return b.Bytes()
}

func TestDocStreamingExamples(t *testing.T) {
	tests := []struct {
		name, payload, signed, seed, tail string
		sigs                              [3]string
		trailer                           bool
	}{
		{
			name: "signed chunks", payload: StreamingPayload,
			signed: "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
			seed:   "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
			sigs: [3]string{"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
				"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
				"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"},
			tail: "\r\n",
		},
		{
			name: "signed chunks with trailer", payload: StreamingPayloadTrailer, trailer: true,
			signed: "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
			seed:   "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
			sigs: [3]string{"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
				"1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
				"2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"},
			tail: "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			build := func(body []byte) *Auth {
				r := newReq(t, "PUT", "/examplebucket/chunkObject.txt", "s3.amazonaws.com", bytes.NewReader(body))
				r.Header.Set("X-Amz-Date", "20130524T000000Z")
				r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
				r.Header.Set("X-Amz-Content-Sha256", tc.payload)
				r.Header.Set("Content-Encoding", "aws-chunked")
				r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
				r.Header.Set("Content-Length", "66824")
				if tc.trailer {
					r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
				}
				r.Header.Set("Authorization", docAuthz(tc.signed, tc.seed))
				a, err := docVerifier().Verify(r)
				mustIs(t, err, nil)
				return a
			}
			body := docChunked(tc.sigs, tc.tail)
			a := build(body)
			for _, rd := range []func([]byte) []byte{
				func(b []byte) []byte { return b },
			} {
				got, b, err := readBody(t, a, bytes.NewReader(rd(body)))
				mustIs(t, err, nil)
				if !bytes.Equal(got, bytes.Repeat([]byte("a"), 66560)) {
					t.Fatalf("decoded %d bytes", len(got))
				}
				if tc.trailer && b.Trailer().Get("X-Amz-Checksum-Crc32c") != "sOO8/Q==" {
					t.Fatalf("trailer = %v", b.Trailer())
				}
			}
			// Small reads: every chunk is buffered, then handed out.
			b, err := build(body).Body(oneByteReader{bytes.NewReader(body)})
			mustIs(t, err, nil)
			var out bytes.Buffer
			buf := make([]byte, 7)
			for {
				n, err := b.Read(buf)
				out.Write(buf[:n])
				if err != nil {
					mustIs(t, err, io.EOF)
					break
				}
			}
			if out.Len() != 66560 {
				t.Fatalf("decoded %d bytes", out.Len())
			}
			// A flipped data byte in the second chunk fails that chunk, after
			// the first chunk's data was delivered and before any of the second.
			bad := bytes.Clone(body)
			bad[len(bad)-len(tc.tail)-100] ^= 1
			got, _, err := readBody(t, build(bad), bytes.NewReader(bad))
			mustIs(t, err, ErrChunkSignatureMismatch)
			if len(got) != 65536 {
				t.Fatalf("delivered %d bytes before the bad chunk", len(got))
			}
		})
	}
}
