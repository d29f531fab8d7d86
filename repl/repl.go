package repl

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/errgroup"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
)

// ErrHistoryLost is returned when the source no longer holds the changes
// replication must resume from.
var ErrHistoryLost = errors.New("source change history lost")

// Replicator applies the source's changes to the target.
type Replicator struct {
	src, dst *mongo.Client
	opts     Options
	wm       *watermark
	seed     maphash.Seed

	read, skipped, applied atomic.Int64
	kindMu                 sync.Mutex
	byKind                 map[string]int64
	sourceTime             atomic.Uint64 // latest known source cluster time (T<<32|I)
	catchUpSkipped         atomic.Int64
	replayUntil            atomic.Uint64            // see Run (T<<32|I)
	dispatched             atomic.Uint64            // latest event time handed to apply (T<<32|I)
	reserved               atomic.Uint64            // latest time saved by Options.Reserve (T<<32|I)
	readTime               atomic.Uint64            // latest time the change stream returned: majority-committed (T<<32|I)
	ran                    atomic.Bool              // a Run of this Replicator has set replayUntil from the source
	drained                atomic.Bool              // the last Run applied exactly up to its saved position
	failedToken            atomic.Pointer[bson.Raw] // the event whose apply error ended a Run: never tolerated
	abortRun               atomic.Pointer[context.CancelFunc]
	copiedMu               sync.Mutex
	copiedUntil            map[mlink.Namespace]bson.Timestamp // see copyCollection
	refetch                refetched                          // see resolveReplays
	rate                   rateMeter
	lastSave               atomic.Int64 // unix nanos of the last persisted checkpoint
	saved                  atomic.Pointer[Position]
}

// New prepares replication from src to dst.
func New(src, dst *mongo.Client, opts Options) *Replicator {
	return &Replicator{src: src, dst: dst, opts: opts.withDefaults(), seed: maphash.MakeSeed(),
		byKind: map[string]int64{}, wm: newWatermark(Position{}), copiedUntil: map[mlink.Namespace]bson.Timestamp{}}
}

// Start says where the stream begins: after Token when set (a restart),
// else at T0 (inclusive: the clone's start time).
//
// Reserved is the last time saved by Options.Reserve: an earlier process
// may have applied events up to it, so errors replaying them are expected.
type Start struct {
	Token    bson.Raw
	T0       bson.Timestamp
	Applied  int64
	Reserved bson.Timestamp
}

// item is one unit of work for a worker.
type item struct {
	seq uint64
	ns  mlink.Namespace
	ops []mongo.WriteOp
	e   *mlink.Event
	sz  int
	// refetched: ops write the document as read from the source (see
	// resolveReplays), so a failure is never a superseded write.
	refetched bool
}

// Run replicates until ctx ends or an error occurs. The applied position is
// saved every CheckpointInterval and when Run returns.
func (r *Replicator) Run(ctx context.Context, start Start) error {
	o := r.opts
	pos := Position{Token: start.Token, Time: start.T0, Applied: start.Applied}
	wo := mongo.WatchOptions{MaxAwait: o.MaxAwait, BatchSize: int32(o.BatchDocs)}
	if start.Token != nil {
		wo.ResumeAfter = start.Token
		if t, ok := mongo.TokenTime(start.Token); ok {
			pos.Time = t
		}
	} else {
		t0 := start.T0
		wo.StartAt = &t0
	}
	r.wm.reset(pos)
	r.noteSourceTime(pos.Time)
	// Workers run ahead of the saved position, so events after it may
	// already be on the target (applied before a crash or a pause):
	// replaying them meets a later state, and their errors are tolerated
	// like catch-up's, up to replayUntil. This Replicator's earlier runs
	// applied no more than they dispatched (nothing beyond the saved
	// position if the last one drained completely). Before its first run,
	// another process may have applied up to its last reservation.
	if r.ran.Load() {
		if !r.drained.Load() {
			storeMaxTime(&r.replayUntil, unpackTime(r.dispatched.Load()))
		}
	} else {
		storeMaxTime(&r.replayUntil, start.Reserved)
		storeMaxTime(&r.reserved, start.Reserved)
		r.ran.Store(true)
	}
	stream, err := r.src.Watch(ctx, matchStage(o.Filter), wo)
	if err != nil {
		return r.classify(err)
	}
	defer stream.Close(context.WithoutCancel(ctx))

	// Applying outlives ctx: when ctx ends (pause, finalize, shutdown),
	// reading stops and what was dispatched is applied, so the saved
	// position is exactly what the target holds and the next run replays
	// nothing. Replaying updates over a later state keeps values but not
	// field order ($unset then $set of a field moves it to the end). A
	// drain that takes longer than DrainTimeout (target unreachable) is cut
	// short: the next run then replays from the low watermark.
	applyCtx, abortApply := context.WithCancel(context.WithoutCancel(ctx))
	defer abortApply()
	r.drained.Store(false)
	r.abortRun.Store(&abortApply)
	defer r.abortRun.Store(nil)
	drainTimer := time.AfterFunc(time.Hour, abortApply)
	drainTimer.Stop()
	startDrainTimer := context.AfterFunc(ctx, func() { drainTimer.Reset(o.DrainTimeout) })
	defer func() {
		startDrainTimer()
		drainTimer.Stop()
	}()
	g, gctx := errgroup.WithContext(applyCtx)
	readCtx, stopReading := context.WithCancel(gctx)
	defer stopReading()
	stopReadingOnCancel := context.AfterFunc(ctx, stopReading)
	defer stopReadingOnCancel()
	queues := make([]chan item, o.Workers)
	for i := range queues {
		queues[i] = make(chan item, 4*o.BatchDocs)
	}
	events := make(chan *mlink.Event, 4*o.BatchDocs)
	stop := make(chan struct{})
	g.Go(func() error {
		defer close(events)
		err := r.readLoop(readCtx, gctx, stream, events)
		if ctx.Err() != nil && gctx.Err() == nil {
			return nil // stopping: drain what was read
		}
		return err
	})
	g.Go(func() error {
		defer func() {
			for _, q := range queues {
				close(q)
			}
		}()
		return r.dispatch(gctx, events, queues, stop, func() bool { return ctx.Err() != nil })
	})
	for _, q := range queues {
		g.Go(func() error { return r.worker(gctx, q) })
	}
	g.Go(func() error { return r.checkpointLoop(readCtx) })
	g.Go(func() error { return r.sourceTimeLoop(readCtx) })
	go func() { <-gctx.Done(); close(stop); r.wm.wake() }()
	err = g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil && applyCtx.Err() != nil {
		o.Logger.Warn("stopping: writes still in flight were abandoned after the drain timeout; the next run replays them",
			"drainTimeout", o.DrainTimeout.String())
	}
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := r.save(saveCtx); serr != nil && err == nil {
		err = serr
	}
	var ae *ApplyError
	if errors.As(err, &ae) {
		tok := ae.Event.Token
		r.failedToken.Store(&tok)
	}
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		r.drained.Store(err == nil && r.wm.exact())
		return ctx.Err()
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ErrStopFailed, err)
	}
	return err
}

// ErrStopFailed marks an error met while a stopping Run applied what it had
// dispatched: a real failure although the Run was asked to stop.
var ErrStopFailed = errors.New("replication failed while stopping")

// Abort makes a running Run stop applying at once, without draining (the
// target is no longer this process's to write).
func (r *Replicator) Abort() {
	if f := r.abortRun.Load(); f != nil {
		(*f)()
	}
}

// classify turns a history-loss error into ErrHistoryLost with advice.
func (r *Replicator) classify(err error) error {
	if mongo.IsHistoryLost(err) {
		pos := r.wm.position()
		return fmt.Errorf("%w: the source oplog no longer contains the change at %s that replication must resume from, so changes made since then cannot be replayed (%v); enlarge the source oplog (replSetResizeOplog) and run a new sync (reset, then start)",
			ErrHistoryLost, mlink.FormatTimestamp(pos.Time), err)
	}
	return err
}

// readLoop reads events and idle tokens into events, in stream order,
// until ctx ends. What it has read it delivers unless deliver ends (an
// error elsewhere): a stopping Run applies every event it counted as read.
func (r *Replicator) readLoop(ctx, deliver context.Context, stream *mongo.ChangeStream, events chan<- *mlink.Event) error {
	for {
		raw, ok, err := stream.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return r.classify(err)
		}
		var e *mlink.Event
		if ok {
			if e, err = mlink.ParseEvent(raw); err != nil {
				return err
			}
			r.read.Add(1)
			r.opts.Metrics.EventsRead.WithLabelValues(e.Op).Inc()
			r.noteSourceTime(e.ClusterTime)
			storeMaxTime(&r.readTime, e.ClusterTime)
		} else {
			// Empty batch: the postBatchResumeToken says how far the
			// source has been read even though nothing matched.
			tok := stream.ResumeToken()
			t, ok := mongo.TokenTime(tok)
			if !ok {
				continue
			}
			r.noteSourceTime(t)
			storeMaxTime(&r.readTime, t)
			e = &mlink.Event{Token: tok, ClusterTime: t}
		}
		select {
		case events <- e:
		case <-deliver.Done():
			return deliver.Err()
		}
	}
}

// dispatch routes events in order: document events to the worker owning
// the document, DDL and atomic transactions as barriers.
//
// stopping reports a graceful stop: the stream was cut, so a buffered
// atomic transaction may be incomplete and is left for the next run.
func (r *Replicator) dispatch(ctx context.Context, events <-chan *mlink.Event, queues []chan item, stop <-chan struct{}, stopping func() bool) error {
	var prev *mlink.Event
	var prevSeq uint64
	var txn []*mlink.Event
	flushTxn := func() error {
		if len(txn) == 0 {
			return nil
		}
		batch := txn
		txn = nil
		if err := r.reserve(ctx, batch[len(batch)-1].ClusterTime); err != nil {
			return err
		}
		storeMaxTime(&r.dispatched, batch[len(batch)-1].ClusterTime)
		last, err := r.applyTxn(ctx, batch, stop)
		prevSeq = last // marked safe once the transaction has ended
		return err
	}
	for e := range events {
		// A transaction ends here: apply a buffered one before its end is
		// marked safe. Its filtered-out events are registered already, and
		// the last may come after every buffered one: marked safe first, it
		// would let the checkpoint pass the transaction before it is applied.
		if r.opts.TxnAtomic && len(txn) > 0 && !e.SameTxn(txn[0]) {
			if err := flushTxn(); err != nil {
				return err
			}
		}
		if prev != nil && prev.InTxn() && !e.SameTxn(prev) {
			r.wm.markSafe(prevSeq)
		}
		if e.Op == "" { // idle token
			if err := flushTxn(); err != nil {
				return err
			}
			r.wm.done(r.wm.add(e.Token, e.ClusterTime, true, false))
			prev = nil
			continue
		}
		if !r.inScope(e) {
			seq := r.wm.add(e.Token, e.ClusterTime, !e.InTxn(), true)
			r.skip(e)
			r.wm.done(seq)
			prev, prevSeq = e, seq
			continue
		}
		switch {
		case e.IsCRUD() && e.InTxn() && r.opts.TxnAtomic:
			txn = append(txn, e)
			prev = e
			continue
		case e.IsCRUD():
			ops, err := translate(e)
			if err != nil {
				return fmt.Errorf("%s event on %s at %s: %w", e.Op, e.NS, mlink.FormatTimestamp(e.ClusterTime), err)
			}
			seq := r.wm.add(e.Token, e.ClusterTime, !e.InTxn(), true)
			w := r.route(e)
			if err := r.reserve(ctx, e.ClusterTime); err != nil {
				return err
			}
			storeMaxTime(&r.dispatched, e.ClusterTime)
			select {
			case queues[w] <- item{seq: seq, ns: e.NS, ops: ops, e: e, sz: len(e.Raw)}:
			case <-ctx.Done():
				return ctx.Err()
			}
			prev, prevSeq = e, seq
		default:
			if err := flushTxn(); err != nil {
				return err
			}
			// A DDL event of a transaction (a collection it creates) is no
			// place to resume either.
			seq := r.wm.add(e.Token, e.ClusterTime, !e.InTxn(), true)
			// DDL is a barrier: everything before it is applied first.
			if !r.wm.waitBefore(seq, stop) {
				return ctx.Err()
			}
			r.refetch.clear()
			if err := r.reserve(ctx, e.ClusterTime); err != nil {
				return err
			}
			storeMaxTime(&r.dispatched, e.ClusterTime)
			if err := r.applyDDL(ctx, e); err != nil {
				return err
			}
			r.count(e)
			r.wm.done(seq)
			prev, prevSeq = e, seq
		}
	}
	if !stopping() {
		if err := flushTxn(); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// reserveAhead is how far past an event a reservation reaches (source
// seconds): one checkpoint write per that much source time.
const reserveAhead = 30

// reserve persists a reservation past t before an event at t is handed to
// a writer, unless one already covers it.
func (r *Replicator) reserve(ctx context.Context, t bson.Timestamp) error {
	if !t.After(unpackTime(r.reserved.Load())) {
		return nil
	}
	next := bson.Timestamp{T: t.T + reserveAhead}
	if err := r.opts.Reserve(ctx, next); err != nil {
		return fmt.Errorf("save the apply reservation: %w", err)
	}
	storeMaxTime(&r.reserved, next)
	return nil
}

// storeMaxTime raises a to t (packed T<<32|I) if t is later.
func storeMaxTime(a *atomic.Uint64, t bson.Timestamp) {
	v := uint64(t.T)<<32 | uint64(t.I)
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

func unpackTime(v uint64) bson.Timestamp { return bson.Timestamp{T: uint32(v >> 32), I: uint32(v)} }

// route picks the worker of a document: same namespace and key (by
// MongoDB's key equality, see docIdentity), same worker.
func (r *Replicator) route(e *mlink.Event) int {
	var h maphash.Hash
	h.SetSeed(r.seed)
	h.WriteString(e.NS.DB)
	h.WriteByte(0)
	h.WriteString(e.NS.Coll)
	h.WriteByte(0)
	h.WriteString(docIdentity(e.DocKey))
	return int(h.Sum64() % uint64(r.opts.Workers))
}
