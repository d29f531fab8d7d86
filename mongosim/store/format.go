package store

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// formatDoc renders a document the way mongod's BSONObj::toString does in
// error messages: { a: 1, b: "x" }.
func formatDoc(d bsoncore.Document) string {
	var sb strings.Builder
	writeDoc(&sb, d, false)
	return sb.String()
}

func writeDoc(sb *strings.Builder, d bsoncore.Document, array bool) {
	elems, _ := d.Elements()
	open, closing := "{", "}"
	if array {
		open, closing = "[", "]"
	}
	if len(elems) == 0 {
		sb.WriteString(open + closing)
		return
	}
	sb.WriteString(open + " ")
	for i, e := range elems {
		if i > 0 {
			sb.WriteString(", ")
		}
		if !array {
			sb.WriteString(e.Key())
			sb.WriteString(": ")
		}
		writeValue(sb, e.Value())
	}
	sb.WriteString(" " + closing)
}

// formatValue renders one value as mongod does inside toString output.
func formatValue(v bsoncore.Value) string {
	var sb strings.Builder
	writeValue(&sb, v)
	return sb.String()
}

func writeValue(sb *strings.Builder, v bsoncore.Value) {
	switch v.Type {
	case bsoncore.TypeDouble:
		sb.WriteString(formatDouble(v.Double()))
	case bsoncore.TypeString:
		sb.WriteString(strconv.Quote(v.StringValue()))
	case bsoncore.TypeSymbol:
		sb.WriteString(strconv.Quote(v.Symbol()))
	case bsoncore.TypeEmbeddedDocument:
		writeDoc(sb, v.Document(), false)
	case bsoncore.TypeArray:
		writeDoc(sb, bsoncore.Document(v.Array()), true)
	case bsoncore.TypeBinary:
		st, b := v.Binary()
		sb.WriteString("BinData(" + strconv.Itoa(int(st)) + ", " + strings.ToUpper(hex.EncodeToString(b)) + ")")
	case bsoncore.TypeUndefined:
		sb.WriteString("undefined")
	case bsoncore.TypeObjectID:
		oid := v.ObjectID()
		sb.WriteString("ObjectId('" + hex.EncodeToString(oid[:]) + "')")
	case bsoncore.TypeBoolean:
		sb.WriteString(strconv.FormatBool(v.Boolean()))
	case bsoncore.TypeDateTime:
		sb.WriteString("new Date(" + strconv.FormatInt(v.DateTime(), 10) + ")")
	case bsoncore.TypeNull:
		sb.WriteString("null")
	case bsoncore.TypeRegex:
		p, o := v.Regex()
		sb.WriteString("/" + p + "/" + o)
	case bsoncore.TypeDBPointer:
		ns, oid := v.DBPointer()
		sb.WriteString("DBRef('" + ns + "', " + hex.EncodeToString(oid[:]) + ")")
	case bsoncore.TypeJavaScript:
		sb.WriteString(v.JavaScript())
	case bsoncore.TypeCodeWithScope:
		code, scope := v.CodeWithScope()
		sb.WriteString("CodeWScope( " + code + ", ")
		writeDoc(sb, scope, false)
		sb.WriteString(")")
	case bsoncore.TypeInt32:
		sb.WriteString(strconv.FormatInt(int64(v.Int32()), 10))
	case bsoncore.TypeTimestamp:
		t, i := v.Timestamp()
		sb.WriteString("Timestamp(" + strconv.FormatUint(uint64(t), 10) + ", " + strconv.FormatUint(uint64(i), 10) + ")")
	case bsoncore.TypeInt64:
		sb.WriteString(strconv.FormatInt(v.Int64(), 10))
	case bsoncore.TypeDecimal128:
		h, l := v.Decimal128()
		sb.WriteString("NumberDecimal(\"" + bson.NewDecimal128(h, l).String() + "\")")
	case bsoncore.TypeMinKey:
		sb.WriteString("MinKey")
	case bsoncore.TypeMaxKey:
		sb.WriteString("MaxKey")
	default:
		sb.WriteString("?")
	}
}

// formatDouble prints doubles as mongod's toString: integral values keep a
// ".0" suffix, others use the shortest exact form.
func formatDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan.0"
	case math.IsInf(f, 1):
		return "inf.0"
	case math.IsInf(f, -1):
		return "-inf.0"
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		if f == 0 && math.Signbit(f) {
			return "-0.0"
		}
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
