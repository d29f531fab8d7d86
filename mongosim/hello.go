package mongosim

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	register(command{name: "hello", handler: handleHello})
	register(command{name: "isMaster", aliases: []string{"ismaster"}, handler: handleHello})
}

// Topology limits every hello reports.
const (
	maxBSONObjectSize   = 16 * 1024 * 1024
	maxMessageSizeBytes = 48000000
	maxWriteBatchSize   = 100000
)

// handleHello answers hello/isMaster as a single-node replica-set primary
// (or a standalone). With topologyVersion + maxAwaitTimeMS it is the
// streaming protocol: the topology never changes here, so it waits the full
// maxAwaitTimeMS and answers; with exhaustAllowed it keeps answering.
func handleHello(ctx context.Context, req *request) (bsoncore.Document, error) {
	legacy := req.name != "hello"
	wait, err := helloAwait(req)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		if !sleepCtx(ctx, wait) {
			return nil, mongoerr.New(mongoerr.ShutdownInProgress, "The server is in quiesce mode and will shut down")
		}
		if req.exhaust && req.conn != nil {
			srv := req.srv
			req.stream = func() bsoncore.Document {
				if !sleepCtx(srv.ctx, wait) {
					return nil
				}
				r := &request{srv: srv, conn: req.conn, name: req.name, body: req.body}
				return srv.finishOK(r, srv.helloBody(r, legacy))
			}
		}
	}
	return req.srv.helloBody(req, legacy), nil
}

// helloAwait returns how long a streaming hello waits (0: answer now).
func helloAwait(req *request) (time.Duration, error) {
	tv := req.arg("topologyVersion")
	mv := req.arg("maxAwaitTimeMS")
	if bsonkit.IsMissing(tv) && bsonkit.IsMissing(mv) {
		return 0, nil
	}
	if bsonkit.IsMissing(mv) {
		return 0, mongoerr.New(31368, "A request with a 'topologyVersion' must include 'maxAwaitTimeMS'")
	}
	if bsonkit.IsMissing(tv) {
		return 0, mongoerr.New(31368, "A request with 'maxAwaitTimeMS' must include a 'topologyVersion'")
	}
	if !bsonkit.IsNumber(mv.Type) {
		return 0, mongoerr.New(mongoerr.TypeMismatch, "maxAwaitTimeMS must be a number")
	}
	ms, _ := bsonkit.ToFloat(mv)
	if ms < 0 {
		return 0, mongoerr.New(mongoerr.BadValue, "maxAwaitTimeMS must be a non-negative integer")
	}
	if tv.Type != bsoncore.TypeEmbeddedDocument {
		return 0, mongoerr.New(mongoerr.TypeMismatch, "topologyVersion must be an object")
	}
	pid, err := tv.Document().LookupErr("processId")
	if err != nil || pid.Type != bsoncore.TypeObjectID || pid.ObjectID() != req.srv.processID {
		return 0, nil // a different process: the client's view is stale, answer at once
	}
	if c, err := tv.Document().LookupErr("counter"); err == nil && bsonkit.IsNumber(c.Type) && c.AsInt64() != 0 {
		return 0, nil
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// helloBody builds the reply in mongod's field order.
func (s *Server) helloBody(req *request, legacy bool) bsoncore.Document {
	now := time.Now()
	var d bsonkit.Doc
	d.Append("topologyVersion", bsonkit.DocValue(bsonkit.D(
		"processId", bsonkit.ObjectID(s.processID), "counter", bsonkit.Int64(0))))
	rs := !s.opts.Standalone
	if rs {
		d.Append("hosts", bsonkit.Array(bsonkit.String(s.addr)))
		d.Append("setName", bsonkit.String(s.opts.ReplSetName))
		d.Append("setVersion", bsonkit.Int32(1))
	}
	if legacy {
		d.Append("ismaster", bsonkit.Bool(true))
	} else {
		d.Append("isWritablePrimary", bsonkit.Bool(true))
	}
	if rs {
		d.Append("secondary", bsonkit.Bool(false))
		d.Append("primary", bsonkit.String(s.addr))
		d.Append("me", bsonkit.String(s.addr))
		d.Append("electionId", bsonkit.ObjectID(s.electID))
		secs, inc, wall := s.clock.lastWriteTime()
		opTime := bsonkit.DocValue(bsonkit.D("ts", bsonkit.Timestamp(secs, inc), "t", bsonkit.Int64(1)))
		wallV := bsonkit.DateTime(wall.UnixMilli())
		d.Append("lastWrite", bsonkit.DocValue(bsonkit.D(
			"opTime", opTime, "lastWriteDate", wallV, "majorityOpTime", opTime, "majorityWriteDate", wallV)))
	}
	d.Append("maxBsonObjectSize", bsonkit.Int32(maxBSONObjectSize))
	d.Append("maxMessageSizeBytes", bsonkit.Int32(maxMessageSizeBytes))
	d.Append("maxWriteBatchSize", bsonkit.Int32(maxWriteBatchSize))
	d.Append("localTime", bsonkit.DateTime(now.UnixMilli()))
	d.Append("logicalSessionTimeoutMinutes", bsonkit.Int32(30))
	connID := int64(0)
	if req.conn != nil {
		connID = req.conn.id
	}
	d.Append("connectionId", bsonkit.Int32(int32(connID)))
	d.Append("minWireVersion", bsonkit.Int32(0))
	d.Append("maxWireVersion", bsonkit.Int32(s.version.maxWireVersion))
	d.Append("readOnly", bsonkit.Bool(false))
	if v := req.arg("helloOk"); v.Type == bsoncore.TypeBoolean && v.Boolean() {
		d.Append("helloOk", bsonkit.Bool(true))
	}
	return d.Bytes()
}
