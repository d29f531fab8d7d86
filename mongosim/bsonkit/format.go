package bsonkit

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// The functions here render values the way mongod's BSONElement::toString
// and BSONObj::toString do, because many error messages embed them
// ("dup key: { a: 1 }", "Cannot create field 'b' in element {a: [ { b: 0.0 } ]}").
// Aggregation messages print Values differently; see expr.ValueString.

// FormatElem renders "name: value".
func FormatElem(name string, v bsoncore.Value) string {
	var sb strings.Builder
	sb.WriteString(name)
	sb.WriteString(": ")
	writeValue(&sb, v)
	return sb.String()
}

// FormatValue renders a value without a field name.
func FormatValue(v bsoncore.Value) string {
	var sb strings.Builder
	writeValue(&sb, v)
	return sb.String()
}

// FormatDoc renders a document as "{ a: 1, b: "x" }" ("{}" when empty).
func FormatDoc(d bsoncore.Document) string {
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

func writeValue(sb *strings.Builder, v bsoncore.Value) {
	switch v.Type {
	case 0:
		sb.WriteString("EOO")
	case bsoncore.TypeEmbeddedDocument:
		writeDoc(sb, v.Document(), false)
	case bsoncore.TypeArray:
		writeDoc(sb, bsoncore.Document(v.Array()), true)
	case bsoncore.TypeDateTime:
		sb.WriteString("new Date(" + strconv.FormatInt(v.DateTime(), 10) + ")")
	case bsoncore.TypeRegex:
		p, o := v.Regex()
		sb.WriteString("/" + p + "/" + o)
	case bsoncore.TypeDouble:
		sb.WriteString(formatDouble(v.Double()))
	case bsoncore.TypeInt64:
		sb.WriteString(strconv.FormatInt(v.Int64(), 10))
	case bsoncore.TypeInt32:
		sb.WriteString(strconv.FormatInt(int64(v.Int32()), 10))
	case bsoncore.TypeDecimal128:
		h, l := v.Decimal128()
		sb.WriteString(bson.NewDecimal128(h, l).String())
	case bsoncore.TypeBoolean:
		sb.WriteString(strconv.FormatBool(v.Boolean()))
	case bsoncore.TypeUndefined:
		sb.WriteString("undefined")
	case bsoncore.TypeNull:
		sb.WriteString("null")
	case bsoncore.TypeMaxKey:
		sb.WriteString("MaxKey")
	case bsoncore.TypeMinKey:
		sb.WriteString("MinKey")
	case bsoncore.TypeCodeWithScope:
		code, scope := v.CodeWithScope()
		sb.WriteString("CodeWScope( " + code + ", ")
		writeDoc(sb, scope, false)
		sb.WriteString(")")
	case bsoncore.TypeJavaScript:
		code := v.JavaScript()
		if len(code)+1 > 80 {
			code = code[:70] + "..."
		}
		sb.WriteString(code)
	case bsoncore.TypeString, bsoncore.TypeSymbol:
		var s string
		if v.Type == bsoncore.TypeSymbol {
			s = v.Symbol()
		} else {
			s = v.StringValue()
		}
		// Written as is, not escaped; long strings cut as mongod cuts them.
		if len(s)+1 > 160 {
			sb.WriteString(`"` + s[:150] + `..."`)
		} else {
			sb.WriteString(`"` + s + `"`)
		}
	case bsoncore.TypeDBPointer:
		ns, oid := v.DBPointer()
		sb.WriteString("DBRef('" + ns + "'," + hex.EncodeToString(oid[:]) + ")")
	case bsoncore.TypeObjectID:
		oid := v.ObjectID()
		sb.WriteString("ObjectId('" + hex.EncodeToString(oid[:]) + "')")
	case bsoncore.TypeBinary:
		sub, data := v.Binary()
		if sub == 4 && len(data) == 16 {
			h := hex.EncodeToString(data)
			sb.WriteString(`UUID("` + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:] + `")`)
			return
		}
		sb.WriteString("BinData(" + strconv.Itoa(int(sub)) + ", ")
		if len(data) > 80 {
			sb.WriteString(strings.ToUpper(hex.EncodeToString(data[:70])) + "...)")
		} else {
			sb.WriteString(strings.ToUpper(hex.EncodeToString(data)) + ")")
		}
	case bsoncore.TypeTimestamp:
		t, i := v.Timestamp()
		sb.WriteString("Timestamp(" + strconv.FormatUint(uint64(t), 10) + ", " + strconv.FormatUint(uint64(i), 10) + ")")
	default:
		sb.WriteString("?type=" + strconv.Itoa(int(v.Type)))
	}
}

// formatDouble mirrors StringBuilder::appendDoubleNice: printf("%.16g") and
// ".0" appended unless the text has '.', 'E' or 'N' (so C's "nan" and
// "inf" become "nan.0" and "inf.0", and 1e20 "1e+20.0", as mongod prints them).
func formatDouble(f float64) string {
	var s string
	switch {
	case math.IsNaN(f):
		s = "nan"
		if math.Signbit(f) {
			s = "-nan"
		}
	case math.IsInf(f, 1):
		s = "inf"
	case math.IsInf(f, -1):
		s = "-inf"
	default:
		s = strconv.FormatFloat(f, 'g', 16, 64) // same spelling as C's %.16g
	}
	if !strings.ContainsAny(s, ".EN") {
		s += ".0"
	}
	return s
}
