package lifecycle

import (
	"math"
	"reflect"
	"testing"
	"time"
)

const day = DefaultDay

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustParse(t *testing.T, rules string) *Configuration {
	t.Helper()
	c, err := Parse(doc(rules))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func obj(id string, modified string) Version {
	return Version{VersionID: id, Modified: at(modified), Size: 100}
}

func latest(v Version) Version { v.IsLatest = true; return v }

func marker(id, modified string) Version {
	return Version{VersionID: id, DeleteMarker: true, Modified: at(modified)}
}

func TestExpirationDays(t *testing.T) {
	c := mustParse(t, `<Rule><ID>r</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>`)
	// S3's own example: created 2014-01-15 10:30 UTC, 3 days: due 2014-01-19 00:00 UTC.
	v := []Version{latest(obj("v1", "2014-01-15T10:30:00Z"))}
	cases := []struct {
		name string
		key  string
		now  string
		want []Action
	}{
		{"before the rounded midnight", "logs/a", "2014-01-18T23:59:59Z", nil},
		{"at the rounded midnight", "logs/a", "2014-01-19T00:00:00Z", []Action{{"v1", ExpireCurrent, "r"}}},
		{"long after", "logs/a", "2020-01-01T00:00:00Z", []Action{{"v1", ExpireCurrent, "r"}}},
		{"other prefix", "data/a", "2020-01-01T00:00:00Z", nil},
		{"prefix is not a substring match", "x/logs/a", "2020-01-01T00:00:00Z", nil},
	}
	for _, tc := range cases {
		if got := c.EvaluateKey(tc.key, v, at(tc.now), day); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestExpirationFromMidnightIsNotRoundedFurther(t *testing.T) {
	c := mustParse(t, `<Rule><ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)
	v := []Version{latest(obj("v1", "2024-05-01T00:00:00Z"))}
	if got := c.EvaluateKey("k", v, at("2024-05-01T23:59:59Z"), day); got != nil {
		t.Fatalf("early: %v", got)
	}
	if got := c.EvaluateKey("k", v, at("2024-05-02T00:00:00Z"), day); len(got) != 1 {
		t.Fatalf("at due time: %v", got)
	}
}

func TestExpirationDate(t *testing.T) {
	c := mustParse(t, `<Rule><ID>d</ID><Filter/><Status>Enabled</Status><Expiration><Date>2030-06-01T00:00:00Z</Date></Expiration></Rule>`)
	old := []Version{latest(obj("old", "2020-01-01T12:00:00Z"))}
	young := []Version{latest(obj("young", "2030-06-05T12:00:00Z"))}
	if got := c.EvaluateKey("k", old, at("2030-05-31T23:59:59Z"), day); got != nil {
		t.Fatalf("before the date: %v", got)
	}
	if got := c.EvaluateKey("k", old, at("2030-06-01T00:00:00Z"), day); !reflect.DeepEqual(got, []Action{{"old", ExpireCurrent, "d"}}) {
		t.Fatalf("on the date: %v", got)
	}
	// Once the date has passed the action keeps applying to new objects.
	if got := c.EvaluateKey("k", young, at("2030-06-06T00:00:00Z"), day); !reflect.DeepEqual(got, []Action{{"young", ExpireCurrent, "d"}}) {
		t.Fatalf("object created after the date: %v", got)
	}
	// A Date is an instant: a short test day does not move it.
	if got := c.EvaluateKey("k", old, at("2030-05-31T00:00:00Z"), time.Second); got != nil {
		t.Fatalf("short day moved the date: %v", got)
	}
}

func TestDayLengthScaling(t *testing.T) {
	c := mustParse(t, `<Rule><ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Days>3</Days></Expiration>`+
		`<NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays></NoncurrentVersionExpiration>`+
		`<AbortIncompleteMultipartUpload><DaysAfterInitiation>4</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`)
	t0 := at("2024-05-01T10:30:00Z")
	short := 2 * time.Second
	cur := []Version{{VersionID: "v", IsLatest: true, Modified: t0}}
	if got := c.EvaluateKey("k", cur, t0.Add(6*time.Second-time.Nanosecond), short); got != nil {
		t.Fatalf("expired before 3 short days: %v", got)
	}
	if got := c.EvaluateKey("k", cur, t0.Add(6*time.Second), short); len(got) != 1 {
		t.Fatalf("not expired after 3 short days (no rounding to midnight): %v", got)
	}
	nc := []Version{
		{VersionID: "new", IsLatest: true, Modified: t0.Add(10 * time.Second)},
		{VersionID: "old", Modified: t0},
	}
	// old became noncurrent at t0+10s: due at t0+14s.
	if got := c.EvaluateKey("k", nc, t0.Add(14*time.Second-time.Nanosecond), short); got != nil {
		t.Fatalf("noncurrent version removed early: %v", got)
	}
	if got := c.EvaluateKey("k", nc, t0.Add(14*time.Second), short); !reflect.DeepEqual(got, []Action{{"old", DeleteVersion, "r"}}) {
		t.Fatalf("noncurrent version kept after 2 short days: %v", got)
	}
	if _, ok := c.AbortUpload("k", t0, t0.Add(8*time.Second-time.Nanosecond), short); ok {
		t.Fatal("upload aborted early")
	}
	if _, ok := c.AbortUpload("k", t0, t0.Add(8*time.Second), short); !ok {
		t.Fatal("upload not aborted after 4 short days")
	}
	// A zero or negative day length means the real one.
	if got := c.EvaluateKey("k", cur, t0.Add(time.Hour), 0); got != nil {
		t.Fatalf("zero day length: %v", got)
	}
}

func TestTagAndSizeFilters(t *testing.T) {
	c := mustParse(t, `<Rule><ID>tags</ID><Filter><And><Prefix>t/</Prefix><Tag><Key>env</Key><Value>dev</Value></Tag><Tag><Key>tmp</Key></Tag></And></Filter>`+
		`<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`+
		`<Rule><ID>size</ID><Filter><And><Prefix>s/</Prefix><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>20</ObjectSizeLessThan></And></Filter>`+
		`<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`+
		`<Rule><ID>one</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)
	now := at("2024-01-10T00:00:00Z")
	mod := at("2024-01-01T00:00:00Z")
	cases := []struct {
		name string
		key  string
		size int64
		tags map[string]string
		want string // rule id, "" for no action
	}{
		{"all tags, extra tag", "t/a", 1, map[string]string{"env": "dev", "tmp": "", "x": "y"}, "tags"},
		{"missing a tag", "t/a", 1, map[string]string{"env": "dev"}, ""},
		{"wrong value", "t/a", 1, map[string]string{"env": "prod", "tmp": ""}, ""},
		{"key-only tag needs an empty value", "t/a", 1, map[string]string{"env": "dev", "tmp": "set"}, ""},
		{"no tags", "t/a", 1, nil, ""},
		{"tags but wrong prefix", "u/a", 1, map[string]string{"env": "dev", "tmp": ""}, ""},
		{"size inside", "s/a", 15, nil, "size"},
		{"size at the lower bound", "s/a", 10, nil, ""},
		{"size at the upper bound", "s/a", 20, nil, ""},
		{"size just inside", "s/a", 11, nil, "size"},
		{"single tag filter", "any", 0, map[string]string{"k": "v"}, "one"},
	}
	for _, tc := range cases {
		v := []Version{{VersionID: "v", IsLatest: true, Modified: mod, Size: tc.size, Tags: tc.tags}}
		got := c.EvaluateKey(tc.key, v, now, day)
		switch {
		case tc.want == "" && got != nil:
			t.Errorf("%s: got %v, want nothing", tc.name, got)
		case tc.want != "" && !reflect.DeepEqual(got, []Action{{"v", ExpireCurrent, tc.want}}):
			t.Errorf("%s: got %v, want expiry by %s", tc.name, got, tc.want)
		}
	}
}

func TestDisabledRulesDoNothing(t *testing.T) {
	c := mustParse(t, `<Rule><ID>r</ID><Filter/><Status>Disabled</Status><Expiration><Days>1</Days></Expiration>`+
		`<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>`+
		`<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`+
		`<Rule><ID>m</ID><Filter/><Status>Disabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`)
	now := at("2030-01-01T00:00:00Z")
	for _, vs := range [][]Version{
		{latest(obj("a", "2020-01-01T00:00:00Z")), obj("b", "2019-01-01T00:00:00Z")},
		{latest(marker("m", "2020-01-01T00:00:00Z"))},
	} {
		if got := c.EvaluateKey("k", vs, now, day); got != nil {
			t.Errorf("disabled rules acted: %v", got)
		}
	}
	if _, ok := c.AbortUpload("k", at("2020-01-01T00:00:00Z"), now, day); ok {
		t.Error("disabled rule aborted an upload")
	}
	if p := c.ScanPrefixes(); p != nil {
		t.Errorf("ScanPrefixes = %q", p)
	}
}

func TestVersionedKey(t *testing.T) {
	c := mustParse(t, `<Rule><ID>cur</ID><Filter/><Status>Enabled</Status><Expiration><Days>10</Days></Expiration></Rule>`+
		`<Rule><ID>nc</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>5</NoncurrentDays></NoncurrentVersionExpiration></Rule>`)
	// v3 current since 01-20; v2 noncurrent since 01-20; v1 since 01-10.
	vs := []Version{
		latest(obj("v3", "2024-01-20T12:00:00Z")),
		obj("v2", "2024-01-10T12:00:00Z"),
		obj("v1", "2024-01-01T12:00:00Z"),
	}
	cases := []struct {
		now  string
		want []Action
	}{
		{"2024-01-15T23:59:59Z", nil},
		// v1: noncurrent at 01-10 12:00 + 5 days, rounded: 01-16 00:00.
		{"2024-01-16T00:00:00Z", []Action{{"v1", DeleteVersion, "nc"}}},
		// v2: 01-20 12:00 + 5 days: 01-26 00:00.
		{"2024-01-26T00:00:00Z", []Action{{"v2", DeleteVersion, "nc"}, {"v1", DeleteVersion, "nc"}}},
		// v3: created 01-20 12:00 + 10 days: 01-31 00:00.
		{"2024-01-31T00:00:00Z", []Action{{"v3", ExpireCurrent, "cur"}, {"v2", DeleteVersion, "nc"}, {"v1", DeleteVersion, "nc"}}},
	}
	for _, tc := range cases {
		if got := c.EvaluateKey("k", vs, at(tc.now), day); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("at %s: got %v, want %v", tc.now, got, tc.want)
		}
	}
	// An explicit NoncurrentSince wins over the neighbour's Modified.
	vs[2].NoncurrentSince = at("2024-01-19T00:00:00Z")
	if got := c.EvaluateKey("k", vs, at("2024-01-16T00:00:01Z"), day); got != nil {
		t.Errorf("NoncurrentSince ignored: %v", got)
	}
}

func TestLatestDeleteMarkerWithVersionsIsNotExpired(t *testing.T) {
	c := mustParse(t, `<Rule><ID>cur</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`+
		`<Rule><ID>eodm</ID><Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`)
	vs := []Version{latest(marker("dm", "2024-01-02T00:00:00Z")), obj("v1", "2024-01-01T00:00:00Z")}
	if got := c.EvaluateKey("k", vs, at("2030-01-01T00:00:00Z"), day); got != nil {
		t.Fatalf("acted on a key whose marker hides a version: %v", got)
	}
}

func TestNewerNoncurrentVersions(t *testing.T) {
	c := mustParse(t, `<Rule><ID>keep2</ID><Filter/><Status>Enabled</Status>`+
		`<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`)
	now := at("2030-01-01T00:00:00Z")
	vs := []Version{
		latest(obj("v6", "2024-01-06T00:00:00Z")),
		obj("v5", "2024-01-05T00:00:00Z"),
		marker("dm4", "2024-01-04T00:00:00Z"),
		obj("v3", "2024-01-03T00:00:00Z"),
		obj("v2", "2024-01-02T00:00:00Z"),
		obj("v1", "2024-01-01T00:00:00Z"),
	}
	// Kept: v5 and v3, the two newest noncurrent objects; the marker does
	// not take one of the places (and, with one object newer than it, is
	// within them).
	want := []Action{{"v2", DeleteVersion, "keep2"}, {"v1", DeleteVersion, "keep2"}}
	if got := c.EvaluateKey("k", vs, now, day); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// With only N noncurrent versions nothing goes, however old.
	if got := c.EvaluateKey("k", vs[:2], now, day); got != nil {
		t.Fatalf("removed one of the kept versions: %v", got)
	}
	// Age still counts: v1 is the third noncurrent but has not been
	// noncurrent for a day yet.
	young := []Version{
		latest(obj("v4", "2024-01-04T00:00:00Z")),
		obj("v3", "2024-01-03T20:00:00Z"),
		obj("v2", "2024-01-03T10:00:00Z"),
		obj("v1", "2024-01-01T00:00:00Z"),
	}
	if got := c.EvaluateKey("k", young, at("2024-01-04T12:00:00Z"), day); got != nil {
		t.Fatalf("removed a version noncurrent for less than a day: %v", got)
	}
	if got := c.EvaluateKey("k", young, at("2024-01-05T00:00:00Z"), day); !reflect.DeepEqual(got, []Action{{"v1", DeleteVersion, "keep2"}}) {
		t.Fatalf("third noncurrent version kept: %v", got)
	}
}

func TestExpiredObjectDeleteMarker(t *testing.T) {
	c := mustParse(t, `<Rule><ID>eodm</ID><Filter><Prefix>a/</Prefix></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`+
		`<Rule><ID>days</ID><Filter><Prefix>b/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>`+
		`<Rule><ID>off</ID><Filter><Prefix>c/</Prefix></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration></Rule>`+
		`<Rule><ID>sized</ID><Filter><ObjectSizeGreaterThan>0</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)
	alone := []Version{latest(marker("dm", "2024-01-01T10:00:00Z"))}
	withVersion := []Version{latest(marker("dm", "2024-01-01T10:00:00Z")), obj("v", "2023-01-01T00:00:00Z")}
	cases := []struct {
		name string
		key  string
		vs   []Version
		now  string
		want []Action
	}{
		{"alone: removed at once", "a/k", alone, "2024-01-01T10:00:01Z", []Action{{"dm", DeleteMarker, "eodm"}}},
		{"with a noncurrent version: kept", "a/k", withVersion, "2030-01-01T00:00:00Z", nil},
		{"Days rule removes it once old enough", "b/k", alone, "2024-01-05T00:00:00Z", []Action{{"dm", DeleteMarker, "days"}}},
		{"Days rule waits", "b/k", alone, "2024-01-04T23:59:59Z", nil},
		{"false marker does nothing", "c/k", alone, "2030-01-01T00:00:00Z", nil},
		{"size filters never match a marker", "z/k", alone, "2030-01-01T00:00:00Z", nil},
	}
	for _, tc := range cases {
		if got := c.EvaluateKey(tc.key, tc.vs, at(tc.now), day); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDeleteMarkersAndSizeFilters(t *testing.T) {
	c := mustParse(t, `<Rule><ID>big</ID><Filter><ObjectSizeGreaterThan>50</ObjectSizeGreaterThan></Filter><Status>Enabled</Status>`+
		`<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>`)
	vs := []Version{
		latest(obj("v3", "2024-01-03T00:00:00Z")),
		marker("dm", "2024-01-02T00:00:00Z"),
		obj("v1", "2024-01-01T00:00:00Z"), // size 100
	}
	want := []Action{{"v1", DeleteVersion, "big"}}
	if got := c.EvaluateKey("k", vs, at("2030-01-01T00:00:00Z"), day); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestConflictingRulesShortestWins(t *testing.T) {
	c := mustParse(t, `<Rule><ID>long</ID><Filter/><Status>Enabled</Status><Expiration><Days>30</Days></Expiration>`+
		`<NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays></NoncurrentVersionExpiration></Rule>`+
		`<Rule><ID>short</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>7</Days></Expiration>`+
		`<NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>5</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`+
		`<Rule><ID>date</ID><Filter><Prefix>logs/old/</Prefix></Filter><Status>Enabled</Status><Expiration><Date>2024-01-03T00:00:00Z</Date></Expiration></Rule>`)
	vs := []Version{latest(obj("cur", "2024-01-01T00:00:00Z")), obj("nc", "2023-12-01T00:00:00Z")}
	cases := []struct {
		key, now string
		want     []Action
	}{
		// Both expirations due: the one due first names the action.
		{"logs/a", "2024-03-01T00:00:00Z", []Action{{"cur", ExpireCurrent, "short"}, {"nc", DeleteVersion, "long"}}},
		{"logs/a", "2024-01-08T00:00:00Z", []Action{{"cur", ExpireCurrent, "short"}}},
		{"logs/a", "2024-01-07T23:59:59Z", nil},
		{"other", "2024-01-08T00:00:00Z", nil},
		{"other", "2024-03-01T00:00:00Z", []Action{{"cur", ExpireCurrent, "long"}, {"nc", DeleteVersion, "long"}}},
		{"logs/old/a", "2024-01-03T00:00:00Z", []Action{{"cur", ExpireCurrent, "date"}}},
		{"logs/old/a", "2024-03-01T00:00:00Z", []Action{{"cur", ExpireCurrent, "date"}, {"nc", DeleteVersion, "long"}}},
	}
	for _, tc := range cases {
		if got := c.EvaluateKey(tc.key, vs, at(tc.now), day); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s at %s: got %v, want %v", tc.key, tc.now, got, tc.want)
		}
	}
}

func TestUnversionedKey(t *testing.T) {
	c := mustParse(t, `<Rule><ID>r</ID><Prefix>tmp/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)
	vs := []Version{{VersionID: "null", IsLatest: true, Modified: at("2024-01-01T00:00:00Z")}}
	if got := c.EvaluateKey("tmp/x", vs, at("2024-01-02T00:00:00Z"), day); !reflect.DeepEqual(got, []Action{{"null", ExpireCurrent, "r"}}) {
		t.Fatalf("got %v", got)
	}
	if got := c.EvaluateKey("tmp/x", nil, at("2024-01-02T00:00:00Z"), day); got != nil {
		t.Fatalf("no versions: %v", got)
	}
}

func TestPartialListIsNotGuessed(t *testing.T) {
	c := mustParse(t, `<Rule><ID>nc</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>`)
	// The first version given is noncurrent and nobody said since when.
	vs := []Version{obj("v2", "2024-01-02T00:00:00Z"), obj("v1", "2024-01-01T00:00:00Z")}
	want := []Action{{"v1", DeleteVersion, "nc"}}
	if got := c.EvaluateKey("k", vs, at("2030-01-01T00:00:00Z"), day); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestHugeDaysNeverDue(t *testing.T) {
	c := &Configuration{Rules: []Rule{{ID: "r", Status: StatusEnabled,
		Expiration:                     &Expiration{Days: math.MaxInt32},
		NoncurrentVersionExpiration:    &NoncurrentVersionExpiration{NoncurrentDays: math.MaxInt32},
		AbortIncompleteMultipartUpload: &AbortIncompleteMultipartUpload{DaysAfterInitiation: math.MaxInt32},
	}}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	vs := []Version{latest(obj("b", "2024-01-02T00:00:00Z")), obj("a", "2024-01-01T00:00:00Z")}
	far := at("2999-01-01T00:00:00Z")
	if got := c.EvaluateKey("k", vs, far, day); got != nil {
		t.Fatalf("got %v", got)
	}
	if _, ok := c.AbortUpload("k", at("2024-01-01T00:00:00Z"), far, time.Hour); ok {
		t.Fatal("aborted")
	}
}

func TestAbortUpload(t *testing.T) {
	c := mustParse(t, `<Rule><ID>seven</ID><Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`+
		`<Rule><ID>one</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`+
		`<Rule><ID>exp</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)
	initiated := at("2024-01-01T15:00:00Z")
	cases := []struct {
		key, now string
		want     string
	}{
		{"data/x", "2024-01-08T23:59:59Z", ""},
		{"data/x", "2024-01-09T00:00:00Z", "seven"},
		{"tmp/x", "2024-01-02T23:59:59Z", ""},
		{"tmp/x", "2024-01-03T00:00:00Z", "one"},
		{"tmp/x", "2024-02-01T00:00:00Z", "one"},
	}
	for _, tc := range cases {
		id, ok := c.AbortUpload(tc.key, initiated, at(tc.now), day)
		if ok != (tc.want != "") || id != tc.want {
			t.Errorf("%s at %s: (%q, %v), want %q", tc.key, tc.now, id, ok, tc.want)
		}
	}
}

func TestScanPrefixes(t *testing.T) {
	c := mustParse(t, `<Rule><ID>a</ID><Filter><Prefix>logs/app/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`+
		`<Rule><ID>b</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>`+
		`<Rule><ID>c</ID><Prefix>data/</Prefix><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`+
		`<Rule><ID>d</ID><Filter><And><Prefix>img/</Prefix><ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`+
		`<Rule><ID>e</ID><Filter><Prefix>off/</Prefix></Filter><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>`+
		`<Rule><ID>f</ID><Filter><Prefix>noop/</Prefix></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration></Rule>`+
		`<Rule><ID>g</ID><Filter><Prefix>up/</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`+
		`<Rule><ID>h</ID><Filter><Prefix>up/x/</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`)
	if got, want := c.ScanPrefixes(), []string{"data/", "img/", "logs/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ScanPrefixes = %q, want %q", got, want)
	}
	if got, want := c.UploadPrefixes(), []string{"up/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("UploadPrefixes = %q, want %q", got, want)
	}
	all := mustParse(t, `<Rule><ID>a</ID><Filter><Prefix>x</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`+
		`<Rule><ID>b</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)
	if got := all.ScanPrefixes(); !reflect.DeepEqual(got, []string{""}) {
		t.Errorf("whole bucket: %q", got)
	}
	if got := all.UploadPrefixes(); got != nil {
		t.Errorf("no abort rule: %q", got)
	}
}
