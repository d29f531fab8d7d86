package query

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
)

// visitFn receives one candidate value produced by walking a path and the
// array position it came from (-1 if no implicit array traversal was
// involved). Returning true stops the walk.
type visitFn func(v bsoncore.Value, pos int) bool

// walkPath enumerates the values a match expression examines for a dotted
// path, following MongoDB's ElementIterator: documents are descended,
// arrays in the middle of the path are traversed element by element (and a
// numeric component may also index them), a missing or scalar prefix yields
// one missing value. When traverseLeaf is set, an array at the end of the
// path yields each element and then the array itself.
func walkPath(doc bsoncore.Document, parts []string, traverseLeaf bool, fn visitFn) bool {
	return walkDoc(doc, parts, 0, traverseLeaf, -1, fn)
}

func walkDoc(doc bsoncore.Document, parts []string, i int, traverseLeaf bool, pos int, fn visitFn) bool {
	last := len(parts) - 1
	v, err := doc.LookupErr(parts[i])
	for {
		if err != nil {
			return fn(bsonkit.Missing, pos)
		}
		if i == last {
			if v.Type == bsoncore.TypeArray && traverseLeaf {
				k := 0
				stop := false
				eachElem(v, func(e bsoncore.Value) bool {
					p := pos
					if p < 0 {
						p = k
					}
					k++
					stop = fn(e, p)
					return stop
				})
				if stop {
					return true
				}
			}
			return fn(v, pos)
		}
		switch v.Type {
		case bsoncore.TypeEmbeddedDocument:
			i++
			v, err = v.Document().LookupErr(parts[i])
		case bsoncore.TypeArray:
			return walkArray(v, parts, i+1, traverseLeaf, pos, fn)
		default:
			return fn(bsonkit.Missing, pos)
		}
	}
}

// walkArray traverses an array met before the end of the path; parts[j]
// is the component that follows it.
func walkArray(arr bsoncore.Value, parts []string, j int, traverseLeaf bool, pos int, fn visitFn) bool {
	last := len(parts) - 1
	next := parts[j]
	offset := -1
	if isAllDigits(next) {
		offset = atoiDigits(next)
	}
	k := 0
	return eachElem(arr, func(e bsoncore.Value) bool {
		idx := k
		k++
		epos := pos
		if epos < 0 {
			epos = idx
		}
		if e.Type == bsoncore.TypeEmbeddedDocument {
			if walkDoc(e.Document(), parts, j, traverseLeaf, epos, fn) {
				return true
			}
			if idx != offset {
				return false
			}
			if j == last {
				return fn(e, pos)
			}
			return walkDoc(e.Document(), parts, j+1, traverseLeaf, pos, fn)
		}
		if idx != offset {
			return false
		}
		if j == last {
			return fn(e, pos)
		}
		if e.Type == bsoncore.TypeArray {
			return walkArray(e, parts, j+1, traverseLeaf, pos, fn)
		}
		return false
	})
}

// eachElem calls fn for each element of an array (or document) value until
// fn returns true; it reports whether fn stopped the iteration.
func eachElem(v bsoncore.Value, fn func(e bsoncore.Value) bool) bool {
	rem := v.Data
	if len(rem) < 5 {
		return false
	}
	rem = rem[4 : len(rem)-1]
	for len(rem) > 0 {
		elem, r, ok := bsoncore.ReadElement(rem)
		if !ok {
			return false
		}
		rem = r
		if fn(elem.Value()) {
			return true
		}
	}
	return false
}

func isAllDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoiDigits parses a digit string; huge values saturate (never an index).
func atoiDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
		if n > 1<<30 {
			return 1 << 30
		}
	}
	return n
}

// splitPath splits a dotted field path.
func splitPath(p string) []string { return strings.Split(p, ".") }

// Lookup returns the values at a dotted path with MongoDB's array
// traversal (as distinct and index key extraction see them): documents are
// descended, arrays along the path are expanded element by element, a
// numeric component indexes an array, and an array at the end of the path
// contributes its elements. Missing paths contribute nothing.
func Lookup(doc bsoncore.Document, path string) []bsoncore.Value {
	var out []bsoncore.Value
	lookupInto(doc, splitPath(path), &out, false)
	return out
}

// lookupInto collects the values along parts; withNulls adds a null for
// each place the path is missing (sort and index key semantics).
func lookupInto(doc bsoncore.Document, parts []string, out *[]bsoncore.Value, withNulls bool) {
	v, err := doc.LookupErr(parts[0])
	if err != nil {
		if withNulls {
			*out = append(*out, bsonkit.Null())
		}
		return
	}
	collectValue(v, parts[1:], out, withNulls)
}

func collectValue(v bsoncore.Value, rest []string, out *[]bsoncore.Value, withNulls bool) {
	if len(rest) == 0 {
		if v.Type == bsoncore.TypeArray {
			if withNulls && len(v.Data) <= 5 {
				// An empty array sorts before null: it contributes undefined.
				*out = append(*out, bsoncore.Value{Type: bsoncore.TypeUndefined})
				return
			}
			eachElem(v, func(e bsoncore.Value) bool {
				*out = append(*out, e)
				return false
			})
			return
		}
		*out = append(*out, v)
		return
	}
	switch v.Type {
	case bsoncore.TypeEmbeddedDocument:
		lookupInto(v.Document(), rest, out, withNulls)
	case bsoncore.TypeArray:
		if isAllDigits(rest[0]) {
			if e, err := bsoncore.Document(v.Data).LookupErr(rest[0]); err == nil {
				collectValue(e, rest[1:], out, withNulls)
				return
			}
		}
		eachElem(v, func(e bsoncore.Value) bool {
			switch e.Type {
			case bsoncore.TypeEmbeddedDocument:
				lookupInto(e.Document(), rest, out, withNulls)
			case bsoncore.TypeArray:
				collectValue(e, rest, out, withNulls)
			default:
				if withNulls {
					*out = append(*out, bsonkit.Null())
				}
			}
			return false
		})
	default:
		if withNulls {
			*out = append(*out, bsonkit.Null())
		}
	}
}
