package cluster_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cofferstore/coffer/test/coffertest"
)

// apiCall sends a management API request to one node and decodes a JSON
// answer into out (when not nil); it returns the status.
func apiCall(t *testing.T, node *coffertest.Server, method, path, bearer string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, node.Console+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
		}
	}
	return res.StatusCode
}

func login(t *testing.T, node *coffertest.Server) string {
	t.Helper()
	var res struct{ Token string }
	if st := apiCall(t, node, "POST", "/api/auth/login", "", map[string]string{"username": coffertest.AccessKey, "password": coffertest.SecretKey}, &res); st != http.StatusOK || res.Token == "" {
		t.Fatalf("login on %s: status %d", node.Console, st)
	}
	return res.Token
}

// TestClusterSessions: what a request needs is in the shared store, not in
// one instance: a session made on one node works on the others, and its
// revocation (logout) on one node holds on all of them at once; an API
// token revoked on one node stops working on the others; a share link
// revoked on one node is refused by every node's S3 listener; and the
// login rate limit counts attempts on every node together.
func TestClusterSessions(t *testing.T) {
	c := startCluster(t, 3)
	n0, n1, n2 := c.nodes[0], c.nodes[1], c.nodes[2]

	tok := login(t, n0)
	for _, n := range []*coffertest.Server{n1, n2} {
		if st := apiCall(t, n, "GET", "/api/auth/me", tok, nil, nil); st != http.StatusOK {
			t.Fatalf("session from node 0 on %s: status %d", n.Console, st)
		}
	}
	if st := apiCall(t, n1, "POST", "/api/auth/logout", tok, nil, nil); st != http.StatusOK {
		t.Fatalf("logout: status %d", st)
	}
	for _, n := range c.nodes {
		if st := apiCall(t, n, "GET", "/api/auth/me", tok, nil, nil); st != http.StatusUnauthorized {
			t.Fatalf("revoked session on %s: status %d, want 401", n.Console, st)
		}
	}

	// API tokens.
	tok = login(t, n2)
	var created struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	if st := apiCall(t, n0, "POST", "/api/tokens", tok, map[string]any{"name": "automation"}, &created); st != http.StatusCreated || created.Token == "" {
		t.Fatalf("creating an API token: status %d", st)
	}
	if st := apiCall(t, n1, "GET", "/api/auth/me", created.Token, nil, nil); st != http.StatusOK {
		t.Fatalf("API token on node 1: status %d", st)
	}
	if st := apiCall(t, n2, "DELETE", "/api/tokens/"+created.ID, tok, nil, nil); st != http.StatusNoContent {
		t.Fatalf("revoking the API token: status %d", st)
	}
	for _, n := range c.nodes {
		if st := apiCall(t, n, "GET", "/api/auth/me", created.Token, nil, nil); st != http.StatusUnauthorized {
			t.Fatalf("revoked API token on %s: status %d, want 401", n.Console, st)
		}
	}

	// Share links.
	if st := apiCall(t, n0, "POST", "/api/buckets", tok, map[string]any{"name": "shared"}, nil); st != http.StatusCreated {
		t.Fatalf("creating a bucket: status %d", st)
	}
	var link struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	if st := apiCall(t, n1, "POST", "/api/presigned-urls", tok, map[string]any{"bucket_name": "shared", "object_key": "doc.txt", "method": "PUT", "expires_in": 600}, &link); st != http.StatusCreated || link.URL == "" {
		t.Fatalf("creating a share link: status %d", st)
	}
	if st := presigned(t, "PUT", link.URL, n2); st != http.StatusOK {
		t.Fatalf("share link on node 2 before revocation: status %d", st)
	}
	if st := apiCall(t, n0, "DELETE", "/api/presigned-urls/"+link.ID, tok, nil, nil); st != http.StatusNoContent {
		t.Fatalf("revoking the share link: status %d", st)
	}
	for _, n := range c.nodes {
		if st := presigned(t, "PUT", link.URL, n); st != http.StatusForbidden {
			t.Fatalf("revoked share link on %s: status %d, want 403", n.S3Addr, st)
		}
	}

	// A task started on one node is polled on another, and its archive
	// downloaded on a third with a one-time ticket issued by the first;
	// the ticket then fails everywhere.
	if st := presigned(t, "PUT", mustShare(t, n0, tok, "shared", "zipme.txt"), n0); st != http.StatusOK {
		t.Fatalf("uploading through a share link: status %d", st)
	}
	var task struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if st := apiCall(t, n1, "POST", "/api/tasks/zip", tok, map[string]any{"bucket": "shared", "prefix": ""}, &task); st != http.StatusAccepted || task.ID == "" {
		t.Fatalf("starting a zip task: status %d", st)
	}
	deadline := time.Now().Add(30 * time.Second)
	for task.Status != "done" {
		if time.Now().After(deadline) {
			t.Fatalf("zip task still %q after 30 s", task.Status)
		}
		time.Sleep(100 * time.Millisecond)
		if st := apiCall(t, c.nodes[time.Now().Nanosecond()%3], "GET", "/api/tasks/"+task.ID, tok, nil, &task); st != http.StatusOK {
			t.Fatalf("polling the task: status %d", st)
		}
		if task.Status == "failed" || task.Status == "interrupted" {
			t.Fatalf("zip task %s", task.Status)
		}
	}
	var ticket struct{ Ticket string }
	if st := apiCall(t, n0, "POST", "/api/auth/sse-ticket", tok, map[string]any{"resourceType": "task", "resource": task.ID}, &ticket); st != http.StatusOK || ticket.Ticket == "" {
		t.Fatalf("issuing a ticket: status %d", st)
	}
	download := "/api/tasks/" + task.ID + "/download?ticket=" + ticket.Ticket
	if st := apiCall(t, n2, "GET", download, "", nil, nil); st != http.StatusOK {
		t.Fatalf("downloading with a ticket from another node: status %d", st)
	}
	for _, n := range c.nodes {
		if st := apiCall(t, n, "GET", download, "", nil, nil); st != http.StatusUnauthorized {
			t.Fatalf("second use of a ticket on %s: status %d, want 401", n.Console, st)
		}
	}

	// The login limit (5 a minute per client address) is shared. Twelve
	// bad logins spread over three nodes are four per node: separate
	// per-node counters would refuse none, a shared one refuses at least
	// two even if a minute window ends during the loop.
	limited := 0
	for i := range 12 {
		n := c.nodes[i%3]
		st := apiCall(t, n, "POST", "/api/auth/login", "", map[string]string{"username": coffertest.AccessKey, "password": "wrong-password"}, nil)
		if st == http.StatusTooManyRequests {
			limited++
		} else if st != http.StatusUnauthorized {
			t.Fatalf("bad login on %s: status %d", n.Console, st)
		}
	}
	if limited < 2 {
		t.Fatalf("%d of 12 bad logins were rate-limited across 3 nodes; the limit is 5 per minute in total", limited)
	}
}

// mustShare makes a PUT share link on node.
func mustShare(t *testing.T, node *coffertest.Server, tok, bucket, key string) string {
	t.Helper()
	var link struct{ URL string }
	if st := apiCall(t, node, "POST", "/api/presigned-urls", tok, map[string]any{"bucket_name": bucket, "object_key": key, "method": "PUT", "expires_in": 600}, &link); st != http.StatusCreated {
		t.Fatalf("creating a share link: status %d", st)
	}
	return link.URL
}

// presigned sends a share link's request to node (the URL names node 0;
// the Host header stays as signed, as a load balancer keeps it).
func presigned(t *testing.T, method, rawURL string, node *coffertest.Server) int {
	t.Helper()
	var body io.Reader
	if method == "PUT" {
		body = strings.NewReader("shared content")
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = req.URL.Host
	req.URL.Host = node.S3Addr
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}
