// Package pysmoke runs smoke.py (pymongo) against a cmd/mongosim server.
package pysmoke

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// python returns an interpreter with pymongo, or "" (the test then skips:
// pymongo is an optional system package, python3-pymongo on Debian).
func python(t *testing.T) string {
	for _, p := range []string{os.Getenv("PYSMOKE_PYTHON"), "/usr/bin/python3", "python3"} {
		if p == "" {
			continue
		}
		if err := exec.Command(p, "-c", "import pymongo").Run(); err == nil {
			return p
		}
	}
	return ""
}

func TestPymongoSmoke(t *testing.T) {
	py := python(t)
	if py == "" {
		t.Skip("no python3 with pymongo (apt-get install python3-pymongo)")
	}
	bin := filepath.Join(t.TempDir(), "mongosim")
	build := exec.Command("go", "build", "-o", bin, "github.com/mlink-dev/mlink/cmd/mongosim")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build cmd/mongosim: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "--port", "0")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read URI: %v", err)
	}
	uri := strings.TrimSpace(line)
	out, err := exec.CommandContext(ctx, py, "smoke.py", uri).CombinedOutput()
	if err != nil {
		t.Fatalf("smoke.py: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "pysmoke: ok") {
		t.Fatalf("smoke.py output: %s", out)
	}
}
