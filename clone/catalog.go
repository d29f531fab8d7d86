package clone

import (
	"context"
	"fmt"
	"math"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
)

// DisabledTTL is the expireAfterSeconds mlink gives TTL indexes and
// clustered collections during the sync: the largest value MongoDB accepts,
// so the target never expires documents the source still holds. The real
// value is restored at finalize.
const DisabledTTL = math.MaxInt32

// CreateCommand builds the create command for a source collection, with the
// options as listCollections reported them, except clustered-collection
// expiry which is deferred.
func CreateCommand(ci mongo.CollectionInfo) (bson.D, *mlink.Deferred) {
	cmd := bson.D{{Key: "create", Value: ci.NS.Coll}}
	var def *mlink.Deferred
	elems, _ := ci.Options.Elements()
	for _, e := range elems {
		if e.Key() == "expireAfterSeconds" && ci.Clustered() {
			secs := mongo.AsInt(e.Value())
			def = &mlink.Deferred{ID: ci.NS.String() + "/", NS: ci.NS.String(), ExpireAfterSeconds: &secs}
			continue
		}
		cmd = append(cmd, bson.E{Key: e.Key(), Value: e.Value()})
	}
	return cmd, def
}

// TargetIndexSpec turns a source index spec into the spec built on the
// target during the sync: unique indexes are built non-unique (replayed
// events can pass through transient duplicates, e.g. a key moved from one
// document to another and applied in another order) and TTL indexes get an
// expiry that never fires. What was relaxed is returned to be restored at
// finalize.
func TargetIndexSpec(ns mlink.Namespace, spec bson.Raw) (bson.D, *mlink.Deferred) {
	name, _ := spec.Lookup("name").StringValueOK()
	out := bson.D{}
	def := &mlink.Deferred{ID: ns.String() + "/" + name, NS: ns.String(), Index: name}
	relaxed := false
	elems, _ := spec.Elements()
	for _, e := range elems {
		switch e.Key() {
		case "ns": // pre-4.4 servers echo it; createIndexes rejects a mismatch
			continue
		case "unique":
			if b, ok := e.Value().BooleanOK(); ok && b {
				def.Unique, relaxed = true, true
				continue
			}
		case "expireAfterSeconds":
			secs := mongo.AsInt(e.Value())
			def.ExpireAfterSeconds, relaxed = &secs, true
			out = append(out, bson.E{Key: "expireAfterSeconds", Value: int32(DisabledTTL)})
			continue
		}
		out = append(out, bson.E{Key: e.Key(), Value: e.Value()})
	}
	if !relaxed {
		return out, nil
	}
	return out, def
}

// isIDIndex reports the index every collection gets from create: the _id
// index, or a clustered collection's clustered index (whatever its name),
// which createIndexes cannot build.
func isIDIndex(spec bson.Raw) bool {
	if clustered, _ := spec.Lookup("clustered").BooleanOK(); clustered {
		return true
	}
	name, _ := spec.Lookup("name").StringValueOK()
	return name == "_id_"
}

// createCollection creates ns on the target with its source options. An
// existing collection or view of that name is dropped first: preflight
// already refused targets holding data unless overwriting was asked for.
func createCollection(ctx context.Context, dst *mongo.Client, ci mongo.CollectionInfo) (*mlink.Deferred, error) {
	if err := dropTarget(ctx, dst, ci.NS); err != nil {
		return nil, err
	}
	var cmd bson.D
	var def *mlink.Deferred
	if ci.Type == mongo.TypeView {
		cmd = bson.D{{Key: "create", Value: ci.NS.Coll}}
		elems, _ := ci.Options.Elements()
		for _, e := range elems {
			cmd = append(cmd, bson.E{Key: e.Key(), Value: e.Value()})
		}
	} else {
		cmd, def = CreateCommand(ci)
	}
	if _, err := dst.RunCommand(ctx, ci.NS.DB, cmd); err != nil {
		return nil, fmt.Errorf("target: create %s: %w", ci.NS, err)
	}
	return def, nil
}

func dropTarget(ctx context.Context, dst *mongo.Client, ns mlink.Namespace) error {
	_, err := dst.RunCommand(ctx, ns.DB, bson.D{{Key: "drop", Value: ns.Coll}})
	if err != nil && !mongo.IsNamespaceNotFound(err) {
		return fmt.Errorf("target: drop %s: %w", ns, err)
	}
	return nil
}

// IndexResult is the outcome of building one collection's indexes.
type IndexResult struct {
	Deferred []mlink.Deferred
	Failures []mlink.IndexFailure
}

// buildIndexes creates every non-_id index of the source collection on the
// target, one createIndexes per index so one failure (say, an option the
// target's version rejects) does not hide the others; failures are
// reported, not fatal.
func buildIndexes(ctx context.Context, src, dst *mongo.Client, ns mlink.Namespace, opts Options) (IndexResult, error) {
	var res IndexResult
	var specs []bson.Raw
	err := retryTransient(ctx, func(ctx context.Context) (err error) {
		specs, err = src.ListIndexes(ctx, ns)
		return err
	})
	if err != nil {
		return res, err
	}
	for _, spec := range specs {
		if isIDIndex(spec) {
			continue
		}
		ts, def := TargetIndexSpec(ns, spec)
		name, _ := spec.Lookup("name").StringValueOK()
		// Building an index that exists with the same spec is a no-op, so a
		// build cut by a network error is simply asked again.
		err := retryTransient(ctx, func(ctx context.Context) error {
			_, err := dst.RunCommand(ctx, ns.DB, bson.D{{Key: "createIndexes", Value: ns.Coll}, {Key: "indexes", Value: bson.A{ts}}})
			return err
		}, func(err error) {
			opts.Metrics.Retries.WithLabelValues("clone-index").Inc()
			opts.Logger.Warn("retrying index build", "ns", ns.String(), "index", name, "error", err)
		})
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			if isTransient(err) {
				return res, fmt.Errorf("target: build index %s on %s: %w", name, ns, err)
			}
			res.Failures = append(res.Failures, mlink.IndexFailure{Namespace: ns.String(), Index: name, Error: err.Error()})
			continue
		}
		if def != nil {
			res.Deferred = append(res.Deferred, *def)
		}
	}
	return res, nil
}

// CopyCollection copies one collection from scratch — catalog, documents
// in one ordered stream, indexes with the sync-time relaxations — outside
// the checkpointed clone. Replication uses it when a rename brings a
// namespace into the filter's scope; the change stream replays anything
// that changes while it runs.
//
// Every step is idempotent (the target collection is dropped first), so a
// copy cut by a transient error starts over.
func CopyCollection(ctx context.Context, src, dst *mongo.Client, ns mlink.Namespace, opts Options) error {
	opts = opts.withDefaults()
	return retryTransient(ctx, func(ctx context.Context) error {
		return copyCollectionOnce(ctx, src, dst, ns, opts)
	}, func(err error) {
		opts.Metrics.Retries.WithLabelValues("clone-copy-collection").Inc()
		opts.Logger.Warn("copying collection again after a transient error", "ns", ns.String(), "error", err)
	})
}

func copyCollectionOnce(ctx context.Context, src, dst *mongo.Client, ns mlink.Namespace, opts Options) error {
	colls, err := src.ListCollections(ctx, ns.DB)
	if err != nil {
		return err
	}
	var ci *mongo.CollectionInfo
	for i := range colls {
		if colls[i].NS == ns {
			ci = &colls[i]
		}
	}
	if ci == nil {
		return dropTarget(ctx, dst, ns) // gone again since: the stream says what follows
	}
	def, err := createCollection(ctx, dst, *ci)
	if err != nil {
		return err
	}
	if def != nil {
		if err := dst.Meta().Put(ctx, mlink.MetaDeferredColl, def.ID, def); err != nil {
			return err
		}
	}
	if ci.Type == mongo.TypeView {
		return nil
	}
	err = src.Scan(ctx, ns, mongo.Range{}, mongo.ScanOptions{BatchDocs: opts.BatchDocs, Natural: ci.Capped()}, func(b mongo.Batch) error {
		_, err := dst.Insert(ctx, ns, b.Docs, ci.Capped())
		return err
	})
	if err != nil {
		return err
	}
	res, err := buildIndexes(ctx, src, dst, ns, opts)
	if err != nil {
		return err
	}
	for _, d := range res.Deferred {
		if err := dst.Meta().Put(ctx, mlink.MetaDeferredColl, d.ID, d); err != nil {
			return err
		}
	}
	if len(res.Failures) > 0 {
		return fmt.Errorf("copy %s: index %s: %s", ns, res.Failures[0].Index, res.Failures[0].Error)
	}
	return nil
}
