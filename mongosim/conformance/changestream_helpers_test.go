package conformance

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// Helpers for change-stream tests: open streams, read events with a
// deadline, and compare events field by field (names, order and values)
// against an expected shape in which some values are matchers.

// matcher checks one field value whose exact bytes a test cannot know
// (resume tokens, cluster and wall times).
type matcher func(v bson.RawValue) error

// anyToken matches a resume token {_data: "<uppercase hex>"} and records it.
func anyToken(dst *bson.Raw) matcher {
	return func(v bson.RawValue) error {
		d, ok := v.DocumentOK()
		if !ok {
			return fmt.Errorf("resume token is %s, not a document", v.Type)
		}
		elems, _ := d.Elements()
		if len(elems) != 1 || elems[0].Key() != "_data" || elems[0].Value().Type != bson.TypeString {
			return fmt.Errorf("resume token %s is not {_data: <string>}", d)
		}
		s := elems[0].Value().StringValue()
		if s == "" || strings.ToUpper(s) != s || strings.Trim(s, "0123456789ABCDEF") != "" {
			return fmt.Errorf("resume token _data %q is not uppercase hex", s)
		}
		if dst != nil {
			*dst = append(bson.Raw(nil), d...)
		}
		return nil
	}
}

// anyTimestamp matches a BSON timestamp and records it.
func anyTimestamp(dst *bson.Timestamp) matcher {
	return func(v bson.RawValue) error {
		t, i, ok := v.TimestampOK()
		if !ok {
			return fmt.Errorf("%s is not a timestamp", v.Type)
		}
		if dst != nil {
			*dst = bson.Timestamp{T: t, I: i}
		}
		return nil
	}
}

// sameTimestamp matches exactly ts.
func sameTimestamp(ts *bson.Timestamp) matcher {
	return func(v bson.RawValue) error {
		t, i, ok := v.TimestampOK()
		if !ok || t != ts.T || i != ts.I {
			return fmt.Errorf("timestamp %s, want Timestamp(%d, %d)", v, ts.T, ts.I)
		}
		return nil
	}
}

// recentDate matches a datetime within a minute of now.
func recentDate() matcher {
	return func(v bson.RawValue) error {
		ms, ok := v.DateTimeOK()
		if !ok {
			return fmt.Errorf("%s is not a date", v.Type)
		}
		if d := time.Since(time.UnixMilli(ms)); d > time.Minute || d < -time.Minute {
			return fmt.Errorf("date %v is not recent", time.UnixMilli(ms))
		}
		return nil
	}
}

// isUUID matches binary subtype 4 with the given bytes.
func isUUID(u []byte) matcher {
	return func(v bson.RawValue) error {
		st, data, ok := v.BinaryOK()
		if !ok || st != 4 || !bytes.Equal(data, u) {
			return fmt.Errorf("%s is not UUID %x", v, u)
		}
		return nil
	}
}

// anyDoc matches any document and records it.
func anyDoc(dst *bson.Raw) matcher {
	return func(v bson.RawValue) error {
		d, ok := v.DocumentOK()
		if !ok {
			return fmt.Errorf("%s is not a document", v.Type)
		}
		if dst != nil {
			*dst = append(bson.Raw(nil), d...)
		}
		return nil
	}
}

// matchDoc compares got with want: the same field names in the same order,
// each value equal (bytes of the marshalled expectation), matched by a
// matcher, or (for a bson.D) compared recursively.
func matchDoc(got bson.Raw, want bson.D) error {
	elems, err := got.Elements()
	if err != nil {
		return err
	}
	gotKeys := make([]string, len(elems))
	for i, e := range elems {
		gotKeys[i] = e.Key()
	}
	wantKeys := make([]string, len(want))
	for i, e := range want {
		wantKeys[i] = e.Key
	}
	if strings.Join(gotKeys, ",") != strings.Join(wantKeys, ",") {
		return fmt.Errorf("fields %v, want %v in %s", gotKeys, wantKeys, got)
	}
	for i, w := range want {
		v := elems[i].Value()
		switch wv := w.Value.(type) {
		case nil:
			if v.Type != bson.TypeNull {
				return fmt.Errorf("%s: %s, want null", w.Key, v)
			}
		case matcher:
			if err := wv(v); err != nil {
				return fmt.Errorf("%s: %w", w.Key, err)
			}
		case bson.D:
			d, ok := v.DocumentOK()
			if !ok {
				return fmt.Errorf("%s: %s is not a document", w.Key, v.Type)
			}
			if err := matchDoc(d, wv); err != nil {
				return fmt.Errorf("%s.%w", w.Key, err)
			}
		default:
			t, data, err := bson.MarshalValue(w.Value)
			if err != nil {
				return fmt.Errorf("%s: %w", w.Key, err)
			}
			if v.Type != t || !bytes.Equal(v.Value, data) {
				return fmt.Errorf("%s: %s, want %s", w.Key, v, bson.RawValue{Type: t, Value: data})
			}
		}
	}
	return nil
}

// wantEvent asserts got matches want.
func wantEvent(t *testing.T, got bson.Raw, want bson.D) {
	t.Helper()
	if err := matchDoc(got, want); err != nil {
		t.Fatalf("event mismatch: %v\n got: %s", err, got)
	}
}

// watchColl opens a collection-level stream.
func watchColl(t *testing.T, coll *mongo.Collection, pipeline any, opts ...options.Lister[options.ChangeStreamOptions]) *mongo.ChangeStream {
	t.Helper()
	if pipeline == nil {
		pipeline = mongo.Pipeline{}
	}
	cs, err := coll.Watch(ctxT(t), pipeline, opts...)
	if err != nil {
		t.Fatalf("watch %s: %v", coll.Name(), err)
	}
	t.Cleanup(func() { _ = cs.Close(context.Background()) })
	return cs
}

// watchDB opens a database-level stream.
func watchDB(t *testing.T, db *mongo.Database, pipeline any, opts ...options.Lister[options.ChangeStreamOptions]) *mongo.ChangeStream {
	t.Helper()
	if pipeline == nil {
		pipeline = mongo.Pipeline{}
	}
	cs, err := db.Watch(ctxT(t), pipeline, opts...)
	if err != nil {
		t.Fatalf("watch database %s: %v", db.Name(), err)
	}
	t.Cleanup(func() { _ = cs.Close(context.Background()) })
	return cs
}

// watchCluster opens a cluster-level stream restricted to db (other tests'
// databases stay out of it when running against a shared server).
func watchCluster(t *testing.T, db string, opts ...options.Lister[options.ChangeStreamOptions]) *mongo.ChangeStream {
	t.Helper()
	pipeline := mongo.Pipeline{{{Key: "$match", Value: bson.D{{Key: "ns.db", Value: db}}}}}
	cs, err := suite.client.Watch(ctxT(t), pipeline, opts...)
	if err != nil {
		t.Fatalf("watch cluster: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close(context.Background()) })
	return cs
}

// nextEvent returns the stream's next event, failing after 10 seconds.
func nextEvent(t *testing.T, cs *mongo.ChangeStream) bson.Raw {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !cs.Next(ctx) {
		t.Fatalf("no next change event: %v", cs.Err())
	}
	return append(bson.Raw(nil), cs.Current...)
}

// nextEvents reads n events.
func nextEvents(t *testing.T, cs *mongo.ChangeStream, n int) []bson.Raw {
	t.Helper()
	out := make([]bson.Raw, 0, n)
	for len(out) < n {
		out = append(out, nextEvent(t, cs))
	}
	return out
}

// noEvent asserts nothing arrives on cs for a short while.
func noEvent(t *testing.T, cs *mongo.ChangeStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if cs.TryNext(ctx) {
		t.Fatalf("unexpected change event %s", cs.Current)
	}
	if cs.TryNext(ctx) {
		t.Fatalf("unexpected change event %s", cs.Current)
	}
}

// opType returns an event's operationType.
func opType(t *testing.T, ev bson.Raw) string {
	t.Helper()
	return lookup(t, ev, "operationType").StringValue()
}

// raw marshals a document (test data).
func raw(t *testing.T, d bson.D) bson.Raw { return mustMarshal(t, d) }

// ns is {db, coll} as events carry it.
func ns(db, coll string) bson.D { return bson.D{{Key: "db", Value: db}, {Key: "coll", Value: coll}} }

// simtestServer starts a dedicated mongosim with opts (mongosim-only:
// skipped against a real server).
func simtestServer(t *testing.T, opts mongosim.Options) *mongosim.Server {
	t.Helper()
	sim(t)
	return simtest.Start(t, opts)
}

// connectTo returns a client of s, disconnected when the test ends.
func connectTo(t *testing.T, s *mongosim.Server) *mongo.Client {
	t.Helper()
	return simtest.Client(t, s.URI())
}
