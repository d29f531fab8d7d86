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
	register(command{name: "find", handler: handleFind, counter: func(s *serverStats) { s.query.Add(1) }})
}

var findFields = fieldSet("find", "filter", "sort", "projection", "hint", "skip", "limit", "batchSize",
	"singleBatch", "max", "min", "returnKey", "showRecordId", "tailable", "oplogReplay", "noCursorTimeout",
	"awaitData", "allowPartialResults", "collation", "allowDiskUse", "let", "readOnce", "term",
	"$_requestResumeToken", "$_resumeAfter", "includeQueryStatsMetrics")

// findArgs is a parsed find command (also built by count/distinct).
type findArgs struct {
	coll        string
	filter      *compiledFilter
	sort        *sortSpec
	proj        docProjector
	hint        bsoncore.Value
	skip        int64
	limit       int64 // 0 = none
	batchSize   int   // -1 = default
	singleBatch bool
	tailable    bool
	awaitData   bool
	noTimeout   bool
	// min/max bound the scan of the hinted index (only the _id index here):
	// [min, max) in index order, across every type bracket.
	minID, maxID bsoncore.Value
	indexBounds  bool
	// let: the command's variables, for the filter, projection and views.
	let *cmdVars
}

func nonNegative(cmd, field string, v bsoncore.Value) (int64, error) {
	if bsonkit.IsMissing(v) || v.Type == bsoncore.TypeNull {
		return 0, nil
	}
	n, err := intArg(cmd, field, v)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, mongoerr.New(mongoerr.Location51024, "BSON field '%s' value must be >= 0, actual value '%d'", field, n)
	}
	return n, nil
}

func parseFind(req *request) (*findArgs, error) {
	if err := checkFields(req, findFields); err != nil {
		return nil, err
	}
	coll, err := collectionArg(req)
	if err != nil {
		return nil, err
	}
	a := &findArgs{coll: coll, batchSize: -1, hint: req.arg("hint")}
	if a.let, err = req.srv.parseLet(req, "find"); err != nil {
		return nil, err
	}
	fdoc, err := checkFilterArg("find", "filter", req.arg("filter"))
	if err != nil {
		return nil, err
	}
	if a.filter, err = compileFilterVars(fdoc, a.let); err != nil {
		return nil, err
	}
	sdoc, err := checkFilterArg("find", "sort", req.arg("sort"))
	if err != nil {
		return nil, err
	}
	if len(sdoc) > 5 {
		if a.sort, err = compileSort(sdoc); err != nil {
			return nil, err
		}
	}
	pdoc, err := checkFilterArg("find", "projection", req.arg("projection"))
	if err != nil {
		return nil, err
	}
	if a.proj, err = compileProjectionVars(pdoc, a.let); err != nil {
		return nil, err
	}
	if a.skip, err = nonNegative("find", "skip", req.arg("skip")); err != nil {
		return nil, err
	}
	if a.limit, err = nonNegative("find", "limit", req.arg("limit")); err != nil {
		return nil, err
	}
	if v := req.arg("batchSize"); !bsonkit.IsMissing(v) {
		n, err := nonNegative("find", "batchSize", v)
		if err != nil {
			return nil, err
		}
		a.batchSize = int(n)
	}
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"singleBatch", &a.singleBatch}, {"tailable", &a.tailable}, {"awaitData", &a.awaitData}, {"noCursorTimeout", &a.noTimeout}} {
		if *f.dst, err = boolArg("find", f.name, req.arg(f.name), false); err != nil {
			return nil, err
		}
	}
	if err := parseMinMax(req, a); err != nil {
		return nil, err
	}
	for _, f := range []string{"returnKey", "showRecordId"} {
		// Accepting these without honouring them would return wrong results.
		if v := req.arg(f); !bsonkit.IsMissing(v) && !(v.Type == bsoncore.TypeBoolean && !v.Boolean()) {
			return nil, mongoerr.New(mongoerr.NotImplemented, "find option %s is not supported by mongosim", f)
		}
	}
	if a.awaitData && !a.tailable {
		return nil, mongoerr.New(mongoerr.FailedToParse, "Cannot set 'awaitData' without also setting 'tailable'")
	}
	if a.tailable && a.sort != nil && a.sort.natural == 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "cannot use tailable option with a sort other than {$natural: 1}")
	}
	return a, nil
}

func handleFind(ctx context.Context, req *request) (bsoncore.Document, error) {
	a, err := parseFind(req)
	if err != nil {
		return nil, err
	}
	s := req.srv
	ns := req.ns(a.coll)
	if req.db == "local" && a.coll == "oplog.rs" {
		return s.findOplog(ctx, req, a) // the simulated oplog (oplog_view.go)
	}
	s.mu.RLock()
	c := req.st().Collection(req.db, a.coll)
	if c != nil && c.Kind == store.KindView {
		s.mu.RUnlock()
		return s.findOnView(ctx, req, c, a)
	}
	if err := checkHint(c, a.hint); err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	if a.tailable {
		if capped, _, _ := cappedOf(c); !capped {
			s.mu.RUnlock()
			return nil, mongoerr.New(mongoerr.BadValue, "error processing query: ns=%s tailable cursor requested on non capped collection", ns)
		}
	}
	remaining := -1
	if a.limit > 0 {
		remaining = int(a.limit)
	}
	cur := &cursor{ns: ns, remaining: remaining, tailable: a.tailable, awaitData: a.awaitData, noTimeout: a.noTimeout}
	if c == nil {
		s.mu.RUnlock()
		cur.src = &sliceSource{}
		return s.firstBatchReq(ctx, req, cur, a.batchSize, a.singleBatch)
	}
	plan := planScan(a.filter, a.sort, a.hint)
	if a.indexBounds {
		plan = scanPlan{kind: scanID, bounds: idBounds{lo: a.minID, loIncl: true, hi: a.maxID}}
	}
	if a.sort != nil && a.sort.natural == 0 && a.sort.idDir == 0 {
		// In-memory sort: materialise now, under this read lock.
		docs, err := sortedMatches(c, a, plan)
		s.mu.RUnlock()
		if err != nil {
			return nil, err
		}
		cur.src = &sliceSource{docs: docs}
		cur.remaining = -1 // limit already applied
		return s.firstBatchReq(ctx, req, cur, a.batchSize, a.singleBatch)
	}
	uuid := c.UUID
	s.mu.RUnlock()
	cur.src = &findSource{srv: s, st: req.st(), db: req.db, coll: a.coll, uuid: uuid, filter: a.filter, proj: a.proj,
		skip: int(a.skip), sc: scanner{plan: plan, tailable: a.tailable}}
	return s.firstBatchReq(ctx, req, cur, a.batchSize, a.singleBatch)
}

// parseMinMax reads find's min and max: inclusive lower and exclusive upper
// bounds on the keys of the hinted index. Since 4.2 a hint is required.
// mongosim supports them on the _id index, which is what range-partitioned
// copies use.
func parseMinMax(req *request, a *findArgs) error {
	minV, maxV := req.arg("min"), req.arg("max")
	if bsonkit.IsMissing(minV) && bsonkit.IsMissing(maxV) {
		return nil
	}
	if bsonkit.IsMissing(a.hint) {
		return mongoerr.New(mongoerr.Location51173, "When using min()/max() a hint of which index to use must be provided")
	}
	idHint := false
	switch a.hint.Type {
	case bsoncore.TypeString:
		idHint = a.hint.StringValue() == "_id_"
	case bsoncore.TypeEmbeddedDocument:
		elems, _ := a.hint.Document().Elements()
		if len(elems) == 1 && elems[0].Key() == "_id" {
			n, ok := bsonkit.ToFloat(elems[0].Value())
			idHint = ok && n == 1
		}
	}
	if !idHint {
		return mongoerr.New(mongoerr.NotImplemented, "find min/max is supported by mongosim on the {_id: 1} index only")
	}
	bound := func(name string, v bsoncore.Value) (bsoncore.Value, error) {
		if bsonkit.IsMissing(v) {
			return bsonkit.Missing, nil
		}
		if v.Type != bsoncore.TypeEmbeddedDocument {
			return bsonkit.Missing, mongoerr.WrongType("FindCommandRequest."+name, typeName(v.Type), "object")
		}
		elems, _ := v.Document().Elements()
		if len(elems) != 1 || elems[0].Key() != "_id" {
			return bsonkit.Missing, mongoerr.New(mongoerr.Location51174, "The index chosen is not valid for min/max: the %s key pattern does not match the hinted index {_id: 1}", name)
		}
		return elems[0].Value(), nil
	}
	var err error
	if a.minID, err = bound("min", minV); err != nil {
		return err
	}
	if a.maxID, err = bound("max", maxV); err != nil {
		return err
	}
	a.indexBounds = true
	return nil
}

func cappedOf(c *store.Collection) (bool, int64, int64) {
	if c == nil {
		return false, 0, 0
	}
	return c.Capped()
}

// checkHint accepts {$natural: ±1}, a key pattern or the name of an existing
// index; anything else is BadValue as on mongod.
func checkHint(c *store.Collection, hint bsoncore.Value) error {
	switch hint.Type {
	case 0:
		return nil
	case bsoncore.TypeString:
		if c == nil || c.Index(hint.StringValue()) != nil {
			return nil
		}
	case bsoncore.TypeEmbeddedDocument:
		d := hint.Document()
		if len(d) <= 5 {
			return nil
		}
		if _, err := d.LookupErr("$natural"); err == nil {
			return nil
		}
		if c == nil || len(c.FindIndexByKey(d)) > 0 {
			return nil
		}
	default:
		return mongoerr.New(mongoerr.FailedToParse, "hint must be a string or an object")
	}
	return mongoerr.New(mongoerr.BadValue, "error processing query: planner returned error :: caused by :: hint provided does not correspond to an existing index")
}

type matchedDoc struct {
	doc bsoncore.Document
	pos int
}

// sortedMatches runs an in-memory sort: all matches, sorted (stable, so
// ties keep scan order), then skip, limit and projection.
func sortedMatches(c *store.Collection, a *findArgs, plan scanPlan) ([]bsoncore.Document, error) {
	var all []matchedDoc
	var merr error
	sc := scanner{plan: plan}
	sc.run(c, func(r store.Record) verdict {
		ok, pos, err := a.filter.matchErr(r.Doc)
		if err != nil {
			merr = err
			return leave
		}
		if ok {
			all = append(all, matchedDoc{r.Doc, pos})
		}
		return take
	})
	if merr != nil {
		return nil, merr
	}
	slices.SortStableFunc(all, func(x, y matchedDoc) int { return a.sort.s.Compare(x.doc, y.doc) })
	if a.skip >= int64(len(all)) {
		return nil, nil
	}
	all = all[a.skip:]
	if a.limit > 0 && a.limit < int64(len(all)) {
		all = all[:a.limit]
	}
	out := make([]bsoncore.Document, len(all))
	for i, m := range all {
		out[i] = m.doc
		if a.proj != nil {
			var err error
			if out[i], err = a.proj.Apply(m.doc, m.pos); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
