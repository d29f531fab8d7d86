package store

import (
	"bytes"
	"testing"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// docs returns a collection's documents in _id order.
func docsOf(c *Collection) []bsoncore.Document {
	var out []bsoncore.Document
	c.ScanID(false, nil, func(r Record) bool {
		out = append(out, r.Doc)
		return true
	})
	return out
}

func TestCloneIsIndependentBothWays(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", nil)
	mustIndex(t, c, idx(d("u", i32(1)), "u_1", "unique", bsonkit.Bool(true)))
	for i := int32(1); i <= 100; i++ {
		mustInsert(t, c, d("_id", i32(i), "u", i32(i)))
	}
	snap := s.Clone()
	sc := snap.Collection("db", "c")

	// Writes to the snapshot: update (shared record), insert, delete.
	rid, _, _ := sc.FindByID(i32(5))
	if _, err := sc.Replace(rid, d("_id", i32(5), "u", i32(500))); err != nil {
		t.Fatal(err)
	}
	mustInsert(t, sc, d("_id", i32(101), "u", i32(101)))
	rid7, _, _ := sc.FindByID(i32(7))
	sc.Delete(rid7)
	mustCreate(t, snap, "db", "fresh", nil)

	// The original is untouched: document bytes, count, unique index.
	if _, doc, _ := c.FindByID(i32(5)); !bytes.Equal(doc, d("_id", i32(5), "u", i32(5))) {
		t.Fatalf("original _id 5 changed: %s", doc)
	}
	if c.Count() != 100 || s.Collection("db", "fresh") != nil {
		t.Fatalf("original changed: %d documents, fresh %v", c.Count(), s.Collection("db", "fresh"))
	}
	if _, _, ok := c.FindByID(i32(7)); !ok {
		t.Fatal("delete in the snapshot reached the original")
	}
	// u: 500 is free in the original, taken in the snapshot.
	mustInsert(t, c, d("_id", i32(200), "u", i32(500)))
	_, _, err := sc.Insert(d("_id", i32(201), "u", i32(500)))
	wantCode(t, err, 11000, "")

	// Writes to the original do not reach the snapshot.
	rid9, _, _ := c.FindByID(i32(9))
	if _, err := c.Replace(rid9, d("_id", i32(9), "u", i32(900))); err != nil {
		t.Fatal(err)
	}
	if _, doc, _ := sc.FindByID(i32(9)); !bytes.Equal(doc, d("_id", i32(9), "u", i32(9))) {
		t.Fatalf("snapshot _id 9 changed: %s", doc)
	}
	if n := len(docsOf(sc)); n != 100 { // 100 - _id 7 + _id 101
		t.Fatalf("snapshot holds %d documents", n)
	}
	if sc.DataSize() == c.DataSize() {
		t.Fatal("data sizes should differ")
	}
}

func TestAdoptMovesACollectionCreatedInASnapshot(t *testing.T) {
	s := New()
	snap := s.Clone()
	c := mustCreate(t, snap, "db", "new", nil)
	mustInsert(t, c, d("_id", i32(1)))
	if !s.Adopt(c) {
		t.Fatal("adopt refused a free namespace")
	}
	got := s.Collection("db", "new")
	if got == nil || got.Count() != 1 || got.UUID != c.UUID {
		t.Fatalf("adopted collection: %+v", got)
	}
	// The adopted records are copied, not changed, when updated.
	rid, old, _ := got.FindByID(i32(1))
	if _, err := got.Replace(rid, d("_id", i32(1), "x", i32(1))); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, d("_id", i32(1))) {
		t.Fatalf("old bytes changed: %s", old)
	}
	if s.Adopt(c) {
		t.Fatal("adopt over an existing namespace")
	}
}

func TestPreAndPostImagesOption(t *testing.T) {
	s := New()
	on := mustCreate(t, s, "db", "on", d("changeStreamPreAndPostImages", dv(d("enabled", bsonkit.Bool(true)))))
	off := mustCreate(t, s, "db", "off", nil)
	if !on.PreAndPostImages() || off.PreAndPostImages() {
		t.Fatalf("PreAndPostImages: on %v, off %v", on.PreAndPostImages(), off.PreAndPostImages())
	}
	if _, err := s.CollMod("db", "on", d("changeStreamPreAndPostImages", dv(d("enabled", bsonkit.Bool(false))))); err != nil {
		t.Fatal(err)
	}
	if on.PreAndPostImages() {
		t.Fatal("collMod did not turn images off")
	}
}
