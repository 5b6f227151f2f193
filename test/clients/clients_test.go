// Package clients drives the built coffer binary with the S3 clients people
// actually use (the aws CLI, s3cmd, rclone) through clients.sh.
package clients

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cofferstore/coffer/test/coffertest"
)

// scriptTimeout bounds one client's run; all three take well under a
// minute on two cores.
const scriptTimeout = 5 * time.Minute

func TestClients(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary; skipped in -short mode")
	}
	script, err := filepath.Abs("clients.sh")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatalf("bash is required: %v", err)
	}
	bin := coffertest.Build(t)
	srv := coffertest.Start(t, bin, coffertest.Options{LogLevel: "debug"})

	for _, c := range []struct{ name, tool string }{
		{"aws", "aws"},
		{"s3cmd", "s3cmd"},
		{"rclone", "rclone"},
	} {
		t.Run(c.name, func(t *testing.T) {
			requireTool(t, c.tool)
			errorsBefore := len(srv.ErrorLines())
			out, err := runScript(t, script, c.name, srv)
			if err != nil {
				t.Fatalf("clients.sh %s: %v\n%s", c.name, err, out)
			}
			if !strings.Contains(out, "=== PASS "+c.name) {
				t.Fatalf("clients.sh %s exited 0 without reaching its end:\n%s", c.name, out)
			}
			t.Logf("clients.sh %s:\n%s", c.name, out)
			if lines := srv.ErrorLines()[errorsBefore:]; len(lines) > 0 {
				t.Errorf("server logged %d errors while %s ran:\n%s", len(lines), c.name, strings.Join(lines, "\n"))
			}
		})
	}

	if err := srv.Stop(30 * time.Second); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
}

// requireTool skips when a client is not installed, except in CI, where
// .ci/run installs every client and a missing one is a broken pipeline.
func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not on PATH, and CI=true requires it (.ci/run installs it): %v", name, err)
		}
		t.Skipf("%s is not on PATH: install it (apt-get install -y s3cmd rclone; awscli) to run this test", name)
	}
}

// runScript runs clients.sh for one client in its own process group, so a
// timeout stops the clients it started too.
func runScript(t *testing.T, script, client string, srv *coffertest.Server) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script, client)
	cmd.Env = append(os.Environ(),
		"COFFER_ENDPOINT="+srv.Endpoint,
		"COFFER_ACCESS_KEY="+coffertest.AccessKey,
		"COFFER_SECRET_KEY="+coffertest.SecretKey,
		"WORK="+t.TempDir(),
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), ctx.Err()
	}
	return string(out), err
}
