package changestream

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/update"
)

// zooDoc holds awkward BSON types that must pass through events byte for byte.
func zooDoc(id int32) bsoncore.Document {
	dec, _ := bson.ParseDecimal128("1.5E-6143")
	hi, lo := dec.GetBytes()
	d := bsonkit.Doc{
		{Key: "_id", Value: bsonkit.Int32(id)},
		{Key: "dec", Value: bsoncore.Value{Type: bsoncore.TypeDecimal128, Data: bsoncore.AppendDecimal128(nil, hi, lo)}},
		{Key: "min", Value: bsoncore.Value{Type: bsoncore.TypeMinKey}},
		{Key: "nan", Value: bsonkit.Double(math.NaN())},
		{Key: "negz", Value: bsonkit.Double(math.Copysign(0, -1))},
		{Key: "$dollar", Value: bsonkit.String("x")},
		{Key: "a.b", Value: bsonkit.Array(bsonkit.Array(bsonkit.Int64(1)))},
		{Key: "bin", Value: bsonkit.Binary(0x80, []byte{1, 2})},
	}
	return d.Bytes()
}

func TestInsertEventShape(t *testing.T) {
	r := newRecorder(t)
	plain := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D()), Env{})
	expanded := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D("showExpandedEvents", bsonkit.Bool(true))), Env{})
	doc := zooDoc(7)
	e := r.add(insertEntry("db", "c", uuidA, doc))

	ev := drainAll(t, plain)
	if len(ev) != 1 {
		t.Fatalf("events %d", len(ev))
	}
	if got := keys(ev[0]); got != "_id,operationType,clusterTime,wallTime,fullDocument,ns,documentKey" {
		t.Fatalf("insert keys %s", got)
	}
	if !bytes.Equal(ev[0].Lookup("fullDocument").Document(), doc) {
		t.Fatal("fullDocument is not byte-identical to the inserted document")
	}
	if ts, i := ev[0].Lookup("clusterTime").Timestamp(); ts != e.TS.T || i != e.TS.I {
		t.Fatalf("clusterTime %d,%d", ts, i)
	}
	if ev[0].Lookup("wallTime").DateTime() != e.Wall.UnixMilli() {
		t.Fatal("wallTime")
	}
	if ns := ev[0].Lookup("ns").Document(); keys(ns) != "db,coll" || ns.Lookup("db").StringValue() != "db" || ns.Lookup("coll").StringValue() != "c" {
		t.Fatalf("ns %v", ns)
	}
	if !bytes.Equal(ev[0].Lookup("documentKey").Document(), idDoc(7)) {
		t.Fatalf("documentKey %v", ev[0].Lookup("documentKey"))
	}
	if tok := tokenOf(t, ev[0]); tok.TS != e.TS || tok.UUID == nil || *tok.UUID != *uuidA || tok.HighWaterMark {
		t.Fatalf("token %+v", tok)
	}

	ex := drainAll(t, expanded)
	if got := keys(ex[0]); got != "_id,operationType,clusterTime,collectionUUID,wallTime,fullDocument,ns,documentKey" {
		t.Fatalf("expanded insert keys %s", got)
	}
	if st, data := ex[0].Lookup("collectionUUID").Binary(); st != 4 || !bytes.Equal(data, uuidA[:]) {
		t.Fatal("collectionUUID")
	}
	// Same event, same token, whichever stream reports it.
	if ex[0].Lookup("_id").String() != ev[0].Lookup("_id").String() {
		t.Fatal("tokens differ between streams")
	}
}

func updateEntry(pre, post bsoncore.Document, images bool) *Entry {
	return &Entry{Op: OpUpdate, DB: "db", Coll: "c", UUID: uuidA, DocumentKey: bsonkit.D("_id", post.Lookup("_id")),
		PreImage: pre, Doc: post, PrePostImages: images}
}

func TestUpdateEventShapeAndDescription(t *testing.T) {
	r := newRecorder(t)
	plain := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D()), Env{})
	expanded := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D("showExpandedEvents", bsonkit.Bool(true))), Env{})
	pre := bsonkit.D("_id", bsonkit.Int32(1), "a", bsonkit.Int32(1), "gone", bsonkit.Bool(true), "arr", bsonkit.Array(bsonkit.Int32(1), bsonkit.Int32(2), bsonkit.Int32(3)))
	post := bsonkit.D("_id", bsonkit.Int32(1), "a", bsonkit.Int32(2), "arr", bsonkit.Array(bsonkit.Int32(1)), "x.y", bsonkit.Int32(5))
	desc := update.Diff(pre, post)
	e := updateEntry(pre, post, false)
	e.Update = &desc
	r.add(e)
	// Without a stored description the stream derives it from the images.
	r.add(updateEntry(pre, post, false))

	ev := drainAll(t, plain)
	if len(ev) != 2 {
		t.Fatalf("events %d", len(ev))
	}
	if got := keys(ev[0]); got != "_id,operationType,clusterTime,wallTime,ns,documentKey,updateDescription" {
		t.Fatalf("update keys %s", got)
	}
	ud := ev[0].Lookup("updateDescription").Document()
	if !bytes.Equal(ud, desc.Document(false)) || keys(ud) != "updatedFields,removedFields,truncatedArrays" {
		t.Fatalf("updateDescription %v", ud)
	}
	if !bytes.Equal(ev[1].Lookup("updateDescription").Document(), ud) {
		t.Fatal("derived description differs")
	}
	if uf := ud.Lookup("updatedFields").Document(); uf.Lookup("a").Int32() != 2 {
		t.Fatalf("updatedFields %v", uf)
	}
	ex := drainAll(t, expanded)
	exd := ex[0].Lookup("updateDescription").Document()
	if keys(exd) != "updatedFields,removedFields,truncatedArrays,disambiguatedPaths" {
		t.Fatalf("expanded updateDescription %v", exd)
	}
	if dp := exd.Lookup("disambiguatedPaths").Document(); keys(dp) != "x.y" {
		t.Fatalf("disambiguatedPaths %v", dp)
	}
}

func TestReplaceAndDeleteEventShapes(t *testing.T) {
	r := newRecorder(t)
	s := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D()), Env{})
	newDoc := zooDoc(3)
	r.add(&Entry{Op: OpReplace, DB: "db", Coll: "c", UUID: uuidA, DocumentKey: idDoc(3), Doc: newDoc, PreImage: idDoc(3)})
	r.add(&Entry{Op: OpDelete, DB: "db", Coll: "c", UUID: uuidA, DocumentKey: idDoc(3), PreImage: newDoc})
	ev := drainAll(t, s)
	if opTypes(ev) != "replace,delete" {
		t.Fatalf("ops %s", opTypes(ev))
	}
	if got := keys(ev[0]); got != "_id,operationType,clusterTime,wallTime,fullDocument,ns,documentKey" {
		t.Fatalf("replace keys %s", got)
	}
	if !bytes.Equal(ev[0].Lookup("fullDocument").Document(), newDoc) {
		t.Fatal("replace fullDocument not byte-identical")
	}
	if got := keys(ev[1]); got != "_id,operationType,clusterTime,wallTime,ns,documentKey" {
		t.Fatalf("delete keys %s", got)
	}
}

func TestFullDocumentModes(t *testing.T) {
	pre := bsonkit.D("_id", bsonkit.Int32(1), "v", bsonkit.Int32(1))
	post := bsonkit.D("_id", bsonkit.Int32(1), "v", bsonkit.Int32(2))
	current := bsonkit.D("_id", bsonkit.Int32(1), "v", bsonkit.Int32(9))
	var lookups []string
	env := Env{Lookup: func(db, coll string, uuid *UUID, key bsoncore.Document) (bsoncore.Document, bool) {
		lookups = append(lookups, db+"."+coll+" "+key.String())
		if uuid == nil || *uuid != *uuidA {
			t.Errorf("lookup uuid %v", uuid)
		}
		if key.Lookup("_id").Int32() == 1 {
			return current, true
		}
		return nil, false
	}}
	type want struct {
		keys string
		full string // "doc:<v>", "null", or "" (absent)
		err  int32
	}
	cases := []struct {
		mode, pre string
		images    bool
		update    want
		deleted   want // update of a document that no longer exists (updateLookup)
	}{
		{FullDocUpdateLookup, PreImageOff, false,
			want{keys: "_id,operationType,clusterTime,wallTime,fullDocument,ns,documentKey,updateDescription", full: "doc:9"},
			want{full: "null"}},
		{FullDocWhenAvailable, PreImageOff, true, want{full: "doc:2"}, want{full: "doc:2"}},
		{FullDocWhenAvailable, PreImageOff, false, want{full: "null"}, want{full: "null"}},
		{FullDocRequired, PreImageOff, true, want{full: "doc:2"}, want{full: "doc:2"}},
		{FullDocRequired, PreImageOff, false, want{err: mongoerr.NoMatchingDocument}, want{err: mongoerr.NoMatchingDocument}},
		{FullDocDefault, FullDocWhenAvailable, true,
			want{keys: "_id,operationType,clusterTime,wallTime,ns,documentKey,updateDescription,fullDocumentBeforeChange"},
			want{}},
		{FullDocDefault, FullDocRequired, false, want{err: mongoerr.NoMatchingDocument}, want{err: mongoerr.NoMatchingDocument}},
		{FullDocWhenAvailable, FullDocWhenAvailable, true,
			want{keys: "_id,operationType,clusterTime,wallTime,fullDocument,ns,documentKey,updateDescription,fullDocumentBeforeChange", full: "doc:2"},
			want{full: "doc:2"}},
	}
	for _, c := range cases {
		for i, w := range []want{c.update, c.deleted} {
			r := newRecorder(t)
			s := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D("fullDocument", bsonkit.String(c.mode),
				"fullDocumentBeforeChange", bsonkit.String(c.pre))), env)
			p, q := pre, post
			if i == 1 {
				p = bsonkit.D("_id", bsonkit.Int32(2), "v", bsonkit.Int32(1))
				q = bsonkit.D("_id", bsonkit.Int32(2), "v", bsonkit.Int32(2))
			}
			r.add(updateEntry(p, q, c.images))
			b, err := s.Next(context.Background(), Limits{})
			name := c.mode + "/" + c.pre
			if w.err != 0 {
				if codeOf(err) != w.err {
					t.Errorf("%s: error %v, want code %d", name, err, w.err)
				}
				continue
			}
			if err != nil || len(b.Events) != 1 {
				t.Fatalf("%s: %v, %d events", name, err, len(b.Events))
			}
			ev := b.Events[0]
			if w.keys != "" && keys(ev) != w.keys {
				t.Errorf("%s: keys %s, want %s", name, keys(ev), w.keys)
			}
			fd, err := ev.LookupErr("fullDocument")
			switch {
			case w.full == "" && err == nil:
				t.Errorf("%s: unexpected fullDocument %v", name, fd)
			case w.full == "null" && fd.Type != bsoncore.TypeNull:
				t.Errorf("%s: fullDocument %v, want null", name, fd)
			case len(w.full) > 4 && (fd.Type != bsoncore.TypeEmbeddedDocument || fmt.Sprintf("doc:%d", fd.Document().Lookup("v").Int32()) != w.full):
				t.Errorf("%s: fullDocument %v, want %s", name, fd, w.full)
			}
			if c.pre != PreImageOff {
				bc := ev.Lookup("fullDocumentBeforeChange")
				if c.images && (bc.Type != bsoncore.TypeEmbeddedDocument || !bytes.Equal(bc.Document(), p)) {
					t.Errorf("%s: fullDocumentBeforeChange %v", name, bc)
				}
			} else if _, err := ev.LookupErr("fullDocumentBeforeChange"); err == nil {
				t.Errorf("%s: fullDocumentBeforeChange without the option", name)
			}
		}
	}
	if len(lookups) != 2 || lookups[0] != `db.c {"_id": {"$numberInt":"1"}}` {
		t.Fatalf("lookups %q", lookups)
	}
}

func TestPreImageOnDeleteAndReplace(t *testing.T) {
	r := newRecorder(t)
	s := mustOpen(t, r.h, mustSpec(t, "db", "c", bsonkit.D("fullDocumentBeforeChange", bsonkit.String("whenAvailable"))), Env{})
	old := zooDoc(4)
	r.add(&Entry{Op: OpReplace, DB: "db", Coll: "c", UUID: uuidA, DocumentKey: idDoc(4), Doc: idDoc(4), PreImage: old, PrePostImages: true})
	r.add(&Entry{Op: OpDelete, DB: "db", Coll: "c", UUID: uuidA, DocumentKey: idDoc(4), PreImage: idDoc(4), PrePostImages: true})
	r.add(&Entry{Op: OpDelete, DB: "db", Coll: "c", UUID: uuidA, DocumentKey: idDoc(5), PreImage: idDoc(5), PrePostImages: false})
	r.add(insertEntry("db", "c", uuidA, idDoc(6)))
	ev := drainAll(t, s)
	if opTypes(ev) != "replace,delete,delete,insert" {
		t.Fatalf("ops %s", opTypes(ev))
	}
	if keys(ev[0]) != "_id,operationType,clusterTime,wallTime,fullDocument,ns,documentKey,fullDocumentBeforeChange" ||
		!bytes.Equal(ev[0].Lookup("fullDocumentBeforeChange").Document(), old) {
		t.Fatalf("replace %v", ev[0])
	}
	if keys(ev[1]) != "_id,operationType,clusterTime,wallTime,ns,documentKey,fullDocumentBeforeChange" {
		t.Fatalf("delete keys %s", keys(ev[1]))
	}
	if ev[2].Lookup("fullDocumentBeforeChange").Type != bsoncore.TypeNull {
		t.Fatal("delete without stored images must report null")
	}
	if _, err := ev[3].LookupErr("fullDocumentBeforeChange"); err == nil {
		t.Fatal("insert has no pre-image field")
	}
}
