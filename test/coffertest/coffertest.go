// Package coffertest builds the coffer binary and runs it as a child
// process, so end-to-end tests drive the server exactly as an operator's
// clients would: over TCP, configured by environment, killed by signals.
package coffertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Root credentials every test server starts with.
const (
	AccessKey = "coffertestroot"
	SecretKey = "coffer-test-secret-0123456789"
)

// Region is the region every test server reports.
const Region = "us-east-1"

// ErrNotStarted means the server process exited or timed out before it
// logged that it was listening.
var ErrNotStarted = errors.New("server did not start")

// Build compiles ./cmd/coffer into a temporary directory owned by t and
// returns the binary's path. It relies on the go command on PATH, which
// `go test` puts first.
func Build(t testing.TB) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("finding the go command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "coffer")
	cmd := exec.Command(goTool, "build", "-o", bin, "github.com/cofferstore/coffer/cmd/coffer")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("building coffer: %v\n%s", err, out)
	}
	return bin
}

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago.
// Another process may take it before the caller binds; Start retries.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("releasing a free port: %w", err)
	}
	return addr, nil
}

// Options configures one server process.
type Options struct {
	// DataDir is COFFER_DATA_DIR; empty means a fresh temp dir.
	DataDir string
	// LogLevel is COFFER_LOG_LEVEL; empty means info.
	LogLevel string
	// Env holds extra KEY=VALUE settings, applied last.
	Env []string
	// StartTimeout bounds the wait for "coffer started" and a healthy
	// /api/health; zero means 30s.
	StartTimeout time.Duration
}

// Server is one running coffer process. Its methods are safe for
// concurrent use.
type Server struct {
	// Endpoint is the S3 API's base URL, http://127.0.0.1:PORT.
	Endpoint string
	// S3Addr is the S3 listener's host:port.
	S3Addr string
	// Console is the console listener's base URL.
	Console string
	// DataDir is the server's data directory.
	DataDir string

	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{} // closed when the process has been reaped
	err  error         // Wait's result, valid after done
}

// Start runs bin as `coffer server` on a free S3 port and waits until the
// process reports it is listening and /api/health answers. The process is
// killed when t ends; if t failed, its log is attached to t's output.
func Start(t testing.TB, bin string, opts Options) *Server {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(bin, opts)
		if err == nil {
			t.Cleanup(func() {
				s.Kill()
				if t.Failed() {
					t.Logf("server log (%s):\n%s", s.S3Addr, s.Log())
				}
			})
			return s
		}
		lastErr = err
		// Losing the port to another process is the one failure worth
		// retrying; anything else will fail again.
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("starting coffer: %v", lastErr)
	return nil
}

var startedLine = regexp.MustCompile(`msg="coffer started".* console=(\S+)`)

func start(bin string, opts Options) (*Server, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	level := opts.LogLevel
	if level == "" {
		level = "info"
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COFFER_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"COFFER_DATA_DIR="+opts.DataDir,
		"COFFER_S3_ADDR="+addr,
		"COFFER_CONSOLE_ADDR=127.0.0.1:0",
		"COFFER_ROOT_USER="+AccessKey,
		"COFFER_ROOT_PASSWORD="+SecretKey,
		"COFFER_REGION="+Region,
		"COFFER_LOG_LEVEL="+level,
		"COFFER_LOG_FORMAT=text",
	)
	env = append(env, opts.Env...)

	s := &Server{
		Endpoint: "http://" + addr,
		S3Addr:   addr,
		DataDir:  opts.DataDir,
		log:      newLogBuffer(startedLine),
		done:     make(chan struct{}),
	}
	s.cmd = exec.Command(bin, "server")
	s.cmd.Env = env
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("running %s: %w", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()

	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case m := <-s.log.matched:
		s.Console = m[1]
	case <-s.done:
		return nil, fmt.Errorf("%w: exited (%v):\n%s", ErrNotStarted, s.err, s.Log())
	case <-deadline.C:
		s.Kill()
		return nil, fmt.Errorf("%w: no start line within %v:\n%s", ErrNotStarted, timeout, s.Log())
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		h, err := s.Health(ctx)
		cancel()
		if err == nil && h.Status == "ok" {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("%w: exited (%v):\n%s", ErrNotStarted, s.err, s.Log())
		case <-deadline.C:
			s.Kill()
			return nil, fmt.Errorf("%w: unhealthy after %v (last: %+v, %v):\n%s", ErrNotStarted, timeout, h, err, s.Log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Health is the console's /api/health document.
type Health struct {
	Status  string         `json:"status"`
	Version string         `json:"version"`
	Workers []WorkerStatus `json:"workers"`
}

// WorkerStatus is one background job in Health.
type WorkerStatus struct {
	Name      string    `json:"name"`
	Runs      int       `json:"runs"`
	LastStart time.Time `json:"lastStart"`
	LastEnd   time.Time `json:"lastEnd"`
	LastError string    `json:"lastError"`
	Progress  string    `json:"progress"`
	Elsewhere string    `json:"elsewhere"`
}

// Worker returns the named job's status, or false when it is not listed.
func (h Health) Worker(name string) (WorkerStatus, bool) {
	for _, w := range h.Workers {
		if w.Name == name {
			return w, true
		}
	}
	return WorkerStatus{}, false
}

// Health fetches /api/health; a non-200 answer is an error.
func (s *Server) Health(ctx context.Context) (Health, error) {
	var h Health
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Console+"/api/health", nil)
	if err != nil {
		return h, fmt.Errorf("building health request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return h, fmt.Errorf("fetching health: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("fetching health: status %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return h, fmt.Errorf("decoding health: %w", err)
	}
	return h, nil
}

// Kill sends SIGKILL, as a crash would, and waits for the process to be
// reaped. Killing an exited process is not an error.
func (s *Server) Kill() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing coffer: %w", err)
	}
	<-s.done
	return nil
}

// Stop sends SIGTERM and waits up to timeout for a clean exit. A non-zero
// exit status, or needing SIGKILL, is an error.
func (s *Server) Stop(timeout time.Duration) error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stopping coffer: %w", err)
	}
	select {
	case <-s.done:
		if s.err != nil {
			return fmt.Errorf("coffer exited badly after SIGTERM: %w", s.err)
		}
		return nil
	case <-time.After(timeout):
		s.Kill()
		return fmt.Errorf("coffer still running %v after SIGTERM", timeout)
	}
}

// Log returns everything the process wrote to stdout and stderr so far.
func (s *Server) Log() string { return s.log.String() }

// ErrorLines returns the log lines at level ERROR: each is an internal
// error or panic the server hit.
func (s *Server) ErrorLines() []string {
	var out []string
	for _, l := range strings.Split(s.Log(), "\n") {
		if strings.Contains(l, "level=ERROR") {
			out = append(out, l)
		}
	}
	return out
}

// logBuffer collects process output and reports the first complete line
// matching a pattern.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	scanned int // bytes of buf already split into complete lines
	pattern *regexp.Regexp
	matched chan []string // receives the submatches once
	found   bool
}

func newLogBuffer(pattern *regexp.Regexp) *logBuffer {
	return &logBuffer{pattern: pattern, matched: make(chan []string, 1)}
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	for !b.found {
		rest := b.buf.Bytes()[b.scanned:]
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			break
		}
		if m := b.pattern.FindSubmatch(rest[:nl]); m != nil {
			sub := make([]string, len(m))
			for i := range m {
				sub[i] = string(m[i])
			}
			b.found = true
			b.matched <- sub
		}
		b.scanned += nl + 1
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
