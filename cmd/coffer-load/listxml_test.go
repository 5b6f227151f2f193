package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func listBody(keys []string, truncated bool, token string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>`)
	fmt.Fprintf(&b, "<KeyCount>%d</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>%v</IsTruncated>", len(keys), truncated)
	if token != "" {
		fmt.Fprintf(&b, "<NextContinuationToken>%s</NextContinuationToken>", token)
	}
	for i, k := range keys {
		fmt.Fprintf(&b, "<Contents><Key>%s</Key><LastModified>2025-01-01T00:00:00.000Z</LastModified><ETag>&quot;x&quot;</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>", k, i*10)
	}
	b.WriteString("</ListBucketResult>")
	return b.String()
}

func TestParseListPage(t *testing.T) {
	body := listBody([]string{"p/a", "p/b&amp;c", "p/&#x4e2d;"}, true, "tok&amp;en=")
	p, err := parseListPage([]byte(body), true)
	if err != nil {
		t.Fatal(err)
	}
	if p.count != 3 || !p.truncated || p.token != "tok&en=" {
		t.Fatalf("page: %+v", p)
	}
	want := []listedKey{{"p/a", 0}, {"p/b&c", 10}, {"p/中", 20}}
	for i, k := range want {
		if p.keys[i] != k {
			t.Errorf("key %d = %+v, want %+v", i, p.keys[i], k)
		}
	}
	p, err = parseListPage([]byte(listBody(nil, false, "")), false)
	if err != nil || p.count != 0 || p.truncated || p.keys != nil {
		t.Fatalf("empty page: %+v, %v", p, err)
	}
	p, err = parseListPage([]byte(listBody([]string{"a", "b"}, false, "")), false)
	if err != nil || p.count != 2 || p.keys != nil {
		t.Fatalf("counting page: %+v, %v", p, err)
	}
}

func TestParseListPageErrors(t *testing.T) {
	for _, body := range []string{
		"",
		"<Error><Code>AccessDenied</Code></Error>",
		listBody([]string{"a"}, true, ""), // truncated without a token
		`<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>`,
		`<ListBucketResult><Contents><Key>a</Key>`,
		`<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>`,
		`<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>`,
		`<ListBucketResult><Contents><Key>a</Key><Size>x</Size></Contents></ListBucketResult>`,
		`<ListBucketResult><Contents><Key>a&bogus;</Key></Contents></ListBucketResult>`,
	} {
		if _, err := parseListPage([]byte(body), true); !errors.Is(err, errBadList) {
			t.Errorf("parseListPage(%q) = %v, want errBadList", body, err)
		}
	}
}

func FuzzParseListPage(f *testing.F) {
	f.Add([]byte(listBody([]string{"a", "b&amp;"}, true, "t")), true)
	f.Add([]byte(listBody(nil, false, "")), false)
	f.Add([]byte(`<ListBucketResult><Contents><Key>a</Key></Contents>`), true)
	f.Fuzz(func(t *testing.T, body []byte, wantKeys bool) {
		p, err := parseListPage(body, wantKeys)
		if err != nil {
			if !errors.Is(err, errBadList) {
				t.Fatalf("error %v does not wrap errBadList", err)
			}
			return
		}
		if p.truncated && p.token == "" {
			t.Fatal("truncated page accepted without a token")
		}
		if wantKeys && len(p.keys) != p.count {
			t.Fatalf("%d keys for %d entries", len(p.keys), p.count)
		}
		if !wantKeys && p.keys != nil {
			t.Fatal("keys returned when not asked for")
		}
	})
}
