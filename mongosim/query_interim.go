package mongosim

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Interim filter/sort support used until package query lands: top-level
// equality and comparison operators only. query_adapter.go's interfaces
// stay; only compileFilter/compileSort/compileProjection change.

type interimCond struct {
	key string
	op  string
	val bsoncore.Value
}

type interimMatcher struct{ conds []interimCond }

func (m *interimMatcher) Match(doc bsoncore.Document) bool { ok, _ := m.MatchPos(doc); return ok }

func (m *interimMatcher) MatchPos(doc bsoncore.Document) (bool, int) {
	for _, c := range m.conds {
		v, err := doc.LookupErr(c.key)
		if err != nil {
			v = bsonkit.Missing
		}
		if !interimEval(c, v) {
			return false, -1
		}
	}
	return true, -1
}

func interimEval(c interimCond, v bsoncore.Value) bool {
	if c.op == "$in" {
		for _, e := range bsonkit.Values(c.val) {
			if interimEval(interimCond{op: "$eq", val: e}, v) {
				return true
			}
		}
		return false
	}
	if c.op == "$eq" && c.val.Type == bsoncore.TypeNull {
		return bsonkit.IsMissing(v) || v.Type == bsoncore.TypeNull
	}
	if bsonkit.IsMissing(v) || bsonkit.TypeBracket(v.Type) != bsonkit.TypeBracket(c.val.Type) {
		return c.op == "$ne"
	}
	r := bsonkit.Compare(v, c.val)
	switch c.op {
	case "$eq":
		return r == 0
	case "$ne":
		return r != 0
	case "$gt":
		return r > 0
	case "$gte":
		return r >= 0
	case "$lt":
		return r < 0
	case "$lte":
		return r <= 0
	}
	return false
}

func compileFilter(f bsoncore.Document) (*compiledFilter, error) {
	if len(f) <= 5 {
		return &compiledFilter{empty: true}, nil
	}
	m := &interimMatcher{}
	cf := &compiledFilter{m: m}
	elems, _ := f.Elements()
	for _, e := range elems {
		k, v := e.Key(), e.Value()
		if strings.HasPrefix(k, "$") {
			return nil, mongoerr.New(mongoerr.BadValue, "unknown top level operator: %s", k)
		}
		if v.Type == bsoncore.TypeEmbeddedDocument && strings.HasPrefix(firstKey(v.Document()), "$") {
			ops, _ := v.Document().Elements()
			for _, op := range ops {
				switch op.Key() {
				case "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in":
					m.conds = append(m.conds, interimCond{key: k, op: op.Key(), val: op.Value()})
				default:
					return nil, mongoerr.New(mongoerr.BadValue, "unknown operator: %s", op.Key())
				}
			}
			continue
		}
		m.conds = append(m.conds, interimCond{key: k, op: "$eq", val: v})
		cf.equalities.Append(k, v)
	}
	for _, c := range m.conds {
		if c.key != "_id" {
			continue
		}
		b := &cf.bounds
		cf.hasBounds = true
		switch c.op {
		case "$eq":
			b.hasEq, b.eq = true, []bsoncore.Value{c.val}
		case "$in":
			b.hasEq, b.eq = true, bsonkit.Values(c.val)
		case "$gt", "$gte":
			b.lo, b.loIncl = c.val, c.op == "$gte"
		case "$lt", "$lte":
			b.hi, b.hiIncl = c.val, c.op == "$lte"
		default:
			cf.hasBounds = b.hasEq || !bsonkit.IsMissing(b.lo) || !bsonkit.IsMissing(b.hi)
		}
	}
	return cf, nil
}

type interimSort struct{ keys bsonkit.Doc }

func (s *interimSort) Compare(a, b bsoncore.Document) int {
	for _, k := range s.keys {
		va, _ := a.LookupErr(k.Key)
		vb, _ := b.LookupErr(k.Key)
		if c := bsonkit.Compare(va, vb); c != 0 {
			if k.Value.AsInt64() < 0 {
				return -c
			}
			return c
		}
	}
	return 0
}

func compileSort(spec bsoncore.Document) (*sortSpec, error) {
	d, err := bsonkit.ParseDoc(spec)
	if err != nil || len(d) == 0 {
		return nil, err
	}
	for _, e := range d {
		if !bsonkit.IsNumber(e.Value.Type) {
			return nil, mongoerr.New(mongoerr.BadValue, "Illegal key in $sort specification: %s", e.Key)
		}
	}
	ss := &sortSpec{s: &interimSort{keys: d}}
	if len(d) == 1 {
		dir := 1
		if d[0].Value.AsInt64() < 0 {
			dir = -1
		}
		switch d[0].Key {
		case "$natural":
			ss.natural = dir
		case "_id":
			ss.idDir = dir
		}
	}
	return ss, nil
}

func compileProjection(spec bsoncore.Document) (docProjector, error) {
	if len(spec) <= 5 {
		return nil, nil
	}
	return nil, mongoerr.New(mongoerr.NotImplemented, "projection not supported yet")
}
