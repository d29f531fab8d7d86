package query

import (
	"bytes"
	"math"
	"regexp"
	"sort"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
)

type cmpOp int

const (
	opEQ cmpOp = iota
	opLT
	opLTE
	opGT
	opGTE
)

// cmpLeaf is $eq/$lt/$lte/$gt/$gte (and implicit equality).
type cmpLeaf struct {
	op  cmpOp
	rhs bsoncore.Value
}

func isNaN(v bsoncore.Value) bool {
	switch v.Type {
	case bsoncore.TypeDouble:
		return math.IsNaN(v.Double())
	case bsoncore.TypeDecimal128:
		h, _ := v.Decimal128()
		return h>>58&0x1F == 0x1F
	}
	return false
}

func (c *cmpLeaf) matchValue(v bsoncore.Value, _ *matchState) bool {
	return compareMatch(c.op, v, c.rhs)
}

// compareMatch is MongoDB's ComparisonMatchExpression::matchesSingleElement.
func compareMatch(op cmpOp, v, rhs bsoncore.Value) bool {
	if v.Type != rhs.Type {
		ect, rct := bsonkit.TypeBracket(v.Type), bsonkit.TypeBracket(rhs.Type)
		if ect != rct {
			// null matches missing and undefined for $eq, $lte, $gte.
			if ect+rct == 5 {
				return op == opEQ || op == opLTE || op == opGTE
			}
			switch rhs.Type {
			case bsoncore.TypeMaxKey:
				return op == opLT || op == opLTE
			case bsoncore.TypeMinKey:
				return op == opGT || op == opGTE
			}
			return false
		}
	}
	if op == opEQ {
		if v.Type == bsoncore.TypeString && rhs.Type == bsoncore.TypeString {
			return bytes.Equal(v.Data, rhs.Data)
		}
	} else {
		ln, rn := isNaN(v), isNaN(rhs)
		if ln || rn {
			if op == opLTE || op == opGTE {
				return ln && rn
			}
			return false
		}
	}
	c := bsonkit.Compare(v, rhs)
	switch op {
	case opLT:
		return c < 0
	case opLTE:
		return c <= 0
	case opGT:
		return c > 0
	case opGTE:
		return c >= 0
	}
	return c == 0
}

// inLeaf is $in: a sorted equality set plus regexes.
type inLeaf struct {
	eqs     []bsoncore.Value // sorted by bsonkit.Compare, deduplicated
	regexes []*regexLeaf
	hasNull bool
}

func newInLeaf(vals []bsoncore.Value, regexes []*regexLeaf) *inLeaf {
	l := &inLeaf{regexes: regexes}
	sorted := append([]bsoncore.Value(nil), vals...)
	sort.SliceStable(sorted, func(i, j int) bool { return bsonkit.Compare(sorted[i], sorted[j]) < 0 })
	for _, v := range sorted {
		if v.Type == bsoncore.TypeNull {
			l.hasNull = true
		}
		if n := len(l.eqs); n > 0 && bsonkit.Compare(l.eqs[n-1], v) == 0 {
			continue
		}
		l.eqs = append(l.eqs, v)
	}
	return l
}

func (l *inLeaf) contains(v bsoncore.Value) bool {
	i := sort.Search(len(l.eqs), func(i int) bool { return bsonkit.Compare(l.eqs[i], v) >= 0 })
	return i < len(l.eqs) && bsonkit.Compare(l.eqs[i], v) == 0
}

func (l *inLeaf) matchValue(v bsoncore.Value, st *matchState) bool {
	if l.hasNull && (v.Type == 0 || v.Type == bsoncore.TypeUndefined) {
		return true
	}
	if v.Type != 0 && l.contains(v) {
		return true
	}
	for _, r := range l.regexes {
		if r.matchValue(v, st) {
			return true
		}
	}
	return false
}

// regexLeaf is $regex or a literal regex value.
type regexLeaf struct {
	re       *regexp.Regexp
	pattern  string
	options  string
	literalV bsoncore.Value
}

func (r *regexLeaf) matchValue(v bsoncore.Value, _ *matchState) bool {
	switch v.Type {
	case bsoncore.TypeString:
		return r.re.MatchString(v.StringValue())
	case bsoncore.TypeSymbol:
		return r.re.MatchString(v.Symbol())
	case bsoncore.TypeRegex:
		p, o := v.Regex()
		return p == r.pattern && o == r.options
	}
	return false
}

type existsLeaf struct{}

func (existsLeaf) matchValue(v bsoncore.Value, _ *matchState) bool { return v.Type != 0 }

// typeLeaf is $type with a set of BSON types ("number" = any numeric type).
type typeLeaf struct {
	types  map[bsoncore.Type]bool
	number bool
}

func (t *typeLeaf) matchValue(v bsoncore.Value, _ *matchState) bool {
	if v.Type == 0 {
		return false
	}
	if t.number && bsonkit.IsNumber(v.Type) {
		return true
	}
	return t.types[v.Type]
}

// sizeLeaf is $size: arrays of exactly n elements (n < 0 never matches).
type sizeLeaf struct{ n int }

func (s *sizeLeaf) matchValue(v bsoncore.Value, _ *matchState) bool {
	if v.Type != bsoncore.TypeArray || s.n < 0 {
		return false
	}
	count := 0
	eachElem(v, func(bsoncore.Value) bool { count++; return false })
	return count == s.n
}

// modLeaf is $mod: [divisor, remainder].
type modLeaf struct{ divisor, remainder int64 }

func (m *modLeaf) matchValue(v bsoncore.Value, _ *matchState) bool {
	var n int64
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		n = v.AsInt64()
	case bsoncore.TypeDouble, bsoncore.TypeDecimal128:
		f, _ := bsonkit.ToFloat(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
		t := math.Trunc(f)
		if t >= 9223372036854775808.0 || t < -9223372036854775808.0 {
			return false
		}
		n = int64(t)
	default:
		return false
	}
	if m.divisor == -1 {
		return m.remainder == 0
	}
	return n%m.divisor == m.remainder
}

// elemMatchObjLeaf is $elemMatch with a document filter: some element
// (a document or an array) satisfies the sub-filter.
type elemMatchObjLeaf struct{ sub node }

func (e *elemMatchObjLeaf) matchValue(v bsoncore.Value, st *matchState) bool {
	if v.Type != bsoncore.TypeArray {
		return false
	}
	idx, found := 0, -1
	eachElem(v, func(el bsoncore.Value) bool {
		i := idx
		idx++
		if el.Type != bsoncore.TypeEmbeddedDocument && el.Type != bsoncore.TypeArray {
			return false
		}
		sub := matchState{pos: -1, root: st.root, opts: st.opts, noPos: true}
		ok := e.sub.matches(bsoncore.Document(el.Data), &sub)
		if sub.err != nil && st.err == nil {
			st.err = sub.err
		}
		if ok {
			found = i
			return true
		}
		return false
	})
	if found < 0 {
		return false
	}
	st.record(found)
	return true
}

// elemMatchValueLeaf is $elemMatch with operators: some element satisfies
// all of them directly.
type elemMatchValueLeaf struct{ pred leaf }

func (e *elemMatchValueLeaf) matchValue(v bsoncore.Value, st *matchState) bool {
	if v.Type != bsoncore.TypeArray {
		return false
	}
	idx, found := 0, -1
	saved := st.noPos
	st.noPos = true
	eachElem(v, func(el bsoncore.Value) bool {
		i := idx
		idx++
		if e.pred.matchValue(el, st) {
			found = i
			return true
		}
		return false
	})
	st.noPos = saved
	if found < 0 {
		return false
	}
	st.record(found)
	return true
}

// andLeaf / notLeaf compose element-level predicates inside $elemMatch.
type andLeaf struct{ preds []leaf }

func (a *andLeaf) matchValue(v bsoncore.Value, st *matchState) bool {
	for _, p := range a.preds {
		if !p.matchValue(v, st) {
			return false
		}
	}
	return true
}

type notLeaf struct{ pred leaf }

func (n *notLeaf) matchValue(v bsoncore.Value, st *matchState) bool {
	return !n.pred.matchValue(v, st)
}

type constLeaf struct{ value bool }

func (c constLeaf) matchValue(bsoncore.Value, *matchState) bool { return c.value }

type bitsOp int

const (
	bitsAllSet bitsOp = iota
	bitsAllClear
	bitsAnySet
	bitsAnyClear
)

// bitsLeaf is $bitsAllSet / $bitsAllClear / $bitsAnySet / $bitsAnyClear.
type bitsLeaf struct {
	op        bitsOp
	positions []uint32
	mask      uint64
}

func (b *bitsLeaf) matchValue(v bsoncore.Value, _ *matchState) bool {
	switch v.Type {
	case bsoncore.TypeBinary:
		_, data := v.Binary()
		for _, p := range b.positions {
			set := false
			if int(p/8) < len(data) {
				set = data[p/8]&(1<<(p%8)) != 0
			}
			if done, result := b.step(set); done {
				return result
			}
		}
		return b.op == bitsAllSet || b.op == bitsAllClear
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		return b.test(uint64(v.AsInt64()))
	case bsoncore.TypeDouble:
		f := v.Double()
		if math.IsNaN(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0 || f != math.Trunc(f) {
			return false
		}
		return b.test(uint64(int64(f)))
	case bsoncore.TypeDecimal128:
		f, _ := bsonkit.ToFloat(v)
		if math.IsNaN(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0 || f != math.Trunc(f) {
			return false
		}
		return b.test(uint64(int64(f)))
	}
	return false
}

// step reports whether one bit decides the outcome (and the outcome).
func (b *bitsLeaf) step(set bool) (bool, bool) {
	switch b.op {
	case bitsAllSet:
		return !set, false
	case bitsAllClear:
		return set, false
	case bitsAnySet:
		return set, true
	}
	return !set, true
}

func (b *bitsLeaf) test(x uint64) bool {
	switch b.op {
	case bitsAllSet:
		return x&b.mask == b.mask
	case bitsAllClear:
		return ^x&b.mask == b.mask
	case bitsAnySet:
		return x&b.mask != 0
	}
	return ^x&b.mask != 0
}
