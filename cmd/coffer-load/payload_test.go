package main

import (
	"bytes"
	"io"
	"testing"
)

func TestPayload(t *testing.T) {
	buf := []byte("0123456789")
	for _, n := range []int64{0, 1, 9, 10, 11, 25, 1000} {
		want := bytes.Repeat(buf, int(n)/len(buf)+1)[:n]
		// Through Read with an odd buffer size.
		var got bytes.Buffer
		p := newPayload(buf, n)
		chunk := make([]byte, 3)
		for {
			k, err := p.Read(chunk)
			got.Write(chunk[:k])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("Read(%d) = %q", n, got.Bytes())
		}
		// Through WriteTo.
		got.Reset()
		if k, err := newPayload(buf, n).WriteTo(&got); err != nil || k != n || !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("WriteTo(%d) = %d, %v, %q", n, k, err, got.Bytes())
		}
	}
	if b := newPayloadBuf(64 << 20); len(b) != maxPayloadBuf {
		t.Fatalf("payload buffer of %d bytes", len(b))
	}
}
