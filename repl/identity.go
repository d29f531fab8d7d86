package repl

import (
	"encoding/binary"
	"math"
	"math/big"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// docIdentity returns a key that is equal for two documentKeys exactly when
// MongoDB's _id index (BSON comparison order, simple collation) holds them
// as the same document. Byte equality is not enough: numbers compare by
// value across int32, int64, double and decimal128 (1, 1.0, NumberLong(1)
// and NumberDecimal("1.00") are one key), and a symbol equals the string
// with the same text. Routing and per-document ordering use this key, so a
// document deleted under one spelling of its _id and inserted under another
// keeps its writes in order.
func docIdentity(key bson.Raw) string {
	return string(appendDocIdentity(nil, key))
}

func appendDocIdentity(b []byte, doc bson.Raw) []byte {
	elems, err := doc.Elements()
	if err != nil {
		// Not a valid document: its bytes are the best identity there is.
		return append(append(b, 'x'), doc...)
	}
	b = append(b, '{')
	for _, el := range elems {
		b = appendString(b, el.Key())
		b = appendValueIdentity(b, el.Value())
	}
	return append(b, '}')
}

func appendValueIdentity(b []byte, v bson.RawValue) []byte {
	switch v.Type {
	case bson.TypeInt32:
		return appendNumber(b, "i"+strconv.FormatInt(int64(v.Int32()), 10))
	case bson.TypeInt64:
		return appendNumber(b, "i"+strconv.FormatInt(v.Int64(), 10))
	case bson.TypeDouble:
		return appendNumber(b, doubleIdentity(v.Double()))
	case bson.TypeDecimal128:
		return appendNumber(b, decimalIdentity(v.Decimal128()))
	case bson.TypeString:
		return appendString(append(b, 's'), v.StringValue())
	case bson.TypeSymbol:
		return appendString(append(b, 's'), v.Symbol())
	case bson.TypeEmbeddedDocument:
		return appendDocIdentity(append(b, 'o'), v.Document())
	case bson.TypeArray:
		return appendDocIdentity(append(b, 'a'), bson.Raw(v.Array()))
	}
	b = append(b, 't', byte(v.Type))
	b = binary.AppendUvarint(b, uint64(len(v.Value)))
	return append(b, v.Value...)
}

func appendNumber(b []byte, canon string) []byte { return appendString(append(b, 'n'), canon) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// doubleIdentity: integral values in int64's range share int64's form
// (-0.0 is 0); others are the shortest decimal that round-trips.
func doubleIdentity(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63:
		return "i" + strconv.FormatInt(int64(f), 10)
	}
	return "f" + strconv.FormatFloat(f, 'g', -1, 64)
}

// decimalIdentity maps a decimal to the int64 or double form of the same
// value when one exists, else to its exact reduced fraction.
func decimalIdentity(d bson.Decimal128) string {
	if d.IsNaN() {
		return "nan"
	}
	if inf := d.IsInf(); inf != 0 {
		return doubleIdentity(math.Inf(inf))
	}
	coef, exp, err := d.BigInt()
	if err != nil {
		return "d" + d.String()
	}
	r := new(big.Rat).SetInt(coef)
	if exp != 0 {
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(exp))), nil)
		if exp > 0 {
			r.Mul(r, new(big.Rat).SetInt(p))
		} else {
			r.Quo(r, new(big.Rat).SetInt(p))
		}
	}
	if r.IsInt() && r.Num().IsInt64() {
		return "i" + r.Num().String()
	}
	if f, exact := r.Float64(); exact {
		return doubleIdentity(f)
	}
	return "r" + r.String()
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
