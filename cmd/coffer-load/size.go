package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

var errBadSize = errors.New("invalid size")

// sizeUnits are the suffixes parseSize accepts. Decimal and binary units
// are both kept exact: 4KB is 4000 bytes, 4KiB is 4096.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// parseSize parses a byte count such as "4096", "4KiB", "64MiB", "1.5GiB"
// or "10MB", ignoring case and surrounding spaces. Bare k/m/g/t are binary.
func parseSize(s string) (int64, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(in, u.suffix) {
			in, mult = strings.TrimSpace(strings.TrimSuffix(in, u.suffix)), u.mult
			break
		}
	}
	if in == "" {
		return 0, fmt.Errorf("parsing size %q: %w", s, errBadSize)
	}
	if n, err := strconv.ParseInt(in, 10, 64); err == nil {
		if n < 0 || n > (1<<62)/mult {
			return 0, fmt.Errorf("parsing size %q: out of range: %w", s, errBadSize)
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(in, 64)
	if err != nil || f < 0 || math.IsNaN(f) || f*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("parsing size %q: %w", s, errBadSize)
	}
	return int64(f * float64(mult)), nil
}

// formatSize renders n in the largest binary unit that divides it, so that
// parseSize(formatSize(n)) == n.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
