package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/engine"
)

// hammerHotDocs has several clients interleave updates on a few documents,
// so per-document order is all that keeps the target right.
func hammerHotDocs(t *testing.T, e *Env, db string, hot, clients int, d time.Duration, seed uint64) {
	t.Helper()
	ctx := context.Background()
	coll := e.SrcColl(db, "hot")
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(c)))
			for i := 0; time.Now().Before(stop); i++ {
				id := bson.D{{Key: "_id", Value: r.IntN(hot)}}
				var err error
				switch r.IntN(6) {
				case 0:
					_, err = coll.UpdateOne(ctx, id, bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: fmt.Sprintf("c%d-%d", c, i)}, {Key: "by", Value: c}}}}, options.UpdateOne().SetUpsert(true))
				case 1:
					_, err = coll.UpdateOne(ctx, id, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}, {Key: "$push", Value: bson.D{{Key: "log", Value: bson.D{{Key: "$each", Value: bson.A{c}}, {Key: "$slice", Value: -5}}}}}})
				case 2:
					_, err = coll.ReplaceOne(ctx, id, bson.D{{Key: "v", Value: i}, {Key: "replacedBy", Value: c}}, options.Replace().SetUpsert(true))
				case 3:
					_, err = coll.DeleteOne(ctx, id)
				case 4:
					_, err = coll.UpdateOne(ctx, id, bson.D{{Key: "$unset", Value: bson.D{{Key: "v", Value: ""}}}, {Key: "$set", Value: bson.D{{Key: "sub.k", Value: i}}}})
				case 5:
					_, err = coll.UpdateOne(ctx, id, bson.D{{Key: "$pop", Value: bson.D{{Key: "log", Value: -1}}}})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestHotDocumentsKeepOrder: 50 hot documents hammered by 4 clients while
// mlink applies with 8 workers — equal after finalize, 20 runs in a row.
func TestHotDocumentsKeepOrder(t *testing.T) {
	runs := 20
	if testing.Short() {
		runs = 3
	}
	for run := 0; run < runs; run++ {
		t.Run(fmt.Sprintf("run%02d", run), func(t *testing.T) {
			e := NewEnv(t)
			ctx := context.Background()
			_, err := e.SrcColl("hot", "hot").InsertOne(ctx, bson.D{{Key: "_id", Value: 0}})
			mustExec(t, err)
			eng := e.newEngine(t, func(c *engine.Config) { c.Repl.Workers = 8 })
			mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
			waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
			hammerHotDocs(t, e, "hot", 50, 4, 700*time.Millisecond, uint64(run))
			e.finalizeAndVerify(t, eng)
		})
	}
}

// TestTransactionsCommittedAndAborted: committed multi-collection
// transactions appear on the target, aborted ones never do — both with the
// default (per-document) apply and with TxnAtomic.
func TestTransactionsCommittedAndAborted(t *testing.T) {
	for _, atomic := range []bool{false, true} {
		t.Run(fmt.Sprintf("atomic=%v", atomic), func(t *testing.T) {
			e := NewEnv(t)
			ctx := context.Background()
			_, err := e.SrcColl("bank", "accounts").InsertMany(ctx, []any{bson.D{{Key: "_id", Value: "a"}, {Key: "bal", Value: 100}}, bson.D{{Key: "_id", Value: "b"}, {Key: "bal", Value: 0}}})
			mustExec(t, err)
			eng := e.newEngine(t, func(c *engine.Config) { c.Repl.TxnAtomic = atomic })
			mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
			waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
			sess, err := e.Src.StartSession()
			mustExec(t, err)
			defer sess.EndSession(ctx)
			acc, ledger := e.SrcColl("bank", "accounts"), e.SrcColl("bank", "ledger")
			for i := 0; i < 5; i++ {
				_, err = sess.WithTransaction(ctx, func(ctx context.Context) (any, error) {
					if _, err := acc.UpdateOne(ctx, bson.D{{Key: "_id", Value: "a"}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "bal", Value: -10}}}}); err != nil {
						return nil, err
					}
					if _, err := acc.UpdateOne(ctx, bson.D{{Key: "_id", Value: "b"}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "bal", Value: 10}}}}); err != nil {
						return nil, err
					}
					_, err := ledger.InsertOne(ctx, bson.D{{Key: "_id", Value: i}, {Key: "amount", Value: 10}})
					return nil, err
				})
				mustExec(t, err)
			}
			// An aborted transaction: its writes must never reach the target.
			mustExec(t, sess.StartTransaction())
			sctx := contextWithSession(ctx, sess)
			_, err = ledger.InsertOne(sctx, bson.D{{Key: "_id", Value: "aborted"}})
			mustExec(t, err)
			_, err = acc.UpdateOne(sctx, bson.D{{Key: "_id", Value: "a"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "bal", Value: -1}}}})
			mustExec(t, err)
			mustExec(t, sess.AbortTransaction(ctx))
			e.finalizeAndVerify(t, eng)
			n, err := e.DstColl("bank", "ledger").CountDocuments(ctx, bson.D{{Key: "_id", Value: "aborted"}})
			mustExec(t, err)
			if n != 0 {
				t.Fatal("the aborted transaction's insert reached the target")
			}
		})
	}
}
