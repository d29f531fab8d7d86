package conformance

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/mlink-dev/mlink/mongosim/wire"
)

// rawConn is a bare TCP connection for wire-level tests.
type rawConn struct {
	t  *testing.T
	nc net.Conn
}

func dialRaw(t *testing.T) *rawConn {
	t.Helper()
	cs, err := connstring.ParseAndValidate(suite.uri)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Username != "" || cs.SSL {
		t.Skip("raw wire tests need an unauthenticated plain-TCP server")
	}
	nc, err := net.DialTimeout("tcp", cs.Hosts[0], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, nc: nc}
}

func (r *rawConn) write(b []byte) {
	r.t.Helper()
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// read returns the next reply's header and body.
func (r *rawConn) read() (wire.Header, []byte) {
	r.t.Helper()
	h, body, err := wire.ReadMessage(r.nc, nil)
	if err != nil {
		r.t.Fatalf("read reply: %v", err)
	}
	return h, body
}

// readMsg reads an OP_MSG reply and returns its flags and body.
func (r *rawConn) readMsg() (wire.Header, uint32, bson.Raw) {
	r.t.Helper()
	h, body := r.read()
	if h.OpCode != wire.OpMsg {
		r.t.Fatalf("reply opcode %d, want OP_MSG", h.OpCode)
	}
	m, err := wire.ParseMsg(body)
	if err != nil {
		r.t.Fatal(err)
	}
	return h, m.Flags, bson.Raw(m.Body)
}

// expectClosed asserts the server closes the connection.
func (r *rawConn) expectClosed() {
	r.t.Helper()
	_ = r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	_, err := r.nc.Read(b[:])
	if !errors.Is(err, io.EOF) && !isConnReset(err) {
		r.t.Fatalf("want connection closed, got %v", err)
	}
}

func isConnReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

func msg(t *testing.T, reqID int32, flags uint32, cmd any) []byte {
	return wire.AppendMsg(nil, reqID, 0, flags, bsoncore.Document(mustMarshal(t, cmd)))
}

// pingWorks proves the server still serves new connections.
func pingWorks(t *testing.T) {
	t.Helper()
	c := dialRaw(t)
	c.write(msg(t, 1, 0, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}}))
	_, _, body := c.readMsg()
	if lookup(t, body, "ok").Double() != 1 {
		t.Fatalf("ping after bad input: %s", body)
	}
}

func appendQuery(dst []byte, reqID int32, ns string, q bson.Raw) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(reqID))
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(wire.OpQuery))
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = append(dst, ns...)
	dst = append(dst, 0)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(0xffffffff)) // -1
	dst = append(dst, q...)
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst
}

// parseReply splits an OP_REPLY body into its documents.
func parseReply(t *testing.T, body []byte) []bson.Raw {
	t.Helper()
	if len(body) < 20 {
		t.Fatalf("short OP_REPLY")
	}
	n := int(binary.LittleEndian.Uint32(body[16:]))
	rest := body[20:]
	var out []bson.Raw
	for i := 0; i < n; i++ {
		size := int(binary.LittleEndian.Uint32(rest))
		out = append(out, bson.Raw(rest[:size]))
		rest = rest[size:]
	}
	return out
}

func TestWireOpQueryIsMaster(t *testing.T) {
	c := dialRaw(t)
	for i, cmd := range []string{"isMaster", "hello", "ismaster"} {
		reqID := int32(100 + i)
		c.write(appendQuery(nil, reqID, "admin.$cmd", mustMarshal(t, bson.D{{Key: cmd, Value: 1}, {Key: "helloOk", Value: true}})))
		h, body := c.read()
		if h.OpCode != wire.OpReply || h.ResponseTo != reqID {
			t.Fatalf("%s: opcode %d responseTo %d", cmd, h.OpCode, h.ResponseTo)
		}
		docs := parseReply(t, body)
		if len(docs) != 1 || lookup(t, docs[0], "ok").Double() != 1 {
			t.Fatalf("%s: reply %v", cmd, docs)
		}
		if _, err := docs[0].LookupErr("maxWireVersion"); err != nil {
			t.Fatalf("%s: no maxWireVersion in %s", cmd, docs[0])
		}
	}
	// The $query wrapper old drivers use.
	c.write(appendQuery(nil, 7, "admin.$cmd", mustMarshal(t, bson.D{{Key: "$query", Value: bson.D{{Key: "isMaster", Value: 1}}}})))
	_, body := c.read()
	if docs := parseReply(t, body); !lookup(t, docs[0], "ismaster").Boolean() {
		t.Fatalf("wrapped isMaster: %s", docs[0])
	}
}

func TestWireOpQueryOtherCommandRejected(t *testing.T) {
	c := dialRaw(t)
	c.write(appendQuery(nil, 9, "admin.$cmd", mustMarshal(t, bson.D{{Key: "ping", Value: 1}})))
	_, body := c.read()
	docs := parseReply(t, body)
	if lookup(t, docs[0], "ok").Double() != 0 || lookup(t, docs[0], "code").Int32() != 352 {
		t.Fatalf("OP_QUERY ping: %s", docs[0])
	}
}

func TestWireOpMsgChecksum(t *testing.T) {
	c := dialRaw(t)
	m := msg(t, 11, wire.FlagChecksumPresent, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
	m = binary.LittleEndian.AppendUint32(m, 0)
	binary.LittleEndian.PutUint32(m, uint32(len(m)))
	binary.LittleEndian.PutUint32(m[len(m)-4:], wire.Checksum(m[:len(m)-4]))
	c.write(m)
	h, _, body := c.readMsg()
	if h.ResponseTo != 11 || lookup(t, body, "ok").Double() != 1 {
		t.Fatalf("checksummed ping: %s", body)
	}
	// A wrong checksum closes the connection.
	m[len(m)-1] ^= 0xff
	c.write(m)
	c.expectClosed()
	pingWorks(t)
}

func TestWireMoreToComeSendsNoReply(t *testing.T) {
	db := newDB(t)
	c := dialRaw(t)
	insert := bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: 1}}}},
		{Key: "writeConcern", Value: bson.D{{Key: "w", Value: 0}}}, {Key: "$db", Value: db.Name()}}
	c.write(msg(t, 21, wire.FlagMoreToCome, insert))
	c.write(msg(t, 22, 0, bson.D{{Key: "count", Value: "c"}, {Key: "$db", Value: db.Name()}}))
	h, _, body := c.readMsg()
	if h.ResponseTo != 22 {
		t.Fatalf("first reply answers %d: the unacknowledged insert was answered", h.ResponseTo)
	}
	if n := lookup(t, body, "n").AsInt64(); n != 1 {
		t.Fatalf("count after unacknowledged insert: %s", body)
	}
}

func TestWireDocumentSequence(t *testing.T) {
	db := newDB(t)
	c := dialRaw(t)
	body := mustMarshal(t, bson.D{{Key: "insert", Value: "seq"}, {Key: "$db", Value: db.Name()}})
	var docs [][]byte
	for i := 1; i <= 3; i++ {
		docs = append(docs, mustMarshal(t, bson.D{{Key: "_id", Value: i}}))
	}
	c.write(seqMsg(31, body, "documents", docs...))
	_, _, reply := c.readMsg()
	if lookup(t, reply, "n").AsInt64() != 3 {
		t.Fatalf("sequence insert: %s", reply)
	}
}

// seqMsg builds an OP_MSG with a body and one document sequence.
func seqMsg(reqID int32, body []byte, ident string, docs ...[]byte) []byte {
	ds := make([]bsoncore.Document, len(docs))
	for i, d := range docs {
		ds[i] = d
	}
	return wire.AppendMsgSequence(nil, reqID, 0, body, ident, ds...)
}

func TestWireMissingDB(t *testing.T) {
	c := dialRaw(t)
	c.write(msg(t, 41, 0, bson.D{{Key: "ping", Value: 1}}))
	_, _, body := c.readMsg()
	if lookup(t, body, "ok").Double() != 0 || lookup(t, body, "code").Int32() != 40571 {
		t.Fatalf("ping without $db: %s", body)
	}
}

func TestWireMalformedClosesOnlyThatConnection(t *testing.T) {
	good := msg(t, 1, 0, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
	cases := map[string][]byte{
		"length below header": {8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xdd, 7, 0, 0},
		"length too large":    {0xff, 0xff, 0xff, 0x7f, 1, 0, 0, 0, 0, 0, 0, 0, 0xdd, 7, 0, 0},
		"unknown opcode": func() []byte {
			b := append([]byte(nil), good...)
			binary.LittleEndian.PutUint32(b[12:], 2002) // OP_INSERT, removed in 6.0
			return b
		}(),
		"unknown section kind": func() []byte {
			b := append([]byte(nil), good...)
			b[20] = 7
			return b
		}(),
		"document overruns message": func() []byte {
			b := append([]byte(nil), good...)
			binary.LittleEndian.PutUint32(b[21:], uint32(len(b)))
			return b
		}(),
		"unknown required flag": func() []byte {
			b := append([]byte(nil), good...)
			binary.LittleEndian.PutUint32(b[16:], 1<<5)
			return b
		}(),
		"two body sections": func() []byte {
			b := append([]byte(nil), good...)
			b = append(b, 0)
			b = append(b, good[21:]...)
			binary.LittleEndian.PutUint32(b, uint32(len(b)))
			return b
		}(),
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t)
			c.write(m)
			c.expectClosed()
			pingWorks(t)
		})
	}
}

// Exhaust: a hello with exhaustAllowed, topologyVersion and maxAwaitTimeMS
// is answered with moreToCome, then again without a new request.
func TestWireExhaustHello(t *testing.T) {
	c := dialRaw(t)
	c.write(msg(t, 51, 0, bson.D{{Key: "hello", Value: 1}, {Key: "$db", Value: "admin"}}))
	_, _, first := c.readMsg()
	tv := lookup(t, first, "topologyVersion").Document()
	c.write(msg(t, 52, wire.FlagExhaustAllowed, bson.D{{Key: "hello", Value: 1}, {Key: "topologyVersion", Value: tv},
		{Key: "maxAwaitTimeMS", Value: int64(100)}, {Key: "$db", Value: "admin"}}))
	h1, f1, b1 := c.readMsg()
	if h1.ResponseTo != 52 || f1&wire.FlagMoreToCome == 0 || !lookup(t, b1, "isWritablePrimary").Boolean() {
		t.Fatalf("first streamed reply: responseTo %d flags %#x", h1.ResponseTo, f1)
	}
	h2, f2, _ := c.readMsg()
	if h2.ResponseTo != h1.RequestID || f2&wire.FlagMoreToCome == 0 {
		t.Fatalf("second streamed reply: responseTo %d (want %d) flags %#x", h2.ResponseTo, h1.RequestID, f2)
	}
}

// Legacy OP_QUERY finds were removed in 5.1: a query failure reply.
func TestWireLegacyOpQueryFindRefused(t *testing.T) {
	c := dialRaw(t)
	c.write(appendQuery(nil, 71, "test.items", mustMarshal(t, bson.D{})))
	h, body := c.read()
	if h.OpCode != wire.OpReply || h.ResponseTo != 71 {
		t.Fatalf("opcode %d responseTo %d", h.OpCode, h.ResponseTo)
	}
	if flags := int32(binary.LittleEndian.Uint32(body)); flags&wire.ReplyQueryFailure == 0 {
		t.Fatalf("reply flags %#x lack QueryFailure", flags)
	}
	docs := parseReply(t, body)
	if len(docs) != 1 || lookup(t, docs[0], "code").Int32() != 5739101 {
		t.Fatalf("legacy find reply %v", docs)
	}
	if _, err := docs[0].LookupErr("$err"); err != nil {
		t.Fatalf("no $err in %s", docs[0])
	}
}
