package repl

import (
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
)

// matchStage pushes the namespace filter into the change stream so events
// of other databases never cross the wire. It only narrows by database and
// never drops a rename whose target is in scope; the exact filter runs in
// inScope. System databases are always excluded.
func matchStage(f *mlink.Filter) bson.A {
	system := bson.A{"admin", "config", "local", mlink.MetaDB}
	var dbs bson.A
	exact := true
	seen := map[string]bool{}
	for _, p := range f.Include() {
		ns, err := mlink.ParseNamespace(p)
		if err != nil || p[0] == '/' {
			exact = false // a regex may match any database
			break
		}
		if !seen[ns.DB] {
			seen[ns.DB] = true
			dbs = append(dbs, ns.DB)
		}
	}
	var cond bson.D
	if exact && len(dbs) > 0 {
		cond = bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "ns.db", Value: bson.D{{Key: "$in", Value: dbs}}}},
			bson.D{{Key: "to.db", Value: bson.D{{Key: "$in", Value: dbs}}}},
		}}}
	} else {
		cond = bson.D{{Key: "ns.db", Value: bson.D{{Key: "$nin", Value: system}}}}
	}
	return bson.A{bson.D{{Key: "$match", Value: cond}}}
}

// inScope decides exactly whether an event concerns replicated namespaces.
func (r *Replicator) inScope(e *mlink.Event) bool {
	f := r.opts.Filter
	switch e.Op {
	case mlink.OpDropDatabase:
		return f.MayMatchDB(e.NS.DB)
	case mlink.OpRename:
		return f.Match(e.NS) || f.Match(e.To)
	}
	return f.Match(e.NS)
}

func (r *Replicator) skip(e *mlink.Event) {
	r.skipped.Add(1)
	r.opts.Metrics.EventsSkipped.WithLabelValues(e.Op).Inc()
}

func (r *Replicator) count(e *mlink.Event) {
	r.applied.Add(1)
	r.rate.add(1)
	r.opts.Metrics.EventsApplied.WithLabelValues(e.Op).Inc()
	r.kindMu.Lock()
	r.byKind[e.Op]++
	r.kindMu.Unlock()
}
