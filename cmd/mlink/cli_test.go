package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/api"
	"github.com/mlink-dev/mlink/api/apitest"
)

// syncBuffer is a bytes.Buffer safe for the progress bars' goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type cli struct {
	app            *app
	env            map[string]string
	stdout, stderr *syncBuffer
}

func newCLI(env map[string]string) *cli {
	c := &cli{env: env, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	a := newApp()
	a.getenv = func(k string) string { return c.env[k] }
	a.stdout, a.stderr = c.stdout, c.stderr
	a.stdoutIsTTY = func() bool { return false }
	a.newController = nil
	c.app = a
	return c
}

func (c *cli) run(ctx context.Context, args ...string) int {
	return run(ctx, args, c.app)
}

// daemon serves a fake controller; it returns the --server URL.
func daemon(t *testing.T, ctrl api.Controller, token string) string {
	t.Helper()
	srv := httptest.NewServer(api.NewHandler(ctrl, api.Options{Token: token}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestClientCommands(t *testing.T) {
	fake := &apitest.Controller{}
	url := daemon(t, fake, "")
	ctx := context.Background()
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"pause"}, 1, "", "Error: cannot pause: sync is idle\n"},
		{[]string{"start", "--include", `shop.*,/^crm\.(a|b){1,2}$/`, "--include", "hr.people", "--exclude", "shop.tmp", "--pause-on-initial-sync", "--overwrite-target"}, 0, "sync started\n", ""},
		{[]string{"start"}, 1, "", "Error: cannot start: sync is running\n"},
		{[]string{"pause"}, 0, "sync paused\n", ""},
		{[]string{"resume", "--from-failure"}, 1, "", "Error: cannot resume: sync is paused\n"},
		{[]string{"resume"}, 0, "sync resumed\n", ""},
		{[]string{"reset"}, 1, "", "Error: cannot reset: sync is running\n"},
		{[]string{"finalize", "--ignore-history-lost"}, 0, "finalizing (watch progress with: mlink status --watch)\n", ""},
	} {
		c := newCLI(nil)
		code := c.run(ctx, append(tc.args, "--server", url)...)
		if code != tc.code || c.stdout.String() != tc.stdout || c.stderr.String() != tc.stderr {
			t.Fatalf("mlink %v: exit %d, stdout %q, stderr %q; want %d %q %q", tc.args, code, c.stdout, c.stderr, tc.code, tc.stdout, tc.stderr)
		}
	}
	fake.SetState(mlink.StateFailed)
	if code := newCLI(nil).run(ctx, "resume", "--from-failure", "--server", url); code != 0 {
		t.Fatalf("resume --from-failure exit %d", code)
	}
	fake.SetState(mlink.StateFinalized)
	if code := newCLI(nil).run(ctx, "reset", "--server", url); code != 0 {
		t.Fatalf("reset exit %d", code)
	}

	calls := fake.Calls()
	if len(calls) != 6 {
		t.Fatalf("calls = %+v", calls)
	}
	start := calls[0].Start
	if strings.Join(start.IncludeNamespaces, " ") != `shop.* /^crm\.(a|b){1,2}$/ hr.people` ||
		strings.Join(start.ExcludeNamespaces, " ") != "shop.tmp" || !start.PauseOnInitialSync || !start.OverwriteTarget {
		t.Fatalf("start request = %+v", start)
	}
	if !calls[3].Finalize.IgnoreHistoryLost || !calls[4].Resume.FromFailure || calls[2].Resume.FromFailure {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestStartValidatesPatternsLocally(t *testing.T) {
	fake := &apitest.Controller{}
	c := newCLI(nil)
	code := c.run(context.Background(), "start", "--include", "shop", "--server", daemon(t, fake, ""))
	want := "Error: invalid namespace filter: pattern \"shop\": want db.collection, db.* or /regex/\n"
	if code != 1 || c.stderr.String() != want {
		t.Fatalf("exit %d stderr %q", code, c.stderr)
	}
	if len(fake.Calls()) != 0 {
		t.Fatal("invalid start reached the daemon")
	}
}

func TestServerAndTokenFromEnvironment(t *testing.T) {
	fake := &apitest.Controller{}
	url := daemon(t, fake, "sekrit-token")
	ctx := context.Background()

	c := newCLI(map[string]string{envServer: url})
	if code := c.run(ctx, "start"); code != 1 || c.stderr.String() != "Error: API token required: send Authorization: Bearer <token>\n" {
		t.Fatalf("no token: exit %d stderr %q", code, c.stderr)
	}
	c = newCLI(map[string]string{envServer: url, envToken: "wrong"})
	if code := c.run(ctx, "start"); code != 1 || c.stderr.String() != "Error: invalid API token\n" {
		t.Fatalf("wrong token: exit %d stderr %q", code, c.stderr)
	}
	c = newCLI(map[string]string{envServer: url, envToken: "sekrit-token"})
	if code := c.run(ctx, "start"); code != 0 {
		t.Fatalf("env token: exit %d stderr %q", code, c.stderr)
	}
	// A flag beats the environment.
	c = newCLI(map[string]string{envServer: "http://127.0.0.1:1", envToken: "wrong"})
	if code := c.run(ctx, "pause", "--server", url, "--api-token", "sekrit-token"); code != 0 {
		t.Fatalf("flags over env: exit %d stderr %q", code, c.stderr)
	}
	// The token never appears in help output as a default.
	c = newCLI(map[string]string{envToken: "sekrit-token"})
	if code := c.run(ctx, "start", "--help"); code != 0 || strings.Contains(c.stdout.String(), "sekrit") || !strings.Contains(c.stdout.String(), "--api-token") {
		t.Fatalf("help: exit %d\n%s", code, c.stdout)
	}
}

func TestUnreachableDaemon(t *testing.T) {
	c := newCLI(nil)
	code := c.run(context.Background(), "status", "--server", "http://127.0.0.1:1")
	if code != 1 || !strings.HasPrefix(c.stderr.String(), "Error: cannot reach mlink at http://127.0.0.1:1: ") {
		t.Fatalf("exit %d stderr %q", code, c.stderr)
	}
}

func TestVersionAndUsageErrors(t *testing.T) {
	ctx := context.Background()
	c := newCLI(nil)
	if code := c.run(ctx, "version"); code != 0 || !strings.HasPrefix(c.stdout.String(), "mlink "+mlink.Version+" (go") {
		t.Fatalf("version: %d %q", code, c.stdout)
	}
	c = newCLI(nil)
	if code := c.run(ctx, "bogus"); code != 1 || c.stderr.String() != "Error: unknown command \"bogus\" for \"mlink\"\n" {
		t.Fatalf("bogus: %d %q", code, c.stderr)
	}
	c = newCLI(nil)
	if code := c.run(ctx, "pause", "--now"); code != 1 || c.stderr.String() != "Error: unknown flag: --now\n" {
		t.Fatalf("unknown flag: %d %q", code, c.stderr)
	}
	// verify's own exit codes pass through run: 2 when it cannot compare.
	c = newCLI(nil)
	if code := c.run(ctx, "verify"); code != 2 || !strings.HasPrefix(c.stderr.String(), "Error: ") {
		t.Fatalf("verify without URIs: %d %q", code, c.stderr)
	}
	c = newCLI(nil)
	if code := c.run(ctx, "status", "--watch", "--json"); code != 1 || c.stderr.String() != "Error: --watch and --json cannot be combined\n" {
		t.Fatalf("watch+json: %d %q", code, c.stderr)
	}
}

func TestSplitPatterns(t *testing.T) {
	for in, want := range map[string]string{
		"a.b":                    "a.b",
		"a.b,c.*":                "a.b|c.*",
		`/^a{1,3}\./,b.c`:        `/^a{1,3}\./|b.c`,
		`b.c,/x,y/`:              `b.c|/x,y/`,
		`/unterminated,a.b`:      `/unterminated|a.b`,
		`a.b,,c.d`:               `a.b||c.d`,
		`/a/b/,c.d`:              `/a/b/|c.d`,
		`shop.*,/^crm\.(a|b)$/,`: `shop.*|/^crm\.(a|b)$/`,
	} {
		if got := strings.Join(splitPatterns(in), "|"); got != want {
			t.Errorf("splitPatterns(%q) = %q, want %q", in, got, want)
		}
	}
}
