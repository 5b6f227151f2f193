package postpolicy

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

func TestParseForm(t *testing.T) {
	spec := formSpec{
		before: []field{{"Key", "user/${filename}"}, {"AWSAccessKeyId", "AK"}, {"Content-Type", "image/png"},
			{"x-amz-meta-Tag", "Mixed Case Value"}, {"empty", ""}},
		fileName: "dir/photo.png", fileType: "image/png",
		file:  []byte("\x89PNG\r\n--not a boundary\r\n\x00\xff"),
		after: []field{{"submit", "Upload"}, {"acl", "public-read"}},
	}
	body, boundary := spec.build(t)
	f, err := ParseForm(body, boundary, 0)
	mustIs(t, err, nil)
	want := map[string]string{"key": "user/${filename}", "awsaccesskeyid": "AK", "content-type": "image/png",
		"x-amz-meta-tag": "Mixed Case Value", "empty": ""}
	if fmt.Sprint(f.Fields) != fmt.Sprint(want) {
		t.Fatalf("fields = %v, want %v", f.Fields, want)
	}
	if f.FileName != "photo.png" || f.FileContentType != "image/png" {
		t.Fatalf("file name %q, type %q", f.FileName, f.FileContentType)
	}
	if got := readFile(t, f); !bytes.Equal(got, spec.file) {
		t.Fatalf("file = %q", got)
	}
	if got := ExpandKey(f.Fields["key"], f.FileName); got != "user/photo.png" {
		t.Fatalf("ExpandKey = %q", got)
	}
}

func TestParseFormRawPart(t *testing.T) {
	// A Content-Transfer-Encoding must not change the stored bytes.
	boundary := "XyZ"
	body := "--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"FILE\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db\r\n--XyZ--\r\n"
	f, err := ParseForm(strings.NewReader(body), boundary, 0)
	mustIs(t, err, nil)
	if got := readFile(t, f); string(got) != "a=3Db" {
		t.Fatalf("file = %q", got)
	}
	if f.FileName != "" {
		t.Fatalf("file name %q", f.FileName)
	}
}

func TestParseFormErrors(t *testing.T) {
	big := strings.Repeat("x", MaxFieldSize)
	cases := []struct {
		name      string
		spec      formSpec
		raw       string
		maxFields int64
		want      error
	}{
		{name: "no file", spec: formSpec{before: []field{{"key", "k"}}, noFile: true, after: []field{{"a", "b"}}}, want: ErrNoFile},
		{name: "duplicate field", spec: formSpec{before: []field{{"key", "a"}, {"KEY", "b"}}}, want: ErrMalformed},
		{name: "field at the limit", spec: formSpec{before: []field{{"x-amz-meta-a", big}}}, want: nil},
		{name: "field over the limit", spec: formSpec{before: []field{{"x-amz-meta-a", big + "x"}}}, want: ErrFieldsTooLarge},
		{name: "total over the limit", spec: formSpec{before: []field{{"a", big[:400]}, {"b", big[:400]}, {"c", big[:400]}}}, maxFields: 1000, want: ErrFieldsTooLarge},
		{name: "total at the limit", spec: formSpec{before: []field{{"a", big[:499]}, {"b", big[:499]}}}, maxFields: 1000, want: nil},
		{name: "too many fields", spec: formSpec{before: manyFields(maxFieldCount + 1)}, want: ErrFieldsTooLarge},
		{name: "huge part headers", raw: "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n" +
			strings.Repeat("X-Pad: "+strings.Repeat("p", 1000)+"\r\n", 400) + "\r\nv\r\n--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--B--\r\n",
			maxFields: 1000, want: ErrFieldsTooLarge},
		{name: "part without name", raw: "--B\r\nContent-Disposition: form-data\r\n\r\nv\r\n--B--\r\n", want: ErrMalformed},
		{name: "not form-data", raw: "--B\r\nContent-Disposition: attachment; name=\"file\"\r\n\r\nv\r\n--B--\r\n", want: ErrMalformed},
		{name: "garbage", raw: "this is not multipart", want: ErrMalformed},
		{name: "ends in a field", raw: "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue", want: ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			boundary := "B"
			if c.raw != "" {
				body = strings.NewReader(c.raw)
			} else {
				body, boundary = c.spec.build(t)
			}
			f, err := ParseForm(body, boundary, c.maxFields)
			mustIs(t, err, c.want)
			if c.want != nil {
				if f != nil || !errors.Is(err, ErrMalformed) {
					t.Fatalf("form %v, err %v", f, err)
				}
			}
		})
	}
	if _, err := ParseForm(strings.NewReader(""), "", 0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty boundary: %v", err)
	}
}

func manyFields(n int) []field {
	fs := make([]field, n)
	for i := range fs {
		fs[i] = field{fmt.Sprintf("f%d", i), ""}
	}
	return fs
}

// A body cut inside the file part is an error, not a short object.
func TestParseFormTruncatedFile(t *testing.T) {
	body, boundary := formSpec{before: []field{{"key", "k"}}, file: bytes.Repeat([]byte("z"), 10000)}.build(t)
	cut := body.Bytes()[:body.Len()-len(boundary)-20]
	f, err := ParseForm(bytes.NewReader(cut), boundary, 0)
	mustIs(t, err, nil)
	_, err = io.ReadAll(f.File)
	mustIs(t, err, ErrMalformed)
	mustIs(t, err, io.ErrUnexpectedEOF)
}

// patternReader yields n bytes of a fixed pattern without allocating.
type patternReader struct{ n, off int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	for i := range b {
		b[i] = byte('a' + (p.off+int64(i))%23)
	}
	p.n -= int64(len(b))
	p.off += int64(len(b))
	return len(b), nil
}

// TestParseFormStreams reads a 50 MiB file through ParseForm and checks that
// it was streamed: total allocation stays a small fraction of the file.
func TestParseFormStreams(t *testing.T) {
	const size = 50 << 20
	head := "--BOUND\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nbig\r\n" +
		"--BOUND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n"
	tail := "\r\n--BOUND--\r\n"
	want := sha256.New()
	io.Copy(want, &patternReader{n: size})

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	body := io.MultiReader(strings.NewReader(head), &patternReader{n: size}, strings.NewReader(tail))
	f, err := ParseForm(body, "BOUND", 0)
	mustIs(t, err, nil)
	got := sha256.New()
	n, err := io.CopyBuffer(got, f.File, make([]byte, 64<<10))
	mustIs(t, err, nil)
	runtime.ReadMemStats(&after)
	if n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("read %d bytes, hash mismatch %v", n, !bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Fatalf("allocated %d bytes to stream a %d-byte file", alloc, size)
	}
}
