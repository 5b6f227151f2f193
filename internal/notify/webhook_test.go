package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type hookRequest struct {
	header http.Header
	body   []byte
}

// hookServer is a real HTTP server on 127.0.0.1 that records requests and
// answers with status (200 when zero).
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []hookRequest
	status int
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, hookRequest{r.Header.Clone(), body})
		status := h.status
		h.mu.Unlock()
		if r.Method != http.MethodPost {
			status = http.StatusMethodNotAllowed
		}
		if status != 0 {
			w.WriteHeader(status)
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.reqs...)
}

func webhookTarget(t *testing.T, url, secret, timeout string) Target {
	t.Helper()
	tg, err := OpenTarget(TargetConfig{ID: "hooks", Type: TypeWebhook, URL: url, Secret: secret, Timeout: timeout}, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tg.Close() })
	return tg
}

func TestWebhookSignsAndPosts(t *testing.T) {
	srv := newHookServer(t)
	secret := "correct horse battery staple"
	tg := webhookTarget(t, srv.URL+"/events?x=1", secret, "")
	ev := sampleEvent()
	payload, err := Encoder{}.Encode(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.Send(context.Background(), payload, ev); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if !bytes.Equal(r.body, payload) {
		t.Fatalf("body %s, want %s", r.body, payload)
	}
	// Computed here from first principles, not with Sign.
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(r.body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	got := r.header.Get("X-Coffer-Signature")
	if got != want {
		t.Fatalf("signature %q, want %q", got, want)
	}
	if !VerifySignature([]byte(secret), r.body, got) {
		t.Fatal("VerifySignature refused a good signature")
	}
	if VerifySignature([]byte("wrong"), r.body, got) || VerifySignature([]byte(secret), append(r.body, ' '), got) {
		t.Fatal("VerifySignature accepted a bad signature")
	}
	if r.header.Get("Content-Type") != "application/json" || r.header.Get("X-Coffer-Event") != "s3:ObjectCreated:Put" ||
		r.header.Get("X-Coffer-Event-Id") == "" {
		t.Fatalf("headers %v", r.header)
	}

	// Without a secret there is no signature header.
	tg2 := webhookTarget(t, srv.URL, "", "")
	if err := tg2.Send(context.Background(), payload, ev); err != nil {
		t.Fatal(err)
	}
	if h := srv.requests()[1].header; h.Get("X-Coffer-Signature") != "" {
		t.Fatalf("unsigned target sent %q", h.Get("X-Coffer-Signature"))
	}
}

func TestWebhookNon2xxFails(t *testing.T) {
	srv := newHookServer(t)
	tg := webhookTarget(t, srv.URL, "s", "")
	ev := sampleEvent()
	for _, status := range []int{http.StatusInternalServerError, http.StatusNotFound, http.StatusFound, http.StatusTooManyRequests} {
		srv.mu.Lock()
		srv.status = status
		srv.mu.Unlock()
		err := tg.Send(context.Background(), []byte(`{}`), ev)
		if err == nil || !strings.Contains(err.Error(), http.StatusText(status)) {
			t.Errorf("status %d: got %v", status, err)
		}
	}
	srv.mu.Lock()
	srv.status = http.StatusNoContent
	srv.mu.Unlock()
	if err := tg.Send(context.Background(), []byte(`{}`), ev); err != nil {
		t.Errorf("204: %v", err)
	}
}

func TestWebhookTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	tg := webhookTarget(t, srv.URL, "", "300ms")
	start := time.Now()
	err := tg.Send(context.Background(), []byte(`{}`), sampleEvent())
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v after %s", err, took)
	}
	if took < 250*time.Millisecond || took > 3*time.Second {
		t.Fatalf("timed out after %s, want about 300ms", took)
	}
}

func TestWebhookServerDownKeepsURLSecret(t *testing.T) {
	tg := webhookTarget(t, "http://"+closedAddr(t)+"/hook?token=SUPERSECRET", "", "2s")
	err := tg.Send(context.Background(), []byte(`{}`), sampleEvent())
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "SUPERSECRET") {
		t.Fatalf("error leaks the URL: %v", err)
	}
}
