package changestream

import (
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/update"
)

// OplogWrite is one write as the server records it, in mongod's oplog
// terms, plus what change events need beyond the oplog.
type OplogWrite struct {
	Op        string    // "i", "u", "d", "c", "n"
	NS        string    // "db.coll"; "db.$cmd" for commands; "" for no-ops
	UI        *[16]byte // collection UUID
	O, O2     bsoncore.Document
	Pre, Post bsoncore.Document // images around an update, replace or delete
	TS        [2]uint32
	Wall      time.Time
	LSID      bsoncore.Document
	TxnNumber int64

	// Update is the description update.ApplyDescribed returned; nil for
	// an update mongod logs as a replacement (then the event is "replace").
	Update        *update.Description
	PrePostImages bool   // the collection's changeStreamPreAndPostImages
	InTxn         bool   // part of a committed multi-document transaction
	TxnOpIndex    uint32 // position within the transaction
	View          bool   // DDL on a view
}

// FromOplog converts a recorded write into a history entry. Command
// entries use mongod's oplog shapes: {create, …options}, {createIndexes,
// …spec}, {commitIndexBuild, indexes}, {dropIndexes, index} with the spec
// in o2, {drop}, {renameCollection: "db.a", to: "db.b", dropTarget: UUID},
// {dropDatabase: 1}, {collMod, …} with {collectionOptions_old,
// indexOptions_old} in o2.
func FromOplog(w OplogWrite) (*Entry, error) {
	e := &Entry{
		TS: Timestamp{T: w.TS[0], I: w.TS[1]}, Wall: w.Wall,
		LSID: w.LSID, TxnNumber: w.TxnNumber, InTxn: w.InTxn, TxnOpIndex: w.TxnOpIndex,
		PrePostImages: w.PrePostImages, View: w.View,
	}
	if w.UI != nil {
		// Shared, not copied: the server never changes a recorded UUID,
		// and one insert command's entries all point at the same one.
		e.UUID = (*UUID)(w.UI)
	}
	if w.Op != "n" {
		db, coll, ok := strings.Cut(w.NS, ".")
		if !ok {
			return nil, fmt.Errorf("changestream: oplog namespace %q has no collection", w.NS)
		}
		e.DB, e.Coll = db, coll
	}
	switch w.Op {
	case "n":
		e.Op, e.Msg = OpNoop, w.O
	case "i":
		e.Op, e.Doc, e.DocumentKey = OpInsert, w.O, w.O2
		if e.DocumentKey == nil {
			e.DocumentKey = bsonkit.D("_id", w.O.Lookup("_id"))
		}
	case "d":
		e.Op, e.DocumentKey, e.PreImage = OpDelete, w.O, w.Pre
	case "u":
		e.DocumentKey, e.PreImage, e.Doc = w.O2, w.Pre, w.Post
		switch {
		case w.Update != nil:
			e.Op, e.Update = OpUpdate, w.Update
		case w.O != nil && !isUpdateDelta(w.O):
			e.Op = OpReplace
			if e.Doc == nil {
				e.Doc = w.O
			}
		default:
			e.Op = OpUpdate // description derived from the images
		}
	case "c":
		if err := e.fromCommand(w); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("changestream: unknown oplog op %q", w.Op)
	}
	return e, nil
}

// isUpdateDelta reports an o field of a delta update ({$v: 2, diff}) or an
// updateDescription-shaped one, as opposed to a replacement document.
func isUpdateDelta(o bsoncore.Document) bool {
	els, _ := o.Elements()
	return len(els) > 0 && (els[0].Key() == "$v" || els[0].Key() == "updatedFields")
}

func (e *Entry) fromCommand(w OplogWrite) error {
	els, err := w.O.Elements()
	if err != nil || len(els) == 0 {
		return fmt.Errorf("changestream: empty command oplog entry")
	}
	name, arg := els[0].Key(), els[0].Value()
	rest := func() bsoncore.Document {
		d := bsonkit.Doc{}
		for _, el := range els[1:] {
			d = append(d, bsonkit.Elem{Key: el.Key(), Value: el.Value()})
		}
		return d.Bytes()
	}
	target := func() string {
		if arg.Type == bsoncore.TypeString {
			return arg.StringValue()
		}
		return ""
	}
	switch name {
	case "create":
		e.Op, e.Coll, e.CreateOptions = OpCreate, target(), rest()
		e.NsType = "collection"
		if v, err := w.O.LookupErr("viewOn"); err == nil && v.Type == bsoncore.TypeString {
			e.View, e.UUID, e.NsType = true, nil, "view"
			if strings.HasPrefix(v.StringValue(), "system.buckets.") {
				e.NsType = "timeseries"
			}
		}
	case "createIndexes":
		e.Op, e.Coll, e.Indexes = OpCreateIndexes, target(), []bsoncore.Document{rest()}
	case "commitIndexBuild":
		e.Op, e.Coll = OpCreateIndexes, target()
		if v, err := w.O.LookupErr("indexes"); err == nil && v.Type == bsoncore.TypeArray {
			vals, _ := v.Array().Values()
			for _, x := range vals {
				if x.Type == bsoncore.TypeEmbeddedDocument {
					e.Indexes = append(e.Indexes, x.Document())
				}
			}
		}
	case "dropIndexes":
		e.Op, e.Coll = OpDropIndexes, target()
		spec := w.O2
		if spec == nil {
			spec = bsonkit.D("name", w.O.Lookup("index"))
		}
		e.Indexes = []bsoncore.Document{spec}
	case "drop":
		e.Op, e.Coll = OpDrop, target()
	case "renameCollection":
		e.Op = OpRename
		from, _ := arg.StringValueOK()
		to, _ := w.O.Lookup("to").StringValueOK()
		var ok1, ok2 bool
		e.DB, e.Coll, ok1 = strings.Cut(from, ".")
		e.ToDB, e.ToColl, ok2 = strings.Cut(to, ".")
		if !ok1 || !ok2 {
			return fmt.Errorf("changestream: renameCollection from %q to %q", from, to)
		}
		if st, data, ok := w.O.Lookup("dropTarget").BinaryOK(); ok && st == 4 && len(data) == 16 {
			var u UUID
			copy(u[:], data)
			e.DropTarget = &u
		}
	case "dropDatabase":
		e.Op, e.Coll, e.UUID = OpDropDatabase, "", nil
	case "collMod":
		e.Op, e.Coll, e.ModifyDesc = OpModify, target(), rest()
		state := bsonkit.Doc{}
		if w.O2 != nil {
			if v := w.O2.Lookup("collectionOptions_old"); !bsonkit.IsMissing(v) {
				state = append(state, bsonkit.Elem{Key: "collectionOptions", Value: v})
			}
			if v := w.O2.Lookup("indexOptions_old"); !bsonkit.IsMissing(v) {
				state = append(state, bsonkit.Elem{Key: "indexOptions", Value: v})
			}
		}
		e.StateBefore = state.Bytes()
	default:
		return fmt.Errorf("changestream: unsupported command oplog entry %q", name)
	}
	return nil
}
