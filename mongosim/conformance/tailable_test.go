package conformance

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestTailableAwaitDataOnCapped(t *testing.T) {
	db := newDB(t)
	runCmd(t, db, bson.D{{Key: "create", Value: "capped"}, {Key: "capped", Value: true}, {Key: "size", Value: 1 << 20}})
	coll := db.Collection("capped")
	insertDocs(t, coll, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "_id", Value: 2}})
	r := runCmd(t, db, bson.D{{Key: "find", Value: "capped"}, {Key: "tailable", Value: true}, {Key: "awaitData", Value: true}})
	id := lookup(t, r, "cursor", "id").Int64()
	if id == 0 || len(batchOf(t, r, "firstBatch")) != 2 {
		t.Fatalf("tailable find: %s", r)
	}
	// Nothing new: the getMore waits maxTimeMS, then answers an empty batch
	// and the cursor stays open.
	start := time.Now()
	r = runCmd(t, db, bson.D{{Key: "getMore", Value: id}, {Key: "collection", Value: "capped"}, {Key: "maxTimeMS", Value: int64(200)}})
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("awaitData getMore returned after %v", d)
	}
	if len(batchOf(t, r, "nextBatch")) != 0 || lookup(t, r, "cursor", "id").Int64() != id {
		t.Fatalf("empty awaitData batch: %s", r)
	}
	// A write wakes a waiting getMore (or precedes it): either way the
	// new document arrives well before maxTimeMS.
	done := make(chan bson.Raw, 1)
	go func() {
		raw, _ := db.RunCommand(ctxT(t), bson.D{{Key: "getMore", Value: id}, {Key: "collection", Value: "capped"}, {Key: "maxTimeMS", Value: int64(5000)}}).Raw()
		done <- raw
	}()
	insertDocs(t, coll, bson.D{{Key: "_id", Value: 3}})
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("getMore did not return")
	}
	next := batchOf(t, r, "nextBatch")
	if len(next) != 1 || next[0].Document().Lookup("_id").Int32() != 3 {
		t.Fatalf("tailed document: %s", r)
	}
	runCmd(t, db, bson.D{{Key: "killCursors", Value: "capped"}, {Key: "cursors", Value: bson.A{id}}})
}
