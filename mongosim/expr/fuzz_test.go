package expr

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/internal/bsontest"
)

// FuzzEval checks that every top-level value of a well-formed document
// either fails to compile or evaluates (to a value or an error) without
// panicking, and that a document result is well-formed BSON.
func FuzzEval(f *testing.F) {
	seeds := [][2]string{
		{`{"e": {"$add": ["$a", 1, 2.5]}}`, `{"a": 1}`},
		{`{"e": {"$map": {"input": "$a", "in": {"$multiply": ["$$this", 2]}}}}`, `{"a": [1, 2]}`},
		{`{"e": {"$reduce": {"input": "$a", "initialValue": "", "in": {"$concat": ["$$value", "$$this"]}}}}`, `{"a": ["x", "y"]}`},
		{`{"e": {"$divide": [{"$numberDecimal": "1"}, "$a"]}}`, `{"a": 3}`},
		{`{"e": {"$dateToString": {"date": "$d", "format": "%Y %j %U"}}}`, `{"d": {"$date": "2020-02-02T00:00:00Z"}}`},
		{`{"e": {"$convert": {"input": "$a", "to": "decimal", "onError": 0}}}`, `{"a": "1e400"}`},
		{`{"e": {"$round": ["$a", -2]}, "f": {"$slice": ["$b", -1, 2]}}`, `{"a": 1555, "b": [1, 2, 3]}`},
	}
	for _, s := range seeds {
		f.Add([]byte(docJ(f, s[0])), []byte(docJ(f, s[1])))
	}
	f.Fuzz(func(t *testing.T, spec, doc []byte) {
		if !bsontest.WellFormed(spec) || !bsontest.WellFormed(doc) {
			return
		}
		vals, err := bsoncore.Document(spec).Values()
		if err != nil {
			return
		}
		for _, v := range vals {
			e, err := Compile(v)
			if err != nil {
				continue
			}
			out, err := e.Eval(&Ctx{Root: doc, Now: testNow})
			if err == nil && (out.Type == bsoncore.TypeEmbeddedDocument || out.Type == bsoncore.TypeArray) {
				if bsoncore.Document(out.Data).Validate() != nil {
					t.Fatalf("invalid BSON result %v", out)
				}
			}
		}
	})
}
