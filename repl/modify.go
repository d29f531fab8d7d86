package repl

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
)

// modify applies a collMod. Changes that would make the target stricter
// than the sync tolerates — unique/prepareUnique on an index, TTL expiry —
// are recorded for finalize instead of applied.
func (r *Replicator) modify(ctx context.Context, ns mlink.Namespace, desc bson.Raw) error {
	cmd := bson.D{{Key: "collMod", Value: ns.Coll}}
	elems, _ := desc.Elements()
	for _, el := range elems {
		switch el.Key() {
		case "index":
			idx, ok := el.Value().DocumentOK()
			if !ok {
				continue
			}
			rest, err := r.deferIndexChange(ctx, ns, idx)
			if err != nil {
				return err
			}
			if rest != nil {
				cmd = append(cmd, bson.E{Key: "index", Value: rest})
			}
		case "expireAfterSeconds":
			secs := mongo.AsInt(el.Value())
			if err := r.updateDeferred(ctx, ns, "", func(d *mlink.Deferred) { d.ExpireAfterSeconds = &secs }); err != nil {
				return err
			}
		case "stateBeforeChange":
		default:
			cmd = append(cmd, bson.E{Key: el.Key(), Value: el.Value()})
		}
	}
	if len(cmd) == 1 {
		return nil
	}
	return r.run(ctx, ns.DB, cmd)
}

// deferIndexChange records the deferred parts of an index modification and
// returns what can be applied now (nil when nothing is left).
func (r *Replicator) deferIndexChange(ctx context.Context, ns mlink.Namespace, idx bson.Raw) (bson.D, error) {
	name, _ := idx.Lookup("name").StringValueOK()
	if name == "" {
		// keyPattern form: resolve the name from the target's indexes.
		kp, _ := idx.Lookup("keyPattern").DocumentOK()
		specs, err := r.dst.ListIndexes(ctx, ns)
		if err != nil {
			return nil, err
		}
		for _, s := range specs {
			if k, ok := s.Lookup("key").DocumentOK(); ok && string(k) == string(kp) {
				name, _ = s.Lookup("name").StringValueOK()
			}
		}
	}
	var rest bson.D
	keep := false
	elems, _ := idx.Elements()
	for _, el := range elems {
		switch el.Key() {
		case "unique":
			if b, _ := el.Value().BooleanOK(); b {
				if err := r.updateDeferred(ctx, ns, name, func(d *mlink.Deferred) { d.Unique = true }); err != nil {
					return nil, err
				}
			}
		case "prepareUnique":
			// Only matters for a later unique conversion, deferred as well.
		case "expireAfterSeconds":
			secs := mongo.AsInt(el.Value())
			if err := r.updateDeferred(ctx, ns, name, func(d *mlink.Deferred) { d.ExpireAfterSeconds = &secs }); err != nil {
				return nil, err
			}
		case "name", "keyPattern":
			rest = append(rest, bson.E{Key: el.Key(), Value: el.Value()})
		default:
			rest = append(rest, bson.E{Key: el.Key(), Value: el.Value()})
			keep = true
		}
	}
	if !keep {
		return nil, nil
	}
	return rest, nil
}

// updateDeferred loads (or starts) the deferred record of ns/index and
// saves it after fn changed it.
func (r *Replicator) updateDeferred(ctx context.Context, ns mlink.Namespace, index string, fn func(*mlink.Deferred)) error {
	id := ns.String() + "/" + index
	d := mlink.Deferred{ID: id, NS: ns.String(), Index: index}
	if _, err := r.dst.Meta().Get(ctx, mlink.MetaDeferredColl, id, &d); err != nil {
		return err
	}
	fn(&d)
	return r.dst.Meta().Put(ctx, mlink.MetaDeferredColl, id, d)
}

// forgetDeferred drops the deferred records of a dropped namespace.
func (r *Replicator) forgetDeferred(ctx context.Context, ns mlink.Namespace) error {
	return r.dst.Meta().DeleteMany(ctx, mlink.MetaDeferredColl, bson.D{{Key: "ns", Value: ns.String()}})
}

// moveDeferred re-keys the deferred records of a renamed namespace.
func (r *Replicator) moveDeferred(ctx context.Context, from, to mlink.Namespace) error {
	var defs []mlink.Deferred
	if err := r.dst.Meta().Find(ctx, mlink.MetaDeferredColl, bson.D{{Key: "ns", Value: from.String()}}, &defs); err != nil {
		return err
	}
	for _, d := range defs {
		if err := r.dst.Meta().Delete(ctx, mlink.MetaDeferredColl, d.ID); err != nil {
			return err
		}
		d.NS = to.String()
		d.ID = to.String() + "/" + d.Index
		if err := r.dst.Meta().Put(ctx, mlink.MetaDeferredColl, d.ID, d); err != nil {
			return err
		}
	}
	return nil
}
