package update

import (
	"context"
	"time"

	"github.com/mlink-dev/mlink/mongosim/agg"
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/expr"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// pipelineUpdate is an update given as an aggregation pipeline. Only the
// stages mongod allows in an update may appear; the pipeline's output
// replaces the document (keeping the stored _id when the output has none).
type pipelineUpdate struct {
	stages []bsoncore.Document
	vars   map[string]bsoncore.Value
}

var updateStages = map[string]bool{
	"$addFields": true, "$set": true, "$project": true, "$unset": true, "$replaceRoot": true, "$replaceWith": true,
}

func compilePipeline(arr bsoncore.Array, opts Options) (*pipelineUpdate, error) {
	if len(opts.ArrayFilters) > 0 {
		return nil, mongoerr.New(mongoerr.FailedToParse, "arrayFilters may not be specified for pipeline-style updates")
	}
	vals, err := arr.Values()
	if err != nil {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "invalid update pipeline: %v", err)
	}
	p := &pipelineUpdate{}
	for _, v := range vals {
		if v.Type != bsoncore.TypeEmbeddedDocument {
			return nil, mongoerr.New(mongoerr.TypeMismatch, "Each element of the 'pipeline' array must be an object")
		}
		p.stages = append(p.stages, v.Document())
	}
	if len(opts.Let) > 0 {
		p.vars = map[string]bsoncore.Value{}
		elems, _ := opts.Let.Elements()
		for _, e := range elems {
			if err := expr.ValidateVarName(e.Key()); err != nil {
				return nil, err
			}
			p.vars[e.Key()] = e.Value()
		}
	}
	if _, err := p.compile(time.Now(), [2]uint32{}); err != nil {
		return nil, err
	}
	for _, st := range p.stages {
		elems, _ := st.Elements()
		if name := elems[0].Key(); !updateStages[name] {
			return nil, mongoerr.New(mongoerr.InvalidOptions, "%s is not allowed to be used within an update", name)
		}
	}
	return p, nil
}

// compile builds the agg pipeline for one application so $$NOW and
// $$CLUSTER_TIME are those of the write.
func (p *pipelineUpdate) compile(now time.Time, ct [2]uint32) (*agg.Pipeline, error) {
	return agg.CompileOptions(p.stages, updateEnv{now: now}, agg.Options{Vars: p.vars, ClusterTime: bsonkit.Timestamp(ct[0], ct[1])})
}

func (p *pipelineUpdate) apply(doc bsoncore.Document, ctx ApplyCtx, describe bool) (Result, error) {
	pl, err := p.compile(ctx.Now, ctx.ClusterTime)
	if err != nil {
		return Result{Doc: doc}, err
	}
	it, err := pl.Run(context.Background(), agg.SliceIterator([]bsoncore.Document{doc}))
	if err != nil {
		return Result{Doc: doc}, err
	}
	out, ok, err := it.Next()
	if err != nil {
		return Result{Doc: doc}, err
	}
	if !ok {
		return Result{Doc: doc}, mongoerr.New(mongoerr.InternalError, "update pipeline produced no document")
	}
	res, changed, err := replaceDocument(doc, out, !ctx.Upsert, true)
	if err != nil || !changed {
		return Result{Doc: doc}, err
	}
	r := Result{Doc: res, Changed: true}
	if describe && !ctx.Upsert {
		if d, delta := DiffDelta(doc, res); delta {
			r.Description = &d
		}
	}
	return r, nil
}

// updateEnv is the agg environment of an update pipeline; none of the
// allowed stages reads collection statistics.
type updateEnv struct{ now time.Time }

func (e updateEnv) Now() time.Time { return e.now }

func (updateEnv) CollStats(string, bsoncore.Document) (bsoncore.Document, error) {
	return nil, mongoerr.New(mongoerr.InvalidOptions, "$collStats is not allowed to be used within an update")
}
