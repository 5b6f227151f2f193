package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// sha256Hasher satisfies minio-go's md5simd.Hasher (hash.Hash plus Close).
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

func randBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func crc32b64(data []byte) string {
	var s [4]byte
	c := crc32.ChecksumIEEE(data)
	s[0], s[1], s[2], s[3] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
	return base64.StdEncoding.EncodeToString(s[:])
}

type streamForm int

const (
	formSigned streamForm = iota
	formSignedTrailer
	formUnsignedTrailer
	formAnonTrailer
)

func (f streamForm) String() string {
	return [...]string{"signed", "signed-trailer", "unsigned-trailer", "anonymous-trailer"}[f]
}

// minioStream signs an upload of data with minio-go's streaming signers and
// returns the request as a server receives it plus the aws-chunked wire body.
func minioStream(t testing.TB, form streamForm, data []byte, now time.Time) (*http.Request, []byte) {
	t.Helper()
	r, err := http.NewRequest("PUT", "http://127.0.0.1:9000/bucket/stream%20key", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r.ContentLength = int64(len(data))
	r.Header.Set("X-Amz-Meta-Kind", form.String())
	trailer := http.Header{"X-Amz-Checksum-Crc32": {crc32b64(data)}}
	switch form {
	case formSigned:
		r = signer.StreamingSignV4(r, testAK, testSecret, "", testRegion, int64(len(data)), now, sha256Hasher{sha256.New()})
	case formSignedTrailer:
		r.Trailer = trailer
		r = signer.StreamingSignV4(r, testAK, testSecret, "", testRegion, int64(len(data)), now, sha256Hasher{sha256.New()})
	case formUnsignedTrailer:
		r.Header.Set("X-Amz-Content-Sha256", StreamingUnsignedTrailer)
		r = signer.SignV4Trailer(*r, testAK, testSecret, "", testRegion, trailer)
	case formAnonTrailer:
		r.Header.Set("X-Amz-Content-Sha256", StreamingUnsignedTrailer)
		r = signer.UnsignedTrailer(*r, trailer)
	}
	sr := serverSide(t, r)
	wire, err := io.ReadAll(sr.Body)
	if err != nil {
		t.Fatal(err)
	}
	return sr, wire
}

var streamSizes = []int{0, 1, 1000, 65535, 65536, 65537, 3*65536 + 7}

func TestMinioStreamingForms(t *testing.T) {
	for _, form := range []streamForm{formSigned, formSignedTrailer, formUnsignedTrailer, formAnonTrailer} {
		for _, size := range streamSizes {
			t.Run(fmt.Sprintf("%s/%d", form, size), func(t *testing.T) {
				now := time.Now().UTC().Truncate(time.Second)
				data := randBytes(size, uint64(size))
				sr, wire := minioStream(t, form, data, now)
				a, err := testVerifier(now).Verify(sr)
				mustIs(t, err, nil)
				if a.Anonymous != (form == formAnonTrailer) {
					t.Fatalf("auth = %+v", a)
				}
				for _, rd := range []io.Reader{bytes.NewReader(wire), oneByteReader{bytes.NewReader(wire)}} {
					got, b, err := readBody(t, a, rd)
					mustIs(t, err, nil)
					if !bytes.Equal(got, data) {
						t.Fatalf("decoded %d bytes, want %d", len(got), len(data))
					}
					if b.DecodedLength() != int64(size) {
						t.Fatalf("DecodedLength = %d", b.DecodedLength())
					}
					tr := b.Trailer()
					if form == formSigned {
						if tr != nil {
							t.Fatalf("trailer %v", tr)
						}
					} else if tr.Get("x-amz-checksum-crc32") != crc32b64(data) {
						t.Fatalf("trailer %v", tr)
					}
				}
			})
		}
	}
}

// TestStreamingMutations damages one part of a signed aws-chunked body at a
// time and checks the precise sentinel, and that no data of a chunk that
// fails its signature is ever returned.
func TestStreamingMutations(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	data := randBytes(3*65536+100, 7)
	type mut struct {
		name   string
		form   streamForm
		wire   func(w []byte) []byte
		header func(h http.Header)
		want   error
		maxOut int // most bytes that may be returned before the error
	}
	const c1 = 65536
	hdr := len("10000;chunk-signature=") + 64 + 2
	secondData := hdr + c1 + 2 + hdr + 10 // a byte inside the second chunk's data
	muts := []mut{
		{name: "data byte", form: formSigned, want: ErrChunkSignatureMismatch, maxOut: c1,
			wire: func(w []byte) []byte { w[secondData] ^= 0x40; return w }},
		{name: "chunk signature", form: formSigned, want: ErrChunkSignatureMismatch, maxOut: 0,
			wire: func(w []byte) []byte { flipHexAt(w, len("10000;chunk-signature=")+3); return w }},
		{name: "final chunk signature", form: formSignedTrailer, want: ErrChunkSignatureMismatch, maxOut: len(data),
			wire: func(w []byte) []byte {
				i := bytes.Index(w, []byte("\r\n0;chunk-signature=")) + len("\r\n0;chunk-signature=")
				flipHexAt(w, i)
				return w
			}},
		{name: "chunks swapped", form: formSigned, want: ErrChunkSignatureMismatch, maxOut: 0,
			wire: func(w []byte) []byte {
				n := hdr + c1 + 2
				out := append([]byte{}, w[n:2*n]...)
				out = append(out, w[:n]...)
				return append(out, w[2*n:]...)
			}},
		{name: "size larger", form: formSigned, want: ErrMalformedChunk, maxOut: 0,
			wire: func(w []byte) []byte { return append([]byte("10001"), w[5:]...) }},
		{name: "size smaller", form: formSigned, want: ErrMalformedChunk, maxOut: 0,
			wire: func(w []byte) []byte { return append([]byte("0fff0"), w[5:]...) }},
		{name: "size not hex", form: formSigned, want: ErrMalformedChunk,
			wire: func(w []byte) []byte { return append([]byte("1000g"), w[5:]...) }},
		{name: "chunk too large", form: formSigned, want: ErrMalformedChunk,
			wire: func(w []byte) []byte { return append([]byte("2000000;"), w[6:]...) }},
		{name: "missing signature", form: formSigned, want: ErrMalformedChunk,
			wire: func(w []byte) []byte {
				return bytes.Replace(w, []byte("chunk-signature="), []byte("chunk-signatur="), 1)
			}},
		{name: "truncated", form: formSigned, want: ErrMalformedChunk, maxOut: 3 * c1,
			wire: func(w []byte) []byte { return w[:len(w)-200] }},
		{name: "truncated in header", form: formSigned, want: ErrMalformedChunk, maxOut: len(data),
			wire: func(w []byte) []byte { return w[:bytes.Index(w, []byte("\r\n0;"))+5] }},
		{name: "no final chunk", form: formSigned, want: ErrMalformedChunk, maxOut: len(data),
			wire: func(w []byte) []byte { return w[:bytes.Index(w, []byte("\r\n0;"))+2] }},
		{name: "trailing garbage", form: formSigned, want: ErrMalformedChunk, maxOut: len(data),
			wire: func(w []byte) []byte { return append(w, "x"...) }},
		{name: "trailing chunk", form: formSigned, want: ErrMalformedChunk, maxOut: len(data),
			wire: func(w []byte) []byte { return append(w, w[:100]...) }},
		{name: "trailer value", form: formSignedTrailer, want: ErrChunkSignatureMismatch, maxOut: len(data),
			wire: func(w []byte) []byte {
				return bytes.Replace(w, []byte("x-amz-checksum-crc32:"), []byte("x-amz-checksum-crc32:A"), 1)
			}},
		{name: "trailer signature", form: formSignedTrailer, want: ErrChunkSignatureMismatch, maxOut: len(data),
			wire: func(w []byte) []byte {
				flipHexAt(w, bytes.Index(w, []byte("x-amz-trailer-signature:"))+len("x-amz-trailer-signature:")+5)
				return w
			}},
		{name: "trailer signature missing", form: formSignedTrailer, want: ErrMalformedChunk, maxOut: len(data),
			wire: func(w []byte) []byte { return w[:bytes.Index(w, []byte("x-amz-trailer-signature:"))] }},
		{name: "trailer after signature", form: formSignedTrailer, want: ErrMalformedChunk, maxOut: len(data),
			wire: func(w []byte) []byte { return append(w, "x-amz-checksum-crc32:AAAAAA==\r\n"...) }},
		{name: "trailer undeclared", form: formSignedTrailer, want: ErrMalformedChunk, maxOut: len(data),
			header: func(h http.Header) { h.Set("X-Amz-Trailer", "x-amz-checksum-sha256") }},
		{name: "unsigned trailer undeclared", form: formUnsignedTrailer, want: ErrMalformedChunk, maxOut: len(data),
			header: func(h http.Header) { h.Del("X-Amz-Trailer") }},
		{name: "unsigned trailer with signature", form: formUnsignedTrailer, want: ErrMalformedChunk, maxOut: len(data),
			wire: func(w []byte) []byte {
				return append(bytes.TrimRight(w, "\r\n"), "\nx-amz-trailer-signature:"+strings.Repeat("0", 64)+"\r\n\r\n"...)
			}},
		{name: "unsigned truncated", form: formUnsignedTrailer, want: ErrMalformedChunk, maxOut: len(data),
			wire: func(w []byte) []byte { return w[:len(w)-60] }},
		{name: "unsigned garbage trailer", form: formUnsignedTrailer, want: ErrMalformedChunk, maxOut: len(data),
			wire: func(w []byte) []byte { return append(w, "not a header\r\n"...) }},
		{name: "unsigned chunk extension", form: formUnsignedTrailer, want: ErrMalformedChunk,
			wire: func(w []byte) []byte { return bytes.Replace(w, []byte("10000\r\n"), []byte("10000;x=y\r\n"), 1) }},
		{name: "decoded length larger", form: formSigned, want: ErrIncompleteBody, maxOut: len(data),
			header: func(h http.Header) { h.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)+1)) }},
		{name: "decoded length smaller", form: formUnsignedTrailer, want: ErrMalformedChunk, maxOut: 3 * c1,
			header: func(h http.Header) { h.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)-1)) }},
		{name: "decoded length junk", form: formUnsignedTrailer, want: ErrMalformedChunk,
			header: func(h http.Header) { h.Set("X-Amz-Decoded-Content-Length", "-1") }},
	}
	for _, m := range muts {
		t.Run(m.name, func(t *testing.T) {
			sr, wire := minioStream(t, m.form, data, now)
			if m.header != nil {
				m.header(sr.Header)
			}
			a, err := testVerifier(now).Verify(sr)
			if m.header != nil && err != nil {
				// Signed headers changed: the request itself no longer
				// verifies; check the body against the original auth.
				sr2, _ := minioStream(t, m.form, data, now)
				a, err = testVerifier(now).Verify(sr2)
				mustIs(t, err, nil)
				a.decodedLength = sr.Header.Get("X-Amz-Decoded-Content-Length")
				a.trailerNames = sr.Header.Values("X-Amz-Trailer")
			}
			mustIs(t, err, nil)
			if m.wire != nil {
				wire = m.wire(bytes.Clone(wire))
			}
			b, err := a.Body(bytes.NewReader(wire))
			if err != nil {
				mustIs(t, err, m.want)
				return
			}
			got, err := io.ReadAll(b)
			mustIs(t, err, m.want)
			if len(got) > m.maxOut {
				t.Fatalf("returned %d bytes before failing, at most %d allowed", len(got), m.maxOut)
			}
			if !bytes.Equal(got, data[:len(got)]) {
				t.Fatal("returned bytes differ from the data")
			}
			// The failure is sticky.
			if _, err2 := b.Read(make([]byte, 10)); err2 != err {
				t.Fatalf("second read: %v", err2)
			}
		})
	}
	t.Run("seed signature", func(t *testing.T) {
		sr, _ := minioStream(t, formSigned, data, now)
		flipSig(sr)
		_, err := testVerifier(now).Verify(sr)
		mustIs(t, err, ErrSignatureMismatch)
	})
	t.Run("chain from another request", func(t *testing.T) {
		// Chunks from one upload must not verify under another's seed.
		sr1, _ := minioStream(t, formSigned, data, now)
		_, wire2 := minioStream(t, formSigned, data, now.Add(time.Second))
		a, err := testVerifier(now).Verify(sr1)
		mustIs(t, err, nil)
		_, _, err = readBody(t, a, bytes.NewReader(wire2))
		mustIs(t, err, ErrChunkSignatureMismatch)
	})
}

func flipHexAt(w []byte, i int) {
	if w[i] == '0' {
		w[i] = '1'
	} else {
		w[i] = '0'
	}
}

// TestTrailerLayouts checks the blank-line layouts different signers use
// around signed trailers, using the AWS documentation example.
func TestTrailerLayouts(t *testing.T) {
	sigs := [3]string{"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
		"1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
		"2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"}
	const trl = "x-amz-checksum-crc32c:sOO8/Q=="
	const sig = "x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
	tests := []struct {
		tail string
		want error
	}{
		{trl + "\r\n" + sig + "\r\n\r\n", nil},
		{"\r\n" + trl + "\r\n" + sig + "\r\n\r\n", nil},
		{trl + "\n\r\n" + sig + "\r\n\r\n", nil},
		{trl + "\r\n" + sig + "\r\n", nil},
		{trl + "\r\n" + sig, ErrMalformedChunk},
		{trl + "\r\n" + sig + "\r\n\r\nx", ErrMalformedChunk},
		{trl + "\r\n", ErrMalformedChunk},
		{"X-Amz-Checksum-Crc32c:sOO8/Q==\r\n" + sig + "\r\n\r\n", ErrChunkSignatureMismatch},
		{trl + " \r\n" + sig + "\r\n\r\n", ErrChunkSignatureMismatch},
		{trl + "\r\n" + trl + "\r\n" + sig + "\r\n\r\n", ErrMalformedChunk},
		{strings.Repeat("\r\n", 40) + trl + "\r\n" + sig + "\r\n\r\n", ErrMalformedChunk},
		{strings.Repeat("x", 5000) + "\r\n", ErrMalformedChunk},
	}
	for i, tc := range tests {
		body := docChunked(sigs, tc.tail)
		b := docTrailerBody(t, body)
		got, err := io.ReadAll(b)
		if !(tc.want == nil && err == nil) {
			if err == nil || tc.want == nil {
				t.Fatalf("case %d: err = %v, want %v", i, err, tc.want)
			}
			mustIs(t, err, tc.want)
			continue
		}
		if len(got) != 66560 || b.Trailer().Get("x-amz-checksum-crc32c") != "sOO8/Q==" {
			t.Fatalf("case %d: %d bytes, trailer %v", i, len(got), b.Trailer())
		}
	}
}

func docTrailerBody(t *testing.T, body []byte) *Body {
	t.Helper()
	r := newReq(t, "PUT", "/examplebucket/chunkObject.txt", "s3.amazonaws.com", nil)
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	r.Header.Set("X-Amz-Content-Sha256", StreamingPayloadTrailer)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
	r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
	r.Header.Set("Authorization", docAuthz("content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
		"106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"))
	a, err := docVerifier().Verify(r)
	mustIs(t, err, nil)
	b, err := a.Body(bytes.NewReader(body))
	mustIs(t, err, nil)
	return b
}
