package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink"
)

// crudWorkload runs every kind of document write on db.c and db.d.
func crudWorkload(t *testing.T, e *Env, db string) {
	t.Helper()
	ctx := context.Background()
	c := e.SrcColl(db, "c")
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	pad := strings.Repeat("p", 300)
	must(c.InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: bson.D{{Key: "b", Value: 1}, {Key: "c", Value: bson.A{1, 2, 3}}}}, {Key: "arr", Value: bson.A{1, 2, 3, 4, 5}}, {Key: "pad", Value: pad}},
		bson.D{{Key: "_id", Value: 2}, {Key: "docs", Value: bson.A{bson.D{{Key: "k", Value: 1}, {Key: "v", Value: "x"}}, bson.D{{Key: "k", Value: 2}, {Key: "v", Value: "y"}}}}, {Key: "pad", Value: pad}},
		bson.D{{Key: "_id", Value: 3}, {Key: "obj", Value: bson.D{{Key: "5", Value: "five"}, {Key: "x.y", Value: "dotted"}}}, {Key: "n", Value: 1}, {Key: "pad", Value: pad}},
		bson.D{{Key: "_id", Value: "str"}, {Key: "tags", Value: bson.A{"a", "b", "c", "a"}}, {Key: "set", Value: bson.A{1}}},
		bson.D{{Key: "_id", Value: bson.D{{Key: "compound", Value: 1}, {Key: "k", Value: "v"}}}, {Key: "n", Value: int64(5)}},
	}))
	id := func(v any) bson.D { return bson.D{{Key: "_id", Value: v}} }
	ops := []bson.D{
		{{Key: "$set", Value: bson.D{{Key: "a.b", Value: 2}, {Key: "a.new.deep", Value: true}}}},
		{{Key: "$inc", Value: bson.D{{Key: "a.c.1", Value: 10}}}, {Key: "$mul", Value: bson.D{{Key: "a.c.2", Value: 3}}}},
		{{Key: "$push", Value: bson.D{{Key: "arr", Value: bson.D{{Key: "$each", Value: bson.A{9, 8}}, {Key: "$position", Value: 1}}}}}},
		{{Key: "$pop", Value: bson.D{{Key: "arr", Value: 1}}}},
		{{Key: "$pull", Value: bson.D{{Key: "arr", Value: bson.D{{Key: "$gte", Value: 8}}}}}},
		{{Key: "$push", Value: bson.D{{Key: "arr", Value: bson.D{{Key: "$each", Value: bson.A{7, 1, 6}}, {Key: "$sort", Value: 1}, {Key: "$slice", Value: 4}}}}}},
		{{Key: "$unset", Value: bson.D{{Key: "a.b", Value: ""}}}, {Key: "$currentDate", Value: bson.D{{Key: "ts", Value: bson.D{{Key: "$type", Value: "timestamp"}}}}}},
		{{Key: "$rename", Value: bson.D{{Key: "pad", Value: "padding"}}}},
		{{Key: "$min", Value: bson.D{{Key: "low", Value: -1}}}, {Key: "$max", Value: bson.D{{Key: "high", Value: 100}}}},
		{{Key: "$set", Value: bson.D{{Key: "arr.9", Value: "far"}}}}, // pads with nulls
	}
	for _, u := range ops {
		must(c.UpdateOne(ctx, id(1), u))
	}
	must(c.UpdateOne(ctx, id(2), bson.D{{Key: "$set", Value: bson.D{{Key: "docs.$[e].v", Value: "changed"}}}},
		options.UpdateOne().SetArrayFilters([]any{bson.D{{Key: "e.k", Value: 2}}})))
	must(c.UpdateOne(ctx, bson.D{{Key: "_id", Value: 2}, {Key: "docs.k", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "docs.$.v", Value: "pos"}}}}))
	must(c.UpdateOne(ctx, id(2), bson.D{{Key: "$set", Value: bson.D{{Key: "docs.$[].seen", Value: true}}}}))
	must(c.UpdateOne(ctx, id(3), bson.D{{Key: "$set", Value: bson.D{{Key: "obj.5", Value: "FIVE"}}}}))
	must(c.UpdateOne(ctx, id(3), bson.A{bson.D{{Key: "$set", Value: bson.D{{Key: "obj", Value: bson.D{{Key: "$setField", Value: bson.D{{Key: "field", Value: "x.y"}, {Key: "input", Value: "$obj"}, {Key: "value", Value: "changed"}}}}}}}}}))
	must(c.UpdateOne(ctx, id(3), bson.A{bson.D{{Key: "$replaceWith", Value: bson.D{{Key: "$setField", Value: bson.D{{Key: "field", Value: bson.D{{Key: "$literal", Value: "$price"}}}, {Key: "input", Value: "$$ROOT"}, {Key: "value", Value: 9}}}}}}}))
	must(c.UpdateOne(ctx, id("str"), bson.D{{Key: "$pullAll", Value: bson.D{{Key: "tags", Value: bson.A{"a"}}}}, {Key: "$addToSet", Value: bson.D{{Key: "set", Value: bson.D{{Key: "$each", Value: bson.A{1, 2, 3}}}}}}}))
	must(c.UpdateOne(ctx, id("str"), bson.D{{Key: "$bit", Value: bson.D{{Key: "flags", Value: bson.D{{Key: "or", Value: 5}}}}}}, options.UpdateOne()))
	must(c.UpdateOne(ctx, id(bson.D{{Key: "compound", Value: 1}, {Key: "k", Value: "v"}}), bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}}))
	must(c.ReplaceOne(ctx, id(2), bson.D{{Key: "replaced", Value: true}, {Key: "z", Value: bson.NewDecimal128(1, 0)}}))
	must(c.UpdateOne(ctx, id(100), bson.D{{Key: "$set", Value: bson.D{{Key: "up", Value: 1}}}, {Key: "$setOnInsert", Value: bson.D{{Key: "created", Value: true}}}}, options.UpdateOne().SetUpsert(true)))
	must(c.ReplaceOne(ctx, id(101), bson.D{{Key: "upserted", Value: "by replace"}}, options.Replace().SetUpsert(true)))
	must(c.UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{1, 3, 100}}}}}, bson.D{{Key: "$set", Value: bson.D{{Key: "many", Value: true}}}}))
	must(c.DeleteOne(ctx, id(101)))
	fam := c.FindOneAndUpdate(ctx, id(1), bson.D{{Key: "$inc", Value: bson.D{{Key: "fam", Value: 1}}}}, options.FindOneAndUpdate().SetReturnDocument(options.After))
	must(nil, fam.Err())
	must(nil, c.FindOneAndReplace(ctx, id(100), bson.D{{Key: "far", Value: 1}}).Err())
	must(nil, c.FindOneAndDelete(ctx, id("str")).Err())
	must(nil, c.FindOneAndUpdate(ctx, id(200), bson.D{{Key: "$set", Value: bson.D{{Key: "famUpsert", Value: 1}}}}, options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Err())
	d := e.SrcColl(db, "d")
	models := []driver.WriteModel{
		driver.NewInsertOneModel().SetDocument(bson.D{{Key: "_id", Value: 1}, {Key: "v", Value: 1}}),
		driver.NewInsertOneModel().SetDocument(bson.D{{Key: "_id", Value: 2}, {Key: "v", Value: 2}}),
		driver.NewUpdateOneModel().SetFilter(id(1)).SetUpdate(bson.D{{Key: "$inc", Value: bson.D{{Key: "v", Value: 10}}}}),
		driver.NewReplaceOneModel().SetFilter(id(2)).SetReplacement(bson.D{{Key: "v", Value: "r"}}),
		driver.NewDeleteOneModel().SetFilter(id(1)),
		driver.NewUpdateManyModel().SetFilter(bson.D{}).SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "all", Value: 1}}}}),
		driver.NewInsertOneModel().SetDocument(bson.D{{Key: "_id", Value: 3}, {Key: "v", Value: 3}}),
		driver.NewDeleteManyModel().SetFilter(bson.D{{Key: "v", Value: 3}}),
	}
	must(d.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true)))
}

func TestReplicatesEveryCRUDForm(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	// Something to clone first, so replication follows a real clone.
	_, err := e.SrcColl("app", "seed").InsertMany(ctx, []any{bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "_id", Value: 2}}})
	mustExec(t, err)
	eng := e.newEngine(t, nil)
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
	crudWorkload(t, e, "app")
	e.finalizeAndVerify(t, eng)
}
