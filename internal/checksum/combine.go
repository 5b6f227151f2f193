package checksum

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// gf2poly does arithmetic modulo a CRC's generator polynomial in the
// reflected bit order the CRCs use: the coefficient of x^i is bit
// (width-1-i), so the polynomial 1 is the top bit and multiplying by x is
// a right shift.
//
// All three S3 CRCs start from all ones and end with an xor of all ones.
// Those two constants cancel when two CRCs are joined, which leaves
// crc(A||B) = crc(A) * x^(8*len(B)) + crc(B) (mod P).
type gf2poly struct {
	poly  uint64 // reflected generator without its x^width term
	width uint

	once sync.Once
	// pow2[k] is x^(2^k) mod P. Lengths reach 2^63 bytes, which is
	// x^(2^66) at most.
	pow2 [67]uint64
}

var (
	polyCRC32     = &gf2poly{poly: 0xedb88320, width: 32}
	polyCRC32C    = &gf2poly{poly: 0x82f63b78, width: 32}
	polyCRC64NVME = &gf2poly{poly: 0x9a6c9329ac4bc9b5, width: 64}
)

func (g *gf2poly) one() uint64 { return 1 << (g.width - 1) }

// mul returns a*b mod P.
func (g *gf2poly) mul(a, b uint64) uint64 {
	var p uint64
	for bit := g.one(); bit != 0 && a != 0; bit >>= 1 {
		if a&bit != 0 {
			p ^= b
			a &^= bit
		}
		// b *= x
		if b&1 != 0 {
			b = b>>1 ^ g.poly
		} else {
			b >>= 1
		}
	}
	return p
}

func (g *gf2poly) init() {
	g.once.Do(func() {
		g.pow2[0] = g.one() >> 1 // x^1
		for k := 1; k < len(g.pow2); k++ {
			g.pow2[k] = g.mul(g.pow2[k-1], g.pow2[k-1])
		}
	})
}

// shiftBytes returns x^(8n) mod P.
func (g *gf2poly) shiftBytes(n uint64) uint64 {
	g.init()
	p := g.one()
	for k := 3; n != 0; k++ {
		if n&1 != 0 {
			p = g.mul(g.pow2[k], p)
		}
		n >>= 1
	}
	return p
}

// combine returns crc(A||B) from crc(A), crc(B) and len(B).
func (g *gf2poly) combine(crcA, crcB uint64, lenB uint64) uint64 {
	return g.mul(g.shiftBytes(lenB), crcA) ^ crcB
}

func (a Algorithm) poly() *gf2poly {
	switch a {
	case CRC32:
		return polyCRC32
	case CRC32C:
		return polyCRC32C
	case CRC64NVME:
		return polyCRC64NVME
	}
	return nil
}

// Combinable reports whether Combine works for a (the CRC algorithms).
func (a Algorithm) Combinable() bool {
	return a.poly() != nil
}

// Combine returns the checksum of the concatenation A||B given the
// checksums of A and B as New().Sum returns them (big-endian) and the
// length of B. It lets a multipart upload's full-object checksum be built
// from its parts' checksums without reading the data again.
func Combine(a Algorithm, crcA, crcB []byte, lenB int64) ([]byte, error) {
	g := a.poly()
	if g == nil {
		if !a.Valid() {
			return nil, fmt.Errorf("combining %q: %w", string(a), ErrUnknownAlgorithm)
		}
		return nil, fmt.Errorf("combining %s: %w", a, ErrNotCombinable)
	}
	size := a.Size()
	if len(crcA) != size || len(crcB) != size {
		return nil, fmt.Errorf("combining %s digests of %d and %d bytes: %w", a, len(crcA), len(crcB), ErrInvalidValue)
	}
	if lenB < 0 {
		return nil, fmt.Errorf("combining %s with negative length %d: %w", a, lenB, ErrInvalidValue)
	}
	if size == 4 {
		r := g.combine(uint64(binary.BigEndian.Uint32(crcA)), uint64(binary.BigEndian.Uint32(crcB)), uint64(lenB))
		return binary.BigEndian.AppendUint32(nil, uint32(r)), nil
	}
	r := g.combine(binary.BigEndian.Uint64(crcA), binary.BigEndian.Uint64(crcB), uint64(lenB))
	return binary.BigEndian.AppendUint64(nil, r), nil
}
