package mongosim

import (
	"context"
	"net"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/wire"
)

func faultClient(t *testing.T, uri string, opts ...*options.ClientOptions) *mongo.Client {
	t.Helper()
	// A short heartbeat bounds how long Disconnect can wait for a
	// streaming hello the server holds.
	return connectWith(t, uri, append([]*options.ClientOptions{options.Client().SetHeartbeatInterval(500 * time.Millisecond)}, opts...)...)
}

func TestDropConnectionsCutsClientsAndKeepsServing(t *testing.T) {
	s := startTestServer(t, Options{})
	ctx := context.Background()
	c := faultClient(t, s.URI(), options.Client().SetRetryReads(false))
	if err := c.Ping(ctx, nil); err != nil {
		t.Fatal(err)
	}
	created := s.stats.totalConns.Load()
	if n := s.DropConnections(); n == 0 {
		t.Fatal("no connection was open")
	}
	// The driver notices, reconnects, and the server answers on new
	// connections (the pool's old ones are gone).
	deadline := time.Now().Add(10 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = c.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("ping after drop: %v", err)
	}
	if s.stats.totalConns.Load() <= created {
		t.Fatalf("no new connection after the drop (%d created before, %d now)", created, s.stats.totalConns.Load())
	}
}

// rawConn speaks OP_MSG to a server directly.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	id int32
}

func dialRaw(t *testing.T, s *Server) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, nc: nc}
}

func (r *rawConn) send(flags uint32, cmd bsoncore.Document) {
	r.t.Helper()
	r.id++
	if _, err := r.nc.Write(wire.AppendMsg(nil, r.id, 0, flags, cmd)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) recv() (uint32, bsoncore.Document) {
	r.t.Helper()
	_, body, err := wire.ReadMessage(r.nc, nil)
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	m, err := wire.ParseMsg(body)
	if err != nil {
		r.t.Fatal(err)
	}
	return m.Flags, m.Body
}

func (r *rawConn) run(cmd bsoncore.Document) bsoncore.Document {
	r.send(0, cmd)
	_, reply := r.recv()
	return reply
}

func TestClientMetadataOnlyOnce(t *testing.T) {
	s := startTestServer(t, Options{})
	r := dialRaw(t, s)
	client := bsonkit.DocValue(bsonkit.D("application", bsonkit.DocValue(bsonkit.D("name", bsonkit.String("raw-app")))))
	reply := r.run(bsonkit.D("hello", bsonkit.Int32(1), "client", client, "$db", bsonkit.String("admin")))
	if reply.Lookup("ok").Double() != 1 {
		t.Fatalf("first hello %s", reply)
	}
	reply = r.run(bsonkit.D("hello", bsonkit.Int32(1), "client", client, "$db", bsonkit.String("admin")))
	if reply.Lookup("code").Int32() != 186 || reply.Lookup("codeName").StringValue() != "ClientMetadataCannotBeMutated" {
		t.Fatalf("second client document: %s", reply)
	}
	r.run(bsonkit.D("ping", bsonkit.Int32(1), "$db", bsonkit.String("admin")))
	if got := s.CommandCount("raw-app", "hello"); got != 2 {
		t.Fatalf("hello count %d", got)
	}
	if got := s.CommandCount("raw-app", "ping"); got != 1 {
		t.Fatalf("ping count %d", got)
	}
}

func TestStreamingHelloWakesOnStepDownAndUp(t *testing.T) {
	s := startTestServer(t, Options{})
	r := dialRaw(t, s)
	first := r.run(bsonkit.D("hello", bsonkit.Int32(1), "$db", bsonkit.String("admin")))
	tv := first.Lookup("topologyVersion").Document()
	if tv.Lookup("counter").Int64() != 0 {
		t.Fatalf("initial topologyVersion %s", tv)
	}
	// An exhaust streaming hello with the current topologyVersion waits;
	// a step-down answers it at once, a step-up answers the next.
	r.send(wire.FlagExhaustAllowed, bsonkit.D("hello", bsonkit.Int32(1), "topologyVersion", bsonkit.DocValue(tv),
		"maxAwaitTimeMS", bsonkit.Int32(10000), "$db", bsonkit.String("admin")))
	time.AfterFunc(100*time.Millisecond, func() { _ = s.StepDown(200 * time.Millisecond) })
	start := time.Now()
	flags, reply := r.recv()
	if reply.Lookup("isWritablePrimary").Boolean() || reply.Lookup("topologyVersion", "counter").Int64() != 1 || flags&wire.FlagMoreToCome == 0 {
		t.Fatalf("reply after step-down (flags %x): %s", flags, reply)
	}
	_, reply = r.recv()
	if !reply.Lookup("isWritablePrimary").Boolean() || reply.Lookup("topologyVersion", "counter").Int64() != 2 {
		t.Fatalf("reply after step-up: %s", reply)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("streaming hello answered after %v, not on the changes", el)
	}
}

func TestStreamingHelloStaleCounterAnswersAtOnce(t *testing.T) {
	s := startTestServer(t, Options{})
	if err := s.StepDown(time.Minute); err != nil {
		t.Fatal(err)
	}
	r := dialRaw(t, s)
	tv := bsonkit.D("processId", bsonkit.ObjectID(s.processID), "counter", bsonkit.Int64(0))
	start := time.Now()
	reply := r.run(bsonkit.D("hello", bsonkit.Int32(1), "topologyVersion", bsonkit.DocValue(tv), "maxAwaitTimeMS", bsonkit.Int32(10000), "$db", bsonkit.String("admin")))
	if time.Since(start) > 2*time.Second || reply.Lookup("topologyVersion", "counter").Int64() != 1 || !reply.Lookup("secondary").Boolean() {
		t.Fatalf("stale view: %s after %v", reply, time.Since(start))
	}
}

func TestFailCommandCloseConnectionSendsNoReply(t *testing.T) {
	s := startTestServer(t, Options{})
	admin := dialRaw(t, s)
	reply := admin.run(bsonkit.D("configureFailPoint", bsonkit.String("failCommand"), "mode", bsonkit.String("alwaysOn"),
		"data", bsonkit.DocValue(bsonkit.D("failCommands", bsonkit.Array(bsonkit.String("find")), "closeConnection", bsonkit.Bool(true))),
		"$db", bsonkit.String("admin")))
	if reply.Lookup("ok").Double() != 1 {
		t.Fatalf("configure: %s", reply)
	}
	r := dialRaw(t, s)
	r.send(0, bsonkit.D("find", bsonkit.String("c"), "$db", bsonkit.String("db")))
	_ = r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := wire.ReadMessage(r.nc, nil); err == nil {
		t.Fatal("a reply came back")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection left open")
	}
	// The admin connection, which ran no find, is untouched.
	if reply := admin.run(bsonkit.D("ping", bsonkit.Int32(1), "$db", bsonkit.String("admin"))); reply.Lookup("ok").Double() != 1 {
		t.Fatalf("ping: %s", reply)
	}
}
