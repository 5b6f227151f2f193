package main

import (
	"math"
	"slices"
	"time"
)

// opStats collects one worker's measurements of one operation kind; it is
// not shared between goroutines, and workers' stats are merged at the end.
type opStats struct {
	ops       int64
	errors    int64
	bytes     int64
	keys      int64
	latencies []time.Duration // successful operations only
}

func (s *opStats) merge(o *opStats) {
	s.ops += o.ops
	s.errors += o.errors
	s.bytes += o.bytes
	s.keys += o.keys
	s.latencies = append(s.latencies, o.latencies...)
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, or 0 when it is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted)) / 100))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Latency is a latency summary in milliseconds.
type Latency struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// OpResult summarises one operation kind.
type OpResult struct {
	Ops        int64   `json:"ops"`
	Errors     int64   `json:"errors"`
	OpsPerSec  float64 `json:"ops_per_sec"`
	MiBPerSec  float64 `json:"mib_per_sec"`
	Keys       int64   `json:"keys,omitempty"`
	KeysPerSec float64 `json:"keys_per_sec,omitempty"`
	Latency    Latency `json:"latency"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarize turns merged stats into rates over elapsed. It sorts
// s.latencies in place.
func summarize(s *opStats, elapsed time.Duration) OpResult {
	slices.Sort(s.latencies)
	r := OpResult{Ops: s.ops, Errors: s.errors, Keys: s.keys}
	if sec := elapsed.Seconds(); sec > 0 {
		r.OpsPerSec = float64(s.ops) / sec
		r.MiBPerSec = float64(s.bytes) / (1 << 20) / sec
		r.KeysPerSec = float64(s.keys) / sec
	}
	if n := len(s.latencies); n > 0 {
		r.Latency = Latency{
			P50: ms(percentile(s.latencies, 50)),
			P90: ms(percentile(s.latencies, 90)),
			P99: ms(percentile(s.latencies, 99)),
			Max: ms(s.latencies[n-1]),
		}
	}
	return r
}
