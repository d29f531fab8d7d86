// Package browser opens mlink's dashboard in a headless Chromium while a
// real daemon (the built binary) syncs two mongosim servers, and checks
// what a user sees: the state changing, the lag chart growing, the clone
// and event counters, and the pause/resume/finalize buttons working.
package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/e2e/product"
	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/mongosim/simtest"
	"github.com/mlink-dev/mlink/workload"
)

// chromiumPath is Debian's chromium; make test installs it when missing.
const chromiumPath = "/usr/bin/chromium"

const token = "tok-dashboard-7c1e"

var bin string

func TestMain(m *testing.M) {
	b, cleanup, err := product.BinaryForMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = b
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// view is what the dashboard shows, read from the page's DOM.
type view struct {
	State   string `json:"state"`
	Class   string `json:"class"`
	Points  int    `json:"points"`
	Lag     string `json:"lag"`
	Events  string `json:"events"`
	Clone   string `json:"clone"`
	Info    string `json:"info"`
	Conn    string `json:"conn"`
	Warns   string `json:"warnings"`
	Action  string `json:"action"`
	Source  string `json:"source"`
	CollRow int    `json:"collRows"`
}

const readView = `(() => {
  const $ = (id) => document.getElementById(id);
  return {
    state: $("state").textContent, class: $("state").className,
    points: Number($("lag-chart").getAttribute("data-points")),
    lag: $("lag").textContent, events: $("events").textContent,
    clone: $("clone-total-text").textContent, info: $("info").textContent,
    conn: $("conn").textContent, warnings: $("warnings").textContent,
    action: $("action-result").textContent, source: $("source").textContent,
    collRows: $("clone-collections").tBodies[0].rows.length,
  };
})()`

// lineReach is how far right (0..1 of the canvas width) the chart's line
// colour (#2f6fde) appears.
const lineReach = `(() => {
  const cv = document.getElementById("lag-chart"), g = cv.getContext("2d");
  const d = g.getImageData(0, 0, cv.width, cv.height).data;
  let right = -1;
  for (let i = 0; i < d.length; i += 4) {
    if (Math.abs(d[i] - 0x2f) < 24 && Math.abs(d[i+1] - 0x6f) < 24 && Math.abs(d[i+2] - 0xde) < 24 && d[i+3] > 128) {
      right = Math.max(right, (i / 4) % cv.width);
    }
  }
  return right / cv.width;
})()`

// watcher reads the page every 100 ms and keeps the sequence of states.
type watcher struct {
	t      *testing.T
	ctx    context.Context
	mu     sync.Mutex
	states []string
	last   view
}

func (w *watcher) read() view {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[view](readView))
	if err != nil {
		w.t.Fatalf("reading the dashboard: %v", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.states); v.State != "" && v.State != "…" && (n == 0 || w.states[n-1] != v.State) {
		w.states = append(w.states, v.State)
	}
	w.last = v
	return v
}

// until polls the page until cond holds.
func (w *watcher) until(what string, timeout time.Duration, cond func(view) bool) view {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := w.read()
		if cond(v) {
			return v
		}
		if v.State == "failed" || time.Now().After(deadline) {
			w.t.Fatalf("dashboard: waiting for %s; it shows %+v", what, v)
		}
		time.Sleep(100 * time.Millisecond) // the page refreshes every second
	}
}

func (w *watcher) seen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.states)
}

func count(s string) int64 {
	n, _ := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
	return n
}

var cloneDocsRE = regexp.MustCompile(`([\d,]+) / ([\d,]+) docs`)

// TestDashboardInChromium follows a whole sync in the dashboard: it types
// the API token, watches the state go idle → running → paused → running →
// finalized (pause, resume and finalize clicked on the page's buttons, the
// finalize confirmation accepted) and the lag chart gain points, and takes
// screenshots.
func TestDashboardInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not installed (make browser-deps installs it): %v", chromiumPath, err)
	}
	src := simtest.Start(t, mongosim.Options{ReplSetName: "rs0", NoopInterval: time.Second})
	dst := simtest.Start(t, mongosim.Options{ReplSetName: "rs1", NoopInterval: time.Second})
	srcC := simtest.Client(t, src.URI())
	loaded, err := workload.Sample{Prefix: "br_", Orders: 8000}.Load(context.Background(), srcC)
	if err != nil {
		t.Fatal(err)
	}
	d := product.StartDaemon(t, bin, "--source", src.URI(), "--target", dst.URI(), "--api-token", token)
	api := d.Client(token)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	started := time.Now()
	if err := chromedp.Do(ctx); err != nil { // starts the browser, no timeout on this context
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	t.Logf("chromium started in %s", time.Since(started).Round(time.Millisecond))
	console := collectConsole(ctx)

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	step("open the dashboard", chromedp.Navigate(d.URL+"/"), chromedp.WaitVisible("#state"))
	w := &watcher{t: t, ctx: ctx}
	w.until("the token prompt", 10*time.Second, func(v view) bool { return v.Conn == "enter the API token" })
	step("type the API token", chromedp.SendKeys("#token", token), chromedp.Blur("#token"))
	v := w.until("idle", 10*time.Second, func(v view) bool { return v.State == "idle" })
	if !strings.HasPrefix(v.Conn, "updated ") || v.Points != 0 {
		t.Fatalf("idle dashboard: %+v", v)
	}

	if err := api.Start(context.Background(), mlink.StartRequest{IncludeNamespaces: []string{"/^br_/"}}); err != nil {
		t.Fatal(err)
	}
	writer := workload.StartWriter(context.Background(), srcC, workload.WriterOptions{DB: "br_live", Rate: 150, Seed: 11})
	defer writer.Stop()
	v = w.until("running with the clone done", time.Minute, func(v view) bool {
		return v.State == "running" && strings.HasPrefix(v.Clone, "100% ·")
	})
	// The live workload may already have written a few documents the clone
	// copies too: the dashboard must show copied == estimated ≥ the dataset.
	m := cloneDocsRE.FindStringSubmatch(v.Clone)
	if m == nil || m[1] != m[2] || count(m[1]) < loaded.Documents || v.CollRow < 6 || v.Class != "state running" {
		t.Errorf("clone shown as %q with %d collection rows (class %q); want at least %d documents, all copied, in 6+ collections", v.Clone, v.CollRow, v.Class, loaded.Documents)
	}
	first := w.until("lag points", time.Minute, func(v view) bool { return v.Points >= 3 && count(v.Events) > 0 })
	grown := w.until("more lag points", 30*time.Second, func(v view) bool { return v.Points >= first.Points+3 })
	t.Logf("replicating: lag %s, %s events, chart %d → %d points", grown.Lag, grown.Events, first.Points, grown.Points)
	// The lag line is drawn across the chart: its rightmost blue pixel is
	// near the right edge of the plot.
	reach, err := chromedp.Run(ctx, chromedp.Evaluate[float64](lineReach))
	if err != nil {
		t.Fatal(err)
	}
	if reach < 0.9 {
		t.Errorf("the lag line reaches %.0f%% of the chart's width with %d samples, want it across the chart", 100*reach, grown.Points)
	}
	shot(t, ctx, "replicating")

	step("click Pause", chromedp.Click("#btn-pause"))
	v = w.until("paused", 15*time.Second, func(v view) bool { return v.State == "paused" })
	if v.Action != "pause: ok" || v.Class != "state paused" {
		t.Errorf("after Pause: action %q, class %q", v.Action, v.Class)
	}
	if st, err := api.Status(context.Background()); err != nil || st.State != mlink.StatePaused {
		t.Fatalf("daemon after the Pause button: %s %v", st.State, err)
	}
	step("click Resume", chromedp.Click("#btn-resume"))
	v = w.until("running again", 15*time.Second, func(v view) bool { return v.State == "running" && v.Action == "resume: ok" })
	w.until("the chart still growing", 30*time.Second, func(x view) bool { return x.Points >= v.Points+2 })
	if err := writer.Stop(); err != nil {
		t.Fatal(err)
	}

	// Finalize asks for confirmation: accept the dialog.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	clicked := make(chan error, 1)
	go func() {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		clicked <- chromedp.Do(cctx, chromedp.Click("#btn-finalize"))
	}()
	for ev, err := range dialogs {
		if err != nil {
			t.Fatalf("waiting for the finalize confirmation: %v", err)
		}
		if ev.Type != page.DialogTypeConfirm || !strings.HasPrefix(ev.Message, "Finalize:") {
			t.Fatalf("unexpected dialog %s %q", ev.Type, ev.Message)
		}
		if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}); err != nil {
			t.Fatalf("accepting the confirmation: %v", err)
		}
		break
	}
	if err := <-clicked; err != nil {
		t.Fatalf("click Finalize: %v", err)
	}
	v = w.until("finalized", time.Minute, func(v view) bool { return v.State == "finalized" })
	if v.Class != "state finalized" || v.Warns != "none" || count(v.Events) == 0 || !strings.HasPrefix(v.Action, "finalize") {
		t.Errorf("finalized dashboard: %+v", v)
	}
	shot(t, ctx, "finalized")

	// The sequence of states the page showed, in order (finalizing may be
	// too short to catch between two refreshes).
	seen := slices.DeleteFunc(w.seen(), func(s string) bool { return s == "finalizing" })
	if want := []string{"idle", "running", "paused", "running", "finalized"}; !slices.Equal(seen, want) {
		t.Errorf("the dashboard showed states %v, want %v", w.seen(), want)
	}
	t.Logf("states seen: %v", w.seen())
	for _, m := range console() {
		// The polls before the token was typed were refused (401).
		if m.Type == "error" && strings.Contains(m.Text, "401") {
			continue
		}
		if m.Type == "error" || m.IsException() || m.Source == "security" {
			t.Errorf("browser console: %s", m)
		}
	}
}

// collectConsole gathers the page's console messages until the context
// ends; the returned func lists those so far.
func collectConsole(ctx context.Context) func() []chromedp.ConsoleMessage {
	var mu sync.Mutex
	var msgs []chromedp.ConsoleMessage
	it := chromedp.Console(ctx)
	go func() {
		for m, err := range it {
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, m)
			mu.Unlock()
		}
	}()
	return func() []chromedp.ConsoleMessage {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(msgs)
	}
}

// shot saves a full-page screenshot under the test's temporary directory
// (and under MLINK_TEST_SCREENSHOT_DIR when set, to keep it).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	dirs := []string{t.TempDir()}
	if keep := os.Getenv("MLINK_TEST_SCREENSHOT_DIR"); keep != "" {
		dirs = append(dirs, keep)
	}
	for _, dir := range dirs {
		path := filepath.Join(dir, "dashboard-"+name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot (%d bytes): %s", len(png), path)
	}
}

// group formats n as the dashboard does (en-US thousands separators).
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
