package mongosim

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/changestream"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/store"
)

// Change streams: every recorded write becomes a changestream history
// entry (the simulated oplog); aggregate with $changeStream opens a
// changestream.Stream behind an ordinary cursor, and getMore reads it.

// OplogRetention bounds the simulated oplog as an oplog's size does: the
// oldest entries go first. A zero field means no bound on that dimension;
// a zero Options.OplogRetention means defaultOplogRetention.
type OplogRetention = changestream.Retention

// OplogWindow describes the retained history: entry count, bytes, the
// oldest and newest cluster times, and how many entries retention dropped.
type OplogWindow = changestream.Stats

// defaultOplogRetention keeps 256 MiB of entries (document bytes counted,
// though most are shared with the store).
var defaultOplogRetention = OplogRetention{MaxBytes: 256 << 20}

// replState is the server's oplog-side state.
type replState struct {
	history  *changestream.History
	sessions sessionTable
}

var initiatingMsg = bsonkit.D("msg", bsonkit.String("initiating set"))

// initRepl creates the history, starting at the current cluster time, and
// writes the "initiating set" no-op a new replica set begins its oplog
// with, so every stream has a floor to start from.
func (s *Server) initRepl() {
	ret := s.opts.OplogRetention
	if ret == (OplogRetention{}) {
		ret = defaultOplogRetention
	}
	secs, inc, _ := s.clock.lastWriteTime()
	s.repl.history = changestream.NewHistory(changestream.Timestamp{T: secs, I: inc}, ret)
	s.repl.sessions.init()
	if !s.opts.Standalone {
		s.mu.Lock()
		s.recordWrite(nil, oplogEntry{Op: "n", O: initiatingMsg})
		s.mu.Unlock()
	}
}

// closeRepl wakes every stream waiting for history.
func (s *Server) closeRepl() { s.repl.history.Close() }

// appendHistory turns a recorded write into a history entry. A standalone
// server keeps no oplog.
func (s *Server) appendHistory(e *oplogEntry) {
	if s.opts.Standalone {
		return
	}
	ce, err := fromOplog(e)
	if err == nil {
		err = s.repl.history.Append(ce)
	}
	if err != nil {
		s.log.Error("oplog entry not recorded", "op", e.Op, "ns", e.NS, "err", err)
	}
}

func fromOplog(e *oplogEntry) (*changestream.Entry, error) {
	return changestream.FromOplog(oplogWrite(e))
}

// oplogWrite converts the server's record to the changestream form. Images
// are kept only where a stream can show them: the pre-image with
// changeStreamPreAndPostImages, the post-image of an update then too (a
// replacement always keeps its new document).
func oplogWrite(e *oplogEntry) changestream.OplogWrite {
	pre, post := e.Pre, e.Post
	if !e.PrePostImages {
		pre = nil
		if e.Op == "u" && e.Desc != nil {
			post = nil
		}
	}
	return changestream.OplogWrite{
		Op: e.Op, NS: e.NS, UI: e.UI, O: e.O, O2: e.O2, Pre: pre, Post: post,
		TS: e.TS, Wall: e.Wall, LSID: e.LSID, TxnNumber: e.TxnNumber,
		Update: e.Desc, PrePostImages: e.PrePostImages, InTxn: e.InTxn, TxnOpIndex: e.TxnOpIndex, View: e.View,
	}
}

// SetOplogRetention changes the history bounds and applies them at once:
// shrinking them simulates an oplog rolling over.
func (s *Server) SetOplogRetention(r OplogRetention) { s.repl.history.SetRetention(r) }

// ShrinkHistory drops every history entry older than the newest cluster
// time at once, as a rolled-over oplog: starting or resuming a change
// stream before that point then fails with ChangeStreamHistoryLost (286).
func (s *Server) ShrinkHistory() {
	h := s.repl.history
	h.TruncateBefore(h.LastTime())
}

// OplogWindow returns the retained history window.
func (s *Server) OplogWindow() OplogWindow { return s.repl.history.Stats() }

// openChangeStream answers an aggregate whose first stage is $changeStream:
// coll is "" for database and cluster streams (aggregate: 1).
func (s *Server) openChangeStream(ctx context.Context, req *request, coll string, stages []bsoncore.Document, batchSize int) (bsoncore.Document, error) {
	if req.txn != nil {
		return nil, mongoerr.New(mongoerr.OperationNotSupportedInTransaction,
			"Operation not permitted in transaction :: caused by :: $changeStream")
	}
	spec, err := changestream.ParsePipeline(req.db, coll, stages)
	if err != nil {
		return nil, err
	}
	ns := req.ns(coll)
	if coll == "" {
		ns = req.db + ".$cmd.aggregate"
	} else {
		s.mu.RLock()
		c := s.store.Collection(req.db, coll)
		s.mu.RUnlock()
		if c != nil && c.Kind == store.KindView {
			return nil, mongoerr.New(mongoerr.CommandNotSupportedOnView, "Namespace %s is a view, not a collection", ns)
		}
	}
	st, err := changestream.Open(s.repl.history, spec, changestream.Env{
		Lookup:     s.lookupForStream,
		Compile:    changestream.AggStages(aggEnv{s}),
		NsType:     s.version.atLeast(8, 0, 5),
		Standalone: s.opts.Standalone,
	})
	if err != nil {
		return nil, err
	}
	max := batchSize
	if batchSize < 0 {
		max = defaultFirstBatch
	}
	b := newBatch("firstBatch", max)
	var res changestream.Result
	if batchSize != 0 {
		if res, err = st.NextInto(ctx, batchSink{&b}, 0); err != nil {
			return nil, err
		}
	} else {
		res.PostBatchResumeToken = st.ResumeToken()
	}
	id := int64(0)
	if !res.Invalidated {
		id = s.cursors.open(&cursor{ns: ns, remaining: -1, stream: st})
	}
	req.ownsBody = true
	return b.finishStream(res.PostBatchResumeToken, id, ns), nil
}

// changeStreamGetMore answers a getMore on a change-stream cursor: the
// events available now, or, when there are none, those that arrive within
// wait (maxTimeMS acts as maxAwaitTimeMS). The cursor closes after an
// invalidate and is killed by an error.
func (s *Server) changeStreamGetMore(ctx context.Context, req *request, c *cursor, batchSize int, wait time.Duration) (bsoncore.Document, error) {
	b := newBatch("nextBatch", batchSize)
	res, err := c.stream.NextInto(ctx, batchSink{&b}, wait)
	if err != nil {
		s.cursors.release(c, true)
		return nil, err
	}
	s.cursors.release(c, res.Invalidated)
	id := c.id
	if res.Invalidated {
		id = 0
	}
	req.ownsBody = true
	return b.finishStream(res.PostBatchResumeToken, id, c.ns), nil
}

// lookupForStream is fullDocument: "updateLookup": the document's current
// version, if its collection is still the one the event was for.
func (s *Server) lookupForStream(db, coll string, uuid *changestream.UUID, key bsoncore.Document) (bsoncore.Document, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.store.Collection(db, coll)
	if c == nil || c.Kind == store.KindView || (uuid != nil && c.UUID != [16]byte(*uuid)) {
		return nil, false
	}
	_, doc, ok := c.FindByID(key.Lookup("_id"))
	return doc, ok
}

// batchSink lets a stream write events straight into a reply batch.
type batchSink struct{ b *batch }

func (k batchSink) Room(size int) bool          { return k.b.room(size) }
func (k batchSink) Add(event bsoncore.Document) { k.b.add(event) }

// atLeast reports whether the server's version is major.minor.patch or later.
func (v versionInfo) atLeast(major, minor, patch int32) bool {
	for i, want := range [3]int32{major, minor, patch} {
		if v.parts[i] != want {
			return v.parts[i] > want
		}
	}
	return true
}
