package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// failCommand tests run against mongod's test commands (a real server needs
// enableTestCommands=1). Every fail point filters on a unique appName so
// other clients never trip it, and is switched off when the test ends.

// commandLog records the commands a client started, by name.
type commandLog struct {
	mu    sync.Mutex
	names []string
}

func (l *commandLog) count(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, x := range l.names {
		if x == name {
			n++
		}
	}
	return n
}

// appClient connects a client named appName (unique per test) whose
// started commands are logged; retryable writes/reads follow opts.
func appClient(t *testing.T, appName string, opts ...*options.ClientOptions) (*mongo.Client, *commandLog) {
	t.Helper()
	log := &commandLog{}
	o := options.Client().ApplyURI(suite.uri).SetAppName(appName).SetTimeout(30 * time.Second).SetHeartbeatInterval(simtest.HeartbeatInterval).
		SetMonitor(&event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
			log.mu.Lock()
			log.names = append(log.names, e.CommandName)
			log.mu.Unlock()
		}})
	all := append([]*options.ClientOptions{o}, opts...)
	c, err := mongo.Connect(all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c, log
}

// uniqueApp is an appName no other test uses.
func uniqueApp(t *testing.T) string { return "fp-" + simtest.DBName(t) }

// setFailPoint configures failCommand and turns it off at cleanup; it
// returns configureFailPoint's count.
func setFailPoint(t *testing.T, mode any, data bson.D) int32 {
	t.Helper()
	admin := suite.client.Database("admin")
	raw := runCmd(t, admin, bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: mode}, {Key: "data", Value: data}})
	t.Cleanup(func() {
		_ = admin.RunCommand(context.Background(), bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "off"}}).Err()
	})
	return lookup(t, raw, "count").Int32()
}

func cmdError(t *testing.T, err error) mongo.CommandError {
	t.Helper()
	var ce mongo.CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("want a command error, got %T: %v", err, err)
	}
	return ce
}

func TestFailCommandErrorCodeOnlyForItsApp(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	setFailPoint(t, "alwaysOn", bson.D{{Key: "failCommands", Value: bson.A{"find"}}, {Key: "errorCode", Value: 2}, {Key: "appName", Value: app}})
	c, _ := appClient(t, app, options.Client().SetRetryReads(false))
	err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "find", Value: "c"}}).Err()
	ce := cmdError(t, err)
	if ce.Code != 2 || ce.Name != "BadValue" || ce.Message != "Failing command via 'failCommand' failpoint" || len(ce.Labels) != 0 {
		t.Fatalf("error %+v", ce)
	}
	// Other commands and other applications are untouched.
	if err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Err(); err != nil {
		t.Fatalf("count: %v", err)
	}
	if err := db.RunCommand(ctxT(t), bson.D{{Key: "find", Value: "c"}}).Err(); err != nil {
		t.Fatalf("find from another app: %v", err)
	}
}

func TestFailCommandModeTimes(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	if n := setFailPoint(t, bson.D{{Key: "times", Value: 2}}, bson.D{{Key: "failCommands", Value: bson.A{"count"}}, {Key: "errorCode", Value: 8}, {Key: "appName", Value: app}}); n < 0 {
		t.Fatalf("count %d", n)
	}
	c, _ := appClient(t, app, options.Client().SetRetryReads(false))
	var got []int32
	for i := 0; i < 4; i++ {
		err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Err()
		code := int32(0)
		if err != nil {
			code = cmdError(t, err).Code
		}
		got = append(got, code)
	}
	if got[0] != 8 || got[1] != 8 || got[2] != 0 || got[3] != 0 {
		t.Fatalf("times 2: codes %v", got)
	}
}

func TestFailCommandModeSkip(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	setFailPoint(t, bson.D{{Key: "skip", Value: 2}}, bson.D{{Key: "failCommands", Value: bson.A{"count"}}, {Key: "errorCode", Value: 8}, {Key: "appName", Value: app}})
	c, _ := appClient(t, app, options.Client().SetRetryReads(false))
	var got []bool
	for i := 0; i < 4; i++ {
		got = append(got, c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Err() != nil)
	}
	if got[0] || got[1] || !got[2] || !got[3] {
		t.Fatalf("skip 2: failed %v", got)
	}
}

func TestFailCommandActivationProbability(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	c, _ := appClient(t, app, options.Client().SetRetryReads(false))
	data := bson.D{{Key: "failCommands", Value: bson.A{"count"}}, {Key: "errorCode", Value: 8}, {Key: "appName", Value: app}}
	setFailPoint(t, bson.D{{Key: "activationProbability", Value: 0.0}}, data)
	for i := 0; i < 20; i++ {
		if err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Err(); err != nil {
			t.Fatalf("probability 0 failed a command: %v", err)
		}
	}
	setFailPoint(t, bson.D{{Key: "activationProbability", Value: 1.0}}, data)
	for i := 0; i < 20; i++ {
		if err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Err(); err == nil {
			t.Fatal("probability 1 let a command through")
		}
	}
}

func TestFailCommandOffAndCount(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	data := bson.D{{Key: "failCommands", Value: bson.A{"count"}}, {Key: "errorCode", Value: 8}, {Key: "appName", Value: app}}
	before := setFailPoint(t, "alwaysOn", data)
	c, _ := appClient(t, app, options.Client().SetRetryReads(false))
	for i := 0; i < 3; i++ {
		_ = c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Err()
	}
	// configureFailPoint reports how often the point fired so far.
	raw := runCmd(t, suite.client.Database("admin"), bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "off"}})
	if got := lookup(t, raw, "count").Int32(); got != before+3 {
		t.Fatalf("count after 3 failures: %d, want %d", got, before+3)
	}
	if err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Err(); err != nil {
		t.Fatalf("off: %v", err)
	}
}

func TestFailCommandCloseConnection(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"insert"}}, {Key: "closeConnection", Value: true}, {Key: "appName", Value: app}})
	c, _ := appClient(t, app, options.Client().SetRetryWrites(false))
	_, err := c.Database(db.Name()).Collection("c").InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 1}})
	if err == nil || !mongo.IsNetworkError(err) {
		t.Fatalf("want a network error, got %v", err)
	}
	// Nothing was inserted: the command failed before it ran.
	if n, err := db.Collection("c").CountDocuments(ctxT(t), bson.D{}); err != nil || n != 0 {
		t.Fatalf("count %d %v", n, err)
	}
	if _, err := c.Database(db.Name()).Collection("c").InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatalf("insert after the fail point: %v", err)
	}
}

func TestFailCommandBlockConnection(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"count"}},
		{Key: "blockConnection", Value: true}, {Key: "blockTimeMS", Value: 300}, {Key: "appName", Value: app}})
	c, _ := appClient(t, app)
	start := time.Now()
	if err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Err(); err != nil {
		t.Fatalf("blocked count: %v", err)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("count returned after %v, want >= 300ms", el)
	}
	start = time.Now()
	if err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 250*time.Millisecond {
		t.Fatalf("second count took %v: the fail point fired twice", el)
	}
}

func TestFailCommandBlockThenError(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"count"}},
		{Key: "blockConnection", Value: true}, {Key: "blockTimeMS", Value: 200}, {Key: "errorCode", Value: 96}, {Key: "appName", Value: app}})
	c, _ := appClient(t, app, options.Client().SetRetryReads(false))
	start := time.Now()
	err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Err()
	if ce := cmdError(t, err); ce.Code != 96 || ce.Name != "OperationFailed" {
		t.Fatalf("error %+v", ce)
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Fatalf("failed after %v, want >= 200ms", el)
	}
}

func TestFailCommandBlockTimeMSRequired(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	setFailPoint(t, "alwaysOn", bson.D{{Key: "failCommands", Value: bson.A{"count"}}, {Key: "blockConnection", Value: true}, {Key: "appName", Value: app}})
	c, _ := appClient(t, app, options.Client().SetRetryReads(false))
	err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Err()
	wantCode(t, err, 72) // InvalidOptions: must specify 'blockTimeMS'
}

func TestFailCommandErrorLabelsOverride(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	// A non-retryable code with the RetryableWriteError label: the driver
	// follows the label and retries once.
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"insert"}},
		{Key: "errorCode", Value: 2}, {Key: "errorLabels", Value: bson.A{"RetryableWriteError"}}, {Key: "appName", Value: app}})
	c, log := appClient(t, app)
	if _, err := c.Database(db.Name()).Collection("c").InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatalf("insert should succeed on retry: %v", err)
	}
	if n := log.count("insert"); n != 2 {
		t.Fatalf("insert attempts %d, want 2", n)
	}
	// An empty errorLabels removes the label mongod would add to a
	// retryable code: the driver does not retry.
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"insert"}},
		{Key: "errorCode", Value: 11602}, {Key: "errorLabels", Value: bson.A{}}, {Key: "appName", Value: app}})
	_, err := c.Database(db.Name()).Collection("c").InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 2}})
	ce := cmdError(t, err)
	if ce.Code != 11602 || len(ce.Labels) != 0 {
		t.Fatalf("error %+v", ce)
	}
	if n := log.count("insert"); n != 3 {
		t.Fatalf("insert attempts %d, want 3 (no retry)", n)
	}
}

func TestFailCommandServerAddsRetryableWriteLabel(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	data := bson.D{{Key: "failCommands", Value: bson.A{"insert"}}, {Key: "errorCode", Value: 10107}, {Key: "appName", Value: app}}
	// A retryable write (txnNumber) failing with NotWritablePrimary gets
	// RetryableWriteError from the server; the driver retries and succeeds.
	// (The reply's current topologyVersion tells the driver the error is
	// stale, so it does not wait for a new primary.)
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, data)
	c, log := appClient(t, app)
	if _, err := c.Database(db.Name()).Collection("c").InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatalf("retried insert: %v", err)
	}
	if n := log.count("insert"); n != 2 {
		t.Fatalf("insert attempts %d, want 2", n)
	}
	// Without retryable writes there is no txnNumber and no label.
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, data)
	plain, _ := appClient(t, app, options.Client().SetRetryWrites(false))
	_, err := plain.Database(db.Name()).Collection("c").InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 2}})
	ce := cmdError(t, err)
	if ce.Code != 10107 || ce.Name != "NotWritablePrimary" || ce.HasErrorLabel("RetryableWriteError") {
		t.Fatalf("error %+v", ce)
	}
	if n, _ := db.Collection("c").CountDocuments(ctxT(t), bson.D{}); n != 1 {
		t.Fatalf("documents %d, want 1", n)
	}
}

func TestFailCommandWriteConcernError(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	wce := bson.D{{Key: "code", Value: 100}, {Key: "codeName", Value: "UnsatisfiableWriteConcern"}, {Key: "errmsg", Value: "Not enough data-bearing nodes"}}
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"insert"}},
		{Key: "writeConcernError", Value: wce}, {Key: "appName", Value: app}})
	c, log := appClient(t, app)
	_, err := c.Database(db.Name()).Collection("c").InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 1}})
	var we mongo.WriteException
	if !errors.As(err, &we) || we.WriteConcernError == nil {
		t.Fatalf("want a write concern error, got %T %v", err, err)
	}
	if we.WriteConcernError.Code != 100 || we.WriteConcernError.Message != "Not enough data-bearing nodes" || len(we.Labels) != 0 {
		t.Fatalf("write concern error %+v labels %v", we.WriteConcernError, we.Labels)
	}
	// The write itself happened; 100 is not retryable, so one attempt.
	if n, _ := db.Collection("c").CountDocuments(ctxT(t), bson.D{}); n != 1 || log.count("insert") != 1 {
		t.Fatalf("documents %d attempts %d", n, log.count("insert"))
	}
}

func TestFailCommandRetryableWriteConcernError(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	wce := bson.D{{Key: "code", Value: 189}, {Key: "errmsg", Value: "Primary stepped down while waiting for replication"}}
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"update"}},
		{Key: "writeConcernError", Value: wce}, {Key: "appName", Value: app}})
	coll := db.Collection("c")
	insertDocs(t, coll, bson.D{{Key: "_id", Value: 1}, {Key: "n", Value: 0}})
	c, log := appClient(t, app)
	// PrimarySteppedDown in a writeConcernError of a retryable write gets
	// RetryableWriteError: the driver retries, and the retry is not applied
	// twice.
	res, err := c.Database(db.Name()).Collection("c").UpdateOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}})
	if err != nil {
		t.Fatalf("retried update: %v", err)
	}
	if log.count("update") != 2 || res.MatchedCount != 1 {
		t.Fatalf("attempts %d result %+v", log.count("update"), res)
	}
	var got struct{ N int32 }
	if err := coll.FindOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}).Decode(&got); err != nil || got.N != 1 {
		t.Fatalf("n = %d (%v), want 1: applied exactly once", got.N, err)
	}
}

func TestFailCommandWriteConcernErrorNotForReads(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	setFailPoint(t, "alwaysOn", bson.D{{Key: "failCommands", Value: bson.A{"find"}},
		{Key: "writeConcernError", Value: bson.D{{Key: "code", Value: 64}, {Key: "errmsg", Value: "timeout"}}}, {Key: "appName", Value: app}})
	c, _ := appClient(t, app)
	raw, err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "find", Value: "c"}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.LookupErr("writeConcernError"); err == nil {
		t.Fatalf("find got a writeConcernError: %s", raw)
	}
}

func TestFailCommandHelloAliasAndAppName(t *testing.T) {
	app := uniqueApp(t)
	// Listing isMaster fails hello too (aliases of one command), only for
	// the named application. RunCommand's hello is not the handshake.
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"isMaster"}},
		{Key: "errorCode", Value: 94}, {Key: "appName", Value: app}})
	c, _ := appClient(t, app)
	if err := c.Database("admin").RunCommand(ctxT(t), bson.D{{Key: "ping", Value: 1}}).Err(); err != nil {
		t.Fatal(err)
	}
	// The driver's monitors may consume the single activation with their
	// own hellos; whoever gets it sees code 94, everyone else succeeds.
	err := c.Database("admin").RunCommand(ctxT(t), bson.D{{Key: "hello", Value: 1}}).Err()
	if err != nil {
		wantCode(t, err, 94)
	}
	raw := runCmd(t, suite.client.Database("admin"), bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "off"}})
	if lookup(t, raw, "count").Int32() < 1 {
		t.Fatalf("hello never tripped the isMaster fail point: %s", raw)
	}
}

func TestFailCommandNamespaceFilter(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	setFailPoint(t, "alwaysOn", bson.D{{Key: "failCommands", Value: bson.A{"count"}}, {Key: "errorCode", Value: 8},
		{Key: "namespace", Value: db.Name() + ".bad"}, {Key: "appName", Value: app}})
	c, _ := appClient(t, app, options.Client().SetRetryReads(false))
	if err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "good"}}).Err(); err != nil {
		t.Fatalf("other namespace: %v", err)
	}
	err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "bad"}}).Err()
	wantCode(t, err, 8)
}

func TestFailCommandChangeStreamLabels(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	c, _ := appClient(t, app, options.Client().SetRetryReads(false))
	cdb := c.Database(db.Name())
	stream := bson.D{{Key: "aggregate", Value: "c"}, {Key: "pipeline", Value: bson.A{bson.D{{Key: "$changeStream", Value: bson.D{}}}}}, {Key: "cursor", Value: bson.D{}}}
	plain := bson.D{{Key: "aggregate", Value: "c"}, {Key: "pipeline", Value: bson.A{bson.D{{Key: "$match", Value: bson.D{}}}}}, {Key: "cursor", Value: bson.D{}}}

	// A retryable error on a change stream is resumable; on a plain
	// aggregate it has no label.
	setFailPoint(t, bson.D{{Key: "times", Value: 2}}, bson.D{{Key: "failCommands", Value: bson.A{"aggregate"}}, {Key: "errorCode", Value: 6}, {Key: "appName", Value: app}})
	ce := cmdError(t, cdb.RunCommand(ctxT(t), stream).Err())
	if ce.Code != 6 || !ce.HasErrorLabel("ResumableChangeStreamError") || len(ce.Labels) != 1 {
		t.Fatalf("change stream error %+v", ce)
	}
	ce = cmdError(t, cdb.RunCommand(ctxT(t), plain).Err())
	if ce.Code != 6 || len(ce.Labels) != 0 {
		t.Fatalf("plain aggregate error %+v", ce)
	}
	// A fatal change-stream code is labelled non-resumable.
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"aggregate"}}, {Key: "errorCode", Value: 286}, {Key: "appName", Value: app}})
	ce = cmdError(t, cdb.RunCommand(ctxT(t), stream).Err())
	if ce.Code != 286 || !ce.HasErrorLabel("NonResumableChangeStreamError") || ce.HasErrorLabel("ResumableChangeStreamError") {
		t.Fatalf("history lost error %+v", ce)
	}
	// A non-retryable code gets no label.
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"aggregate"}}, {Key: "errorCode", Value: 2}, {Key: "appName", Value: app}})
	ce = cmdError(t, cdb.RunCommand(ctxT(t), stream).Err())
	if ce.Code != 2 || len(ce.Labels) != 0 {
		t.Fatalf("bad value error %+v", ce)
	}
}

func TestWaitForFailPoint(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	count := setFailPoint(t, "alwaysOn", bson.D{{Key: "failCommands", Value: bson.A{"count"}}, {Key: "errorCode", Value: 8}, {Key: "appName", Value: app}})
	c, _ := appClient(t, app, options.Client().SetRetryReads(false))
	admin := suite.client.Database("admin")
	// Nothing entered the point yet: the wait times out.
	err := admin.RunCommand(ctxT(t), bson.D{{Key: "waitForFailPoint", Value: "failCommand"}, {Key: "timesEntered", Value: count + 1}, {Key: "maxTimeMS", Value: 50}}).Err()
	wantCode(t, err, 50) // MaxTimeMSExpired
	done := make(chan error, 1)
	go func() {
		done <- admin.RunCommand(context.Background(), bson.D{{Key: "waitForFailPoint", Value: "failCommand"},
			{Key: "timesEntered", Value: count + 2}, {Key: "maxTimeMS", Value: 20000}}).Err()
	}()
	for i := 0; i < 2; i++ {
		_ = c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Err()
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waitForFailPoint: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("waitForFailPoint did not return after two activations")
	}
}

func TestConfigureFailPointErrors(t *testing.T) {
	admin := suite.client.Database("admin")
	err := cmdErr(t, admin, bson.D{{Key: "configureFailPoint", Value: "noSuchFailPoint"}, {Key: "mode", Value: "off"}})
	wantCode(t, err, 266) // FailPointSetFailed
	err = cmdErr(t, admin, bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "sometimes"}})
	wantCode(t, err, 2)
	err = cmdErr(t, admin, bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: bson.D{{Key: "times", Value: -1}}}})
	wantCode(t, err, 2)
	err = cmdErr(t, newDB(t), bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "off"}})
	wantCode(t, err, 13) // admin only
}

func TestFailCommandErrorExtraInfo(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	extra := bson.D{{Key: "keyPattern", Value: bson.D{{Key: "sku", Value: 1}}}, {Key: "keyValue", Value: bson.D{{Key: "sku", Value: "a"}}}}
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"count"}},
		{Key: "errorCode", Value: 11000}, {Key: "errorExtraInfo", Value: extra}, {Key: "appName", Value: app}})
	c, _ := appClient(t, app, options.Client().SetRetryReads(false))
	raw, err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Raw()
	wantCode(t, err, 11000)
	// DuplicateKey's extra info is part of the error reply.
	if lookup(t, raw, "keyPattern", "sku").Int32() != 1 || lookup(t, raw, "keyValue", "sku").StringValue() != "a" {
		t.Fatalf("reply %s", raw)
	}
}

func TestFailCommandThreadName(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	// One pooled connection: its connectionId names its thread "conn<id>".
	c, _ := appClient(t, app, options.Client().SetMaxPoolSize(1).SetRetryReads(false))
	hello := runCmd(t, c.Database("admin"), bson.D{{Key: "hello", Value: 1}})
	id := lookup(t, hello, "connectionId").AsInt64()
	setFailPoint(t, "alwaysOn", bson.D{{Key: "failCommands", Value: bson.A{"count"}}, {Key: "errorCode", Value: 8},
		{Key: "threadName", Value: fmt.Sprintf("conn%d", id)}})
	wantCode(t, c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Err(), 8)
	// Another connection (the suite's client) is not that thread.
	if err := db.RunCommand(ctxT(t), bson.D{{Key: "count", Value: "c"}}).Err(); err != nil {
		t.Fatalf("other connection: %v", err)
	}
}

func TestFailCommandErrorAndWriteConcernError(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	// mongod waits for write concern after a failed command too: both the
	// error and the writeConcernError reach the reply.
	setFailPoint(t, "alwaysOn", bson.D{{Key: "failCommands", Value: bson.A{"insert"}}, {Key: "errorCode", Value: 2},
		{Key: "writeConcernError", Value: bson.D{{Key: "code", Value: 100}, {Key: "errmsg", Value: "Not enough data-bearing nodes"}}},
		{Key: "appName", Value: app}})
	c, _ := appClient(t, app, options.Client().SetRetryWrites(false))
	raw, err := c.Database(db.Name()).RunCommand(ctxT(t), bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: 1}}}}}).Raw()
	wantCode(t, err, 2)
	if lookup(t, raw, "writeConcernError", "code").Int32() != 100 || lookup(t, raw, "ok").Double() != 0 {
		t.Fatalf("reply %s", raw)
	}
	if n, _ := db.Collection("c").CountDocuments(ctxT(t), bson.D{}); n != 0 {
		t.Fatalf("the failed insert ran (%d documents)", n)
	}
}
