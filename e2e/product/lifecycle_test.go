package product

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/workload"
)

// TestLifecycleThroughCLI runs a whole sync with the real binary: the
// daemon as a child process, every step through the CLI (start, status,
// pause, resume, finalize, status --watch, verify) while a write workload
// with transactions and DDL runs on the source.
func TestLifecycleThroughCLI(t *testing.T) {
	p := newPair(t)
	p.clients(t, p.srcURI, p.dstURI)
	loaded := loadSample(t, p.srcC, "life_", 3000)
	// The source's oplog spans a few seconds (its no-ops are a second
	// apart) before the daemon first measures it.
	waitFor(t, "a 2 s oplog window", 30*time.Second, func() bool {
		w := p.src.OplogWindow()
		return w.Newest.T >= w.Oldest.T+2
	})
	d := StartDaemon(t, bin, "--source", p.srcURI, "--target", p.dstURI)
	server := []string{"--server", d.URL}
	c := d.Client("")

	writer := workload.StartWriter(context.Background(), p.srcC, workload.WriterOptions{
		DB: "life_live", Collections: []string{"live", "ticks"}, Clients: 2, Rate: 300, DDLEvery: 60, Txns: true, Seed: 7})
	defer writer.Stop()

	res := CLI(t, bin, append([]string{"start", "--include", "/^life_/"}, server...)...)
	if res.Code != 0 || strings.TrimSpace(res.Stdout) != "sync started" {
		t.Fatalf("start: %s", res)
	}
	st := WaitStatus(t, c, "initial sync", 2*time.Minute, func(st mlink.Status) bool {
		return st.InitialSync != nil && st.InitialSync.Completed
	})
	if st.State != mlink.StateRunning || st.Clone == nil || st.Clone.CopiedDocs < loaded.Documents {
		t.Fatalf("after initial sync: state %s, clone %+v; want running with >= %d documents copied", st.State, st.Clone, loaded.Documents)
	}
	t.Logf("initial sync done: %d documents cloned (dataset %d)", st.Clone.CopiedDocs, loaded.Documents)

	// Replicate the live workload for a while: events flow and lag is known.
	before := st.EventsProcessed
	st = WaitStatus(t, c, "replicated events", time.Minute, func(st mlink.Status) bool {
		return st.EventsProcessed >= before+300 && st.Replication != nil && st.LagTime != nil
	})
	if st.Replication.OplogWindow < 2 {
		t.Errorf("status reports an oplog window of %vs, want >= 2s", st.Replication.OplogWindow)
	}
	res = CLI(t, bin, append([]string{"status"}, server...)...)
	for _, want := range []string{"State:", "running", "replicating", "Oplog window:", "Lag:", "Clone:", "100.0%"} {
		if res.Code != 0 || !strings.Contains(res.Stdout, want) {
			t.Fatalf("status while replicating lacks %q: %s", want, res)
		}
	}

	res = CLI(t, bin, append([]string{"pause"}, server...)...)
	if res.Code != 0 || strings.TrimSpace(res.Stdout) != "sync paused" {
		t.Fatalf("pause: %s", res)
	}
	st = statusJSON(t, server)
	if st.State != mlink.StatePaused {
		t.Fatalf("status --json after pause: state %s, want paused", st.State)
	}
	pausedAt := st.EventsProcessed
	// The workload keeps writing while paused; nothing is applied.
	opsAtPause := writer.Ops()
	waitFor(t, "writes while paused", 30*time.Second, func() bool { return writer.Ops() >= opsAtPause+100 })
	if st = statusJSON(t, server); st.State != mlink.StatePaused || st.EventsProcessed != pausedAt {
		t.Fatalf("while paused: state %s, events %d; want paused with events still %d", st.State, st.EventsProcessed, pausedAt)
	}

	res = CLI(t, bin, append([]string{"resume"}, server...)...)
	if res.Code != 0 || strings.TrimSpace(res.Stdout) != "sync resumed" {
		t.Fatalf("resume: %s", res)
	}
	WaitStatus(t, c, "events after resume", time.Minute, func(st mlink.Status) bool {
		return st.State == mlink.StateRunning && st.EventsProcessed > pausedAt+100
	})

	if err := writer.Stop(); err != nil {
		t.Fatalf("workload: %v", err)
	}
	t.Logf("workload wrote %d operations", writer.Ops())
	res = CLI(t, bin, append([]string{"finalize"}, server...)...)
	if res.Code != 0 || !strings.Contains(res.Stdout, "finalizing") {
		t.Fatalf("finalize: %s", res)
	}
	// status --watch follows the sync and exits 0 once it is finalized.
	res = CLI(t, bin, append([]string{"status", "--watch", "--interval", "200ms"}, server...)...)
	if res.Code != 0 || !strings.Contains(res.Stdout, "finalized") {
		t.Fatalf("status --watch: %s", res)
	}
	st = statusJSON(t, server)
	if st.State != mlink.StateFinalized || len(st.IndexFailures) != 0 || st.Error != "" {
		t.Fatalf("after finalize: state %s, error %q, index failures %v", st.State, st.Error, st.IndexFailures)
	}

	rep := verifyCLI(t, p.srcURI, p.dstURI, "/^life_/")
	// shop (orders, customers, products, bigOrders), crm (contacts,
	// sessions), analytics (events) and the workload's collections.
	for _, ns := range []string{"life_shop.orders", "life_shop.customers", "life_shop.products", "life_shop.bigOrders",
		"life_crm.contacts", "life_crm.sessions", "life_analytics.events", "life_live.live", "life_live.ticks"} {
		if !hasNamespace(rep, ns) {
			t.Errorf("verify report has no %s", ns)
		}
	}
	if code, err := d.Stop(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("daemon stop: exit %d, %v; output:\n%s", code, err, d.Output)
	}
}
