package repl

import (
	"context"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
)

// An update event replayed over a later state of its document (catch-up
// after the clone, a restart's replay, a collection copied afresh) keeps
// the values right but not the field order: $unset then $set of a field
// moves it to the end. So a replayed update is not applied as a diff: the
// document is read from the source instead, written whole, and every event
// of that document up to the stream's read position is skipped — the read
// includes them. Writes after that apply normally.

// docRef names one document: namespace and documentKey identity.
type docRef struct {
	ns  mlink.Namespace
	key string
}

// refetched remembers, per document, the source time its target copy was
// read at. DDL barriers clear it: a drop or rename makes the reads of the
// old collection meaningless for whatever comes next under the name.
type refetched struct {
	mu sync.Mutex
	at map[docRef]bson.Timestamp
}

func (f *refetched) get(ref docRef) (bson.Timestamp, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.at[ref]
	return t, ok
}

func (f *refetched) put(ref docRef, t bson.Timestamp) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.at == nil {
		f.at = map[docRef]bson.Timestamp{}
	}
	f.at[ref] = t
}

// pruneUpTo forgets copies no later than t: every event up to t is
// applied, so no event they could supersede is still to come.
func (f *refetched) pruneUpTo(t bson.Timestamp) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ref, at := range f.at {
		if !at.After(t) {
			delete(f.at, ref)
		}
	}
}

func (f *refetched) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.at = nil
}

// superseded reports whether e is already in a copy of its document read
// from the source at or after e.
func (r *Replicator) superseded(e *mlink.Event) bool {
	t, ok := r.refetch.get(docRef{e.NS, docIdentity(e.DocKey)})
	return ok && !e.ClusterTime.After(t)
}

// resolveReplays rewrites a worker's items in place: events a refetched
// copy includes get no writes, and a replayed update becomes the whole
// document as the source holds it now. An update whose document the source
// no longer holds (deleted, renamed or dropped later: its later event
// follows) is applied as its diff.
func (r *Replicator) resolveReplays(ctx context.Context, items []item) error {
	for i := range items {
		it := &items[i]
		e := it.e
		if r.superseded(e) {
			it.ops = nil
			r.opts.Metrics.EventsSkipped.WithLabelValues("superseded-" + e.Op).Inc()
			continue
		}
		if e.Op != mlink.OpUpdate || !r.tolerant(e) {
			continue
		}
		// What the stream returned is majority-committed, so a majority read
		// started afterwards includes every write up to it: the copy is at
		// least that new. (Its operationTime is no bound: mongod may report
		// a commit point newer than the snapshot it read.)
		at := unpackTime(r.readTime.Load())
		var doc bson.Raw
		err := mongo.Retry(ctx, 10, func(ctx context.Context) error {
			var err error
			doc, err = r.src.FetchDoc(ctx, e.NS, e.DocKey)
			return err
		}, func(err error) {
			r.opts.Metrics.Retries.WithLabelValues("repl-refetch").Inc()
			r.opts.Logger.Warn("retrying document read", "ns", e.NS.String(), "error", err)
		})
		if err != nil {
			return err
		}
		if doc == nil || at.Before(e.ClusterTime) {
			continue
		}
		it.ops = []mongo.WriteOp{{Kind: mongo.OpUpsert, Filter: e.DocKey, Doc: doc}}
		it.refetched = true
		r.refetch.put(docRef{e.NS, docIdentity(e.DocKey)}, at)
	}
	return nil
}
