package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/engine"
)

// failNextCheckpointSave makes the target refuse mlink's next update
// command (a checkpoint save: nothing else writes while paused) with
// BadValue, which is not transient.
func (e *Env) failNextCheckpointSave(t *testing.T) {
	t.Helper()
	e.failTargetOnce(t, bson.D{{Key: "failCommands", Value: bson.A{"update"}}, {Key: "errorCode", Value: 2}, {Key: "appName", Value: "mlink-target"}})
}

// pausedEngine starts a sync, waits for the initial sync and pauses it.
// The lease is long, so no renewal writes while the test runs.
func (e *Env) pausedEngine(t *testing.T) *engine.Engine {
	t.Helper()
	ctx := context.Background()
	_, err := e.SrcColl("app", "c").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	mustExec(t, err)
	eng := e.newEngine(t, func(c *engine.Config) { c.LeaseTTL = 10 * time.Minute })
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
	mustExec(t, eng.Pause(ctx))
	return eng
}

// TestReviewFinalizeWhoseCheckpointFailsIsNotStuck: Finalize cannot save
// its checkpoint (the target refuses the write) and returns the error. The
// engine must not stay "finalizing" with nothing running — a state no
// operation leaves — but stay paused, so a later Finalize works.
func TestReviewFinalizeWhoseCheckpointFailsIsNotStuck(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	eng := e.pausedEngine(t)
	e.failNextCheckpointSave(t)
	if err := eng.Finalize(ctx, mlink.FinalizeRequest{}); err == nil {
		t.Fatal("finalize succeeded although its checkpoint could not be saved")
	}
	if st := eng.Status(ctx); st.State != mlink.StatePaused {
		t.Fatalf("after a failed finalize the engine is %s (info %q), want paused", st.State, st.Info)
	}
	_, err := e.SrcColl("app", "c").InsertOne(ctx, bson.D{{Key: "_id", Value: 2}})
	mustExec(t, err)
	e.finalizeAndVerify(t, eng)
}

// TestReviewResumeWhoseCheckpointFailsStaysPaused: Resume cannot save its
// checkpoint and returns the error; the engine must not report "running"
// while nothing replicates. It stays paused and a later Resume works.
func TestReviewResumeWhoseCheckpointFailsStaysPaused(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	eng := e.pausedEngine(t)
	e.failNextCheckpointSave(t)
	if err := eng.Resume(ctx, mlink.ResumeRequest{}); err == nil {
		t.Fatal("resume succeeded although its checkpoint could not be saved")
	}
	if st := eng.Status(ctx); st.State != mlink.StatePaused {
		t.Fatalf("after a failed resume the engine is %s (info %q) with nothing replicating, want paused", st.State, st.Info)
	}
	mustExec(t, eng.Resume(ctx, mlink.ResumeRequest{}))
	_, err := e.SrcColl("app", "c").InsertOne(ctx, bson.D{{Key: "_id", Value: 2}})
	mustExec(t, err)
	e.waitTargetDoc(t, "app", "c", 2, "replicated after the resume", func(bson.Raw) bool { return true })
	e.finalizeAndVerify(t, eng)
}

// TestReviewLostLeaseStopsReplication: another daemon takes the target's
// lease. The engine fails with "lost the target lease" and must stop
// writing to the target at once — two daemons applying to one target
// corrupt it. A Resume is refused while the other daemon holds the lease.
func TestReviewLostLeaseStopsReplication(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	src := e.SrcColl("app", "c")
	_, err := src.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	mustExec(t, err)
	eng := e.newEngine(t, func(c *engine.Config) { c.LeaseTTL = 300 * time.Millisecond })
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)

	// Another daemon (another host) holds the lease from now on.
	_, err = e.Dst.Database(mlink.MetaDB).Collection(mlink.MetaLeaseColl).UpdateOne(ctx, bson.D{{Key: "_id", Value: "lease"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "owner", Value: "intruder"}, {Key: "host", Value: "elsewhere.example"}, {Key: "pid", Value: int64(1)},
			{Key: "expiresAt", Value: time.Now().Add(time.Hour)}}}})
	mustExec(t, err)
	st := waitFor(t, eng, "the lost lease", 30*time.Second, func(st mlink.Status) bool { return st.State == mlink.StateFailed })
	if !strings.Contains(st.Error, "lease") {
		t.Fatalf("failed for another reason: %s", st.Error)
	}
	// Whatever mlink still had in flight when it failed has landed by now
	// (writes are acknowledged); anything written on the source after that
	// must never reach the target.
	_, err = src.InsertOne(ctx, bson.D{{Key: "_id", Value: "after-lease-loss"}})
	mustExec(t, err)
	// Absence cannot be polled for: give a live replication (100 ms
	// getMore waits) ample time to apply the insert, then look.
	time.Sleep(1500 * time.Millisecond)
	n, err := e.DstColl("app", "c").CountDocuments(ctx, bson.D{{Key: "_id", Value: "after-lease-loss"}})
	mustExec(t, err)
	if n != 0 {
		t.Fatal("the engine kept replicating to the target after another daemon took its lease")
	}
	if err := eng.Resume(ctx, mlink.ResumeRequest{FromFailure: true}); err == nil {
		t.Fatal("resume succeeded while another daemon holds the target's lease")
	}
}
