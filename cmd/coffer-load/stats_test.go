package main

import (
	"math"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var ten []time.Duration
	for i := 1; i <= 10; i++ {
		ten = append(ten, time.Duration(i)*time.Millisecond)
	}
	cases := []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{[]time.Duration{7}, 50, 7},
		{[]time.Duration{7}, 99, 7},
		{ten, 50, 5 * time.Millisecond},
		{ten, 90, 9 * time.Millisecond},
		{ten, 91, 10 * time.Millisecond},
		{ten, 99, 10 * time.Millisecond},
		{ten, 100, 10 * time.Millisecond},
		{ten, 10, 1 * time.Millisecond},
		{ten, 0.001, 1 * time.Millisecond},
	}
	for _, c := range cases {
		if got := percentile(c.in, c.p); got != c.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(c.in), c.p, got, c.want)
		}
	}
	// 1..1000: the nearest rank of p is exactly p*10.
	var thousand []time.Duration
	for i := 1; i <= 1000; i++ {
		thousand = append(thousand, time.Duration(i))
	}
	for _, p := range []float64{50, 90, 99, 99.9} {
		if got, want := percentile(thousand, p), time.Duration(math.Round(p*10)); got != want {
			t.Errorf("percentile(1..1000, %v) = %v, want %v", p, got, want)
		}
	}
}

func TestSummarize(t *testing.T) {
	s := &opStats{}
	a := &opStats{ops: 3, errors: 1, bytes: 3 << 20, latencies: []time.Duration{3 * time.Millisecond, time.Millisecond}}
	b := &opStats{ops: 1, bytes: 1 << 20, keys: 50, latencies: []time.Duration{2 * time.Millisecond, 4 * time.Millisecond}}
	s.merge(a)
	s.merge(b)
	r := summarize(s, 2*time.Second)
	if r.Ops != 4 || r.Errors != 1 || r.OpsPerSec != 2 || r.MiBPerSec != 2 || r.Keys != 50 || r.KeysPerSec != 25 {
		t.Fatalf("summarize: %+v", r)
	}
	if r.Latency.P50 != 2 || r.Latency.Max != 4 || r.Latency.P99 != 4 {
		t.Fatalf("latency: %+v", r.Latency)
	}
	if z := summarize(&opStats{}, 0); z.OpsPerSec != 0 || z.Latency.Max != 0 {
		t.Fatalf("empty summary: %+v", z)
	}
}
