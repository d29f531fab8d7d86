package mongosim

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// A transaction past transactionLifetimeLimitSeconds is aborted by the
// reaper (its snapshot released), and idle sessions are forgotten.
func TestSessionReaperAbortsExpiredTransactions(t *testing.T) {
	s := startTestServer(t, Options{})
	c := connectTest(t, s.URI())
	ctx := context.Background()
	coll := c.Database("d").Collection("c")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: 0}}); err != nil {
		t.Fatal(err)
	}
	sess, err := c.StartSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.EndSession(ctx)
	if err := sess.StartTransaction(); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(mongo.NewSessionContext(ctx, sess), bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	open := func() int {
		n := 0
		for _, se := range s.repl.sessions.all() {
			se.mu.Lock()
			if se.txn != nil && se.txn.phase == txnInProgress && se.txn.store != nil {
				n++
			}
			se.mu.Unlock()
		}
		return n
	}
	if open() != 1 {
		t.Fatalf("%d transactions open, want 1", open())
	}
	s.repl.sessions.reap(time.Now()) // young: kept
	if open() != 1 {
		t.Fatal("reaper aborted a young transaction")
	}
	s.repl.sessions.reap(time.Now().Add(transactionLifetime + time.Second))
	if open() != 0 {
		t.Fatal("expired transaction still open")
	}
	err = sess.CommitTransaction(ctx)
	var ce mongo.CommandError
	if !errors.As(err, &ce) || ce.Code != 251 {
		t.Fatalf("commit of a reaped transaction: %v", err)
	}
	if n, _ := coll.CountDocuments(ctx, bson.D{}); n != 1 {
		t.Fatalf("%d documents, want 1", n)
	}
	before := len(s.repl.sessions.all())
	s.repl.sessions.reap(time.Now().Add(sessionIdleTimeout + time.Minute))
	if after := len(s.repl.sessions.all()); before == 0 || after != 0 {
		t.Fatalf("idle sessions: %d before, %d after", before, after)
	}
}

// Reads outside a transaction never see its writes, even while other
// goroutines commit concurrently: a reader counts documents in a loop
// while transactions insert pairs; every count it sees is even.
func TestTransactionVisibilityIsAtomic(t *testing.T) {
	s := startTestServer(t, Options{})
	c := connectTest(t, s.URI())
	ctx := context.Background()
	coll := c.Database("d").Collection("pairs")
	if err := c.Database("d").CreateCollection(ctx, "pairs"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		sess, err := c.StartSession()
		if err != nil {
			done <- err
			return
		}
		defer sess.EndSession(ctx)
		for i := 0; i < 50; i++ {
			_, err := sess.WithTransaction(ctx, func(ctx context.Context) (any, error) {
				return coll.InsertMany(ctx, []any{bson.D{{Key: "_id", Value: 2 * i}}, bson.D{{Key: "_id", Value: 2*i + 1}}})
			})
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for {
		n, err := coll.CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		if n%2 != 0 {
			t.Fatalf("saw %d documents: half a transaction", n)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := coll.CountDocuments(ctx, bson.D{}); n != 100 {
				t.Fatalf("%d documents at the end", n)
			}
			return
		default:
		}
	}
}

// endSessions aborts the sessions' transactions in progress.
func TestEndSessionsAbortsTransactions(t *testing.T) {
	s := startTestServer(t, Options{})
	c := connectTest(t, s.URI())
	ctx := context.Background()
	coll := c.Database("d").Collection("c")
	sess, err := c.StartSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.EndSession(ctx)
	if err := sess.StartTransaction(); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(mongo.NewSessionContext(ctx, sess), bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	id := sess.ID().Lookup("id")
	if err := c.Database("admin").RunCommand(ctx, bson.D{{Key: "endSessions", Value: bson.A{bson.D{{Key: "id", Value: id}}}}}).Err(); err != nil {
		t.Fatal(err)
	}
	err = sess.CommitTransaction(ctx)
	var ce mongo.CommandError
	if !errors.As(err, &ce) || ce.Code != 251 {
		t.Fatalf("commit after endSessions: %v", err)
	}
	if n, _ := coll.CountDocuments(ctx, bson.D{}); n != 0 {
		t.Fatalf("%d documents, want 0", n)
	}
}
