package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/clone"
)

// Start validates the request, runs preflight and begins a new sync (clone,
// then replication). It returns once the sync is running.
func (e *Engine) Start(ctx context.Context, req mlink.StartRequest) error {
	e.mu.Lock()
	state := e.state
	e.mu.Unlock()
	if err := mlink.Check(state, mlink.OpStart, false); err != nil {
		return err
	}
	if err := e.ensureLease(ctx); err != nil {
		return err
	}
	filter, err := mlink.NewFilter(req.IncludeNamespaces, req.ExcludeNamespaces)
	if err != nil {
		return &mlink.InputError{Msg: err.Error()}
	}
	overwrite := req.OverwriteTarget || e.cfg.OverwriteTarget
	e.setInfo("preflight")
	plan, err := clone.BuildPlan(ctx, e.src, filter)
	if err != nil {
		e.setInfo("")
		return err
	}
	rep, err := clone.Preflight(ctx, e.src, e.dst, plan, clone.PreflightOptions{OverwriteTarget: overwrite})
	if err != nil {
		e.setInfo("")
		return err
	}
	for _, u := range rep.Unsupported {
		e.warn("unsupported:"+u.NS, "unsupported", u.NS+": "+u.Reason)
	}
	if len(rep.NonEmpty) > 0 {
		e.log.Warn("target namespaces hold data and will be dropped and re-created (overwriteTarget)", "namespaces", rep.NonEmpty)
	}
	// A previous (finalized) run's clone progress must not be reused.
	if err := e.forgetRun(ctx); err != nil {
		return err
	}
	t0, err := e.src.ClusterTime(ctx, firstDB(plan))
	if err != nil {
		return err
	}
	runID := make([]byte, 8)
	_, _ = rand.Read(runID)
	e.mu.Lock()
	e.errMsg = ""
	e.cp = mlink.SyncCheckpoint{
		RunID: hex.EncodeToString(runID), Include: filter.Include(), Exclude: filter.Exclude(),
		PauseOnInitialSync: req.PauseOnInitialSync, OverwriteTarget: overwrite,
		StartedAt: time.Now().UTC(), T0: t0,
		Phases: map[string]mlink.Phase{"clone": {Started: time.Now().UTC()}},
	}
	e.mu.Unlock()
	e.setState(mlink.StateRunning, "cloning")
	if err := e.saveCheckpoint(ctx, nil); err != nil {
		e.setState(mlink.StateIdle, "")
		return err
	}
	e.log.Info("sync started", "t0", mlink.FormatTimestamp(t0), "include", filter.Include(), "exclude", filter.Exclude(),
		"collections", len(plan.Collections), "views", len(plan.Views))
	e.launch(false)
	return nil
}

func firstDB(p clone.Plan) string {
	if ns := p.Namespaces(); len(ns) > 0 {
		return ns[0].DB
	}
	return "admin"
}

// forgetRun clears clone progress and deferred records of an earlier run.
func (e *Engine) forgetRun(ctx context.Context) error {
	for _, c := range []string{mlink.MetaCloneColl, mlink.MetaDeferredColl} {
		if err := e.meta.Drop(ctx, c); err != nil {
			return err
		}
	}
	e.mu.Lock()
	e.failures = nil
	e.warnings = map[string]mlink.Warning{}
	e.histLost = false
	e.mu.Unlock()
	return nil
}

// Pause stops reading and applying after saving a checkpoint.
func (e *Engine) Pause(ctx context.Context) error {
	e.mu.Lock()
	state := e.state
	e.mu.Unlock()
	if err := mlink.Check(state, mlink.OpPause, false); err != nil {
		return err
	}
	if err := e.stopRun(); err != nil {
		return fmt.Errorf("pause: %w", err)
	}
	e.setState(mlink.StatePaused, "paused")
	return e.saveCheckpoint(ctx, nil)
}

// Resume continues a paused run, or a failed one with fromFailure.
func (e *Engine) Resume(ctx context.Context, req mlink.ResumeRequest) error {
	e.mu.Lock()
	state := e.state
	e.mu.Unlock()
	if err := mlink.Check(state, mlink.OpResume, req.FromFailure); err != nil {
		return err
	}
	if err := e.ensureLease(ctx); err != nil {
		return err
	}
	e.mu.Lock()
	prevErr, prevInfo := e.errMsg, e.info
	e.errMsg = ""
	e.mu.Unlock()
	e.setState(mlink.StateRunning, "resuming")
	if err := e.saveCheckpoint(ctx, nil); err != nil {
		// Nothing was resumed: stay as before rather than "running" with
		// nothing running.
		e.mu.Lock()
		e.errMsg = prevErr
		e.mu.Unlock()
		e.setState(state, prevInfo)
		return err
	}
	e.launch(false)
	return nil
}

// Finalize waits (in the background) until everything the source did up
// to now is applied, stops replication and restores the deferred index and
// collection properties. It returns once finalizing has begun.
func (e *Engine) Finalize(ctx context.Context, req mlink.FinalizeRequest) error {
	e.mu.Lock()
	state, cp, histLost, prevInfo := e.state, e.cp, e.histLost, e.info
	e.mu.Unlock()
	ignoreLoss := state == mlink.StateFailed && histLost && req.IgnoreHistoryLost
	if !ignoreLoss {
		if err := mlink.Check(state, mlink.OpFinalize, false); err != nil {
			if state == mlink.StateFailed && histLost {
				return &mlink.StateError{Op: mlink.OpFinalize, State: state, Reason: "the source's change history is lost; finalize with ignoreHistoryLost (--ignore-history-lost) to keep the target as it is"}
			}
			return err
		}
		if !cp.CloneDone {
			return &mlink.StateError{Op: mlink.OpFinalize, State: state, Reason: "the initial clone is not complete yet"}
		}
	}
	if err := e.ensureLease(ctx); err != nil {
		return err
	}
	_, hadPhase := cp.Phases["finalize"]
	if err := e.stopRun(); err != nil {
		return fmt.Errorf("finalize: %w", err)
	}
	e.setState(mlink.StateFinalizing, "finalizing")
	if err := e.saveCheckpoint(ctx, func(cp *mlink.SyncCheckpoint) {
		cp.Phases = withPhase(cp.Phases, "finalize")
	}); err != nil {
		// Finalize did not begin: go back to where the sync was (a
		// "finalizing" with nothing running is a state no operation
		// leaves), replicating again if it was.
		e.mu.Lock()
		if !hadPhase {
			delete(e.cp.Phases, "finalize")
		}
		e.mu.Unlock()
		e.setState(state, prevInfo)
		if state == mlink.StateRunning {
			e.launch(false)
		}
		return err
	}
	if ignoreLoss {
		e.launchFinalizeOnly()
		return nil
	}
	e.launch(true)
	return nil
}

// Reset forgets the run: checkpoint, clone progress, deferred properties.
// Data already on the target stays.
func (e *Engine) Reset(ctx context.Context) error {
	e.mu.Lock()
	state := e.state
	e.mu.Unlock()
	if err := mlink.Check(state, mlink.OpReset, false); err != nil {
		return err
	}
	if err := e.ensureLease(ctx); err != nil {
		return err
	}
	_ = e.stopRun() // reset forgets the run, failed or not
	return e.forget(ctx)
}

func withPhase(p map[string]mlink.Phase, name string) map[string]mlink.Phase {
	if p == nil {
		p = map[string]mlink.Phase{}
	}
	if _, ok := p[name]; !ok {
		p[name] = mlink.Phase{Started: time.Now().UTC()}
	}
	return p
}

func endPhase(p map[string]mlink.Phase, name string) map[string]mlink.Phase {
	if ph, ok := p[name]; ok && ph.Finished == nil {
		now := time.Now().UTC()
		ph.Finished = &now
		p[name] = ph
	}
	return p
}
