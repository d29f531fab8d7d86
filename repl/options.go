// Package repl replicates changes: it reads the source's cluster-wide change
// stream and applies every event to the target — documents in parallel by
// hash of (namespace, _id), DDL as barriers — and keeps a low-watermark
// checkpoint below which everything is applied.
package repl

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/metrics"
)

// Options tune replication. Zero values take defaults.
type Options struct {
	Filter *mlink.Filter
	// Workers apply document events in parallel; events of one document
	// always go to the same worker, in order.
	Workers int
	// BatchDocs / BatchBytes cut one worker's bulk write; FlushInterval is
	// how long a worker waits to fill a batch when events trickle in.
	BatchDocs     int
	BatchBytes    int
	FlushInterval time.Duration
	// CheckpointInterval is how often the applied position is persisted.
	CheckpointInterval time.Duration
	// DrainTimeout bounds how long a stopping Run (pause, finalize,
	// shutdown) waits for dispatched writes to finish.
	DrainTimeout time.Duration
	// TxnAtomic applies each source transaction as one target transaction.
	TxnAtomic bool
	// MaxAwait is how long an empty getMore waits on the source.
	MaxAwait time.Duration
	// SourceTimeInterval is how often the source's cluster time is read
	// (with hello, never a write) to measure lag while a backlog is read.
	SourceTimeInterval time.Duration
	// CatchUpUntil is the source time the clone finished at. Events at or
	// before it replay over documents the clone read later; an error such
	// an event causes (e.g. a path made impossible by a later change) is
	// skipped and counted, as MongoDB's own initial sync does.
	CatchUpUntil bson.Timestamp
	// Save persists the applied position (the engine owns the checkpoint
	// document).
	Save func(ctx context.Context, pos Position) error
	// Reserve persists a source time up to which events may be applied
	// (see Start.Reserved); replication saves a new one before it hands an
	// event after the last to a writer.
	Reserve func(ctx context.Context, t bson.Timestamp) error
	// CopyCollection clones one collection from scratch — used when a
	// rename brings a namespace into the filter's scope.
	CopyCollection func(ctx context.Context, ns mlink.Namespace) error
	Logger         *slog.Logger
	Metrics        *metrics.Metrics
}

// Position is an applied position: resume after Token and everything the
// source did up to Time is on the target.
type Position struct {
	Token   bson.Raw
	Time    bson.Timestamp
	Applied int64 // events applied so far in this run and earlier ones
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = max(8, 2*runtime.NumCPU())
	}
	if o.BatchDocs <= 0 {
		o.BatchDocs = 1000
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 8 << 20
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 5 * time.Millisecond
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = 2 * time.Second
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.MaxAwait <= 0 {
		o.MaxAwait = time.Second
	}
	if o.SourceTimeInterval <= 0 {
		o.SourceTimeInterval = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(nil)
	}
	if o.Reserve == nil {
		o.Reserve = func(context.Context, bson.Timestamp) error { return nil }
	}
	if o.Save == nil {
		o.Save = func(context.Context, Position) error { return nil }
	}
	return o
}
