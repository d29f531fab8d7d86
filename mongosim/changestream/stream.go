package changestream

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Stages applies the user's pipeline stages after $changeStream to one
// event; keep=false drops the event.
type Stages interface {
	Apply(ctx context.Context, event bsoncore.Document) (out bsoncore.Document, keep bool, err error)
}

// StageCompiler compiles the stages that follow $changeStream.
type StageCompiler func(stages []bsoncore.Document) (Stages, error)

// Env is what streams need from the server.
type Env struct {
	// Lookup returns the current version of a document for
	// fullDocument: "updateLookup" (false when it no longer exists or the
	// collection's UUID changed). It is called without any lock of the
	// history held; it takes the store's read lock itself.
	Lookup func(db, coll string, uuid *UUID, documentKey bsoncore.Document) (bsoncore.Document, bool)
	// Compile compiles the user's later stages (AggStages adapts package agg).
	Compile StageCompiler
	// NsType adds nsType to create events (MongoDB 8.0.5 and later).
	NsType bool
	// Standalone: the server is not a replica set; streams are refused.
	Standalone bool
}

// Sink receives a batch's events. Room reports whether an event of size
// bytes still fits (count and byte limits); Add takes it.
type Sink interface {
	Room(size int) bool
	Add(event bsoncore.Document)
}

// Result describes one batch.
type Result struct {
	Events               int
	PostBatchResumeToken bsoncore.Document
	// Invalidated: the batch ends with an invalidate event (or passed one
	// the user's stages dropped); the cursor must close.
	Invalidated bool
}

// Batch is a batch collected by Next.
type Batch struct {
	Events               []bsoncore.Document
	PostBatchResumeToken bsoncore.Document
	Invalidated          bool
}

// Limits bound one Next call.
type Limits struct {
	MaxEvents int           // 0: no count limit
	MaxBytes  int           // 0: 16 MiB
	Wait      time.Duration // how long to wait for a first event (awaitData / maxTimeMS)
}

// maxEventSize is mongod's BSONObjMaxInternalSize: the largest event a
// stream can return.
const maxEventSize = 16*1024*1024 + 16*1024

type pendingEvent struct {
	doc bsoncore.Document
	tok Token
}

// Stream is an open change stream: a position in the history plus the
// options that shape its events. A Stream is used by one getMore at a
// time (not safe for concurrent use).
type Stream struct {
	h       *History
	spec    *Spec
	env     Env
	stages  Stages
	builder eventBuilder

	pos     position
	resume  *Token // events at or before it are swallowed
	mustSee bool   // the resume token is an event: it must appear in the stream
	seen    bool   // the resume token's event was seen
	passed  bool   // an event after the resume token was reached
	pbrt    Token

	pending     []pendingEvent
	invalidated bool // an invalidate was produced: the stream ends after it
	buf         []*Entry
	// arena holds the pending events' bytes; it is reused once every
	// pending event has gone to a sink (sinks copy what they keep).
	arena []byte
}

// Open starts a stream on h. Starting or resuming before the retained
// history fails with ChangeStreamHistoryLost (286).
func Open(h *History, spec *Spec, env Env) (*Stream, error) {
	if env.Standalone {
		return nil, mongoerr.New(40573, "The $changeStream stage is only supported on replica sets")
	}
	s := &Stream{h: h, spec: spec, env: env, buf: make([]*Entry, 256)}
	s.builder = eventBuilder{spec: spec, env: &s.env, nsType: env.NsType}
	if len(spec.Stages) > 0 {
		if env.Compile == nil {
			return nil, mongoerr.New(mongoerr.NotImplemented, "stages after $changeStream need a stage compiler")
		}
		st, err := env.Compile(spec.Stages)
		if err != nil {
			return nil, err
		}
		s.stages = st
	}
	switch tok := spec.resumeToken(); {
	case tok != nil:
		pos, ok := h.seek(tok.TS)
		if !ok {
			return nil, historyLost()
		}
		s.pos, s.resume, s.pbrt = pos, tok, *tok
		s.mustSee = !tok.HighWaterMark
	case spec.StartAtOperationTime != nil:
		pos, ok := h.seek(*spec.StartAtOperationTime)
		if !ok {
			return nil, historyLost()
		}
		s.pos, s.pbrt = pos, hwmToken(*spec.StartAtOperationTime)
	default:
		// Start one tick after the newest write, as mongod does.
		h.mu.RLock()
		s.pos = h.base + uint64(len(h.entries))
		start := h.last.next()
		h.mu.RUnlock()
		s.pbrt = hwmToken(start)
	}
	return s, nil
}

func historyLost() error {
	e := mongoerr.New(mongoerr.ChangeStreamHistoryLost,
		"Resume of change stream was not possible, as the resume point may no longer be in the oplog.")
	return e.WithLabels("NonResumableChangeStreamError")
}

// ResumeToken is the current postBatchResumeToken.
func (s *Stream) ResumeToken() bsoncore.Document { return s.pbrt.Document() }

// Invalidated reports whether the stream has ended with an invalidate.
func (s *Stream) Invalidated() bool { return s.invalidated && len(s.pending) == 0 }

// Next collects one batch within lim.
func (s *Stream) Next(ctx context.Context, lim Limits) (Batch, error) {
	sink := &sliceSink{max: lim.MaxEvents, maxBytes: lim.MaxBytes}
	r, err := s.NextInto(ctx, sink, lim.Wait)
	if err != nil {
		return Batch{}, err
	}
	return Batch{Events: sink.events, PostBatchResumeToken: r.PostBatchResumeToken, Invalidated: r.Invalidated}, nil
}

type sliceSink struct {
	events        []bsoncore.Document
	max, maxBytes int
	bytes         int
}

func (k *sliceSink) Room(size int) bool {
	if k.max > 0 && len(k.events) >= k.max {
		return false
	}
	limit := k.maxBytes
	if limit <= 0 {
		limit = 16 * 1024 * 1024
	}
	return len(k.events) == 0 || k.bytes+size <= limit
}

func (k *sliceSink) Add(ev bsoncore.Document) {
	k.events = append(k.events, append(bsoncore.Document(nil), ev...))
	k.bytes += len(ev)
}

// NextInto adds the next events to sink: as many as fit, without waiting
// once there is one; with none available it waits up to wait for new
// history. The postBatchResumeToken is the last event's token, or a
// high-water mark when everything written so far has been scanned.
func (s *Stream) NextInto(ctx context.Context, sink Sink, wait time.Duration) (Result, error) {
	var r Result
	deadline := time.Now().Add(wait)
	for {
		full, err := s.drain(sink, &r)
		if err != nil || full {
			return s.finish(r), err
		}
		if s.invalidated {
			return s.finish(r), nil
		}
		n, lost, atEnd, last := s.h.read(s.pos, s.buf)
		if lost {
			return s.finish(r), historyLost()
		}
		for i := 0; i < n; i++ {
			e := s.buf[i]
			s.buf[i] = nil
			s.pos++
			if err := s.process(ctx, e); err != nil {
				return s.finish(r), err
			}
			full, err := s.drain(sink, &r)
			if err != nil || full || s.invalidated {
				return s.finish(r), err
			}
		}
		if !atEnd {
			continue
		}
		// Everything up to last is scanned and returned.
		if last.Compare(s.pbrt.TS) > 0 {
			s.pbrt = hwmToken(last)
		}
		remaining := time.Until(deadline)
		if r.Events > 0 || remaining <= 0 || ctx.Err() != nil {
			return s.finish(r), nil
		}
		s.h.wait(ctx, s.pos, remaining)
	}
}

func (s *Stream) finish(r Result) Result {
	r.PostBatchResumeToken = s.pbrt.Document()
	r.Invalidated = s.Invalidated()
	return r
}

// drain moves pending events into the sink; full reports that the sink
// took all it can.
func (s *Stream) drain(sink Sink, r *Result) (full bool, err error) {
	for len(s.pending) > 0 {
		p := s.pending[0]
		if p.doc != nil {
			if !sink.Room(len(p.doc)) {
				return true, nil
			}
			sink.Add(p.doc)
			r.Events++
		}
		s.pbrt = p.tok
		s.pending[0] = pendingEvent{}
		s.pending = s.pending[1:]
	}
	s.pending = s.pending[:0]
	s.arena = s.arena[:0]
	return false, nil
}

// process turns one history entry into this stream's events (none, the
// event, and/or an invalidate) and queues them.
func (s *Stream) process(ctx context.Context, e *Entry) error {
	if e.Op == OpNoop {
		return nil
	}
	if s.relevant(e) && (s.spec.ShowExpandedEvents || !e.Op.expanded()) {
		tok := eventToken(e)
		emit, err := s.pastResume(tok)
		if err != nil {
			return err
		}
		if emit {
			doc, err := s.builder.build(e, tok)
			if err != nil {
				return err
			}
			if _, err := s.emit(ctx, doc, tok); err != nil {
				return err
			}
		}
	}
	if s.invalidates(e) {
		tok := eventToken(e)
		tok.FromInvalidate = true
		emit, err := s.pastResume(tok)
		if err != nil {
			return err
		}
		if emit {
			s.invalidated = true
			queued, err := s.emit(ctx, s.builder.buildInvalidate(e, tok), tok)
			if err != nil {
				return err
			}
			if !queued {
				// The user's stages dropped it: its token is still where
				// the stream ends.
				s.pending = append(s.pending, pendingEvent{tok: tok})
			}
		}
	}
	return nil
}

// pastResume reports whether an event with token tok follows the resume
// point (and is to be returned). Resuming from an event token requires
// that event to be seen first: skipping past it is ChangeStreamFatalError.
func (s *Stream) pastResume(tok Token) (bool, error) {
	if s.resume == nil || s.passed {
		return true, nil
	}
	switch c := tok.Compare(*s.resume); {
	case c < 0:
		return false, nil
	case c == 0 && sameUUID(tok.UUID, s.resume.UUID):
		s.seen = true
		return false, nil
	}
	if s.mustSee && !s.seen {
		e := mongoerr.New(mongoerr.ChangeStreamFatalError,
			"cannot resume stream; the resume token was not found. {_data: \"%s\"}", tok.Hex())
		return false, e.WithLabels("NonResumableChangeStreamError")
	}
	s.passed = true
	return true, nil
}

func sameUUID(a, b *UUID) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// emit runs the user's stages and queues the result; queued is false when
// the stages dropped the event.
func (s *Stream) emit(ctx context.Context, doc bsoncore.Document, tok Token) (queued bool, err error) {
	if s.stages != nil {
		idBefore := doc.Lookup("_id")
		out, keep, err := s.stages.Apply(ctx, doc)
		if err != nil {
			return false, err
		}
		if !keep {
			return false, nil
		}
		idAfter, err := out.LookupErr("_id")
		if err != nil || idAfter.Type != idBefore.Type || !bytes.Equal(idAfter.Data, idBefore.Data) {
			found := "{}"
			if err == nil {
				found = fmt.Sprintf("{_id: %s}", idAfter.String())
			}
			e := mongoerr.New(mongoerr.ChangeStreamFatalError,
				"Encountered an event whose _id field, which contains the resume token, was modified by the pipeline. "+
					"Modifying the _id field of an event makes it impossible to resume the stream from that point. "+
					"Only transformations that retain the unmodified _id field are allowed. Expected: {_id: %s} but found: %s",
				idBefore.String(), found)
			return false, e.WithLabels("NonResumableChangeStreamError")
		}
		doc = out
	}
	if len(doc) > maxEventSize {
		return false, mongoerr.New(mongoerr.BSONObjectTooLarge,
			"BSONObj size: %d (0x%X) is invalid. Size must be between 0 and 16793600(16MB) First element: _id: {_data: \"%s\"}",
			len(doc), len(doc), tok.Hex())
	}
	// Keep the bytes in the arena: the builder reuses its buffer. Growing
	// the arena leaves earlier events in the old array, still valid.
	at := len(s.arena)
	s.arena = append(s.arena, doc...)
	s.pending = append(s.pending, pendingEvent{doc: s.arena[at:len(s.arena):len(s.arena)], tok: tok})
	return true, nil
}

// relevant applies the stream's namespace filter (before the user's
// stages), as mongod's oplog filter does.
func (s *Stream) relevant(e *Entry) bool {
	sc := s.spec.Scope
	switch {
	case sc.Coll != "":
		if e.View || e.Op == OpDropDatabase {
			return false
		}
		if e.DB == sc.DB && e.Coll == sc.Coll {
			return true
		}
		return e.Op == OpRename && e.ToDB == sc.DB && e.ToColl == sc.Coll
	case sc.Cluster:
		if isInternalDB(e.DB) {
			return false
		}
	default:
		if e.DB != sc.DB {
			return false
		}
	}
	if e.Op == OpDropDatabase {
		return true
	}
	if e.Op == OpRename {
		return !isSystemColl(e.Coll) || !isSystemColl(e.ToColl)
	}
	return !isSystemColl(e.Coll)
}

// invalidates reports whether e ends this stream: a collection stream
// ends when its collection is dropped or renamed (from or onto), a
// database stream when its database is dropped. Cluster streams never end.
func (s *Stream) invalidates(e *Entry) bool {
	sc := s.spec.Scope
	switch {
	case sc.Cluster:
		return false
	case sc.Coll != "":
		if e.View {
			return false
		}
		switch e.Op {
		case OpDrop:
			return e.DB == sc.DB && e.Coll == sc.Coll
		case OpRename:
			return (e.DB == sc.DB && e.Coll == sc.Coll) || (e.ToDB == sc.DB && e.ToColl == sc.Coll)
		}
		return false
	}
	return e.Op == OpDropDatabase && e.DB == sc.DB
}
