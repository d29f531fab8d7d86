package repl

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"time"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
)

// worker applies the document events routed to it. It gathers what is
// queued (up to BatchDocs/BatchBytes, waiting at most FlushInterval for
// more) and writes one ordered bulk per namespace: per-document order is
// the queue's order, and distinct documents never depend on each other.
func (r *Replicator) worker(ctx context.Context, q <-chan item) error {
	o := r.opts
	batch := make([]item, 0, o.BatchDocs)
	for {
		batch = batch[:0]
		first, ok := <-q
		if !ok {
			return nil
		}
		batch = append(batch, first)
		size := first.sz
		timer := time.NewTimer(o.FlushInterval)
	fill:
		for len(batch) < o.BatchDocs && size < o.BatchBytes {
			select {
			case it, ok := <-q:
				if !ok {
					break fill
				}
				batch = append(batch, it)
				size += it.sz
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		if err := r.applyBatch(ctx, batch); err != nil {
			return err
		}
	}
}

// applyBatch writes a worker's batch: one ordered bulk per namespace, in
// the order namespaces first appear.
func (r *Replicator) applyBatch(ctx context.Context, batch []item) error {
	if err := r.resolveReplays(ctx, batch); err != nil {
		return err
	}
	var order []mlink.Namespace
	groups := map[mlink.Namespace][]item{}
	for _, it := range batch {
		if _, ok := groups[it.ns]; !ok {
			order = append(order, it.ns)
		}
		groups[it.ns] = append(groups[it.ns], it)
	}
	for _, ns := range order {
		if err := r.applyGroup(ctx, ns, groups[ns]); err != nil {
			return err
		}
	}
	seqs := make([]uint64, len(batch))
	for i, it := range batch {
		seqs[i] = it.seq
		r.count(it.e)
	}
	r.wm.done(seqs...)
	return nil
}

// applyGroup writes one namespace's events in order. During catch-up or a
// replay (see tolerant) a failed write is skipped and the rest retried.
func (r *Replicator) applyGroup(ctx context.Context, ns mlink.Namespace, items []item) error {
	ops, owner := regroup(items)
	for len(ops) > 0 {
		start := time.Now()
		err := mongo.Retry(ctx, 10, func(ctx context.Context) error {
			return r.dst.BulkWrite(ctx, ns, ops)
		}, func(err error) {
			r.opts.Metrics.Retries.WithLabelValues("repl-apply").Inc()
			r.opts.Logger.Warn("retrying apply", "ns", ns.String(), "error", err)
		})
		r.opts.Metrics.BulkApplyDuration.WithLabelValues("repl").Observe(time.Since(start).Seconds())
		if err == nil {
			return nil
		}
		var be *mongo.BulkError
		if !errors.As(err, &be) {
			if ctx.Err() == nil { // a pause or shutdown is not an error
				r.opts.Metrics.Errors.WithLabelValues("repl-apply").Inc()
			}
			return err
		}
		it := items[owner[be.Index]]
		e := it.e
		if it.refetched || !r.tolerant(e) {
			r.opts.Metrics.Errors.WithLabelValues("repl-apply").Inc()
			return &ApplyError{Event: e, Err: err}
		}
		r.catchUpSkipped.Add(1)
		r.opts.Metrics.EventsSkipped.WithLabelValues("catchup-" + e.Op).Inc()
		r.opts.Logger.Debug("catch-up write skipped", "ns", ns.String(), "op", e.Op, "code", be.Code)
		ops, owner = ops[be.Index+1:], owner[be.Index+1:]
	}
	return nil
}

// regroup orders one namespace's writes so the bulk needs few commands.
// The driver sends an ordered bulk as one command per run of the same kind
// (update-style vs delete), so interleaved deletes would cut it into many
// round trips. Writes are layered — the k-th write to each document goes
// to layer k — and within a layer, where every write touches a different
// document, updates come before deletes. Each document's writes keep their
// order. owner maps each write back to its item.
func regroup(items []item) (ops []mongo.WriteOp, owner []int) {
	type tagged struct {
		op           mongo.WriteOp
		owner, layer int
		del          bool
	}
	var all []tagged
	seen := make(map[string]int, len(items))
	for i, it := range items {
		for _, op := range it.ops {
			k := docIdentity(op.Filter)
			all = append(all, tagged{op: op, owner: i, layer: seen[k], del: op.Kind == mongo.OpDelete})
			seen[k]++
		}
	}
	sort.SliceStable(all, func(a, b int) bool {
		if all[a].layer != all[b].layer {
			return all[a].layer < all[b].layer
		}
		return !all[a].del && all[b].del
	})
	ops, owner = make([]mongo.WriteOp, len(all)), make([]int, len(all))
	for i, t := range all {
		ops[i], owner[i] = t.op, t.owner
	}
	return ops, owner
}

// inCatchUp reports whether the event predates the clone's end, so it may
// replay over a document the clone read in a later state.
func (r *Replicator) inCatchUp(e *mlink.Event) bool {
	c := r.opts.CatchUpUntil
	return !c.IsZero() && !e.ClusterTime.After(c)
}

// tolerant reports whether an apply error of e is expected rather than a
// fault, because the target may already hold a later state of the
// document: during catch-up (see inCatchUp); when an earlier run may have
// applied it (a restart or resume replays what workers applied beyond the
// saved position, see replaying); or when e's collection was copied afresh after it (see
// copyCollection).
func (r *Replicator) tolerant(e *mlink.Event) bool {
	if f := r.failedToken.Load(); f != nil && bytes.Equal(*f, e.Token) {
		return false // it failed before: it must apply, or fail again
	}
	if r.inCatchUp(e) {
		return true
	}
	if r.replaying(e) {
		return true
	}
	r.copiedMu.Lock()
	t, ok := r.copiedUntil[e.NS]
	r.copiedMu.Unlock()
	return ok && !e.ClusterTime.After(t)
}

// replaying reports whether an earlier run may have applied e, and later
// events, already (see Run).
func (r *Replicator) replaying(e *mlink.Event) bool {
	v := r.replayUntil.Load()
	return v != 0 && !e.ClusterTime.After(unpackTime(v))
}

// ApplyError is an event the target refused outside catch-up.
type ApplyError struct {
	Event *mlink.Event
	Err   error
}

func (e *ApplyError) Error() string {
	return "applying " + e.Event.Op + " on " + e.Event.NS.String() + " at " + mlink.FormatTimestamp(e.Event.ClusterTime) + ": " + e.Err.Error()
}

func (e *ApplyError) Unwrap() error { return e.Err }
