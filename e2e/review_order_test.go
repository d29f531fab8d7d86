package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/engine"
)

// TestReviewNumericallyEqualIDsAreOneDocument: MongoDB's _id index treats
// 1, 1.0, NumberLong(1) and NumberDecimal("1.0") as the same key, so a
// document deleted under one spelling and inserted again under another is
// one document's history — its writes must keep their order on the target.
// The events' documentKeys differ byte-wise, so ordering must not rest on
// the bytes. The writes are made while mlink is paused, so the resumed
// sync reads them as one backlog, in large batches.
func TestReviewNumericallyEqualIDsAreOneDocument(t *testing.T) {
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			e := NewEnv(t)
			ctx := context.Background()
			c := e.SrcColl("app", "ids")
			_, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: "seed"}})
			mustExec(t, err)
			eng := e.newEngine(t, func(c *engine.Config) { c.Repl.Workers = workers })
			mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
			waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
			mustExec(t, eng.Pause(ctx))
			const n = 200
			for i := 0; i < n; i++ {
				spellings := []any{int32(i), float64(i), int64(i), bson.NewDecimal128(0x3040000000000000, uint64(i))}
				first, second := spellings[i%4], spellings[(i+1)%4]
				_, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: first}, {Key: "v", Value: "first"}})
				mustExec(t, err)
				_, err = c.DeleteOne(ctx, bson.D{{Key: "_id", Value: first}})
				mustExec(t, err)
				_, err = c.InsertOne(ctx, bson.D{{Key: "_id", Value: second}, {Key: "v", Value: "second"}})
				mustExec(t, err)
			}
			mustExec(t, eng.Resume(ctx, mlink.ResumeRequest{}))
			mustExec(t, eng.Finalize(ctx, mlink.FinalizeRequest{}))
			waitStatus(t, eng, "finalized", time.Minute, func(st mlink.Status) bool { return st.State == mlink.StateFinalized })
			got, err := e.DstColl("app", "ids").CountDocuments(ctx, bson.D{{Key: "v", Value: "second"}})
			mustExec(t, err)
			if got != n {
				t.Errorf("target holds %d of the %d re-inserted documents", got, n)
			}
			e.AssertSameData(t)
		})
	}
}
