package clone

import (
	"log/slog"
	"runtime"
	"time"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/metrics"
)

// Options tune the clone. Zero values take the defaults below.
type Options struct {
	Filter *mlink.Filter
	// Readers is how many partitions are read in parallel.
	Readers int
	// Writers is how many insert batches are in flight to the target.
	Writers int
	// BatchBytes and BatchDocs cut insert batches (the server's limits,
	// 48 MB messages and maxWriteBatchSize, are never reached).
	BatchBytes int
	BatchDocs  int
	// PartitionBytes is the target size of one _id-range partition.
	PartitionBytes int64
	// QueueBytes bounds the documents read but not yet written: the
	// batches queued for or in flight to the target. Each reader holds at
	// most two batches more (the one it cuts, the one waiting for room),
	// and the cursor batch it reads from (at most 16 MiB).
	QueueBytes int64
	// IndexesFirst builds indexes before copying a collection's documents
	// (default: after, which is much faster).
	IndexesFirst bool
	// CheckpointInterval is the longest time between checkpoint saves while
	// copying (saves also follow progress as fast as the target takes them).
	CheckpointInterval time.Duration
	Logger             *slog.Logger
	Metrics            *metrics.Metrics
}

func (o Options) withDefaults() Options {
	cpu := runtime.NumCPU()
	if o.Readers <= 0 {
		o.Readers = max(2, cpu)
	}
	if o.Writers <= 0 {
		o.Writers = max(4, 2*cpu)
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 4 << 20
	}
	if o.BatchDocs <= 0 {
		o.BatchDocs = 2000
	}
	if o.PartitionBytes <= 0 {
		o.PartitionBytes = 32 << 20
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = 64 << 20
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(nil)
	}
	return o
}
