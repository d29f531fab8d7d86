package mongosim

import (
	"context"
	"slices"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/changestream"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// The oplog as tools see it: local.oplog.rs rendered from the change-stream
// history (find with filters, $natural order both ways, limit, tailable),
// the optimes of replSetGetStatus and serverStatus, and appendOplogNote.

func init() {
	register(command{name: "appendOplogNote", adminOnly: true, lock: lockWrite, handler: handleAppendOplogNote})
}

// replTerm is the replica set's term: a single node elected once.
const replTerm = 1

// findOplog answers a find on local.oplog.rs.
func (s *Server) findOplog(ctx context.Context, req *request, a *findArgs) (bsoncore.Document, error) {
	if s.opts.Standalone {
		cur := &cursor{ns: "local.oplog.rs", remaining: -1, src: &sliceSource{}}
		return s.firstBatchReq(ctx, req, cur, a.batchSize, a.singleBatch)
	}
	reverse := false
	switch {
	case a.sort != nil && a.sort.natural != 0:
		reverse = a.sort.natural < 0
	case a.sort != nil:
		// Any other sort: materialise and sort in memory.
		return s.findOplogSorted(ctx, req, a)
	case a.hint.Type == bsoncore.TypeEmbeddedDocument:
		if v := a.hint.Document().Lookup("$natural"); bsonkit.IsNumber(v.Type) {
			f, _ := bsonkit.ToFloat(v)
			reverse = f < 0
		}
	}
	if a.tailable && reverse {
		return nil, mongoerr.New(mongoerr.BadValue, "error processing query: ns=local.oplog.rs tailable cursor requested on a reverse $natural scan")
	}
	entries := s.repl.history.Entries(changestream.Timestamp{}, changestream.Timestamp{})
	if reverse {
		slices.Reverse(entries)
	}
	remaining := -1
	if a.limit > 0 {
		remaining = int(a.limit)
	}
	src := &oplogSource{h: s.repl.history, entries: entries, filter: a.filter, proj: a.proj, skip: int(a.skip), tailable: a.tailable}
	cur := &cursor{ns: "local.oplog.rs", remaining: remaining, tailable: a.tailable, awaitData: a.awaitData, noTimeout: a.noTimeout, src: src}
	return s.firstBatchReq(ctx, req, cur, a.batchSize, a.singleBatch)
}

// oplogDocuments renders the whole history as oplog documents, oldest first
// (aggregate and count read local.oplog.rs through it).
func (s *Server) oplogDocuments() []bsoncore.Document {
	entries := s.repl.history.Entries(changestream.Timestamp{}, changestream.Timestamp{})
	docs := make([]bsoncore.Document, len(entries))
	for i, e := range entries {
		docs[i] = e.OplogDocument(replTerm)
	}
	return docs
}

// findOplogSorted answers an oplog find with a non-$natural sort.
func (s *Server) findOplogSorted(ctx context.Context, req *request, a *findArgs) (bsoncore.Document, error) {
	var docs []bsoncore.Document
	for _, doc := range s.oplogDocuments() {
		if ok, _ := a.filter.match(doc); ok {
			docs = append(docs, doc)
		}
	}
	slices.SortStableFunc(docs, func(x, y bsoncore.Document) int { return a.sort.s.Compare(x, y) })
	if a.skip > 0 {
		docs = docs[min(int(a.skip), len(docs)):]
	}
	if a.limit > 0 && int(a.limit) < len(docs) {
		docs = docs[:a.limit]
	}
	if a.proj != nil {
		for i, d := range docs {
			out, err := a.proj.Apply(d, -1)
			if err != nil {
				return nil, err
			}
			docs[i] = out
		}
	}
	cur := &cursor{ns: "local.oplog.rs", remaining: -1, src: &sliceSource{docs: docs}}
	return s.firstBatchReq(ctx, req, cur, a.batchSize, a.singleBatch)
}

// oplogSource renders history entries as oplog documents batch by batch. A
// tailable source picks up entries appended after its last one.
type oplogSource struct {
	h        *changestream.History
	entries  []*changestream.Entry
	filter   *compiledFilter
	proj     docProjector
	skip     int
	tailable bool
	// last is the time of the last entry consumed and atLast how many
	// entries at that time were (a transaction's entries share one).
	last   changestream.Timestamp
	atLast int
}

func (o *oplogSource) fill(_ context.Context, b *batch) (bool, error) {
	for {
		for len(o.entries) > 0 {
			if b.full() {
				return false, nil
			}
			e := o.entries[0]
			doc := e.OplogDocument(replTerm)
			ok, pos := o.filter.match(doc)
			out := doc
			if ok && o.skip == 0 && o.proj != nil {
				var err error
				if out, err = o.proj.Apply(doc, pos); err != nil {
					return true, err
				}
			}
			if ok && o.skip == 0 && !b.room(len(out)) {
				return false, nil
			}
			o.consume(e)
			switch {
			case !ok:
			case o.skip > 0:
				o.skip--
			default:
				b.add(out)
			}
		}
		if !o.tailable {
			return true, nil
		}
		more := o.h.Entries(o.last, changestream.Timestamp{})
		if o.last.IsZero() {
			more = o.h.Entries(changestream.Timestamp{}, changestream.Timestamp{})
		} else {
			n := 0
			for n < len(more) && more[n].TS == o.last && n < o.atLast {
				n++
			}
			more = more[n:]
		}
		if len(more) == 0 {
			return true, nil
		}
		o.entries = more
	}
}

func (o *oplogSource) consume(e *changestream.Entry) {
	o.entries[0] = nil
	o.entries = o.entries[1:]
	if e.TS == o.last {
		o.atLast++
	} else {
		o.last, o.atLast = e.TS, 1
	}
}

// handleAppendOplogNote writes a no-op with the given data as its o field,
// which advances the cluster time: {appendOplogNote: 1, data: {...}}.
// With maxClusterTime, the no-op is written only if the newest oplog entry
// is older; otherwise the command fails with StaleClusterTime, as on mongod.
func handleAppendOplogNote(_ context.Context, req *request) (bsoncore.Document, error) {
	s := req.srv
	if s.opts.Standalone {
		return nil, mongoerr.New(mongoerr.NoReplicationEnabled, "Must have replication set up to run \"appendOplogNote\"")
	}
	v := req.arg("data")
	if v.Type != bsoncore.TypeEmbeddedDocument {
		if bsonkit.IsMissing(v) {
			return nil, mongoerr.New(mongoerr.NoSuchKey, "Missing expected field \"data\"")
		}
		return nil, mongoerr.New(mongoerr.TypeMismatch, "\"data\" had the wrong type. Expected object, found %s", typeName(v.Type))
	}
	data := append(bsoncore.Document(nil), v.Document()...)
	if mv := req.arg("maxClusterTime"); !bsonkit.IsMissing(mv) {
		if mv.Type != bsoncore.TypeTimestamp {
			return nil, mongoerr.New(mongoerr.TypeMismatch, "\"maxClusterTime\" had the wrong type. Expected timestamp, found %s", typeName(mv.Type))
		}
		t, i := mv.Timestamp()
		last, _ := s.lastApplied()
		if (changestream.Timestamp{T: t, I: i}).Compare(last) <= 0 {
			return nil, mongoerr.New(mongoerr.StaleClusterTime,
				"Requested maxClusterTime Timestamp(%d, %d) is less or equal to the last primary OpTime: Timestamp(%d, %d)", t, i, last.T, last.I)
		}
	}
	s.recordWrite(req, oplogEntry{Op: "n", O: data})
	return nil, nil
}

// replOpTimes is replSetGetStatus's optimes document: on a single node
// every optime is the last applied oplog entry.
func (s *Server) replOpTimes() bsoncore.Document {
	ts, wall := s.lastApplied()
	opTime := bsonkit.DocValue(bsonkit.D("ts", bsonkit.Timestamp(ts.T, ts.I), "t", bsonkit.Int64(replTerm)))
	w := bsonkit.DateTime(wall)
	return bsonkit.D(
		"lastCommittedOpTime", opTime,
		"lastCommittedWallTime", w,
		"readConcernMajorityOpTime", opTime,
		"appliedOpTime", opTime,
		"durableOpTime", opTime,
		"lastAppliedWallTime", w,
		"lastDurableWallTime", w,
	)
}

// lastApplied is the newest oplog entry's time and wall clock (ms).
func (s *Server) lastApplied() (changestream.Timestamp, int64) {
	h := s.repl.history
	last := h.LastTime()
	if es := h.Entries(last, last); len(es) > 0 {
		return last, es[len(es)-1].Wall.UnixMilli()
	}
	return last, s.started.UnixMilli()
}

// oplogTruncationStatus is serverStatus.oplogTruncation.
func (s *Server) oplogTruncationStatus() bsoncore.Document {
	st := s.repl.history.Stats()
	return bsonkit.D(
		"totalTimeProcessingMicros", bsonkit.Int64(0),
		"processingMethod", bsonkit.String("scanning"),
		"totalTimeTruncatingMicros", bsonkit.Int64(0),
		"truncateCount", bsonkit.Int64(int64(st.Truncations)),
	)
}
