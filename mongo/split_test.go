package mongo

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func rv(t *testing.T, v any) bson.RawValue {
	t.Helper()
	typ, data, err := bson.MarshalValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return bson.RawValue{Type: typ, Value: data}
}

// checkCover asserts ranges are open at both ends and contiguous.
func checkCover(t *testing.T, rs []Range) {
	t.Helper()
	if len(rs) == 0 || rs[0].Min.Type != 0 || rs[len(rs)-1].Max.Type != 0 {
		t.Fatalf("ranges do not start and end unbounded: %v", rs)
	}
	for i := 1; i < len(rs); i++ {
		if !rs[i-1].Max.Equal(rs[i].Min) || rs[i].Min.Type == 0 {
			t.Fatalf("range %d ends at %v, range %d starts at %v", i-1, rs[i-1].Max, i, rs[i].Min)
		}
	}
}

func TestRangesFromSampleQuantiles(t *testing.T) {
	var sample []bson.RawValue
	for i := 0; i < 32; i++ {
		sample = append(sample, rv(t, int32(i*10)))
	}
	rs := rangesFromSample(sample, 4)
	checkCover(t, rs)
	if len(rs) != 4 {
		t.Fatalf("%d ranges, want 4", len(rs))
	}
	for i, want := range []int32{80, 160, 240} {
		if got := rs[i].Max.Int32(); got != want {
			t.Errorf("split %d at %d, want %d", i, got, want)
		}
	}
}

func TestRangesFromSampleSplitsAtTypeBrackets(t *testing.T) {
	// Index order: MinKey, numbers (int32, double, decimal share a
	// bracket), strings, ObjectId, MaxKey.
	dec, _ := bson.ParseDecimal128("7.5")
	sample := []bson.RawValue{
		rv(t, bson.MinKey{}), rv(t, int32(1)), rv(t, 2.5), rv(t, dec), rv(t, "a"), rv(t, "b"),
		rv(t, bson.ObjectID{1}), rv(t, bson.MaxKey{}),
	}
	rs := rangesFromSample(sample, 1)
	checkCover(t, rs)
	var starts []bson.Type
	for _, r := range rs[1:] {
		starts = append(starts, r.Min.Type)
	}
	want := []bson.Type{bson.TypeInt32, bson.TypeString, bson.TypeObjectID, bson.TypeMaxKey}
	if len(starts) != len(want) {
		t.Fatalf("ranges start at %v, want %v", starts, want)
	}
	for i := range want {
		if starts[i] != want[i] {
			t.Fatalf("ranges start at %v, want %v", starts, want)
		}
	}
}

func TestRangesFromSampleSmall(t *testing.T) {
	checkCover(t, rangesFromSample(nil, 3))
	if rs := rangesFromSample([]bson.RawValue{rv(t, "only")}, 3); len(rs) != 1 {
		t.Errorf("one sampled id gave %d ranges", len(rs))
	}
}
