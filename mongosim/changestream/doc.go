// Package changestream is mongosim's change-stream engine: an in-memory,
// append-only history of writes in commit order (the simulated oplog, with
// count and byte retention), MongoDB-compatible resume tokens, and streams
// that turn history entries into change events exactly as mongod 6.0–8.0
// shapes them (field names and order per event type), with resumeAfter /
// startAfter / startAtOperationTime, invalidation, pre- and post-images and
// the user's later pipeline stages.
//
// The server appends one Entry per write (several sharing a cluster time
// for a transaction) and serves the aggregate $changeStream and getMore
// commands from a Stream. The package knows nothing of the wire protocol,
// locks of the store or cursors.
package changestream
