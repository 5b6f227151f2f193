package main

import (
	"errors"
	"testing"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"0": 0, "1": 1, "4096": 4096, "4KiB": 4096, "4kib": 4096, "4k": 4096, "4K": 4096,
		"64MiB": 64 << 20, "64M": 64 << 20, "1GiB": 1 << 30, "2TiB": 2 << 40,
		"10MB": 10e6, "4KB": 4000, "1GB": 1e9, "100B": 100, " 8 KiB ": 8192,
		"1.5KiB": 1536, "0.5MiB": 512 << 10,
	}
	for in, want := range good {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "KiB", "-1", "-1KiB", "1XB", "abc", "1 2", "NaN", "InfKiB", "99999999999TiB", "1e300", "0x10", "4 K i B"} {
		if got, err := parseSize(in); !errors.Is(err, errBadSize) {
			t.Errorf("parseSize(%q) = %d, %v; want errBadSize", in, got, err)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for _, n := range []int64{0, 1, 1000, 1023, 1024, 4096, 1536, 64 << 20, 1 << 30, 3 << 40, 10e6} {
		s := formatSize(n)
		if back, err := parseSize(s); err != nil || back != n {
			t.Errorf("formatSize(%d) = %q, parses back to %d, %v", n, s, back, err)
		}
	}
	if s := formatSize(64 << 20); s != "64MiB" {
		t.Errorf("formatSize(64MiB) = %q", s)
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"4KiB", "64MiB", "1.5GiB", "10MB", "0", "-1", "1e3", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			if !errors.Is(err, errBadSize) {
				t.Fatalf("parseSize(%q) error %v", s, err)
			}
			return
		}
		if n < 0 || n > 1<<62 {
			t.Fatalf("parseSize(%q) = %d", s, n)
		}
		if back, err := parseSize(formatSize(n)); err != nil || back != n {
			t.Fatalf("round trip of %d: %d, %v", n, back, err)
		}
	})
}
