package clone

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
)

// RestoreDeferred undoes the sync-time relaxations recorded on the target
// (mlink.Deferred): unique indexes become unique again (prepareUnique, then
// unique), TTL indexes and clustered collections get their expiry back.
// Finalize calls it once replication has stopped. A property that cannot
// be restored (say, duplicates now exist) is reported, not fatal.
func RestoreDeferred(ctx context.Context, dst *mongo.Client) (restored int, failures []mlink.IndexFailure, err error) {
	var defs []mlink.Deferred
	if err := dst.Meta().All(ctx, mlink.MetaDeferredColl, "_id", &defs); err != nil {
		return 0, nil, err
	}
	for _, d := range defs {
		f := restoreOne(ctx, dst, d)
		if ctx.Err() != nil {
			return restored, failures, ctx.Err()
		}
		if len(f) == 0 {
			restored++
		}
		failures = append(failures, f...)
	}
	return restored, failures, nil
}

func restoreOne(ctx context.Context, dst *mongo.Client, d mlink.Deferred) []mlink.IndexFailure {
	ns, err := mlink.ParseNamespace(d.NS)
	if err != nil {
		return []mlink.IndexFailure{{Namespace: d.NS, Index: d.Index, Error: err.Error()}}
	}
	var out []mlink.IndexFailure
	run := func(option string, cmd bson.D) {
		err := retryTransient(ctx, func(ctx context.Context) error {
			_, err := dst.RunCommand(ctx, ns.DB, cmd)
			return err
		})
		if err != nil && !mongo.IsNamespaceNotFound(err) {
			out = append(out, mlink.IndexFailure{Namespace: d.NS, Index: d.Index, Option: option, Error: err.Error()})
		}
	}
	if d.Index == "" {
		if d.ExpireAfterSeconds != nil {
			run("expireAfterSeconds", bson.D{{Key: "collMod", Value: ns.Coll}, {Key: "expireAfterSeconds", Value: *d.ExpireAfterSeconds}})
		}
		return out
	}
	index := func(kv ...bson.E) bson.D {
		return bson.D{{Key: "collMod", Value: ns.Coll}, {Key: "index", Value: append(bson.D{{Key: "name", Value: d.Index}}, kv...)}}
	}
	if d.Unique {
		run("prepareUnique", index(bson.E{Key: "prepareUnique", Value: true}))
		run("unique", index(bson.E{Key: "unique", Value: true}))
	}
	if d.ExpireAfterSeconds != nil {
		run("expireAfterSeconds", index(bson.E{Key: "expireAfterSeconds", Value: *d.ExpireAfterSeconds}))
	}
	return out
}
