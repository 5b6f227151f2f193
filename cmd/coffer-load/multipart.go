package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

const opMultipart = "multipart"

var errNoUploadID = errors.New("CreateMultipartUpload answered without an UploadId")

// multipartUpload uploads size bytes of buf (repeated) to key as a
// multipart upload of partSize parts, parallel at a time, and completes it.
// On failure it aborts the upload so the server frees the parts.
func (c *client) multipartUpload(ctx context.Context, bucket, key string, buf []byte, size, partSize int64, parallel int) error {
	req, err := c.request(ctx, http.MethodPost, bucket, key, url.Values{"uploads": {""}}, 0, nil)
	if err != nil {
		return err
	}
	resp, err := c.send(req)
	if err != nil {
		return fmt.Errorf("creating upload: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading CreateMultipartUpload: %w", err)
	}
	id, ok := elementText(body, "UploadId")
	if !ok || id == "" {
		return errNoUploadID
	}
	parts := int((size + partSize - 1) / partSize)
	if parts == 0 {
		parts = 1
	}
	etags := make([]string, parts)
	errs := make(chan error, parts)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, parts) {
		wg.Go(func() {
			for n := range next {
				psize := min(partSize, size-int64(n-1)*partSize)
				etag, err := c.uploadPart(ctx, bucket, key, id, n, buf, psize)
				if err != nil {
					errs <- fmt.Errorf("part %d: %w", n, err)
					continue
				}
				etags[n-1] = etag
			}
		})
	}
	for n := 1; n <= parts; n++ {
		next <- n
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		c.abort(bucket, key, id)
		return err
	}
	return c.complete(ctx, bucket, key, id, etags)
}

func (c *client) uploadPart(ctx context.Context, bucket, key, id string, n int, buf []byte, size int64) (string, error) {
	q := url.Values{"partNumber": {strconv.Itoa(n)}, "uploadId": {id}}
	req, err := c.request(ctx, http.MethodPut, bucket, key, q, size, func() io.Reader { return newPayload(buf, size) })
	if err != nil {
		return "", err
	}
	resp, err := c.send(req)
	if err != nil {
		return "", err
	}
	etag := resp.Header.Get("ETag")
	if _, err := drain(resp); err != nil {
		return "", err
	}
	return etag, nil
}

func (c *client) complete(ctx context.Context, bucket, key, id string, etags []string) error {
	var b strings.Builder
	b.WriteString("<CompleteMultipartUpload>")
	for i, e := range etags {
		fmt.Fprintf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i+1, e)
	}
	b.WriteString("</CompleteMultipartUpload>")
	doc := b.String()
	req, err := c.request(ctx, http.MethodPost, bucket, key, url.Values{"uploadId": {id}}, int64(len(doc)), func() io.Reader { return strings.NewReader(doc) })
	if err != nil {
		return err
	}
	resp, err := c.send(req)
	if err != nil {
		return fmt.Errorf("completing upload: %w", err)
	}
	_, err = drain(resp)
	return err
}

// abort is best effort: the run already failed, and the server's expiry
// of abandoned uploads frees the parts if this request fails too.
func (c *client) abort(bucket, key, id string) {
	req, err := c.request(context.Background(), http.MethodDelete, bucket, key, url.Values{"uploadId": {id}}, 0, nil)
	if err != nil {
		return
	}
	if resp, err := c.http.Do(req); err == nil {
		resp.Body.Close()
	}
}
