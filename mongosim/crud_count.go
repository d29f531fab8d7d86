package mongosim

import (
	"context"
	"slices"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/query"
	"github.com/mlink-dev/mlink/mongosim/store"
)

func init() {
	register(command{name: "count", handler: handleCount, lock: lockRead})
	register(command{name: "distinct", handler: handleDistinct, lock: lockRead})
}

var (
	countFields    = fieldSet("count", "query", "limit", "skip", "hint", "collation", "fields", "readConcern")
	distinctFields = fieldSet("distinct", "key", "query", "collation", "hint")
)

func handleCount(ctx context.Context, req *request) (bsoncore.Document, error) {
	if err := checkFields(req, countFields); err != nil {
		return nil, err
	}
	coll, err := collectionArg(req)
	if err != nil {
		return nil, err
	}
	qdoc, err := checkFilterArg("count", "query", req.arg("query"))
	if err != nil {
		return nil, err
	}
	f, err := compileFilter(qdoc)
	if err != nil {
		return nil, err
	}
	var limit, skip int64
	if v := req.arg("limit"); bsonkit.IsNumber(v.Type) {
		if limit, err = intArg("count", "limit", v); err != nil {
			return nil, err
		}
		if limit < 0 {
			limit = -limit // count treats a negative limit as its absolute value
		}
	}
	if skip, err = nonNegative("count", "skip", req.arg("skip")); err != nil {
		return nil, err
	}
	c := req.srv.store.Collection(req.db, coll)
	var n int64
	if c != nil && c.Kind == store.KindView {
		docs, err := req.srv.runAggregate(ctx, req.db, coll, false, matchStages(qdoc), nil)
		if err != nil {
			return nil, err
		}
		n = int64(len(docs))
		c = nil
	} else if err := checkHint(c, req.arg("hint")); err != nil {
		return nil, err
	}
	if c != nil {
		if f.empty {
			n = c.Count()
		} else {
			err := eachMatch(c, f, planScan(f, nil, req.arg("hint")), func(store.Record) bool { n++; return true })
			if err != nil {
				return nil, err
			}
		}
	}
	n = max(0, n-skip)
	if limit > 0 {
		n = min(n, limit)
	}
	return bsonkit.D("n", bsonkit.Int32(int32(n))), nil
}

func handleDistinct(ctx context.Context, req *request) (bsoncore.Document, error) {
	if err := checkFields(req, distinctFields); err != nil {
		return nil, err
	}
	coll, err := collectionArg(req)
	if err != nil {
		return nil, err
	}
	kv := req.arg("key")
	if kv.Type != bsoncore.TypeString {
		if bsonkit.IsMissing(kv) {
			return nil, mongoerr.MissingField("distinct.key")
		}
		return nil, mongoerr.WrongType("distinct.key", typeName(kv.Type), "string")
	}
	key := kv.StringValue()
	qdoc, err := checkFilterArg("distinct", "query", req.arg("query"))
	if err != nil {
		return nil, err
	}
	f, err := compileFilter(qdoc)
	if err != nil {
		return nil, err
	}
	c := req.srv.store.Collection(req.db, coll)
	var vals []bsoncore.Value
	if c != nil && c.Kind == store.KindView {
		docs, err := req.srv.runAggregate(ctx, req.db, coll, false, matchStages(qdoc), nil)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			vals = append(vals, query.Lookup(d, key)...)
		}
		c = nil
	}
	if c != nil {
		err := eachMatch(c, f, planScan(f, nil, req.arg("hint")), func(r store.Record) bool {
			// An array at the end of the path contributes its elements.
			vals = append(vals, query.Lookup(r.Doc, key)...)
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	// mongod collects into a set ordered by BSON comparison.
	slices.SortStableFunc(vals, bsonkit.Compare)
	vals = slices.CompactFunc(vals, bsonkit.Equal)
	return bsonkit.D("values", bsonkit.Array(vals...)), nil
}

// matchStages is [{$match: filter}] or no stage for an empty filter.
func matchStages(filter bsoncore.Document) []bsoncore.Document {
	if len(filter) <= 5 {
		return nil
	}
	return []bsoncore.Document{bsonkit.D("$match", bsonkit.DocValue(filter))}
}
