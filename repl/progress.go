package repl

import (
	"context"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
)

// checkpointLoop persists the watermark every CheckpointInterval when it
// moved.
func (r *Replicator) checkpointLoop(ctx context.Context) error {
	t := time.NewTicker(r.opts.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := r.save(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		r.updateGauges()
		r.refetch.pruneUpTo(r.wm.completeTime())
	}
}

// save persists the watermark if it moved since the last save.
func (r *Replicator) save(ctx context.Context) error {
	pos, version, moved := r.wm.unsaved()
	if !moved || pos.Token == nil {
		return nil
	}
	if err := r.opts.Save(ctx, pos); err != nil {
		return err
	}
	r.wm.saved(version)
	r.saved.Store(&pos)
	r.lastSave.Store(time.Now().UnixNano())
	return nil
}

// sourceTimeLoop reads the source's cluster time with hello (a read) so lag
// is right even while a backlog is being read.
func (r *Replicator) sourceTimeLoop(ctx context.Context) error {
	t := time.NewTicker(r.opts.SourceTimeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if info, err := r.src.ServerInfo(ctx); err == nil {
			r.noteSourceTime(info.ClusterTime)
		}
		r.updateGauges()
	}
}

func (r *Replicator) noteSourceTime(t bson.Timestamp) {
	v := uint64(t.T)<<32 | uint64(t.I)
	for {
		cur := r.sourceTime.Load()
		if v <= cur || r.sourceTime.CompareAndSwap(cur, v) {
			return
		}
	}
}

func (r *Replicator) updateGauges() {
	st := r.Stats()
	r.opts.Metrics.LagSeconds.Set(st.LagSeconds)
	if !st.LastSave.IsZero() {
		r.opts.Metrics.CheckpointAgeSeconds.Set(time.Since(st.LastSave).Seconds())
	}
}

// Stats is replication's progress.
type Stats struct {
	EventsRead, EventsApplied, EventsSkipped, CatchUpSkipped int64
	ByKind                                                   map[string]int64
	ApplyRate                                                float64 // events/s over the last minute
	SourceTime, AppliedTime, CheckpointTime                  bson.Timestamp
	LagSeconds                                               float64
	LastSave                                                 time.Time
}

// Stats reports progress; safe to call at any time.
func (r *Replicator) Stats() Stats {
	var st Stats
	st.EventsRead = r.read.Load()
	st.EventsApplied = r.applied.Load()
	st.EventsSkipped = r.skipped.Load()
	st.CatchUpSkipped = r.catchUpSkipped.Load()
	r.kindMu.Lock()
	st.ByKind = make(map[string]int64, len(r.byKind))
	for k, v := range r.byKind {
		st.ByKind[k] = v
	}
	r.kindMu.Unlock()
	st.ApplyRate = r.rate.perSecond()
	v := r.sourceTime.Load()
	st.SourceTime = bson.Timestamp{T: uint32(v >> 32), I: uint32(v)}
	st.AppliedTime = r.wm.position().Time
	if p := r.saved.Load(); p != nil {
		st.CheckpointTime = p.Time
	}
	if n := r.lastSave.Load(); n != 0 {
		st.LastSave = time.Unix(0, n)
	}
	if st.SourceTime.T > st.AppliedTime.T && !st.AppliedTime.IsZero() {
		st.LagSeconds = float64(st.SourceTime.T - st.AppliedTime.T)
	}
	return st
}

// Applied returns the latest source time up to which everything is applied.
func (r *Replicator) Applied() bson.Timestamp {
	return r.wm.completeTime()
}

// WaitApplied blocks until everything the source did up to t is applied.
func (r *Replicator) WaitApplied(ctx context.Context, t bson.Timestamp) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if !r.Applied().Before(t) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Progress converts Stats for the status API.
func (st Stats) Progress() mlink.ReplProgress {
	p := mlink.ReplProgress{
		EventsRead: st.EventsRead, EventsApplied: st.EventsApplied, EventsSkipped: st.EventsSkipped + st.CatchUpSkipped,
		ByKind: st.ByKind, ApplyRate: st.ApplyRate, LagSeconds: st.LagSeconds,
	}
	if !st.SourceTime.IsZero() {
		p.SourceTime = mlink.FormatTimestamp(st.SourceTime)
	}
	if !st.AppliedTime.IsZero() {
		p.AppliedTime = mlink.FormatTimestamp(st.AppliedTime)
	}
	if !st.CheckpointTime.IsZero() {
		p.CheckpointTime = mlink.FormatTimestamp(st.CheckpointTime)
	}
	if !st.LastSave.IsZero() {
		p.CheckpointAge = time.Since(st.LastSave).Seconds()
	}
	return p
}

// rateMeter counts events per second over a sliding minute.
type rateMeter struct {
	mu      sync.Mutex
	buckets [60]int64
	stamps  [60]int64
}

func (m *rateMeter) add(n int64) {
	now := time.Now().Unix()
	m.mu.Lock()
	i := now % 60
	if m.stamps[i] != now {
		m.stamps[i], m.buckets[i] = now, 0
	}
	m.buckets[i] += n
	m.mu.Unlock()
}

func (m *rateMeter) perSecond() float64 {
	now := time.Now().Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	var sum int64
	var oldest int64 = now
	for i := range m.buckets {
		if now-m.stamps[i] < 60 && m.stamps[i] != now {
			sum += m.buckets[i]
			oldest = min(oldest, m.stamps[i])
		}
	}
	if span := now - oldest; span > 0 {
		return float64(sum) / float64(span)
	}
	return 0
}
