package store

import (
	"testing"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func TestNewHasReplicaSetDatabases(t *testing.T) {
	s := New()
	if got := s.DatabaseNames(); !equalStrings(got, []string{"admin", "config", "local"}) {
		t.Fatalf("DatabaseNames = %v", got)
	}
	if got := s.Database("local").CollectionNames(); !equalStrings(got, []string{"oplog.rs", "startup_log", "system.replset"}) {
		t.Fatalf("local collections = %v", got)
	}
	if s.Database("nope") != nil || s.Collection("nope", "c") != nil {
		t.Fatal("absent database reported")
	}
	_, err := s.DropDatabase("admin")
	wantCode(t, err, mongoerr.IllegalOperation, "Dropping the 'admin' database is prohibited.")
	_, err = s.DropCollection("local", "oplog.rs")
	wantCode(t, err, mongoerr.IllegalOperation, "")
}

func TestCreateCollectionRules(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", d("validator", dv(d("a", i32(1))), "validationAction", str("warn"), "comment", str("ignored"),
		"writeConcern", dv(d("w", i32(1)))))
	wantDoc(t, "options", c.Options, d("validator", dv(d("a", i32(1))), "validationAction", str("warn")))
	if c.UUID == [16]byte{} || c.UUID[6]>>4 != 4 || c.UUID[8]&0xc0 != 0x80 {
		t.Fatalf("UUID not v4: %x", c.UUID)
	}
	// Identical options: success, same entry (7.0+). Different: NamespaceExists.
	again, err := s.CreateCollection("db", "c", d("validator", dv(d("a", i32(1))), "validationAction", str("warn")))
	if err != nil || again != c {
		t.Fatalf("identical re-create: %v", err)
	}
	_, err = s.CreateCollection("db", "c", nil)
	wantCode(t, err, mongoerr.NamespaceExists, "Collection db.c already exists.")
	_, err = s.CreateCollection("db", "x", d("bogus", i32(1)))
	wantCode(t, err, mongoerr.Location40415, "BSON field 'create.bogus' is an unknown field.")
	_, err = s.CreateCollection("db", "x", d("capped", str("yes")))
	wantCode(t, err, mongoerr.TypeMismatch, "BSON field 'create.capped' is the wrong type 'string', expected types '[bool, long, int, decimal, double]'")
	_, err = s.CreateCollection("db", "x", d("validationLevel", str("loose")))
	wantCode(t, err, mongoerr.BadValue, "Enumeration value 'loose' for field 'validationLevel' is not a valid value.")
	_, err = s.CreateCollection("db", "system.foo", nil)
	wantCode(t, err, mongoerr.InvalidNamespace, "Invalid system namespace: db.system.foo")
	_, err = s.CreateCollection("db", "a$b", nil)
	wantCode(t, err, mongoerr.InvalidNamespace, "Invalid namespace specified 'db.a$b'")
	_, err = s.CreateCollection("d b", "x", nil)
	wantCode(t, err, mongoerr.InvalidNamespace, "Invalid database name: 'd b'")
	_, err = s.CreateCollection("db", "x", d("pipeline", arr()))
	wantCode(t, err, mongoerr.BadValue, "'pipeline' requires 'viewOn' to also be specified")
	_, err = s.CreateCollection("db", "x", d("expireAfterSeconds", i32(5)))
	wantCode(t, err, mongoerr.InvalidOptions, "'expireAfterSeconds' requires clustering to be enabled")
	// Re-creation after drop gets a new UUID.
	old := c.UUID
	if _, err := s.DropCollection("db", "c"); err != nil {
		t.Fatal(err)
	}
	if c2 := mustCreate(t, s, "db", "c", nil); c2.UUID == old {
		t.Fatal("re-created collection kept its UUID")
	}
	_, err = s.DropCollection("db", "missing")
	wantCode(t, err, mongoerr.NamespaceNotFound, "ns not found")
}

func TestEnsureCollection(t *testing.T) {
	s := New()
	c, created, err := s.EnsureCollection("app", "users")
	if err != nil || !created || c == nil {
		t.Fatalf("EnsureCollection: %v %v", created, err)
	}
	c2, created, err := s.EnsureCollection("app", "users")
	if err != nil || created || c2 != c {
		t.Fatalf("second EnsureCollection: %v %v", created, err)
	}
	if got := s.DatabaseNames(); !equalStrings(got, []string{"admin", "app", "config", "local"}) {
		t.Fatalf("DatabaseNames = %v", got)
	}
	_, _, err = s.EnsureCollection("app", "system.x")
	wantCode(t, err, mongoerr.InvalidNamespace, "")
}

func TestOptionsOrder(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", d(
		"collation", dv(d("locale", str("en"), "strength", bsonkit.Double(2))),
		"validationLevel", str("moderate"),
		"validator", dv(d("x", i32(1))),
		"changeStreamPreAndPostImages", dv(d("enabled", tru)),
		"max", i32(10), "size", bsonkit.Double(4096), "capped", tru,
		"storageEngine", dv(d("wiredTiger", dv(d()))),
	))
	en := d("locale", str("en"), "caseLevel", bsonkit.Bool(false), "caseFirst", str("off"), "strength", i32(2),
		"numericOrdering", bsonkit.Bool(false), "alternate", str("non-ignorable"), "maxVariable", str("punct"),
		"normalization", bsonkit.Bool(false), "backwards", bsonkit.Bool(false), "version", str("57.1"))
	wantDoc(t, "options", c.Options, d(
		"capped", tru, "size", i32(4096), "max", i32(10),
		"changeStreamPreAndPostImages", dv(d("enabled", tru)),
		"storageEngine", dv(d("wiredTiger", dv(d()))),
		"validator", dv(d("x", i32(1))), "validationLevel", str("moderate"),
		"collation", dv(en)))
	simple := mustCreate(t, s, "db", "simple", d("collation", dv(d("locale", str("simple")))))
	wantDoc(t, "simple collation", simple.Options, d())
}

func TestViewsAndSystemViews(t *testing.T) {
	s := New()
	mustCreate(t, s, "db", "base", nil)
	pipe := arr(dv(d("$match", dv(d("a", i32(1))))))
	v, err := s.CreateView("db", "v", "base", pipe.Array(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind != KindView || v.UUID != ([16]byte{}) || v.ViewOn != "base" {
		t.Fatalf("view entry: kind %v uuid %x viewOn %q", v.Kind, v.UUID, v.ViewOn)
	}
	wantDoc(t, "view options", v.Options, d("viewOn", str("base"), "pipeline", pipe))
	sv := s.Collection("db", "system.views")
	if sv == nil || sv.Count() != 1 {
		t.Fatal("system.views not maintained")
	}
	_, doc, _ := sv.FindByID(str("db.v"))
	wantDoc(t, "system.views doc", doc, d("_id", str("db.v"), "viewOn", str("base"), "pipeline", pipe))
	_, _, err = v.Insert(d("_id", i32(1)))
	wantCode(t, err, mongoerr.CommandNotSupportedOnView, "Namespace db.v is a view, not a collection")
	_, err = s.CreateView("db", "v2", "v", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CollMod("db", "v", d("viewOn", str("v2")))
	wantCode(t, err, mongoerr.GraphContainsCycle, "")
	_, err = s.CollMod("db", "v", d("validator", dv(d())))
	wantCode(t, err, mongoerr.InvalidOptions, "option not supported on a view: validator")
	_, err = s.CollMod("db", "base", d("viewOn", str("x")))
	wantCode(t, err, mongoerr.InvalidOptions, "option only supported on a view: viewOn")
	_, err = s.RenameCollection("db", "v", "db", "v3", false)
	wantCode(t, err, mongoerr.CommandNotSupportedOnView, "")
	for _, n := range []string{"v", "v2"} {
		if _, err := s.DropCollection("db", n); err != nil {
			t.Fatal(err)
		}
	}
	if s.Collection("db", "system.views") != nil {
		t.Fatal("system.views kept after last view dropped")
	}
}

func TestTimeseriesCreatesBuckets(t *testing.T) {
	s := New()
	ts := mustCreate(t, s, "db", "weather", d("timeseries", dv(d("timeField", str("ts"), "metaField", str("md"), "granularity", str("hours"))),
		"expireAfterSeconds", i32(86400)))
	if ts.Kind != KindTimeseries || ts.Kind.String() != "timeseries" {
		t.Fatalf("kind %v", ts.Kind)
	}
	tsOpts := d("timeField", str("ts"), "metaField", str("md"), "granularity", str("hours"), "bucketMaxSpanSeconds", i32(2592000))
	wantDoc(t, "ts options", ts.Options, d("timeseries", dv(tsOpts), "expireAfterSeconds", bsonkit.Int64(86400)))
	specs := ts.IndexSpecs()
	if len(specs) != 1 {
		t.Fatalf("timeseries indexes %d", len(specs))
	}
	wantDoc(t, "meta/time index", specs[0], d("v", i32(2), "key", dv(d("md", i32(1), "ts", i32(1))), "name", str("md_1_ts_1")))
	b := s.Collection("db", "system.buckets.weather")
	if b == nil || !b.Clustered() {
		t.Fatal("buckets collection missing or not clustered")
	}
	if b.Options.Lookup("clusteredIndex").Type != 0x08 || b.Options.Lookup("timeseries").Type != 0x03 {
		t.Fatalf("bucket options %s", b.Options)
	}
	_, err := s.CollMod("db", "weather", d("timeseries", dv(d("granularity", str("seconds")))))
	wantCode(t, err, mongoerr.InvalidOptions, "")
	_, err = s.RenameCollection("db", "weather", "db", "w2", false)
	wantCode(t, err, mongoerr.IllegalOperation, "")
	if _, err := s.DropCollection("db", "weather"); err != nil {
		t.Fatal(err)
	}
	if s.Collection("db", "system.buckets.weather") != nil {
		t.Fatal("buckets kept after drop")
	}
	_, err = s.CreateCollection("db", "bad", d("timeseries", dv(d("metaField", str("m")))))
	wantCode(t, err, mongoerr.Location40414, "BSON field 'create.timeseries.timeField' is missing but a required field")
}

func TestRenameCollection(t *testing.T) {
	s := New()
	a := mustCreate(t, s, "db", "a", nil)
	mustInsert(t, a, d("_id", i32(1)))
	mustIndex(t, a, idx(d("x", i32(1)), "x_1"))
	uuid := a.UUID
	r, err := s.RenameCollection("db", "a", "db", "b", false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Collection != a || a.Name != "b" || a.UUID != uuid || r.DroppedTarget != nil {
		t.Fatalf("same-db rename: %+v", r)
	}
	if s.Collection("db", "a") != nil || s.Collection("db", "b").Count() != 1 || len(s.Collection("db", "b").Indexes()) != 2 {
		t.Fatal("rename did not move the collection with its documents and indexes")
	}
	r, err = s.RenameCollection("db", "b", "other", "b", false)
	if err != nil {
		t.Fatal(err)
	}
	if a.UUID == uuid || r.OldUUID != uuid || a.DB != "other" {
		t.Fatal("cross-db rename must assign a new UUID")
	}
	if s.Database("db") != nil {
		t.Fatal("emptied database still listed")
	}
	mustCreate(t, s, "other", "c", nil)
	_, err = s.RenameCollection("other", "b", "other", "c", false)
	wantCode(t, err, mongoerr.NamespaceExists, "target namespace exists")
	r, err = s.RenameCollection("other", "b", "other", "c", true)
	if err != nil || r.DroppedTarget == nil || r.DroppedTarget.Name != "c" {
		t.Fatalf("dropTarget rename: %v", err)
	}
	_, err = s.RenameCollection("other", "nope", "other", "x", false)
	wantCode(t, err, mongoerr.NamespaceNotFound, "Source collection other.nope does not exist")
	_, err = s.RenameCollection("other", "c", "other", "c", false)
	wantCode(t, err, mongoerr.IllegalOperation, "Can't rename a collection to itself")
	_, err = s.RenameCollection("other", "c", "other", "system.x", false)
	wantCode(t, err, mongoerr.IllegalOperation, "")
}

func TestDropDatabase(t *testing.T) {
	s := New()
	mustCreate(t, s, "db", "b", nil)
	mustCreate(t, s, "db", "a", nil)
	dropped, err := s.DropDatabase("db")
	if err != nil || len(dropped) != 2 || dropped[0].Name != "a" || dropped[1].Name != "b" {
		t.Fatalf("DropDatabase: %v %v", dropped, err)
	}
	if s.Database("db") != nil {
		t.Fatal("database still present")
	}
	dropped, err = s.DropDatabase("db")
	if err != nil || len(dropped) != 0 {
		t.Fatalf("dropping a missing database: %v %v", dropped, err)
	}
}

func TestValidatorEnforcement(t *testing.T) {
	s := New()
	s.SetFilterCompiler(testCompiler)
	c := mustCreate(t, s, "db", "c", d("validator", dv(d("ok", tru))))
	_, _, err := c.Insert(d("_id", i32(1), "ok", tru))
	if err != nil {
		t.Fatal(err)
	}
	bad := d("_id", i32(2), "ok", bsonkit.Bool(false))
	e := wantCode(t, c.Validate(bad, nil, false), mongoerr.DocumentValidationFailure, "Document failed validation")
	wantDoc(t, "errInfo", e.Extra, d("errInfo", dv(d("failingDocumentId", i32(2)))))
	if err := c.Validate(bad, nil, true); err != nil {
		t.Fatal("bypass must skip validation")
	}
	if _, err := s.CollMod("db", "c", d("validationLevel", str("moderate"))); err != nil {
		t.Fatal(err)
	}
	// moderate: updating a document that already failed is allowed.
	if err := c.Validate(bad, d("_id", i32(2)), false); err != nil {
		t.Fatalf("moderate update of invalid doc: %v", err)
	}
	if err := c.Validate(bad, d("_id", i32(1), "ok", tru), false); err == nil {
		t.Fatal("moderate update of valid doc to invalid must fail")
	}
	if _, err := s.CollMod("db", "c", d("validationAction", str("warn"))); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(bad, nil, false); err != nil {
		t.Fatal("warn must not reject")
	}
	wantDoc(t, "options after collMod", c.Options, d("validator", dv(d("ok", tru)), "validationLevel", str("moderate"), "validationAction", str("warn")))
	_, err = s.CreateCollection("db", "x", d("validator", dv(d("$bad", i32(1)))))
	wantCode(t, err, mongoerr.BadValue, "")
}

func TestCollModCapped(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "cap", d("capped", tru, "size", i32(100000)))
	for i := 1; i <= 5; i++ {
		mustInsert(t, c, d("_id", i32(int32(i))))
	}
	if _, err := s.CollMod("db", "cap", d("cappedMax", i32(2), "cappedSize", i32(50000))); err != nil {
		t.Fatal(err)
	}
	wantDoc(t, "options", c.Options, d("capped", tru, "size", i32(50000), "max", i32(2)))
	_, evicted, err := c.Insert(d("_id", i32(6)))
	if err != nil || len(evicted) != 4 {
		t.Fatalf("next insert evicts down to max: %d evicted, %v", len(evicted), err)
	}
	_, err = s.CollMod("db", "cap", d("cappedSize", i32(0)))
	wantCode(t, err, 51024, "")
	mustCreate(t, s, "db", "plain", nil)
	_, err = s.CollMod("db", "plain", d("cappedSize", i32(10)))
	wantCode(t, err, mongoerr.InvalidOptions, "")
	_, err = s.CollMod("db", "nope", d())
	wantCode(t, err, mongoerr.NamespaceNotFound, "ns does not exist: db.nope")
	_, err = s.CollMod("db", "plain", d("bogus", i32(1)))
	wantCode(t, err, mongoerr.Location40415, "BSON field 'collMod.bogus' is an unknown field.")
}

func TestDefaultCompilerUsesQuery(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", d("validator", dv(d("qty", dv(d("$gte", i32(0)))))))
	e := wantCode(t, c.Validate(d("_id", i32(1), "qty", i32(-1)), nil, false), mongoerr.DocumentValidationFailure, "Document failed validation")
	wantDoc(t, "errInfo", e.Extra, d("errInfo", dv(d("failingDocumentId", i32(1)))))
	if err := c.Validate(d("_id", i32(1), "qty", i32(3)), nil, false); err != nil {
		t.Fatal(err)
	}
	mustIndex(t, c, idx(d("sku", i32(1)), "sku_1", "unique", tru, "partialFilterExpression", dv(d("qty", dv(d("$gt", i32(10)))))))
	mustInsert(t, c, d("_id", i32(1), "sku", str("a"), "qty", i32(5)))
	mustInsert(t, c, d("_id", i32(2), "sku", str("a"), "qty", i32(20)))
	_, _, err := c.Insert(d("_id", i32(3), "sku", str("a"), "qty", i32(30)))
	wantCode(t, err, mongoerr.DuplicateKey, `E11000 duplicate key error collection: db.c index: sku_1 dup key: { sku: "a" }`)
	// $jsonSchema is valid MongoDB but not evaluated by mongosim: kept, not enforced.
	js := mustCreate(t, s, "db", "js", d("validator", dv(d("$jsonSchema", dv(d("required", arr(str("x"))))))))
	if err := js.Validate(d("_id", i32(1)), nil, false); err != nil {
		t.Fatalf("unsupported validator enforced: %v", err)
	}
	_, err = s.CreateCollection("db", "bad", d("validator", dv(d("$nope", i32(1)))))
	wantCode(t, err, mongoerr.BadValue, "")
}
