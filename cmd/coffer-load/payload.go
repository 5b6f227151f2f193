package main

import (
	"crypto/rand"
	"io"
)

// maxPayloadBuf bounds the random buffer; larger bodies repeat it.
const maxPayloadBuf = 16 << 20

// newPayloadBuf returns the random bytes every request body is cut from,
// made once per run so requests allocate no payload.
func newPayloadBuf(size int64) []byte {
	b := make([]byte, min(size, maxPayloadBuf))
	rand.Read(b)
	return b
}

// payload is a request body of n bytes that repeats buf. It implements
// io.WriterTo so the transport writes whole slices of buf to the
// connection without copying them through an intermediate buffer.
type payload struct {
	buf []byte
	off int64 // bytes produced so far
	n   int64
}

func newPayload(buf []byte, n int64) *payload { return &payload{buf: buf, n: n} }

func (p *payload) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	pos := p.off % int64(len(p.buf))
	k := copy(b, p.buf[pos:min(int64(len(p.buf)), pos+p.n-p.off)])
	p.off += int64(k)
	return k, nil
}

func (p *payload) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for p.off < p.n {
		pos := p.off % int64(len(p.buf))
		k, err := w.Write(p.buf[pos:min(int64(len(p.buf)), pos+p.n-p.off)])
		p.off += int64(k)
		total += int64(k)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
