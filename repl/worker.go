package repl

import (
	"context"
	"errors"
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

// applyGroup writes one namespace's events in order. During catch-up a
// failed write is skipped (see Options.CatchUpUntil) and the rest retried.
func (r *Replicator) applyGroup(ctx context.Context, ns mlink.Namespace, items []item) error {
	var ops []mongo.WriteOp
	var owner []int // item index of each op
	for i, it := range items {
		for _, op := range it.ops {
			ops = append(ops, op)
			owner = append(owner, i)
		}
	}
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
		e := items[owner[be.Index]].e
		if !r.inCatchUp(e) {
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

// inCatchUp reports whether the event predates the clone's end, so it may
// replay over a document the clone read in a later state.
func (r *Replicator) inCatchUp(e *mlink.Event) bool {
	c := r.opts.CatchUpUntil
	return !c.IsZero() && !e.ClusterTime.After(c)
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
