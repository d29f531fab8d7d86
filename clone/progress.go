package clone

import (
	"context"
	"time"

	"github.com/mlink-dev/mlink"
)

// ack records a written batch; the partition's checkpoint advances over the
// contiguous prefix of written batches (writers finish out of order).
func (c *Cloner) ack(wb *writeBatch, indexQ chan<- *collState) {
	last := wb.last
	last.Value = append([]byte(nil), last.Value...) // do not pin the batch's memory
	c.mu.Lock()
	pt := &wb.cs.parts[wb.part]
	if pt.acked == nil {
		pt.acked = map[int]ack{}
	}
	pt.acked[wb.seq] = ack{last: last, docs: int64(len(wb.docs) + wb.skippedDocs), bytes: int64(wb.bytes + wb.skippedBytes)}
	p := &wb.cs.cp.Partitions[wb.part]
	for {
		a, ok := pt.acked[pt.contiguous]
		if !ok {
			break
		}
		delete(pt.acked, pt.contiguous)
		pt.contiguous++
		p.Last = a.last
		p.Docs += a.docs
		p.Bytes += a.bytes
	}
	wb.cs.dirty = true
	c.mu.Unlock()
	c.holdReadAhead(-int64(wb.bytes + wb.skippedBytes))
	c.runBytes.Add(int64(wb.bytes))
	c.opts.Metrics.CloneCopiedDocuments.Add(float64(len(wb.docs)))
	c.opts.Metrics.CloneCopiedBytes.Add(float64(wb.bytes))
	c.poke()
	c.settle(wb.cs, wb.part, indexQ)
}

// settle marks a partition done once its reader finished and every batch
// is written, and the collection copied once all its partitions are.
func (c *Cloner) settle(cs *collState, part int, indexQ chan<- *collState) {
	c.mu.Lock()
	pt := &cs.parts[part]
	p := &cs.cp.Partitions[part]
	if p.Done || !pt.readerDone || pt.contiguous != pt.nextSeq {
		c.mu.Unlock()
		return
	}
	p.Done = true
	cs.pending--
	cs.dirty = true
	all := cs.pending == 0
	c.mu.Unlock()
	c.poke()
	if all {
		c.markCopied(cs, indexQ)
	}
}

// markCopied moves a collection whose documents are all written to the
// index-building step.
func (c *Cloner) markCopied(cs *collState, indexQ chan<- *collState) {
	c.mu.Lock()
	cs.cp.Status = mlink.CollIndexing
	cs.dirty = true
	c.mu.Unlock()
	indexQ <- cs
}

// finishCollection builds the indexes (unless built first) and marks the
// collection done.
func (c *Cloner) finishCollection(ctx context.Context, cs *collState) error {
	if !c.opts.IndexesFirst {
		if err := c.buildIndexes(ctx, cs); err != nil {
			return err
		}
	}
	c.mu.Lock()
	cs.cp.Status = mlink.CollDone
	cs.dirty = false
	cp := cs.cp
	var docs, bytes int64
	for _, p := range cp.Partitions {
		docs += p.Docs
		bytes += p.Bytes
	}
	took := time.Since(cs.started)
	c.mu.Unlock()
	err := c.retry(ctx, "checkpoint", func(ctx context.Context) error { return c.meta.Put(ctx, mlink.MetaCloneColl, cp.ID, cp) })
	if err != nil {
		return err
	}
	c.opts.Logger.Info("collection cloned", "ns", cp.ID, "docs", docs, "bytes", bytes, "seconds", took.Seconds())
	return nil
}

func (c *Cloner) buildIndexes(ctx context.Context, cs *collState) error {
	res, err := buildIndexes(ctx, c.src, c.dst, cs.info.NS, c.opts)
	if err != nil {
		return err
	}
	for _, d := range res.Deferred {
		if err := c.saveDeferred(ctx, d); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.failures = append(c.failures, res.Failures...)
	c.mu.Unlock()
	for _, f := range res.Failures {
		c.opts.Metrics.Errors.WithLabelValues("index-build").Inc()
		c.opts.Logger.Error("index build failed on target", "ns", f.Namespace, "index", f.Index, "error", f.Error)
	}
	return nil
}

func (c *Cloner) saveDeferred(ctx context.Context, d mlink.Deferred) error {
	if err := c.meta.Put(ctx, mlink.MetaDeferredColl, d.ID, d); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.deferred {
		if c.deferred[i].ID == d.ID {
			c.deferred[i] = d
			return nil
		}
	}
	c.deferred = append(c.deferred, d)
	return nil
}

// poke wakes the checkpointer without blocking.
func (c *Cloner) poke() {
	select {
	case c.dirtyCh <- struct{}{}:
	default:
	}
}

// checkpointLoop saves dirty collection checkpoints as progress happens
// (one save in flight at a time) and at least every CheckpointInterval.
func (c *Cloner) checkpointLoop(ctx context.Context, stop <-chan struct{}) error {
	t := time.NewTicker(c.opts.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return c.saveDirty(ctx)
		case <-ctx.Done():
			return nil
		case <-c.dirtyCh:
		case <-t.C:
		}
		if err := c.saveDirty(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// saveDirty persists every collection checkpoint that changed.
func (c *Cloner) saveDirty(ctx context.Context) error {
	c.mu.Lock()
	var cps []mlink.CollectionCheckpoint
	for _, cs := range c.colls {
		if cs.dirty {
			cp := cs.cp
			cp.Partitions = append([]mlink.PartitionCheckpoint(nil), cs.cp.Partitions...)
			cps = append(cps, cp)
			cs.dirty = false
		}
	}
	c.mu.Unlock()
	for i, cp := range cps {
		err := c.retry(ctx, "checkpoint", func(ctx context.Context) error { return c.meta.Put(ctx, mlink.MetaCloneColl, cp.ID, cp) })
		if err != nil {
			c.mu.Lock()
			for _, rest := range cps[i:] {
				for _, cs := range c.colls {
					if cs.cp.ID == rest.ID {
						cs.dirty = true
					}
				}
			}
			c.mu.Unlock()
			return err
		}
	}
	return nil
}

// Progress reports the clone's progress, total and per collection.
func (c *Cloner) Progress() mlink.CloneProgress {
	c.mu.Lock()
	defer c.mu.Unlock()
	var pr mlink.CloneProgress
	end := time.Now()
	if !c.finished.IsZero() {
		end = c.finished // a finished clone's rate stops moving
	}
	elapsed := end.Sub(c.started).Seconds()
	run := float64(c.runBytes.Load())
	if elapsed > 0 {
		pr.BytesPerSec = run / elapsed
	}
	for _, cs := range c.colls {
		if cs.cp.View {
			continue
		}
		cp := mlink.CollectionProgress{
			Namespace: cs.cp.ID, EstimatedBytes: cs.cp.EstimatedBytes, EstimatedDocs: cs.cp.EstimatedDocs,
			Partitions: len(cs.cp.Partitions), Done: cs.cp.Status == mlink.CollDone,
		}
		for _, p := range cs.cp.Partitions {
			cp.CopiedBytes += p.Bytes
			cp.CopiedDocs += p.Docs
		}
		if cp.Done {
			// Estimates are approximate; a finished collection is exact.
			cp.EstimatedBytes, cp.EstimatedDocs = cp.CopiedBytes, cp.CopiedDocs
		}
		pr.CollectionsAll++
		if cp.Done {
			pr.CollectionsDone++
		}
		pr.EstimatedBytes += cp.EstimatedBytes
		pr.EstimatedDocs += cp.EstimatedDocs
		pr.CopiedBytes += cp.CopiedBytes
		pr.CopiedDocs += cp.CopiedDocs
		if !cp.Done && pr.BytesPerSec > 0 {
			eta := max(0, float64(cp.EstimatedBytes-cp.CopiedBytes)) / pr.BytesPerSec
			cp.ETASeconds = &eta
		}
		pr.Collections = append(pr.Collections, cp)
	}
	if elapsed > 0 && pr.BytesPerSec > 0 {
		pr.DocsPerSec = pr.BytesPerSec * float64(pr.CopiedDocs) / float64(max(1, pr.CopiedBytes))
		eta := max(0, float64(pr.EstimatedBytes-pr.CopiedBytes)) / pr.BytesPerSec
		if pr.CollectionsDone == pr.CollectionsAll {
			eta = 0
		}
		pr.ETASeconds = &eta
	}
	return pr
}

// Deferred returns the properties to restore at finalize.
func (c *Cloner) Deferred() []mlink.Deferred {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]mlink.Deferred(nil), c.deferred...)
}
