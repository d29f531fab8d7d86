package mlink

import "time"

// StartRequest is the body of POST /start (PLM-compatible field names,
// plus overwriteTarget).
type StartRequest struct {
	IncludeNamespaces  []string `json:"includeNamespaces,omitempty"`
	ExcludeNamespaces  []string `json:"excludeNamespaces,omitempty"`
	PauseOnInitialSync bool     `json:"pauseOnInitialSync,omitempty"`
	// OverwriteTarget drops target collections that already hold data
	// before copying them; without it preflight refuses to start.
	OverwriteTarget bool `json:"overwriteTarget,omitempty"`
}

// FinalizeRequest is the body of POST /finalize.
type FinalizeRequest struct {
	IgnoreHistoryLost bool `json:"ignoreHistoryLost,omitempty"`
}

// ResumeRequest is the body of POST /resume.
type ResumeRequest struct {
	FromFailure bool `json:"fromFailure,omitempty"`
}

// Status is what GET /status returns. The first fields are PLM's contract;
// the rest is what PLM lacks.
type Status struct {
	OK                   bool              `json:"ok"`
	State                State             `json:"state"`
	Info                 string            `json:"info,omitempty"`
	Error                string            `json:"error,omitempty"`
	LagTime              *int64            `json:"lagTime,omitempty"` // seconds
	EventsProcessed      int64             `json:"eventsProcessed"`
	LastReplicatedOpTime string            `json:"lastReplicatedOpTime,omitempty"` // "<seconds>.<increment>"
	InitialSync          *InitialSync      `json:"initialSync,omitempty"`
	Clone                *CloneProgress    `json:"clone,omitempty"`
	Replication          *ReplProgress     `json:"replication,omitempty"`
	Warnings             []Warning         `json:"warnings,omitempty"`
	IndexFailures        []IndexFailure    `json:"indexFailures,omitempty"`
	Phases               map[string]Phase  `json:"phases,omitempty"`
	Filter               *FilterSpec       `json:"filter,omitempty"`
	Source               string            `json:"source,omitempty"` // redacted URI
	Target               string            `json:"target,omitempty"` // redacted URI
	Extra                map[string]string `json:"extra,omitempty"`
}

// InitialSync mirrors PLM's initialSync block.
type InitialSync struct {
	Completed          bool   `json:"completed"`
	LagTime            *int64 `json:"lagTime,omitempty"`
	CloneCompleted     bool   `json:"cloneCompleted"`
	EstimatedCloneSize int64  `json:"estimatedCloneSize"`
	ClonedSize         int64  `json:"clonedSize"`
}

// CloneProgress is the clone's progress, total and per collection.
type CloneProgress struct {
	EstimatedBytes  int64                `json:"estimatedBytes"`
	CopiedBytes     int64                `json:"copiedBytes"`
	EstimatedDocs   int64                `json:"estimatedDocs"`
	CopiedDocs      int64                `json:"copiedDocs"`
	BytesPerSec     float64              `json:"bytesPerSec"`
	DocsPerSec      float64              `json:"docsPerSec"`
	ETASeconds      *float64             `json:"etaSeconds,omitempty"`
	CollectionsAll  int                  `json:"collectionsTotal"`
	CollectionsDone int                  `json:"collectionsDone"`
	Collections     []CollectionProgress `json:"collections,omitempty"`
}

// CollectionProgress is one namespace's clone progress.
type CollectionProgress struct {
	Namespace      string   `json:"ns"`
	EstimatedBytes int64    `json:"estimatedBytes"`
	CopiedBytes    int64    `json:"copiedBytes"`
	EstimatedDocs  int64    `json:"estimatedDocs"`
	CopiedDocs     int64    `json:"copiedDocs"`
	Partitions     int      `json:"partitions"`
	Done           bool     `json:"done"`
	ETASeconds     *float64 `json:"etaSeconds,omitempty"`
}

// ReplProgress is the change replication's progress.
type ReplProgress struct {
	EventsRead     int64            `json:"eventsRead"`
	EventsApplied  int64            `json:"eventsApplied"`
	EventsSkipped  int64            `json:"eventsSkipped"`
	ByKind         map[string]int64 `json:"appliedByKind,omitempty"`
	ApplyRate      float64          `json:"applyRatePerSec"`
	LagSeconds     float64          `json:"lagSeconds"`
	SourceTime     string           `json:"sourceTime,omitempty"`     // latest known source cluster time
	AppliedTime    string           `json:"appliedTime,omitempty"`    // last applied event's cluster time
	CheckpointTime string           `json:"checkpointTime,omitempty"` // cluster time of the persisted checkpoint
	CheckpointAge  float64          `json:"checkpointAgeSeconds"`
	OplogWindow    float64          `json:"oplogWindowSeconds,omitempty"`
}

// Warning is something the DBA should look at; it does not stop the sync.
type Warning struct {
	Kind    string    `json:"kind"` // oplog-window, unsupported, …
	Message string    `json:"message"`
	Since   time.Time `json:"since"`
}

// IndexFailure is an index (or collection option) mlink could not create or
// restore on the target.
type IndexFailure struct {
	Namespace string `json:"ns"`
	Index     string `json:"index,omitempty"`
	Option    string `json:"option,omitempty"`
	Error     string `json:"error"`
}

// Phase records when a phase of the sync started and ended.
type Phase struct {
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished,omitempty"`
}

// FilterSpec echoes the namespace filter in effect.
type FilterSpec struct {
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
}
