package changestream

import (
	"crypto/sha256"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/update"
)

// SessionLSID is the lsid a change event of a transaction carries: the
// client's session id plus uid, the SHA-256 of the authenticated user
// ("user@db", or "" without authentication), as mongod records it.
func SessionLSID(id bsoncore.Value, user, db string) bsoncore.Document {
	uid := noUserUID
	if user != "" {
		uid = sha256.Sum256([]byte(user + "@" + db))
	}
	return bsonkit.D("id", id, "uid", bsonkit.Binary(0, uid[:]))
}

// noUserUID is the uid of sessions without an authenticated user.
var noUserUID = sha256.Sum256(nil)

// Oplog op codes.
var oplogOps = [...]string{
	OpNoop: "n", OpInsert: "i", OpUpdate: "u", OpReplace: "u", OpDelete: "d",
	OpCreate: "c", OpCreateIndexes: "c", OpDropIndexes: "c", OpDrop: "c",
	OpRename: "c", OpDropDatabase: "c", OpModify: "c",
}

// OplogDocument renders the entry as a local.oplog.rs document: op, ns,
// ui, o, o2, ts, t, v, wall (plus lsid/txnNumber of retryable writes), in
// mongod's field order. Entries of a transaction render one by one (mongod
// packs them into a single applyOps entry; the oplog view only needs ts,
// t, op, ns and wall). An update's o is a $v:2 diff of its top-level
// fields only: the change stream, not the oplog view, is where the
// precise updateDescription lives.
func (e *Entry) OplogDocument(term int64) bsoncore.Document {
	var d bsonkit.Doc
	if e.LSID != nil && !e.InTxn {
		d.Append("lsid", bsonkit.DocValue(e.LSID))
		d.Append("txnNumber", bsonkit.Int64(e.TxnNumber))
	}
	d.Append("op", bsonkit.String(oplogOps[e.Op]))
	switch {
	case e.Op == OpNoop:
		d.Append("ns", bsonkit.String(""))
	case e.Op.crud():
		d.Append("ns", bsonkit.String(e.DB+"."+e.Coll))
	default:
		d.Append("ns", bsonkit.String(e.DB+".$cmd"))
	}
	if e.UUID != nil && e.Op != OpNoop {
		d.Append("ui", bsonkit.Binary(4, e.UUID[:]))
	}
	o, o2 := e.oplogO()
	d.Append("o", bsonkit.DocValue(o))
	if o2 != nil {
		d.Append("o2", bsonkit.DocValue(o2))
	}
	d.Append("ts", bsonkit.Timestamp(e.TS.T, e.TS.I))
	d.Append("t", bsonkit.Int64(term))
	d.Append("v", bsonkit.Int64(2))
	d.Append("wall", bsonkit.DateTime(e.Wall.UnixMilli()))
	return d.Bytes()
}

func (e *Entry) oplogO() (o, o2 bsoncore.Document) {
	str := bsonkit.String
	switch e.Op {
	case OpNoop:
		if e.Msg != nil {
			return e.Msg, nil
		}
		return bsonkit.D("msg", str("noop")), nil
	case OpInsert:
		return e.Doc, e.DocumentKey
	case OpReplace:
		return e.Doc, e.DocumentKey
	case OpDelete:
		return e.DocumentKey, nil
	case OpUpdate:
		return e.updateDiff(), e.DocumentKey
	case OpCreate:
		d := bsonkit.Doc{{Key: "create", Value: str(e.Coll)}}
		if e.CreateOptions != nil {
			d = append(d, bsonkit.MustParseDoc(e.CreateOptions)...)
		}
		return d.Bytes(), nil
	case OpCreateIndexes:
		d := bsonkit.Doc{{Key: "createIndexes", Value: str(e.Coll)}}
		if len(e.Indexes) > 0 {
			d = append(d, bsonkit.MustParseDoc(e.Indexes[0])...)
		}
		return d.Bytes(), nil
	case OpDropIndexes:
		name := bsonkit.Missing
		if len(e.Indexes) > 0 {
			name = e.Indexes[0].Lookup("name")
		}
		o = bsonkit.D("dropIndexes", str(e.Coll), "index", name)
		if len(e.Indexes) > 0 {
			return o, e.Indexes[0]
		}
		return o, nil
	case OpDrop:
		return bsonkit.D("drop", str(e.Coll)), nil
	case OpRename:
		d := bsonkit.Doc{{Key: "renameCollection", Value: str(e.DB + "." + e.Coll)},
			{Key: "to", Value: str(e.ToDB + "." + e.ToColl)}, {Key: "stayTemp", Value: bsonkit.Bool(false)}}
		if e.DropTarget != nil {
			d = append(d, bsonkit.Elem{Key: "dropTarget", Value: bsonkit.Binary(4, e.DropTarget[:])})
		}
		return d.Bytes(), nil
	case OpDropDatabase:
		return bsonkit.D("dropDatabase", bsonkit.Int32(1)), nil
	case OpModify:
		d := bsonkit.Doc{{Key: "collMod", Value: str(e.Coll)}}
		if e.ModifyDesc != nil {
			d = append(d, bsonkit.MustParseDoc(e.ModifyDesc)...)
		}
		if e.StateBefore != nil {
			sb := bsonkit.MustParseDoc(e.StateBefore)
			o2 = bsonkit.D("collectionOptions_old", sb.Get("collectionOptions"), "indexOptions_old", sb.Get("indexOptions"))
		}
		return d.Bytes(), o2
	}
	return emptyDoc, nil
}

// updateDiff is a $v:2 update entry {$v: 2, diff: {d: …, u: …}} built
// from the description's top-level paths.
func (e *Entry) updateDiff() bsoncore.Document {
	var desc bsonkit.Doc
	var removed []string
	if e.Update != nil {
		desc, removed = e.Update.UpdatedFields, e.Update.RemovedFields
	} else if e.PreImage != nil && e.Doc != nil {
		d := update.Diff(e.PreImage, e.Doc)
		desc, removed = d.UpdatedFields, d.RemovedFields
	}
	var diff bsonkit.Doc
	if len(removed) > 0 {
		var dd bsonkit.Doc
		for _, f := range removed {
			dd.Append(f, bsonkit.Bool(false))
		}
		diff.Append("d", dd.Value())
	}
	if len(desc) > 0 {
		diff.Append("u", desc.Value())
	}
	return bsonkit.D("$v", bsonkit.Int32(2), "diff", diff.Value())
}
