package verify

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink/clone"
)

func TestDisabledTTLMatchesClone(t *testing.T) {
	if disabledTTL != clone.DisabledTTL {
		t.Fatalf("verify's disabledTTL %d != clone.DisabledTTL %d", disabledTTL, clone.DisabledTTL)
	}
}

func rv(t *testing.T, v any) bson.RawValue {
	t.Helper()
	typ, b, err := bson.MarshalValue(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	return bson.RawValue{Type: typ, Value: b}
}

func TestSameValue(t *testing.T) {
	dec1, _ := bson.ParseDecimal128("1.0")
	decHalf, _ := bson.ParseDecimal128("0.5")
	cases := []struct {
		name string
		a, b any
		want bool
	}{
		{"int32 vs int64", int32(1), int64(1), true},
		{"int32 vs double", int32(1), 1.0, true},
		{"int vs decimal", int32(1), dec1, true},
		{"double vs decimal", 0.5, decHalf, true},
		{"different numbers", int32(1), int32(-1), false},
		{"-0 vs 0", math.Copysign(0, -1), int32(0), true},
		{"NaN vs NaN", math.NaN(), math.NaN(), true},
		{"NaN vs 0", math.NaN(), 0.0, false},
		{"Inf vs MaxInt64", math.Inf(1), int64(math.MaxInt64), false},
		{"bool vs int", true, int32(1), false},
		{"strings", "a", "a", true},
		{"string vs symbol", "a", bson.Symbol("a"), false},
		{"nested numbers", bson.D{{Key: "a", Value: int32(1)}}, bson.D{{Key: "a", Value: 1.0}}, true},
		{"nested order matters", bson.D{{Key: "a", Value: 1}, {Key: "b", Value: 1}}, bson.D{{Key: "b", Value: 1}, {Key: "a", Value: 1}}, false},
		{"nested extra field", bson.D{{Key: "a", Value: 1}}, bson.D{{Key: "a", Value: 1}, {Key: "b", Value: 1}}, false},
		{"arrays", bson.A{int32(1), "x"}, bson.A{int64(1), "x"}, true},
		{"arrays length", bson.A{1}, bson.A{1, 1}, false},
		{"document vs array", bson.D{{Key: "0", Value: 1}}, bson.A{1}, false},
	}
	for _, c := range cases {
		if got := sameValue(rv(t, c.a), rv(t, c.b)); got != c.want {
			t.Errorf("%s: sameValue = %v, want %v", c.name, got, c.want)
		}
		if got := sameValue(rv(t, c.b), rv(t, c.a)); got != c.want {
			t.Errorf("%s (swapped): sameValue = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestExtJSON(t *testing.T) {
	oid := bson.ObjectID{0x65, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	cases := []struct {
		v         any
		canonical bool
		want      string
	}{
		{int32(5), true, `{"$numberInt":"5"}`},
		{int64(5), true, `{"$numberLong":"5"}`},
		{int32(5), false, `5`},
		{oid, true, `{"$oid":"650102030405060708090a0b"}`},
		{"a\"b", true, `"a\"b"`},
		{bson.D{{Key: "b", Value: int32(1)}, {Key: "a", Value: true}}, false, `{"b":1,"a":true}`},
		{math.NaN(), true, `{"$numberDouble":"NaN"}`},
	}
	for _, c := range cases {
		if got := string(extJSON(rv(t, c.v), c.canonical)); got != c.want {
			t.Errorf("extJSON(%v, %v) = %s, want %s", c.v, c.canonical, got, c.want)
		}
	}
}

func TestCompareIndexesByName(t *testing.T) {
	src := []bson.Raw{
		raw(t, bson.D{{Key: "v", Value: 2}, {Key: "key", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "name", Value: "_id_"}}),
		raw(t, bson.D{{Key: "v", Value: 2}, {Key: "key", Value: bson.D{{Key: "a", Value: 1}, {Key: "b", Value: -1}}}, {Key: "name", Value: "a_1_b_-1"}, {Key: "ns", Value: "db.src"}}),
		raw(t, bson.D{{Key: "v", Value: 2}, {Key: "key", Value: bson.D{{Key: "c", Value: 1}}}, {Key: "name", Value: "c_1"}, {Key: "sparse", Value: true}}),
		raw(t, bson.D{{Key: "v", Value: 2}, {Key: "key", Value: bson.D{{Key: "gone", Value: 1}}}, {Key: "name", Value: "gone_1"}}),
	}
	dst := []bson.Raw{
		// Fields reported in another order, ns different, key numbers of
		// another type: all the same index.
		raw(t, bson.D{{Key: "name", Value: "_id_"}, {Key: "key", Value: bson.D{{Key: "_id", Value: int64(1)}}}, {Key: "v", Value: 2}}),
		raw(t, bson.D{{Key: "v", Value: 2}, {Key: "key", Value: bson.D{{Key: "a", Value: 1}, {Key: "b", Value: -1.0}}}, {Key: "name", Value: "a_1_b_-1"}, {Key: "ns", Value: "db.dst"}}),
		raw(t, bson.D{{Key: "v", Value: 2}, {Key: "key", Value: bson.D{{Key: "c", Value: 1}}}, {Key: "name", Value: "c_1"}, {Key: "hidden", Value: true}}),
		raw(t, bson.D{{Key: "v", Value: 2}, {Key: "key", Value: bson.D{{Key: "new", Value: 1}}}, {Key: "name", Value: "new_1"}}),
	}
	got := compareIndexes(src, dst, false)
	want := []IndexDiff{
		{Name: "c_1", Problem: IndexDifferent, Fields: []FieldDiff{
			{Field: "sparse", Source: json.RawMessage(`true`)},
			{Field: "hidden", Target: json.RawMessage(`true`)},
		}},
		{Name: "gone_1", Problem: IndexMissingOnTarget, Source: json.RawMessage(`{"v":2,"key":{"gone":1},"name":"gone_1"}`)},
		{Name: "new_1", Problem: IndexExtraOnTarget, Target: json.RawMessage(`{"v":2,"key":{"new":1},"name":"new_1"}`)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("compareIndexes:\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, want))
	}
}

func TestCompareIndexesKeyOrderMatters(t *testing.T) {
	src := []bson.Raw{raw(t, bson.D{{Key: "key", Value: bson.D{{Key: "a", Value: 1}, {Key: "b", Value: 1}}}, {Key: "name", Value: "ab"}})}
	dst := []bson.Raw{raw(t, bson.D{{Key: "key", Value: bson.D{{Key: "b", Value: 1}, {Key: "a", Value: 1}}}, {Key: "name", Value: "ab"}})}
	got := compareIndexes(src, dst, false)
	want := []IndexDiff{{Name: "ab", Problem: IndexDifferent, Fields: []FieldDiff{
		{Field: "key", Source: json.RawMessage(`{"a":1,"b":1}`), Target: json.RawMessage(`{"b":1,"a":1}`)},
	}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %s, want %s", mustJSON(t, got), mustJSON(t, want))
	}
}

func TestIndexRelaxationsOnlyInProgress(t *testing.T) {
	src := []bson.Raw{
		raw(t, bson.D{{Key: "v", Value: 2}, {Key: "key", Value: bson.D{{Key: "email", Value: 1}}}, {Key: "name", Value: "email_1"}, {Key: "unique", Value: true}}),
		raw(t, bson.D{{Key: "v", Value: 2}, {Key: "key", Value: bson.D{{Key: "at", Value: 1}}}, {Key: "name", Value: "at_1"}, {Key: "expireAfterSeconds", Value: int32(3600)}}),
	}
	// What clone builds on the target during the sync.
	syncing := []bson.Raw{
		raw(t, bson.D{{Key: "v", Value: 2}, {Key: "key", Value: bson.D{{Key: "email", Value: 1}}}, {Key: "name", Value: "email_1"}}),
		raw(t, bson.D{{Key: "v", Value: 2}, {Key: "key", Value: bson.D{{Key: "at", Value: 1}}}, {Key: "name", Value: "at_1"}, {Key: "expireAfterSeconds", Value: int64(math.MaxInt32)}}),
	}
	if got := compareIndexes(src, syncing, true); len(got) != 0 {
		t.Fatalf("in progress: sync relaxations reported: %s", mustJSON(t, got))
	}
	want := []IndexDiff{
		{Name: "email_1", Problem: IndexDifferent, Fields: []FieldDiff{{Field: "unique", Source: json.RawMessage(`true`)}}},
		{Name: "at_1", Problem: IndexDifferent, Fields: []FieldDiff{{Field: "expireAfterSeconds", Source: json.RawMessage(`3600`), Target: json.RawMessage(`2147483647`)}}},
	}
	if got := compareIndexes(src, syncing, false); !reflect.DeepEqual(got, want) {
		t.Fatalf("finalized: got %s, want %s", mustJSON(t, got), mustJSON(t, want))
	}
	// In progress does not excuse anything else: another expiry, unique
	// added where the source has none, unique:false.
	wrong := []bson.Raw{
		raw(t, bson.D{{Key: "v", Value: 2}, {Key: "key", Value: bson.D{{Key: "email", Value: 1}}}, {Key: "name", Value: "email_1"}, {Key: "unique", Value: false}}),
		raw(t, bson.D{{Key: "v", Value: 2}, {Key: "key", Value: bson.D{{Key: "at", Value: 1}}}, {Key: "name", Value: "at_1"}, {Key: "expireAfterSeconds", Value: int32(60)}, {Key: "unique", Value: true}}),
	}
	want = []IndexDiff{
		{Name: "email_1", Problem: IndexDifferent, Fields: []FieldDiff{{Field: "unique", Source: json.RawMessage(`true`), Target: json.RawMessage(`false`)}}},
		{Name: "at_1", Problem: IndexDifferent, Fields: []FieldDiff{
			{Field: "expireAfterSeconds", Source: json.RawMessage(`3600`), Target: json.RawMessage(`60`)},
			{Field: "unique", Target: json.RawMessage(`true`)},
		}},
	}
	if got := compareIndexes(src, wrong, true); !reflect.DeepEqual(got, want) {
		t.Fatalf("in progress, wrong target: got %s, want %s", mustJSON(t, got), mustJSON(t, want))
	}
	// A finalized target is also fine while in progress.
	if got := compareIndexes(src, src, true); len(got) != 0 {
		t.Fatalf("identical specs differ in progress: %s", mustJSON(t, got))
	}
}

func TestCompareOptionsClusteredExpiry(t *testing.T) {
	clustered := bson.D{{Key: "clusteredIndex", Value: bson.D{{Key: "key", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "unique", Value: true}}}}
	src := raw(t, append(clustered, bson.E{Key: "expireAfterSeconds", Value: int64(600)}))
	syncing := raw(t, clustered)
	if got := compareOptions(src, syncing, true); len(got) != 0 {
		t.Fatalf("in progress: %s", mustJSON(t, got))
	}
	want := []FieldDiff{{Field: "options.expireAfterSeconds", Source: json.RawMessage(`600`)}}
	if got := compareOptions(src, syncing, false); !reflect.DeepEqual(got, want) {
		t.Fatalf("finalized: got %s, want %s", mustJSON(t, got), mustJSON(t, want))
	}
	// Not clustered: an absent expireAfterSeconds is a difference even in
	// progress (the sync never removes it there).
	plainSrc := raw(t, bson.D{{Key: "expireAfterSeconds", Value: int64(600)}})
	if got := compareOptions(plainSrc, raw(t, bson.D{}), true); len(got) != 1 {
		t.Fatalf("non-clustered in progress: %s", mustJSON(t, got))
	}
	// A different expiry is never accepted.
	other := raw(t, append(clustered, bson.E{Key: "expireAfterSeconds", Value: int64(60)}))
	want = []FieldDiff{{Field: "options.expireAfterSeconds", Source: json.RawMessage(`600`), Target: json.RawMessage(`60`)}}
	if got := compareOptions(src, other, true); !reflect.DeepEqual(got, want) {
		t.Fatalf("other expiry: got %s, want %s", mustJSON(t, got), mustJSON(t, want))
	}
}

func TestCompareOptionsViewsAndValidators(t *testing.T) {
	src := raw(t, bson.D{
		{Key: "viewOn", Value: "orders"},
		{Key: "pipeline", Value: bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "x", Value: 1}}}}}},
		{Key: "collation", Value: bson.D{{Key: "locale", Value: "fr"}}},
	})
	dst := raw(t, bson.D{
		{Key: "collation", Value: bson.D{{Key: "locale", Value: "fr"}}},
		{Key: "viewOn", Value: "orders"},
		{Key: "pipeline", Value: bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "x", Value: 2}}}}}},
	})
	want := []FieldDiff{{Field: "options.pipeline", Source: json.RawMessage(`[{"$match":{"x":1}}]`), Target: json.RawMessage(`[{"$match":{"x":2}}]`)}}
	if got := compareOptions(src, dst, false); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %s, want %s", mustJSON(t, got), mustJSON(t, want))
	}
	if got := compareOptions(nil, nil, false); len(got) != 0 {
		t.Fatalf("no options: %v", got)
	}
	want = []FieldDiff{{Field: "options.validator", Target: json.RawMessage(`{"a":{"$exists":true}}`)}}
	got := compareOptions(nil, raw(t, bson.D{{Key: "validator", Value: bson.D{{Key: "a", Value: bson.D{{Key: "$exists", Value: true}}}}}}), false)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %s, want %s", mustJSON(t, got), mustJSON(t, want))
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
