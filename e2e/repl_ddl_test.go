package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink"
)

// ddlWorkload runs every DDL kind mlink replicates, with some documents
// around each step, in databases db1 and db2.
func ddlWorkload(t *testing.T, e *Env) {
	t.Helper()
	ctx := context.Background()
	db1, db2 := e.Src.Database(e.DB("db1")), e.Src.Database(e.DB("db2"))
	ins := func(c *driver.Collection, n int) {
		t.Helper()
		var docs []any
		for i := 0; i < n; i++ {
			docs = append(docs, bson.D{{Key: "_id", Value: fmt.Sprintf("%s-%d", c.Name(), i)}, {Key: "n", Value: i}, {Key: "at", Value: time.Unix(int64(1e9+i), 0)}})
		}
		_, err := c.InsertMany(ctx, docs)
		mustExec(t, err)
	}
	mustExec(t, db1.CreateCollection(ctx, "created", options.CreateCollection().
		SetValidator(bson.D{{Key: "n", Value: bson.D{{Key: "$type", Value: "number"}}}}).SetCollation(&options.Collation{Locale: "de"})))
	ins(db1.Collection("created"), 20)
	mustExec(t, db1.CreateCollection(ctx, "capped", options.CreateCollection().SetCapped(true).SetSizeInBytes(8192)))
	ins(db1.Collection("capped"), 50)
	mustExec(t, db1.CreateCollection(ctx, "clustered", options.CreateCollection().
		SetClusteredIndex(bson.D{{Key: "key", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "unique", Value: true}}).SetExpireAfterSeconds(3600)))
	ins(db1.Collection("clustered"), 10)
	_, err := db1.Collection("created").Indexes().CreateMany(ctx, []driver.IndexModel{
		{Keys: bson.D{{Key: "n", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "at", Value: 1}}, Options: options.Index().SetExpireAfterSeconds(60)},
		{Keys: bson.D{{Key: "x", Value: 1}, {Key: "y", Value: -1}}, Options: options.Index().SetName("xy")},
	})
	mustExec(t, err)
	mustExec(t, db1.Collection("created").Indexes().DropOne(ctx, "xy"))
	e.run(t, "db1", bson.D{{Key: "collMod", Value: "created"}, {Key: "validator", Value: bson.D{{Key: "n", Value: bson.D{{Key: "$gte", Value: 0}}}}}, {Key: "validationLevel", Value: "moderate"}})
	e.run(t, "db1", bson.D{{Key: "collMod", Value: "created"}, {Key: "index", Value: bson.D{{Key: "name", Value: "at_1"}, {Key: "expireAfterSeconds", Value: 120}}}})
	e.run(t, "db1", bson.D{{Key: "collMod", Value: "created"}, {Key: "index", Value: bson.D{{Key: "keyPattern", Value: bson.D{{Key: "n", Value: 1}}}, {Key: "hidden", Value: true}}}})
	e.run(t, "db1", bson.D{{Key: "collMod", Value: "created"}, {Key: "changeStreamPreAndPostImages", Value: bson.D{{Key: "enabled", Value: true}}}})
	e.run(t, "db1", bson.D{{Key: "collMod", Value: "clustered"}, {Key: "expireAfterSeconds", Value: 7200}})
	// rename within and across databases, with and without dropTarget
	ins(db1.Collection("moving"), 15)
	e.runAdmin(t, bson.D{{Key: "renameCollection", Value: e.NS("db1", "moving")}, {Key: "to", Value: e.NS("db1", "moved")}})
	ins(db2.Collection("occupied"), 3)
	e.runAdmin(t, bson.D{{Key: "renameCollection", Value: e.NS("db1", "moved")}, {Key: "to", Value: e.NS("db2", "occupied")}, {Key: "dropTarget", Value: true}})
	_, err = db2.Collection("occupied").InsertOne(ctx, bson.D{{Key: "_id", Value: "after-rename"}})
	mustExec(t, err)
	// views
	mustExec(t, db1.CreateView(ctx, "bigN", "created", bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "n", Value: bson.D{{Key: "$gt", Value: 10}}}}}}}))
	mustExec(t, db1.CreateView(ctx, "tmpView", "created", bson.A{}))
	mustExec(t, db1.Collection("tmpView").Drop(ctx))
	e.run(t, "db1", bson.D{{Key: "collMod", Value: "bigN"}, {Key: "viewOn", Value: "created"}, {Key: "pipeline", Value: bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "n", Value: 1}}}}}}})
	// drops
	ins(db1.Collection("dropme"), 5)
	mustExec(t, db1.Collection("dropme").Drop(ctx))
	doomed := e.Src.Database(e.DB("doomed"))
	ins(doomed.Collection("a"), 5)
	ins(doomed.Collection("b"), 5)
	mustExec(t, doomed.Drop(ctx))
	// re-create a dropped name with different options
	mustExec(t, db1.CreateCollection(ctx, "dropme", options.CreateCollection().SetCapped(true).SetSizeInBytes(4096)))
	ins(db1.Collection("dropme"), 3)
}

func (e *Env) runAdmin(t *testing.T, cmd bson.D) {
	t.Helper()
	if err := e.Src.Database("admin").RunCommand(context.Background(), cmd).Err(); err != nil {
		t.Fatalf("%s: %v", cmd[0].Key, err)
	}
}

func TestReplicatesEveryDDLKind(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	_, err := e.SrcColl("db1", "seed").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	mustExec(t, err)
	eng := e.newEngine(t, nil)
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
	ddlWorkload(t, e)
	e.finalizeAndVerify(t, eng)
}
