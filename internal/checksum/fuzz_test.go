package checksum

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzCombine(f *testing.F) {
	f.Add([]byte(""), []byte(""))
	f.Add([]byte("a"), []byte(""))
	f.Add([]byte(""), []byte("b"))
	f.Add([]byte("1234"), []byte("56789"))
	f.Add(bytes.Repeat([]byte{0xff}, 100), bytes.Repeat([]byte{0}, 1000))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, alg := range []Algorithm{CRC32, CRC32C, CRC64NVME} {
			got, err := Combine(alg, digest(alg, a), digest(alg, b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			if want := digest(alg, append(a[:len(a):len(a)], b...)); !bytes.Equal(got, want) {
				t.Fatalf("%s: Combine = %x, direct = %x", alg, got, want)
			}
		}
	})
}

func FuzzValidate(f *testing.F) {
	f.Add("AAAAAA==")
	f.Add("yZRlqg==")
	f.Add("rosUhgp5mIg=")
	f.Add("AAAA\nAA=")
	f.Add("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
	f.Add("2jmj7l5rSw0yVb/vlWAYkK/YBwk=")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		for _, alg := range All {
			sum, err := alg.Decode(s)
			if verr := alg.Validate(s); (verr == nil) != (err == nil) {
				t.Fatalf("%s: Validate and Decode disagree on %q: %v vs %v", alg, s, verr, err)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidValue) {
					t.Fatalf("%s.Decode(%q) = %v; want ErrInvalidValue", alg, s, err)
				}
				continue
			}
			if len(sum) != alg.Size() {
				t.Fatalf("%s.Decode(%q) gave %d bytes", alg, s, len(sum))
			}
			if Encode(sum) != s {
				t.Fatalf("%s accepted non-canonical %q (canonical %q)", alg, s, Encode(sum))
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, a := range All {
		f.Add(string(a))
		f.Add(a.Header())
	}
	f.Add("x-amz-checksum-type")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err == nil {
			if !a.Valid() || !bytes.EqualFold([]byte(s), []byte(a)) {
				t.Fatalf("Parse(%q) = %q", s, a)
			}
		} else if !errors.Is(err, ErrUnknownAlgorithm) {
			t.Fatalf("Parse(%q) error %v", s, err)
		}
		if h, ok := FromHeader(s); ok {
			if !h.Valid() || !bytes.EqualFold([]byte(s), []byte(h.Header())) {
				t.Fatalf("FromHeader(%q) = %q", s, h)
			}
		}
	})
}
