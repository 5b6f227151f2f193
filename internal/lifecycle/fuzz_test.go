package lifecycle

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	`<LifecycleConfiguration><Rule><ID>a</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule></LifecycleConfiguration>`,
	`<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><Prefix></Prefix><Status>Disabled</Status><Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration></Rule></LifecycleConfiguration>`,
	`<LifecycleConfiguration><Rule><Filter><And><Prefix>p</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><ObjectSizeGreaterThan>1</ObjectSizeGreaterThan><ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>`,
	`<LifecycleConfiguration><Rule><ID>m</ID><Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>`,
	`<LifecycleConfiguration><Rule><Filter><Tag><Key>k</Key></Tag></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>0</ExpiredObjectDeleteMarker></Expiration></Rule></LifecycleConfiguration>`,
	`<LifecycleConfiguration><Rule><Filter><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>`,
	`<LifecycleConfiguration><Rule><ID>&#xD;&amp;</ID><Filter><Prefix> &lt;&#x9;</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule></LifecycleConfiguration>`,
	`<LifecycleConfiguration><Rule><Status>Enabled</Status><Expiration><Days>2147483647</Days></Expiration></Rule><Rule><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`,
	`<?xml version="1.0"?><!-- c --><LifecycleConfiguration><Rule/></LifecycleConfiguration>`,
	`<LifecycleConfiguration><Rule><Filter><Prefix>a</Prefix></Filter><Prefix>b</Prefix><Status>Enabled</Status></Rule></LifecycleConfiguration>`,
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			var le *Error
			if !errors.As(err, &le) || le.Message == "" {
				t.Fatalf("error %v is not an *Error with a message", err)
			}
			if !errors.Is(err, ErrMalformedXML) && !errors.Is(err, ErrInvalidArgument) &&
				!errors.Is(err, ErrInvalidRequest) && !errors.Is(err, ErrNotImplemented) {
				t.Fatalf("error %v has no known kind", err)
			}
			return
		}
		body := c.Bytes()
		back, err := Parse(body)
		if err != nil {
			t.Fatalf("accepted configuration does not read back: %v\n%s", err, body)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip changed the configuration\nbefore %+v\nafter  %+v\n%s", c, back, body)
		}
		if again := back.Bytes(); string(again) != string(body) {
			t.Fatalf("Bytes not stable:\n%s\n%s", body, again)
		}
		checkDecisions(t, c)
	})
}

// checkDecisions runs the decisions on an accepted configuration and checks
// what must hold whatever the rules say.
func checkDecisions(t *testing.T, c *Configuration) {
	enabled := map[string]bool{}
	for _, r := range c.Rules {
		if r.Enabled() {
			enabled[r.ID] = true
		}
	}
	base := time.Date(2024, 1, 1, 10, 30, 0, 0, time.UTC)
	keys := []string{"", "logs/a", "p", "a/k"}
	for _, r := range c.Rules {
		if s := r.selector(); s.prefix != "" {
			keys = append(keys, s.prefix+"x")
		}
	}
	histories := [][]Version{
		{{VersionID: "only", IsLatest: true, Modified: base, Size: 3, Tags: map[string]string{"k": "v"}}},
		{{VersionID: "dm", IsLatest: true, DeleteMarker: true, Modified: base}},
		{
			{VersionID: "dm", IsLatest: true, DeleteMarker: true, Modified: base.Add(48 * time.Hour)},
			{VersionID: "v2", Modified: base.Add(24 * time.Hour), Size: 100},
			{VersionID: "dm1", DeleteMarker: true, Modified: base.Add(time.Hour)},
			{VersionID: "v1", Modified: base, Tags: map[string]string{"k": "v"}},
		},
	}
	for _, key := range keys {
		for _, vs := range histories {
			for _, now := range []time.Time{base, base.AddDate(0, 0, 3), base.AddDate(100, 0, 0)} {
				for _, d := range []time.Duration{DefaultDay, time.Second} {
					seen := map[string]bool{}
					for _, a := range c.EvaluateKey(key, vs, now, d) {
						if !enabled[a.RuleID] {
							t.Fatalf("action %v names no enabled rule", a)
						}
						if seen[a.VersionID] {
							t.Fatalf("two actions for version %s", a.VersionID)
						}
						seen[a.VersionID] = true
						v := versionByID(vs, a.VersionID)
						switch {
						case v == nil:
							t.Fatalf("action %v on an unknown version", a)
						case a.Kind == ExpireCurrent && (!v.IsLatest || v.DeleteMarker),
							a.Kind == DeleteMarker && (!v.IsLatest || !v.DeleteMarker || len(vs) != 1),
							a.Kind == DeleteVersion && v.IsLatest:
							t.Fatalf("action %v does not fit version %+v", a, *v)
						}
					}
				}
			}
			if id, ok := c.AbortUpload(key, base, base.AddDate(1, 0, 0), DefaultDay); ok && !enabled[id] {
				t.Fatalf("AbortUpload names rule %q", id)
			}
		}
	}
	c.ScanPrefixes()
	c.UploadPrefixes()
}

func versionByID(vs []Version, id string) *Version {
	for i := range vs {
		if vs[i].VersionID == id {
			return &vs[i]
		}
	}
	return nil
}

func TestFuzzSeedsBehave(t *testing.T) {
	// The seeds double as a check that both outcomes are exercised.
	accepted := 0
	for _, s := range fuzzSeeds {
		if _, err := Parse([]byte(s)); err == nil {
			accepted++
		}
	}
	if accepted == 0 || accepted == len(fuzzSeeds) {
		t.Fatalf("%d of %d seeds accepted; want a mix", accepted, len(fuzzSeeds))
	}
}
