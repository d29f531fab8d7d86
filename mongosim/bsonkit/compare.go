// Package bsonkit holds the BSON primitives every mongosim layer shares:
// MongoDB's comparison order, value constructors and an ordered, mutable
// document form for the few places that must rewrite documents.
package bsonkit

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"math/big"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Missing is the zero Value: a field that is absent. It sorts like null
// where MongoDB treats missing as null (sort keys, $eq null).
var Missing = bsoncore.Value{}

// IsMissing reports whether v is the absent value.
func IsMissing(v bsoncore.Value) bool { return v.Type == 0 }

// TypeBracket returns MongoDB's canonical type order (canonicalizeBSONType):
// values of different brackets compare by bracket alone.
func TypeBracket(t bsoncore.Type) int {
	switch t {
	case bsoncore.TypeMinKey:
		return -1
	case 0, bsoncore.TypeUndefined:
		return 0
	case bsoncore.TypeNull:
		return 5
	case bsoncore.TypeDouble, bsoncore.TypeInt32, bsoncore.TypeInt64, bsoncore.TypeDecimal128:
		return 10
	case bsoncore.TypeString, bsoncore.TypeSymbol:
		return 15
	case bsoncore.TypeEmbeddedDocument:
		return 20
	case bsoncore.TypeArray:
		return 25
	case bsoncore.TypeBinary:
		return 30
	case bsoncore.TypeObjectID:
		return 35
	case bsoncore.TypeBoolean:
		return 40
	case bsoncore.TypeDateTime:
		return 45
	case bsoncore.TypeTimestamp:
		return 47
	case bsoncore.TypeRegex:
		return 50
	case bsoncore.TypeDBPointer:
		return 55
	case bsoncore.TypeJavaScript:
		return 60
	case bsoncore.TypeCodeWithScope:
		return 65
	case bsoncore.TypeMaxKey:
		return 127
	}
	return 200
}

// IsNumber reports whether t is one of the four numeric types.
func IsNumber(t bsoncore.Type) bool { return TypeBracket(t) == 10 }

// Compare orders two values as MongoDB does for sorts, range queries and
// indexes (no collation): by type bracket, then by value within a bracket.
// It returns -1, 0 or +1.
func Compare(a, b bsoncore.Value) int {
	if a.Type == b.Type {
		if c, ok := compareSameType(a, b); ok {
			return c
		}
	}
	return compareGeneric(a, b)
}

// compareGeneric is Compare without the same-type fast path.
func compareGeneric(a, b bsoncore.Value) int {
	ba, bb := TypeBracket(a.Type), TypeBracket(b.Type)
	if ba != bb {
		return cmp.Compare(ba, bb)
	}
	switch a.Type {
	case 0, bsoncore.TypeUndefined, bsoncore.TypeNull, bsoncore.TypeMinKey, bsoncore.TypeMaxKey:
		return 0
	case bsoncore.TypeDouble, bsoncore.TypeInt32, bsoncore.TypeInt64, bsoncore.TypeDecimal128:
		return CompareNumbers(a, b)
	case bsoncore.TypeString, bsoncore.TypeSymbol:
		// Both share the string layout; compare raw bytes without allocating.
		return bytes.Compare(stringBytes(a), stringBytes(b))
	case bsoncore.TypeEmbeddedDocument:
		return CompareDocuments(a.Document(), b.Document())
	case bsoncore.TypeArray:
		return CompareDocuments(bsoncore.Document(a.Array()), bsoncore.Document(b.Array()))
	case bsoncore.TypeBinary:
		sa, da := a.Binary()
		sb, db := b.Binary()
		if len(da) != len(db) {
			return cmp.Compare(len(da), len(db))
		}
		if sa != sb {
			return cmp.Compare(int(sa), int(sb))
		}
		return bytes.Compare(da, db)
	case bsoncore.TypeObjectID:
		oa, ob := a.ObjectID(), b.ObjectID()
		return bytes.Compare(oa[:], ob[:])
	case bsoncore.TypeBoolean:
		return cmpBool(a.Boolean(), b.Boolean())
	case bsoncore.TypeDateTime:
		return cmp.Compare(a.DateTime(), b.DateTime())
	case bsoncore.TypeTimestamp:
		ta, ia := a.Timestamp()
		tb, ib := b.Timestamp()
		if ta != tb {
			return cmp.Compare(ta, tb)
		}
		return cmp.Compare(ia, ib)
	case bsoncore.TypeRegex:
		pa, fa := a.Regex()
		pb, fb := b.Regex()
		if c := cmp.Compare(pa, pb); c != 0 {
			return c
		}
		return cmp.Compare(fa, fb)
	case bsoncore.TypeDBPointer:
		na, oa := a.DBPointer()
		nb, ob := b.DBPointer()
		if len(na) != len(nb) {
			return cmp.Compare(len(na), len(nb))
		}
		if c := cmp.Compare(na, nb); c != 0 {
			return c
		}
		return bytes.Compare(oa[:], ob[:])
	case bsoncore.TypeJavaScript:
		return cmp.Compare(a.JavaScript(), b.JavaScript())
	case bsoncore.TypeCodeWithScope:
		ca, sa := a.CodeWithScope()
		cb, sb := b.CodeWithScope()
		if c := cmp.Compare(ca, cb); c != 0 {
			return c
		}
		return CompareDocuments(sa, sb)
	}
	return bytes.Compare(a.Data, b.Data)
}

// compareSameType is Compare's fast path for the common _id and sort-key
// types when both values have the same type: it reads the raw bytes
// directly instead of going through brackets and bsoncore's accessors
// (B-tree descents on int64 or ObjectId _ids call it millions of times).
// ok is false for other types, or for short data the generic path should
// report.
func compareSameType(a, b bsoncore.Value) (c int, ok bool) {
	switch a.Type {
	case bsoncore.TypeInt64:
		if len(a.Data) >= 8 && len(b.Data) >= 8 {
			return cmp.Compare(int64(binary.LittleEndian.Uint64(a.Data)), int64(binary.LittleEndian.Uint64(b.Data))), true
		}
	case bsoncore.TypeInt32:
		if len(a.Data) >= 4 && len(b.Data) >= 4 {
			return cmp.Compare(int64(int32(binary.LittleEndian.Uint32(a.Data))), int64(int32(binary.LittleEndian.Uint32(b.Data)))), true
		}
	case bsoncore.TypeObjectID:
		if len(a.Data) >= 12 && len(b.Data) >= 12 {
			return bytes.Compare(a.Data[:12], b.Data[:12]), true
		}
	case bsoncore.TypeString:
		return bytes.Compare(stringBytes(a), stringBytes(b)), true
	case bsoncore.TypeDouble:
		if len(a.Data) >= 8 && len(b.Data) >= 8 {
			return cmp.Compare(math.Float64frombits(binary.LittleEndian.Uint64(a.Data)),
				math.Float64frombits(binary.LittleEndian.Uint64(b.Data))), true
		}
	case bsoncore.TypeDateTime:
		if len(a.Data) >= 8 && len(b.Data) >= 8 {
			return cmp.Compare(int64(binary.LittleEndian.Uint64(a.Data)), int64(binary.LittleEndian.Uint64(b.Data))), true
		}
	}
	return 0, false
}

// Equal reports whether MongoDB considers a and b equal (Compare == 0):
// 1, 1.0 and NumberLong(1) are equal; "a" and Symbol("a") are equal.
func Equal(a, b bsoncore.Value) bool { return Compare(a, b) == 0 }

// CompareDocuments compares two documents element by element: canonical
// type, then field name, then value; a prefix sorts first. It walks the raw
// bytes without allocating.
func CompareDocuments(a, b bsoncore.Document) int {
	ra, rb := docBody(a), docBody(b)
	for {
		ea, restA, okA := bsoncore.ReadElement(ra)
		eb, restB, okB := bsoncore.ReadElement(rb)
		switch {
		case !okA && !okB:
			return 0
		case !okA:
			return -1
		case !okB:
			return 1
		}
		va, vb := ea.Value(), eb.Value()
		if c := cmp.Compare(TypeBracket(va.Type), TypeBracket(vb.Type)); c != 0 {
			return c
		}
		if c := bytes.Compare(ea.KeyBytes(), eb.KeyBytes()); c != 0 {
			return c
		}
		if c := Compare(va, vb); c != 0 {
			return c
		}
		ra, rb = restA, restB
	}
}

// docBody returns the element bytes of a document (without length and
// terminator), or nil if it is malformed.
func docBody(d bsoncore.Document) []byte {
	if len(d) < 5 {
		return nil
	}
	return d[4 : len(d)-1]
}

// stringBytes returns the bytes of a string or symbol value (without the
// length prefix and NUL terminator).
func stringBytes(v bsoncore.Value) []byte {
	if len(v.Data) < 5 {
		return nil
	}
	return v.Data[4 : len(v.Data)-1]
}

// CompareNumbers compares two numeric values exactly across int32, int64,
// double and decimal128. NaN sorts below every other number and equals NaN.
func CompareNumbers(a, b bsoncore.Value) int {
	if a.Type == bsoncore.TypeDecimal128 || b.Type == bsoncore.TypeDecimal128 {
		return compareViaRat(a, b)
	}
	if a.Type != bsoncore.TypeDouble && b.Type != bsoncore.TypeDouble {
		return cmp.Compare(intOf(a), intOf(b))
	}
	if a.Type == bsoncore.TypeDouble && b.Type == bsoncore.TypeDouble {
		return cmp.Compare(a.Double(), b.Double())
	}
	// One double, one integer: compare without losing int64 precision.
	if a.Type == bsoncore.TypeDouble {
		return cmpFloatInt(a.Double(), intOf(b))
	}
	return -cmpFloatInt(b.Double(), intOf(a))
}

// intOf reads an int32 or int64 value straight from its bytes (bsoncore's
// AsInt64 switches over every numeric type first); short data falls back
// to AsInt64, which reports it.
func intOf(v bsoncore.Value) int64 {
	switch {
	case v.Type == bsoncore.TypeInt64 && len(v.Data) >= 8:
		return int64(binary.LittleEndian.Uint64(v.Data))
	case v.Type == bsoncore.TypeInt32 && len(v.Data) >= 4:
		return int64(int32(binary.LittleEndian.Uint32(v.Data)))
	}
	return v.AsInt64()
}

func cmpFloatInt(f float64, i int64) int {
	if math.IsNaN(f) {
		return -1
	}
	// Every int64 lies in [-2^63, 2^63); outside that the double decides.
	if f >= 9223372036854775808.0 {
		return 1
	}
	if f < -9223372036854775808.0 {
		return -1
	}
	t := math.Trunc(f)
	ti := int64(t)
	if ti != i {
		return cmp.Compare(ti, i)
	}
	return cmp.Compare(f, t)
}

// numKind classifies a number for exact comparison.
type numKind int

const (
	numNaN numKind = iota
	numNegInf
	numFinite
	numPosInf
)

func ratOf(v bsoncore.Value) (numKind, *big.Rat) {
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		return numFinite, new(big.Rat).SetInt64(v.AsInt64())
	case bsoncore.TypeDouble:
		f := v.Double()
		switch {
		case math.IsNaN(f):
			return numNaN, nil
		case math.IsInf(f, 1):
			return numPosInf, nil
		case math.IsInf(f, -1):
			return numNegInf, nil
		}
		return numFinite, new(big.Rat).SetFloat64(f) // exact for finite f
	case bsoncore.TypeDecimal128:
		d := DecimalOf(v)
		switch {
		case d.NaN:
			return numNaN, nil
		case d.Inf && d.Neg:
			return numNegInf, nil
		case d.Inf:
			return numPosInf, nil
		}
		return numFinite, d.Rat()
	}
	return numNaN, nil
}

func compareViaRat(a, b bsoncore.Value) int {
	ka, ra := ratOf(a)
	kb, rb := ratOf(b)
	if ka != kb || ka != numFinite {
		return cmp.Compare(int(ka), int(kb))
	}
	return ra.Cmp(rb)
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
