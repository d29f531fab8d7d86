package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/engine"
)

// TestPauseWhileAWriteIsSlowReplaysNothing: a pause (like finalize and a
// shutdown) lets the dispatched writes finish and saves exactly what was
// applied. Replaying updates over a later state keeps values but not field
// order: a document that lost a field and got it back ($unset v, then
// $set v) ends with v after fields added later. Here one worker's delete is
// held on the target while other workers apply such sequences beyond it;
// the pause comes while the delete is held.
func TestPauseWhileAWriteIsSlowReplaysNothing(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	src := e.SrcColl("app", "c")
	docs := []any{bson.D{{Key: "_id", Value: "slow"}}}
	for i := 0; i < 20; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: i}, {Key: "v", Value: 1}, {Key: "x", Value: 1}})
	}
	_, err := src.InsertMany(ctx, docs)
	mustExec(t, err)
	eng := e.newEngine(t, nil)
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)

	e.failTargetOnce(t, bson.D{{Key: "failCommands", Value: bson.A{"delete"}}, {Key: "blockConnection", Value: true},
		{Key: "blockTimeMS", Value: 5000}, {Key: "appName", Value: "mlink-target"}})
	_, err = src.DeleteOne(ctx, bson.D{{Key: "_id", Value: "slow"}})
	mustExec(t, err)
	reSetFields(t, src)
	// Wait until most documents (those not on the held worker) are done.
	dst := e.DstColl("app", "c")
	deadline := time.Now().Add(4 * time.Second)
	for {
		n, err := dst.CountDocuments(ctx, bson.D{{Key: "log", Value: 3}})
		mustExec(t, err)
		if n >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 20 documents updated on the target within 4s", n)
		}
		time.Sleep(10 * time.Millisecond) // polling the target
	}
	if n, err := dst.CountDocuments(ctx, bson.D{{Key: "_id", Value: "slow"}}); err != nil || n != 1 {
		t.Fatalf("the held delete already ran (%d, %v): the pause would not test anything", n, err)
	}
	mustExec(t, eng.Pause(ctx))
	mustExec(t, eng.Resume(ctx, mlink.ResumeRequest{}))
	e.finalizeAndVerify(t, eng)
	assertReSet(t, dst)
}

// reSetFields gives documents 0..19 a field order only an exact replay
// keeps: v removed, re-added, then log added after it.
func reSetFields(t *testing.T, src *driver.Collection) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		id := bson.D{{Key: "_id", Value: i}}
		_, err := src.UpdateOne(ctx, id, bson.D{{Key: "$unset", Value: bson.D{{Key: "v", Value: ""}}}, {Key: "$set", Value: bson.D{{Key: "sub", Value: 1}}}})
		mustExec(t, err)
		_, err = src.UpdateOne(ctx, id, bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: 2}}}})
		mustExec(t, err)
		_, err = src.UpdateOne(ctx, id, bson.D{{Key: "$set", Value: bson.D{{Key: "log", Value: 3}}}})
		mustExec(t, err)
	}
}

// assertReSet checks documents 0..19 on the target byte for byte.
func assertReSet(t *testing.T, dst *driver.Collection) {
	t.Helper()
	for i := 0; i < 20; i++ {
		raw, err := dst.FindOne(context.Background(), bson.D{{Key: "_id", Value: i}}).Raw()
		mustExec(t, err)
		if want := fmt.Sprintf(`{"_id": {"$numberInt":"%d"},"x": {"$numberInt":"1"},"sub": {"$numberInt":"1"},"v": {"$numberInt":"2"},"log": {"$numberInt":"3"}}`, i); raw.String() != want {
			t.Fatalf("target document %d is %s, want %s", i, raw, want)
		}
	}
}

// TestCrashReplayKeepsFieldOrder: after a crash the restart replays
// everything since the last checkpoint over the target's later state. The
// replayed updates must leave the documents byte for byte as the source
// has them, field order included.
func TestCrashReplayKeepsFieldOrder(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	src := e.SrcColl("app", "c")
	var docs []any
	for i := 0; i < 20; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: i}, {Key: "v", Value: 1}, {Key: "x", Value: 1}})
	}
	_, err := src.InsertMany(ctx, docs)
	mustExec(t, err)
	// No checkpoint of the position after the initial sync: the restart
	// replays every update below.
	eng := e.newEngine(t, func(c *engine.Config) {
		recoveryConfig(c)
		c.Repl.CheckpointInterval = time.Hour
	})
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
	reSetFields(t, src)
	dst := e.DstColl("app", "c")
	for {
		n, err := dst.CountDocuments(ctx, bson.D{{Key: "log", Value: 3}})
		mustExec(t, err)
		if n == 20 {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling the target
	}
	e.crash(eng)
	eng = e.restartEngine(t)
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	e.finalizeAndVerify(t, eng)
	assertReSet(t, dst)
}

// TestWriteFailingWhilePausingFailsTheSync: a write the target refuses
// while a pause waits for it is a failure, not a pause; resuming from the
// failure applies that write again rather than skipping it as a replay.
func TestWriteFailingWhilePausingFailsTheSync(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	src := e.SrcColl("app", "c")
	_, err := src.InsertOne(ctx, bson.D{{Key: "_id", Value: 0}})
	mustExec(t, err)
	eng := e.newEngine(t, nil)
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
	e.failTargetOnce(t, bson.D{{Key: "failCommands", Value: bson.A{"delete"}}, {Key: "blockConnection", Value: true},
		{Key: "blockTimeMS", Value: 1500}, {Key: "errorCode", Value: 2}, {Key: "appName", Value: "mlink-target"}})
	// (The stream starts at the clone's start time, inclusive: it may
	// read the insert above again.)
	readBefore := waitStatus(t, eng, "replication", 10*time.Second, func(st mlink.Status) bool { return st.Replication != nil }).Replication.EventsRead
	_, err = src.DeleteOne(ctx, bson.D{{Key: "_id", Value: 0}})
	mustExec(t, err)
	// The delete is read, so the pause must apply it: it is held on the
	// target, then refused.
	waitStatus(t, eng, "the delete to be read", 10*time.Second, func(st mlink.Status) bool {
		return st.Replication.EventsRead > readBefore
	})
	err = eng.Pause(ctx)
	if err == nil || !strings.Contains(err.Error(), "(BadValue)") {
		t.Fatalf("pause returned %v, want the refused delete's error", err)
	}
	if st := eng.Status(ctx); st.State != mlink.StateFailed || !strings.Contains(st.Error, "BadValue") {
		t.Fatalf("after the refused write the engine is %s (error %q), want failed", st.State, st.Error)
	}
	mustExec(t, eng.Resume(ctx, mlink.ResumeRequest{FromFailure: true}))
	e.finalizeAndVerify(t, eng)
}
