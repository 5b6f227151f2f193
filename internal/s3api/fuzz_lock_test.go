package s3api

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// The object-lock bodies are untrusted XML. Their parsers must never
// panic, and what they accept must survive the encoder the GET side uses:
// what a client reads back is what was stored, so writing it again changes
// nothing (a COMPLIANCE date read and written back must not count as a
// shortening).

func FuzzParseLockConfig(f *testing.F) {
	for _, s := range []string{
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>30</Days></DefaultRetention></Rule></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Years>7</Years></DefaultRetention></Rule></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule></Rule></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>&lt;x&gt;</Mode><Days>-1</Days></DefaultRetention></Rule></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><Rule><DefaultRetention><Days>99999999999999999999</Days></DefaultRetention></Rule>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseLockConfig(data)
		if err != nil {
			checkAPIError(t, err)
			return
		}
		if !c.Enabled {
			t.Fatalf("accepted a configuration that is not Enabled: %+v", c)
		}
		if c.Mode != "" && c.Mode != meta.LockGovernance && c.Mode != meta.LockCompliance {
			t.Fatalf("accepted retention mode %q", c.Mode)
		}
		if c.Mode != "" && (c.Days > 0) == (c.Years > 0) || c.Days < 0 || c.Years < 0 {
			t.Fatalf("accepted period Days %d Years %d", c.Days, c.Years)
		}
		enc := appendLockConfig(nil, c)
		again, err := ParseLockConfig(enc)
		if err != nil || again != c {
			t.Fatalf("%+v encodes as %s, which parses as %+v, %v", c, enc, again, err)
		}
		if !bytes.Equal(appendLockConfig(nil, again), enc) {
			t.Fatalf("encoding of %+v is not stable", c)
		}
	})
}

func FuzzParseRetention(f *testing.F) {
	for _, s := range []string{
		`<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2030-01-02T03:04:05Z</RetainUntilDate></Retention>`,
		`<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-02T03:04:05.123Z</RetainUntilDate></Retention>`,
		`<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-02T03:04:05.123456789+02:00</RetainUntilDate></Retention>`,
		`<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate> 2030-01-02T03:04:05+0100 </RetainUntilDate></Retention>`,
		`<Retention></Retention>`,
		`<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>9999-12-31T23:59:59.9999Z</RetainUntilDate></Retention>`,
		`<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>9999-12-31T23:59:59-01:00</RetainUntilDate></Retention>`,
		`<Retention><Mode>GOVERNANCE</Mode></Retention>`,
		`<Retention><RetainUntilDate>2030-01-02T03:04:05Z</RetainUntilDate></Retention>`,
		`<Retention><Mode>FOREVER</Mode><RetainUntilDate>tomorrow</RetainUntilDate></Retention>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRetention(data)
		if err != nil {
			checkAPIError(t, err)
			return
		}
		if r.Mode == "" {
			if !r.Until.IsZero() {
				t.Fatalf("a removal carries a date: %+v", r)
			}
			return
		}
		if r.Mode != meta.LockGovernance && r.Mode != meta.LockCompliance || r.Until.IsZero() || r.Until.Location() != time.UTC {
			t.Fatalf("accepted retention %+v", r)
		}
		enc := appendRetention(nil, r)
		again, err := ParseRetention(enc)
		if err != nil || again.Mode != r.Mode || !again.Until.Equal(r.Until) {
			t.Fatalf("%+v encodes as %s, which parses as %+v, %v", r, enc, again, err)
		}
	})
}

func FuzzParseLegalHold(f *testing.F) {
	for _, s := range []string{
		`<LegalHold><Status>ON</Status></LegalHold>`,
		`<LegalHold xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>OFF</Status></LegalHold>`,
		`<LegalHold><Status>on</Status></LegalHold>`,
		`<LegalHold></LegalHold>`,
		`<Retention><Status>ON</Status></Retention>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		on, err := ParseLegalHold(data)
		if err != nil {
			checkAPIError(t, err)
			return
		}
		enc := appendLegalHold(nil, on)
		if again, err := ParseLegalHold(enc); err != nil || again != on {
			t.Fatalf("legal hold %v encodes as %s, which parses as %v, %v", on, enc, again, err)
		}
	})
}

// checkAPIError requires a parser's refusal to be a 4xx S3 error, never one
// the client would see as an internal error.
func checkAPIError(t *testing.T, err error) {
	t.Helper()
	ae := toAPIError(err)
	if ae.Status < http.StatusBadRequest || ae.Status >= http.StatusInternalServerError {
		t.Fatalf("refusal %v maps to status %d", err, ae.Status)
	}
}

// TestLockParsersRefuse pins the codes of the refusals S3 documents.
func TestLockParsersRefuse(t *testing.T) {
	for _, tc := range []struct {
		name, body, code string
		parse            func([]byte) error
	}{
		{"config not enabled", `<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>`, "MalformedXML", lockConfigErr},
		{"config days and years", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>`, "MalformedXML", lockConfigErr},
		{"config zero days", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>0</Days></DefaultRetention></Rule></ObjectLockConfiguration>`, "InvalidArgument", lockConfigErr},
		{"config unknown mode", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>FOREVER</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>`, "MalformedXML", lockConfigErr},
		{"config rule without retention", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule></Rule></ObjectLockConfiguration>`, "MalformedXML", lockConfigErr},
		{"retention unknown mode", `<Retention><Mode>FOREVER</Mode><RetainUntilDate>2030-01-02T03:04:05Z</RetainUntilDate></Retention>`, "MalformedXML", retentionErr},
		{"retention bad date", `<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>soon</RetainUntilDate></Retention>`, "InvalidArgument", retentionErr},
		{"retention not XML", `{"Mode":"GOVERNANCE"}`, "MalformedXML", retentionErr},
		{"legal hold lower case", `<LegalHold><Status>on</Status></LegalHold>`, "MalformedXML", legalHoldErr},
		{"legal hold empty", `<LegalHold></LegalHold>`, "MalformedXML", legalHoldErr},
	} {
		err := tc.parse([]byte(tc.body))
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if got := toAPIError(err).Code; got != tc.code {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.code)
		}
	}
	// Dates keep only what the GET side shows (milliseconds), rounded up so
	// that a lock never ends before the date asked for.
	r, err := ParseRetention([]byte(`<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-02T03:04:05.1230001+01:00</RetainUntilDate></Retention>`))
	if want := time.Date(2030, 1, 2, 2, 4, 5, 124e6, time.UTC); err != nil || !r.Until.Equal(want) {
		t.Errorf("retain-until date = %v, %v; want %v", r.Until, err, want)
	}
	var a object.Attrs
	h := http.Header{"X-Amz-Object-Lock-Mode": {"GOVERNANCE"}, "X-Amz-Object-Lock-Retain-Until-Date": {"2030-01-02T03:04:05.5Z"}}
	if err := parseLockHeaders(h, &a); err != nil || !a.Retention.Until.Equal(time.Date(2030, 1, 2, 3, 4, 5, 500e6, time.UTC)) {
		t.Errorf("header date = %v, %v", a.Retention.Until, err)
	}
}

func lockConfigErr(b []byte) error { _, err := ParseLockConfig(b); return err }
func retentionErr(b []byte) error  { _, err := ParseRetention(b); return err }
func legalHoldErr(b []byte) error  { _, err := ParseLegalHold(b); return err }
