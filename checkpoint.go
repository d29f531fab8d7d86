package mlink

import (
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Checkpoint collections in MetaDB on the target.
const (
	MetaSyncColl     = "sync"     // one document: the run (SyncCheckpoint)
	MetaCloneColl    = "clone"    // one document per cloned namespace (CollectionCheckpoint)
	MetaDeferredColl = "deferred" // index/collection properties restored at finalize
	MetaLeaseColl    = "lease"    // one document: which daemon owns this target
	SyncCheckpointID = "sync"
)

// SyncCheckpoint is the run's recovery point: enough to restart the daemon
// and continue exactly where it was, in clone or in replication.
type SyncCheckpoint struct {
	ID                 string         `bson:"_id"`
	RunID              string         `bson:"runId"`
	State              State          `bson:"state"`
	Error              string         `bson:"error,omitempty"`
	Include            []string       `bson:"include,omitempty"`
	Exclude            []string       `bson:"exclude,omitempty"`
	PauseOnInitialSync bool           `bson:"pauseOnInitialSync,omitempty"`
	OverwriteTarget    bool           `bson:"overwriteTarget,omitempty"`
	StartedAt          time.Time      `bson:"startedAt"`
	UpdatedAt          time.Time      `bson:"updatedAt"`
	T0                 bson.Timestamp `bson:"t0"` // source cluster time before the clone read anything
	CloneDone          bool           `bson:"cloneDone"`
	CloneFinish        bson.Timestamp `bson:"cloneFinish,omitempty"` // source time when the clone finished
	InitialSyncDone    bool           `bson:"initialSyncDone"`
	ResumeToken        bson.Raw       `bson:"resumeToken,omitempty"` // everything up to it is applied
	AppliedTime        bson.Timestamp `bson:"appliedTime,omitempty"`
	EventsApplied      int64          `bson:"eventsApplied"`
	// ApplyReserved bounds what replication may have applied: no event after
	// it was handed to a writer before a newer value was saved. A restart
	// treats events up to it as possibly applied already.
	ApplyReserved bson.Timestamp   `bson:"applyReserved,omitempty"`
	Finalized     bool             `bson:"finalized,omitempty"`
	Phases        map[string]Phase `bson:"phases,omitempty"`
}

// Filter rebuilds the run's namespace filter (validated when the run began).
func (c *SyncCheckpoint) Filter() (*Filter, error) { return NewFilter(c.Include, c.Exclude) }

// Collection clone status values.
const (
	CollPending  = "pending"
	CollCopying  = "copying"
	CollIndexing = "indexing"
	CollDone     = "done"
)

// CollectionCheckpoint records one namespace's clone: its partitions and,
// per partition, the highest _id below which every document is written.
type CollectionCheckpoint struct {
	ID             string                `bson:"_id"` // namespace string
	DB             string                `bson:"db"`
	Coll           string                `bson:"coll"`
	UUID           bson.Binary           `bson:"uuid,omitempty"` // source collection UUID
	Status         string                `bson:"status"`
	Capped         bool                  `bson:"capped,omitempty"`
	View           bool                  `bson:"view,omitempty"`
	Options        bson.Raw              `bson:"options,omitempty"` // as listCollections gave them
	EstimatedDocs  int64                 `bson:"estimatedDocs"`
	EstimatedBytes int64                 `bson:"estimatedBytes"`
	Partitions     []PartitionCheckpoint `bson:"partitions"`
	Seq            int                   `bson:"seq"` // clone order
}

// PartitionCheckpoint is one _id range [Min, Max) of a collection.
type PartitionCheckpoint struct {
	Min   bson.RawValue `bson:"min,omitempty"`
	Max   bson.RawValue `bson:"max,omitempty"`
	Last  bson.RawValue `bson:"last,omitempty"` // every document with _id ≤ Last in the range is written
	Done  bool          `bson:"done"`
	Docs  int64         `bson:"docs"`
	Bytes int64         `bson:"bytes"`
}

// Deferred is an index or collection property mlink relaxed on the target
// during the sync and restores at finalize: unique indexes are built
// non-unique (replayed events may pass through transient duplicates), TTL
// indexes and clustered-collection expiry are disabled (the target must not
// delete what the source still has).
type Deferred struct {
	ID                 string `bson:"_id"` // ns + "/" + index name ("" for the collection)
	NS                 string `bson:"ns"`
	Index              string `bson:"index,omitempty"`
	Unique             bool   `bson:"unique,omitempty"`
	ExpireAfterSeconds *int64 `bson:"expireAfterSeconds,omitempty"`
}
