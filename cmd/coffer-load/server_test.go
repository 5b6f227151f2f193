package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testAccess = "AKTESTLOAD"
	testSecret = "secret/with+chars"
)

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([a-z0-9-]+)/s3/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

// awsEscape is the RFC 3986 encoding SigV4 uses for query strings.
func awsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func hmacSHA256(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

// verifySigV4 checks a request's header signature from scratch, written
// from the AWS specification rather than with the signer under test.
func verifySigV4(r *http.Request, region string) error {
	m := authRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return fmt.Errorf("malformed Authorization %q", r.Header.Get("Authorization"))
	}
	access, date, reg, signed, sig := m[1], m[2], m[3], strings.Split(m[4], ";"), m[5]
	if access != testAccess || reg != region {
		return fmt.Errorf("credential %s/%s", access, reg)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if t, err := time.Parse("20060102T150405Z", amzDate); err != nil || amzDate[:8] != date || time.Since(t).Abs() > 5*time.Minute {
		return fmt.Errorf("X-Amz-Date %q", amzDate)
	}
	if got := r.Header.Get("X-Amz-Content-Sha256"); got != "UNSIGNED-PAYLOAD" {
		return fmt.Errorf("X-Amz-Content-Sha256 %q", got)
	}
	if !slices.IsSorted(signed) {
		return fmt.Errorf("signed headers not sorted: %v", signed)
	}
	for _, need := range []string{"host", "x-amz-content-sha256", "x-amz-date"} {
		if !slices.Contains(signed, need) {
			return fmt.Errorf("%s not signed", need)
		}
	}
	var canon strings.Builder
	canon.WriteString(r.Method + "\n" + r.URL.EscapedPath() + "\n")
	q := r.URL.Query()
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, awsEscape(k)+"="+awsEscape(v))
		}
	}
	slices.Sort(pairs)
	canon.WriteString(strings.Join(pairs, "&") + "\n")
	for _, h := range signed {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			v = strings.Join(strings.Fields(r.Header.Get(h)), " ")
		}
		canon.WriteString(h + ":" + v + "\n")
	}
	canon.WriteString("\n" + strings.Join(signed, ";") + "\nUNSIGNED-PAYLOAD")
	sum := sha256.Sum256([]byte(canon.String()))
	scope := date + "/" + region + "/s3/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	k := hmacSHA256([]byte("AWS4"+testSecret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, "s3")
	k = hmacSHA256(k, "aws4_request")
	if want := hex.EncodeToString(hmacSHA256(k, toSign)); want != sig {
		return fmt.Errorf("signature mismatch for canonical request:\n%s", canon.String())
	}
	return nil
}

// recorder is the HTTP endpoint the tool talks to in tests. It verifies
// every request's signature and shape, and answers only what the tool
// needs to run: object bodies of the stored length and list pages.
type recorder struct {
	t      *testing.T
	region string
	bucket string

	mu       sync.Mutex
	created  bool
	objects  map[string]int64
	puts     int
	gets     int
	lists    int
	badBody  int
	failKeys string // PUTs of keys containing it get a 500
}

func (s *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := verifySigV4(r, s.region); err != nil {
		s.t.Errorf("%s %s: %v", r.Method, r.URL, err)
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "<Error><Code>SignatureDoesNotMatch</Code></Error>")
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket != s.bucket {
		s.t.Errorf("request for bucket %q", bucket)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodHead && key == "":
		if !s.created {
			w.WriteHeader(http.StatusNotFound)
		}
	case r.Method == http.MethodPut && key == "":
		s.created = true
	case r.Method == http.MethodPut:
		if r.ContentLength < 0 || len(r.TransferEncoding) > 0 {
			s.t.Errorf("PUT %s without Content-Length", key)
		}
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil || n != r.ContentLength {
			s.badBody++
		}
		if s.failKeys != "" && strings.Contains(key, s.failKeys) {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "<Error><Code>InternalError</Code></Error>")
			return
		}
		s.objects[key] = n
		s.puts++
	case r.Method == http.MethodGet && key == "" && r.URL.Query().Get("list-type") == "2":
		s.lists++
		s.list(w, r.URL.Query())
	case r.Method == http.MethodGet:
		n, ok := s.objects[key]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		s.gets++
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		io.Copy(w, io.LimitReader(zeros{}, n))
	default:
		s.t.Errorf("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotImplemented)
	}
}

func (s *recorder) list(w http.ResponseWriter, q url.Values) {
	prefix, after := q.Get("prefix"), q.Get("continuation-token")
	maxKeys, err := strconv.Atoi(q.Get("max-keys"))
	if err != nil || maxKeys < 1 {
		s.t.Errorf("max-keys %q", q.Get("max-keys"))
		maxKeys = 1000
	}
	// Small pages make the client follow continuation tokens.
	maxKeys = min(maxKeys, 300)
	var keys []string
	for k := range s.objects {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	truncated := len(keys) > maxKeys
	token := ""
	if truncated {
		keys = keys[:maxKeys]
		token = keys[len(keys)-1]
	}
	var b bytes.Buffer
	b.WriteString(`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	fmt.Fprintf(&b, "<IsTruncated>%v</IsTruncated>", truncated)
	if truncated {
		fmt.Fprintf(&b, "<NextContinuationToken>%s</NextContinuationToken>", token)
	}
	for _, k := range keys {
		fmt.Fprintf(&b, "<Contents><Key>%s</Key><Size>%d</Size></Contents>", k, s.objects[k])
	}
	b.WriteString("</ListBucketResult>")
	w.Write(b.Bytes())
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func startRecorder(t *testing.T, region string) (*recorder, *httptest.Server) {
	rec := &recorder{t: t, region: region, bucket: "loadtest", objects: map[string]int64{}}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server at %s, not loopback", srv.URL)
	}
	return rec, srv
}

func runTool(t *testing.T, args ...string) (Result, int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := env(map[string]string{"AWS_ACCESS_KEY_ID": testAccess, "AWS_SECRET_ACCESS_KEY": testSecret})
	code := run(context.Background(), append([]string{"-json", "-bucket", "loadtest"}, args...), env, &out, &errOut)
	var res Result
	if code != 2 && out.Len() > 0 {
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("result JSON: %v\n%s", err, out.String())
		}
	}
	return res, code, errOut.String()
}

func TestPutAgainstServer(t *testing.T) {
	rec, srv := startRecorder(t, "us-east-1")
	const size = 300<<10 + 7
	res, code, stderr := runTool(t, "-endpoint", srv.URL, "-op", "put", "-size", strconv.Itoa(size),
		"-concurrency", "4", "-count", "40", "-duration", "1m", "-prefix", "weird prefix+é/")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if res.Ops != 40 || res.Errors != 0 || rec.puts != 40 || rec.badBody != 0 || !rec.created {
		t.Fatalf("result %+v; server saw %d puts, %d bad bodies, bucket created %v", res, rec.puts, rec.badBody, rec.created)
	}
	for k, n := range rec.objects {
		if !strings.HasPrefix(k, "weird prefix+é/put/") || n != size {
			t.Errorf("object %q of %d bytes", k, n)
		}
	}
	if res.MiBPerSec <= 0 || res.Latency.Max <= 0 || res.Latency.P50 > res.Latency.Max {
		t.Errorf("rates: %+v", res.OpResult)
	}
}

func TestGetAgainstServer(t *testing.T) {
	rec, srv := startRecorder(t, "eu-central-1")
	res, code, stderr := runTool(t, "-endpoint", srv.URL, "-region", "eu-central-1", "-op", "get", "-size", "64KiB",
		"-objects", "7", "-concurrency", "3", "-count", "30")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if rec.puts != 7 || rec.gets != 30 || res.Ops != 30 || res.Errors != 0 {
		t.Fatalf("server: %d puts, %d gets; result %+v", rec.puts, rec.gets, res)
	}
	if want := 30.0 * 64 / 1024 / res.ElapsedSec; fmt.Sprintf("%.3f", res.MiBPerSec) != fmt.Sprintf("%.3f", want) {
		t.Errorf("MiB/s %v, want %v", res.MiBPerSec, want)
	}
	// A second run finds the objects in place and does not upload them again.
	if _, code, stderr := runTool(t, "-endpoint", srv.URL, "-region", "eu-central-1", "-op", "get", "-size", "64KiB",
		"-objects", "7", "-count", "5"); code != 0 || rec.puts != 7 {
		t.Fatalf("second run: exit %d, %d puts: %s", code, rec.puts, stderr)
	}
}

func TestListAgainstServer(t *testing.T) {
	rec, srv := startRecorder(t, "us-east-1")
	res, code, stderr := runTool(t, "-endpoint", srv.URL, "-op", "list", "-objects", "1000", "-concurrency", "2", "-count", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if res.Ops != 3 || res.Keys != 3000 || res.KeysPerSec <= 0 {
		t.Fatalf("result %+v", res)
	}
	// One page while preparing (the prefix was empty) plus three timed
	// listings of four pages each.
	if rec.lists != 13 {
		t.Fatalf("server saw %d list requests, want 13", rec.lists)
	}
}

func TestMixedAgainstServer(t *testing.T) {
	rec, srv := startRecorder(t, "us-east-1")
	res, code, stderr := runTool(t, "-endpoint", srv.URL, "-op", "mixed", "-objects", "5", "-count", "100", "-concurrency", "5")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	get, put := res.ByOp["get"], res.ByOp["put"]
	if res.Ops != 100 || get.Ops != 70 || put.Ops != 30 || rec.gets != 70 || rec.puts != 35 {
		t.Fatalf("result %+v; server %d gets, %d puts", res, rec.gets, rec.puts)
	}
}

func TestErrorsAreCounted(t *testing.T) {
	rec, srv := startRecorder(t, "us-east-1")
	rec.failKeys = "/put/"
	res, code, _ := runTool(t, "-endpoint", srv.URL, "-op", "put", "-count", "10", "-concurrency", "2")
	if code != 1 || res.Errors != 10 || res.Ops != 0 {
		t.Fatalf("exit %d, result %+v", code, res)
	}
	if len(res.ErrorSamples) == 0 || !strings.Contains(res.ErrorSamples[0], "500 InternalError") {
		t.Fatalf("error samples %q", res.ErrorSamples)
	}
}

// With only -duration the run stops by itself (a hang fails the test by
// the test binary's timeout).
func TestDurationBound(t *testing.T) {
	_, srv := startRecorder(t, "us-east-1")
	res, code, stderr := runTool(t, "-endpoint", srv.URL, "-op", "put", "-size", "1KiB", "-duration", "300ms", "-concurrency", "2")
	if code != 0 || res.Ops == 0 {
		t.Fatalf("exit %d, result %+v: %s", code, res, stderr)
	}
}

func TestRefusesRemote(t *testing.T) {
	_, code, stderr := runTool(t, "-endpoint", "http://192.0.2.1:9000", "-count", "1")
	if code != 2 || !strings.Contains(stderr, "loopback") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
