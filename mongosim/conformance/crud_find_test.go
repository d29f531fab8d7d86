package conformance

import (
	"bytes"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func ids(t *testing.T, docs []bson.Raw) []int32 {
	t.Helper()
	out := make([]int32, len(docs))
	for i, d := range docs {
		out[i] = d.Lookup("_id").Int32()
	}
	return out
}

func wantIDs(t *testing.T, docs []bson.Raw, want ...int32) {
	t.Helper()
	got := ids(t, docs)
	if len(got) != len(want) {
		t.Fatalf("_ids %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("_ids %v, want %v", got, want)
		}
	}
}

// mlink's clone scans {_id: {$gte: a, $lt: b}} sorted by _id.
func TestFindIDRangeSortedByID(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, bson.D{{Key: "_id", Value: int32(5)}}, bson.D{{Key: "_id", Value: int32(1)}}, bson.D{{Key: "_id", Value: int32(9)}},
		bson.D{{Key: "_id", Value: int32(3)}}, bson.D{{Key: "_id", Value: int32(7)}}, bson.D{{Key: "_id", Value: "str"}})
	filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: 3}, {Key: "$lt", Value: 9}}}}
	wantIDs(t, findAll(t, coll, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})), 3, 5, 7)
	wantIDs(t, findAll(t, coll, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}})), 7, 5, 3)
	gt := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: 3}, {Key: "$lte", Value: 9}}}}
	wantIDs(t, findAll(t, coll, gt, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetBatchSize(1)), 5, 7, 9)
}

func TestFindNaturalOrderIsInsertionOrder(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, bson.D{{Key: "_id", Value: int32(5)}}, bson.D{{Key: "_id", Value: int32(1)}}, bson.D{{Key: "_id", Value: int32(3)}})
	wantIDs(t, findAll(t, coll, bson.D{}), 5, 1, 3)
	wantIDs(t, findAll(t, coll, bson.D{}, options.Find().SetSort(bson.D{{Key: "$natural", Value: -1}})), 3, 1, 5)
	wantIDs(t, findAll(t, coll, bson.D{}, options.Find().SetHint(bson.D{{Key: "$natural", Value: 1}})), 5, 1, 3)
}

func TestFindIDEqualityAndIn(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	seqDocs(t, coll, 10)
	wantIDs(t, findAll(t, coll, bson.D{{Key: "_id", Value: 4}}), 4)
	// 4.0 and NumberLong(4) are the same _id.
	wantIDs(t, findAll(t, coll, bson.D{{Key: "_id", Value: 4.0}}), 4)
	wantIDs(t, findAll(t, coll, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{8, 2, 99, 2}}}}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})), 2, 8)
}

func TestFindSortSkipLimit(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll,
		bson.D{{Key: "_id", Value: int32(1)}, {Key: "k", Value: 3}},
		bson.D{{Key: "_id", Value: int32(2)}, {Key: "k", Value: 1}},
		bson.D{{Key: "_id", Value: int32(3)}, {Key: "k", Value: 2}},
		bson.D{{Key: "_id", Value: int32(4)}, {Key: "k", Value: 1}},
		bson.D{{Key: "_id", Value: int32(5)}})
	// Missing sorts as null, before numbers; ties keep a stable order by _id here.
	wantIDs(t, findAll(t, coll, bson.D{}, options.Find().SetSort(bson.D{{Key: "k", Value: 1}, {Key: "_id", Value: 1}})), 5, 2, 4, 3, 1)
	wantIDs(t, findAll(t, coll, bson.D{}, options.Find().SetSort(bson.D{{Key: "k", Value: -1}, {Key: "_id", Value: 1}}).SetSkip(1).SetLimit(2)), 3, 2)
	wantIDs(t, findAll(t, coll, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetSkip(3)), 4, 5)
	wantIDs(t, findAll(t, coll, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetSkip(10)))
}

func TestFindMissingCollectionIsEmpty(t *testing.T) {
	db := newDB(t)
	r := runCmd(t, db, bson.D{{Key: "find", Value: "nope"}})
	if lookup(t, r, "cursor", "id").Int64() != 0 || len(batchOf(t, r, "firstBatch")) != 0 {
		t.Fatalf("find on missing collection: %s", r)
	}
	if lookup(t, r, "cursor", "ns").StringValue() != db.Name()+".nope" {
		t.Fatal("ns")
	}
}

func TestFindArgumentErrors(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 2)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "limit", Value: -1}}), 51024)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "skip", Value: -1}}), 51024)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "batchSize", Value: -2}}), 51024)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "filter", Value: 3}}), 14)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "hint", Value: "no_such_index"}}), 2)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "awaitData", Value: true}}), 9)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "tailable", Value: true}}), 2)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "unknownOption", Value: 1}}), 40415)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "filter", Value: bson.D{{Key: "$bogus", Value: 1}}}}), 2)
}

func TestFindHintIDAndAccepts(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, bson.D{{Key: "_id", Value: int32(2)}}, bson.D{{Key: "_id", Value: int32(1)}})
	wantIDs(t, findAll(t, coll, bson.D{}, options.Find().SetHint("_id_").SetSort(bson.D{{Key: "_id", Value: 1}})), 1, 2)
	wantIDs(t, findAll(t, coll, bson.D{}, options.Find().SetHint(bson.D{{Key: "_id", Value: 1}}).SetSort(bson.D{{Key: "_id", Value: 1}})), 1, 2)
	r := runCmd(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "allowDiskUse", Value: true}, {Key: "maxTimeMS", Value: 5000},
		{Key: "readConcern", Value: bson.D{{Key: "level", Value: "majority"}}}, {Key: "noCursorTimeout", Value: true}, {Key: "comment", Value: "x"}})
	if len(batchOf(t, r, "firstBatch")) != 2 {
		t.Fatalf("find with accepted options: %s", r)
	}
}

func TestFindOneNotFound(t *testing.T) {
	coll := newDB(t).Collection("c")
	err := coll.FindOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}).Err()
	if !errors.Is(err, mongo.ErrNoDocuments) {
		t.Fatalf("FindOne on empty: %v", err)
	}
}

func TestDeleteOneAndMany(t *testing.T) {
	coll := newDB(t).Collection("c")
	insertDocs(t, coll,
		bson.D{{Key: "_id", Value: int32(1)}, {Key: "g", Value: "a"}},
		bson.D{{Key: "_id", Value: int32(2)}, {Key: "g", Value: "a"}},
		bson.D{{Key: "_id", Value: int32(3)}, {Key: "g", Value: "b"}},
		bson.D{{Key: "_id", Value: int32(4)}, {Key: "g", Value: "a"}})
	r, err := coll.DeleteOne(ctxT(t), bson.D{{Key: "g", Value: "a"}})
	if err != nil || r.DeletedCount != 1 {
		t.Fatalf("DeleteOne %v %v", r, err)
	}
	wantIDs(t, findAll(t, coll, bson.D{}), 2, 3, 4)
	r, err = coll.DeleteMany(ctxT(t), bson.D{{Key: "g", Value: "a"}})
	if err != nil || r.DeletedCount != 2 {
		t.Fatalf("DeleteMany %v %v", r, err)
	}
	wantIDs(t, findAll(t, coll, bson.D{}), 3)
	r, err = coll.DeleteMany(ctxT(t), bson.D{{Key: "g", Value: "zzz"}})
	if err != nil || r.DeletedCount != 0 {
		t.Fatalf("DeleteMany none %v %v", r, err)
	}
	r, err = newDB(t).Collection("missing").DeleteMany(ctxT(t), bson.D{})
	if err != nil || r.DeletedCount != 0 {
		t.Fatalf("delete on missing collection %v %v", r, err)
	}
}

func TestDeleteStatementErrors(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 3)
	r := runWrite(t, db, bson.D{{Key: "delete", Value: "c"}, {Key: "deletes", Value: bson.A{
		bson.D{{Key: "q", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "limit", Value: 2}},
	}}})
	we := writeErrorsOf(t, r)
	if len(we) != 1 || lookup(t, we[0], "code").Int32() != 9 || lookup(t, r, "n").Int32() != 0 {
		t.Fatalf("limit 2: %s", r)
	}
	// Unordered: the bad statement fails alone.
	r = runWrite(t, db, bson.D{{Key: "delete", Value: "c"}, {Key: "ordered", Value: false}, {Key: "deletes", Value: bson.A{
		bson.D{{Key: "q", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "limit", Value: 2}},
		bson.D{{Key: "q", Value: bson.D{{Key: "_id", Value: 2}}}, {Key: "limit", Value: 1}},
	}}})
	if lookup(t, r, "n").Int32() != 1 || len(writeErrorsOf(t, r)) != 1 {
		t.Fatalf("unordered delete: %s", r)
	}
	wantCode(t, cmdErr(t, db, bson.D{{Key: "delete", Value: "c"}, {Key: "deletes", Value: bson.A{}}}), 16)
}

func TestCountCommand(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	seqDocs(t, coll, 10)
	for _, tc := range []struct {
		cmd  bson.D
		want int32
	}{
		{bson.D{{Key: "count", Value: "c"}}, 10},
		{bson.D{{Key: "count", Value: "c"}, {Key: "query", Value: bson.D{{Key: "v", Value: bson.D{{Key: "$gt", Value: 50}}}}}}, 5},
		{bson.D{{Key: "count", Value: "c"}, {Key: "skip", Value: 8}}, 2},
		{bson.D{{Key: "count", Value: "c"}, {Key: "limit", Value: 3}}, 3},
		{bson.D{{Key: "count", Value: "c"}, {Key: "skip", Value: 12}}, 0},
		{bson.D{{Key: "count", Value: "nope"}}, 0},
	} {
		r := runCmd(t, db, tc.cmd)
		if n := lookup(t, r, "n").AsInt64(); n != int64(tc.want) {
			t.Errorf("%v: n=%d, want %d", tc.cmd, n, tc.want)
		}
	}
	n, err := coll.EstimatedDocumentCount(ctxT(t))
	if err != nil || n != 10 {
		t.Fatalf("EstimatedDocumentCount %d %v", n, err)
	}
}

func TestDistinctSortedAndFlattened(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll,
		bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: "z"}},
		bson.D{{Key: "_id", Value: 2}, {Key: "a", Value: int32(2)}},
		bson.D{{Key: "_id", Value: 3}, {Key: "a", Value: bson.A{int32(1), "z", 2.0}}},
		bson.D{{Key: "_id", Value: 4}},
		bson.D{{Key: "_id", Value: 5}, {Key: "a", Value: nil}},
		bson.D{{Key: "_id", Value: 6}, {Key: "a", Value: bson.D{{Key: "b", Value: 1}}}})
	r := runCmd(t, db, bson.D{{Key: "distinct", Value: "c"}, {Key: "key", Value: "a"}})
	vals, _ := lookup(t, r, "values").Array().Values()
	// BSON order: null < numbers < strings < objects; 2 and 2.0 are one value.
	if len(vals) != 5 || vals[0].Type != bson.TypeNull || vals[1].Int32() != 1 || vals[2].AsInt64() != 2 ||
		vals[3].StringValue() != "z" || vals[4].Type != bson.TypeEmbeddedDocument {
		t.Fatalf("distinct values %s", lookup(t, r, "values"))
	}
	r = runCmd(t, db, bson.D{{Key: "distinct", Value: "c"}, {Key: "key", Value: "a.b"}})
	if v, _ := lookup(t, r, "values").Array().Values(); len(v) != 1 || v[0].Int32() != 1 {
		t.Fatalf("distinct a.b %s", lookup(t, r, "values"))
	}
	r = runCmd(t, db, bson.D{{Key: "distinct", Value: "c"}, {Key: "key", Value: "a"}, {Key: "query", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$lte", Value: 2}}}}}})
	if v, _ := lookup(t, r, "values").Array().Values(); len(v) != 2 || v[0].Int32() != 2 || v[1].StringValue() != "z" {
		t.Fatalf("distinct with query %s", lookup(t, r, "values"))
	}
	wantCode(t, cmdErr(t, db, bson.D{{Key: "distinct", Value: "c"}}), 40414)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "distinct", Value: "c"}, {Key: "key", Value: 1}}), 14)
}

func TestFindProjectionThroughCursor(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll,
		bson.D{{Key: "_id", Value: int32(1)}, {Key: "a", Value: 1}, {Key: "b", Value: bson.D{{Key: "c", Value: 2}, {Key: "d", Value: 3}}}},
		bson.D{{Key: "_id", Value: int32(2)}, {Key: "a", Value: 4}, {Key: "b", Value: bson.D{{Key: "c", Value: 5}}}})
	docs := findAll(t, coll, bson.D{}, options.Find().SetProjection(bson.D{{Key: "b.c", Value: 1}, {Key: "_id", Value: 0}}).SetBatchSize(1))
	if len(docs) != 2 || !bytes.Equal(docs[0], mustMarshal(t, bson.D{{Key: "b", Value: bson.D{{Key: "c", Value: 2}}}})) {
		t.Fatalf("inclusion projection %v", docs)
	}
	docs = findAll(t, coll, bson.D{}, options.Find().SetProjection(bson.D{{Key: "b", Value: 0}}).SetSort(bson.D{{Key: "a", Value: -1}}))
	if !bytes.Equal(docs[0], mustMarshal(t, bson.D{{Key: "_id", Value: int32(2)}, {Key: "a", Value: 4}})) {
		t.Fatalf("exclusion projection with in-memory sort %v", docs)
	}
	r := runCmd(t, db, bson.D{{Key: "findAndModify", Value: "c"}, {Key: "query", Value: bson.D{{Key: "_id", Value: 1}}},
		{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 9}}}}}, {Key: "new", Value: true},
		{Key: "fields", Value: bson.D{{Key: "a", Value: 1}}}})
	if !bytes.Equal(lookup(t, r, "value").Document(), mustMarshal(t, bson.D{{Key: "_id", Value: int32(1)}, {Key: "a", Value: 9}})) {
		t.Fatalf("findAndModify fields: %s", r)
	}
	wantCode(t, cmdErr(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "projection", Value: bson.D{{Key: "a", Value: 1}, {Key: "b", Value: 0}}}}), 31254)
}
