package sharelink

import (
	"bufio"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cofferstore/coffer/internal/sigv4"
)

// FuzzIDFromQuery checks the parser the S3 surface runs on every presigned
// query: it never panics, what it finds survives re-encoding, and it agrees
// with net/url wherever the two decoders are meant to agree (no '+', which
// SigV4 keeps literal, and no ';', which net/url refuses).
func FuzzIDFromQuery(f *testing.F) {
	for _, s := range []string{
		"", "X-Coffer-Share=0123456789abcdef0123456789abcdef", "a=b&X-Coffer-Share=x&c",
		"X-Coffer-%53hare=%41", "X-Coffer-Share=a&X-Coffer-Share=b", "X-Coffer-Share", "X-Coffer-Share=%zz",
		"%zz=1&X-Coffer-Share=1", "&&X-Coffer-Share=&&", "X-Coffer-Share=a+b", "x=%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		id, found, err := IDFromQuery(raw)
		if err != nil {
			if found || id != "" {
				t.Fatalf("error %v with found=%v id=%q", err, found, id)
			}
			return
		}
		if !found {
			if id != "" {
				t.Fatalf("not found but id %q", id)
			}
		} else {
			again, found2, err := IDFromQuery(QueryParam + "=" + string(sigv4.AppendEncoded(nil, id, false)))
			if err != nil || !found2 || again != id {
				t.Fatalf("re-encoded id %q came back as %q, %v, %v", id, again, found2, err)
			}
		}
		if strings.ContainsAny(raw, "+;") {
			return
		}
		vals, uerr := url.ParseQuery(raw)
		if uerr != nil {
			return
		}
		got := vals[QueryParam]
		switch {
		case !found && len(got) != 0:
			t.Fatalf("net/url finds %q, IDFromQuery nothing", got)
		case found && (len(got) != 1 || got[0] != id):
			t.Fatalf("IDFromQuery finds %q, net/url %q", id, got)
		}
	})
}

// FuzzPresign makes links for arbitrary keys and checks, on the request as
// a server parses it from the wire, that Coffer's verifier accepts them,
// that the decoded path names exactly the key, that the id is found, and
// that removing dot segments (as browsers do) changes nothing.
func FuzzPresign(f *testing.F) {
	for _, k := range weirdKeys {
		f.Add(k, uint8(0), uint32(60))
	}
	f.Fuzz(func(t *testing.T, key string, m uint8, exp uint32) {
		if key == "" || len(key) > 1024 || !utf8.ValidString(key) {
			return
		}
		method := []string{"GET", "PUT", "DELETE"}[m%3]
		secs := int64(exp%uint32(MaxExpires/time.Second)) + 1
		date := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
		link := presign(presignInput{
			method: method, scheme: "http", host: "s3.test:9000", bucket: "fuzz-bucket", key: key,
			accessKey: "AKIDFUZZ", secret: "fuzz-secret", region: "us-east-1", date: date, expires: secs,
			extra: [][2]string{{QueryParam, "0123456789abcdef0123456789abcdef"}},
		})
		checkBrowserSafe(t, link)
		u, err := url.Parse(link)
		if err != nil {
			t.Fatalf("%q: %v", link, err)
		}
		wire := method + " " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\n\r\n"
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(wire)))
		if err != nil {
			t.Fatalf("server cannot parse %q: %v", wire, err)
		}
		if r.URL.Path != "/fuzz-bucket/"+key {
			t.Fatalf("server decodes the path as %q, want %q", r.URL.Path, "/fuzz-bucket/"+key)
		}
		v := &sigv4.Verifier{Creds: staticCreds{"AKIDFUZZ": "fuzz-secret"}, Now: func() time.Time { return date }}
		if _, err := v.Verify(r); err != nil {
			t.Fatalf("verifier refuses %s: %v", link, err)
		}
		if id, found, err := IDFromQuery(r.URL.RawQuery); err != nil || !found || id != "0123456789abcdef0123456789abcdef" {
			t.Fatalf("IDFromQuery = %q, %v, %v", id, found, err)
		}
	})
}

func FuzzValidID(f *testing.F) {
	f.Add("0123456789abcdef0123456789abcdef")
	f.Add("0123456789ABCDEF0123456789abcdef")
	f.Fuzz(func(t *testing.T, id string) {
		if !ValidID(id) {
			return
		}
		if len(id) != idLen || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("ValidID accepts %q", id)
		}
	})
}
