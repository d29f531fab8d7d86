package conformance

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The oplog as tools read it: local.oplog.rs through find, appendOplogNote,
// and the optimes of replSetGetStatus and serverStatus.

func oplogColl() *mongo.Collection { return suite.client.Database("local").Collection("oplog.rs") }

// opTimeOf returns a reply's operationTime.
func opTimeOf(t *testing.T, r bson.Raw) bson.Timestamp {
	t.Helper()
	ts, i := lookup(t, r, "operationTime").Timestamp()
	return bson.Timestamp{T: ts, I: i}
}

func TestOplogEntriesOfWrites(t *testing.T) {
	db := newDB(t)
	nsName := db.Name() + ".c"
	r := runWrite(t, db, d("insert", "c", "documents", bson.A{d("_id", 1, "x", 1)}))
	start := opTimeOf(t, r)
	runWrite(t, db, d("insert", "c", "documents", bson.A{d("_id", 2, "x", 2)}))
	runWrite(t, db, d("update", "c", "updates", bson.A{d("q", d("_id", 2), "u", d("$set", d("x", 3)))}))
	runWrite(t, db, d("delete", "c", "deletes", bson.A{d("q", d("_id", 1), "limit", 1)}))
	uuid := uuidOf(t, db, "c")
	filter := d("ns", nsName, "ts", d("$gte", start))
	entries := findAll(t, oplogColl(), filter)
	if len(entries) != 4 {
		t.Fatalf("%d oplog entries for %s since %v: %v", len(entries), nsName, start, entries)
	}
	wantOps := []string{"i", "i", "u", "d"}
	var prev bson.Timestamp
	for i, e := range entries {
		if op := lookup(t, e, "op").StringValue(); op != wantOps[i] {
			t.Fatalf("entry %d op %q, want %q: %s", i, op, wantOps[i], e)
		}
		if err := isUUID(uuid)(lookup(t, e, "ui")); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		tsT, tsI := lookup(t, e, "ts").Timestamp()
		ts := bson.Timestamp{T: tsT, I: tsI}
		if i == 0 && ts != start {
			t.Fatalf("first entry at %v, the insert's operationTime is %v", ts, start)
		}
		if ts.Compare(prev) <= 0 {
			t.Fatalf("entry %d at %v not after %v", i, ts, prev)
		}
		prev = ts
		if lookup(t, e, "t").Type != bson.TypeInt64 || lookup(t, e, "wall").Type != bson.TypeDateTime {
			t.Fatalf("entry %d: t/wall types: %s", i, e)
		}
	}
	if string(lookup(t, entries[0], "o").Document()) != string(raw(t, d("_id", 1, "x", 1))) {
		t.Fatalf("insert entry o: %s", entries[0])
	}
	if string(lookup(t, entries[2], "o2").Document()) != string(raw(t, d("_id", 2))) {
		t.Fatalf("update entry o2: %s", entries[2])
	}
	if string(lookup(t, entries[3], "o").Document()) != string(raw(t, d("_id", 1))) {
		t.Fatalf("delete entry o: %s", entries[3])
	}
	// $natural: -1 reads the same entries newest first.
	rev := findAll(t, oplogColl(), filter, options.Find().SetSort(d("$natural", -1)))
	if len(rev) != 4 {
		t.Fatalf("reverse scan: %d entries", len(rev))
	}
	for i := range rev {
		if string(rev[i]) != string(entries[3-i]) {
			t.Fatalf("reverse entry %d: %s, want %s", i, rev[i], entries[3-i])
		}
	}
	// A limited reverse scan is the usual "latest oplog entry" query.
	latest := findAll(t, oplogColl(), d("ns", nsName), options.Find().SetSort(d("$natural", -1)).SetLimit(1))
	if len(latest) != 1 || string(latest[0]) != string(entries[3]) {
		t.Fatalf("latest entry: %v", latest)
	}
}

func TestOplogCommandEntries(t *testing.T) {
	db := newDB(t)
	r := runCmd(t, db, d("create", "c"))
	start := opTimeOf(t, r)
	runCmd(t, db, d("drop", "c"))
	entries := findAll(t, oplogColl(), d("ns", db.Name()+".$cmd", "ts", d("$gte", start)))
	if len(entries) != 2 {
		t.Fatalf("command entries: %v", entries)
	}
	if lookup(t, entries[0], "op").StringValue() != "c" || lookup(t, entries[0], "o", "create").StringValue() != "c" {
		t.Fatalf("create entry: %s", entries[0])
	}
	if lookup(t, entries[1], "o", "drop").StringValue() != "c" {
		t.Fatalf("drop entry: %s", entries[1])
	}
}

func TestAppendOplogNote(t *testing.T) {
	admin := suite.client.Database("admin")
	before := opTimeOf(t, runCmd(t, admin, d("ping", 1)))
	r := runCmd(t, admin, d("appendOplogNote", 1, "data", d("note", "conformance", "n", 7)))
	after := opTimeOf(t, r)
	if after.Compare(before) <= 0 {
		t.Fatalf("appendOplogNote did not advance the cluster time: %v then %v", before, after)
	}
	entries := findAll(t, oplogColl(), d("op", "n", "ts", after))
	if len(entries) != 1 {
		t.Fatalf("no-op entries at %v: %v", after, entries)
	}
	if got := lookup(t, entries[0], "o").Document(); string(got) != string(raw(t, d("note", "conformance", "n", 7))) {
		t.Fatalf("no-op o: %s", got)
	}
	wantCode(t, cmdErr(t, admin, d("appendOplogNote", 1)), 4)
	wantCode(t, cmdErr(t, admin, d("appendOplogNote", 1, "data", "x")), 14)
	// maxClusterTime at or before the newest entry: StaleClusterTime.
	wantCode(t, cmdErr(t, admin, d("appendOplogNote", 1, "data", d(), "maxClusterTime", after)), 209)
	wantCode(t, cmdErr(t, newDB(t), d("appendOplogNote", 1, "data", d())), 13)
}

func TestReplSetGetStatusOpTimes(t *testing.T) {
	db := newDB(t)
	w := opTimeOf(t, runWrite(t, db, d("insert", "c", "documents", bson.A{d("_id", 1)})))
	r := runCmd(t, suite.client.Database("admin"), d("replSetGetStatus", 1))
	for _, f := range []string{"lastCommittedOpTime", "readConcernMajorityOpTime", "appliedOpTime", "durableOpTime"} {
		tsT, tsI := lookup(t, r, "optimes", f, "ts").Timestamp()
		if (bson.Timestamp{T: tsT, I: tsI}).Compare(w) < 0 {
			t.Fatalf("optimes.%s %d,%d before the last write %v", f, tsT, tsI, w)
		}
		if lookup(t, r, "optimes", f, "t").Type != bson.TypeInt64 {
			t.Fatalf("optimes.%s.t: %s", f, r)
		}
	}
	for _, f := range []string{"lastCommittedWallTime", "lastAppliedWallTime", "lastDurableWallTime"} {
		if err := recentDate()(lookup(t, r, "optimes", f)); err != nil {
			t.Fatalf("optimes.%s: %v", f, err)
		}
	}
	member := lookup(t, r, "members").Array().Index(0).Document()
	tsT, tsI := lookup(t, member, "optime", "ts").Timestamp()
	if (bson.Timestamp{T: tsT, I: tsI}).Compare(w) < 0 {
		t.Fatalf("member optime before the last write: %s", member)
	}
}

func TestServerStatusOplogTruncation(t *testing.T) {
	s := sim(t)
	admin := suite.client.Database("admin")
	count := func() int64 {
		r := runCmd(t, admin, d("serverStatus", 1))
		tr := lookup(t, r, "oplogTruncation").Document()
		if got := keys(t, tr); len(got) < 2 || got[0] != "totalTimeProcessingMicros" || got[1] != "processingMethod" {
			t.Fatalf("oplogTruncation fields %v", got)
		}
		return lookup(t, tr, "truncateCount").Int64()
	}
	before := count()
	insertDocs(t, newDB(t).Collection("c"), d("_id", 1))
	s.ShrinkHistory()
	if after := count(); after != before+1 {
		t.Fatalf("truncateCount %d after a truncation, was %d", after, before)
	}
}

func TestOplogTailable(t *testing.T) {
	db := newDB(t)
	start := opTimeOf(t, runWrite(t, db, d("insert", "c", "documents", bson.A{d("_id", 1)})))
	r := runCmd(t, suite.client.Database("local"), d("find", "oplog.rs", "filter", d("ns", db.Name()+".c", "ts", d("$gt", start)),
		"tailable", true, "awaitData", true))
	id := lookup(t, r, "cursor", "id").Int64()
	if id == 0 || len(batchOf(t, r, "firstBatch")) != 0 {
		t.Fatalf("tailable oplog cursor: %s", r)
	}
	insertDocs(t, db.Collection("c"), d("_id", 2))
	g := runCmd(t, suite.client.Database("local"), d("getMore", id, "collection", "oplog.rs", "maxTimeMS", int64(5000)))
	next := batchDocs(t, g, "nextBatch")
	if len(next) != 1 || lookup(t, next[0], "o", "_id").Int32() != 2 {
		t.Fatalf("tailed entry: %s", g)
	}
	runCmd(t, suite.client.Database("local"), d("killCursors", "oplog.rs", "cursors", bson.A{id}))
}
