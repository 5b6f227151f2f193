package sigv2

import (
	"net/http"
	"testing"

	"github.com/minio/minio-go/v7/pkg/signer"
)

func BenchmarkVerifyHeader(b *testing.B) {
	r := clientReq(b, "PUT", "127.0.0.1:9000", "bkt", "dir/some object.bin", "uploadId=abc&partNumber=2", false)
	r.Header.Set("Content-Type", "application/octet-stream")
	r.Header.Set("X-Amz-Meta-A", "alpha")
	r = signer.SignV2(*r, testAK, testSecret, false)
	v := &Verifier{Creds: newCreds(testAK, testSecret)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPresigned(b *testing.B) {
	r := clientReq(b, "GET", "127.0.0.1:9000", "bkt", "dir/some object.bin", "response-content-type=text%2Fplain", false)
	p := signer.PreSignV2(*r, testAK, testSecret, 3600, false)
	req, _ := http.NewRequest("GET", p.URL.String(), nil)
	v := &Verifier{Creds: newCreds(testAK, testSecret)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(req, ""); err != nil {
			b.Fatal(err)
		}
	}
}
