package conformance

import (
	"bytes"
	"math"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// zooDoc builds, by hand, one document holding every BSON type and the
// awkward values a sync tool must carry byte for byte.
func zooDoc(t *testing.T, id int32) bson.Raw {
	t.Helper()
	oid := [12]byte{0x65, 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0x8, 0x9, 0xa, 0xb}
	dec, err := bson.ParseDecimal128("-1234567890.123456789012345678901234")
	if err != nil {
		t.Fatal(err)
	}
	decNaN, _ := bson.ParseDecimal128("NaN")
	decInf, _ := bson.ParseDecimal128("-Infinity")
	h, l := dec.GetBytes()
	nh, nl := decNaN.GetBytes()
	ih, il := decInf.GetBytes()
	scope := bsoncore.NewDocumentBuilder().AppendInt32("x", 1).Build()
	nested := bsoncore.NewArrayBuilder().AppendInt32(1).
		AppendArray(bsoncore.NewArrayBuilder().AppendArray(bsoncore.NewArrayBuilder().Build()).AppendString("deep").Build()).
		AppendDocument(bsoncore.NewDocumentBuilder().AppendNull("n").Build()).Build()
	idx, b := bsoncore.AppendDocumentStart(nil)
	b = bsoncore.AppendInt32Element(b, "_id", id)
	b = bsoncore.AppendDoubleElement(b, "double", 1.5)
	b = bsoncore.AppendDoubleElement(b, "nan", math.NaN())
	b = bsoncore.AppendDoubleElement(b, "negNaN", math.Float64frombits(0xfff8000000000001))
	b = bsoncore.AppendDoubleElement(b, "posInf", math.Inf(1))
	b = bsoncore.AppendDoubleElement(b, "negInf", math.Inf(-1))
	b = bsoncore.AppendDoubleElement(b, "negZero", math.Copysign(0, -1))
	b = bsoncore.AppendStringElement(b, "string", "héllo\x01")
	b = bsoncore.AppendDocumentElement(b, "doc", bsoncore.NewDocumentBuilder().AppendString("b", "c").Build())
	b = bsoncore.AppendArrayElement(b, "nestedArrays", nested)
	for st := byte(0); st <= 8; st++ {
		data := []byte{st, 0xff, 0x00, 0x10}
		if st == 4 || st == 3 {
			data = bytes.Repeat([]byte{st}, 16)
		}
		b = bsoncore.AppendBinaryElement(b, "bin"+string('0'+st), st, data)
	}
	b = bsoncore.AppendBinaryElement(b, "binUser", 0x80, []byte("user"))
	b = bsoncore.AppendUndefinedElement(b, "undefined")
	b = bsoncore.AppendObjectIDElement(b, "oid", oid)
	b = bsoncore.AppendBooleanElement(b, "bool", true)
	b = bsoncore.AppendDateTimeElement(b, "date", -62135596800000)
	b = bsoncore.AppendNullElement(b, "null")
	b = bsoncore.AppendRegexElement(b, "regex", "^a.*b$", "imsx")
	b = bsoncore.AppendDBPointerElement(b, "dbpointer", "db.coll", oid)
	b = bsoncore.AppendJavaScriptElement(b, "js", "function() { return 1; }")
	b = bsoncore.AppendSymbolElement(b, "symbol", "sym")
	b = bsoncore.AppendCodeWithScopeElement(b, "jsScope", "function() { return x; }", scope)
	b = bsoncore.AppendInt32Element(b, "int32", -7)
	b = bsoncore.AppendTimestampElement(b, "timestamp", 1700000000, 42)
	b = bsoncore.AppendInt64Element(b, "int64", math.MaxInt64)
	b = bsoncore.AppendDecimal128Element(b, "decimal", h, l)
	b = bsoncore.AppendDecimal128Element(b, "decimalNaN", nh, nl)
	b = bsoncore.AppendDecimal128Element(b, "decimalNegInf", ih, il)
	b = bsoncore.AppendMinKeyElement(b, "minKey")
	b = bsoncore.AppendMaxKeyElement(b, "maxKey")
	b = bsoncore.AppendInt32Element(b, "$dollar", 1)
	b = bsoncore.AppendInt32Element(b, "dotted.name", 2)
	b = bsoncore.AppendDocumentElement(b, "sub", bsoncore.NewDocumentBuilder().
		AppendInt32("$inner", 3).AppendInt32("a.b", 4).AppendDecimal128("d", h, l).Build())
	b = bsoncore.AppendInt32Element(b, "counter", 10)
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	if err := bsoncore.Document(b).Validate(); err != nil {
		t.Fatal(err)
	}
	return bson.Raw(b)
}

func TestBSONZooRoundTrip(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("zoo")
	want := zooDoc(t, 1)
	if _, err := coll.InsertOne(ctxT(t), want); err != nil {
		t.Fatal(err)
	}
	got := findAll(t, coll, bson.D{})
	if len(got) != 1 || !bytes.Equal(got[0], want) {
		t.Fatalf("round trip differs:\n got %s\nwant %s", got[0], want)
	}
	// Also through a document sequence in a raw insert and an _id lookup.
	runCmd(t, db, bson.D{{Key: "insert", Value: "zoo"}, {Key: "documents", Value: bson.A{zooDoc(t, 2)}}})
	var one bson.Raw
	if err := coll.FindOne(ctxT(t), bson.D{{Key: "_id", Value: 2}}).Decode(&one); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one, zooDoc(t, 2)) {
		t.Fatalf("FindOne differs: %s", one)
	}
}
