// Package verify compares a source and a target replica set the way a DBA
// checks a migration: the namespaces the filter selects, each collection's
// type and options, index specs by name, document counts, and the content
// itself — hashed per _id range on both sides in parallel, with the ranges
// that differ re-read document by document to name the _ids that are
// missing, extra or different. Memory stays bounded whatever the data size:
// documents are streamed, a fixed number of ranges is in flight, and only a
// mismatching range is ever held as a set of per-_id fingerprints.
package verify

import "github.com/mlink-dev/mlink"

// Options tune a verification. Zero values take the defaults below.
type Options struct {
	// Filter selects the namespaces compared (nil: every non-system one).
	Filter *mlink.Filter
	// MaxDiffs is how many differing _ids are listed per namespace
	// (default 20; negative: none, and mismatching ranges are not re-read).
	MaxDiffs int
	// InProgress accepts what a running sync relaxes on the target until
	// finalize: unique indexes built non-unique, TTL expiry disabled
	// (expireAfterSeconds 2147483647), clustered-collection expiry absent.
	InProgress bool
	// Parallel is how many _id ranges are hashed at once (each reads both
	// sides at the same time). Default 4.
	Parallel int
	// PartitionBytes is the approximate size of one _id range, split from a
	// sample of the source (default 16 MB). A mismatching range is re-read
	// whole, so this bounds the drill-down's memory too.
	PartitionBytes int64
}

const (
	defaultMaxDiffs       = 20
	defaultParallel       = 4
	defaultPartitionBytes = 16 << 20
	// maxListedRanges caps the mismatching ranges detailed per namespace.
	maxListedRanges = 20
)

func (o Options) withDefaults() Options {
	switch {
	case o.MaxDiffs == 0:
		o.MaxDiffs = defaultMaxDiffs
	case o.MaxDiffs < 0:
		o.MaxDiffs = 0
	}
	if o.Parallel <= 0 {
		o.Parallel = defaultParallel
	}
	if o.PartitionBytes <= 0 {
		o.PartitionBytes = defaultPartitionBytes
	}
	return o
}
