package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkVerifyHeader measures Verify on a typical SDK-signed GET with a
// query and a few signed headers (signing key cached after the first call).
func BenchmarkVerifyHeader(b *testing.B) {
	now := time.Now().UTC().Truncate(time.Second)
	u := s3URL(b, "127.0.0.1:9000", "photos/2024/holiday picture.jpg", [][2]string{{"versionId", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"}})
	hdr := http.Header{"Range": {"bytes=0-1023"}, "X-Amz-Meta-Note": {"x"}}
	r := serverSide(b, sdkSign(b, "GET", u, nil, hdr, now))
	v := testVerifier(now)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyHeaderParallel shows the key cache under concurrent use.
func BenchmarkVerifyHeaderParallel(b *testing.B) {
	now := time.Now().UTC().Truncate(time.Second)
	u := s3URL(b, "127.0.0.1:9000", "k", nil)
	r := serverSide(b, sdkSign(b, "GET", u, nil, nil, now))
	v := testVerifier(now)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchDecode reads a whole body of form with buffers of bufSize bytes and
// reports decoded MiB/s.
func benchDecode(b *testing.B, form streamForm, bufSize int) {
	now := time.Now().UTC().Truncate(time.Second)
	data := randBytes(16<<20, 1)
	sr, wire := minioStream(b, form, data, now)
	a, err := testVerifier(now).Verify(sr)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, bufSize)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		body, err := a.Body(bytes.NewReader(wire))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			m, err := body.Read(buf)
			n += m
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if n != len(data) {
			b.Fatalf("decoded %d", n)
		}
	}
}

func BenchmarkDecodeSigned32K(b *testing.B)         { benchDecode(b, formSigned, 32<<10) }
func BenchmarkDecodeSigned1M(b *testing.B)          { benchDecode(b, formSigned, 1<<20) }
func BenchmarkDecodeSignedTrailer1M(b *testing.B)   { benchDecode(b, formSignedTrailer, 1<<20) }
func BenchmarkDecodeUnsignedTrailer1M(b *testing.B) { benchDecode(b, formUnsignedTrailer, 1<<20) }

// BenchmarkDecodeHash is the hex x-amz-content-sha256 path, for comparison.
func BenchmarkDecodeHash1M(b *testing.B) {
	data := randBytes(16<<20, 2)
	a := &Auth{PayloadHash: sha256Hex(data)}
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		body, err := a.Body(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := body.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
