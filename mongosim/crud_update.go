package mongosim

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/store"
	"github.com/mlink-dev/mlink/mongosim/update"
)

func init() {
	register(command{name: "update", handler: handleUpdate, lock: lockWrite, counter: func(*serverStats) {}})
}

var (
	updateFields     = fieldSet("update", "updates", "ordered", "let", "bypassDocumentValidation")
	updateStmtFields = fieldSet("q", "u", "c", "upsert", "multi", "arrayFilters", "hint", "collation", "sort", "upsertSupplied")
)

// updateSpec is one parsed update statement (also built by findAndModify).
type updateSpec struct {
	filter *compiledFilter
	upd    *update.Update
	upsert bool
	multi  bool
	hint   bsoncore.Value
	sort   *sortSpec
}

// updateResult is what one statement did.
type updateResult struct {
	matched, modified int
	upsertedID        bsoncore.Value // Missing unless an upsert inserted
	pre, post         bsoncore.Document
}

func handleUpdate(_ context.Context, req *request) (bsoncore.Document, error) {
	b, err := parseWriteBatch(req, updateFields, "updates", true)
	if err != nil {
		return nil, err
	}
	s := req.srv
	var werrs writeErrorList
	var upserted []bsoncore.Value
	n, modified := 0, 0
	for i, st := range b.stmts {
		s.stats.update.Add(1)
		spec, err := parseUpdateStmt(st, b.let)
		var res updateResult
		if err == nil {
			res, err = s.applyUpdate(req, b.coll, spec, b.bypass)
		}
		n += res.matched
		modified += res.modified
		if !bsonkit.IsMissing(res.upsertedID) {
			n++
			upserted = append(upserted, bsonkit.DocValue(bsonkit.D("index", bsonkit.Int32(int32(i)), "_id", res.upsertedID)))
		}
		if err != nil {
			werrs.add(i, err)
			if b.ordered {
				break
			}
		}
	}
	out := s.writeReply(req, n, &werrs)
	if len(upserted) > 0 {
		out.Append("upserted", bsonkit.Array(upserted...))
	}
	out.Append("nModified", bsonkit.Int32(int32(modified)))
	return out.Bytes(), nil
}

func parseUpdateStmt(st bsoncore.Document, let *cmdVars) (*updateSpec, error) {
	if err := checkStmtFields("update.updates", st, updateStmtFields); err != nil {
		return nil, err
	}
	qv, err := st.LookupErr("q")
	if err != nil {
		return nil, mongoerr.MissingField("update.updates.q")
	}
	q, err := checkFilterArg("update.updates", "q", qv)
	if err != nil {
		return nil, err
	}
	uv, err := st.LookupErr("u")
	if err != nil {
		return nil, mongoerr.MissingField("update.updates.u")
	}
	spec := &updateSpec{}
	if spec.upsert, err = boolArg("update.updates", "upsert", st.Lookup("upsert"), false); err != nil {
		return nil, err
	}
	if spec.multi, err = boolArg("update.updates", "multi", st.Lookup("multi"), false); err != nil {
		return nil, err
	}
	spec.hint = st.Lookup("hint")
	// Pipeline updates see the command's let variables and the statement's
	// constants (c); c on an operator update is an error update.Compile reports.
	opts := update.Options{}
	c := st.Lookup("c")
	if uv.Type == bsoncore.TypeArray {
		opts.Let = mergeVars(let.doc, c)
	} else if c.Type == bsoncore.TypeEmbeddedDocument {
		opts.Let = c.Document()
	}
	if af := st.Lookup("arrayFilters"); !bsonkit.IsMissing(af) {
		if opts.ArrayFilters, err = docList("update.updates", "arrayFilters", af); err != nil {
			return nil, err
		}
	}
	if spec.filter, err = compileFilterVars(q, let); err != nil {
		return nil, err
	}
	if spec.upd, err = update.Compile(uv, opts); err != nil {
		return nil, err
	}
	if spec.multi && spec.upd.Kind() == update.Replacement {
		return nil, mongoerr.New(mongoerr.FailedToParse, "multi update is not supported for replacement-style update")
	}
	if sv := st.Lookup("sort"); sv.Type == bsoncore.TypeEmbeddedDocument && len(sv.Document()) > 5 {
		if spec.multi {
			return nil, mongoerr.New(mongoerr.FailedToParse, "Cannot specify sort with multi=true")
		}
		if spec.sort, err = compileSort(sv.Document()); err != nil {
			return nil, err
		}
	}
	return spec, nil
}

// docList reads an array of documents argument.
func docList(cmd, field string, v bsoncore.Value) ([]bsoncore.Document, error) {
	if v.Type != bsoncore.TypeArray {
		return nil, mongoerr.WrongType(cmd+"."+field, typeName(v.Type), "array")
	}
	var out []bsoncore.Document
	for _, e := range bsonkit.Values(v) {
		if e.Type != bsoncore.TypeEmbeddedDocument {
			return nil, mongoerr.WrongType(cmd+"."+field, typeName(e.Type), "object")
		}
		out = append(out, e.Document())
	}
	return out, nil
}

// applyUpdate runs one update statement under the write lock.
func (s *Server) applyUpdate(req *request, coll string, spec *updateSpec, bypass bool) (updateResult, error) {
	var res updateResult
	c := req.st().Collection(req.db, coll)
	if c != nil && c.Kind == store.KindView {
		return res, mongoerr.New(mongoerr.CommandNotSupportedOnView, "Namespace %s is a view, not a collection", c.Namespace())
	}
	if c != nil {
		if err := checkHint(c, spec.hint); err != nil {
			return res, err
		}
		max := 1
		if spec.multi {
			max = 0
		}
		recs, err := matchingRecords(c, spec.filter, spec.sort, spec.hint, max)
		if err != nil {
			return res, err
		}
		if spec.sort != nil && len(recs) > 1 {
			recs = recs[:1]
		}
		for _, r := range recs {
			_, pos := spec.filter.match(r.Doc)
			modified, post, err := s.updateRecord(req, c, r, spec.upd, pos, bypass)
			if err != nil {
				return res, err
			}
			res.matched++
			if modified {
				res.modified++
			}
			res.pre, res.post = r.Doc, post
		}
		if len(recs) > 0 || !spec.upsert {
			return res, nil
		}
	}
	if !spec.upsert {
		return res, nil
	}
	doc, err := s.upsertInsert(req, coll, spec, bypass)
	if err != nil {
		return res, err
	}
	res.upsertedID = doc.Lookup("_id")
	res.post = doc
	return res, nil
}

// updateRecord applies upd to one stored document; it reports whether the
// document changed and returns the document as it now is.
func (s *Server) updateRecord(req *request, c *store.Collection, r store.Record, upd *update.Update, pos int, bypass bool) (bool, bsoncore.Document, error) {
	now := time.Now()
	t, i := s.clock.tick(now)
	out, err := upd.ApplyDescribed(r.Doc, update.ApplyCtx{MatchPos: pos, Now: now, ClusterTime: [2]uint32{t, i}})
	if err != nil {
		return false, r.Doc, err
	}
	if !out.Changed {
		return false, r.Doc, nil
	}
	if len(out.Doc) > maxBSONObjectSize {
		return false, r.Doc, mongoerr.New(mongoerr.Location17419, "Resulting document after update is larger than %d", maxBSONObjectSize)
	}
	if err := c.Validate(out.Doc, r.Doc, bypass); err != nil {
		return false, r.Doc, err
	}
	if _, err := c.Replace(r.RID, out.Doc); err != nil {
		return false, r.Doc, err
	}
	uuid := c.UUID
	e := oplogEntry{Op: "u", NS: c.Namespace(), UI: &uuid, O2: bsonkit.D("_id", r.ID), Pre: r.Doc, Post: out.Doc, TS: [2]uint32{t, i},
		Desc: out.Description, PrePostImages: c.PreAndPostImages()}
	if out.Description != nil {
		e.O = out.Description.Document(false)
	} else {
		e.O = out.Doc // a replacement
	}
	s.recordWrite(req, e)
	return true, out.Doc, nil
}

// upsertInsert builds and inserts the document of an upsert that matched
// nothing: seeded from the filter's equalities, then updated.
func (s *Server) upsertInsert(req *request, coll string, spec *updateSpec, bypass bool) (bsoncore.Document, error) {
	eq, err := spec.filter.upsertSeed()
	if err != nil {
		return nil, err
	}
	seed, err := spec.upd.Seed(eq)
	if err != nil {
		return nil, err
	}
	c, err := s.ensureCollection(req, coll)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	t, i := s.clock.tick(now)
	out, _, err := spec.upd.Apply(seed, update.ApplyCtx{MatchPos: -1, Upsert: true, Now: now, ClusterTime: [2]uint32{t, i}})
	if err != nil {
		return nil, err
	}
	doc, err := update.FinalizeUpsert(out, func() [12]byte { return bson.NewObjectID() }, spec.upd.Kind() == update.Pipeline)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(doc, nil, bypass); err != nil {
		return nil, err
	}
	if _, _, err := c.Insert(doc); err != nil {
		return nil, err
	}
	uuid := c.UUID
	s.recordWrite(req, oplogEntry{Op: "i", NS: c.Namespace(), UI: &uuid, O: doc, TS: [2]uint32{t, i}})
	return doc, nil
}
