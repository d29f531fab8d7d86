package e2e

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
)

// TestDollarPrefixedFieldsReplicate: MongoDB 5.0+ stores $-prefixed field
// names, top-level and nested; an insert of such a document (and one
// replayed during catch-up) reaches the target byte for byte although a
// replacement document cannot hold them.
func TestDollarPrefixedFieldsReplicate(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	c := e.SrcColl("app", "prices")
	_, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: 0}})
	mustExec(t, err)
	eng := e.newEngine(t, nil)
	mustExec(t, eng.Start(ctx, mlink.StartRequest{IncludeNamespaces: e.Include()}))
	waitStatus(t, eng, "initial sync", time.Minute, initialSyncDone)
	_, err = c.InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: 1}, {Key: "$price", Value: 9}, {Key: "n", Value: 1}},
		bson.D{{Key: "_id", Value: 2}, {Key: "nested", Value: bson.D{{Key: "$x", Value: 1}}}, {Key: "arr", Value: bson.A{bson.D{{Key: "$y", Value: 2}}}}},
	})
	mustExec(t, err)
	e.finalizeAndVerify(t, eng)
}
