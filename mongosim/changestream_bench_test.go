package mongosim

import (
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/wire"
)

// Change-stream speed target (issue 3): a cluster-level change stream
// delivers ≥ 100k small events/s to one reader through the Go driver while
// a writer inserts. Run:
//
//	go test -run '^$' -bench ClusterChangeStream -benchtime 200000x ./mongosim/

// BenchmarkClusterChangeStream inserts b.N small documents (1,000 per
// insert command, from a raw wire connection so the writer's client costs
// nothing worth measuring) while one driver client drains a cluster-wide
// change stream; it reports the events per second the reader received,
// from the first insert to the last event, and the process CPU per event.
func BenchmarkClusterChangeStream(b *testing.B) {
	s := startTestServer(b, Options{})
	reader := benchClient(b, s.URI())
	ctx := context.Background()
	cs, err := reader.Watch(ctx, mongo.Pipeline{}, options.ChangeStream().SetBatchSize(10000).SetMaxAwaitTime(time.Second))
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close(ctx)
	w, err := newRawInserter(s.Addr(), "bench", "events", 1000)
	if err != nil {
		b.Fatal(err)
	}
	defer w.close()
	b.ReportAllocs()
	b.ResetTimer()
	began, cpu0 := time.Now(), benchCPU()
	werr := make(chan error, 1)
	go func() {
		for i := 0; i < b.N; i += w.batch {
			if err := w.insert(int64(i), min(w.batch, b.N-i)); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	got := 0
	for got < b.N {
		if !cs.Next(ctx) {
			b.Fatalf("stream ended after %d events: %v", got, cs.Err())
		}
		got++
	}
	elapsed, cpu := time.Since(began), benchCPU()-cpu0
	b.StopTimer()
	if err := <-werr; err != nil {
		b.Fatal(err)
	}
	if id := cs.Current.Lookup("documentKey", "_id").Int64(); id != int64(b.N-1) {
		b.Fatalf("last event for _id %d, want %d", id, b.N-1)
	}
	b.ReportMetric(float64(got)/elapsed.Seconds(), "events/s")
	// Writer, server and reader share the process.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(got), "cpu-ns/event")
}

// rawInserter sends pre-encoded insert commands of small documents
// {_id: <int64>, user: "u", n: <int32>} over one connection.
type rawInserter struct {
	nc    net.Conn
	batch int
	docs  []bsoncore.Document // the documents inside msg, patched per call
	head  bsoncore.Document   // {insert, ordered, $db}
	buf   []byte
	reply []byte
	reqID int32
}

func newRawInserter(addr, db, coll string, batch int) (*rawInserter, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	w := &rawInserter{nc: nc, batch: batch}
	w.head = bsoncore.NewDocumentBuilder().AppendString("insert", coll).AppendBoolean("ordered", false).AppendString("$db", db).Build()
	for j := 0; j < batch; j++ {
		w.docs = append(w.docs, bsoncore.NewDocumentBuilder().
			AppendInt64("_id", int64(j)).AppendString("user", "u").AppendInt32("n", int32(j)).Build())
	}
	return w, nil
}

// insert sends documents with _ids first, first+1, … (n ≤ batch) and
// checks the reply.
func (w *rawInserter) insert(first int64, n int) error {
	for j, d := range w.docs[:n] {
		binary.LittleEndian.PutUint64(d[4+1+4:], uint64(first+int64(j))) // the _id value
	}
	w.reqID++
	b := wire.AppendMsgSequence(w.buf[:0], w.reqID, 0, w.head, "documents", w.docs[:n]...)
	w.buf = b
	if _, err := w.nc.Write(b); err != nil {
		return err
	}
	_, reply, err := wire.ReadMessage(w.nc, w.reply)
	if err != nil {
		return err
	}
	w.reply = reply
	m, err := wire.ParseMsg(reply)
	if err != nil {
		return err
	}
	if got, _ := m.Body.Lookup("n").AsInt32OK(); int(got) != n {
		return &benchError{m.Body}
	}
	return nil
}

func (w *rawInserter) close() { _ = w.nc.Close() }

type benchError struct{ reply bsoncore.Document }

func (e *benchError) Error() string { return "insert failed: " + bson.Raw(e.reply).String() }
