package bsontest

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func TestParseKeepsOrderAndTypes(t *testing.T) {
	d := Doc(t, `{"b": 1, "a": 1.0, "c": {"$numberLong": "2"}}`)
	keys := []string{}
	elems, _ := d.Elements()
	for _, e := range elems {
		keys = append(keys, e.Key()+":"+e.Value().Type.String())
	}
	if got := keys; len(got) != 3 || got[0] != "b:32-bit integer" || got[1] != "a:double" || got[2] != "c:64-bit integer" {
		t.Fatalf("keys and types %v", got)
	}
	if docs := Docs(t, `[{"x": 1}, {}]`); len(docs) != 2 || Render(docs[0].Lookup("x")) != `{"v": {"$numberInt":"1"}}` {
		t.Fatalf("Docs gave %v", docs)
	}
	if Render(bsoncore.Value{}) != "<missing>" {
		t.Fatal("missing value not rendered as <missing>")
	}
	if !Same(Val(t, `1`), Val(t, `1`)) || Same(Val(t, `1`), Val(t, `1.0`)) {
		t.Fatal("Same must compare type and bytes")
	}
	if Code(mongoerr.New(mongoerr.BadValue, "x")) != mongoerr.BadValue || Code(nil) != 0 {
		t.Fatal("Code")
	}
}

func TestWellFormed(t *testing.T) {
	good := Doc(t, `{"a": {"b": [1, "x"]}}`)
	if !WellFormed(good) {
		t.Fatal("valid document rejected")
	}
	if WellFormed(append(append([]byte{}, good...), 0)) {
		t.Fatal("trailing byte accepted")
	}
	// Corrupt the nested array's declared length: the array starts after
	// the outer length (4), "\x03a\x00" (3), the inner length (4) and
	// "\x04b\x00" (3).
	bad := append([]byte{}, good...)
	bad[14]++
	if WellFormed(bad) {
		t.Fatal("nested array with a wrong length accepted")
	}
}
