package bsonkit

import (
	"math"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Constructors for values built by the server (replies, computed fields).

func Int32(v int32) bsoncore.Value {
	return bsoncore.Value{Type: bsoncore.TypeInt32, Data: bsoncore.AppendInt32(nil, v)}
}

func Int64(v int64) bsoncore.Value {
	return bsoncore.Value{Type: bsoncore.TypeInt64, Data: bsoncore.AppendInt64(nil, v)}
}

func Double(v float64) bsoncore.Value {
	return bsoncore.Value{Type: bsoncore.TypeDouble, Data: bsoncore.AppendDouble(nil, v)}
}

func String(v string) bsoncore.Value {
	return bsoncore.Value{Type: bsoncore.TypeString, Data: bsoncore.AppendString(nil, v)}
}

func Bool(v bool) bsoncore.Value {
	return bsoncore.Value{Type: bsoncore.TypeBoolean, Data: bsoncore.AppendBoolean(nil, v)}
}

func Null() bsoncore.Value { return bsoncore.Value{Type: bsoncore.TypeNull} }

func DateTime(ms int64) bsoncore.Value {
	return bsoncore.Value{Type: bsoncore.TypeDateTime, Data: bsoncore.AppendDateTime(nil, ms)}
}

func Timestamp(t, i uint32) bsoncore.Value {
	return bsoncore.Value{Type: bsoncore.TypeTimestamp, Data: bsoncore.AppendTimestamp(nil, t, i)}
}

func ObjectID(id [12]byte) bsoncore.Value {
	return bsoncore.Value{Type: bsoncore.TypeObjectID, Data: bsoncore.AppendObjectID(nil, id)}
}

func Binary(subtype byte, b []byte) bsoncore.Value {
	return bsoncore.Value{Type: bsoncore.TypeBinary, Data: bsoncore.AppendBinary(nil, subtype, b)}
}

func DocValue(d bsoncore.Document) bsoncore.Value {
	return bsoncore.Value{Type: bsoncore.TypeEmbeddedDocument, Data: d}
}

func ArrayValue(a bsoncore.Array) bsoncore.Value {
	return bsoncore.Value{Type: bsoncore.TypeArray, Data: a}
}

// Array builds an array value from elements.
func Array(vals ...bsoncore.Value) bsoncore.Value {
	idx, b := bsoncore.AppendArrayStart(nil)
	for i, v := range vals {
		b = bsoncore.AppendValueElement(b, itoa(i), v)
	}
	b, _ = bsoncore.AppendArrayEnd(b, idx)
	return ArrayValue(b)
}

// Values returns the elements of an array value (nil for non-arrays).
func Values(v bsoncore.Value) []bsoncore.Value {
	if v.Type != bsoncore.TypeArray {
		return nil
	}
	vals, _ := v.Array().Values()
	return vals
}

// ToFloat converts any number to float64 (decimal128 through its string form).
func ToFloat(v bsoncore.Value) (float64, bool) {
	switch v.Type {
	case bsoncore.TypeInt32:
		return float64(v.Int32()), true
	case bsoncore.TypeInt64:
		return float64(v.Int64()), true
	case bsoncore.TypeDouble:
		return v.Double(), true
	case bsoncore.TypeDecimal128:
		k, r := ratOf(v)
		switch k {
		case numNaN:
			return math.NaN(), true
		case numPosInf:
			return math.Inf(1), true
		case numNegInf:
			return math.Inf(-1), true
		}
		f, _ := r.Float64()
		return f, true
	}
	return 0, false
}

// Truthy reports MongoDB's truthiness for expressions: false, null,
// undefined, missing and numeric zero are false, everything else true.
func Truthy(v bsoncore.Value) bool {
	switch v.Type {
	case 0, bsoncore.TypeNull, bsoncore.TypeUndefined:
		return false
	case bsoncore.TypeBoolean:
		return v.Boolean()
	case bsoncore.TypeInt32, bsoncore.TypeInt64, bsoncore.TypeDouble, bsoncore.TypeDecimal128:
		return CompareNumbers(v, Int32(0)) != 0
	}
	return true
}

// small integer keys for arrays without strconv allocation in hot paths.
var smallKeys = func() []string {
	k := make([]string, 1000)
	for i := range k {
		k[i] = itoaSlow(i)
	}
	return k
}()

func itoa(i int) string {
	if i >= 0 && i < len(smallKeys) {
		return smallKeys[i]
	}
	return itoaSlow(i)
}

// Itoa returns the decimal key of an array index.
func Itoa(i int) string { return itoa(i) }

func itoaSlow(i int) string {
	if i == 0 {
		return "0"
	}
	neg := i < 0
	if neg {
		i = -i
	}
	var b [20]byte
	p := len(b)
	for i > 0 {
		p--
		b[p] = byte('0' + i%10)
		i /= 10
	}
	if neg {
		p--
		b[p] = '-'
	}
	return string(b[p:])
}
