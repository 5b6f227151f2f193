package lifecycle

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func doc(rules string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` +
		`<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + rules + `</LifecycleConfiguration>`)
}

func str(s string) *string { return &s }
func i64(n int64) *int64   { return &n }

func midnight(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestParseValid(t *testing.T) {
	cases := []struct {
		name string
		xml  []byte
		want []Rule
	}{
		{
			name: "days with filter prefix",
			xml:  doc(`<Rule><ID>r1</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>`),
			want: []Rule{{ID: "r1", Status: StatusEnabled, Filter: &Filter{Prefix: str("logs/")}, Expiration: &Expiration{Days: 30}}},
		},
		{
			name: "no namespace, elements in any order, legacy prefix",
			xml:  []byte(`<LifecycleConfiguration><Rule><Status>Disabled</Status><Expiration><Days>1</Days></Expiration><Prefix>a/</Prefix><ID>x</ID></Rule></LifecycleConfiguration>`),
			want: []Rule{{ID: "x", Status: StatusDisabled, Prefix: str("a/"), Expiration: &Expiration{Days: 1}}},
		},
		{
			name: "empty filter and empty legacy prefix are kept as written",
			xml: doc(`<Rule><ID>a</ID><Filter></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>` +
				`<Rule><ID>b</ID><Prefix></Prefix><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>` +
				`<Rule><ID>c</ID><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>`),
			want: []Rule{
				{ID: "a", Status: StatusEnabled, Filter: &Filter{}, Expiration: &Expiration{Days: 2}},
				{ID: "b", Status: StatusEnabled, Prefix: str(""), Expiration: &Expiration{Days: 2}},
				{ID: "c", Status: StatusEnabled, Expiration: &Expiration{Days: 2}},
			},
		},
		{
			name: "date at midnight UTC, with fraction or offset",
			xml: doc(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status><Expiration><Date>2030-01-02T00:00:00.000Z</Date></Expiration></Rule>` +
				`<Rule><ID>b</ID><Filter/><Status>Enabled</Status><Expiration><Date>2030-01-02T01:00:00+01:00</Date></Expiration></Rule>` +
				`<Rule><ID>c</ID><Filter/><Status>Enabled</Status><Expiration><Date>2030-01-02T00:00:00</Date></Expiration></Rule>`),
			want: []Rule{
				{ID: "a", Status: StatusEnabled, Filter: &Filter{}, Expiration: &Expiration{Date: midnight(2030, 1, 2)}},
				{ID: "b", Status: StatusEnabled, Filter: &Filter{}, Expiration: &Expiration{Date: midnight(2030, 1, 2)}},
				{ID: "c", Status: StatusEnabled, Filter: &Filter{}, Expiration: &Expiration{Date: midnight(2030, 1, 2)}},
			},
		},
		{
			name: "expired object delete marker true and false, with noncurrent expiration",
			xml: doc(`<Rule><ID>a</ID><Filter><Prefix>p</Prefix></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>` +
				`<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>` +
				`<Rule><ID>b</ID><Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration></Rule>`),
			want: []Rule{
				{ID: "a", Status: StatusEnabled, Filter: &Filter{Prefix: str("p")}, Expiration: &Expiration{ExpiredObjectDeleteMarker: true},
					NoncurrentVersionExpiration: &NoncurrentVersionExpiration{NoncurrentDays: 1}},
				{ID: "b", Status: StatusEnabled, Filter: &Filter{}, Expiration: &Expiration{}},
			},
		},
		{
			name: "noncurrent keeping versions, abort uploads",
			xml: doc(`<Rule><ID>a</ID><Filter><Prefix>p/</Prefix></Filter><Status>Enabled</Status>` +
				`<NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>` +
				`<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`),
			want: []Rule{{ID: "a", Status: StatusEnabled, Filter: &Filter{Prefix: str("p/")},
				NoncurrentVersionExpiration:    &NoncurrentVersionExpiration{NoncurrentDays: 7, NewerNoncurrentVersions: 3},
				AbortIncompleteMultipartUpload: &AbortIncompleteMultipartUpload{DaysAfterInitiation: 2}}},
		},
		{
			name: "tag filter, key without value",
			xml:  doc(`<Rule><ID>a</ID><Filter><Tag><Key>k</Key></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`),
			want: []Rule{{ID: "a", Status: StatusEnabled, Filter: &Filter{Tag: &Tag{Key: "k"}}, Expiration: &Expiration{Days: 1}}},
		},
		{
			name: "size filters alone and in And",
			xml: doc(`<Rule><ID>a</ID><Filter><ObjectSizeGreaterThan>0</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>` +
				`<Rule><ID>b</ID><Filter><ObjectSizeLessThan>100</ObjectSizeLessThan></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>` +
				`<Rule><ID>c</ID><Filter><And><Prefix>p</Prefix><Tag><Key>k1</Key><Value>v1</Value></Tag><Tag><Key>k2</Key><Value>v2</Value></Tag>` +
				`<ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>20</ObjectSizeLessThan></And></Filter><Status>Enabled</Status>` +
				`<Expiration><Days>1</Days></Expiration></Rule>`),
			want: []Rule{
				{ID: "a", Status: StatusEnabled, Filter: &Filter{ObjectSizeGreaterThan: i64(0)}, Expiration: &Expiration{Days: 1}},
				{ID: "b", Status: StatusEnabled, Filter: &Filter{ObjectSizeLessThan: i64(100)}, Expiration: &Expiration{Days: 1}},
				{ID: "c", Status: StatusEnabled, Filter: &Filter{And: &And{Prefix: str("p"), Tags: []Tag{{"k1", "v1"}, {"k2", "v2"}},
					ObjectSizeGreaterThan: i64(10), ObjectSizeLessThan: i64(20)}}, Expiration: &Expiration{Days: 1}},
			},
		},
		{
			name: "And with one predicate, same tag key in different rules",
			xml: doc(`<Rule><ID>a</ID><Filter><And><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>` +
				`<Rule><ID>b</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`),
			want: []Rule{
				{ID: "a", Status: StatusEnabled, Filter: &Filter{And: &And{Tags: []Tag{{"k", "v"}}}}, Expiration: &Expiration{Days: 1}},
				{ID: "b", Status: StatusEnabled, Filter: &Filter{Tag: &Tag{"k", "v"}}, Expiration: &Expiration{Days: 1}},
			},
		},
		{
			name: "whitespace around numbers and booleans, xs:boolean 1",
			xml: doc(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status><Expiration><Days> +5 </Days></Expiration></Rule>` +
				`<Rule><ID>b</ID><Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker> 1 </ExpiredObjectDeleteMarker></Expiration></Rule>`),
			want: []Rule{
				{ID: "a", Status: StatusEnabled, Filter: &Filter{}, Expiration: &Expiration{Days: 5}},
				{ID: "b", Status: StatusEnabled, Filter: &Filter{}, Expiration: &Expiration{ExpiredObjectDeleteMarker: true}},
			},
		},
		{
			name: "prefix text kept byte for byte",
			xml:  doc(`<Rule><ID>&lt;id&gt;</ID><Filter><Prefix> a&amp;b&#xD;&#xA;c </Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`),
			want: []Rule{{ID: "<id>", Status: StatusEnabled, Filter: &Filter{Prefix: str(" a&b\r\nc ")}, Expiration: &Expiration{Days: 1}}},
		},
		{
			name: "ID of 255 characters",
			xml:  doc(`<Rule><ID>` + strings.Repeat("é", 255) + `</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`),
			want: []Rule{{ID: strings.Repeat("é", 255), Status: StatusEnabled, Filter: &Filter{}, Expiration: &Expiration{Days: 1}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.xml)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(c.Rules, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", c.Rules, tc.want)
			}
			roundTrip(t, c)
		})
	}
}

// roundTrip checks that the GET body reads back as the same configuration
// and is itself stable.
func roundTrip(t *testing.T, c *Configuration) {
	t.Helper()
	body := c.Bytes()
	back, err := Parse(body)
	if err != nil {
		t.Fatalf("Parse(Bytes()) = %v\n%s", err, body)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip changed the configuration\nbefore %+v\nafter  %+v\n%s", c, back, body)
	}
	if again := back.Bytes(); string(again) != string(body) {
		t.Fatalf("Bytes not stable:\n%s\n%s", body, again)
	}
}

func TestParseAssignsIDs(t *testing.T) {
	c, err := Parse(doc(`<Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>` +
		`<Rule><Filter/><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>` +
		`<Rule><ID>given</ID><Filter/><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>`))
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Rules[0].ID, c.Rules[1].ID
	if a == "" || b == "" || a == b || len(a) > MaxIDLength {
		t.Fatalf("generated IDs %q %q", a, b)
	}
	if c.Rules[2].ID != "given" {
		t.Fatalf("given ID changed to %q", c.Rules[2].ID)
	}
	roundTrip(t, c)
}

func TestParseMaxRules(t *testing.T) {
	rule := func(i int) string {
		return `<Rule><ID>r` + strconv.Itoa(i) + `</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`
	}
	var b strings.Builder
	for i := range MaxRules {
		b.WriteString(rule(i))
	}
	c, err := Parse(doc(b.String()))
	if err != nil {
		t.Fatalf("%d rules: %v", MaxRules, err)
	}
	if len(c.Rules) != MaxRules {
		t.Fatalf("got %d rules", len(c.Rules))
	}
	b.WriteString(rule(MaxRules))
	if _, err := Parse(doc(b.String())); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("%d rules: %v, want ErrInvalidArgument", MaxRules+1, err)
	}
}

func TestParseInvalid(t *testing.T) {
	const (
		st   = `<Status>Enabled</Status>`
		days = `<Expiration><Days>1</Days></Expiration>`
	)
	cases := []struct {
		name string
		xml  []byte
		kind error
		msg  string // the exact S3 message; empty: only the kind is checked
	}{
		{"not XML", []byte("lifecycle"), ErrMalformedXML, ""},
		{"truncated", doc(`<Rule><ID>a</ID>`)[:60], ErrMalformedXML, ""},
		{"wrong root", []byte(`<CORSConfiguration><Rule/></CORSConfiguration>`), ErrMalformedXML, ""},
		{"second root", append(doc(`<Rule><Filter/>`+st+days+`</Rule>`), "<LifecycleConfiguration/>"...), ErrMalformedXML, ""},
		{"text after root", append(doc(`<Rule><Filter/>`+st+days+`</Rule>`), "junk"...), ErrMalformedXML, ""},
		{"no rules", doc(``), ErrMalformedXML, ""},
		{"unknown element in configuration", doc(`<Rule><Filter/>` + st + days + `</Rule><Bogus/>`), ErrMalformedXML, ""},
		{"unknown element in rule", doc(`<Rule><Filter/>` + st + days + `<Bogus/></Rule>`), ErrMalformedXML, ""},
		{"unknown element in filter", doc(`<Rule><Filter><Suffix>x</Suffix></Filter>` + st + days + `</Rule>`), ErrMalformedXML, ""},
		{"unknown element in expiration", doc(`<Rule><Filter/>` + st + `<Expiration><Days>1</Days><Weeks>1</Weeks></Expiration></Rule>`), ErrMalformedXML, ""},
		{"status missing", doc(`<Rule><Filter/>` + days + `</Rule>`), ErrMalformedXML, ""},
		{"status invalid", doc(`<Rule><Filter/><Status>enabled</Status>` + days + `</Rule>`), ErrMalformedXML, ""},
		{"status twice", doc(`<Rule><Filter/>` + st + st + days + `</Rule>`), ErrMalformedXML, ""},
		{"two expirations", doc(`<Rule><Filter/>` + st + days + days + `</Rule>`), ErrMalformedXML, ""},
		{"two filters", doc(`<Rule><Filter/><Filter/>` + st + days + `</Rule>`), ErrMalformedXML, ""},
		{"prefix and filter", doc(`<Rule><Prefix>a</Prefix><Filter/>` + st + days + `</Rule>`), ErrMalformedXML, ""},
		{"filter with prefix and tag", doc(`<Rule><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>` + st + days + `</Rule>`), ErrMalformedXML, ""},
		{"filter with two prefixes", doc(`<Rule><Filter><Prefix>a</Prefix><Prefix>b</Prefix></Filter>` + st + days + `</Rule>`), ErrMalformedXML, ""},
		{"filter with both sizes outside And", doc(`<Rule><Filter><ObjectSizeGreaterThan>1</ObjectSizeGreaterThan><ObjectSizeLessThan>9</ObjectSizeLessThan></Filter>` + st + days + `</Rule>`), ErrMalformedXML, ""},
		{"filter with And and prefix", doc(`<Rule><Filter><Prefix>a</Prefix><And><Prefix>b</Prefix></And></Filter>` + st + days + `</Rule>`), ErrMalformedXML, ""},
		{"empty And", doc(`<Rule><Filter><And></And></Filter>` + st + days + `</Rule>`), ErrMalformedXML, ""},
		{"And with two prefixes", doc(`<Rule><Filter><And><Prefix>a</Prefix><Prefix>b</Prefix></And></Filter>` + st + days + `</Rule>`), ErrMalformedXML, ""},
		{"tag without key", doc(`<Rule><Filter><Tag><Value>v</Value></Tag></Filter>` + st + days + `</Rule>`), ErrMalformedXML, ""},
		{"tag with two values", doc(`<Rule><Filter><Tag><Key>k</Key><Value>v</Value><Value>w</Value></Tag></Filter>` + st + days + `</Rule>`), ErrMalformedXML, ""},
		{"empty tag key", doc(`<Rule><Filter><Tag><Key></Key><Value>v</Value></Tag></Filter>` + st + days + `</Rule>`), ErrInvalidArgument, "The TagKey you have provided is invalid"},
		{"tag key too long", doc(`<Rule><Filter><Tag><Key>` + strings.Repeat("k", 129) + `</Key></Tag></Filter>` + st + days + `</Rule>`), ErrInvalidArgument, "The TagKey you have provided is too long, max 128"},
		{"tag value too long", doc(`<Rule><Filter><Tag><Key>k</Key><Value>` + strings.Repeat("v", 257) + `</Value></Tag></Filter>` + st + days + `</Rule>`), ErrInvalidArgument, "The TagValue you have provided is too long, max 256"},
		{"duplicate tag keys", doc(`<Rule><Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter>` + st + days + `</Rule>`), ErrInvalidRequest, "Duplicate Tag Keys are not allowed."},
		{"size not a number", doc(`<Rule><Filter><ObjectSizeGreaterThan>big</ObjectSizeGreaterThan></Filter>` + st + days + `</Rule>`), ErrMalformedXML, ""},
		{"size negative", doc(`<Rule><Filter><ObjectSizeGreaterThan>-1</ObjectSizeGreaterThan></Filter>` + st + days + `</Rule>`), ErrInvalidArgument, ""},
		{"size less than zero", doc(`<Rule><Filter><ObjectSizeLessThan>0</ObjectSizeLessThan></Filter>` + st + days + `</Rule>`), ErrInvalidArgument, ""},
		{"size range empty", doc(`<Rule><Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter>` + st + days + `</Rule>`), ErrInvalidArgument, ""},
		{"ID too long", doc(`<Rule><ID>` + strings.Repeat("a", 256) + `</ID><Filter/>` + st + days + `</Rule>`), ErrInvalidArgument, "ID length should not exceed allowed limit of 255"},
		{"duplicate IDs", doc(`<Rule><ID>a</ID><Filter/>` + st + days + `</Rule><Rule><ID>a</ID><Filter/>` + st + days + `</Rule>`), ErrInvalidArgument, "Rule ID must be unique. Found same ID for more than one rule"},
		{"no action", doc(`<Rule><ID>a</ID><Filter/>` + st + `</Rule>`), ErrInvalidRequest, "At least one action needs to be specified in a rule"},
		{"empty expiration", doc(`<Rule><Filter/>` + st + `<Expiration></Expiration></Rule>`), ErrMalformedXML, ""},
		{"days zero", doc(`<Rule><Filter/>` + st + `<Expiration><Days>0</Days></Expiration></Rule>`), ErrInvalidArgument, "'Days' for Expiration action must be a positive integer"},
		{"days negative", doc(`<Rule><Filter/>` + st + `<Expiration><Days>-3</Days></Expiration></Rule>`), ErrInvalidArgument, "'Days' for Expiration action must be a positive integer"},
		{"days not a number", doc(`<Rule><Filter/>` + st + `<Expiration><Days>1.5</Days></Expiration></Rule>`), ErrMalformedXML, ""},
		{"days beyond xs:int", doc(`<Rule><Filter/>` + st + `<Expiration><Days>2147483648</Days></Expiration></Rule>`), ErrMalformedXML, ""},
		{"days and date", doc(`<Rule><Filter/>` + st + `<Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>`), ErrMalformedXML, ""},
		{"date not midnight", doc(`<Rule><Filter/>` + st + `<Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration></Rule>`), ErrInvalidArgument, "'Date' must be at midnight GMT"},
		{"date midnight elsewhere", doc(`<Rule><Filter/>` + st + `<Expiration><Date>2030-01-01T00:00:00+02:00</Date></Expiration></Rule>`), ErrInvalidArgument, "'Date' must be at midnight GMT"},
		{"date not a date", doc(`<Rule><Filter/>` + st + `<Expiration><Date>tomorrow</Date></Expiration></Rule>`), ErrMalformedXML, ""},
		{"date without time", doc(`<Rule><Filter/>` + st + `<Expiration><Date>2030-01-01</Date></Expiration></Rule>`), ErrMalformedXML, ""},
		{"date zero instant", doc(`<Rule><Filter/>` + st + `<Expiration><Date>0001-01-01T00:00:00Z</Date></Expiration></Rule>`), ErrMalformedXML, ""},
		{"marker with days", doc(`<Rule><Filter/>` + st + `<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`), ErrMalformedXML, "ExpiredObjectDeleteMarker cannot be specified with Days or Date"},
		{"false marker with date", doc(`<Rule><Filter/>` + st + `<Expiration><Date>2030-01-01T00:00:00Z</Date><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration></Rule>`), ErrMalformedXML, "ExpiredObjectDeleteMarker cannot be specified with Days or Date"},
		{"marker not a boolean", doc(`<Rule><Filter/>` + st + `<Expiration><ExpiredObjectDeleteMarker>yes</ExpiredObjectDeleteMarker></Expiration></Rule>`), ErrMalformedXML, ""},
		{"marker with tag filter", doc(`<Rule><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>` + st + `<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`), ErrInvalidRequest, "ExpiredObjectDeleteMarker cannot be specified with Tags."},
		{"marker with tags in And", doc(`<Rule><Filter><And><Prefix>p</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter>` + st + `<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`), ErrInvalidRequest, "ExpiredObjectDeleteMarker cannot be specified with Tags."},
		{"marker with size filter", doc(`<Rule><Filter><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></Filter>` + st + `<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`), ErrMalformedXML, ""},
		{"noncurrent days missing", doc(`<Rule><Filter/>` + st + `<NoncurrentVersionExpiration><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`), ErrMalformedXML, ""},
		{"noncurrent days zero", doc(`<Rule><Filter/>` + st + `<NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration></Rule>`), ErrInvalidArgument, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"},
		{"newer versions zero", doc(`<Rule><Filter/>` + st + `<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>0</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`), ErrInvalidArgument, ""},
		{"newer versions negative", doc(`<Rule><Filter/>` + st + `<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>-1</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`), ErrInvalidArgument, ""},
		{"newer versions over 100", doc(`<Rule><Filter/>` + st + `<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`), ErrInvalidArgument, ""},
		{"abort days missing", doc(`<Rule><Filter/>` + st + `<AbortIncompleteMultipartUpload></AbortIncompleteMultipartUpload></Rule>`), ErrMalformedXML, ""},
		{"abort days zero", doc(`<Rule><Filter/>` + st + `<AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`), ErrInvalidArgument, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"},
		{"abort days negative", doc(`<Rule><Filter/>` + st + `<AbortIncompleteMultipartUpload><DaysAfterInitiation>-1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`), ErrInvalidArgument, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"},
		{"abort with tag filter", doc(`<Rule><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>` + st + `<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`), ErrInvalidRequest, "AbortIncompleteMultipartUpload cannot be specified with Tags."},
		{"abort with tags in And", doc(`<Rule><Filter><And><Prefix>p</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter>` + st + days + `<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`), ErrInvalidRequest, "AbortIncompleteMultipartUpload cannot be specified with Tags."},
		{"abort with size filter", doc(`<Rule><Filter><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter>` + st + `<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`), ErrInvalidRequest, "AbortIncompleteMultipartUpload cannot be specified with Object Size."},
		{"transition", doc(`<Rule><Filter/>` + st + `<Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>`), ErrNotImplemented, ""},
		{"noncurrent transition beside an expiration", doc(`<Rule><Filter/>` + st + days + `<NoncurrentVersionTransition><NoncurrentDays>30</NoncurrentDays><StorageClass>STANDARD_IA</StorageClass></NoncurrentVersionTransition></Rule>`), ErrNotImplemented, ""},
		{"too large", append(doc(`<Rule><Filter/>`+st+days+`</Rule>`), make([]byte, MaxSize)...), ErrMalformedXML, ""},
		{"foreign charset", []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><LifecycleConfiguration><Rule><Filter/>` + st + days + `</Rule></LifecycleConfiguration>`), ErrMalformedXML, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.xml)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("error %v, want kind %v", err, tc.kind)
			}
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("error %T is not an *Error", err)
			}
			if tc.msg != "" && le.Message != tc.msg {
				t.Fatalf("message %q, want %q", le.Message, tc.msg)
			}
			for _, other := range []error{ErrMalformedXML, ErrInvalidArgument, ErrInvalidRequest, ErrNotImplemented} {
				if other != tc.kind && errors.Is(err, other) {
					t.Fatalf("error %v also matches %v", err, other)
				}
			}
		})
	}
}

func TestValidateHandBuilt(t *testing.T) {
	ok := Configuration{Rules: []Rule{{ID: "a", Status: StatusEnabled, Expiration: &Expiration{Days: 3}}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid configuration refused: %v", err)
	}
	bad := []struct {
		name string
		rule Rule
		kind error
	}{
		{"filter with two predicates", Rule{Status: StatusEnabled, Filter: &Filter{Prefix: str("a"), ObjectSizeLessThan: i64(3)}, Expiration: &Expiration{Days: 1}}, ErrMalformedXML},
		{"days and date", Rule{Status: StatusEnabled, Expiration: &Expiration{Days: 1, Date: midnight(2030, 1, 1)}}, ErrMalformedXML},
		{"marker with days", Rule{Status: StatusEnabled, Expiration: &Expiration{Days: 1, ExpiredObjectDeleteMarker: true}}, ErrMalformedXML},
		{"date not midnight", Rule{Status: StatusEnabled, Expiration: &Expiration{Date: time.Date(2030, 1, 1, 5, 0, 0, 0, time.UTC)}}, ErrInvalidArgument},
		{"no status", Rule{Expiration: &Expiration{Days: 1}}, ErrMalformedXML},
	}
	for _, tc := range bad {
		c := Configuration{Rules: []Rule{tc.rule}}
		if err := c.Validate(); !errors.Is(err, tc.kind) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.kind)
		}
	}
	if err := (&Configuration{}).Validate(); !errors.Is(err, ErrMalformedXML) {
		t.Errorf("empty configuration: %v", err)
	}
}

func TestBytesShape(t *testing.T) {
	c := &Configuration{Rules: []Rule{{
		ID: "r", Status: StatusEnabled, Filter: &Filter{Prefix: str("a<b")},
		Expiration:                     &Expiration{Date: midnight(2031, 3, 4)},
		NoncurrentVersionExpiration:    &NoncurrentVersionExpiration{NoncurrentDays: 2, NewerNoncurrentVersions: 5},
		AbortIncompleteMultipartUpload: &AbortIncompleteMultipartUpload{DaysAfterInitiation: 7},
	}}}
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ID>r</ID><Filter><Prefix>a&lt;b</Prefix></Filter>` +
		`<Status>Enabled</Status><Expiration><Date>2031-03-04T00:00:00.000Z</Date></Expiration>` +
		`<NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>5</NewerNoncurrentVersions></NoncurrentVersionExpiration>` +
		`<AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>`
	if got := string(c.Bytes()); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	roundTrip(t, c)
}
