package mongo

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// TestScanMemoryWithMixedSizes scans a batch that starts with a 2 MB
// document followed by thousands of small ones: the batch buffer must be
// sized by the data, not by the first document times the batch length.
func TestScanMemoryWithMixedSizes(t *testing.T) {
	srv := simtest.Start(t)
	ctx := context.Background()
	c, err := Connect(ctx, srv.URI(), RoleSource)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	ns := mlink.Namespace{DB: "app", Coll: "mixed"}
	docs := []any{bson.D{{Key: "_id", Value: 0}, {Key: "big", Value: bytes.Repeat([]byte{1}, 2<<20)}}}
	for i := 1; i <= 5000; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: i}})
	}
	if _, err := c.Driver().Database(ns.DB).Collection(ns.Coll).InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n := 0
	err = c.Scan(ctx, ns, Range{}, ScanOptions{BatchDocs: 5001}, func(b Batch) error {
		n += len(b.Docs)
		return nil
	})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if n != 5001 {
		t.Fatalf("scanned %d documents, want 5001", n)
	}
	// Server and driver copies included, a few times the 2.1 MB of data;
	// sizing by the first document would reserve 5001 x 2 MB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("scan allocated %d MB for 2 MB of documents", alloc>>20)
	}
}
