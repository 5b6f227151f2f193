package iam

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/policy"
)

// Records is the part of the metadata store IAM keeps its documents in;
// every meta.Store implements it. The contract is meta.Records': a write
// names the revision it expects (meta.RevNew creates, failing with
// meta.ErrConflict when the record exists; a positive revision replaces
// exactly that one, meta.ErrConflict otherwise), a missing record is
// meta.ErrRecordNotFound, deleting a missing one is an error, and every
// write is durable when it returns.
type Records interface {
	PutRecord(ctx context.Context, r meta.Record) (int64, error)
	GetRecord(ctx context.Context, kind, id string) (meta.Record, error)
	DeleteRecord(ctx context.Context, kind, id string, rev int64) error
	ListRecords(ctx context.Context, kind, after string, limit int) ([]meta.Record, error)
}

// Record kinds. The "iam." prefix keeps them apart from other users of
// Records (leases, sessions...).
const (
	kindUser   = "iam.user"
	kindGroup  = "iam.group"
	kindKey    = "iam.key"
	kindPolicy = "iam.policy"
	kindToken  = "iam.token"
	kindMeta   = "iam.meta"
)

// maxRetries bounds optimistic-concurrency retries; contention on one
// identity document is rare (administrators), so running out means
// something is wrong.
const maxRetries = 16

// getRecord decodes a record into v and returns its revision.
func (m *IAM) getRecord(ctx context.Context, kind, id string, v any) (int64, error) {
	rec, err := m.store.GetRecord(ctx, kind, id)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(rec.Data, v); err != nil {
		return 0, fmt.Errorf("decoding %s %q: %w", kind, id, err)
	}
	return rec.Rev, nil
}

// createRecord stores v as a new record; meta.ErrConflict when one exists.
func (m *IAM) createRecord(ctx context.Context, kind, id string, v any, expires time.Time) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = m.store.PutRecord(ctx, meta.Record{Kind: kind, ID: id, Data: data, Rev: meta.RevNew, Expires: expires})
	return err
}

// listRecords decodes every record of a kind, in id order.
func listRecords[T any](ctx context.Context, m *IAM, kind string) ([]T, error) {
	var out []T
	after := ""
	for {
		page, err := m.store.ListRecords(ctx, kind, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", kind, err)
		}
		for _, rec := range page {
			var v T
			if err := json.Unmarshal(rec.Data, &v); err != nil {
				return nil, fmt.Errorf("decoding %s %q: %w", kind, rec.ID, err)
			}
			out = append(out, v)
		}
		if len(page) < 1000 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// modify applies fn to a record and writes it back under the revision it
// read, retrying when another writer got there first. fn must be free of
// side effects (it may run several times). meta.ErrRecordNotFound when the
// record is missing or disappears meanwhile.
func modify[T any](ctx context.Context, m *IAM, kind, id string, fn func(*T) error) (T, error) {
	var zero T
	for range maxRetries {
		rec, err := m.store.GetRecord(ctx, kind, id)
		if err != nil {
			return zero, err
		}
		var v T
		if err := json.Unmarshal(rec.Data, &v); err != nil {
			return zero, fmt.Errorf("decoding %s %q: %w", kind, id, err)
		}
		if err := fn(&v); err != nil {
			return zero, err
		}
		data, err := json.Marshal(v)
		if err != nil {
			return zero, err
		}
		_, err = m.store.PutRecord(ctx, meta.Record{Kind: kind, ID: id, Data: data, Rev: rec.Rev, Expires: rec.Expires})
		if errors.Is(err, meta.ErrConflict) {
			continue
		}
		if err != nil {
			return zero, err
		}
		m.invalidate()
		return v, nil
	}
	return zero, fmt.Errorf("updating %s %q: too much contention: %w", kind, id, meta.ErrConflict)
}

// deleteRecord removes a record whatever its revision; a missing record is
// meta.ErrRecordNotFound.
func (m *IAM) deleteRecord(ctx context.Context, kind, id string) error {
	err := m.store.DeleteRecord(ctx, kind, id, meta.RevAny)
	if err == nil {
		m.invalidate()
	}
	return err
}

// notFound translates the store's missing-record error into the domain
// sentinel, leaving other errors as they are.
func notFound(err, sentinel error) error {
	if errors.Is(err, meta.ErrRecordNotFound) {
		return sentinel
	}
	return err
}

// ttlCache remembers lookups for a short time. Its size is bounded: when
// full it starts over, which costs some store reads and nothing else (a
// flood of unknown access keys cannot grow it).
type ttlCache[T any] struct {
	mu  sync.Mutex
	ttl time.Duration
	now func() time.Time
	m   map[string]cacheEntry[T]
}

type cacheEntry[T any] struct {
	v   T
	err error
	at  time.Time
}

const maxCacheEntries = 10000

func newTTLCache[T any](ttl time.Duration, now func() time.Time) *ttlCache[T] {
	return &ttlCache[T]{ttl: ttl, now: now, m: map[string]cacheEntry[T]{}}
}

func (c *ttlCache[T]) get(key string) (T, error, bool) {
	var zero T
	if c == nil || c.ttl <= 0 {
		return zero, nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || c.now().Sub(e.at) >= c.ttl {
		return zero, nil, false
	}
	return e.v, e.err, true
}

func (c *ttlCache[T]) put(key string, v T, err error) {
	if c == nil || c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCacheEntries {
		clear(c.m)
	}
	c.m[key] = cacheEntry[T]{v: v, err: err, at: c.now()}
}

func (c *ttlCache[T]) clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// compiled is a parsed policy document.
type compiled struct {
	p *policy.Policy
	// tags reports that the document names s3:ExistingObjectTag, so that
	// Authorize reads an object's tags only when a policy may look at them.
	tags bool
}

// policyCache keeps parsed documents by content hash: a stored document
// changes only by being replaced, so an entry can never be stale.
type policyCache struct {
	mu sync.Mutex
	m  map[[32]byte]*compiled
}

func newPolicyCache() *policyCache { return &policyCache{m: map[[32]byte]*compiled{}} }

func (c *policyCache) parse(doc []byte) (*compiled, error) {
	sum := sha256.Sum256(doc)
	c.mu.Lock()
	p, ok := c.m[sum]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	pp, err := policy.Parse(doc)
	if err != nil {
		return nil, err
	}
	// The canonical form spells every condition key literally (the raw
	// document might escape letters as \u0045...).
	canon, err := pp.MarshalJSON()
	if err != nil {
		return nil, err
	}
	p = &compiled{p: pp, tags: bytes.Contains(bytes.ToLower(canon), []byte("s3:existingobjecttag/"))}
	c.mu.Lock()
	if len(c.m) >= 1000 {
		clear(c.m)
	}
	c.m[sum] = p
	c.mu.Unlock()
	return p, nil
}
