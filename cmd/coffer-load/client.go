package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const unsignedPayload = "UNSIGNED-PAYLOAD"

// client sends path-style S3 requests signed with SigV4 over one keep-alive
// transport. It is deliberately thin so the load generator spends little
// CPU per request.
type client struct {
	base   *url.URL
	http   *http.Client
	signer *v4.Signer
	creds  aws.Credentials
	region string
}

func newClient(c config) *client {
	tr := &http.Transport{
		// Never through an environment proxy: the target is the endpoint.
		Proxy:               nil,
		MaxIdleConns:        c.concurrency * 2,
		MaxIdleConnsPerHost: c.concurrency,
		IdleConnTimeout:     90 * time.Second,
		// Compression would make GET byte counts and costs meaningless.
		DisableCompression:    true,
		ResponseHeaderTimeout: 5 * time.Minute,
		WriteBufferSize:       128 << 10,
		ReadBufferSize:        128 << 10,
	}
	return &client{
		base: c.endpoint,
		http: &http.Client{Transport: tr},
		signer: v4.NewSigner(func(o *v4.SignerOptions) {
			// S3 signs the path as sent, not escaped a second time.
			o.DisableURIPathEscaping = true
		}),
		creds:  aws.Credentials{AccessKeyID: c.access, SecretAccessKey: c.secret, Source: "coffer-load"},
		region: c.region,
	}
}

// s3Escape percent-encodes a path as S3 canonicalises it: everything but
// unreserved characters and '/'.
func s3Escape(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// request builds and signs a request for bucket and key (key may be
// empty). body, when not nil, must produce exactly size bytes; newBody
// recreates it so the transport can retry on a closed idle connection.
func (c *client) request(ctx context.Context, method, bucket, key string, query url.Values, size int64, newBody func() io.Reader) (*http.Request, error) {
	u := *c.base
	u.Path = "/" + bucket
	if key != "" {
		u.Path += "/" + key
	}
	u.RawPath = s3Escape(u.Path)
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("building %s request: %w", method, err)
	}
	if newBody != nil && size > 0 {
		req.Body = io.NopCloser(newBody())
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(newBody()), nil }
		req.ContentLength = size
	} else if method == http.MethodPut || method == http.MethodPost {
		req.Body = http.NoBody
	}
	req.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	if err := c.signer.SignHTTP(ctx, c.creds, req, unsignedPayload, "s3", c.region, time.Now()); err != nil {
		return nil, fmt.Errorf("signing request: %w", err)
	}
	return req, nil
}

// s3Error is a non-success response.
type s3Error struct {
	method, path string
	status       int
	code         string
}

func (e *s3Error) Error() string {
	if e.code != "" {
		return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, e.code)
	}
	return fmt.Sprintf("%s %s: %d", e.method, e.path, e.status)
}

// checkStatus turns a response other than 2xx into an *s3Error (reading
// the S3 error code from the body) and closes its body.
func checkStatus(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	code := ""
	if s, ok := elementText(body, "Code"); ok {
		code = s
	}
	return &s3Error{method: resp.Request.Method, path: resp.Request.URL.Path, status: resp.StatusCode, code: code}
}

// send performs req and returns the response if 2xx; the caller closes
// its body.
func (c *client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if err := checkStatus(resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// drain reads and closes a body, returning how many bytes it held.
func drain(resp *http.Response) (int64, error) {
	n, err := io.Copy(io.Discard, resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("reading response body: %w", err)
	}
	return n, nil
}

var errShortBody = errors.New("body length differs from the object size")

// putObject uploads size bytes of buf (repeated) to key.
func (c *client) putObject(ctx context.Context, bucket, key string, buf []byte, size int64) error {
	req, err := c.request(ctx, http.MethodPut, bucket, key, nil, size, func() io.Reader { return newPayload(buf, size) })
	if err != nil {
		return err
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	_, err = drain(resp)
	return err
}

// getObject reads key and checks that it holds want bytes.
func (c *client) getObject(ctx context.Context, bucket, key string, want int64) (int64, error) {
	req, err := c.request(ctx, http.MethodGet, bucket, key, nil, 0, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.send(req)
	if err != nil {
		return 0, err
	}
	n, err := drain(resp)
	if err == nil && n != want {
		err = fmt.Errorf("GET %s: %d bytes, want %d: %w", key, n, want, errShortBody)
	}
	return n, err
}

// ensureBucket creates bucket unless it exists and is ours.
func (c *client) ensureBucket(ctx context.Context, bucket string) error {
	req, err := c.request(ctx, http.MethodHead, bucket, "", nil, 0, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("checking bucket: %w", err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode != http.StatusNotFound:
		return fmt.Errorf("checking bucket %s: status %d", bucket, resp.StatusCode)
	}
	var body []byte
	if c.region != "us-east-1" {
		body = []byte("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>" +
			c.region + "</LocationConstraint></CreateBucketConfiguration>")
	}
	req, err = c.request(ctx, http.MethodPut, bucket, "", nil, int64(len(body)), func() io.Reader { return strings.NewReader(string(body)) })
	if err != nil {
		return err
	}
	resp, err = c.send(req)
	if err != nil {
		var se *s3Error
		if errors.As(err, &se) && se.code == "BucketAlreadyOwnedByYou" {
			return nil
		}
		return fmt.Errorf("creating bucket: %w", err)
	}
	_, err = drain(resp)
	return err
}
