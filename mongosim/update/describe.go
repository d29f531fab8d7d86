package update

import (
	"sort"
	"strconv"
	"strings"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Truncation is one truncatedArrays entry of a change event.
type Truncation struct {
	Field   string
	NewSize int32
}

// Description is a change event's updateDescription.
type Description struct {
	UpdatedFields      bsonkit.Doc
	RemovedFields      []string
	TruncatedArrays    []Truncation
	DisambiguatedPaths bsonkit.Doc
}

// Document renders the description in MongoDB's field order;
// disambiguatedPaths is included (possibly empty) when expanded is set,
// as with showExpandedEvents.
func (d Description) Document(expanded bool) bsoncore.Document {
	removed := make([]bsoncore.Value, len(d.RemovedFields))
	for i, f := range d.RemovedFields {
		removed[i] = bsonkit.String(f)
	}
	truncated := make([]bsoncore.Value, len(d.TruncatedArrays))
	for i, t := range d.TruncatedArrays {
		truncated[i] = bsonkit.DocValue(bsonkit.D("field", bsonkit.String(t.Field), "newSize", bsonkit.Int32(t.NewSize)))
	}
	out := bsonkit.Doc{
		{Key: "updatedFields", Value: d.UpdatedFields.Value()},
		{Key: "removedFields", Value: bsonkit.Array(removed...)},
		{Key: "truncatedArrays", Value: bsonkit.Array(truncated...)},
	}
	if expanded {
		out = append(out, bsonkit.Elem{Key: "disambiguatedPaths", Value: d.DisambiguatedPaths.Value()})
	}
	return out.Bytes()
}

// diffNode is a $v:2 delta tree, built either by logging an operator
// update as it is applied (as mongod's V2LogBuilder does) or by comparing a
// pre- and post-image (as computeDiff does for pipeline updates). The
// description is read from it the way change streams read the oplog diff.
type diffNode struct {
	array     bool
	insertion bool // a document created by the update (logged whole)
	updates   []*diffEntry
	inserts   []*diffEntry
	deletes   []string
	subs      []*diffEntry
	byName    map[string]*diffEntry
	resize    int // new array length, -1 when not truncated
	size      int // approximate serialized size (computeDiff's bail-out)
}

type diffEntry struct {
	name string
	idx  int // array position for array nodes
	elem *mval
	val  bsoncore.Value
	sub  *diffNode // sub-diff, or the contents of a created document
}

func (e *diffEntry) value() bsoncore.Value {
	switch {
	case e.elem != nil:
		return e.elem.value()
	case e.sub != nil && e.sub.insertion:
		return e.sub.insertedDoc()
	}
	return e.val
}

func newDocDiff() *diffNode { return &diffNode{byName: map[string]*diffEntry{}, resize: -1} }
func newArrayDiff() *diffNode {
	return &diffNode{array: true, byName: map[string]*diffEntry{}, resize: -1}
}

// insertedDoc builds the value of a document created by the update.
func (n *diffNode) insertedDoc() bsoncore.Value {
	var d bsonkit.Doc
	for _, e := range n.inserts {
		d = append(d, bsonkit.Elem{Key: e.name, Value: e.value()})
	}
	return d.Value()
}

func (n *diffNode) add(kind byte, e *diffEntry) {
	n.byName[e.name] = e
	switch kind {
	case 'u':
		n.updates = append(n.updates, e)
	case 'i':
		n.inserts = append(n.inserts, e)
	case 'd':
		n.deletes = append(n.deletes, e.name)
	case 's':
		n.subs = append(n.subs, e)
	}
}

// Logging (operator updates). Paths carry which parts are array indexes.

func (n *diffNode) logUpdated(path []pathPart, m *mval) {
	n.addAtPath(path, 0, 'u', &diffEntry{elem: m}, -1)
}

func (n *diffNode) logCreated(path []pathPart, firstNew int, m *mval) {
	n.addAtPath(path, 0, 'i', &diffEntry{elem: m}, firstNew)
}

func (n *diffNode) logDeleted(path []pathPart) {
	n.addAtPath(path, 0, 'd', &diffEntry{}, -1)
}

func (n *diffNode) addAtPath(path []pathPart, i int, kind byte, e *diffEntry, firstNew int) {
	part := path[i].name
	if i == len(path)-1 {
		e.name = part
		if n.array {
			e.idx, _ = strconv.Atoi(part)
			if kind == 'i' {
				kind = 'u' // array diffs have only u<idx> entries
			}
		}
		n.add(kind, e)
		return
	}
	child, ok := n.byName[part]
	if !ok {
		newPath := firstNew >= 0 && i >= firstNew
		var sub *diffNode
		kindHere := byte('s')
		switch {
		case path[i+1].index:
			sub = newArrayDiff()
		case newPath:
			sub = newDocDiff()
			sub.insertion = true
			kindHere = 'i'
		default:
			sub = newDocDiff()
		}
		child = &diffEntry{name: part, sub: sub}
		if n.array {
			child.idx, _ = strconv.Atoi(part)
			if kindHere == 'i' {
				kindHere = 'u'
			}
		}
		n.add(kindHere, child)
	}
	child.sub.addAtPath(path, i+1, kind, e, firstNew)
}

// describe reads the delta tree in change-stream order: per document
// level updates then inserts as updatedFields, deletes as removedFields,
// then sub-diffs; array levels report truncation then entries by index.
func (n *diffNode) describe() Description {
	b := &describer{}
	b.walk(n, nil)
	return Description{
		UpdatedFields:      b.updated,
		RemovedFields:      b.removed,
		TruncatedArrays:    b.truncated,
		DisambiguatedPaths: b.disambiguated,
	}
}

type describer struct {
	updated       bsonkit.Doc
	removed       []string
	truncated     []Truncation
	disambiguated bsonkit.Doc
}

type descPart struct {
	name  string
	index bool
}

func (b *describer) walk(n *diffNode, path []descPart) {
	if n.array {
		if n.resize >= 0 {
			b.truncated = append(b.truncated, Truncation{Field: joinDesc(path), NewSize: int32(n.resize)})
			b.noteAmbiguous(path)
		}
		entries := append(append(append([]*diffEntry(nil), n.updates...), n.inserts...), n.subs...)
		sort.SliceStable(entries, func(i, j int) bool { return entries[i].idx < entries[j].idx })
		for _, e := range entries {
			p := appendDesc(path, descPart{name: strconv.Itoa(e.idx), index: true})
			if e.sub != nil && !e.sub.insertion {
				b.walk(e.sub, p)
				continue
			}
			b.addUpdated(p, e.value())
		}
		return
	}
	for _, e := range n.updates {
		b.addUpdated(appendDesc(path, descPart{name: e.name}), e.value())
	}
	for _, e := range n.inserts {
		b.addUpdated(appendDesc(path, descPart{name: e.name}), e.value())
	}
	for _, name := range n.deletes {
		p := appendDesc(path, descPart{name: name})
		b.removed = append(b.removed, joinDesc(p))
		b.noteAmbiguous(p)
	}
	for _, e := range n.subs {
		b.walk(e.sub, appendDesc(path, descPart{name: e.name}))
	}
}

func (b *describer) addUpdated(p []descPart, v bsoncore.Value) {
	b.updated = append(b.updated, bsonkit.Elem{Key: joinDesc(p), Value: v})
	b.noteAmbiguous(p)
}

// noteAmbiguous adds a disambiguatedPaths entry when a field name in the
// path contains a dot, or a field name after the first is numeric.
func (b *describer) noteAmbiguous(p []descPart) {
	ambiguous := false
	for i, part := range p {
		if part.index {
			continue
		}
		if (i > 0 && isNumericStrict(part.name)) || strings.Contains(part.name, ".") {
			ambiguous = true
			break
		}
	}
	if !ambiguous {
		return
	}
	comps := make([]bsoncore.Value, len(p))
	for i, part := range p {
		if part.index {
			n, _ := strconv.Atoi(part.name)
			comps[i] = bsonkit.Int32(int32(n))
		} else {
			comps[i] = bsonkit.String(part.name)
		}
	}
	b.disambiguated = append(b.disambiguated, bsonkit.Elem{Key: joinDesc(p), Value: bsonkit.Array(comps...)})
}

func appendDesc(p []descPart, x descPart) []descPart {
	return append(append(make([]descPart, 0, len(p)+1), p...), x)
}

func joinDesc(p []descPart) string {
	names := make([]string, len(p))
	for i, x := range p {
		names[i] = x.name
	}
	return strings.Join(names, ".")
}
