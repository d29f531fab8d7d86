package update

import (
	"bytes"
	"sort"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Diff computes the updateDescription of a change event between the pre-
// and post-image of a document updated by a pipeline update, as mongod
// derives it from the $v:2 delta it logs (doc_diff::computeDiff):
// documents are compared field by field in order; a field present on both
// sides whose value is a document or array of the same type on both is
// diffed recursively, anything else changed is reported whole; fields
// only in the pre-image are removed, fields only in the post-image (or
// that moved) are reported as updated; arrays report changed or appended
// elements by index and truncation as truncatedArrays. A sub-diff that
// would not be smaller than the new value is replaced by the whole value,
// exactly as mongod's size accounting decides.
func Diff(pre, post bsoncore.Document) Description {
	d, _ := DiffDelta(pre, post)
	return d
}

// DiffDelta is Diff that also reports whether mongod would log the update
// as a delta (true) or, the delta not being smaller than the new document,
// as a full replacement (false) — which change streams report as a
// "replace" event rather than an "update".
func DiffDelta(pre, post bsoncore.Document) (Description, bool) {
	if n := computeDocDiff(pre, post, false, false, deltaOplogPadding); n != nil {
		if len(serializeDiff(n)) < len(post) {
			return n.describe(), true
		}
	}
	return computeDocDiff(pre, post, true, false, deltaOplogPadding).describe(), false
}

// deltaOplogPadding is kSizeOfDeltaOplogEntryMetadata ({$v: 2, diff: …}).
const deltaOplogPadding = 15

// Size accounting constants of mongod's diff builder.
const (
	emptyDocDiffSize   = 5
	emptyArrayDiffSize = 9
	sectionWrapSize    = 8 // type byte, one-letter name, NUL, empty object
)

func computeDocDiff(pre, post bsoncore.Document, ignoreHere, ignoreBelow bool, padding int) *diffNode {
	n := newDocDiff()
	n.size = padding + emptyDocDiffSize
	preE, _ := pre.Elements()
	postE, _ := post.Elements()
	postSize := len(post)
	deletes := map[string]bool{}
	i, j := 0, 0
	for i < len(preE) && j < len(postE) {
		if !ignoreHere && postSize < n.size {
			return nil
		}
		p, q := preE[i], postE[j]
		if bytes.Equal(p, q) {
			i, j = i+1, j+1
			continue
		}
		if p.Key() == q.Key() {
			pv, qv := p.Value(), q.Value()
			if pv.Type == qv.Type && (pv.Type == bsoncore.TypeEmbeddedDocument || pv.Type == bsoncore.TypeArray) {
				subDiff(n, p.Key(), -1, pv, qv, ignoreBelow)
			} else {
				n.addDocEntry('u', p.Key(), qv, nil)
			}
			i, j = i+1, j+1
			continue
		}
		// The pre-image field may reappear later (moved): decide at the end.
		deletes[p.Key()] = true
		i++
	}
	for ; i < len(preE); i++ {
		n.addDocEntry('d', preE[i].Key(), bsoncore.Value{}, nil)
	}
	for ; j < len(postE); j++ {
		n.addDocEntry('i', postE[j].Key(), postE[j].Value(), nil)
		delete(deletes, postE[j].Key())
	}
	names := make([]string, 0, len(deletes))
	for k := range deletes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		n.addDocEntry('d', k, bsoncore.Value{}, nil)
	}
	if ignoreHere || postSize > n.size {
		return n
	}
	return nil
}

func computeArrayDiff(pre, post bsoncore.Array, ignore bool) *diffNode {
	n := newArrayDiff()
	n.size = emptyArrayDiffSize
	preV, _ := pre.Values()
	postV, _ := post.Values()
	postSize := len(post)
	k := 0
	for ; k < len(preV) && k < len(postV); k++ {
		if !ignore && postSize < n.size {
			return nil
		}
		p, q := preV[k], postV[k]
		if p.Type == q.Type && bytes.Equal(p.Data, q.Data) {
			continue
		}
		if p.Type == q.Type && (p.Type == bsoncore.TypeEmbeddedDocument || p.Type == bsoncore.TypeArray) {
			subDiff(n, strconv.Itoa(k), k, p, q, ignore)
		} else {
			n.addArrayEntry(k, q, nil)
		}
	}
	for ; k < len(postV); k++ {
		n.addArrayEntry(k, postV[k], nil)
	}
	if len(preV) > len(postV) {
		n.resize = len(postV)
		n.size += 1 + 4 + 2
	}
	if ignore || postSize > n.size {
		return n
	}
	return nil
}

// subDiff diffs two documents or two arrays under name (or array index idx
// when parent is an array diff) and records either the sub-diff or, when
// it is not worth it, the whole new value.
func subDiff(parent *diffNode, name string, idx int, pre, post bsoncore.Value, ignore bool) {
	var sub *diffNode
	if pre.Type == bsoncore.TypeEmbeddedDocument {
		sub = computeDocDiff(pre.Document(), post.Document(), ignore, ignore, 0)
	} else {
		sub = computeArrayDiff(pre.Array(), post.Array(), ignore)
	}
	switch {
	case parent.array && sub == nil:
		parent.addArrayEntry(idx, post, nil)
	case parent.array:
		parent.addArrayEntry(idx, bsoncore.Value{}, sub)
	case sub == nil:
		parent.addDocEntry('u', name, post, nil)
	default:
		parent.addDocEntry('s', name, bsoncore.Value{}, sub)
	}
}

// addDocEntry records a change with mongod's approximate size accounting.
func (n *diffNode) addDocEntry(kind byte, name string, v bsoncore.Value, sub *diffNode) {
	n.size += len(name) + 2
	switch {
	case sub != nil:
		n.size += sub.size + 1
	case kind == 'd':
		n.size++
	default:
		n.size += len(v.Data)
	}
	if kind != 's' && n.sectionEmpty(kind) {
		n.size += sectionWrapSize
	}
	n.add(kind, &diffEntry{name: name, val: v, sub: sub})
}

func (n *diffNode) sectionEmpty(kind byte) bool {
	switch kind {
	case 'u':
		return len(n.updates) == 0
	case 'i':
		return len(n.inserts) == 0
	}
	return len(n.deletes) == 0
}

func (n *diffNode) addArrayEntry(idx int, v bsoncore.Value, sub *diffNode) {
	name := strconv.Itoa(idx)
	n.size += 1 + len(name) + 2
	kind := byte('u')
	if sub != nil {
		n.size += sub.size
		kind = 's'
	} else {
		n.size += len(v.Data)
	}
	n.add(kind, &diffEntry{name: name, idx: idx, val: v, sub: sub})
}

// serializeDiff writes the $v:2 diff object, used for mongod's final
// "is the delta smaller than the document" decision.
func serializeDiff(n *diffNode) bsoncore.Document {
	idx, b := bsoncore.AppendDocumentStart(nil)
	if n.array {
		b = bsoncore.AppendBooleanElement(b, "a", true)
		if n.resize >= 0 {
			b = bsoncore.AppendInt32Element(b, "l", int32(n.resize))
		}
		entries := append(append([]*diffEntry(nil), n.updates...), n.subs...)
		sort.SliceStable(entries, func(i, j int) bool { return entries[i].idx < entries[j].idx })
		for _, e := range entries {
			if e.sub != nil {
				b = bsoncore.AppendDocumentElement(b, "s"+e.name, serializeDiff(e.sub))
			} else {
				b = bsoncore.AppendValueElement(b, "u"+e.name, e.val)
			}
		}
	} else {
		if len(n.deletes) > 0 {
			sidx, sb := bsoncore.AppendDocumentElementStart(b, "d")
			for _, name := range n.deletes {
				sb = bsoncore.AppendBooleanElement(sb, name, false)
			}
			b, _ = bsoncore.AppendDocumentEnd(sb, sidx)
		}
		for _, sec := range []struct {
			key     string
			entries []*diffEntry
		}{{"u", n.updates}, {"i", n.inserts}} {
			if len(sec.entries) == 0 {
				continue
			}
			sidx, sb := bsoncore.AppendDocumentElementStart(b, sec.key)
			for _, e := range sec.entries {
				sb = bsoncore.AppendValueElement(sb, e.name, e.val)
			}
			b, _ = bsoncore.AppendDocumentEnd(sb, sidx)
		}
		for _, e := range n.subs {
			b = bsoncore.AppendDocumentElement(b, "s"+e.name, serializeDiff(e.sub))
		}
	}
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	return b
}
