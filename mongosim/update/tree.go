package update

import (
	"sort"
	"strings"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// The operator form of an update is parsed, as mongod does, into one tree
// merged from every operator: object nodes for path levels, array nodes for
// $[]/$[<id>] levels and modifier leaves. Applying the tree visits each
// level's children in lessPath order, which is why fields an update creates
// are appended in that order regardless of which operator created them.

type node interface {
	// apply runs the node on elem (the element at the path taken so far,
	// or the deepest existing ancestor when st.toCreate is not empty) and
	// reports whether nothing changed.
	apply(st *applyState, elem *mval) (noop bool, err error)
}

// objectNode is one document level of the update tree.
type objectNode struct {
	names      []string // child names in lessPath order
	kids       map[string]node
	positional node // the "$" child
}

// arrayNode is a level addressed by $[] (identifier "") or $[<id>].
type arrayNode struct {
	names   []string
	kids    map[string]node
	filters map[string]*arrayFilter
}

func newObjectNode() *objectNode { return &objectNode{kids: map[string]node{}} }

func newArrayNode(f map[string]*arrayFilter) *arrayNode {
	return &arrayNode{kids: map[string]node{}, filters: f}
}

func (n *objectNode) getChild(name string) node {
	if isPositional(name) {
		return n.positional
	}
	return n.kids[name]
}

func (n *objectNode) setChild(name string, c node) {
	if isPositional(name) {
		n.positional = c
		return
	}
	n.kids[name] = c
	n.names = insertSorted(n.names, name)
}

func (n *arrayNode) getChild(name string) node { return n.kids[name] }

func (n *arrayNode) setChild(name string, c node) {
	n.kids[name] = c
	n.names = insertSorted(n.names, name)
}

func insertSorted(names []string, name string) []string {
	i := sort.Search(len(names), func(i int) bool { return !lessPath(names[i], name) })
	names = append(names, "")
	copy(names[i+1:], names[i:])
	names[i] = name
	return names
}

type internalNode interface {
	node
	getChild(name string) node
	setChild(name string, c node)
}

// parseContext carries what parsing one operator document needs.
type parseContext struct {
	filters map[string]*arrayFilter
	found   map[string]bool
}

// parseAndMerge adds one "path: argument" of an operator to the tree.
func parseAndMerge(root *objectNode, op string, field string, arg bsoncore.Value, pc *parseContext) error {
	path := field
	if op == "$rename" {
		// $rename puts a placeholder at the source path so other operators on
		// it conflict, and the rename itself at the destination path.
		if err := parseAndMerge(root, opConflictPlaceholder, field, arg, pc); err != nil {
			return err
		}
		if arg.Type != bsoncore.TypeString {
			return mongoerr.New(mongoerr.BadValue, "The 'to' field for $rename must be a string: %s", bsonkit.FormatElem(field, arg))
		}
		path = arg.StringValue()
	}
	parts := splitPath(path)
	if err := checkUpdatable(path, parts); err != nil {
		return err
	}
	positionalCount, positionalIndex := 0, -1
	for i, p := range parts {
		if isPositional(p) {
			positionalCount++
			if positionalIndex < 0 {
				positionalIndex = i
			}
		}
	}
	if positionalCount > 1 {
		return mongoerr.New(mongoerr.BadValue, "Too many positional (i.e. '$') elements found in path '%s'", path)
	}
	if positionalIndex == 0 {
		return mongoerr.New(mongoerr.BadValue, "Cannot have positional (i.e. '$') element in the first position in path '%s'", path)
	}
	leaf, err := newModifier(op, field, arg, pc)
	if err != nil {
		return err
	}
	var cur internalNode = root
	for i := 0; i < len(parts)-1; i++ {
		name, err := childName(parts, i, pc)
		if err != nil {
			return err
		}
		child := cur.getChild(name)
		wantArray := isArrayFilterIdent(parts[i+1])
		if child != nil {
			_, isArr := child.(*arrayNode)
			_, isObj := child.(*objectNode)
			if (wantArray && !isArr) || (!wantArray && !isObj) {
				return mongoerr.New(mongoerr.ConflictingUpdateOperators,
					"Updating the path '%s' would create a conflict at '%s'", path, strings.Join(parts[:i+1], "."))
			}
		} else {
			if wantArray {
				child = newArrayNode(pc.filters)
			} else {
				child = newObjectNode()
			}
			cur.setChild(name, child)
		}
		cur = child.(internalNode)
	}
	name, err := childName(parts, len(parts)-1, pc)
	if err != nil {
		return err
	}
	if cur.getChild(name) != nil {
		return mongoerr.New(mongoerr.ConflictingUpdateOperators,
			"Updating the path '%s' would create a conflict at '%s'", path, path)
	}
	cur.setChild(name, leaf)
	return nil
}

// childName resolves part i: a $[<id>] part becomes its identifier.
func childName(parts []string, i int, pc *parseContext) (string, error) {
	part := parts[i]
	if !isArrayFilterIdent(part) {
		return part, nil
	}
	path := strings.Join(parts, ".")
	if i == 0 {
		return "", mongoerr.New(mongoerr.BadValue,
			"Cannot have array filter identifier (i.e. '$[<id>]') element in the first position in path '%s'", path)
	}
	id := part[2 : len(part)-1]
	if id != "" {
		if _, ok := pc.filters[id]; !ok {
			return "", mongoerr.New(mongoerr.BadValue, "No array filter found for identifier '%s' in path '%s'", id, path)
		}
		pc.found[id] = true
	}
	return id, nil
}

// mergeNodes combines two nodes that apply to the same element (a
// positional "$" and a named child, or several matching array filters).
func mergeNodes(a, b node, path []string) (node, error) {
	switch x := a.(type) {
	case *objectNode:
		if y, ok := b.(*objectNode); ok {
			m := newObjectNode()
			if err := mergeKids(x.names, x.kids, y.names, y.kids, path, false, m.setChild); err != nil {
				return nil, err
			}
			pos, err := mergeOptional(x.positional, y.positional, append(path, "$"))
			if err != nil {
				return nil, err
			}
			m.positional = pos
			return m, nil
		}
	case *arrayNode:
		if y, ok := b.(*arrayNode); ok {
			m := newArrayNode(x.filters)
			if err := mergeKids(x.names, x.kids, y.names, y.kids, path, true, m.setChild); err != nil {
				return nil, err
			}
			return m, nil
		}
	}
	return nil, mongoerr.New(mongoerr.ConflictingUpdateOperators, "Update created a conflict at '%s'", strings.Join(path, "."))
}

func mergeOptional(a, b node, path []string) (node, error) {
	switch {
	case a == nil:
		return b, nil
	case b == nil:
		return a, nil
	}
	return mergeNodes(a, b, path)
}

func mergeKids(an []string, ak map[string]node, bn []string, bk map[string]node, path []string,
	wrap bool, set func(string, node)) error {
	seen := map[string]bool{}
	for _, names := range [][]string{an, bn} {
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			seg := name
			if wrap {
				seg = "$[" + name + "]"
			}
			p := append(append([]string{}, path...), seg)
			m, err := mergeOptional(ak[name], bk[name], p)
			if err != nil {
				return err
			}
			set(name, m)
		}
	}
	return nil
}
