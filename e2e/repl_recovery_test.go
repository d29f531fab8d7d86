package e2e

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/engine"
	"github.com/mlink-dev/mlink/workload"
)

// recoveryConfig makes a sync that checkpoints often and whose lease a
// restarted engine of the same process can take over quickly.
func recoveryConfig(c *engine.Config) {
	c.LeaseTTL = 400 * time.Millisecond
	c.Clone.BatchDocs = 200
	c.Clone.Readers = 2
	c.Clone.PartitionBytes = 256 << 10
}

// restartEngine starts an engine after a crash: it waits for the dead
// engine's lease to expire, then recovers the checkpoint and continues.
func (e *Env) restartEngine(t *testing.T) *engine.Engine {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cfg := engine.Config{SourceURI: e.SrcURI, TargetURI: e.DstURI}
		recoveryConfig(&cfg)
		e.tuneFast(&cfg)
		eng, err := engine.New(context.Background(), cfg)
		if err == nil {
			return eng
		}
		if time.Now().After(deadline) {
			t.Fatalf("restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *Env) tuneFast(c *engine.Config) {
	c.Clone.CheckpointInterval = 100 * time.Millisecond
	c.Repl.CheckpointInterval = 200 * time.Millisecond
	c.Repl.MaxAwait = 100 * time.Millisecond
	c.Repl.SourceTimeInterval = 200 * time.Millisecond
}

// crash stops the engine like a killed process: connections cut (on
// mongosim, every server-side connection too) and no final checkpoint.
func (e *Env) crash(eng *engine.Engine) {
	eng.Abort()
	if e.SrcSim != nil {
		e.SrcSim.DropConnections()
		e.DstSim.DropConnections()
	}
}

// TestRecoversFromAbruptStopsAnywhere stops mlink abruptly at 30 random
// points across the clone and replication while the source keeps being
// written; after each restart it continues, and after finalize the target
// equals the source.
func TestRecoversFromAbruptStopsAnywhere(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	sample := workload.Sample{Prefix: e.DB(""), Orders: 24000}
	_, err := sample.Load(ctx, e.Src)
	mustExec(t, err)
	writer := workload.StartWriter(ctx, e.Src, workload.WriterOptions{DB: e.DB("live"), Collections: []string{"live", "other"},
		Clients: 2, Rate: 400, DDLEvery: 120, Seed: 7})
	defer writer.Stop()

	// The first half of the crashes must land in the clone: the source
	// answers mlink's reads slowly (a fail point) until then.
	e.slowClone(t, 1<<30, 40*time.Millisecond)
	eng := e.restartEngine(t)
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	r := rand.New(rand.NewPCG(42, 42))
	inClone, inRepl := 0, 0
	for i := 0; i < 30; i++ {
		if i == 15 {
			e.stopFailPoint(t)
			waitStatus(t, eng, "initial sync", 2*time.Minute, initialSyncDone)
		}
		// A random moment to die at (not synchronisation: any moment must do).
		time.Sleep(time.Duration(50+r.IntN(400)) * time.Millisecond)
		st := eng.Status(ctx)
		if st.State == mlink.StateFailed {
			t.Fatalf("sync failed before crash %d: %s", i, st.Error)
		}
		if st.InitialSync != nil && st.InitialSync.CloneCompleted {
			inRepl++
		} else {
			inClone++
		}
		e.crash(eng)
		eng = e.restartEngine(t)
		if s := eng.Status(ctx).State; s != mlink.StateRunning {
			t.Fatalf("after crash %d the engine recovered as %s, want running (error: %s)", i, s, eng.Status(ctx).Error)
		}
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	t.Logf("crashes during clone: %d, during replication: %d", inClone, inRepl)
	if inClone != 15 || inRepl != 15 {
		t.Fatalf("crash points do not cover both phases evenly (clone %d, replication %d)", inClone, inRepl)
	}
	waitStatus(t, eng, "initial sync", 2*time.Minute, initialSyncDone)
	mustExec(t, writer.Stop())
	e.finalizeAndVerify(t, eng)
}
