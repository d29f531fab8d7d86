// Package clone copies a source replica set's catalog and documents to a
// target: collections with every option, views, indexes, then documents as
// raw BSON in parallel _id-range partitions, checkpointed so a restarted
// clone continues instead of starting over.
package clone

import (
	"context"
	"fmt"
	"sort"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
)

// Unsupported is a namespace the filter selects but mlink cannot carry. It
// is reported (preflight, status), never silently skipped.
type Unsupported struct {
	NS     string `json:"ns"`
	Reason string `json:"reason"`
}

// Plan is what the clone will copy.
type Plan struct {
	Collections []mongo.CollectionInfo
	Views       []mongo.CollectionInfo
	Unsupported []Unsupported
}

// BuildPlan lists the source namespaces the filter selects.
func BuildPlan(ctx context.Context, src *mongo.Client, filter *mlink.Filter) (Plan, error) {
	var p Plan
	dbs, err := src.ListDatabaseNames(ctx)
	if err != nil {
		return p, err
	}
	for _, db := range dbs {
		if !filter.MayMatchDB(db) {
			continue
		}
		colls, err := src.ListCollections(ctx, db)
		if err != nil {
			return p, err
		}
		for _, ci := range colls {
			if !filter.Match(ci.NS) {
				continue
			}
			switch ci.Type {
			case mongo.TypeCollection:
				p.Collections = append(p.Collections, ci)
			case mongo.TypeView:
				p.Views = append(p.Views, ci)
			case mongo.TypeTimeseries:
				p.Unsupported = append(p.Unsupported, Unsupported{NS: ci.NS.String(),
					Reason: "time series collection: not supported by mlink (its buckets cannot be written directly); copy it with mongodump/mongorestore"})
			default:
				p.Unsupported = append(p.Unsupported, Unsupported{NS: ci.NS.String(), Reason: fmt.Sprintf("unknown collection type %q", ci.Type)})
			}
		}
	}
	sort.Slice(p.Unsupported, func(i, j int) bool { return p.Unsupported[i].NS < p.Unsupported[j].NS })
	return p, nil
}

// Namespaces returns the collections and views of the plan.
func (p Plan) Namespaces() []mlink.Namespace {
	var out []mlink.Namespace
	for _, ci := range p.Collections {
		out = append(out, ci.NS)
	}
	for _, ci := range p.Views {
		out = append(out, ci.NS)
	}
	return out
}
