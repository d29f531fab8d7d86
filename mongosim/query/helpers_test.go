package query

import (
	"strings"
	"testing"

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
