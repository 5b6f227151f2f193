package lifecycle

import (
	"math"
	"sort"
	"strings"
	"time"
)

// Version is what a decision needs to know about one version of a key; the
// worker fills it from a meta.Object of ListObjectVersions.
type Version struct {
	VersionID    string
	IsLatest     bool
	DeleteMarker bool
	Modified     time.Time
	Size         int64
	Tags         map[string]string
	// NoncurrentSince is when the version stopped being current: the
	// Modified of the next newer version. Zero for the latest version;
	// when zero on an older one EvaluateKey takes it from its neighbour.
	NoncurrentSince time.Time
}

// ActionKind says what to do with a version.
type ActionKind int

const (
	// ExpireCurrent is a DELETE without a version id on the key: in a
	// versioned bucket it adds a delete marker (the data stays, noncurrent);
	// in an unversioned bucket it removes the object.
	ExpireCurrent ActionKind = iota + 1
	// DeleteVersion permanently removes one noncurrent version (or
	// noncurrent delete marker) by its id.
	DeleteVersion
	// DeleteMarker removes, by its id, a delete marker that is the only
	// version of its key (an expired object delete marker).
	DeleteMarker
)

func (k ActionKind) String() string {
	switch k {
	case ExpireCurrent:
		return "ExpireCurrent"
	case DeleteVersion:
		return "DeleteVersion"
	case DeleteMarker:
		return "DeleteMarker"
	}
	return "ActionKind(?)"
}

// Action is a decision about one version: what to do and which rule asked.
type Action struct {
	VersionID string
	Kind      ActionKind
	RuleID    string
}

// DefaultDay is the length of a lifecycle day outside tests.
const DefaultDay = 24 * time.Hour

// selector is what a rule's filter asks of a version, whichever XML form
// it was written in.
type selector struct {
	prefix string
	tags   []Tag
	gt, lt *int64
}

func (r *Rule) selector() selector {
	switch {
	case r.Prefix != nil:
		return selector{prefix: *r.Prefix}
	case r.Filter == nil:
		return selector{}
	}
	f := r.Filter
	s := selector{gt: f.ObjectSizeGreaterThan, lt: f.ObjectSizeLessThan}
	if f.Prefix != nil {
		s.prefix = *f.Prefix
	}
	if f.Tag != nil {
		s.tags = []Tag{*f.Tag}
	}
	if a := f.And; a != nil {
		if a.Prefix != nil {
			s.prefix = *a.Prefix
		}
		s.tags = a.Tags
		s.gt, s.lt = a.ObjectSizeGreaterThan, a.ObjectSizeLessThan
	}
	return s
}

func (s selector) hasSize() bool { return s.gt != nil || s.lt != nil }

// matchVersion applies the tag and size predicates. A delete marker has no
// tags and no size, so a rule that asks for either never selects one.
func (s selector) matchVersion(v *Version) bool {
	if v.DeleteMarker {
		return len(s.tags) == 0 && !s.hasSize()
	}
	for _, t := range s.tags {
		got, ok := v.Tags[t.Key]
		if !ok || got != t.Value {
			return false
		}
	}
	if s.gt != nil && v.Size <= *s.gt {
		return false
	}
	if s.lt != nil && v.Size >= *s.lt {
		return false
	}
	return true
}

// addDays is when something that started at t is days old. With a 24h day
// S3 rounds up to the next midnight UTC; with any other length (tests) the
// sum is taken as is. ok is false when the sum is beyond time.Time's range,
// that is never.
func addDays(t time.Time, days int, day time.Duration) (due time.Time, ok bool) {
	if day <= 0 {
		day = DefaultDay
	}
	if days > 0 && int64(days) > math.MaxInt64/int64(day) {
		return time.Time{}, false
	}
	due = t.Add(time.Duration(days) * day)
	if day == DefaultDay {
		due = due.UTC()
		if m := due.Truncate(DefaultDay); m.Before(due) {
			due = m.Add(DefaultDay)
		}
	}
	return due, true
}

// candidate tracks the rule whose action falls due first: when several
// rules ask for the same thing, the shortest lifetime wins, as S3 resolves
// overlapping expirations.
type candidate struct {
	due    time.Time
	ruleID string
	found  bool
}

func (c *candidate) offer(due time.Time, ruleID string) {
	if !c.found || due.Before(c.due) {
		*c = candidate{due: due, ruleID: ruleID, found: true}
	}
}

// EvaluateKey decides what lifecycle does now with the versions of key:
// versions are ALL the versions of the key, newest first, delete markers
// included (an unversioned bucket has one). It returns at most one Action
// per version, in the order of versions; nil when nothing is due.
//
//   - Expiration (Days or Date) applies to the latest version only. A data
//     version gets ExpireCurrent. A latest delete marker is left alone while
//     other versions exist; when it is the only version it is an expired
//     object delete marker and gets DeleteMarker, at once under
//     ExpiredObjectDeleteMarker and when old enough under Days or Date.
//   - NoncurrentVersionExpiration removes a noncurrent version (data or
//     delete marker) NoncurrentDays after NoncurrentSince, unless fewer than
//     NewerNoncurrentVersions noncurrent data versions are newer than it:
//     the newest N noncurrent objects are kept whatever their age. Delete
//     markers do not take one of the N places.
//   - Disabled rules and rules whose filter does not match do nothing.
//     Tag and size predicates never match a delete marker.
//   - When several rules apply to a version, the one due first names the
//     action (S3 honours the shorter expiration).
//
// Each decision is taken on the versions as given: a version that this
// pass makes noncurrent, or a marker that this pass's deletions leave as
// the only version, is seen as such at the next pass. That keeps every action safe to apply
// on its own (a marker is never removed while a version it hides still
// exists, whatever happened to the other actions). Actions on versions
// protected by object lock must be skipped by the caller (the store
// refuses them with ErrLocked).
func (c *Configuration) EvaluateKey(key string, versions []Version, now time.Time, day time.Duration) []Action {
	type applicable struct {
		rule *Rule
		sel  selector
	}
	var rules []applicable
	for i := range c.Rules {
		r := &c.Rules[i]
		if !r.Enabled() {
			continue
		}
		sel := r.selector()
		if !strings.HasPrefix(key, sel.prefix) {
			continue
		}
		rules = append(rules, applicable{r, sel})
	}
	if len(rules) == 0 {
		return nil
	}
	var actions []Action
	newerNoncurrent := 0 // noncurrent data versions newer than the one at hand
	for i := range versions {
		v := &versions[i]
		var best candidate
		var kind ActionKind
		switch {
		case v.IsLatest && !v.DeleteMarker:
			kind = ExpireCurrent
			for _, a := range rules {
				if due, ok := expirationDue(a.rule.Expiration, v.Modified, day); ok && a.sel.matchVersion(v) && !now.Before(due) {
					best.offer(due, a.rule.ID)
				}
			}
		case v.IsLatest:
			if len(versions) != 1 {
				break
			}
			kind = DeleteMarker
			for _, a := range rules {
				e := a.rule.Expiration
				if e == nil || !a.sel.matchVersion(v) {
					continue
				}
				if e.ExpiredObjectDeleteMarker {
					best.offer(v.Modified, a.rule.ID)
				} else if due, ok := expirationDue(e, v.Modified, day); ok && !now.Before(due) {
					best.offer(due, a.rule.ID)
				}
			}
		default:
			kind = DeleteVersion
			since := v.NoncurrentSince
			if since.IsZero() && i > 0 {
				since = versions[i-1].Modified
			}
			for _, a := range rules {
				n := a.rule.NoncurrentVersionExpiration
				// Without a time it became noncurrent (a list that does not
				// start at the latest version) there is nothing to count from.
				if n == nil || since.IsZero() || newerNoncurrent < n.NewerNoncurrentVersions || !a.sel.matchVersion(v) {
					continue
				}
				if due, ok := addDays(since, n.NoncurrentDays, day); ok && !now.Before(due) {
					best.offer(due, a.rule.ID)
				}
			}
			if !v.DeleteMarker {
				newerNoncurrent++
			}
		}
		if best.found {
			actions = append(actions, Action{VersionID: v.VersionID, Kind: kind, RuleID: best.ruleID})
		}
	}
	return actions
}

// expirationDue is when an Expiration with Days or Date falls due for a
// version created at modified; ok is false when it has neither.
func expirationDue(e *Expiration, modified time.Time, day time.Duration) (time.Time, bool) {
	switch {
	case e == nil:
		return time.Time{}, false
	case e.Days > 0:
		return addDays(modified, e.Days, day)
	case !e.Date.IsZero():
		return e.Date, true
	}
	return time.Time{}, false
}

// AbortUpload decides whether the incomplete multipart upload of key
// initiated at initiated is to be aborted now, and names the rule (the one
// due first when several apply). Uploads have no tags or size, so only
// rules selecting by prefix alone apply (Parse refuses the others).
func (c *Configuration) AbortUpload(key string, initiated, now time.Time, day time.Duration) (ruleID string, ok bool) {
	var best candidate
	for i := range c.Rules {
		r := &c.Rules[i]
		a := r.AbortIncompleteMultipartUpload
		if a == nil || !r.Enabled() {
			continue
		}
		sel := r.selector()
		if len(sel.tags) > 0 || sel.hasSize() || !strings.HasPrefix(key, sel.prefix) {
			continue
		}
		if due, ok := addDays(initiated, a.DaysAfterInitiation, day); ok && !now.Before(due) {
			best.offer(due, r.ID)
		}
	}
	return best.ruleID, best.found
}

// ScanPrefixes are the key prefixes whose versions EvaluateKey may act on:
// a worker needs to list only keys under them. [""] means the whole bucket;
// nil means no enabled rule acts on objects.
func (c *Configuration) ScanPrefixes() []string {
	return c.prefixes(func(r *Rule) bool {
		e := r.Expiration
		return r.NoncurrentVersionExpiration != nil ||
			e != nil && (e.Days > 0 || !e.Date.IsZero() || e.ExpiredObjectDeleteMarker)
	})
}

// UploadPrefixes are the key prefixes under which AbortUpload may abort
// uploads; nil when no enabled rule aborts any.
func (c *Configuration) UploadPrefixes() []string {
	return c.prefixes(func(r *Rule) bool { return r.AbortIncompleteMultipartUpload != nil })
}

// prefixes returns the smallest set of prefixes covering the enabled rules
// that acts selects: a prefix another one covers is dropped.
func (c *Configuration) prefixes(acts func(*Rule) bool) []string {
	var all []string
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.Enabled() && acts(r) {
			all = append(all, r.selector().prefix)
		}
	}
	sort.Strings(all)
	var out []string
	for _, p := range all {
		// Sorted, a prefix that covers p is the last one kept if any.
		if n := len(out); n > 0 && strings.HasPrefix(p, out[n-1]) {
			continue
		}
		out = append(out, p)
	}
	return out
}
