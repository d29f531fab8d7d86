package clone

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
)

// planDocID is the clone metadata document that marks planning as done and
// remembers what could not be carried.
const planDocID = "$plan"

type planDoc struct {
	ID          string        `bson:"_id"`
	Unsupported []Unsupported `bson:"unsupported"`
}

// Cloner copies the catalog and documents. Create one per run with New;
// Run may be called again after an interruption (a new Cloner on the same
// target continues from the checkpoint).
type Cloner struct {
	src, dst *mongo.Client
	meta     *mongo.Meta
	opts     Options

	mu          sync.Mutex
	colls       []*collState
	unsupported []Unsupported
	failures    []mlink.IndexFailure
	deferred    []mlink.Deferred
	started     time.Time
	finished    time.Time
	runBytes    atomic.Int64
	sentDocs    atomic.Int64 // documents sent to the target by this process
	dirtyCh     chan struct{}
	// readAhead is the size of the documents read from the source and not
	// yet acknowledged by the target; readAheadPeak its high-water mark.
	// Options.QueueBytes bounds them (plus a batch or two per reader).
	readAhead, readAheadPeak atomic.Int64
}

type collState struct {
	info    mongo.CollectionInfo
	cp      mlink.CollectionCheckpoint
	parts   []partTrack
	pending int // partitions not done
	dirty   bool
	started time.Time
	// resumed is set when an earlier run began copying the collection: the
	// target may hold documents beyond the checkpoint.
	resumed bool
}

type partTrack struct {
	nextSeq    int
	contiguous int
	acked      map[int]ack
	readerDone bool
}

type ack struct {
	last  bson.RawValue
	docs  int64
	bytes int64
}

type task struct {
	cs   *collState
	part int
}

// New prepares a clone from src to dst.
func New(src, dst *mongo.Client, opts Options) *Cloner {
	return &Cloner{src: src, dst: dst, meta: dst.Meta(), opts: opts.withDefaults(), dirtyCh: make(chan struct{}, 1)}
}

// Unsupported returns what the plan could not carry (after Run began).
func (c *Cloner) Unsupported() []Unsupported {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Unsupported(nil), c.unsupported...)
}

// IndexFailures returns indexes that could not be built on the target.
func (c *Cloner) IndexFailures() []mlink.IndexFailure {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]mlink.IndexFailure(nil), c.failures...)
}

// SentDocuments is how many documents this Cloner sent to the target in
// insert commands (every attempt that reached the network, retries and
// duplicates of earlier runs included; see mongo.InsertResult.Sent).
func (c *Cloner) SentDocuments() int64 { return c.sentDocs.Load() }

// Run copies everything the filter selects, continuing from the checkpoint
// on the target when there is one. It returns when every collection is
// copied and indexed, or on the first error (the checkpoint keeps the
// progress made).
func (c *Cloner) Run(ctx context.Context) error {
	c.mu.Lock()
	c.started = time.Now()
	c.mu.Unlock()
	if err := c.retry(ctx, "plan", c.loadOrPlan); err != nil {
		return err
	}
	err := c.copyAll(ctx)
	// Keep what was acknowledged, even when interrupted (pause, shutdown).
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := c.saveDirty(saveCtx); serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.finished = time.Now()
	c.mu.Unlock()
	return nil
}

// loadOrPlan restores the clone checkpoint, or lists the source, creates
// the per-collection checkpoints and marks planning done.
func (c *Cloner) loadOrPlan(ctx context.Context) error {
	var pd planDoc
	found, err := c.meta.Get(ctx, mlink.MetaCloneColl, planDocID, &pd)
	if err != nil {
		return err
	}
	if found {
		var cps []mlink.CollectionCheckpoint
		if err := c.meta.All(ctx, mlink.MetaCloneColl, "seq", &cps); err != nil {
			return err
		}
		var states []*collState
		for _, cp := range cps {
			if cp.ID == planDocID {
				continue
			}
			cs := &collState{cp: cp}
			cs.info.NS = mlink.Namespace{DB: cp.DB, Coll: cp.Coll}
			cs.info.UUID = cp.UUID
			states = append(states, cs)
		}
		var defs []mlink.Deferred
		if err := c.meta.All(ctx, mlink.MetaDeferredColl, "_id", &defs); err != nil {
			return err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.colls, c.unsupported, c.deferred = states, pd.Unsupported, defs
		return nil
	}
	plan, err := BuildPlan(ctx, c.src, c.opts.Filter)
	if err != nil {
		return err
	}
	var states []*collState
	for _, ci := range plan.Collections {
		st, err := c.src.CollStats(ctx, ci.NS)
		if err != nil {
			return err
		}
		cs := &collState{info: ci, cp: mlink.CollectionCheckpoint{
			ID: ci.NS.String(), DB: ci.NS.DB, Coll: ci.NS.Coll, UUID: ci.UUID, Status: mlink.CollPending,
			Capped: ci.Capped(), EstimatedDocs: st.Count, EstimatedBytes: st.Size,
		}}
		states = append(states, cs)
	}
	// Biggest first: they take longest, small ones fill the gaps at the end.
	sort.SliceStable(states, func(i, j int) bool { return states[i].cp.EstimatedBytes > states[j].cp.EstimatedBytes })
	for _, vi := range plan.Views {
		states = append(states, &collState{info: vi, cp: mlink.CollectionCheckpoint{
			ID: vi.NS.String(), DB: vi.NS.DB, Coll: vi.NS.Coll, Status: mlink.CollPending, View: true,
		}})
	}
	if err := c.meta.Drop(ctx, mlink.MetaCloneColl); err != nil {
		return err
	}
	for i, cs := range states {
		cs.cp.Seq = i
		cs.cp.Options = cs.info.Options
		if err := c.meta.Put(ctx, mlink.MetaCloneColl, cs.cp.ID, cs.cp); err != nil {
			return err
		}
	}
	if err := c.meta.Put(ctx, mlink.MetaCloneColl, planDocID, planDoc{ID: planDocID, Unsupported: plan.Unsupported}); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.colls, c.unsupported = states, plan.Unsupported
	return nil
}

// copyAll runs the pipeline: a producer prepares collections and hands out
// partitions, readers scan them into batches, writers insert the batches,
// index builders finish collections, a checkpointer saves progress.
func (c *Cloner) copyAll(ctx context.Context) error {
	o := c.opts
	g, gctx := errgroup.WithContext(ctx)
	tasks := make(chan task)
	writes := make(chan *writeBatch, o.Writers)
	indexQ := make(chan *collState, len(c.colls)+1)
	sem := semaphore.NewWeighted(o.QueueBytes)

	g.Go(func() error {
		defer close(tasks)
		return c.produce(gctx, tasks, indexQ)
	})
	var readers, writers, indexers sync.WaitGroup
	for range o.Readers {
		readers.Add(1)
		g.Go(func() error {
			defer readers.Done()
			for t := range tasks {
				if err := c.readPartition(gctx, t, writes, sem, indexQ); err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error { readers.Wait(); close(writes); return nil })
	for range o.Writers {
		writers.Add(1)
		g.Go(func() error {
			defer writers.Done()
			for wb := range writes {
				err := c.write(gctx, wb, false)
				sem.Release(min(int64(wb.bytes), o.QueueBytes))
				if err != nil {
					return err
				}
				c.ack(wb, indexQ)
			}
			return nil
		})
	}
	g.Go(func() error { writers.Wait(); close(indexQ); return nil })
	for range 2 {
		indexers.Add(1)
		g.Go(func() error {
			defer indexers.Done()
			for cs := range indexQ {
				if err := c.finishCollection(gctx, cs); err != nil {
					return err
				}
			}
			return nil
		})
	}
	stop := make(chan struct{})
	g.Go(func() error { indexers.Wait(); close(stop); return nil })
	g.Go(func() error { return c.checkpointLoop(gctx, stop) })
	return g.Wait()
}

// produce walks collections in plan order: creates pending ones on the
// target, splits them, and hands out their unfinished partitions.
func (c *Cloner) produce(ctx context.Context, tasks chan<- task, indexQ chan<- *collState) error {
	for _, cs := range c.colls {
		c.mu.Lock()
		status := cs.cp.Status
		c.mu.Unlock()
		switch {
		case status == mlink.CollDone:
			continue
		case cs.cp.View:
			if err := c.retry(ctx, "create-view", func(ctx context.Context) error { return c.createView(ctx, cs) }); err != nil {
				return err
			}
			continue
		case status == mlink.CollIndexing:
			indexQ <- cs
			continue
		case status == mlink.CollCopying && cs.cp.Capped:
			// Natural order cannot be resumed by _id: copy capped collections again.
			status = mlink.CollPending
		}
		if status == mlink.CollPending {
			if err := c.retry(ctx, "prepare", func(ctx context.Context) error { return c.prepare(ctx, cs) }); err != nil {
				return err
			}
		}
		c.mu.Lock()
		cs.resumed = status != mlink.CollPending
		cs.parts = make([]partTrack, len(cs.cp.Partitions))
		cs.started = time.Now()
		var todo []int
		for i, p := range cs.cp.Partitions {
			if !p.Done {
				todo = append(todo, i)
			}
		}
		cs.pending = len(todo)
		c.mu.Unlock()
		if len(todo) == 0 {
			c.markCopied(cs, indexQ)
		}
		for _, i := range todo {
			select {
			case tasks <- task{cs: cs, part: i}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// prepare creates the collection on the target and records its partitions
// before any document is written, so a restart uses the same ranges.
func (c *Cloner) prepare(ctx context.Context, cs *collState) error {
	if cs.info.Options == nil {
		cs.info.Options = cs.cp.Options
	}
	def, err := createCollection(ctx, c.dst, cs.info)
	if err != nil {
		return err
	}
	if def != nil {
		if err := c.saveDeferred(ctx, *def); err != nil {
			return err
		}
	}
	if c.opts.IndexesFirst {
		if err := c.buildIndexes(ctx, cs); err != nil {
			return err
		}
	}
	ranges := []mongo.Range{{}}
	if !cs.cp.Capped {
		st := mongo.CollStats{Count: cs.cp.EstimatedDocs, Size: cs.cp.EstimatedBytes}
		if ranges, err = c.src.SplitRanges(ctx, cs.info.NS, st, c.opts.PartitionBytes, c.opts.Readers); err != nil {
			return err
		}
	}
	parts := make([]mlink.PartitionCheckpoint, len(ranges))
	for i, r := range ranges {
		parts[i] = mlink.PartitionCheckpoint{Min: r.Min, Max: r.Max}
	}
	c.mu.Lock()
	cs.cp.Partitions = parts
	cs.cp.Status = mlink.CollCopying
	cp := cs.cp
	c.mu.Unlock()
	c.opts.Logger.Info("collection copy started", "ns", cs.info.NS.String(), "partitions", len(parts),
		"estimatedDocs", cp.EstimatedDocs, "estimatedBytes", cp.EstimatedBytes)
	return c.meta.Put(ctx, mlink.MetaCloneColl, cp.ID, cp)
}

func (c *Cloner) createView(ctx context.Context, cs *collState) error {
	if cs.info.Options == nil {
		cs.info.Options = cs.cp.Options
		cs.info.Type = mongo.TypeView
	}
	if _, err := createCollection(ctx, c.dst, cs.info); err != nil {
		return err
	}
	c.mu.Lock()
	cs.cp.Status = mlink.CollDone
	cp := cs.cp
	c.mu.Unlock()
	return c.meta.Put(ctx, mlink.MetaCloneColl, cp.ID, cp)
}
