package query

import (
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/expr"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

type sortField struct {
	path  string
	parts []string
	dir   int
}

// Sort is a compiled sort specification.
type Sort struct {
	fields  []sortField
	natural int
	spec    bsonkit.Doc
}

// CompileSort parses {a: 1, b: -1} or {$natural: ±1}. $meta sorts are
// rejected (mongosim has no text search).
func CompileSort(spec bsoncore.Document) (*Sort, error) {
	s := &Sort{}
	for _, e := range elements(spec) {
		k, v := e.Key(), e.Value()
		s.spec.Append(k, v)
		if v.Type == bsoncore.TypeEmbeddedDocument {
			if _, err := v.Document().LookupErr("$meta"); err == nil {
				return nil, mongoerr.New(mongoerr.NotImplemented, "$meta sort is not supported by mongosim")
			}
			return nil, mongoerr.New(15974, "Illegal key in $sort specification: %s: %s", k, v.String())
		}
		if !bsonkit.IsNumber(v.Type) {
			return nil, mongoerr.New(15974, "Illegal key in $sort specification: %s: %s", k, v.String())
		}
		f, _ := bsonkit.ToFloat(v)
		if f != 1 && f != -1 {
			return nil, mongoerr.New(15975, "$sort key ordering must be 1 (for ascending) or -1 (for descending)")
		}
		if k == "$natural" {
			s.natural = int(f)
			continue
		}
		parts, err := expr.SplitFieldPath(k)
		if err != nil {
			return nil, err
		}
		s.fields = append(s.fields, sortField{path: k, parts: parts, dir: int(f)})
	}
	return s, nil
}

// Natural returns the $natural direction if the sort is a natural-order sort.
func (s *Sort) Natural() (dir int, ok bool) { return s.natural, s.natural != 0 }

// Keys returns the sort specification as given.
func (s *Sort) Keys() bsonkit.Doc { return s.spec }

// Len is the number of (non-$natural) sort fields.
func (s *Sort) Len() int { return len(s.fields) }

// Key computes a document's sort key: per field, the value used for
// ordering (arrays contribute their smallest element ascending, largest
// descending; missing is null; an empty array sorts before null).
func (s *Sort) Key(doc bsoncore.Document) []bsoncore.Value {
	key := make([]bsoncore.Value, len(s.fields))
	var buf []bsoncore.Value
	for i, f := range s.fields {
		buf = buf[:0]
		lookupInto(doc, f.parts, &buf, true)
		key[i] = pickSortValue(buf, f.dir)
	}
	return key
}

func pickSortValue(vals []bsoncore.Value, dir int) bsoncore.Value {
	if len(vals) == 0 {
		return bsonkit.Null()
	}
	best := vals[0]
	for _, v := range vals[1:] {
		c := bsonkit.Compare(v, best)
		if (dir > 0 && c < 0) || (dir < 0 && c > 0) {
			best = v
		}
	}
	return best
}

// CompareKeys orders two keys produced by Key.
func (s *Sort) CompareKeys(a, b []bsoncore.Value) int {
	for i, f := range s.fields {
		if c := bsonkit.Compare(a[i], b[i]); c != 0 {
			return c * f.dir
		}
	}
	return 0
}

// Compare orders two documents by the sort (0 when equal on all keys).
func (s *Sort) Compare(a, b bsoncore.Document) int {
	if len(s.fields) == 0 {
		return 0
	}
	return s.CompareKeys(s.Key(a), s.Key(b))
}
