package conformance

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// $changeStream options: fullDocument, fullDocumentBeforeChange with and
// without changeStreamPreAndPostImages, the stages after $changeStream,
// and batch sizes.

func TestChangeStreamFullDocumentUpdateLookup(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 1, "n", 0))
	cs := watchColl(t, coll, nil, options.ChangeStream().SetFullDocument(options.UpdateLookup))
	if _, err := coll.UpdateOne(ctxT(t), d("_id", 1), d("$inc", d("n", 1))); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, nextEvent(t, cs), d(
		"_id", anyToken(nil), "operationType", "update", "clusterTime", anyTimestamp(nil), "wallTime", recentDate(),
		"fullDocument", d("_id", 1, "n", 1), "ns", ns(db.Name(), "c"), "documentKey", d("_id", 1),
		"updateDescription", d("updatedFields", d("n", 1), "removedFields", bson.A{}, "truncatedArrays", bson.A{}),
	))
	// The lookup finds the current version: a deleted document gives null.
	if _, err := coll.UpdateOne(ctxT(t), d("_id", 1), d("$inc", d("n", 1))); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.DeleteOne(ctxT(t), d("_id", 1)); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, cs)
	if v := lookup(t, ev, "fullDocument"); v.Type != bson.TypeNull {
		t.Fatalf("updateLookup of a deleted document: %s", ev)
	}
}

func TestChangeStreamPreAndPostImages(t *testing.T) {
	db := newDB(t)
	runCmd(t, db, d("create", "c", "changeStreamPreAndPostImages", d("enabled", true)))
	runCmd(t, db, d("create", "plain"))
	coll, plain := db.Collection("c"), db.Collection("plain")
	insertDocs(t, coll, d("_id", 1, "n", 0))
	insertDocs(t, plain, d("_id", 1, "n", 0))
	opts := options.ChangeStream().SetFullDocument(options.WhenAvailable).SetFullDocumentBeforeChange(options.WhenAvailable)
	cs := watchColl(t, coll, nil, opts)
	csPlain := watchColl(t, plain, nil, opts)
	for _, c := range []*mongo.Collection{coll, plain} {
		if _, err := c.UpdateOne(ctxT(t), d("_id", 1), d("$set", d("n", 1))); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ReplaceOne(ctxT(t), d("_id", 1), d("_id", 1, "r", true)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteOne(ctxT(t), d("_id", 1)); err != nil {
			t.Fatal(err)
		}
	}
	base := func(op string) bson.D {
		return d("_id", anyToken(nil), "operationType", op, "clusterTime", anyTimestamp(nil), "wallTime", recentDate())
	}
	upd := d("updatedFields", d("n", 1), "removedFields", bson.A{}, "truncatedArrays", bson.A{})
	evs := nextEvents(t, cs, 3)
	wantEvent(t, evs[0], append(base("update"), d("fullDocument", d("_id", 1, "n", 1), "ns", ns(db.Name(), "c"),
		"documentKey", d("_id", 1), "updateDescription", upd, "fullDocumentBeforeChange", d("_id", 1, "n", 0))...))
	wantEvent(t, evs[1], append(base("replace"), d("fullDocument", d("_id", 1, "r", true), "ns", ns(db.Name(), "c"),
		"documentKey", d("_id", 1), "fullDocumentBeforeChange", d("_id", 1, "n", 1))...))
	wantEvent(t, evs[2], append(base("delete"), d("ns", ns(db.Name(), "c"),
		"documentKey", d("_id", 1), "fullDocumentBeforeChange", d("_id", 1, "r", true))...))
	// Without the collection option there are no images: null.
	evs = nextEvents(t, csPlain, 3)
	wantEvent(t, evs[0], append(base("update"), d("fullDocument", nil, "ns", ns(db.Name(), "plain"),
		"documentKey", d("_id", 1), "updateDescription", upd, "fullDocumentBeforeChange", nil)...))
	wantEvent(t, evs[1], append(base("replace"), d("fullDocument", d("_id", 1, "r", true), "ns", ns(db.Name(), "plain"),
		"documentKey", d("_id", 1), "fullDocumentBeforeChange", nil)...))
	wantEvent(t, evs[2], append(base("delete"), d("ns", ns(db.Name(), "plain"),
		"documentKey", d("_id", 1), "fullDocumentBeforeChange", nil)...))
}

func TestChangeStreamRequiredImagesFailWithoutThem(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 1))
	for _, opts := range []*options.ChangeStreamOptionsBuilder{
		options.ChangeStream().SetFullDocumentBeforeChange(options.Required),
		options.ChangeStream().SetFullDocument(options.Required),
	} {
		cs := watchColl(t, coll, nil, opts)
		if _, err := coll.UpdateOne(ctxT(t), d("_id", 1), d("$inc", d("n", 1))); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if cs.Next(ctx) {
			t.Fatalf("event without its required image: %s", cs.Current)
		}
		cancel()
		wantCode(t, cs.Err(), 47) // NoMatchingDocument
	}
}

func TestChangeStreamLaterStages(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 0))
	pipeline := mongo.Pipeline{
		d("$match", d("operationType", "insert", "fullDocument.keep", true)),
		d("$project", d("operationType", 1, "documentKey", 1, "extra", "$fullDocument.v")),
	}
	cs := watchColl(t, coll, pipeline)
	insertDocs(t, coll, d("_id", 1, "keep", false), d("_id", 2, "keep", true, "v", "x"))
	if _, err := coll.DeleteOne(ctxT(t), d("_id", 2)); err != nil {
		t.Fatal(err)
	}
	insertDocs(t, coll, d("_id", 3, "keep", true, "v", "y"))
	evs := nextEvents(t, cs, 2)
	wantEvent(t, evs[0], d("_id", anyToken(nil), "operationType", "insert", "documentKey", d("_id", 2), "extra", "x"))
	wantEvent(t, evs[1], d("_id", anyToken(nil), "operationType", "insert", "documentKey", d("_id", 3), "extra", "y"))
}

func TestChangeStreamModifiedIDIsFatal(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 0))
	cs := watchColl(t, coll, mongo.Pipeline{d("$project", d("_id", 0))})
	insertDocs(t, coll, d("_id", 1))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if cs.Next(ctx) {
		t.Fatalf("event without its _id: %s", cs.Current)
	}
	wantCode(t, cs.Err(), 280)
}

func TestChangeStreamBatchSize(t *testing.T) {
	db := newDB(t)
	insertDocs(t, db.Collection("c"), d("_id", 0))
	r := runCmd(t, db, d("aggregate", "c", "pipeline", bson.A{d("$changeStream", d())}, "cursor", d("batchSize", 0)))
	id := lookup(t, r, "cursor", "id").Int64()
	docs := make([]any, 10)
	for i := range docs {
		docs[i] = d("_id", i+1)
	}
	insertDocs(t, db.Collection("c"), docs...)
	g := runCmd(t, db, d("getMore", id, "collection", "c", "batchSize", 4))
	if n := len(batchOf(t, g, "nextBatch")); n != 4 {
		t.Fatalf("getMore batchSize 4 returned %d events", n)
	}
	g = runCmd(t, db, d("getMore", id, "collection", "c"))
	if n := len(batchOf(t, g, "nextBatch")); n != 6 {
		t.Fatalf("second getMore returned %d events, want the remaining 6", n)
	}
	runCmd(t, db, d("killCursors", "c", "cursors", bson.A{id}))
}

func TestChangeStreamGetMoreWaitsForEvents(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 0))
	r := runCmd(t, db, d("aggregate", "c", "pipeline", bson.A{d("$changeStream", d())}, "cursor", d()))
	id := lookup(t, r, "cursor", "id").Int64()
	done := make(chan bson.Raw, 1)
	start := time.Now()
	go func() {
		raw, _ := db.RunCommand(context.Background(), d("getMore", id, "collection", "c", "maxTimeMS", int64(10000))).Raw()
		done <- raw
	}()
	// Whether the insert lands before or during the wait, the event
	// arrives well before maxTimeMS.
	insertDocs(t, coll, d("_id", 1))
	select {
	case g := <-done:
		if n := len(batchOf(t, g, "nextBatch")); n != 1 {
			t.Fatalf("woken getMore: %s", g)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("getMore took %v", time.Since(start))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("getMore did not return")
	}
	runCmd(t, db, d("killCursors", "c", "cursors", bson.A{id}))
}
