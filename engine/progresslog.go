package engine

import (
	"context"
	"time"

	"github.com/mlink-dev/mlink"
)

// progressLogInterval is how often a running sync logs one progress line.
const progressLogInterval = 10 * time.Second

// logProgress writes a progress line every progressLogInterval while the
// sync runs: clone totals with rate and ETA, then lag and apply rate.
func (e *Engine) logProgress(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := e.Status(ctx)
		if st.State != mlink.StateRunning && st.State != mlink.StateFinalizing {
			continue
		}
		attrs := []any{"state", st.State, "info", st.Info}
		if c := st.Clone; c != nil && (st.InitialSync == nil || !st.InitialSync.CloneCompleted) {
			attrs = append(attrs, "cloneDocs", c.CopiedDocs, "cloneBytes", c.CopiedBytes, "estimatedBytes", c.EstimatedBytes,
				"collectionsDone", c.CollectionsDone, "collections", c.CollectionsAll, "bytesPerSec", int64(c.BytesPerSec))
			if c.ETASeconds != nil {
				attrs = append(attrs, "etaSeconds", int64(*c.ETASeconds))
			}
		}
		if r := st.Replication; r != nil {
			attrs = append(attrs, "lagSeconds", r.LagSeconds, "eventsApplied", r.EventsApplied, "applyRatePerSec", int64(r.ApplyRate))
		}
		e.log.Info("progress", attrs...)
	}
}

// updateGauges keeps the clone gauges (estimates, collection counts) in
// step with the clone's progress; counters are updated by the engines as
// they go.
func (e *Engine) updateGauges(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.mu.Lock()
		cl := e.cloner
		e.mu.Unlock()
		if cl == nil {
			continue
		}
		pr := cl.Progress()
		e.m.CloneEstimatedBytes.Set(float64(pr.EstimatedBytes))
		e.m.CloneEstimatedDocuments.Set(float64(pr.EstimatedDocs))
		e.m.CloneCollectionsTotal.Set(float64(pr.CollectionsAll))
		e.m.CloneCollectionsDone.Set(float64(pr.CollectionsDone))
	}
}
