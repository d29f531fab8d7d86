package update

import (
	"strconv"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// applyState is what one Apply shares across the tree walk. taken is the
// path of elements that exist; toCreate the parts below them that do not
// (yet). Both are shared by every level, as in mongod's UpdateNode::apply.
type applyState struct {
	ctx      ApplyCtx
	insert   bool   // applying to an upsert's new document
	matched  string // the array index the query matched, for "$"
	validate bool   // storage validation of written values
	log      *diffNode
	taken    []pathPart
	toCreate []string
}

func (n *objectNode) apply(st *applyState, elem *mval) (bool, error) {
	applyPositional := n.positional != nil
	if applyPositional && st.matched == "" {
		return false, mongoerr.New(mongoerr.BadValue, "The positional operator did not find the match needed from the query.")
	}
	noop := true
	for _, name := range n.names {
		child := n.kids[name]
		if applyPositional && name == st.matched {
			// "a.$" and "a.<matched>" address the same element: merge them.
			path := make([]string, 0, len(st.taken)+len(st.toCreate)+1)
			for _, p := range st.taken {
				path = append(path, p.name)
			}
			path = append(path, st.toCreate...)
			path = append(path, st.matched)
			merged, err := mergeNodes(n.positional, child, path)
			if err != nil {
				return false, err
			}
			if err := applyChild(st, merged, name, &elem, &noop); err != nil {
				return false, err
			}
			applyPositional = false
			continue
		}
		if applyPositional && st.matched < name {
			if err := applyChild(st, n.positional, st.matched, &elem, &noop); err != nil {
				return false, err
			}
			applyPositional = false
		}
		if err := applyChild(st, child, name, &elem, &noop); err != nil {
			return false, err
		}
	}
	if applyPositional {
		if err := applyChild(st, n.positional, st.matched, &elem, &noop); err != nil {
			return false, err
		}
	}
	return noop, nil
}

// applyChild applies child to the field of *elem; when the field does not
// exist the child sees *elem with the field appended to toCreate. If the
// child created the missing path, *elem advances onto it so later siblings
// find it (mirrors mongod's applyChild).
func applyChild(st *applyState, child node, field string, elem **mval, noop *bool) error {
	takenBefore := len(st.taken)
	var childElem *mval
	if len(st.toCreate) == 0 {
		childElem = (*elem).child(field)
	}
	if childElem != nil {
		st.taken = append(st.taken, pathPart{name: field, index: (*elem).isArray()})
	} else {
		childElem = *elem
		st.toCreate = append(st.toCreate, field)
	}
	childNoop, err := child.apply(st, childElem)
	if err != nil {
		return err
	}
	*noop = *noop && childNoop
	if len(st.toCreate) > 0 {
		st.toCreate = st.toCreate[:len(st.toCreate)-1]
	} else {
		st.taken = st.taken[:len(st.taken)-1]
	}
	if len(st.taken) > takenBefore {
		for i := takenBefore; i < len(st.taken); i++ {
			*elem = (*elem).child(st.taken[i].name)
		}
	} else if len(st.toCreate) > 0 {
		if c := (*elem).child(st.toCreate[0]); c != nil {
			st.taken = append(st.taken, pathPart{name: st.toCreate[0], index: (*elem).isArray()})
			*elem = c
			for _, part := range st.toCreate[1:] {
				isArr := (*elem).isArray()
				*elem = (*elem).child(part)
				st.taken = append(st.taken, pathPart{name: part, index: isArr})
			}
			st.toCreate = st.toCreate[:0]
		}
	}
	return nil
}

func (n *arrayNode) apply(st *applyState, elem *mval) (bool, error) {
	if len(st.toCreate) > 0 {
		return false, mongoerr.New(mongoerr.BadValue,
			"The path '%s' must exist in the document in order to apply array updates.", dottedWith(st.taken, st.toCreate))
	}
	if !elem.isArray() {
		return false, mongoerr.New(mongoerr.BadValue, "Cannot apply array updates to non-array element %s", elem.String())
	}
	kids := append([]*mval(nil), elem.children()...)
	matching := make([][]node, len(kids))
	nMatching := 0
	for i, k := range kids {
		for _, id := range n.names {
			ok := id == ""
			if !ok {
				var err error
				if ok, err = n.filters[id].matches(k.value()); err != nil {
					return false, err
				}
			}
			if ok {
				matching[i] = append(matching[i], n.kids[id])
			}
		}
		if len(matching[i]) > 0 {
			nMatching++
		}
	}
	// With more than one matching element the children do not log
	// themselves; the array (or the single modified element) is logged here.
	childrenLog := nMatching <= 1
	log := st.log
	noop := true
	nModified := 0
	var modified *mval
	for i, k := range kids {
		if len(matching[i]) == 0 {
			continue
		}
		st.taken = append(st.taken, pathPart{name: k.name, index: true})
		merged := matching[i][0]
		for _, other := range matching[i][1:] {
			path := make([]string, len(st.taken))
			for j, p := range st.taken {
				path[j] = p.name
			}
			var err error
			if merged, err = mergeNodes(merged, other, path); err != nil {
				return false, err
			}
		}
		if !childrenLog {
			st.log = nil
		}
		childNoop, err := merged.apply(st, k)
		st.log = log
		st.taken = st.taken[:len(st.taken)-1]
		if err != nil {
			return false, err
		}
		if !childNoop {
			noop = false
			nModified++
			modified = k
		}
	}
	if !childrenLog && log != nil {
		switch {
		case nModified > 1:
			log.logUpdated(st.taken, elem)
		case nModified == 1:
			log.logUpdated(append(st.taken[:len(st.taken):len(st.taken)], pathPart{name: modified.name, index: true}), modified)
		}
	}
	return noop, nil
}

// matchedField renders the query's matched array position for "$".
func matchedField(pos int) string {
	if pos < 0 {
		return ""
	}
	return strconv.Itoa(pos)
}
