package update

import (
	"encoding/hex"
	"fmt"
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"math"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// The functions here render values the way mongod's BSONElement::toString
// does, because update error messages embed them ("{_id: 1} has the field
// 'a'", "Cannot create field 'b' in element {a: [ { b: 0.0 } ]}").

// fmtElem renders "name: value".
func fmtElem(name string, v bsoncore.Value) string {
	var sb strings.Builder
	sb.WriteString(name)
	sb.WriteString(": ")
	writeValue(&sb, v)
	return sb.String()
}

// fmtValue renders a value without a field name.
func fmtValue(v bsoncore.Value) string {
	var sb strings.Builder
	writeValue(&sb, v)
	return sb.String()
}

// fmtDoc renders a document as "{ a: 1, b: "x" }".
func fmtDoc(d bsoncore.Document) string {
	var sb strings.Builder
	writeDoc(&sb, d, false)
	return sb.String()
}

func writeDoc(sb *strings.Builder, d bsoncore.Document, array bool) {
	elems, _ := d.Elements()
	if len(elems) == 0 {
		if array {
			sb.WriteString("[]")
		} else {
			sb.WriteString("{}")
		}
		return
	}
	if array {
		sb.WriteString("[ ")
	} else {
		sb.WriteString("{ ")
	}
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
	if array {
		sb.WriteString(" ]")
	} else {
		sb.WriteString(" }")
	}
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
		fmt.Fprintf(sb, "new Date(%d)", v.DateTime())
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
		if len(s)+1 > 160 {
			sb.WriteString(`"` + s[:150] + `..."`)
		} else {
			sb.WriteString(`"` + s + `"`)
		}
	case bsoncore.TypeDBPointer:
		ns, oid := v.DBPointer()
		sb.WriteString("DBRef('" + ns + "'," + hex.EncodeToString(oid[:]) + ")")
	case bsoncore.TypeObjectID:
		sb.WriteString("ObjectId('" + oidHex(v) + "')")
	case bsoncore.TypeBinary:
		sub, data := v.Binary()
		if sub == 4 && len(data) == 16 {
			h := hex.EncodeToString(data)
			sb.WriteString(`UUID("` + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:] + `")`)
			return
		}
		fmt.Fprintf(sb, "BinData(%d, ", sub)
		if len(data) > 80 {
			sb.WriteString(strings.ToUpper(hex.EncodeToString(data[:70])) + "...)")
		} else {
			sb.WriteString(strings.ToUpper(hex.EncodeToString(data)) + ")")
		}
	case bsoncore.TypeTimestamp:
		t, i := v.Timestamp()
		fmt.Fprintf(sb, "Timestamp(%d, %d)", t, i)
	default:
		fmt.Fprintf(sb, "?type=%d", v.Type)
	}
}

// formatDouble mirrors StringBuilder::appendDoubleNice: printf("%.16g") and
// ".0" appended unless the text has '.', 'E' or 'N' (so C's "nan" and
// "inf" become "nan.0" and "inf.0", as mongod prints them).
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

// typeName is MongoDB's alias of a BSON type, as error messages spell it.
var typeName = bsonkit.TypeName

func oidHex(v bsoncore.Value) string {
	id := v.ObjectID()
	return hex.EncodeToString(id[:])
}
