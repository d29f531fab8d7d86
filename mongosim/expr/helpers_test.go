package expr

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// docJ parses relaxed extended JSON into a raw document (field order kept).
func docJ(t testing.TB, s string) bsoncore.Document {
	t.Helper()
	var r bson.Raw
	if err := bson.UnmarshalExtJSON([]byte(s), false, &r); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return bsoncore.Document(r)
}

// valJ parses one extended-JSON value.
func valJ(t testing.TB, s string) bsoncore.Value {
	t.Helper()
	return docJ(t, `{"v": `+s+`}`).Lookup("v")
}

func render(v bsoncore.Value) string {
	if v.Type == 0 {
		return "<missing>"
	}
	d := bsoncore.NewDocumentBuilder().AppendValue("v", v).Build() // canonical form shows exact types
	return bson.Raw(d).String()
}

// sameValue reports whether two values have identical type and bytes.
func sameValue(a, b bsoncore.Value) bool {
	return a.Type == b.Type && bytes.Equal(a.Data, b.Data)
}

var testNow = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// evalJ compiles exprJSON and evaluates it against docJSON.
func evalJ(t testing.TB, exprJSON, docJSON string) (bsoncore.Value, error) {
	t.Helper()
	e, err := Compile(valJ(t, exprJSON))
	if err != nil {
		return bsoncore.Value{}, err
	}
	doc := docJ(t, docJSON)
	return e.Eval(&Ctx{Root: doc, Now: testNow})
}

// errCode returns the MongoDB code of err, or 0.
func errCode(err error) int32 {
	var me *mongoerr.Error
	if errors.As(err, &me) {
		return me.Code
	}
	return 0
}

type exprCase struct {
	name string
	expr string
	doc  string
	want string // extended JSON of the expected value; "" means missing
	code int32  // expected error code instead of a value
}

func runEvalCases(t *testing.T, cases []exprCase) {
	t.Helper()
	for _, c := range cases {
		name := c.name
		if name == "" {
			name = c.expr
		}
		t.Run(name, func(t *testing.T) {
			doc := c.doc
			if doc == "" {
				doc = "{}"
			}
			got, err := evalJ(t, c.expr, doc)
			if c.code != 0 {
				if errCode(err) != c.code {
					t.Fatalf("want error code %d, got value %s err %v", c.code, render(got), err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			want := bsoncore.Value{}
			if c.want != "" {
				want = valJ(t, c.want)
			}
			if !sameValue(got, want) {
				t.Fatalf("got %s, want %s", render(got), render(want))
			}
		})
	}
}
