// Package engine is mlink's state machine: it ties preflight, the clone,
// change replication and finalize together, persists the run's checkpoint
// on the target and answers the control plane (api.Controller).
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/clone"
	"github.com/mlink-dev/mlink/metrics"
	"github.com/mlink-dev/mlink/mongo"
	"github.com/mlink-dev/mlink/repl"
)

// Config configures an engine.
type Config struct {
	SourceURI, TargetURI string
	// ResetState forgets any checkpoint at start-up.
	ResetState bool
	// OverwriteTarget is the default for start requests.
	OverwriteTarget bool
	Clone           clone.Options // tuning; Filter is set per run
	Repl            repl.Options  // tuning; Filter, CatchUpUntil, Save set per run
	LeaseTTL        time.Duration
	// OplogCheckInterval is how often the source oplog window is read.
	OplogCheckInterval time.Duration
	Logger             *slog.Logger
	Metrics            *metrics.Metrics
	Redactor           *mlink.Redactor
}

var (
	errAborted   = errors.New("engine aborted")
	errLeaseLost = errors.New("another mlink daemon holds the target's lease: nothing is written to the target")
)

// Engine runs one sync at a time against one target.
type Engine struct {
	cfg      Config
	src, dst *mongo.Client
	meta     *mongo.Meta
	lease    *lease
	log      *slog.Logger
	m        *metrics.Metrics

	mu       sync.Mutex
	state    mlink.State
	cp       mlink.SyncCheckpoint
	info     string
	errMsg   string
	histLost bool
	cloner   *clone.Cloner
	repl     *repl.Replicator
	replRun  string // RunID the Replicator belongs to
	warnings map[string]mlink.Warning
	failures []mlink.IndexFailure
	// oplogWindow is the source oplog's span in seconds at the last check
	// (0 until measured).
	oplogWindow float64
	cancel      context.CancelFunc // stops the background run
	runDone     chan struct{}      // closed when the background run exits
	runErr      error              // why the last run failed while stopping (see stopRun)
	saveMu      sync.Mutex         // serializes checkpoint writes
	bg          context.Context    // lives as long as the engine
	bgStop      context.CancelFunc
	wg          sync.WaitGroup
	aborted     atomic.Bool // Abort: behave like a dead process, persist nothing
	// leaseLost: another daemon holds the target's lease; nothing may be
	// written to the target until this engine holds it again.
	leaseLost atomic.Bool
}

// New connects to both sides, takes the target's lease and recovers the
// checkpoint: a run that was running continues where it stopped.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New(nil)
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	if cfg.OplogCheckInterval <= 0 {
		cfg.OplogCheckInterval = time.Minute
	}
	for _, u := range []struct{ name, uri string }{{"source", cfg.SourceURI}, {"target", cfg.TargetURI}} {
		if err := mongo.ParseURI(u.uri); err != nil {
			return nil, &mlink.InputError{Msg: fmt.Sprintf("%s URI %s: %v", u.name, mlink.RedactURI(u.uri), err)}
		}
	}
	src, err := mongo.Connect(ctx, cfg.SourceURI, mongo.RoleSource)
	if err != nil {
		return nil, err
	}
	dst, err := mongo.Connect(ctx, cfg.TargetURI, mongo.RoleTarget)
	if err != nil {
		_ = src.Close(ctx)
		return nil, err
	}
	e := &Engine{cfg: cfg, src: src, dst: dst, meta: dst.Meta(), log: cfg.Logger, m: cfg.Metrics,
		state: mlink.StateIdle, warnings: map[string]mlink.Warning{}}
	e.bg, e.bgStop = context.WithCancel(context.WithoutCancel(ctx))
	e.lease = newLease(e.meta, cfg.LeaseTTL)
	if err := e.lease.take(ctx); err != nil {
		e.closeClients(ctx)
		return nil, err
	}
	if err := e.recover(ctx); err != nil {
		_ = e.lease.release(ctx)
		e.closeClients(ctx)
		return nil, err
	}
	e.wg.Add(3)
	go e.keepLease()
	go func() { defer e.wg.Done(); e.logProgress(e.bg, progressLogInterval) }()
	go func() { defer e.wg.Done(); e.updateGauges(e.bg, time.Second) }()
	return e, nil
}

func (e *Engine) closeClients(ctx context.Context) {
	_ = e.src.Close(ctx)
	_ = e.dst.Close(ctx)
}

// recover loads the checkpoint and resumes the run it describes.
func (e *Engine) recover(ctx context.Context) error {
	if e.cfg.ResetState {
		e.log.Info("forgetting the saved checkpoint (--reset-state)")
		return e.forget(ctx)
	}
	var cp mlink.SyncCheckpoint
	found, err := e.meta.Get(ctx, mlink.MetaSyncColl, mlink.SyncCheckpointID, &cp)
	if err != nil {
		return err
	}
	if !found {
		e.setState(mlink.StateIdle, "")
		return nil
	}
	e.mu.Lock()
	e.cp = cp
	e.errMsg = cp.Error
	e.mu.Unlock()
	e.log.Info("checkpoint recovered", "state", cp.State, "cloneDone", cp.CloneDone, "appliedTime", mlink.FormatTimestamp(cp.AppliedTime))
	switch cp.State {
	case mlink.StateRunning:
		e.setState(mlink.StateRunning, "resuming from checkpoint")
		e.launch(false)
	case mlink.StateFinalizing:
		e.setState(mlink.StateFinalizing, "resuming finalize")
		e.launch(true)
	default:
		e.setState(cp.State, "")
	}
	return nil
}

// forget drops the run's metadata (not the lease).
func (e *Engine) forget(ctx context.Context) error {
	for _, c := range []string{mlink.MetaSyncColl, mlink.MetaCloneColl, mlink.MetaDeferredColl} {
		if err := e.meta.Drop(ctx, c); err != nil {
			return err
		}
	}
	e.mu.Lock()
	e.cp = mlink.SyncCheckpoint{}
	e.errMsg, e.histLost, e.cloner, e.repl = "", false, nil, nil
	e.warnings = map[string]mlink.Warning{}
	e.failures = nil
	e.mu.Unlock()
	e.setState(mlink.StateIdle, "")
	return nil
}

// keepLease renews the lease; losing it stops the sync (another daemon may
// be writing).
func (e *Engine) keepLease() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-e.bg.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(e.bg, e.cfg.LeaseTTL/3)
		err := e.lease.take(ctx)
		cancel()
		var held *LeaseHeldError
		switch {
		case err == nil:
			e.leaseLost.Store(false)
		case errors.As(err, &held):
			if !e.leaseLost.Swap(true) {
				// Two daemons applying to one target corrupt it: stop
				// writing at once (the checkpoint is now the other's).
				e.abortRun()
				e.fail(fmt.Errorf("lost the target lease: %w", err))
			}
		default:
			e.log.Warn("could not renew the target lease", "error", err)
		}
	}
}

// ensureLease takes the lease back, if it was lost, before an operation
// that writes to the target.
func (e *Engine) ensureLease(ctx context.Context) error {
	if !e.leaseLost.Load() {
		return nil
	}
	if err := e.lease.take(ctx); err != nil {
		return err
	}
	e.leaseLost.Store(false)
	return nil
}

// Abort stops the engine the way a crash would: connections are cut first
// so nothing more reaches the target (no final checkpoint), the lease is
// not released. Tests use it to prove recovery from any point.
func (e *Engine) Abort() {
	e.aborted.Store(true)
	_ = e.dst.Close(context.Background()) // target first: nothing more is written
	_ = e.src.Close(context.Background())
	e.bgStop()
	e.mu.Lock()
	done := e.runDone
	e.mu.Unlock()
	if done != nil {
		<-done
	}
	e.wg.Wait()
}

// Close stops background work, saves the checkpoint and releases the lease.
func (e *Engine) Close(ctx context.Context) error {
	_ = e.stopRun() // a failure while stopping is logged and in the checkpoint
	e.bgStop()
	e.wg.Wait()
	// A target that is down must not hold the shutdown up: the lease then
	// simply expires.
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := e.lease.release(rctx)
	e.closeClients(ctx)
	return err
}

func (e *Engine) setState(s mlink.State, info string) {
	e.mu.Lock()
	prev := e.state
	e.state, e.info = s, info
	e.mu.Unlock()
	e.m.SetState(s)
	if prev != s {
		e.log.Info("state changed", "from", prev, "to", s, "info", info)
	}
}

func (e *Engine) setInfo(info string) {
	e.mu.Lock()
	e.info = info
	e.mu.Unlock()
}

// saveCheckpoint persists the run document with the current state.
func (e *Engine) saveCheckpoint(ctx context.Context, mutate func(cp *mlink.SyncCheckpoint)) error {
	if e.aborted.Load() {
		return errAborted
	}
	if e.leaseLost.Load() {
		return errLeaseLost
	}
	// Saves are written in the order they are made: a reservation must
	// never be overwritten by an older copy of the checkpoint.
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	e.mu.Lock()
	if mutate != nil {
		mutate(&e.cp)
	}
	e.cp.ID = mlink.SyncCheckpointID
	e.cp.State = e.state
	e.cp.Error = e.errMsg
	e.cp.UpdatedAt = time.Now().UTC()
	cp := e.cp
	e.mu.Unlock()
	return mongo.Retry(ctx, 5, func(ctx context.Context) error {
		return e.meta.Put(ctx, mlink.MetaSyncColl, mlink.SyncCheckpointID, cp)
	}, nil)
}

// fail moves to failed with err, stopping the background run.
func (e *Engine) fail(err error) {
	if e.aborted.Load() {
		return
	}
	msg := e.cfg.Redactor.String(err.Error())
	e.mu.Lock()
	e.errMsg = msg
	if errors.Is(err, repl.ErrHistoryLost) {
		e.histLost = true
	}
	e.mu.Unlock()
	kind := "fatal"
	if errors.Is(err, repl.ErrHistoryLost) {
		kind = "history-lost"
	}
	e.m.CountError(kind)
	e.log.Error("sync failed", "error", msg)
	e.setState(mlink.StateFailed, "")
	if cerr := e.saveCheckpoint(e.bg, nil); cerr != nil {
		e.log.Error("could not save the failed state", "error", cerr)
	}
}
