package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink/mongosim"
)

// Resuming change streams: from every event of a long history, after an
// invalidate, from an operation time, across dropped connections, and the
// errors when the history no longer covers the resume point.

// aggregateStream runs {aggregate: coll, pipeline: [{$changeStream: spec}]}
// with one large first batch and returns the events and the cursor reply.
func aggregateStream(t *testing.T, db *mongo.Database, coll string, spec bson.D) ([]bson.Raw, bson.Raw) {
	t.Helper()
	r := runCmd(t, db, d("aggregate", coll, "pipeline", bson.A{d("$changeStream", spec)}, "cursor", d("batchSize", 2000)))
	return batchDocs(t, r, "firstBatch"), r
}

// batchDocs returns a cursor reply's batch as documents.
func batchDocs(t *testing.T, r bson.Raw, field string) []bson.Raw {
	t.Helper()
	vals := batchOf(t, r, field)
	out := make([]bson.Raw, len(vals))
	for i, v := range vals {
		out[i] = v.Document()
	}
	return out
}

func TestChangeStreamResumeFromEveryToken(t *testing.T) {
	const n = 1000
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", -1))
	cs := watchColl(t, coll, nil, options.ChangeStream().SetBatchSize(500))
	docs := make([]any, n)
	for i := range docs {
		docs[i] = d("_id", i, "v", i)
	}
	// Many small batches so events get distinct cluster times.
	for i := 0; i < n; i += 50 {
		insertDocs(t, coll, docs[i:i+50]...)
	}
	events := nextEvents(t, cs, n)
	tokens := make([]bson.Raw, n)
	for i, ev := range events {
		if got := lookup(t, ev, "documentKey", "_id").Int32(); got != int32(i) {
			t.Fatalf("event %d is for _id %d", i, got)
		}
		tokens[i] = lookup(t, ev, "_id").Document()
	}
	for i, tok := range tokens {
		rest, r := aggregateStream(t, db, "c", d("resumeAfter", tok))
		if len(rest) != n-1-i {
			t.Fatalf("resume after event %d: %d events, want %d", i, len(rest), n-1-i)
		}
		for j, ev := range rest {
			if string(lookup(t, ev, "_id").Document()) != string(tokens[i+1+j]) {
				t.Fatalf("resume after event %d: event %d is %s, want token %s", i, j, ev, tokens[i+1+j])
			}
		}
		// The postBatchResumeToken covers at least the last event returned.
		pbrt := lookup(t, r, "cursor", "postBatchResumeToken", "_data").StringValue()
		if pbrt < tokens[n-1].Lookup("_data").StringValue() {
			t.Fatalf("postBatchResumeToken %s is before the last event", pbrt)
		}
		killCursor(t, db, "c", r)
	}
}

// killCursor kills the cursor of a reply if still open.
func killCursor(t *testing.T, db *mongo.Database, coll string, r bson.Raw) {
	t.Helper()
	if id := lookup(t, r, "cursor", "id").Int64(); id != 0 {
		runCmd(t, db, d("killCursors", coll, "cursors", bson.A{id}))
	}
}

func TestChangeStreamStartAtOperationTime(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 1))
	r := runWrite(t, db, d("insert", "c", "documents", bson.A{d("_id", 2)}))
	opT, opI := lookup(t, r, "operationTime").Timestamp()
	insertDocs(t, coll, d("_id", 3))
	events, _ := aggregateStream(t, db, "c", d("startAtOperationTime", bson.Timestamp{T: opT, I: opI}))
	if len(events) != 2 || lookup(t, events[0], "documentKey", "_id").Int32() != 2 || lookup(t, events[1], "documentKey", "_id").Int32() != 3 {
		t.Fatalf("events from the insert of _id 2 on: %v", events)
	}
}

func TestChangeStreamStartAfterInvalidate(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 1))
	cs := watchColl(t, coll, nil)
	if err := coll.Drop(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	evs := nextEvents(t, cs, 2)
	inv := lookup(t, evs[1], "_id").Document()
	if opType(t, evs[1]) != "invalidate" {
		t.Fatalf("want invalidate, got %s", evs[1])
	}
	// resumeAfter an invalidate is refused; startAfter continues past it.
	err := cmdErr(t, db, d("aggregate", "c", "pipeline", bson.A{d("$changeStream", d("resumeAfter", inv))}, "cursor", d()))
	wantCode(t, err, 260)
	insertDocs(t, coll, d("_id", 2)) // recreated
	cs2 := watchColl(t, coll, nil, options.ChangeStream().SetStartAfter(inv))
	ev := nextEvent(t, cs2)
	if opType(t, ev) != "insert" || lookup(t, ev, "documentKey", "_id").Int32() != 2 {
		t.Fatalf("after the invalidate: %s", ev)
	}
}

func TestChangeStreamPostBatchResumeTokenAdvancesWhileIdle(t *testing.T) {
	db := newDB(t)
	other := newDB(t)
	insertDocs(t, db.Collection("c"), d("_id", 1))
	_, r := aggregateStream(t, db, "c", d())
	first := lookup(t, r, "cursor", "postBatchResumeToken", "_data").StringValue()
	id := lookup(t, r, "cursor", "id").Int64()
	if id == 0 {
		t.Fatalf("change stream cursor closed at once: %s", r)
	}
	// Writes elsewhere advance the high-water mark without events here.
	insertDocs(t, other.Collection("x"), d("_id", 1))
	g := runCmd(t, db, d("getMore", id, "collection", "c", "maxTimeMS", int64(200)))
	if got := batchOf(t, g, "nextBatch"); len(got) != 0 {
		t.Fatalf("events on an idle collection: %v", got)
	}
	wantReplyCursorFields(t, g, "nextBatch", "postBatchResumeToken", "id", "ns")
	next := lookup(t, g, "cursor", "postBatchResumeToken", "_data").StringValue()
	if next <= first {
		t.Fatalf("postBatchResumeToken %s did not advance past %s", next, first)
	}
	runCmd(t, db, d("killCursors", "c", "cursors", bson.A{id}))
}

// wantReplyCursorFields checks the field order of a reply's cursor.
func wantReplyCursorFields(t *testing.T, r bson.Raw, fields ...string) {
	t.Helper()
	got := keys(t, lookup(t, r, "cursor").Document())
	if len(got) != len(fields) {
		t.Fatalf("cursor fields %v, want %v", got, fields)
	}
	for i := range got {
		if got[i] != fields[i] {
			t.Fatalf("cursor fields %v, want %v", got, fields)
		}
	}
}

func TestChangeStreamAggregateReplyShape(t *testing.T) {
	db := newDB(t)
	insertDocs(t, db.Collection("c"), d("_id", 1))
	_, r := aggregateStream(t, db, "c", d())
	wantReplyCursorFields(t, r, "firstBatch", "postBatchResumeToken", "id", "ns")
	if got := lookup(t, r, "cursor", "ns").StringValue(); got != db.Name()+".c" {
		t.Fatalf("ns %q", got)
	}
	killCursor(t, db, "c", r)
	r = runCmd(t, db, d("aggregate", 1, "pipeline", bson.A{d("$changeStream", d())}, "cursor", d()))
	if got := lookup(t, r, "cursor", "ns").StringValue(); got != db.Name()+".$cmd.aggregate" {
		t.Fatalf("database stream ns %q", got)
	}
	runCmd(t, db, d("killCursors", "$cmd.aggregate", "cursors", bson.A{lookup(t, r, "cursor", "id").Int64()}))
}

func TestChangeStreamHistoryLost(t *testing.T) {
	s := sim(t)
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 0))
	cs := watchColl(t, coll, nil)
	insertDocs(t, coll, d("_id", 1))
	insertDocs(t, coll, d("_id", 2))
	first := lookup(t, nextEvent(t, cs), "_id").Document()
	before := s.OplogWindow()
	s.ShrinkHistory()
	after := s.OplogWindow()
	if after.Entries >= before.Entries || after.Oldest.Compare(before.Oldest) <= 0 {
		t.Fatalf("history not shrunk: %+v then %+v", before, after)
	}
	err := cmdErr(t, db, d("aggregate", "c", "pipeline", bson.A{d("$changeStream", d("resumeAfter", first))}, "cursor", d()))
	wantCode(t, err, 286)
	var ce mongo.CommandError
	if !errors.As(err, &ce) || !ce.HasErrorLabel("NonResumableChangeStreamError") {
		t.Fatalf("286 without NonResumableChangeStreamError: %v", err)
	}
	// Resuming from the newest event still works: it is inside the window.
	last := lookup(t, nextEvent(t, cs), "_id").Document()
	rest, r := aggregateStream(t, db, "c", d("resumeAfter", last))
	if len(rest) != 0 {
		t.Fatalf("events after the newest: %v", rest)
	}
	killCursor(t, db, "c", r)
}

func TestChangeStreamRetentionByCount(t *testing.T) {
	s := simtestServer(t, mongosim.Options{OplogRetention: mongosim.OplogRetention{MaxEntries: 50}})
	c := connectTo(t, s)
	coll := c.Database("d").Collection("c")
	insertDocs(t, coll, d("_id", 0))
	cs := watchColl(t, coll, nil)
	for i := 1; i <= 100; i++ {
		insertDocs(t, coll, d("_id", i))
	}
	if w := s.OplogWindow(); w.Entries > 50 || w.Trimmed == 0 {
		t.Fatalf("window %+v", w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for cs.Next(ctx) {
	}
	wantCode(t, cs.Err(), 286)
}

func TestChangeStreamDriverResumesAfterDroppedConnections(t *testing.T) {
	s := sim(t)
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 0))
	cs := watchColl(t, coll, nil, options.ChangeStream().SetMaxAwaitTime(100*time.Millisecond))
	insertDocs(t, coll, d("_id", 1))
	if got := lookup(t, nextEvent(t, cs), "documentKey", "_id").Int32(); got != 1 {
		t.Fatalf("first event for _id %d", got)
	}
	for round := 2; round <= 4; round++ {
		if s.DropConnections() == 0 {
			t.Fatal("no connection to drop")
		}
		insertDocs(t, coll, d("_id", round))
		ev := nextEvent(t, cs)
		if got := lookup(t, ev, "documentKey", "_id").Int32(); got != int32(round) {
			t.Fatalf("after drop %d: event for _id %d", round, got)
		}
	}
}

func TestChangeStreamOpenErrors(t *testing.T) {
	db := newDB(t)
	admin := suite.client.Database("admin")
	cases := []struct {
		name string
		db   *mongo.Database
		cmd  bson.D
		code int32
	}{
		{"not first stage", db, d("aggregate", "c", "pipeline", bson.A{d("$match", d()), d("$changeStream", d())}, "cursor", d()), 40602},
		{"admin without allChangesForCluster", admin, d("aggregate", 1, "pipeline", bson.A{d("$changeStream", d())}, "cursor", d()), 73},
		{"allChangesForCluster off admin", db, d("aggregate", 1, "pipeline", bson.A{d("$changeStream", d("allChangesForCluster", true))}, "cursor", d()), 72},
		{"local database", suite.client.Database("local"), d("aggregate", "c", "pipeline", bson.A{d("$changeStream", d())}, "cursor", d()), 73},
		{"unknown option", db, d("aggregate", "c", "pipeline", bson.A{d("$changeStream", d("bogus", 1))}, "cursor", d()), 40415},
		{"bad fullDocument", db, d("aggregate", "c", "pipeline", bson.A{d("$changeStream", d("fullDocument", "sometimes"))}, "cursor", d()), 2},
		{"two resume options", db, d("aggregate", "c", "pipeline", bson.A{d("$changeStream",
			d("startAtOperationTime", bson.Timestamp{T: 1, I: 1}, "resumeAfter", d("_data", "8200000001000000012B0229296E04")))}, "cursor", d()), 40674},
		{"stage not allowed", db, d("aggregate", "c", "pipeline", bson.A{d("$changeStream", d()), d("$group", d("_id", nil))}, "cursor", d()), 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, cmdErr(t, tc.db, tc.cmd), tc.code)
		})
	}
}
