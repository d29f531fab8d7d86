package store

import (
	"bytes"
	"testing"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Insert places the record in the _id tree before checking unique
// secondary indexes; a unique-index failure must take it out again.
func TestInsertUniqueIndexFailureLeavesNoRecord(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", nil)
	mustIndex(t, c, idx(d("u", i32(1)), "u_1", "unique", bsonkit.Bool(true)))
	mustInsert(t, c, d("_id", i32(1), "u", i32(7)))
	_, _, err := c.Insert(d("_id", i32(2), "u", i32(7)))
	wantCode(t, err, mongoerr.DuplicateKey, "E11000 duplicate key error collection: db.c index: u_1 dup key: { u: 7 }")
	if _, _, ok := c.FindByID(i32(2)); ok {
		t.Fatal("_id 2 still findable after its insert failed")
	}
	if c.Count() != 1 || c.DataSize() != int64(len(d("_id", i32(1), "u", i32(7)))) {
		t.Fatalf("count %d, dataSize %d after failed insert", c.Count(), c.DataSize())
	}
	// The same _id goes in once the conflict is gone, with the next record id.
	rid := mustInsert(t, c, d("_id", i32(2), "u", i32(8)))
	if rid != 2 {
		t.Fatalf("record id %d, want 2 (failed inserts use none)", rid)
	}
	if got := ids(c, func(fn func(Record) bool) { c.ScanID(false, nil, fn) }); len(got) != 2 || got[0] != "1" || got[1] != "2" {
		t.Fatalf("_id scan = %v", got)
	}
}

// A duplicate _id leaves the stored record (its exact bytes and record id)
// in place, found by both scans.
func TestInsertDuplicateIDKeepsOriginalRecord(t *testing.T) {
	s := New()
	c := mustCreate(t, s, "db", "c", nil)
	orig := d("_id", bsonkit.Int64(5), "a", str("first"))
	mustInsert(t, c, orig)
	_, _, err := c.Insert(d("_id", i32(5), "a", str("second")))
	wantCode(t, err, mongoerr.DuplicateKey, "")
	var natural, byID []Record
	c.ScanNatural(false, nil, func(r Record) bool { natural = append(natural, r); return true })
	c.ScanID(false, nil, func(r Record) bool { byID = append(byID, r); return true })
	if len(natural) != 1 || len(byID) != 1 || natural[0].RID != 1 || byID[0].RID != 1 {
		t.Fatalf("records after duplicate: natural %v, by _id %v", natural, byID)
	}
	if !bytes.Equal(byID[0].Doc, orig) || !bytes.Equal(byID[0].ID.Data, bsonkit.Int64(5).Data) || byID[0].ID.Type != bsonkit.Int64(5).Type {
		t.Fatalf("stored record changed: %s", byID[0].Doc)
	}
}
