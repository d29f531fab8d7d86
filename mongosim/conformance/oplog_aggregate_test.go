package conformance

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// The oplog reads the same through aggregate (CountDocuments, $match) as
// through find.
func TestOplogThroughAggregate(t *testing.T) {
	db := newDB(t)
	runWrite(t, db, d("insert", "c", "documents", bson.A{d("_id", 1), d("_id", 2), d("_id", 3)}))
	filter := d("ns", db.Name()+".c", "op", "i")
	found := findAll(t, oplogColl(), filter)
	n, err := oplogColl().CountDocuments(context.Background(), filter)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 3 || n != 3 {
		t.Fatalf("find saw %d insert entries, CountDocuments %d; want 3 and 3", len(found), n)
	}
}
