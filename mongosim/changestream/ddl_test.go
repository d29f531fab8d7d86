package changestream

import (
	"bytes"
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
)

var expandedOpt = bsonkit.D("showExpandedEvents", bsonkit.Bool(true))

func idIndex() bsoncore.Document {
	return bsonkit.D("v", bsonkit.Int32(2), "key", bsonkit.DocValue(bsonkit.D("_id", bsonkit.Int32(1))), "name", bsonkit.String("_id_"))
}

func TestDDLEventsOnlyWithShowExpandedEvents(t *testing.T) {
	r := newRecorder(t)
	plain := mustOpen(t, r.h, mustSpec(t, "db", "", bsonkit.D()), Env{})
	exp := mustOpen(t, r.h, mustSpec(t, "db", "", expandedOpt), Env{NsType: true})
	ix := bsonkit.D("v", bsonkit.Int32(2), "key", bsonkit.DocValue(bsonkit.D("a", bsonkit.Int32(1))), "name", bsonkit.String("a_1"))
	createOpts := bsonkit.D("idIndex", bsonkit.DocValue(idIndex()))
	modDesc := bsonkit.D("index", bsonkit.DocValue(bsonkit.D("name", bsonkit.String("a_1"), "hidden", bsonkit.Bool(true))))
	before := bsonkit.D("collectionOptions", bsonkit.DocValue(bsonkit.D("uuid", bsonkit.Binary(4, uuidA[:]))),
		"indexOptions", bsonkit.DocValue(bsonkit.D("hidden", bsonkit.Bool(false))))
	r.add(&Entry{Op: OpCreate, DB: "db", Coll: "c", UUID: uuidA, CreateOptions: createOpts, NsType: "collection"})
	r.add(&Entry{Op: OpCreateIndexes, DB: "db", Coll: "c", UUID: uuidA, Indexes: []bsoncore.Document{ix}})
	r.add(&Entry{Op: OpModify, DB: "db", Coll: "c", UUID: uuidA, ModifyDesc: modDesc, StateBefore: before})
	r.add(&Entry{Op: OpDropIndexes, DB: "db", Coll: "c", UUID: uuidA, Indexes: []bsoncore.Document{ix}})
	r.add(insertEntry("db", "c", uuidA, idDoc(1)))

	if got := opTypes(drainAll(t, plain)); got != "insert" {
		t.Fatalf("plain stream saw %s", got)
	}
	ev := drainAll(t, exp)
	if got := opTypes(ev); got != "create,createIndexes,modify,dropIndexes,insert" {
		t.Fatalf("expanded stream saw %s", got)
	}
	if got := keys(ev[0]); got != "_id,operationType,clusterTime,collectionUUID,wallTime,ns,operationDescription,nsType" {
		t.Fatalf("create keys %s", got)
	}
	if !bytes.Equal(ev[0].Lookup("operationDescription").Document(), createOpts) || ev[0].Lookup("nsType").StringValue() != "collection" {
		t.Fatalf("create %v", ev[0])
	}
	if got := keys(ev[1]); got != "_id,operationType,clusterTime,collectionUUID,wallTime,ns,operationDescription" {
		t.Fatalf("createIndexes keys %s", got)
	}
	want := bsonkit.D("indexes", bsonkit.Array(bsonkit.DocValue(ix)))
	if !bytes.Equal(ev[1].Lookup("operationDescription").Document(), want) || !bytes.Equal(ev[3].Lookup("operationDescription").Document(), want) {
		t.Fatalf("index operationDescription %v / %v", ev[1].Lookup("operationDescription"), ev[3].Lookup("operationDescription"))
	}
	if got := keys(ev[2]); got != "_id,operationType,clusterTime,collectionUUID,wallTime,ns,operationDescription,stateBeforeChange" {
		t.Fatalf("modify keys %s", got)
	}
	if !bytes.Equal(ev[2].Lookup("operationDescription").Document(), modDesc) || !bytes.Equal(ev[2].Lookup("stateBeforeChange").Document(), before) {
		t.Fatalf("modify %v", ev[2])
	}
}

func TestNsTypeOnlyWhenEnabled(t *testing.T) {
	r := newRecorder(t)
	s := mustOpen(t, r.h, mustSpec(t, "db", "", expandedOpt), Env{})
	r.add(&Entry{Op: OpCreate, DB: "db", Coll: "c", UUID: uuidA, NsType: "collection"})
	ev := drainAll(t, s)
	if got := keys(ev[0]); got != "_id,operationType,clusterTime,collectionUUID,wallTime,ns,operationDescription" {
		t.Fatalf("create keys %s", got)
	}
	if len(ev[0].Lookup("operationDescription").Document()) != 5 {
		t.Fatal("create without options has an empty operationDescription")
	}
}

func TestViewEventsOnlyOnDatabaseAndClusterStreams(t *testing.T) {
	r := newRecorder(t)
	coll := mustOpen(t, r.h, mustSpec(t, "db", "v", expandedOpt), Env{})
	db := mustOpen(t, r.h, mustSpec(t, "db", "", expandedOpt), Env{})
	viewOpts := bsonkit.D("viewOn", bsonkit.String("c"), "pipeline", bsonkit.Array())
	r.add(&Entry{Op: OpCreate, DB: "db", Coll: "v", View: true, CreateOptions: viewOpts, NsType: "view"})
	r.add(&Entry{Op: OpDrop, DB: "db", Coll: "v", View: true})
	if got := drainAll(t, coll); len(got) != 0 {
		t.Fatalf("collection stream on a view name saw %s", opTypes(got))
	}
	ev := drainAll(t, db)
	if opTypes(ev) != "create,drop" {
		t.Fatalf("db stream saw %s", opTypes(ev))
	}
	if keys(ev[0]) != "_id,operationType,clusterTime,wallTime,ns,operationDescription" {
		t.Fatalf("view create keys %s (no collectionUUID for views)", keys(ev[0]))
	}
}

func TestDropInvalidatesCollectionStream(t *testing.T) {
	r := newRecorder(t)
	coll := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D()), Env{})
	db := mustOpen(t, r.h, mustSpec(t, "db", "", bsonkit.D()), Env{})
	cluster := mustOpen(t, r.h, mustSpec(t, "admin", "", bsonkit.D("allChangesForCluster", bsonkit.Bool(true))), Env{})
	r.add(insertEntry("db", "c", uuidA, idDoc(1)))
	drop := r.add(&Entry{Op: OpDrop, DB: "db", Coll: "c", UUID: uuidA})
	r.add(insertEntry("db", "c", uuidB, idDoc(2)))

	b, err := coll.Next(bgCtx, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if opTypes(b.Events) != "insert,drop,invalidate" || !b.Invalidated {
		t.Fatalf("collection stream: %s invalidated=%v", opTypes(b.Events), b.Invalidated)
	}
	if keys(b.Events[1]) != "_id,operationType,clusterTime,wallTime,ns" {
		t.Fatalf("drop keys %s", keys(b.Events[1]))
	}
	inv := b.Events[2]
	if keys(inv) != "_id,operationType,clusterTime,wallTime" {
		t.Fatalf("invalidate keys %s", keys(inv))
	}
	if ts, i := inv.Lookup("clusterTime").Timestamp(); ts != drop.TS.T || i != drop.TS.I {
		t.Fatal("invalidate clusterTime is the drop's")
	}
	itok := tokenOf(t, inv)
	if !itok.FromInvalidate || itok.TS != drop.TS || tokenOf(t, b.Events[1]).Compare(itok) >= 0 {
		t.Fatalf("invalidate token %+v", itok)
	}
	if !bytes.Equal(b.PostBatchResumeToken, inv.Lookup("_id").Document()) {
		t.Fatal("postBatchResumeToken must be the invalidate's token")
	}
	// Nothing after the invalidate.
	b, err = coll.Next(bgCtx, Limits{})
	if err != nil || len(b.Events) != 0 || !b.Invalidated {
		t.Fatalf("after invalidate: %v %d %v", err, len(b.Events), b.Invalidated)
	}
	if got := opTypes(drainAll(t, db)); got != "insert,drop,insert" {
		t.Fatalf("database stream saw %s", got)
	}
	if got := opTypes(drainAll(t, cluster)); got != "insert,drop,insert" {
		t.Fatalf("cluster stream saw %s", got)
	}
}

func TestRenameEventAndInvalidation(t *testing.T) {
	for _, exp := range []bool{false, true} {
		r := newRecorder(t)
		opts := bsonkit.D("showExpandedEvents", bsonkit.Bool(exp))
		src := mustOpen(t, r.h, mustSpec(t, "db", "a", opts), Env{})
		dst := mustOpen(t, r.h, mustSpec(t, "db", "b", opts), Env{})
		other := mustOpen(t, r.h, mustSpec(t, "db", "x", opts), Env{})
		db := mustOpen(t, r.h, mustSpec(t, "db", "", opts), Env{})
		r.add(&Entry{Op: OpRename, DB: "db", Coll: "a", UUID: uuidA, ToDB: "db", ToColl: "b", DropTarget: uuidB})
		for name, s := range map[string]*Stream{"source": src, "target": dst} {
			ev := drainAll(t, s)
			if opTypes(ev) != "rename,invalidate" {
				t.Fatalf("%s stream: %s", name, opTypes(ev))
			}
			want := "to,_id,operationType,clusterTime,wallTime,ns"
			if exp {
				want = "to,_id,operationType,clusterTime,collectionUUID,wallTime,ns,operationDescription"
			}
			if keys(ev[0]) != want {
				t.Fatalf("rename keys %s, want %s", keys(ev[0]), want)
			}
			to := ev[0].Lookup("to").Document()
			if to.Lookup("db").StringValue() != "db" || to.Lookup("coll").StringValue() != "b" {
				t.Fatalf("to %v", to)
			}
			if ev[0].Lookup("ns").Document().Lookup("coll").StringValue() != "a" {
				t.Fatal("ns is the source")
			}
			if exp {
				od := ev[0].Lookup("operationDescription").Document()
				if keys(od) != "to,dropTarget" || !bytes.Equal(od.Lookup("to").Document(), to) {
					t.Fatalf("operationDescription %v", od)
				}
				if _, u := od.Lookup("dropTarget").Binary(); !bytes.Equal(u, uuidB[:]) {
					t.Fatal("dropTarget")
				}
			}
		}
		if ev := drainAll(t, other); len(ev) != 0 {
			t.Fatalf("unrelated collection saw %s", opTypes(ev))
		}
		if got := opTypes(drainAll(t, db)); got != "rename" {
			t.Fatalf("db stream saw %s", got)
		}
	}
}

func TestDropDatabase(t *testing.T) {
	r := newRecorder(t)
	coll := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D()), Env{})
	db := mustOpen(t, r.h, mustSpec(t, "db", "", bsonkit.D()), Env{})
	cluster := mustOpen(t, r.h, mustSpec(t, "admin", "", bsonkit.D("allChangesForCluster", bsonkit.Bool(true))), Env{})
	// mongod drops each collection first, then writes dropDatabase.
	r.add(&Entry{Op: OpDrop, DB: "db", Coll: "c", UUID: uuidA})
	r.add(&Entry{Op: OpDrop, DB: "db", Coll: "d", UUID: uuidB})
	ddb := r.add(&Entry{Op: OpDropDatabase, DB: "db"})
	r.add(insertEntry("db", "c", uuidA, idDoc(1)))

	if got := opTypes(drainAll(t, coll)); got != "drop,invalidate" {
		t.Fatalf("collection stream: %s", got)
	}
	ev := drainAll(t, db)
	if opTypes(ev) != "drop,drop,dropDatabase,invalidate" {
		t.Fatalf("database stream: %s", opTypes(ev))
	}
	if keys(ev[2]) != "_id,operationType,clusterTime,wallTime,ns" || keys(ev[2].Lookup("ns").Document()) != "db" {
		t.Fatalf("dropDatabase %v", ev[2])
	}
	if tok := tokenOf(t, ev[2]); tok.UUID != nil || tok.TS != ddb.TS {
		t.Fatalf("dropDatabase token %+v", tok)
	}
	if got := opTypes(drainAll(t, cluster)); got != "drop,drop,dropDatabase,insert" {
		t.Fatalf("cluster stream: %s", got)
	}
}

func TestScopeFiltering(t *testing.T) {
	r := newRecorder(t)
	cluster := mustOpen(t, r.h, mustSpec(t, "admin", "", bsonkit.D("allChangesForCluster", bsonkit.Bool(true))), Env{})
	db := mustOpen(t, r.h, mustSpec(t, "db", "", bsonkit.D()), Env{})
	coll := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D()), Env{})
	r.add(insertEntry("db", "c", uuidA, idDoc(1)))
	r.add(insertEntry("db", "c2", uuidB, idDoc(2)))
	r.add(insertEntry("other", "c", uuidB, idDoc(3)))
	r.add(insertEntry("db", "system.views", uuidB, idDoc(4)))
	r.add(insertEntry("admin", "c", uuidB, idDoc(5)))
	r.add(insertEntry("config", "c", uuidB, idDoc(6)))
	r.add(insertEntry("local", "c", uuidB, idDoc(7)))
	r.add(&Entry{Op: OpNoop, Msg: bsonkit.D("msg", bsonkit.String("periodic noop"))})
	ids := func(evs []bsoncore.Document) []int32 {
		var out []int32
		for _, e := range evs {
			out = append(out, e.Lookup("documentKey", "_id").Int32())
		}
		return out
	}
	for name, c := range map[string]struct {
		s    *Stream
		want []int32
	}{"cluster": {cluster, []int32{1, 2, 3}}, "db": {db, []int32{1, 2}}, "coll": {coll, []int32{1}}} {
		got := ids(drainAll(t, c.s))
		if len(got) != len(c.want) {
			t.Fatalf("%s: %v, want %v", name, got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("%s: %v, want %v", name, got, c.want)
			}
		}
	}
}

func TestTransactionEvents(t *testing.T) {
	r := newRecorder(t)
	s := mustOpen(t, r.h, mustSpec(t, "db", "", bsonkit.D()), Env{})
	lsid := bsonkit.D("id", bsonkit.Binary(4, uuidB[:]), "uid", bsonkit.Binary(0, make([]byte, 32)))
	r.add(insertEntry("db", "c", uuidA, idDoc(0)))
	r.txn(lsid, 7,
		insertEntry("db", "c", uuidA, idDoc(1)),
		insertEntry("db", "elsewhere", uuidB, idDoc(2)),
		&Entry{Op: OpDelete, DB: "db", Coll: "c", UUID: uuidA, DocumentKey: idDoc(0)})
	ev := drainAll(t, s)
	if opTypes(ev) != "insert,insert,insert,delete" {
		t.Fatalf("ops %s", opTypes(ev))
	}
	if keys(ev[0]) != "_id,operationType,clusterTime,wallTime,fullDocument,ns,documentKey" {
		t.Fatalf("non-transaction keys %s", keys(ev[0]))
	}
	if keys(ev[1]) != "txnNumber,lsid,_id,operationType,clusterTime,wallTime,fullDocument,ns,documentKey" {
		t.Fatalf("transaction insert keys %s", keys(ev[1]))
	}
	if keys(ev[3]) != "txnNumber,lsid,_id,operationType,clusterTime,wallTime,ns,documentKey" {
		t.Fatalf("transaction delete keys %s", keys(ev[3]))
	}
	ct := ev[1].Lookup("clusterTime").String()
	for i, e := range ev[1:] {
		if e.Lookup("clusterTime").String() != ct {
			t.Fatal("transaction events share one clusterTime")
		}
		if e.Lookup("txnNumber").Int64() != 7 || !bytes.Equal(e.Lookup("lsid").Document(), lsid) {
			t.Fatalf("event %d txn fields", i+1)
		}
		if tok := tokenOf(t, e); tok.TxnOpIndex != uint32(i) {
			t.Fatalf("event %d txnOpIndex %d", i+1, tok.TxnOpIndex)
		}
	}
	for i := 1; i < len(ev); i++ {
		if !(ev[i-1].Lookup("_id", "_data").StringValue() < ev[i].Lookup("_id", "_data").StringValue()) {
			t.Fatalf("tokens not increasing at %d", i)
		}
	}
}
