package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cofferstore/coffer/internal/lifecycle"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// Bucket config names the lifecycle worker reads and writes.
const (
	LifecycleConfig = lifecycle.ConfigName // the rules, as lifecycle.Configuration.Bytes
	lifecycleCursor = "lifecycle-cursor"   // where an interrupted scan resumes
)

// Lifecycle applies buckets' lifecycle rules: it scans every version under
// the rules' prefixes, asks package lifecycle what is due and deletes
// through the object service, so that object lock, events and blob release
// work as for any other delete. A scan that is interrupted (stop, crash,
// error) resumes at the last key it finished, from a cursor kept in the
// bucket's configs.
type Lifecycle struct {
	Objects *object.Service
	Log     *slog.Logger
	// Day is how long a lifecycle day lasts; 0 means 24h. Tests shorten it.
	Day time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	progress LifecycleProgress
}

// LifecycleProgress is what the current (or last) pass has done.
type LifecycleProgress struct {
	Bucket   string `json:"bucket,omitempty"`
	Key      string `json:"key,omitempty"` // last key finished
	Scanned  int    `json:"scanned"`       // versions looked at this pass
	Expired  int    `json:"expired"`       // deletes made this pass
	Aborted  int    `json:"aborted"`       // uploads aborted this pass
	Skipped  int    `json:"skipped"`       // deletes refused (object lock, a concurrent change)
	Finished bool   `json:"finished"`
}

// cursor is where a bucket's interrupted scan resumes.
type cursor struct {
	Prefix int    `json:"prefix"` // index into ScanPrefixes
	After  string `json:"after"`  // last key finished
}

// Job returns the worker's job for a Runner.
func (l *Lifecycle) Job(every time.Duration) Job {
	return Job{Name: "lifecycle", Every: every, Run: l.Run, Progress: l.Progress}
}

// Progress describes the current pass for health reports.
func (l *Lifecycle) Progress() string {
	l.mu.Lock()
	p := l.progress
	l.mu.Unlock()
	b, _ := json.Marshal(p) // a struct of strings and ints always marshals
	return string(b)
}

func (l *Lifecycle) update(fn func(*LifecycleProgress)) {
	l.mu.Lock()
	fn(&l.progress)
	l.mu.Unlock()
}

func (l *Lifecycle) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Lifecycle) day() time.Duration {
	if l.Day <= 0 {
		return lifecycle.DefaultDay
	}
	return l.Day
}

// Run makes one pass over every bucket with lifecycle rules.
func (l *Lifecycle) Run(ctx context.Context) error {
	l.update(func(p *LifecycleProgress) { *p = LifecycleProgress{} })
	buckets, err := l.Objects.Buckets(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range buckets {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := l.runBucket(ctx, b.Name); err != nil && !errors.Is(err, meta.ErrBucketNotFound) {
			errs = append(errs, fmt.Errorf("lifecycle of %s: %w", b.Name, err))
		}
	}
	l.update(func(p *LifecycleProgress) { p.Finished = true })
	return errors.Join(errs...)
}

func (l *Lifecycle) runBucket(ctx context.Context, bucket string) error {
	data, err := l.Objects.BucketConfig(ctx, bucket, LifecycleConfig)
	if errors.Is(err, meta.ErrConfigNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	cfg, err := lifecycle.Parse(data)
	if err != nil {
		return fmt.Errorf("stored configuration: %w", err)
	}
	l.update(func(p *LifecycleProgress) { p.Bucket, p.Key = bucket, "" })
	if err := l.abortUploads(ctx, bucket, cfg); err != nil {
		return err
	}
	var cur cursor
	if raw, err := l.Objects.BucketConfig(ctx, bucket, lifecycleCursor); err == nil {
		if json.Unmarshal(raw, &cur) != nil {
			cur = cursor{} // a bad cursor costs a rescan, nothing else
		}
	} else if !errors.Is(err, meta.ErrConfigNotFound) {
		return err
	}
	prefixes := cfg.ScanPrefixes()
	for i := cur.Prefix; i < len(prefixes); i++ {
		after := ""
		if i == cur.Prefix {
			after = cur.After
		}
		if err := l.scan(ctx, bucket, cfg, i, prefixes[i], after); err != nil {
			return err
		}
	}
	return l.Objects.DeleteBucketConfig(ctx, bucket, lifecycleCursor)
}

// scan walks the versions under prefix after the key after, one key at a
// time (a key's versions may straddle pages), and saves the cursor after
// every page.
func (l *Lifecycle) scan(ctx context.Context, bucket string, cfg *lifecycle.Configuration, idx int, prefix, after string) error {
	opts := meta.VersionListOptions{Prefix: prefix, KeyMarker: after, Limit: 1000}
	var key string
	var versions []meta.Object
	flush := func() error {
		if len(versions) == 0 {
			return nil
		}
		err := l.applyKey(ctx, bucket, cfg, key, versions)
		versions = versions[:0]
		return err
	}
	for {
		page, err := l.Objects.ListObjectVersions(ctx, bucket, opts)
		if err != nil {
			return err
		}
		for _, v := range page.Versions {
			if v.Key != key {
				if err := flush(); err != nil {
					return err
				}
				key = v.Key
			}
			versions = append(versions, v)
		}
		l.update(func(p *LifecycleProgress) { p.Scanned += len(page.Versions) })
		if !page.Truncated {
			return flush()
		}
		opts.KeyMarker, opts.VersionIDMarker = page.NextKeyMarker, page.NextVersionIDMarker
		// Everything before the current key is finished: resume there.
		if err := l.saveCursor(ctx, bucket, cursor{Prefix: idx, After: lastDone(page, key)}); err != nil {
			return err
		}
	}
}

// lastDone is the last key of the page whose versions are all processed:
// the key before cur, or the previous cursor when the page held only cur.
func lastDone(page meta.VersionPage, cur string) string {
	for i := len(page.Versions) - 1; i >= 0; i-- {
		if page.Versions[i].Key != cur {
			return page.Versions[i].Key
		}
	}
	return ""
}

func (l *Lifecycle) saveCursor(ctx context.Context, bucket string, c cursor) error {
	if c.After == "" {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return l.Objects.PutBucketConfig(ctx, bucket, lifecycleCursor, b)
}

// applyKey decides and carries out the actions on one key's versions.
func (l *Lifecycle) applyKey(ctx context.Context, bucket string, cfg *lifecycle.Configuration, key string, versions []meta.Object) error {
	in := make([]lifecycle.Version, len(versions))
	for i, v := range versions {
		in[i] = lifecycle.Version{VersionID: v.VersionID, IsLatest: v.IsLatest, DeleteMarker: v.DeleteMarker,
			Modified: v.Modified, Size: v.Size, Tags: v.Tags}
		if i > 0 {
			in[i].NoncurrentSince = versions[i-1].Modified
		}
	}
	byID := make(map[string]*meta.Object, len(versions))
	for i := range versions {
		byID[versions[i].VersionID] = &versions[i]
	}
	for _, a := range cfg.EvaluateKey(key, in, l.now(), l.day()) {
		del := object.DeleteInput{Bucket: bucket, Key: key, Lifecycle: true}
		if a.Kind == lifecycle.ExpireCurrent {
			// The current version must still be the one judged: a newer
			// write since the listing is not due.
			del.Cond = &meta.Condition{IfMatch: byID[a.VersionID].ETag}
		} else {
			del.VersionID = a.VersionID
		}
		_, err := l.Objects.DeleteObject(ctx, del)
		switch {
		case err == nil:
			l.update(func(p *LifecycleProgress) { p.Expired++ })
		case errors.Is(err, meta.ErrLocked), errors.Is(err, meta.ErrPreconditionFailed), errors.Is(err, object.ErrNoSuchKey):
			l.update(func(p *LifecycleProgress) { p.Skipped++ })
			l.logger().DebugContext(ctx, "lifecycle action skipped", "bucket", bucket, "key", key,
				"version", a.VersionID, "rule", a.RuleID, "err", err)
		default:
			return fmt.Errorf("rule %s on %s: %w", a.RuleID, key, err)
		}
	}
	l.update(func(p *LifecycleProgress) { p.Key = key })
	return nil
}

// abortUploads aborts the bucket's uploads that a rule says are abandoned.
func (l *Lifecycle) abortUploads(ctx context.Context, bucket string, cfg *lifecycle.Configuration) error {
	for _, prefix := range cfg.UploadPrefixes() {
		opts := meta.UploadListOptions{Prefix: prefix, Limit: 1000}
		for {
			page, err := l.Objects.ListUploads(ctx, bucket, opts)
			if err != nil {
				return err
			}
			for _, u := range page.Uploads {
				if _, ok := cfg.AbortUpload(u.Object.Key, u.Initiated, l.now(), l.day()); !ok {
					continue
				}
				err := l.Objects.AbortUpload(ctx, bucket, u.Object.Key, u.ID)
				if err != nil && !errors.Is(err, object.ErrNoSuchUpload) {
					return err
				}
				if err == nil {
					l.update(func(p *LifecycleProgress) { p.Aborted++ })
				}
			}
			if !page.Truncated {
				break
			}
			opts.KeyMarker, opts.UploadIDMarker = page.NextKeyMarker, page.NextUploadIDMarker
		}
	}
	return nil
}

func (l *Lifecycle) logger() *slog.Logger {
	if l.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Log
}
