package expr

import (
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
)

// TypeName returns MongoDB's alias for a BSON type ($type, error
// messages); TypeByName maps an alias back.
var (
	TypeName   = bsonkit.TypeName
	TypeByName = bsonkit.TypeByName
)

var allTypes = []bsoncore.Type{
	bsoncore.TypeDouble, bsoncore.TypeString, bsoncore.TypeEmbeddedDocument, bsoncore.TypeArray,
	bsoncore.TypeBinary, bsoncore.TypeUndefined, bsoncore.TypeObjectID, bsoncore.TypeBoolean,
	bsoncore.TypeDateTime, bsoncore.TypeNull, bsoncore.TypeRegex, bsoncore.TypeDBPointer,
	bsoncore.TypeJavaScript, bsoncore.TypeSymbol, bsoncore.TypeCodeWithScope, bsoncore.TypeInt32,
	bsoncore.TypeTimestamp, bsoncore.TypeInt64, bsoncore.TypeDecimal128, bsoncore.TypeMinKey,
	bsoncore.TypeMaxKey,
}

// nullish reports missing, null or undefined: the values most operators
// turn into a null result.
func nullish(v bsoncore.Value) bool {
	return v.Type == 0 || v.Type == bsoncore.TypeNull || v.Type == bsoncore.TypeUndefined
}

// Nullish is nullish for other packages.
func Nullish(v bsoncore.Value) bool { return nullish(v) }

func arrayValues(v bsoncore.Value) []bsoncore.Value {
	vals, _ := bsoncore.Document(v.Data).Values()
	return vals
}

// ArrayValues returns the elements of an array value.
func ArrayValues(v bsoncore.Value) []bsoncore.Value { return arrayValues(v) }

func boolValue(b bool) bsoncore.Value { return bsonkit.Bool(b) }

// isIntegral32 reports whether v is a number exactly representable as int32.
func asInt32(v bsoncore.Value) (int32, bool) {
	n, ok := asInt64(v)
	if !ok || n < -1<<31 || n > 1<<31-1 {
		return 0, false
	}
	return int32(n), true
}

// asInt64 converts a number with an integral value to int64.
func asInt64(v bsoncore.Value) (int64, bool) {
	switch v.Type {
	case bsoncore.TypeInt32:
		return int64(v.Int32()), true
	case bsoncore.TypeInt64:
		return v.Int64(), true
	case bsoncore.TypeDouble:
		f := v.Double()
		if f != f || f >= 9223372036854775808.0 || f < -9223372036854775808.0 || f != float64(int64(f)) {
			return 0, false
		}
		return int64(f), true
	case bsoncore.TypeDecimal128:
		d := bsonkit.DecimalOf(v)
		return d.Int64Exact()
	}
	return 0, false
}

// AsInt64 converts an integral number to int64 (false for non-integral values).
func AsInt64(v bsoncore.Value) (int64, bool) { return asInt64(v) }
