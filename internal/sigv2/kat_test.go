package sigv2

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// The examples of the AWS Signature Version 2 documentation
// (RESTAuthentication.html), verified as a server receives them.
func TestDocExamples(t *testing.T) {
	v := &Verifier{Creds: newCreds(docAccessKey, docSecret)}
	cases := []struct {
		name, method, target, host, bucket string
		headers                            []string
		now                                time.Time
		presigned                          bool
	}{
		{name: "object GET", method: "GET", target: "/photos/puppy.jpg", host: "johnsmith.s3.amazonaws.com", bucket: "johnsmith",
			headers: []string{"Date", "Tue, 27 Mar 2007 19:36:42 +0000", "Authorization", "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU="},
			now:     time.Date(2007, 3, 27, 19, 40, 0, 0, time.UTC)},
		{name: "object GET, newer bucket name", method: "GET", target: "/photos/puppy.jpg", host: "awsexamplebucket1.us-west-1.s3.amazonaws.com", bucket: "awsexamplebucket1",
			headers: []string{"Date", "Tue, 27 Mar 2007 19:36:42 +0000", "Authorization", "AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g="},
			now:     time.Date(2007, 3, 27, 19, 30, 0, 0, time.UTC)},
		{name: "object PUT", method: "PUT", target: "/photos/puppy.jpg", host: "johnsmith.s3.amazonaws.com", bucket: "johnsmith",
			headers: []string{"Content-Type", "image/jpeg", "Content-Length", "94328", "Date", "Tue, 27 Mar 2007 21:15:45 +0000",
				"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:MyyxeRY7whkBe+bq8fHCL/2kKUg="},
			now: time.Date(2007, 3, 27, 21, 15, 45, 0, time.UTC)},
		{name: "list, unsigned parameters", method: "GET", target: "/?prefix=photos&max-keys=50&marker=puppy", host: "johnsmith.s3.amazonaws.com", bucket: "johnsmith",
			headers: []string{"User-Agent", "Mozilla/5.0", "Date", "Tue, 27 Mar 2007 19:42:41 +0000", "Authorization", "AWS AKIAIOSFODNN7EXAMPLE:htDYFYduRNen8P9ZfE/s9SuKy0U="},
			now:     time.Date(2007, 3, 27, 19, 42, 41, 0, time.UTC)},
		{name: "fetch acl", method: "GET", target: "/?acl", host: "johnsmith.s3.amazonaws.com", bucket: "johnsmith",
			headers: []string{"Date", "Tue, 27 Mar 2007 19:44:46 +0000", "Authorization", "AWS AKIAIOSFODNN7EXAMPLE:c2WLPFtWHVgbEmeEG93a4cG37dM="},
			now:     time.Date(2007, 3, 27, 19, 44, 46, 0, time.UTC)},
		{name: "list all buckets", method: "GET", target: "/", host: "s3.amazonaws.com",
			headers: []string{"Date", "Wed, 28 Mar 2007 01:29:59 +0000", "Authorization", "AWS AKIAIOSFODNN7EXAMPLE:qGdzdERIC03wnaRNKh6OqZehG9s="},
			now:     time.Date(2007, 3, 28, 1, 29, 59, 0, time.UTC)},
		{name: "unicode keys, escapes as sent", method: "GET", target: "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re", host: "s3.amazonaws.com",
			headers: []string{"Date", "Wed, 28 Mar 2007 01:49:49 +0000", "Authorization", "AWS AKIAIOSFODNN7EXAMPLE:DNEZGsoieTZ92F3bUfSPQcbGmlM="},
			now:     time.Date(2007, 3, 28, 1, 49, 49, 0, time.UTC)},
		{name: "query string authentication", method: "GET", host: "johnsmith.s3.amazonaws.com", bucket: "johnsmith",
			target: "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620",
			now:    time.Unix(1175139620, 0), presigned: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v.Now = fixedClock(c.now)
			r := serverReq(c.method, c.target, c.host, c.headers...)
			a, err := v.Verify(r, c.bucket)
			mustIs(t, err, nil)
			if a.AccessKey != docAccessKey || a.Presigned != c.presigned {
				t.Fatalf("auth = %+v", a)
			}
		})
	}
}

// The upload example of the documentation, whose string to sign shows every
// amz-header rule: lower-casing, sorting, joining repeated headers, and a
// CNAME bucket.
func TestStringToSignDocUpload(t *testing.T) {
	r := serverReq("PUT", "/db-backup.dat.gz", "static.johnsmith.net:8080",
		"User-Agent", "curl/7.15.5",
		"Date", "Tue, 27 Mar 2007 21:06:08 +0000",
		"x-amz-acl", "public-read",
		"content-type", "application/x-download",
		"Content-MD5", "4gJE4saaMU4BqNR0kLY+lw==",
		"X-Amz-Meta-ReviewedBy", "joe@example.com",
		"X-Amz-Meta-ReviewedBy", "jane@example.com",
		"X-Amz-Meta-FileChecksum", "0x02661779",
		"X-Amz-Meta-ChecksumAlgorithm", "crc32",
		"Content-Disposition", "attachment; filename=database.dat",
		"Content-Encoding", "gzip",
		"Content-Length", "5913339")
	date, _, err := requestDate(r.Header)
	mustIs(t, err, nil)
	got, err := stringToSign(r, date, "static.johnsmith.net", r.URL.Query())
	mustIs(t, err, nil)
	want := "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n" +
		"x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n" +
		"x-amz-meta-reviewedby:joe@example.com,jane@example.com\n/static.johnsmith.net/db-backup.dat.gz"
	if string(got) != want {
		t.Fatalf("string to sign\n got %q\nwant %q", got, want)
	}
}

// With x-amz-date the Date line is empty and x-amz-date is signed as an amz
// header; sub-resources are sorted by byte, values decoded, unsigned
// parameters left out.
func TestStringToSignRules(t *testing.T) {
	cases := []struct {
		name, target, bucket string
		headers              []string
		want                 string
	}{
		{name: "x-amz-date blanks Date", target: "/b/k",
			headers: []string{"Date", "Tue, 27 Mar 2007 21:20:27 +0000", "X-Amz-Date", "Tue, 27 Mar 2007 21:20:26 +0000"},
			want:    "GET\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/b/k"},
		{name: "sub-resources sorted and decoded", target: "/b/k?versionId=v%2F1&uploadId=u%201&partNumber=3&list-type=2&uploads&acl=",
			headers: []string{"Date", "d"},
			want:    "GET\n\n\nd\n/b/k?acl&partNumber=3&uploadId=u 1&uploads&versionId=v/1"},
		{name: "response overrides", target: "/b/k?response-content-type=text%2Fplain&response-expires=never&x-id=GetObject",
			headers: []string{"Date", "d"},
			want:    "GET\n\n\nd\n/b/k?response-content-type=text/plain&response-expires=never"},
		{name: "virtual host root", target: "/?versioning", bucket: "bkt",
			headers: []string{"Date", "d"},
			want:    "GET\n\n\nd\n/bkt/?versioning"},
		{name: "values trimmed, names merged", target: "/b/k",
			headers: []string{"Date", "d", "X-Amz-Meta-A", "  one ", "x-amz-meta-a", "two\t", "X-AMZ-Meta-B", "3"},
			want:    "GET\n\n\nd\nx-amz-meta-a:one,two\nx-amz-meta-b:3\n/b/k"},
		{name: "path as sent", target: "/b/a%2Fb//c%20d+e!'()*",
			headers: []string{"Date", "d"},
			want:    "GET\n\n\nd\n/b/a%2Fb//c%20d+e!'()*"},
		// Characters a lax client leaves unescaped are signed unescaped:
		// EscapedPath alone would re-encode them.
		{name: "path with raw unsafe characters", target: "/b/a{b}|c^d`e",
			headers: []string{"Date", "d"},
			want:    "GET\n\n\nd\n/b/a{b}|c^d`e"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := serverReq("GET", c.target, "h", c.headers...)
			// The Date line is the Date header unless x-amz-date is sent
			// (the parsing of dates is tested on its own).
			date := r.Header.Get("Date")
			if r.Header.Get("X-Amz-Date") != "" {
				date = ""
			}
			q, err := url.ParseQuery(r.URL.RawQuery)
			mustIs(t, err, nil)
			got, err := stringToSign(r, date, c.bucket, q)
			mustIs(t, err, nil)
			if string(got) != c.want {
				t.Fatalf("string to sign\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestSubResourcesSorted(t *testing.T) {
	for i := 1; i < len(subResources); i++ {
		if strings.Compare(subResources[i-1], subResources[i]) >= 0 {
			t.Fatalf("subResources not in byte order at %q, %q", subResources[i-1], subResources[i])
		}
	}
}

func TestParseHTTPDate(t *testing.T) {
	want := time.Date(2007, 3, 27, 21, 20, 26, 0, time.UTC)
	for _, s := range []string{
		"Tue, 27 Mar 2007 21:20:26 GMT",
		"Tue, 27 Mar 2007 21:20:26 +0000",
		"Tue, 27 Mar 2007 23:20:26 +0200",
		"Tuesday, 27-Mar-07 21:20:26 GMT",
		"Tue Mar 27 21:20:26 2007",
		"20070327T212026Z",
	} {
		got, ok := parseHTTPDate(s)
		if !ok || !got.Equal(want) {
			t.Errorf("parseHTTPDate(%q) = %v, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "yesterday", "2007-03-27", "Tue, 32 Mar 2007 21:20:26 GMT"} {
		if _, ok := parseHTTPDate(s); ok {
			t.Errorf("parseHTTPDate(%q) accepted", s)
		}
	}
}
