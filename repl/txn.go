package repl

import (
	"context"
	"fmt"

	"github.com/mlink-dev/mlink"
)

// applyTxn applies one source transaction as one target transaction
// (Options.TxnAtomic), after everything before it. During catch-up or a
// replay (see tolerant), or over a document read afresh from the source
// (see resolveReplays), the events are applied one by one instead, so a
// write the target already superseded can be skipped without aborting the
// rest. It returns the sequence number of the last event: the caller marks
// it safe once the transaction has ended (a DDL event of the transaction
// may have cut it short).
func (r *Replicator) applyTxn(ctx context.Context, events []*mlink.Event, stop <-chan struct{}) (uint64, error) {
	items := make([]item, len(events))
	seqs := make([]uint64, len(events))
	for i, e := range events {
		ops, err := translate(e)
		if err != nil {
			return 0, fmt.Errorf("%s event on %s at %s: %w", e.Op, e.NS, mlink.FormatTimestamp(e.ClusterTime), err)
		}
		seqs[i] = r.wm.add(e.Token, e.ClusterTime, false, true)
		items[i] = item{seq: seqs[i], ns: e.NS, ops: ops, e: e, sz: len(e.Raw)}
	}
	last := seqs[len(seqs)-1]
	if !r.wm.waitBefore(seqs[0], stop) {
		return last, ctx.Err()
	}
	for _, e := range events {
		if r.tolerant(e) || r.superseded(e) {
			return last, r.applyBatch(ctx, items)
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
		return last, &ApplyError{Event: events[0], Err: fmt.Errorf("transaction of %d events: %w", len(events), err)}
	}
	for _, it := range items {
		r.count(it.e)
	}
	r.wm.done(seqs...)
	return last, nil
}
