package mongosim

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Command framework. Every command is a `command` registered from an init()
// in the file that implements it:
//
//	func init() {
//		register(command{name: "ping", handler: handlePing})
//	}
//
// A handler returns the reply body WITHOUT ok/$clusterTime/operationTime;
// the dispatcher appends those. Errors a client should see are
// *mongoerr.Error; anything else becomes InternalError.
//
// Locking: the dispatcher holds Server.mu around the handler as the command's
// lock field says (lockWrite for writes and DDL, lockRead for one-shot
// reads). Cursor-producing reads use lockNone and take the read lock per
// batch themselves (see cursor.go) so no lock is held between batches.
// A write handler records every write through Server.recordWrite (clock.go),
// which ticks the cluster time and sets the reply's operationTime.

type lockMode int

const (
	lockNone lockMode = iota
	lockRead
	lockWrite
)

type handlerFunc func(ctx context.Context, req *request) (bsoncore.Document, error)

type command struct {
	name    string
	handler handlerFunc
	lock    lockMode
	// adminOnly commands must run against the admin database.
	adminOnly bool
	// counter selects the serverStatus opcounter bumped per call; nil means
	// opcounters.command. CRUD handlers bump insert/update/delete themselves.
	counter func(*serverStats)
	// aliases are other names for the same command (isMaster/ismaster).
	aliases []string
}

var commands = map[string]*command{}

// register adds a command; it panics on duplicates (a programming error).
func register(c command) {
	for _, n := range append([]string{c.name}, c.aliases...) {
		if _, dup := commands[n]; dup {
			panic("mongosim: command registered twice: " + n)
		}
		cc := c
		commands[n] = &cc
	}
}

// request is one command invocation.
type request struct {
	srv  *Server
	conn *conn // nil when run internally
	db   string
	name string
	body bsoncore.Document
	// seqs holds OP_MSG kind-1 document sequences by identifier
	// ("documents", "updates", "deletes").
	seqs map[string][]bsoncore.Document
	// moreToCome: the client wants no reply (unacknowledged write).
	moreToCome bool
	// exhaust: the client allows a streamed (moreToCome) reply.
	exhaust bool
	// legacyDB is the database of an OP_QUERY command (no $db there).
	legacyDB string

	// ownsBody: the handler's reply is a pooled buffer nobody else holds;
	// the dispatcher may extend it in place and the connection recycles it.
	ownsBody bool

	// reqSession: the command's lsid, txnNumber and transaction (txn_session.go).
	reqSession

	// opTime is set by recordWrite: the reply's operationTime.
	opTime bsoncore.Value

	// closeConn: end the connection without a reply (failCommand).
	closeConn bool
	// changeStream: a $changeStream aggregate or a getMore of its cursor;
	// its errors get the change-stream labels (errorlabels.go).
	changeStream bool
	// overrideLabels: failCommand set errorLabels; they replace the
	// computed labels of this command's error or writeConcernError.
	overrideLabels bool
	failLabels     []string
	// stepDowns: the server's step-down count when the command arrived.
	stepDowns uint64
	// wcCode: the code of a writeConcernError added to a failed command.
	wcCode int32
	// stream, when set by a handler, makes the connection keep sending
	// replies produced by it (exhaust hello); nil ends the stream.
	stream func() bsoncore.Document
}

// arg returns the value of a top-level command field, or Missing.
func (r *request) arg(name string) bsoncore.Value {
	v, err := r.body.LookupErr(name)
	if err != nil {
		return bsonkit.Missing
	}
	return v
}

// ns returns "db.coll".
func (r *request) ns(coll string) string { return r.db + "." + coll }

// docs returns the documents named field: an OP_MSG document sequence if
// present, else the array in the command body. Both at once is an error, as
// on mongod.
func (r *request) docs(field string) ([]bsoncore.Document, error) {
	seq, inSeq := r.seqs[field]
	v := r.arg(field)
	if inSeq {
		if !bsonkit.IsMissing(v) {
			return nil, mongoerr.New(mongoerr.Location40413,
				"Duplicate field '%s' in OP_MSG document sequence and body", field)
		}
		return seq, nil
	}
	if bsonkit.IsMissing(v) {
		return nil, mongoerr.MissingField(r.name + "." + field)
	}
	if v.Type != bsoncore.TypeArray {
		return nil, mongoerr.WrongType(r.name+"."+field, typeName(v.Type), "array")
	}
	vals, err := v.Array().Values()
	if err != nil {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "invalid array %s: %v", field, err)
	}
	out := make([]bsoncore.Document, len(vals))
	for i, e := range vals {
		if e.Type != bsoncore.TypeEmbeddedDocument {
			return nil, mongoerr.WrongType(fmt.Sprintf("%s.%s.%d", r.name, field, i), typeName(e.Type), "object")
		}
		out[i] = e.Document()
	}
	return out, nil
}

// dispatch runs one command and returns the complete reply document.
func (s *Server) dispatch(ctx context.Context, req *request) (reply bsoncore.Document) {
	req.name = firstKey(req.body)
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("command panicked", "cmd", req.name, "panic", p, "stack", string(debug.Stack()))
			reply = s.finishError(req, mongoerr.New(mongoerr.InternalError, "internal error in %s: %v", req.name, p))
		}
	}()
	if isHelloName(req.name) {
		if err := noteClientMetadata(req); err != nil {
			s.countCommand(req)
			return s.finishError(req, err)
		}
	}
	s.countCommand(req)
	s.noteStreamCommand(req)
	body, err := s.run(ctx, req)
	s.trackStreamCursor(req, body, err != nil)
	if err != nil {
		reply = s.finishError(req, s.labelError(req, err))
	} else {
		if req.name == "killCursors" {
			s.forgetKilledStreams(req)
		}
		reply = s.finishOK(req, body)
	}
	if req.conn != nil && !bsonkit.IsMissing(req.opTime) {
		req.conn.wrote = true // the connection's last optime is now known
	}
	return reply
}

func isHelloName(name string) bool {
	return name == "hello" || name == "isMaster" || name == "ismaster"
}

func (s *Server) run(ctx context.Context, req *request) (bsoncore.Document, error) {
	if req.name == "" {
		return nil, mongoerr.New(mongoerr.Location40415, "no command name in request")
	}
	if req.legacyDB != "" {
		req.db = req.legacyDB
	} else {
		dbv := req.arg("$db")
		if bsonkit.IsMissing(dbv) {
			return nil, mongoerr.New(mongoerr.Location40571, "OP_MSG requests require a $db argument")
		}
		if dbv.Type != bsoncore.TypeString {
			return nil, mongoerr.WrongType("$db", typeName(dbv.Type), "string")
		}
		req.db = dbv.StringValue()
	}
	if err := validateDBName(req.db); err != nil {
		return nil, err
	}
	cmd, ok := commands[req.name]
	if !ok {
		s.stats.command.Add(1)
		return nil, mongoerr.New(mongoerr.CommandNotFound, "no such command: '%s'", req.name)
	}
	if cmd.counter != nil {
		cmd.counter(&s.stats)
	} else {
		s.stats.command.Add(1)
	}
	if cmd.adminOnly && req.db != "admin" {
		return nil, mongoerr.New(mongoerr.Unauthorized, "%s may only be run against the admin database.", req.name)
	}
	// As mongod: authorization, the replication state, the failCommand
	// fail point, then the command (faults: failpoint_cmds.go, stepdown.go).
	if err := s.authorize(req); err != nil {
		return nil, err
	}
	req.stepDowns = s.topo.stepDowns.Load()
	if err := s.checkReplState(req); err != nil {
		return nil, err
	}
	var body bsoncore.Document
	err := s.applyFailCommand(ctx, req, cmd)
	if err == nil {
		// Sessions: retryable writes and transactions (txn_session.go).
		body, err = s.withSession(ctx, req, cmd)
	}
	// mongod waits for write concern after the command, failed or not: a
	// failCommand writeConcernError joins either reply. (After the session
	// layer, so a retried write's stored reply never carries the
	// writeConcernError of an earlier attempt.)
	wce := s.failWriteConcern(req, cmd)
	if err != nil {
		if wce != nil && !req.closeConn {
			err = withWriteConcernError(req, err, wce)
		}
		return nil, err
	}
	if req.name == "listDatabases" {
		body = filterListDatabases(req, body)
	}
	if wce != nil {
		body = s.appendWriteConcernError(req, body, wce)
		req.ownsBody = false // a new buffer, not the pooled one
	}
	return body, nil
}

// callHandler runs the command's handler under the lock it asks for.
func (s *Server) callHandler(ctx context.Context, req *request, cmd *command) (bsoncore.Document, error) {
	switch cmd.lock {
	case lockRead:
		s.mu.RLock()
		defer s.mu.RUnlock()
		// What the command reads is as of now (no write can run until
		// it ends): its operationTime, as mongod's is the time of the
		// snapshot a read used.
		req.opTime = s.clock.now()
	case lockWrite:
		s.mu.Lock()
		defer s.mu.Unlock()
		// The command's oplog entries reach the history together, under
		// the lock (clock.go).
		req.batchWrites = true
		defer s.flushWrites(req)
	}
	if err := s.checkInterrupted(req); err != nil {
		return nil, err
	}
	return cmd.handler(ctx, req)
}

// finishOK appends ok and, in a replica set, $clusterTime and operationTime.
func (s *Server) finishOK(req *request, body bsoncore.Document) bsoncore.Document {
	if body == nil {
		body = emptyDoc
	}
	var b []byte
	if req.ownsBody {
		b = body[:len(body)-1] // extend the pooled buffer in place
	} else {
		b = make([]byte, 0, len(body)+160)
		b = append(b, body[:len(body)-1]...) // reopen the document
	}
	b = bsoncore.AppendDoubleElement(b, "ok", 1)
	b = s.appendClusterTime(b, req)
	b = append(b, 0)
	bsoncore.UpdateLength(b, 0, int32(len(b)))
	return b
}

// finishError builds {ok: 0, errmsg, code, codeName, <extra>, errorLabels}.
func (s *Server) finishError(req *request, err error) bsoncore.Document {
	b := errorReply(err)
	out := make([]byte, 0, len(b)+160)
	out = append(out, b[:len(b)-1]...)
	if me := asMongoErr(err); (isNotPrimaryError(me.Code) || isNotPrimaryError(req.wcCode)) && !s.opts.Standalone {
		// mongod tells drivers which topology the error belongs to.
		out = bsoncore.AppendDocumentElement(out, "topologyVersion", s.topologyVersionDoc())
	}
	out = s.appendClusterTime(out, req)
	out = append(out, 0)
	bsoncore.UpdateLength(out, 0, int32(len(out)))
	return out
}

func (s *Server) appendClusterTime(b []byte, req *request) []byte {
	if s.opts.Standalone {
		return b
	}
	ct := s.clock.now()
	op := req.opTime
	if bsonkit.IsMissing(op) {
		op = ct
	}
	b = bsoncore.AppendDocumentElement(b, "$clusterTime", clusterTimeDoc(ct))
	return bsoncore.AppendValueElement(b, "operationTime", op)
}

var emptyDoc = bsoncore.Document{5, 0, 0, 0, 0}

// zeroSignature is the unsigned $clusterTime signature of a server
// without keys: hash BinData(0, 20 zero bytes), keyId 0.
var zeroSignature = bsonkit.D("hash", bsonkit.Binary(0, make([]byte, 20)), "keyId", bsonkit.Int64(0))

func clusterTimeDoc(ts bsoncore.Value) bsoncore.Document {
	return bsonkit.D("clusterTime", ts, "signature", bsonkit.DocValue(zeroSignature))
}

// errorReply renders err as mongod does, without cluster time.
func errorReply(err error) bsoncore.Document {
	var me *mongoerr.Error
	if !errors.As(err, &me) {
		me = mongoerr.New(mongoerr.InternalError, "%v", err)
	}
	_, b := bsoncore.AppendDocumentStart(nil)
	b = bsoncore.AppendDoubleElement(b, "ok", 0)
	b = bsoncore.AppendStringElement(b, "errmsg", me.Msg)
	b = bsoncore.AppendInt32Element(b, "code", me.Code)
	b = bsoncore.AppendStringElement(b, "codeName", me.CodeName())
	b = appendExtra(b, me.Extra)
	if len(me.Labels) > 0 {
		vals := make([]bsoncore.Value, len(me.Labels))
		for i, l := range me.Labels {
			vals[i] = bsonkit.String(l)
		}
		b = bsoncore.AppendValueElement(b, "errorLabels", bsonkit.Array(vals...))
	}
	b = append(b, 0)
	bsoncore.UpdateLength(b, 0, int32(len(b)))
	return b
}

// appendExtra copies the elements of extra (may be nil) into b.
func appendExtra(b []byte, extra bsoncore.Document) []byte {
	if len(extra) > 5 {
		b = append(b, extra[4:len(extra)-1]...)
	}
	return b
}

// asMongoErr converts any error to *mongoerr.Error (InternalError if foreign).
func asMongoErr(err error) *mongoerr.Error {
	var me *mongoerr.Error
	if errors.As(err, &me) {
		return me
	}
	return mongoerr.New(mongoerr.InternalError, "%v", err)
}

// validateDBName applies mongod's database-name rules.
func validateDBName(db string) error {
	if db == "" {
		return mongoerr.New(mongoerr.InvalidNamespace, "Invalid database name: ''")
	}
	if len(db) >= 64 {
		return mongoerr.New(mongoerr.InvalidNamespace, "db name is too long: '%s'", db)
	}
	for _, c := range db {
		switch c {
		case '/', '\\', '.', ' ', '"', '$', 0:
			return mongoerr.New(mongoerr.InvalidNamespace, "Invalid database name: '%s'", db)
		}
	}
	return nil
}

// typeName is MongoDB's alias of a BSON type, as error messages spell it.
var typeName = bsonkit.TypeName
