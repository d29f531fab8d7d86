package changestream

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/agg"
)

// AggStages compiles the stages after $changeStream with package agg.
// Every allowed stage ($match, $project, $addFields/$set, $unset,
// $replaceRoot/$replaceWith) maps one event to at most one, so the
// pipeline runs per event.
func AggStages(env agg.Env) StageCompiler {
	return func(stages []bsoncore.Document) (Stages, error) {
		p, err := agg.Compile(stages, env)
		if err != nil {
			return nil, err
		}
		return aggStages{p: p}, nil
	}
}

type aggStages struct{ p *agg.Pipeline }

func (a aggStages) Apply(ctx context.Context, ev bsoncore.Document) (bsoncore.Document, bool, error) {
	it, err := a.p.Run(ctx, agg.SliceIterator([]bsoncore.Document{ev}))
	if err != nil {
		return nil, false, err
	}
	out, ok, err := it.Next()
	if err != nil || !ok {
		return nil, false, err
	}
	return out, true, nil
}
