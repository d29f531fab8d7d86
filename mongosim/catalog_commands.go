package mongosim

import (
	"context"
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/store"
)

// Catalog commands: listDatabases, listCollections, create, drop,
// dropDatabase, renameCollection, collMod. Index commands are in
// catalog_commands_index.go, statistics in catalog_commands_stats.go.

func init() {
	register(command{name: "listDatabases", adminOnly: true, lock: lockRead, handler: handleListDatabases})
	register(command{name: "listCollections", lock: lockRead, handler: handleListCollections})
	register(command{name: "create", lock: lockWrite, handler: handleCreate})
	register(command{name: "drop", lock: lockWrite, handler: handleDrop})
	register(command{name: "dropDatabase", lock: lockWrite, handler: handleDropDatabase})
	register(command{name: "renameCollection", adminOnly: true, lock: lockWrite, handler: handleRenameCollection})
	register(command{name: "collMod", lock: lockWrite, handler: handleCollMod})
}

// recordDDL records a DDL command in the oplog: {op: "c", ns: "db.$cmd", ui, o}.
func (s *Server) recordDDL(req *request, db string, uuid [16]byte, o bsoncore.Document) {
	s.recordWrite(req, ddlEntry(db, uuid, o))
}

// recordViewDDL records DDL on a view: change streams show it only at
// database and cluster level.
func (s *Server) recordViewDDL(req *request, db string, o bsoncore.Document) {
	e := ddlEntry(db, [16]byte{}, o)
	e.View = true
	s.recordWrite(req, e)
}

func ddlEntry(db string, uuid [16]byte, o bsoncore.Document) oplogEntry {
	e := oplogEntry{Op: "c", NS: db + ".$cmd", O: o}
	if uuid != ([16]byte{}) {
		u := uuid
		e.UI = &u
	}
	return e
}

func uuidValue(u [16]byte) bsoncore.Value { return bsonkit.Binary(4, u[:]) }

// --- listDatabases ---

func handleListDatabases(_ context.Context, req *request) (bsoncore.Document, error) {
	if err := checkFields(req, fieldSet("filter", "nameOnly", "authorizedDatabases")); err != nil {
		return nil, err
	}
	filterDoc, err := docArg("listDatabases", "filter", req.arg("filter"))
	if err != nil {
		return nil, err
	}
	nameOnly, err := boolArg("listDatabases", "nameOnly", req.arg("nameOnly"), false)
	if err != nil {
		return nil, err
	}
	if _, err := boolArg("listDatabases", "authorizedDatabases", req.arg("authorizedDatabases"), true); err != nil {
		return nil, err
	}
	var filter *compiledFilter
	if filterDoc != nil {
		if filter, err = compileFilter(filterDoc); err != nil {
			return nil, err
		}
	}
	st := req.srv.store
	var dbs []bsoncore.Value
	var total int64
	for _, name := range st.DatabaseNames() {
		size := st.Database(name).SizeOnDisk()
		var entry bsoncore.Document
		if nameOnly {
			entry = bsonkit.D("name", bsonkit.String(name))
		} else {
			entry = bsonkit.D("name", bsonkit.String(name), "sizeOnDisk", bsonkit.Int64(size), "empty", bsonkit.Bool(false))
		}
		if filter != nil {
			// The filter sees the full entry even when only names are returned.
			full := bsonkit.D("name", bsonkit.String(name), "sizeOnDisk", bsonkit.Int64(size), "empty", bsonkit.Bool(false))
			if ok, _ := filter.match(full); !ok {
				continue
			}
		}
		total += size
		dbs = append(dbs, bsonkit.DocValue(entry))
	}
	if nameOnly {
		return bsonkit.D("databases", bsonkit.Array(dbs...)), nil
	}
	return bsonkit.D("databases", bsonkit.Array(dbs...),
		"totalSize", bsonkit.Int64(total),
		"totalSizeMb", bsonkit.Int64(total/(1024*1024))), nil
}

// --- listCollections ---

// collectionEntry renders one listCollections document.
func collectionEntry(c *store.Collection, nameOnly bool) bsoncore.Document {
	name := bsonkit.String(c.Name)
	kind := bsonkit.String(c.Kind.String())
	if nameOnly {
		return bsonkit.D("name", name, "type", kind)
	}
	switch c.Kind {
	case store.KindView:
		return bsonkit.D("name", name, "type", kind, "options", bsonkit.DocValue(c.Options),
			"info", bsonkit.DocValue(bsonkit.D("readOnly", bsonkit.Bool(true))))
	case store.KindTimeseries:
		return bsonkit.D("name", name, "type", kind, "options", bsonkit.DocValue(c.Options),
			"info", bsonkit.DocValue(bsonkit.D("readOnly", bsonkit.Bool(false))))
	}
	d := bsonkit.Doc{
		{Key: "name", Value: name}, {Key: "type", Value: kind},
		{Key: "options", Value: bsonkit.DocValue(c.Options)},
		{Key: "info", Value: bsonkit.DocValue(bsonkit.D("readOnly", bsonkit.Bool(false), "uuid", uuidValue(c.UUID)))},
	}
	if !c.Clustered() {
		if ix := c.Index(store.IDIndexName); ix != nil {
			d = append(d, bsonkit.Elem{Key: "idIndex", Value: bsonkit.DocValue(ix.Spec())})
		}
	}
	return d.Bytes()
}

// cursorBatchSize reads {cursor: {batchSize: n}} (-1 when absent).
func cursorBatchSize(req *request) (int, error) {
	cv := req.arg("cursor")
	if cv.Type == 0 {
		return -1, nil
	}
	if cv.Type != bsoncore.TypeEmbeddedDocument {
		return 0, mongoerr.WrongType(req.name+".cursor", typeName(cv.Type), "object")
	}
	bs := cv.Document().Lookup("batchSize")
	if bs.Type == 0 {
		return -1, nil
	}
	if !bsonkit.IsNumber(bs.Type) {
		return 0, mongoerr.WrongType(req.name+".cursor.batchSize", typeName(bs.Type), mongoerr.NumberTypes)
	}
	n, _ := bsonkit.ToFloat(bs)
	if n < 0 {
		return 0, mongoerr.New(mongoerr.Location51024, "BSON field 'batchSize' value must be >= 0, actual value '%d'", int64(n))
	}
	return int(n), nil
}

func handleListCollections(ctx context.Context, req *request) (bsoncore.Document, error) {
	if err := checkFields(req, fieldSet("listCollections", "filter", "nameOnly", "authorizedCollections", "cursor", "includePendingDrops")); err != nil {
		return nil, err
	}
	filterDoc, err := docArg("listCollections", "filter", req.arg("filter"))
	if err != nil {
		return nil, err
	}
	nameOnly, err := boolArg("listCollections", "nameOnly", req.arg("nameOnly"), false)
	if err != nil {
		return nil, err
	}
	if _, err := boolArg("listCollections", "authorizedCollections", req.arg("authorizedCollections"), false); err != nil {
		return nil, err
	}
	batchSize, err := cursorBatchSize(req)
	if err != nil {
		return nil, err
	}
	var filter *compiledFilter
	if filterDoc != nil {
		if filter, err = compileFilter(filterDoc); err != nil {
			return nil, err
		}
	}
	var docs []bsoncore.Document
	if d := req.srv.store.Database(req.db); d != nil {
		for _, c := range d.Collections() {
			entry := collectionEntry(c, nameOnly)
			if filter != nil {
				full := entry
				if nameOnly {
					full = collectionEntry(c, false)
				}
				if ok, _ := filter.match(full); !ok {
					continue
				}
			}
			docs = append(docs, entry)
		}
	}
	cur := &cursor{ns: req.db + ".$cmd.listCollections", remaining: -1, src: &sliceSource{docs: docs}}
	return listingFirstBatch(ctx, req, cur, batchSize)
}

// listingFirstBatch opens a catalog listing cursor. listCollections and
// listIndexes reply {cursor: {id, ns, firstBatch}} (their IDL order), unlike
// find's {firstBatch, id, ns}.
func listingFirstBatch(ctx context.Context, req *request, cur *cursor, batchSize int) (bsoncore.Document, error) {
	reply, err := req.srv.firstBatch(ctx, cur, batchSize, false)
	if err != nil {
		return nil, err
	}
	cv, err := reply.LookupErr("cursor")
	if err != nil || cv.Type != bsoncore.TypeEmbeddedDocument {
		return reply, nil
	}
	c := cv.Document()
	return bsonkit.D("cursor", bsonkit.DocValue(bsonkit.D(
		"id", c.Lookup("id"), "ns", c.Lookup("ns"), "firstBatch", c.Lookup("firstBatch")))), nil
}

// --- create ---

// createOptions returns the create command without its first field and
// without generic arguments.
func commandOptions(req *request) bsoncore.Document {
	elems, _ := req.body.Elements()
	var d bsonkit.Doc
	for _, e := range elems[1:] {
		if isGenericArg(e.Key()) {
			continue
		}
		d = append(d, bsonkit.Elem{Key: e.Key(), Value: e.Value()})
	}
	return d.Bytes()
}

func handleCreate(_ context.Context, req *request) (bsoncore.Document, error) {
	name, err := collectionArg(req)
	if err != nil {
		return nil, err
	}
	st := req.st()
	existed := st.Collection(req.db, name) != nil
	opts := commandOptions(req)
	if req.txn != nil && !bsonkit.IsMissing(req.arg("viewOn")) {
		return nil, mongoerr.New(mongoerr.OperationNotSupportedInTransaction, "Cannot create a view in a multi-document transaction.")
	}
	c, err := st.CreateCollection(req.db, name, opts)
	if err != nil {
		return nil, err
	}
	if !existed {
		o := bsonkit.Doc{{Key: "create", Value: bsonkit.String(name)}}
		o = append(o, bsonkit.MustParseDoc(c.Options)...)
		if c.Kind == store.KindCollection && !c.Clustered() {
			o = append(o, bsonkit.Elem{Key: "idIndex", Value: bsonkit.DocValue(c.Index(store.IDIndexName).Spec())})
		}
		if c.Kind == store.KindView {
			req.srv.recordViewDDL(req, req.db, o.Bytes())
		} else {
			req.srv.recordDDL(req, req.db, c.UUID, o.Bytes())
		}
	}
	return nil, nil
}

// --- drop ---

func handleDrop(_ context.Context, req *request) (bsoncore.Document, error) {
	name, err := collectionArg(req)
	if err != nil {
		return nil, err
	}
	s := req.srv
	ns := req.ns(name)
	c, err := s.store.DropCollection(req.db, name)
	if err != nil {
		if me := asMongoErr(err); me.Code == mongoerr.NamespaceNotFound && s.version.parts[0] >= 7 {
			// 7.0+: dropping a missing collection succeeds.
			return nil, nil
		}
		return nil, err
	}
	if c.Kind == store.KindView {
		s.recordViewDDL(req, req.db, bsonkit.D("drop", bsonkit.String(name)))
	} else {
		s.recordDDL(req, req.db, c.UUID, bsonkit.D("drop", bsonkit.String(name)))
	}
	if c.Kind == store.KindView {
		return bsonkit.D("ns", bsonkit.String(ns)), nil
	}
	return bsonkit.D("nIndexesWas", bsonkit.Int32(int32(len(c.Indexes()))), "ns", bsonkit.String(ns)), nil
}

// --- dropDatabase ---

func handleDropDatabase(_ context.Context, req *request) (bsoncore.Document, error) {
	if v := req.arg("dropDatabase"); !bsonkit.Truthy(v) && v.Type != bsoncore.TypeString {
		return nil, mongoerr.New(mongoerr.IllegalOperation, "have to pass 1 as db parameter")
	}
	s := req.srv
	dropped, err := s.store.DropDatabase(req.db)
	if err != nil {
		return nil, err
	}
	if len(dropped) == 0 {
		return nil, nil
	}
	for _, c := range dropped {
		if c.Kind == store.KindView {
			continue // dropped with system.views, as mongod does: no event of its own
		}
		s.recordDDL(req, req.db, c.UUID, bsonkit.D("drop", bsonkit.String(c.Name)))
	}
	s.recordDDL(req, req.db, [16]byte{}, bsonkit.D("dropDatabase", bsonkit.Int32(1)))
	return bsonkit.D("dropped", bsonkit.String(req.db)), nil
}

// --- renameCollection ---

// splitNS splits "db.coll" at the first dot.
func splitNS(ns string) (string, string, bool) {
	i := strings.IndexByte(ns, '.')
	if i <= 0 || i == len(ns)-1 {
		return "", "", false
	}
	return ns[:i], ns[i+1:], true
}

func handleRenameCollection(_ context.Context, req *request) (bsoncore.Document, error) {
	if err := checkFields(req, fieldSet("to", "dropTarget", "stayTemp")); err != nil {
		return nil, err
	}
	from, to := req.arg("renameCollection"), req.arg("to")
	if from.Type != bsoncore.TypeString {
		return nil, mongoerr.WrongType("renameCollection.renameCollection", typeName(from.Type), "string")
	}
	if to.Type == 0 {
		return nil, mongoerr.MissingField("renameCollection.to")
	}
	if to.Type != bsoncore.TypeString {
		return nil, mongoerr.WrongType("renameCollection.to", typeName(to.Type), "string")
	}
	fromDB, fromColl, ok := splitNS(from.StringValue())
	if !ok || store.ValidateDBName(fromDB) != nil {
		return nil, mongoerr.New(mongoerr.InvalidNamespace, "Invalid source namespace: %s", from.StringValue())
	}
	toDB, toColl, ok := splitNS(to.StringValue())
	if !ok || store.ValidateDBName(toDB) != nil {
		return nil, mongoerr.New(mongoerr.InvalidNamespace, "Invalid target namespace: %s", to.StringValue())
	}
	dropTarget, err := boolArg("renameCollection", "dropTarget", req.arg("dropTarget"), false)
	if err != nil {
		return nil, err
	}
	s := req.srv
	r, err := s.store.RenameCollection(fromDB, fromColl, toDB, toColl, dropTarget)
	if err != nil {
		return nil, err
	}
	// One oplog entry, as mongod writes it: dropTarget names the UUID of
	// the collection the rename replaced, if any.
	o := bsonkit.Doc{
		{Key: "renameCollection", Value: bsonkit.String(from.StringValue())},
		{Key: "to", Value: bsonkit.String(to.StringValue())},
		{Key: "stayTemp", Value: bsonkit.Bool(false)},
	}
	if r.DroppedTarget != nil {
		o.Append("dropTarget", uuidValue(r.DroppedTarget.UUID))
	}
	s.recordDDL(req, fromDB, r.OldUUID, o.Bytes())
	return nil, nil
}

// --- collMod ---

func handleCollMod(_ context.Context, req *request) (bsoncore.Document, error) {
	name, err := collectionArg(req)
	if err != nil {
		return nil, err
	}
	s := req.srv
	var before bsoncore.Document
	if c := s.store.Collection(req.db, name); c != nil {
		before = collectionOptionsOld(c)
	}
	res, err := s.store.CollMod(req.db, name, commandOptions(req))
	if err != nil {
		return nil, err
	}
	o := bsonkit.Doc{{Key: "collMod", Value: bsonkit.String(name)}}
	o = append(o, bsonkit.MustParseDoc(commandOptions(req))...)
	// o2 keeps the state before the change, as mongod's collMod entry does.
	o2 := bsonkit.Doc{{Key: "collectionOptions_old", Value: bsonkit.DocValue(before)}}
	if ch := res.IndexChange; ch != nil {
		var old bsonkit.Doc
		if ch.ExpireOld != nil {
			old.Append("expireAfterSeconds", *ch.ExpireOld)
		}
		if ch.HiddenOld != nil {
			old.Append("hidden", bsonkit.Bool(*ch.HiddenOld))
		}
		if ch.PrepareOld != nil {
			old.Append("prepareUnique", bsonkit.Bool(*ch.PrepareOld))
		}
		o2.Append("indexOptions_old", old.Value())
	}
	e := ddlEntry(req.db, res.Collection.UUID, o.Bytes())
	e.O2, e.View = o2.Bytes(), res.Collection.Kind == store.KindView
	s.recordWrite(req, e)
	return res.Reply, nil
}

// collectionOptionsOld renders a collection's options as mongod's
// CollectionOptions::toBSON does in a collMod entry: uuid first.
func collectionOptionsOld(c *store.Collection) bsoncore.Document {
	var d bsonkit.Doc
	if c.Kind != store.KindView {
		d.Append("uuid", uuidValue(c.UUID))
	}
	d = append(d, bsonkit.MustParseDoc(c.Options)...)
	return d.Bytes()
}
