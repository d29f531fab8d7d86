package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
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

	mustExec(t, e.Dst.Database("admin").RunCommand(ctx, bson.D{
		{Key: "configureFailPoint", Value: "failCommand"},
		{Key: "mode", Value: bson.D{{Key: "times", Value: 1}}},
		{Key: "data", Value: bson.D{{Key: "failCommands", Value: bson.A{"delete"}}, {Key: "blockConnection", Value: true},
			{Key: "blockTimeMS", Value: 5000}, {Key: "appName", Value: "mlink-target"}}},
	}).Err())
	t.Cleanup(func() {
		_ = e.Dst.Database("admin").RunCommand(context.Background(), bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "off"}}).Err()
	})
	_, err = src.DeleteOne(ctx, bson.D{{Key: "_id", Value: "slow"}})
	mustExec(t, err)
	for i := 0; i < 20; i++ {
		id := bson.D{{Key: "_id", Value: i}}
		_, err = src.UpdateOne(ctx, id, bson.D{{Key: "$unset", Value: bson.D{{Key: "v", Value: ""}}}, {Key: "$set", Value: bson.D{{Key: "sub", Value: 1}}}})
		mustExec(t, err)
		_, err = src.UpdateOne(ctx, id, bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: 2}}}})
		mustExec(t, err)
		_, err = src.UpdateOne(ctx, id, bson.D{{Key: "$set", Value: bson.D{{Key: "log", Value: 3}}}})
		mustExec(t, err)
	}
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
	for i := 0; i < 20; i++ {
		raw, err := dst.FindOne(ctx, bson.D{{Key: "_id", Value: i}}).Raw()
		mustExec(t, err)
		if want := fmt.Sprintf(`{"_id": {"$numberInt":"%d"},"x": {"$numberInt":"1"},"sub": {"$numberInt":"1"},"v": {"$numberInt":"2"},"log": {"$numberInt":"3"}}`, i); raw.String() != want {
			t.Fatalf("target document %d is %s, want %s", i, raw, want)
		}
	}
}
