package object

import (
	"context"
	"fmt"

	"github.com/cofferstore/coffer/internal/meta"
)

// S3 event names the service records.
const (
	EventPut                   = "s3:ObjectCreated:Put"
	EventPost                  = "s3:ObjectCreated:Post"
	EventCopy                  = "s3:ObjectCreated:Copy"
	EventComplete              = "s3:ObjectCreated:CompleteMultipartUpload"
	EventDelete                = "s3:ObjectRemoved:Delete"
	EventDeleteMarker          = "s3:ObjectRemoved:DeleteMarkerCreated"
	EventLifecycleDelete       = "s3:LifecycleExpiration:Delete"
	EventLifecycleDeleteMarker = "s3:LifecycleExpiration:DeleteMarkerCreated"
	EventTaggingPut            = "s3:ObjectTagging:Put"
	EventTaggingDelete         = "s3:ObjectTagging:Delete"
)

// EventRouter decides where events go. The service asks it before each
// write and records the event in the metadata store's outbox in the same
// commit as the write, so that an event exists exactly when its change does.
type EventRouter interface {
	// Route returns the destinations of event name for key in bucket (from
	// the bucket's notification configuration); none when nothing listens.
	Route(ctx context.Context, bucket, name, key string) ([]meta.Destination, error)
	// Committed tells the router that events were just written to the
	// outbox, so delivery can start without waiting for a poll.
	Committed()
}

// RequestInfo identifies who caused a change, for the events it produces.
type RequestInfo struct {
	Principal string
	SourceIP  string
	RequestID string
}

type requestInfoKey struct{}

// WithRequestInfo returns ctx carrying ri; front ends call it once per
// request so that every event the request causes names its requester.
func WithRequestInfo(ctx context.Context, ri RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

func requestInfo(ctx context.Context) RequestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(RequestInfo)
	return ri
}

// notice builds the outbox notice for an event, nil when nothing listens.
func (s *Service) notice(ctx context.Context, bucket, key, name string) (*meta.Notice, error) {
	if s.router == nil {
		return nil, nil
	}
	dests, err := s.router.Route(ctx, bucket, name, key)
	if err != nil {
		return nil, fmt.Errorf("routing %s: %w", name, err)
	}
	if len(dests) == 0 {
		return nil, nil
	}
	ri := requestInfo(ctx)
	return &meta.Notice{Name: name, Principal: ri.Principal, SourceIP: ri.SourceIP, RequestID: ri.RequestID, Destinations: dests}, nil
}

// committed wakes delivery after a write that carried a notice.
func (s *Service) committed(n *meta.Notice) {
	if n != nil {
		s.router.Committed()
	}
}
