package repl

import (
	"context"
	"fmt"

	"github.com/mlink-dev/mlink"
)

// applyTxn applies one source transaction as one target transaction
// (Options.TxnAtomic), after everything before it. During catch-up or a
// replay (see tolerant) the events are applied one by one instead, so a
// write the target already superseded can be skipped without aborting the
// rest.
func (r *Replicator) applyTxn(ctx context.Context, events []*mlink.Event, stop <-chan struct{}) error {
	items := make([]item, len(events))
	seqs := make([]uint64, len(events))
	for i, e := range events {
		ops, err := translate(e)
		if err != nil {
			return fmt.Errorf("%s event on %s at %s: %w", e.Op, e.NS, mlink.FormatTimestamp(e.ClusterTime), err)
		}
		seqs[i] = r.wm.add(e.Token, e.ClusterTime, i == len(events)-1, true)
		items[i] = item{seq: seqs[i], ns: e.NS, ops: ops, e: e, sz: len(e.Raw)}
	}
	if !r.wm.waitBefore(seqs[0], stop) {
		return ctx.Err()
	}
	for _, e := range events {
		if r.tolerant(e) {
			return r.applyBatch(ctx, items)
		}
	}
	err := r.dst.InTransaction(ctx, func(ctx context.Context) error {
		for _, it := range items {
			if err := r.dst.BulkWrite(ctx, it.ns, it.ops); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return &ApplyError{Event: events[0], Err: fmt.Errorf("transaction of %d events: %w", len(events), err)}
	}
	for _, it := range items {
		r.count(it.e)
	}
	r.wm.done(seqs...)
	return nil
}
