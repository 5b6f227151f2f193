package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// TestEventName is the name of the event S3 sends to each destination
// when a notification configuration is saved.
const TestEventName = "s3:TestEvent"

// DefaultRegion is the awsRegion of events when the Encoder has none.
const DefaultRegion = "us-east-1"

// Encoder renders outbox events as S3 event messages (the JSON AWS
// documents as "Event message structure"). The zero value is usable.
type Encoder struct {
	// Region is each record's awsRegion; DefaultRegion when empty.
	Region string
	// HostID is responseElements.x-amz-id-2, which names the host that
	// processed the request.
	HostID string
	// BucketOwner returns bucket.ownerIdentity.principalId. Nil, or an
	// error (the bucket may be gone by delivery time), leaves it empty.
	BucketOwner func(ctx context.Context, bucket string) (string, error)
}

// The message types mirror AWS's field names and order.
type message struct {
	Records []record `json:"Records"`
}

type record struct {
	EventVersion      string            `json:"eventVersion"`
	EventSource       string            `json:"eventSource"`
	AWSRegion         string            `json:"awsRegion"`
	EventTime         string            `json:"eventTime"`
	EventName         string            `json:"eventName"`
	UserIdentity      principal         `json:"userIdentity"`
	RequestParameters requestParameters `json:"requestParameters"`
	ResponseElements  responseElements  `json:"responseElements"`
	S3                s3Entity          `json:"s3"`
}

type principal struct {
	PrincipalID string `json:"principalId"`
}

type requestParameters struct {
	SourceIPAddress string `json:"sourceIPAddress"`
}

type responseElements struct {
	RequestID string `json:"x-amz-request-id"`
	HostID    string `json:"x-amz-id-2"`
}

type s3Entity struct {
	SchemaVersion   string       `json:"s3SchemaVersion"`
	ConfigurationID string       `json:"configurationId"`
	Bucket          bucketEntity `json:"bucket"`
	Object          objectEntity `json:"object"`
}

type bucketEntity struct {
	Name          string    `json:"name"`
	OwnerIdentity principal `json:"ownerIdentity"`
	ARN           string    `json:"arn"`
}

type objectEntity struct {
	Key       string `json:"key"`
	Size      *int64 `json:"size,omitempty"`
	ETag      string `json:"eTag,omitempty"`
	VersionID string `json:"versionId,omitempty"`
	Sequencer string `json:"sequencer"`
}

type testMessage struct {
	Service   string `json:"Service"`
	Event     string `json:"Event"`
	Time      string `json:"Time"`
	Bucket    string `json:"Bucket"`
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
}

// eventTime is ISO 8601 in UTC with milliseconds, as AWS writes it.
const eventTime = "2006-01-02T15:04:05.000Z"

// Encode returns the message for one outbox event: a Records array of one
// record, or the s3:TestEvent message for a test event.
//
// Field choices where AWS leaves room: eventVersion is 2.3 for
// LifecycleExpiration and ObjectTagging events (as AWS uses) and 2.1
// otherwise; size is given for ObjectCreated events only and eTag for
// ObjectCreated and ObjectTagging; versionId is left out for the null
// version, as AWS does outside versioning-enabled buckets; sequencer is
// the outbox Seq as 16 upper-case hex digits, so that sequencers compare
// as strings in event order.
func (e Encoder) Encode(ctx context.Context, ev meta.Event) ([]byte, error) {
	if ev.Name == TestEventName {
		return json.Marshal(testMessage{
			Service:   "Coffer",
			Event:     TestEventName,
			Time:      ev.Time.UTC().Format(eventTime),
			Bucket:    ev.Bucket,
			RequestID: ev.RequestID,
			HostID:    e.HostID,
		})
	}
	region := e.Region
	if region == "" {
		region = DefaultRegion
	}
	var owner string
	if e.BucketOwner != nil {
		if o, err := e.BucketOwner(ctx, ev.Bucket); err == nil {
			owner = o
		}
	}
	name := strings.TrimPrefix(ev.Name, "s3:")
	version := "2.1"
	if strings.HasPrefix(name, "LifecycleExpiration:") || strings.HasPrefix(name, "ObjectTagging:") {
		version = "2.3"
	}
	obj := objectEntity{Key: EncodeKey(ev.Key), Sequencer: Sequencer(ev.Seq)}
	if ev.VersionID != meta.NullVersion {
		obj.VersionID = ev.VersionID
	}
	if strings.HasPrefix(name, "ObjectCreated:") {
		size := ev.Size
		obj.Size = &size
		obj.ETag = ev.ETag
	}
	if strings.HasPrefix(name, "ObjectTagging:") {
		obj.ETag = ev.ETag
	}
	data, err := json.Marshal(message{Records: []record{{
		EventVersion:      version,
		EventSource:       "aws:s3",
		AWSRegion:         region,
		EventTime:         ev.Time.UTC().Format(eventTime),
		EventName:         name,
		UserIdentity:      principal{PrincipalID: ev.Principal},
		RequestParameters: requestParameters{SourceIPAddress: ev.SourceIP},
		ResponseElements:  responseElements{RequestID: ev.RequestID, HostID: e.HostID},
		S3: s3Entity{
			SchemaVersion:   "1.0",
			ConfigurationID: ev.ConfigID,
			Bucket: bucketEntity{
				Name:          ev.Bucket,
				OwnerIdentity: principal{PrincipalID: owner},
				ARN:           "arn:aws:s3:::" + ev.Bucket,
			},
			Object: obj,
		},
	}}})
	if err != nil {
		return nil, fmt.Errorf("encoding event %d: %w", ev.Seq, err)
	}
	return data, nil
}

// Sequencer formats an outbox Seq as an S3 event sequencer: fixed-width
// upper-case hex, so that string order is event order.
func Sequencer(seq uint64) string { return fmt.Sprintf("%016X", seq) }

// EncodeKey encodes an object key as S3 event messages carry it: form
// encoding (a space becomes '+', other bytes outside A-Z a-z 0-9 and
// "-_.*" become %XX) except that '/' stays as is. url.QueryUnescape
// recovers the key.
func EncodeKey(key string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(key))
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '*', c == '/':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// TestEvents returns the s3:TestEvent outbox entries to append when cfg is
// saved on bucket: one per target it names.
func TestEvents(cfg *Config, bucket, requestID string, now time.Time) []meta.Event {
	var out []meta.Event
	for _, arn := range cfg.Targets() {
		out = append(out, meta.Event{
			Target:    arn,
			Name:      TestEventName,
			Time:      now,
			Bucket:    bucket,
			RequestID: requestID,
		})
	}
	return out
}
