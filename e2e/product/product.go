// Package product tests mlink as a user runs it: the real binary, built
// once per test run, as a child process driven through its CLI and HTTP
// API, against mongosim servers started in the test process.
//
// This file holds the small helpers the tests (and e2e/browser) share:
// building the binary, running the daemon and the CLI, reading /status and
// /metrics.
package product

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/api"
)

// Build compiles cmd/mlink into dir and returns the binary's path.
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "mlink")
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..", "..")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/mlink")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/mlink: %w\n%s", err, out)
	}
	return bin, nil
}

// BinaryForMain builds the binary for a test package's TestMain into a
// fresh temporary directory; cleanup removes it.
func BinaryForMain() (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "mlink-product-*")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err = Build(ctx, dir)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return bin, cleanup, nil
}

// cleanEnv is the test process's environment without MLINK_* variables,
// so a developer's settings cannot change what a test runs.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MLINK_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// Output collects a child process's lines (stdout and stderr interleaved
// as they arrive) and lets a test wait for one.
type Output struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{}
}

func newOutput() *Output { return &Output{changed: make(chan struct{})} }

func (o *Output) add(line string) {
	o.mu.Lock()
	o.lines = append(o.lines, line)
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
}

// Lines returns every line so far.
func (o *Output) Lines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.lines...)
}

// String returns the output so far.
func (o *Output) String() string { return strings.Join(o.Lines(), "\n") }

// WaitLine waits until match accepts a line (from the first), or until
// done is closed or the timeout passes.
func (o *Output) WaitLine(match func(string) bool, done <-chan struct{}, timeout time.Duration) (string, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		o.mu.Lock()
		lines, changed := o.lines[seen:], o.changed
		seen = len(o.lines)
		o.mu.Unlock()
		for _, l := range lines {
			if match(l) {
				return l, true
			}
		}
		select {
		case <-changed:
		case <-done:
			// Lines written just before the exit may still be arriving:
			// the reader closes done only after the pipes are drained.
			o.mu.Lock()
			rest := o.lines[seen:]
			o.mu.Unlock()
			for _, l := range rest {
				if match(l) {
					return l, true
				}
			}
			return "", false
		case <-deadline.C:
			return "", false
		}
	}
}

// LogLine is one JSON log line of the daemon (--log-json).
type LogLine map[string]any

// Msg is the line's message.
func (l LogLine) Msg() string { s, _ := l["msg"].(string); return s }

// Str returns a string attribute.
func (l LogLine) Str(key string) string { s, _ := l[key].(string); return s }

// JSONLogs parses every line that is a JSON object; others are ignored.
func (o *Output) JSONLogs() []LogLine {
	var out []LogLine
	for _, l := range o.Lines() {
		var m LogLine
		if strings.HasPrefix(l, "{") && json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// Daemon is a running "mlink serve" child process.
type Daemon struct {
	URL    string
	Output *Output // everything the daemon printed, stdout and stderr
	p      *process
}

// process is a started child process whose output is collected.
type process struct {
	cmd  *exec.Cmd
	out  *Output
	done chan struct{} // closed once the process exited and its output is read
	code int           // set before done is closed
}

func startProcess(bin string, env []string, args ...string) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = cleanEnv(env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	p := &process{cmd: cmd, out: newOutput(), done: make(chan struct{})}
	var readers sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
			for sc.Scan() {
				p.out.add(sc.Text())
			}
		}()
	}
	go func() {
		readers.Wait() // Wait must not run before the pipes are read to EOF
		_ = cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	return p, nil
}

// StartDaemon runs "mlink serve <args> --port 0 --log-json" and waits until
// it logs "mlink listening". A daemon still running when the test ends is
// killed.
func StartDaemon(t testing.TB, bin string, args ...string) *Daemon {
	t.Helper()
	return StartDaemonEnv(t, bin, nil, args...)
}

// StartDaemonEnv is StartDaemon with extra environment variables ("K=V").
func StartDaemonEnv(t testing.TB, bin string, env []string, args ...string) *Daemon {
	t.Helper()
	d, err := TryStartDaemon(bin, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Kill() })
	return d
}

// TryStartDaemon is StartDaemon returning an error (the daemon's output
// included) when it exits or stays silent instead of listening.
func TryStartDaemon(bin string, env []string, args ...string) (*Daemon, error) {
	args = append(append([]string{"serve"}, args...), "--port", "0", "--log-json")
	p, err := startProcess(bin, env, args...)
	if err != nil {
		return nil, err
	}
	d := &Daemon{Output: p.out, p: p}
	line, ok := p.out.WaitLine(func(l string) bool { return strings.Contains(l, `"msg":"mlink listening"`) }, p.done, time.Minute)
	if !ok {
		d.Kill()
		return nil, fmt.Errorf("mlink serve did not start listening (exit code %d); output:\n%s", d.ExitCode(), p.out)
	}
	var ll LogLine
	if err := json.Unmarshal([]byte(line), &ll); err != nil {
		d.Kill()
		return nil, fmt.Errorf("listening line is not JSON: %q", line)
	}
	d.URL = ll.Str("url")
	if !strings.HasPrefix(d.URL, "http://127.0.0.1:") {
		d.Kill()
		return nil, fmt.Errorf("daemon URL %q: want http://127.0.0.1:<port>", d.URL)
	}
	return d, nil
}

// PID is the daemon's process id.
func (d *Daemon) PID() int { return d.p.cmd.Process.Pid }

// Done is closed when the daemon has exited.
func (d *Daemon) Done() <-chan struct{} { return d.p.done }

// ExitCode waits for the daemon to exit and returns its exit code (-1 for
// a process ended by a signal).
func (d *Daemon) ExitCode() int {
	<-d.p.done
	return d.p.code
}

// Kill ends the daemon with SIGKILL, as a crash would, and waits for it.
func (d *Daemon) Kill() {
	select {
	case <-d.p.done:
		return
	default:
	}
	_ = d.p.cmd.Process.Signal(syscall.SIGKILL)
	<-d.p.done
}

// Stop asks the daemon to shut down (SIGTERM) and returns its exit code.
func (d *Daemon) Stop(timeout time.Duration) (int, error) {
	_ = d.p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.p.done:
		return d.p.code, nil
	case <-time.After(timeout):
		d.Kill()
		return d.p.code, fmt.Errorf("daemon did not exit within %s of SIGTERM", timeout)
	}
}

// Client is an API client for the daemon.
func (d *Daemon) Client(token string) *api.Client { return api.NewClient(d.URL, token, nil) }

// Result is what a finished command printed and its exit code.
type Result struct {
	Args   []string
	Stdout string
	Stderr string
	Code   int
}

// Output is stdout and stderr together.
func (r Result) Output() string { return r.Stdout + r.Stderr }

func (r Result) String() string {
	return fmt.Sprintf("mlink %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.Args, " "), r.Code, r.Stdout, r.Stderr)
}

// Run runs the binary to completion (at most timeout) with extra
// environment variables ("K=V").
func Run(ctx context.Context, bin string, env []string, timeout time.Duration, args ...string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cleanEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Code: cmd.ProcessState.ExitCode()}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return res, fmt.Errorf("mlink %s: %w", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("mlink %s: did not finish within %s", strings.Join(args, " "), timeout)
	}
	return res, nil
}

// CLI runs the binary and fails the test when it cannot run or overruns.
func CLI(t testing.TB, bin string, args ...string) Result {
	t.Helper()
	res, err := Run(context.Background(), bin, nil, 2*time.Minute, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, res)
	}
	return res
}

// Reply is one raw HTTP exchange.
type Reply struct {
	Code   int
	Header http.Header
	Body   []byte
}

// ErrorText is the "error" field of a JSON error reply ("" if none).
func (r Reply) ErrorText() string {
	var e struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(r.Body, &e) != nil {
		return ""
	}
	return e.Error
}

// Do sends one request and reads the whole reply.
func Do(ctx context.Context, method, url string, body []byte, header http.Header) (Reply, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return Reply{}, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if h := header.Get("Host"); h != "" {
		req.Host = h // net/http sends req.Host, never a Host header field
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Code: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// WaitStatus polls GET /status until cond holds. A failed sync (unless
// cond accepts it), an unreachable daemon for longer than the timeout, or
// the timeout itself fail the test.
func WaitStatus(t testing.TB, c *api.Client, what string, timeout time.Duration, cond func(mlink.Status) bool) mlink.Status {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last mlink.Status
	var lastErr error
	for {
		st, err := c.Status(context.Background())
		if err == nil {
			if cond(st) {
				return st
			}
			if st.State == mlink.StateFailed {
				t.Fatalf("sync failed while waiting for %s: %s", what, st.Error)
			}
			last = st
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last status: state=%s info=%q error=%q; last error: %v",
				timeout, what, last.State, last.Info, last.Error, lastErr)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

// Sample is one series of a Prometheus text exposition.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// ParseMetrics parses the Prometheus text format (the subset the Go client
// writes: no timestamps, label values without embedded commas).
func ParseMetrics(text string) ([]Sample, error) {
	var out []Sample
	for n, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("metrics line %d: %q", n+1, line)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: value %q: %w", n+1, value, err)
		}
		s := Sample{Name: series, Labels: map[string]string{}, Value: v}
		if name, labels, ok := strings.Cut(series, "{"); ok {
			s.Name = name
			for _, kv := range strings.Split(strings.TrimSuffix(labels, "}"), ",") {
				if kv == "" {
					continue
				}
				k, val, ok := strings.Cut(kv, "=")
				if !ok {
					return nil, fmt.Errorf("metrics line %d: label %q", n+1, kv)
				}
				uq, err := strconv.Unquote(val)
				if err != nil {
					return nil, fmt.Errorf("metrics line %d: label value %s: %w", n+1, val, err)
				}
				s.Labels[k] = uq
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// Metrics fetches and parses GET /metrics.
func (d *Daemon) Metrics(ctx context.Context) ([]Sample, error) {
	r, err := Do(ctx, http.MethodGet, d.URL+"/metrics", nil, nil)
	if err != nil {
		return nil, err
	}
	if r.Code != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d %s", r.Code, r.Body)
	}
	return ParseMetrics(string(r.Body))
}

// Sum adds up the values of every series named name whose labels include
// match; found is false when there is no such series.
func Sum(samples []Sample, name string, match map[string]string) (sum float64, found bool) {
	for _, s := range samples {
		if s.Name != name {
			continue
		}
		ok := true
		for k, v := range match {
			if s.Labels[k] != v {
				ok = false
			}
		}
		if ok {
			sum += s.Value
			found = true
		}
	}
	return sum, found
}
