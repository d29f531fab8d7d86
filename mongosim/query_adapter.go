package mongosim

import (
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/query"
)

// The CRUD handlers see filters, sorts and projections through these small
// interfaces so the planner does not depend on how package query builds
// them. query.Matcher / query.Sort / query.Projection satisfy them.

type filterMatcher interface {
	Match(doc bsoncore.Document) bool
	// MatchPos also reports the matched array position for positional `$`.
	MatchPos(doc bsoncore.Document) (bool, int)
}

// idBounds are the _id constraints a filter implies (query.Bounds).
type idBounds struct {
	eq             []bsoncore.Value
	hasEq          bool
	lo, hi         bsoncore.Value // Missing = unbounded
	loIncl, hiIncl bool
}

type docSorter interface {
	Compare(a, b bsoncore.Document) int
}

type docProjector interface {
	Apply(doc bsoncore.Document, matchPos int) (bsoncore.Document, error)
}

// compiledFilter is a filter ready for planning and matching.
type compiledFilter struct {
	m         *query.Matcher
	bounds    idBounds
	hasBounds bool
	// empty: the filter is {} and matches everything (no per-doc work).
	empty bool
}

// compileFilter compiles a filter without let variables (use
// compileFilterVars for commands that take let).
func compileFilter(f bsoncore.Document) (*compiledFilter, error) {
	m, err := query.Compile(f)
	if err != nil {
		return nil, err
	}
	return newCompiledFilter(m), nil
}

func newCompiledFilter(m *query.Matcher) *compiledFilter {
	cf := &compiledFilter{m: m, empty: m.Empty()}
	if b, ok := m.IDBounds(); ok {
		cf.hasBounds = true
		cf.bounds = idBounds{eq: b.Eq, hasEq: b.HasEq, lo: b.Lo, hi: b.Hi, loIncl: b.LoIncl, hiIncl: b.HiIncl}
	}
	return cf
}

// match reports whether doc matches and the matched array position; a
// runtime error inside $expr counts as no match. Commands use matchErr.
func (f *compiledFilter) match(doc bsoncore.Document) (bool, int) {
	ok, pos, _ := f.matchErr(doc)
	return ok, pos
}

// matchErr is match that also returns a runtime error raised by $expr:
// MongoDB fails the whole command with it rather than skip the document.
func (f *compiledFilter) matchErr(doc bsoncore.Document) (bool, int, error) {
	if f.empty {
		return true, -1, nil
	}
	return f.m.MatchErr(doc)
}

// upsertSeed returns the filter's equality fields an upsert starts from.
func (f *compiledFilter) upsertSeed() (bsonkit.Doc, error) { return f.m.UpsertSeed() }

// sortSpec is a compiled sort plus what the planner needs to know.
type sortSpec struct {
	s docSorter
	// natural is ±1 for {$natural: ±1}; idDir is ±1 for {_id: ±1}; 0 otherwise.
	natural, idDir int
}

// checkFilterArg validates a filter-like argument's type.
func checkFilterArg(cmd, field string, v bsoncore.Value) (bsoncore.Document, error) {
	switch v.Type {
	case 0, bsoncore.TypeNull:
		return nil, nil
	case bsoncore.TypeEmbeddedDocument:
		return v.Document(), nil
	}
	return nil, mongoerr.WrongType(cmd+"."+field, typeName(v.Type), "object")
}

func compileSort(spec bsoncore.Document) (*sortSpec, error) {
	s, err := query.CompileSort(spec)
	if err != nil {
		return nil, err
	}
	ss := &sortSpec{s: s}
	if dir, ok := s.Natural(); ok {
		ss.natural = dir
		return ss, nil
	}
	if k := s.Keys(); len(k) == 1 && k[0].Key == "_id" {
		if f, _ := bsonkit.ToFloat(k[0].Value); f < 0 {
			ss.idDir = -1
		} else {
			ss.idDir = 1
		}
	}
	return ss, nil
}
