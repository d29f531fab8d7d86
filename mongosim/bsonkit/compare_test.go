package bsonkit

import (
	"cmp"
	"math"
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/internal/bsontest"
)

var valJ = bsontest.Val

func TestTypeBracketOrder(t *testing.T) {
	// MongoDB's documented comparison order, lowest first.
	ordered := []string{
		`{"$minKey": 1}`,
		`null`,
		`5`,
		`"a"`,
		`{}`,
		`[]`,
		`{"$binary": {"base64": "", "subType": "00"}}`,
		`{"$oid": "000000000000000000000000"}`,
		`false`,
		`{"$date": "1970-01-01T00:00:00Z"}`,
		`{"$timestamp": {"t": 0, "i": 0}}`,
		`{"$regularExpression": {"pattern": "", "options": ""}}`,
		`{"$dbPointer": {"$ref": "a", "$id": {"$oid": "000000000000000000000000"}}}`,
		`{"$code": ""}`,
		`{"$code": "", "$scope": {}}`,
		`{"$maxKey": 1}`,
	}
	vals := make([]bsoncore.Value, len(ordered))
	for i, s := range ordered {
		vals[i] = valJ(t, s)
	}
	for i := range vals {
		for j := range vals {
			want := cmp.Compare(i, j)
			if got := Compare(vals[i], vals[j]); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	if Compare(Missing, Null()) >= 0 || Compare(valJ(t, `{"$undefined": true}`), Missing) != 0 {
		t.Error("missing/undefined must sort together, below null")
	}
}

func TestCompareNumbers(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{`1`, `1.0`, 0},
		{`1`, `{"$numberLong": "1"}`, 0},
		{`1`, `{"$numberDecimal": "1.000"}`, 0},
		{`{"$numberDecimal": "0.1"}`, `0.1`, -1}, // the double 0.1 is slightly above 1/10
		{`{"$numberDecimal": "0.5"}`, `0.5`, 0},
		{`{"$numberLong": "9007199254740993"}`, `9007199254740992.0`, 1},
		{`{"$numberLong": "9223372036854775807"}`, `9223372036854775808.0`, -1},
		{`{"$numberLong": "-9223372036854775808"}`, `-9223372036854775808.0`, 0},
		{`{"$numberDouble": "NaN"}`, `{"$numberDouble": "-Infinity"}`, -1},
		{`{"$numberDouble": "NaN"}`, `{"$numberDouble": "NaN"}`, 0},
		{`{"$numberDecimal": "NaN"}`, `{"$numberDouble": "NaN"}`, 0},
		{`{"$numberDecimal": "NaN"}`, `-1`, -1},
		{`{"$numberDouble": "-0.0"}`, `0`, 0},
		{`{"$numberDecimal": "-0"}`, `0.0`, 0},
		{`{"$numberDouble": "Infinity"}`, `{"$numberDecimal": "Infinity"}`, 0},
		{`{"$numberDecimal": "1E+400"}`, `{"$numberDouble": "Infinity"}`, -1},
		{`{"$numberDecimal": "-1E+400"}`, `{"$numberLong": "-9223372036854775808"}`, -1},
		{`2.5`, `2`, 1},
		{`-2.5`, `-2`, -1},
		{`{"$numberDouble": "1e300"}`, `{"$numberLong": "9223372036854775807"}`, 1},
	} {
		a, b := valJ(t, c.a), valJ(t, c.b)
		if got := Compare(a, b); got != c.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Compare(b, a); got != -c.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestCompareWithinBrackets(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{`"a"`, `"b"`, -1},
		{`"ab"`, `"a"`, 1},
		{`"B"`, `"a"`, -1},
		{`"a"`, `{"$symbol": "a"}`, 0},
		{`"é"`, `"z"`, 1},
		{`{"a": 1}`, `{"a": 1}`, 0},
		{`{"a": 1}`, `{"b": 1}`, -1},
		{`{"a": 1}`, `{"a": 1, "b": 0}`, -1},
		{`{"a": 2}`, `{"a": "1"}`, -1},
		{`{"b": 1}`, `{"a": "x"}`, -1},
		{`{"a": 1, "b": 2}`, `{"b": 2, "a": 1}`, -1},
		{`{"a": 1.0}`, `{"a": {"$numberLong": "1"}}`, 0},
		{`[1, 2]`, `[1, 3]`, -1},
		{`[1, 2]`, `[1]`, 1},
		{`[[1]]`, `[2]`, 1},
		{`{"$binary": {"base64": "AAAA", "subType": "00"}}`, `{"$binary": {"base64": "AA==", "subType": "05"}}`, 1},
		{`{"$binary": {"base64": "AQ==", "subType": "00"}}`, `{"$binary": {"base64": "AA==", "subType": "05"}}`, -1},
		{`{"$binary": {"base64": "AQ==", "subType": "00"}}`, `{"$binary": {"base64": "AA==", "subType": "00"}}`, 1},
		{`{"$oid": "000000000000000000000001"}`, `{"$oid": "000000000000000000000002"}`, -1},
		{`false`, `true`, -1},
		{`{"$date": "1969-12-31T23:59:59Z"}`, `{"$date": "1970-01-01T00:00:00Z"}`, -1},
		{`{"$timestamp": {"t": 1, "i": 5}}`, `{"$timestamp": {"t": 2, "i": 0}}`, -1},
		{`{"$timestamp": {"t": 4294967295, "i": 0}}`, `{"$timestamp": {"t": 1, "i": 0}}`, 1},
		{`{"$regularExpression": {"pattern": "a", "options": "i"}}`, `{"$regularExpression": {"pattern": "a", "options": ""}}`, 1},
		{`{"$code": "a"}`, `{"$code": "b"}`, -1},
		{`{"$code": "a", "$scope": {"x": 1}}`, `{"$code": "a", "$scope": {"x": 2}}`, -1},
		{`{"$minKey": 1}`, `{"$minKey": 1}`, 0},
	} {
		a, b := valJ(t, c.a), valJ(t, c.b)
		if got := Compare(a, b); got != c.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Compare(b, a); got != -c.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestTruthyAndToFloat(t *testing.T) {
	for _, c := range []struct {
		v    string
		want bool
	}{
		{`0`, false}, {`0.0`, false}, {`{"$numberDecimal": "-0"}`, false}, {`null`, false},
		{`false`, false}, {`{"$undefined": true}`, false}, {`{"$numberDouble": "NaN"}`, true},
		{`""`, true}, {`[]`, true}, {`{}`, true}, {`1`, true}, {`{"$numberLong": "-1"}`, true},
	} {
		if got := Truthy(valJ(t, c.v)); got != c.want {
			t.Errorf("Truthy(%s) = %v", c.v, got)
		}
	}
	if Truthy(Missing) {
		t.Error("missing must be falsy")
	}
	f, ok := ToFloat(valJ(t, `{"$numberDecimal": "2.5"}`))
	if !ok || f != 2.5 {
		t.Errorf("ToFloat(decimal 2.5) = %v %v", f, ok)
	}
	f, _ = ToFloat(valJ(t, `{"$numberDecimal": "-Infinity"}`))
	if !math.IsInf(f, -1) {
		t.Errorf("ToFloat(-Inf) = %v", f)
	}
	if _, ok := ToFloat(valJ(t, `"1"`)); ok {
		t.Error("strings are not numbers")
	}
}

func TestCompareDocumentsDoesNotAllocate(t *testing.T) {
	a := valJ(t, `{"a": 1, "b": "xyz", "c": [1, 2, {"d": "e"}]}`)
	b := valJ(t, `{"a": 1, "b": "xyz", "c": [1, 2, {"d": "f"}]}`)
	if Compare(a, b) != -1 {
		t.Fatal("wrong order")
	}
	if n := testing.AllocsPerRun(100, func() { Compare(a, b) }); n != 0 {
		t.Errorf("%v allocations per comparison", n)
	}
}
