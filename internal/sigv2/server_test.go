package sigv2

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/tags"
)

const vhostDomain = "s3.coffer.test"

// seen is what the test server observed for one request.
type seen struct {
	method, uri string
	auth        *Auth
	err         error
}

// fakeS3 is a minimal S3 endpoint on 127.0.0.1 that authenticates every
// request with a Verifier before acting on it, so that a real client signs
// and net/http carries the requests on both sides. Hosts under vhostDomain
// address a bucket virtual-hosted style.
type fakeS3 struct {
	v       *Verifier
	mu      sync.Mutex
	log     []seen
	objects map[string][]byte // "bucket/key" -> content
	parts   map[string][]byte // uploadID + "/" + part number -> content
}

func newFakeS3(v *Verifier) *fakeS3 {
	return &fakeS3{v: v, objects: map[string][]byte{}, parts: map[string][]byte{}}
}

func (s *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	bucket := ""
	if b, ok := strings.CutSuffix(host, "."+vhostDomain); ok {
		bucket = b
	}
	a, err := s.v.Verify(r, bucket)
	s.mu.Lock()
	s.log = append(s.log, seen{method: r.Method, uri: r.RequestURI, auth: a, err: err})
	s.mu.Unlock()
	if err != nil {
		code := "AccessDenied"
		if errors.Is(err, ErrSignatureMismatch) {
			code = "SignatureDoesNotMatch"
		}
		writeXML(w, http.StatusForbidden, fmt.Sprintf("<Error><Code>%s</Code><Message>%s</Message></Error>", code, xmlText(err.Error())))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	full := strings.TrimPrefix(r.URL.Path, "/")
	if bucket != "" {
		full = bucket + "/" + full
	}
	bkt, key, _ := strings.Cut(full, "/")
	s.serve(w, r, bkt, key, body)
}

func (s *fakeS3) serve(w http.ResponseWriter, r *http.Request, bkt, key string, body []byte) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case key == "" && r.Method == "PUT":
		w.WriteHeader(http.StatusOK)
	case key == "" && r.Method == "POST" && q.Has("delete"):
		var req struct {
			Objects []struct{ Key string } `xml:"Object"`
		}
		if err := xml.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var out strings.Builder
		out.WriteString("<DeleteResult>")
		for _, o := range req.Objects {
			delete(s.objects, bkt+"/"+o.Key)
			fmt.Fprintf(&out, "<Deleted><Key>%s</Key></Deleted>", xmlText(o.Key))
		}
		out.WriteString("</DeleteResult>")
		writeXML(w, http.StatusOK, out.String())
	case key == "" && r.Method == "GET":
		var keys []string
		for k := range s.objects {
			if rest, ok := strings.CutPrefix(k, bkt+"/"); ok && strings.HasPrefix(rest, q.Get("prefix")) {
				keys = append(keys, rest)
			}
		}
		sort.Strings(keys)
		var out strings.Builder
		fmt.Fprintf(&out, "<ListBucketResult><Name>%s</Name><KeyCount>%d</KeyCount><IsTruncated>false</IsTruncated>", xmlText(bkt), len(keys))
		for _, k := range keys {
			fmt.Fprintf(&out, "<Contents><Key>%s</Key><Size>%d</Size><ETag>%s</ETag><LastModified>2024-01-01T00:00:00.000Z</LastModified></Contents>",
				xmlText(k), len(s.objects[bkt+"/"+k]), etag(s.objects[bkt+"/"+k]))
		}
		out.WriteString("</ListBucketResult>")
		writeXML(w, http.StatusOK, out.String())
	case q.Has("tagging") && r.Method == "PUT":
		w.WriteHeader(http.StatusOK)
	case q.Has("tagging") && r.Method == "GET":
		writeXML(w, http.StatusOK, "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>")
	case q.Has("uploads") && r.Method == "POST":
		writeXML(w, http.StatusOK, fmt.Sprintf("<InitiateMultipartUploadResult><Bucket>%s</Bucket><Key>%s</Key><UploadId>up-1</UploadId></InitiateMultipartUploadResult>", xmlText(bkt), xmlText(key)))
	case q.Has("uploadId") && r.Method == "PUT":
		s.parts[q.Get("uploadId")+"/"+q.Get("partNumber")] = body
		w.Header().Set("ETag", etag(body))
	case q.Has("uploadId") && r.Method == "POST":
		var all []byte
		for i := 1; ; i++ {
			p, ok := s.parts[fmt.Sprintf("%s/%d", q.Get("uploadId"), i)]
			if !ok {
				break
			}
			all = append(all, p...)
		}
		s.objects[bkt+"/"+key] = all
		writeXML(w, http.StatusOK, fmt.Sprintf("<CompleteMultipartUploadResult><Bucket>%s</Bucket><Key>%s</Key><ETag>%s</ETag></CompleteMultipartUploadResult>", xmlText(bkt), xmlText(key), etag(all)))
	case r.Method == "PUT":
		s.objects[bkt+"/"+key] = body
		w.Header().Set("ETag", etag(body))
	case r.Method == "GET" || r.Method == "HEAD":
		obj, ok := s.objects[bkt+"/"+key]
		if !ok {
			writeXML(w, http.StatusNotFound, "<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>")
			return
		}
		ct := q.Get("response-content-type")
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("ETag", etag(obj))
		w.Header().Set("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
		w.Header().Set("Content-Length", fmt.Sprint(len(obj)))
		if r.Method == "GET" {
			w.Write(obj)
		}
	case r.Method == "DELETE":
		delete(s.objects, bkt+"/"+key)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "unsupported", http.StatusNotImplemented)
	}
}

func (s *fakeS3) failures() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []seen
	for _, e := range s.log {
		if e.err != nil {
			out = append(out, e)
		}
	}
	return out
}

func (s *fakeS3) sawQuery(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.log {
		if e.err == nil && strings.Contains(e.uri, sub) {
			return true
		}
	}
	return false
}

func etag(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func xmlText(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func writeXML(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(code)
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+body)
}

// awkwardKeys need escaping, or look like paths, or are not ASCII.
var awkwardKeys = []string{
	"plain.txt",
	"dir/sub dir/file with spaces.txt",
	"unicode/żółć 日本語.txt",
	"sym/!$&'()*+,;=:@[]{}^`|\"<>.txt",
	"pct/100%25 and %2F.txt",
	"slashes//double/",
	"tilde~/hash#?.txt",
}

// newClient returns a minio-go client with V2 credentials for srv, using
// virtual-hosted style when vhost is set: the host is then
// "<bucket>.s3.coffer.test:port", dialled to the test server.
func newClient(t *testing.T, srv *httptest.Server, vhost bool, ak, secret string) (*minio.Client, *http.Transport) {
	t.Helper()
	addr := srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	endpoint, lookup := addr, minio.BucketLookupPath
	if vhost {
		endpoint, lookup = vhostDomain+":"+port, minio.BucketLookupDNS
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := minio.New(endpoint, &minio.Options{
		Creds:        credentials.NewStaticV2(ak, secret, ""),
		Region:       "us-east-1",
		BucketLookup: lookup,
		Transport:    tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, tr
}

// TestMinioClientV2 drives the verifier with minio-go configured for
// signature V2, path-style and virtual-hosted style: every request of every
// operation must verify.
func TestMinioClientV2(t *testing.T) {
	for _, vhost := range []bool{false, true} {
		t.Run(fmt.Sprintf("vhost=%v", vhost), func(t *testing.T) {
			fake := newFakeS3(&Verifier{Creds: newCreds(testAK, testSecret)})
			srv := httptest.NewServer(fake)
			defer srv.Close()
			c, tr := newClient(t, srv, vhost, testAK, testSecret)
			ctx := context.Background()
			const bucket = "bkt"
			if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
				t.Fatalf("MakeBucket: %v", err)
			}
			for _, key := range awkwardKeys {
				data := []byte("content of " + key)
				if _, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)),
					minio.PutObjectOptions{ContentType: "text/plain", UserMetadata: map[string]string{"Origin": "test value"}}); err != nil {
					t.Fatalf("PutObject %q: %v", key, err)
				}
				obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
				if err != nil {
					t.Fatalf("GetObject %q: %v", key, err)
				}
				got, err := io.ReadAll(obj)
				obj.Close()
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("GetObject %q = %q, %v", key, got, err)
				}
				if _, err := c.StatObject(ctx, bucket, key, minio.StatObjectOptions{}); err != nil {
					t.Fatalf("StatObject %q: %v", key, err)
				}
			}
			var listed []string
			for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
				if o.Err != nil {
					t.Fatalf("ListObjects: %v", o.Err)
				}
				listed = append(listed, o.Key)
			}
			if len(listed) != len(awkwardKeys) {
				t.Fatalf("listed %q", listed)
			}

			tg, _ := tags.NewTags(map[string]string{"k": "v"}, true)
			if err := c.PutObjectTagging(ctx, bucket, awkwardKeys[2], tg, minio.PutObjectTaggingOptions{}); err != nil {
				t.Fatalf("PutObjectTagging: %v", err)
			}
			if _, err := c.GetObjectTagging(ctx, bucket, awkwardKeys[2], minio.GetObjectTaggingOptions{}); err != nil {
				t.Fatalf("GetObjectTagging: %v", err)
			}

			core := minio.Core{Client: c}
			mkey := "multi part/ключ"
			id, err := core.NewMultipartUpload(ctx, bucket, mkey, minio.PutObjectOptions{})
			if err != nil {
				t.Fatalf("NewMultipartUpload: %v", err)
			}
			var parts []minio.CompletePart
			for i := 1; i <= 2; i++ {
				p := bytes.Repeat([]byte{byte('a' + i)}, 1000)
				op, err := core.PutObjectPart(ctx, bucket, mkey, id, i, bytes.NewReader(p), int64(len(p)), minio.PutObjectPartOptions{})
				if err != nil {
					t.Fatalf("PutObjectPart %d: %v", i, err)
				}
				parts = append(parts, minio.CompletePart{PartNumber: i, ETag: op.ETag})
			}
			if _, err := core.CompleteMultipartUpload(ctx, bucket, mkey, id, parts, minio.PutObjectOptions{}); err != nil {
				t.Fatalf("CompleteMultipartUpload: %v", err)
			}

			// Presigned GET with a signed response override, then PUT.
			u, err := c.PresignedGetObject(ctx, bucket, awkwardKeys[1], time.Hour, url.Values{"response-content-type": {"text/x-coffer; charset=utf-8"}})
			if err != nil {
				t.Fatal(err)
			}
			resp := do(t, tr, "GET", u, nil)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/x-coffer; charset=utf-8" {
				t.Fatalf("presigned GET: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			u, err = c.PresignedPutObject(ctx, bucket, awkwardKeys[3], time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if resp := do(t, tr, "PUT", u, strings.NewReader("replaced")); resp.StatusCode != 200 {
				t.Fatalf("presigned PUT: %d", resp.StatusCode)
			}

			ch := make(chan minio.ObjectInfo, len(awkwardKeys))
			for _, k := range awkwardKeys {
				ch <- minio.ObjectInfo{Key: k}
			}
			close(ch)
			for e := range c.RemoveObjects(ctx, bucket, ch, minio.RemoveObjectsOptions{}) {
				t.Fatalf("RemoveObjects: %v", e.Err)
			}
			if err := c.RemoveObject(ctx, bucket, mkey, minio.RemoveObjectOptions{}); err != nil {
				t.Fatalf("RemoveObject: %v", err)
			}

			if f := fake.failures(); len(f) > 0 {
				t.Fatalf("%d requests failed verification, first %s %s: %v", len(f), f[0].method, f[0].uri, f[0].err)
			}
			for _, sub := range []string{"?tagging", "?uploads", "uploadId=", "partNumber=", "?delete", "response-content-type=", "Signature="} {
				if !fake.sawQuery(sub) {
					t.Errorf("no verified request carried %q", sub)
				}
			}
		})
	}
}

// TestMinioClientWrongSecret: the same client with a wrong secret is refused
// with SignatureDoesNotMatch, and an unknown key with InvalidAccessKeyId
// semantics.
func TestMinioClientWrongSecret(t *testing.T) {
	fake := newFakeS3(&Verifier{Creds: newCreds(testAK, testSecret)})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ctx := context.Background()
	c, _ := newClient(t, srv, false, testAK, testSecret+"x")
	if _, err := c.PutObject(ctx, "bkt", "k", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err == nil {
		t.Fatal("PutObject with a wrong secret succeeded")
	}
	c, _ = newClient(t, srv, true, "NOSUCHKEY", testSecret)
	if _, err := c.PutObject(ctx, "bkt", "k", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err == nil {
		t.Fatal("PutObject with an unknown key succeeded")
	}
	f := fake.failures()
	if len(f) < 2 || !errors.Is(f[0].err, ErrSignatureMismatch) || !errors.Is(f[len(f)-1].err, ErrUnknownAccessKey) {
		t.Fatalf("failures = %+v", f)
	}
	if fake.objects["bkt/k"] != nil {
		t.Fatal("object stored despite failed verification")
	}
}

func do(t *testing.T, tr *http.Transport, method string, u *url.URL, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u.String(), body)
	if err != nil {
		t.Fatal(err)
	}
	// The client's transport dials the test server whatever the host.
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
