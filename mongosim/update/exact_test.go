package update

import (
	"bytes"
	"math"
	"testing"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// exoticFields returns elements of every awkward type, each with its raw
// bytes, to prove updates leave untouched values byte-identical.
func exoticFields(t *testing.T) []bsoncore.Element {
	t.Helper()
	dec, _ := bson.ParseDecimal128("-1234.5670E-10")
	dh, dl := dec.GetBytes()
	oid := [12]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	scope := bsonkit.D("x", bsonkit.Int32(1))
	idx, b := bsoncore.AppendDocumentStart(nil)
	b = bsoncore.AppendInt32Element(b, "_id", 7)
	b = bsoncore.AppendDecimal128Element(b, "dec", dh, dl)
	b = bsoncore.AppendMinKeyElement(b, "min")
	b = bsoncore.AppendMaxKeyElement(b, "max")
	b = bsoncore.AppendSymbolElement(b, "sym", "s")
	b = bsoncore.AppendUndefinedElement(b, "undef")
	b = bsoncore.AppendRegexElement(b, "re", "^a.*", "imx")
	b = bsoncore.AppendTimestampElement(b, "ts", 5, 6)
	b = bsoncore.AppendBinaryElement(b, "bin", 0x80, []byte{0, 1, 2})
	b = bsoncore.AppendDBPointerElement(b, "dbp", "db.coll", oid)
	b = bsoncore.AppendJavaScriptElement(b, "js", "function(){}")
	b = bsoncore.AppendCodeWithScopeElement(b, "jsws", "x", scope)
	b = bsoncore.AppendDoubleElement(b, "nan", math.NaN())
	b = bsoncore.AppendDoubleElement(b, "negzero", math.Copysign(0, -1))
	b = bsoncore.AppendDoubleElement(b, "inf", math.Inf(1))
	b = bsoncore.AppendDoubleElement(b, "ninf", math.Inf(-1))
	b = bsoncore.AppendArrayElement(b, "nested", bsonkit.Array(bsonkit.Array(bsonkit.Int32(1)), bsonkit.Array()).Array())
	b = bsoncore.AppendDocumentElement(b, "$dollar", bsonkit.D("a.b", bsonkit.Int32(1)))
	b = bsoncore.AppendInt32Element(b, "dotted.name", 3)
	b = bsoncore.AppendDocumentElement(b, "sub", bsonkit.D("keep", bsoncore.Value{Type: bsoncore.TypeDecimal128, Data: bsoncore.AppendDecimal128(nil, dh, dl)}, "b", bsonkit.Int32(1)))
	b = bsoncore.AppendInt32Element(b, "b", 1)
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	elems, err := bsoncore.Document(b).Elements()
	if err != nil {
		t.Fatal(err)
	}
	return elems
}

func build(elems []bsoncore.Element, replace map[string]bsoncore.Value) bsoncore.Document {
	idx, b := bsoncore.AppendDocumentStart(nil)
	for _, e := range elems {
		if v, ok := replace[e.Key()]; ok {
			b = bsoncore.AppendValueElement(b, e.Key(), v)
			continue
		}
		b = append(b, e...)
	}
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	return b
}

func TestUntouchedValuesKeepTheirBytes(t *testing.T) {
	elems := exoticFields(t)
	in := build(elems, nil)
	for _, spec := range []string{`{"$set": {"b": 2}}`, `{"$inc": {"b": 1}}`} {
		out, changed, err := compileT(t, spec, Options{}).Apply(in, ctxNoMatch())
		if err != nil || !changed {
			t.Fatalf("%s: err=%v changed=%v", spec, err, changed)
		}
		want := build(elems, map[string]bsoncore.Value{"b": bsonkit.Int32(2)})
		if !bytes.Equal(out, want) {
			t.Fatalf("%s:\n want %s\n  got %s", spec, show(want), show(out))
		}
	}
	// Touching one field of a sub-document re-encodes only that document.
	out, _, err := compileT(t, `{"$set": {"sub.b": 5}}`, Options{}).Apply(in, ctxNoMatch())
	if err != nil {
		t.Fatal(err)
	}
	sub := bson.Raw(in).Lookup("sub").Document()
	keep := sub.Lookup("keep")
	want := build(elems, map[string]bsoncore.Value{"sub": bsonkit.DocValue(bsonkit.D("keep", bsoncore.Value{Type: bsoncore.TypeDecimal128, Data: keep.Value}, "b", bsonkit.Int32(5)))})
	if !bytes.Equal(out, want) {
		t.Fatalf("sub.b:\n want %s\n  got %s", show(want), show(out))
	}
	// A $set of NaN over NaN is a no-op (bit-identical); -0.0 over 0.0 is not.
	_, changed, _ := compileT(t, `{"$set": {"nan": {"$numberDouble": "NaN"}}}`, Options{}).Apply(in, ctxNoMatch())
	if changed {
		t.Fatal("NaN over NaN reported a change")
	}
	out, changed, _ = compileT(t, `{"$set": {"negzero": 0.0}}`, Options{}).Apply(in, ctxNoMatch())
	if !changed || !bytes.Equal(out, build(elems, map[string]bsoncore.Value{"negzero": bsonkit.Double(0)})) {
		t.Fatalf("0.0 over -0.0: changed=%v %s", changed, show(out))
	}
}

func BenchmarkSetIncOnKilobyteDocument(b *testing.B) {
	var d bsonkit.Doc
	d = append(d, bsonkit.Elem{Key: "_id", Value: bsonkit.Int32(1)})
	for i := 0; i < 20; i++ {
		d = append(d, bsonkit.Elem{Key: "f" + bsonkit.Itoa(i), Value: bsonkit.DocValue(bsonkit.D("x", bsonkit.String("0123456789012345678901234567890123"), "n", bsonkit.Int32(int32(i))))})
	}
	d = append(d, bsonkit.Elem{Key: "count", Value: bsonkit.Int32(0)})
	in := d.Bytes()
	u, err := Compile(bsonkit.DocValue(bsonkit.D("$set", bsonkit.DocValue(bsonkit.D("status", bsonkit.String("ok"))), "$inc", bsonkit.DocValue(bsonkit.D("count", bsonkit.Int32(1))))), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := u.Apply(in, ApplyCtx{MatchPos: -1}); err != nil {
			b.Fatal(err)
		}
	}
}
