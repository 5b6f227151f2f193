package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"sync"
)

const (
	// MaxChunkSize caps one signed aws-chunked chunk. A signed chunk is held
	// in memory until its signature is checked, so the cap bounds what a
	// hostile body can make us allocate. SDKs use 64 KiB to 1 MiB.
	MaxChunkSize = 16 << 20
	// maxUnsignedChunk only guards the size arithmetic: unsigned chunks are
	// streamed, never buffered.
	maxUnsignedChunk = 1 << 40
	// lineBufSize is the bufio buffer and so the longest chunk header or
	// trailer line accepted.
	lineBufSize = 4 << 10
	// maxTrailerLines bounds the trailer section, blank lines included.
	maxTrailerLines = 32
	trailerSigName  = "x-amz-trailer-signature"
	minPooledBuf    = 64 << 10
	numBufClasses   = 9 // 64 KiB << 8 == 16 MiB == MaxChunkSize
)

type bodyMode uint8

const (
	modePlain           bodyMode = iota // UNSIGNED-PAYLOAD: passed through
	modeHash                            // hex SHA-256 checked at the end
	modeSigned                          // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
	modeSignedTrailer                   // ... -PAYLOAD-TRAILER
	modeUnsignedTrailer                 // STREAMING-UNSIGNED-PAYLOAD-TRAILER
)

// Body is a request body that verifies the payload as it is read, according
// to the x-amz-content-sha256 the request was signed with:
//
//   - 64 hex digits: the data is passed through and hashed; the Read that
//     reaches the end returns ErrContentSHA256Mismatch instead of io.EOF
//     when the digest differs, so io.EOF is only ever seen on a good body.
//   - UNSIGNED-PAYLOAD: passed through unchanged.
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER): the aws-chunked framing
//     is decoded and every chunk signature is checked, chained from the
//     request signature. A chunk (at most MaxChunkSize) is held back until
//     its signature has been checked, so Read never returns unverified
//     data. The trailer form then checks x-amz-trailer-signature.
//   - STREAMING-UNSIGNED-PAYLOAD-TRAILER: the framing is decoded and the data
//     streamed as it arrives (there is nothing to check it against but the
//     trailing checksum, which is the caller's to compare).
//
// In every form the final verdict arrives before io.EOF: a caller that
// commits only after reading io.EOF never commits unverified data. After
// io.EOF, Trailer returns the trailing headers. Body does not close the
// source reader. A Body is not safe for concurrent use.
type Body struct {
	mode bodyMode
	src  io.Reader
	err  error // terminal state: io.EOF or the failure, returned from then on

	// modeHash
	sum  hash.Hash
	want [32]byte

	// aws-chunked
	br           *bufio.Reader
	mac          hash.Hash // HMAC keyed with the signing key
	amzDate      string
	scope        string
	prevSig      [64]byte // hex signature of the previous link of the chain
	sts          []byte   // string-to-sign scratch
	buf          *[]byte  // pooled chunk buffer (signed modes)
	bufClass     int
	pending      []byte // verified data not yet returned
	remaining    int64  // modeUnsignedTrailer: bytes left in the current chunk
	needCRLF     bool   // modeUnsignedTrailer: a chunk's data ended, its CRLF is due
	decoded      int64
	declared     int64 // x-amz-decoded-content-length, -1 when absent
	trailerNames []string
	trailer      http.Header
}

// Body wraps body so that reading it verifies the payload against a's
// payload hash (see the Body type). It fails with ErrMalformedChunk when
// x-amz-decoded-content-length is not a non-negative integer, and with
// ErrMalformedAuth when a signed streaming payload comes without a signature.
func (a *Auth) Body(body io.Reader) (*Body, error) {
	b := &Body{src: body, declared: -1}
	switch h := a.PayloadHash; h {
	case UnsignedPayload:
		b.mode = modePlain
		return b, nil
	case StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer:
		b.mode = modeSigned
		if h == StreamingPayloadTrailer {
			b.mode = modeSignedTrailer
		} else if h == StreamingUnsignedTrailer {
			b.mode = modeUnsignedTrailer
		}
	default:
		if !isHex(h, 64) {
			return nil, fmt.Errorf("wrapping body: %w", ErrInvalidContentSHA256)
		}
		b.mode = modeHash
		b.sum = sha256.New()
		if _, err := hex.Decode(b.want[:], []byte(h)); err != nil {
			return nil, fmt.Errorf("wrapping body: %w", ErrInvalidContentSHA256)
		}
		return b, nil
	}
	if a.decodedLength != "" {
		n, err := strconv.ParseInt(a.decodedLength, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("parsing x-amz-decoded-content-length: %w", ErrMalformedChunk)
		}
		b.declared = n
	}
	b.trailerNames = a.trailerNames
	b.br = bufio.NewReaderSize(body, lineBufSize)
	if b.mode != modeUnsignedTrailer {
		if a.Anonymous || a.seedSig == "" {
			return nil, fmt.Errorf("wrapping body: signed streaming payload without a signature: %w", ErrMalformedAuth)
		}
		b.mac = hmac.New(sha256.New, a.signingKey[:])
		b.amzDate, b.scope = a.amzDate, a.scope
		copy(b.prevSig[:], a.seedSig)
	}
	return b, nil
}

// Trailer returns the trailing headers of an aws-chunked trailer body, keyed
// in canonical form. It is nil until Read has returned io.EOF, and for the
// other payload forms. Trailers must have been declared in x-amz-trailer;
// whether each declared trailer arrived is for the caller to check.
func (b *Body) Trailer() http.Header {
	if b.err != io.EOF {
		return nil
	}
	return b.trailer
}

// DecodedLength returns the number of payload bytes returned so far.
func (b *Body) DecodedLength() int64 { return b.decoded }

// Read implements io.Reader with the verification described on Body.
func (b *Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	var (
		n   int
		err error
	)
	switch b.mode {
	case modePlain:
		n, err = b.src.Read(p)
		b.decoded += int64(n)
		return n, err
	case modeHash:
		n, err = b.readHash(p)
	case modeUnsignedTrailer:
		n, err = b.readUnsigned(p)
	default:
		n, err = b.readSigned(p)
	}
	if err != nil {
		b.err = err
		b.release()
	}
	return n, err
}

func (b *Body) readHash(p []byte) (int, error) {
	n, err := b.src.Read(p)
	b.sum.Write(p[:n])
	b.decoded += int64(n)
	if err != io.EOF {
		return n, err
	}
	var got [32]byte
	b.sum.Sum(got[:0])
	verdict := io.EOF
	if got != b.want {
		verdict = fmt.Errorf("reading body: %w", ErrContentSHA256Mismatch)
	}
	if n > 0 {
		// Hand over the data now and the verdict on the next call, so the
		// verdict never travels with bytes a caller might process first.
		b.err = verdict
		return n, nil
	}
	return 0, verdict
}

// readSigned returns verified chunk data, reading and checking the next chunk
// when nothing verified is pending.
func (b *Body) readSigned(p []byte) (int, error) {
	for len(b.pending) == 0 {
		size64, sig, err := b.chunkHeader(true)
		if err != nil {
			return 0, err
		}
		size := int(size64) // at most MaxChunkSize
		if size == 0 {
			if err := b.checkChunk(nil, sig); err != nil {
				return 0, err
			}
			return 0, b.finish()
		}
		// Read straight into p when it can hold the whole chunk: Read may
		// use all of p as scratch, and p is handed over only once verified.
		var data []byte
		direct := len(p) >= size
		if direct {
			data = p[:size]
			if _, err := io.ReadFull(b.br, data); err != nil {
				return 0, readErr("reading chunk data", err)
			}
		} else if data, err = b.fill(size); err != nil {
			return 0, err
		}
		if err := b.crlf(); err != nil {
			return 0, err
		}
		if err := b.checkChunk(data, sig); err != nil {
			return 0, err
		}
		b.decoded += int64(size)
		if direct {
			return size, nil
		}
		b.pending = data
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// readUnsigned streams the data of unsigned chunks as it arrives.
func (b *Body) readUnsigned(p []byte) (int, error) {
	for b.remaining == 0 {
		if b.needCRLF {
			if err := b.crlf(); err != nil {
				return 0, err
			}
			b.needCRLF = false
		}
		size, _, err := b.chunkHeader(false)
		if err != nil {
			return 0, err
		}
		if size == 0 {
			return 0, b.finish()
		}
		b.remaining = size
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.br.Read(p)
	b.remaining -= int64(n)
	b.decoded += int64(n)
	if b.remaining == 0 {
		b.needCRLF = true
	}
	if n > 0 || err == nil {
		return n, nil
	}
	return 0, readErr("reading chunk data", err)
}

// readErr classifies an error from the source: the end of the stream in the
// middle of the framing is a malformed body, anything else (a broken
// connection, a size limit) is passed through.
func readErr(doing string, err error) error {
	if err == nil || err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: premature end of body: %w", doing, ErrMalformedChunk)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// readLine returns the next line without its terminator. "\r\n" is required
// when strict; otherwise a bare "\n" is accepted too (minio-go ends trailer
// lines with "\n"). It returns io.EOF only at a clean end of the stream.
func (b *Body) readLine(strict bool) ([]byte, error) {
	line, err := b.br.ReadSlice('\n')
	switch {
	case err == io.EOF && len(line) == 0:
		return nil, io.EOF
	case err == bufio.ErrBufferFull:
		return nil, fmt.Errorf("reading aws-chunked line: too long: %w", ErrMalformedChunk)
	case err != nil:
		return nil, readErr("reading aws-chunked line", err)
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1], nil
	}
	if strict {
		return nil, fmt.Errorf("reading aws-chunked line: missing CR: %w", ErrMalformedChunk)
	}
	return line, nil
}

func (b *Body) crlf() error {
	var two [2]byte
	if _, err := io.ReadFull(b.br, two[:]); err != nil {
		return readErr("reading chunk end", err)
	}
	if two != [2]byte{'\r', '\n'} {
		return fmt.Errorf("reading chunk end: chunk data longer than its size: %w", ErrMalformedChunk)
	}
	return nil
}

// chunkHeader parses "<hex size>;chunk-signature=<64 hex>" (signed) or
// "<hex size>" (unsigned) and checks the size against the caps and
// x-amz-decoded-content-length.
func (b *Body) chunkHeader(signed bool) (int64, [32]byte, error) {
	var sig [32]byte
	line, err := b.readLine(true)
	if err == io.EOF {
		return 0, sig, readErr("reading chunk header", err)
	}
	if err != nil {
		return 0, sig, err
	}
	sizeHex, ext := line, []byte(nil)
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		sizeHex, ext = line[:i], line[i+1:]
	}
	limit := int64(maxUnsignedChunk)
	if signed {
		limit = MaxChunkSize
	}
	if len(sizeHex) == 0 || len(sizeHex) > 16 {
		return 0, sig, fmt.Errorf("parsing chunk header: size: %w", ErrMalformedChunk)
	}
	var size int64
	for _, c := range sizeHex {
		d := unhex(c)
		if d < 0 {
			return 0, sig, fmt.Errorf("parsing chunk header: size: %w", ErrMalformedChunk)
		}
		size = size<<4 | int64(d)
		if size > limit {
			return 0, sig, fmt.Errorf("parsing chunk header: chunk larger than %d bytes: %w", limit, ErrMalformedChunk)
		}
	}
	if signed {
		// The line aliases the bufio buffer: decode the signature now.
		const prefix = "chunk-signature="
		hexSig, ok := bytes.CutPrefix(ext, []byte(prefix))
		if !ok || len(hexSig) != 64 {
			return 0, sig, fmt.Errorf("parsing chunk header: want chunk-signature: %w", ErrMalformedChunk)
		}
		if _, err := hex.Decode(sig[:], hexSig); err != nil {
			return 0, sig, fmt.Errorf("parsing chunk header: chunk-signature: %w", ErrMalformedChunk)
		}
	} else if ext != nil {
		return 0, sig, fmt.Errorf("parsing chunk header: unexpected extension: %w", ErrMalformedChunk)
	}
	if b.declared >= 0 && b.decoded+size > b.declared {
		return 0, sig, fmt.Errorf("parsing chunk header: body longer than x-amz-decoded-content-length: %w", ErrMalformedChunk)
	}
	return size, sig, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// checkChunk verifies the signature of one chunk and advances the chain.
func (b *Body) checkChunk(data []byte, got [32]byte) error {
	digest := sha256.Sum256(data)
	b.sts = append(b.sts[:0], "AWS4-HMAC-SHA256-PAYLOAD\n"...)
	b.sts = b.appendChainPrefix(b.sts)
	b.sts = append(b.sts, emptySHA256...)
	b.sts = append(b.sts, '\n')
	b.sts = hex.AppendEncode(b.sts, digest[:])
	return b.checkLink(got, "chunk")
}

// appendChainPrefix appends "date\nscope\nprevious-signature\n".
func (b *Body) appendChainPrefix(dst []byte) []byte {
	dst = append(dst, b.amzDate...)
	dst = append(dst, '\n')
	dst = append(dst, b.scope...)
	dst = append(dst, '\n')
	dst = append(dst, b.prevSig[:]...)
	return append(dst, '\n')
}

// checkLink signs b.sts and compares it with got in constant time.
func (b *Body) checkLink(got [32]byte, what string) error {
	var want [32]byte
	b.mac.Reset()
	b.mac.Write(b.sts)
	b.mac.Sum(want[:0])
	if !hmac.Equal(want[:], got[:]) {
		return fmt.Errorf("verifying %s signature: %w", what, ErrChunkSignatureMismatch)
	}
	hex.Encode(b.prevSig[:], want[:])
	return nil
}

// fill reads a chunk of size bytes into the pooled buffer. The buffer grows
// through the size classes as data arrives, so memory follows bytes
// received rather than the size a header claims.
func (b *Body) fill(size int) ([]byte, error) {
	if b.buf == nil {
		b.buf, b.bufClass = getBuf(0), 0
	}
	n := 0
	for n < size {
		if n == len(*b.buf) {
			nb := getBuf(b.bufClass + 1)
			copy(*nb, (*b.buf)[:n])
			putBuf(b.bufClass, b.buf)
			b.buf = nb
			b.bufClass++
		}
		m, err := b.br.Read((*b.buf)[n:min(size, len(*b.buf))])
		n += m
		if m == 0 && err != nil {
			return nil, readErr("reading chunk data", err)
		}
	}
	return (*b.buf)[:size], nil
}

// finish runs after the final zero-size chunk: it checks the decoded length,
// reads the trailer section of the trailer forms, and requires the body to
// end there. It returns io.EOF when everything is in order.
func (b *Body) finish() error {
	if b.declared >= 0 && b.decoded < b.declared {
		return fmt.Errorf("decoding aws-chunked body: %d of %d bytes: %w", b.decoded, b.declared, ErrIncompleteBody)
	}
	if b.mode == modeSigned {
		// The final chunk is followed by one CRLF; a body that ends right
		// after the final chunk header lost nothing signed and is accepted.
		line, err := b.readLine(true)
		if err == nil && len(line) != 0 {
			return fmt.Errorf("reading past final chunk: data after final chunk: %w", ErrMalformedChunk)
		}
		if err == nil {
			_, err = b.readLine(true)
		}
		switch {
		case err == io.EOF:
			return io.EOF
		case err == nil:
			return fmt.Errorf("reading past final chunk: data after final chunk: %w", ErrMalformedChunk)
		}
		return err
	}
	return b.trailers()
}

// trailers reads the trailer section up to the end of the body:
//
//	name:value                         one line per trailer, declared in x-amz-trailer
//	x-amz-trailer-signature:<64 hex>   signed form only, and required there
//
// Lines end in "\r\n", or "\n" as minio-go ends trailer lines. Signers
// differ in where they put blank lines (AWS: one at the end; minio-go: also
// one before the signature; some: one before the trailers), so blank lines
// are accepted anywhere; nothing but blank lines may follow the signature.
// The signed form hashes each trailer line as sent followed by "\n".
func (b *Body) trailers() error {
	var (
		hashed  []byte
		trailer http.Header
		sig     [32]byte
		sawSig  bool
		signed  = b.mode == modeSignedTrailer
	)
	for lines := 0; ; lines++ {
		if lines == maxTrailerLines {
			return fmt.Errorf("reading trailers: too many lines: %w", ErrMalformedChunk)
		}
		line, err := b.readLine(false)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading trailers: %w", err)
		}
		if len(line) == 0 {
			continue
		}
		if sawSig {
			return fmt.Errorf("reading trailers: data after trailer signature: %w", ErrMalformedChunk)
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		lname := string(bytes.ToLower(name))
		if !ok || !validLowerToken(lname) {
			return fmt.Errorf("reading trailers: malformed line: %w", ErrMalformedChunk)
		}
		if lname == trailerSigName {
			if !signed {
				return fmt.Errorf("reading trailers: signature in unsigned trailer: %w", ErrMalformedChunk)
			}
			if _, err := hex.Decode(sig[:], bytes.TrimSpace(value)); err != nil || len(bytes.TrimSpace(value)) != 64 {
				return fmt.Errorf("reading trailers: trailer signature: %w", ErrMalformedChunk)
			}
			sawSig = true
			continue
		}
		if !b.declaredTrailer(lname) {
			return fmt.Errorf("reading trailers: %q not declared in x-amz-trailer: %w", lname, ErrMalformedChunk)
		}
		if trailer == nil {
			trailer = make(http.Header, 1)
		}
		key := http.CanonicalHeaderKey(lname)
		if _, dup := trailer[key]; dup {
			return fmt.Errorf("reading trailers: duplicate %q: %w", lname, ErrMalformedChunk)
		}
		trailer[key] = []string{string(bytes.TrimSpace(value))}
		hashed = append(hashed, line...)
		hashed = append(hashed, '\n')
	}
	if signed {
		if !sawSig {
			return fmt.Errorf("reading trailers: missing %s: %w", trailerSigName, ErrMalformedChunk)
		}
		digest := sha256.Sum256(hashed)
		b.sts = append(b.sts[:0], "AWS4-HMAC-SHA256-TRAILER\n"...)
		b.sts = b.appendChainPrefix(b.sts)
		b.sts = hex.AppendEncode(b.sts, digest[:])
		if err := b.checkLink(sig, "trailer"); err != nil {
			return err
		}
	}
	b.trailer = trailer
	return io.EOF
}

func (b *Body) declaredTrailer(name string) bool {
	for _, n := range b.trailerNames {
		if n == name {
			return true
		}
	}
	return false
}

// release returns the chunk buffer to its pool once the body is finished.
func (b *Body) release() {
	if b.buf != nil {
		putBuf(b.bufClass, b.buf)
		b.buf, b.pending = nil, nil
	}
}

var bufPools [numBufClasses]sync.Pool

func getBuf(class int) *[]byte {
	if p, ok := bufPools[class].Get().(*[]byte); ok {
		return p
	}
	b := make([]byte, minPooledBuf<<class)
	return &b
}

func putBuf(class int, b *[]byte) {
	bufPools[class].Put(b)
}
