package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/engine"
)

// failTargetCommands makes the target fail mlink's commands named in cmds
// with code (a failCommand fail point for appName mlink-target), until
// turned off.
func (e *Env) failTargetCommands(t *testing.T, code int, cmds ...string) (off func()) {
	t.Helper()
	names := bson.A{}
	for _, c := range cmds {
		names = append(names, c)
	}
	admin := e.Dst.Database("admin")
	mustExec(t, admin.RunCommand(context.Background(), bson.D{
		{Key: "configureFailPoint", Value: "failCommand"},
		{Key: "mode", Value: "alwaysOn"},
		{Key: "data", Value: bson.D{
			{Key: "failCommands", Value: names},
			{Key: "errorCode", Value: code},
			{Key: "appName", Value: "mlink-target"},
		}},
	}).Err())
	done := false
	off = func() {
		if done {
			return
		}
		done = true
		err := admin.RunCommand(context.Background(), bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "off"}}).Err()
		if err != nil {
			t.Errorf("turn the target's fail point off: %v", err)
		}
	}
	t.Cleanup(off)
	return off
}

// TestReviewAtomicTxnWithSkippedEventIsNotCheckpointedPast: with TxnAtomic,
// a source transaction writes a replicated collection and then one the
// filter excludes, while an earlier write is still being applied. The
// skipped event is the transaction's last, so its position is past the
// transaction's replicated write, which waits (buffered) for the earlier
// write. Applying the transaction then fails; the checkpoint saved as
// replication stops must not claim the transaction — resuming after the
// skipped event would lose the replicated write for good.
func TestReviewAtomicTxnWithSkippedEventIsNotCheckpointedPast(t *testing.T) {
	e := NewEnv(t)
	if e.DstSim == nil {
		t.Skip("knowing when mlink's write reached the target needs mongosim's command counts")
	}
	ctx := context.Background()
	acc, skip := e.SrcColl("bank", "accounts"), e.SrcColl("bank", "skip")
	_, err := acc.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "bal", Value: 100}})
	mustExec(t, err)
	_, err = skip.InsertOne(ctx, bson.D{{Key: "_id", Value: "seed"}})
	mustExec(t, err)
	// No periodic checkpoint writes: the only target updates are mlink's
	// applies (the fail point below must catch one of those).
	eng := e.newEngine(t, func(c *engine.Config) { c.Repl.TxnAtomic = true; c.Repl.CheckpointInterval = time.Hour })
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include(), ExcludeNamespaces: []string{e.NS("bank", "skip")}}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)

	// An apply that hangs on the target for 2 s, so the transaction's
	// events are read and dispatched while it is in flight.
	updates := func() int64 { return e.DstSim.CommandCounts()["mlink-target"]["update"] }
	before := updates()
	admin := e.Dst.Database("admin")
	mustExec(t, admin.RunCommand(ctx, bson.D{
		{Key: "configureFailPoint", Value: "failCommand"},
		{Key: "mode", Value: bson.D{{Key: "times", Value: 1}}},
		{Key: "data", Value: bson.D{{Key: "failCommands", Value: bson.A{"update"}}, {Key: "blockConnection", Value: true},
			{Key: "blockTimeMS", Value: 2000}, {Key: "appName", Value: "mlink-target"}}},
	}).Err())
	_, err = acc.InsertOne(ctx, bson.D{{Key: "_id", Value: "later"}})
	mustExec(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for updates() == before {
		if time.Now().After(deadline) {
			t.Fatal("mlink never applied the insert")
		}
		time.Sleep(5 * time.Millisecond)
	}
	sess, err := e.Src.StartSession()
	mustExec(t, err)
	defer sess.EndSession(ctx)
	_, err = sess.WithTransaction(ctx, func(ctx context.Context) (any, error) {
		if _, err := acc.UpdateOne(ctx, bson.D{{Key: "_id", Value: "a"}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "bal", Value: -10}}}}); err != nil {
			return nil, err
		}
		_, err := skip.InsertOne(ctx, bson.D{{Key: "_id", Value: "in-txn"}})
		return nil, err
	})
	mustExec(t, err)
	// The transaction's commit on the target fails (BadValue: not transient).
	off := e.failTargetCommands(t, 2, "commitTransaction")
	st := waitFor(t, eng, "the failed transaction apply", 30*time.Second, func(st mlink.Status) bool { return st.State == mlink.StateFailed })
	if !strings.Contains(st.Error, "transaction") {
		t.Fatalf("failed for another reason: %s", st.Error)
	}
	off()

	mustExec(t, eng.Resume(ctx, mlink.ResumeRequest{FromFailure: true}))
	mustExec(t, eng.Finalize(ctx, mlink.FinalizeRequest{}))
	waitStatus(t, eng, "finalized", time.Minute, func(st mlink.Status) bool { return st.State == mlink.StateFinalized })
	var doc struct {
		Bal int `bson:"bal"`
	}
	mustExec(t, e.DstColl("bank", "accounts").FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Decode(&doc))
	if doc.Bal != 90 {
		t.Fatalf("target balance %d, want 90: the transaction was lost", doc.Bal)
	}
	n, err := e.DstColl("bank", "skip").CountDocuments(ctx, bson.D{})
	mustExec(t, err)
	if n != 0 {
		t.Fatalf("the excluded collection has %d documents on the target", n)
	}
}

// waitFor polls the engine's status until cond holds (a failed state is
// not an error here).
func waitFor(t *testing.T, eng *engine.Engine, what string, timeout time.Duration, cond func(mlink.Status) bool) mlink.Status {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := eng.Status(context.Background())
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; status: state=%s info=%q error=%q", what, st.State, st.Info, st.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReviewCheckpointNeverInsideTransactionWithCreate: a transaction
// inserts into an existing collection and into a new one, which MongoDB
// reports as insert, create (a DDL event of the transaction), insert. The
// second insert cannot be applied (the target holds a view of that name).
// The checkpoint saved as replication stops must not point inside the
// transaction (resume positions are safe only outside transactions), with
// per-document and with atomic apply.
func TestReviewCheckpointNeverInsideTransactionWithCreate(t *testing.T) {
	for _, atomic := range []bool{false, true} {
		t.Run(fmt.Sprintf("atomic=%v", atomic), func(t *testing.T) {
			e := NewEnv(t)
			ctx := context.Background()
			_, err := e.SrcColl("app", "a").InsertOne(ctx, bson.D{{Key: "_id", Value: 0}})
			mustExec(t, err)
			eng := e.newEngine(t, func(c *engine.Config) { c.Repl.TxnAtomic = atomic; c.Repl.CheckpointInterval = time.Hour })
			mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
			waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
			mustExec(t, e.Dst.Database(e.DB("app")).CreateView(ctx, "fresh", "a", bson.A{}))
			sess, err := e.Src.StartSession()
			mustExec(t, err)
			defer sess.EndSession(ctx)
			_, err = sess.WithTransaction(ctx, func(ctx context.Context) (any, error) {
				if _, err := e.SrcColl("app", "a").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}}); err != nil {
					return nil, err
				}
				_, err := e.SrcColl("app", "fresh").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
				return nil, err
			})
			mustExec(t, err)
			txnTime := *sess.OperationTime()
			st := waitFor(t, eng, "the failed apply", 30*time.Second, func(st mlink.Status) bool { return st.State == mlink.StateFailed })
			if !strings.Contains(st.Error, "fresh") {
				t.Fatalf("failed for another reason: %s", st.Error)
			}
			var cp mlink.SyncCheckpoint
			mustExec(t, e.Dst.Database(mlink.MetaDB).Collection(mlink.MetaSyncColl).FindOne(ctx, bson.D{{Key: "_id", Value: mlink.SyncCheckpointID}}).Decode(&cp))
			if cp.ResumeToken == nil || !cp.AppliedTime.Before(txnTime) {
				t.Fatalf("the checkpoint (applied time %s) points inside the transaction committed at %s that was not applied",
					mlink.FormatTimestamp(cp.AppliedTime), mlink.FormatTimestamp(txnTime))
			}
			mustExec(t, e.DstColl("app", "fresh").Drop(ctx))
			mustExec(t, eng.Resume(ctx, mlink.ResumeRequest{FromFailure: true}))
			e.finalizeAndVerify(t, eng)
		})
	}
}
