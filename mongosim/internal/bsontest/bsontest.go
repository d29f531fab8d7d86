// Package bsontest holds what mongosim's package tests share: extended
// JSON parsed into raw BSON with field order and exact types kept, values
// rendered for failure messages, MongoDB error codes, and a strict BSON
// well-formedness check for fuzz inputs. Test code only.
package bsontest

import (
	"bytes"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Doc parses relaxed extended JSON (1 is an int32, 1.0 a double) into a
// raw document, keeping field order; bad JSON fails the test.
func Doc(t testing.TB, s string) bsoncore.Document {
	t.Helper()
	var r bson.Raw
	if err := bson.UnmarshalExtJSON([]byte(s), false, &r); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return bsoncore.Document(r)
}

// Val parses one extended-JSON value.
func Val(t testing.TB, s string) bsoncore.Value {
	t.Helper()
	return Doc(t, `{"v": `+s+`}`).Lookup("v")
}

// Docs parses a JSON array of documents.
func Docs(t testing.TB, s string) []bsoncore.Document {
	t.Helper()
	vals, err := Val(t, s).Array().Values()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]bsoncore.Document, len(vals))
	for i, v := range vals {
		out[i] = v.Document()
	}
	return out
}

// Render shows a value in canonical extended JSON, which names exact
// types; the absent value is "<missing>".
func Render(v bsoncore.Value) string {
	if v.Type == 0 {
		return "<missing>"
	}
	d := bsoncore.NewDocumentBuilder().AppendValue("v", v).Build()
	return bson.Raw(d).String()
}

// Same reports whether two values have identical type and bytes.
func Same(a, b bsoncore.Value) bool {
	return a.Type == b.Type && bytes.Equal(a.Data, b.Data)
}

// Code returns the MongoDB code of err, or 0 when err is not a
// *mongoerr.Error.
func Code(err error) int32 {
	var me *mongoerr.Error
	if errors.As(err, &me) {
		return me.Code
	}
	return 0
}

// WellFormed reports whether b is exactly one valid BSON document, nested
// documents and arrays included (the driver's Validate alone accepts some
// inputs whose declared lengths lie).
func WellFormed(b []byte) bool {
	d, rest, ok := bsoncore.ReadDocument(b)
	if !ok || len(rest) != 0 || d.Validate() != nil {
		return false
	}
	vals, err := d.Values()
	if err != nil {
		return false
	}
	for _, v := range vals {
		if v.Validate() != nil {
			return false
		}
		if v.Type == bsoncore.TypeEmbeddedDocument || v.Type == bsoncore.TypeArray {
			if !WellFormed(v.Data) {
				return false
			}
		}
	}
	return true
}
