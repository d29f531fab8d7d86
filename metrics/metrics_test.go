package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mlink-dev/mlink"
)

// allNames is every metric family New registers; README.md documents each.
var allNames = []string{
	"mlink_state", "mlink_lag_seconds",
	"mlink_events_read_total", "mlink_events_applied_total", "mlink_events_skipped_total",
	"mlink_clone_estimated_bytes", "mlink_clone_copied_bytes_total",
	"mlink_clone_estimated_documents", "mlink_clone_copied_documents_total",
	"mlink_clone_collections_total", "mlink_clone_collections_done",
	"mlink_bulk_apply_duration_seconds", "mlink_retries_total", "mlink_errors_total",
	"mlink_oplog_window_seconds", "mlink_checkpoint_age_seconds", "mlink_warnings",
}

func TestExpositionAfterUpdates(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)

	m.SetState(mlink.StateRunning)
	m.LagSeconds.Set(2.5)
	m.EventsRead.WithLabelValues("insert").Add(3)
	m.EventsApplied.WithLabelValues("insert").Add(2)
	m.EventsSkipped.WithLabelValues("update").Inc()
	m.CloneEstimatedBytes.Set(1000)
	m.CloneCopiedBytes.Add(400)
	m.CloneEstimatedDocuments.Set(10)
	m.CloneCopiedDocuments.Add(4)
	m.CloneCollectionsTotal.Set(3)
	m.CloneCollectionsDone.Set(1)
	m.BulkApplyDuration.WithLabelValues(PhaseClone).Observe(0.003)
	m.CountRetry("network")
	m.CountError("apply")
	m.CountError("apply")
	m.OplogWindowSeconds.Set(86400)
	m.CheckpointAgeSeconds.Set(1.5)
	m.SetWarnings([]mlink.Warning{{Kind: "oplog-window"}, {Kind: "oplog-window"}, {Kind: "unsupported"}})

	// Every family is exposed (CollectAndLint also checks naming rules
	// except the _total suffix on a gauge, which the brief asks for).
	count, err := testutil.GatherAndCount(reg, allNames...)
	if err != nil {
		t.Fatal(err)
	}
	// state: 6 series; bulk histogram: 2 phases; events: 3; warnings: 2;
	// retries/errors: 1 each; the 10 plain gauges/counters: 1 each.
	if want := 6 + 1 + 3 + 6 + 2 + 1 + 1 + 2 + 2; count != want {
		t.Fatalf("series count = %d, want %d", count, want)
	}

	expected := `
# HELP mlink_state 1 for the sync's current state, 0 for every other state.
# TYPE mlink_state gauge
mlink_state{state="failed"} 0
mlink_state{state="finalized"} 0
mlink_state{state="finalizing"} 0
mlink_state{state="idle"} 0
mlink_state{state="paused"} 0
mlink_state{state="running"} 1
# HELP mlink_errors_total Errors seen, by kind.
# TYPE mlink_errors_total counter
mlink_errors_total{kind="apply"} 2
# HELP mlink_warnings Active warnings, by kind.
# TYPE mlink_warnings gauge
mlink_warnings{kind="oplog-window"} 2
mlink_warnings{kind="unsupported"} 1
# HELP mlink_clone_copied_bytes_total Bytes of documents copied by the initial clone.
# TYPE mlink_clone_copied_bytes_total counter
mlink_clone_copied_bytes_total 400
# HELP mlink_lag_seconds Seconds between the source's latest cluster time and the last change applied to the target.
# TYPE mlink_lag_seconds gauge
mlink_lag_seconds 2.5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expected),
		"mlink_state", "mlink_errors_total", "mlink_warnings", "mlink_clone_copied_bytes_total", "mlink_lag_seconds"); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.EventsRead.WithLabelValues("insert")); got != 3 {
		t.Fatalf("events_read{insert} = %v, want 3", got)
	}
	if got := testutil.ToFloat64(m.CloneCollectionsDone); got != 1 {
		t.Fatalf("clone_collections_done = %v, want 1", got)
	}
}

func TestSetStateMovesTheOne(t *testing.T) {
	m := New(nil)
	m.SetState(mlink.StateRunning)
	m.SetState(mlink.StateFinalized)
	for _, s := range mlink.States {
		want := 0.0
		if s == mlink.StateFinalized {
			want = 1
		}
		if got := testutil.ToFloat64(m.State.WithLabelValues(string(s))); got != want {
			t.Errorf("state{%s} = %v, want %v", s, got, want)
		}
	}
}

func TestSetWarningsDropsGoneKindsToZero(t *testing.T) {
	m := New(nil)
	m.SetWarnings([]mlink.Warning{{Kind: "oplog-window", Since: time.Now()}})
	m.SetWarnings(nil)
	if got := testutil.ToFloat64(m.Warnings.WithLabelValues("oplog-window")); got != 0 {
		t.Fatalf("warnings{oplog-window} after clear = %v, want 0", got)
	}
	if n := testutil.CollectAndCount(m.Warnings); n != 1 {
		t.Fatalf("warning series = %d, want 1 (kept at 0)", n)
	}
}

func TestLabelNeverCarriesURIsOrMessages(t *testing.T) {
	for in, want := range map[string]string{
		"network":                        "network",
		"oplog-window":                   "oplog-window",
		"mongodb://u:secret@h:27017/":    "other",
		"connection refused to host:1":   "other",
		"":                               "other",
		strings.Repeat("a", 41):          "other",
		"duplicate_key":                  "duplicate_key",
		"auth failed for user alice pwd": "other",
	} {
		if got := Label(in); got != want {
			t.Errorf("Label(%q) = %q, want %q", in, got, want)
		}
	}
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.CountError("mongodb://u:secret@h/")
	m.SetWarnings([]mlink.Warning{{Kind: "mongodb://u:secret@h/"}})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			for _, lp := range metric.GetLabel() {
				if strings.Contains(lp.GetValue(), "secret") || strings.Contains(lp.GetValue(), "://") {
					t.Fatalf("%s has label %s=%q", mf.GetName(), lp.GetName(), lp.GetValue())
				}
			}
		}
	}
}

func TestRuntimeCollectorsAndDoubleRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg)
	RegisterRuntime(reg)
	n, err := testutil.GatherAndCount(reg, "go_goroutines", "process_start_time_seconds")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("runtime series = %d, want 2", n)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering mlink metrics twice on one registry did not panic")
		}
	}()
	New(reg)
}
