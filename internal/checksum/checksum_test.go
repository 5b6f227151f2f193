package checksum

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, a := range All {
		for _, name := range []string{string(a), strings.ToLower(string(a)), strings.ToUpper(string(a)), "cRc" + string(a)[3:]} {
			if !strings.HasPrefix(string(a), "CRC") && strings.HasPrefix(name, "cRc") {
				continue
			}
			got, err := Parse(name)
			if err != nil || got != a {
				t.Errorf("Parse(%q) = %q, %v; want %q", name, got, err, a)
			}
		}
	}
	for _, name := range []string{"", "crc", "crc64", "CRC32 ", " SHA1", "md5", "SHA-256", "sha256\x00"} {
		if a, err := Parse(name); !errors.Is(err, ErrUnknownAlgorithm) {
			t.Errorf("Parse(%q) = %q, %v; want ErrUnknownAlgorithm", name, a, err)
		}
	}
}

// The digests of "123456789" are the published check values of each
// algorithm (CRC catalogue, FIPS 180 test vectors).
func TestKnownDigests(t *testing.T) {
	want := map[Algorithm]string{
		CRC32:     "cbf43926",
		CRC32C:    "e3069283",
		CRC64NVME: "ae8b14860a799888",
		SHA1:      "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
		SHA256:    "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
	}
	for _, a := range All {
		h := a.New()
		h.Write([]byte("123456789"))
		sum := h.Sum(nil)
		if got := hex.EncodeToString(sum); got != want[a] {
			t.Errorf("%s(123456789) = %s, want %s", a, got, want[a])
		}
		if len(sum) != a.Size() || h.Size() != a.Size() {
			t.Errorf("%s: digest %d bytes, hash.Size %d, Size %d", a, len(sum), h.Size(), a.Size())
		}
		if err := a.Validate(Encode(sum)); err != nil {
			t.Errorf("%s: Validate(Encode(sum)) = %v", a, err)
		}
	}
}

func TestNewPanicsOnUnknown(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New of an unknown algorithm did not panic")
		}
	}()
	Algorithm("MD5").New()
}

func TestHeader(t *testing.T) {
	want := map[Algorithm]string{
		CRC32:     "x-amz-checksum-crc32",
		CRC32C:    "x-amz-checksum-crc32c",
		CRC64NVME: "x-amz-checksum-crc64nvme",
		SHA1:      "x-amz-checksum-sha1",
		SHA256:    "x-amz-checksum-sha256",
	}
	for _, a := range All {
		if got := a.Header(); got != want[a] {
			t.Errorf("%s.Header() = %q, want %q", a, got, want[a])
		}
		for _, h := range []string{want[a], strings.ToUpper(want[a]), "X-Amz-Checksum-" + strings.ToUpper(string(a))} {
			if got, ok := FromHeader(h); !ok || got != a {
				t.Errorf("FromHeader(%q) = %q, %v; want %q", h, got, ok, a)
			}
		}
	}
	if got := Algorithm("MD5").Header(); got != "" {
		t.Errorf("unknown algorithm header = %q", got)
	}
	for _, h := range []string{"", "x-amz-checksum-", "x-amz-checksum-type", "x-amz-checksum-algorithm", "x-amz-checksum-md5", "x-amz-checksum-crc32x", "content-md5", "x-amz-checksum"} {
		if a, ok := FromHeader(h); ok {
			t.Errorf("FromHeader(%q) = %q, true; want false", h, a)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, a := range All {
		sum := make([]byte, a.Size())
		for i := range sum {
			sum[i] = byte(i*37 + 1)
		}
		good := Encode(sum)
		dec, err := a.Decode(good)
		if err != nil || !bytes.Equal(dec, sum) {
			t.Fatalf("%s: Decode(%q) = %x, %v", a, good, dec, err)
		}
		bad := []string{
			"",
			good[:len(good)-1],
			good + "=",
			good + "AAAA",
			strings.TrimRight(good, "="), // unpadded
			base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, a.Size())), // URL alphabet
			good[:4] + "\n" + good[5:], // line break the decoder would skip
			"\n" + good[1:],
			Encode(make([]byte, a.Size()-1)),
			Encode(make([]byte, a.Size()+1)),
			hex.EncodeToString(sum),
			strings.Repeat("!", len(good)),
		}
		// Non-zero padding bits decode to the same digest as good: only the
		// canonical form is accepted.
		if strings.HasSuffix(good, "=") {
			last := strings.TrimRight(good, "=")
			pad := good[len(last):]
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
			i := strings.IndexByte(alphabet, last[len(last)-1])
			bad = append(bad, last[:len(last)-1]+alphabet[i^1:i^1+1]+pad)
		}
		for _, v := range bad {
			if err := a.Validate(v); !errors.Is(err, ErrInvalidValue) {
				t.Errorf("%s.Validate(%q) = %v; want ErrInvalidValue", a, v, err)
			}
		}
	}
	if err := Algorithm("MD5").Validate("AAAAAA=="); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("unknown algorithm Validate = %v", err)
	}
}

func digest(a Algorithm, b []byte) []byte {
	h := a.New()
	h.Write(b)
	return h.Sum(nil)
}

func TestCombine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	lengths := []int{0, 1, 2, 3, 7, 8, 9, 15, 16, 63, 64, 255, 256, 1000, 4095, 4096, 4097, 65537, 1 << 20, 3<<20 + 17}
	for _, a := range []Algorithm{CRC32, CRC32C, CRC64NVME} {
		if !a.Combinable() {
			t.Fatalf("%s not combinable", a)
		}
		for _, la := range lengths {
			for _, lb := range lengths {
				if la+lb > len(data) {
					continue
				}
				A, B := data[:la], data[la:la+lb]
				got, err := Combine(a, digest(a, A), digest(a, B), int64(lb))
				if err != nil {
					t.Fatalf("%s Combine: %v", a, err)
				}
				if want := digest(a, data[:la+lb]); !bytes.Equal(got, want) {
					t.Fatalf("%s Combine(len %d, len %d) = %x, want %x", a, la, lb, got, want)
				}
			}
		}
		// Many parts folded left, as a multipart completion does.
		var full []byte
		off := 0
		for off < len(data) {
			n := min(rng.IntN(300000), len(data)-off)
			part := digest(a, data[off:off+n])
			if full == nil {
				full = part
			} else {
				var err error
				if full, err = Combine(a, full, part, int64(n)); err != nil {
					t.Fatal(err)
				}
			}
			off += n
		}
		if want := digest(a, data); !bytes.Equal(full, want) {
			t.Fatalf("%s folded Combine = %x, want %x", a, full, want)
		}
	}
}

// A length too large to hash directly still has to agree with combining
// the same length in two halves.
func TestCombineHugeLength(t *testing.T) {
	for _, a := range []Algorithm{CRC32, CRC32C, CRC64NVME} {
		x := digest(a, []byte("x"))
		zero := make([]byte, a.Size())
		const n = int64(1) << 62
		once, err := Combine(a, x, zero, 2*(n-1)+1)
		if err != nil {
			t.Fatal(err)
		}
		h1, _ := Combine(a, x, zero, n-1)
		twice, _ := Combine(a, h1, zero, n)
		if !bytes.Equal(once, twice) {
			t.Errorf("%s: x^(a+b) != x^a * x^b: %x vs %x", a, once, twice)
		}
	}
}

func TestCombineErrors(t *testing.T) {
	four, eight := make([]byte, 4), make([]byte, 8)
	cases := []struct {
		a      Algorithm
		x, y   []byte
		n      int64
		target error
	}{
		{SHA256, make([]byte, 32), make([]byte, 32), 1, ErrNotCombinable},
		{SHA1, make([]byte, 20), make([]byte, 20), 1, ErrNotCombinable},
		{"MD5", four, four, 1, ErrUnknownAlgorithm},
		{CRC32, eight, four, 1, ErrInvalidValue},
		{CRC32C, four, nil, 1, ErrInvalidValue},
		{CRC64NVME, four, four, 1, ErrInvalidValue},
		{CRC32, four, four, -1, ErrInvalidValue},
	}
	for _, c := range cases {
		if _, err := Combine(c.a, c.x, c.y, c.n); !errors.Is(err, c.target) {
			t.Errorf("Combine(%s, %d bytes, %d bytes, %d) = %v; want %v", c.a, len(c.x), len(c.y), c.n, err, c.target)
		}
	}
}

func BenchmarkCombine(b *testing.B) {
	for _, a := range []Algorithm{CRC32C, CRC64NVME} {
		b.Run(string(a), func(b *testing.B) {
			x, y := digest(a, []byte("a")), digest(a, []byte("b"))
			for b.Loop() {
				if _, err := Combine(a, x, y, 16<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
