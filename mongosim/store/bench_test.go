package store

import (
	"testing"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

func benchDocs(n int) []bsoncore.Document {
	docs := make([]bsoncore.Document, n)
	for i := range docs {
		docs[i] = d("_id", bsonkit.Int64(int64(i)), "a", i32(int32(i)), "s", str("some payload text for the document"))
	}
	return docs
}

// BenchmarkInsertUnique measures Insert with the _id index and one unique
// secondary index.
func BenchmarkInsertUnique(b *testing.B) {
	docs := benchDocs(b.N)
	s := New()
	c, _ := s.CreateCollection("db", "c", nil)
	if _, err := c.CreateIndexes([]bsoncore.Document{idx(d("a", i32(1)), "a_1", "unique", tru)}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := c.Insert(docs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanID measures a full _id-ordered scan of 100k documents.
func BenchmarkScanID(b *testing.B) {
	s := New()
	c, _ := s.CreateCollection("db", "c", nil)
	for _, doc := range benchDocs(100000) {
		if _, _, err := c.Insert(doc); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		c.ScanID(false, nil, func(Record) bool { n++; return true })
		if n != 100000 {
			b.Fatalf("scanned %d", n)
		}
	}
}
