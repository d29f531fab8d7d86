package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/engine"
)

// slowClone makes the source answer mlink's reads slowly with a failCommand
// fail point (mongod's test command; real servers need
// enableTestCommands=1), so the test's writes land while the clone runs.
func (e *Env) slowClone(t *testing.T, times int, block time.Duration) {
	t.Helper()
	err := e.Src.Database("admin").RunCommand(context.Background(), bson.D{
		{Key: "configureFailPoint", Value: "failCommand"},
		{Key: "mode", Value: bson.D{{Key: "times", Value: times}}},
		{Key: "data", Value: bson.D{
			{Key: "failCommands", Value: bson.A{"find", "getMore"}},
			{Key: "blockConnection", Value: true},
			{Key: "blockTimeMS", Value: block.Milliseconds()},
			{Key: "appName", Value: "mlink-source"},
		}},
	}).Err()
	mustExec(t, err)
	t.Cleanup(func() { e.stopFailPoint(t) })
}

// stopFailPoint turns the failCommand fail point off.
func (e *Env) stopFailPoint(t *testing.T) {
	t.Helper()
	err := e.Src.Database("admin").RunCommand(context.Background(), bson.D{
		{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "off"}}).Err()
	if err != nil {
		t.Errorf("turn the fail point off: %v", err)
	}
}

// TestDDLAndWritesDuringTheClone runs every DDL kind and every CRUD form
// while the clone is still copying — including renames and drops of
// collections the clone is reading — and the target ends equal.
func TestDDLAndWritesDuringTheClone(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	for _, name := range []string{"toRename", "toRenameAcross", "toDrop", "steady"} {
		var docs []any
		for i := 0; i < 3000; i++ {
			docs = append(docs, bson.D{{Key: "_id", Value: i}, {Key: "name", Value: name}, {Key: "v", Value: fmt.Sprint(i)}})
		}
		_, err := e.SrcColl("orig", name).InsertMany(ctx, docs)
		mustExec(t, err)
	}
	e.slowClone(t, 40, 150*time.Millisecond)
	eng := e.newEngine(t, func(c *engine.Config) {
		c.Clone.BatchDocs = 200
		c.Clone.Readers = 1
	})
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	waitStatus(t, eng, "the clone to copy", 30*time.Second, func(st mlink.Status) bool {
		return st.Clone != nil && st.Clone.CopiedDocs > 0
	})
	e.runAdmin(t, bson.D{{Key: "renameCollection", Value: e.NS("orig", "toRename")}, {Key: "to", Value: e.NS("orig", "renamed")}})
	e.runAdmin(t, bson.D{{Key: "renameCollection", Value: e.NS("orig", "toRenameAcross")}, {Key: "to", Value: e.NS("other", "arrived")}})
	mustExec(t, e.SrcColl("orig", "toDrop").Drop(ctx))
	_, err := e.SrcColl("orig", "steady").UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$lt", Value: 100}}}}, bson.D{{Key: "$set", Value: bson.D{{Key: "touched", Value: true}}}})
	mustExec(t, err)
	_, err = e.SrcColl("orig", "steady").DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: 2900}}}})
	mustExec(t, err)
	ddlWorkload(t, e)
	crudWorkload(t, e, "app")
	if st := eng.Status(ctx); st.InitialSync == nil || st.InitialSync.CloneCompleted {
		t.Fatalf("the clone finished before the test's writes: slow it down more (status %+v)", st.InitialSync)
	}
	waitStatus(t, eng, "initial sync", 2*time.Minute, initialSyncDone)
	e.finalizeAndVerify(t, eng)
}
