package mongosim

import (
	"context"
	"slices"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/store"
)

func init() {
	register(command{name: "delete", handler: handleDelete, lock: lockWrite, counter: func(*serverStats) {}})
}

var (
	deleteFields     = fieldSet("delete", "deletes", "ordered", "let", "bypassDocumentValidation")
	deleteStmtFields = fieldSet("q", "limit", "hint", "collation")
)

func handleDelete(_ context.Context, req *request) (bsoncore.Document, error) {
	b, err := parseWriteBatch(req, deleteFields, "deletes", true)
	if err != nil {
		return nil, err
	}
	s := req.srv
	c := req.st().Collection(req.db, b.coll)
	if c != nil && c.Kind == store.KindView {
		return nil, mongoerr.New(mongoerr.CommandNotSupportedOnView, "Namespace %s is a view, not a collection", c.Namespace())
	}
	var werrs writeErrorList
	n := 0
	for i, st := range b.stmts {
		s.stats.delete.Add(1)
		k, err := s.deleteOne(req, c, st, b.let)
		n += k
		if err != nil {
			werrs.add(i, err)
			if b.ordered {
				break
			}
		}
	}
	return s.writeReply(req, n, &werrs).Bytes(), nil
}

// deleteOne runs one delete statement {q, limit}; it returns how many
// documents it removed.
func (s *Server) deleteOne(req *request, c *store.Collection, st bsoncore.Document, let *cmdVars) (int, error) {
	if err := checkStmtFields("delete.deletes", st, deleteStmtFields); err != nil {
		return 0, err
	}
	qv, err := st.LookupErr("q")
	if err != nil {
		return 0, mongoerr.MissingField("delete.deletes.q")
	}
	q, err := checkFilterArg("delete.deletes", "q", qv)
	if err != nil {
		return 0, err
	}
	lv, err := st.LookupErr("limit")
	if err != nil {
		return 0, mongoerr.MissingField("delete.deletes.limit")
	}
	limit, err := intArg("delete.deletes", "limit", lv)
	if err != nil {
		return 0, err
	}
	if limit != 0 && limit != 1 {
		return 0, mongoerr.New(mongoerr.FailedToParse, "The limit field in delete objects must be 0 or 1. Got %d", limit)
	}
	f, err := compileFilterVars(q, let)
	if err != nil {
		return 0, err
	}
	if c == nil {
		return 0, nil
	}
	hint, _ := st.LookupErr("hint")
	if err := checkHint(c, hint); err != nil {
		return 0, err
	}
	rids, err := matchingRecords(c, f, nil, hint, int(limit))
	if err != nil {
		return 0, err
	}
	uuid := c.UUID
	for _, r := range rids {
		old := c.Delete(r.RID)
		if old == nil {
			continue
		}
		s.recordWrite(req, oplogEntry{Op: "d", NS: c.Namespace(), UI: &uuid, O: bsonkit.D("_id", r.ID),
			Pre: old, PrePostImages: c.PreAndPostImages()})
	}
	return len(rids), nil
}

// matchingRecords returns the records matching f in plan order, at most
// max (0 = all). Collected first so writes never disturb the scan. A
// runtime error in the filter's $expr fails the statement.
func matchingRecords(c *store.Collection, f *compiledFilter, sort *sortSpec, hint bsoncore.Value, max int) ([]store.Record, error) {
	var out []store.Record
	err := eachMatch(c, f, planScan(f, sort, hint), func(r store.Record) bool {
		out = append(out, r)
		return max <= 0 || len(out) < max || needsMemorySort(sort)
	})
	if err != nil {
		return nil, err
	}
	if needsMemorySort(sort) {
		slices.SortStableFunc(out, func(a, b store.Record) int { return sort.s.Compare(a.Doc, b.Doc) })
		if max > 0 && len(out) > max {
			out = out[:max]
		}
	}
	return out, nil
}

// needsMemorySort reports whether sort is not served by the scan order.
func needsMemorySort(sort *sortSpec) bool {
	return sort != nil && sort.natural == 0 && sort.idDir == 0
}

// checkStmtFields rejects unknown fields of a write statement.
func checkStmtFields(prefix string, st bsoncore.Document, allowed map[string]bool) error {
	elems, err := st.Elements()
	if err != nil {
		return mongoerr.New(mongoerr.InvalidBSON, "invalid statement: %v", err)
	}
	for _, e := range elems {
		if !allowed[e.Key()] {
			return mongoerr.New(mongoerr.Location40415, "BSON field '%s.%s' is an unknown field.", prefix, e.Key())
		}
	}
	return nil
}
