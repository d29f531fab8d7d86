package agg

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
)

func benchDocs(n int) []bsoncore.Document {
	docs := make([]bsoncore.Document, n)
	for i := range docs {
		docs[i] = bsonkit.D("_id", bsonkit.Int32(int32(i)), "k", bsonkit.Int32(int32(i%100)),
			"v", bsonkit.Double(float64(i)*0.5), "s", bsonkit.String("abcdefgh"))
	}
	return docs
}

func benchPipeline(b *testing.B, pipeline string, docs []bsoncore.Document) {
	p, err := Compile(docsJ(b, pipeline), env)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		it, err := p.Run(context.Background(), SliceIterator(docs))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Collect(it); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGroup100k(b *testing.B) {
	benchPipeline(b, `[{"$group": {"_id": "$k", "n": {"$sum": 1}, "t": {"$sum": "$v"}, "m": {"$max": "$v"}}}]`, benchDocs(100000))
}

func BenchmarkSortLimit100k(b *testing.B) {
	benchPipeline(b, `[{"$sort": {"v": -1}}, {"$limit": 10}]`, benchDocs(100000))
}

func BenchmarkMatchProject100k(b *testing.B) {
	benchPipeline(b, `[{"$match": {"k": {"$lt": 50}}}, {"$project": {"v": 1, "x": {"$add": ["$v", 1]}}}]`, benchDocs(100000))
}
