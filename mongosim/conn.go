package mongosim

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/auth"
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/wire"
)

// conn is one client connection. Requests on a connection run one at a
// time, as on mongod.
type conn struct {
	srv    *Server
	nc     net.Conn
	id     int64
	nextID int32 // requestID of our replies
	out    []byte

	// appName is the handshake's client.application.name; metadata records
	// that the client document was received (it may be sent only once).
	appName  string
	metadata bool
	// cmdCounts caches this connection's command-log counters by name.
	cmdCounts map[string]*atomic.Int64
	// auth is the connection's authentication state (nil: access control off).
	auth *auth.Session
	// wrote: a command on this connection has written (mongod's client
	// lastOp is set), for the NoWritesPerformed label.
	wrote bool
}

func (c *conn) serve() {
	defer c.srv.wg.Done()
	defer c.srv.removeConn(c)
	defer c.nc.Close()
	r := bufio.NewReaderSize(c.nc, 64<<10)
	for {
		// A fresh buffer per message: cursors keep filters, bounds and
		// projections that alias their request past this loop iteration.
		h, body, err := wire.ReadMessage(r, nil)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && c.srv.ctx.Err() == nil {
				c.srv.log.Debug("closing connection", "conn", c.id, "err", err)
			}
			return
		}
		if err := c.handle(h, body); err != nil {
			if c.srv.ctx.Err() == nil {
				c.srv.log.Debug("closing connection", "conn", c.id, "err", err)
			}
			return
		}
	}
}

// handle runs one message; an error closes the connection.
func (c *conn) handle(h wire.Header, body []byte) error {
	switch h.OpCode {
	case wire.OpMsg:
		msg, err := wire.ParseMsg(body)
		if err != nil {
			return err
		}
		return c.handleMsg(h, msg)
	case wire.OpQuery:
		q, err := wire.ParseQuery(body)
		if err != nil {
			return err
		}
		return c.handleQuery(h, q)
	}
	return errors.New("unsupported opcode")
}

func (c *conn) handleMsg(h wire.Header, msg *wire.Msg) error {
	req := &request{
		srv:        c.srv,
		conn:       c,
		body:       msg.Body,
		moreToCome: msg.Flags&wire.FlagMoreToCome != 0,
		exhaust:    msg.Flags&wire.FlagExhaustAllowed != 0,
	}
	if len(msg.Sequences) > 0 {
		req.seqs = make(map[string][]bsoncore.Document, len(msg.Sequences))
		for _, s := range msg.Sequences {
			req.seqs[s.Identifier] = append(req.seqs[s.Identifier], s.Docs...)
		}
	}
	reply := c.srv.dispatch(c.srv.ctx, req)
	if req.closeConn {
		return errCloseConnection
	}
	if req.moreToCome {
		return nil // unacknowledged: run, answer nothing
	}
	if req.stream != nil {
		return c.streamReplies(h.RequestID, reply, req.stream)
	}
	err := c.send(h.RequestID, 0, reply)
	if req.ownsBody {
		putBuf(reply)
	}
	return err
}

// streamReplies answers an exhaust request: every reply but the last has
// moreToCome set and answers the previous reply, until the client goes away.
func (c *conn) streamReplies(responseTo int32, reply bsoncore.Document, next func() bsoncore.Document) error {
	for {
		id := c.nextID + 1
		if err := c.send(responseTo, wire.FlagMoreToCome, reply); err != nil {
			return err
		}
		responseTo = id
		reply = next()
		if reply == nil {
			return errors.New("server closing")
		}
	}
}

// errCloseConnection ends a connection without a reply (failCommand's
// closeConnection).
var errCloseConnection = errors.New("closing connection via failCommand")

// delayReply waits the configured reply latency (SetReplyLatency).
func (c *conn) delayReply() {
	if d := time.Duration(c.srv.replyLatency.Load()); d > 0 {
		sleepCtx(c.srv.ctx, d)
	}
}

// send writes an OP_MSG; large replies go out with writev, uncopied.
func (c *conn) send(responseTo int32, flags uint32, reply bsoncore.Document) error {
	c.delayReply()
	c.nextID++
	if len(reply) < 64<<10 {
		c.out = wire.AppendMsg(c.out[:0], c.nextID, responseTo, flags, reply)
		_, err := c.nc.Write(c.out)
		return err
	}
	c.out = wire.AppendMsgHeader(c.out[:0], c.nextID, responseTo, flags, len(reply))
	bufs := net.Buffers{c.out, reply}
	_, err := bufs.WriteTo(c.nc)
	return err
}

// handleQuery answers the legacy OP_QUERY handshake old drivers (and the Go
// driver's first hello) still send. Anything else gets mongod's 6.0+ error.
func (c *conn) handleQuery(h wire.Header, q *wire.Query) error {
	cmd := q.Query
	// Old drivers wrap the command: {$query: {...}, $readPreference: ...}.
	if v, err := cmd.LookupErr("$query"); err == nil && v.Type == bsoncore.TypeEmbeddedDocument {
		cmd = v.Document()
	}
	db, coll, _ := strings.Cut(q.FullCollectionName, ".")
	var reply bsoncore.Document
	name := firstKey(cmd)
	flags := wire.ReplyAwaitCapable
	if coll != "$cmd" {
		// A legacy find: removed in 5.1; mongod answers with a query failure.
		flags |= wire.ReplyQueryFailure
		reply = bsonkit.D("$err", bsonkit.String("OP_QUERY is no longer supported. The client driver may require an upgrade. "+
			"For more details see https://dochub.mongodb.org/core/legacy-opcode-removal"), "code", bsonkit.Int32(legacyOpQueryRemoved))
	} else if name != "hello" && name != "isMaster" && name != "ismaster" {
		reply = errorReply(mongoerr.New(mongoerr.UnsupportedOpQueryCommand,
			"Unsupported OP_QUERY command: %s. The client driver may require an upgrade. "+
				"For more details see https://dochub.mongodb.org/core/legacy-opcode-removal", name))
	} else {
		req := &request{srv: c.srv, conn: c, body: cmd, legacyDB: db}
		reply = c.srv.dispatch(c.srv.ctx, req)
		if req.closeConn {
			return errCloseConnection
		}
	}
	c.delayReply()
	c.nextID++
	c.out = wire.AppendReply(c.out[:0], c.nextID, h.RequestID, flags, 0, reply)
	_, err := c.nc.Write(c.out)
	return err
}

// legacyOpQueryRemoved is mongod's code for a legacy OP_QUERY find.
const legacyOpQueryRemoved = 5739101

func firstKey(d bsoncore.Document) string {
	if len(d) <= 5 {
		return ""
	}
	e, err := d.IndexErr(0)
	if err != nil {
		return ""
	}
	return e.Key()
}
