package conformance

import (
	"context"
	"errors"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// Multi-document transactions and retryable writes through the driver and
// as raw commands: atomic visibility at commit, read-your-own-writes,
// aborts, the session errors and labels drivers act on, conflicts, and
// deduplicated retries.

func countDocs(t *testing.T, coll *mongo.Collection, filter bson.D) int64 {
	t.Helper()
	n, err := coll.CountDocuments(ctxT(t), filter)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTxnCommitIsAtomicAndReadsOwnWrites(t *testing.T) {
	db := newDB(t)
	a, b := db.Collection("a"), db.Collection("b")
	insertDocs(t, a, d("_id", 0, "n", 0))
	insertDocs(t, b, d("_id", 0))
	sess, sctx := startTxn(t)
	if _, err := a.InsertOne(sctx, d("_id", 1, "n", 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UpdateOne(sctx, d("_id", 0), d("$set", d("n", 10))); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DeleteOne(sctx, d("_id", 0)); err != nil {
		t.Fatal(err)
	}
	// Inside: the transaction sees its own writes, by _id and by filter.
	var got bson.Raw
	if err := a.FindOne(sctx, d("_id", 1)).Decode(&got); err != nil {
		t.Fatalf("own insert not visible in the transaction: %v", err)
	}
	if docs := findAllCtx(t, sctx, a, d("n", d("$gte", 1))); len(docs) != 2 {
		t.Fatalf("transaction sees %d documents with n >= 1, want 2", len(docs))
	}
	if err := b.FindOne(sctx, d("_id", 0)).Err(); !errors.Is(err, mongo.ErrNoDocuments) {
		t.Fatalf("own delete not visible: %v", err)
	}
	// Outside: nothing yet.
	if n := countDocs(t, a, d("n", d("$gte", 1))); n != 0 {
		t.Fatalf("uncommitted writes visible outside the transaction: %d", n)
	}
	if n := countDocs(t, b, d()); n != 1 {
		t.Fatalf("uncommitted delete visible outside: %d documents left", n)
	}
	if err := sess.CommitTransaction(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := countDocs(t, a, d("n", d("$gte", 1))); n != 2 {
		t.Fatalf("after commit %d documents with n >= 1, want 2", n)
	}
	if n := countDocs(t, b, d()); n != 0 {
		t.Fatalf("after commit %d documents in b, want 0", n)
	}
}

func findAllCtx(t *testing.T, ctx context.Context, coll *mongo.Collection, filter bson.D) []bson.Raw {
	t.Helper()
	cur, err := coll.Find(ctx, filter)
	if err != nil {
		t.Fatal(err)
	}
	var out []bson.Raw
	if err := cur.All(ctx, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTxnAbortLeavesNothing(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 0))
	cs := watchColl(t, coll, nil)
	sess, sctx := startTxn(t)
	if _, err := coll.InsertOne(sctx, d("_id", 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.DeleteOne(sctx, d("_id", 0)); err != nil {
		t.Fatal(err)
	}
	if err := sess.AbortTransaction(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if docs := findAll(t, coll, d()); len(docs) != 1 || docs[0].Lookup("_id").Int32() != 0 {
		t.Fatalf("after abort: %v", docs)
	}
	noEvent(t, cs)
}

func TestTxnEventsShareClusterTime(t *testing.T) {
	db := newDB(t)
	a, b := db.Collection("a"), db.Collection("b")
	insertDocs(t, a, d("_id", 0))
	insertDocs(t, b, d("_id", 0))
	cs := watchDB(t, db, nil)
	sess := startSession(t)
	if _, err := sess.WithTransaction(ctxT(t), func(ctx context.Context) (any, error) {
		for _, op := range []func() error{
			func() error { _, err := a.InsertOne(ctx, d("_id", 1)); return err },
			func() error { _, err := b.InsertOne(ctx, d("_id", 1)); return err },
			func() error { _, err := a.UpdateOne(ctx, d("_id", 0), d("$set", d("x", 1))); return err },
		} {
			if err := op(); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	insertDocs(t, a, d("_id", 2)) // after the transaction
	evs := nextEvents(t, cs, 4)
	var ts bson.Timestamp
	var txn int64
	for i, ev := range evs[:3] {
		tsT, tsI := lookup(t, ev, "clusterTime").Timestamp()
		n := lookup(t, ev, "txnNumber").Int64()
		if i == 0 {
			ts, txn = bson.Timestamp{T: tsT, I: tsI}, n
		} else if (bson.Timestamp{T: tsT, I: tsI}) != ts || n != txn {
			t.Fatalf("event %d at %d,%d txn %d; first at %v txn %d", i, tsT, tsI, n, ts, txn)
		}
		if err := lsidOf(sess.ID())(lookup(t, ev, "lsid")); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if got := keys(t, ev)[:3]; got[0] != "txnNumber" || got[1] != "lsid" || got[2] != "_id" {
			t.Fatalf("transaction event starts with %v", got)
		}
	}
	want := []string{"insert", "insert", "update"}
	for i := range want {
		if opType(t, evs[i]) != want[i] {
			t.Fatalf("event %d is %s, want %s (execution order)", i, opType(t, evs[i]), want[i])
		}
	}
	if lookupOK(evs[3], "txnNumber") || lookupOK(evs[3], "lsid") {
		t.Fatalf("write outside the transaction carries session fields: %s", evs[3])
	}
	tsT, tsI := lookup(t, evs[3], "clusterTime").Timestamp()
	if (bson.Timestamp{T: tsT, I: tsI}).Compare(ts) <= 0 {
		t.Fatal("later write not after the transaction's commit time")
	}
}

// txnCmd adds a transaction's fields to a raw command (the session's lsid
// comes from the session the command runs in).
func txnCmd(cmd bson.D, txn int64, extra ...bson.E) bson.D {
	out := append(bson.D{}, cmd...)
	out = append(out, bson.E{Key: "txnNumber", Value: txn}, bson.E{Key: "autocommit", Value: false})
	return append(out, extra...)
}

// sessionCtx returns a context running commands in a new explicit session
// of a client of its own (raw txnNumbers would otherwise be out of step
// with the driver's own counter when the pool reuses the session), and
// that client's handle on db and admin.
func sessionCtx(t *testing.T, db *mongo.Database) (context.Context, *mongo.Database, *mongo.Database) {
	t.Helper()
	c := simtest.Client(t, suite.uri)
	sess, err := c.StartSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.EndSession(context.Background()) })
	return mongo.NewSessionContext(ctxT(t), sess), c.Database(db.Name()), c.Database("admin")
}

// runIn runs a raw command in ctx's session and returns its reply or error.
func runIn(ctx context.Context, db *mongo.Database, cmd bson.D) (bson.Raw, error) {
	return db.RunCommand(ctx, cmd).Raw()
}

// mustRunIn runs a raw command that must succeed.
func mustRunIn(t *testing.T, ctx context.Context, db *mongo.Database, cmd bson.D) bson.Raw {
	t.Helper()
	r, err := runIn(ctx, db, cmd)
	var we mongo.WriteException
	if err != nil && !errors.As(err, &we) {
		t.Fatalf("command %v: %v", cmd, err)
	}
	return r
}

// errIn runs a raw command that must fail.
func errIn(t *testing.T, ctx context.Context, db *mongo.Database, cmd bson.D) error {
	t.Helper()
	_, err := runIn(ctx, db, cmd)
	if err == nil {
		t.Fatalf("command %v: want an error, got success", cmd)
	}
	return err
}

func wantLabel(t *testing.T, err error, label string, want bool) {
	t.Helper()
	var ce mongo.CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("not a command error: %v", err)
	}
	if ce.HasErrorLabel(label) != want {
		t.Fatalf("label %s present=%v, want %v: %v", label, ce.HasErrorLabel(label), want, ce.Labels)
	}
}

func TestTxnRawCommandErrors(t *testing.T) {
	tdb := newDB(t)
	insertDocs(t, tdb.Collection("c"), d("_id", 0))
	ctx, db, admin := sessionCtx(t, tdb)
	start := bson.E{Key: "startTransaction", Value: true}

	// Continuing a transaction that never started.
	err := errIn(t, ctx, db, txnCmd(d("find", "c"), 5))
	wantCode(t, err, 251)
	wantLabel(t, err, "TransientTransactionError", true)

	mustRunIn(t, ctx, db, txnCmd(d("insert", "c", "documents", bson.A{d("_id", 1)}), 6, start))
	// Commands a transaction may not run fail without aborting it.
	err = errIn(t, ctx, db, txnCmd(d("count", "c"), 6))
	wantCode(t, err, 263)
	mustRunIn(t, ctx, admin, txnCmd(d("commitTransaction", 1), 6))
	// Nor can they start one.
	wantCode(t, errIn(t, ctx, db, txnCmd(d("count", "c"), 7, start)), 263)
	err = errIn(t, ctx, admin, txnCmd(d("commitTransaction", 1), 7))
	wantCode(t, err, 251)
	wantLabel(t, err, "TransientTransactionError", true)

	mustRunIn(t, ctx, db, txnCmd(d("insert", "c", "documents", bson.A{d("_id", 2)}), 7, start))
	mustRunIn(t, ctx, admin, txnCmd(d("commitTransaction", 1), 7))
	mustRunIn(t, ctx, admin, txnCmd(d("commitTransaction", 1), 7)) // a retried commit succeeds
	wantCode(t, errIn(t, ctx, admin, txnCmd(d("abortTransaction", 1), 7)), 256)
	// An older txnNumber is refused.
	wantCode(t, errIn(t, ctx, db, txnCmd(d("find", "c"), 6, start)), 225)

	mustRunIn(t, ctx, db, txnCmd(d("insert", "c", "documents", bson.A{d("_id", 3)}), 8, start))
	mustRunIn(t, ctx, admin, txnCmd(d("abortTransaction", 1), 8))
	wantCode(t, errIn(t, ctx, admin, txnCmd(d("abortTransaction", 1), 8)), 251)

	if docs := findAll(t, db.Collection("c"), d()); len(docs) != 3 {
		t.Fatalf("documents after the transactions: %v (want _id 0, 1 and 2)", docs)
	}

	// Malformed session options.
	wantCode(t, errIn(t, ctx, db, d("find", "c", "txnNumber", int64(9), "autocommit", true)), 72)
	wantCode(t, errIn(t, ctx, db, d("find", "c", "txnNumber", int64(9), "startTransaction", true)), 72)
	wantCode(t, errIn(t, ctx, db, d("find", "c", "autocommit", false)), 72)
}

func TestTxnWriteErrorAbortsTransaction(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 1))
	sess, sctx := startTxn(t)
	if _, err := coll.InsertOne(sctx, d("_id", 2)); err != nil {
		t.Fatal(err)
	}
	_, err := coll.InsertOne(sctx, d("_id", 1))
	if !mongo.IsDuplicateKeyError(err) {
		t.Fatalf("duplicate in a transaction: %v", err)
	}
	err = sess.CommitTransaction(ctxT(t))
	wantCode(t, err, 251)
	if n := countDocs(t, coll, d()); n != 1 {
		t.Fatalf("%d documents after the failed transaction", n)
	}
}

// TestTxnConflictingTransactions runs two transactions updating the same
// document: exactly one commits; the other fails with WriteConflict (112)
// labelled TransientTransactionError, at its update (mongod) or at its
// commit (mongosim detects the conflict there).
func TestTxnConflictingTransactions(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 1, "n", 0))
	s1 := startSession(t)
	s2 := startSession(t)
	_ = s1.StartTransaction()
	_ = s2.StartTransaction()
	c1, c2 := mongo.NewSessionContext(ctxT(t), s1), mongo.NewSessionContext(ctxT(t), s2)
	if _, err := coll.UpdateOne(c1, d("_id", 1), d("$inc", d("n", 1))); err != nil {
		t.Fatal(err)
	}
	_, err2 := coll.UpdateOne(c2, d("_id", 1), d("$inc", d("n", 10)))
	if err := s1.CommitTransaction(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err2 == nil {
		err2 = s2.CommitTransaction(ctxT(t))
	} else {
		_ = s2.AbortTransaction(ctxT(t))
	}
	wantCode(t, err2, 112)
	wantLabel(t, err2, "TransientTransactionError", true)
	var got bson.Raw
	if err := coll.FindOne(ctxT(t), d("_id", 1)).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if n := got.Lookup("n").Int32(); n != 1 {
		t.Fatalf("n = %d, want 1 (only the first transaction applied)", n)
	}
}

// TestTxnWithTransactionRetriesConflicts increments one counter from
// concurrent WithTransaction callers: conflicts are retried by the driver
// (TransientTransactionError) and no increment is lost.
func TestTxnWithTransactionRetriesConflicts(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, d("_id", 1, "n", 0))
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sess, err := suite.client.StartSession()
			if err != nil {
				errs <- err
				return
			}
			defer sess.EndSession(context.Background())
			for i := 0; i < each; i++ {
				if _, err := sess.WithTransaction(context.Background(), func(ctx context.Context) (any, error) {
					return coll.UpdateOne(ctx, d("_id", 1), d("$inc", d("n", 1)))
				}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var got bson.Raw
	if err := coll.FindOne(ctxT(t), d("_id", 1)).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if n := got.Lookup("n").Int32(); n != workers*each {
		t.Fatalf("n = %d, want %d", n, workers*each)
	}
}

func TestRetryableWriteAppliedOnce(t *testing.T) {
	tdb := newDB(t)
	ctx, db, _ := sessionCtx(t, tdb)
	ins := d("insert", "c", "documents", bson.A{d("_id", 1)}, "txnNumber", int64(1))
	first := mustRunIn(t, ctx, db, ins)
	again := mustRunIn(t, ctx, db, ins) // the retry of the same (lsid, txnNumber)
	if first.Lookup("n").Int32() != 1 || again.Lookup("n").Int32() != 1 || lookupOK(again, "writeErrors") {
		t.Fatalf("first %s, retry %s", first, again)
	}
	if n := countDocs(t, db.Collection("c"), d()); n != 1 {
		t.Fatalf("%d documents after a retried insert", n)
	}
	fam := d("findAndModify", "c", "query", d("_id", 1), "update", d("$inc", d("n", 1)), "new", true, "txnNumber", int64(2))
	r1 := mustRunIn(t, ctx, db, fam)
	r2 := mustRunIn(t, ctx, db, fam)
	if string(lookup(t, r1, "value").Document()) != string(lookup(t, r2, "value").Document()) {
		t.Fatalf("retried findAndModify answered differently: %s vs %s", r1, r2)
	}
	var got bson.Raw
	if err := db.Collection("c").FindOne(ctxT(t), d("_id", 1)).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if n := got.Lookup("n").Int32(); n != 1 {
		t.Fatalf("n = %d after a retried $inc, want 1", n)
	}
	// An older txnNumber on the session is refused.
	wantCode(t, errIn(t, ctx, db, d("insert", "c", "documents", bson.A{d("_id", 5)}, "txnNumber", int64(1))), 225)
	// A find may not carry a txnNumber outside a transaction.
	wantCode(t, errIn(t, ctx, db, d("find", "c", "txnNumber", int64(3))), 50768)
}

func TestRetryableWritesThroughDriver(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c", options.Collection())
	res, err := coll.InsertMany(ctxT(t), []any{d("_id", 1), d("_id", 2)})
	if err != nil || len(res.InsertedIDs) != 2 {
		t.Fatalf("insert with retryable writes: %v %v", res, err)
	}
	if _, err := coll.UpdateMany(ctxT(t), d(), d("$set", d("x", 1))); err != nil {
		t.Fatal(err)
	}
	if n := countDocs(t, coll, d("x", 1)); n != 2 {
		t.Fatalf("%d documents updated", n)
	}
}

// startSession starts a session on the suite's client, ended when the test
// ends.
func startSession(t *testing.T) *mongo.Session {
	t.Helper()
	sess, err := suite.client.StartSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.EndSession(context.Background()) })
	return sess
}

// startTxn starts a session and a transaction in it; operations run with
// the returned context belong to the transaction.
func startTxn(t *testing.T) (*mongo.Session, context.Context) {
	t.Helper()
	sess := startSession(t)
	if err := sess.StartTransaction(); err != nil {
		t.Fatal(err)
	}
	return sess, mongo.NewSessionContext(ctxT(t), sess)
}
