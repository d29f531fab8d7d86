package product

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/workload"
)

// TestMetricsAfterClone clones a dataset of known size and reads the
// daemon's /metrics: the clone counters equal the dataset, the state
// series say running, and once a workload is replicated the lag and event
// counters are there with sane values. Every mlink_* metric the README
// documents is exposed, and no other.
func TestMetricsAfterClone(t *testing.T) {
	p := newPair(t)
	p.clients(t, p.srcURI, p.dstURI)
	loaded := loadSample(t, p.srcC, "mt_", 2000)
	d := StartDaemon(t, bin, "--source", p.srcURI, "--target", p.dstURI)
	c := d.Client("")
	ctx := context.Background()
	if err := c.Start(ctx, mlink.StartRequest{IncludeNamespaces: []string{"/^mt_/"}}); err != nil {
		t.Fatal(err)
	}
	st := WaitStatus(t, c, "initial sync", time.Minute, func(st mlink.Status) bool {
		return st.InitialSync != nil && st.InitialSync.Completed
	})
	collections := float64(st.Clone.CollectionsAll)

	// Gauges follow the clone's progress once a second: poll until they
	// have caught up, then check every clone series exactly.
	var m []Sample
	waitFor(t, "clone gauges", 10*time.Second, func() bool {
		var err error
		if m, err = d.Metrics(ctx); err != nil {
			t.Fatal(err)
		}
		done, _ := Sum(m, "mlink_clone_collections_done", nil)
		return done == collections
	})
	for name, want := range map[string]float64{
		"mlink_clone_copied_documents_total": float64(loaded.Documents),
		"mlink_clone_estimated_documents":    float64(loaded.Documents),
		"mlink_clone_copied_bytes_total":     float64(loaded.Bytes),
		"mlink_clone_collections_total":      collections,
		"mlink_clone_collections_done":       collections,
		`mlink_state{state="running"}`:       1,
		`mlink_state{state="idle"}`:          0,
		`mlink_state{state="failed"}`:        0,
	} {
		got, ok := series(m, name)
		if !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if collections != 6 {
		t.Errorf("clone collections = %v, want the sample's 6", collections)
	}
	t.Logf("clone: %d documents, %d bytes, %v collections", loaded.Documents, loaded.Bytes, collections)

	// Replicate a live workload: lag and event counters appear.
	writer := workload.StartWriter(ctx, p.srcC, workload.WriterOptions{DB: "mt_live", Clients: 2, Rate: 200, Seed: 5})
	defer writer.Stop()
	WaitStatus(t, c, "replicated events", time.Minute, func(st mlink.Status) bool {
		return st.Replication != nil && st.Replication.EventsApplied >= 200 && st.LagTime != nil
	})
	m, err := d.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lag, ok := series(m, "mlink_lag_seconds")
	if !ok || math.IsNaN(lag) || lag < 0 || lag > 10 {
		t.Errorf("mlink_lag_seconds = %v (present %v): want between 0 and 10 s while replicating 200 writes/s", lag, ok)
	}
	applied, _ := Sum(m, "mlink_events_applied_total", nil)
	read, _ := Sum(m, "mlink_events_read_total", nil)
	inserts, _ := Sum(m, "mlink_events_applied_total", map[string]string{"kind": "insert"})
	if applied < 200 || read < applied || inserts == 0 {
		t.Errorf("events: read %v, applied %v (inserts %v); want >= 200 applied, read >= applied, some inserts", read, applied, inserts)
	}
	if n, ok := Sum(m, "mlink_bulk_apply_duration_seconds_count", map[string]string{"phase": "repl"}); !ok || n == 0 {
		t.Errorf("no repl bulk apply observed: %v %v", n, ok)
	}
	if w, ok := series(m, "mlink_oplog_window_seconds"); !ok || w < 0 {
		t.Errorf("mlink_oplog_window_seconds = %v (present %v)", w, ok)
	}
	t.Logf("replicating: lag %.3fs, %v events read, %v applied", lag, read, applied)
	for _, s := range m {
		if s.Name == "mlink_errors_total" {
			t.Errorf("error counted in a clean run: %s%v = %v", s.Name, s.Labels, s.Value)
		}
	}
	if err := writer.Stop(); err != nil {
		t.Fatal(err)
	}

	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	m, err = d.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range mlink.States {
		want := 0.0
		if s == mlink.StatePaused {
			want = 1
		}
		if got, ok := Sum(m, "mlink_state", map[string]string{"state": string(s)}); !ok || got != want {
			t.Errorf(`mlink_state{state=%q} = %v (present %v), want %v`, s, got, ok, want)
		}
	}

	// The exposition and the README's table name the same mlink_* metrics.
	documented := documentedMetrics(t)
	var exposed []string
	for _, s := range m {
		name := regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(s.Name, "")
		if regexp.MustCompile(`^mlink_`).MatchString(name) && !slices.Contains(exposed, name) {
			exposed = append(exposed, name)
		}
	}
	sort.Strings(exposed)
	// Counters and gauges by kind have no series until a kind is seen
	// (nothing was retried, skipped, warned about or failed here).
	labelledOnly := []string{"mlink_events_skipped_total", "mlink_retries_total", "mlink_warnings", "mlink_errors_total"}
	for _, name := range exposed {
		if !slices.Contains(documented, name) {
			t.Errorf("%s is exposed but not in metrics/README.md", name)
		}
	}
	for _, name := range documented {
		if !slices.Contains(exposed, name) && !slices.Contains(labelledOnly, name) {
			t.Errorf("%s is documented in metrics/README.md but not exposed", name)
		}
	}
}

// series returns one series given as name or name{label="value"}.
func series(m []Sample, spec string) (float64, bool) {
	name, labels := spec, map[string]string{}
	if sm := regexp.MustCompile(`^(\w+)\{(\w+)="([^"]*)"\}$`).FindStringSubmatch(spec); sm != nil {
		name, labels = sm[1], map[string]string{sm[2]: sm[3]}
	}
	return Sum(m, name, labels)
}

// documentedMetrics lists the metric names of metrics/README.md's table.
func documentedMetrics(t *testing.T) []string {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(self), "..", "..", "metrics", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(mlink_\\w+)` \\|").FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	if len(out) < 10 {
		t.Fatalf("found only %d metrics in metrics/README.md: %v", len(out), out)
	}
	return out
}
