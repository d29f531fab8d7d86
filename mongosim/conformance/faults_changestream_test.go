package conformance

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// A change stream's getMore failing with a resumable error carries
// ResumableChangeStreamError, so the driver resumes by itself; a fatal one
// does not.

func TestFailCommandGetMoreResumesChangeStream(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	c, log := appClient(t, app)
	coll := c.Database(db.Name()).Collection("c")
	if err := db.CreateCollection(ctxT(t), "c"); err != nil {
		t.Fatal(err)
	}
	cs, err := coll.Watch(ctxT(t), mongo.Pipeline{}, options.ChangeStream().SetMaxAwaitTime(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close(context.Background())
	insertDocs(t, db.Collection("c"), bson.D{{Key: "_id", Value: 1}})
	if ev := nextEvent(t, cs); lookup(t, ev, "documentKey", "_id").Int32() != 1 {
		t.Fatalf("first event %s", ev)
	}
	aggregates := log.count("aggregate")
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"getMore"}},
		{Key: "errorCode", Value: 6}, {Key: "appName", Value: app}})
	insertDocs(t, db.Collection("c"), bson.D{{Key: "_id", Value: 2}})
	// The failed getMore is resumed with a new aggregate from the last
	// token; no event is lost or repeated.
	if ev := nextEvent(t, cs); lookup(t, ev, "documentKey", "_id").Int32() != 2 {
		t.Fatalf("event after the resume %s", ev)
	}
	if log.count("aggregate") != aggregates+1 {
		t.Fatalf("aggregates %d, want %d (one resume)", log.count("aggregate"), aggregates+1)
	}
}

func TestFailCommandGetMoreFatalEndsChangeStream(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	c, log := appClient(t, app)
	coll := c.Database(db.Name()).Collection("c")
	if err := db.CreateCollection(ctxT(t), "c"); err != nil {
		t.Fatal(err)
	}
	cs, err := coll.Watch(ctxT(t), mongo.Pipeline{}, options.ChangeStream().SetMaxAwaitTime(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close(context.Background())
	aggregates := log.count("aggregate")
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"getMore"}},
		{Key: "errorCode", Value: 280}, {Key: "appName", Value: app}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if cs.Next(ctx) {
		t.Fatalf("event despite the fatal error: %s", cs.Current)
	}
	ce := cmdError(t, cs.Err())
	if ce.Code != 280 || !ce.HasErrorLabel("NonResumableChangeStreamError") {
		t.Fatalf("error %+v", ce)
	}
	if log.count("aggregate") != aggregates {
		t.Fatal("the driver resumed after a fatal error")
	}
}

func TestFailCommandTransientTransactionError(t *testing.T) {
	app := uniqueApp(t)
	db := newDB(t)
	if err := db.CreateCollection(ctxT(t), "c"); err != nil {
		t.Fatal(err)
	}
	c, log := appClient(t, app)
	coll := c.Database(db.Name()).Collection("c")
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"insert"}},
		{Key: "errorCode", Value: 112}, {Key: "appName", Value: app}})
	sess, err := c.StartSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.EndSession(context.Background())
	// WriteConflict inside a transaction is labelled
	// TransientTransactionError: WithTransaction runs the callback again.
	calls := 0
	_, err = sess.WithTransaction(ctxT(t), func(ctx context.Context) (any, error) {
		calls++
		_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
		return nil, err
	})
	if err != nil {
		t.Fatalf("transaction: %v", err)
	}
	if calls != 2 || log.count("insert") != 2 {
		t.Fatalf("callback calls %d, inserts %d; want 2 and 2", calls, log.count("insert"))
	}
	if n, _ := db.Collection("c").CountDocuments(ctxT(t), bson.D{}); n != 1 {
		t.Fatalf("documents %d", n)
	}
	// The label itself, on a statement run by hand.
	setFailPoint(t, bson.D{{Key: "times", Value: 1}}, bson.D{{Key: "failCommands", Value: bson.A{"insert"}},
		{Key: "errorCode", Value: 112}, {Key: "appName", Value: app}})
	if err := sess.StartTransaction(); err != nil {
		t.Fatal(err)
	}
	_, err = coll.InsertOne(mongo.NewSessionContext(ctxT(t), sess), bson.D{{Key: "_id", Value: 2}})
	ce := cmdError(t, err)
	if ce.Code != 112 || !ce.HasErrorLabel("TransientTransactionError") {
		t.Fatalf("error %+v", ce)
	}
	_ = sess.AbortTransaction(context.Background())
}

func TestStepDownChangeStreamContinues(t *testing.T) {
	s := faultServer(t)
	app := "stream-" + simtest.DBName(t)
	c, log := appClientURI(t, s.URI(), app)
	coll := c.Database("app").Collection("c")
	if err := c.Database("app").CreateCollection(ctxT(t), "c"); err != nil {
		t.Fatal(err)
	}
	cs, err := coll.Watch(ctxT(t), mongo.Pipeline{}, options.ChangeStream().SetMaxAwaitTime(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close(context.Background())
	if _, err := coll.InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, cs)
	if err := s.StepDown(400 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// getMore runs on a secondary (mongod allows it), so the stream keeps
	// its cursor through the step-down; the write waits for the primary.
	if _, err := coll.InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 2}}); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, cs); lookup(t, ev, "documentKey", "_id").Int32() != 2 {
		t.Fatalf("event %s", ev)
	}
	if n := log.count("aggregate"); n != 1 {
		t.Fatalf("aggregates %d: the stream was resumed, not continued", n)
	}
}
