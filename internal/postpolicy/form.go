// Package postpolicy implements browser form uploads (S3 POST Object): it
// reads the multipart/form-data body up to the file, parses and checks the
// POST policy document, and verifies the form's Signature Version 4 or
// Version 2 signature over that policy.
//
// The package is pure: it imports only the standard library, never logs, and
// never puts a secret key into an error. Every failure wraps one of the
// exported sentinel errors so that the S3 layer can map it with errors.Is.
//
// A caller handles a POST in this order: ParseForm; set Fields["bucket"] to
// the bucket the request addresses; VerifySignature; ParsePolicy on
// Fields["policy"]; expand ${filename} in Fields["key"] with ExpandKey;
// Policy.Check; then stream Form.File into the object, enforcing
// Policy.LengthRange while it reads.
package postpolicy

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"strings"
)

// Sentinel errors of form parsing. ErrNoFile and ErrFieldsTooLarge also wrap
// ErrMalformed, so a caller that maps only ErrMalformed still answers 400.
var (
	// ErrMalformed: the body is not a usable multipart/form-data form
	// (MalformedPOSTRequest).
	ErrMalformed = errors.New("malformed POST form")
	// ErrNoFile: the form ended without a "file" field (InvalidArgument:
	// POST requires exactly one file upload per request).
	ErrNoFile = fmt.Errorf("form has no file field: %w", ErrMalformed)
	// ErrFieldsTooLarge: a field before the file is over 20 KiB, or all of
	// them together are over the limit given to ParseForm
	// (MaxPostPreDataLengthExceeded).
	ErrFieldsTooLarge = fmt.Errorf("form fields before the file are too large: %w", ErrMalformed)
)

const (
	// MaxFieldSize bounds the value of one form field.
	MaxFieldSize = 20 << 10
	// DefaultMaxFields bounds the names and values of all fields together
	// when ParseForm is given no limit.
	DefaultMaxFields = 1 << 20
	// maxFieldCount bounds the number of fields, so that empty fields with
	// short names cannot make the parser spin through a huge body.
	maxFieldCount = 1000
	// headerSlack is the raw-byte allowance, beyond the field limit, for
	// boundaries and part headers before the file part starts.
	headerSlack = 256 << 10
)

// Form is a parsed POST form up to and including the start of the file.
type Form struct {
	// Fields holds the fields that precede the file, names lower-cased
	// (S3 matches them case-insensitively), values as sent. Fields after
	// the file are ignored, as S3 does.
	Fields map[string]string
	// File streams the content of the file field straight from the body
	// given to ParseForm; nothing is buffered beyond the multipart reader's
	// own small buffer. It returns io.EOF at the end of the file part, and
	// an error wrapping ErrMalformed if the body ends first. It is valid
	// only while that body is.
	File io.Reader
	// FileName is the filename parameter of the file part (its base name),
	// "" when absent. It is what ${filename} in the key stands for.
	FileName string
	// FileContentType is the Content-Type header of the file part, if any.
	// S3 takes the object's type from the Content-Type field instead.
	FileContentType string
}

// ParseForm reads a multipart/form-data body with the given boundary up to
// the field named "file" and returns the fields before it and a streaming
// reader for the file's content. maxFields bounds the total size of field
// names and values (<= 0 means DefaultMaxFields); each value is further
// bounded by MaxFieldSize. A field given twice, a part without a name, a
// body that ends before the file and a malformed body are errors wrapping
// ErrMalformed.
func ParseForm(r io.Reader, boundary string, maxFields int64) (*Form, error) {
	if boundary == "" {
		return nil, fmt.Errorf("parsing form: empty boundary: %w", ErrMalformed)
	}
	if maxFields <= 0 {
		maxFields = DefaultMaxFields
	}
	gate := &gateReader{r: r, left: maxFields + headerSlack}
	mr := multipart.NewReader(gate, boundary)
	fields := make(map[string]string)
	var total int64
	for {
		// Raw parts: S3 takes the file bytes as sent, and honouring a
		// Content-Transfer-Encoding would change them.
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return nil, fmt.Errorf("parsing form: %w", ErrNoFile)
		}
		if err != nil {
			if errors.Is(err, errGateClosed) {
				return nil, fmt.Errorf("parsing form: %w", ErrFieldsTooLarge)
			}
			return nil, fmt.Errorf("parsing form: %v: %w", err, ErrMalformed)
		}
		name := strings.ToLower(p.FormName())
		if name == "" {
			return nil, fmt.Errorf("parsing form: part without a form-data name: %w", ErrMalformed)
		}
		if name == "file" {
			gate.open()
			return &Form{
				Fields:          fields,
				File:            fileReader{p},
				FileName:        p.FileName(),
				FileContentType: p.Header.Get("Content-Type"),
			}, nil
		}
		if len(fields) >= maxFieldCount {
			return nil, fmt.Errorf("parsing form: more than %d fields: %w", maxFieldCount, ErrFieldsTooLarge)
		}
		if _, dup := fields[name]; dup {
			return nil, fmt.Errorf("parsing form: field %q given twice: %w", name, ErrMalformed)
		}
		value, err := io.ReadAll(io.LimitReader(p, MaxFieldSize+1))
		if err != nil {
			if errors.Is(err, errGateClosed) {
				return nil, fmt.Errorf("parsing form: %w", ErrFieldsTooLarge)
			}
			return nil, fmt.Errorf("parsing form: reading field %q: %v: %w", name, err, ErrMalformed)
		}
		if len(value) > MaxFieldSize {
			return nil, fmt.Errorf("parsing form: field %q over %d bytes: %w", name, MaxFieldSize, ErrFieldsTooLarge)
		}
		total += int64(len(name) + len(value))
		if total > maxFields {
			return nil, fmt.Errorf("parsing form: fields over %d bytes: %w", maxFields, ErrFieldsTooLarge)
		}
		fields[name] = string(value)
	}
}

// ExpandKey substitutes filename for every ${filename} in key, as S3 does
// before it checks the policy and stores the object.
func ExpandKey(key, filename string) string {
	return strings.ReplaceAll(key, "${filename}", filename)
}

var errGateClosed = errors.New("form fields exceed the byte budget")

// gateReader bounds the raw bytes read before the file part, which bounds
// part headers and boundaries too (multipart's own header limit is 10 MB a
// part). Once open it passes everything through, so the file can be any
// size.
type gateReader struct {
	r      io.Reader
	left   int64
	opened bool
}

func (g *gateReader) open() { g.opened = true }

func (g *gateReader) Read(p []byte) (int, error) {
	if g.opened {
		return g.r.Read(p)
	}
	if g.left <= 0 {
		return 0, errGateClosed
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, err := g.r.Read(p)
	g.left -= int64(n)
	return n, err
}

// fileReader marks a body that ends inside the file part as malformed while
// keeping the underlying error.
type fileReader struct{ p *multipart.Part }

func (f fileReader) Read(b []byte) (int, error) {
	n, err := f.p.Read(b)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("reading file field: %w: %w", ErrMalformed, err)
	}
	return n, err
}
