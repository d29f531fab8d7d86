package bsonkit

import (
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Elem is one field of a Doc.
type Elem struct {
	Key   string
	Value bsoncore.Value
}

// Doc is an ordered, mutable document. Values stay raw: rebuilding a Doc
// whose values were not touched yields the original bytes.
type Doc []Elem

// ParseDoc splits a raw document into its top-level fields.
func ParseDoc(d bsoncore.Document) (Doc, error) {
	elems, err := d.Elements()
	if err != nil {
		return nil, err
	}
	out := make(Doc, len(elems))
	for i, e := range elems {
		out[i] = Elem{Key: e.Key(), Value: e.Value()}
	}
	return out, nil
}

// MustParseDoc is ParseDoc for documents already validated.
func MustParseDoc(d bsoncore.Document) Doc {
	out, err := ParseDoc(d)
	if err != nil {
		panic(err)
	}
	return out
}

// Get returns the value of key, or Missing.
func (d Doc) Get(key string) bsoncore.Value {
	for _, e := range d {
		if e.Key == key {
			return e.Value
		}
	}
	return Missing
}

// Index returns the position of key or -1.
func (d Doc) Index(key string) int {
	for i, e := range d {
		if e.Key == key {
			return i
		}
	}
	return -1
}

// Set replaces key in place or appends it.
func (d *Doc) Set(key string, v bsoncore.Value) {
	if i := d.Index(key); i >= 0 {
		(*d)[i].Value = v
		return
	}
	*d = append(*d, Elem{Key: key, Value: v})
}

// Delete removes key if present.
func (d *Doc) Delete(key string) {
	if i := d.Index(key); i >= 0 {
		*d = append((*d)[:i], (*d)[i+1:]...)
	}
}

// Append adds a field at the end without checking for duplicates.
func (d *Doc) Append(key string, v bsoncore.Value) { *d = append(*d, Elem{Key: key, Value: v}) }

// Bytes serialises the document.
func (d Doc) Bytes() bsoncore.Document {
	size := 5
	for _, e := range d {
		size += 2 + len(e.Key) + len(e.Value.Data)
	}
	idx, b := bsoncore.AppendDocumentStart(make([]byte, 0, size))
	for _, e := range d {
		b = bsoncore.AppendValueElement(b, e.Key, e.Value)
	}
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	return b
}

// Value returns the document as an embedded-document value.
func (d Doc) Value() bsoncore.Value { return DocValue(d.Bytes()) }

// D builds a raw document from alternating key, value pairs; a compact way
// to write replies: D("ok", Double(1), "n", Int32(3)).
func D(kv ...any) bsoncore.Document {
	var d Doc
	for i := 0; i+1 < len(kv); i += 2 {
		d = append(d, Elem{Key: kv[i].(string), Value: kv[i+1].(bsoncore.Value)})
	}
	return d.Bytes()
}
