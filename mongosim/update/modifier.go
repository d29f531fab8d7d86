package update

import (
	"strings"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// modResult says what updateExisting did.
type modResult int

const (
	resNoop   modResult = iota
	resNormal           // logged as an update of the whole element
	resAppend           // $push only appended: logged as created array elements
)

// modifier is one operator's behaviour at a leaf of the update tree.
type modifier interface {
	// updateExisting changes the element found at the path.
	updateExisting(st *applyState, e *mval) (modResult, error)
	// newValue is the value of a path the operator creates; only called
	// when allowCreation is true.
	newValue(st *applyState) (bsoncore.Value, error)
	allowCreation() bool
	// allowNonViable: a missing path is a no-op even where it could not
	// be created ($unset); otherwise a non-viable path is PathNotViable.
	allowNonViable() bool
}

// insertOnly marks $setOnInsert.
type insertOnly interface{ insertOnly() bool }

// customLogger lets an operator log other than "updated whole element".
type customLogger interface {
	logExisting(log *diffNode, taken []pathPart, e *mval, res modResult)
}

// modifierNode applies a modifier at its path (mongod's ModifierNode).
type modifierNode struct {
	mod modifier
}

func (n *modifierNode) apply(st *applyState, elem *mval) (bool, error) {
	if io, ok := n.mod.(insertOnly); ok && io.insertOnly() && !st.insert {
		return true, nil
	}
	if len(st.toCreate) > 0 {
		return applyToNonexistent(st, n.mod, elem)
	}
	return applyToExisting(st, n.mod, elem)
}

func applyToExisting(st *applyState, mod modifier, elem *mval) (bool, error) {
	res, err := mod.updateExisting(st, elem)
	if err != nil || res == resNoop {
		return res == resNoop, err
	}
	if len(st.taken) > 0 && st.taken[0].name == "_id" {
		return false, mongoerr.New(mongoerr.ImmutableField,
			"Performing an update on the path '%s' would modify the immutable field '_id'", dotted(st.taken))
	}
	if st.validate && len(st.taken) == 1 {
		if err := validateTopLevel(elem); err != nil {
			return false, err
		}
	}
	if st.log != nil {
		if cl, ok := mod.(customLogger); ok {
			cl.logExisting(st.log, st.taken, elem, res)
		} else {
			st.log.logUpdated(st.taken, elem)
		}
	}
	return false, nil
}

func applyToNonexistent(st *applyState, mod modifier, elem *mval) (bool, error) {
	if !mod.allowCreation() {
		if !mod.allowNonViable() {
			if err := checkViability(elem, st.toCreate, st.taken); err != nil {
				return false, err
			}
		}
		return true, nil
	}
	v, err := mod.newValue(st)
	if err != nil {
		return false, err
	}
	leaf := newLeaf(st.toCreate[len(st.toCreate)-1], v)
	first, err := createPathAt(st.toCreate, elem, leaf)
	if err != nil {
		return false, err
	}
	if st.validate && len(st.taken) == 0 {
		if err := validateTopLevel(first); err != nil {
			return false, err
		}
	}
	if len(st.taken) > 0 && st.taken[0].name == "_id" {
		return false, mongoerr.New(mongoerr.ImmutableField,
			"Updating the path '%s' to %s would modify the immutable field '_id'", dotted(st.taken), elem.String())
	}
	if st.log != nil {
		full := append([]pathPart(nil), st.taken...)
		for i, p := range st.toCreate {
			full = append(full, pathPart{name: p, index: i == 0 && elem.isArray()})
		}
		st.log.logCreated(full, len(st.taken), leaf)
	}
	return false, nil
}

// createPathAt creates parts under elem, ending with leaf; it returns the
// first element created. Arrays are padded with nulls up to an index.
func createPathAt(parts []string, elem *mval, leaf *mval) (*mval, error) {
	if !elem.isContainer() {
		return nil, mongoerr.New(mongoerr.PathNotViable, "Cannot create field '%s' in element {%s}", parts[0], elem.String())
	}
	i := 0
	var first *mval
	if elem.isArray() {
		idx, ok := parseIndex(parts[0])
		if !ok {
			return nil, mongoerr.New(mongoerr.PathNotViable, "Cannot create field '%s' in element {%s}", parts[0], elem.String())
		}
		kids := elem.children()
		if idx > len(kids) {
			if idx-len(kids) > maxPadding {
				return nil, mongoerr.New(mongoerr.CannotBackfillArray, "can't backfill more than %d elements", maxPadding)
			}
			for j := len(kids); j < idx; j++ {
				elem.appendChild(newLeaf("", bsonkit.Null()))
			}
		}
		if len(parts) == 1 {
			elem.appendChild(leaf)
			return leaf, nil
		}
		c := newContainer("", bsoncore.TypeEmbeddedDocument)
		elem.appendChild(c)
		first, elem, i = c, c, 1
	}
	for ; i < len(parts)-1; i++ {
		c := newContainer(parts[i], bsoncore.TypeEmbeddedDocument)
		elem.appendChild(c)
		if first == nil {
			first = c
		}
		elem = c
	}
	leaf.name = parts[len(parts)-1]
	elem.appendChild(leaf)
	if first == nil {
		first = leaf
	}
	return first, nil
}

// maxPadding is mongod's kMaxPaddingAllowed for "a.<n>" past the end.
const maxPadding = 1500000

// checkViability fails when a missing path could never be created.
func checkViability(elem *mval, toCreate []string, taken []pathPart) error {
	if elem.isDoc() {
		return nil
	}
	if elem.isArray() {
		if _, ok := parseIndex(toCreate[0]); ok {
			return nil
		}
	}
	return mongoerr.New(mongoerr.PathNotViable, "Cannot use the part (%s) of (%s.%s) to traverse the element ({%s})",
		toCreate[0], dotted(taken), strings.Join(toCreate, "."), elem.String())
}

// validateTopLevel is the storage check mongod runs on a written top-level
// field: a '$'-prefixed name is only allowed as part of a DBRef.
func validateTopLevel(e *mval) error {
	if !strings.HasPrefix(e.name, "$") || e.parent == nil {
		return nil
	}
	i := indexOf(e)
	if i < 0 { // removed ($unset)
		return nil
	}
	return validateDollarField(e.parent.children(), i, "")
}

func indexOf(e *mval) int {
	for i, k := range e.parent.children() {
		if k == e {
			return i
		}
	}
	return -1
}

// validateDollarField checks fields[i] (whose name starts with '$') the way
// storage_validation does: $ref/$id/$db in DBRef order, anything else is
// DollarPrefixedFieldName. prefix is the dotted path of the container.
func validateDollarField(fields []*mval, i int, prefix string) error {
	cur := i
	name := fields[cur].name
	if name == "$db" {
		if fields[cur].typ != bsoncore.TypeString {
			return mongoerr.New(mongoerr.InvalidDBRef, "The DBRef $db field must be a String, not a %s", bsonkit.TypeName(fields[cur].typ))
		}
		cur--
		if cur < 0 || fields[cur].name != "$id" {
			return mongoerr.New(mongoerr.InvalidDBRef, "Found $db field without a $id before it, which is invalid.")
		}
		name = "$id"
	}
	if name == "$id" {
		cur--
		if cur < 0 || fields[cur].name != "$ref" {
			return mongoerr.New(mongoerr.InvalidDBRef, "Found $id field without a $ref before it, which is invalid.")
		}
		name = "$ref"
	}
	if name == "$ref" {
		if fields[cur].typ != bsoncore.TypeString {
			return mongoerr.New(mongoerr.InvalidDBRef, "The DBRef $ref field must be a String, not a %s", bsonkit.TypeName(fields[cur].typ))
		}
		if cur+1 >= len(fields) || fields[cur+1].name != "$id" {
			return mongoerr.New(mongoerr.InvalidDBRef, "The DBRef $ref field must be followed by a $id field")
		}
		return nil
	}
	full := fields[i].name
	if prefix != "" {
		full = prefix + "." + full
	}
	return mongoerr.New(mongoerr.DollarPrefixedFieldName,
		"The dollar ($) prefixed field '%s' in '%s' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.",
		fields[i].name, full)
}

// conflictPlaceholder marks a $rename source path; applying it does nothing.
type conflictPlaceholder struct{}

func (conflictPlaceholder) apply(*applyState, *mval) (bool, error) { return true, nil }

const opConflictPlaceholder = "$conflictPlaceholder"

// newModifier builds the leaf for one operator argument, validating the
// argument as the operator's init() does in mongod.
func newModifier(op, field string, arg bsoncore.Value, pc *parseContext) (node, error) {
	var (
		m   modifier
		err error
	)
	switch op {
	case opConflictPlaceholder:
		return conflictPlaceholder{}, nil
	case "$rename":
		return newRename(field, arg)
	case "$set":
		m = &setMod{val: arg}
	case "$setOnInsert":
		m = &setMod{val: arg, onInsert: true}
	case "$unset":
		m = unsetMod{}
	case "$inc", "$mul":
		m, err = newArith(op, field, arg)
	case "$min", "$max":
		m = &compareMod{val: arg, max: op == "$max"}
	case "$currentDate":
		m, err = newCurrentDate(arg)
	case "$bit":
		m, err = newBit(arg)
	case "$push":
		m, err = newPush(arg)
	case "$addToSet":
		m, err = newAddToSet(arg)
	case "$pop":
		m, err = newPop(field, arg)
	case "$pull":
		m, err = newPull(arg)
	case "$pullAll":
		m, err = newPullAll(arg)
	default:
		return nil, mongoerr.New(mongoerr.FailedToParse, "Cannot construct modifier of type %s", op)
	}
	if err != nil {
		return nil, err
	}
	return &modifierNode{mod: m}, nil
}

// knownOperators is mongod's modifier table.
var knownOperators = map[string]bool{
	"$addToSet": true, "$bit": true, "$currentDate": true, "$inc": true, "$max": true, "$min": true,
	"$mul": true, "$pop": true, "$pull": true, "$pullAll": true, "$push": true, "$rename": true,
	"$set": true, "$setOnInsert": true, "$unset": true,
}
