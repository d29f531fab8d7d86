package query

import (
	"bytes"
	"errors"
	"strings"
	"testing"

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

// errCode returns the MongoDB code of err, or 0.
func errCode(err error) int32 {
	var me *mongoerr.Error
	if errors.As(err, &me) {
		return me.Code
	}
	return 0
}

type matchCase struct {
	filter string
	doc    string
	want   bool
	pos    int // expected MatchPos position when want is true; use -2 to skip the check
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.filter+" ~ "+c.doc, func(t *testing.T) {
			m, err := Compile(docJ(t, c.filter))
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			ok, pos := m.MatchPos(docJ(t, c.doc))
			if ok != c.want {
				t.Fatalf("match = %v, want %v", ok, c.want)
			}
			if ok != m.Match(docJ(t, c.doc)) {
				t.Fatalf("Match and MatchPos disagree")
			}
			if c.want && c.pos != -2 && pos != c.pos {
				t.Fatalf("pos = %d, want %d", pos, c.pos)
			}
		})
	}
}

type errCase struct {
	filter string
	code   int32
	msg    string // substring of the message, if set
}

func runErrCases(t *testing.T, cases []errCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			_, err := Compile(docJ(t, c.filter))
			if errCode(err) != c.code {
				t.Fatalf("got %v, want code %d", err, c.code)
			}
			if c.msg != "" && !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("message %q does not contain %q", err.Error(), c.msg)
			}
		})
	}
}
