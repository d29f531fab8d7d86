package mongosim

import (
	"context"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/failpoint"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// mongod's test commands configureFailPoint and waitForFailPoint (enabled
// as with enableTestCommands=1), and the failCommand fail point applied to
// every client command in dispatch.

func init() {
	register(command{name: "configureFailPoint", adminOnly: true, handler: handleConfigureFailPoint})
	register(command{name: "waitForFailPoint", adminOnly: true, handler: handleWaitForFailPoint})
}

func handleConfigureFailPoint(_ context.Context, req *request) (bsoncore.Document, error) {
	return req.srv.failpoints.Configure(req.body)
}

func handleWaitForFailPoint(ctx context.Context, req *request) (bsoncore.Document, error) {
	if v := req.arg("maxTimeMS"); bsonkit.IsNumber(v.Type) {
		if ms, ok := v.AsInt64OK(); ok && ms > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
			defer cancel()
		} else if f, ok := v.DoubleOK(); ok && f > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Duration(f*float64(time.Millisecond)))
			defer cancel()
		}
	}
	return nil, req.srv.failpoints.WaitForFailPoint(ctx, req.body)
}

// failPointCommand describes req to the failCommand matcher.
func failPointCommand(req *request, cmd *command) failpoint.Command {
	fc := failpoint.Command{Name: cmd.name, Aliases: cmd.aliases, NS: commandNS(req), Internal: req.conn == nil}
	if req.conn != nil {
		fc.AppName = req.conn.appName
		fc.ThreadName = "conn" + strconv.FormatInt(req.conn.id, 10)
	}
	return fc
}

// commandNS is the namespace mongod's invocation reports: db.coll for
// collection commands, db.$cmd.aggregate for collectionless aggregates, the
// database name otherwise.
func commandNS(req *request) string {
	if req.name == "getMore" {
		if v := req.arg("collection"); v.Type == bsoncore.TypeString {
			return req.db + "." + v.StringValue()
		}
	}
	v := req.arg(req.name)
	if v.Type == bsoncore.TypeString {
		return req.db + "." + v.StringValue()
	}
	if req.name == "aggregate" {
		return req.db + ".$cmd.aggregate"
	}
	return req.db
}

// applyFailCommand evaluates failCommand before a command runs: it blocks,
// closes the connection (no reply) or fails the command as configured.
func (s *Server) applyFailCommand(ctx context.Context, req *request, cmd *command) error {
	if req.conn == nil || !s.failpoints.FailCommandEnabled() {
		return nil // the server's own work is never failed
	}
	act, err := s.failpoints.FailCommand(failPointCommand(req, cmd))
	if err != nil || act == nil {
		return err
	}
	if act.OverrideLabels {
		req.overrideLabels, req.failLabels = true, act.Labels
	}
	if act.Block > 0 && !sleepCtx(ctx, act.Block) {
		return mongoerr.New(mongoerr.InterruptedAtShutdown, "interrupted at shutdown")
	}
	if act.CloseConnection {
		req.closeConn = true
		return act.Err
	}
	if act.Err != nil {
		return act.Err
	}
	return nil
}

// writeConcernCommands support a writeConcern; only they can get a
// writeConcernError from failCommand.
var writeConcernCommands = map[string]bool{
	"insert": true, "update": true, "delete": true, "findAndModify": true, "findandmodify": true,
	"create": true, "drop": true, "dropDatabase": true, "createIndexes": true, "dropIndexes": true,
	"deleteIndexes": true, "collMod": true, "renameCollection": true, "commitTransaction": true,
	"abortTransaction": true, "appendOplogNote": true, "applyOps": true, "convertToCapped": true,
	"cloneCollectionAsCapped": true,
}

// failWriteConcern evaluates failCommand's writeConcernError after a write
// ran: the error document to append, or nil.
func (s *Server) failWriteConcern(req *request, cmd *command) bsoncore.Document {
	if req.conn == nil || !s.failpoints.FailCommandEnabled() || !writeConcernCommands[cmd.name] &&
		!(cmd.name == "aggregate" && pipelineWrites(req.arg("pipeline"))) {
		return nil
	}
	wce, labels, hasLabels, fired := s.failpoints.WriteConcernError(failPointCommand(req, cmd))
	if !fired {
		return nil
	}
	if hasLabels {
		req.overrideLabels, req.failLabels = true, labels
	}
	return wce
}

// appendWriteConcernError adds writeConcernError (and the labels that go
// with it) to a successful reply body.
func (s *Server) appendWriteConcernError(req *request, body bsoncore.Document, wce bsoncore.Document) bsoncore.Document {
	if body == nil {
		body = emptyDoc
	}
	b := make([]byte, 0, len(body)+len(wce)+64)
	b = append(b, body[:len(body)-1]...)
	b = bsoncore.AppendDocumentElement(b, "writeConcernError", wce)
	code := wceCode(wce)
	labels := req.failLabels
	if !req.overrideLabels {
		labels = errorLabels(req, labelInput{wcCode: code, noWritesPerformed: req.noWritesPerformed()})
	}
	if len(labels) > 0 {
		b = appendLabels(b, labels)
	}
	if isNotPrimaryError(code) && !s.opts.Standalone {
		b = bsoncore.AppendDocumentElement(b, "topologyVersion", s.topologyVersionDoc())
	}
	b = append(b, 0)
	bsoncore.UpdateLength(b, 0, int32(len(b)))
	return b
}

// withWriteConcernError adds writeConcernError to a failed command's error
// reply, as mongod does when it waits for write concern after a failure.
func withWriteConcernError(req *request, err error, wce bsoncore.Document) error {
	me := *asMongoErr(err)
	b := make([]byte, 0, len(me.Extra)+len(wce)+32)
	if len(me.Extra) > 5 {
		b = append(b, me.Extra[:len(me.Extra)-1]...)
	} else {
		_, b = bsoncore.AppendDocumentStart(b)
	}
	b = bsoncore.AppendDocumentElement(b, "writeConcernError", wce)
	b = append(b, 0)
	bsoncore.UpdateLength(b, 0, int32(len(b)))
	me.Extra = b
	req.wcCode = wceCode(wce)
	return &me
}

// wceCode is a writeConcernError's code (0 if absent).
func wceCode(wce bsoncore.Document) int32 {
	if v, err := wce.LookupErr("code"); err == nil {
		if n, ok := v.AsInt64OK(); ok {
			return int32(n)
		}
	}
	return 0
}

func appendLabels(b []byte, labels []string) []byte {
	vals := make([]bsoncore.Value, len(labels))
	for i, l := range labels {
		vals[i] = bsonkit.String(l)
	}
	return bsoncore.AppendValueElement(b, "errorLabels", bsonkit.Array(vals...))
}
