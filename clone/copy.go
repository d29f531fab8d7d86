package clone

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/semaphore"

	"github.com/mlink-dev/mlink/mongo"
)

// writeBatch is a run of consecutive documents of one partition, in scan
// order. Skipped documents are already on the target (a resumed
// partition): they are not sent, but move the checkpoint and the progress
// like written ones.
type writeBatch struct {
	cs           *collState
	part         int
	seq          int
	docs         []bson.Raw
	bytes        int
	skippedDocs  int
	skippedBytes int
	last         bson.RawValue
}

// readPartition scans one partition from its checkpoint and queues write
// batches. Capped collections are written here, in order, one batch at a
// time: their natural order is their content. A scan that fails with a
// transient error (network, election) starts again after the last
// document it handled.
func (c *Cloner) readPartition(ctx context.Context, t task, writes chan<- *writeBatch, sem *semaphore.Weighted, indexQ chan<- *collState) error {
	c.mu.Lock()
	p := t.cs.cp.Partitions[t.part]
	capped := t.cs.cp.Capped
	resumed := t.cs.resumed
	c.mu.Unlock()
	ns := t.cs.info.NS
	o := c.opts

	r := mongo.Range{Min: p.Min, Max: p.Max}
	// after is the _id the scan restarts at, already handled: the first
	// document of an _id-ordered scan (min is inclusive) or, in natural
	// order, every document up to and including it.
	var after bson.RawValue
	if p.Last.Type != 0 && !capped {
		r.Min, after = p.Last, p.Last
	}
	var onTarget *targetIDs
	if resumed && !capped {
		var err error
		if onTarget, err = loadTargetIDs(ctx, c.dst, ns, r); err != nil {
			return err
		}
	}

	var cur *writeBatch
	emit := func() error {
		if cur == nil || (len(cur.docs) == 0 && cur.skippedDocs == 0) {
			return nil
		}
		wb := cur
		cur = nil
		c.mu.Lock()
		wb.seq = t.cs.parts[t.part].nextSeq
		t.cs.parts[t.part].nextSeq++
		c.mu.Unlock()
		if len(wb.docs) == 0 {
			c.ack(wb, indexQ)
			return nil
		}
		if capped {
			if err := c.write(ctx, wb, true); err != nil {
				return err
			}
			c.ack(wb, indexQ)
			return nil
		}
		if err := sem.Acquire(ctx, min(int64(wb.bytes), o.QueueBytes)); err != nil {
			return err
		}
		select {
		case writes <- wb:
			return nil
		case <-ctx.Done():
			sem.Release(min(int64(wb.bytes), o.QueueBytes))
			return ctx.Err()
		}
	}

	var lastRead bson.RawValue // every document up to it is in cur or emitted
	var stopErr error          // a failure of ours, not of the scan: never retried
	handle := func(d bson.Raw) error {
		id := d.Lookup("_id")
		if after.Type != 0 {
			if id.Equal(after) {
				after = bson.RawValue{}
				return nil
			}
			if capped {
				return nil // natural order: still before the restart point
			}
			after = bson.RawValue{} // _id order: the restart point is gone; id follows it
		}
		lastRead = id
		skip := false
		if onTarget != nil {
			var err error
			if skip, err = onTarget.has(ctx, id); err != nil {
				return err
			}
		}
		if cur != nil && (len(cur.docs)+cur.skippedDocs >= o.BatchDocs || (!skip && cur.bytes+len(d) > o.BatchBytes)) {
			if err := emit(); err != nil {
				return err
			}
		}
		if cur == nil {
			cur = &writeBatch{cs: t.cs, part: t.part}
		}
		c.holdReadAhead(int64(len(d)))
		if skip {
			cur.skippedDocs++
			cur.skippedBytes += len(d)
		} else {
			cur.docs = append(cur.docs, d)
			cur.bytes += len(d)
		}
		cur.last = id
		return nil
	}

	scanOpts := mongo.ScanOptions{BatchDocs: o.BatchDocs, Natural: capped}
	backoff := 100 * time.Millisecond
	for fails := 0; ; {
		progressed := false
		err := c.src.Scan(ctx, ns, r, scanOpts, func(b mongo.Batch) error {
			for _, d := range b.Docs {
				if err := handle(d); err != nil {
					stopErr = err
					return err
				}
				progressed = true
			}
			return nil
		})
		if err == nil {
			break
		}
		if stopErr == nil && mongo.IsCollectionGone(err) {
			// Dropped or renamed while being read: the change stream, which
			// starts before the clone did, replays what happened to it
			// (replication re-copies a renamed collection).
			o.Logger.Info("collection dropped or renamed during the clone; replication will replay it", "ns", ns.String(), "error", err)
			break
		}
		if stopErr != nil || ctx.Err() != nil || !isTransient(err) {
			return err
		}
		if progressed {
			fails, backoff = 0, 100*time.Millisecond
		}
		if fails++; fails >= retryAttempts {
			return err
		}
		o.Metrics.Retries.WithLabelValues("clone-scan").Inc()
		o.Logger.Warn("scan failed, reading again from the last document read", "ns", ns.String(), "error", err)
		if err := sleep(ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, 5*time.Second)
		if lastRead.Type != 0 {
			after = lastRead
			if !capped {
				r.Min = lastRead
			}
		}
	}
	if after.Type != 0 && capped {
		return fmt.Errorf("capped collection %s rolled over while it was read again after an error: its copy restarts on the next run", ns)
	}
	if err := emit(); err != nil {
		return err
	}
	c.mu.Lock()
	t.cs.parts[t.part].readerDone = true
	c.mu.Unlock()
	c.settle(t.cs, t.part, indexQ)
	return nil
}

// holdReadAhead adds n bytes (negative: releases them) to the read-ahead.
func (c *Cloner) holdReadAhead(n int64) {
	v := c.readAhead.Add(n)
	for {
		peak := c.readAheadPeak.Load()
		if v <= peak || c.readAheadPeak.CompareAndSwap(peak, v) {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// write inserts one batch, retrying transient errors. Every attempt that
// reached the network counts towards SentDocuments.
func (c *Cloner) write(ctx context.Context, wb *writeBatch, ordered bool) error {
	start := time.Now()
	err := c.retry(ctx, "insert", func(ctx context.Context) error {
		res, err := c.dst.Insert(ctx, wb.cs.info.NS, wb.docs, ordered)
		c.sentDocs.Add(int64(res.Sent))
		return err
	})
	if err != nil {
		c.opts.Metrics.Errors.WithLabelValues("clone-insert").Inc()
		return err
	}
	c.opts.Metrics.BulkApplyDuration.WithLabelValues("clone").Observe(time.Since(start).Seconds())
	return nil
}
