package e2e

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/engine"
	"github.com/mlink-dev/mlink/metrics"
)

// syncBuffer is a log sink safe for the engine's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHistoryLossFailsClearly: the source's history is shrunk while mlink
// is paused; resuming fails with an error that says what happened and what
// to do, and status, log and metric all show it. Needs the simulator's Go
// API to roll the oplog over.
func TestHistoryLossFailsClearly(t *testing.T) {
	e := NewEnv(t)
	if e.SrcSim == nil {
		t.Skip("rolling the oplog over needs mongosim's Go API")
	}
	ctx := context.Background()
	_, err := e.SrcColl("app", "c").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	mustExec(t, err)
	var logs syncBuffer
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	eng := e.newEngine(t, func(c *engine.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		c.Metrics = m
	})
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
	mustExec(t, eng.Pause(ctx))
	for i := 2; i < 50; i++ {
		_, err := e.SrcColl("app", "c").InsertOne(ctx, bson.D{{Key: "_id", Value: i}})
		mustExec(t, err)
	}
	e.SrcSim.ShrinkHistory()
	mustExec(t, eng.Resume(ctx, mlink.ResumeRequest{}))
	st := waitStatus(t, eng, "failure", 30*time.Second, func(st mlink.Status) bool { return st.State == mlink.StateFailed })
	for _, want := range []string{"history lost", "oplog", "replSetResizeOplog", "reset"} {
		if !strings.Contains(st.Error, want) {
			t.Errorf("status error does not mention %q: %s", want, st.Error)
		}
	}
	if !strings.Contains(logs.String(), "history lost") {
		t.Errorf("no log line reports the history loss:\n%s", logs.String())
	}
	if v := testutil.ToFloat64(m.Errors.WithLabelValues("history-lost")); v != 1 {
		t.Errorf("mlink_errors_total{kind=history-lost} = %v, want 1", v)
	}
	if v := testutil.ToFloat64(m.State.WithLabelValues(string(mlink.StateFailed))); v != 1 {
		t.Errorf("mlink_state{state=failed} = %v, want 1", v)
	}
	// Finalize is refused with advice, and accepted with ignoreHistoryLost.
	err = eng.Finalize(ctx, mlink.FinalizeRequest{})
	if err == nil || !strings.Contains(err.Error(), "ignoreHistoryLost") {
		t.Fatalf("finalize without ignoreHistoryLost: %v", err)
	}
	mustExec(t, eng.Finalize(ctx, mlink.FinalizeRequest{IgnoreHistoryLost: true}))
	waitStatus(t, eng, "finalized", 30*time.Second, func(st mlink.Status) bool { return st.State == mlink.StateFinalized })
}

// TestNeverWritesToSource runs a whole sync with DDL and every CRUD form
// and checks the source saw no write command from mlink's connections.
func TestNeverWritesToSource(t *testing.T) {
	e := NewEnv(t)
	if e.SrcSim == nil {
		t.Skip("counting a server's commands by client needs mongosim's Go API")
	}
	ctx := context.Background()
	_, err := e.SrcColl("app", "seed").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	mustExec(t, err)
	eng := e.newEngine(t, nil)
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
	crudWorkload(t, e, "app")
	mustExec(t, eng.Pause(ctx))
	mustExec(t, eng.Resume(ctx, mlink.ResumeRequest{}))
	e.finalizeAndVerify(t, eng)
	seen := 0
	for app, cmds := range e.SrcSim.CommandCounts() {
		if !strings.HasPrefix(app, "mlink") {
			continue
		}
		for _, n := range cmds {
			seen += int(n)
		}
		if w := e.SrcSim.WriteCommandCount(app); w != 0 {
			t.Errorf("mlink connection %q sent %d write command(s) to the source: %v", app, w, cmds)
		}
	}
	if seen == 0 {
		t.Fatal("no command from mlink's connections was recorded: the check proves nothing")
	}
}
