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

// startEngineWith starts an engine with the recovery tuning plus tune,
// retrying while a crashed engine's lease is still held.
func (e *Env) startEngineWith(t *testing.T, tune func(*engine.Config)) *engine.Engine {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cfg := engine.Config{SourceURI: e.SrcURI, TargetURI: e.DstURI}
		recoveryConfig(&cfg)
		e.tuneFast(&cfg)
		if tune != nil {
			tune(&cfg)
		}
		eng, err := engine.New(context.Background(), cfg)
		if err == nil {
			return eng
		}
		if time.Now().After(deadline) {
			t.Fatalf("start engine: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitTargetDoc polls the target until the document with _id id satisfies
// cond.
func (e *Env) waitTargetDoc(t *testing.T, db, coll string, id any, what string, cond func(bson.Raw) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw, err := e.DstColl(db, coll).FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Raw()
		if err == nil && cond(raw) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for the target's %s.%s %v: %s (last: %v, %v)", db, coll, id, what, raw, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReviewRestartReplaysUpdatesOverLaterState: mlink applies "$set a.b"
// and then "$set a: 5" to one document and dies before checkpointing them
// (they are newer than the clone's end). The restart replays both over the
// target's later state, where "$set a.b" meets a number and fails with
// PathNotViable. The target is simply ahead of the checkpoint — every write
// is idempotent by design, so a restart must carry on, not fail the sync.
func TestReviewRestartReplaysUpdatesOverLaterState(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	c := e.SrcColl("app", "c")
	_, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: bson.D{{Key: "b", Value: 0}}}})
	mustExec(t, err)
	// A later write, so the stream's start (inclusive) is past the insert.
	_, err = e.SrcColl("app", "other").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	mustExec(t, err)
	// No periodic checkpoint: the crash lands between apply and save.
	noSave := func(c *engine.Config) { c.Repl.CheckpointInterval = time.Hour }
	eng := e.startEngineWith(t, noSave)
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
	_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a.b", Value: 1}}}})
	mustExec(t, err)
	_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 5}}}})
	mustExec(t, err)
	e.waitTargetDoc(t, "app", "c", 1, "a = 5", func(d bson.Raw) bool {
		v, ok := d.Lookup("a").AsInt64OK()
		return ok && v == 5
	})
	var cp mlink.SyncCheckpoint
	mustExec(t, e.Dst.Database(mlink.MetaDB).Collection(mlink.MetaSyncColl).FindOne(ctx, bson.D{{Key: "_id", Value: mlink.SyncCheckpointID}}).Decode(&cp))
	if cp.EventsApplied >= 2 {
		t.Fatalf("the checkpoint already covers the updates (%d events applied): the restart would not replay them", cp.EventsApplied)
	}
	e.crash(eng)

	eng = e.startEngineWith(t, nil)
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	if st := eng.Status(ctx); st.State != mlink.StateRunning {
		t.Fatalf("recovered as %s, want running (error: %s)", st.State, st.Error)
	}
	// A write after the restart, so finalize proves the stream went on.
	_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "after", Value: true}}}})
	mustExec(t, err)
	e.finalizeAndVerify(t, eng)
}

// TestReviewRestartReplaysARenameOverARecreatedSource: a collection is
// rotated — renamed away, then created again under its old name and
// written — and mlink dies before checkpointing any of it. The restart
// replays the rename while the target already holds the new collection
// under the old name: renaming that would put the new documents under the
// destination name and lose the renamed collection's documents.
func TestReviewRestartReplaysARenameOverARecreatedSource(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	logs := e.SrcColl("app", "logs")
	_, err := logs.InsertMany(ctx, []any{bson.D{{Key: "_id", Value: 1}, {Key: "v", Value: "old"}}, bson.D{{Key: "_id", Value: 2}, {Key: "v", Value: "old"}}})
	mustExec(t, err)
	_, err = e.SrcColl("app", "other").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	mustExec(t, err)
	eng := e.startEngineWith(t, func(c *engine.Config) { c.Repl.CheckpointInterval = time.Hour })
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
	e.runAdmin(t, bson.D{{Key: "renameCollection", Value: e.NS("app", "logs")}, {Key: "to", Value: e.NS("app", "logs_old")}})
	_, err = logs.InsertOne(ctx, bson.D{{Key: "_id", Value: 3}, {Key: "v", Value: "new"}})
	mustExec(t, err)
	e.waitTargetDoc(t, "app", "logs", 3, "the new collection's document", func(bson.Raw) bool { return true })
	e.crash(eng)

	eng = e.startEngineWith(t, nil)
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	e.finalizeAndVerify(t, eng)
}

// TestReviewResumeDoesNotHideErrorsOfNewEvents: an event made while the
// sync is paused was never applied before, so replaying it is no excuse: if
// the target cannot take it (here the target was changed behind mlink's
// back), the resumed sync fails as it would while running, rather than
// skipping the write silently.
func TestReviewResumeDoesNotHideErrorsOfNewEvents(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	c := e.SrcColl("app", "c")
	_, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: bson.D{{Key: "b", Value: 0}}}})
	mustExec(t, err)
	eng := e.newEngine(t, nil)
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
	// Something applied after the clone, then the pause.
	_, err = c.InsertOne(ctx, bson.D{{Key: "_id", Value: 2}})
	mustExec(t, err)
	e.waitTargetDoc(t, "app", "c", 2, "replicated", func(bson.Raw) bool { return true })
	mustExec(t, eng.Pause(ctx))
	_, err = e.DstColl("app", "c").UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 5}}}})
	mustExec(t, err)
	_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a.b", Value: 1}}}})
	mustExec(t, err)
	mustExec(t, eng.Resume(ctx, mlink.ResumeRequest{}))
	st := waitFor(t, eng, "the apply error", 30*time.Second, func(st mlink.Status) bool {
		return st.State == mlink.StateFailed || (st.Replication != nil && st.Replication.EventsSkipped > 0)
	})
	if st.State != mlink.StateFailed || !strings.Contains(st.Error, "Cannot create field") {
		t.Fatalf("the update the target refused was skipped (state %s, %d events skipped, error %q)", st.State, st.Replication.EventsSkipped, st.Error)
	}
}
