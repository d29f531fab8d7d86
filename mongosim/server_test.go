package mongosim

import (
	"context"
	"net"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
	"go.uber.org/goleak"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/changestream"
	"github.com/mlink-dev/mlink/mongosim/store"
)

// Every test must leave no goroutine behind: Close stops them all.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startTestServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// connectWith connects a driver client to uri, with opts applied after
// the URI's; it is disconnected when the test ends.
func connectWith(tb testing.TB, uri string, opts ...*options.ClientOptions) *mongo.Client {
	tb.Helper()
	c, err := mongo.Connect(append([]*options.ClientOptions{options.Client().ApplyURI(uri)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

func connectTest(t testing.TB, uri string) *mongo.Client {
	t.Helper()
	return connectWith(t, uri, options.Client().SetTimeout(10*time.Second))
}

func TestDriverConnectsReplicaSet(t *testing.T) {
	s := startTestServer(t, Options{})
	c := connectTest(t, s.URI())
	var res bson.M
	if err := c.Database("admin").RunCommand(context.Background(), bson.D{{Key: "ping", Value: 1}}).Decode(&res); err != nil {
		t.Fatal(err)
	}
	if res["ok"] != 1.0 {
		t.Fatalf("ping: %v", res)
	}
}

func TestCloseWithOpenConnectionsAndContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for s.currentConns() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel() // cancelling the start context shuts the server down
	deadline = time.Now().Add(5 * time.Second)
	for s.currentConns() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := s.currentConns(); n != 0 {
		t.Fatalf("%d connections still open after cancel", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err == nil {
		t.Fatal("server left the connection open")
	}
}

func TestClusterClockStrictlyIncreases(t *testing.T) {
	var c clusterClock
	now := time.Unix(1700000000, 0)
	c.init(now)
	prevT, prevI := c.tick(now)
	for i := 0; i < 1000; i++ {
		ts := now
		if i%100 == 50 {
			ts = now.Add(-time.Hour) // the wall clock stepping back must not matter
		}
		if i%300 == 0 {
			ts = now.Add(time.Duration(i) * time.Second)
		}
		t2, i2 := c.tick(ts)
		if t2 < prevT || (t2 == prevT && i2 <= prevI) {
			t.Fatalf("tick %d: (%d,%d) not after (%d,%d)", i, t2, i2, prevT, prevI)
		}
		prevT, prevI = t2, i2
	}
}

func TestNoopAdvancesClusterTimeWhileIdle(t *testing.T) {
	s := startTestServer(t, Options{NoopInterval: 20 * time.Millisecond})
	start := s.clock.now()
	noops := func() int {
		n := 0
		for _, e := range s.repl.history.Entries(changestream.Timestamp{}, changestream.Timestamp{}) {
			if e.Op == changestream.OpNoop && string(e.Msg) == string(noopMsg) {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(5 * time.Second)
	for noops() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := noops(); n < 2 {
		t.Fatalf("periodic no-ops in the oplog: %d", n)
	}
	if bsonkit.Compare(s.clock.now(), start) <= 0 {
		t.Fatal("cluster time did not advance")
	}
}

func TestCursorReaperKillsIdleCursors(t *testing.T) {
	s := startTestServer(t, Options{})
	m := s.cursors
	idle := &cursor{ns: "d.c", src: &sliceSource{}}
	pinned := &cursor{ns: "d.c", src: &sliceSource{}, noTimeout: true}
	fresh := &cursor{ns: "d.c", src: &sliceSource{}}
	idleID, pinnedID, freshID := m.open(idle), m.open(pinned), m.open(fresh)
	if idleID == 0 || pinnedID == 0 || freshID == 0 || idleID == pinnedID {
		t.Fatal("bad cursor ids")
	}
	old := time.Now().Add(-11 * time.Minute)
	m.mu.Lock()
	idle.lastUse, pinned.lastUse = old, old
	m.mu.Unlock()
	if n := m.reap(time.Now()); n != 1 {
		t.Fatalf("reaped %d, want 1", n)
	}
	if _, err := m.acquire(idleID); err == nil {
		t.Fatal("idle cursor survived")
	}
	for _, id := range []int64{pinnedID, freshID} {
		c, err := m.acquire(id)
		if err != nil {
			t.Fatalf("cursor %d: %v", id, err)
		}
		m.release(c, false)
	}
}

// The planner turns {_id: {$gte: a, $lt: b}} into a bounded _id scan: only
// the records in range are visited, not the whole collection.
func TestIDRangeScanVisitsOnlyTheRange(t *testing.T) {
	st := store.New()
	c, _, err := st.EnsureCollection("d", "c")
	if err != nil {
		t.Fatal(err)
	}
	for i := int32(0); i < 10000; i++ {
		if _, _, err := c.Insert(bsonkit.D("_id", bsonkit.Int32(i))); err != nil {
			t.Fatal(err)
		}
	}
	f, err := compileFilter(bsonkit.D("_id", bsonkit.DocValue(bsonkit.D("$gte", bsonkit.Int32(5000), "$lt", bsonkit.Int32(5010)))))
	if err != nil {
		t.Fatal(err)
	}
	sort, err := compileSort(bsonkit.D("_id", bsonkit.Int32(1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, srt := range []*sortSpec{nil, sort} {
		sc := scanner{plan: planScan(f, srt, bsonkit.Missing)}
		if sc.plan.kind != scanID {
			t.Fatalf("plan kind %d, want _id scan", sc.plan.kind)
		}
		visited := 0
		var got []int32
		sc.run(c, func(r store.Record) verdict {
			visited++
			if ok, _ := f.match(r.Doc); ok {
				got = append(got, r.ID.Int32())
			}
			return take
		})
		if visited > 11 || len(got) != 10 || got[0] != 5000 || got[9] != 5009 {
			t.Fatalf("visited %d records, matched %v", visited, got)
		}
	}
	// Equality sets are point lookups.
	f, _ = compileFilter(bsonkit.D("_id", bsonkit.DocValue(bsonkit.D("$in", bsonkit.Array(bsonkit.Int32(7), bsonkit.Int32(3), bsonkit.Int32(99999))))))
	sc := scanner{plan: planScan(f, nil, bsonkit.Missing)}
	visited := 0
	sc.run(c, func(store.Record) verdict { visited++; return take })
	if sc.plan.kind != scanIDPoints || visited != 2 {
		t.Fatalf("points plan %d visited %d", sc.plan.kind, visited)
	}
}

func TestBatchStopsBefore16MiB(t *testing.T) {
	big := bsonkit.D("_id", bsonkit.Int32(1), "pad", bsonkit.Binary(0, make([]byte, 6<<20)))
	src := &sliceSource{docs: []bsoncore.Document{big, big, big, big}}
	b := batch{}
	if done, _ := src.fill(context.Background(), &b); done || b.n != 2 {
		t.Fatalf("first batch %d docs (done %v), want 2", b.n, done)
	}
	huge := bsonkit.D("_id", bsonkit.Int32(1), "pad", bsonkit.Binary(0, make([]byte, 17<<20)))
	src = &sliceSource{docs: []bsoncore.Document{huge, big}}
	b = batch{}
	if _, _ = src.fill(context.Background(), &b); b.n != 1 {
		t.Fatalf("oversized first doc: batch has %d docs, want exactly 1", b.n)
	}
}
