package update

import (
	"math"
	"testing"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Renderings as mongod's BSONElement::toString produces them in messages.
func TestFormatValues(t *testing.T) {
	uuid := []byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}
	cases := []struct {
		v    bsoncore.Value
		want string
	}{
		{bsonkit.Int32(-3), "-3"},
		{bsonkit.Int64(9223372036854775807), "9223372036854775807"},
		{bsonkit.Double(5), "5.0"},
		{bsonkit.Double(1.5), "1.5"},
		{bsonkit.Double(0.1), "0.1"},
		{bsonkit.Double(1e20), "1e+20.0"},
		{bsonkit.Double(math.NaN()), "nan.0"},
		{bsonkit.Double(math.Inf(1)), "inf.0"},
		{bsonkit.Double(math.Inf(-1)), "-inf.0"},
		{val(t, `{"$numberDecimal": "1.10"}`), "1.10"},
		{bsonkit.String("x"), `"x"`},
		{bsoncore.Value{Type: bsoncore.TypeSymbol, Data: bsoncore.AppendSymbol(nil, "s")}, `"s"`},
		{bsonkit.Bool(true), "true"},
		{bsonkit.Null(), "null"},
		{bsoncore.Value{Type: bsoncore.TypeUndefined}, "undefined"},
		{bsoncore.Value{Type: bsoncore.TypeMinKey}, "MinKey"},
		{bsoncore.Value{Type: bsoncore.TypeMaxKey}, "MaxKey"},
		{bsonkit.DateTime(1000), "new Date(1000)"},
		{bsonkit.Timestamp(5, 6), "Timestamp(5, 6)"},
		{bsonkit.ObjectID([12]byte{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), "ObjectId('aa0102030405060708090a0b')"},
		{bsoncore.Value{Type: bsoncore.TypeRegex, Data: bsoncore.AppendRegex(nil, "^a", "i")}, "/^a/i"},
		{bsonkit.Binary(0, []byte{0xab, 0x01}), "BinData(0, AB01)"},
		{bsonkit.Binary(4, uuid), `UUID("12345678-9abc-def0-1234-56789abcdef0")`},
		{bsoncore.Value{Type: bsoncore.TypeJavaScript, Data: bsoncore.AppendJavaScript(nil, "f()")}, "f()"},
		{bsoncore.Value{Type: bsoncore.TypeCodeWithScope, Data: bsoncore.AppendCodeWithScope(nil, "f()", bsonkit.D("x", bsonkit.Int32(1)))}, "CodeWScope( f(), { x: 1 })"},
		{bsonkit.Array(), "[]"},
		{bsonkit.DocValue(bsonkit.D()), "{}"},
		{bsonkit.Array(bsonkit.Int32(1), bsonkit.DocValue(bsonkit.D("b", bsonkit.Double(0)))), "[ 1, { b: 0.0 } ]"},
	}
	for _, c := range cases {
		if got := fmtValue(c.v); got != c.want {
			t.Errorf("fmtValue(%v) = %s, want %s", c.v, got, c.want)
		}
	}
	if got := fmtElem("a", bsonkit.Int32(1)); got != "a: 1" {
		t.Errorf("fmtElem = %s", got)
	}
}

func TestDecimalArithmetic(t *testing.T) {
	cases := []struct{ spec, in, want string }{
		{`{"$inc": {"a": {"$numberDecimal": "0.1"}}}`, `{"a": 0.2}`, `{"a": {"$numberDecimal": "0.300000000000000"}}`},
		{`{"$mul": {"a": {"$numberDecimal": "1.000000000000000000000000000000001"}}}`, `{"a": {"$numberDecimal": "1.000000000000000000000000000000001"}}`, `{"a": {"$numberDecimal": "1.000000000000000000000000000000002"}}`},
		{`{"$inc": {"a": {"$numberDecimal": "Infinity"}}}`, `{"a": {"$numberDecimal": "-Infinity"}}`, `{"a": {"$numberDecimal": "NaN"}}`},
		{`{"$mul": {"a": {"$numberDecimal": "-2.5"}}}`, `{"_id": 1}`, `{"_id": 1, "a": {"$numberDecimal": "-0.0"}}`},
		{`{"$mul": {"a": -2.5}}`, `{"_id": 1}`, `{"_id": 1, "a": -0.0}`},
	}
	for _, c := range cases {
		out, _ := applyT(t, c.spec, c.in)
		assertDoc(t, c.want, out)
	}
}
