package conformance

import (
	"bytes"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

func TestUpdateCommandCounts(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 4)
	r := runWrite(t, db, bson.D{{Key: "update", Value: "c"}, {Key: "updates", Value: bson.A{
		bson.D{{Key: "q", Value: bson.D{{Key: "v", Value: bson.D{{Key: "$gte", Value: 20}}}}}, {Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "big", Value: true}}}}}, {Key: "multi", Value: true}},
		bson.D{{Key: "q", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: 10}}}}}},
		bson.D{{Key: "q", Value: bson.D{{Key: "_id", Value: 99}}}, {Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: 1}}}}}, {Key: "upsert", Value: true}},
	}}})
	// 3 matched+modified, 1 matched not modified (v already 10), 1 upserted.
	if n := lookup(t, r, "n").Int32(); n != 5 {
		t.Fatalf("n %d: %s", n, r)
	}
	if m := lookup(t, r, "nModified").Int32(); m != 3 {
		t.Fatalf("nModified %d", m)
	}
	up, _ := lookup(t, r, "upserted").Array().Values()
	if len(up) != 1 || up[0].Document().Lookup("index").Int32() != 2 || up[0].Document().Lookup("_id").AsInt64() != 99 {
		t.Fatalf("upserted %s", lookup(t, r, "upserted"))
	}
	k := keys(t, r)
	if k[0] != "n" || strings.Index(strings.Join(k, ","), "upserted") > strings.Index(strings.Join(k, ","), "nModified") {
		t.Fatalf("reply field order %v", k)
	}
	docs := findAll(t, db.Collection("c"), bson.D{{Key: "_id", Value: 99}})
	if len(docs) != 1 || !bytes.Equal(docs[0], mustMarshal(t, bson.D{{Key: "_id", Value: 99}, {Key: "x", Value: 1}})) {
		t.Fatalf("upserted doc %v", docs)
	}
}

func TestUpdateDriverHelpers(t *testing.T) {
	coll := newDB(t).Collection("c")
	seqDocs(t, coll, 3)
	r, err := coll.UpdateOne(ctxT(t), bson.D{{Key: "_id", Value: 2}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "v", Value: 5}}}})
	if err != nil || r.MatchedCount != 1 || r.ModifiedCount != 1 || r.UpsertedCount != 0 {
		t.Fatalf("UpdateOne %+v %v", r, err)
	}
	r, err = coll.ReplaceOne(ctxT(t), bson.D{{Key: "_id", Value: 3}}, bson.D{{Key: "z", Value: "new"}})
	if err != nil || r.ModifiedCount != 1 {
		t.Fatalf("ReplaceOne %+v %v", r, err)
	}
	r, err = coll.UpdateOne(ctxT(t), bson.D{{Key: "k", Value: "seed"}, {Key: "n", Value: bson.D{{Key: "$gt", Value: 1}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 1}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil || r.UpsertedCount != 1 || r.UpsertedID == nil {
		t.Fatalf("upsert %+v %v", r, err)
	}
	docs := findAll(t, coll, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if len(docs) != 4 {
		t.Fatalf("%d docs", len(docs))
	}
	if v := docs[1].Lookup("v").AsInt64(); v != 25 {
		t.Fatalf("$inc result %d", v)
	}
	if !bytes.Equal(docs[2], mustMarshal(t, bson.D{{Key: "_id", Value: int32(3)}, {Key: "z", Value: "new"}})) {
		t.Fatalf("replacement %s", docs[2])
	}
	// The upsert seeded k from the equality, ignored $gt, then applied $set.
	up := findAll(t, coll, bson.D{{Key: "k", Value: "seed"}})
	if len(up) != 1 || strings.Join(keys(t, up[0]), ",") != "_id,k,a" {
		t.Fatalf("upserted %v", up)
	}
}

func TestUpdateErrors(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 2)
	stmt := func(q, u any, extra ...bson.E) bson.D {
		return append(bson.D{{Key: "q", Value: q}, {Key: "u", Value: u}}, extra...)
	}
	cases := []struct {
		name string
		st   bson.D
		code int32
	}{
		{"immutable _id", stmt(bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "_id", Value: 5}}}}), 66},
		{"unknown modifier", stmt(bson.D{}, bson.D{{Key: "$bogus", Value: bson.D{{Key: "a", Value: 1}}}}), 9},
		{"$inc non-number", stmt(bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "v", Value: "x"}}}}), 14},
		{"multi replacement", stmt(bson.D{}, bson.D{{Key: "a", Value: 1}}, bson.E{Key: "multi", Value: true}), 9},
		{"conflict", stmt(bson.D{}, bson.D{{Key: "$set", Value: bson.D{{Key: "a.b", Value: 1}, {Key: "a", Value: 2}}}}), 40},
	}
	for _, tc := range cases {
		r := runWrite(t, db, bson.D{{Key: "update", Value: "c"}, {Key: "updates", Value: bson.A{tc.st}}})
		we := writeErrorsOf(t, r)
		if len(we) != 1 || lookup(t, we[0], "code").Int32() != tc.code {
			t.Errorf("%s: %s", tc.name, r)
		}
	}
	wantCode(t, cmdErr(t, db, bson.D{{Key: "update", Value: "c"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{}}}}}}), 40414)
}

func TestUpdateDuplicateKeyIsWriteError(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, bson.D{{Key: "_id", Value: 1}, {Key: "u", Value: 1}}, bson.D{{Key: "_id", Value: 2}, {Key: "u", Value: 2}})
	if _, err := coll.Indexes().CreateOne(ctxT(t), indexModel("u", true)); err != nil {
		t.Fatal(err)
	}
	r := runWrite(t, db, bson.D{{Key: "update", Value: "c"}, {Key: "updates", Value: bson.A{
		bson.D{{Key: "q", Value: bson.D{{Key: "_id", Value: 2}}}, {Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "u", Value: 1}}}}}},
	}}})
	we := writeErrorsOf(t, r)
	if len(we) != 1 || lookup(t, we[0], "code").Int32() != 11000 || lookup(t, r, "nModified").Int32() != 0 {
		t.Fatalf("dup key update: %s", r)
	}
	if !bytes.Equal(lookup(t, we[0], "keyValue").Document(), mustMarshal(t, bson.D{{Key: "u", Value: 1}})) {
		t.Fatalf("keyValue %s", lookup(t, we[0], "keyValue"))
	}
}

// Updating one field leaves every other field's bytes and order unchanged.
func TestBSONZooUpdateKeepsUntouchedBytes(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("zoo")
	orig := zooDoc(t, 1)
	if _, err := coll.InsertOne(ctxT(t), orig); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.UpdateOne(ctxT(t), bson.D{{Key: "_id", Value: 1}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "added", Value: "new"}}}, {Key: "$inc", Value: bson.D{{Key: "counter", Value: 5}}}}); err != nil {
		t.Fatal(err)
	}
	got := findAll(t, coll, bson.D{})[0]
	// Expected: the original bytes with counter = 15 in place and "added" appended.
	want := rebuild(t, orig, func(key string, v bsoncore.Value) bsoncore.Value {
		if key == "counter" {
			return bsoncore.Value{Type: bsoncore.TypeInt32, Data: bsoncore.AppendInt32(nil, 15)}
		}
		return v
	}, bson.E{Key: "added", Value: "new"})
	if !bytes.Equal(got, want) {
		t.Fatalf("after update:\n got %s\nwant %s", got, want)
	}
}

// rebuild copies doc's elements (mapped by fn) and appends extra fields.
func rebuild(t *testing.T, doc bson.Raw, fn func(string, bsoncore.Value) bsoncore.Value, extra ...bson.E) bson.Raw {
	t.Helper()
	elems, err := bsoncore.Document(doc).Elements()
	if err != nil {
		t.Fatal(err)
	}
	idx, b := bsoncore.AppendDocumentStart(nil)
	for _, e := range elems {
		b = bsoncore.AppendValueElement(b, e.Key(), fn(e.Key(), e.Value()))
	}
	for _, e := range extra {
		raw := mustMarshal(t, bson.D{e})
		b = append(b, raw[4:len(raw)-1]...)
	}
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	return bson.Raw(b)
}

func TestFindAndModifyUpdateReturnsOldAndNew(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 3)
	r := runCmd(t, db, bson.D{{Key: "findAndModify", Value: "c"}, {Key: "query", Value: bson.D{{Key: "_id", Value: 2}}},
		{Key: "update", Value: bson.D{{Key: "$inc", Value: bson.D{{Key: "v", Value: 1}}}}}})
	if lookup(t, r, "value", "v").Int32() != 20 {
		t.Fatalf("old value: %s", r)
	}
	leo := lookup(t, r, "lastErrorObject").Document()
	if lookup(t, leo, "n").Int32() != 1 || !lookup(t, leo, "updatedExisting").Boolean() {
		t.Fatalf("lastErrorObject %s", leo)
	}
	if k := keys(t, r); k[0] != "lastErrorObject" || k[1] != "value" || k[2] != "ok" {
		t.Fatalf("reply fields %v", k)
	}
	r = runCmd(t, db, bson.D{{Key: "findAndModify", Value: "c"}, {Key: "query", Value: bson.D{{Key: "_id", Value: 2}}},
		{Key: "update", Value: bson.D{{Key: "$inc", Value: bson.D{{Key: "v", Value: 1}}}}}, {Key: "new", Value: true}})
	if lookup(t, r, "value", "v").Int32() != 22 {
		t.Fatalf("new value: %s", r)
	}
}

func TestFindAndModifySortRemoveUpsert(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 3)
	r := runCmd(t, db, bson.D{{Key: "findAndModify", Value: "c"}, {Key: "query", Value: bson.D{}},
		{Key: "sort", Value: bson.D{{Key: "v", Value: -1}}}, {Key: "remove", Value: true}})
	if lookup(t, r, "value", "_id").Int32() != 3 || lookup(t, r, "lastErrorObject", "n").Int32() != 1 {
		t.Fatalf("remove highest v: %s", r)
	}
	if _, err := lookup(t, r, "lastErrorObject").Document().LookupErr("updatedExisting"); err == nil {
		t.Fatal("remove reports updatedExisting")
	}
	r = runCmd(t, db, bson.D{{Key: "findAndModify", Value: "c"}, {Key: "query", Value: bson.D{{Key: "_id", Value: 50}}},
		{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: 500}}}}}, {Key: "upsert", Value: true}, {Key: "new", Value: true}})
	leo := lookup(t, r, "lastErrorObject").Document()
	if lookup(t, leo, "updatedExisting").Boolean() || lookup(t, leo, "upserted").AsInt64() != 50 || lookup(t, r, "value", "v").AsInt64() != 500 {
		t.Fatalf("upsert: %s", r)
	}
	r = runCmd(t, db, bson.D{{Key: "findAndModify", Value: "c"}, {Key: "query", Value: bson.D{{Key: "_id", Value: 77}}},
		{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: 1}}}}}})
	if lookup(t, r, "value").Type != bson.TypeNull || lookup(t, r, "lastErrorObject", "n").Int32() != 0 {
		t.Fatalf("no match: %s", r)
	}
	r = runCmd(t, db, bson.D{{Key: "findAndModify", Value: "c"}, {Key: "query", Value: bson.D{{Key: "_id", Value: 51}}},
		{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: 1}}}}}, {Key: "upsert", Value: true}})
	if lookup(t, r, "value").Type != bson.TypeNull {
		t.Fatalf("upsert without new returns %s", lookup(t, r, "value"))
	}
}

func TestFindAndModifyErrors(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 2)
	base := func(extra ...bson.E) bson.D { return append(bson.D{{Key: "findAndModify", Value: "c"}}, extra...) }
	upd := bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 1}}}}}
	wantCode(t, cmdErr(t, db, base()), 9)
	wantCode(t, cmdErr(t, db, base(upd, bson.E{Key: "remove", Value: true})), 9)
	wantCode(t, cmdErr(t, db, base(bson.E{Key: "remove", Value: true}, bson.E{Key: "new", Value: true})), 9)
	wantCode(t, cmdErr(t, db, base(bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: 1}}},
		bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "_id", Value: 9}}}}})), 66)
	// A duplicate key is a command error carrying keyPattern/keyValue.
	insertDocs(t, db.Collection("c"), bson.D{{Key: "_id", Value: 100}, {Key: "x", Value: 1}})
	_, err := db.RunCommand(ctxT(t), base(bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: 100}, {Key: "x", Value: 5}}},
		bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "y", Value: 1}}}}},
		bson.E{Key: "upsert", Value: true})).Raw()
	wantCode(t, err, 11000)
}

func indexModel(field string, unique bool) mongo.IndexModel {
	return mongo.IndexModel{Keys: bson.D{{Key: field, Value: 1}}, Options: options.Index().SetUnique(unique)}
}
