package mongosim

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/store"
	"github.com/mlink-dev/mlink/mongosim/update"
)

func init() {
	register(command{name: "findAndModify", aliases: []string{"findandmodify"}, handler: handleFindAndModify, lock: lockWrite})
}

var famFields = fieldSet("findAndModify", "findandmodify", "query", "sort", "remove", "update", "new", "fields",
	"upsert", "bypassDocumentValidation", "collation", "arrayFilters", "hint", "let")

// handleFindAndModify: {findAndModify, query, sort, remove | update, new,
// fields, upsert, arrayFilters} → {lastErrorObject: {n, updatedExisting,
// upserted}, value}. Errors are command errors (no writeErrors).
func handleFindAndModify(_ context.Context, req *request) (bsoncore.Document, error) {
	if err := checkFields(req, famFields); err != nil {
		return nil, err
	}
	coll, err := collectionArg(req)
	if err != nil {
		return nil, err
	}
	const cmd = "findAndModify"
	let, err := req.srv.parseLet(req, cmd)
	if err != nil {
		return nil, err
	}
	qdoc, err := checkFilterArg(cmd, "query", req.arg("query"))
	if err != nil {
		return nil, err
	}
	f, err := compileFilterVars(qdoc, let)
	if err != nil {
		return nil, err
	}
	var sort *sortSpec
	if sdoc, err := checkFilterArg(cmd, "sort", req.arg("sort")); err != nil {
		return nil, err
	} else if len(sdoc) > 5 {
		if sort, err = compileSort(sdoc); err != nil {
			return nil, err
		}
	}
	pdoc, err := checkFilterArg(cmd, "fields", req.arg("fields"))
	if err != nil {
		return nil, err
	}
	proj, err := compileProjectionVars(pdoc, let)
	if err != nil {
		return nil, err
	}
	remove, err := boolArg(cmd, "remove", req.arg("remove"), false)
	if err != nil {
		return nil, err
	}
	returnNew, err := boolArg(cmd, "new", req.arg("new"), false)
	if err != nil {
		return nil, err
	}
	upsert, err := boolArg(cmd, "upsert", req.arg("upsert"), false)
	if err != nil {
		return nil, err
	}
	bypass, err := boolArg(cmd, "bypassDocumentValidation", req.arg("bypassDocumentValidation"), false)
	if err != nil {
		return nil, err
	}
	uv := req.arg("update")
	hasUpdate := !bsonkit.IsMissing(uv) && uv.Type != bsoncore.TypeNull
	switch {
	case remove && hasUpdate:
		return nil, mongoerr.New(mongoerr.FailedToParse, "Cannot specify both an update and remove=true")
	case !remove && !hasUpdate:
		return nil, mongoerr.New(mongoerr.FailedToParse, "Either an update or remove=true must be specified")
	case remove && upsert:
		return nil, mongoerr.New(mongoerr.FailedToParse, "Cannot specify both upsert=true and remove=true ")
	case remove && returnNew:
		return nil, mongoerr.New(mongoerr.FailedToParse,
			"Cannot specify both new=true and remove=true; 'remove' always returns the deleted document")
	}
	if err := checkWritableNS(req.db, coll); err != nil {
		return nil, err
	}
	s := req.srv
	c := req.st().Collection(req.db, coll)
	if c != nil && c.Kind == store.KindView {
		return nil, mongoerr.New(mongoerr.CommandNotSupportedOnView, "Namespace %s is a view, not a collection", c.Namespace())
	}
	if err := checkHint(c, req.arg("hint")); err != nil {
		return nil, err
	}
	var value bsoncore.Value = bsonkit.Null()
	render := func(doc bsoncore.Document, pos int) error {
		if proj != nil {
			var err error
			if doc, err = proj.Apply(doc, pos); err != nil {
				return err
			}
		}
		value = bsonkit.DocValue(doc)
		return nil
	}
	if remove {
		s.stats.delete.Add(1)
		n := 0
		if c != nil {
			recs, err := matchingRecords(c, f, sort, req.arg("hint"), 1)
			if err != nil {
				return nil, err
			}
			if len(recs) > 0 {
				r := recs[0]
				_, pos := f.match(r.Doc)
				if err := render(r.Doc, pos); err != nil {
					return nil, err
				}
				c.Delete(r.RID)
				uuid := c.UUID
				s.recordWrite(req, oplogEntry{Op: "d", NS: c.Namespace(), UI: &uuid, O: bsonkit.D("_id", r.ID), Pre: r.Doc,
					PrePostImages: c.PreAndPostImages()})
				n = 1
			}
		}
		return bsonkit.D("lastErrorObject", bsonkit.DocValue(bsonkit.D("n", bsonkit.Int32(int32(n)))), "value", value), nil
	}
	s.stats.update.Add(1)
	opts := update.Options{}
	if af := req.arg("arrayFilters"); !bsonkit.IsMissing(af) {
		if opts.ArrayFilters, err = docList(cmd, "arrayFilters", af); err != nil {
			return nil, err
		}
	}
	if uv.Type == bsoncore.TypeArray {
		opts.Let = let.doc
	}
	upd, err := update.Compile(uv, opts)
	if err != nil {
		return nil, err
	}
	spec := &updateSpec{filter: f, upd: upd, upsert: upsert, sort: sort, hint: req.arg("hint")}
	res, err := s.applyUpdate(req, coll, spec, bypass)
	if err != nil {
		return nil, err
	}
	var leo bsonkit.Doc
	switch {
	case !bsonkit.IsMissing(res.upsertedID):
		leo = bsonkit.Doc{{Key: "n", Value: bsonkit.Int32(1)}, {Key: "updatedExisting", Value: bsonkit.Bool(false)},
			{Key: "upserted", Value: res.upsertedID}}
		if returnNew {
			if err := render(res.post, -1); err != nil {
				return nil, err
			}
		}
	case res.matched > 0:
		leo = bsonkit.Doc{{Key: "n", Value: bsonkit.Int32(1)}, {Key: "updatedExisting", Value: bsonkit.Bool(true)}}
		doc := res.pre
		if returnNew {
			doc = res.post
		}
		_, pos := f.match(res.pre)
		if err := render(doc, pos); err != nil {
			return nil, err
		}
	default:
		leo = bsonkit.Doc{{Key: "n", Value: bsonkit.Int32(0)}, {Key: "updatedExisting", Value: bsonkit.Bool(false)}}
	}
	return bsonkit.D("lastErrorObject", leo.Value(), "value", value), nil
}
