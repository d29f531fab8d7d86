package update

import (
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// mval is one value of a document being updated. It starts as the raw
// bytes of the original; only the documents and arrays an update walks
// into are expanded into children, and only dirty ones are re-encoded, so
// every untouched value keeps its exact bytes.
type mval struct {
	parent   *mval
	name     string         // field name; for array elements the index
	typ      bsoncore.Type  // current type
	raw      bsoncore.Value // current value unless expanded && dirty
	kids     []*mval        // children once expanded (documents and arrays)
	expanded bool
	dirty    bool
}

func newRoot(doc bsoncore.Document) *mval {
	return &mval{typ: bsoncore.TypeEmbeddedDocument, raw: bsonkit.DocValue(doc)}
}

func newLeaf(name string, v bsoncore.Value) *mval {
	return &mval{name: name, typ: v.Type, raw: v}
}

// newContainer builds an empty, expanded document or array.
func newContainer(name string, t bsoncore.Type) *mval {
	return &mval{name: name, typ: t, expanded: true, dirty: true, kids: []*mval{}}
}

func (m *mval) isDoc() bool   { return m.typ == bsoncore.TypeEmbeddedDocument }
func (m *mval) isArray() bool { return m.typ == bsoncore.TypeArray }
func (m *mval) isContainer() bool {
	return m.typ == bsoncore.TypeEmbeddedDocument || m.typ == bsoncore.TypeArray
}

// expand splits a raw document or array into children.
func (m *mval) expand() {
	if m.expanded || !m.isContainer() {
		return
	}
	m.expanded = true
	elems, _ := bsoncore.Document(m.raw.Data).Elements()
	m.kids = make([]*mval, len(elems))
	for i, e := range elems {
		v := e.Value()
		m.kids[i] = &mval{parent: m, name: e.Key(), typ: v.Type, raw: v}
	}
}

// children returns the expanded children (nil for scalars).
func (m *mval) children() []*mval {
	m.expand()
	return m.kids
}

// field returns the child of a document by name.
func (m *mval) field(name string) *mval {
	for _, k := range m.children() {
		if k.name == name {
			return k
		}
	}
	return nil
}

// child is getChild(): a named field of a document, or the n-th element of
// an array when name is an index.
func (m *mval) child(name string) *mval {
	switch {
	case m.isDoc():
		return m.field(name)
	case m.isArray():
		if i, ok := parseIndex(name); ok {
			kids := m.children()
			if i < len(kids) {
				return kids[i]
			}
		}
	}
	return nil
}

// markDirty flags m and its ancestors for re-encoding.
func (m *mval) markDirty() {
	for p := m; p != nil; p = p.parent {
		p.dirty = true
	}
}

// value returns the current value, re-encoding only dirty containers.
func (m *mval) value() bsoncore.Value {
	if !m.expanded || !m.dirty {
		return m.raw
	}
	buf := make([]byte, 0, len(m.raw.Data)+64)
	if m.isArray() {
		idx, b := bsoncore.AppendArrayStart(buf)
		for i, k := range m.kids {
			b = bsoncore.AppendValueElement(b, bsonkit.Itoa(i), k.value())
		}
		b, _ = bsoncore.AppendArrayEnd(b, idx)
		return bsonkit.ArrayValue(b)
	}
	idx, b := bsoncore.AppendDocumentStart(buf)
	for _, k := range m.kids {
		b = bsoncore.AppendValueElement(b, k.name, k.value())
	}
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	return bsonkit.DocValue(b)
}

// set replaces the value in place (the field keeps its position).
func (m *mval) set(v bsoncore.Value) {
	m.typ = v.Type
	m.raw = v
	m.kids = nil
	m.expanded = false
	m.markDirty()
}

// appendChild adds c at the end of document or array m.
func (m *mval) appendChild(c *mval) {
	m.expand()
	c.parent = m
	if m.isArray() {
		c.name = bsonkit.Itoa(len(m.kids))
	}
	m.kids = append(m.kids, c)
	m.markDirty()
}

// remove detaches m from its parent.
func (m *mval) remove() {
	p := m.parent
	for i, k := range p.kids {
		if k == m {
			p.kids = append(p.kids[:i], p.kids[i+1:]...)
			break
		}
	}
	p.renumber()
	p.markDirty()
}

// setKids replaces all children of a container (array reorder/trim).
func (m *mval) setKids(kids []*mval) {
	m.expand()
	m.kids = kids
	for _, k := range kids {
		k.parent = m
	}
	m.renumber()
	m.markDirty()
}

func (m *mval) renumber() {
	if !m.isArray() {
		return
	}
	for i, k := range m.kids {
		k.name = bsonkit.Itoa(i)
	}
}

// String renders the element as "name: value" for error messages.
func (m *mval) String() string { return bsonkit.FormatElem(m.name, m.value()) }

// idString renders the document's _id element for messages, or "no id".
func idString(root *mval) string {
	if id := root.field("_id"); id != nil {
		return id.String()
	}
	return "no id"
}

// rootOf returns the top of the tree m belongs to.
func rootOf(m *mval) *mval {
	for m.parent != nil {
		m = m.parent
	}
	return m
}
