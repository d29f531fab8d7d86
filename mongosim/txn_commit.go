package mongosim

import (
	"bytes"
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/changestream"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	register(command{name: "commitTransaction", adminOnly: true, handler: handleCommitTransaction})
	register(command{name: "abortTransaction", adminOnly: true, handler: handleAbortTransaction})
}

// handleCommitTransaction makes the transaction's writes visible at once:
// under the write lock they are replayed onto the real store and appended
// to the history with one shared cluster time. A retried commit of a
// committed transaction succeeds again.
func handleCommitTransaction(_ context.Context, req *request) (bsoncore.Document, error) {
	t := req.txn
	if t == nil {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "commitTransaction must be run within a transaction")
	}
	s := req.srv
	if t.phase == txnCommitted {
		req.opTime = t.commitTime
		return nil, nil
	}
	s.mu.Lock()
	err := s.commitTxn(req, t)
	s.mu.Unlock()
	if err != nil {
		t.abort()
		return nil, err
	}
	t.phase = txnCommitted
	t.store, t.ops = nil, nil
	return nil, nil
}

func handleAbortTransaction(_ context.Context, req *request) (bsoncore.Document, error) {
	t := req.txn
	if t == nil {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "abortTransaction must be run within a transaction")
	}
	t.abort()
	return nil, nil
}

// commitTxn applies the transaction's writes to the real store. Each write
// must find the document as the transaction's snapshot saw it; if another
// write changed it meanwhile the commit fails with WriteConflict (labelled
// TransientTransactionError, so the driver retries the transaction) and
// nothing is applied. The caller holds s.mu for writing.
func (s *Server) commitTxn(req *request, t *txnState) error {
	if len(t.ops) == 0 {
		req.opTime = s.clock.now()
		t.commitTime = req.opTime
		return nil
	}
	var undo []func()
	rollback := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	adopted := map[string]bool{}
	for i := range t.ops {
		e := &t.ops[i]
		u, err := s.replay(t, e, adopted)
		if err != nil {
			rollback()
			return transientTxnError(err)
		}
		if u != nil {
			undo = append(undo, u)
		}
	}
	// One cluster time for the whole transaction, as its applyOps entry has.
	now := time.Now()
	secs, inc := s.clock.tick(now)
	for i := range t.ops {
		e := &t.ops[i]
		e.TS, e.Wall = [2]uint32{secs, inc}, now
		e.LSID, e.TxnNumber = req.lsid, t.number
		e.InTxn, e.TxnOpIndex = true, uint32(i)
	}
	s.appendTxnHistory(t.ops)
	req.opTime = bsonkit.Timestamp(secs, inc)
	t.commitTime = req.opTime
	s.writes.broadcast()
	return nil
}

// replay applies one buffered write; it returns how to undo it.
func (s *Server) replay(t *txnState, e *oplogEntry, adopted map[string]bool) (func(), error) {
	conflict := func() error {
		return mongoerr.New(mongoerr.WriteConflict,
			"Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.")
	}
	db, coll, _ := splitNS(e.NS)
	if e.Op == "c" {
		name := firstKey(e.O)
		if name != "create" {
			// Only collection creation runs in transactions (createIndexes
			// only on collections the transaction created, which are
			// adopted whole).
			return nil, nil
		}
		coll = e.O.Lookup("create").StringValue()
		if adopted[db+"."+coll] {
			return nil, nil
		}
		c := t.store.Collection(db, coll)
		if c == nil {
			return nil, nil // created and dropped within the transaction
		}
		if !s.store.Adopt(c) {
			return nil, conflict()
		}
		adopted[db+"."+coll] = true
		return func() { _, _ = s.store.DropCollection(db, coll) }, nil
	}
	if adopted[e.NS] {
		return nil, nil // the adopted collection already holds the write
	}
	c := s.store.Collection(db, coll)
	if c == nil || e.UI == nil || c.UUID != *e.UI {
		return nil, conflict()
	}
	switch e.Op {
	case "i":
		rid, _, err := c.Insert(e.O)
		if err != nil {
			return nil, conflict()
		}
		return func() { c.Delete(rid) }, nil
	case "u", "d":
		id := e.O2.Lookup("_id")
		if e.Op == "d" {
			id = e.O.Lookup("_id")
		}
		rid, cur, ok := c.FindByID(id)
		if !ok || !bytes.Equal(cur, e.Pre) {
			return nil, conflict()
		}
		if e.Op == "d" {
			old := c.Delete(rid)
			return func() { _, _, _ = c.Insert(old) }, nil
		}
		old, err := c.Replace(rid, e.Post)
		if err != nil {
			return nil, conflict()
		}
		return func() { _, _ = c.Replace(rid, old) }, nil
	}
	return nil, nil
}

// appendTxnHistory appends a committed transaction's entries in one call,
// so readers see all of them or none.
func (s *Server) appendTxnHistory(ops []oplogEntry) {
	if s.opts.Standalone {
		return
	}
	entries := make([]*changestream.Entry, 0, len(ops))
	for i := range ops {
		ce, err := fromOplog(&ops[i])
		if err != nil {
			s.log.Error("transaction entry not recorded", "op", ops[i].Op, "ns", ops[i].NS, "err", err)
			continue
		}
		entries = append(entries, ce)
	}
	if err := s.repl.history.Append(entries...); err != nil {
		s.log.Error("transaction not recorded", "err", err)
	}
}

// createdHere reports whether the transaction created db.coll.
func (t *txnState) createdHere(db, coll string) bool {
	for i := range t.ops {
		e := &t.ops[i]
		if e.Op == "c" && e.NS == db+".$cmd" && firstKey(e.O) == "create" && e.O.Lookup("create").StringValue() == coll {
			return true
		}
	}
	return false
}
