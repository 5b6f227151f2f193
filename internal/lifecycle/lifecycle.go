// Package lifecycle is S3 bucket lifecycle configuration: the XML of
// Put/GetBucketLifecycleConfiguration, its validation the way S3 does it,
// and the decision of what to do with each version of a key and with each
// incomplete multipart upload. It is pure: no I/O, no clock of its own. The
// worker that applies the decisions lists versions and uploads, asks
// EvaluateKey and AbortUpload, and carries out the Actions.
//
// Coffer has one storage class, so Transition and NoncurrentVersionTransition
// are parsed and refused with ErrNotImplemented.
//
// # Errors
//
// Parse returns an *Error whose Kind is one of the sentinels below; the S3
// layer is expected to map them in its one table:
//
//	ErrMalformedXML    -> 400 MalformedXML (S3 always sends its fixed schema
//	                      message; Error.Message says why, for the log)
//	ErrInvalidArgument -> 400 InvalidArgument, message Error.Message
//	ErrInvalidRequest  -> 400 InvalidRequest, message Error.Message
//	ErrNotImplemented  -> 501 NotImplemented, message Error.Message
//
// A bucket without a configuration is the store's ErrConfigNotFound, which
// GetBucketLifecycleConfiguration answers with 404 NoSuchLifecycleConfiguration.
//
// # Days
//
// S3 counts a lifecycle day from an object's creation (or, for noncurrent
// versions, from when it became noncurrent) and rounds the result up to the
// next midnight UTC: an object created 2014-01-15 10:30 UTC with Days 3
// expires at 2014-01-19 00:00 UTC. The decision functions take the length
// of a day as a parameter so that tests can make a day last seconds; with
// any length other than 24h the due time is the start plus Days times that
// length, without rounding, because a midnight means nothing at that scale.
// A Date is an absolute instant and is not scaled.
package lifecycle

import (
	"errors"
	"time"
)

// Sentinels for validation failures; every error Parse returns is an *Error
// wrapping one of them.
var (
	ErrMalformedXML    = errors.New("malformed lifecycle XML")
	ErrInvalidArgument = errors.New("invalid lifecycle argument")
	ErrInvalidRequest  = errors.New("invalid lifecycle request")
	ErrNotImplemented  = errors.New("lifecycle feature not implemented")
)

// Error is a refused configuration: Kind is one of the sentinels and
// Message is the text S3 sends for that case.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }

// Unwrap lets errors.Is match the Kind.
func (e *Error) Unwrap() error { return e.Kind }

func malformed(msg string) error      { return &Error{Kind: ErrMalformedXML, Message: msg} }
func invalidArg(msg string) error     { return &Error{Kind: ErrInvalidArgument, Message: msg} }
func invalidReq(msg string) error     { return &Error{Kind: ErrInvalidRequest, Message: msg} }
func notImplemented(msg string) error { return &Error{Kind: ErrNotImplemented, Message: msg} }

// Limits S3 documents for a lifecycle configuration.
const (
	MaxRules    = 1000
	MaxIDLength = 255
	// MaxNewerNoncurrentVersions is the most noncurrent versions a rule can
	// keep.
	MaxNewerNoncurrentVersions = 100
	// MaxSize bounds the XML body Parse accepts; the S3 layer should stop
	// reading there. 1000 rules with long prefixes and ten tags each fit.
	MaxSize = 4 << 20
)

// Rule statuses.
const (
	StatusEnabled  = "Enabled"
	StatusDisabled = "Disabled"
)

// Configuration is a bucket's LifecycleConfiguration. Parse builds valid
// ones; one built by hand should pass Validate before it is stored.
type Configuration struct {
	Rules []Rule
}

// Rule is one lifecycle rule. It selects keys either with the legacy
// rule-level Prefix or with Filter (at most one of them; neither selects
// the whole bucket) and holds at least one action.
type Rule struct {
	// ID is unique within the configuration; Parse assigns a random one
	// when the rule has none, as S3 does.
	ID     string
	Status string // StatusEnabled or StatusDisabled

	// Prefix is the deprecated rule-level prefix.
	Prefix *string
	Filter *Filter

	Expiration                     *Expiration
	NoncurrentVersionExpiration    *NoncurrentVersionExpiration
	AbortIncompleteMultipartUpload *AbortIncompleteMultipartUpload
}

// Filter is a rule's Filter element: empty (every object) or exactly one of
// its fields. Pointers tell an absent element from a zero one, so that the
// configuration reads back as it was written.
type Filter struct {
	Prefix                *string
	Tag                   *Tag
	ObjectSizeGreaterThan *int64
	ObjectSizeLessThan    *int64
	And                   *And
}

// And is the conjunction of its predicates; an object must match them all.
type And struct {
	Prefix                *string
	Tags                  []Tag
	ObjectSizeGreaterThan *int64
	ObjectSizeLessThan    *int64
}

// Tag is an object tag a filter requires. An empty Value matches only a tag
// with that key and an empty value.
type Tag struct {
	Key   string
	Value string
}

// Expiration acts on current versions. Exactly one of Days and Date is set,
// or neither and then the element holds ExpiredObjectDeleteMarker (true or
// false; false does nothing).
type Expiration struct {
	Days int       // 0 when unset
	Date time.Time // zero when unset; always midnight UTC
	// ExpiredObjectDeleteMarker removes a delete marker that is the only
	// version of its key.
	ExpiredObjectDeleteMarker bool
}

// NoncurrentVersionExpiration permanently removes noncurrent versions
// NoncurrentDays after they became noncurrent, except the newest
// NewerNoncurrentVersions of them (0: keep none).
type NoncurrentVersionExpiration struct {
	NoncurrentDays          int
	NewerNoncurrentVersions int
}

// AbortIncompleteMultipartUpload aborts uploads DaysAfterInitiation days
// after they were initiated.
type AbortIncompleteMultipartUpload struct {
	DaysAfterInitiation int
}

// Enabled reports whether the rule is applied.
func (r *Rule) Enabled() bool { return r.Status == StatusEnabled }

// ConfigName is the bucket configuration under which a bucket's rules are
// stored (as Bytes): the S3 API writes it and the worker reads it.
const ConfigName = "lifecycle"
