package crash

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// state is what a key holds: nothing, or content known by its digest.
type state struct {
	present bool
	sum     [32]byte // sha256 of the content
	md5     [16]byte // its MD5, which a single-part PUT's ETag is
	size    int64
}

// etag is the ETag S3 gives a single-part PUT of the content.
func (s state) etag() string { return `"` + hex.EncodeToString(s.md5[:]) + `"` }

func (s state) String() string {
	if !s.present {
		return "absent"
	}
	return fmt.Sprintf("%d bytes sha256 %s", s.size, hex.EncodeToString(s.sum[:8]))
}

// op is one write to a key as the client saw it. A zero end means no
// acknowledgement arrived: the write was in flight at the kill (or
// failed), so it may or may not have taken effect.
type op struct {
	result     state // what the key holds if this op is the last to apply
	start, end time.Time
}

func (o *op) acked() bool { return !o.end.IsZero() }

// history records every write of one crash cycle, on top of the state the
// previous verification observed. It decides which states each key may
// legally hold after the crash.
//
// The rule is linearizability's: an op can be the key's final write unless
// some acknowledged op on the key started after it was acknowledged (that
// later op was then ordered after it by the server). An unacknowledged op
// may have applied at any point after its start, so it is always a
// candidate; the base state is a candidate only if no op on the key was
// acknowledged. Keys may be written by several writers at once: the rule
// does not need per-key ownership.
type history struct {
	mu   sync.Mutex
	base map[string]state // observed after the previous restart; missing = absent
	ops  map[string][]*op
}

func newHistory() *history {
	return &history{base: map[string]state{}, ops: map[string][]*op{}}
}

// begin records an op about to be sent. Its start is taken under the lock
// and before the request leaves, so it is never later than the real start.
func (h *history) begin(key string, result state) *op {
	h.mu.Lock()
	defer h.mu.Unlock()
	o := &op{result: result, start: time.Now()}
	h.ops[key] = append(h.ops[key], o)
	return o
}

// ack records that the server acknowledged o. The time is taken after the
// response arrived, so it is never earlier than the real acknowledgement.
func (h *history) ack(o *op) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	o.end = now
}

// keys returns every key that has a base state or an op, sorted.
func (h *history) keys() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[string]bool{}
	for k := range h.base {
		seen[k] = true
	}
	for k := range h.ops {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// known reports whether key was ever written or observed.
func (h *history) known(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, inBase := h.base[key]
	return inBase || len(h.ops[key]) > 0
}

// candidates returns the states key may hold after the crash.
func (h *history) candidates(key string) []state {
	h.mu.Lock()
	defer h.mu.Unlock()
	ops := h.ops[key]
	var lastAckStart time.Time
	anyAck := false
	for _, o := range ops {
		if o.acked() {
			anyAck = true
			if o.start.After(lastAckStart) {
				lastAckStart = o.start
			}
		}
	}
	var out []state
	if !anyAck {
		out = append(out, h.base[key])
	}
	for _, o := range ops {
		if !o.acked() || !o.end.Before(lastAckStart) {
			out = append(out, o.result)
		}
	}
	return out
}

// describe renders key's ops for a failure message.
func (h *history) describe(key string, epoch time.Time) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "base: %v", h.base[key])
	for _, o := range h.ops[key] {
		end := "unacknowledged"
		if o.acked() {
			end = o.end.Sub(epoch).String()
		}
		fmt.Fprintf(&b, "\n    %v: start %v end %v", o.result, o.start.Sub(epoch), end)
	}
	return b.String()
}

// rebase makes observed the base of the next cycle and forgets the ops.
func (h *history) rebase(observed map[string]state) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.base = map[string]state{}
	for k, s := range observed {
		if s.present {
			h.base[k] = s
		}
	}
	h.ops = map[string][]*op{}
}

// allowed reports whether got is one of the candidates.
func allowed(got state, cands []state) bool {
	for _, c := range cands {
		if c == got {
			return true
		}
	}
	return false
}

// TestCandidates checks the checker: a crash test whose model accepted
// every state could never fail.
func TestCandidates(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	v := func(b byte) state { return state{present: true, sum: [32]byte{b}, size: int64(b)} }
	base := v(9)
	absent := state{}
	for _, tc := range []struct {
		name string
		ops  []op
		want []state
		bad  []state
	}{
		{"no ops keeps base", nil, []state{base}, []state{absent, v(1)}},
		{"sequential acks: last wins",
			[]op{{v(1), at(0), at(1)}, {v(2), at(2), at(3)}},
			[]state{v(2)}, []state{base, v(1)}},
		{"overlapping acks: either",
			[]op{{v(1), at(0), at(3)}, {v(2), at(1), at(2)}},
			[]state{v(1), v(2)}, []state{base}},
		{"in flight after ack: old or new",
			[]op{{v(1), at(0), at(1)}, {v(2), at(2), time.Time{}}},
			[]state{v(1), v(2)}, []state{base}},
		{"only in flight: base or new",
			[]op{{v(1), at(0), time.Time{}}},
			[]state{base, v(1)}, []state{absent}},
		{"acked delete",
			[]op{{v(1), at(0), at(1)}, {absent, at(2), at(3)}},
			[]state{absent}, []state{base, v(1)}},
		{"in-flight op before a later ack may still apply",
			[]op{{v(1), at(0), time.Time{}}, {v(2), at(5), at(6)}},
			[]state{v(1), v(2)}, []state{base}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHistory()
			h.base["k"] = base
			for i := range tc.ops {
				h.ops["k"] = append(h.ops["k"], &tc.ops[i])
			}
			c := h.candidates("k")
			for _, s := range tc.want {
				if !allowed(s, c) {
					t.Errorf("%v not allowed; candidates %v", s, c)
				}
			}
			for _, s := range tc.bad {
				if allowed(s, c) {
					t.Errorf("%v allowed; candidates %v", s, c)
				}
			}
		})
	}
}
