package mongosim

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/store"
)

// Index commands: createIndexes, listIndexes, dropIndexes.

func init() {
	register(command{name: "createIndexes", lock: lockWrite, handler: handleCreateIndexes})
	register(command{name: "listIndexes", lock: lockRead, handler: handleListIndexes})
	register(command{name: "dropIndexes", aliases: []string{"deleteIndexes"}, lock: lockWrite, handler: handleDropIndexes})
}

func notCollection(c *store.Collection) error {
	return mongoerr.New(mongoerr.CommandNotSupportedOnView, "Namespace %s is a view, not a collection", c.Namespace())
}

func handleCreateIndexes(_ context.Context, req *request) (bsoncore.Document, error) {
	name, err := collectionArg(req)
	if err != nil {
		return nil, err
	}
	if err := checkFields(req, fieldSet("indexes", "commitQuorum", "ignoreUnknownIndexOptions", "isTimeseriesNamespace")); err != nil {
		return nil, err
	}
	specs, err := req.docs("indexes")
	if err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "Must specify at least one index to create")
	}
	s := req.srv
	st := req.st()
	c := st.Collection(req.db, name)
	created := false
	if c == nil {
		if err := checkWritableNS(req.db, name); err != nil {
			return nil, err
		}
		if c, created, err = st.EnsureCollection(req.db, name); err != nil {
			return nil, err
		}
	} else if req.txn != nil && !req.txn.createdHere(req.db, name) {
		return nil, mongoerr.New(mongoerr.OperationNotSupportedInTransaction,
			"Cannot create new indexes on existing collection %s in a multi-document transaction.", req.ns(name))
	}
	if c.Kind == store.KindView {
		return nil, notCollection(c)
	}
	before := len(c.Indexes())
	empty := c.Count() == 0
	n, err := c.CreateIndexes(specs)
	if err != nil {
		if created {
			// The build failed: leave no implicitly created collection behind.
			_, _ = st.DropCollection(req.db, name)
		}
		return nil, err
	}
	if created {
		uuid := c.UUID
		s.recordWrite(req, oplogEntry{Op: "c", NS: req.db + ".$cmd", UI: &uuid,
			O: bsonkit.D("create", bsonkit.String(name), "idIndex", bsonkit.DocValue(c.Index(store.IDIndexName).Spec()))})
	}
	all := c.Indexes()
	if empty {
		// An empty collection builds in place: one createIndexes entry per index.
		for _, ix := range all[len(all)-n:] {
			o := bsonkit.Doc{{Key: "createIndexes", Value: bsonkit.String(name)}}
			o = append(o, bsonkit.MustParseDoc(ix.Spec())...)
			s.recordDDL(req, req.db, c.UUID, o.Bytes())
		}
	} else if n > 0 {
		// A two-phase build: its commitIndexBuild entry lists every index.
		vals := make([]bsoncore.Value, 0, n)
		for _, ix := range all[len(all)-n:] {
			vals = append(vals, bsonkit.DocValue(ix.Spec()))
		}
		s.recordDDL(req, req.db, c.UUID, bsonkit.D("commitIndexBuild", bsonkit.String(name),
			"indexBuildUUID", uuidValue([16]byte(newUUID())), "indexes", bsonkit.Array(vals...)))
	}
	after := len(all)
	if n == 0 {
		return bsonkit.D("numIndexesBefore", bsonkit.Int32(int32(before)), "numIndexesAfter", bsonkit.Int32(int32(after)),
			"note", bsonkit.String("all indexes already exist")), nil
	}
	d := bsonkit.Doc{
		{Key: "numIndexesBefore", Value: bsonkit.Int32(int32(before))},
		{Key: "numIndexesAfter", Value: bsonkit.Int32(int32(after))},
		{Key: "createdCollectionAutomatically", Value: bsonkit.Bool(created)},
	}
	if !s.opts.Standalone {
		d = append(d, bsonkit.Elem{Key: "commitQuorum", Value: bsonkit.String("votingMembers")})
	}
	return d.Bytes(), nil
}

func handleListIndexes(ctx context.Context, req *request) (bsoncore.Document, error) {
	name, err := collectionArg(req)
	if err != nil {
		return nil, err
	}
	if err := checkFields(req, fieldSet("cursor", "includeBuildUUIDs", "includeIndexBuildInfo")); err != nil {
		return nil, err
	}
	batchSize, err := cursorBatchSize(req)
	if err != nil {
		return nil, err
	}
	ns := req.ns(name)
	c := req.srv.store.Collection(req.db, name)
	if c == nil {
		return nil, mongoerr.New(mongoerr.NamespaceNotFound, "ns does not exist: %s", ns)
	}
	if c.Kind == store.KindView {
		return nil, notCollection(c)
	}
	cur := &cursor{ns: ns, remaining: -1, src: &sliceSource{docs: c.IndexSpecs()}}
	return listingFirstBatch(ctx, req, cur, batchSize)
}

func handleDropIndexes(_ context.Context, req *request) (bsoncore.Document, error) {
	name, err := collectionArg(req)
	if err != nil {
		return nil, err
	}
	if err := checkFields(req, fieldSet("index")); err != nil {
		return nil, err
	}
	s := req.srv
	ns := req.ns(name)
	c := s.store.Collection(req.db, name)
	if c == nil {
		return nil, mongoerr.New(mongoerr.NamespaceNotFound, "ns not found %s", ns)
	}
	if c.Kind == store.KindView {
		return nil, notCollection(c)
	}
	was := len(c.Indexes())
	var dropped []*store.Index
	iv := req.arg("index")
	switch iv.Type {
	case 0:
		return nil, mongoerr.MissingField("dropIndexes.index")
	case bsoncore.TypeString:
		if iv.StringValue() == "*" {
			dropped = c.DropAllIndexes()
			break
		}
		ix, err := c.DropIndex(iv.StringValue())
		if err != nil {
			return nil, err
		}
		dropped = []*store.Index{ix}
	case bsoncore.TypeEmbeddedDocument:
		ix, err := c.DropIndexByKey(iv.Document())
		if err != nil {
			return nil, err
		}
		dropped = []*store.Index{ix}
	case bsoncore.TypeArray:
		// Every name must exist (and none be "*" or _id_) before any is dropped.
		var names []string
		for _, v := range bsonkit.Values(iv) {
			if v.Type != bsoncore.TypeString {
				return nil, mongoerr.New(mongoerr.TypeMismatch,
					"dropIndexes index names must be strings, found %s", typeName(v.Type))
			}
			n := v.StringValue()
			if n == "*" {
				return nil, mongoerr.New(mongoerr.BadValue, "'*' is not a valid index name when dropping multiple indexes")
			}
			if n == store.IDIndexName {
				return nil, mongoerr.New(mongoerr.InvalidOptions, "cannot drop _id index")
			}
			if c.Index(n) == nil {
				return nil, mongoerr.New(mongoerr.IndexNotFound, "index not found with name [%s]", n)
			}
			names = append(names, n)
		}
		for _, n := range names {
			ix, err := c.DropIndex(n)
			if err != nil {
				return nil, err
			}
			dropped = append(dropped, ix)
		}
	default:
		return nil, mongoerr.WrongType("dropIndexes.index", typeName(iv.Type), "[string, object, array]")
	}
	for _, ix := range dropped {
		// o2 keeps the dropped index's spec, as mongod's dropIndexes entry does.
		e := ddlEntry(req.db, c.UUID, bsonkit.D("dropIndexes", bsonkit.String(name), "index", bsonkit.String(ix.Name())))
		e.O2 = ix.Spec()
		s.recordWrite(req, e)
	}
	return bsonkit.D("nIndexesWas", bsonkit.Int32(int32(was))), nil
}
