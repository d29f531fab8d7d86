package conformance

import (
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// seq inserts documents {_id: 1..n, v: i*10}.
func seqDocs(t *testing.T, coll *mongo.Collection, n int) {
	t.Helper()
	docs := make([]any, n)
	for i := range docs {
		docs[i] = bson.D{{Key: "_id", Value: int32(i + 1)}, {Key: "v", Value: int32((i + 1) * 10)}}
	}
	insertDocs(t, coll, docs...)
}

func batchOf(t *testing.T, r bson.Raw, field string) []bson.RawValue {
	t.Helper()
	vals, err := lookup(t, r, "cursor", field).Array().Values()
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

func TestCursorFindGetMoreExhausts(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 5)
	r := runCmd(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "sort", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "batchSize", Value: 2}})
	if got := keys(t, lookup(t, r, "cursor").Document()); strings.Join(got, ",") != "firstBatch,id,ns" {
		t.Fatalf("cursor fields %v", got)
	}
	if ns := lookup(t, r, "cursor", "ns").StringValue(); ns != db.Name()+".c" {
		t.Fatalf("ns %q", ns)
	}
	id := lookup(t, r, "cursor", "id").Int64()
	if id == 0 || len(batchOf(t, r, "firstBatch")) != 2 {
		t.Fatalf("first batch: %s", r)
	}
	var got []int32
	for _, v := range batchOf(t, r, "firstBatch") {
		got = append(got, v.Document().Lookup("_id").Int32())
	}
	for id != 0 {
		r = runCmd(t, db, bson.D{{Key: "getMore", Value: id}, {Key: "collection", Value: "c"}, {Key: "batchSize", Value: 2}})
		id = lookup(t, r, "cursor", "id").Int64()
		for _, v := range batchOf(t, r, "nextBatch") {
			got = append(got, v.Document().Lookup("_id").Int32())
		}
	}
	if len(got) != 5 || got[0] != 1 || got[4] != 5 {
		t.Fatalf("documents %v", got)
	}
}

func TestCursorDefaultFirstBatch101(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 150)
	r := runCmd(t, db, bson.D{{Key: "find", Value: "c"}})
	if n := len(batchOf(t, r, "firstBatch")); n != 101 {
		t.Fatalf("first batch %d, want 101", n)
	}
	id := lookup(t, r, "cursor", "id").Int64()
	r = runCmd(t, db, bson.D{{Key: "getMore", Value: id}, {Key: "collection", Value: "c"}})
	if n := len(batchOf(t, r, "nextBatch")); n != 49 || lookup(t, r, "cursor", "id").Int64() != 0 {
		t.Fatalf("getMore: %d docs, id %d", n, lookup(t, r, "cursor", "id").Int64())
	}
}

func TestCursorSingleBatchAndLimit(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 10)
	r := runCmd(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "batchSize", Value: 3}, {Key: "singleBatch", Value: true}})
	if lookup(t, r, "cursor", "id").Int64() != 0 || len(batchOf(t, r, "firstBatch")) != 3 {
		t.Fatalf("singleBatch: %s", r)
	}
	r = runCmd(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "batchSize", Value: 2}, {Key: "limit", Value: 3}})
	id := lookup(t, r, "cursor", "id").Int64()
	if id == 0 || len(batchOf(t, r, "firstBatch")) != 2 {
		t.Fatalf("limit 3 first batch: %s", r)
	}
	r = runCmd(t, db, bson.D{{Key: "getMore", Value: id}, {Key: "collection", Value: "c"}, {Key: "batchSize", Value: 5}})
	if len(batchOf(t, r, "nextBatch")) != 1 || lookup(t, r, "cursor", "id").Int64() != 0 {
		t.Fatalf("limit 3 getMore: %s", r)
	}
	r = runCmd(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "limit", Value: 4}})
	if lookup(t, r, "cursor", "id").Int64() != 0 || len(batchOf(t, r, "firstBatch")) != 4 {
		t.Fatalf("limit within first batch: %s", r)
	}
	r = runCmd(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "batchSize", Value: 0}})
	if lookup(t, r, "cursor", "id").Int64() == 0 || len(batchOf(t, r, "firstBatch")) != 0 {
		t.Fatalf("batchSize 0: %s", r)
	}
}

func TestCursorKillCursors(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 5)
	r := runCmd(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "batchSize", Value: 1}})
	id := lookup(t, r, "cursor", "id").Int64()
	k := runCmd(t, db, bson.D{{Key: "killCursors", Value: "c"}, {Key: "cursors", Value: bson.A{id, int64(987654321)}}})
	if got := strings.Join(keys(t, k)[:4], ","); got != "cursorsKilled,cursorsNotFound,cursorsAlive,cursorsUnknown" {
		t.Fatalf("killCursors fields %s", got)
	}
	killed, _ := lookup(t, k, "cursorsKilled").Array().Values()
	notFound, _ := lookup(t, k, "cursorsNotFound").Array().Values()
	if len(killed) != 1 || killed[0].Int64() != id || len(notFound) != 1 || notFound[0].Int64() != 987654321 {
		t.Fatalf("killCursors reply %s", k)
	}
	wantCode(t, cmdErr(t, db, bson.D{{Key: "getMore", Value: id}, {Key: "collection", Value: "c"}}), 43)
}

func TestCursorGetMoreErrors(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 5)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "getMore", Value: int64(123456789)}, {Key: "collection", Value: "c"}}), 43)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "getMore", Value: int32(5)}, {Key: "collection", Value: "c"}}), 14)
	r := runCmd(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "batchSize", Value: 1}})
	id := lookup(t, r, "cursor", "id").Int64()
	wantCode(t, cmdErr(t, db, bson.D{{Key: "getMore", Value: id}, {Key: "collection", Value: "other"}}), 13)
	// The cursor survives a getMore on the wrong namespace.
	r = runCmd(t, db, bson.D{{Key: "getMore", Value: id}, {Key: "collection", Value: "c"}, {Key: "batchSize", Value: 1}})
	if len(batchOf(t, r, "nextBatch")) != 1 {
		t.Fatalf("cursor after bad getMore: %s", r)
	}
}

// A batch stops before exceeding 16 MiB, holding at least one document.
func TestCursorBatchByteLimit(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("big")
	pad := strings.Repeat("x", 5<<20)
	for i := 1; i <= 5; i++ {
		insertDocs(t, coll, bson.D{{Key: "_id", Value: i}, {Key: "pad", Value: pad}})
	}
	r := runCmd(t, db, bson.D{{Key: "find", Value: "big"}, {Key: "sort", Value: bson.D{{Key: "_id", Value: 1}}}})
	if n := len(batchOf(t, r, "firstBatch")); n != 3 {
		t.Fatalf("first batch of 5 MiB docs holds %d, want 3", n)
	}
	id := lookup(t, r, "cursor", "id").Int64()
	r = runCmd(t, db, bson.D{{Key: "getMore", Value: id}, {Key: "collection", Value: "big"}})
	if n := len(batchOf(t, r, "nextBatch")); n != 2 {
		t.Fatalf("getMore holds %d, want 2", n)
	}
	// The driver sees all five through getMore.
	if docs := findAll(t, coll, bson.D{}); len(docs) != 5 {
		t.Fatalf("driver read %d docs", len(docs))
	}
}

func TestCursorDriverIterationLargeCollection(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	seqDocs(t, coll, 1000)
	docs := findAll(t, coll, bson.D{}, options.Find().SetBatchSize(64).SetSort(bson.D{{Key: "_id", Value: -1}}))
	if len(docs) != 1000 {
		t.Fatalf("%d docs", len(docs))
	}
	for i, d := range docs {
		if got := d.Lookup("_id").Int32(); got != int32(1000-i) {
			t.Fatalf("doc %d has _id %d", i, got)
		}
	}
}

func TestCursorNoCursorTimeoutAccepted(t *testing.T) {
	db := newDB(t)
	seqDocs(t, db.Collection("c"), 3)
	r := runCmd(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "batchSize", Value: 1}, {Key: "noCursorTimeout", Value: true}})
	id := lookup(t, r, "cursor", "id").Int64()
	if id == 0 {
		t.Fatal("no cursor")
	}
	runCmd(t, db, bson.D{{Key: "killCursors", Value: "c"}, {Key: "cursors", Value: bson.A{id}}})
}

// Cursors hold no lock between batches: writes proceed while a cursor is
// open, and an _id-ordered scan resumes after the last _id it returned.
func TestCursorResumesAfterConcurrentWrites(t *testing.T) {
	sim(t) // snapshot visibility between getMores is engine-specific on mongod
	db := newDB(t)
	coll := db.Collection("c")
	seqDocs(t, coll, 6)
	r := runCmd(t, db, bson.D{{Key: "find", Value: "c"}, {Key: "sort", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "batchSize", Value: 2}})
	id := lookup(t, r, "cursor", "id").Int64()
	if _, err := coll.DeleteOne(ctxT(t), bson.D{{Key: "_id", Value: 4}}); err != nil {
		t.Fatal(err)
	}
	insertDocs(t, coll, bson.D{{Key: "_id", Value: 10}})
	var got []int32
	for id != 0 {
		r = runCmd(t, db, bson.D{{Key: "getMore", Value: id}, {Key: "collection", Value: "c"}})
		id = lookup(t, r, "cursor", "id").Int64()
		for _, v := range batchOf(t, r, "nextBatch") {
			got = append(got, v.Document().Lookup("_id").Int32())
		}
	}
	want := []int32{3, 5, 6, 10}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
