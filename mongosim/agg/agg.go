// Package agg runs MongoDB aggregation pipelines over a document iterator:
// stage parsing with MongoDB's error codes, streaming stages, and blocking
// stages ($sort with top-k for $sort+$limit, $group, $bucketAuto, ...).
package agg

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/query"
)

// Iterator yields documents; ok=false at the end.
type Iterator interface {
	Next() (bsoncore.Document, bool, error)
}

// SliceIterator iterates over a slice of documents.
func SliceIterator(docs []bsoncore.Document) Iterator { return &sliceIter{docs: docs} }

type sliceIter struct {
	docs []bsoncore.Document
	i    int
}

func (s *sliceIter) Next() (bsoncore.Document, bool, error) {
	if s.i >= len(s.docs) {
		return nil, false, nil
	}
	d := s.docs[s.i]
	s.i++
	return d, true, nil
}

// iterFunc adapts a function to Iterator.
type iterFunc func() (bsoncore.Document, bool, error)

func (f iterFunc) Next() (bsoncore.Document, bool, error) { return f() }

// forEachInput calls fn for every document of in until in ends, fn fails
// or ctx is cancelled (blocking stages read their whole input first).
func forEachInput(ctx context.Context, in Iterator, fn func(bsoncore.Document) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		d, ok, err := in.Next()
		if err != nil || !ok {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
	}
}

// blockingIter runs load at the first Next (for a stage that must see its
// whole input before emitting) and then yields emit(item) for each loaded
// item in order, dropping each item once emitted so memory shrinks as the
// output is consumed.
func blockingIter[T any](load func() ([]T, error), emit func(T) bsoncore.Document) Iterator {
	var items []T
	loaded := false
	i := 0
	return iterFunc(func() (bsoncore.Document, bool, error) {
		if !loaded {
			loaded = true
			loadedItems, err := load()
			if err != nil {
				return nil, false, err
			}
			items = loadedItems
		}
		if i >= len(items) {
			return nil, false, nil
		}
		it := items[i]
		var zero T
		items[i] = zero
		i++
		return emit(it), true, nil
	})
}

func sameDoc(d bsoncore.Document) bsoncore.Document { return d }

// Collect drains an iterator.
func Collect(it Iterator) ([]bsoncore.Document, error) {
	var out []bsoncore.Document
	for {
		d, ok, err := it.Next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		out = append(out, d)
	}
}

// Env is what stages need from the server.
type Env interface {
	// CollStats returns the one document $collStats outputs.
	CollStats(ns string, spec bsoncore.Document) (bsoncore.Document, error)
	Now() time.Time
}

// Options are per-operation settings beyond the stages themselves.
type Options struct {
	Namespace   string                    // "db.coll", passed to Env.CollStats
	Vars        map[string]bsoncore.Value // let: variables
	ClusterTime bsoncore.Value            // $$CLUSTER_TIME
}

// Pipeline is a compiled pipeline.
type Pipeline struct {
	stages []stage
	env    Env
	opts   query.Options
	ns     string
}

// stage is one compiled pipeline stage.
type stage interface {
	name() string
	run(ctx context.Context, in Iterator, p *Pipeline) (Iterator, error)
}

// Compile parses a pipeline.
func Compile(stages []bsoncore.Document, env Env) (*Pipeline, error) {
	return CompileOptions(stages, env, Options{})
}

// CompileOptions parses a pipeline with per-operation options.
func CompileOptions(stages []bsoncore.Document, env Env, o Options) (*Pipeline, error) {
	p := &Pipeline{env: env, ns: o.Namespace}
	p.opts = query.Options{Vars: o.Vars, ClusterTime: o.ClusterTime, Now: time.Now()}
	if env != nil {
		p.opts.Now = env.Now()
	}
	for i, spec := range stages {
		els, err := spec.Elements()
		if err != nil {
			return nil, mongoerr.New(mongoerr.FailedToParse, "invalid pipeline stage: %v", err)
		}
		if len(els) != 1 {
			return nil, mongoerr.New(40323, "A pipeline stage specification object must contain exactly one field.")
		}
		name, arg := els[0].Key(), els[0].Value()
		parse, ok := stageParsers[name]
		if !ok {
			if unsupportedStages[name] {
				return nil, mongoerr.New(mongoerr.NotImplemented, "%s is not supported by mongosim", name)
			}
			return nil, mongoerr.New(40324, "Unrecognized pipeline stage name: '%s'", name)
		}
		if name == "$collStats" && i != 0 {
			return nil, mongoerr.New(40602, "$collStats is only valid as the first stage in a pipeline")
		}
		st, err := parse(arg, p)
		if err != nil {
			return nil, err
		}
		p.stages = append(p.stages, st)
	}
	p.fuseSortLimit()
	return p, nil
}

var unsupportedStages = map[string]bool{
	"$lookup": true, "$graphLookup": true, "$unionWith": true, "$out": true, "$merge": true,
	"$geoNear": true, "$indexStats": true, "$changeStream": true, "$currentOp": true, "$listSessions": true,
	"$search": true, "$searchMeta": true, "$vectorSearch": true, "$densify": true, "$fill": true,
	"$setWindowFields": true, "$redact": true, "$planCacheStats": true, "$documents": true,
	"$listLocalSessions": true, "$changeStreamSplitLargeEvent": true, "$listSearchIndexes": true,
}

type stageParser func(arg bsoncore.Value, p *Pipeline) (stage, error)

var stageParsers = map[string]stageParser{}

// fuseSortLimit lets a $sort keep only the top k documents when it is
// followed by $limit (possibly after $skip, which adds to k).
func (p *Pipeline) fuseSortLimit() {
	for i, st := range p.stages {
		s, ok := st.(*sortStage)
		if !ok {
			continue
		}
		extra := int64(0)
		for j := i + 1; j < len(p.stages); j++ {
			switch n := p.stages[j].(type) {
			case *skipStage:
				extra += n.n
				continue
			case *limitStage:
				s.limit = n.n + extra
			}
			break
		}
	}
}

// Run executes the pipeline over in.
func (p *Pipeline) Run(ctx context.Context, in Iterator) (Iterator, error) {
	it := in
	for _, st := range p.stages {
		next, err := st.run(ctx, it, p)
		if err != nil {
			return nil, err
		}
		it = next
	}
	return &ctxIter{ctx: ctx, it: it}, nil
}

// ctxIter stops with the context's error once it is done.
type ctxIter struct {
	ctx context.Context
	it  Iterator
}

func (c *ctxIter) Next() (bsoncore.Document, bool, error) {
	if err := c.ctx.Err(); err != nil {
		return nil, false, err
	}
	return c.it.Next()
}

// LeadingMatch returns the filter of a leading $match the server may push
// into its scan (the stage still runs), or nil.
func (p *Pipeline) LeadingMatch() *query.Matcher {
	if len(p.stages) == 0 {
		return nil
	}
	if m, ok := p.stages[0].(*matchStage); ok {
		return m.m
	}
	return nil
}

// FirstStageName is the name of the first stage ("" for an empty pipeline).
func (p *Pipeline) FirstStageName() string {
	if len(p.stages) == 0 {
		return ""
	}
	return p.stages[0].name()
}

// StageNames lists the compiled stages in order.
func (p *Pipeline) StageNames() []string {
	out := make([]string, len(p.stages))
	for i, s := range p.stages {
		out[i] = s.name()
	}
	return out
}

// LeadingSortLimit returns the sort spec and limit (0 = none) of a
// leading $sort the server may satisfy from its scan order, or nil.
func (p *Pipeline) LeadingSortLimit() (*query.Sort, int64) {
	for _, st := range p.stages {
		switch s := st.(type) {
		case *matchStage:
			continue
		case *sortStage:
			return s.sort, s.limit
		}
		break
	}
	return nil, 0
}
