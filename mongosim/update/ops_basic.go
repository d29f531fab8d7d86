package update

import (
	"bytes"
	"strings"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// setMod is $set and $setOnInsert: a no-op only when the stored value is
// bit-identical (same type and bytes).
type setMod struct {
	val      bsoncore.Value
	onInsert bool
}

func (m *setMod) insertOnly() bool     { return m.onInsert }
func (m *setMod) allowCreation() bool  { return true }
func (m *setMod) allowNonViable() bool { return false }

func (m *setMod) updateExisting(_ *applyState, e *mval) (modResult, error) {
	cur := e.value()
	if cur.Type == m.val.Type && bytes.Equal(cur.Data, m.val.Data) {
		return resNoop, nil
	}
	e.set(m.val)
	return resNormal, nil
}

func (m *setMod) newValue(*applyState) (bsoncore.Value, error) { return m.val, nil }

// unsetMod removes a field; an array element becomes null instead.
type unsetMod struct{}

func (unsetMod) allowCreation() bool  { return false }
func (unsetMod) allowNonViable() bool { return true }

func (unsetMod) updateExisting(_ *applyState, e *mval) (modResult, error) {
	if e.parent.isArray() {
		e.set(bsonkit.Null())
	} else {
		e.remove()
	}
	return resNormal, nil
}

func (unsetMod) newValue(*applyState) (bsoncore.Value, error) { return bsoncore.Value{}, nil }

func (unsetMod) logExisting(log *diffNode, taken []pathPart, e *mval, _ modResult) {
	if e.parent.isArray() {
		log.logUpdated(taken, e)
		return
	}
	log.logDeleted(taken)
}

// compareMod is $min / $max by BSON comparison order.
type compareMod struct {
	val bsoncore.Value
	max bool
}

func (m *compareMod) allowCreation() bool  { return true }
func (m *compareMod) allowNonViable() bool { return false }

func (m *compareMod) updateExisting(_ *applyState, e *mval) (modResult, error) {
	c := bsonkit.Compare(e.value(), m.val)
	if c == 0 || (m.max && c > 0) || (!m.max && c < 0) {
		return resNoop, nil
	}
	e.set(m.val)
	return resNormal, nil
}

func (m *compareMod) newValue(*applyState) (bsoncore.Value, error) { return m.val, nil }

// currentDateMod is $currentDate; it always rewrites the field.
type currentDateMod struct {
	date bool
}

func newCurrentDate(arg bsoncore.Value) (modifier, error) {
	switch arg.Type {
	case bsoncore.TypeBoolean:
		return &currentDateMod{date: true}, nil
	case bsoncore.TypeEmbeddedDocument:
		elems, _ := arg.Document().Elements()
		m := &currentDateMod{}
		found := false
		for _, e := range elems {
			if e.Key() != "$type" {
				return nil, mongoerr.New(mongoerr.BadValue, "Unrecognized $currentDate option: %s", e.Key())
			}
			if v := e.Value(); v.Type == bsoncore.TypeString {
				switch v.StringValue() {
				case "date":
					m.date, found = true, true
				case "timestamp":
					m.date, found = false, true
				}
			}
		}
		if !found {
			return nil, mongoerr.New(mongoerr.BadValue,
				"The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : {$type: 'date'}}}")
		}
		return m, nil
	}
	return nil, mongoerr.New(mongoerr.BadValue,
		"%s is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({$type: 'timestamp/date'}).",
		bsonkit.TypeName(arg.Type))
}

func (m *currentDateMod) allowCreation() bool  { return true }
func (m *currentDateMod) allowNonViable() bool { return false }

func (m *currentDateMod) updateExisting(st *applyState, e *mval) (modResult, error) {
	v, _ := m.newValue(st)
	e.set(v)
	return resNormal, nil
}

func (m *currentDateMod) newValue(st *applyState) (bsoncore.Value, error) {
	if m.date {
		return bsonkit.DateTime(st.ctx.Now.UnixMilli()), nil
	}
	return bsonkit.Timestamp(st.ctx.ClusterTime[0], st.ctx.ClusterTime[1]), nil
}

// renameNode is $rename at its destination path: a $set of the source
// value at the destination, then an $unset of the source.
type renameNode struct {
	from, to  string
	fromParts []string
}

func newRename(from string, arg bsoncore.Value) (node, error) {
	to := arg.StringValue()
	if strings.IndexByte(to, 0) >= 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "The 'to' field for $rename cannot contain an embedded null byte")
	}
	fp, tp := splitPath(from), splitPath(to)
	if from == to {
		return nil, mongoerr.New(mongoerr.BadValue, "The source and target field for $rename must differ: %s", bsonkit.FormatElem(from, arg))
	}
	if isPrefixParts(fp, tp) || isPrefixParts(tp, fp) {
		return nil, mongoerr.New(mongoerr.BadValue, "The source and target field for $rename must not be on the same path: %s", bsonkit.FormatElem(from, arg))
	}
	if isDynamic(fp) {
		return nil, mongoerr.New(mongoerr.BadValue, "The source field for $rename may not be dynamic: %s", from)
	}
	if isDynamic(tp) {
		return nil, mongoerr.New(mongoerr.BadValue, "The destination field for $rename may not be dynamic: %s", to)
	}
	return &renameNode{from: from, to: to, fromParts: fp}, nil
}

func isPrefixParts(a, b []string) bool {
	if len(a) >= len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func isDynamic(parts []string) bool {
	for _, p := range parts {
		if isPositional(p) || isArrayFilterIdent(p) {
			return true
		}
	}
	return false
}

func (n *renameNode) apply(st *applyState, elem *mval) (bool, error) {
	root := rootOf(elem)
	from, err := findExisting(n.fromParts, root)
	if err != nil || from == nil {
		return from == nil && err == nil, err
	}
	for p := from.parent; p != root; p = p.parent {
		if p.isArray() {
			return false, mongoerr.New(mongoerr.BadValue,
				"The source field cannot be an array element, '%s' in doc with %s has an array field called '%s'", n.from, idString(root), p.name)
		}
	}
	start := elem
	if len(st.toCreate) == 0 {
		start = elem.parent
	}
	for p := start; p != nil && p != root; p = p.parent {
		if p.isArray() {
			return false, mongoerr.New(mongoerr.BadValue,
				"The destination field cannot be an array element, '%s' in doc with %s has an array field called '%s'", n.to, idString(root), p.name)
		}
	}
	set := &modifierNode{mod: &setElementMod{val: from.value()}}
	if _, err := set.apply(st, elem); err != nil {
		return false, err
	}
	savedTaken, savedCreate := st.taken, st.toCreate
	st.taken = make([]pathPart, len(n.fromParts))
	for i, p := range n.fromParts {
		st.taken[i] = pathPart{name: p}
	}
	st.toCreate = nil
	_, err = applyToExisting(st, unsetMod{}, from)
	st.taken, st.toCreate = savedTaken, savedCreate
	return false, err
}

// setElementMod writes a copied value; unlike $set it never detects a no-op.
type setElementMod struct{ val bsoncore.Value }

func (m *setElementMod) allowCreation() bool  { return true }
func (m *setElementMod) allowNonViable() bool { return false }
func (m *setElementMod) updateExisting(_ *applyState, e *mval) (modResult, error) {
	e.set(m.val)
	return resNormal, nil
}
func (m *setElementMod) newValue(*applyState) (bsoncore.Value, error) { return m.val, nil }

// findExisting is pathsupport::findLongestPrefix reduced to what $rename
// needs: the element at parts, nil when it does not fully exist, or
// PathNotViable when the path runs through a scalar or names a field of
// an array.
func findExisting(parts []string, root *mval) (*mval, error) {
	cur := root
	for i, part := range parts {
		prev := cur
		viable := true
		switch {
		case cur.isDoc():
			cur = cur.field(part)
		case cur.isArray():
			if _, ok := parseIndex(part); ok {
				cur = cur.child(part)
			} else {
				viable = false
			}
		default:
			viable = false
		}
		if !viable {
			return nil, mongoerr.New(mongoerr.PathNotViable, "cannot use the part (%s of %s) to traverse the element ({%s})",
				parts[i-1], strings.Join(parts, "."), prev.String())
		}
		if cur == nil {
			return nil, nil
		}
	}
	return cur, nil
}
