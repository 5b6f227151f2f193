package s3api

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseCompleteRequest(t *testing.T) {
	parts, err := ParseCompleteRequest([]byte(`<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
		<Part><PartNumber>1</PartNumber><ETag>"a"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>
		<Part><ETag>b</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>`))
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || parts[0].Number != 1 || parts[0].ETag != `"a"` || parts[0].Checksum != "AAAAAA==" || parts[1].Number != 2 {
		t.Errorf("parsed %+v", parts)
	}
	var many strings.Builder
	many.WriteString("<CompleteMultipartUpload>")
	for i := range 10001 {
		fmt.Fprintf(&many, "<Part><PartNumber>%d</PartNumber><ETag>x</ETag></Part>", i+1)
	}
	many.WriteString("</CompleteMultipartUpload>")
	for name, body := range map[string]string{
		"empty":      "<CompleteMultipartUpload></CompleteMultipartUpload>",
		"truncated":  "<CompleteMultipartUpload><Part>",
		"wrong root": "<Delete><Part><PartNumber>1</PartNumber></Part></Delete>",
		"too many":   many.String(),
		"bad number": "<CompleteMultipartUpload><Part><PartNumber>one</PartNumber></Part></CompleteMultipartUpload>",
	} {
		if _, err := ParseCompleteRequest([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseCompleteRequest(f *testing.F) {
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"e"</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ChecksumSHA256>x</ChecksumSHA256></Part></CompleteMultipartUpload>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		parts, err := ParseCompleteRequest(data)
		if err != nil {
			return
		}
		if len(parts) == 0 || len(parts) > 10000 {
			t.Fatalf("accepted %d parts", len(parts))
		}
	})
}

func FuzzParseTagging(f *testing.F) {
	f.Add([]byte(`<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>`))
	f.Add([]byte(`<Tagging><TagSet><Tag><Key>a</Key></Tag><Tag><Key>a</Key></Tag></TagSet></Tagging>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tags, err := ParseTagging(data, 10)
		if err != nil {
			return
		}
		if len(tags) > 10 {
			t.Fatalf("accepted %d tags", len(tags))
		}
	})
}

func FuzzParseCORS(f *testing.F) {
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`), "https://a.example", "GET")
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>**</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds></CORSRule></CORSConfiguration>`), "x", "PUT")
	f.Fuzz(func(t *testing.T, data []byte, origin, method string) {
		cfg, err := ParseCORS(data)
		if err != nil {
			return
		}
		if r := cfg.match(origin, method, []string{"x"}); r != nil && !contains(r.AllowedMethods, method) {
			t.Fatalf("rule %+v matched method %q it does not allow", r, method)
		}
	})
}
