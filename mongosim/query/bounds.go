package query

import (
	"math"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Bounds are the _id constraints a filter implies, for the planner: either
// an equality set (HasEq) or one range [Lo, Hi] (Missing = unbounded). They
// are a superset of the matching _ids; the matcher still decides.
type Bounds struct {
	Eq             []bsoncore.Value
	HasEq          bool
	Lo, Hi         bsoncore.Value
	LoIncl, HiIncl bool
}

// IDBounds derives _id bounds; ok=false means no usable constraint (full scan).
func (m *Matcher) IDBounds() (Bounds, bool) {
	if m.empty {
		return Bounds{}, false
	}
	return idBounds(m.root)
}

func idBounds(n node) (Bounds, bool) {
	switch n := n.(type) {
	case *pathNode:
		if n.path != "_id" {
			return Bounds{}, false
		}
		return specBounds(n.spec)
	case *andNode:
		var best Bounds
		found := false
		for _, c := range n.children {
			b, ok := idBounds(c)
			if !ok {
				continue
			}
			if !found {
				best, found = b, true
				continue
			}
			best = intersectBounds(best, b)
		}
		return best, found
	case *orNode:
		var out Bounds
		for _, c := range n.children {
			b, ok := idBounds(c)
			if !ok || !b.HasEq {
				return Bounds{}, false
			}
			out.Eq = append(out.Eq, b.Eq...)
		}
		out.HasEq = true
		out.Eq = sortedUnique(out.Eq)
		return out, true
	}
	return Bounds{}, false
}

func specBounds(s opSpec) (Bounds, bool) {
	if s.negate || s.notGroup != nil {
		return Bounds{}, false
	}
	if s.isEq {
		if s.eq.Type == bsoncore.TypeRegex || s.eq.Type == bsoncore.TypeArray {
			return Bounds{}, false
		}
		return Bounds{Eq: []bsoncore.Value{s.eq}, HasEq: true}, true
	}
	if s.inSet != nil {
		for _, v := range s.inSet {
			if v.Type == bsoncore.TypeArray {
				return Bounds{}, false
			}
		}
		return Bounds{Eq: sortedUnique(s.inSet), HasEq: true}, true
	}
	v := s.rhs
	if v.Type == bsoncore.TypeMinKey || v.Type == bsoncore.TypeMaxKey || v.Type == bsoncore.TypeArray {
		return Bounds{}, false
	}
	lo, loIncl, hi, hiIncl := bracketEnds(v)
	switch s.op {
	case "$gt":
		return Bounds{Lo: v, LoIncl: false, Hi: hi, HiIncl: hiIncl}, true
	case "$gte":
		return Bounds{Lo: v, LoIncl: true, Hi: hi, HiIncl: hiIncl}, true
	case "$lt":
		return Bounds{Lo: lo, LoIncl: loIncl, Hi: v, HiIncl: false}, true
	case "$lte":
		return Bounds{Lo: lo, LoIncl: loIncl, Hi: v, HiIncl: true}, true
	}
	return Bounds{}, false
}

// bracketEnds returns the smallest and largest values of v's comparison
// bracket (Missing when the bracket has no convenient end value).
func bracketEnds(v bsoncore.Value) (lo bsoncore.Value, loIncl bool, hi bsoncore.Value, hiIncl bool) {
	switch bsonkit.TypeBracket(v.Type) {
	case bsonkit.TypeBracket(bsoncore.TypeDouble):
		return bsonkit.Double(math.NaN()), true, bsonkit.Double(math.Inf(1)), true
	case bsonkit.TypeBracket(bsoncore.TypeString):
		return bsonkit.String(""), true, bsonkit.DocValue(emptyDoc), false
	case bsonkit.TypeBracket(bsoncore.TypeEmbeddedDocument):
		return bsonkit.DocValue(emptyDoc), true, bsonkit.Array(), false
	case bsonkit.TypeBracket(bsoncore.TypeObjectID):
		var zero, ones [12]byte
		for i := range ones {
			ones[i] = 0xff
		}
		return bsonkit.ObjectID(zero), true, bsonkit.ObjectID(ones), true
	case bsonkit.TypeBracket(bsoncore.TypeBoolean):
		return bsonkit.Bool(false), true, bsonkit.Bool(true), true
	case bsonkit.TypeBracket(bsoncore.TypeDateTime):
		return bsonkit.DateTime(math.MinInt64), true, bsonkit.DateTime(math.MaxInt64), true
	case bsonkit.TypeBracket(bsoncore.TypeTimestamp):
		return bsonkit.Timestamp(0, 0), true, bsonkit.Timestamp(math.MaxUint32, math.MaxUint32), true
	case bsonkit.TypeBracket(bsoncore.TypeNull):
		return bsonkit.Null(), true, bsonkit.Null(), true
	}
	return bsonkit.Missing, false, bsonkit.Missing, false
}

func intersectBounds(a, b Bounds) Bounds {
	if a.HasEq && b.HasEq {
		var out []bsoncore.Value
		for _, x := range a.Eq {
			for _, y := range b.Eq {
				if bsonkit.Compare(x, y) == 0 {
					out = append(out, x)
					break
				}
			}
		}
		return Bounds{Eq: out, HasEq: true}
	}
	if a.HasEq {
		return a
	}
	if b.HasEq {
		return b
	}
	out := a
	if b.Lo.Type != 0 {
		if out.Lo.Type == 0 {
			out.Lo, out.LoIncl = b.Lo, b.LoIncl
		} else if c := bsonkit.Compare(b.Lo, out.Lo); c > 0 || (c == 0 && !b.LoIncl) {
			out.Lo, out.LoIncl = b.Lo, b.LoIncl
		}
	}
	if b.Hi.Type != 0 {
		if out.Hi.Type == 0 {
			out.Hi, out.HiIncl = b.Hi, b.HiIncl
		} else if c := bsonkit.Compare(b.Hi, out.Hi); c < 0 || (c == 0 && !b.HiIncl) {
			out.Hi, out.HiIncl = b.Hi, b.HiIncl
		}
	}
	return out
}

func sortedUnique(vals []bsoncore.Value) []bsoncore.Value {
	out := append([]bsoncore.Value(nil), vals...)
	sort.SliceStable(out, func(i, j int) bool { return bsonkit.Compare(out[i], out[j]) < 0 })
	n := 0
	for i, v := range out {
		if i > 0 && bsonkit.Compare(out[n-1], v) == 0 {
			continue
		}
		out[n] = v
		n++
	}
	return out[:n]
}

// Equalities returns the fields an upsert seeds its new document from: the
// equality conditions at the top level of the filter (including inside
// $and, {$eq: v}, single-element $in and single-branch $or), dotted paths
// as written, in filter order. Conflicting paths are dropped; use
// UpsertSeed to get MongoDB's error for them.
func (m *Matcher) Equalities() bsonkit.Doc {
	d, _ := m.UpsertSeed()
	return d
}

// UpsertSeed is Equalities with MongoDB's NotSingleValueField error when a
// path is matched twice or two paths overlap.
func (m *Matcher) UpsertSeed() (bsonkit.Doc, error) {
	var out bsonkit.Doc
	if m.empty {
		return out, nil
	}
	var err error
	collectEqualities(m.root, &out, &err)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func collectEqualities(n node, out *bsonkit.Doc, err *error) {
	switch n := n.(type) {
	case *andNode:
		for _, c := range n.children {
			collectEqualities(c, out, err)
		}
	case *orNode:
		if len(n.children) == 1 {
			collectEqualities(n.children[0], out, err)
		}
	case *pathNode:
		s := n.spec
		var v bsoncore.Value
		switch {
		case s.negate || s.notGroup != nil:
			return
		case s.isEq && s.eq.Type != bsoncore.TypeRegex:
			v = s.eq
		case len(s.inSet) == 1 && s.inSet[0].Type != bsoncore.TypeRegex:
			v = s.inSet[0]
		default:
			return
		}
		for _, e := range *out {
			switch {
			case e.Key == n.path:
				if *err == nil {
					*err = mongoerr.New(mongoerr.NotSingleValueField,
						"cannot infer query fields to set, path '%s' is matched twice", n.path)
				}
				return
			case strings.HasPrefix(n.path, e.Key+".") || strings.HasPrefix(e.Key, n.path+"."):
				if *err == nil {
					*err = mongoerr.New(mongoerr.NotSingleValueField,
						"cannot infer query fields to set, both paths '%s' and '%s' are matched", n.path, e.Key)
				}
				return
			}
		}
		out.Append(n.path, v)
	}
}
