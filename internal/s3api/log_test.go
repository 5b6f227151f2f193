package s3api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/s3api"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRequestLogAttributes: every request's log line carries the request
// id, principal, bucket and key, and the secret never appears.
func TestRequestLogAttributes(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := newServer(t, func(c *s3api.Config, _ *object.Options) { c.Logger = log })
	c := ts.sdk(t)
	x := ctx(t)
	mustCreateBucket(t, c, "logged")
	_, err := c.PutObject(x, &s3.PutObjectInput{Bucket: aws.String("logged"), Key: aws.String("dir/k"), Body: strings.NewReader("v")})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] != "s3 request" || m["method"] != "PUT" || m["key"] != "dir/k" {
			continue
		}
		found = true
		if m["bucket"] != "logged" || m["principal"] != rootKey || m["request_id"] == "" || m["request_id"] == nil || m["status"] != float64(200) {
			t.Errorf("request log line lacks attributes: %s", line)
		}
	}
	if !found {
		t.Errorf("no request log line for the PUT in:\n%s", buf.String())
	}
	if strings.Contains(buf.String(), rootSecret) {
		t.Error("the secret key appears in the log")
	}
}
