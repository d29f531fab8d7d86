package mongosim

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// topoState is the node's replication state as hello reports it: primary,
// or (after StepDown) a secondary of a set with no primary. Every change
// bumps topologyVersion.counter and wakes streaming hellos, as mongod does.
type topoState struct {
	secondary atomic.Bool
	// stepDowns counts step-downs: a write that started before the latest
	// one was in flight when it happened and is interrupted.
	stepDowns atomic.Uint64

	mu      sync.Mutex
	counter int64
	changed chan struct{} // closed and replaced on every change
	timer   *time.Timer   // ends the current step-down
}

func (t *topoState) init() { t.changed = make(chan struct{}) }

// version returns the topologyVersion counter and a channel closed at the
// next change.
func (t *topoState) version() (int64, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counter, t.changed
}

// setLocked changes the state; t.mu is held.
func (t *topoState) setLocked(secondary bool) {
	if t.secondary.Load() == secondary {
		return
	}
	if secondary {
		t.stepDowns.Add(1)
	}
	t.secondary.Store(secondary)
	t.counter++
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *topoState) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}

// StepDown makes the primary step down for d, as replSetStepDown does on a
// single-node set that then re-elects itself: hello reports
// isWritablePrimary false and secondary true (the set has no primary),
// writes fail with NotWritablePrimary (10107), reads without secondaryOk with
// NotPrimaryNoSecondaryOk (13435), and writes in flight when it happens with
// InterruptedDueToReplStateChange (11602), each with the labels drivers
// retry on. After d the node is primary again. Streaming hellos see both
// changes at once. Connections stay open (as on mongod 4.2+). Stepping down
// while stepped down extends the step-down to d from now.
func (s *Server) StepDown(d time.Duration) error {
	if s.opts.Standalone {
		return errors.New("mongosim: a standalone server cannot step down")
	}
	if d <= 0 {
		return errors.New("mongosim: step-down duration must be positive")
	}
	t := &s.topo
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
	}
	t.setLocked(true)
	t.timer = time.AfterFunc(d, s.StepUp)
	s.log.Info("stepped down", "for", d)
	return nil
}

// StepUp ends a step-down at once: the node is primary again.
func (s *Server) StepUp() {
	t := &s.topo
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	if t.secondary.Load() {
		t.setLocked(false)
		s.log.Info("primary again")
	}
}

// IsWritablePrimary reports whether the node is primary (not stepped down).
func (s *Server) IsWritablePrimary() bool { return !s.topo.secondary.Load() }

// secondaryPolicy is mongod's AllowedOnSecondary for a command.
type secondaryPolicy int

const (
	secondaryAlways secondaryPolicy = iota // hello, ping, getMore, ...
	secondaryOptIn                         // reads: only with secondaryOk
	secondaryNever                         // writes and DDL
)

var secondaryPolicies = map[string]secondaryPolicy{
	"find": secondaryOptIn, "aggregate": secondaryOptIn, "count": secondaryOptIn, "distinct": secondaryOptIn,
	"listCollections": secondaryOptIn, "listIndexes": secondaryOptIn, "listDatabases": secondaryOptIn,
	"collStats": secondaryOptIn, "dbStats": secondaryOptIn, "dataSize": secondaryOptIn, "dbHash": secondaryOptIn,

	"insert": secondaryNever, "update": secondaryNever, "delete": secondaryNever,
	"findAndModify": secondaryNever, "findandmodify": secondaryNever,
	"create": secondaryNever, "drop": secondaryNever, "dropDatabase": secondaryNever,
	"createIndexes": secondaryNever, "dropIndexes": secondaryNever, "deleteIndexes": secondaryNever,
	"collMod": secondaryNever, "renameCollection": secondaryNever, "appendOplogNote": secondaryNever,
	"commitTransaction": secondaryNever, "abortTransaction": secondaryNever, "applyOps": secondaryNever,
	"convertToCapped": secondaryNever, "cloneCollectionAsCapped": secondaryNever,
}

// policyOf returns the command's policy; an aggregate ending in $out or
// $merge writes.
func policyOf(req *request) secondaryPolicy {
	p := secondaryPolicies[req.name]
	if req.name == "aggregate" && p == secondaryOptIn && pipelineWrites(req.arg("pipeline")) {
		return secondaryNever
	}
	return p
}

func pipelineWrites(v bsoncore.Value) bool {
	if v.Type != bsoncore.TypeArray {
		return false
	}
	vals, err := v.Array().Values()
	if err != nil || len(vals) == 0 {
		return false
	}
	last := vals[len(vals)-1]
	if last.Type != bsoncore.TypeEmbeddedDocument {
		return false
	}
	k := firstKey(last.Document())
	return k == "$out" || k == "$merge"
}

// secondaryOk: the command's read preference lets it run on a secondary.
func secondaryOk(req *request) bool {
	rp := req.arg("$readPreference")
	if rp.Type != bsoncore.TypeEmbeddedDocument {
		return false
	}
	mode, err := rp.Document().LookupErr("mode")
	return err == nil && mode.Type == bsoncore.TypeString && mode.StringValue() != "primary"
}

// checkReplState refuses what a secondary refuses.
func (s *Server) checkReplState(req *request) error {
	if !s.topo.secondary.Load() {
		return nil
	}
	switch policyOf(req) {
	case secondaryNever:
		return mongoerr.New(mongoerr.NotWritablePrimary, "not primary")
	case secondaryOptIn:
		if !secondaryOk(req) {
			return mongoerr.New(mongoerr.NotPrimaryNoSecondaryOk, "not primary and secondaryOk=false")
		}
	}
	return nil
}

// checkInterrupted fails a write that was in flight (started before the
// latest step-down), as mongod kills writes when it steps down.
func (s *Server) checkInterrupted(req *request) error {
	if s.topo.stepDowns.Load() == req.stepDowns || policyOf(req) != secondaryNever {
		return nil
	}
	return mongoerr.New(mongoerr.InterruptedDueToReplStateChange, "operation was interrupted")
}

// topologyState returns, consistently, whether the node is primary and its
// topologyVersion: a hello must never pair the new counter with the old
// state, or a streaming client would wait out a change it never saw.
func (s *Server) topologyState() (primary bool, tv bsoncore.Document) {
	t := &s.topo
	t.mu.Lock()
	primary, counter, pid := !t.secondary.Load(), t.counter, s.processID
	t.mu.Unlock()
	return primary, bsonkit.D("processId", bsonkit.ObjectID(pid), "counter", bsonkit.Int64(counter))
}

// topologyVersionDoc is hello's topologyVersion.
func (s *Server) topologyVersionDoc() bsoncore.Document {
	_, tv := s.topologyState()
	return tv
}
