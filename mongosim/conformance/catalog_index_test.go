package conformance

import (
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func TestCatalogCreateIndexesReply(t *testing.T) {
	db := newDB(t)
	cmd := bson.D{{Key: "createIndexes", Value: "c"}, {Key: "indexes", Value: bson.A{
		bson.D{{Key: "key", Value: bson.D{{Key: "a", Value: 1}}}, {Key: "name", Value: "a_1"}},
	}}}
	r := runCmd(t, db, cmd)
	wantReplyFields(t, "createIndexes (new collection)", r, "numIndexesBefore", "numIndexesAfter", "createdCollectionAutomatically", "commitQuorum", "ok")
	if lookup(t, r, "numIndexesBefore").Int32() != 1 || lookup(t, r, "numIndexesAfter").Int32() != 2 ||
		!lookup(t, r, "createdCollectionAutomatically").Boolean() || lookup(t, r, "commitQuorum").StringValue() != "votingMembers" {
		t.Fatalf("createIndexes reply %s", r)
	}
	r = runCmd(t, db, cmd)
	wantReplyFields(t, "createIndexes (existing)", r, "numIndexesBefore", "numIndexesAfter", "note", "ok")
	if lookup(t, r, "note").StringValue() != "all indexes already exist" || lookup(t, r, "numIndexesAfter").Int32() != 2 {
		t.Fatalf("no-op createIndexes reply %s", r)
	}
	r = runCmd(t, db, bson.D{{Key: "createIndexes", Value: "c"}, {Key: "indexes", Value: bson.A{
		bson.D{{Key: "key", Value: bson.D{{Key: "b", Value: -1}}}, {Key: "name", Value: "b_-1"}},
	}}})
	if lookup(t, r, "createdCollectionAutomatically").Boolean() || lookup(t, r, "numIndexesBefore").Int32() != 2 {
		t.Fatalf("second createIndexes reply %s", r)
	}
	// Same name, other key: 86. Same name and key, other options: 85. Same key, other name: 85.
	wantCode(t, cmdErr(t, db, bson.D{{Key: "createIndexes", Value: "c"}, {Key: "indexes", Value: bson.A{
		bson.D{{Key: "key", Value: bson.D{{Key: "z", Value: 1}}}, {Key: "name", Value: "a_1"}}}}}), 86)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "createIndexes", Value: "c"}, {Key: "indexes", Value: bson.A{
		bson.D{{Key: "key", Value: bson.D{{Key: "a", Value: 1}}}, {Key: "name", Value: "a_1"}, {Key: "unique", Value: true}}}}}), 85)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "createIndexes", Value: "c"}, {Key: "indexes", Value: bson.A{
		bson.D{{Key: "key", Value: bson.D{{Key: "a", Value: 1}}}, {Key: "name", Value: "another"}}}}}), 85)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "createIndexes", Value: "c"}, {Key: "indexes", Value: bson.A{
		bson.D{{Key: "key", Value: bson.D{{Key: "q", Value: 1}}}, {Key: "name", Value: "q_1"}, {Key: "notAnOption", Value: 1}}}}}), 197)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "createIndexes", Value: "c"}, {Key: "indexes", Value: bson.A{}}}), 2)
}

func TestCatalogUniqueIndexBuildAndInsert(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: 5}}, bson.D{{Key: "_id", Value: 2}, {Key: "a", Value: 5}})
	_, err := coll.Indexes().CreateOne(ctxT(t), mongo.IndexModel{Keys: bson.D{{Key: "a", Value: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	err = cmdErr(t, db, bson.D{{Key: "createIndexes", Value: "c"}, {Key: "indexes", Value: bson.A{
		bson.D{{Key: "key", Value: bson.D{{Key: "a", Value: -1}}}, {Key: "name", Value: "a_-1"}, {Key: "unique", Value: true}}}}})
	wantCode(t, err, 11000)
	specs, err := coll.Indexes().ListSpecifications(ctxT(t))
	if err != nil || len(specs) != 2 {
		t.Fatalf("failed unique build left %d indexes (%v)", len(specs), err)
	}
	if _, err := coll.DeleteOne(ctxT(t), bson.D{{Key: "_id", Value: 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.Indexes().CreateOne(ctxT(t), mongo.IndexModel{Keys: bson.D{{Key: "a", Value: -1}}}); err == nil {
		// a_-1 without unique is fine; drop it to make room for the unique one.
		if err := coll.Indexes().DropOne(ctxT(t), "a_-1"); err != nil {
			t.Fatal(err)
		}
	}
	runCmd(t, db, bson.D{{Key: "createIndexes", Value: "c"}, {Key: "indexes", Value: bson.A{
		bson.D{{Key: "key", Value: bson.D{{Key: "a", Value: -1}}}, {Key: "name", Value: "a_-1"}, {Key: "unique", Value: true}}}}})
	_, err = coll.InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 3}, {Key: "a", Value: 5.0}})
	var we mongo.WriteException
	if !errors.As(err, &we) || len(we.WriteErrors) != 1 || we.WriteErrors[0].Code != 11000 {
		t.Fatalf("duplicate insert: %v", err)
	}
	raw := we.WriteErrors[0].Raw
	wantRaw(t, "keyPattern", lookup(t, raw, "keyPattern"), docRaw(t, bson.D{{Key: "a", Value: int32(-1)}}))
	wantRaw(t, "keyValue", lookup(t, raw, "keyValue"), docRaw(t, bson.D{{Key: "a", Value: 5.0}}))
	want := "E11000 duplicate key error collection: " + db.Name() + ".c index: a_-1 dup key: { a: 5.0 }"
	if we.WriteErrors[0].Message != want {
		t.Fatalf("errmsg %q, want %q", we.WriteErrors[0].Message, want)
	}
}

func TestCatalogListIndexes(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	runCmd(t, db, bson.D{{Key: "createIndexes", Value: "c"}, {Key: "indexes", Value: bson.A{
		bson.D{{Key: "key", Value: bson.D{{Key: "a", Value: 1}, {Key: "b", Value: -1}}}, {Key: "name", Value: "a_1_b_-1"},
			{Key: "unique", Value: true}, {Key: "sparse", Value: true}},
		bson.D{{Key: "key", Value: bson.D{{Key: "t", Value: "text"}}}, {Key: "name", Value: "t_text"}},
		bson.D{{Key: "key", Value: bson.D{{Key: "ts", Value: 1}}}, {Key: "name", Value: "ts_1"}, {Key: "expireAfterSeconds", Value: int32(3600)}},
	}}})
	r := runCmd(t, db, bson.D{{Key: "listIndexes", Value: "c"}})
	cur := lookup(t, r, "cursor").Document()
	wantKeys(t, "listIndexes cursor", cur, "id", "ns", "firstBatch")
	if lookup(t, cur, "ns").StringValue() != db.Name()+".c" {
		t.Fatalf("listIndexes ns %s", cur)
	}
	specs, _ := lookup(t, cur, "firstBatch").Array().Values()
	if len(specs) != 4 {
		t.Fatalf("listIndexes returned %d specs", len(specs))
	}
	wantRaw(t, "_id_", specs[0], docRaw(t, bson.D{{Key: "v", Value: int32(2)}, {Key: "key", Value: bson.D{{Key: "_id", Value: int32(1)}}}, {Key: "name", Value: "_id_"}}))
	wantRaw(t, "compound", specs[1], docRaw(t, bson.D{{Key: "v", Value: int32(2)},
		{Key: "key", Value: bson.D{{Key: "a", Value: int32(1)}, {Key: "b", Value: int32(-1)}}}, {Key: "name", Value: "a_1_b_-1"},
		{Key: "unique", Value: true}, {Key: "sparse", Value: true}}))
	wantRaw(t, "text", specs[2], docRaw(t, bson.D{{Key: "v", Value: int32(2)},
		{Key: "key", Value: bson.D{{Key: "_fts", Value: "text"}, {Key: "_ftsx", Value: int32(1)}}}, {Key: "name", Value: "t_text"},
		{Key: "weights", Value: bson.D{{Key: "t", Value: int32(1)}}}, {Key: "default_language", Value: "english"},
		{Key: "language_override", Value: "language"}, {Key: "textIndexVersion", Value: int32(3)}}))
	wantRaw(t, "ttl", specs[3], docRaw(t, bson.D{{Key: "v", Value: int32(2)},
		{Key: "key", Value: bson.D{{Key: "ts", Value: int32(1)}}}, {Key: "name", Value: "ts_1"}, {Key: "expireAfterSeconds", Value: int32(3600)}}))
	// The driver pages with getMore.
	cursor, err := coll.Indexes().List(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for cursor.Next(ctxT(t)) {
		n++
	}
	if n != 4 {
		t.Fatalf("Indexes().List saw %d", n)
	}
	wantCode(t, cmdErr(t, db, bson.D{{Key: "listIndexes", Value: "missing"}}), 26)
}

func TestCatalogDropIndexes(t *testing.T) {
	db := newDB(t)
	runCmd(t, db, bson.D{{Key: "createIndexes", Value: "c"}, {Key: "indexes", Value: bson.A{
		bson.D{{Key: "key", Value: bson.D{{Key: "a", Value: 1}}}, {Key: "name", Value: "a_1"}},
		bson.D{{Key: "key", Value: bson.D{{Key: "b", Value: 1}}}, {Key: "name", Value: "b_1"}},
		bson.D{{Key: "key", Value: bson.D{{Key: "c", Value: 1}}}, {Key: "name", Value: "c_1"}},
		bson.D{{Key: "key", Value: bson.D{{Key: "d", Value: 1}}}, {Key: "name", Value: "d_1"}},
	}}})
	r := runCmd(t, db, bson.D{{Key: "dropIndexes", Value: "c"}, {Key: "index", Value: "a_1"}})
	wantReplyFields(t, "dropIndexes", r, "nIndexesWas", "ok")
	if lookup(t, r, "nIndexesWas").Int32() != 5 {
		t.Fatalf("dropIndexes reply %s", r)
	}
	r = runCmd(t, db, bson.D{{Key: "dropIndexes", Value: "c"}, {Key: "index", Value: bson.D{{Key: "b", Value: 1}}}})
	if lookup(t, r, "nIndexesWas").Int32() != 4 {
		t.Fatalf("dropIndexes by key reply %s", r)
	}
	wantCode(t, cmdErr(t, db, bson.D{{Key: "dropIndexes", Value: "c"}, {Key: "index", Value: "_id_"}}), 72)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "dropIndexes", Value: "c"}, {Key: "index", Value: "nope"}}), 27)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "dropIndexes", Value: "c"}, {Key: "index", Value: bson.A{"c_1", "nope"}}}), 27)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "dropIndexes", Value: "missing"}, {Key: "index", Value: "*"}}), 26)
	r = runCmd(t, db, bson.D{{Key: "dropIndexes", Value: "c"}, {Key: "index", Value: "*"}})
	if lookup(t, r, "nIndexesWas").Int32() != 3 {
		t.Fatalf("dropIndexes * reply %s", r)
	}
	specs, err := db.Collection("c").Indexes().ListSpecifications(ctxT(t))
	if err != nil || len(specs) != 1 || specs[0].Name != "_id_" {
		t.Fatalf("after dropping *: %v %v", specs, err)
	}
}

func TestCatalogPartialUniqueIndex(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	runCmd(t, db, bson.D{{Key: "createIndexes", Value: "c"}, {Key: "indexes", Value: bson.A{
		bson.D{{Key: "key", Value: bson.D{{Key: "sku", Value: 1}}}, {Key: "name", Value: "sku_1"}, {Key: "unique", Value: true},
			{Key: "partialFilterExpression", Value: bson.D{{Key: "qty", Value: bson.D{{Key: "$gt", Value: 10}}}}}}}}})
	insertDocs(t, coll, bson.D{{Key: "sku", Value: "a"}, {Key: "qty", Value: 1}}, bson.D{{Key: "sku", Value: "a"}, {Key: "qty", Value: 2}},
		bson.D{{Key: "sku", Value: "a"}, {Key: "qty", Value: 20}})
	_, err := coll.InsertOne(ctxT(t), bson.D{{Key: "sku", Value: "a"}, {Key: "qty", Value: 30}})
	var we mongo.WriteException
	if !errors.As(err, &we) || len(we.WriteErrors) != 1 || we.WriteErrors[0].Code != 11000 {
		t.Fatalf("partial unique violation: %v", err)
	}
}

func TestCatalogValidatorOnInsert(t *testing.T) {
	db := newDB(t)
	runCmd(t, db, bson.D{{Key: "create", Value: "c"}, {Key: "validator", Value: bson.D{{Key: "qty", Value: bson.D{{Key: "$gte", Value: 0}}}}}})
	coll := db.Collection("c")
	_, err := coll.InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 7}, {Key: "qty", Value: -1}})
	var we mongo.WriteException
	if !errors.As(err, &we) || len(we.WriteErrors) != 1 || we.WriteErrors[0].Code != 121 {
		t.Fatalf("invalid insert: %v", err)
	}
	if id := lookup(t, we.WriteErrors[0].Raw, "errInfo", "failingDocumentId"); id.AsInt64() != 7 {
		t.Fatalf("failingDocumentId %s", id)
	}
	if _, err := coll.InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 8}, {Key: "qty", Value: -1}},
		options.InsertOne().SetBypassDocumentValidation(true)); err != nil {
		t.Fatalf("bypassDocumentValidation: %v", err)
	}
}
