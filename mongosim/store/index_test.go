package store

import (
	"bytes"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

var (
	tru = bsonkit.Bool(true)
	arr = bsonkit.Array
)

func TestUniqueIndexEnforcement(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", nil)
	if n := mustIndex(t, c, idx(d("a", i32(1)), "a_1", "unique", tru)); n != 1 {
		t.Fatalf("created %d", n)
	}
	// Repeated values inside one document are fine.
	mustInsert(t, c, d("_id", i32(1), "a", arr(i32(1), i32(1), i32(2))))
	_, _, err := c.Insert(d("_id", i32(2), "a", i32(2)))
	e := wantCode(t, err, mongoerr.DuplicateKey, "E11000 duplicate key error collection: db.c index: a_1 dup key: { a: 2 }")
	wantDoc(t, "Extra", e.Extra, d("keyPattern", dv(d("a", i32(1))), "keyValue", dv(d("a", i32(2)))))
	// Missing indexes as null: one document without "a" is fine, two are not.
	mustInsert(t, c, d("_id", i32(3)))
	_, _, err = c.Insert(d("_id", i32(4), "a", bsonkit.Null()))
	wantCode(t, err, mongoerr.DuplicateKey, "E11000 duplicate key error collection: db.c index: a_1 dup key: { a: null }")
	if !c.Index("a_1").Multikey() {
		t.Fatal("a_1 should be multikey")
	}
	// Deleting frees the key.
	c.Delete(1)
	mustInsert(t, c, d("_id", i32(5), "a", i32(2)))
}

func TestCompoundAndDottedUniqueKeys(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", nil)
	mustIndex(t, c, idx(d("a.b", i32(1), "c", i32(-1)), "a.b_1_c_-1", "unique", tru))
	mustInsert(t, c, d("_id", i32(1), "a", dv(d("b", str("x"))), "c", i32(1)))
	mustInsert(t, c, d("_id", i32(2), "a", dv(d("b", str("x"))), "c", i32(2)))
	_, _, err := c.Insert(d("_id", i32(3), "a", arr(dv(d("b", str("y"))), dv(d("b", str("x")))), "c", bsonkit.Double(2)))
	e := wantCode(t, err, mongoerr.DuplicateKey, `E11000 duplicate key error collection: db.c index: a.b_1_c_-1 dup key: { a.b: "x", c: 2.0 }`)
	wantDoc(t, "keyValue", e.Extra, d("keyPattern", dv(d("a.b", i32(1), "c", i32(-1))), "keyValue", dv(d("a.b", str("x"), "c", bsonkit.Double(2)))))
}

func TestParallelArraysRejected(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", nil)
	mustIndex(t, c, idx(d("a", i32(1), "b", i32(1)), "a_1_b_1"))
	mustInsert(t, c, d("_id", i32(1), "a", arr(i32(1), i32(2)), "b", i32(1)))
	_, _, err := c.Insert(d("_id", i32(2), "a", arr(i32(1)), "b", arr(i32(2))))
	wantCode(t, err, mongoerr.CannotIndexParallelArrays, "cannot index parallel arrays [b] [a]")
	if c.Count() != 1 {
		t.Fatal("document with parallel arrays was stored")
	}
	// Index build over an existing parallel-array document fails and creates nothing.
	c2 := mustCreate(t, s, "db", "c2", nil)
	mustInsert(t, c2, d("_id", i32(1), "x", arr(i32(1)), "y", arr(i32(2))))
	_, err = c2.CreateIndexes([]bsoncore.Document{idx(d("x", i32(1), "y", i32(1)), "x_1_y_1")})
	wantCode(t, err, mongoerr.CannotIndexParallelArrays, "cannot index parallel arrays [y] [x]")
	if len(c2.Indexes()) != 1 {
		t.Fatal("failed build left an index")
	}
	// Arrays under the same prefix are not parallel.
	c3 := mustCreate(t, s, "db", "c3", nil)
	mustIndex(t, c3, idx(d("a.b", i32(1), "a.c", i32(1)), "ab_ac"))
	mustInsert(t, c3, d("_id", i32(1), "a", arr(dv(d("b", i32(1), "c", i32(2))), dv(d("b", i32(3), "c", i32(4))))))
}

func TestSparseAndPartialUnique(t *testing.T) {
	s := New()
	s.SetFilterCompiler(testCompiler)
	c := mustCreate(t, s, "db", "c", nil)
	mustIndex(t, c,
		idx(d("s", i32(1)), "s_1", "unique", tru, "sparse", tru),
		idx(d("p", i32(1)), "p_1", "unique", tru, "partialFilterExpression", dv(d("active", tru))))
	mustInsert(t, c, d("_id", i32(1)))
	mustInsert(t, c, d("_id", i32(2))) // sparse: both lack s
	mustInsert(t, c, d("_id", i32(3), "s", bsonkit.Null()))
	_, _, err := c.Insert(d("_id", i32(4), "s", bsonkit.Null()))
	wantCode(t, err, mongoerr.DuplicateKey, "E11000 duplicate key error collection: db.c index: s_1 dup key: { s: null }")
	mustInsert(t, c, d("_id", i32(5), "p", i32(1), "active", tru))
	mustInsert(t, c, d("_id", i32(6), "p", i32(1), "active", bsonkit.Bool(false)))
	_, _, err = c.Insert(d("_id", i32(7), "p", i32(1), "active", tru))
	wantCode(t, err, mongoerr.DuplicateKey, "E11000 duplicate key error collection: db.c index: p_1 dup key: { p: 1 }")
	// A bad partial filter fails the build with the compiler's error.
	_, err = c.CreateIndexes([]bsoncore.Document{idx(d("q", i32(1)), "q_1", "partialFilterExpression", dv(d("$bad", i32(1))))})
	wantCode(t, err, mongoerr.BadValue, "unknown top level operator: $bad")
}

func TestIndexBuildOverDuplicatesCreatesNothing(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", nil)
	mustInsert(t, c, d("_id", i32(1), "a", i32(7)))
	mustInsert(t, c, d("_id", i32(2), "a", bsonkit.Int64(7)))
	_, err := c.CreateIndexes([]bsoncore.Document{
		idx(d("b", i32(1)), "b_1"),
		idx(d("a", i32(1)), "a_1", "unique", tru),
	})
	wantCode(t, err, mongoerr.DuplicateKey, "E11000 duplicate key error collection: db.c index: a_1 dup key: { a: 7 }")
	if n := len(c.Indexes()); n != 1 {
		t.Fatalf("indexes after failed build: %d", n)
	}
}

func TestIndexConflicts(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", nil)
	mustIndex(t, c, idx(d("a", i32(1)), "a_1"))
	if n := mustIndex(t, c, idx(d("a", i32(1)), "a_1")); n != 0 {
		t.Fatalf("identical spec created %d", n)
	}
	if n := mustIndex(t, c, idx(d("_id", i32(1)), "_id_")); n != 0 {
		t.Fatalf("_id spec created %d", n)
	}
	_, err := c.CreateIndexes([]bsoncore.Document{idx(d("b", i32(1)), "a_1")})
	wantCode(t, err, mongoerr.IndexKeySpecsConflict,
		`An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: { v: 2, key: { b: 1 }, name: "a_1" }, existing index: { v: 2, key: { a: 1 }, name: "a_1" }`)
	_, err = c.CreateIndexes([]bsoncore.Document{idx(d("a", i32(1)), "a_1", "unique", tru)})
	wantCode(t, err, mongoerr.IndexOptionsConflict,
		`An equivalent index already exists with the same name but different options. Requested index: { v: 2, key: { a: 1 }, name: "a_1", unique: true }, existing index: { v: 2, key: { a: 1 }, name: "a_1" }`)
	_, err = c.CreateIndexes([]bsoncore.Document{idx(d("a", i32(1)), "other")})
	wantCode(t, err, mongoerr.IndexOptionsConflict, "Index already exists with a different name: a_1")
	_, err = c.CreateIndexes([]bsoncore.Document{idx(d("a", i32(1)), "x", "bogus", i32(1))})
	wantCode(t, err, mongoerr.InvalidIndexSpecificationOption,
		`The field 'bogus' is not valid for an index specification. Specification: { key: { a: 1 }, name: "x", bogus: 1 }`)
	_, err = c.CreateIndexes([]bsoncore.Document{d("key", dv(d("a", i32(1))))})
	wantCode(t, err, mongoerr.FailedToParse, "")
	_, err = c.CreateIndexes([]bsoncore.Document{idx(d("a", str("nope")), "x")})
	wantCode(t, err, mongoerr.CannotCreateIndex, "")
	_, err = c.CreateIndexes([]bsoncore.Document{idx(d("a", i32(0)), "x")})
	wantCode(t, err, mongoerr.CannotCreateIndex, "")
	// Same key, different partial filter: a distinct index.
	if n := mustIndex(t, c, idx(d("a", i32(1)), "a_partial", "partialFilterExpression", dv(d("z", i32(1))))); n != 1 {
		t.Fatal("partial variant not created")
	}
	_, err = c.DropIndexByKey(d("a", i32(1)))
	wantCode(t, err, mongoerr.AmbiguousIndexKeyPattern, "")
}

func TestDropIndexes(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", nil)
	mustIndex(t, c, idx(d("a", i32(1)), "a_1"), idx(d("b", i32(-1)), "b_-1"))
	_, err := c.DropIndex("_id_")
	wantCode(t, err, mongoerr.InvalidOptions, "cannot drop _id index")
	_, err = c.DropIndexByKey(d("_id", i32(1)))
	wantCode(t, err, mongoerr.InvalidOptions, "cannot drop _id index")
	_, err = c.DropIndex("nope")
	wantCode(t, err, mongoerr.IndexNotFound, "index not found with name [nope]")
	_, err = c.DropIndexByKey(d("z", i32(1)))
	wantCode(t, err, mongoerr.IndexNotFound, "can't find index with key: { z: 1 }")
	if ix, err := c.DropIndexByKey(d("b", i32(-1))); err != nil || ix.Name() != "b_-1" {
		t.Fatalf("drop by key: %v %v", ix, err)
	}
	mustIndex(t, c, idx(d("c", i32(1)), "c_1"))
	dropped := c.DropAllIndexes()
	if len(dropped) != 2 || dropped[0].Name() != "a_1" || dropped[1].Name() != "c_1" {
		t.Fatalf("dropped %v", dropped)
	}
	if len(c.IndexSpecs()) != 1 || c.IndexSpecs()[0].Lookup("name").StringValue() != "_id_" {
		t.Fatal("_id index must remain")
	}
}

func TestIndexSpecNormalization(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", d("collation", dv(d("locale", str("fr")))))
	mustIndex(t, c,
		d("name", str("a_1"), "unique", tru, "key", dv(d("a", i32(1)))),
		idx(d("t", str("text"), "x", i32(1)), "t_text_x_1"),
		idx(d("loc", str("2dsphere")), "loc_2dsphere", "collation", dv(d("locale", str("simple")))),
		idx(d("h", str("hashed")), "h_hashed"),
		idx(d("$**", i32(1)), "$**_1", "wildcardProjection", dv(d("a", i32(1)))),
		idx(d("ts", i32(1)), "ts_1", "expireAfterSeconds", i32(60), "hidden", tru),
	)
	fr := d("locale", str("fr"), "caseLevel", bsonkit.Bool(false), "caseFirst", str("off"), "strength", i32(3),
		"numericOrdering", bsonkit.Bool(false), "alternate", str("non-ignorable"), "maxVariable", str("punct"),
		"normalization", bsonkit.Bool(false), "backwards", bsonkit.Bool(false), "version", str("57.1"))
	wantDoc(t, "collection collation", c.Options, d("collation", dv(fr)))
	specs := c.IndexSpecs()
	want := []bsoncore.Document{
		d("v", i32(2), "key", dv(d("_id", i32(1))), "name", str("_id_"), "collation", dv(fr)),
		d("v", i32(2), "key", dv(d("a", i32(1))), "name", str("a_1"), "unique", tru, "collation", dv(fr)),
		d("v", i32(2), "key", dv(d("_fts", str("text"), "_ftsx", i32(1), "x", i32(1))), "name", str("t_text_x_1"),
			"weights", dv(d("t", i32(1))), "default_language", str("english"), "language_override", str("language"),
			"textIndexVersion", i32(3), "collation", dv(fr)),
		d("v", i32(2), "key", dv(d("loc", str("2dsphere"))), "name", str("loc_2dsphere"), "2dsphereIndexVersion", i32(3)),
		d("v", i32(2), "key", dv(d("h", str("hashed"))), "name", str("h_hashed"), "collation", dv(fr)),
		d("v", i32(2), "key", dv(d("$**", i32(1))), "name", str("$**_1"), "wildcardProjection", dv(d("a", i32(1))), "collation", dv(fr)),
		d("v", i32(2), "key", dv(d("ts", i32(1))), "name", str("ts_1"), "expireAfterSeconds", i32(60), "hidden", tru, "collation", dv(fr)),
	}
	if len(specs) != len(want) {
		t.Fatalf("got %d specs", len(specs))
	}
	for i := range want {
		wantDoc(t, "spec "+want[i].Lookup("name").StringValue(), specs[i], want[i])
	}
	_, _, err := c.Insert(d("_id", i32(1), "h", arr(i32(1))))
	wantCode(t, err, 16766, "")
}

func TestGenerateIndexName(t *testing.T) {
	cases := map[string]bsoncore.Document{
		"a_1_b_-1":    d("a", i32(1), "b", i32(-1)),
		"a_text":      d("a", str("text")),
		"$**_1":       d("$**", i32(1)),
		"a_hashed":    d("a", str("hashed")),
		"a.b_1":       d("a.b", bsonkit.Double(1)),
		"x_2dsphere":  d("x", str("2dsphere")),
		"n_-1_m_1.5":  d("n", bsonkit.Int64(-1), "m", bsonkit.Double(1.5)),
		"loc_2d_z_-1": d("loc", str("2d"), "z", i32(-1)),
	}
	for want, key := range cases {
		if got := GenerateIndexName(key); got != want {
			t.Errorf("GenerateIndexName(%s) = %q, want %q", key, got, want)
		}
	}
}

func TestModifyIndex(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", nil)
	mustIndex(t, c, idx(d("a", i32(1)), "a_1"), idx(d("t", i32(1)), "t_1", "expireAfterSeconds", i32(100)))
	mustInsert(t, c, d("_id", i32(1), "a", i32(1)))
	mustInsert(t, c, d("_id", i32(2), "a", i32(1)))
	res, err := s.CollMod("db", "c", d("index", dv(d("name", str("a_1"), "hidden", tru))))
	if err != nil {
		t.Fatal(err)
	}
	wantDoc(t, "hidden reply", res.Reply, d("hidden_old", bsonkit.Bool(false), "hidden_new", tru))
	wantDoc(t, "hidden spec", c.Index("a_1").Spec(), d("v", i32(2), "key", dv(d("a", i32(1))), "name", str("a_1"), "hidden", tru))
	res, err = s.CollMod("db", "c", d("index", dv(d("keyPattern", dv(d("t", i32(1))), "expireAfterSeconds", bsonkit.Int64(5)))))
	if err != nil {
		t.Fatal(err)
	}
	wantDoc(t, "ttl reply", res.Reply, d("expireAfterSeconds_old", i32(100), "expireAfterSeconds_new", bsonkit.Int64(5)))
	_, err = s.CollMod("db", "c", d("index", dv(d("name", str("a_1"), "unique", tru))))
	wantCode(t, err, mongoerr.InvalidOptions, "")
	res, err = s.CollMod("db", "c", d("index", dv(d("name", str("a_1"), "prepareUnique", tru))))
	if err != nil {
		t.Fatal(err)
	}
	wantDoc(t, "prepareUnique reply", res.Reply, d("prepareUnique_old", bsonkit.Bool(false), "prepareUnique_new", tru))
	_, err = s.CollMod("db", "c", d("index", dv(d("name", str("a_1"), "unique", tru))))
	e := wantCode(t, err, mongoerr.CannotConvertIndexToUnique, "")
	wantDoc(t, "violations", e.Extra, d("violations", arr(dv(d("ids", arr(i32(1), i32(2)))))))
	c.Delete(2)
	res, err = s.CollMod("db", "c", d("index", dv(d("name", str("a_1"), "unique", tru))))
	if err != nil {
		t.Fatal(err)
	}
	wantDoc(t, "unique reply", res.Reply, d("unique_new", tru))
	_, _, err = c.Insert(d("_id", i32(3), "a", i32(1)))
	wantCode(t, err, mongoerr.DuplicateKey, "")
	_, err = s.CollMod("db", "c", d("index", dv(d("name", str("zz"), "hidden", tru))))
	wantCode(t, err, mongoerr.IndexNotFound, "cannot find index zz for ns db.c")
	_, err = s.CollMod("db", "c", d("index", dv(d("name", str("_id_"), "hidden", tru))))
	wantCode(t, err, mongoerr.BadValue, "can't hide _id index")
}

func TestCatalogMetadataIsCopied(t *testing.T) {
	s := New()
	opts := d("validator", dv(d("a", i32(1))))
	c := mustCreate(t, s, "db", "c", opts)
	spec := idx(d("k", i32(1)), "k_1")
	mustIndex(t, c, spec)
	// Request buffers are reused: scribbling over them must not reach the catalog.
	for i := 4; i < len(opts)-1; i++ {
		opts[i] = 'x'
	}
	for i := 4; i < len(spec)-1; i++ {
		spec[i] = 'x'
	}
	wantDoc(t, "options", c.Options, d("validator", dv(d("a", i32(1)))))
	wantDoc(t, "spec", c.Index("k_1").Spec(), d("v", i32(2), "key", dv(d("k", i32(1))), "name", str("k_1")))
}

// A text index spec read back from listIndexes can be passed to
// createIndexes again (as dump/restore and sync tools do) and comes back
// unchanged.
func TestTextIndexStoredFormRoundTrips(t *testing.T) {
	st := New()
	c, err := st.CreateCollection("db", "c", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateIndexes([]bsoncore.Document{d("key", dv(d("s", str("text"))), "name", str("s_text"), "default_language", str("french"))}); err != nil {
		t.Fatal(err)
	}
	first := c.Index("s_text").Spec()
	c2, err := st.CreateCollection("db", "c2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.CreateIndexes([]bsoncore.Document{first}); err != nil {
		t.Fatal(err)
	}
	if got := c2.Index("s_text").Spec(); !bytes.Equal(got, first) {
		t.Fatalf("re-created text index differs:\n got  %s\n want %s", bson.Raw(got), bson.Raw(first))
	}
}
