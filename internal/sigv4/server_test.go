package sigv4

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// observed is what the test server saw for one request.
type observed struct {
	method, path string
	auth         *Auth
	body         []byte
	trailer      http.Header
	err          error
}

// s3Stub is a minimal S3 endpoint on 127.0.0.1 that authenticates every
// request with a Verifier and reads the body through Auth.Body, so that real
// clients exercise the verifier through net/http on both sides.
type s3Stub struct {
	v       *Verifier
	mu      sync.Mutex
	seen    []observed
	objects map[string][]byte
}

func (s *s3Stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o := observed{method: r.Method, path: r.URL.Path}
	o.auth, o.err = s.v.Verify(r)
	if o.err == nil {
		var b *Body
		if b, o.err = o.auth.Body(r.Body); o.err == nil {
			o.body, o.err = io.ReadAll(b)
			o.trailer = b.Trailer()
		}
	}
	s.mu.Lock()
	s.seen = append(s.seen, o)
	if o.err == nil && r.Method == "PUT" {
		s.objects[r.URL.Path] = o.body
	}
	obj, found := s.objects[r.URL.Path]
	s.mu.Unlock()
	if o.err != nil {
		code := "AccessDenied"
		if errors.Is(o.err, ErrSignatureMismatch) {
			code = "SignatureDoesNotMatch"
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>denied</Message></Error>`, code)
		return
	}
	switch {
	case r.Method == "PUT":
		sum := md5.Sum(o.body)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	case r.Method == "GET" && r.URL.Query().Has("list-type"):
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`)
	case r.Method == "GET" && found:
		w.Header().Set("Content-Length", fmt.Sprint(len(obj)))
		w.Write(obj)
	case r.Method == "GET":
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>no</Message></Error>`)
	}
}

func (s *s3Stub) take() []observed {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.seen
	s.seen = nil
	return out
}

func newStub(t *testing.T, tls bool) (*s3Stub, *httptest.Server) {
	stub := &s3Stub{v: &Verifier{Creds: newCreds(testAK, testSecret), Region: testRegion}, objects: map[string][]byte{}}
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(stub)
	} else {
		srv = httptest.NewServer(stub)
	}
	t.Cleanup(srv.Close)
	return stub, srv
}

func sdkClient(srv *httptest.Server, secret string, calc aws.RequestChecksumCalculation) *s3.Client {
	return s3.New(s3.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: testAK, SecretAccessKey: secret}, nil
		}),
		HTTPClient:                 srv.Client(),
		RequestChecksumCalculation: calc,
		RetryMaxAttempts:           1,
	})
}

// TestAWSSDKClientOverHTTP drives the real aws-sdk-go-v2 S3 client against
// the verifier: plain HTTP (hex payload hashes) and TLS (aws-chunked with an
// unsigned trailer carrying the CRC32 checksum), both checksum modes.
func TestAWSSDKClientOverHTTP(t *testing.T) {
	for _, tls := range []bool{false, true} {
		for _, calc := range []aws.RequestChecksumCalculation{aws.RequestChecksumCalculationWhenSupported, aws.RequestChecksumCalculationWhenRequired} {
			t.Run(fmt.Sprintf("tls=%v/calc=%d", tls, calc), func(t *testing.T) {
				stub, srv := newStub(t, tls)
				c := sdkClient(srv, testSecret, calc)
				ctx := context.Background()
				forms := map[string]bool{}
				for i, key := range trickyKeys {
					data := randBytes(1000*i+200*1024*(i%2), uint64(i))
					// An io.Reader that is not seekable makes the SDK stream.
					var body io.Reader = bytes.NewReader(data)
					if tls {
						body = io.MultiReader(bytes.NewReader(data))
					}
					_, err := c.PutObject(ctx, &s3.PutObjectInput{
						Bucket: aws.String("bucket"), Key: aws.String(key), Body: body,
						ContentLength: aws.Int64(int64(len(data))), Metadata: map[string]string{"note": "a  b"},
					})
					if err != nil {
						t.Fatalf("put %q: %v", key, err)
					}
					got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key),
						ResponseContentType: aws.String("text/plain; x=a+b"), Range: aws.String("bytes=0-")})
					if err != nil {
						t.Fatalf("get %q: %v", key, err)
					}
					back, err := io.ReadAll(got.Body)
					got.Body.Close()
					if err != nil || !bytes.Equal(back, data) {
						t.Fatalf("get %q: %d bytes, err %v", key, len(back), err)
					}
					_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bucket"), Prefix: aws.String(key), Delimiter: aws.String("/"), StartAfter: aws.String("a b+c")})
					if err != nil {
						t.Fatalf("list %q: %v", key, err)
					}
					for _, o := range stub.take() {
						if o.err != nil {
							t.Fatalf("%s %s: %v", o.method, o.path, o.err)
						}
						if o.method == "PUT" {
							form := o.auth.PayloadHash
							if isHex(form, 64) {
								form = "sha256"
							}
							forms[form] = true
							if !bytes.Equal(o.body, data) {
								t.Fatalf("put %q stored %d bytes", key, len(o.body))
							}
							if o.auth.PayloadHash == StreamingUnsignedTrailer {
								if v := o.trailer.Get("X-Amz-Checksum-Crc32"); v != crc32b64(data) {
									t.Fatalf("trailer %v", o.trailer)
								}
							}
						}
					}
				}
				t.Logf("payload forms seen: %v", forms)
				if tls && calc == aws.RequestChecksumCalculationWhenSupported && !forms[StreamingUnsignedTrailer] {
					t.Fatalf("expected the SDK to stream with an unsigned trailer over TLS, saw %v", forms)
				}

				// A client with the wrong secret is refused with SignatureDoesNotMatch.
				_, err := sdkClient(srv, "wrong", calc).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String("k")})
				if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
					t.Fatalf("wrong secret: %v", err)
				}
				for _, o := range stub.take() {
					mustIs(t, o.err, ErrSignatureMismatch)
				}
			})
		}
	}
}

// TestMinioClient drives the real minio-go client: over HTTP it uploads with
// signed aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, and the
// -TRAILER form when a checksum is requested), and presigns URLs.
func TestMinioClient(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			stub, srv := newStub(t, tls)
			c, err := minio.New(strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://"), &minio.Options{
				Creds: credentials.NewStaticV4(testAK, testSecret, ""), Secure: tls, Region: testRegion,
				Transport: srv.Client().Transport, BucketLookup: minio.BucketLookupPath, TrailingHeaders: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			forms := map[string]bool{}
			for i, key := range trickyKeys {
				data := randBytes(70000*(i%3)+i, uint64(i)+100)
				opts := minio.PutObjectOptions{UserMetadata: map[string]string{"note": "x"}}
				if i%2 == 1 {
					opts.Checksum = minio.ChecksumCRC32C
				}
				if _, err := c.PutObject(ctx, "bucket", key, bytes.NewReader(data), int64(len(data)), opts); err != nil {
					t.Fatalf("put %q: %v", key, err)
				}
				u, err := c.PresignedGetObject(ctx, "bucket", key, time.Hour, map[string][]string{"response-content-type": {"a+b c"}})
				if err != nil {
					t.Fatal(err)
				}
				resp, err := srv.Client().Get(u.String())
				if err != nil {
					t.Fatal(err)
				}
				back, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Equal(back, data) {
					t.Fatalf("presigned get %q: %d, %d bytes", key, resp.StatusCode, len(back))
				}
				for _, o := range stub.take() {
					if o.err != nil {
						t.Fatalf("%s %s: %v", o.method, o.path, o.err)
					}
					if o.method == "PUT" {
						forms[o.auth.PayloadHash] = true
						if !bytes.Equal(o.body, data) {
							t.Fatalf("put %q stored %d bytes", key, len(o.body))
						}
						if len(o.trailer) > 0 && o.trailer.Get("X-Amz-Checksum-Crc32c") == "" {
							t.Fatalf("trailer %v", o.trailer)
						}
					} else if !o.auth.Presigned {
						t.Fatalf("get not presigned: %+v", o.auth)
					}
				}
			}
			t.Logf("payload forms seen: %v", forms)
			if !tls && (!forms[StreamingPayload] || !forms[StreamingPayloadTrailer]) {
				t.Fatalf("expected both signed streaming forms over HTTP, saw %v", forms)
			}
		})
	}
}
