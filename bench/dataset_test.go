package bench

import (
	"bytes"
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/simtest"
)

func TestAppendDocShapeSizeAndDeterminism(t *testing.T) {
	wantKeys := []string{"_id", "name", "email", "createdAt", "score", "visits", "active", "balance", "tags", "address", "items", "notes"}
	for _, size := range []int{600, 1024, 4096} {
		for _, i := range []int64{0, 1, 77, 123456} {
			doc := AppendDoc(nil, 3, i, size)
			if err := bsoncore.Document(doc).Validate(); err != nil {
				t.Fatalf("size %d doc %d: invalid BSON: %v", size, i, err)
			}
			if len(doc) < size-size/8 || len(doc) > size+size/8 {
				t.Fatalf("size %d doc %d: %d bytes, want within ±12.5%%", size, i, len(doc))
			}
			elems, err := bsoncore.Document(doc).Elements()
			if err != nil {
				t.Fatal(err)
			}
			if len(elems) != len(wantKeys) {
				t.Fatalf("doc has %d fields, want %d", len(elems), len(wantKeys))
			}
			for k, e := range elems {
				if e.Key() != wantKeys[k] {
					t.Fatalf("field %d is %q, want %q", k, e.Key(), wantKeys[k])
				}
			}
			if id, ok := bsoncore.Document(doc).Lookup("_id").Int64OK(); !ok || id != i {
				t.Fatalf("_id = %v, want int64 %d", bsoncore.Document(doc).Lookup("_id"), i)
			}
			if again := AppendDoc([]byte("prefix"), 3, i, size); !bytes.Equal(again[6:], doc) {
				t.Fatalf("doc %d not deterministic or not appended after the prefix", i)
			}
			if bytes.Equal(AppendDoc(nil, 4, i, size), doc) {
				t.Fatalf("collections 3 and 4 generate the same document %d", i)
			}
		}
	}
}

func TestAppendDocBelowItsFixedFieldsHasEmptyNotes(t *testing.T) {
	doc := bsoncore.Document(AppendDoc(nil, 0, 5, 10))
	if err := doc.Validate(); err != nil {
		t.Fatal(err)
	}
	if s, ok := doc.Lookup("notes").StringValueOK(); !ok || s != "" {
		t.Fatalf("notes = %v, want an empty string", doc.Lookup("notes"))
	}
}

func TestPerCollSpreadsTheRemainder(t *testing.T) {
	d := Dataset{Colls: 4, Docs: 10}
	got := []int64{d.PerColl(0), d.PerColl(1), d.PerColl(2), d.PerColl(3)}
	want := []int64{3, 3, 2, 2}
	for k := range want {
		if got[k] != want[k] {
			t.Fatalf("PerColl = %v, want %v", got, want)
		}
	}
}

func TestLoadFingerprintAndDiff(t *testing.T) {
	ctx := context.Background()
	c := simtest.Client(t, simtest.Start(t).URI())
	d := Dataset{DB: "load", Colls: 3, Docs: 2500, DocBytes: 300}
	n, err := d.Load(ctx, c, 3, 400)
	if err != nil {
		t.Fatal(err)
	}
	var wantBytes int64
	for k := range d.Colls {
		for i := range d.PerColl(k) {
			wantBytes += int64(len(d.Doc(k, i)))
		}
	}
	if n != wantBytes {
		t.Fatalf("Load reported %d bytes, generated %d", n, wantBytes)
	}
	fp, err := TakeFingerprint(ctx, c, d.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(fp) != 3 || fp[0].Name != "c0" || fp[0].Count != 834 || fp[1].Count != 833 || fp[2].Count != 833 || fp.Total() != 2500 {
		t.Fatalf("fingerprint %+v", fp)
	}
	// Documents are stored exactly as generated.
	got, err := c.Database(d.DB).Collection("c1").FindOne(ctx, bson.D{{Key: "_id", Value: int64(500)}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, d.Doc(1, 500)) {
		t.Fatal("stored document differs from the generated one")
	}
	same, err := TakeFingerprint(ctx, c, d.DB)
	if err != nil {
		t.Fatal(err)
	}
	if diff := fp.Diff(same); diff != "" {
		t.Fatalf("fingerprint of unchanged data differs: %s", diff)
	}
	if _, err := c.Database(d.DB).Collection("c1").UpdateOne(ctx, bson.D{{Key: "_id", Value: int64(7)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "visits", Value: int32(-1)}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Database(d.DB).Collection("c2").DeleteOne(ctx, bson.D{{Key: "_id", Value: int64(9)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Database(d.DB).Collection("extra").InsertOne(ctx, bson.D{{Key: "x", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	changed, err := TakeFingerprint(ctx, c, d.DB)
	if err != nil {
		t.Fatal(err)
	}
	want := "[c1: same count, different content c2: 832 documents, want 833 extra: unexpected collection]"
	if diff := fp.Diff(changed); diff != want {
		t.Fatalf("diff = %q, want %q", diff, want)
	}
	if diff := changed.Diff(fp); diff != "[c1: same count, different content c2: 833 documents, want 832 extra: missing]" {
		t.Fatalf("reverse diff = %q", diff)
	}
}

func TestDropUserDatabasesKeepsSystemOnes(t *testing.T) {
	ctx := context.Background()
	c := simtest.Client(t, simtest.Start(t).URI())
	for _, db := range []string{"one", "two"} {
		if _, err := c.Database(db).Collection("x").InsertOne(ctx, bson.D{{Key: "a", Value: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := DropUserDatabases(ctx, c); err != nil {
		t.Fatal(err)
	}
	names, err := c.ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n != "admin" && n != "config" && n != "local" {
			t.Fatalf("database %q left after DropUserDatabases (all: %v)", n, names)
		}
	}
}
