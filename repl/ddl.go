package repl

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/clone"
	"github.com/mlink-dev/mlink/mongo"
)

// Codes a replayed DDL may meet when the target already reflects it (the
// clone saw a later state, or a restart replays the tail): the end state is
// the same, so they are not errors.
var ddlAlreadyDone = []int{
	26, // NamespaceNotFound
	27, // IndexNotFound
	48, // NamespaceExists
	85, // IndexOptionsConflict (same index exists with the relaxed options)
	86, // IndexKeySpecsConflict
}

// applyDDL applies one DDL event, all earlier events being applied.
func (r *Replicator) applyDDL(ctx context.Context, e *mlink.Event) error {
	desc, _ := e.Raw.Lookup("operationDescription").DocumentOK()
	var err error
	switch e.Op {
	case mlink.OpCreate:
		err = r.create(ctx, e.NS, desc)
	case mlink.OpDrop:
		err = r.drop(ctx, e.NS)
	case mlink.OpDropDatabase:
		err = r.dropDatabase(ctx, e.NS.DB)
	case mlink.OpRename:
		// Replayed over a later state (catch-up, or after a restart), the
		// target's collection under the old name may be a newer one
		// created since: copy the destination afresh instead.
		if r.inCatchUp(e) || r.replaying(e) {
			err = r.recopyRenamed(ctx, e)
		} else {
			err = r.rename(ctx, e)
		}
	case mlink.OpCreateIndexes:
		err = r.createIndexes(ctx, e.NS, desc)
	case mlink.OpDropIndexes:
		err = r.dropIndexes(ctx, e.NS, desc)
	case mlink.OpModify:
		err = r.modify(ctx, e.NS, desc)
	default:
		return fmt.Errorf("unsupported change event %q on %s at %s: mlink cannot replicate it to a replica set; the sync stops here so nothing is silently skipped",
			e.Op, e.NS, mlink.FormatTimestamp(e.ClusterTime))
	}
	if err != nil && mongo.HasCode(err, ddlAlreadyDone...) {
		r.opts.Logger.Debug("DDL already reflected on target", "op", e.Op, "ns", e.NS.String(), "error", err)
		err = nil
	}
	if err != nil {
		r.opts.Metrics.Errors.WithLabelValues("repl-ddl").Inc()
		return &ApplyError{Event: e, Err: err}
	}
	r.opts.Logger.Info("DDL applied", "op", e.Op, "ns", e.NS.String(), "clusterTime", mlink.FormatTimestamp(e.ClusterTime))
	return nil
}

func (r *Replicator) run(ctx context.Context, db string, cmd bson.D) error {
	return mongo.Retry(ctx, 10, func(ctx context.Context) error {
		_, err := r.dst.RunCommand(ctx, db, cmd)
		return err
	}, func(err error) { r.opts.Metrics.Retries.WithLabelValues("repl-ddl").Inc() })
}

// create re-creates a collection or view with the options the event
// describes (clustered-collection expiry deferred, as in the clone).
func (r *Replicator) create(ctx context.Context, ns mlink.Namespace, desc bson.Raw) error {
	opts := bson.D{}
	elems, _ := desc.Elements()
	for _, el := range elems {
		if el.Key() == "idIndex" {
			continue
		}
		opts = append(opts, bson.E{Key: el.Key(), Value: el.Value()})
	}
	raw, err := bson.Marshal(opts)
	if err != nil {
		return err
	}
	ci := mongo.CollectionInfo{NS: ns, Type: mongo.TypeCollection, Options: raw}
	if _, err := desc.LookupErr("viewOn"); err == nil {
		ci.Type = mongo.TypeView
	}
	cmd, def := clone.CreateCommand(ci)
	if err := r.run(ctx, ns.DB, cmd); err != nil {
		return err
	}
	if def != nil {
		return r.dst.Meta().Put(ctx, mlink.MetaDeferredColl, def.ID, def)
	}
	return nil
}

func (r *Replicator) drop(ctx context.Context, ns mlink.Namespace) error {
	if err := r.run(ctx, ns.DB, bson.D{{Key: "drop", Value: ns.Coll}}); err != nil {
		return err
	}
	return r.forgetDeferred(ctx, ns)
}

// dropDatabase drops what the filter replicates of db: the whole database
// when every collection of it is in scope, else only matching collections
// (the target may hold others that mlink does not own).
func (r *Replicator) dropDatabase(ctx context.Context, db string) error {
	colls, err := r.dst.ListCollections(ctx, db)
	if err != nil {
		return err
	}
	for _, ci := range colls {
		if !r.opts.Filter.Match(ci.NS) {
			continue
		}
		if err := r.drop(ctx, ci.NS); err != nil && !mongo.IsNamespaceNotFound(err) {
			return err
		}
	}
	return nil
}

// rename moves a collection. A rename out of the filter's scope drops the
// target's copy; a rename into scope copies the collection afresh.
func (r *Replicator) rename(ctx context.Context, e *mlink.Event) error {
	f := r.opts.Filter
	fromIn, toIn := f.Match(e.NS), f.Match(e.To)
	switch {
	case fromIn && !toIn:
		return r.drop(ctx, e.NS)
	case !fromIn && toIn:
		if r.opts.CopyCollection == nil {
			return fmt.Errorf("rename of %s (not replicated) to %s (replicated): cannot copy the collection", e.NS, e.To)
		}
		return r.copyCollection(ctx, e.To)
	}
	err := r.run(ctx, "admin", bson.D{{Key: "renameCollection", Value: e.NS.String()}, {Key: "to", Value: e.To.String()}, {Key: "dropTarget", Value: true}})
	if mongo.IsNamespaceNotFound(err) {
		// The target has no copy under the old name (an earlier rename
		// during the clone found the collection already gone): copy the
		// destination from the source instead of losing it.
		return r.recopyRenamed(ctx, e)
	}
	if err != nil {
		return err
	}
	// The collection the rename dropped (dropTarget) takes its deferred
	// properties with it.
	if err := r.forgetDeferred(ctx, e.To); err != nil {
		return err
	}
	return r.moveDeferred(ctx, e.NS, e.To)
}

// recopyRenamed handles a rename that happened while the clone ran: the
// clone may have read the collection under either name, or only part of it
// before it moved. Renaming the target's copy could then carry a partial
// collection forward, so both names are dropped on the target and the
// destination is copied afresh from the source; later events replay over
// it like over any cloned collection.
func (r *Replicator) recopyRenamed(ctx context.Context, e *mlink.Event) error {
	f := r.opts.Filter
	if f.Match(e.NS) {
		if err := r.drop(ctx, e.NS); err != nil && !mongo.IsNamespaceNotFound(err) {
			return err
		}
	}
	if !f.Match(e.To) {
		return nil
	}
	if err := r.drop(ctx, e.To); err != nil && !mongo.IsNamespaceNotFound(err) {
		return err
	}
	if r.opts.CopyCollection == nil {
		return fmt.Errorf("rename of %s to %s during the clone: cannot copy the collection", e.NS, e.To)
	}
	r.opts.Logger.Info("collection renamed during the clone: copying it again", "from", e.NS.String(), "to", e.To.String())
	return r.copyCollection(ctx, e.To)
}

// copyCollection copies ns afresh from the source. The copy reads the
// source's present, so it may already hold the effect of events on ns that
// the stream has not delivered yet: up to the source time after the copy,
// their apply errors are tolerated as during catch-up (see tolerant).
func (r *Replicator) copyCollection(ctx context.Context, ns mlink.Namespace) error {
	// The copy replaces what the target holds under ns, deferred
	// properties included (it records its own).
	if err := r.forgetDeferred(ctx, ns); err != nil {
		return err
	}
	if err := r.opts.CopyCollection(ctx, ns); err != nil {
		return err
	}
	t, err := r.src.ClusterTime(ctx, "admin")
	if err != nil {
		return fmt.Errorf("read the source time after copying %s: %w", ns, err)
	}
	r.copiedMu.Lock()
	r.copiedUntil[ns] = t
	r.copiedMu.Unlock()
	return nil
}

// createIndexes builds the indexes with the sync-time relaxations.
func (r *Replicator) createIndexes(ctx context.Context, ns mlink.Namespace, desc bson.Raw) error {
	arr, _ := desc.Lookup("indexes").ArrayOK()
	vals, _ := arr.Values()
	for _, v := range vals {
		spec, ok := v.DocumentOK()
		if !ok {
			continue
		}
		ts, def := clone.TargetIndexSpec(ns, spec)
		err := r.run(ctx, ns.DB, bson.D{{Key: "createIndexes", Value: ns.Coll}, {Key: "indexes", Value: bson.A{ts}}})
		if err != nil && !mongo.HasCode(err, ddlAlreadyDone...) {
			return err
		}
		if def != nil {
			if err := r.dst.Meta().Put(ctx, mlink.MetaDeferredColl, def.ID, def); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Replicator) dropIndexes(ctx context.Context, ns mlink.Namespace, desc bson.Raw) error {
	arr, _ := desc.Lookup("indexes").ArrayOK()
	vals, _ := arr.Values()
	for _, v := range vals {
		name, _ := v.Document().Lookup("name").StringValueOK()
		if name == "" {
			continue
		}
		err := r.run(ctx, ns.DB, bson.D{{Key: "dropIndexes", Value: ns.Coll}, {Key: "index", Value: name}})
		if err != nil && !mongo.HasCode(err, ddlAlreadyDone...) {
			return err
		}
		if err := r.dst.Meta().Delete(ctx, mlink.MetaDeferredColl, ns.String()+"/"+name); err != nil {
			return err
		}
	}
	return nil
}
