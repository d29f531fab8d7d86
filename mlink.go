// Package mlink holds mlink's domain: namespaces and the filter that selects
// them, the state machine, checkpoints and the status the control plane
// reports. It does no I/O; engines and adapters depend on it, never the
// other way round.
package mlink

// MetaDB is the target database where mlink keeps its checkpoint and lease.
// It is never replicated.
const MetaDB = "mlink"

// Version is the mlink release, set at build time with -ldflags.
var Version = "dev"
