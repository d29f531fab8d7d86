package mongosim

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink/mongosim/wire"
)

// docs1KB returns n ~1 KB documents with sequential int64 _ids from start.
func docs1KB(start, n int) []any {
	pad := strings.Repeat("x", 900)
	out := make([]any, n)
	for i := range out {
		raw, _ := bson.Marshal(bson.D{
			{Key: "_id", Value: int64(start + i)}, {Key: "name", Value: "document"}, {Key: "n", Value: int32(i)},
			{Key: "nested", Value: bson.D{{Key: "a", Value: 1.5}, {Key: "b", Value: "bee"}}}, {Key: "pad", Value: pad},
		})
		out[i] = bson.Raw(raw)
	}
	return out
}

// BenchmarkInsert1KB: one client inserting 1 KB documents in 1,000-document
// batches over loopback (target ≥ 150k docs/s).
func BenchmarkInsert1KB(b *testing.B) {
	s := startTestServer(b, Options{})
	coll := connectTest(b, s.URI()).Database("bench").Collection("ins")
	ctx := context.Background()
	const batch = 1000
	b.ReportAllocs()
	b.SetBytes(int64(len(docs1KB(0, 1)[0].(bson.Raw)) * batch))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		docs := docs1KB(i*batch, batch)
		b.StartTimer()
		if _, err := coll.InsertMany(ctx, docs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkScan: a full find over 50,000 1 KB documents, sorted by _id as
// mlink's clone reads (target ≥ 300 MB/s).
func BenchmarkScan(b *testing.B) {
	s := startTestServer(b, Options{})
	coll := connectTest(b, s.URI()).Database("bench").Collection("scan")
	ctx := context.Background()
	const total = 50000
	var size int64
	for i := 0; i < total; i += 1000 {
		docs := docs1KB(i, 1000)
		for _, d := range docs {
			size += int64(len(d.(bson.Raw)))
		}
		if _, err := coll.InsertMany(ctx, docs); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cur, err := coll.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: int64(0)}}}},
			options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetBatchSize(10000))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for cur.Next(ctx) {
			n++
		}
		if err := cur.Err(); err != nil || n != total {
			b.Fatalf("scanned %d: %v", n, err)
		}
		_ = cur.Close(ctx)
	}
}

// BenchmarkInsert1KBWire measures the server alone: one raw connection
// sending pre-encoded 1,000-document insert messages (document sequences),
// so the driver's client-side encoding does not count.
func BenchmarkInsert1KBWire(b *testing.B) {
	s := startTestServer(b, Options{})
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	const batch = 1000
	msgs := make([][]byte, b.N)
	for i := range msgs {
		body, _ := bson.Marshal(bson.D{{Key: "insert", Value: "ins"}, {Key: "$db", Value: "bench"}})
		var docs []byte
		for _, d := range docs1KB(i*batch, batch) {
			docs = append(docs, d.(bson.Raw)...)
		}
		msgs[i] = seqInsertMsg(int32(i+1), body, docs)
	}
	b.SetBytes(int64(len(msgs[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range msgs {
		if _, err := nc.Write(msgs[i]); err != nil {
			b.Fatal(err)
		}
		_, body, err := wire.ReadMessage(nc, nil)
		if err != nil {
			b.Fatal(err)
		}
		m, err := wire.ParseMsg(body)
		if err != nil {
			b.Fatal(err)
		}
		if n, _ := m.Body.Lookup("n").AsInt32OK(); n != batch {
			b.Fatalf("inserted %d: %s", n, m.Body)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "docs/s")
}

func seqInsertMsg(reqID int32, body, docs []byte) []byte {
	var m []byte
	m = binary.LittleEndian.AppendUint32(m, 0)
	m = binary.LittleEndian.AppendUint32(m, uint32(reqID))
	m = binary.LittleEndian.AppendUint32(m, 0)
	m = binary.LittleEndian.AppendUint32(m, uint32(wire.OpMsg))
	m = binary.LittleEndian.AppendUint32(m, 0)
	m = append(m, 0)
	m = append(m, body...)
	m = append(m, 1)
	start := len(m)
	m = binary.LittleEndian.AppendUint32(m, 0)
	m = append(m, "documents\x00"...)
	m = append(m, docs...)
	binary.LittleEndian.PutUint32(m[start:], uint32(len(m)-start))
	binary.LittleEndian.PutUint32(m, uint32(len(m)))
	return m
}
