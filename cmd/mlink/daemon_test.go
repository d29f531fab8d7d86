package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/api"
	"github.com/mlink-dev/mlink/api/apitest"
)

const (
	srcURI = "mongodb://alice:srcPassw0rd@src.example:27017/?replicaSet=rs0"
	dstURI = "mongodb://bob:dstPassw0rd@dst.example:27017/?replicaSet=rs1"
)

// closingController records Close, which serve calls on shutdown.
type closingController struct {
	*apitest.Controller
	closed chan struct{}
}

func (c *closingController) Close(context.Context) error { close(c.closed); return nil }

// startDaemon runs "mlink <args>" until the returned stop is called, and
// returns its URL, the config the engine got and the exit code channel.
func startDaemon(t *testing.T, c *cli, ctrl api.Controller, args ...string) (url string, cfg *ServeConfig, stop func() int) {
	t.Helper()
	cfg = &ServeConfig{}
	c.app.newController = func(ctx context.Context, got ServeConfig) (api.Controller, error) {
		*cfg = got
		return ctrl, nil
	}
	addrs := make(chan net.Addr, 1)
	c.app.onListening = func(a net.Addr) { addrs <- a }
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() { exit <- c.run(ctx, args...) }()
	select {
	case a := <-addrs:
		url = "http://" + a.String()
	case code := <-exit:
		cancel()
		t.Fatalf("daemon exited %d before listening: %s", code, c.stderr)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("daemon did not listen within 10s")
	}
	var once sync.Once
	code := -1
	return url, cfg, func() int {
		once.Do(func() {
			cancel()
			code = <-exit
		})
		return code
	}
}

func TestServeRunsTheAPIAndShutsDown(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--port", "0", "--source", srcURI, "--target", dstURI, "--overwrite-target", "--reset-state", "--log-level", "debug"},
		{"--port", "0", "--source", srcURI, "--target", dstURI, "--overwrite-target", "--reset-state", "--log-level", "debug"}, // default command
	} {
		ctrl := &closingController{Controller: &apitest.Controller{}, closed: make(chan struct{})}
		c := newCLI(nil)
		url, cfg, stop := startDaemon(t, c, ctrl, args...)
		if !strings.HasPrefix(url, "http://127.0.0.1:") {
			t.Fatalf("daemon listens on %s, want loopback", url)
		}
		if cfg.SourceURI != srcURI || cfg.TargetURI != dstURI || !cfg.OverwriteTarget || !cfg.ResetState || cfg.Metrics == nil || cfg.Logger == nil {
			t.Fatalf("engine config = %+v", cfg)
		}

		cl := api.NewClient(url, "", nil)
		if err := cl.Start(context.Background(), mlink.StartRequest{}); err != nil {
			t.Fatal(err)
		}
		// --overwrite-target is the default for start requests.
		if got := ctrl.Calls()[0].Start.OverwriteTarget; !got {
			t.Fatal("daemon default overwriteTarget not applied")
		}
		cfg.Metrics.SetState(mlink.StateRunning)
		resp, err := http.Get(url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{`mlink_state{state="running"} 1`, "go_goroutines ", "process_start_time_seconds "} {
			if !strings.Contains(string(body), want) {
				t.Fatalf("/metrics lacks %q", want)
			}
		}
		cfg.Logger.Error("engine lost " + srcURI)

		if code := stop(); code != 0 {
			t.Fatalf("exit %d: %s", code, c.stderr)
		}
		select {
		case <-ctrl.closed:
		default:
			t.Fatal("controller not closed on shutdown")
		}
		logs := c.stderr.String()
		if strings.Contains(logs, "srcPassw0rd") || strings.Contains(logs, "dstPassw0rd") {
			t.Fatalf("password in logs:\n%s", logs)
		}
		for _, want := range []string{"msg=\"mlink listening\" url=" + url, "source=\"mongodb://alice:xxxxx@src.example:27017/?replicaSet=rs0\"",
			"msg=\"engine lost mongodb://alice:xxxxx@src.example", "msg=\"shutting down\""} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs lack %s:\n%s", want, logs)
			}
		}
	}
}

func TestServeFromEnvironmentWithToken(t *testing.T) {
	c := newCLI(map[string]string{envSource: srcURI, envTarget: dstURI, envToken: "tok-abc"})
	url, cfg, stop := startDaemon(t, c, &apitest.Controller{}, "serve", "--port", "0", "--log-json")
	defer stop()
	if cfg.SourceURI != srcURI || cfg.TargetURI != dstURI {
		t.Fatalf("engine config = %+v", cfg)
	}
	_, err := api.NewClient(url, "", nil).Status(context.Background())
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("status without token: %v", err)
	}
	if _, err := api.NewClient(url, "tok-abc", nil).Status(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The CLI finds the daemon and the token through the environment too.
	cc := newCLI(map[string]string{envServer: url, envToken: "tok-abc"})
	if code := cc.run(context.Background(), "status"); code != 0 || cc.stdout.String() != "State:   idle\nEvents:  0 processed\n" {
		t.Fatalf("status via env: %d %q %q", code, cc.stdout, cc.stderr)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(c.stderr.String(), `"msg":"mlink listening"`) || strings.Contains(c.stderr.String(), "tok-abc") {
		t.Fatalf("json logs:\n%s", c.stderr)
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		env  map[string]string
		msg  string
	}{
		{[]string{"serve", "--target", dstURI}, nil, "Error: --source (or MLINK_SOURCE_URI) is required\n"},
		{[]string{"serve", "--source", srcURI}, nil, "Error: --target (or MLINK_TARGET_URI) is required\n"},
		{[]string{"--source", srcURI, "--target", dstURI, "--log-level", "loud"}, nil, "Error: --log-level: invalid log level \"loud\": want debug, info, warn or error\n"},
		{[]string{"--source", srcURI, "--target", dstURI, "--port", "70000"}, nil, "Error: --port 70000: want 0-65535\n"},
		{[]string{"serve", "--port", "0"}, map[string]string{envSource: srcURI, envTarget: dstURI}, "Error: this build of mlink has no sync engine linked in\n"},
	} {
		c := newCLI(tc.env)
		if code := c.run(ctx, tc.args...); code != 1 || c.stderr.String() != tc.msg {
			t.Errorf("%v: exit %d stderr %q, want %q", tc.args, code, c.stderr, tc.msg)
		}
	}

	// Engine errors are printed without the passwords they may quote.
	c := newCLI(nil)
	c.app.newController = func(context.Context, ServeConfig) (api.Controller, error) {
		return nil, fmt.Errorf("connect %s: auth failed (password srcPassw0rd)", srcURI)
	}
	code := c.run(ctx, "--source", srcURI, "--target", dstURI, "--port", "0")
	want := "Error: starting the sync engine: connect mongodb://alice:xxxxx@src.example:27017/?replicaSet=rs0: auth failed (password xxxxx)\n"
	if code != 1 || c.stderr.String() != want {
		t.Fatalf("exit %d stderr %q", code, c.stderr)
	}

	// A port in use is reported.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	c = newCLI(nil)
	c.app.newController = func(context.Context, ServeConfig) (api.Controller, error) { return &apitest.Controller{}, nil }
	if code := c.run(ctx, "--source", srcURI, "--target", dstURI, "--port", port); code != 1 ||
		!strings.Contains(c.stderr.String(), "Error: listening on 127.0.0.1:"+port+": ") {
		t.Fatalf("port in use: exit %d stderr %q", code, c.stderr)
	}
}
