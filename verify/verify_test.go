package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.uber.org/goleak"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
	"github.com/mlink-dev/mlink/mongosim/simtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pair is a source and a target server with a driver client on each (to
// build data) and mlink's clients (what the verifier gets).
type pair struct {
	srcURI, dstURI string
	srcDB, dstDB   *driver.Database // database "app" on each side
	src, dst       *mongo.Client
}

func newPair(t *testing.T) *pair {
	t.Helper()
	s, d := simtest.StartPair(t)
	p := &pair{srcURI: s.URI(), dstURI: d.URI()}
	p.srcDB = simtest.Client(t, s.URI()).Database("app")
	p.dstDB = simtest.Client(t, d.URI()).Database("app")
	p.src = mlinkClient(t, s.URI(), mongo.RoleSource)
	p.dst = mlinkClient(t, d.URI(), mongo.RoleTarget)
	return p
}

func mlinkClient(t *testing.T, uri string, role mongo.Role) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(context.Background(), uri, role)
	if err != nil {
		t.Fatalf("connect %s: %v", role, err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// both runs fn on the source's and the target's "app" database.
func (p *pair) both(t *testing.T, fn func(db *driver.Database) error) {
	t.Helper()
	for _, db := range []*driver.Database{p.srcDB, p.dstDB} {
		if err := fn(db); err != nil {
			t.Fatalf("setup on %s: %v", db.Client().Database("admin").Name(), err)
		}
	}
}

func (p *pair) verify(t *testing.T, opts Options) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, p.src, p.dst, opts)
	if err != nil {
		t.Fatalf("verify.Run: %v", err)
	}
	return rep
}

func cmd(db *driver.Database, c bson.D) error {
	return db.RunCommand(context.Background(), c).Err()
}

// richDocs are n documents with values of the types a sync must carry
// byte-exactly; with mixedIDs their _ids are of five BSON types (which
// SplitRanges separates into ranges), else int32 i.
func richDocs(n int, mixedIDs bool) []any {
	docs := make([]any, 0, n)
	for i := range n {
		var id any = int32(i)
		switch {
		case !mixedIDs:
		case i%5 == 1:
			id = int64(i)
		case i%5 == 2:
			id = fmt.Sprintf("s%06d", i)
		case i%5 == 3:
			id = bson.ObjectID{0x65, byte(i >> 16), byte(i >> 8), byte(i), 1, 2, 3, 4, 5, 6, 7, 8}
		case i%5 == 4:
			id = bson.D{{Key: "k", Value: int32(i)}, {Key: "a", Value: "x"}}
		}
		dec, _ := bson.ParseDecimal128(fmt.Sprintf("%d.10", i))
		docs = append(docs, bson.D{
			{Key: "_id", Value: id},
			{Key: "n", Value: int32(i)},
			{Key: "s", Value: fmt.Sprintf("value %d", i)},
			{Key: "dec", Value: dec},
			{Key: "nan", Value: math.NaN()},
			{Key: "negz", Value: math.Copysign(0, -1)},
			{Key: "bin", Value: bson.Binary{Subtype: 0x80, Data: []byte{byte(i), 1, 2}}},
			{Key: "ts", Value: bson.Timestamp{T: uint32(i), I: 1}},
			{Key: "arr", Value: bson.A{int32(1), bson.A{"nested"}, bson.D{{Key: "z", Value: bson.MaxKey{}}}}},
			{Key: "when", Value: bson.NewDateTimeFromTime(time.Date(2024, 1, 1, 0, 0, i%60, 0, time.UTC))},
		})
	}
	return docs
}

// seed creates the same catalog and data on both sides: a collection with
// indexes and options, a view, a capped collection.
func seed(t *testing.T, p *pair, n int, mixedIDs bool) {
	t.Helper()
	ctx := context.Background()
	p.both(t, func(db *driver.Database) error {
		if err := cmd(db, bson.D{{Key: "create", Value: "orders"},
			{Key: "validator", Value: bson.D{{Key: "n", Value: bson.D{{Key: "$exists", Value: true}}}}},
			{Key: "validationLevel", Value: "moderate"}}); err != nil {
			return err
		}
		if _, err := db.Collection("orders").InsertMany(ctx, richDocs(n, mixedIDs)); err != nil {
			return err
		}
		if err := cmd(db, bson.D{{Key: "createIndexes", Value: "orders"}, {Key: "indexes", Value: bson.A{
			bson.D{{Key: "key", Value: bson.D{{Key: "n", Value: 1}}}, {Key: "name", Value: "n_1"}, {Key: "unique", Value: true}},
			bson.D{{Key: "key", Value: bson.D{{Key: "when", Value: 1}}}, {Key: "name", Value: "when_1"}, {Key: "expireAfterSeconds", Value: int32(3600)}},
			bson.D{{Key: "key", Value: bson.D{{Key: "s", Value: 1}, {Key: "n", Value: -1}}}, {Key: "name", Value: "s_1_n_-1"}, {Key: "sparse", Value: true}},
		}}}); err != nil {
			return err
		}
		if err := cmd(db, bson.D{{Key: "create", Value: "big_orders"}, {Key: "viewOn", Value: "orders"},
			{Key: "pipeline", Value: bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "n", Value: bson.D{{Key: "$gt", Value: 10}}}}}}}}}); err != nil {
			return err
		}
		if err := cmd(db, bson.D{{Key: "create", Value: "log"}, {Key: "capped", Value: true}, {Key: "size", Value: int64(1 << 20)}}); err != nil {
			return err
		}
		_, err := db.Collection("log").InsertMany(ctx, []any{bson.D{{Key: "_id", Value: 1}, {Key: "m", Value: "a"}}, bson.D{{Key: "_id", Value: 2}, {Key: "m", Value: "b"}}})
		return err
	})
}

// small partitions so a few hundred documents make several ranges.
var smallParts = Options{PartitionBytes: 4 << 10, Parallel: 3}

func TestVerifyEqual(t *testing.T) {
	p := newPair(t)
	seed(t, p, 500, false)
	rep := p.verify(t, Options{})
	if !rep.Equal() {
		t.Fatalf("identical data reported different:\n%s", text(t, rep))
	}
	want := map[string]string{"app.orders": "collection", "app.big_orders": "view", "app.log": "collection"}
	if len(rep.Namespaces) != len(want) {
		t.Fatalf("namespaces: %s", mustJSON(t, rep.Namespaces))
	}
	for ns, typ := range want {
		nr := rep.Namespace(ns)
		if nr == nil || nr.Status != StatusEqual || nr.Type != typ || len(nr.Options) != 0 || len(nr.Indexes) != 0 {
			t.Fatalf("%s: %s", ns, mustJSON(t, nr))
		}
	}
	c := rep.Namespace("app.orders").Content
	if c.SourceCount != 500 || c.TargetCount != 500 || c.Ranges != 1 || c.MismatchedRanges != 0 || c.SourceBytes != c.TargetBytes || c.SourceBytes == 0 {
		t.Fatalf("orders content: %s", mustJSON(t, c))
	}
	if rep.Namespace("app.big_orders").Content != nil {
		t.Fatal("a view's content was compared")
	}
}

func TestVerifyEqualManyRanges(t *testing.T) {
	p := newPair(t)
	seed(t, p, 500, true)
	rep := p.verify(t, smallParts)
	if !rep.Equal() {
		t.Fatalf("identical data reported different:\n%s", text(t, rep))
	}
	want := map[string]string{"app.orders": "collection", "app.big_orders": "view", "app.log": "collection"}
	if len(rep.Namespaces) != len(want) {
		t.Fatalf("namespaces: %s", mustJSON(t, rep.Namespaces))
	}
	for ns, typ := range want {
		nr := rep.Namespace(ns)
		if nr == nil || nr.Status != StatusEqual || nr.Type != typ {
			t.Fatalf("%s: %s", ns, mustJSON(t, nr))
		}
	}
	c := rep.Namespace("app.orders").Content
	if c.SourceCount != 500 || c.TargetCount != 500 || c.Ranges < 4 || c.MismatchedRanges != 0 || c.SourceBytes != c.TargetBytes {
		t.Fatalf("orders content: %s", mustJSON(t, c))
	}
	if rep.Namespace("app.big_orders").Content != nil {
		t.Fatal("a view's content was compared")
	}
	if c := rep.Namespace("app.log").Content; c.SourceCount != 2 || c.TargetCount != 2 {
		t.Fatalf("log content: %s", mustJSON(t, c))
	}
}

// orders returns the target's orders collection, to break something there.
func (p *pair) targetOrders() *driver.Collection { return p.dstDB.Collection("orders") }

func contentOf(t *testing.T, rep *Report, ns string) *ContentReport {
	t.Helper()
	nr := rep.Namespace(ns)
	if nr == nil || nr.Content == nil {
		t.Fatalf("%s: no content report: %s", ns, mustJSON(t, rep))
	}
	if nr.Status != StatusDifferent || rep.Equal() {
		t.Fatalf("%s: status %q, report equal %v", ns, nr.Status, rep.Equal())
	}
	return nr.Content
}

func ids(t *testing.T, vs ...any) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	for _, v := range vs {
		out = append(out, extJSON(rv(t, v), true))
	}
	return out
}

func TestVerifyFindsMissingDocument(t *testing.T) {
	p := newPair(t)
	seed(t, p, 500, false)
	if res, err := p.targetOrders().DeleteOne(context.Background(), bson.D{{Key: "_id", Value: int32(123)}}); err != nil || res.DeletedCount != 1 {
		t.Fatalf("delete: %v %+v", err, res)
	}
	c := contentOf(t, p.verify(t, Options{}), "app.orders")
	if c.SourceCount != 500 || c.TargetCount != 499 || c.MismatchedRanges != 1 {
		t.Fatalf("counts/ranges: %s", mustJSON(t, c))
	}
	if !reflect.DeepEqual(c.Missing, ids(t, int32(123))) || c.Extra != nil || c.Different != nil || c.Truncated {
		t.Fatalf("diffs: %s", mustJSON(t, c))
	}
	if len(c.RangeDiffs) != 1 || !c.RangeDiffs[0].Drilled || c.RangeDiffs[0].Unconfirmed || c.RangeDiffs[0].SourceCount != 500 || c.RangeDiffs[0].TargetCount != 499 {
		t.Fatalf("range diff: %s", mustJSON(t, c.RangeDiffs))
	}
}

// A difference is found in, and only in, the range that holds it.
func TestVerifyLocalisesDifferenceToOneRange(t *testing.T) {
	p := newPair(t)
	seed(t, p, 500, true)
	gone := bson.ObjectID{0x65, 0, 0, 123, 1, 2, 3, 4, 5, 6, 7, 8} // i = 123
	if res, err := p.targetOrders().DeleteOne(context.Background(), bson.D{{Key: "_id", Value: gone}}); err != nil || res.DeletedCount != 1 {
		t.Fatalf("delete: %v %+v", err, res)
	}
	c := contentOf(t, p.verify(t, smallParts), "app.orders")
	if c.SourceCount != 500 || c.TargetCount != 499 || c.MismatchedRanges != 1 || c.Ranges < 4 {
		t.Fatalf("counts/ranges: %s", mustJSON(t, c))
	}
	if !reflect.DeepEqual(c.Missing, ids(t, gone)) || c.Extra != nil || c.Different != nil || c.Truncated {
		t.Fatalf("diffs: %s", mustJSON(t, c))
	}
	if len(c.RangeDiffs) != 1 || !c.RangeDiffs[0].Drilled || c.RangeDiffs[0].Unconfirmed || c.RangeDiffs[0].SourceCount != c.RangeDiffs[0].TargetCount+1 {
		t.Fatalf("range diff: %s", mustJSON(t, c.RangeDiffs))
	}
}

func TestVerifyFindsExtraDocument(t *testing.T) {
	p := newPair(t)
	seed(t, p, 500, false)
	extra := bson.D{{Key: "_id", Value: "s999999"}, {Key: "n", Value: int32(-1)}}
	if _, err := p.targetOrders().InsertOne(context.Background(), extra); err != nil {
		t.Fatal(err)
	}
	c := contentOf(t, p.verify(t, Options{}), "app.orders")
	if c.TargetCount != 501 || !reflect.DeepEqual(c.Extra, ids(t, "s999999")) || c.Missing != nil || c.Different != nil {
		t.Fatalf("diffs: %s", mustJSON(t, c))
	}
}

func TestVerifyFindsChangedValue(t *testing.T) {
	p := newPair(t)
	seed(t, p, 500, false)
	// Same number, another BSON type: a byte-level difference.
	res, err := p.targetOrders().UpdateOne(context.Background(), bson.D{{Key: "_id", Value: int32(201)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: int64(201)}}}})
	if err != nil || res.ModifiedCount != 1 {
		t.Fatalf("update: %v %+v", err, res)
	}
	c := contentOf(t, p.verify(t, Options{}), "app.orders")
	if c.SourceCount != c.TargetCount || !reflect.DeepEqual(c.Different, ids(t, int32(201))) || c.Missing != nil || c.Extra != nil {
		t.Fatalf("diffs: %s", mustJSON(t, c))
	}
}

func TestVerifyFindsChangedFieldOrder(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	p.both(t, func(db *driver.Database) error {
		var docs []any
		for i := range 300 {
			docs = append(docs, bson.D{{Key: "_id", Value: i}, {Key: "a", Value: i}, {Key: "b", Value: "x"}})
		}
		_, err := db.Collection("c").InsertMany(ctx, docs)
		return err
	})
	swapped := bson.D{{Key: "_id", Value: 77}, {Key: "b", Value: "x"}, {Key: "a", Value: 77}}
	if res, err := p.dstDB.Collection("c").ReplaceOne(ctx, bson.D{{Key: "_id", Value: 77}}, swapped); err != nil || res.MatchedCount != 1 {
		t.Fatalf("replace: %v %+v", err, res)
	}
	c := contentOf(t, p.verify(t, Options{}), "app.c")
	if c.SourceCount != 300 || c.TargetCount != 300 || c.SourceBytes != c.TargetBytes {
		t.Fatalf("same fields, same sizes expected: %s", mustJSON(t, c))
	}
	if !reflect.DeepEqual(c.Different, ids(t, int32(77))) || c.Missing != nil || c.Extra != nil {
		t.Fatalf("diffs: %s", mustJSON(t, c))
	}
}

func TestVerifyFindsChangedIndexOption(t *testing.T) {
	p := newPair(t)
	seed(t, p, 50, false)
	if err := cmd(p.dstDB, bson.D{{Key: "collMod", Value: "orders"}, {Key: "index", Value: bson.D{{Key: "name", Value: "when_1"}, {Key: "expireAfterSeconds", Value: int64(60)}}}}); err != nil {
		t.Fatal(err)
	}
	rep := p.verify(t, Options{})
	nr := rep.Namespace("app.orders")
	want := []IndexDiff{{Name: "when_1", Problem: IndexDifferent, Fields: []FieldDiff{
		{Field: "expireAfterSeconds", Source: json.RawMessage(`3600`), Target: json.RawMessage(`60`)},
	}}}
	if nr.Status != StatusDifferent || !reflect.DeepEqual(nr.Indexes, want) || len(nr.Options) != 0 {
		t.Fatalf("got %s", mustJSON(t, nr))
	}
	if nr.Content == nil || nr.Content.MismatchedRanges != 0 {
		t.Fatalf("content should be equal: %s", mustJSON(t, nr.Content))
	}
}

func TestVerifyFindsMissingIndex(t *testing.T) {
	p := newPair(t)
	seed(t, p, 50, false)
	if err := cmd(p.dstDB, bson.D{{Key: "dropIndexes", Value: "orders"}, {Key: "index", Value: "s_1_n_-1"}}); err != nil {
		t.Fatal(err)
	}
	nr := p.verify(t, Options{}).Namespace("app.orders")
	if nr.Status != StatusDifferent || len(nr.Indexes) != 1 {
		t.Fatalf("got %s", mustJSON(t, nr))
	}
	ix := nr.Indexes[0]
	if ix.Name != "s_1_n_-1" || ix.Problem != IndexMissingOnTarget || len(ix.Source) == 0 || len(ix.Target) != 0 {
		t.Fatalf("index diff: %s", mustJSON(t, ix))
	}
	var spec struct {
		Key    bson.D `json:"key"`
		Sparse bool   `json:"sparse"`
	}
	if err := json.Unmarshal(ix.Source, &spec); err != nil || !spec.Sparse {
		t.Fatalf("source spec %s: %v", ix.Source, err)
	}
}

func TestVerifyFindsChangedCollectionOption(t *testing.T) {
	p := newPair(t)
	seed(t, p, 50, false)
	if err := cmd(p.dstDB, bson.D{{Key: "collMod", Value: "orders"}, {Key: "validationLevel", Value: "strict"}}); err != nil {
		t.Fatal(err)
	}
	nr := p.verify(t, Options{}).Namespace("app.orders")
	want := []FieldDiff{{Field: "options.validationLevel", Source: json.RawMessage(`"moderate"`), Target: json.RawMessage(`"strict"`)}}
	if nr.Status != StatusDifferent || !reflect.DeepEqual(nr.Options, want) || len(nr.Indexes) != 0 {
		t.Fatalf("got %s", mustJSON(t, nr))
	}
}

func TestVerifyFindsMissingAndExtraCollections(t *testing.T) {
	p := newPair(t)
	seed(t, p, 20, false)
	ctx := context.Background()
	if err := p.dstDB.Collection("log").Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.dstDB.Collection("stray").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	// Outside the filter: never reported.
	if _, err := p.dstDB.Client().Database("other").Collection("x").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	rep := p.verify(t, Options{Filter: mlink.MustFilter([]string{"app.*"}, nil)})
	if rep.Equal() {
		t.Fatal("report equal")
	}
	got := map[string]string{}
	for _, nr := range rep.Namespaces {
		got[nr.NS] = nr.Status
	}
	want := map[string]string{"app.orders": StatusEqual, "app.big_orders": StatusEqual, "app.log": StatusMissingOnTarget, "app.stray": StatusExtraOnTarget}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if s := rep.Summary(); s.MissingOnTarget != 1 || s.ExtraOnTarget != 1 || s.Equal != 2 {
		t.Fatalf("summary %+v", s)
	}
}

func TestVerifyInProgressRelaxations(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	docs := []any{bson.D{{Key: "_id", Value: 1}, {Key: "email", Value: "a@x"}, {Key: "at", Value: bson.NewDateTimeFromTime(time.Now())}}}
	for i, db := range []*driver.Database{p.srcDB, p.dstDB} {
		if _, err := db.Collection("users").InsertMany(ctx, docs); err != nil {
			t.Fatal(err)
		}
		unique, ttl := bson.E{Key: "unique", Value: true}, bson.E{Key: "expireAfterSeconds", Value: int32(86400)}
		if i == 1 { // what clone builds during a sync
			unique, ttl = bson.E{Key: "sparse", Value: false}, bson.E{Key: "expireAfterSeconds", Value: int32(math.MaxInt32)}
		}
		if err := cmd(db, bson.D{{Key: "createIndexes", Value: "users"}, {Key: "indexes", Value: bson.A{
			bson.D{{Key: "key", Value: bson.D{{Key: "email", Value: 1}}}, {Key: "name", Value: "email_1"}, unique},
			bson.D{{Key: "key", Value: bson.D{{Key: "at", Value: 1}}}, {Key: "name", Value: "at_1"}, ttl},
		}}}); err != nil {
			t.Fatal(err)
		}
	}
	finalized := p.verify(t, Options{}).Namespace("app.users")
	if finalized.Status != StatusDifferent || len(finalized.Indexes) != 2 {
		t.Fatalf("without --in-progress: %s", mustJSON(t, finalized))
	}
	// sparse:false on the target is a real difference even in progress.
	inProgress := p.verify(t, Options{InProgress: true})
	nr := inProgress.Namespace("app.users")
	want := []IndexDiff{{Name: "email_1", Problem: IndexDifferent, Fields: []FieldDiff{{Field: "sparse", Target: json.RawMessage(`false`)}}}}
	if !reflect.DeepEqual(nr.Indexes, want) || !inProgress.InProgress {
		t.Fatalf("in progress: %s", mustJSON(t, nr))
	}
}

func TestVerifyMaxDiffsTruncates(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	var docs []any
	for i := range 100 {
		docs = append(docs, bson.D{{Key: "_id", Value: i}})
	}
	if _, err := p.srcDB.Collection("c").InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if err := cmd(p.dstDB, bson.D{{Key: "create", Value: "c"}}); err != nil {
		t.Fatal(err)
	}
	c := contentOf(t, p.verify(t, Options{MaxDiffs: 7}), "app.c")
	if c.SourceCount != 100 || c.TargetCount != 0 || len(c.Missing) != 7 || !c.Truncated {
		t.Fatalf("got %s", mustJSON(t, c))
	}
	if !reflect.DeepEqual(c.Missing[:2], ids(t, int32(0), int32(1))) {
		t.Fatalf("missing should be listed in _id order: %s", mustJSON(t, c.Missing))
	}
	c = contentOf(t, p.verify(t, Options{MaxDiffs: -1}), "app.c")
	if c.Missing != nil || c.Truncated || c.MismatchedRanges == 0 || c.RangeDiffs[0].Drilled {
		t.Fatalf("MaxDiffs<0 must not drill: %s", mustJSON(t, c))
	}
}

func TestVerifyRangeTooLargeToDrill(t *testing.T) {
	old := maxDrillDocs
	maxDrillDocs = 10
	t.Cleanup(func() { maxDrillDocs = old })
	p := newPair(t)
	ctx := context.Background()
	// An empty source gives one open range: on the target it holds 50
	// documents, more than may be re-read.
	if err := cmd(p.srcDB, bson.D{{Key: "create", Value: "c"}}); err != nil {
		t.Fatal(err)
	}
	var docs []any
	for i := range 50 {
		docs = append(docs, bson.D{{Key: "_id", Value: i}})
	}
	if _, err := p.dstDB.Collection("c").InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	c := contentOf(t, p.verify(t, Options{}), "app.c")
	if c.SourceCount != 0 || c.TargetCount != 50 || c.Extra != nil || !c.Truncated ||
		len(c.RangeDiffs) != 1 || !c.RangeDiffs[0].TooLarge || c.RangeDiffs[0].Drilled {
		t.Fatalf("got %s", mustJSON(t, c))
	}
}

func TestVerifyTimeseriesNotCompared(t *testing.T) {
	p := newPair(t)
	if err := cmd(p.srcDB, bson.D{{Key: "create", Value: "metrics"}, {Key: "timeseries", Value: bson.D{{Key: "timeField", Value: "t"}}}}); err != nil {
		t.Fatalf("create time series: %v", err)
	}
	rep := p.verify(t, Options{})
	nr := rep.Namespace("app.metrics")
	if nr == nil || nr.Status != StatusNotCompared || nr.Type != "timeseries" || nr.Reason == "" {
		t.Fatalf("got %s", mustJSON(t, rep))
	}
	if !rep.Equal() || rep.Summary().NotCompared != 1 {
		t.Fatalf("not-compared should be listed but not unequal: %s", mustJSON(t, rep))
	}
	for _, n := range rep.Namespaces {
		if n.NS != "app.metrics" {
			t.Errorf("unexpected namespace %s (buckets are system namespaces)", n.NS)
		}
	}
}

func TestVerifyCancelled(t *testing.T) {
	p := newPair(t)
	seed(t, p, 50, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, p.src, p.dst, Options{}); err == nil {
		t.Fatal("cancelled context: no error")
	}
}

func text(t *testing.T, rep *Report) string {
	t.Helper()
	var b []byte
	w := &appendWriter{b: &b}
	if err := rep.WriteText(w); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type appendWriter struct{ b *[]byte }

func (w *appendWriter) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }
