package conformance

import (
	"bytes"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func aggregateAll(t *testing.T, coll *mongo.Collection, pipeline any, opts ...options.Lister[options.AggregateOptions]) []bson.Raw {
	t.Helper()
	cur, err := coll.Aggregate(ctxT(t), pipeline, opts...)
	if err != nil {
		t.Fatalf("aggregate: %v", err)
	}
	var out []bson.Raw
	for cur.Next(ctxT(t)) {
		out = append(out, append(bson.Raw(nil), cur.Current...))
	}
	if err := cur.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAggregateCursorBatches(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 10)
	r := runCmd(t, db, bson.D{{Key: "aggregate", Value: "c"}, {Key: "pipeline", Value: bson.A{
		bson.D{{Key: "$match", Value: bson.D{{Key: "v", Value: bson.D{{Key: "$gt", Value: 20}}}}}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "v", Value: -1}}}},
	}}, {Key: "cursor", Value: bson.D{{Key: "batchSize", Value: 3}}}})
	first := batchOf(t, r, "firstBatch")
	if len(first) != 3 || first[0].Document().Lookup("_id").Int32() != 10 {
		t.Fatalf("first batch %s", r)
	}
	if lookup(t, r, "cursor", "ns").StringValue() != db.Name()+".c" {
		t.Fatal("ns")
	}
	id := lookup(t, r, "cursor", "id").Int64()
	r = runCmd(t, db, bson.D{{Key: "getMore", Value: id}, {Key: "collection", Value: "c"}})
	if n := len(batchOf(t, r, "nextBatch")); n != 5 || lookup(t, r, "cursor", "id").Int64() != 0 {
		t.Fatalf("getMore %d docs: %s", n, r)
	}
}

func TestAggregateCountDocumentsAndGroup(t *testing.T) {
	coll := newDB(t).Collection("c")
	insertDocs(t, coll,
		bson.D{{Key: "_id", Value: 1}, {Key: "g", Value: "a"}, {Key: "x", Value: 2}},
		bson.D{{Key: "_id", Value: 2}, {Key: "g", Value: "b"}, {Key: "x", Value: 3}},
		bson.D{{Key: "_id", Value: 3}, {Key: "g", Value: "a"}, {Key: "x", Value: 5}})
	n, err := coll.CountDocuments(ctxT(t), bson.D{{Key: "g", Value: "a"}})
	if err != nil || n != 2 {
		t.Fatalf("CountDocuments %d %v", n, err)
	}
	n, err = coll.CountDocuments(ctxT(t), bson.D{}, options.Count().SetSkip(1).SetLimit(5))
	if err != nil || n != 2 {
		t.Fatalf("CountDocuments skip %d %v", n, err)
	}
	out := aggregateAll(t, coll, bson.A{
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$g"}, {Key: "total", Value: bson.D{{Key: "$sum", Value: "$x"}}}}}},
		bson.D{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	})
	if len(out) != 2 || out[0].Lookup("_id").StringValue() != "a" || out[0].Lookup("total").AsInt64() != 7 || out[1].Lookup("total").AsInt64() != 3 {
		t.Fatalf("group %v", out)
	}
}

func TestAggregateErrors(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 1)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "aggregate", Value: "c"}, {Key: "pipeline", Value: bson.A{}}}), 9)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "aggregate", Value: "c"}, {Key: "pipeline", Value: bson.A{bson.D{{Key: "$bogusStage", Value: 1}}}},
		{Key: "cursor", Value: bson.D{}}}), 40324)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "aggregate", Value: "c"}, {Key: "pipeline", Value: bson.A{
		bson.D{{Key: "$match", Value: bson.D{}}}, bson.D{{Key: "$collStats", Value: bson.D{}}}}}, {Key: "cursor", Value: bson.D{}}}), 40602)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "aggregate", Value: "c"}, {Key: "pipeline", Value: "x"}, {Key: "cursor", Value: bson.D{}}}), 14)
}

func TestAggregateCollStatsCount(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 7)
	out := aggregateAll(t, db.Collection("c"), bson.A{bson.D{{Key: "$collStats", Value: bson.D{{Key: "count", Value: bson.D{}}}}}})
	if len(out) != 1 || out[0].Lookup("count", "count").AsInt64() != 7 || out[0].Lookup("ns").StringValue() != db.Name()+".c" {
		t.Fatalf("$collStats %v", out)
	}
}

func TestViewsAnswerFindAggregateCountDistinct(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll,
		bson.D{{Key: "_id", Value: int32(1)}, {Key: "k", Value: "x"}, {Key: "n", Value: 1}},
		bson.D{{Key: "_id", Value: int32(2)}, {Key: "k", Value: "y"}, {Key: "n", Value: 2}},
		bson.D{{Key: "_id", Value: int32(3)}, {Key: "k", Value: "x"}, {Key: "n", Value: 3}})
	runCmd(t, db, bson.D{{Key: "create", Value: "v"}, {Key: "viewOn", Value: "c"}, {Key: "pipeline", Value: bson.A{
		bson.D{{Key: "$match", Value: bson.D{{Key: "k", Value: "x"}}}},
		bson.D{{Key: "$project", Value: bson.D{{Key: "n", Value: 1}}}},
	}}})
	view := db.Collection("v")
	docs := findAll(t, view, bson.D{}, options.Find().SetSort(bson.D{{Key: "n", Value: -1}}))
	if len(docs) != 2 || !bytes.Equal(docs[0], mustMarshal(t, bson.D{{Key: "_id", Value: int32(3)}, {Key: "n", Value: 3}})) {
		t.Fatalf("find on view %v", docs)
	}
	docs = findAll(t, view, bson.D{{Key: "n", Value: bson.D{{Key: "$lt", Value: 3}}}})
	if len(docs) != 1 || docs[0].Lookup("_id").Int32() != 1 {
		t.Fatalf("filtered find on view %v", docs)
	}
	out := aggregateAll(t, view, bson.A{bson.D{{Key: "$count", Value: "total"}}})
	if len(out) != 1 || out[0].Lookup("total").AsInt64() != 2 {
		t.Fatalf("aggregate on view %v", out)
	}
	r := runCmd(t, db, bson.D{{Key: "count", Value: "v"}})
	if lookup(t, r, "n").AsInt64() != 2 {
		t.Fatalf("count on view %s", r)
	}
	r = runCmd(t, db, bson.D{{Key: "distinct", Value: "v"}, {Key: "key", Value: "n"}})
	if v, _ := lookup(t, r, "values").Array().Values(); len(v) != 2 || v[0].AsInt64() != 1 || v[1].AsInt64() != 3 {
		t.Fatalf("distinct on view %s", r)
	}
	_, err := view.InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 9}})
	wantCode(t, err, 166)
}
