package update

import (
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/query"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// queryMatcher adapts query.Matcher; a $expr evaluation error fails the
// update as it fails the operation in mongod.
type queryMatcher struct{ m *query.Matcher }

func (q queryMatcher) Match(doc bsoncore.Document) (bool, error) {
	ok, _, err := q.m.MatchErr(doc)
	return ok, err
}

// compileQuery compiles a filter used inside an update ($pull conditions,
// arrayFilters); $where and $text are not allowed there.
func compileQuery(f bsoncore.Document) (docMatcher, error) {
	if err := rejectExtensions(f); err != nil {
		return nil, err
	}
	m, err := query.Compile(f)
	if err != nil {
		return nil, err
	}
	return queryMatcher{m}, nil
}

func rejectExtensions(f bsoncore.Document) error {
	elems, _ := f.Elements()
	for _, e := range elems {
		switch e.Key() {
		case "$where", "$text":
			return mongoerr.New(mongoerr.BadValue, "%s is not allowed in this context", e.Key())
		case "$and", "$or", "$nor":
			subs, _ := e.Value().Array().Values()
			for _, s := range subs {
				if s.Type == bsoncore.TypeEmbeddedDocument {
					if err := rejectExtensions(s.Document()); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}
