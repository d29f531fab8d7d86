package changestream

import (
	"bytes"
	"encoding/hex"
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
)

func TestSessionLSID(t *testing.T) {
	id := bsonkit.Binary(4, uuidA[:])
	anon := SessionLSID(id, "", "")
	if keys(anon) != "id,uid" {
		t.Fatalf("keys %s", keys(anon))
	}
	_, uid := anon.Lookup("uid").Binary()
	// SHA-256 of the empty string: the uid of unauthenticated sessions.
	if hex.EncodeToString(uid) != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("uid %x", uid)
	}
	_, named := SessionLSID(id, "alice", "admin").Lookup("uid").Binary()
	if bytes.Equal(named, uid) || len(named) != 32 {
		t.Fatal("user uid")
	}
}

func TestOplogDocuments(t *testing.T) {
	r := newRecorder(t)
	lsid := bsonkit.D("id", bsonkit.Binary(4, uuidB[:]))
	ins := insertEntry("db", "c", uuidA, idDoc(1))
	ins.LSID, ins.TxnNumber = lsid, 3 // retryable write
	r.add(ins)
	upd := r.add(updateEntry(bsonkit.D("_id", bsonkit.Int32(1), "a", bsonkit.Int32(1), "b", bsonkit.Int32(1)),
		bsonkit.D("_id", bsonkit.Int32(1), "a", bsonkit.Int32(2)), false))
	del := r.add(&Entry{Op: OpDelete, DB: "db", Coll: "c", UUID: uuidA, DocumentKey: idDoc(1)})
	ren := r.add(&Entry{Op: OpRename, DB: "db", Coll: "c", UUID: uuidA, ToDB: "db", ToColl: "d", DropTarget: uuidB})
	ix := bsonkit.D("v", bsonkit.Int32(2), "key", bsonkit.DocValue(bsonkit.D("a", bsonkit.Int32(1))), "name", bsonkit.String("a_1"))
	drix := r.add(&Entry{Op: OpDropIndexes, DB: "db", Coll: "d", UUID: uuidA, Indexes: []bsoncore.Document{ix}})

	cases := []struct {
		e          *Entry
		keys, op   string
		ns, o, o2  string
		skipValues bool
	}{
		{e: r.h.Entries(Timestamp{}, Timestamp{})[0], keys: "op,ns,o,ts,t,v,wall", op: "n", ns: "", o: `{"msg": "initiating set"}`},
		{e: ins, keys: "lsid,txnNumber,op,ns,ui,o,o2,ts,t,v,wall", op: "i", ns: "db.c", o: `{"_id": {"$numberInt":"1"}}`, o2: `{"_id": {"$numberInt":"1"}}`},
		{e: upd, keys: "op,ns,ui,o,o2,ts,t,v,wall", op: "u", ns: "db.c",
			o: `{"$v": {"$numberInt":"2"},"diff": {"d": {"b": false},"u": {"a": {"$numberInt":"2"}}}}`, o2: `{"_id": {"$numberInt":"1"}}`},
		{e: del, keys: "op,ns,ui,o,ts,t,v,wall", op: "d", ns: "db.c", o: `{"_id": {"$numberInt":"1"}}`},
		{e: ren, keys: "op,ns,ui,o,ts,t,v,wall", op: "c", ns: "db.$cmd", skipValues: true},
		{e: drix, keys: "op,ns,ui,o,o2,ts,t,v,wall", op: "c", ns: "db.$cmd", o: `{"dropIndexes": "d","index": "a_1"}`, o2: ix.String()},
	}
	for i, c := range cases {
		d := c.e.OplogDocument(1)
		if keys(d) != c.keys {
			t.Fatalf("case %d keys %s, want %s", i, keys(d), c.keys)
		}
		if d.Lookup("op").StringValue() != c.op || d.Lookup("ns").StringValue() != c.ns {
			t.Fatalf("case %d op/ns %v", i, d)
		}
		if ts, inc := d.Lookup("ts").Timestamp(); ts != c.e.TS.T || inc != c.e.TS.I || d.Lookup("t").Int64() != 1 || d.Lookup("v").Int64() != 2 {
			t.Fatalf("case %d ts/t/v %v", i, d)
		}
		if d.Lookup("wall").DateTime() != c.e.Wall.UnixMilli() {
			t.Fatalf("case %d wall", i)
		}
		if c.skipValues {
			continue
		}
		if got := d.Lookup("o").Document().String(); got != c.o {
			t.Fatalf("case %d o %s, want %s", i, got, c.o)
		}
		if c.o2 != "" && d.Lookup("o2").Document().String() != c.o2 {
			t.Fatalf("case %d o2 %s", i, d.Lookup("o2"))
		}
	}
	ro := ren.OplogDocument(1).Lookup("o").Document()
	if keys(ro) != "renameCollection,to,stayTemp,dropTarget" || ro.Lookup("to").StringValue() != "db.d" {
		t.Fatalf("rename o %v", ro)
	}
}
