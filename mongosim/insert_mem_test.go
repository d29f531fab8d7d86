package mongosim

import (
	"bytes"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/store"
)

// A stored document must not share memory with the request it came in:
// scribbling over the request buffer after the insert leaves it intact.
func TestInsertedDocumentsDoNotAliasTheRequest(t *testing.T) {
	s := startTestServer(t, Options{})
	body, _ := bson.Marshal(bson.D{{Key: "insert", Value: "c"}, {Key: "$db", Value: "db"}})
	doc1, _ := bson.Marshal(bson.D{{Key: "_id", Value: int32(1)}, {Key: "s", Value: "first"}})
	doc2, _ := bson.Marshal(bson.D{{Key: "x", Value: "no _id: rebuilt"}})
	msg := append(append([]byte(nil), doc1...), doc2...)
	req := &request{srv: s, body: body, seqs: map[string][]bsoncore.Document{
		"documents": {bsoncore.Document(msg[:len(doc1)]), bsoncore.Document(msg[len(doc1):])}}}
	if n, _ := s.dispatch(s.ctx, req).Lookup("n").AsInt32OK(); n != 2 {
		t.Fatalf("inserted %d, want 2", n)
	}
	for i := range msg {
		msg[i] = 0xEE
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.store.Collection("db", "c")
	if _, got, ok := c.FindByID(bsonkit.Int32(1)); !ok || !bytes.Equal(got, doc1) {
		t.Fatalf("stored document = %v (found %v), want %v", got, ok, bsoncore.Document(doc1))
	}
	var stored []bsoncore.Document
	c.ScanNatural(false, nil, func(r store.Record) bool {
		stored = append(stored, r.Doc)
		return true
	})
	if len(stored) != 2 {
		t.Fatalf("%d documents stored, want 2", len(stored))
	}
	// The second was rebuilt with a generated _id first; its x is intact.
	elems, _ := stored[1].Elements()
	if len(elems) != 2 || elems[0].Key() != "_id" || elems[0].Value().Type != bsoncore.TypeObjectID ||
		!bytes.Equal(elems[1], bsoncore.Document(doc2).Index(0)) {
		t.Fatalf("rebuilt document = %s", stored[1])
	}
}

// Keys built in shared chunks stay intact as later keys fill and roll
// over chunks.
func TestKeySlabKeysStayIntact(t *testing.T) {
	var k keySlab
	var ids []bsoncore.Value
	var keys []bsoncore.Document
	for i := 0; i < 3000; i++ {
		var id bsoncore.Value
		switch i % 3 {
		case 0:
			id = bsonkit.Int64(int64(i))
		case 1:
			id = bsonkit.String(strings.Repeat("k", i%50))
		default:
			id = bsonkit.DocValue(bsonkit.D("a", bsonkit.Int32(int32(i)), "b", bsonkit.String("x")))
		}
		ids = append(ids, id)
		keys = append(keys, k.idKey(id))
	}
	big := bsonkit.String(strings.Repeat("y", 2*keySlabChunk))
	bigKey := k.idKey(big)
	for i, key := range keys {
		if want := bsonkit.D("_id", ids[i]); !bytes.Equal(key, want) {
			t.Fatalf("key %d = %s, want %s", i, key, want)
		}
	}
	if !bytes.Equal(bigKey, bsonkit.D("_id", big)) {
		t.Fatal("key larger than a chunk is wrong")
	}
	if cap(keys[0]) != len(keys[0]) {
		t.Fatal("a key's capacity reaches into the chunk: appending to it would overwrite the next key")
	}
}
