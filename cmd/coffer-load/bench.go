package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Operation kinds; mixed runs get and put.
const (
	opPut  = "put"
	opGet  = "get"
	opList = "list"
)

// bench runs one load test.
type bench struct {
	cfg     config
	c       *client
	buf     []byte   // shared, read-only payload source
	objects []string // prepared keys for get and mixed
	runID   string   // keeps put keys of concurrent runs apart

	issued atomic.Int64 // operations started, for -count
	pick   atomic.Int64 // mixed: chooses get or put
	putSeq atomic.Int64 // numbers put keys
	getSeq atomic.Int64 // spreads gets over the prepared objects

	errMu   sync.Mutex
	samples []string
}

const maxErrorSamples = 5

func newBench(cfg config) *bench {
	var raw [4]byte
	rand.Read(raw[:])
	b := &bench{cfg: cfg, c: newClient(cfg), runID: hex.EncodeToString(raw[:])}
	if cfg.op != opList {
		b.buf = newPayloadBuf(max(cfg.size, 1))
	}
	return b
}

func (b *bench) getPrefix() string  { return fmt.Sprintf("%sget-%d/", b.cfg.prefix, b.cfg.size) }
func (b *bench) listPrefix() string { return b.cfg.prefix + "list/" }

// prepare creates the bucket and whatever objects the operation reads,
// skipping those a previous run left with the right size.
func (b *bench) prepare(ctx context.Context) error {
	if err := b.c.ensureBucket(ctx, b.cfg.bucket); err != nil {
		return err
	}
	var prefix string
	var size int64
	switch b.cfg.op {
	case opGet, "mixed":
		prefix, size = b.getPrefix(), b.cfg.size
	case opList:
		prefix, size = b.listPrefix(), 0
	default:
		return nil
	}
	keys := make([]string, b.cfg.objects)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%08d", prefix, i)
	}
	existing := map[string]int64{}
	l := &lister{c: b.c}
	if _, err := l.listAll(ctx, b.cfg.bucket, prefix, func(k listedKey) { existing[k.key] = k.size }); err != nil {
		return fmt.Errorf("listing prepared objects: %w", err)
	}
	var todo []string
	for _, k := range keys {
		if n, ok := existing[k]; !ok || n != size {
			todo = append(todo, k)
		}
	}
	if b.cfg.op != opList {
		b.objects = keys
	}
	var next atomic.Int64
	errs := make(chan error, b.cfg.concurrency)
	var wg sync.WaitGroup
	for range min(b.cfg.concurrency, len(todo)) {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(todo)) {
					return
				}
				if err := b.c.putObject(ctx, b.cfg.bucket, todo[i], b.payloadFor(size), size); err != nil {
					errs <- fmt.Errorf("preparing objects: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func (b *bench) payloadFor(size int64) []byte {
	if size == 0 {
		return nil
	}
	if b.buf == nil {
		b.buf = newPayloadBuf(size)
	}
	return b.buf
}

// take reports whether another operation may start: within the count
// bound, before the deadline and while ctx is live.
func (b *bench) take(ctx context.Context, deadline time.Time) bool {
	if ctx.Err() != nil || (!deadline.IsZero() && !time.Now().Before(deadline)) {
		return false
	}
	return b.cfg.count == 0 || b.issued.Add(1) <= b.cfg.count
}

func (b *bench) recordError(err error) {
	b.errMu.Lock()
	defer b.errMu.Unlock()
	if len(b.samples) < maxErrorSamples {
		b.samples = append(b.samples, err.Error())
	}
}

// worker runs operations until take says stop. Requests are not bound to
// the deadline, so the last ones finish instead of counting as errors.
func (b *bench) worker(ctx context.Context, deadline time.Time, stats map[string]*opStats) {
	l := &lister{c: b.c}
	for b.take(ctx, deadline) {
		kind := b.cfg.op
		if kind == "mixed" {
			kind = opGet
			if b.pick.Add(1)%10 < 3 {
				kind = opPut
			}
		}
		st := stats[kind]
		start := time.Now()
		var n, keys int64
		var err error
		switch kind {
		case opPut:
			key := fmt.Sprintf("%sput/%s/%d", b.cfg.prefix, b.runID, b.putSeq.Add(1))
			err = b.c.putObject(ctx, b.cfg.bucket, key, b.buf, b.cfg.size)
			n = b.cfg.size
		case opMultipart:
			key := fmt.Sprintf("%smultipart/%s/%d", b.cfg.prefix, b.runID, b.putSeq.Add(1))
			err = b.c.multipartUpload(ctx, b.cfg.bucket, key, b.buf, b.cfg.size, b.cfg.partSize, b.cfg.partConc)
			n = b.cfg.size
		case opGet:
			n, err = b.c.getObject(ctx, b.cfg.bucket, b.objects[(b.getSeq.Add(1)-1)%int64(len(b.objects))], b.cfg.size)
		case opList:
			keys, err = l.listAll(ctx, b.cfg.bucket, b.listPrefix(), nil)
			if err == nil && keys < int64(b.cfg.objects) {
				err = fmt.Errorf("listing found %d keys, want at least %d: %w", keys, b.cfg.objects, errBadList)
			}
		}
		elapsed := time.Since(start)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return // interrupted: not the server's error
			}
			st.errors++
			b.recordError(err)
			continue
		}
		st.ops++
		st.bytes += n
		st.keys += keys
		st.latencies = append(st.latencies, elapsed)
	}
}

// run executes the timed phase and returns the result.
func (b *bench) run(ctx context.Context) Result {
	kinds := []string{b.cfg.op}
	if b.cfg.op == "mixed" {
		kinds = []string{opGet, opPut}
	}
	var deadline time.Time
	all := make([]map[string]*opStats, b.cfg.concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	if b.cfg.duration > 0 {
		deadline = start.Add(b.cfg.duration)
	}
	for w := range all {
		all[w] = map[string]*opStats{}
		for _, k := range kinds {
			all[w][k] = &opStats{latencies: make([]time.Duration, 0, 1024)}
		}
		wg.Go(func() { b.worker(ctx, deadline, all[w]) })
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := Result{
		Endpoint: b.cfg.endpoint.String(), Bucket: b.cfg.bucket, Op: b.cfg.op,
		Size: b.cfg.size, SizeText: formatSize(b.cfg.size), Concurrency: b.cfg.concurrency,
		Objects: b.cfg.objects, ElapsedSec: elapsed.Seconds(), ErrorSamples: b.samples,
	}
	total := &opStats{}
	for _, k := range kinds {
		merged := &opStats{}
		for _, w := range all {
			merged.merge(w[k])
		}
		total.merge(merged)
		if len(kinds) > 1 {
			if res.ByOp == nil {
				res.ByOp = map[string]OpResult{}
			}
			res.ByOp[k] = summarize(merged, elapsed)
		}
	}
	res.OpResult = summarize(total, elapsed)
	return res
}
