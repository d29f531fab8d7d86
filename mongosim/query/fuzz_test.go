package query

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/internal/bsontest"
)

// FuzzMatch checks that any well-formed filter either fails to compile with
// an error or matches any well-formed document without panicking, and that
// projections and sorts built from the same bytes behave the same way.
func FuzzMatch(f *testing.F) {
	seeds := [][2]string{
		{`{"a": 1}`, `{"a": [1, 2]}`},
		{`{"a.b": {"$gt": 1, "$lt": 5}}`, `{"a": [{"b": 2}, {"b": [7, 3]}]}`},
		{`{"$or": [{"a": null}, {"b": {"$elemMatch": {"c": {"$exists": true}}}}]}`, `{"b": [{"c": 1}, 5]}`},
		{`{"a": {"$regex": "^x", "$options": "i"}, "b": {"$type": ["string", 16]}}`, `{"a": "Xy", "b": 3}`},
		{`{"a.0.b": {"$in": [1, [2]]}, "c": {"$all": [1, 2]}, "d": {"$size": 2}}`, `{"a": [{"b": [2]}], "c": [2, 1], "d": [0, 0]}`},
		{`{"$expr": {"$gt": [{"$size": "$a"}, 1]}}`, `{"a": [1, 2, 3]}`},
		{`{"a": {"$not": {"$mod": [3, 1]}}, "b": {"$bitsAnySet": 5}}`, `{"a": 4, "b": 1}`},
	}
	for _, s := range seeds {
		f.Add([]byte(docJ(f, s[0])), []byte(docJ(f, s[1])))
	}
	f.Fuzz(func(t *testing.T, filter, doc []byte) {
		if !bsontest.WellFormed(filter) || !bsontest.WellFormed(doc) {
			return
		}
		if m, err := Compile(filter); err == nil {
			ok, pos := m.MatchPos(doc)
			if !ok && pos != -1 {
				t.Fatalf("no match but position %d", pos)
			}
			m.IDBounds()
			m.UpsertSeed()
		}
		if p, err := CompileProjection(filter); err == nil {
			if out, err := p.Apply(doc, 0); err == nil && bsoncore.Document(out).Validate() != nil {
				t.Fatalf("projection produced invalid BSON")
			}
		}
		if s, err := CompileSort(filter); err == nil {
			if c := s.Compare(doc, doc); c != 0 {
				t.Fatalf("document compares %d to itself", c)
			}
		}
	})
}
