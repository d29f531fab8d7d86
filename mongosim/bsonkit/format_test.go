package bsonkit

import (
	"math"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Renderings as mongod's BSONElement::toString produces them in messages.
func TestFormatValues(t *testing.T) {
	uuid := []byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}
	cases := []struct {
		v    bsoncore.Value
		want string
	}{
		{Int32(-3), "-3"},
		{Int64(9223372036854775807), "9223372036854775807"},
		{Double(5), "5.0"},
		{Double(1.5), "1.5"},
		{Double(0.1), "0.1"},
		{Double(1e20), "1e+20.0"},
		{Double(math.NaN()), "nan.0"},
		{Double(math.Inf(1)), "inf.0"},
		{Double(math.Inf(-1)), "-inf.0"},
		{valJ(t, `{"$numberDecimal": "1.10"}`), "1.10"},
		{String("x"), `"x"`},
		{bsoncore.Value{Type: bsoncore.TypeSymbol, Data: bsoncore.AppendSymbol(nil, "s")}, `"s"`},
		{Bool(true), "true"},
		{Null(), "null"},
		{bsoncore.Value{Type: bsoncore.TypeUndefined}, "undefined"},
		{bsoncore.Value{Type: bsoncore.TypeMinKey}, "MinKey"},
		{bsoncore.Value{Type: bsoncore.TypeMaxKey}, "MaxKey"},
		{DateTime(1000), "new Date(1000)"},
		{Timestamp(5, 6), "Timestamp(5, 6)"},
		{ObjectID([12]byte{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), "ObjectId('aa0102030405060708090a0b')"},
		{bsoncore.Value{Type: bsoncore.TypeRegex, Data: bsoncore.AppendRegex(nil, "^a", "i")}, "/^a/i"},
		{Binary(0, []byte{0xab, 0x01}), "BinData(0, AB01)"},
		{Binary(4, uuid), `UUID("12345678-9abc-def0-1234-56789abcdef0")`},
		{bsoncore.Value{Type: bsoncore.TypeJavaScript, Data: bsoncore.AppendJavaScript(nil, "f()")}, "f()"},
		{bsoncore.Value{Type: bsoncore.TypeCodeWithScope, Data: bsoncore.AppendCodeWithScope(nil, "f()", D("x", Int32(1)))}, "CodeWScope( f(), { x: 1 })"},
		{Array(), "[]"},
		{DocValue(D()), "{}"},
		{Array(Int32(1), DocValue(D("b", Double(0)))), "[ 1, { b: 0.0 } ]"},
	}
	for _, c := range cases {
		if got := FormatValue(c.v); got != c.want {
			t.Errorf("FormatValue(%v) = %s, want %s", c.v, got, c.want)
		}
	}
	if got := FormatElem("a", Int32(1)); got != "a: 1" {
		t.Errorf("fmtElem = %s", got)
	}
}

// Strings are written unescaped and cut after 150 bytes, doubles as C's
// %.16g, documents with spaces inside the braces (BSONObj::toString).
func TestFormatMessagesAsMongod(t *testing.T) {
	long := strings.Repeat("x", 200)
	cases := []struct {
		got, want string
	}{
		{FormatValue(String(`a"b\c`)), `"a"b\c"`},
		{FormatValue(String(long)), `"` + long[:150] + `..."`},
		{FormatValue(Double(1e15)), "1000000000000000.0"},
		{FormatValue(Double(0.1 + 0.2)), "0.3"},
		{FormatValue(Double(math.Copysign(0, -1))), "-0.0"},
		{FormatValue(bsoncore.Value{Type: bsoncore.TypeDBPointer, Data: bsoncore.AppendDBPointer(nil, "db.c", [12]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})}), "DBRef('db.c',000102030405060708090a0b)"},
		{FormatValue(bsoncore.Value{Type: bsoncore.TypeJavaScript, Data: bsoncore.AppendJavaScript(nil, long)}), long[:70] + "..."},
		{FormatDoc(D("a", Int32(1), "b", String("x"), "c", Array(Null()))), `{ a: 1, b: "x", c: [ null ] }`},
		{FormatDoc(D()), "{}"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: got %s, want %s", i, c.got, c.want)
		}
	}
}
