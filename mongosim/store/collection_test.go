package store

import (
	"bytes"
	"math"
	"testing"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

func TestIDOrderAcrossTypesAndExactBytes(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", nil)
	dec, _ := bson.ParseDecimal128("2.75")
	decHi, decLo := dec.GetBytes()
	oid := [12]byte{1, 2, 3}
	vals := []bsoncore.Value{
		{Type: bsoncore.TypeMaxKey},
		bsonkit.ObjectID(oid),
		str("b"),
		bsonkit.Double(2.5),
		{Type: bsoncore.TypeDecimal128, Data: bsoncore.AppendDecimal128(nil, decHi, decLo)},
		bsonkit.Int64(3),
		bsonkit.Null(),
		{Type: bsoncore.TypeMinKey},
		dv(d("x", i32(1))),
		bsonkit.Binary(0, []byte("zz")),
		bsonkit.Bool(false),
		bsonkit.DateTime(5),
		bsonkit.Double(math.NaN()),
		str("a"),
		bsonkit.Double(math.Inf(-1)),
		{Type: bsoncore.TypeSymbol, Data: bsoncore.AppendString(nil, "ab")},
		bsonkit.Timestamp(1, 1),
	}
	var docs []bsoncore.Document
	for i, v := range vals {
		doc := d("_id", v, "n", i32(int32(i)), "neg0", bsonkit.Double(math.Copysign(0, -1)))
		docs = append(docs, doc)
		mustInsert(t, c, doc)
	}
	want := []string{"MinKey", "null", "nan.0", "-inf.0", "2.5", "2.75", "3",
		`"a"`, `"ab"`, `"b"`, "{ x: 1 }", "BinData(0, 7A7A)", "ObjectId('010203000000000000000000')",
		"false", "new Date(5)", "Timestamp(1, 1)", "MaxKey"}
	got := ids(c, func(fn func(Record) bool) { c.ScanID(false, nil, fn) })
	if !equalStrings(got, want) {
		t.Fatalf("_id order:\n got %v\nwant %v", got, want)
	}
	rev := ids(c, func(fn func(Record) bool) { c.ScanID(true, nil, fn) })
	for i := range rev {
		if rev[i] != want[len(want)-1-i] {
			t.Fatalf("reverse _id order: got %v", rev)
		}
	}
	// Natural order is insertion order and the bytes are the ones inserted.
	i := 0
	c.ScanNatural(false, nil, func(r Record) bool {
		if !bytes.Equal(r.Doc, docs[i]) {
			t.Fatalf("natural[%d] = %s, want %s", i, r.Doc, docs[i])
		}
		i++
		return true
	})
	if i != len(docs) {
		t.Fatalf("natural scan saw %d docs, want %d", i, len(docs))
	}
	if c.Count() != int64(len(docs)) {
		t.Fatalf("Count = %d", c.Count())
	}
	var size int64
	for _, doc := range docs {
		size += int64(len(doc))
	}
	if c.DataSize() != size || c.AvgObjSize() != size/int64(len(docs)) {
		t.Fatalf("DataSize %d AvgObjSize %d, want %d %d", c.DataSize(), c.AvgObjSize(), size, size/int64(len(docs)))
	}
}

func TestDuplicateIDAcrossNumericTypes(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", nil)
	mustInsert(t, c, d("_id", i32(1)))
	_, _, err := c.Insert(d("_id", bsonkit.Double(1.0), "x", i32(2)))
	e := wantCode(t, err, mongoerr.DuplicateKey, "E11000 duplicate key error collection: db.c index: _id_ dup key: { _id: 1.0 }")
	wantDoc(t, "Extra", e.Extra, d("keyPattern", dv(d("_id", i32(1))), "keyValue", dv(d("_id", bsonkit.Double(1.0)))))
	if c.Count() != 1 {
		t.Fatalf("count after failed insert = %d", c.Count())
	}
	rid, doc, ok := c.FindByID(bsonkit.Int64(1))
	if !ok || rid != 1 || !bytes.Equal(doc, d("_id", i32(1))) {
		t.Fatalf("FindByID(1L) = %d %s %v", rid, doc, ok)
	}
}

func TestScanResumeAfterDeletedRecord(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", nil)
	var recs []RecordID
	for i := 1; i <= 5; i++ {
		recs = append(recs, mustInsert(t, c, d("_id", i32(int32(10-i)))))
	}
	var third Record
	c.ScanNatural(false, nil, func(r Record) bool {
		third = r
		return r.RID != recs[2]
	})
	if old := c.Delete(third.RID); old == nil {
		t.Fatal("Delete returned nil")
	}
	if c.Get(third.RID) != nil {
		t.Fatal("deleted record still readable")
	}
	got := ids(c, func(fn func(Record) bool) { c.ScanNatural(false, &third, fn) })
	if !equalStrings(got, []string{"6", "5"}) {
		t.Fatalf("forward resume after deleted = %v", got)
	}
	got = ids(c, func(fn func(Record) bool) { c.ScanNatural(true, &third, fn) })
	if !equalStrings(got, []string{"8", "9"}) {
		t.Fatalf("reverse resume after deleted = %v", got)
	}
	// _id scans from bounds, inclusive and exclusive, both directions.
	got = ids(c, func(fn func(Record) bool) { c.ScanID(false, &IDBound{ID: i32(6)}, fn) })
	if !equalStrings(got, []string{"8", "9"}) {
		t.Fatalf("exclusive ascending from 6 = %v", got)
	}
	got = ids(c, func(fn func(Record) bool) { c.ScanID(false, &IDBound{ID: i32(6), Inclusive: true}, fn) })
	if !equalStrings(got, []string{"6", "8", "9"}) {
		t.Fatalf("inclusive ascending from 6 = %v", got)
	}
	got = ids(c, func(fn func(Record) bool) { c.ScanID(true, &IDBound{ID: bsonkit.Double(8.5)}, fn) })
	if !equalStrings(got, []string{"8", "6", "5"}) {
		t.Fatalf("descending from 8.5 = %v", got)
	}
	// Early stop.
	n := 0
	c.ScanID(false, nil, func(Record) bool { n++; return n < 2 })
	if n != 2 {
		t.Fatalf("scan did not stop: %d", n)
	}
}

func TestClusteredNaturalOrderIsIDOrder(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "cl", d("clusteredIndex", dv(d("key", dv(d("_id", i32(1))), "unique", bsonkit.Bool(true)))))
	for _, id := range []int32{3, 1, 2} {
		mustInsert(t, c, d("_id", i32(id)))
	}
	got := ids(c, func(fn func(Record) bool) { c.ScanNatural(false, nil, fn) })
	if !equalStrings(got, []string{"1", "2", "3"}) {
		t.Fatalf("clustered natural = %v", got)
	}
	after := Record{ID: i32(1)}
	got = ids(c, func(fn func(Record) bool) { c.ScanNatural(false, &after, fn) })
	if !equalStrings(got, []string{"2", "3"}) {
		t.Fatalf("clustered resume = %v", got)
	}
	wantDoc(t, "clustered options", c.Options, d("clusteredIndex", dv(d("v", i32(2), "key", dv(d("_id", i32(1))), "name", str("_id_"), "unique", bsonkit.Bool(true)))))
	specs := c.IndexSpecs()
	if len(specs) != 1 {
		t.Fatalf("clustered index count %d", len(specs))
	}
	wantDoc(t, "clustered index spec", specs[0], d("v", i32(2), "key", dv(d("_id", i32(1))), "name", str("_id_"), "unique", bsonkit.Bool(true), "clustered", bsonkit.Bool(true)))
}

func TestReplaceKeepsUniqueAndSizes(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", nil)
	mustIndex(t, c, idx(d("a", i32(1)), "a_1", "unique", bsonkit.Bool(true)))
	r1 := mustInsert(t, c, d("_id", i32(1), "a", i32(1)))
	mustInsert(t, c, d("_id", i32(2), "a", i32(2)))
	_, err := c.Replace(r1, d("_id", i32(1), "a", i32(2)))
	wantCode(t, err, mongoerr.DuplicateKey, "E11000 duplicate key error collection: db.c index: a_1 dup key: { a: 2 }")
	if !bytes.Equal(c.Get(r1), d("_id", i32(1), "a", i32(1))) {
		t.Fatal("failed replace changed the document")
	}
	newDoc := d("_id", i32(1), "a", i32(3), "pad", str("xxxxxxxx"))
	old, err := c.Replace(r1, newDoc)
	if err != nil {
		t.Fatal(err)
	}
	wantDoc(t, "old", old, d("_id", i32(1), "a", i32(1)))
	// a: 1 is free again, a: 3 is taken.
	mustInsert(t, c, d("_id", i32(3), "a", i32(1)))
	_, _, err = c.Insert(d("_id", i32(4), "a", i32(3)))
	wantCode(t, err, mongoerr.DuplicateKey, "")
	if want := int64(len(newDoc) + 2*len(d("_id", i32(2), "a", i32(2)))); c.DataSize() != want {
		t.Fatalf("DataSize = %d want %d", c.DataSize(), want)
	}
	_, err = c.Replace(r1, d("_id", i32(9)))
	wantCode(t, err, mongoerr.ImmutableField, "")
}

func TestCappedEvictionBySizeAndMax(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "cap", d("capped", bsonkit.Bool(true), "size", i32(1000), "max", i32(3)))
	capped, size, max := c.Capped()
	if !capped || size != 1000 || max != 3 {
		t.Fatalf("Capped() = %v %d %d", capped, size, max)
	}
	wantDoc(t, "options", c.Options, d("capped", bsonkit.Bool(true), "size", i32(1000), "max", i32(3)))
	for i := 1; i <= 3; i++ {
		mustInsert(t, c, d("_id", i32(int32(i))))
	}
	_, evicted, err := c.Insert(d("_id", i32(4)))
	if err != nil {
		t.Fatal(err)
	}
	if len(evicted) != 1 || bsonkit.FormatValue(evicted[0].ID) != "1" {
		t.Fatalf("evicted %v", evicted)
	}
	got := ids(c, func(fn func(Record) bool) { c.ScanNatural(false, nil, fn) })
	if !equalStrings(got, []string{"2", "3", "4"}) {
		t.Fatalf("after max eviction: %v", got)
	}
	// A 600-byte document forces older ones out by size.
	big := d("_id", i32(5), "s", str(string(make([]byte, 580))))
	_, evicted, err = c.Insert(big)
	if err != nil {
		t.Fatal(err)
	}
	if len(evicted) != 1 || c.DataSize() > 1000 {
		t.Fatalf("size eviction: evicted %d, dataSize %d", len(evicted), c.DataSize())
	}
	huge := d("_id", i32(6), "s", str(string(make([]byte, 1200))))
	_, _, err = c.Insert(huge)
	wantCode(t, err, mongoerr.BadValue, "object to insert exceeds cappedMaxSize")
	// Deleting single documents from a capped collection is allowed.
	if c.Delete(5) == nil {
		t.Fatal("capped delete failed")
	}
}

func TestCappedRequiresSize(t *testing.T) {
	s := New()
	_, err := s.CreateCollection("db", "c", d("capped", bsonkit.Bool(true)))
	wantCode(t, err, mongoerr.InvalidOptions, "the 'size' field is required when 'capped' is true")
	_, err = s.CreateCollection("db", "c", d("capped", bsonkit.Bool(true), "size", i32(10), "max", bsonkit.Int64(1<<31)))
	wantCode(t, err, 51024, "BSON field 'max' value must be < 2147483648, actual value '2147483648'")
	big := mustCreate(t, s, "db", "big", d("capped", bsonkit.Bool(true), "size", bsonkit.Int64(1<<31)))
	wantDoc(t, "large size stays long", big.Options, d("capped", bsonkit.Bool(true), "size", bsonkit.Int64(1<<31)))
}
