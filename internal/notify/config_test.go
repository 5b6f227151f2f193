package notify

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
)

const (
	arnHooks = "arn:coffer:sqs:us-east-1:hooks:webhook"
	arnBus   = "arn:coffer:sqs:us-east-1:bus:nats"
)

// queue builds a QueueConfiguration element.
func queue(id, arn, filter string, events ...string) string {
	var b strings.Builder
	b.WriteString("<QueueConfiguration>")
	if id != "" {
		b.WriteString("<Id>" + id + "</Id>")
	}
	b.WriteString("<Queue>" + arn + "</Queue>")
	for _, e := range events {
		b.WriteString("<Event>" + e + "</Event>")
	}
	b.WriteString(filter)
	b.WriteString("</QueueConfiguration>")
	return b.String()
}

func filter(rules ...string) string {
	var b strings.Builder
	b.WriteString("<Filter><S3Key>")
	for i := 0; i+1 < len(rules); i += 2 {
		b.WriteString("<FilterRule><Name>" + rules[i] + "</Name><Value>" + rules[i+1] + "</Value></FilterRule>")
	}
	b.WriteString("</S3Key></Filter>")
	return b.String()
}

func doc(items ...string) []byte {
	return []byte(`<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
		strings.Join(items, "") + `</NotificationConfiguration>`)
}

func TestParseConfigAWSExample(t *testing.T) {
	// The three kinds, as the AWS API reference writes them.
	data := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <TopicConfiguration>
    <Id>images</Id>
    <Topic>` + arnHooks + `</Topic>
    <Event>s3:ObjectCreated:*</Event>
    <Filter>
      <S3Key>
        <FilterRule><Name>prefix</Name><Value>images/</Value></FilterRule>
        <FilterRule><Name>Suffix</Name><Value>.jpg</Value></FilterRule>
      </S3Key>
    </Filter>
  </TopicConfiguration>
  <QueueConfiguration>
    <Id>removals</Id>
    <Queue>` + arnBus + `</Queue>
    <Event>s3:ObjectRemoved:Delete</Event>
    <Event>s3:ObjectRemoved:DeleteMarkerCreated</Event>
  </QueueConfiguration>
  <CloudFunctionConfiguration>
    <Id>tags</Id>
    <CloudFunction>arn:coffer:sqs:us-east-1:fn:webhook</CloudFunction>
    <Event>s3:ObjectTagging:*</Event>
  </CloudFunctionConfiguration>
</NotificationConfiguration>`)
	cfg, err := ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{Rules: []Rule{
		{ID: "images", Kind: KindTopic, ARN: arnHooks, Events: []string{"s3:ObjectCreated:*"}, Prefix: "images/", Suffix: ".jpg"},
		{ID: "removals", Kind: KindQueue, ARN: arnBus, Events: []string{"s3:ObjectRemoved:Delete", "s3:ObjectRemoved:DeleteMarkerCreated"}},
		{ID: "tags", Kind: KindCloudFunction, ARN: "arn:coffer:sqs:us-east-1:fn:webhook", Events: []string{"s3:ObjectTagging:*"}},
	}}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("parsed\n%+v\nwant\n%+v", cfg, want)
	}
	out, err := cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseConfig(out)
	if err != nil {
		t.Fatalf("re-parsing %s: %v", out, err)
	}
	if !reflect.DeepEqual(again, cfg) {
		t.Fatalf("round trip changed the config:\n%s\n%+v", out, again)
	}
	for _, s := range []string{"<TopicConfiguration><Id>images</Id><Topic>", "<CloudFunction>", "<Name>suffix</Name><Value>.jpg</Value>"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("marshalled document lacks %q:\n%s", s, out)
		}
	}
	if got := cfg.Targets(); !reflect.DeepEqual(got, []string{arnHooks, arnBus, "arn:coffer:sqs:us-east-1:fn:webhook"}) {
		t.Errorf("Targets = %v", got)
	}
}

func TestParseConfigEmptyDisables(t *testing.T) {
	for _, d := range []string{`<NotificationConfiguration/>`, `<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></NotificationConfiguration>`} {
		cfg, err := ParseConfig([]byte(d))
		if err != nil || len(cfg.Rules) != 0 {
			t.Fatalf("%s: %+v, %v", d, cfg, err)
		}
		if m := cfg.Match("s3:ObjectCreated:Put", "k"); m != nil {
			t.Fatalf("empty config matched %v", m)
		}
		out, err := cfg.Marshal()
		if err != nil || !strings.Contains(string(out), "<NotificationConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></NotificationConfiguration>") {
			t.Fatalf("marshal: %s, %v", out, err)
		}
	}
}

func TestParseConfigRefusals(t *testing.T) {
	put := "s3:ObjectCreated:Put"
	cases := []struct {
		name string
		data []byte
		want error
		msg  string // expected ArgumentError message, for ErrInvalidArgument
	}{
		{"not xml", []byte("{}"), ErrMalformedXML, ""},
		{"too large", doc(queue("a", arnHooks, "", put) + strings.Repeat(" ", MaxConfigSize)), ErrMalformedXML, ""},
		{"truncated", []byte("<NotificationConfiguration><QueueConfiguration>"), ErrMalformedXML, ""},
		{"wrong root", []byte("<CORSConfiguration/>"), ErrMalformedXML, ""},
		{"unknown configuration", doc("<SnsConfiguration/>"), ErrMalformedXML, ""},
		{"unknown element", doc("<QueueConfiguration><Queue>" + arnHooks + "</Queue><Event>" + put + "</Event><Color>red</Color></QueueConfiguration>"), ErrMalformedXML, ""},
		{"no event", doc(queue("a", arnHooks, "")), ErrMalformedXML, ""},
		{"no arn", doc("<QueueConfiguration><Event>" + put + "</Event></QueueConfiguration>"), ErrMalformedXML, ""},
		{"arn of another kind", doc("<QueueConfiguration><Topic>" + arnHooks + "</Topic><Event>" + put + "</Event></QueueConfiguration>"), ErrMalformedXML, ""},
		{"two arns", doc("<QueueConfiguration><Queue>" + arnHooks + "</Queue><Topic>" + arnHooks + "</Topic><Event>" + put + "</Event></QueueConfiguration>"), ErrMalformedXML, ""},
		{"unknown event", doc(queue("a", arnHooks, "", "s3:ObjectRestore:Completed")), ErrInvalidArgument, msgUnknownEvent},
		{"event without s3 prefix", doc(queue("a", arnHooks, "", "ObjectCreated:Put")), ErrInvalidArgument, msgUnknownEvent},
		{"lower-case event", doc(queue("a", arnHooks, "", "s3:objectcreated:put")), ErrInvalidArgument, msgUnknownEvent},
		{"two prefixes", doc(queue("a", arnHooks, filter("prefix", "a", "prefix", "b"), put)), ErrInvalidArgument, msgTwoPrefixes},
		{"two suffixes", doc(queue("a", arnHooks, filter("suffix", "a", "Suffix", "b"), put)), ErrInvalidArgument, msgTwoSuffixes},
		{"bad rule name", doc(queue("a", arnHooks, filter("middle", "a"), put)), ErrInvalidArgument, msgFilterName},
		{"long value", doc(queue("a", arnHooks, filter("prefix", strings.Repeat("x", 1025)), put)), ErrInvalidArgument, msgFilterValue},
		{"event bridge", doc("<EventBridgeConfiguration></EventBridgeConfiguration>"), ErrInvalidArgument, msgEventBridge},
		{"duplicate id", doc(queue("a", arnHooks, "", put), queue("a", arnBus, "", put)), ErrInvalidArgument, msgDuplicateID},
		{"too many", doc(manyRules(MaxRules + 1)), ErrInvalidArgument, msgTooManyRules},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig(c.data)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %+v, %v; want %v", cfg, err, c.want)
			}
			if c.msg != "" {
				var ae *ArgumentError
				if !errors.As(err, &ae) || ae.Message != c.msg {
					t.Fatalf("error %v, want message %q", err, c.msg)
				}
			}
		})
	}
}

// manyRules returns n non-overlapping configurations (distinct prefixes).
func manyRules(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(queue("", arnHooks, filter("prefix", "p"+strings.Repeat("x", i)+"/"), "s3:ObjectCreated:Put"))
	}
	return b.String()
}

func TestParseConfigMaxRulesAccepted(t *testing.T) {
	cfg, err := ParseConfig(doc(manyRules(MaxRules)))
	if err != nil || len(cfg.Rules) != MaxRules {
		t.Fatalf("%d rules: %v", len(cfg.Rules), err)
	}
}

// TestOverlap follows AWS's documented valid and invalid examples: two
// configurations overlap when they share an event type and some key passes
// both filters. Coffer refuses that for one target only (see ParseConfig).
func TestOverlap(t *testing.T) {
	cases := []struct {
		name    string
		a, b    string // filters
		ea, eb  string // events
		overlap bool
	}{
		{"same event, no filters", "", "", "s3:ObjectCreated:Put", "s3:ObjectCreated:Put", true},
		{"wildcard covers", "", "", "s3:ObjectCreated:*", "s3:ObjectCreated:Copy", true},
		{"different events", "", "", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", false},
		{"different families", "", "", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*", false},
		{"nested prefixes", filter("prefix", "images/"), filter("prefix", "images/2024/"), "s3:ObjectCreated:*", "s3:ObjectCreated:Put", true},
		{"disjoint prefixes", filter("prefix", "images/"), filter("prefix", "videos/"), "s3:ObjectCreated:*", "s3:ObjectCreated:*", false},
		{"prefix vs none", filter("prefix", "images/"), "", "s3:ObjectCreated:Put", "s3:ObjectCreated:Put", true},
		{"disjoint suffixes", filter("suffix", ".jpg"), filter("suffix", ".png"), "s3:ObjectCreated:Put", "s3:ObjectCreated:Put", false},
		{"nested suffixes", filter("suffix", "jpg"), filter("suffix", ".jpg"), "s3:ObjectCreated:Put", "s3:ObjectCreated:Put", true},
		{"prefix and suffix cross", filter("prefix", "images/"), filter("suffix", ".jpg"), "s3:ObjectCreated:Put", "s3:ObjectCreated:Put", true},
		{"same prefix, disjoint suffixes", filter("prefix", "images/", "suffix", ".jpg"), filter("prefix", "images/", "suffix", ".png"), "s3:ObjectCreated:Put", "s3:ObjectCreated:Put", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig(doc(queue("a", arnHooks, c.a, c.ea), queue("b", arnHooks, c.b, c.eb)))
			var ae *ArgumentError
			refused := errors.As(err, &ae) && ae.Message == msgOverlap
			if refused != c.overlap || (err != nil && !refused) {
				t.Fatalf("same target: err %v, want overlap %v", err, c.overlap)
			}
			// Different targets may always share events: each gets its copy.
			if _, err := ParseConfig(doc(queue("a", arnHooks, c.a, c.ea), queue("b", arnBus, c.b, c.eb))); err != nil {
				t.Fatalf("different targets refused: %v", err)
			}
		})
	}
}

func TestGeneratedIDsAreStable(t *testing.T) {
	data := doc(queue("", arnHooks, filter("prefix", "a/"), "s3:ObjectCreated:*"), queue("", arnBus, "", "s3:ObjectCreated:*"))
	c1, err := ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := ParseConfig(data)
	id1, id2 := c1.Rules[0].ID, c1.Rules[1].ID
	if id1 == "" || id2 == "" || id1 == id2 || id1 != c2.Rules[0].ID {
		t.Fatalf("ids %q %q (again %q)", id1, id2, c2.Rules[0].ID)
	}
	out, _ := c1.Marshal()
	c3, err := ParseConfig(out)
	if err != nil || c3.Rules[0].ID != id1 {
		t.Fatalf("after round trip %+v, %v", c3, err)
	}
}

func TestMatch(t *testing.T) {
	cfg, err := ParseConfig(doc(
		queue("jpg", arnHooks, filter("prefix", "images/", "suffix", ".jpg"), "s3:ObjectCreated:*", "s3:ObjectRemoved:Delete"),
		queue("all", arnBus, "", "s3:ObjectCreated:Put", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*", "s3:ObjectTagging:*"),
	))
	if err != nil {
		t.Fatal(err)
	}
	hooks := meta.Destination{Target: arnHooks, ConfigID: "jpg"}
	bus := meta.Destination{Target: arnBus, ConfigID: "all"}
	cases := []struct {
		event, key string
		want       []meta.Destination
	}{
		{"s3:ObjectCreated:Put", "images/cat.jpg", []meta.Destination{hooks, bus}},
		{"s3:ObjectCreated:CompleteMultipartUpload", "images/cat.jpg", []meta.Destination{hooks}},
		{"s3:ObjectCreated:Copy", "images/cat.png", nil},
		{"s3:ObjectCreated:Put", "images/cat.png", []meta.Destination{bus}},
		{"s3:ObjectCreated:Put", "videos/cat.jpg", []meta.Destination{bus}},
		{"s3:ObjectRemoved:Delete", "images/x.jpg", []meta.Destination{hooks, bus}},
		{"s3:ObjectRemoved:DeleteMarkerCreated", "images/x.jpg", []meta.Destination{bus}},
		{"s3:LifecycleExpiration:DeleteMarkerCreated", "k", []meta.Destination{bus}},
		{"s3:ObjectTagging:Delete", "k", []meta.Destination{bus}},
		{"s3:ObjectCreated:Post", "k", nil},
		{"s3:ObjectRestore:Completed", "images/a.jpg", nil},
	}
	for _, c := range cases {
		if got := cfg.Match(c.event, c.key); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Match(%s, %s) = %v, want %v", c.event, c.key, got, c.want)
		}
	}
	var nilCfg *Config
	if nilCfg.Match("s3:ObjectCreated:Put", "k") != nil || nilCfg.Targets() != nil {
		t.Error("nil config matched")
	}
}

func TestMatchOneDestinationPerTarget(t *testing.T) {
	// Built directly: ParseConfig refuses it, but a stored config might
	// predate a stricter check.
	cfg := &Config{Rules: []Rule{
		{ID: "a", Kind: KindQueue, ARN: arnHooks, Events: []string{"s3:ObjectCreated:*"}},
		{ID: "b", Kind: KindQueue, ARN: arnHooks, Events: []string{"s3:ObjectCreated:Put"}},
	}}
	if got := cfg.Match("s3:ObjectCreated:Put", "k"); len(got) != 1 || got[0].ConfigID != "a" {
		t.Fatalf("got %v", got)
	}
}

func TestValidate(t *testing.T) {
	cfg, err := ParseConfig(doc(
		queue("a", arnHooks, "", "s3:ObjectCreated:*"),
		queue("b", "arn:coffer:sqs:us-east-1:gone:nats", "", "s3:ObjectCreated:*"),
		queue("c", "arn:coffer:sqs:us-east-1:gone:nats", filter("prefix", "x"), "s3:ObjectRemoved:*"),
		queue("d", "arn:aws:sqs:us-east-1:123456789012:q", "", "s3:ObjectCreated:*"),
	))
	if err != nil {
		t.Fatal(err)
	}
	known := func(arn string) bool { return arn == arnHooks }
	err = Validate(cfg, known)
	var ae *ArgumentError
	if !errors.Is(err, ErrInvalidArgument) || !errors.As(err, &ae) {
		t.Fatalf("got %v", err)
	}
	if ae.Message != "Unable to validate the following destination configurations" {
		t.Errorf("message %q", ae.Message)
	}
	if len(ae.Args) != 2 || ae.Args[0].Name != "arn:coffer:sqs:us-east-1:gone:nats" || ae.Args[1].Name != "arn:aws:sqs:us-east-1:123456789012:q" {
		t.Errorf("args %+v", ae.Args)
	}
	if err := Validate(cfg, func(string) bool { return true }); err != nil {
		t.Errorf("all known: %v", err)
	}
	if err := Validate(&Config{}, known); err != nil {
		t.Errorf("empty: %v", err)
	}
}

func TestKnownEvents(t *testing.T) {
	for _, e := range []string{
		"s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
		"s3:ObjectCreated:CompleteMultipartUpload", "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete",
		"s3:ObjectRemoved:DeleteMarkerCreated", "s3:LifecycleExpiration:*", "s3:LifecycleExpiration:Delete",
		"s3:LifecycleExpiration:DeleteMarkerCreated", "s3:ObjectTagging:*", "s3:ObjectTagging:Put",
		"s3:ObjectTagging:Delete",
	} {
		if !KnownEvent(e) {
			t.Errorf("%s unknown", e)
		}
	}
	for _, e := range []string{"", "s3:*", "s3:ObjectCreated", "s3:ObjectCreated:", "s3:TestEvent", "s3:ObjectAcl:Put", "s3:ObjectRemoved:Put"} {
		if KnownEvent(e) {
			t.Errorf("%q known", e)
		}
	}
}
