package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// lister pages through ListObjectsV2 reusing one body buffer; each worker
// has its own.
type lister struct {
	c   *client
	buf bytes.Buffer
}

// listAll lists every key under prefix, following continuation tokens,
// and returns how many there are. With fn it also reports each key.
func (l *lister) listAll(ctx context.Context, bucket, prefix string, fn func(listedKey)) (int64, error) {
	var total int64
	token := ""
	for page := 0; ; page++ {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}, "max-keys": {"1000"}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		req, err := l.c.request(ctx, http.MethodGet, bucket, "", q, 0, nil)
		if err != nil {
			return total, err
		}
		resp, err := l.c.send(req)
		if err != nil {
			return total, err
		}
		l.buf.Reset()
		_, err = l.buf.ReadFrom(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return total, fmt.Errorf("reading list page: %w", err)
		}
		p, err := parseListPage(l.buf.Bytes(), fn != nil)
		if err != nil {
			return total, fmt.Errorf("list page %d: %w", page, err)
		}
		total += int64(p.count)
		for _, k := range p.keys {
			fn(k)
		}
		if !p.truncated {
			return total, nil
		}
		if p.token == token {
			return total, fmt.Errorf("list page %d repeats its continuation token: %w", page, errBadList)
		}
		token = p.token
	}
}
