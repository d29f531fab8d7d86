package conformance

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Change events, one kind at a time, with every field checked by name,
// order and value, as MongoDB's change-events reference documents them.

func d(kv ...any) bson.D {
	out := bson.D{}
	for i := 0; i < len(kv); i += 2 {
		out = append(out, bson.E{Key: kv[i].(string), Value: kv[i+1]})
	}
	return out
}

func TestChangeStreamInsertEvent(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("users")
	insertDocs(t, coll, d("_id", 0)) // the collection exists before the stream
	cs := watchColl(t, coll, nil)
	doc := raw(t, d("_id", 1, "userName", "alice123", "name", "Alice"))
	if _, err := coll.InsertOne(ctxT(t), doc); err != nil {
		t.Fatal(err)
	}
	var tok bson.Raw
	wantEvent(t, nextEvent(t, cs), d(
		"_id", anyToken(&tok),
		"operationType", "insert",
		"clusterTime", anyTimestamp(nil),
		"wallTime", recentDate(),
		"fullDocument", doc,
		"ns", ns(db.Name(), "users"),
		"documentKey", d("_id", 1),
	))
	if string(cs.ResumeToken()) != string(tok) {
		t.Fatalf("stream resume token %s, event _id %s", cs.ResumeToken(), tok)
	}
}

func TestChangeStreamUpdateEventDescription(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	long := bson.A{}
	for i := 0; i < 20; i++ {
		long = append(long, fmt.Sprintf("element number %d of a long array", i))
	}
	insertDocs(t, coll, d("_id", 1, "a", d("b", 1, "c", 1), "arr", bson.A{1, 2, 3}, "gone", true, "long", long))
	cs := watchColl(t, coll, nil)
	upd := func(u bson.D) {
		if _, err := coll.UpdateOne(ctxT(t), d("_id", 1), u); err != nil {
			t.Fatal(err)
		}
	}
	upd(d("$set", d("a.b", 2)))
	upd(d("$unset", d("gone", "")))
	upd(d("$set", d("arr.1", 20)))
	upd(d("$pop", d("arr", 1)))
	// A pipeline update that shortens an array reports a truncation.
	if _, err := coll.UpdateOne(ctxT(t), d("_id", 1), mongo.Pipeline{d("$set", d("long", d("$slice", bson.A{"$long", 5})))}); err != nil {
		t.Fatal(err)
	}
	want := []bson.D{
		d("updatedFields", d("a.b", 2), "removedFields", bson.A{}, "truncatedArrays", bson.A{}),
		d("updatedFields", d(), "removedFields", bson.A{"gone"}, "truncatedArrays", bson.A{}),
		d("updatedFields", d("arr.1", 20), "removedFields", bson.A{}, "truncatedArrays", bson.A{}),
		// An update operator logs the array it changed as a whole.
		d("updatedFields", d("arr", bson.A{1, 20}), "removedFields", bson.A{}, "truncatedArrays", bson.A{}),
		d("updatedFields", d(), "removedFields", bson.A{}, "truncatedArrays", bson.A{d("field", "long", "newSize", 5)}),
	}
	for i, ev := range nextEvents(t, cs, len(want)) {
		wantEvent(t, ev, d(
			"_id", anyToken(nil),
			"operationType", "update",
			"clusterTime", anyTimestamp(nil),
			"wallTime", recentDate(),
			"ns", ns(db.Name(), "c"),
			"documentKey", d("_id", 1),
			"updateDescription", want[i],
		))
	}
}

func TestChangeStreamDisambiguatedPathsWithExpandedEvents(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 1, "a", d("0", d("b", 1))))
	uuid := uuidOf(t, db, "c")
	cs := watchColl(t, coll, nil, options.ChangeStream().SetShowExpandedEvents(true))
	if _, err := coll.UpdateOne(ctxT(t), d("_id", 1), d("$set", d("a.0.b", 2))); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, nextEvent(t, cs), d(
		"_id", anyToken(nil),
		"operationType", "update",
		"clusterTime", anyTimestamp(nil),
		"collectionUUID", isUUID(uuid),
		"wallTime", recentDate(),
		"ns", ns(db.Name(), "c"),
		"documentKey", d("_id", 1),
		"updateDescription", d(
			"updatedFields", d("a.0.b", 2),
			"removedFields", bson.A{},
			"truncatedArrays", bson.A{},
			"disambiguatedPaths", d("a.0.b", bson.A{"a", "0", "b"}),
		),
	))
}

func TestChangeStreamReplaceAndDeleteEvents(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 1, "x", 1))
	cs := watchColl(t, coll, nil)
	repl := raw(t, d("_id", 1, "y", "new"))
	if _, err := coll.ReplaceOne(ctxT(t), d("_id", 1), repl); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.DeleteOne(ctxT(t), d("_id", 1)); err != nil {
		t.Fatal(err)
	}
	evs := nextEvents(t, cs, 2)
	wantEvent(t, evs[0], d(
		"_id", anyToken(nil), "operationType", "replace", "clusterTime", anyTimestamp(nil), "wallTime", recentDate(),
		"fullDocument", repl, "ns", ns(db.Name(), "c"), "documentKey", d("_id", 1),
	))
	wantEvent(t, evs[1], d(
		"_id", anyToken(nil), "operationType", "delete", "clusterTime", anyTimestamp(nil), "wallTime", recentDate(),
		"ns", ns(db.Name(), "c"), "documentKey", d("_id", 1),
	))
}

func TestChangeStreamCollectionDropInvalidates(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 1))
	cs := watchColl(t, coll, nil)
	if err := coll.Drop(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	var dropTS, invTS bson.Timestamp
	var dropTok, invTok bson.Raw
	evs := nextEvents(t, cs, 2)
	wantEvent(t, evs[0], d("_id", anyToken(&dropTok), "operationType", "drop", "clusterTime", anyTimestamp(&dropTS),
		"wallTime", recentDate(), "ns", ns(db.Name(), "c")))
	wantEvent(t, evs[1], d("_id", anyToken(&invTok), "operationType", "invalidate", "clusterTime", anyTimestamp(&invTS),
		"wallTime", recentDate()))
	if dropTS != invTS || string(dropTok) >= string(invTok) {
		t.Fatalf("invalidate %v %s must share the drop's time %v and sort after its token %s", invTS, invTok, dropTS, dropTok)
	}
	// The server closed the cursor: the stream ends.
	if cs.Next(ctxT(t)) || cs.ID() != 0 {
		t.Fatalf("stream still open after invalidate: id %d, err %v", cs.ID(), cs.Err())
	}
}

func TestChangeStreamRenameInvalidatesCollectionStream(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("a")
	insertDocs(t, coll, d("_id", 1))
	cs := watchColl(t, coll, nil)
	runCmd(t, suite.client.Database("admin"), d("renameCollection", db.Name()+".a", "to", db.Name()+".b"))
	evs := nextEvents(t, cs, 2)
	wantEvent(t, evs[0], d("to", ns(db.Name(), "b"), "_id", anyToken(nil), "operationType", "rename",
		"clusterTime", anyTimestamp(nil), "wallTime", recentDate(), "ns", ns(db.Name(), "a")))
	wantEvent(t, evs[1], d("_id", anyToken(nil), "operationType", "invalidate", "clusterTime", anyTimestamp(nil),
		"wallTime", recentDate()))
}

func TestChangeStreamDropDatabaseInvalidatesDatabaseStream(t *testing.T) {
	db := newDB(t)
	insertDocs(t, db.Collection("a"), d("_id", 1))
	cs := watchDB(t, db, nil)
	if err := db.Drop(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	evs := nextEvents(t, cs, 3)
	wantEvent(t, evs[0], d("_id", anyToken(nil), "operationType", "drop", "clusterTime", anyTimestamp(nil),
		"wallTime", recentDate(), "ns", ns(db.Name(), "a")))
	wantEvent(t, evs[1], d("_id", anyToken(nil), "operationType", "dropDatabase", "clusterTime", anyTimestamp(nil),
		"wallTime", recentDate(), "ns", d("db", db.Name())))
	wantEvent(t, evs[2], d("_id", anyToken(nil), "operationType", "invalidate", "clusterTime", anyTimestamp(nil),
		"wallTime", recentDate()))
}

// TestChangeStreamEveryEventKind opens one cluster-wide stream with
// showExpandedEvents and checks the event of every write and DDL kind,
// including a transaction over two collections and an aborted one.
func TestChangeStreamEveryEventKind(t *testing.T) {
	db := newDB(t)
	name := db.Name()
	ctx := ctxT(t)
	admin := suite.client.Database("admin")
	cs := watchCluster(t, name, options.ChangeStream().SetShowExpandedEvents(true))

	runCmd(t, db, d("create", "c"))
	uc := uuidOf(t, db, "c")
	runCmd(t, db, d("createIndexes", "c", "indexes", bson.A{d("key", d("a", 1), "name", "a_1")}))
	coll := db.Collection("c")
	doc := raw(t, d("_id", 1, "a", 1, "arr", bson.A{1, 2, 3}, "sub", d("x", 1)))
	if _, err := coll.InsertOne(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.UpdateOne(ctx, d("_id", 1), d("$set", d("sub.x", 2), "$unset", d("a", ""))); err != nil {
		t.Fatal(err)
	}
	replacement := raw(t, d("_id", 1, "b", "two"))
	if _, err := coll.ReplaceOne(ctx, d("_id", 1), replacement); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.DeleteOne(ctx, d("_id", 1)); err != nil {
		t.Fatal(err)
	}
	runCmd(t, db, d("collMod", "c", "index", d("name", "a_1", "hidden", true)))
	specs := findIndexSpec(t, coll, "a_1")
	runCmd(t, db, d("dropIndexes", "c", "index", "a_1"))
	runCmd(t, db, d("create", "v", "viewOn", "c", "pipeline", bson.A{}))
	runCmd(t, db, d("drop", "v"))
	insertDocs(t, db.Collection("e"), d("_id", 1)) // implicit create
	ue := uuidOf(t, db, "e")
	runCmd(t, admin, d("renameCollection", name+".c", "to", name+".c2"))
	runCmd(t, admin, d("renameCollection", name+".e", "to", name+".c2", "dropTarget", true))
	runCmd(t, db, d("create", "x"))
	ux := uuidOf(t, db, "x")

	sess := startSession(t)
	if _, err := sess.WithTransaction(ctx, func(ctx context.Context) (any, error) {
		if _, err := db.Collection("x").InsertOne(ctx, d("_id", 1)); err != nil {
			return nil, err
		}
		return db.Collection("c2").UpdateOne(ctx, d("_id", 1), d("$set", d("t", 1)))
	}); err != nil {
		t.Fatal(err)
	}
	lsid := sess.ID()
	aborted := startSession(t)
	if err := aborted.StartTransaction(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("x").InsertOne(mongo.NewSessionContext(ctx, aborted), d("_id", 99)); err != nil {
		t.Fatal(err)
	}
	if err := aborted.AbortTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	runCmd(t, db, d("drop", "c2"))
	if err := db.Drop(ctx); err != nil {
		t.Fatal(err)
	}

	tok, ts, wall := anyToken(nil), anyTimestamp(nil), recentDate()
	idIndex := d("v", 2, "key", d("_id", 1), "name", "_id_")
	var txnTS bson.Timestamp
	want := []bson.D{
		d("_id", tok, "operationType", "create", "clusterTime", ts, "collectionUUID", isUUID(uc), "wallTime", wall,
			"ns", ns(name, "c"), "operationDescription", d("idIndex", idIndex)),
		d("_id", tok, "operationType", "createIndexes", "clusterTime", ts, "collectionUUID", isUUID(uc), "wallTime", wall,
			"ns", ns(name, "c"), "operationDescription", d("indexes", bson.A{d("v", 2, "key", d("a", 1), "name", "a_1")})),
		d("_id", tok, "operationType", "insert", "clusterTime", ts, "collectionUUID", isUUID(uc), "wallTime", wall,
			"fullDocument", doc, "ns", ns(name, "c"), "documentKey", d("_id", 1)),
		d("_id", tok, "operationType", "update", "clusterTime", ts, "collectionUUID", isUUID(uc), "wallTime", wall,
			"ns", ns(name, "c"), "documentKey", d("_id", 1), "updateDescription", d("updatedFields", d("sub.x", 2),
				"removedFields", bson.A{"a"}, "truncatedArrays", bson.A{}, "disambiguatedPaths", d())),
		d("_id", tok, "operationType", "replace", "clusterTime", ts, "collectionUUID", isUUID(uc), "wallTime", wall,
			"fullDocument", replacement, "ns", ns(name, "c"), "documentKey", d("_id", 1)),
		d("_id", tok, "operationType", "delete", "clusterTime", ts, "collectionUUID", isUUID(uc), "wallTime", wall,
			"ns", ns(name, "c"), "documentKey", d("_id", 1)),
		d("_id", tok, "operationType", "modify", "clusterTime", ts, "collectionUUID", isUUID(uc), "wallTime", wall,
			"ns", ns(name, "c"), "operationDescription", d("index", d("name", "a_1", "hidden", true)),
			"stateBeforeChange", d("collectionOptions", d("uuid", isUUID(uc)), "indexOptions", d("hidden", false))),
		d("_id", tok, "operationType", "dropIndexes", "clusterTime", ts, "collectionUUID", isUUID(uc), "wallTime", wall,
			"ns", ns(name, "c"), "operationDescription", d("indexes", bson.A{specs})),
		d("_id", tok, "operationType", "create", "clusterTime", ts, "wallTime", wall,
			"ns", ns(name, "v"), "operationDescription", d("viewOn", "c", "pipeline", bson.A{})),
		d("_id", tok, "operationType", "drop", "clusterTime", ts, "wallTime", wall, "ns", ns(name, "v")),
		d("_id", tok, "operationType", "create", "clusterTime", ts, "collectionUUID", isUUID(ue), "wallTime", wall,
			"ns", ns(name, "e"), "operationDescription", d("idIndex", idIndex)),
		d("_id", tok, "operationType", "insert", "clusterTime", ts, "collectionUUID", isUUID(ue), "wallTime", wall,
			"fullDocument", d("_id", 1), "ns", ns(name, "e"), "documentKey", d("_id", 1)),
		d("to", ns(name, "c2"), "_id", tok, "operationType", "rename", "clusterTime", ts, "collectionUUID", isUUID(uc),
			"wallTime", wall, "ns", ns(name, "c"), "operationDescription", d("to", ns(name, "c2"))),
		d("to", ns(name, "c2"), "_id", tok, "operationType", "rename", "clusterTime", ts, "collectionUUID", isUUID(ue),
			"wallTime", wall, "ns", ns(name, "e"), "operationDescription", d("to", ns(name, "c2"), "dropTarget", isUUID(uc))),
		d("_id", tok, "operationType", "create", "clusterTime", ts, "collectionUUID", isUUID(ux), "wallTime", wall,
			"ns", ns(name, "x"), "operationDescription", d("idIndex", idIndex)),
		d("txnNumber", anyInt64(), "lsid", lsidOf(lsid), "_id", tok, "operationType", "insert", "clusterTime", anyTimestamp(&txnTS),
			"collectionUUID", isUUID(ux), "wallTime", wall, "fullDocument", d("_id", 1), "ns", ns(name, "x"), "documentKey", d("_id", 1)),
		d("txnNumber", anyInt64(), "lsid", lsidOf(lsid), "_id", tok, "operationType", "update", "clusterTime", sameTimestamp(&txnTS),
			"collectionUUID", isUUID(ue), "wallTime", wall, "ns", ns(name, "c2"), "documentKey", d("_id", 1),
			"updateDescription", d("updatedFields", d("t", 1), "removedFields", bson.A{}, "truncatedArrays", bson.A{}, "disambiguatedPaths", d())),
		d("_id", tok, "operationType", "drop", "clusterTime", ts, "collectionUUID", isUUID(ue), "wallTime", wall, "ns", ns(name, "c2")),
		d("_id", tok, "operationType", "drop", "clusterTime", ts, "collectionUUID", isUUID(ux), "wallTime", wall, "ns", ns(name, "x")),
		d("_id", tok, "operationType", "dropDatabase", "clusterTime", ts, "wallTime", wall, "ns", d("db", name)),
	}
	var prevTS bson.Timestamp
	var prevTok string
	for i, ev := range nextEvents(t, cs, len(want)) {
		if err := matchDoc(ev, want[i]); err != nil {
			t.Fatalf("event %d: %v\n got: %s", i, err, ev)
		}
		// Tokens and cluster times only go forward; a transaction's
		// events share its commit time.
		tsT, tsI := lookup(t, ev, "clusterTime").Timestamp()
		cur := bson.Timestamp{T: tsT, I: tsI}
		inTxn := lookupOK(ev, "txnNumber")
		if cur.Compare(prevTS) < 0 || (cur == prevTS && !inTxn) {
			t.Fatalf("event %d at %v, previous at %v", i, cur, prevTS)
		}
		tokStr := lookup(t, ev, "_id", "_data").StringValue()
		if tokStr <= prevTok {
			t.Fatalf("event %d token %s does not sort after %s", i, tokStr, prevTok)
		}
		prevTS, prevTok = cur, tokStr
	}
	// The aborted transaction's insert never shows up.
	noEvent(t, cs)
}

// findIndexSpec returns the listIndexes document of the named index.
func findIndexSpec(t *testing.T, coll *mongo.Collection, name string) bson.Raw {
	t.Helper()
	cur, err := coll.Indexes().List(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	var specs []bson.Raw
	if err := cur.All(ctxT(t), &specs); err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		if s.Lookup("name").StringValue() == name {
			return s
		}
	}
	t.Fatalf("index %s not found", name)
	return nil
}

// anyInt64 matches a 64-bit integer.
func anyInt64() matcher {
	return func(v bson.RawValue) error {
		if _, ok := v.Int64OK(); !ok {
			return fmt.Errorf("%s is not a long", v.Type)
		}
		return nil
	}
}

// lsidOf matches a transaction event's lsid: the session's id plus the
// uid of the (possibly absent) user.
func lsidOf(id bson.Raw) matcher {
	return func(v bson.RawValue) error {
		doc, ok := v.DocumentOK()
		if !ok {
			return fmt.Errorf("lsid %s is not a document", v.Type)
		}
		if !bytes.Equal(doc.Lookup("id").Value, id.Lookup("id").Value) {
			return fmt.Errorf("lsid %s is not session %s", doc, id)
		}
		if st, uid, ok := doc.Lookup("uid").BinaryOK(); !ok || st != 0 || len(uid) != 32 {
			return fmt.Errorf("lsid %s has no SHA-256 uid", doc)
		}
		return nil
	}
}

func lookupOK(d bson.Raw, path ...string) bool {
	_, err := d.LookupErr(path...)
	return err == nil
}
