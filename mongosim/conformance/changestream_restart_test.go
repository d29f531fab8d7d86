package conformance

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink/mongosim"
)

// (*mongosim.Server).Restart: data and oplog history survive, cursors,
// connections and transactions in progress do not, and change streams
// resume across it. mongosim-only (Go API).

func TestRestartKeepsDataAndHistory(t *testing.T) {
	s := simtestServer(t, mongosim.Options{})
	c := connectTo(t, s)
	ctx := ctxT(t)
	coll := c.Database("d").Collection("c")
	insertDocs(t, coll, d("_id", 1), d("_id", 2))
	hello := func() bson.Raw {
		r, err := c.Database("admin").RunCommand(ctx, d("hello", 1)).Raw()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	pidBefore := lookup(t, hello(), "topologyVersion", "processId").ObjectID()
	cs := watchColl(t, coll, nil, options.ChangeStream().SetMaxAwaitTime(100*time.Millisecond))
	// A cursor open before the restart.
	r, err := c.Database("d").RunCommand(ctx, d("find", "c", "batchSize", 1)).Raw()
	if err != nil {
		t.Fatal(err)
	}
	cursorID := lookup(t, r, "cursor", "id").Int64()
	// A transaction in progress.
	sess, err := c.StartSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.EndSession(context.Background())
	if err := sess.StartTransaction(); err != nil {
		t.Fatal(err)
	}
	sctx := mongo.NewSessionContext(ctx, sess)
	if _, err := coll.InsertOne(sctx, d("_id", 3)); err != nil {
		t.Fatal(err)
	}
	before := s.OplogWindow()

	s.Restart()

	if docs := findAll(t, coll, d()); len(docs) != 2 {
		t.Fatalf("documents after restart: %v", docs)
	}
	if after := s.OplogWindow(); after.Oldest != before.Oldest || after.Entries < before.Entries {
		t.Fatalf("history not kept: %+v then %+v", before, after)
	}
	if pid := lookup(t, hello(), "topologyVersion", "processId").ObjectID(); pid == pidBefore {
		t.Fatal("processId unchanged by the restart")
	}
	_, err = c.Database("d").RunCommand(ctx, d("getMore", cursorID, "collection", "c")).Raw()
	wantCode(t, err, 43)
	_, err = coll.InsertOne(sctx, d("_id", 4))
	wantCode(t, err, 251)
	// The change stream resumes on its own and sees writes after the restart.
	insertDocs(t, coll, d("_id", 5))
	if got := lookup(t, nextEvent(t, cs), "documentKey", "_id").Int32(); got != 5 {
		t.Fatalf("event after restart for _id %d", got)
	}
}

// A standalone server has no oplog: change streams and transaction
// numbers are refused as mongod refuses them.
func TestStandaloneRefusesStreamsAndTxnNumbers(t *testing.T) {
	s := simtestServer(t, mongosim.Options{Standalone: true})
	c := connectTo(t, s)
	db := c.Database("d")
	insertDocs(t, db.Collection("c"), d("_id", 1))
	_, err := db.RunCommand(ctxT(t), d("aggregate", "c", "pipeline", bson.A{d("$changeStream", d())}, "cursor", d())).Raw()
	wantCode(t, err, 40573)
	_, err = db.RunCommand(ctxT(t), d("insert", "c", "documents", bson.A{d("_id", 2)}, "txnNumber", int64(1))).Raw()
	wantCode(t, err, 20)
	r, err := c.Database("local").RunCommand(ctxT(t), d("find", "oplog.rs")).Raw()
	if err != nil || len(batchOf(t, r, "firstBatch")) != 0 {
		t.Fatalf("standalone oplog: %s %v", r, err)
	}
}
