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
// streaming protocol: it answers at once when the client's topologyVersion
// is stale, else when the topology changes (StepDown) or maxAwaitTimeMS
// passes; with exhaustAllowed it keeps answering.
func handleHello(ctx context.Context, req *request) (bsoncore.Document, error) {
	legacy := req.name != "hello"
	wait, since, err := helloAwait(req)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		if !req.srv.awaitTopologyChange(ctx, wait, since) {
			return nil, mongoerr.New(mongoerr.ShutdownInProgress, "The server is in quiesce mode and will shut down")
		}
		if req.exhaust && req.conn != nil {
			srv := req.srv
			req.stream = func() bsoncore.Document {
				// since: the counter of the reply the client last got.
				if !srv.awaitTopologyChange(srv.ctx, wait, since) {
					return nil
				}
				since, _ = srv.topo.version()
				r := &request{srv: srv, conn: req.conn, name: req.name, body: req.body}
				return srv.finishOK(r, srv.helloBody(r, legacy))
			}
		}
		since, _ = req.srv.topo.version()
	}
	return req.srv.helloBody(req, legacy), nil
}

// awaitTopologyChange waits up to d for the topologyVersion counter to move
// past since (a streaming hello's maxAwaitTimeMS); false when ctx ends.
func (s *Server) awaitTopologyChange(ctx context.Context, d time.Duration, since int64) bool {
	counter, changed := s.topo.version()
	if counter != since {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-changed:
	}
	return true
}

// noteClientMetadata records the handshake's client document (dispatch
// calls it for hello before counting the command): its application.name
// names the connection in fail points and the command log. Like mongod, it
// may be sent only once per connection.
func noteClientMetadata(req *request) error {
	c := req.conn
	v := req.arg("client")
	if c == nil || v.Type != bsoncore.TypeEmbeddedDocument {
		return nil
	}
	if c.metadata {
		return mongoerr.New(mongoerr.ClientMetadataCannotBeMutated, "The client metadata document may only be sent in the first hello")
	}
	c.metadata = true
	if name, err := v.Document().LookupErr("application", "name"); err == nil && name.Type == bsoncore.TypeString {
		c.appName = name.StringValue()
		c.cmdCounts = nil // counters cached under the old name
	}
	return nil
}

// helloAwait returns how long a streaming hello waits (0: answer now) and
// the topologyVersion counter of the client's view.
func helloAwait(req *request) (time.Duration, int64, error) {
	tv := req.arg("topologyVersion")
	mv := req.arg("maxAwaitTimeMS")
	if bsonkit.IsMissing(tv) && bsonkit.IsMissing(mv) {
		return 0, 0, nil
	}
	if bsonkit.IsMissing(mv) {
		return 0, 0, mongoerr.New(31368, "A request with a 'topologyVersion' must include 'maxAwaitTimeMS'")
	}
	if bsonkit.IsMissing(tv) {
		return 0, 0, mongoerr.New(31368, "A request with 'maxAwaitTimeMS' must include a 'topologyVersion'")
	}
	if !bsonkit.IsNumber(mv.Type) {
		return 0, 0, mongoerr.New(mongoerr.TypeMismatch, "maxAwaitTimeMS must be a number")
	}
	ms, _ := bsonkit.ToFloat(mv)
	if ms < 0 {
		return 0, 0, mongoerr.New(mongoerr.BadValue, "maxAwaitTimeMS must be a non-negative integer")
	}
	if tv.Type != bsoncore.TypeEmbeddedDocument {
		return 0, 0, mongoerr.New(mongoerr.TypeMismatch, "topologyVersion must be an object")
	}
	pid, err := tv.Document().LookupErr("processId")
	if err != nil || pid.Type != bsoncore.TypeObjectID || pid.ObjectID() != req.srv.processIDNow() {
		return 0, 0, nil // a different process: the client's view is stale, answer at once
	}
	counter, _ := req.srv.topo.version()
	c, err := tv.Document().LookupErr("counter")
	if err != nil || !bsonkit.IsNumber(c.Type) || c.AsInt64() != counter {
		return 0, 0, nil // the topology changed since the client's view
	}
	return time.Duration(ms) * time.Millisecond, counter, nil
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
	primary, tv := s.topologyState()
	d.Append("topologyVersion", bsonkit.DocValue(tv))
	rs := !s.opts.Standalone
	if rs {
		d.Append("hosts", bsonkit.Array(bsonkit.String(s.addr)))
		d.Append("setName", bsonkit.String(s.opts.ReplSetName))
		d.Append("setVersion", bsonkit.Int32(1))
	}
	if legacy {
		d.Append("ismaster", bsonkit.Bool(primary))
	} else {
		d.Append("isWritablePrimary", bsonkit.Bool(primary))
	}
	if rs {
		// Stepped down, the only member is a secondary of a set without a
		// primary: no primary field, no electionId.
		d.Append("secondary", bsonkit.Bool(!primary))
		if primary {
			d.Append("primary", bsonkit.String(s.addr))
		}
		d.Append("me", bsonkit.String(s.addr))
		if primary {
			d.Append("electionId", bsonkit.ObjectID(s.electID))
		}
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
	s.helloAuthFields(req, &d)
	return d.Bytes()
}
