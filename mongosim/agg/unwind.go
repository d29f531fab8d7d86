package agg

import (
	"context"
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/expr"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() { stageParsers["$unwind"] = parseUnwind }

type unwindStage struct {
	parts    []string
	index    string
	preserve bool
}

func (u *unwindStage) name() string { return "$unwind" }

func parseUnwind(arg bsoncore.Value, p *Pipeline) (stage, error) {
	u := &unwindStage{}
	var path string
	switch arg.Type {
	case bsoncore.TypeString:
		path = arg.StringValue()
	case bsoncore.TypeEmbeddedDocument:
		for _, e := range docElems(arg.Document()) {
			v := e.Value()
			switch e.Key() {
			case "path":
				if v.Type != bsoncore.TypeString {
					return nil, mongoerr.New(28808, "expected a string as the path for $unwind stage, got %s", expr.TypeName(v.Type))
				}
				path = v.StringValue()
			case "preserveNullAndEmptyArrays":
				if v.Type != bsoncore.TypeBoolean {
					return nil, mongoerr.New(28809, "expected a boolean for the preserveNullAndEmptyArrays option to $unwind stage, got %s", expr.TypeName(v.Type))
				}
				u.preserve = v.Boolean()
			case "includeArrayIndex":
				if v.Type != bsoncore.TypeString || v.StringValue() == "" {
					return nil, mongoerr.New(28810, "expected a non-empty string for the includeArrayIndex option to $unwind stage, got %s", expr.TypeName(v.Type))
				}
				u.index = v.StringValue()
				if strings.HasPrefix(u.index, "$") {
					return nil, mongoerr.New(28822, "includeArrayIndex option to $unwind stage should not be prefixed with a '$': %s", u.index)
				}
			default:
				return nil, mongoerr.New(28811, "unrecognized option to $unwind stage: %s", e.Key())
			}
		}
		if arg.Document().Lookup("path").Type == 0 {
			return nil, mongoerr.New(28812, "no path specified to $unwind stage")
		}
	default:
		return nil, mongoerr.New(15981, "expected either a string or an object as specification for $unwind stage, got %s", expr.TypeName(arg.Type))
	}
	if !strings.HasPrefix(path, "$") {
		return nil, mongoerr.New(28818, "path option to $unwind stage should be prefixed with a '$': %s", path)
	}
	parts, err := expr.SplitFieldPath(path[1:])
	if err != nil {
		return nil, err
	}
	u.parts = parts
	return u, nil
}

func (u *unwindStage) run(ctx context.Context, in Iterator, p *Pipeline) (Iterator, error) {
	var cur bsoncore.Document
	var elems []bsoncore.Value
	next := 0
	return iterFunc(func() (bsoncore.Document, bool, error) {
		for {
			if next < len(elems) {
				i := next
				next++
				out, err := setPath(cur, u.parts, elems[i])
				if err != nil {
					return nil, false, err
				}
				if u.index != "" {
					if out, err = setPath(out, strings.Split(u.index, "."), bsonkit.Int64(int64(i))); err != nil {
						return nil, false, err
					}
				}
				return out, true, nil
			}
			d, ok, err := in.Next()
			if err != nil || !ok {
				return nil, false, err
			}
			v := nestedField(d, u.parts)
			switch {
			case v.Type == bsoncore.TypeArray && len(v.Data) > 5:
				cur, elems, next = d, bsonkit.Values(v), 0
				continue
			case v.Type == bsoncore.TypeArray || v.Type == 0 || v.Type == bsoncore.TypeNull:
				if !u.preserve {
					continue
				}
				if v.Type == bsoncore.TypeArray {
					// An empty array unwinds to a document without the field.
					if d, err = unsetPath(d, u.parts); err != nil {
						return nil, false, err
					}
				}
				return u.withNullIndex(d)
			default:
				// A non-array value unwinds to itself.
				return u.withNullIndex(d)
			}
		}
	}), nil
}

// nestedField reads a document path without traversing arrays.
func nestedField(doc bsoncore.Document, parts []string) bsoncore.Value {
	v, err := doc.LookupErr(parts[0])
	if err != nil {
		return bsonkit.Missing
	}
	for _, part := range parts[1:] {
		if v.Type != bsoncore.TypeEmbeddedDocument {
			return bsonkit.Missing
		}
		if v, err = v.Document().LookupErr(part); err != nil {
			return bsonkit.Missing
		}
	}
	return v
}

// setPath returns doc with the value at parts replaced (or added, creating
// documents along the way), keeping field order and untouched bytes.
func setPath(doc bsoncore.Document, parts []string, v bsoncore.Value) (bsoncore.Document, error) {
	d, err := bsonkit.ParseDoc(doc)
	if err != nil {
		return nil, err
	}
	if len(parts) == 1 {
		d.Set(parts[0], v)
		return d.Bytes(), nil
	}
	child := d.Get(parts[0])
	sub := bsoncore.Document(emptyDocBytes)
	if child.Type == bsoncore.TypeEmbeddedDocument {
		sub = child.Document()
	}
	nsub, err := setPath(sub, parts[1:], v)
	if err != nil {
		return nil, err
	}
	d.Set(parts[0], bsonkit.DocValue(nsub))
	return d.Bytes(), nil
}

var emptyDocBytes = []byte{5, 0, 0, 0, 0}

func (u *unwindStage) withNullIndex(d bsoncore.Document) (bsoncore.Document, bool, error) {
	if u.index == "" {
		return d, true, nil
	}
	out, err := setPath(d, strings.Split(u.index, "."), bsonkit.Null())
	return out, err == nil, err
}

// unsetPath returns doc without the field at parts (documents only).
func unsetPath(doc bsoncore.Document, parts []string) (bsoncore.Document, error) {
	d, err := bsonkit.ParseDoc(doc)
	if err != nil {
		return nil, err
	}
	if len(parts) == 1 {
		d.Delete(parts[0])
		return d.Bytes(), nil
	}
	child := d.Get(parts[0])
	if child.Type != bsoncore.TypeEmbeddedDocument {
		return doc, nil
	}
	sub, err := unsetPath(child.Document(), parts[1:])
	if err != nil {
		return nil, err
	}
	d.Set(parts[0], bsonkit.DocValue(sub))
	return d.Bytes(), nil
}
