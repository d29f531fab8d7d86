package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/clone"
	"github.com/mlink-dev/mlink/repl"
)

// launch starts the background run: clone if not done, then replication;
// with finalize, replication stops once it reaches the source's current
// time and the deferred properties are restored.
func (e *Engine) launch(finalize bool) {
	ctx, cancel := context.WithCancel(e.bg)
	done := make(chan struct{})
	e.mu.Lock()
	e.cancel, e.runDone = cancel, done
	e.mu.Unlock()
	go func() {
		defer close(done)
		// A run asked to stop still fails when finishing its dispatched
		// writes failed: stopRun reports it to the operation that stopped.
		if err := e.run(ctx, finalize); err != nil && (ctx.Err() == nil || errors.Is(err, repl.ErrStopFailed)) {
			e.fail(err)
			e.mu.Lock()
			e.runErr = err
			e.mu.Unlock()
		}
	}()
}

// launchFinalizeOnly finalizes without replicating (history lost and the
// DBA accepts the target as it is).
func (e *Engine) launchFinalizeOnly() {
	ctx, cancel := context.WithCancel(e.bg)
	done := make(chan struct{})
	e.mu.Lock()
	e.cancel, e.runDone = cancel, done
	e.mu.Unlock()
	go func() {
		defer close(done)
		if err := e.finish(ctx); err != nil && ctx.Err() == nil {
			e.fail(err)
		}
	}()
}

// stopRun cancels the background run and waits for it to save and exit.
// It returns the error of a run that failed while stopping (the engine is
// failed then).
func (e *Engine) stopRun() error {
	e.mu.Lock()
	cancel, done := e.cancel, e.runDone
	e.cancel, e.runDone = nil, nil
	e.runErr = nil
	e.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.runErr != nil && errors.Is(e.runErr, repl.ErrStopFailed) {
		return e.runErr
	}
	return nil
}

// abortRun stops the run without letting replication finish its
// dispatched writes.
func (e *Engine) abortRun() {
	e.mu.Lock()
	r := e.repl
	e.mu.Unlock()
	if r != nil {
		r.Abort()
	}
	_ = e.stopRun()
}

func (e *Engine) snapshot() mlink.SyncCheckpoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cp
}

func (e *Engine) run(ctx context.Context, finalize bool) error {
	cp := e.snapshot()
	filter, err := cp.Filter()
	if err != nil {
		return err
	}
	guardCtx, stopGuard := context.WithCancel(ctx)
	defer stopGuard()
	go e.oplogGuard(guardCtx)
	if !cp.CloneDone {
		if err := e.runClone(ctx, filter); err != nil {
			return err
		}
		cp = e.snapshot()
	} else {
		e.loadCloneProgress(ctx, filter)
	}
	return e.runRepl(ctx, filter, cp, finalize)
}

func (e *Engine) runClone(ctx context.Context, filter *mlink.Filter) error {
	e.setInfo("cloning")
	opts := e.cfg.Clone
	opts.Filter, opts.Logger, opts.Metrics = filter, e.log, e.m
	cl := clone.New(e.src, e.dst, opts)
	e.mu.Lock()
	e.cloner = cl
	e.mu.Unlock()
	err := cl.Run(ctx)
	e.mu.Lock()
	e.failures = append(e.failures, cl.IndexFailures()...)
	e.mu.Unlock()
	for _, u := range cl.Unsupported() {
		e.warn("unsupported:"+u.NS, "unsupported", u.NS+": "+u.Reason)
	}
	if err != nil {
		return fmt.Errorf("clone: %w", err)
	}
	finish, err := e.src.ClusterTime(ctx, "admin")
	if err != nil {
		return err
	}
	pr := cl.Progress()
	e.log.Info("clone finished", "collections", pr.CollectionsDone, "docs", pr.CopiedDocs, "bytes", pr.CopiedBytes,
		"cloneFinish", mlink.FormatTimestamp(finish))
	return e.saveCheckpoint(ctx, func(cp *mlink.SyncCheckpoint) {
		cp.CloneDone, cp.CloneFinish = true, finish
		cp.Phases = withPhase(endPhase(cp.Phases, "clone"), "catchup")
	})
}

// loadCloneProgress restores the finished clone's figures for status after
// a restart during replication: running a Cloner whose checkpoint says
// everything is done only reads the checkpoint.
func (e *Engine) loadCloneProgress(ctx context.Context, filter *mlink.Filter) {
	e.mu.Lock()
	have := e.cloner != nil
	e.mu.Unlock()
	if have { // this process ran the clone: its figures (rate included) stay
		return
	}
	opts := e.cfg.Clone
	opts.Filter, opts.Logger, opts.Metrics = filter, e.log, e.m
	cl := clone.New(e.src, e.dst, opts)
	if err := cl.Run(ctx); err != nil {
		e.log.Warn("could not read the clone's checkpoint for status", "error", err)
		return
	}
	e.mu.Lock()
	e.cloner = cl
	e.mu.Unlock()
}

// savePosition persists replication's applied position (repl.Options.Save).
func (e *Engine) savePosition(ctx context.Context, pos repl.Position) error {
	return e.saveCheckpoint(ctx, func(cp *mlink.SyncCheckpoint) {
		cp.ResumeToken, cp.AppliedTime, cp.EventsApplied = pos.Token, pos.Time, pos.Applied
	})
}

func (e *Engine) runRepl(ctx context.Context, filter *mlink.Filter, cp mlink.SyncCheckpoint, finalize bool) error {
	opts := e.cfg.Repl
	opts.Filter, opts.CatchUpUntil, opts.Logger, opts.Metrics = filter, cp.CloneFinish, e.log, e.m
	opts.Save = e.savePosition
	opts.Reserve = func(ctx context.Context, t bson.Timestamp) error {
		return e.saveCheckpoint(ctx, func(cp *mlink.SyncCheckpoint) { cp.ApplyReserved = t })
	}
	opts.CopyCollection = func(ctx context.Context, ns mlink.Namespace) error {
		return clone.CopyCollection(ctx, e.src, e.dst, ns, e.cfg.Clone)
	}
	// The same run keeps one Replicator across pause/resume/finalize, so its
	// counters and apply rate carry on.
	e.mu.Lock()
	r := e.repl
	if r == nil || e.replRun != cp.RunID {
		r = repl.New(e.src, e.dst, opts)
		e.repl, e.replRun = r, cp.RunID
	}
	e.mu.Unlock()
	if cp.InitialSyncDone {
		e.setInfo("replicating")
	} else {
		e.setInfo("catching up")
	}
	var until bson.Timestamp // finalize point
	if finalize {
		t, err := e.src.ClusterTime(ctx, "admin")
		if err != nil {
			return err
		}
		until = t
		e.setInfo("finalizing: applying changes up to " + mlink.FormatTimestamp(t))
	}
	rctx, stopRepl := context.WithCancel(ctx)
	defer stopRepl()
	replErr := make(chan error, 1)
	go func() {
		replErr <- r.Run(rctx, repl.Start{Token: cp.ResumeToken, T0: cp.T0, Applied: cp.EventsApplied, Reserved: cp.ApplyReserved})
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	stop := func() error {
		stopRepl()
		if err := <-replErr; err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}
	for {
		select {
		case err := <-replErr:
			if err == nil || (errors.Is(err, context.Canceled) && ctx.Err() != nil) {
				return ctx.Err()
			}
			return fmt.Errorf("replication: %w", err)
		case <-tick.C:
		}
		applied := r.Applied()
		if !e.snapshot().InitialSyncDone && !applied.IsZero() && !applied.Before(cp.CloneFinish) {
			if err := e.initialSyncDone(ctx); err != nil {
				// Wait for Run to exit: a resume would start another Run
				// on this Replicator while its workers still finish.
				_ = stop()
				return err
			}
			if cp.PauseOnInitialSync && !finalize {
				if err := stop(); err != nil {
					return err
				}
				e.setState(mlink.StatePaused, "paused on initial sync completion")
				return e.saveCheckpoint(ctx, nil)
			}
		}
		if finalize && !applied.IsZero() && !applied.Before(until) {
			if err := stop(); err != nil {
				return err
			}
			return e.finish(ctx)
		}
	}
}

func (e *Engine) initialSyncDone(ctx context.Context) error {
	e.log.Info("initial sync complete: the target has caught up with the clone")
	e.setInfo("replicating")
	return e.saveCheckpoint(ctx, func(cp *mlink.SyncCheckpoint) {
		cp.InitialSyncDone = true
		cp.Phases = withPhase(endPhase(cp.Phases, "catchup"), "replication")
	})
}

// finish restores what the sync relaxed and marks the run finalized.
func (e *Engine) finish(ctx context.Context) error {
	e.setInfo("restoring unique indexes and TTL")
	restored, failures, err := clone.RestoreDeferred(ctx, e.dst)
	if err != nil {
		return err
	}
	for i := range failures {
		failures[i].Error = e.cfg.Redactor.String(failures[i].Error)
	}
	e.mu.Lock()
	e.failures = append(e.failures, failures...)
	e.mu.Unlock()
	for _, f := range failures {
		e.log.Error("could not restore on target", "ns", f.Namespace, "index", f.Index, "option", f.Option, "error", f.Error)
	}
	e.setState(mlink.StateFinalized, "finalized")
	e.log.Info("sync finalized", "restored", restored, "failures", len(failures))
	return e.saveCheckpoint(ctx, func(cp *mlink.SyncCheckpoint) {
		cp.Finalized = true
		cp.Phases = endPhase(endPhase(endPhase(cp.Phases, "replication"), "catchup"), "finalize")
	})
}
