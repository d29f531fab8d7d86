package agg

import (
	"context"
	"math/rand/v2"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/expr"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	stageParsers["$sample"] = parseSample
	stageParsers["$facet"] = parseFacet
}

type sampleStage struct{ size int64 }

func (s *sampleStage) name() string { return "$sample" }

func parseSample(arg bsoncore.Value, p *Pipeline) (stage, error) {
	if arg.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(28745, "the $sample stage specification must be an object")
	}
	s := &sampleStage{size: -1}
	for _, e := range docElems(arg.Document()) {
		if e.Key() != "size" {
			return nil, mongoerr.New(28748, "unrecognized option to $sample: %s", e.Key())
		}
		v := e.Value()
		if !bsonkit.IsNumber(v.Type) {
			return nil, mongoerr.New(28746, "size argument to $sample must be a number")
		}
		f, _ := bsonkit.ToFloat(v)
		if f < 0 {
			return nil, mongoerr.New(28747, "size argument to $sample must not be negative")
		}
		s.size = int64(f)
	}
	if s.size < 0 {
		return nil, mongoerr.New(28749, "$sample stage must specify a size")
	}
	return s, nil
}

// run keeps a uniform reservoir sample and emits it in random order.
func (s *sampleStage) run(ctx context.Context, in Iterator, p *Pipeline) (Iterator, error) {
	load := func() ([]bsoncore.Document, error) {
		var out []bsoncore.Document
		seen := int64(0)
		err := forEachInput(ctx, in, func(d bsoncore.Document) error {
			seen++
			if int64(len(out)) < s.size {
				out = append(out, d)
			} else if j := rand.Int64N(seen); j < s.size {
				out[j] = d
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		rand.Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
		return out, nil
	}
	return blockingIter(load, sameDoc), nil
}

type facetStage struct {
	names []string
	pipes []*Pipeline
}

func (f *facetStage) name() string { return "$facet" }

var facetForbidden = map[string]bool{
	"$collStats": true, "$facet": true, "$geoNear": true, "$indexStats": true, "$out": true,
	"$merge": true, "$planCacheStats": true, "$changeStream": true,
}

func parseFacet(arg bsoncore.Value, p *Pipeline) (stage, error) {
	if arg.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(15947, "the $facet specification must be a non-empty object")
	}
	f := &facetStage{}
	for _, e := range docElems(arg.Document()) {
		v := e.Value()
		if v.Type != bsoncore.TypeArray {
			return nil, mongoerr.New(40170, "arguments to $facet must be arrays, %s is type %s", e.Key(), expr.TypeName(v.Type))
		}
		var stages []bsoncore.Document
		for _, s := range bsonkit.Values(v) {
			if s.Type != bsoncore.TypeEmbeddedDocument {
				return nil, mongoerr.New(40171, "elements of arrays in $facet spec must be non-empty objects, %s field contained an element of type %s",
					e.Key(), expr.TypeName(s.Type))
			}
			if first, err := s.Document().IndexErr(0); err == nil && facetForbidden[first.Key()] {
				return nil, mongoerr.New(40600, "%s is not allowed to be used within a $facet stage", first.Key())
			}
			stages = append(stages, s.Document())
		}
		sub, err := CompileOptions(stages, p.env, Options{Namespace: p.ns, Vars: p.opts.Vars, ClusterTime: p.opts.ClusterTime})
		if err != nil {
			return nil, err
		}
		sub.opts = p.opts
		f.names = append(f.names, e.Key())
		f.pipes = append(f.pipes, sub)
	}
	if len(f.names) == 0 {
		return nil, mongoerr.New(40169, "the $facet specification must be a non-empty object")
	}
	return f, nil
}

func (f *facetStage) run(ctx context.Context, in Iterator, p *Pipeline) (Iterator, error) {
	done := false
	return iterFunc(func() (bsoncore.Document, bool, error) {
		if done {
			return nil, false, nil
		}
		done = true
		docs, err := Collect(in)
		if err != nil {
			return nil, false, err
		}
		var out bsonkit.Doc
		for i, sub := range f.pipes {
			it, err := sub.Run(ctx, SliceIterator(docs))
			if err != nil {
				return nil, false, err
			}
			res, err := Collect(it)
			if err != nil {
				return nil, false, err
			}
			vals := make([]bsoncore.Value, len(res))
			for j, d := range res {
				vals[j] = bsonkit.DocValue(d)
			}
			out.Append(f.names[i], bsonkit.Array(vals...))
		}
		return out.Bytes(), true, nil
	}), nil
}
