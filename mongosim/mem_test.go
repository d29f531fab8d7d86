package mongosim

import (
	"context"
	"runtime"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Memory stays close to the data size: 50 MB of 1 KB documents inserted
// through the driver cost the server well under twice that in live heap.
func TestMemoryNearDataSize(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts 50 MB")
	}
	s := startTestServer(t, Options{})
	coll := connectTest(t, s.URI()).Database("mem").Collection("c")
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var size int64
	for i := 0; i < 50000; i += 1000 {
		docs := docs1KB(i, 1000)
		for _, d := range docs {
			size += int64(len(d.(bson.Raw)))
		}
		if _, err := coll.InsertMany(ctx, docs); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("data %d MB, live heap grew %d MB (%.2fx)", size>>20, grown>>20, float64(grown)/float64(size))
	if grown > 2*size {
		t.Fatalf("heap grew %d bytes for %d bytes of data", grown, size)
	}
}
