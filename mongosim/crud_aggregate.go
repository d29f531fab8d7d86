package mongosim

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/agg"
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/changestream"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/store"
)

func init() {
	register(command{name: "aggregate", handler: handleAggregate, counter: func(s *serverStats) { s.command.Add(1) }})
}

var aggregateFields = fieldSet("aggregate", "pipeline", "cursor", "explain", "allowDiskUse", "bypassDocumentValidation",
	"collation", "hint", "let", "fromMongos", "needsMerge", "isMapReduceCommand", "$_requestReshardingResumeToken")

// maxViewDepth is how many views may be stacked (mongod: 20).
const maxViewDepth = 20

// aggEnv is what pipeline stages need from the server; the caller of Run
// holds the store read lock.
type aggEnv struct{ s *Server }

func (e aggEnv) CollStats(ns string, spec bsoncore.Document) (bsoncore.Document, error) {
	return e.s.collStatsForNS(ns, spec)
}

func (e aggEnv) Now() time.Time { return time.Now() }

func handleAggregate(ctx context.Context, req *request) (bsoncore.Document, error) {
	if err := checkFields(req, aggregateFields); err != nil {
		return nil, err
	}
	target := req.arg("aggregate")
	collectionless := false
	coll := ""
	switch {
	case target.Type == bsoncore.TypeString:
		coll = target.StringValue()
		if coll == "" {
			return nil, mongoerr.New(mongoerr.InvalidNamespace, "Invalid namespace specified '%s.'", req.db)
		}
	case bsonkit.IsNumber(target.Type) && target.AsInt64() == 1:
		collectionless = true
	default:
		return nil, mongoerr.New(mongoerr.FailedToParse,
			"Invalid {aggregate: ...} value: must be a string or the number 1")
	}
	pv := req.arg("pipeline")
	if pv.Type != bsoncore.TypeArray {
		if bsonkit.IsMissing(pv) {
			return nil, mongoerr.MissingField("aggregate.pipeline")
		}
		return nil, mongoerr.WrongType("aggregate.pipeline", typeName(pv.Type), "array")
	}
	stages, err := docList("aggregate", "pipeline", pv)
	if err != nil {
		return nil, err
	}
	explain, err := boolArg("aggregate", "explain", req.arg("explain"), false)
	if err != nil {
		return nil, err
	}
	batchSize := -1
	cv := req.arg("cursor")
	switch {
	case cv.Type == bsoncore.TypeEmbeddedDocument:
		if v := cv.Document().Lookup("batchSize"); !bsonkit.IsMissing(v) {
			n, err := nonNegative("cursor", "batchSize", v)
			if err != nil {
				return nil, err
			}
			batchSize = int(n)
		}
	case !bsonkit.IsMissing(cv):
		return nil, mongoerr.WrongType("aggregate.cursor", typeName(cv.Type), "object")
	case !explain:
		return nil, mongoerr.New(mongoerr.FailedToParse, "The 'cursor' option is required, except for aggregate with the explain argument")
	}
	let, err := req.srv.parseLet(req, "aggregate")
	if err != nil {
		return nil, err
	}
	vars := let.vars
	if isStream, err := changestream.IsChangeStream(stages); err != nil {
		return nil, err
	} else if isStream {
		return req.srv.openChangeStream(ctx, req, coll, stages, batchSize)
	}
	for _, st := range stages {
		if name := firstKey(st); name == "$out" || name == "$merge" {
			return nil, mongoerr.New(mongoerr.NotImplemented, "%s is not supported by mongosim", name)
		}
	}
	s := req.srv
	ns := req.ns(coll)
	if collectionless {
		ns = req.db + ".$cmd.aggregate"
	}
	s.mu.RLock()
	docs, err := s.runAggregateIn(ctx, req.st(), req.db, coll, collectionless, stages, vars)
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if explain {
		return bsonkit.D(
			"explainVersion", bsonkit.String("1"),
			"stages", bsonkit.Array(),
			"queryPlanner", bsonkit.DocValue(bsonkit.D("namespace", bsonkit.String(ns),
				"winningPlan", bsonkit.DocValue(bsonkit.D("stage", bsonkit.String("COLLSCAN"))),
				"rejectedPlans", bsonkit.Array())),
		), nil
	}
	cur := &cursor{ns: ns, remaining: -1, src: &sliceSource{docs: docs}}
	return s.firstBatchReq(ctx, req, cur, batchSize, false)
}

// runAggregate resolves views, then runs the whole pipeline and collects
// its output. The caller holds s.mu for reading.
func (s *Server) runAggregate(ctx context.Context, db, coll string, collectionless bool, stages []bsoncore.Document,
	vars map[string]bsoncore.Value) ([]bsoncore.Document, error) {
	return s.runAggregateIn(ctx, s.store, db, coll, collectionless, stages, vars)
}

// runAggregateIn is runAggregate on st (a transaction's snapshot or the
// server's store).
func (s *Server) runAggregateIn(ctx context.Context, st *store.Store, db, coll string, collectionless bool, stages []bsoncore.Document,
	vars map[string]bsoncore.Value) ([]bsoncore.Document, error) {
	var c *store.Collection
	if !collectionless {
		base, viewStages, err := resolveView(st, db, coll)
		if err != nil {
			return nil, err
		}
		if len(viewStages) > 0 {
			if name := firstKey(firstOf(stages)); name == "$collStats" {
				return nil, mongoerr.New(mongoerr.OptionNotSupportedOnView, "$collStats is not supported on a view")
			}
			stages = append(viewStages, stages...)
		}
		coll = base
		c = st.Collection(db, coll)
	}
	p, err := agg.CompileOptions(stages, aggEnv{s}, agg.Options{Namespace: db + "." + coll, Vars: vars, ClusterTime: s.clock.now()})
	if err != nil {
		return nil, err
	}
	var in agg.Iterator = agg.SliceIterator(nil)
	switch {
	case p.FirstStageName() == "$collStats":
		// The stage produces its own document.
	case db == "local" && coll == "oplog.rs":
		in = agg.SliceIterator(s.oplogDocuments()) // the simulated oplog (oplog_view.go)
	case c != nil:
		var f *compiledFilter
		if m := p.LeadingMatch(); m != nil {
			f = &compiledFilter{m: m, empty: m.Empty()}
			if b, ok := m.IDBounds(); ok {
				f.hasBounds = true
				f.bounds = idBounds{eq: b.Eq, hasEq: b.HasEq, lo: b.Lo, hi: b.Hi, loIncl: b.LoIncl, hiIncl: b.HiIncl}
			}
		}
		in = &scanIter{c: c, f: f, sc: scanner{plan: planScan(f, aggSort(p), bsonkit.Missing)}}
	}
	out, err := p.Run(ctx, in)
	if err != nil {
		return nil, err
	}
	return agg.Collect(out)
}

func firstOf(stages []bsoncore.Document) bsoncore.Document {
	if len(stages) == 0 {
		return nil
	}
	return stages[0]
}

// aggSort maps a leading {_id: ±1} sort to the scan order.
func aggSort(p *agg.Pipeline) *sortSpec {
	s, _ := p.LeadingSortLimit()
	if s == nil {
		return nil
	}
	if k := s.Keys(); len(k) == 1 && k[0].Key == "_id" {
		dir := 1
		if f, _ := bsonkit.ToFloat(k[0].Value); f < 0 {
			dir = -1
		}
		return &sortSpec{s: s, idDir: dir}
	}
	return nil
}

// resolveView follows a view chain to its base collection and returns the
// stages to prepend (innermost view's pipeline first).
func resolveView(st *store.Store, db, coll string) (string, []bsoncore.Document, error) {
	var chain [][]bsoncore.Document
	for depth := 0; ; depth++ {
		c := st.Collection(db, coll)
		if c == nil || c.Kind != store.KindView {
			break
		}
		if depth >= maxViewDepth {
			return "", nil, mongoerr.New(mongoerr.ViewDepthLimitExceeded, "View depth too deep or view cycle detected; maximum depth is %d", maxViewDepth)
		}
		st, err := docList("view", "pipeline", bsoncore.Value{Type: bsoncore.TypeArray, Data: c.Pipeline})
		if err != nil {
			return "", nil, err
		}
		chain = append(chain, st)
		coll = c.ViewOn
	}
	var stages []bsoncore.Document
	for i := len(chain) - 1; i >= 0; i-- {
		stages = append(stages, chain[i]...)
	}
	return coll, stages, nil
}

// scanIter is a pull iterator over a collection scan for pipelines; the
// caller holds the store read lock for its whole life.
type scanIter struct {
	c  *store.Collection
	f  *compiledFilter
	sc scanner
}

func (it *scanIter) Next() (bsoncore.Document, bool, error) {
	var out bsoncore.Document
	var merr error
	it.sc.run(it.c, func(r store.Record) verdict {
		if it.f != nil {
			ok, _, err := it.f.matchErr(r.Doc)
			if err != nil {
				merr = err
				return leave
			}
			if !ok {
				return take
			}
		}
		out = r.Doc
		return takeStop
	})
	if merr != nil {
		return nil, false, merr
	}
	return out, out != nil, nil
}

// findOnView answers a find on a view: the view pipeline, then the find's
// filter/sort/skip/limit as stages, then its projection.
func (s *Server) findOnView(ctx context.Context, req *request, view *store.Collection, a *findArgs) (bsoncore.Document, error) {
	stages := []bsoncore.Document{}
	if fd := req.arg("filter"); fd.Type == bsoncore.TypeEmbeddedDocument && len(fd.Document()) > 5 {
		stages = append(stages, bsonkit.D("$match", fd))
	}
	if sd := req.arg("sort"); sd.Type == bsoncore.TypeEmbeddedDocument && len(sd.Document()) > 5 {
		stages = append(stages, bsonkit.D("$sort", sd))
	}
	if a.skip > 0 {
		stages = append(stages, bsonkit.D("$skip", bsonkit.Int64(a.skip)))
	}
	if a.limit > 0 {
		stages = append(stages, bsonkit.D("$limit", bsonkit.Int64(a.limit)))
	}
	s.mu.RLock()
	docs, err := s.runAggregateIn(ctx, req.st(), req.db, view.Name, false, stages, a.let.vars)
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if a.proj != nil {
		for i, d := range docs {
			if docs[i], err = a.proj.Apply(d, -1); err != nil {
				return nil, err
			}
		}
	}
	cur := &cursor{ns: req.ns(a.coll), remaining: -1, src: &sliceSource{docs: docs}}
	return s.firstBatchReq(ctx, req, cur, a.batchSize, a.singleBatch)
}
