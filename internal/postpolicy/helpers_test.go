package postpolicy

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"sync"
	"testing"
)

const (
	testAK     = "COFFERPOSTKEY"
	testSecret = "post/secret+value="
)

var errBackend = errors.New("credential store unavailable")

// mapCreds is a Credentials backed by a map.
type mapCreds struct {
	mu      sync.Mutex
	keys    map[string]string
	lookups int
	fail    error
}

func newCreds(kv ...string) *mapCreds {
	c := &mapCreds{keys: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		c.keys[kv[i]] = kv[i+1]
	}
	return c
}

func (c *mapCreds) SecretKey(_ context.Context, ak string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lookups++
	if c.fail != nil {
		return "", c.fail
	}
	s, ok := c.keys[ak]
	if !ok {
		return "", fmt.Errorf("no such key %q", ak)
	}
	return s, nil
}

func mustIs(t testing.TB, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

// field is one form field in order.
type field struct{ name, value string }

// formSpec describes a multipart form: fields, then optionally the file,
// then fields after the file.
type formSpec struct {
	before   []field
	noFile   bool
	fileName string
	fileType string
	file     []byte
	after    []field
}

// build encodes the form with mime/multipart's writer.
func (f formSpec) build(t testing.TB) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	write := func(fs []field) {
		for _, x := range fs {
			if err := w.WriteField(x.name, x.value); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(f.before)
	if !f.noFile {
		h := textproto.MIMEHeader{}
		cd := `form-data; name="file"`
		if f.fileName != "" {
			cd += fmt.Sprintf(`; filename=%q`, f.fileName)
		}
		h.Set("Content-Disposition", cd)
		if f.fileType != "" {
			h.Set("Content-Type", f.fileType)
		}
		p, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		p.Write(f.file)
	}
	write(f.after)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, w.Boundary()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// readFile reads a form's file to the end.
func readFile(t testing.TB, f *Form) []byte {
	t.Helper()
	b, err := io.ReadAll(f.File)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
