package update

import (
	"math"
	"sort"
	"strings"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// pushMod is $push with the optional $each/$slice/$sort/$position clauses.
type pushMod struct {
	values   []bsoncore.Value
	slice    *int64
	position *int64
	sort     *sortPattern
}

func newPush(arg bsoncore.Value) (modifier, error) {
	m := &pushMod{}
	if arg.Type != bsoncore.TypeEmbeddedDocument || !hasField(arg.Document(), "$each") {
		m.values = []bsoncore.Value{arg}
		return m, nil
	}
	clauses := map[string]bsoncore.Value{}
	elems, _ := arg.Document().Elements()
	for _, e := range elems {
		k := e.Key()
		switch k {
		case "$each", "$slice", "$sort", "$position":
		default:
			return nil, mongoerr.New(mongoerr.BadValue, "Unrecognized clause in $push: %s", k)
		}
		if _, dup := clauses[k]; dup {
			return nil, mongoerr.New(mongoerr.BadValue, "Only one %s is supported.", k)
		}
		clauses[k] = e.Value()
	}
	each := clauses["$each"]
	if each.Type != bsoncore.TypeArray {
		return nil, mongoerr.New(mongoerr.BadValue, "The argument to $each in $push must be an array but it was of type: %s", bsonkit.TypeName(each.Type))
	}
	m.values, _ = each.Array().Values()
	if v, ok := clauses["$slice"]; ok {
		n, err := integerArg("$slice", v)
		if err != nil {
			return nil, mongoerr.New(mongoerr.BadValue, "The value for $slice must be an integer value but was given type: %s", bsonkit.TypeName(v.Type))
		}
		m.slice = &n
	}
	if v, ok := clauses["$sort"]; ok {
		p, err := parsePushSort(v)
		if err != nil {
			return nil, err
		}
		m.sort = p
	}
	if v, ok := clauses["$position"]; ok {
		n, err := integerArg("$position", v)
		if err != nil {
			return nil, mongoerr.New(mongoerr.BadValue, "The value for $position must be an integer value, not of type: %s", bsonkit.TypeName(v.Type))
		}
		m.position = &n
	}
	return m, nil
}

func hasField(d bsoncore.Document, name string) bool {
	_, err := d.LookupErr(name)
	return err == nil
}

// integerArg is parseIntegerElementToLong: any number holding an exact
// 64-bit integer.
func integerArg(name string, v bsoncore.Value) (int64, error) {
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		return v.AsInt64(), nil
	case bsoncore.TypeDouble:
		f := v.Double()
		if math.IsNaN(f) {
			return 0, mongoerr.New(mongoerr.FailedToParse, "Expected an integer, but found NaN in: %s", bsonkit.FormatElem(name, v))
		}
		if f >= 9223372036854775808.0 || f < -9223372036854775808.0 {
			return 0, mongoerr.New(mongoerr.FailedToParse, "Cannot represent as a 64-bit integer: %s", bsonkit.FormatElem(name, v))
		}
		if f != math.Trunc(f) {
			return 0, mongoerr.New(mongoerr.FailedToParse, "Expected an integer: %s", bsonkit.FormatElem(name, v))
		}
		return int64(f), nil
	case bsoncore.TypeDecimal128:
		if n, ok := bsonkit.DecimalOf(v).Int64Exact(); ok {
			return n, nil
		}
		return 0, mongoerr.New(mongoerr.FailedToParse, "Cannot represent as a 64-bit integer: %s", bsonkit.FormatElem(name, v))
	}
	return 0, mongoerr.New(mongoerr.FailedToParse, "Expected a number in: %s", bsonkit.FormatElem(name, v))
}

func (m *pushMod) allowCreation() bool  { return true }
func (m *pushMod) allowNonViable() bool { return false }

func (m *pushMod) updateExisting(_ *applyState, e *mval) (modResult, error) {
	if !e.isArray() {
		return resNoop, mongoerr.New(mongoerr.BadValue, "The field '%s' must be an array but is of type %s in document {%s}",
			pathOf(e), bsonkit.TypeName(e.typ), idString(rootOf(e)))
	}
	return m.push(e), nil
}

func (m *pushMod) newValue(*applyState) (bsoncore.Value, error) {
	arr := newContainer("", bsoncore.TypeArray)
	m.push(arr)
	return arr.value(), nil
}

func (m *pushMod) push(arr *mval) modResult {
	kids := append([]*mval(nil), arr.children()...)
	res := resNoop
	if len(m.values) > 0 {
		size := int64(len(kids))
		at := size
		res = resNormal
		switch {
		case size == 0:
		case m.position == nil || *m.position > size:
			res = resAppend
		case *m.position > 0:
			at = *m.position
		case *m.position < 0 && -*m.position < size:
			at = size + *m.position
		default:
			at = 0
		}
		added := make([]*mval, len(m.values))
		for i, v := range m.values {
			added[i] = newLeaf("", v)
		}
		kids = append(kids[:at], append(added, kids[at:]...)...)
	}
	if m.sort != nil {
		res = resNormal
		sort.SliceStable(kids, func(i, j int) bool { return m.sort.less(kids[i].value(), kids[j].value()) })
	}
	if m.slice != nil {
		limit := *m.slice
		if limit < 0 {
			limit = -limit
		}
		if int64(len(kids)) > limit {
			res = resNormal
			if *m.slice >= 0 {
				kids = kids[:limit]
			} else {
				kids = kids[int64(len(kids))-limit:]
			}
		}
	}
	if res != resNoop {
		arr.setKids(kids)
	}
	return res
}

// logExisting logs appended elements one by one, anything else as the
// whole array, as mongod's PushNode does.
func (m *pushMod) logExisting(log *diffNode, taken []pathPart, e *mval, res modResult) {
	if res != resAppend {
		log.logUpdated(taken, e)
		return
	}
	kids := e.children()
	first := len(kids) - len(m.values)
	for i := first; i < len(kids); i++ {
		path := append(append([]pathPart(nil), taken...), pathPart{name: kids[i].name, index: true})
		log.logCreated(path, len(path)-1, kids[i])
	}
}

// sortPattern is $push's $sort: the whole value (1/-1) or fields.
type sortPattern struct {
	whole  bool
	desc   bool
	fields []sortField
}

type sortField struct {
	path []string
	desc bool
}

func parsePushSort(v bsoncore.Value) (*sortPattern, error) {
	switch {
	case v.Type == bsoncore.TypeEmbeddedDocument:
		elems, _ := v.Document().Elements()
		if len(elems) == 0 {
			return nil, mongoerr.New(mongoerr.BadValue, "The sort pattern is empty when it should be a set of fields.")
		}
		p := &sortPattern{}
		for _, e := range elems {
			dir := 0.0
			if bsonkit.IsNumber(e.Value().Type) {
				dir, _ = bsonkit.ToFloat(e.Value())
			}
			if dir != 1 && dir != -1 {
				return nil, mongoerr.New(mongoerr.BadValue, "The sort element value must be either 1 or -1")
			}
			parts := splitPath(e.Key())
			if len(parts) == 0 {
				return nil, mongoerr.New(mongoerr.BadValue, "The sort field cannot be empty")
			}
			for _, part := range parts {
				if part == "" {
					return nil, mongoerr.New(mongoerr.BadValue, "The sort field is a dotted field but has an empty part: %s", e.Key())
				}
			}
			p.fields = append(p.fields, sortField{path: parts, desc: dir < 0})
		}
		return p, nil
	case bsonkit.IsNumber(v.Type):
		dir, _ := bsonkit.ToFloat(v)
		if dir != 1 && dir != -1 {
			return nil, mongoerr.New(mongoerr.BadValue, "The $sort element value must be either 1 or -1")
		}
		return &sortPattern{whole: true, desc: dir < 0}, nil
	}
	return nil, mongoerr.New(mongoerr.BadValue, "The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields")
}

// less orders two array elements. Field patterns read each field with
// dotted lookup (missing is null); non-documents have no fields.
func (p *sortPattern) less(a, b bsoncore.Value) bool {
	if p.whole {
		c := bsonkit.Compare(a, b)
		if p.desc {
			return c > 0
		}
		return c < 0
	}
	for _, f := range p.fields {
		c := bsonkit.Compare(sortKey(a, f.path), sortKey(b, f.path))
		if f.desc {
			c = -c
		}
		if c != 0 {
			return c < 0
		}
	}
	return false
}

func sortKey(v bsoncore.Value, path []string) bsoncore.Value {
	if v.Type != bsoncore.TypeEmbeddedDocument {
		return bsonkit.Null()
	}
	cur := v
	for _, part := range path {
		if cur.Type != bsoncore.TypeEmbeddedDocument && cur.Type != bsoncore.TypeArray {
			return bsonkit.Null()
		}
		next, err := bsoncore.Document(cur.Data).LookupErr(part)
		if err != nil {
			return bsonkit.Null()
		}
		cur = next
	}
	return cur
}

// addToSetMod is $addToSet (with optional $each).
type addToSetMod struct {
	values []bsoncore.Value
}

func newAddToSet(arg bsoncore.Value) (modifier, error) {
	m := &addToSetMod{}
	var vals []bsoncore.Value
	if arg.Type == bsoncore.TypeEmbeddedDocument {
		elems, _ := arg.Document().Elements()
		if len(elems) > 0 && elems[0].Key() == "$each" {
			first := elems[0].Value()
			if first.Type != bsoncore.TypeArray {
				return nil, mongoerr.New(mongoerr.TypeMismatch,
					"The argument to $each in $addToSet must be an array but it was of type %s", bsonkit.TypeName(first.Type))
			}
			if len(elems) > 1 {
				return nil, mongoerr.New(mongoerr.BadValue, "Found unexpected fields after $each in $addToSet: %s", bsonkit.FormatDoc(arg.Document()))
			}
			vals, _ = first.Array().Values()
		} else {
			vals = []bsoncore.Value{arg}
		}
	} else {
		vals = []bsoncore.Value{arg}
	}
	for _, v := range vals {
		if !containsEqual(m.values, v) {
			m.values = append(m.values, v)
		}
	}
	return m, nil
}

func containsEqual(list []bsoncore.Value, v bsoncore.Value) bool {
	for _, x := range list {
		if bsonkit.Compare(x, v) == 0 {
			return true
		}
	}
	return false
}

func (m *addToSetMod) allowCreation() bool  { return true }
func (m *addToSetMod) allowNonViable() bool { return false }

func (m *addToSetMod) updateExisting(_ *applyState, e *mval) (modResult, error) {
	if !e.isArray() {
		return resNoop, mongoerr.New(mongoerr.BadValue,
			"Cannot apply $addToSet to non-array field. Field named '%s' has non-array type %s", e.name, bsonkit.TypeName(e.typ))
	}
	existing := make([]bsoncore.Value, 0, len(e.children()))
	for _, k := range e.children() {
		existing = append(existing, k.value())
	}
	var add []bsoncore.Value
	for _, v := range m.values {
		if !containsEqual(existing, v) {
			add = append(add, v)
		}
	}
	if len(add) == 0 {
		return resNoop, nil
	}
	for _, v := range add {
		e.appendChild(newLeaf("", v))
	}
	return resNormal, nil
}

func (m *addToSetMod) newValue(*applyState) (bsoncore.Value, error) {
	return bsonkit.Array(m.values...), nil
}

// popMod is $pop: 1 removes the last element, -1 the first.
type popMod struct{ front bool }

func newPop(field string, arg bsoncore.Value) (modifier, error) {
	n, err := integerArg(field, arg)
	if err != nil {
		return nil, err
	}
	if n != 1 && n != -1 {
		return nil, mongoerr.New(mongoerr.FailedToParse, "$pop expects 1 or -1, found: %d", n)
	}
	return &popMod{front: n == -1}, nil
}

func (m *popMod) allowCreation() bool  { return false }
func (m *popMod) allowNonViable() bool { return false }

func (m *popMod) updateExisting(_ *applyState, e *mval) (modResult, error) {
	if !e.isArray() {
		return resNoop, mongoerr.New(mongoerr.TypeMismatch, "Path '%s' contains an element of non-array type '%s'", pathOf(e), bsonkit.TypeName(e.typ))
	}
	kids := e.children()
	if len(kids) == 0 {
		return resNoop, nil
	}
	if m.front {
		kids[0].remove()
	} else {
		kids[len(kids)-1].remove()
	}
	return resNormal, nil
}

func (m *popMod) newValue(*applyState) (bsoncore.Value, error) { return bsoncore.Value{}, nil }

// cullMod is $pull and $pullAll: remove every element the matcher accepts.
type cullMod struct {
	match func(bsoncore.Value) (bool, error)
}

func newPullAll(arg bsoncore.Value) (modifier, error) {
	if arg.Type != bsoncore.TypeArray {
		return nil, mongoerr.New(mongoerr.BadValue, "$pullAll requires an array argument but was given a %s", bsonkit.TypeName(arg.Type))
	}
	vals, _ := arg.Array().Values()
	return &cullMod{match: func(v bsoncore.Value) (bool, error) { return containsEqual(vals, v), nil }}, nil
}

func (m *cullMod) allowCreation() bool  { return false }
func (m *cullMod) allowNonViable() bool { return false }

func (m *cullMod) updateExisting(_ *applyState, e *mval) (modResult, error) {
	if !e.isArray() {
		return resNoop, mongoerr.New(mongoerr.BadValue, "Cannot apply $pull to a non-array value")
	}
	kids := e.children()
	keep := make([]*mval, 0, len(kids))
	for _, k := range kids {
		ok, err := m.match(k.value())
		if err != nil {
			return resNoop, err
		}
		if !ok {
			keep = append(keep, k)
		}
	}
	if len(keep) == len(kids) {
		return resNoop, nil
	}
	e.setKids(keep)
	return resNormal, nil
}

func (m *cullMod) newValue(*applyState) (bsoncore.Value, error) { return bsoncore.Value{}, nil }

// pathOf is the dotted path of an element from the document root.
func pathOf(e *mval) string {
	var parts []string
	for p := e; p != nil && p.parent != nil; p = p.parent {
		parts = append(parts, p.name)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ".")
}
