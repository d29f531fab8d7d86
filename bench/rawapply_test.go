package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/mlink-dev/mlink/mongosim/simtest"
)

func mustRaw(t *testing.T, d bson.D) bson.Raw {
	t.Helper()
	b, err := bson.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func event(op string, extra ...bson.E) bson.D {
	d := bson.D{
		{Key: "_id", Value: bson.D{{Key: "_data", Value: "8200000064000000072B"}}},
		{Key: "operationType", Value: op},
		{Key: "clusterTime", Value: bson.Timestamp{T: 100, I: 7}},
		{Key: "ns", Value: bson.D{{Key: "db", Value: "app"}, {Key: "coll", Value: "c1"}}},
		{Key: "documentKey", Value: bson.D{{Key: "_id", Value: int64(42)}}},
	}
	return append(d, extra...)
}

func TestTranslateEventWrites(t *testing.T) {
	full := bson.D{{Key: "_id", Value: int64(42)}, {Key: "a", Value: bson.NewDecimal128(3, 4)}}
	key := mustRaw(t, bson.D{{Key: "_id", Value: int64(42)}})
	for _, op := range []string{"insert", "replace"} {
		ev := mustRaw(t, event(op, bson.E{Key: "fullDocument", Value: full}))
		w, ts, err := translateEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		m, ok := w.model.(*mongo.ReplaceOneModel)
		if !ok || w.db != "app" || w.coll != "c1" || ts != (bson.Timestamp{T: 100, I: 7}) || w.size != len(ev) {
			t.Fatalf("%s → %#v at %v", op, w, ts)
		}
		if !bytes.Equal(m.Filter.(bson.Raw), key) || !bytes.Equal(m.Replacement.(bson.Raw), mustRaw(t, full)) || m.Upsert == nil || !*m.Upsert {
			t.Fatalf("%s model %+v", op, m)
		}
		// The model owns its bytes: the cursor's buffer is reused.
		for i := range ev {
			ev[i] = 0
		}
		if !bytes.Equal(m.Replacement.(bson.Raw), mustRaw(t, full)) {
			t.Fatalf("%s model shares the event's buffer", op)
		}
	}

	ud := bson.D{
		{Key: "updatedFields", Value: bson.D{{Key: "score", Value: 1.5}, {Key: "address.city", Value: "Oslo"}}},
		{Key: "removedFields", Value: bson.A{"email"}},
		{Key: "truncatedArrays", Value: bson.A{}},
	}
	w, _, err := translateEvent(mustRaw(t, event("update", bson.E{Key: "updateDescription", Value: ud})))
	if err != nil {
		t.Fatal(err)
	}
	um := w.model.(*mongo.UpdateOneModel)
	wantUpdate := mustRaw(t, bson.D{
		{Key: "$set", Value: bson.D{{Key: "score", Value: 1.5}, {Key: "address.city", Value: "Oslo"}}},
		{Key: "$unset", Value: bson.D{{Key: "email", Value: ""}}},
	})
	if got := mustRaw(t, um.Update.(bson.D)); !bytes.Equal(got, wantUpdate) || !bytes.Equal(um.Filter.(bson.Raw), key) {
		t.Fatalf("update model: filter %v update %v, want update %v", um.Filter, got, bson.Raw(wantUpdate))
	}

	w, _, err = translateEvent(mustRaw(t, event("delete")))
	if err != nil {
		t.Fatal(err)
	}
	if dm, ok := w.model.(*mongo.DeleteOneModel); !ok || !bytes.Equal(dm.Filter.(bson.Raw), key) {
		t.Fatalf("delete model %#v", w.model)
	}

	// An update that changes nothing needs no write but still has its time.
	w, ts, err := translateEvent(mustRaw(t, event("update", bson.E{Key: "updateDescription", Value: bson.D{
		{Key: "updatedFields", Value: bson.D{}}, {Key: "removedFields", Value: bson.A{}}}})))
	if err != nil || w != nil || ts != (bson.Timestamp{T: 100, I: 7}) {
		t.Fatalf("empty update → %v, %v, %v", w, ts, err)
	}
}

func TestTranslateEventRefusesWhatTheBaselineCannotApply(t *testing.T) {
	cases := map[string]bson.D{
		"truncatedArrays": event("update", bson.E{Key: "updateDescription", Value: bson.D{
			{Key: "updatedFields", Value: bson.D{}}, {Key: "removedFields", Value: bson.A{}},
			{Key: "truncatedArrays", Value: bson.A{bson.D{{Key: "field", Value: "tags"}, {Key: "newSize", Value: 1}}}}}}),
		"drop":                 event("drop"),
		"insert without doc":   event("insert"),
		"delete without key":   {{Key: "operationType", Value: "delete"}, {Key: "ns", Value: bson.D{{Key: "db", Value: "a"}, {Key: "coll", Value: "b"}}}},
		"rename":               event("rename"),
		"unknown operationTyp": event("shardCollection"),
	}
	for name, ev := range cases {
		if _, _, err := translateEvent(mustRaw(t, ev)); err == nil {
			t.Errorf("%s: translated without error", name)
		}
	}
	if _, _, err := translateEvent(mustRaw(t, event("drop"))); !errors.Is(err, errUnsupportedEvent) {
		t.Errorf("drop error %v does not wrap errUnsupportedEvent", err)
	}
}

func TestTokenTime(t *testing.T) {
	tok := mustRaw(t, bson.D{{Key: "_data", Value: "82657A1B2C0000000A2B022C0100296E5A1004"}})
	got, ok := tokenTime(tok)
	if !ok || got != (bson.Timestamp{T: 0x657A1B2C, I: 10}) {
		t.Fatalf("tokenTime = %v, %v", got, ok)
	}
	for _, bad := range []bson.D{
		{{Key: "_data", Value: "8265"}},
		{{Key: "_data", Value: "10657A1B2C0000000A2B"}},
		{{Key: "_data", Value: "82ZZ7A1B2C0000000A2B"}},
		{{Key: "other", Value: 1}},
	} {
		if _, ok := tokenTime(mustRaw(t, bad)); ok {
			t.Errorf("tokenTime(%v) accepted", bad)
		}
	}
}

func TestRawWorkerAppliesInQueueOrderPerNamespace(t *testing.T) {
	ctx := context.Background()
	dc := simtest.Client(t, simtest.Start(t).URI())
	q := make(chan rawOp, 100)
	put := func(db, coll string, m mongo.WriteModel) { q <- rawOp{db: db, coll: coll, model: m, size: 100} }
	doc := func(id int, v string) bson.Raw {
		return mustRaw(t, bson.D{{Key: "_id", Value: id}, {Key: "v", Value: v}})
	}
	key := func(id int) bson.Raw { return mustRaw(t, bson.D{{Key: "_id", Value: id}}) }
	// Same document touched many times, across two namespaces, in order.
	put("a", "x", mongo.NewReplaceOneModel().SetFilter(key(1)).SetReplacement(doc(1, "one")).SetUpsert(true))
	put("b", "y", mongo.NewReplaceOneModel().SetFilter(key(1)).SetReplacement(doc(1, "other ns")).SetUpsert(true))
	put("a", "x", mongo.NewUpdateOneModel().SetFilter(key(1)).SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: "two"}}}}))
	put("a", "x", mongo.NewReplaceOneModel().SetFilter(key(2)).SetReplacement(doc(2, "gone")).SetUpsert(true))
	put("a", "x", mongo.NewDeleteOneModel().SetFilter(key(2)))
	put("a", "x", mongo.NewUpdateOneModel().SetFilter(key(3)).SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: "missing"}}}}))
	close(q)
	n, err := rawWorker(ctx, dc, q, ApplyOptions{Workers: 1, BatchDocs: 4, BatchBytes: 1 << 20, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Fatalf("applied %d writes, want 6", n)
	}
	check := func(db, coll string, want string) {
		cur, err := dc.Database(db).Collection(coll).Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var got []bson.Raw
		for cur.Next(ctx) {
			got = append(got, append(bson.Raw(nil), cur.Current...))
		}
		if fmt.Sprint(got) != want {
			t.Fatalf("%s.%s = %v, want %s", db, coll, got, want)
		}
	}
	check("a", "x", `[{"_id": {"$numberInt":"1"},"v": "two"}]`)
	check("b", "y", `[{"_id": {"$numberInt":"1"},"v": "other ns"}]`)
}

// TestRawApplyReplaysTheBacklog drives the whole baseline: a writer's
// backlog on the source, replayed onto a target holding the same base.
func TestRawApplyReplaysTheBacklog(t *testing.T) {
	ctx := context.Background()
	src, dst := simtest.StartPair(t)
	sc, dc := simtest.Client(t, src.URI()), simtest.Client(t, dst.URI())
	if err := CheckChangeStreams(ctx, sc); err != nil {
		t.Fatal(err)
	}
	d := Dataset{DB: "app", Colls: 3, Docs: 600, DocBytes: 500}
	for _, c := range []*mongo.Client{sc, dc} {
		if _, err := d.Load(ctx, c, 2, 100); err != nil {
			t.Fatal(err)
		}
	}
	start, err := WriteMarker(ctx, sc, d.DB, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := StartWriter(ctx, sc, WriterOptions{Dataset: d, Ops: 3000, Clients: 3, MaxBulk: 50, Seed: 3}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	until, err := WriteMarker(ctx, sc, d.DB, 2)
	if err != nil {
		t.Fatal(err)
	}
	n, err := RawApply(ctx, sc, dc, start, until, ApplyOptions{Workers: 4, BatchDocs: 100, BatchBytes: 1 << 20, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// 3000 operations minus updates/deletes of missing documents, plus the two markers.
	if n < 2000 || n > 3002 {
		t.Fatalf("applied %d events for 3000 operations", n)
	}
	want, err := TakeFingerprint(ctx, sc, d.DB)
	if err != nil {
		t.Fatal(err)
	}
	got, err := TakeFingerprint(ctx, dc, d.DB)
	if err != nil {
		t.Fatal(err)
	}
	if diff := want.Diff(got); diff != "" {
		t.Fatalf("target differs after the replay: %s", diff)
	}
}
