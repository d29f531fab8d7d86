package mongosim

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/wire"
)

// panicCounter is a slog handler counting "command panicked" records: the
// dispatcher survives panics, but a panic is still a bug.
type panicCounter struct{ n atomic.Int64 }

func (p *panicCounter) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "command panicked" {
		p.n.Add(1)
	}
	return nil
}
func (p *panicCounter) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicCounter) WithGroup(string) slog.Handler      { return p }

func fuzzSeeds(t testing.TB) [][]byte {
	cmds := []bson.D{
		{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: bson.A{1, 2}}}}}},
		{{Key: "find", Value: "c"}, {Key: "filter", Value: bson.D{{Key: "a", Value: bson.D{{Key: "$gt", Value: 1}}}}}, {Key: "sort", Value: bson.D{{Key: "a", Value: -1}}}, {Key: "projection", Value: bson.D{{Key: "a.$", Value: 1}}}},
		{{Key: "update", Value: "c"}, {Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: bson.D{{Key: "a", Value: 2}}}, {Key: "u", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "a.$", Value: 5}}}}}, {Key: "upsert", Value: true}}}}},
		{{Key: "delete", Value: "c"}, {Key: "deletes", Value: bson.A{bson.D{{Key: "q", Value: bson.D{}}, {Key: "limit", Value: 1}}}}},
		{{Key: "findAndModify", Value: "c"}, {Key: "query", Value: bson.D{}}, {Key: "update", Value: bson.A{bson.D{{Key: "$set", Value: bson.D{{Key: "b", Value: "$a"}}}}}}, {Key: "new", Value: true}},
		{{Key: "aggregate", Value: "c"}, {Key: "pipeline", Value: bson.A{bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$a"}}}}}}, {Key: "cursor", Value: bson.D{}}},
		{{Key: "count", Value: "c"}, {Key: "query", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{1, 2}}}}}}},
		{{Key: "distinct", Value: "c"}, {Key: "key", Value: "a.0"}},
		{{Key: "getMore", Value: int64(1)}, {Key: "collection", Value: "c"}},
		{{Key: "hello", Value: 1}, {Key: "topologyVersion", Value: bson.D{}}, {Key: "maxAwaitTimeMS", Value: 0}},
	}
	var out [][]byte
	for _, c := range cmds {
		c = append(c, bson.E{Key: "$db", Value: "fz"})
		b, err := bson.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func runFuzzCommand(s *Server, data []byte) {
	if wire.Validate(data) != nil {
		return
	}
	req := &request{srv: s, body: bsoncore.Document(data)}
	s.dispatch(context.Background(), req)
}

func TestFuzzCommandSeeds(t *testing.T) {
	pc := &panicCounter{}
	s := startTestServer(t, Options{Logger: slog.New(pc)})
	for _, seed := range fuzzSeeds(t) {
		runFuzzCommand(s, seed)
	}
	if n := pc.n.Load(); n != 0 {
		t.Fatalf("%d commands panicked", n)
	}
}

// FuzzCommand feeds arbitrary command documents to the dispatcher: every
// one must be answered without a panic.
func FuzzCommand(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	pc := &panicCounter{}
	s, err := Start(context.Background(), Options{Logger: slog.New(pc)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		before := pc.n.Load()
		runFuzzCommand(s, data)
		if pc.n.Load() != before {
			t.Fatalf("command panicked on %x", data)
		}
	})
}
