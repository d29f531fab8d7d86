package clone

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/metrics"
)

// TestCloneRetriesTransientErrors fails one step of the clone at a time —
// source reads with InterruptedDueToReplStateChange (an election) or a cut
// connection, target writes, catalog commands and checkpoint saves with a
// cut connection — and checks that the step is retried (a scan restarts
// after its last document, in _id or natural order) and the data ends
// equal.
func TestCloneRetriesTransientErrors(t *testing.T) {
	cutConn := bson.E{Key: "closeConnection", Value: true}
	election := bson.E{Key: "errorCode", Value: 11602}
	cases := []struct {
		name    string
		source  bool // fail the source, else the target
		command string
		ns      string // only commands on this namespace ("" for all)
		action  bson.E
		times   int
		retried []string // retry kinds, at least one of which must count
	}{
		{"scan, election", true, "getMore", "app.plain", election, 3, []string{"clone-scan"}},
		{"scan, network", true, "getMore", "app.plain", cutConn, 2, []string{"clone-scan"}},
		{"capped scan", true, "getMore", "app.capped", election, 3, []string{"clone-scan"}},
		{"plan", true, "aggregate", "", election, 3, []string{"clone-plan"}},
		{"insert", false, "insert", "", cutConn, 4, []string{"clone-insert"}},
		{"capped insert", false, "insert", "app.capped", cutConn, 4, []string{"clone-insert"}},
		{"create", false, "create", "", cutConn, 2, []string{"clone-prepare"}},
		{"index build", false, "createIndexes", "", cutConn, 2, []string{"clone-index"}},
		{"checkpoint", false, "update", "", cutConn, 4, []string{"clone-plan", "clone-prepare", "clone-checkpoint"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t)
			ctx := context.Background()
			plain := mlink.Namespace{DB: "app", Coll: "plain"}
			capped := mlink.Namespace{DB: "app", Coll: "capped"}
			fill(t, p.testSrc, plain, 3000, 200)
			must(t, p.testSrc.Database("app").CreateCollection(ctx, "capped", options.CreateCollection().SetCapped(true).SetSizeInBytes(1<<20)))
			var docs []any
			for i := 0; i < 2000; i++ { // natural order runs against _id order
				docs = append(docs, bson.D{{Key: "_id", Value: 5000 - i}})
			}
			_, err := p.testSrc.Database("app").Collection("capped").InsertMany(ctx, docs)
			must(t, err)
			_, err = p.testSrc.Database("app").Collection("plain").Indexes().CreateOne(ctx, driver.IndexModel{Keys: bson.D{{Key: "pad", Value: 1}}})
			must(t, err)

			side, app := p.testD, "mlink-target"
			if tc.source {
				side, app = p.testSrc, "mlink-source"
			}
			data := bson.D{{Key: "failCommands", Value: bson.A{tc.command}}, tc.action}
			if tc.ns != "" {
				data = append(data, bson.E{Key: "namespace", Value: tc.ns})
			}
			failCommand(t, side, app, bson.D{{Key: "times", Value: tc.times}}, data)
			m := metrics.New(nil)
			cl := New(p.src, p.dst, Options{Filter: mlink.MustFilter([]string{"app.*"}, nil), BatchDocs: 100, Readers: 2, Writers: 2, Metrics: m})
			must(t, cl.Run(ctx))
			if n := failPointOff(t, side); n != int64(tc.times) {
				t.Errorf("fail point fired %d times, want %d", n, tc.times)
			}
			if n := sameDocs(t, p, plain, false); n != 3000 {
				t.Errorf("plain: %d documents", n)
			}
			sameDocs(t, p, capped, true)
			if f := cl.IndexFailures(); len(f) != 0 {
				t.Errorf("index failures: %+v", f)
			}
			specs, err := p.testD.Database("app").Collection("plain").Indexes().ListSpecifications(ctx)
			must(t, err)
			if len(specs) != 2 || specs[1].Name != "pad_1" {
				t.Errorf("target indexes: %+v", specs)
			}
			var retried float64
			for _, kind := range tc.retried {
				retried += testutil.ToFloat64(m.Retries.WithLabelValues(kind))
			}
			if retried == 0 {
				t.Errorf("no %v retry counted", tc.retried)
			}
		})
	}
}

// TestCloneStopsOnPermanentError: an error that retrying cannot fix ends
// the run at once, with the server's message, after one attempt per
// writer.
func TestCloneStopsOnPermanentError(t *testing.T) {
	p := newPair(t)
	fill(t, p.testSrc, mlink.Namespace{DB: "app", Coll: "c"}, 500, 50)
	failCommand(t, p.testD, "mlink-target", "alwaysOn", bson.D{{Key: "failCommands", Value: bson.A{"insert"}}, {Key: "errorCode", Value: 2}})
	cl := New(p.src, p.dst, Options{Filter: mlink.MustFilter([]string{"app.*"}, nil), BatchDocs: 100, Writers: 2})
	start := time.Now()
	err := cl.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "BadValue") {
		t.Fatalf("run: %v, want the BadValue failure", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a permanent error took %v to end the run", took)
	}
	if n := failPointOff(t, p.testD); n < 1 || n > 2 {
		t.Errorf("insert attempted %d times, want one per writer at most", n)
	}
}

// TestCloneReadAheadBounded slows every target insert down: the readers
// run ahead of the writers only as far as QueueBytes (plus the batch each
// reader is cutting and the one it waits to queue).
func TestCloneReadAheadBounded(t *testing.T) {
	p := newPair(t)
	const docSize, queue, batch, readers = 4 << 10, 256 << 10, 32 << 10, 2
	fill(t, p.testSrc, mlink.Namespace{DB: "app", Coll: "c"}, 2000, docSize)
	failCommand(t, p.testD, "mlink-target", "alwaysOn", bson.D{
		{Key: "failCommands", Value: bson.A{"insert"}}, {Key: "blockConnection", Value: true}, {Key: "blockTimeMS", Value: 5}})
	cl := New(p.src, p.dst, Options{Filter: mlink.MustFilter([]string{"app.*"}, nil),
		Readers: readers, Writers: 2, BatchDocs: 1000, BatchBytes: batch, QueueBytes: queue, PartitionBytes: 1 << 20})
	must(t, cl.Run(context.Background()))
	failPointOff(t, p.testD)
	sameDocs(t, p, mlink.Namespace{DB: "app", Coll: "c"}, false)
	peak := cl.readAheadPeak.Load()
	limit := int64(queue + readers*2*(batch+docSize))
	t.Logf("read-ahead peak %d bytes (QueueBytes %d, limit %d)", peak, queue, limit)
	if peak > limit {
		t.Errorf("read-ahead reached %d bytes, over the %d bound", peak, limit)
	}
	if peak < queue/2 {
		t.Errorf("read-ahead peaked at %d bytes: the readers never ran ahead, the bound was not exercised", peak)
	}
	if left := cl.readAhead.Load(); left != 0 {
		t.Errorf("%d bytes still counted as read ahead after the run", left)
	}
}
