package engine

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/mlink-dev/mlink"
)

// Status reports the sync without blocking on I/O.
func (e *Engine) Status(ctx context.Context) mlink.Status {
	e.mu.Lock()
	st := mlink.Status{
		OK: true, State: e.state, Info: e.info, Error: e.errMsg,
		EventsProcessed: e.cp.EventsApplied,
		Source:          mlink.RedactURI(e.cfg.SourceURI),
		Target:          mlink.RedactURI(e.cfg.TargetURI),
		IndexFailures:   append([]mlink.IndexFailure(nil), e.failures...),
	}
	cp, cl, r, window := e.cp, e.cloner, e.repl, e.oplogWindow
	for _, w := range e.warnings {
		st.Warnings = append(st.Warnings, w)
	}
	e.mu.Unlock()
	sort.Slice(st.Warnings, func(i, j int) bool { return st.Warnings[i].Message < st.Warnings[j].Message })
	if cp.RunID == "" {
		return st
	}
	st.Filter = &mlink.FilterSpec{Include: cp.Include, Exclude: cp.Exclude}
	st.Phases = cp.Phases
	if !cp.AppliedTime.IsZero() {
		st.LastReplicatedOpTime = mlink.FormatTimestamp(cp.AppliedTime)
	}
	is := &mlink.InitialSync{Completed: cp.InitialSyncDone, CloneCompleted: cp.CloneDone}
	if cl != nil {
		pr := cl.Progress()
		st.Clone = &pr
		is.EstimatedCloneSize, is.ClonedSize = pr.EstimatedBytes, pr.CopiedBytes
	}
	if r != nil {
		rs := r.Stats()
		rp := rs.Progress()
		rp.OplogWindow = window
		st.Replication = &rp
		if rs.EventsApplied > 0 || !rs.AppliedTime.IsZero() {
			lag := int64(rs.LagSeconds)
			st.LagTime = &lag
			if !cp.InitialSyncDone {
				is.LagTime = &lag
			}
		}
		if p := rs.AppliedTime; !p.IsZero() {
			st.LastReplicatedOpTime = mlink.FormatTimestamp(p)
		}
		if rp.EventsApplied > 0 {
			st.EventsProcessed = max(st.EventsProcessed, rs.EventsApplied)
		}
	}
	st.InitialSync = is
	return st
}

// warn raises (or refreshes) a warning shown in status, logs and metrics.
func (e *Engine) warn(key, kind, msg string) {
	e.mu.Lock()
	w, exists := e.warnings[key]
	if !exists {
		w = mlink.Warning{Kind: kind, Since: time.Now().UTC()}
	}
	changed := w.Message != msg
	w.Message = msg
	e.warnings[key] = w
	e.mu.Unlock()
	if changed {
		e.log.Warn(msg, "kind", kind)
	}
	e.refreshWarningGauge()
}

// clearWarning removes a warning that no longer holds.
func (e *Engine) clearWarning(key string) {
	e.mu.Lock()
	_, had := e.warnings[key]
	delete(e.warnings, key)
	e.mu.Unlock()
	if had {
		e.refreshWarningGauge()
	}
}

func (e *Engine) refreshWarningGauge() {
	e.mu.Lock()
	ws := make([]mlink.Warning, 0, len(e.warnings))
	for _, w := range e.warnings {
		ws = append(ws, w)
	}
	e.mu.Unlock()
	e.m.SetWarnings(ws)
}

// oplogGuard watches the source's oplog window: warns early when the clone
// (or the replication lag) risks outliving the history replication needs.
func (e *Engine) oplogGuard(ctx context.Context) {
	check := func() {
		first, last, err := e.src.OplogWindow(ctx)
		if err != nil {
			if ctx.Err() == nil {
				e.warn("oplog-window-unknown", "oplog-window", "cannot read the source oplog window, so mlink cannot warn before history is lost: "+e.cfg.Redactor.String(err.Error()))
			}
			return
		}
		e.clearWarning("oplog-window-unknown")
		window := float64(last.T) - float64(first.T)
		e.m.OplogWindowSeconds.Set(window)
		e.mu.Lock()
		e.oplogWindow = window
		e.mu.Unlock()
		cp := e.snapshot()
		e.mu.Lock()
		cl, r := e.cloner, e.repl
		e.mu.Unlock()
		switch {
		case !cp.CloneDone && cl != nil:
			need := cp.T0
			if first.After(need) {
				e.warn("oplog-window", "oplog-window", fmt.Sprintf("the source oplog no longer reaches back to the clone's start (%s): replication will fail with history lost; enlarge the oplog and restart the sync", mlink.FormatTimestamp(need)))
				return
			}
			elapsed := float64(last.T) - float64(need.T)
			pr := cl.Progress()
			if pr.ETASeconds != nil && elapsed+*pr.ETASeconds > 0.8*window {
				e.warn("oplog-window", "oplog-window", fmt.Sprintf("the clone may outlast the source oplog window: %.0fs elapsed + %.0fs estimated remaining vs a %.0fs window; enlarge the source oplog (replSetResizeOplog) now", elapsed, *pr.ETASeconds, window))
				return
			}
		case r != nil:
			lag := r.Stats().LagSeconds
			if lag > 0.5*window {
				e.warn("oplog-window", "oplog-window", fmt.Sprintf("replication lag %.0fs exceeds half the source oplog window (%.0fs): if it keeps growing, history will be lost", lag, window))
				return
			}
		}
		e.clearWarning("oplog-window")
	}
	check()
	t := time.NewTicker(e.cfg.OplogCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			check()
		}
	}
}
