package main

import (
	"strings"
	"testing"
)

func TestWriteText(t *testing.T) {
	r := Result{Endpoint: "http://127.0.0.1:9000", Bucket: "b", Op: "mixed", SizeText: "4KiB", Concurrency: 2, ElapsedSec: 1,
		OpResult:     OpResult{Ops: 10, OpsPerSec: 10, MiBPerSec: 0.04, Latency: Latency{P50: 1, P90: 2, P99: 3, Max: 4}},
		ByOp:         map[string]OpResult{"put": {Ops: 3}, "get": {Ops: 7}},
		ErrorSamples: []string{"PUT /b/k: 500 InternalError"}}
	var b strings.Builder
	if err := writeText(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"op mixed  size 4KiB", "ops 10  ops/s 10.0  MiB/s 0.04  errors 0", "p50 1.00ms  p90 2.00ms  p99 3.00ms  max 4.00ms", "get: ops 7", "put: ops 3", "error: PUT /b/k: 500 InternalError"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "get: ") > strings.Index(out, "put: ") {
		t.Errorf("per-op lines not sorted:\n%s", out)
	}
}
