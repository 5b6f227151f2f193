package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
)

var errBadList = errors.New("malformed ListObjectsV2 response")

// listPage is what the load tool needs from one ListObjectsV2 page.
type listPage struct {
	count     int
	truncated bool
	token     string
	keys      []listedKey // filled only when asked for
}

type listedKey struct {
	key  string
	size int64
}

// parseListPage scans a ListBucketResult without building a DOM: the
// tool lists tens of thousands of keys per second and must not spend the
// CPU the server under test needs. Elements are matched by their literal
// tags, which is how every S3 server writes them.
func parseListPage(body []byte, wantKeys bool) (listPage, error) {
	var p listPage
	if !bytes.Contains(body, []byte("<ListBucketResult")) {
		return p, fmt.Errorf("no ListBucketResult: %w", errBadList)
	}
	rest := body
	for {
		i := bytes.Index(rest, []byte("<Contents>"))
		if i < 0 {
			break
		}
		rest = rest[i+len("<Contents>"):]
		end := bytes.Index(rest, []byte("</Contents>"))
		if end < 0 {
			return p, fmt.Errorf("unterminated Contents: %w", errBadList)
		}
		entry := rest[:end]
		rest = rest[end+len("</Contents>"):]
		p.count++
		if !wantKeys {
			continue
		}
		key, ok := elementText(entry, "Key")
		if !ok {
			return p, fmt.Errorf("contents entry without a key: %w", errBadList)
		}
		var size int64
		if s, ok := elementText(entry, "Size"); ok {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return p, fmt.Errorf("size %q: %w", s, errBadList)
			}
			size = n
		}
		p.keys = append(p.keys, listedKey{key: key, size: size})
	}
	if t, ok := elementText(body, "IsTruncated"); ok {
		switch t {
		case "true":
			p.truncated = true
		case "false":
		default:
			return p, fmt.Errorf("IsTruncated %q: %w", t, errBadList)
		}
	}
	if p.truncated {
		tok, ok := elementText(body, "NextContinuationToken")
		if !ok || tok == "" {
			return p, fmt.Errorf("truncated page without NextContinuationToken: %w", errBadList)
		}
		p.token = tok
	}
	return p, nil
}

// elementText returns the unescaped text of the first <name>...</name> in
// b.
func elementText(b []byte, name string) (string, bool) {
	open, closing := "<"+name+">", "</"+name+">"
	i := bytes.Index(b, []byte(open))
	if i < 0 {
		return "", false
	}
	b = b[i+len(open):]
	j := bytes.Index(b, []byte(closing))
	if j < 0 {
		return "", false
	}
	raw := b[:j]
	if bytes.IndexByte(raw, '&') < 0 {
		if bytes.IndexByte(raw, '<') >= 0 {
			return "", false // nested markup: not a text element
		}
		return string(raw), true
	}
	// Entities are rare in keys and tokens; let encoding/xml decode them.
	var s string
	if err := xml.Unmarshal(append(append([]byte("<x>"), raw...), "</x>"...), &s); err != nil {
		return "", false
	}
	return s, true
}
