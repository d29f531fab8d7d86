package changestream

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
)

// countSink counts events without keeping them, as a getMore reply
// builder copying into its buffer would.
type countSink struct {
	n, max int
	bytes  int
}

func (c *countSink) Room(int) bool            { return c.n < c.max }
func (c *countSink) Add(ev bsoncore.Document) { c.n++; c.bytes += len(ev) }

// BenchmarkClusterStreamWhileAppending appends b.N small inserts from a
// writer goroutine while one cluster-wide stream reads them in batches of
// up to 1000, and reports events per second end to end.
func BenchmarkClusterStreamWhileAppending(b *testing.B) {
	start := Timestamp{T: 1_700_000_000, I: 1}
	h := NewHistory(start, Retention{MaxEntries: 1 << 20})
	spec, err := ParsePipeline("admin", "", []bsoncore.Document{cs(bsonkit.D("allChangesForCluster", bsonkit.Bool(true)))})
	if err != nil {
		b.Fatal(err)
	}
	s, err := Open(h, spec, Env{})
	if err != nil {
		b.Fatal(err)
	}
	docs := make([]bsoncore.Document, 1024)
	keys := make([]bsoncore.Document, 1024)
	for i := range docs {
		docs[i] = bsonkit.D("_id", bsonkit.Int64(int64(i)), "name", bsonkit.String("user"), "n", bsonkit.Int32(int32(i)))
		keys[i] = bsonkit.D("_id", bsonkit.Int64(int64(i)))
	}
	wall := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	began := time.Now()
	go func() {
		ts := start
		for i := 0; i < b.N; i++ {
			ts = ts.next()
			e := &Entry{Op: OpInsert, DB: "bench", Coll: "c", UUID: uuidA, TS: ts, Wall: wall,
				Doc: docs[i%len(docs)], DocumentKey: keys[i%len(keys)]}
			if err := h.Append(e); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	got := 0
	for got < b.N {
		sink := &countSink{max: 1000}
		if _, err := s.NextInto(context.Background(), sink, time.Second); err != nil {
			b.Fatal(err)
		}
		got += sink.n
	}
	elapsed := time.Since(began)
	b.ReportMetric(float64(got)/elapsed.Seconds(), "events/s")
}
