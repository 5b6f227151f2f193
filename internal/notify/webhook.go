package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// Webhook request headers.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body
	// keyed with the target's secret; absent when the target has none.
	SignatureHeader = "X-Coffer-Signature"
	// EventIDHeader identifies the event across redeliveries.
	EventIDHeader = "X-Coffer-Event-Id"
	// EventNameHeader is the S3 event name, "s3:ObjectCreated:Put" say.
	EventNameHeader = "X-Coffer-Event"
)

type webhook struct {
	arn     string
	url     string
	secret  []byte
	timeout time.Duration
	client  *http.Client
}

func newWebhook(arn string, tc TargetConfig, timeout time.Duration) *webhook {
	return &webhook{
		arn:     arn,
		url:     tc.URL,
		secret:  []byte(tc.Secret),
		timeout: timeout,
		client: &http.Client{
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			// A redirect is an answer the operator should fix, not a
			// delivery: following it would post events elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

func (w *webhook) ARN() string { return w.arn }

// Sign returns the X-Coffer-Signature value for body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether header is the signature of body under
// secret, in constant time: what a webhook receiver checks.
func VerifySignature(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(header), []byte(Sign(secret, body)))
}

func (w *webhook) Send(ctx context.Context, payload []byte, ev meta.Event) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("webhook: building request: %w", redactURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(EventIDHeader, eventID(ev))
	req.Header.Set(EventNameHeader, ev.Name)
	if len(w.secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(w.secret, payload))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: posting event: %w", redactURL(err))
	}
	// Drain a little so the connection can be reused, never a lot.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: endpoint answered %s", resp.Status)
	}
	return nil
}

// redactURL drops the URL from a *url.Error: the endpoint may carry a
// token in its query, and errors end up in logs and health reports.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}

func (w *webhook) Close() error {
	w.client.CloseIdleConnections()
	return nil
}
