package store

import (
	"strconv"
	"strings"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// codeHashedArray is mongod's assertion code for an array in a hashed field.
const codeHashedArray = 16766

// keyField is one field of an index key pattern.
type keyField struct {
	path  string
	parts []string
	// plugin is "" for ascending/descending fields, otherwise the index
	// type string ("hashed", "text", "2dsphere", "2d").
	plugin string
}

// fieldValues are the index values one key field yields for a document.
type fieldValues struct {
	vals []bsoncore.Value
	// arrayPath is the dotted prefix at which an array was expanded ("" if
	// none); two fields expanding different arrays are parallel arrays.
	arrayPath string
	// arrayName is the field name of that array, for error messages.
	arrayName string
	present   bool // some value was found (not missing)
}

// extractField collects the values a document contributes to one key field,
// following MongoDB's multikey rules: arrays along the path are expanded
// (one level), a numeric path component selects an array element, an empty
// array at the leaf indexes as undefined and a missing value as null.
func extractField(doc bsoncore.Document, f keyField) fieldValues {
	var fv fieldValues
	walkPath(doc, f.parts, 0, &fv)
	if len(fv.vals) == 0 {
		fv.vals = []bsoncore.Value{bsonkit.Null()}
	}
	return fv
}

func walkPath(doc bsoncore.Document, parts []string, depth int, fv *fieldValues) {
	v, err := doc.LookupErr(parts[depth])
	if err != nil {
		return
	}
	walkValue(v, parts, depth, fv)
}

// walkValue handles the value found at parts[depth].
func walkValue(v bsoncore.Value, parts []string, depth int, fv *fieldValues) {
	last := depth == len(parts)-1
	switch v.Type {
	case bsoncore.TypeArray:
		elems := bsonkit.Values(v)
		if !last && isArrayIndex(parts[depth+1]) {
			// Positional component: pick the element, no expansion.
			i, _ := strconv.Atoi(parts[depth+1])
			if i < len(elems) {
				if depth+1 == len(parts)-1 {
					fv.present = true
					fv.vals = append(fv.vals, elems[i])
				} else if elems[i].Type == bsoncore.TypeEmbeddedDocument {
					walkPath(elems[i].Document(), parts, depth+2, fv)
				}
			}
			return
		}
		fv.markArray(parts, depth)
		if last {
			fv.present = true
			if len(elems) == 0 {
				fv.vals = append(fv.vals, bsoncore.Value{Type: bsoncore.TypeUndefined})
			}
			fv.vals = append(fv.vals, elems...)
			return
		}
		for _, e := range elems {
			if e.Type == bsoncore.TypeEmbeddedDocument {
				before := len(fv.vals)
				walkPath(e.Document(), parts, depth+1, fv)
				if len(fv.vals) == before {
					// An element without the rest of the path indexes as null.
					fv.vals = append(fv.vals, bsonkit.Null())
				}
			}
		}
	case bsoncore.TypeEmbeddedDocument:
		if last {
			fv.present = true
			fv.vals = append(fv.vals, v)
			return
		}
		walkPath(v.Document(), parts, depth+1, fv)
	default:
		if last {
			fv.present = true
			fv.vals = append(fv.vals, v)
		}
	}
}

func (fv *fieldValues) markArray(parts []string, depth int) {
	if fv.arrayPath == "" {
		fv.arrayPath = strings.Join(parts[:depth+1], ".")
		fv.arrayName = parts[depth]
	}
}

func isArrayIndex(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// docKeys computes the distinct index keys of doc for the given fields. It
// reports whether any key field was present (for sparse indexes) and fails
// with CannotIndexParallelArrays when two fields expand different arrays.
func docKeys(doc bsoncore.Document, fields []keyField) (keys [][]bsoncore.Value, present bool, err error) {
	per := make([]fieldValues, len(fields))
	arrayField := -1
	for i, f := range fields {
		per[i] = extractField(doc, f)
		if per[i].present {
			present = true
		}
		if f.plugin == "hashed" && per[i].arrayPath != "" {
			return nil, false, mongoerr.New(codeHashedArray,
				"hashed indexes do not currently support array values. Found array value at path: %s", f.path)
		}
		if per[i].arrayPath == "" {
			continue
		}
		if arrayField >= 0 && per[arrayField].arrayPath != per[i].arrayPath {
			return nil, false, mongoerr.New(mongoerr.CannotIndexParallelArrays,
				"cannot index parallel arrays [%s] [%s]", per[i].arrayName, per[arrayField].arrayName)
		}
		if arrayField < 0 {
			arrayField = i
		}
	}
	keys = [][]bsoncore.Value{nil}
	for _, fv := range per {
		next := make([][]bsoncore.Value, 0, len(keys)*len(fv.vals))
		for _, k := range keys {
			for _, v := range fv.vals {
				nk := make([]bsoncore.Value, len(k), len(k)+1)
				copy(nk, k)
				next = append(next, append(nk, v))
			}
		}
		keys = next
	}
	return dedupeKeys(keys), present, nil
}

// dedupeKeys drops keys equal (by BSON comparison) to an earlier key: a
// document may repeat a value in an array without violating uniqueness.
func dedupeKeys(keys [][]bsoncore.Value) [][]bsoncore.Value {
	if len(keys) < 2 {
		return keys
	}
	out := keys[:0:0]
	for _, k := range keys {
		dup := false
		for _, o := range out {
			if compareKeys(k, o) == 0 {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, k)
		}
	}
	return out
}

// compareKeys orders two key tuples field by field with BSON comparison.
func compareKeys(a, b []bsoncore.Value) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := bsonkit.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}
