package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/clone"
)

func dec(t *testing.T, s string) bson.Decimal128 {
	t.Helper()
	d, err := bson.ParseDecimal128(s)
	mustExec(t, err)
	return d
}

// zooDocs returns documents holding every BSON type and the edge values
// that break naive copiers: NaN (with a non-canonical payload), ±Inf, -0.0,
// Decimal128 specials, every binary subtype, deprecated types, $-prefixed
// and dotted field names, deep and empty nesting.
func zooDocs(t *testing.T) []any {
	t.Helper()
	uuid := bytes.Repeat([]byte{0xab}, 16)
	binaries := bson.D{
		{Key: "generic", Value: bson.Binary{Subtype: 0x00, Data: []byte("generic\x00bytes")}},
		{Key: "function", Value: bson.Binary{Subtype: 0x01, Data: []byte("fn")}},
		{Key: "old", Value: bson.Binary{Subtype: 0x02, Data: []byte("old binary")}},
		{Key: "uuidOld", Value: bson.Binary{Subtype: 0x03, Data: uuid}},
		{Key: "uuid", Value: bson.Binary{Subtype: 0x04, Data: uuid}},
		{Key: "md5", Value: bson.Binary{Subtype: 0x05, Data: uuid}},
		{Key: "encrypted", Value: bson.Binary{Subtype: 0x06, Data: append([]byte{0x01}, uuid...)}},
		{Key: "column", Value: bson.Binary{Subtype: 0x07, Data: []byte{0x00}}},
		{Key: "sensitive", Value: bson.Binary{Subtype: 0x08, Data: []byte("secret")}},
		{Key: "vector", Value: bson.Binary{Subtype: 0x09, Data: []byte{0x03, 0x00, 1, 2, 3}}},
		{Key: "user", Value: bson.Binary{Subtype: 0x80, Data: []byte("user defined")}},
		{Key: "empty", Value: bson.Binary{Subtype: 0x00, Data: []byte{}}},
	}
	docs := []any{
		bson.D{
			{Key: "_id", Value: "scalars"},
			{Key: "double", Value: 3.141592653589793},
			{Key: "negZero", Value: math.Copysign(0, -1)},
			{Key: "posInf", Value: math.Inf(1)},
			{Key: "negInf", Value: math.Inf(-1)},
			{Key: "nan", Value: math.NaN()},
			{Key: "maxFloat", Value: math.MaxFloat64},
			{Key: "tiny", Value: math.SmallestNonzeroFloat64},
			{Key: "int32", Value: int32(math.MinInt32)},
			{Key: "int64", Value: int64(math.MaxInt64)},
			{Key: "string", Value: "héllo wörld ✓ \x00 embedded NUL"},
			{Key: "emptyString", Value: ""},
			{Key: "bool", Value: true},
			{Key: "null", Value: nil},
			{Key: "date", Value: bson.DateTime(-62135596800000)},
			{Key: "dateMax", Value: bson.DateTime(math.MaxInt64)},
			{Key: "oid", Value: bson.ObjectID{0x65, 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0x8, 0x9, 0xa, 0xb}},
			{Key: "ts", Value: bson.Timestamp{T: 1700000000, I: 42}},
			{Key: "minKey", Value: bson.MinKey{}},
			{Key: "maxKey", Value: bson.MaxKey{}},
		},
		bson.D{
			{Key: "_id", Value: "decimals"},
			{Key: "d", Value: bson.A{
				dec(t, "0.1"), dec(t, "-0"), dec(t, "0E-6176"), dec(t, "NaN"), dec(t, "-NaN"), dec(t, "Infinity"), dec(t, "-Infinity"),
				dec(t, "9.999999999999999999999999999999999E+6144"), dec(t, "1.000000000000000000000000000000000"),
			}},
		},
		bson.D{{Key: "_id", Value: "binaries"}, {Key: "b", Value: binaries}},
		bson.D{
			{Key: "_id", Value: "deprecated"},
			{Key: "undefined", Value: bson.Undefined{}},
			{Key: "dbPointer", Value: bson.DBPointer{DB: "db.coll", Pointer: bson.ObjectID{1, 2, 3}}},
			{Key: "symbol", Value: bson.Symbol("sym")},
			{Key: "js", Value: bson.JavaScript("function () { return 1; }")},
			{Key: "jsScope", Value: bson.CodeWithScope{Code: "function () { return x; }", Scope: bson.D{{Key: "x", Value: 1}, {Key: "y", Value: bson.A{"z"}}}}},
			{Key: "regex", Value: bson.Regex{Pattern: "^a.*b$", Options: "imsx"}},
			{Key: "regexEmpty", Value: bson.Regex{Pattern: "", Options: ""}},
		},
		bson.D{
			{Key: "_id", Value: "names"},
			{Key: "$dollar", Value: 1},
			{Key: "dotted.name", Value: 2},
			{Key: "$id", Value: "not a DBRef"},
			{Key: "nested", Value: bson.D{{Key: "$inc", Value: true}, {Key: "a.b", Value: bson.D{{Key: "$ref", Value: "x"}}}}},
			{Key: "z", Value: 1}, {Key: "a", Value: 2}, // order is content
		},
		bson.D{
			{Key: "_id", Value: "nesting"},
			{Key: "arrays", Value: bson.A{bson.A{1, bson.A{2, bson.A{3, bson.A{}}}}, bson.A{}, bson.A{bson.D{}}, bson.A{nil, bson.Undefined{}}}},
			{Key: "emptyDoc", Value: bson.D{}},
			{Key: "deep", Value: deepDoc(90)},
			{Key: "zeroTSNested", Value: bson.D{{Key: "ts", Value: bson.Timestamp{}}}},
		},
	}
	// A NaN with a payload and a signalling bit, built by hand: the bytes
	// must survive, not just "a NaN".
	nan := bsoncore.NewDocumentBuilder().
		AppendString("_id", "nanPayload").
		AppendDouble("nan1", math.Float64frombits(0x7ff0000000000001)).
		AppendDouble("nan2", math.Float64frombits(0xfff8000000000abc)).
		Build()
	return append(docs, bson.Raw(nan))
}

func deepDoc(depth int) bson.D {
	d := bson.D{{Key: "leaf", Value: "bottom"}}
	for i := 0; i < depth; i++ {
		d = bson.D{{Key: fmt.Sprintf("l%d", i), Value: d}}
	}
	return d
}

// mixedIDDocs returns n documents whose _ids cover every type MongoDB
// accepts as _id, MinKey and MaxKey included.
func mixedIDDocs(t *testing.T, n int) []any {
	t.Helper()
	docs := []any{
		bson.D{{Key: "_id", Value: bson.MinKey{}}, {Key: "k", Value: "min"}},
		bson.D{{Key: "_id", Value: bson.MaxKey{}}, {Key: "k", Value: "max"}},
		bson.D{{Key: "_id", Value: nil}, {Key: "k", Value: "null"}},
		bson.D{{Key: "_id", Value: true}, {Key: "k", Value: "true"}},
		bson.D{{Key: "_id", Value: false}, {Key: "k", Value: "false"}},
		bson.D{{Key: "_id", Value: dec(t, "-Infinity")}, {Key: "k", Value: "-inf"}},
		bson.D{{Key: "_id", Value: bson.JavaScript("code")}, {Key: "k", Value: "js"}},
	}
	for i := 0; len(docs) < n; i++ {
		var id any
		switch i % 10 {
		case 0:
			id = int32(i)
		case 1:
			id = int64(i) << 33
		case 2:
			id = float64(i) + 0.25
		case 3:
			id = dec(t, fmt.Sprintf("%d.75", i))
		case 4:
			id = fmt.Sprintf("str%06d", i)
		case 5:
			id = bson.D{{Key: "a", Value: i}, {Key: "b", Value: bson.A{i, "x"}}}
		case 6:
			id = bson.Binary{Subtype: byte([]int{0, 4, 5, 0x80}[i%4]), Data: []byte(fmt.Sprintf("%016d", i))}
		case 7:
			var oid bson.ObjectID
			copy(oid[:], fmt.Sprintf("%012d", i))
			id = oid
		case 8:
			id = bson.DateTime(int64(i) * 1000)
		case 9:
			id = bson.Timestamp{T: uint32(i), I: 1}
		}
		docs = append(docs, bson.D{{Key: "_id", Value: id}, {Key: "i", Value: i}, {Key: "pad", Value: "0123456789abcdef0123456789abcdef"}})
	}
	return docs
}

// bigDoc returns a document of exactly size bytes.
func bigDoc(id string, size int) bson.Raw {
	// _id element + "blob" binary element header + document framing.
	overhead := 4 + (1 + 4 + 4 + len(id) + 1) + (1 + 5 + 4 + 1) + 1
	blob := bytes.Repeat([]byte{0x5a}, size-overhead)
	return bson.Raw(bsoncore.NewDocumentBuilder().AppendString("_id", id).AppendBinary("blob", 0, blob).Build())
}

// naturalOrder returns the raw documents of a collection in natural order.
func naturalOrder(t *testing.T, coll *driver.Collection) []bson.Raw {
	t.Helper()
	cur, err := coll.Find(context.Background(), bson.D{}, options.Find().SetHint(bson.D{{Key: "$natural", Value: 1}}))
	mustExec(t, err)
	var out []bson.Raw
	for cur.Next(context.Background()) {
		out = append(out, append(bson.Raw(nil), cur.Current...))
	}
	mustExec(t, cur.Err())
	return out
}

// TestCloneZoo clones every kind of data and catalog entry the issue lists
// and checks the result with the verifier and the independent comparison.
func TestCloneZoo(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	data := e.Src.Database(e.DB("data"))
	_, err := data.Collection("zoo").InsertMany(ctx, zooDocs(t))
	mustExec(t, err)
	mustExec(t, data.CreateCollection(ctx, "empty"))
	_, err = data.Collection("mixed").InsertMany(ctx, mixedIDDocs(t, 3000))
	mustExec(t, err)
	// Two documents just under the 16 MiB limit, with small ones around them.
	const limit = 16 * 1024 * 1024
	big := data.Collection("big")
	_, err = big.InsertMany(ctx, []any{bson.D{{Key: "_id", Value: "a"}}, bigDoc("b1", limit-1024), bson.D{{Key: "_id", Value: "b2"}}})
	mustExec(t, err)
	_, err = big.InsertOne(ctx, bigDoc("b3", limit-16))
	mustExec(t, err)

	cat := e.Src.Database(e.DB("catalog"))
	mustExec(t, cat.CreateCollection(ctx, "capped", options.CreateCollection().SetCapped(true).SetSizeInBytes(64<<10).SetMaxDocuments(100)))
	mustExec(t, cat.CreateCollection(ctx, "cappedBySize", options.CreateCollection().SetCapped(true).SetSizeInBytes(8192)))
	for i := 0; i < 300; i++ { // both roll over; _ids run against natural order
		_, err := cat.Collection("capped").InsertOne(ctx, bson.D{{Key: "_id", Value: 1000 - i}, {Key: "i", Value: i}})
		mustExec(t, err)
		_, err = cat.Collection("cappedBySize").InsertOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("k%03d", 500-i)}, {Key: "pad", Value: "0123456789012345678901234567890123456789"}})
		mustExec(t, err)
	}
	mustExec(t, cat.CreateCollection(ctx, "validated", options.CreateCollection().
		SetValidator(bson.D{{Key: "$jsonSchema", Value: bson.D{{Key: "bsonType", Value: "object"}, {Key: "required", Value: bson.A{"n"}}}}}).
		SetValidationLevel("strict").SetValidationAction("error")))
	mustExec(t, cat.CreateCollection(ctx, "collated", options.CreateCollection().SetCollation(&options.Collation{Locale: "de", Strength: 1, CaseLevel: true})))
	mustExec(t, cat.CreateCollection(ctx, "images", options.CreateCollection().SetChangeStreamPreAndPostImages(bson.D{{Key: "enabled", Value: true}})))
	mustExec(t, cat.CreateCollection(ctx, "clustered", options.CreateCollection().
		SetClusteredIndex(bson.D{{Key: "key", Value: bson.D{{Key: "_id", Value: 1}}}, {Key: "unique", Value: true}, {Key: "name", Value: "by_id"}}).
		SetExpireAfterSeconds(86400)))
	_, err = cat.Collection("clustered").InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: 3}, {Key: "at", Value: bson.DateTime(time.Now().UnixMilli())}},
		bson.D{{Key: "_id", Value: 1}, {Key: "at", Value: bson.DateTime(time.Now().UnixMilli())}},
	})
	mustExec(t, err)
	_, err = cat.Collection("validated").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "n", Value: 1}})
	mustExec(t, err)
	_, err = cat.Collection("collated").InsertMany(ctx, []any{bson.D{{Key: "_id", Value: "Äpfel"}}, bson.D{{Key: "_id", Value: "Birne"}}})
	mustExec(t, err)
	pipeline := bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "n", Value: bson.D{{Key: "$gt", Value: 0}}}}}}}
	mustExec(t, cat.CreateView(ctx, "view", "validated", pipeline))
	mustExec(t, cat.CreateView(ctx, "viewOfView", "view", bson.A{bson.D{{Key: "$project", Value: bson.D{{Key: "n", Value: 1}}}}},
		options.CreateView().SetCollation(&options.Collation{Locale: "fr"})))

	idx := cat.Collection("indexed")
	_, err = idx.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: 1}, {Key: "tags", Value: bson.A{"x", "y"}}})
	mustExec(t, err)
	_, err = idx.Indexes().CreateMany(ctx, []mongoIndex{
		{Keys: bson.D{{Key: "a", Value: 1}}},
		{Keys: bson.D{{Key: "a", Value: -1}, {Key: "b", Value: 1}}, Options: options.Index().SetName("compound")},
		{Keys: bson.D{{Key: "tags", Value: 1}}},
		{Keys: bson.D{{Key: "u", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)},
		{Keys: bson.D{{Key: "title", Value: "text"}, {Key: "body", Value: "text"}}, Options: options.Index().
			SetWeights(bson.D{{Key: "title", Value: 10}}).SetDefaultLanguage("spanish").SetLanguageOverride("idioma")},
		{Keys: bson.D{{Key: "pt", Value: "2d"}}, Options: options.Index().SetBits(20).SetMin(-500).SetMax(500)},
		{Keys: bson.D{{Key: "geo", Value: "2dsphere"}}, Options: options.Index().SetSphereVersion(3)},
		{Keys: bson.D{{Key: "h", Value: "hashed"}}},
		{Keys: bson.D{{Key: "$**", Value: 1}}, Options: options.Index().SetWildcardProjection(bson.D{{Key: "secret", Value: 0}})},
		{Keys: bson.D{{Key: "attrs.$**", Value: 1}}},
		{Keys: bson.D{{Key: "p", Value: 1}}, Options: options.Index().SetPartialFilterExpression(bson.D{{Key: "a", Value: bson.D{{Key: "$gt", Value: 0}}}})},
		{Keys: bson.D{{Key: "t", Value: 1}}, Options: options.Index().SetExpireAfterSeconds(3600)},
		{Keys: bson.D{{Key: "hid", Value: 1}}, Options: options.Index().SetHidden(true)},
		{Keys: bson.D{{Key: "ci", Value: 1}}, Options: options.Index().SetCollation(&options.Collation{Locale: "en", Strength: 2})},
		{Keys: bson.D{{Key: "uniq", Value: 1}, {Key: "a", Value: 1}}, Options: options.Index().SetUnique(true).SetName("uniq_compound")},
	})
	mustExec(t, err)
	_, err = cat.Collection("clustered").Indexes().CreateOne(ctx, mongoIndex{Keys: bson.D{{Key: "at", Value: 1}}})
	mustExec(t, err)
	for d := 0; d < 5; d++ { // more databases, one collection each
		_, err := e.Src.Database(e.DB(fmt.Sprintf("extra%d", d))).Collection("c").InsertOne(ctx, bson.D{{Key: "_id", Value: d}})
		mustExec(t, err)
	}

	cl := e.runClone(t, clone.Options{PartitionBytes: 16 << 10, Readers: 3, BatchDocs: 100})
	if u := cl.Unsupported(); len(u) != 0 {
		t.Errorf("unsupported: %v", u)
	}
	if f := cl.IndexFailures(); len(f) != 0 {
		t.Errorf("index failures: %v", f)
	}
	mixedNS := e.NS("data", "mixed")
	for _, c := range cl.Progress().Collections {
		if c.Namespace == mixedNS && c.Partitions < 4 {
			t.Errorf("%s was copied in %d partitions; the test wants it split (PartitionBytes is small)", mixedNS, c.Partitions)
		}
	}
	// Before finalize the target holds relaxed unique/TTL indexes: the
	// verifier accepts them as in progress.
	e.verifyClone(t, nil, true)
	restoreForCompare(t, e)
	e.verifyClone(t, nil, false)
	e.AssertSameData(t)
	for _, name := range []string{"capped", "cappedBySize"} {
		src, dst := naturalOrder(t, cat.Collection(name)), naturalOrder(t, e.DstColl("catalog", name))
		if len(src) == 0 || len(src) != len(dst) {
			t.Fatalf("%s: %d documents on the source, %d on the target", name, len(src), len(dst))
		}
		for i := range src {
			if !bytes.Equal(src[i], dst[i]) {
				t.Errorf("%s: natural order differs at %d: source %s, target %s", name, i, src[i], dst[i])
				break
			}
		}
	}
}
