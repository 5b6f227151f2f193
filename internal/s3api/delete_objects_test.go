package s3api

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestParseDeleteRequest(t *testing.T) {
	req, err := ParseDeleteRequest([]byte(`<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b&amp;c</Key><VersionId>null</VersionId></Object></Delete>`))
	if err != nil {
		t.Fatal(err)
	}
	if !req.Quiet || len(req.Objects) != 2 || req.Objects[1].Key != "b&c" || req.Objects[1].VersionID != "null" {
		t.Errorf("parsed %+v", req)
	}
	var many strings.Builder
	many.WriteString("<Delete>")
	for i := range 1001 {
		fmt.Fprintf(&many, "<Object><Key>k%d</Key></Object>", i)
	}
	many.WriteString("</Delete>")
	for name, body := range map[string]string{
		"malformed": "<Delete><Object>",
		"empty":     "<Delete></Delete>",
		"too many":  many.String(),
		"no key":    "<Delete><Object><Key></Key></Object></Delete>",
		"not xml":   "hello",
	} {
		if _, err := ParseDeleteRequest([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestVerifyBodyDigest(t *testing.T) {
	data := []byte("<Delete/>")
	sum := md5.Sum(data)
	h := http.Header{}
	if err := verifyBodyDigest(h, data); err != errMissingBodyDigest {
		t.Errorf("no digest: %v", err)
	}
	h.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
	if err := verifyBodyDigest(h, data); err != nil {
		t.Errorf("good md5: %v", err)
	}
	if err := verifyBodyDigest(h, []byte("<Delete />")); err == nil || toAPIError(err).Code != "BadDigest" {
		t.Errorf("bad md5: %v", err)
	}
	h = http.Header{}
	h.Set("X-Amz-Checksum-Crc32", "AAAAAA==")
	if err := verifyBodyDigest(h, data); err == nil || toAPIError(err).Code != "BadDigest" {
		t.Errorf("wrong crc32: %v", err)
	}
}

func FuzzParseDeleteRequest(f *testing.F) {
	f.Add([]byte(`<Delete><Object><Key>a</Key></Object></Delete>`))
	f.Add([]byte(`<Delete><Quiet>true</Quiet><Object><Key>a</Key><VersionId>x</VersionId></Object></Delete>`))
	f.Add([]byte(`<Delete><Object><Key>&#x0;</Key></Object>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ParseDeleteRequest(data)
		if err != nil {
			return
		}
		if len(req.Objects) == 0 || len(req.Objects) > 1000 {
			t.Fatalf("accepted %d objects", len(req.Objects))
		}
		for _, o := range req.Objects {
			if o.Key == "" {
				t.Fatal("accepted an empty key")
			}
		}
	})
}
