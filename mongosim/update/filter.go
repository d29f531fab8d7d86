package update

import (
	"regexp"
	"sort"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// docMatcher is a compiled query filter.
type docMatcher interface {
	Match(doc bsoncore.Document) (bool, error)
}

// arrayFilter is one compiled arrayFilters entry; it matches an array
// element as the document {<identifier>: element}.
type arrayFilter struct {
	id string
	m  docMatcher
}

func (f *arrayFilter) matches(v bsoncore.Value) (bool, error) {
	return f.m.Match(bsonkit.D(f.id, v))
}

var placeholderPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// parseArrayFilters compiles the arrayFilters option. It returns the
// filters by identifier and the identifiers in sorted order (mongod keeps
// them in a std::map, so the unused-filter error names the first sorted).
func parseArrayFilters(raw []bsoncore.Document) (map[string]*arrayFilter, []string, error) {
	filters := map[string]*arrayFilter{}
	for _, f := range raw {
		if _, err := f.LookupErr("$expr"); err == nil {
			return nil, nil, withContext(mongoerr.New(mongoerr.QueryFeatureNotAllowed, "$expr is not allowed in this context"), "Error parsing array filter")
		}
		m, err := compileQuery(f)
		if err != nil {
			return nil, nil, withContext(err, "Error parsing array filter")
		}
		id, err := topLevelFieldName(f)
		if err != nil {
			return nil, nil, withContext(err, "Error parsing array filter")
		}
		if id == "" {
			return nil, nil, mongoerr.New(mongoerr.FailedToParse, "Cannot use an expression without a top-level field name in arrayFilters")
		}
		if !placeholderPattern.MatchString(id) {
			return nil, nil, withContext(mongoerr.New(mongoerr.BadValue,
				"The top-level field name must be an alphanumeric string beginning with a lowercase letter, found '%s'", id),
				"Error parsing array filter")
		}
		if _, dup := filters[id]; dup {
			return nil, nil, mongoerr.New(mongoerr.FailedToParse, "Found multiple array filters with the same top-level field name %s", id)
		}
		filters[id] = &arrayFilter{id: id, m: m}
	}
	order := make([]string, 0, len(filters))
	for id := range filters {
		order = append(order, id)
	}
	sort.Strings(order)
	return filters, order, nil
}

// topLevelFieldName is the placeholder of a filter: the first component of
// every path in it, looking through $and/$or/$nor; "" when it has none.
func topLevelFieldName(f bsoncore.Document) (string, error) {
	elems, _ := f.Elements()
	id := ""
	note := func(name string) error {
		if name == "" {
			return nil
		}
		if id != "" && id != name {
			return mongoerr.New(mongoerr.FailedToParse, "Expected a single top-level field name, found '%s' and '%s'", id, name)
		}
		id = name
		return nil
	}
	for _, e := range elems {
		k := e.Key()
		switch {
		case k == "$and" || k == "$or" || k == "$nor":
			subs, _ := e.Value().Array().Values()
			for _, s := range subs {
				if s.Type != bsoncore.TypeEmbeddedDocument {
					continue
				}
				name, err := topLevelFieldName(s.Document())
				if err != nil {
					return "", err
				}
				if err := note(name); err != nil {
					return "", err
				}
			}
		case len(k) > 0 && k[0] == '$':
			// $comment, $alwaysTrue and the like carry no field name.
		default:
			first := k
			for i := 0; i < len(k); i++ {
				if k[i] == '.' {
					first = k[:i]
					break
				}
			}
			if err := note(first); err != nil {
				return "", err
			}
		}
	}
	return id, nil
}

// withContext prefixes an error's message as mongod's Status::withContext.
func withContext(err error, ctx string) error {
	if me, ok := err.(*mongoerr.Error); ok {
		return &mongoerr.Error{Code: me.Code, Msg: ctx + " :: caused by :: " + me.Msg, Labels: me.Labels, Extra: me.Extra}
	}
	return err
}

// newPull builds $pull's element matcher: an object whose first field is
// not a query operator is a query on document elements; an operator object
// or a regex is matched against each element as {"": element}; anything
// else must equal the element.
func newPull(arg bsoncore.Value) (modifier, error) {
	switch {
	case arg.Type == bsoncore.TypeEmbeddedDocument && !firstIsPathOperator(arg.Document()):
		m, err := compileQuery(arg.Document())
		if err != nil {
			return nil, err
		}
		return &cullMod{match: func(v bsoncore.Value) (bool, error) {
			if v.Type != bsoncore.TypeEmbeddedDocument {
				return false, nil
			}
			return m.Match(v.Document())
		}}, nil
	case arg.Type == bsoncore.TypeEmbeddedDocument || arg.Type == bsoncore.TypeRegex:
		m, err := compileQuery(bsonkit.D("", arg))
		if err != nil {
			return nil, err
		}
		return &cullMod{match: func(v bsoncore.Value) (bool, error) {
			return m.Match(bsonkit.D("", v))
		}}, nil
	}
	return &cullMod{match: func(v bsoncore.Value) (bool, error) { return bsonkit.Compare(v, arg) == 0, nil }}, nil
}

// pathOperators are the operators MatchExpressionParser accepts under a
// field name (parsePathAcceptingKeyword).
var pathOperators = map[string]bool{
	"$eq": true, "$ne": true, "$gt": true, "$gte": true, "$lt": true, "$lte": true, "$in": true, "$nin": true,
	"$all": true, "$size": true, "$exists": true, "$type": true, "$mod": true, "$regex": true, "$options": true,
	"$elemMatch": true, "$not": true, "$near": true, "$nearSphere": true, "$geoWithin": true, "$within": true,
	"$geoIntersects": true, "$bitsAllSet": true, "$bitsAllClear": true, "$bitsAnySet": true, "$bitsAnyClear": true,
	"$jsonSchema": false, "$expr": false,
}

func firstIsPathOperator(d bsoncore.Document) bool {
	elems, _ := d.Elements()
	return len(elems) > 0 && pathOperators[elems[0].Key()]
}
