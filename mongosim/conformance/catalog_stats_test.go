package conformance

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestCatalogCollStats(t *testing.T) {
	db := newDB(t)
	docs := []any{
		bson.D{{Key: "_id", Value: 1}, {Key: "s", Value: "hello"}},
		bson.D{{Key: "_id", Value: 2}, {Key: "s", Value: "world!"}, {Key: "n", Value: 2.5}},
	}
	insertDocs(t, db.Collection("c"), docs...)
	var size int64
	for _, d := range docs {
		size += int64(len(mustMarshal(t, d)))
	}
	r := runCmd(t, db, bson.D{{Key: "collStats", Value: "c"}})
	for _, f := range []string{"ns", "size", "count", "avgObjSize", "storageSize", "capped", "nindexes", "totalIndexSize", "totalSize", "indexSizes", "scaleFactor"} {
		lookup(t, r, f)
	}
	if lookup(t, r, "ns").StringValue() != db.Name()+".c" || lookup(t, r, "size").AsInt64() != size ||
		lookup(t, r, "count").AsInt64() != 2 || lookup(t, r, "avgObjSize").AsInt64() != size/2 ||
		lookup(t, r, "nindexes").AsInt64() != 1 || lookup(t, r, "capped").Boolean() {
		t.Fatalf("collStats %s (want size %d)", r, size)
	}
	if lookup(t, r, "indexSizes", "_id_").AsInt64() <= 0 {
		t.Fatalf("indexSizes %s", lookup(t, r, "indexSizes"))
	}
	if keys(t, r)[0] != "ns" {
		t.Fatalf("collStats starts with %v", keys(t, r))
	}
	wantCode(t, cmdErr(t, db, bson.D{{Key: "collStats", Value: "missing"}}), 26)

	runCmd(t, db, bson.D{{Key: "create", Value: "cap"}, {Key: "capped", Value: true}, {Key: "size", Value: 65536}, {Key: "max", Value: 100}})
	r = runCmd(t, db, bson.D{{Key: "collStats", Value: "cap"}})
	if !lookup(t, r, "capped").Boolean() || lookup(t, r, "max").AsInt64() != 100 || lookup(t, r, "maxSize").AsInt64() != 65536 {
		t.Fatalf("capped collStats %s", r)
	}
}

func TestCatalogDBStats(t *testing.T) {
	db := newDB(t)
	insertDocs(t, db.Collection("a"), bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "_id", Value: 2}})
	insertDocs(t, db.Collection("b"), bson.D{{Key: "_id", Value: 1}})
	if err := db.CreateView(ctxT(t), "v", "a", bson.A{}); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, db, bson.D{{Key: "dbStats", Value: 1}})
	wantReplyFields(t, "dbStats", r, "db", "collections", "views", "objects", "avgObjSize", "dataSize", "storageSize",
		"indexes", "indexSize", "totalSize", "scaleFactor", "fsUsedSize", "fsTotalSize", "ok")
	// system.views counts as a collection once a view exists.
	if lookup(t, r, "db").StringValue() != db.Name() || lookup(t, r, "collections").AsInt64() != 3 ||
		lookup(t, r, "views").AsInt64() != 1 || lookup(t, r, "indexes").AsInt64() != 3 {
		t.Fatalf("dbStats %s", r)
	}
	docSize := int64(len(mustMarshal(t, bson.D{{Key: "_id", Value: int32(1)}})))
	viewDoc := int64(len(mustMarshal(t, bson.D{{Key: "_id", Value: db.Name() + ".v"}, {Key: "viewOn", Value: "a"}, {Key: "pipeline", Value: bson.A{}}})))
	if got := lookup(t, r, "objects").AsInt64(); got != 4 {
		t.Fatalf("objects %d", got)
	}
	if got, want := lookup(t, r, "dataSize").AsFloat64(), float64(3*docSize+viewDoc); got != want {
		t.Fatalf("dataSize %v, want %v", got, want)
	}
}
