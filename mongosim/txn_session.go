package mongosim

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/changestream"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/store"
)

// Logical sessions as mongod's TransactionParticipant keeps them: a
// session's txnNumber either names a retryable write (no autocommit field)
// or a multi-document transaction (autocommit: false). Retryable writes
// remember their reply so a retry is answered without running twice;
// transactions work on a private snapshot of the store (store.Clone) and
// are replayed onto the real store at commit (txn_commit.go).

// Limits as mongod's defaults.
const (
	transactionLifetime = 60 * time.Second // transactionLifetimeLimitSeconds
	sessionIdleTimeout  = 30 * time.Minute // logicalSessionTimeoutMinutes
)

// reqSession is the session part of a request (embedded in request).
type reqSession struct {
	sessionRead  bool
	lsid         bsoncore.Document // the client's lsid: {id: UUID}
	txnNumber    int64
	hasTxnNumber bool
	// txn is set while the command runs inside a multi-document transaction.
	txn *txnState

	// batchWrites: the command holds the write lock and its oplog entries
	// wait in pending until flushWrites appends them in one go.
	batchWrites bool
	wrote       bool
	pending     []*changestream.Entry
	opTimeBuf   [8]byte // backs opTime once the command wrote
}

// readSession reads lsid and txnNumber once per request.
func (r *request) readSession() {
	if r.sessionRead {
		return
	}
	r.sessionRead = true
	if v := r.arg("lsid"); v.Type == bsoncore.TypeEmbeddedDocument {
		// As mongod records it: {id, uid}, uid naming the authenticated
		// user. Built anew, so oplog entries keeping it do not pin the
		// request message.
		user, db := "", ""
		if r.conn != nil && r.conn.auth != nil {
			if name, udb, ok := r.conn.auth.User(); ok {
				user, db = name, udb
			}
		}
		r.lsid = changestream.SessionLSID(v.Document().Lookup("id"), user, db)
	}
	if v := r.arg("txnNumber"); v.Type == bsoncore.TypeInt64 {
		r.txnNumber, r.hasTxnNumber = v.Int64(), true
	}
}

// st is the store the command reads and writes: its transaction's snapshot
// inside a transaction, else the server's.
func (r *request) st() *store.Store {
	if r.txn != nil {
		return r.txn.store
	}
	return r.srv.store
}

type txnPhase int

const (
	txnInProgress txnPhase = iota
	txnCommitted
	txnAborted
)

// txnState is one multi-document transaction.
type txnState struct {
	number  int64
	phase   txnPhase
	started time.Time
	store   *store.Store // private snapshot; nil once the transaction ended
	ops     []oplogEntry // writes in execution order, replayed at commit
	// commitTime is the cluster time of the commit (zero for read-only).
	commitTime bsoncore.Value
}

// record buffers one write of the transaction.
func (t *txnState) record(e oplogEntry) { t.ops = append(t.ops, e) }

// session is one logical session that used a txnNumber.
type session struct {
	// mu serialises the session's commands, as mongod checks a session out
	// for the duration of a command.
	mu sync.Mutex

	active  int64 // highest txnNumber seen (-1: none)
	txn     *txnState
	retry   *retryReply // reply of retryable write number active
	lastUse time.Time
}

// retryReply is a retryable write's remembered reply.
type retryReply struct {
	command string
	body    bsoncore.Document
	opTime  bsoncore.Value
}

// sessionTable holds the sessions that used txnNumbers, by lsid.id.
type sessionTable struct {
	mu   sync.Mutex
	byID map[string]*session
}

func (t *sessionTable) init() { t.byID = map[string]*session{} }

// get returns the session with the given id, creating it.
func (t *sessionTable) get(id []byte) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.byID[string(id)]
	if s == nil {
		s = &session{active: -1}
		t.byID[string(id)] = s
	}
	return s
}

// all returns every session (for aborts at restart).
func (t *sessionTable) all() []*session {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*session, 0, len(t.byID))
	for _, s := range t.byID {
		out = append(out, s)
	}
	return out
}

// reap aborts transactions past their lifetime and forgets idle sessions.
func (t *sessionTable) reap(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, s := range t.byID {
		if !s.mu.TryLock() {
			continue // in use
		}
		if s.txn != nil && s.txn.phase == txnInProgress && now.Sub(s.txn.started) > transactionLifetime {
			s.txn.abort()
		}
		idle := now.Sub(s.lastUse) > sessionIdleTimeout
		s.mu.Unlock()
		if idle {
			delete(t.byID, id)
		}
	}
}

// abortAll aborts every transaction in progress (a restart loses them).
func (t *sessionTable) abortAll() {
	for _, s := range t.all() {
		s.mu.Lock()
		if s.txn != nil && s.txn.phase == txnInProgress {
			s.txn.abort()
		}
		s.mu.Unlock()
	}
}

func (t *txnState) abort() {
	t.phase = txnAborted
	t.store, t.ops = nil, nil
}

// Commands a transaction may run (mongod's allow-list).
var txnCommands = map[string]bool{
	"abortTransaction": true, "aggregate": true, "commitTransaction": true, "create": true,
	"createIndexes": true, "delete": true, "distinct": true, "find": true, "findAndModify": true,
	"findandmodify": true, "getMore": true, "insert": true, "killCursors": true, "update": true,
}

// Retryable write commands (txnNumber without autocommit).
var retryableCommands = map[string]bool{
	"insert": true, "update": true, "delete": true, "findAndModify": true, "findandmodify": true,
}

// withSession runs a command with its session semantics: plain commands
// run directly; retryable writes are deduplicated by (lsid, txnNumber);
// commands of a transaction run against its snapshot.
func (s *Server) withSession(ctx context.Context, req *request, cmd *command) (bsoncore.Document, error) {
	req.readSession()
	autocommit, startTxn := req.arg("autocommit"), req.arg("startTransaction")
	if !req.hasTxnNumber && bsonkit.IsMissing(autocommit) && bsonkit.IsMissing(startTxn) {
		return s.callHandler(ctx, req, cmd)
	}
	if err := s.checkSessionOptions(req, autocommit, startTxn); err != nil {
		return nil, err
	}
	if bsonkit.IsMissing(autocommit) {
		return s.runRetryable(ctx, req, cmd)
	}
	return s.runInTransaction(ctx, req, cmd, !bsonkit.IsMissing(startTxn))
}

// checkSessionOptions applies mongod's initializeOperationSessionInfo.
func (s *Server) checkSessionOptions(req *request, autocommit, startTxn bsoncore.Value) error {
	inv := func(msg string) error { return mongoerr.New(mongoerr.InvalidOptions, "%s", msg) }
	if v := req.arg("txnNumber"); !bsonkit.IsMissing(v) && v.Type != bsoncore.TypeInt64 {
		return mongoerr.WrongType("OperationSessionInfo.txnNumber", typeName(v.Type), "long")
	}
	for _, f := range []struct {
		name string
		v    bsoncore.Value
	}{{"autocommit", autocommit}, {"startTransaction", startTxn}} {
		if !bsonkit.IsMissing(f.v) && f.v.Type != bsoncore.TypeBoolean {
			return mongoerr.WrongType("OperationSessionInfo."+f.name, typeName(f.v.Type), "bool")
		}
	}
	if req.hasTxnNumber {
		if req.lsid == nil {
			return inv("Transaction number requires a session ID to also be specified")
		}
		if s.opts.Standalone {
			return mongoerr.New(mongoerr.IllegalOperation, "Transaction numbers are only allowed on a replica set member or mongos")
		}
		if req.txnNumber < 0 {
			return inv("Transaction number cannot be negative")
		}
	} else if !bsonkit.IsMissing(autocommit) {
		return inv("'autocommit' field requires a transaction number to also be specified")
	}
	if !bsonkit.IsMissing(autocommit) {
		if autocommit.Boolean() {
			return inv("Specifying autocommit=true is not allowed.")
		}
	} else if !bsonkit.IsMissing(startTxn) {
		return inv("'startTransaction' field requires 'autocommit' field to also be specified")
	}
	if !bsonkit.IsMissing(startTxn) && !startTxn.Boolean() {
		return inv("Specifying startTransaction=false is not allowed.")
	}
	return nil
}

// sessionOf returns the request's session, locked.
func (s *Server) sessionOf(req *request) *session {
	// Sessions of different users are different sessions: key by id and uid.
	key := append(append([]byte(nil), req.lsid.Lookup("id").Data...), req.lsid.Lookup("uid").Data...)
	sess := s.repl.sessions.get(key)
	sess.mu.Lock()
	sess.lastUse = time.Now()
	return sess
}

// runRetryable runs a retryable write: a retry of the session's current
// txnNumber gets the first attempt's reply without running again.
func (s *Server) runRetryable(ctx context.Context, req *request, cmd *command) (bsoncore.Document, error) {
	if !retryableCommands[req.name] {
		return nil, mongoerr.New(50768, "txnNumber may only be provided for multi-document transactions and retryable write "+
			"commands. autocommit:false was not provided, and %s is not a retryable write command.", req.name)
	}
	sess := s.sessionOf(req)
	defer sess.mu.Unlock()
	switch {
	case req.txnNumber < sess.active:
		current := "retryable write"
		if sess.txn != nil && sess.txn.number == sess.active {
			current = "transaction"
		}
		return nil, mongoerr.New(mongoerr.TransactionTooOld,
			"Retryable write with txnNumber %d is prohibited on session %s because a newer %s with txnNumber %d has already started on this session.",
			req.txnNumber, sessionIDString(req.lsid), current, sess.active)
	case req.txnNumber == sess.active:
		if sess.txn != nil && sess.txn.number == req.txnNumber {
			return nil, mongoerr.New(mongoerr.IncompleteTransactionHistory,
				"Cannot retry a retryable write that has been converted into a transaction")
		}
		if r := sess.retry; r != nil && r.command == cmd.name {
			req.opTime = r.opTime
			return append(bsoncore.Document(nil), r.body...), nil
		}
	default:
		sess.active, sess.retry = req.txnNumber, nil
		if sess.txn != nil && sess.txn.phase == txnInProgress {
			sess.txn.abort() // a newer txnNumber aborts the open transaction
		}
		sess.txn = nil
	}
	body, err := s.callHandler(ctx, req, cmd)
	if err == nil {
		sess.retry = &retryReply{command: cmd.name, body: append(bsoncore.Document(nil), body...), opTime: req.opTime}
	}
	return body, err
}

// runInTransaction starts or continues the session's transaction and runs
// the command inside it.
func (s *Server) runInTransaction(ctx context.Context, req *request, cmd *command, start bool) (bsoncore.Document, error) {
	if !txnCommands[req.name] {
		return nil, mongoerr.New(mongoerr.OperationNotSupportedInTransaction,
			"Cannot run '%s' in a multi-document transaction.", req.name)
	}
	sess := s.sessionOf(req)
	defer sess.mu.Unlock()
	n := req.txnNumber
	if n < sess.active {
		current := "transaction"
		if sess.txn == nil || sess.txn.number != sess.active {
			current = "retryable write"
		}
		return nil, mongoerr.New(mongoerr.TransactionTooOld,
			"Cannot start transaction with { txnNumber: %d, txnRetryCounter: 0 } on session %s because a newer %s with "+
				"txnNumberAndRetryCounter { txnNumber: %d, txnRetryCounter: 0 } has already started on this session.",
			n, sessionIDString(req.lsid), current, sess.active)
	}
	if start {
		if n == sess.active {
			return nil, mongoerr.New(mongoerr.ConflictingOperationInProgress,
				"Only servers in a sharded cluster can start a new transaction at the active transaction number")
		}
		if sess.txn != nil && sess.txn.phase == txnInProgress {
			sess.txn.abort()
		}
		sess.active, sess.retry = n, nil
		s.mu.Lock()
		snapshot := s.store.Clone()
		s.mu.Unlock()
		sess.txn = &txnState{number: n, started: time.Now(), store: snapshot}
	} else {
		if err := s.checkContinue(req, sess); err != nil {
			return nil, err
		}
		if v := req.arg("readConcern"); !bsonkit.IsMissing(v) {
			return nil, sess.txn.failWith(mongoerr.New(mongoerr.InvalidOptions,
				"Only the first command in a transaction may specify a readConcern"))
		}
	}
	t := sess.txn
	if v := req.arg("writeConcern"); !bsonkit.IsMissing(v) && req.name != "commitTransaction" && req.name != "abortTransaction" {
		return nil, t.failWith(mongoerr.New(mongoerr.InvalidOptions, "Cannot set write concern after starting a transaction."))
	}
	req.txn = t
	body, err := s.callHandler(ctx, req, cmd)
	if err != nil {
		if t.phase == txnInProgress {
			t.abort() // a failed command aborts the transaction, as on mongod
		}
		return nil, transientTxnError(err)
	}
	if t.phase == txnInProgress && hasWriteErrors(body) {
		t.abort()
	}
	return body, nil
}

// checkContinue checks that a command may continue transaction n.
func (s *Server) checkContinue(req *request, sess *session) error {
	n := req.txnNumber
	t := sess.txn
	if n != sess.active || t == nil || t.number != n {
		return transientTxnError(mongoerr.New(mongoerr.NoSuchTransaction,
			"Given transaction number %d does not match any in-progress transactions. The active transaction number is %d", n, sess.active))
	}
	if t.phase == txnInProgress && time.Since(t.started) > transactionLifetime {
		t.abort()
	}
	switch t.phase {
	case txnAborted:
		return transientTxnError(mongoerr.New(mongoerr.NoSuchTransaction,
			"Transaction with { txnNumber: %d, txnRetryCounter: 0 } has been aborted.", n))
	case txnCommitted:
		if req.name != "commitTransaction" {
			return mongoerr.New(mongoerr.TransactionCommitted,
				"Transaction with { txnNumber: %d, txnRetryCounter: 0 } has been committed.", n)
		}
	}
	return nil
}

// failWith aborts the transaction and returns err.
func (t *txnState) failWith(err error) error {
	if t.phase == txnInProgress {
		t.abort()
	}
	return err
}

// transientTxnError labels err TransientTransactionError where mongod does
// for commands in a transaction: the driver then retries the whole
// transaction.
func transientTxnError(err error) error {
	me := asMongoErr(err)
	switch me.Code {
	case mongoerr.NoSuchTransaction, mongoerr.WriteConflict, mongoerr.LockTimeout,
		mongoerr.NotWritablePrimary, mongoerr.InterruptedDueToReplStateChange, mongoerr.PrimarySteppedDown,
		mongoerr.ShutdownInProgress, mongoerr.InterruptedAtShutdown:
		for _, l := range me.Labels {
			if l == labelTransientTxn {
				return me
			}
		}
		cp := *me
		cp.Labels = append(append([]string(nil), me.Labels...), labelTransientTxn)
		return &cp
	}
	return me
}

const labelTransientTxn = "TransientTransactionError"

// hasWriteErrors reports a write reply carrying writeErrors.
func hasWriteErrors(body bsoncore.Document) bool {
	_, err := body.LookupErr("writeErrors")
	return err == nil
}

// sessionIDString renders an lsid as mongod's messages do: "<uuid> - <uid>".
func sessionIDString(lsid bsoncore.Document) string {
	st, id, ok := lsid.Lookup("id").BinaryOK()
	if !ok || st != 4 || len(id) != 16 {
		return lsid.String()
	}
	_, uid, _ := lsid.Lookup("uid").BinaryOK()
	return fmt.Sprintf("%x-%x-%x-%x-%x - %s", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16], strings.ToUpper(hex.EncodeToString(uid)))
}

// handleEndSessions ends (or kills) the listed sessions: {endSessions:
// [{id: UUID}, …]}. Their transactions in progress are aborted and their
// state forgotten, as mongod's session cache does.
func handleEndSessions(_ context.Context, req *request) (bsoncore.Document, error) {
	v := req.arg(req.name)
	if v.Type != bsoncore.TypeArray {
		return nil, mongoerr.WrongType(req.name+"."+req.name, typeName(v.Type), "array")
	}
	user, db := "", ""
	if req.conn != nil && req.conn.auth != nil {
		if name, udb, ok := req.conn.auth.User(); ok {
			user, db = name, udb
		}
	}
	for _, e := range bsonkit.Values(v) {
		if e.Type != bsoncore.TypeEmbeddedDocument {
			continue
		}
		lsid := changestream.SessionLSID(e.Document().Lookup("id"), user, db)
		key := append(append([]byte(nil), lsid.Lookup("id").Data...), lsid.Lookup("uid").Data...)
		req.srv.repl.sessions.end(key)
	}
	return nil, nil
}

// handleKillAllSessions aborts every transaction in progress.
func handleKillAllSessions(_ context.Context, req *request) (bsoncore.Document, error) {
	req.srv.repl.sessions.abortAll()
	return nil, nil
}

// end aborts the session's transaction in progress and forgets it.
func (t *sessionTable) end(key []byte) {
	t.mu.Lock()
	s := t.byID[string(key)]
	delete(t.byID, string(key))
	t.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.txn != nil && s.txn.phase == txnInProgress {
		s.txn.abort()
	}
}
