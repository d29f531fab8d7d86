package expr

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/internal/bsontest"
)

// Shared test helpers (see bsontest).
var (
	docJ      = bsontest.Doc
	valJ      = bsontest.Val
	render    = bsontest.Render
	sameValue = bsontest.Same
	errCode   = bsontest.Code
)

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
