package bsonkit

import (
	"cmp"
	"math"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// orderedGroups lists values in ascending MongoDB order; values within one
// group compare equal.
type orderedGroups [][]bsoncore.Value

// check asserts Compare on every pair against the listed order, and that
// the fast path agrees with the generic comparison.
func (g orderedGroups) check(t *testing.T, name string) {
	t.Helper()
	type item struct {
		group int
		v     bsoncore.Value
	}
	var items []item
	for gi, vals := range g {
		for _, v := range vals {
			items = append(items, item{gi, v})
		}
	}
	for _, a := range items {
		for _, b := range items {
			want := cmp.Compare(a.group, b.group)
			if got := Compare(a.v, b.v); got != want {
				t.Errorf("%s: Compare(%s, %s) = %d, want %d", name, a.v, b.v, got, want)
			}
			if got := compareGeneric(a.v, b.v); got != want {
				t.Errorf("%s: compareGeneric(%s, %s) = %d, want %d", name, a.v, b.v, got, want)
			}
		}
	}
}

func one(vals ...bsoncore.Value) []bsoncore.Value { return vals }

func TestCompareFastPathInt64(t *testing.T) {
	orderedGroups{
		one(Int64(math.MinInt64)), one(Int64(math.MinInt64 + 1)), one(Int64(-1 << 32)), one(Int64(-256)),
		one(Int64(-1)), one(Int64(0)), one(Int64(1)), one(Int64(255)), one(Int64(256)), one(Int64(1 << 32)),
		one(Int64(math.MaxInt64 - 1)), one(Int64(math.MaxInt64)),
	}.check(t, "int64")
}

func TestCompareFastPathInt32AndMixedIntegers(t *testing.T) {
	orderedGroups{
		one(Int64(math.MinInt64)),
		one(Int32(math.MinInt32), Int64(math.MinInt32)),
		one(Int32(-1), Int64(-1)),
		one(Int32(0), Int64(0)),
		one(Int32(1), Int64(1)),
		one(Int32(256), Int64(256)),
		one(Int32(math.MaxInt32), Int64(math.MaxInt32)),
		one(Int64(math.MaxInt32 + 1)),
		one(Int64(math.MaxInt64)),
	}.check(t, "int32/int64")
}

func TestCompareFastPathDouble(t *testing.T) {
	orderedGroups{
		one(Double(math.NaN()), Double(-math.NaN())),
		one(Double(math.Inf(-1))),
		one(Double(-math.MaxFloat64)),
		one(Double(-1.5), Double(-1.5)),
		one(Double(-math.SmallestNonzeroFloat64)),
		one(Double(math.Copysign(0, -1)), Double(0), Int32(0), Int64(0)),
		one(Double(math.SmallestNonzeroFloat64)),
		one(Double(1), Int32(1)),
		one(Double(2.5)),
		one(Double(9007199254740992), Int64(9007199254740992)),
		one(Int64(9007199254740993)),
		one(Double(math.MaxFloat64)),
		one(Double(math.Inf(1))),
	}.check(t, "double")
}

func TestCompareFastPathObjectID(t *testing.T) {
	oid := func(b ...byte) bsoncore.Value {
		var id bson.ObjectID
		copy(id[12-len(b):], b)
		return ObjectID(id)
	}
	high := bson.ObjectID{0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	orderedGroups{
		one(oid()), one(oid(1)), one(oid(0xff)), one(oid(1, 0)), one(oid(0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
		one(oid(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), one(ObjectID(high)),
	}.check(t, "objectId")
}

func TestCompareFastPathString(t *testing.T) {
	sym := func(s string) bsoncore.Value {
		return bsoncore.Value{Type: bsoncore.TypeSymbol, Data: bsoncore.AppendString(nil, s)}
	}
	orderedGroups{
		one(String("")), one(String("A"), sym("A")), one(String("Z")), one(String("a")), one(String("a\x00b")),
		one(String("ab"), sym("ab")), one(String("b")), one(String("z")), one(String("é")), one(String("😀")),
	}.check(t, "string")
}

func TestCompareFastPathDate(t *testing.T) {
	orderedGroups{
		one(DateTime(math.MinInt64)), one(DateTime(-86400000)), one(DateTime(-1)), one(DateTime(0)),
		one(DateTime(1)), one(DateTime(1700000000000)), one(DateTime(math.MaxInt64)),
	}.check(t, "date")
}

// The fast path must not change how other brackets order against these
// types: a date and an int64 with the same bits are not equal.
func TestCompareFastPathKeepsBrackets(t *testing.T) {
	if Compare(Int64(5), DateTime(5)) != -1 || Compare(DateTime(5), Int64(5)) != 1 {
		t.Error("numbers sort before dates")
	}
	if Compare(String("5"), Int64(5)) != 1 {
		t.Error("strings sort after numbers")
	}
}

func TestCompareFastPathsDoNotAllocate(t *testing.T) {
	pairs := [][2]bsoncore.Value{
		{Int64(1), Int64(2)}, {Int32(1), Int64(2)}, {Double(1), Int64(2)}, {String("ab"), String("ac")},
		{ObjectID(bson.NewObjectID()), ObjectID(bson.NewObjectID())}, {DateTime(1), DateTime(2)},
	}
	for _, p := range pairs {
		if n := testing.AllocsPerRun(100, func() { Compare(p[0], p[1]) }); n != 0 {
			t.Errorf("Compare(%s, %s): %v allocations", p[0], p[1], n)
		}
	}
}

func BenchmarkCompareInt64(b *testing.B) {
	x, y := Int64(123456789), Int64(123456790)
	for b.Loop() {
		Compare(x, y)
	}
}

func BenchmarkCompareObjectID(b *testing.B) {
	x, y := ObjectID(bson.NewObjectID()), ObjectID(bson.NewObjectID())
	for b.Loop() {
		Compare(x, y)
	}
}

func BenchmarkCompareInt32Int64(b *testing.B) {
	x, y := Int32(12345), Int64(12346)
	for b.Loop() {
		Compare(x, y)
	}
}
