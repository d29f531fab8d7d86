package mongosim

import (
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/store"
)

// Helpers shared by the insert, update, delete and findAndModify handlers.

// writeErrorList collects per-statement errors for a write reply.
type writeErrorList struct {
	vals []bsoncore.Value
}

// add records err for statement index as mongod serialises a WriteError:
// {index, code, <extra info such as keyPattern/keyValue/errInfo>, errmsg}.
func (w *writeErrorList) add(index int, err error) {
	me := asMongoErr(err)
	idx, b := bsoncore.AppendDocumentStart(nil)
	b = bsoncore.AppendInt32Element(b, "index", int32(index))
	b = bsoncore.AppendInt32Element(b, "code", me.Code)
	b = appendExtra(b, me.Extra)
	b = bsoncore.AppendStringElement(b, "errmsg", me.Msg)
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	w.vals = append(w.vals, bsonkit.DocValue(b))
}

func (w *writeErrorList) empty() bool { return len(w.vals) == 0 }

func (w *writeErrorList) value() bsoncore.Value { return bsonkit.Array(w.vals...) }

// writeReply starts a write command reply as mongod's WriteCommandReplyBase
// serialises it: n, then (in a replica set) electionId and opTime, then
// writeErrors if any.
func (s *Server) writeReply(req *request, n int, werrs *writeErrorList) bsonkit.Doc {
	out := bsonkit.Doc{{Key: "n", Value: bsonkit.Int32(int32(n))}}
	if !s.opts.Standalone {
		ts := req.opTime
		if bsonkit.IsMissing(ts) {
			ts = s.clock.now()
		}
		out.Append("electionId", bsonkit.ObjectID(s.electID))
		out.Append("opTime", bsonkit.DocValue(bsonkit.D("ts", ts, "t", bsonkit.Int64(1))))
	}
	if werrs != nil && !werrs.empty() {
		out.Append("writeErrors", werrs.value())
	}
	return out
}

// writeBatch is what the insert, update and delete commands share
// (mongod's WriteCommandRequestBase): the collection, the statements, and
// the ordered and bypassDocumentValidation options.
type writeBatch struct {
	coll    string
	stmts   []bsoncore.Document
	ordered bool
	bypass  bool
	let     *cmdVars // nil unless parsed (update, delete)
}

// parseWriteBatch reads a write command's common fields, with the
// statements in list, checking them in the order mongod reports errors:
// field names, collection, statements, options, let (when withLet), batch
// size, then whether the namespace may be written.
func parseWriteBatch(req *request, fields map[string]bool, list string, withLet bool) (writeBatch, error) {
	var b writeBatch
	if err := checkFields(req, fields); err != nil {
		return b, err
	}
	var err error
	if b.coll, err = collectionArg(req); err != nil {
		return b, err
	}
	if b.stmts, err = req.docs(list); err != nil {
		return b, err
	}
	if b.ordered, err = boolArg(req.name, "ordered", req.arg("ordered"), true); err != nil {
		return b, err
	}
	if b.bypass, err = boolArg(req.name, "bypassDocumentValidation", req.arg("bypassDocumentValidation"), false); err != nil {
		return b, err
	}
	if withLet {
		if b.let, err = req.srv.parseLet(req, req.name); err != nil {
			return b, err
		}
	}
	if err := checkBatchSize(len(b.stmts)); err != nil {
		return b, err
	}
	return b, checkWritableNS(req.db, b.coll)
}

// collectionArg reads the collection name a command names in its first
// field and validates it.
func collectionArg(req *request) (string, error) {
	v := req.arg(req.name)
	if v.Type != bsoncore.TypeString {
		return "", mongoerr.New(mongoerr.InvalidNamespace, "collection name has invalid type %s", typeName(v.Type))
	}
	name := v.StringValue()
	if name == "" {
		return "", mongoerr.New(mongoerr.InvalidNamespace, "Invalid namespace specified '%s.'", req.db)
	}
	return name, nil
}

// checkWritableNS rejects writes mongod refuses: system namespaces other
// than the few user-writable ones, the oplog, and invalid names.
func checkWritableNS(db, coll string) error {
	ns := db + "." + coll
	if db == "local" && coll == "oplog.rs" {
		return mongoerr.New(mongoerr.InvalidNamespace, "cannot write to %s", ns)
	}
	if coll == "system.views" || coll == "system.profile" {
		return mongoerr.New(mongoerr.InvalidNamespace, "cannot write to %s", ns)
	}
	return store.ValidateCollectionName(db, coll)
}

// checkBatchSize applies "Write batch sizes must be between 1 and 100000".
func checkBatchSize(n int) error {
	if n < 1 || n > maxWriteBatchSize {
		return mongoerr.New(mongoerr.InvalidLength, "Write batch sizes must be between 1 and %d. Got %d operations.", maxWriteBatchSize, n)
	}
	return nil
}

// boolArg reads an optional boolean (numbers accepted as mongod's IDL does
// for "safeBool" fields).
func boolArg(cmd, field string, v bsoncore.Value, def bool) (bool, error) {
	switch v.Type {
	case 0:
		return def, nil
	case bsoncore.TypeBoolean:
		return v.Boolean(), nil
	case bsoncore.TypeInt32, bsoncore.TypeInt64, bsoncore.TypeDouble, bsoncore.TypeDecimal128:
		return bsonkit.Truthy(v), nil
	case bsoncore.TypeNull, bsoncore.TypeUndefined:
		return def, nil
	}
	return false, mongoerr.WrongType(cmd+"."+field, typeName(v.Type), mongoerr.SafeBoolTypes)
}

// docArg reads an optional document argument (nil when absent).
func docArg(cmd, field string, v bsoncore.Value) (bsoncore.Document, error) {
	switch v.Type {
	case 0:
		return nil, nil
	case bsoncore.TypeEmbeddedDocument:
		return v.Document(), nil
	}
	return nil, mongoerr.WrongType(cmd+"."+field, typeName(v.Type), "object")
}

// checkFields rejects unknown top-level fields as mongod's IDL parser
// does: "BSON field 'find.foo' is an unknown field." (40415).
func checkFields(req *request, allowed map[string]bool) error {
	elems, err := req.body.Elements()
	if err != nil {
		return mongoerr.New(mongoerr.InvalidBSON, "invalid command document: %v", err)
	}
	for _, e := range elems[1:] {
		k := e.Key()
		if !allowed[k] && !isGenericArg(k) {
			return mongoerr.New(mongoerr.Location40415, "BSON field '%s.%s' is an unknown field.", req.name, k)
		}
	}
	return nil
}

// fieldSet builds a set for checkFields.
func fieldSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// ensureCollection returns db.coll, creating it implicitly (and recording
// the create) when absent. Views are rejected for writes.
func (s *Server) ensureCollection(req *request, coll string) (*store.Collection, error) {
	c, created, err := req.st().EnsureCollection(req.db, coll)
	if err != nil {
		return nil, err
	}
	if c.Kind == store.KindView {
		return nil, mongoerr.New(mongoerr.CommandNotSupportedOnView, "Namespace %s is a view, not a collection", c.Namespace())
	}
	if created {
		uuid := c.UUID
		s.recordWrite(req, oplogEntry{Op: "c", NS: req.db + ".$cmd", UI: &uuid,
			O: bsonkit.D("create", bsonkit.String(coll), "idIndex", bsonkit.DocValue(idIndexSpec))})
	}
	return c, nil
}

var idIndexSpec = bsonkit.D("v", bsonkit.Int32(2), "key", bsonkit.DocValue(bsonkit.D("_id", bsonkit.Int32(1))), "name", bsonkit.String("_id_"))
