package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// Result is the outcome of a run; -json prints it as is.
type Result struct {
	Endpoint    string  `json:"endpoint"`
	Bucket      string  `json:"bucket"`
	Op          string  `json:"op"`
	Size        int64   `json:"size"`
	SizeText    string  `json:"size_text"`
	Concurrency int     `json:"concurrency"`
	Objects     int     `json:"objects,omitempty"`
	ElapsedSec  float64 `json:"elapsed_sec"`
	OpResult
	ByOp         map[string]OpResult `json:"by_op,omitempty"`
	ErrorSamples []string            `json:"error_samples,omitempty"`
}

func writeJSON(w io.Writer, r Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func writeText(w io.Writer, r Result) error {
	p := &errWriter{w: w}
	what := "size " + r.SizeText
	if r.Op == opList {
		what = fmt.Sprintf("objects %d", r.Objects) // listed keys are empty
	}
	p.printf("endpoint %s  bucket %s  op %s  %s  concurrency %d  elapsed %.2fs\n",
		r.Endpoint, r.Bucket, r.Op, what, r.Concurrency, r.ElapsedSec)
	writeOp(p, "", r.OpResult)
	names := make([]string, 0, len(r.ByOp))
	for k := range r.ByOp {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		writeOp(p, k+": ", r.ByOp[k])
	}
	for _, e := range r.ErrorSamples {
		p.printf("error: %s\n", e)
	}
	return p.err
}

func writeOp(p *errWriter, label string, o OpResult) {
	p.printf("%sops %d  ops/s %.1f  MiB/s %.2f  errors %d\n", label, o.Ops, o.OpsPerSec, o.MiBPerSec, o.Errors)
	if o.Keys > 0 {
		p.printf("%skeys %d  keys/s %.0f\n", label, o.Keys, o.KeysPerSec)
	}
	p.printf("%slatency p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms\n", label, o.Latency.P50, o.Latency.P90, o.Latency.P99, o.Latency.Max)
}

// errWriter keeps the first write error so a report is checked once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
