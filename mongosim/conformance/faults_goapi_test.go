package conformance

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"

	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// Faults mongod has no command for, driven through mongosim's Go API on a
// server of the test's own (they run on mongosim only).

func faultServer(t *testing.T) *mongosim.Server {
	t.Helper()
	skipOnReal(t)
	return simtest.Start(t)
}

// directClient connects straight to s (Single topology), so it sees the
// node even while it is not primary.
func directClient(t *testing.T, s *mongosim.Server, opts ...*options.ClientOptions) *mongo.Client {
	t.Helper()
	o := options.Client().ApplyURI("mongodb://" + s.Addr() + "/?directConnection=true").SetTimeout(20 * time.Second).SetHeartbeatInterval(simtest.HeartbeatInterval)
	c, err := mongo.Connect(append([]*options.ClientOptions{o}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

func TestStepDownHello(t *testing.T) {
	s := faultServer(t)
	c := directClient(t, s)
	hello := func() bson.Raw { return runCmd(t, c.Database("admin"), bson.D{{Key: "hello", Value: 1}}) }
	before := hello()
	if err := s.StepDown(time.Minute); err != nil {
		t.Fatal(err)
	}
	h := hello()
	if lookup(t, h, "isWritablePrimary").Boolean() || !lookup(t, h, "secondary").Boolean() {
		t.Fatalf("stepped-down hello: %s", h)
	}
	for _, f := range []string{"primary", "electionId"} {
		if _, err := h.LookupErr(f); err == nil {
			t.Fatalf("stepped-down hello has %s: %s", f, h)
		}
	}
	if lookup(t, h, "setName").StringValue() != "rs0" || lookup(t, h, "me").StringValue() != s.Addr() {
		t.Fatalf("hello %s", h)
	}
	c0 := lookup(t, before, "topologyVersion", "counter").Int64()
	if c1 := lookup(t, h, "topologyVersion", "counter").Int64(); c1 != c0+1 {
		t.Fatalf("topologyVersion counter %d after step-down, was %d", c1, c0)
	}
	legacy := runCmd(t, c.Database("admin"), bson.D{{Key: "isMaster", Value: 1}})
	if lookup(t, legacy, "ismaster").Boolean() {
		t.Fatalf("isMaster: %s", legacy)
	}
	st := runCmd(t, c.Database("admin"), bson.D{{Key: "replSetGetStatus", Value: 1}})
	if lookup(t, st, "myState").Int32() != 2 {
		t.Fatalf("replSetGetStatus: %s", st)
	}
	s.StepUp()
	h = hello()
	if !lookup(t, h, "isWritablePrimary").Boolean() || lookup(t, h, "primary").StringValue() != s.Addr() ||
		lookup(t, h, "topologyVersion", "counter").Int64() != c0+2 {
		t.Fatalf("hello after step-up: %s", h)
	}
	if !s.IsWritablePrimary() {
		t.Fatal("IsWritablePrimary false after StepUp")
	}
}

func TestStepDownRefusesWritesAndPrimaryReads(t *testing.T) {
	s := faultServer(t)
	c := directClient(t, s, options.Client().SetRetryWrites(false))
	db := c.Database("app")
	if _, err := db.Collection("c").InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.StepDown(time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err := db.Collection("c").InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 2}})
	ce := cmdError(t, err)
	if ce.Code != 10107 || ce.Name != "NotWritablePrimary" || ce.Message != "not primary" {
		t.Fatalf("insert on a secondary: %+v", ce)
	}
	// The raw reply names the new topology.
	raw, err := db.RunCommand(ctxT(t), bson.D{{Key: "delete", Value: "c"}, {Key: "deletes", Value: bson.A{bson.D{{Key: "q", Value: bson.D{}}, {Key: "limit", Value: 0}}}}}).Raw()
	if err == nil {
		t.Fatal("delete on a secondary succeeded")
	}
	if lookup(t, raw, "topologyVersion", "counter").Int64() != 1 {
		t.Fatalf("error reply %s", raw)
	}
	wantCode(t, db.RunCommand(ctxT(t), bson.D{{Key: "create", Value: "d"}}).Err(), 10107)
	// A direct connection reads with primaryPreferred: allowed. An
	// explicit primary read preference is refused.
	if n, err := db.Collection("c").CountDocuments(ctxT(t), bson.D{}); err != nil || n != 1 {
		t.Fatalf("secondaryOk read: %d %v", n, err)
	}
	r := dialRawAddr(t, s.Addr())
	reply := r.command(t, bson.D{{Key: "find", Value: "c"}, {Key: "$db", Value: "app"}, {Key: "$readPreference", Value: bson.D{{Key: "mode", Value: "primary"}}}})
	if lookup(t, reply, "code").Int32() != 13435 || lookup(t, reply, "errmsg").StringValue() != "not primary and secondaryOk=false" {
		t.Fatalf("primary read: %s", reply)
	}
	reply = r.command(t, bson.D{{Key: "find", Value: "c"}, {Key: "$db", Value: "app"}})
	if lookup(t, reply, "codeName").StringValue() != "NotPrimaryNoSecondaryOk" {
		t.Fatalf("read without a read preference: %s", reply)
	}
	reply = r.command(t, bson.D{{Key: "find", Value: "c"}, {Key: "$db", Value: "app"}, {Key: "$readPreference", Value: bson.D{{Key: "mode", Value: "secondaryPreferred"}}}})
	if lookup(t, reply, "ok").Double() != 1 {
		t.Fatalf("secondaryPreferred read: %s", reply)
	}
	// Commands allowed anywhere still run.
	reply = r.command(t, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}})
	if lookup(t, reply, "ok").Double() != 1 {
		t.Fatalf("ping: %s", reply)
	}
}

func TestStepDownRetryableWriteLabel(t *testing.T) {
	s := faultServer(t)
	// No timeout: with one (client-side operation timeout) the driver
	// retries until it expires; without, it retries exactly once.
	c, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + s.Addr() + "/?directConnection=true").SetHeartbeatInterval(simtest.HeartbeatInterval))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	if err := s.StepDown(time.Minute); err != nil {
		t.Fatal(err)
	}
	// A direct connection retries on the same (still secondary) node: the
	// retry fails too and the error carries RetryableWriteError.
	_, err = c.Database("app").Collection("c").InsertOne(context.Background(), bson.D{{Key: "_id", Value: 1}})
	ce := cmdError(t, err)
	if ce.Code != 10107 || !ce.HasErrorLabel("RetryableWriteError") {
		t.Fatalf("retryable insert on a secondary: %+v", ce)
	}
}

func TestStepDownDriverWaitsForPrimary(t *testing.T) {
	s := faultServer(t)
	var mu sync.Mutex
	var kinds []string
	sm := &event.ServerMonitor{ServerDescriptionChanged: func(e *event.ServerDescriptionChangedEvent) {
		mu.Lock()
		kinds = append(kinds, e.NewDescription.Kind)
		mu.Unlock()
	}}
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI()).SetServerMonitor(sm).SetTimeout(30 * time.Second).SetHeartbeatInterval(simtest.HeartbeatInterval))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	coll := c.Database("app").Collection("c")
	if _, err := coll.InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	const downFor = 700 * time.Millisecond
	start := time.Now()
	if err := s.StepDown(downFor); err != nil {
		t.Fatal(err)
	}
	// The streaming hello reports the step-down at once; the write waits
	// for a primary and succeeds when the node is re-elected.
	if _, err := coll.InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 2}}); err != nil {
		t.Fatalf("insert across the step-down: %v", err)
	}
	if el := time.Since(start); el < downFor-50*time.Millisecond {
		t.Fatalf("insert finished after %v, before the node was primary again", el)
	}
	mu.Lock()
	seen := append([]string(nil), kinds...)
	mu.Unlock()
	sawSecondary := false
	for _, k := range seen {
		if k == "RSSecondary" {
			sawSecondary = true
		}
	}
	if !sawSecondary || seen[len(seen)-1] != "RSPrimary" {
		t.Fatalf("server kinds the driver saw: %v", seen)
	}
	if n, _ := coll.CountDocuments(ctxT(t), bson.D{}); n != 2 {
		t.Fatalf("documents %d, want 2", n)
	}
}

func TestStepDownInterruptsWriteInFlight(t *testing.T) {
	s := faultServer(t)
	app := "inflight-" + simtest.DBName(t)
	c, log := appClientURI(t, s.URI(), app, options.Client().SetRetryWrites(false))
	coll := c.Database("app").Collection("c")
	admin := c.Database("admin")
	runCmd(t, admin, bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: bson.D{{Key: "times", Value: 1}}},
		{Key: "data", Value: bson.D{{Key: "failCommands", Value: bson.A{"insert"}}, {Key: "blockConnection", Value: true},
			{Key: "blockTimeMS", Value: 400}, {Key: "appName", Value: app}}}})
	done := make(chan error, 1)
	go func() {
		_, err := coll.InsertOne(context.Background(), bson.D{{Key: "_id", Value: 1}})
		done <- err
	}()
	// Step down while the insert is blocked in the fail point.
	waitCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.RunCommand(waitCtx, bson.D{{Key: "waitForFailPoint", Value: "failCommand"}, {Key: "timesEntered", Value: 1}, {Key: "maxTimeMS", Value: 10000}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.StepDown(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	err := <-done
	ce := cmdError(t, err)
	if ce.Code != 11602 || ce.Name != "InterruptedDueToReplStateChange" {
		t.Fatalf("in-flight insert: %+v", ce)
	}
	if log.count("insert") != 1 {
		t.Fatalf("attempts %d", log.count("insert"))
	}
	if n, _ := coll.CountDocuments(ctxT(t), bson.D{}); n != 0 {
		t.Fatalf("the interrupted insert was applied (%d documents)", n)
	}
}

func TestStepDownRetryableWriteSucceedsAfterReelection(t *testing.T) {
	s := faultServer(t)
	app := "retry-" + simtest.DBName(t)
	c, log := appClientURI(t, s.URI(), app)
	coll := c.Database("app").Collection("c")
	admin := c.Database("admin")
	runCmd(t, admin, bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: bson.D{{Key: "times", Value: 1}}},
		{Key: "data", Value: bson.D{{Key: "failCommands", Value: bson.A{"insert"}}, {Key: "blockConnection", Value: true},
			{Key: "blockTimeMS", Value: 300}, {Key: "appName", Value: app}}}})
	done := make(chan error, 1)
	go func() {
		_, err := coll.InsertOne(context.Background(), bson.D{{Key: "_id", Value: 1}})
		done <- err
	}()
	if err := admin.RunCommand(ctxT(t), bson.D{{Key: "waitForFailPoint", Value: "failCommand"}, {Key: "timesEntered", Value: 1}, {Key: "maxTimeMS", Value: 10000}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.StepDown(500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// 11602 with RetryableWriteError: the driver waits for the new primary
	// and retries once, successfully.
	if err := <-done; err != nil {
		t.Fatalf("retryable insert: %v", err)
	}
	if log.count("insert") != 2 {
		t.Fatalf("attempts %d, want 2", log.count("insert"))
	}
	if n, _ := coll.CountDocuments(ctxT(t), bson.D{}); n != 1 {
		t.Fatalf("documents %d", n)
	}
}

func TestStepDownErrors(t *testing.T) {
	skipOnReal(t)
	standalone := simtest.Start(t, mongosim.Options{Standalone: true})
	if err := standalone.StepDown(time.Second); err == nil {
		t.Fatal("a standalone stepped down")
	}
	s := simtest.Start(t)
	if err := s.StepDown(0); err == nil {
		t.Fatal("zero step-down accepted")
	}
	if !s.IsWritablePrimary() {
		t.Fatal("failed step-down changed the state")
	}
}

func TestRefuseConnections(t *testing.T) {
	s := faultServer(t)
	existing := directClient(t, s)
	if err := existing.Ping(ctxT(t), nil); err != nil {
		t.Fatal(err)
	}
	s.RefuseConnections(time.Minute)
	err := pingURI(t, s.URI())
	wantConnectError(t, err, "server selection error")
	// Open connections keep working.
	if err := existing.Database("admin").RunCommand(ctxT(t), bson.D{{Key: "ping", Value: 1}}).Err(); err != nil {
		t.Fatalf("existing connection: %v", err)
	}
	s.RefuseConnections(0)
	if err := pingURI(t, s.URI()); err != nil {
		t.Fatalf("after refusing ended: %v", err)
	}
	// A refusal ends by itself.
	s.RefuseConnections(200 * time.Millisecond)
	time.Sleep(250 * time.Millisecond) // let the refusal window pass
	if err := pingURI(t, s.URI()); err != nil {
		t.Fatalf("after the refusal expired: %v", err)
	}
}

func TestReplyLatency(t *testing.T) {
	s := faultServer(t)
	c := directClient(t, s)
	ping := func() time.Duration {
		start := time.Now()
		if err := c.Database("admin").RunCommand(ctxT(t), bson.D{{Key: "ping", Value: 1}}).Err(); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	ping()
	s.SetReplyLatency(150 * time.Millisecond)
	if d := ping(); d < 150*time.Millisecond {
		t.Fatalf("ping with 150ms latency took %v", d)
	}
	s.SetReplyLatency(0)
	if d := ping(); d > 140*time.Millisecond {
		t.Fatalf("ping without latency took %v", d)
	}
}

func TestDropConnectionsGoAPI(t *testing.T) {
	s := faultServer(t)
	c := directClient(t, s, options.Client().SetRetryReads(false))
	if err := c.Ping(ctxT(t), nil); err != nil {
		t.Fatal(err)
	}
	if n := s.DropConnections(); n < 1 {
		t.Fatalf("dropped %d connections", n)
	}
	// The next command on a pooled connection sees the cut (a network
	// error, or the pool cleared when the driver's monitor saw it first);
	// a later one reconnects.
	var err error
	for i := 0; i < 5; i++ {
		if err = c.Database("admin").RunCommand(ctxT(t), bson.D{{Key: "ping", Value: 1}}).Err(); err == nil {
			break
		}
		var cleared driver.RetryablePoolError
		if !mongo.IsNetworkError(err) && !(errors.As(err, &cleared) && cleared.Retryable()) {
			t.Fatalf("neither a network error nor a cleared pool: %v", err)
		}
	}
	if err != nil {
		t.Fatalf("no reconnect: %v", err)
	}
}

func TestCommandLogByAppName(t *testing.T) {
	s := faultServer(t)
	src, _ := appClientURI(t, s.URI(), "mlink-source")
	other, _ := appClientURI(t, s.URI(), "loader")
	if _, err := other.Database("app").Collection("c").InsertMany(ctxT(t), []any{bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "_id", Value: 2}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Database("app").Collection("c").UpdateOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: 1}}}}); err != nil {
		t.Fatal(err)
	}
	cur, err := src.Database("app").Collection("c").Find(ctxT(t), bson.D{}, options.Find().SetBatchSize(1))
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.Raw
	if err := cur.All(ctxT(t), &docs); err != nil || len(docs) != 2 {
		t.Fatalf("find: %d %v", len(docs), err)
	}
	_ = src.Database("app").RunCommand(ctxT(t), bson.D{{Key: "noSuchCommand", Value: 1}}).Err()

	counts := s.CommandCounts()
	if counts["mlink-source"]["find"] != 1 || counts["mlink-source"]["getMore"] < 1 || counts["mlink-source"]["noSuchCommand"] != 1 {
		t.Fatalf("mlink-source counts %v", counts["mlink-source"])
	}
	if counts["loader"]["insert"] != 1 || counts["loader"]["update"] != 1 {
		t.Fatalf("loader counts %v", counts["loader"])
	}
	// The handshake hello is counted under the name it announced.
	if counts["mlink-source"]["hello"]+counts["mlink-source"]["isMaster"] == 0 {
		t.Fatalf("no handshake counted: %v", counts["mlink-source"])
	}
	if n := s.WriteCommandCount("mlink-source"); n != 0 {
		t.Fatalf("mlink-source wrote %d times", n)
	}
	if n := s.WriteCommandCount("loader"); n != 2 {
		t.Fatalf("loader writes %d, want 2", n)
	}
	if s.CommandCount("loader", "insert") != 1 {
		t.Fatal("CommandCount")
	}
	s.ResetCommandCounts()
	if n := s.CommandCount("loader", "insert"); n != 0 {
		t.Fatalf("after reset %d", n)
	}
}

// appClientURI is appClient for a server of the test's own.
func appClientURI(t *testing.T, uri, appName string, opts ...*options.ClientOptions) (*mongo.Client, *commandLog) {
	t.Helper()
	log := &commandLog{}
	o := options.Client().ApplyURI(uri).SetAppName(appName).SetTimeout(30 * time.Second).SetHeartbeatInterval(simtest.HeartbeatInterval).
		SetMonitor(&event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
			log.mu.Lock()
			log.names = append(log.names, e.CommandName)
			log.mu.Unlock()
		}})
	c, err := mongo.Connect(append([]*options.ClientOptions{o}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c, log
}
