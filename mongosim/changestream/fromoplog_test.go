package changestream

import (
	"bytes"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/update"
)

func TestFromOplogCRUD(t *testing.T) {
	ui := [16]byte(*uuidA)
	wall := time.UnixMilli(1_700_000_000_123)
	doc := zooDoc(1)
	e, err := FromOplog(OplogWrite{Op: "i", NS: "db.c", UI: &ui, O: doc, TS: [2]uint32{10, 2}, Wall: wall})
	if err != nil || e.Op != OpInsert || e.DB != "db" || e.Coll != "c" || *e.UUID != *uuidA || e.TS != (Timestamp{10, 2}) ||
		!bytes.Equal(e.Doc, doc) || !bytes.Equal(e.DocumentKey, idDoc(1)) || !e.Wall.Equal(wall) {
		t.Fatalf("insert %+v %v", e, err)
	}
	e, _ = FromOplog(OplogWrite{Op: "d", NS: "db.c", UI: &ui, O: idDoc(1), Pre: doc, PrePostImages: true})
	if e.Op != OpDelete || !bytes.Equal(e.DocumentKey, idDoc(1)) || !bytes.Equal(e.PreImage, doc) || !e.PrePostImages {
		t.Fatalf("delete %+v", e)
	}
	repl := bsonkit.D("_id", bsonkit.Int32(1), "z", bsonkit.Int32(1))
	e, _ = FromOplog(OplogWrite{Op: "u", NS: "db.c", UI: &ui, O: repl, O2: idDoc(1), Pre: doc, Post: repl})
	if e.Op != OpReplace || !bytes.Equal(e.Doc, repl) {
		t.Fatalf("replace %+v", e)
	}
	// An operator update: the description ApplyDescribed reports.
	u, err := update.Compile(bsonkit.DocValue(bsonkit.D("$set", bsonkit.DocValue(bsonkit.D("a.b", bsonkit.Int32(5))),
		"$unset", bsonkit.DocValue(bsonkit.D("nan", bsonkit.String(""))))), update.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := u.ApplyDescribed(doc, update.ApplyCtx{MatchPos: -1})
	if err != nil || res.Description == nil {
		t.Fatalf("apply: %v %+v", err, res)
	}
	w := OplogWrite{Op: "u", NS: "db.c", UI: &ui, O: res.Description.Document(false), O2: idDoc(1), Pre: doc, Post: res.Doc,
		Update: res.Description, TS: [2]uint32{11, 1}, Wall: wall}
	e, _ = FromOplog(w)
	if e.Op != OpUpdate || e.Update != res.Description || !bytes.Equal(e.Doc, res.Doc) {
		t.Fatalf("update %+v", e)
	}
	// The same write without the description still reads as an update.
	w.Update = nil
	if e2, _ := FromOplog(w); e2.Op != OpUpdate {
		t.Fatalf("update from images: %v", e2.Op)
	}
	// Through a stream: the event carries exactly that description.
	h := NewHistory(Timestamp{10, 0}, Retention{})
	s := mustOpen(t, h, mustSpec(t, "db", "c", bsonkit.D("startAtOperationTime", bsonkit.Timestamp(10, 1))), Env{})
	e.TS = Timestamp{11, 1}
	if err := h.Append(e); err != nil {
		t.Fatal(err)
	}
	ev := drainAll(t, s)
	if len(ev) != 1 || !bytes.Equal(ev[0].Lookup("updateDescription").Document(), res.Description.Document(false)) {
		t.Fatalf("events %v", ev)
	}
	n, _ := FromOplog(OplogWrite{Op: "n", NS: "", O: bsonkit.D("msg", bsonkit.String("periodic noop"))})
	if n.Op != OpNoop || n.Msg.Lookup("msg").StringValue() != "periodic noop" {
		t.Fatalf("noop %+v", n)
	}
	if _, err := FromOplog(OplogWrite{Op: "x", NS: "db.c"}); err == nil {
		t.Fatal("unknown op")
	}
	if _, err := FromOplog(OplogWrite{Op: "i", NS: "nodot"}); err == nil {
		t.Fatal("bad ns")
	}
}

func TestFromOplogCommands(t *testing.T) {
	ui := [16]byte(*uuidA)
	target := [16]byte(*uuidB)
	spec := bsonkit.D("v", bsonkit.Int32(2), "key", bsonkit.DocValue(bsonkit.D("a", bsonkit.Int32(1))), "name", bsonkit.String("a_1"))
	cases := []struct {
		name  string
		w     OplogWrite
		check func(e *Entry) bool
	}{
		{"create", OplogWrite{Op: "c", NS: "db.$cmd", UI: &ui, O: bsonkit.D("create", bsonkit.String("c"), "idIndex", bsonkit.DocValue(idIndex()))},
			func(e *Entry) bool {
				return e.Op == OpCreate && e.Coll == "c" && e.NsType == "collection" && !e.View &&
					bytes.Equal(e.CreateOptions, bsonkit.D("idIndex", bsonkit.DocValue(idIndex())))
			}},
		{"create view", OplogWrite{Op: "c", NS: "db.$cmd", O: bsonkit.D("create", bsonkit.String("v"), "viewOn", bsonkit.String("c"), "pipeline", bsonkit.Array())},
			func(e *Entry) bool { return e.Op == OpCreate && e.View && e.NsType == "view" && e.UUID == nil }},
		{"createIndexes", OplogWrite{Op: "c", NS: "db.$cmd", UI: &ui, O: append(bsoncore.Document(nil), bsonkit.D("createIndexes", bsonkit.String("c"), "v", bsonkit.Int32(2), "key", bsonkit.DocValue(bsonkit.D("a", bsonkit.Int32(1))), "name", bsonkit.String("a_1"))...)},
			func(e *Entry) bool {
				return e.Op == OpCreateIndexes && len(e.Indexes) == 1 && bytes.Equal(e.Indexes[0], spec)
			}},
		{"commitIndexBuild", OplogWrite{Op: "c", NS: "db.$cmd", UI: &ui, O: bsonkit.D("commitIndexBuild", bsonkit.String("c"), "indexes", bsonkit.Array(bsonkit.DocValue(spec), bsonkit.DocValue(spec)))},
			func(e *Entry) bool { return e.Op == OpCreateIndexes && len(e.Indexes) == 2 }},
		{"dropIndexes with spec", OplogWrite{Op: "c", NS: "db.$cmd", UI: &ui, O: bsonkit.D("dropIndexes", bsonkit.String("c"), "index", bsonkit.String("a_1")), O2: spec},
			func(e *Entry) bool { return e.Op == OpDropIndexes && bytes.Equal(e.Indexes[0], spec) }},
		{"dropIndexes without spec", OplogWrite{Op: "c", NS: "db.$cmd", UI: &ui, O: bsonkit.D("dropIndexes", bsonkit.String("c"), "index", bsonkit.String("a_1"))},
			func(e *Entry) bool { return e.Indexes[0].Lookup("name").StringValue() == "a_1" }},
		{"drop", OplogWrite{Op: "c", NS: "db.$cmd", UI: &ui, O: bsonkit.D("drop", bsonkit.String("c"))},
			func(e *Entry) bool { return e.Op == OpDrop && e.Coll == "c" && e.DB == "db" }},
		{"rename", OplogWrite{Op: "c", NS: "db.$cmd", UI: &ui, O: bsonkit.D("renameCollection", bsonkit.String("db.a"), "to", bsonkit.String("db2.b"),
			"stayTemp", bsonkit.Bool(false), "dropTarget", bsonkit.Binary(4, target[:]))},
			func(e *Entry) bool {
				return e.Op == OpRename && e.DB == "db" && e.Coll == "a" && e.ToDB == "db2" && e.ToColl == "b" && *e.DropTarget == *uuidB
			}},
		{"rename with boolean dropTarget", OplogWrite{Op: "c", NS: "db.$cmd", UI: &ui, O: bsonkit.D("renameCollection", bsonkit.String("db.a"), "to", bsonkit.String("db.b"), "dropTarget", bsonkit.Bool(true))},
			func(e *Entry) bool { return e.Op == OpRename && e.DropTarget == nil }},
		{"dropDatabase", OplogWrite{Op: "c", NS: "db.$cmd", O: bsonkit.D("dropDatabase", bsonkit.Int32(1))},
			func(e *Entry) bool { return e.Op == OpDropDatabase && e.DB == "db" && e.Coll == "" && e.UUID == nil }},
		{"collMod", OplogWrite{Op: "c", NS: "db.$cmd", UI: &ui, O: bsonkit.D("collMod", bsonkit.String("c"), "validationLevel", bsonkit.String("off")),
			O2: bsonkit.D("collectionOptions_old", bsonkit.DocValue(bsonkit.D("uuid", bsonkit.Binary(4, ui[:]))))},
			func(e *Entry) bool {
				return e.Op == OpModify && keys(e.ModifyDesc) == "validationLevel" && keys(e.StateBefore) == "collectionOptions"
			}},
	}
	for _, c := range cases {
		e, err := FromOplog(c.w)
		if err != nil || !c.check(e) {
			t.Errorf("%s: %+v %v", c.name, e, err)
		}
	}
	if _, err := FromOplog(OplogWrite{Op: "c", NS: "db.$cmd", O: bsonkit.D("applyOps", bsonkit.Array())}); err == nil {
		t.Fatal("unsupported command")
	}
}
