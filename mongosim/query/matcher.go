// Package query implements MongoDB's query language over raw BSON: the
// filter matcher (array traversal, null semantics, type bracketing),
// projections and sort orders.
package query

import (
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/expr"
)

// Options carries what $expr needs at evaluation time.
type Options struct {
	Vars        map[string]bsoncore.Value // let: variables
	Now         time.Time                 // $$NOW for the whole operation
	ClusterTime bsoncore.Value            // $$CLUSTER_TIME
}

// Matcher is a compiled query filter. It is immutable and safe for
// concurrent use.
type Matcher struct {
	root   node
	filter bsoncore.Document
	opts   Options
	empty  bool
}

// Compile parses a filter document.
func Compile(filter bsoncore.Document) (*Matcher, error) {
	return CompileOptions(filter, Options{})
}

// CompileOptions parses a filter with $expr evaluation options.
func CompileOptions(filter bsoncore.Document, opts Options) (*Matcher, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now() // $$NOW is fixed for the whole operation
	}
	m := &Matcher{filter: filter, opts: opts}
	if len(filter) == 0 {
		filter = emptyDoc
		m.filter = filter
	}
	root, err := parseFilter(filter, levelTop, &m.opts)
	if err != nil {
		return nil, err
	}
	m.root = root
	if a, ok := root.(*andNode); ok && len(a.children) == 0 {
		m.empty = true
	}
	return m, nil
}

var emptyDoc = bsoncore.Document{5, 0, 0, 0, 0}

// Filter returns the filter the matcher was compiled from.
func (m *Matcher) Filter() bsoncore.Document { return m.filter }

// Empty reports whether the filter matches every document ({} or only $comment).
func (m *Matcher) Empty() bool { return m.empty }

// Match reports whether doc satisfies the filter. A runtime error inside
// $expr makes the document not match; use MatchErr to see it.
func (m *Matcher) Match(doc bsoncore.Document) bool {
	ok, _, _ := m.MatchErr(doc)
	return ok
}

// MatchPos also reports the array position matched for the positional `$`
// operator: the first array element that satisfied the query on the array
// field (the last such predicate evaluated wins, as in MongoDB), -1 if none.
func (m *Matcher) MatchPos(doc bsoncore.Document) (bool, int) {
	ok, pos, _ := m.MatchErr(doc)
	return ok, pos
}

// MatchErr is MatchPos that also returns an evaluation error raised by
// $expr (MongoDB fails the whole operation with it).
func (m *Matcher) MatchErr(doc bsoncore.Document) (bool, int, error) {
	if m.empty {
		return true, -1, nil
	}
	// The state escapes through the node interface; pooling it keeps a
	// simple Match allocation-free.
	st := statePool.Get().(*matchState)
	*st = matchState{pos: -1, root: doc, opts: &m.opts}
	ok := m.root.matches(doc, st)
	pos, err := st.pos, st.err
	*st = matchState{}
	statePool.Put(st)
	if err != nil {
		return false, -1, err
	}
	if !ok {
		return false, -1, nil
	}
	return true, pos, nil
}

var statePool = sync.Pool{New: func() any { return new(matchState) }}

// matchState carries per-evaluation results through the tree.
type matchState struct {
	pos  int // last recorded array position, -1 if none
	root bsoncore.Document
	opts *Options
	err  error
	// noPos suppresses position recording under $not / $nor.
	noPos bool
}

func (st *matchState) record(pos int) {
	if pos >= 0 && !st.noPos {
		st.pos = pos
	}
}

// node is one compiled match expression.
type node interface {
	matches(doc bsoncore.Document, st *matchState) bool
}

type andNode struct{ children []node }

func (n *andNode) matches(doc bsoncore.Document, st *matchState) bool {
	for _, c := range n.children {
		if !c.matches(doc, st) {
			// Like MongoDB, a failed conjunction forgets positions its
			// earlier children recorded.
			st.pos = -1
			return false
		}
	}
	return true
}

type orNode struct{ children []node }

func (n *orNode) matches(doc bsoncore.Document, st *matchState) bool {
	for _, c := range n.children {
		if c.matches(doc, st) {
			return true
		}
	}
	return false
}

type norNode struct{ children []node }

func (n *norNode) matches(doc bsoncore.Document, st *matchState) bool {
	saved := st.noPos
	st.noPos = true
	defer func() { st.noPos = saved }()
	for _, c := range n.children {
		if c.matches(doc, st) {
			return false
		}
	}
	return true
}

type notNode struct{ child node }

func (n *notNode) matches(doc bsoncore.Document, st *matchState) bool {
	saved := st.noPos
	st.noPos = true
	ok := n.child.matches(doc, st)
	st.noPos = saved
	return !ok
}

type constNode struct{ value bool }

func (n constNode) matches(bsoncore.Document, *matchState) bool { return n.value }

// leaf tests one value produced by path traversal.
type leaf interface {
	matchValue(v bsoncore.Value, st *matchState) bool
}

// pathNode applies a leaf predicate to the values found along a path.
type pathNode struct {
	path         string
	parts        []string
	traverseLeaf bool
	pred         leaf
	spec         opSpec // what was parsed, for bounds and upsert seeding
}

func (n *pathNode) matches(doc bsoncore.Document, st *matchState) bool {
	found := false
	walkPath(doc, n.parts, n.traverseLeaf, func(v bsoncore.Value, pos int) bool {
		if n.pred.matchValue(v, st) {
			st.record(pos)
			found = true
			return true
		}
		return false
	})
	return found
}

// exprNode is {$expr: ...}.
type exprNode struct{ e expr.Expr }

func (n *exprNode) matches(doc bsoncore.Document, st *matchState) bool {
	ctx := &expr.Ctx{Root: st.root, Vars: st.opts.Vars, Now: st.opts.Now, ClusterTime: st.opts.ClusterTime}
	if doc != nil {
		ctx.Root = doc
	}
	v, err := n.e.Eval(ctx)
	if err != nil {
		if st.err == nil {
			st.err = err
		}
		return false
	}
	return bsonkit.Truthy(v)
}
