package update

import (
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Interim until packages query and agg land (they are being written in
// parallel): $pull with conditions, arrayFilters and pipeline-style updates
// report NotImplemented instead of guessing at query or stage semantics.

func compileQuery(bsoncore.Document) (docMatcher, error) {
	return nil, mongoerr.New(mongoerr.NotImplemented, "query filters in updates need package query, not yet available")
}

type pipelineUpdate struct{}

func compilePipeline(bsoncore.Array, Options) (*pipelineUpdate, error) {
	return nil, mongoerr.New(mongoerr.NotImplemented, "pipeline-style updates need package agg, not yet available")
}

func (p *pipelineUpdate) apply(doc bsoncore.Document, _ ApplyCtx, _ bool) (Result, error) {
	return Result{Doc: doc}, mongoerr.New(mongoerr.NotImplemented, "pipeline-style updates need package agg, not yet available")
}
