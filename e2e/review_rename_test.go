package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink"
)

// TestReviewUpdatesReplayedOverARenameCopy: a collection the filter
// excludes is renamed into scope while replication runs, so mlink copies
// the destination from the source. Updates made after the rename but
// before the copy reads the document are in the copy already, and their
// events replay over it: "$set a.b" then meets the later "a: 5" and fails
// with PathNotViable. Like catch-up after the clone, that replay must be
// tolerated, and the target end equal.
func TestReviewUpdatesReplayedOverARenameCopy(t *testing.T) {
	e := NewEnv(t)
	if e.SrcSim == nil {
		t.Skip("knowing when mlink's copy has begun needs mongosim's command counts")
	}
	ctx := context.Background()
	_, err := e.SrcColl("app", "outside").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: bson.D{{Key: "b", Value: 0}}}})
	mustExec(t, err)
	_, err = e.SrcColl("app", "c").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	mustExec(t, err)
	eng := e.newEngine(t, nil)
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include(), ExcludeNamespaces: []string{e.NS("app", "outside")}}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)

	// mlink's next find on the source (the copy's scan) waits 1.5 s.
	finds := func() int64 { return e.SrcSim.CommandCounts()["mlink-source"]["find"] }
	before := finds()
	mustExec(t, e.Src.Database("admin").RunCommand(ctx, bson.D{
		{Key: "configureFailPoint", Value: "failCommand"},
		{Key: "mode", Value: bson.D{{Key: "times", Value: 1}}},
		{Key: "data", Value: bson.D{{Key: "failCommands", Value: bson.A{"find"}}, {Key: "blockConnection", Value: true},
			{Key: "blockTimeMS", Value: 1500}, {Key: "appName", Value: "mlink-source"}}},
	}).Err())
	t.Cleanup(func() { e.stopFailPoint(t) })
	e.runAdmin(t, bson.D{{Key: "renameCollection", Value: e.NS("app", "outside")}, {Key: "to", Value: e.NS("app", "inside")}})
	deadline := time.Now().Add(10 * time.Second)
	for finds() == before {
		if time.Now().After(deadline) {
			t.Fatal("mlink never began copying the renamed collection")
		}
		time.Sleep(5 * time.Millisecond)
	}
	in := e.SrcColl("app", "inside")
	_, err = in.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a.b", Value: 1}}}})
	mustExec(t, err)
	_, err = in.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 5}}}})
	mustExec(t, err)

	// A DDL after the updates: mlink applies it only once everything
	// before it is applied. Replication (not a later run, which would
	// replay from its own start) must get there.
	mustExec(t, e.Src.Database(e.DB("app")).CreateCollection(ctx, "marker"))
	st := waitFor(t, eng, "the marker collection", 30*time.Second, func(st mlink.Status) bool {
		if st.State == mlink.StateFailed {
			return true
		}
		names, err := e.Dst.Database(e.DB("app")).ListCollectionNames(ctx, bson.D{{Key: "name", Value: "marker"}})
		return err == nil && len(names) == 1
	})
	if st.State == mlink.StateFailed {
		t.Fatalf("sync failed: %s", st.Error)
	}
	mustExec(t, eng.Finalize(ctx, mlink.FinalizeRequest{}))
	waitStatus(t, eng, "finalized", time.Minute, func(st mlink.Status) bool { return st.State == mlink.StateFinalized })
	var doc struct {
		A int `bson:"a"`
	}
	mustExec(t, e.DstColl("app", "inside").FindOne(ctx, bson.D{{Key: "_id", Value: 1}}).Decode(&doc))
	if doc.A != 5 {
		t.Fatalf("target a = %d, want 5", doc.A)
	}
}

// TestReviewRenameOverACollectionForgetsItsDeferredIndexes: a collection
// is renamed over another (dropTarget) whose unique index the sync holds
// back until finalize. The dropped collection's deferred unique must not
// be applied at finalize to the renamed collection's index of the same
// name, which is not unique on the source (and has duplicates).
func TestReviewRenameOverACollectionForgetsItsDeferredIndexes(t *testing.T) {
	for _, into := range []string{"replicated", "from outside the filter"} {
		t.Run(into, func(t *testing.T) {
			e := NewEnv(t)
			ctx := context.Background()
			b, a := e.SrcColl("app", "b"), e.SrcColl("app", "a")
			_, err := b.Indexes().CreateOne(ctx, mongoIndex{Keys: bson.D{{Key: "u", Value: 1}}, Options: options.Index().SetName("u_1").SetUnique(true)})
			mustExec(t, err)
			_, err = b.InsertMany(ctx, []any{bson.D{{Key: "_id", Value: 1}, {Key: "u", Value: 1}}, bson.D{{Key: "_id", Value: 2}, {Key: "u", Value: 2}}})
			mustExec(t, err)
			_, err = a.Indexes().CreateOne(ctx, mongoIndex{Keys: bson.D{{Key: "u", Value: 1}}, Options: options.Index().SetName("u_1")})
			mustExec(t, err)
			_, err = a.InsertMany(ctx, []any{bson.D{{Key: "_id", Value: 1}, {Key: "u", Value: 7}}, bson.D{{Key: "_id", Value: 2}, {Key: "u", Value: 7}}})
			mustExec(t, err)
			req := mlink.StartRequest{IncludeNamespaces: e.Include()}
			if into != "replicated" {
				req.ExcludeNamespaces = []string{e.NS("app", "a")}
			}
			eng := e.newEngine(t, nil)
			mustExec(t, eng.Start(ctx, req))
			waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
			renamedAt := e.runAdminAt(t, bson.D{{Key: "renameCollection", Value: e.NS("app", "a")}, {Key: "to", Value: e.NS("app", "b")}, {Key: "dropTarget", Value: true}})
			// Applied by replication as it runs (finalize restarts it, and a
			// restarted run handles a rename it replays differently).
			waitStatus(t, eng, "the rename applied", 30*time.Second, func(st mlink.Status) bool {
				return st.Replication != nil && !parseTimestamp(t, st.Replication.AppliedTime).Before(renamedAt)
			})
			e.finalizeAndVerify(t, eng)
		})
	}
}

// runAdminAt runs an admin command on the source and returns its
// operation time.
func (e *Env) runAdminAt(t *testing.T, cmd bson.D) bson.Timestamp {
	t.Helper()
	ctx := context.Background()
	sess, err := e.Src.StartSession()
	mustExec(t, err)
	defer sess.EndSession(ctx)
	mustExec(t, e.Src.Database("admin").RunCommand(contextWithSession(ctx, sess), cmd).Err())
	return *sess.OperationTime()
}

// parseTimestamp reads a status "<seconds>.<increment>" time ("" is zero).
func parseTimestamp(t *testing.T, s string) bson.Timestamp {
	t.Helper()
	if s == "" {
		return bson.Timestamp{}
	}
	var ts bson.Timestamp
	if _, err := fmt.Sscanf(s, "%d.%d", &ts.T, &ts.I); err != nil {
		t.Fatalf("status time %q: %v", s, err)
	}
	return ts
}
