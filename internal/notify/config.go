package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cofferstore/coffer/internal/meta"
)

// Sentinel errors of the bucket notification configuration. The S3 layer
// maps ErrMalformedXML to MalformedXML and ErrInvalidArgument to
// InvalidArgument (400); an *ArgumentError carries AWS's message and the
// argument names and values AWS lists with it.
var (
	ErrMalformedXML    = errors.New("malformed notification configuration")
	ErrInvalidArgument = errors.New("invalid notification configuration")
)

// Argument is one ArgumentName/ArgumentValue pair of an S3 InvalidArgument
// error.
type Argument struct {
	Name  string
	Value string
}

// ArgumentError is an InvalidArgument refusal with the message AWS gives
// for the same mistake. It matches ErrInvalidArgument with errors.Is.
type ArgumentError struct {
	Message string
	Args    []Argument
}

func (e *ArgumentError) Error() string {
	return "invalid notification configuration: " + e.Message
}

// Is makes errors.Is(err, ErrInvalidArgument) hold.
func (e *ArgumentError) Is(target error) bool { return target == ErrInvalidArgument }

func invalid(msg string, args ...Argument) error { return &ArgumentError{Message: msg, Args: args} }

// AWS's messages for the refusals it documents.
const (
	msgUnknownEvent     = "The event is not supported for notifications"
	msgFilterName       = "filter rule name must be either prefix or suffix"
	msgTwoPrefixes      = "Cannot specify more than one prefix rule in a filter."
	msgTwoSuffixes      = "Cannot specify more than one suffix rule in a filter."
	msgFilterValue      = "Size of filter rule value cannot exceed 1024 bytes in UTF-8 representation"
	msgOverlap          = "Configurations overlap. Configurations on the same bucket cannot share a common event type."
	msgDestinations     = "Unable to validate the following destination configurations"
	msgUnknownTarget    = "The destination is not a notification target configured on this server"
	msgEventBridge      = "EventBridge configurations are not supported; name a configured target in a Queue, Topic or CloudFunction configuration"
	msgDuplicateID      = "Configuration Ids must be unique"
	msgTooManyRules     = "Too many notification configurations"
	maxFilterValue      = 1024
	s3Namespace         = "http://s3.amazonaws.com/doc/2006-03-01/"
	wildcardEventSuffix = ":*"
)

// MaxRules bounds the configurations of one bucket, so that the pairwise
// overlap check and the per-write Match stay cheap.
const MaxRules = 100

// MaxConfigSize bounds the document ParseConfig accepts: MaxRules
// configurations with the longest filters fit in well under it. The S3
// layer should read at most MaxConfigSize+1 bytes of the body.
const MaxConfigSize = 1 << 20

// Kind is the element a configuration came in. Coffer delivers the three
// kinds alike: each names a configured target by its ARN, whatever the
// target's type.
type Kind string

// The three destination kinds of S3's NotificationConfiguration.
const (
	KindQueue         Kind = "Queue"
	KindTopic         Kind = "Topic"
	KindCloudFunction Kind = "CloudFunction"
)

// Rule is one QueueConfiguration, TopicConfiguration or
// CloudFunctionConfiguration.
type Rule struct {
	// ID is the configuration's Id; ParseConfig fills an empty one with an
	// id derived from the rule's content, so it is stable across saves.
	ID     string
	Kind   Kind
	ARN    string   // the target's ARN
	Events []string // as given, wildcards included, at least one
	// Prefix and Suffix filter the object key; empty matches all.
	Prefix string
	Suffix string
}

// Config is a bucket's notification configuration. The zero value (no
// rules) disables notifications.
type Config struct {
	Rules []Rule // in document order
}

// events lists every event name a configuration may name, each concrete
// name with its family's bit; a wildcard covers its family.
var events = map[string]uint16{}

var families = map[string][]string{
	"s3:ObjectCreated":       {"Put", "Post", "Copy", "CompleteMultipartUpload"},
	"s3:ObjectRemoved":       {"Delete", "DeleteMarkerCreated"},
	"s3:LifecycleExpiration": {"Delete", "DeleteMarkerCreated"},
	"s3:ObjectTagging":       {"Put", "Delete"},
}

func init() {
	bit := uint16(1)
	for fam, names := range families {
		var all uint16
		for _, n := range names {
			events[fam+":"+n] = bit
			all |= bit
			bit <<= 1
		}
		events[fam+wildcardEventSuffix] = all
	}
}

// KnownEvent reports whether name is an event name a configuration may
// use (wildcards included).
func KnownEvent(name string) bool { _, ok := events[name]; return ok }

// xmlFilterRule, xmlRule and xmlConfig are the wire form. Unknown child
// elements land in the ",any" fields so that they can be refused.
type xmlFilterRule struct {
	Name  string    `xml:"Name"`
	Value string    `xml:"Value"`
	Extra []anyElem `xml:",any"`
}

type xmlS3Key struct {
	Rules []xmlFilterRule `xml:"FilterRule"`
	Extra []anyElem       `xml:",any"`
}

type xmlFilter struct {
	S3Key *xmlS3Key `xml:"S3Key"`
	Extra []anyElem `xml:",any"`
}

type anyElem struct {
	XMLName xml.Name
}

type xmlRule struct {
	XMLName       xml.Name
	ID            string     `xml:"Id"`
	Queue         string     `xml:"Queue"`
	Topic         string     `xml:"Topic"`
	CloudFunction string     `xml:"CloudFunction"`
	Events        []string   `xml:"Event"`
	Filter        *xmlFilter `xml:"Filter"`
	Extra         []anyElem  `xml:",any"`
}

type xmlConfig struct {
	XMLName xml.Name
	Items   []xmlRule `xml:",any"`
}

// ParseConfig decodes and validates a NotificationConfiguration document
// (the body of PutBucketNotificationConfiguration) as S3 does, except for
// the targets it names, which Validate checks. It refuses:
//   - a document over MaxConfigSize, XML that is not a
//     NotificationConfiguration, unknown elements, a
//     configuration without an ARN or an event (ErrMalformedXML);
//   - unknown event names (only the ObjectCreated, ObjectRemoved,
//     LifecycleExpiration and ObjectTagging families, which Coffer emits),
//     filter rules other than one prefix and one suffix of at most 1024
//     bytes, duplicate Ids, more than MaxRules configurations, and two
//     configurations for the same target that share an event type and whose
//     filters can match the same key (*ArgumentError, ErrInvalidArgument);
//   - EventBridgeConfiguration: Coffer has no EventBridge, and silently
//     dropping it would lose events the client expects (*ArgumentError).
//
// AWS refuses overlapping configurations whatever their destinations;
// Coffer refuses them per target only, so that one event can go to a
// webhook and to a queue, which AWS does with an SNS fan-out Coffer lacks.
func ParseConfig(data []byte) (*Config, error) {
	if len(data) > MaxConfigSize {
		return nil, ErrMalformedXML
	}
	var x xmlConfig
	if err := xml.Unmarshal(data, &x); err != nil {
		return nil, ErrMalformedXML
	}
	if x.XMLName.Local != "NotificationConfiguration" {
		return nil, ErrMalformedXML
	}
	cfg := &Config{}
	for _, it := range x.Items {
		var kind Kind
		switch it.XMLName.Local {
		case "QueueConfiguration":
			kind = KindQueue
		case "TopicConfiguration":
			kind = KindTopic
		case "CloudFunctionConfiguration":
			kind = KindCloudFunction
		case "EventBridgeConfiguration":
			return nil, invalid(msgEventBridge)
		default:
			return nil, ErrMalformedXML
		}
		r, err := parseRule(kind, it)
		if err != nil {
			return nil, err
		}
		cfg.Rules = append(cfg.Rules, r)
	}
	if len(cfg.Rules) > MaxRules {
		return nil, invalid(msgTooManyRules)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func parseRule(kind Kind, it xmlRule) (Rule, error) {
	if len(it.Extra) > 0 {
		return Rule{}, ErrMalformedXML
	}
	// Exactly the ARN element of the configuration's own kind.
	arns := map[Kind]string{KindQueue: it.Queue, KindTopic: it.Topic, KindCloudFunction: it.CloudFunction}
	for k, v := range arns {
		if (k == kind) != (v != "") {
			return Rule{}, ErrMalformedXML
		}
	}
	r := Rule{ID: it.ID, Kind: kind, ARN: arns[kind], Events: it.Events}
	if len(r.Events) == 0 {
		return Rule{}, ErrMalformedXML
	}
	for _, e := range r.Events {
		if !KnownEvent(e) {
			return Rule{}, invalid(msgUnknownEvent, Argument{Name: "Event", Value: e})
		}
	}
	if f := it.Filter; f != nil {
		if len(f.Extra) > 0 || (f.S3Key != nil && len(f.S3Key.Extra) > 0) {
			return Rule{}, ErrMalformedXML
		}
		var havePrefix, haveSuffix bool
		for _, fr := range s3KeyRules(f) {
			if len(fr.Extra) > 0 {
				return Rule{}, ErrMalformedXML
			}
			if len(fr.Value) > maxFilterValue {
				return Rule{}, invalid(msgFilterValue, Argument{Name: "FilterRule", Value: fr.Name})
			}
			if !utf8.ValidString(fr.Value) {
				return Rule{}, ErrMalformedXML
			}
			// AWS documents lower-case names and answers with capitalised
			// ones; accept either spelling.
			switch strings.ToLower(fr.Name) {
			case "prefix":
				if havePrefix {
					return Rule{}, invalid(msgTwoPrefixes, Argument{Name: "FilterRule", Value: fr.Name})
				}
				havePrefix, r.Prefix = true, fr.Value
			case "suffix":
				if haveSuffix {
					return Rule{}, invalid(msgTwoSuffixes, Argument{Name: "FilterRule", Value: fr.Name})
				}
				haveSuffix, r.Suffix = true, fr.Value
			default:
				return Rule{}, invalid(msgFilterName, Argument{Name: "FilterRule", Value: fr.Name})
			}
		}
	}
	if r.ID == "" {
		r.ID = generatedID(r)
	}
	return r, nil
}

func s3KeyRules(f *xmlFilter) []xmlFilterRule {
	if f.S3Key == nil {
		return nil
	}
	return f.S3Key.Rules
}

// generatedID derives an Id from what the rule does, so that re-parsing
// the stored document, or saving the same document again, keeps it.
func generatedID(r Rule) string {
	h := sha256.New()
	for _, s := range append([]string{string(r.Kind), r.ARN, r.Prefix, r.Suffix}, r.Events...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "coffer-" + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

// check enforces the rules that involve several configurations.
func (c *Config) check() error {
	ids := make(map[string]bool, len(c.Rules))
	for _, r := range c.Rules {
		if ids[r.ID] {
			return invalid(msgDuplicateID, Argument{Name: "Id", Value: r.ID})
		}
		ids[r.ID] = true
	}
	for i, a := range c.Rules {
		for _, b := range c.Rules[i+1:] {
			if a.ARN == b.ARN && overlap(a, b) {
				return invalid(msgOverlap)
			}
		}
	}
	return nil
}

// overlap reports whether one event could match both rules: a shared
// event type and a key that passes both filters. Such a key exists exactly
// when one prefix extends the other and one suffix extends the other (the
// longer prefix followed by the longer suffix is one).
func overlap(a, b Rule) bool {
	return eventMask(a.Events)&eventMask(b.Events) != 0 &&
		(strings.HasPrefix(a.Prefix, b.Prefix) || strings.HasPrefix(b.Prefix, a.Prefix)) &&
		(strings.HasSuffix(a.Suffix, b.Suffix) || strings.HasSuffix(b.Suffix, a.Suffix))
}

func eventMask(names []string) uint16 {
	var m uint16
	for _, n := range names {
		m |= events[n]
	}
	return m
}

// Validate checks that every ARN the configuration names is a configured
// target, as S3 checks that its destinations exist. The refusal lists each
// unknown ARN once, as AWS lists the destinations it could not validate.
func Validate(cfg *Config, known func(arn string) bool) error {
	var bad []Argument
	seen := map[string]bool{}
	for _, r := range cfg.Rules {
		if seen[r.ARN] {
			continue
		}
		seen[r.ARN] = true
		if !known(r.ARN) {
			bad = append(bad, Argument{Name: r.ARN, Value: msgUnknownTarget})
		}
	}
	if len(bad) > 0 {
		return invalid(msgDestinations, bad...)
	}
	return nil
}

// Marshal encodes the configuration as the body of
// GetBucketNotificationConfiguration. ParseConfig of the result yields an
// equal Config.
func (c *Config) Marshal() ([]byte, error) {
	type outRule struct {
		XMLName       xml.Name
		ID            string     `xml:"Id"`
		Queue         string     `xml:"Queue,omitempty"`
		Topic         string     `xml:"Topic,omitempty"`
		CloudFunction string     `xml:"CloudFunction,omitempty"`
		Events        []string   `xml:"Event"`
		Filter        *xmlFilter `xml:"Filter,omitempty"`
	}
	type outConfig struct {
		XMLName xml.Name  `xml:"NotificationConfiguration"`
		NS      string    `xml:"xmlns,attr"`
		Rules   []outRule `xml:",any"`
	}
	out := outConfig{NS: s3Namespace}
	if c != nil {
		for _, r := range c.Rules {
			o := outRule{XMLName: xml.Name{Local: string(r.Kind) + "Configuration"}, ID: r.ID, Events: r.Events}
			switch r.Kind {
			case KindQueue:
				o.Queue = r.ARN
			case KindTopic:
				o.Topic = r.ARN
			case KindCloudFunction:
				o.CloudFunction = r.ARN
			default:
				return nil, fmt.Errorf("encoding notification configuration: unknown kind %q", r.Kind)
			}
			var fr []xmlFilterRule
			if r.Prefix != "" {
				fr = append(fr, xmlFilterRule{Name: "prefix", Value: r.Prefix})
			}
			if r.Suffix != "" {
				fr = append(fr, xmlFilterRule{Name: "suffix", Value: r.Suffix})
			}
			if fr != nil {
				o.Filter = &xmlFilter{S3Key: &xmlS3Key{Rules: fr}}
			}
			out.Rules = append(out.Rules, o)
		}
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(out); err != nil {
		return nil, fmt.Errorf("encoding notification configuration: %w", err)
	}
	return buf.Bytes(), nil
}

// Match returns where an event named eventName (a concrete name such as
// "s3:ObjectCreated:Put") on key goes: one Destination per target whose
// configuration names the event, or its family's wildcard, and whose
// filters the key passes. A nil Config matches nothing.
func (c *Config) Match(eventName, key string) []meta.Destination {
	if c == nil {
		return nil
	}
	var out []meta.Destination
	for _, r := range c.Rules {
		if !r.matchesEvent(eventName) || !strings.HasPrefix(key, r.Prefix) || !strings.HasSuffix(key, r.Suffix) {
			continue
		}
		// Overlapping rules for one target are refused, but a config
		// saved under older rules must still not deliver an event twice.
		dup := false
		for _, d := range out {
			dup = dup || d.Target == r.ARN
		}
		if !dup {
			out = append(out, meta.Destination{Target: r.ARN, ConfigID: r.ID})
		}
	}
	return out
}

func (r Rule) matchesEvent(name string) bool {
	for _, e := range r.Events {
		if e == name {
			return true
		}
		if fam, ok := strings.CutSuffix(e, "*"); ok && strings.HasPrefix(name, fam) {
			return true
		}
	}
	return false
}

// Targets returns the distinct ARNs the configuration names, in order.
func (c *Config) Targets() []string {
	if c == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range c.Rules {
		if !seen[r.ARN] {
			seen[r.ARN] = true
			out = append(out, r.ARN)
		}
	}
	return out
}
