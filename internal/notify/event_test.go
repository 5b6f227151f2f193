package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// awsRecord decodes a record with AWS's field names, independently of the
// encoder's own types, so that a renamed tag fails the test.
type awsRecord struct {
	EventVersion string `json:"eventVersion"`
	EventSource  string `json:"eventSource"`
	AWSRegion    string `json:"awsRegion"`
	EventTime    string `json:"eventTime"`
	EventName    string `json:"eventName"`
	UserIdentity struct {
		PrincipalID string `json:"principalId"`
	} `json:"userIdentity"`
	RequestParameters struct {
		SourceIPAddress string `json:"sourceIPAddress"`
	} `json:"requestParameters"`
	ResponseElements map[string]string `json:"responseElements"`
	S3               struct {
		SchemaVersion   string `json:"s3SchemaVersion"`
		ConfigurationID string `json:"configurationId"`
		Bucket          struct {
			Name          string `json:"name"`
			OwnerIdentity struct {
				PrincipalID string `json:"principalId"`
			} `json:"ownerIdentity"`
			ARN string `json:"arn"`
		} `json:"bucket"`
		Object map[string]any `json:"object"`
	} `json:"s3"`
}

func decodeRecords(t *testing.T, data []byte) []awsRecord {
	t.Helper()
	var m struct {
		Records []awsRecord `json:"Records"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return m.Records
}

var sampleTime = time.Date(2026, 3, 4, 5, 6, 7, 891_234_567, time.FixedZone("x", 3600))

func sampleEvent() meta.Event {
	return meta.Event{
		Seq: 0x1A2B, Target: arnHooks, ConfigID: "images", Name: "s3:ObjectCreated:Put",
		Time: sampleTime, Bucket: "photos", Key: "2026/my cat (1).jpg", VersionID: "v123",
		ETag: "d41d8cd98f00b204e9800998ecf8427e", Size: 1234,
		Principal: "root", SourceIP: "192.0.2.7", RequestID: "REQ1",
	}
}

func TestEncodeCreated(t *testing.T) {
	enc := Encoder{Region: "eu-west-3", HostID: "node-1", BucketOwner: func(_ context.Context, b string) (string, error) {
		if b != "photos" {
			t.Errorf("owner asked for %q", b)
		}
		return "owner-1", nil
	}}
	data, err := enc.Encode(context.Background(), sampleEvent())
	if err != nil {
		t.Fatal(err)
	}
	recs := decodeRecords(t, data)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	checks := []struct{ name, got, want string }{
		{"eventVersion", r.EventVersion, "2.1"},
		{"eventSource", r.EventSource, "aws:s3"},
		{"awsRegion", r.AWSRegion, "eu-west-3"},
		{"eventTime", r.EventTime, "2026-03-04T04:06:07.891Z"},
		{"eventName", r.EventName, "ObjectCreated:Put"},
		{"principalId", r.UserIdentity.PrincipalID, "root"},
		{"sourceIPAddress", r.RequestParameters.SourceIPAddress, "192.0.2.7"},
		{"x-amz-request-id", r.ResponseElements["x-amz-request-id"], "REQ1"},
		{"x-amz-id-2", r.ResponseElements["x-amz-id-2"], "node-1"},
		{"s3SchemaVersion", r.S3.SchemaVersion, "1.0"},
		{"configurationId", r.S3.ConfigurationID, "images"},
		{"bucket.name", r.S3.Bucket.Name, "photos"},
		{"bucket.owner", r.S3.Bucket.OwnerIdentity.PrincipalID, "owner-1"},
		{"bucket.arn", r.S3.Bucket.ARN, "arn:aws:s3:::photos"},
		{"object.key", r.S3.Object["key"].(string), "2026/my+cat+%281%29.jpg"},
		{"object.eTag", r.S3.Object["eTag"].(string), "d41d8cd98f00b204e9800998ecf8427e"},
		{"object.versionId", r.S3.Object["versionId"].(string), "v123"},
		{"object.sequencer", r.S3.Object["sequencer"].(string), "0000000000001A2B"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if size, ok := r.S3.Object["size"].(float64); !ok || size != 1234 {
		t.Errorf("size = %v", r.S3.Object["size"])
	}
	// The field order of AWS's documentation, for consumers that read
	// the JSON as text.
	if !strings.HasPrefix(string(data), `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-west-3","eventTime":`) {
		t.Errorf("unexpected layout: %s", data)
	}
}

func TestEncodeRemovedAndOthers(t *testing.T) {
	enc := Encoder{BucketOwner: func(context.Context, string) (string, error) { return "", errors.New("bucket gone") }}
	cases := []struct {
		name, version string
		size, etag    bool
	}{
		{"s3:ObjectRemoved:Delete", "2.1", false, false},
		{"s3:ObjectRemoved:DeleteMarkerCreated", "2.1", false, false},
		{"s3:LifecycleExpiration:Delete", "2.3", false, false},
		{"s3:ObjectTagging:Put", "2.3", false, true},
		{"s3:ObjectCreated:CompleteMultipartUpload", "2.1", true, true},
	}
	for _, c := range cases {
		ev := sampleEvent()
		ev.Name = c.name
		ev.VersionID = meta.NullVersion
		data, err := enc.Encode(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		r := decodeRecords(t, data)[0]
		if r.EventVersion != c.version || r.AWSRegion != DefaultRegion || r.S3.Bucket.OwnerIdentity.PrincipalID != "" {
			t.Errorf("%s: version %s region %s owner %q", c.name, r.EventVersion, r.AWSRegion, r.S3.Bucket.OwnerIdentity.PrincipalID)
		}
		_, hasSize := r.S3.Object["size"]
		_, hasETag := r.S3.Object["eTag"]
		_, hasVersion := r.S3.Object["versionId"]
		if hasSize != c.size || hasETag != c.etag || hasVersion {
			t.Errorf("%s: object %v", c.name, r.S3.Object)
		}
	}
}

func TestEncodeTestEvent(t *testing.T) {
	cfg, err := ParseConfig(doc(queue("a", arnHooks, "", "s3:ObjectCreated:*"), queue("b", arnBus, "", "s3:ObjectCreated:*"),
		queue("c", arnHooks, "", "s3:ObjectRemoved:*")))
	if err != nil {
		t.Fatal(err)
	}
	evs := TestEvents(cfg, "photos", "REQ9", sampleTime)
	if len(evs) != 2 || evs[0].Target != arnHooks || evs[1].Target != arnBus {
		t.Fatalf("test events %+v", evs)
	}
	data, err := Encoder{HostID: "node-1"}.Encode(context.Background(), evs[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Service": "Coffer", "Event": "s3:TestEvent", "Time": "2026-03-04T04:06:07.891Z",
		"Bucket": "photos", "RequestId": "REQ9", "HostId": "node-1"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
}

func TestEncodeKey(t *testing.T) {
	cases := map[string]string{
		"plain.txt":             "plain.txt",
		"a/b/c":                 "a/b/c",
		"red flower.jpg":        "red+flower.jpg",
		"a+b=c&d?e#f%g":         "a%2Bb%3Dc%26d%3Fe%23f%25g",
		"star*dash-under_":      "star*dash-under_",
		"tilde~":                "tilde%7E",
		"é":                     "%C3%A9",
		"nul\x00":               "nul%00",
		"colon:semi;comma,":     "colon%3Asemi%3Bcomma%2C",
		"(paren)[bracket]{br}'": "%28paren%29%5Bbracket%5D%7Bbr%7D%27",
	}
	for in, want := range cases {
		got := EncodeKey(in)
		if got != want {
			t.Errorf("EncodeKey(%q) = %q, want %q", in, got, want)
		}
		if back, err := url.QueryUnescape(got); err != nil || back != in {
			t.Errorf("QueryUnescape(%q) = %q, %v", got, back, err)
		}
	}
}

func TestSequencerSorts(t *testing.T) {
	seqs := []uint64{0, 1, 9, 10, 15, 16, 255, 256, 1 << 32, 1<<64 - 1}
	var strs []string
	for _, s := range seqs {
		strs = append(strs, Sequencer(s))
		if len(strs[len(strs)-1]) != 16 {
			t.Fatalf("%d: %q not fixed width", s, strs[len(strs)-1])
		}
	}
	if !sort.StringsAreSorted(strs) {
		t.Fatalf("not sorted: %v", strs)
	}
}
