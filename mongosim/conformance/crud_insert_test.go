package conformance

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func writeErrorsOf(t *testing.T, r bson.Raw) []bson.Raw {
	t.Helper()
	v, err := r.LookupErr("writeErrors")
	if err != nil {
		return nil
	}
	vals, _ := v.Array().Values()
	out := make([]bson.Raw, len(vals))
	for i, e := range vals {
		out[i] = e.Document()
	}
	return out
}

func TestInsertOrderedStopsAtDuplicate(t *testing.T) {
	db := newDB(t)
	r := runWrite(t, db, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{
		bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "_id", Value: 2}}, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "_id", Value: 3}},
	}}})
	if n := lookup(t, r, "n").Int32(); n != 2 {
		t.Fatalf("n %d, want 2", n)
	}
	we := writeErrorsOf(t, r)
	if len(we) != 1 {
		t.Fatalf("writeErrors %v", we)
	}
	e := we[0]
	if lookup(t, e, "index").Int32() != 2 || lookup(t, e, "code").Int32() != 11000 {
		t.Fatalf("write error %s", e)
	}
	wantMsg := "E11000 duplicate key error collection: " + db.Name() + ".c index: _id_ dup key: { _id: 1 }"
	if msg := lookup(t, e, "errmsg").StringValue(); msg != wantMsg {
		t.Fatalf("errmsg %q, want %q", msg, wantMsg)
	}
	if !bytes.Equal(lookup(t, e, "keyPattern").Document(), mustMarshal(t, bson.D{{Key: "_id", Value: 1}})) {
		t.Fatalf("keyPattern %s", lookup(t, e, "keyPattern"))
	}
	if !bytes.Equal(lookup(t, e, "keyValue").Document(), mustMarshal(t, bson.D{{Key: "_id", Value: 1}})) {
		t.Fatalf("keyValue %s", lookup(t, e, "keyValue"))
	}
	if got := keys(t, e); got[0] != "index" || got[1] != "code" {
		t.Fatalf("write error field order %v", got)
	}
	if n := len(findAll(t, db.Collection("c"), bson.D{})); n != 2 {
		t.Fatalf("%d docs stored", n)
	}
}

func TestInsertUnorderedContinues(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	_, err := coll.InsertMany(ctxT(t), []any{
		bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "_id", Value: 2}}, bson.D{{Key: "_id", Value: 2}}, bson.D{{Key: "_id", Value: 3}},
	}, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) {
		t.Fatalf("want BulkWriteException, got %v", err)
	}
	if len(bwe.WriteErrors) != 2 || bwe.WriteErrors[0].Index != 1 || bwe.WriteErrors[1].Index != 3 || bwe.WriteErrors[0].Code != 11000 {
		t.Fatalf("write errors %+v", bwe.WriteErrors)
	}
	if n := len(findAll(t, coll, bson.D{})); n != 3 {
		t.Fatalf("%d docs stored", n)
	}
}

func TestInsertGeneratesObjectIDFirst(t *testing.T) {
	db := newDB(t)
	runCmd(t, db, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "a", Value: 1}, {Key: "b", Value: "x"}}}}})
	docs := findAll(t, db.Collection("c"), bson.D{})
	if len(docs) != 1 {
		t.Fatal(len(docs))
	}
	if k := keys(t, docs[0]); strings.Join(k, ",") != "_id,a,b" {
		t.Fatalf("fields %v", k)
	}
	if _, ok := docs[0].Lookup("_id").ObjectIDOK(); !ok {
		t.Fatalf("_id %s", docs[0].Lookup("_id"))
	}
}

func TestInsertMovesIDFirst(t *testing.T) {
	db := newDB(t)
	runCmd(t, db, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "a", Value: 1}, {Key: "_id", Value: 7}, {Key: "b", Value: 2}}}}})
	docs := findAll(t, db.Collection("c"), bson.D{})
	want := mustMarshal(t, bson.D{{Key: "_id", Value: 7}, {Key: "a", Value: 1}, {Key: "b", Value: 2}})
	if !bytes.Equal(docs[0], want) {
		t.Fatalf("stored %s, want %s", docs[0], bson.Raw(want))
	}
}

func TestInsertInvalidIDs(t *testing.T) {
	db := newDB(t)
	for name, id := range map[string]any{
		"array":     bson.A{1, 2},
		"regex":     bson.Regex{Pattern: "a", Options: ""},
		"undefined": bson.Undefined{},
	} {
		r := runWrite(t, db, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: id}}}}})
		we := writeErrorsOf(t, r)
		if len(we) != 1 || lookup(t, we[0], "code").Int32() != 53 {
			t.Fatalf("%s _id: %s", name, r)
		}
		if msg := lookup(t, we[0], "errmsg").StringValue(); msg != "The '_id' value cannot be of type "+name {
			t.Fatalf("%s _id message %q", name, msg)
		}
	}
	r := runWrite(t, db, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: bson.D{{Key: "$bad", Value: 1}}}}}}})
	if we := writeErrorsOf(t, r); len(we) != 1 || lookup(t, we[0], "code").Int32() != 52 {
		t.Fatalf("$-prefixed _id sub-field: %s", r)
	}
	r = runWrite(t, db, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: 1}, {Key: "_id", Value: 2}}}}})
	if we := writeErrorsOf(t, r); len(we) != 1 || lookup(t, we[0], "code").Int32() != 2 {
		t.Fatalf("two _id fields: %s", r)
	}
}

func TestInsertDollarAndDottedFieldNames(t *testing.T) {
	db := newDB(t)
	doc := bson.D{{Key: "_id", Value: 1}, {Key: "$price", Value: 5}, {Key: "a.b", Value: 2}, {Key: "n", Value: bson.D{{Key: "$x", Value: 1}, {Key: "y.z", Value: 2}}}}
	runCmd(t, db, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{doc}}})
	docs := findAll(t, db.Collection("c"), bson.D{})
	if !bytes.Equal(docs[0], mustMarshal(t, doc)) {
		t.Fatalf("stored %s", docs[0])
	}
}

// A pipeline upsert may write $-prefixed names (the documented way to
// store them with an update); a replacement may not (52).
func TestUpsertDollarFieldNamesByPipeline(t *testing.T) {
	db := newDB(t)
	doc := bson.D{{Key: "_id", Value: 1}, {Key: "$price", Value: 5}, {Key: "n", Value: bson.D{{Key: "$x", Value: 1}}}}
	runCmd(t, db, bson.D{{Key: "update", Value: "c"}, {Key: "updates", Value: bson.A{bson.D{
		{Key: "q", Value: bson.D{{Key: "_id", Value: 1}}},
		{Key: "u", Value: bson.A{bson.D{{Key: "$replaceWith", Value: bson.D{{Key: "$literal", Value: doc}}}}}},
		{Key: "upsert", Value: true},
	}}}})
	docs := findAll(t, db.Collection("c"), bson.D{})
	if len(docs) != 1 || !bytes.Equal(docs[0], mustMarshal(t, doc)) {
		t.Fatalf("stored %v", docs)
	}
	r := runWrite(t, db, bson.D{{Key: "update", Value: "c"}, {Key: "updates", Value: bson.A{bson.D{
		{Key: "q", Value: bson.D{{Key: "_id", Value: 2}}}, {Key: "u", Value: bson.D{{Key: "_id", Value: 2}, {Key: "$price", Value: 1}}}, {Key: "upsert", Value: true},
	}}}})
	if we := writeErrorsOf(t, r); len(we) != 1 || lookup(t, we[0], "code").Int32() != 52 {
		t.Fatalf("replacement with a $-prefixed name: %s", r)
	}
}

func TestInsertNestingLimit(t *testing.T) {
	db := newDB(t)
	var deep any = bson.D{{Key: "leaf", Value: 1}}
	for i := 0; i < 101; i++ {
		deep = bson.D{{Key: "x", Value: deep}}
	}
	r := runWrite(t, db, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: 1}, {Key: "d", Value: deep}}}}})
	if we := writeErrorsOf(t, r); len(we) != 1 || lookup(t, we[0], "code").Int32() != 15 {
		t.Fatalf("deep doc: %s", r)
	}
}

func TestInsertZeroTimestampFilled(t *testing.T) {
	db := newDB(t)
	runCmd(t, db, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{
		{Key: "_id", Value: 1}, {Key: "ts", Value: bson.Timestamp{}}, {Key: "n", Value: bson.D{{Key: "ts", Value: bson.Timestamp{}}}},
	}}}})
	d := findAll(t, db.Collection("c"), bson.D{})[0]
	if ts, _ := d.Lookup("ts").Timestamp(); ts == 0 {
		t.Fatalf("top-level Timestamp(0,0) not replaced: %s", d)
	}
	if ts, i := d.Lookup("n", "ts").Timestamp(); ts != 0 || i != 0 {
		t.Fatalf("nested Timestamp(0,0) changed: %s", d)
	}
}

func TestInsertCommandErrors(t *testing.T) {
	db := newDB(t)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{}}}), 16)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{}}}, {Key: "bogusField", Value: 1}}), 40415)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "insert", Value: "system.bogus"}, {Key: "documents", Value: bson.A{bson.D{}}}}), 73)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "insert", Value: 5}, {Key: "documents", Value: bson.A{bson.D{}}}}), 73)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "insert", Value: "c"}}), 40414)
}

func TestInsertReplyShape(t *testing.T) {
	db := newDB(t)
	r := runWrite(t, db, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "_id", Value: 2}}}}})
	k := keys(t, r)
	if k[0] != "n" || lookup(t, r, "n").Int32() != 2 {
		t.Fatalf("insert reply fields %v", k)
	}
	if _, err := r.LookupErr("writeErrors"); err == nil {
		t.Fatal("writeErrors present without errors")
	}
	if _, _, ok := lookup(t, r, "operationTime").TimestampOK(); !ok {
		t.Fatal("no operationTime")
	}
}

// Every write ticks the cluster time: operationTime strictly increases.
func TestClusterTimeAdvancesPerWrite(t *testing.T) {
	db := newDB(t)
	var lastT, lastI uint32
	for i := 0; i < 5; i++ {
		r := runWrite(t, db, bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: i}}}}})
		ts, inc := lookup(t, r, "operationTime").Timestamp()
		if ts < lastT || (ts == lastT && inc <= lastI) {
			t.Fatalf("operationTime %d,%d not after %d,%d", ts, inc, lastT, lastI)
		}
		ct, ci := lookup(t, r, "$clusterTime", "clusterTime").Timestamp()
		if ct < ts || (ct == ts && ci < inc) {
			t.Fatalf("$clusterTime %d,%d before operationTime %d,%d", ct, ci, ts, inc)
		}
		lastT, lastI = ts, inc
	}
}

// A document over 16 MiB is refused with a write error; sent as an OP_MSG
// document sequence, which may carry it (16 MiB + 16 KiB).
func TestInsertTooLarge(t *testing.T) {
	db := newDB(t)
	c := dialRaw(t)
	body := mustMarshal(t, bson.D{{Key: "insert", Value: "big"}, {Key: "$db", Value: db.Name()}})
	big := mustMarshal(t, bson.D{{Key: "_id", Value: 1}, {Key: "pad", Value: strings.Repeat("x", 16<<20)}})
	m := seqMsg(61, body, "documents", big)
	c.write(m)
	_, _, reply := c.readMsg()
	we := writeErrorsOf(t, reply)
	if lookup(t, reply, "n").Int32() != 0 || len(we) != 1 {
		t.Fatalf("too-large insert: %s", reply)
	}
	if msg := lookup(t, we[0], "errmsg").StringValue(); !strings.HasPrefix(msg, "object to insert too large. size in bytes: ") {
		t.Fatalf("errmsg %q", msg)
	}
}

// bypassDocumentValidation belongs to every write command (mongod's
// WriteCommandRequestBase, a safeBool): a string is rejected before any
// statement runs, delete included.
func TestWriteCommandsTypeCheckBypassDocumentValidation(t *testing.T) {
	db := newDB(t)
	insertDocs(t, db.Collection("c"), bson.D{{Key: "_id", Value: 1}})
	cmds := []bson.D{
		{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: 2}}}}},
		{{Key: "update", Value: "c"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{}},
			{Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: 1}}}}}}}}},
		{{Key: "delete", Value: "c"}, {Key: "deletes", Value: bson.A{bson.D{{Key: "q", Value: bson.D{}}, {Key: "limit", Value: 0}}}}},
	}
	for _, cmd := range cmds {
		name := cmd[0].Key
		cmd = append(cmd, bson.E{Key: "bypassDocumentValidation", Value: "yes"})
		err := db.RunCommand(ctxT(t), cmd).Err()
		wantCodeMsg(t, err, 14, "BSON field '"+name+".bypassDocumentValidation' is the wrong type 'string', expected types '[bool, long, int, decimal, double]'")
	}
	wantDocsExactly(t, "after the rejected writes", docsOf(t, db.Collection("c")), bson.D{{Key: "_id", Value: 1}})
}
