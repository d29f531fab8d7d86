package conformance

import (
	"bytes"
	"reflect"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Catalog command conformance: listDatabases, listCollections, create, drop,
// dropDatabase, renameCollection, collMod. Index commands and statistics
// are in catalog_index_test.go and catalog_stats_test.go.

// majorVersion is the server's major version from buildInfo.
func majorVersion(t *testing.T) int32 {
	t.Helper()
	r := runCmd(t, suite.client.Database("admin"), bson.D{{Key: "buildInfo", Value: 1}})
	arr, _ := lookup(t, r, "versionArray").Array().Values()
	return arr[0].Int32()
}

// wantKeys asserts a document's field names, in order.
func wantKeys(t *testing.T, what string, d bson.Raw, want ...string) {
	t.Helper()
	if got := keys(t, d); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s fields %v, want %v (%s)", what, got, want, d)
	}
}

// replyBody drops the fields every reply ends with (ok, $clusterTime,
// operationTime) and returns the remaining field names.
func replyFields(t *testing.T, r bson.Raw) []string {
	t.Helper()
	var out []string
	for _, k := range keys(t, r) {
		if k != "$clusterTime" && k != "operationTime" {
			out = append(out, k)
		}
	}
	return out
}

func wantReplyFields(t *testing.T, what string, r bson.Raw, want ...string) {
	t.Helper()
	if got := replyFields(t, r); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s reply fields %v, want %v (%s)", what, got, want, r)
	}
}

// collInfo returns the listCollections entry for name (nil if absent).
func collInfo(t *testing.T, db *mongo.Database, name string) bson.Raw {
	t.Helper()
	cur, err := db.ListCollections(ctxT(t), bson.D{{Key: "name", Value: name}})
	if err != nil {
		t.Fatal(err)
	}
	var out []bson.Raw
	for cur.Next(ctxT(t)) {
		out = append(out, append(bson.Raw(nil), cur.Current...))
	}
	if len(out) == 0 {
		return nil
	}
	return out[0]
}

func docRaw(t *testing.T, v any) bson.Raw { return mustMarshal(t, v) }

func wantRaw(t *testing.T, what string, got bson.RawValue, want bson.Raw) {
	t.Helper()
	if !bytes.Equal(got.Value, want) {
		t.Fatalf("%s = %s, want %s", what, got, want)
	}
}

func TestCatalogListDatabases(t *testing.T) {
	db := newDB(t)
	insertDocs(t, db.Collection("c"), bson.D{{Key: "x", Value: 1}})
	admin := suite.client.Database("admin")
	r := runCmd(t, admin, bson.D{{Key: "listDatabases", Value: 1}})
	wantReplyFields(t, "listDatabases", r, "databases", "totalSize", "totalSizeMb", "ok")
	if lookup(t, r, "totalSize").Type != bson.TypeInt64 || lookup(t, r, "totalSizeMb").Type != bson.TypeInt64 {
		t.Fatalf("totalSize types: %s", r)
	}
	vals, _ := lookup(t, r, "databases").Array().Values()
	names := map[string]bool{}
	for _, v := range vals {
		e := v.Document()
		wantKeys(t, "database entry", e, "name", "sizeOnDisk", "empty")
		if lookup(t, e, "sizeOnDisk").Type != bson.TypeInt64 || lookup(t, e, "empty").Type != bson.TypeBoolean {
			t.Fatalf("entry types %s", e)
		}
		names[lookup(t, e, "name").StringValue()] = true
	}
	for _, n := range []string{"admin", "config", "local", db.Name()} {
		if !names[n] {
			t.Fatalf("listDatabases misses %q: %v", n, names)
		}
	}
	r = runCmd(t, admin, bson.D{{Key: "listDatabases", Value: 1}, {Key: "nameOnly", Value: true},
		{Key: "filter", Value: bson.D{{Key: "name", Value: db.Name()}}}})
	wantReplyFields(t, "nameOnly", r, "databases", "ok")
	vals, _ = lookup(t, r, "databases").Array().Values()
	if len(vals) != 1 {
		t.Fatalf("filtered listDatabases: %s", r)
	}
	wantKeys(t, "nameOnly entry", vals[0].Document(), "name")
	names2, err := suite.client.ListDatabaseNames(ctxT(t), bson.D{{Key: "name", Value: db.Name()}})
	if err != nil || !reflect.DeepEqual(names2, []string{db.Name()}) {
		t.Fatalf("ListDatabaseNames = %v, %v", names2, err)
	}
	wantCode(t, cmdErr(t, db, bson.D{{Key: "listDatabases", Value: 1}}), 13)
}

func TestCatalogListCollectionsShapes(t *testing.T) {
	db := newDB(t)
	ctx := ctxT(t)
	if err := db.CreateCollection(ctx, "plain"); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateCollection(ctx, "cap", options.CreateCollection().SetCapped(true).SetSizeInBytes(8192).SetMaxDocuments(10)); err != nil {
		t.Fatal(err)
	}
	pipeline := bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "a", Value: 1}}}}}
	if err := db.CreateView(ctx, "v", "plain", pipeline); err != nil {
		t.Fatal(err)
	}
	plain := collInfo(t, db, "plain")
	wantKeys(t, "collection entry", plain, "name", "type", "options", "info", "idIndex")
	if lookup(t, plain, "type").StringValue() != "collection" || len(lookup(t, plain, "options").Document()) != 5 {
		t.Fatalf("plain entry %s", plain)
	}
	info := lookup(t, plain, "info").Document()
	wantKeys(t, "info", info, "readOnly", "uuid")
	if st, data := lookup(t, info, "uuid").Binary(); st != 4 || len(data) != 16 || lookup(t, info, "readOnly").Boolean() {
		t.Fatalf("info %s", info)
	}
	wantRaw(t, "idIndex", lookup(t, plain, "idIndex"), docRaw(t, bson.D{{Key: "v", Value: int32(2)},
		{Key: "key", Value: bson.D{{Key: "_id", Value: int32(1)}}}, {Key: "name", Value: "_id_"}}))

	capped := collInfo(t, db, "cap")
	opts := lookup(t, capped, "options").Document()
	wantKeys(t, "capped options", opts, "capped", "size", "max")
	if !lookup(t, opts, "capped").Boolean() || lookup(t, opts, "size").AsInt64() != 8192 || lookup(t, opts, "max").AsInt64() != 10 {
		t.Fatalf("capped options %s", opts)
	}

	view := collInfo(t, db, "v")
	wantKeys(t, "view entry", view, "name", "type", "options", "info")
	wantRaw(t, "view options", lookup(t, view, "options"), docRaw(t, bson.D{{Key: "viewOn", Value: "plain"}, {Key: "pipeline", Value: pipeline}}))
	wantRaw(t, "view info", lookup(t, view, "info"), docRaw(t, bson.D{{Key: "readOnly", Value: true}}))

	// Raw command: cursor shape, nameOnly, type filter.
	r := runCmd(t, db, bson.D{{Key: "listCollections", Value: 1}, {Key: "nameOnly", Value: true},
		{Key: "filter", Value: bson.D{{Key: "type", Value: "view"}}}})
	cur := lookup(t, r, "cursor").Document()
	wantKeys(t, "cursor", cur, "id", "ns", "firstBatch")
	if lookup(t, cur, "ns").StringValue() != db.Name()+".$cmd.listCollections" || lookup(t, cur, "id").Int64() != 0 {
		t.Fatalf("cursor %s", cur)
	}
	batch, _ := lookup(t, cur, "firstBatch").Array().Values()
	if len(batch) != 1 {
		t.Fatalf("view filter returned %d entries: %s", len(batch), cur)
	}
	wantRaw(t, "nameOnly entry", batch[0], docRaw(t, bson.D{{Key: "name", Value: "v"}, {Key: "type", Value: "view"}}))

	// Small batches continue with getMore.
	names, err := db.ListCollectionNames(ctx, bson.D{{Key: "name", Value: bson.D{{Key: "$in", Value: bson.A{"plain", "cap", "v"}}}}},
		options.ListCollections().SetBatchSize(1))
	if err != nil || len(names) != 3 {
		t.Fatalf("ListCollectionNames with batchSize 1: %v %v", names, err)
	}
}

func TestCatalogCreate(t *testing.T) {
	db := newDB(t)
	runCmd(t, db, bson.D{{Key: "create", Value: "c"}, {Key: "validator", Value: bson.D{{Key: "a", Value: bson.D{{Key: "$exists", Value: true}}}}},
		{Key: "validationAction", Value: "warn"}})
	opts := lookup(t, collInfo(t, db, "c"), "options").Document()
	wantRaw(t, "options", bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: opts}, docRaw(t, bson.D{
		{Key: "validator", Value: bson.D{{Key: "a", Value: bson.D{{Key: "$exists", Value: true}}}}},
		{Key: "validationAction", Value: "warn"}}))
	err := cmdErr(t, db, bson.D{{Key: "create", Value: "c"}})
	wantCode(t, err, 48)
	if majorVersion(t) >= 7 {
		// 7.0+: the same options again is a no-op success.
		runCmd(t, db, bson.D{{Key: "create", Value: "c"}, {Key: "validator", Value: bson.D{{Key: "a", Value: bson.D{{Key: "$exists", Value: true}}}}},
			{Key: "validationAction", Value: "warn"}})
	}
	wantCode(t, cmdErr(t, db, bson.D{{Key: "create", Value: "x"}, {Key: "capped", Value: true}}), 72)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "create", Value: "x"}, {Key: "notAnOption", Value: 1}}), 40415)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "create", Value: "x"}, {Key: "validationLevel", Value: "sometimes"}}), 2)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "create", Value: "system.nope"}}), 73)
	r := runCmd(t, db, bson.D{{Key: "create", Value: "cl"}, {Key: "clusteredIndex", Value: bson.D{
		{Key: "key", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "unique", Value: true}}}})
	wantReplyFields(t, "create", r, "ok")
	cl := collInfo(t, db, "cl")
	wantKeys(t, "clustered entry", cl, "name", "type", "options", "info")
	wantRaw(t, "clusteredIndex", lookup(t, cl, "options", "clusteredIndex"), docRaw(t, bson.D{{Key: "v", Value: int32(2)},
		{Key: "key", Value: bson.D{{Key: "_id", Value: int32(1)}}}, {Key: "name", Value: "_id_"}, {Key: "unique", Value: true}}))
}

func TestCatalogDrop(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, bson.D{{Key: "a", Value: 1}})
	if _, err := coll.Indexes().CreateOne(ctxT(t), mongo.IndexModel{Keys: bson.D{{Key: "a", Value: 1}}}); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, db, bson.D{{Key: "drop", Value: "c"}})
	wantReplyFields(t, "drop", r, "nIndexesWas", "ns", "ok")
	if lookup(t, r, "nIndexesWas").Int32() != 2 || lookup(t, r, "ns").StringValue() != db.Name()+".c" {
		t.Fatalf("drop reply %s", r)
	}
	if collInfo(t, db, "c") != nil {
		t.Fatal("collection still listed after drop")
	}
	if majorVersion(t) >= 7 {
		runCmd(t, db, bson.D{{Key: "drop", Value: "c"}})
	} else {
		wantCode(t, cmdErr(t, db, bson.D{{Key: "drop", Value: "c"}}), 26)
	}
	// The driver's Drop ignores a missing namespace on every version.
	if err := coll.Drop(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func TestCatalogDropDatabase(t *testing.T) {
	db := suite.client.Database("mongosim_catalog_dropdb")
	insertDocs(t, db.Collection("c"), bson.D{{Key: "a", Value: 1}})
	r := runCmd(t, db, bson.D{{Key: "dropDatabase", Value: 1}})
	wantReplyFields(t, "dropDatabase", r, "dropped", "ok")
	if lookup(t, r, "dropped").StringValue() != db.Name() {
		t.Fatalf("dropDatabase reply %s", r)
	}
	names, err := suite.client.ListDatabaseNames(ctxT(t), bson.D{{Key: "name", Value: db.Name()}})
	if err != nil || len(names) != 0 {
		t.Fatalf("database still listed: %v %v", names, err)
	}
	wantCode(t, cmdErr(t, suite.client.Database("admin"), bson.D{{Key: "dropDatabase", Value: 1}}), 20)
}

func uuidOf(t *testing.T, db *mongo.Database, name string) []byte {
	t.Helper()
	e := collInfo(t, db, name)
	if e == nil {
		t.Fatalf("%s.%s not listed", db.Name(), name)
	}
	_, data := lookup(t, e, "info", "uuid").Binary()
	return data
}

func TestCatalogRenameCollection(t *testing.T) {
	db := newDB(t)
	other := newDB(t)
	admin := suite.client.Database("admin")
	insertDocs(t, db.Collection("a"), bson.D{{Key: "_id", Value: 1}})
	uuid := uuidOf(t, db, "a")
	r := runCmd(t, admin, bson.D{{Key: "renameCollection", Value: db.Name() + ".a"}, {Key: "to", Value: db.Name() + ".b"}})
	wantReplyFields(t, "renameCollection", r, "ok")
	if !bytes.Equal(uuidOf(t, db, "b"), uuid) {
		t.Fatal("same-database rename changed the UUID")
	}
	if docs := findAll(t, db.Collection("b"), bson.D{}); len(docs) != 1 {
		t.Fatalf("renamed collection holds %d documents", len(docs))
	}
	insertDocs(t, db.Collection("c"), bson.D{{Key: "_id", Value: 2}})
	wantCode(t, cmdErr(t, admin, bson.D{{Key: "renameCollection", Value: db.Name() + ".b"}, {Key: "to", Value: db.Name() + ".c"}}), 48)
	wantCode(t, cmdErr(t, admin, bson.D{{Key: "renameCollection", Value: db.Name() + ".zz"}, {Key: "to", Value: db.Name() + ".y"}}), 26)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "renameCollection", Value: db.Name() + ".b"}, {Key: "to", Value: db.Name() + ".y"}}), 13)
	runCmd(t, admin, bson.D{{Key: "renameCollection", Value: db.Name() + ".b"}, {Key: "to", Value: db.Name() + ".c"}, {Key: "dropTarget", Value: true}})
	var doc bson.Raw
	if err := db.Collection("c").FindOne(ctxT(t), bson.D{}).Decode(&doc); err != nil || lookup(t, doc, "_id").AsInt64() != 1 {
		t.Fatalf("dropTarget rename kept the old target: %s %v", doc, err)
	}
	runCmd(t, admin, bson.D{{Key: "renameCollection", Value: db.Name() + ".c"}, {Key: "to", Value: other.Name() + ".moved"}})
	if bytes.Equal(uuidOf(t, other, "moved"), uuid) {
		t.Fatal("cross-database rename must assign a new UUID")
	}
}

func TestCatalogCollMod(t *testing.T) {
	db := newDB(t)
	coll := db.Collection("c")
	insertDocs(t, coll, bson.D{{Key: "a", Value: 1}})
	if _, err := coll.Indexes().CreateOne(ctxT(t), mongo.IndexModel{Keys: bson.D{{Key: "a", Value: 1}}}); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, db, bson.D{{Key: "collMod", Value: "c"}, {Key: "index", Value: bson.D{{Key: "name", Value: "a_1"}, {Key: "hidden", Value: true}}}})
	wantReplyFields(t, "collMod hidden", r, "hidden_old", "hidden_new", "ok")
	if lookup(t, r, "hidden_old").Boolean() || !lookup(t, r, "hidden_new").Boolean() {
		t.Fatalf("collMod reply %s", r)
	}
	runCmd(t, db, bson.D{{Key: "collMod", Value: "c"}, {Key: "validator", Value: bson.D{{Key: "a", Value: bson.D{{Key: "$gte", Value: 0}}}}},
		{Key: "validationLevel", Value: "moderate"}})
	opts := lookup(t, collInfo(t, db, "c"), "options").Document()
	wantRaw(t, "options after collMod", bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: opts}, docRaw(t, bson.D{
		{Key: "validator", Value: bson.D{{Key: "a", Value: bson.D{{Key: "$gte", Value: 0}}}}},
		{Key: "validationLevel", Value: "moderate"}}))
	wantCode(t, cmdErr(t, db, bson.D{{Key: "collMod", Value: "nope"}, {Key: "validationLevel", Value: "off"}}), 26)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "collMod", Value: "c"}, {Key: "index", Value: bson.D{{Key: "name", Value: "zz"}, {Key: "hidden", Value: true}}}}), 27)
}

func TestCatalogTimeseriesListing(t *testing.T) {
	db := newDB(t)
	runCmd(t, db, bson.D{{Key: "create", Value: "weather"}, {Key: "timeseries", Value: bson.D{
		{Key: "timeField", Value: "ts"}, {Key: "metaField", Value: "md"}, {Key: "granularity", Value: "hours"}}}})
	e := collInfo(t, db, "weather")
	wantKeys(t, "timeseries entry", e, "name", "type", "options", "info")
	if lookup(t, e, "type").StringValue() != "timeseries" || lookup(t, e, "info", "readOnly").Boolean() {
		t.Fatalf("timeseries entry %s", e)
	}
	wantRaw(t, "timeseries options", lookup(t, e, "options", "timeseries"), docRaw(t, bson.D{
		{Key: "timeField", Value: "ts"}, {Key: "metaField", Value: "md"}, {Key: "granularity", Value: "hours"},
		{Key: "bucketMaxSpanSeconds", Value: int32(2592000)}}))
	specs, err := db.Collection("weather").Indexes().ListSpecifications(ctxT(t))
	if err != nil || len(specs) != 1 || specs[0].Name != "md_1_ts_1" {
		t.Fatalf("timeseries indexes %v %v", specs, err)
	}
	if collInfo(t, db, "system.buckets.weather") == nil {
		t.Fatal("system.buckets.weather not listed")
	}
	wantCode(t, cmdErr(t, db, bson.D{{Key: "create", Value: "bad"}, {Key: "timeseries", Value: bson.D{{Key: "metaField", Value: "m"}}}}), 40414)
}
