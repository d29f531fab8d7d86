package query

import (
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/expr"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

type projKind int

const (
	kNested projKind = iota
	kInclude
	kExclude
	kExpr
	kSlice
	kElemMatch
	kPositional
)

type projNode struct {
	kind        projKind
	expr        expr.Expr
	skip, limit int
	hasSkip     bool
	elemMatch   *Matcher // matches {field: {$elemMatch: ...}} on the parent document
	children    map[string]*projNode
	order       []string
	hasComputed bool // subtree contains expressions (fields may be created)
}

// ProjectionMode selects the dialect being parsed.
type ProjectionMode int

const (
	// ModeFind is a find/findAndModify projection: $slice, $elemMatch and
	// positional "a.$" are projection operators.
	ModeFind ProjectionMode = iota
	// ModeProject is the aggregation $project stage.
	ModeProject
	// ModeAddFields is $addFields/$set: every value is an expression
	// merged into the existing document.
	ModeAddFields
)

// Projection is a compiled projection.
type Projection struct {
	root       *projNode
	mode       ProjectionMode
	inclusion  bool
	excludeID  bool
	empty      bool
	positional bool
	opts       Options
}

// CompileProjection parses a find projection.
func CompileProjection(spec bsoncore.Document) (*Projection, error) {
	return CompileProjectionMode(spec, ModeFind, Options{})
}

// CompileProjectionMode parses a projection in the given dialect.
func CompileProjectionMode(spec bsoncore.Document, mode ProjectionMode, opts Options) (*Projection, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	p := &Projection{root: &projNode{children: map[string]*projNode{}}, mode: mode, opts: opts}
	els := elements(spec)
	if len(els) == 0 {
		if mode == ModeFind {
			p.empty = true
			return p, nil
		}
		if mode == ModeProject {
			return nil, mongoerr.New(51272, "Invalid $project :: caused by :: projection specification must have at least one field")
		}
		return nil, mongoerr.New(40177, "Invalid $addFields :: caused by :: specification must have at least one field")
	}
	st := &projParse{p: p}
	for _, e := range els {
		if err := st.addField(p.root, nil, e.Key(), e.Value()); err != nil {
			return nil, err
		}
	}
	if mode != ModeAddFields {
		p.inclusion = st.sawInclusion || (!st.sawExclusion && st.sawElemMatch)
		if !st.sawInclusion && !st.sawExclusion && !st.sawElemMatch {
			// Only _id settings and/or $slice: {_id: 1} alone is an inclusion.
			p.inclusion = st.idIncluded
		}
	}
	markComputed(p.root)
	return p, nil
}

type projParse struct {
	p                          *Projection
	sawInclusion, sawExclusion bool
	sawElemMatch, idIncluded   bool
}

func markComputed(n *projNode) bool {
	if n.kind == kExpr {
		n.hasComputed = true
		return true
	}
	any := false
	for _, c := range n.children {
		if markComputed(c) {
			any = true
		}
	}
	n.hasComputed = any
	return any
}

// addField parses one "key: value" of the spec under parent (prefix is the
// path of parent, for messages).
func (st *projParse) addField(parent *projNode, prefix []string, key string, v bsoncore.Value) error {
	p := st.p
	positional := false
	if p.mode == ModeFind && (key == "$" || strings.HasSuffix(key, ".$")) {
		if p.positional {
			return mongoerr.New(31276, "Cannot specify more than one positional projection per query.")
		}
		positional = true
		key = strings.TrimSuffix(strings.TrimSuffix(key, "$"), ".")
	}
	parts, err := expr.SplitFieldPath(key)
	if err != nil {
		return err
	}
	full := strings.Join(append(append([]string(nil), prefix...), parts...), ".")
	isRootID := len(prefix) == 0 && key == "_id"

	leaf := &projNode{}
	switch {
	case positional:
		if !bsonkit.Truthy(v) {
			return mongoerr.New(31395, "positional projection cannot be used with exclusion")
		}
		leaf.kind = kPositional
		p.positional = true
		st.sawInclusion = true
	case p.mode != ModeAddFields && (v.Type == bsoncore.TypeBoolean || bsonkit.IsNumber(v.Type)):
		if bsonkit.Truthy(v) {
			leaf.kind = kInclude
			if isRootID {
				st.idIncluded = true
			} else {
				if st.sawExclusion {
					return mongoerr.New(31253, "Cannot do inclusion on field %s in exclusion projection", full)
				}
				st.sawInclusion = true
			}
		} else {
			leaf.kind = kExclude
			if isRootID {
				p.excludeID = true
			} else {
				if st.sawInclusion {
					return mongoerr.New(31254, "Cannot do exclusion on field %s in inclusion projection", full)
				}
				st.sawExclusion = true
			}
		}
	case v.Type == bsoncore.TypeEmbeddedDocument && !expr.IsOperatorDoc(v):
		els := elements(v.Document())
		if len(els) == 0 {
			if p.mode == ModeAddFields {
				leaf.kind = kExpr
				leaf.expr, _ = expr.Compile(v)
				break
			}
			return mongoerr.New(51270, "An empty sub-projection is not a valid value. Found empty object at path")
		}
		node, err := st.nodeAt(parent, prefix, parts, full)
		if err != nil {
			return err
		}
		if node.kind != kNested {
			return mongoerr.New(31250, "Path collision at %s", full)
		}
		for _, e := range els {
			if err := st.addField(node, append(append([]string(nil), prefix...), parts...), e.Key(), e.Value()); err != nil {
				return err
			}
		}
		return nil
	case v.Type == bsoncore.TypeEmbeddedDocument && p.mode == ModeFind:
		first, _ := v.Document().IndexErr(0)
		switch first.Key() {
		case "$slice":
			if ok, err := parseSliceProjection(leaf, first.Value()); err != nil {
				return err
			} else if ok {
				leaf.kind = kSlice
				break
			}
			if err := st.exprLeaf(leaf, v, full); err != nil {
				return err
			}
		case "$elemMatch":
			if len(prefix)+len(parts) > 1 {
				return mongoerr.New(31275, "Cannot use $elemMatch projection on a nested field.")
			}
			if first.Value().Type != bsoncore.TypeEmbeddedDocument {
				return mongoerr.New(mongoerr.BadValue, "elemMatch: Invalid argument, object required.")
			}
			m, err := CompileOptions(bsonkit.D(key, bsonkit.DocValue(bsonkit.D("$elemMatch", first.Value()))), p.opts)
			if err != nil {
				return err
			}
			leaf.kind, leaf.elemMatch = kElemMatch, m
			st.sawElemMatch = true
		case "$meta":
			return mongoerr.New(mongoerr.NotImplemented, "$meta projection is not supported by mongosim")
		default:
			if err := st.exprLeaf(leaf, v, full); err != nil {
				return err
			}
		}
	default:
		if err := st.exprLeaf(leaf, v, full); err != nil {
			return err
		}
	}
	return st.place(parent, prefix, parts, full, leaf)
}

func (st *projParse) exprLeaf(leaf *projNode, v bsoncore.Value, full string) error {
	e, err := expr.Compile(v)
	if err != nil {
		return err
	}
	leaf.kind, leaf.expr = kExpr, e
	if st.p.mode == ModeAddFields {
		return nil
	}
	if st.sawExclusion {
		return mongoerr.New(31252, "Cannot use expression other than $meta in exclusion projection")
	}
	st.sawInclusion = true
	return nil
}

func parseSliceProjection(leaf *projNode, v bsoncore.Value) (bool, error) {
	if bsonkit.IsNumber(v.Type) {
		n, ok := expr.AsInt64(v)
		if !ok {
			f, _ := bsonkit.ToFloat(v)
			n = int64(f)
		}
		leaf.limit = clampInt(n)
		return true, nil
	}
	if v.Type == bsoncore.TypeArray {
		vals := bsonkit.Values(v)
		if len(vals) == 2 && bsonkit.IsNumber(vals[0].Type) && bsonkit.IsNumber(vals[1].Type) {
			skip, _ := bsonkit.ToFloat(vals[0])
			limit, _ := bsonkit.ToFloat(vals[1])
			if limit <= 0 {
				return false, mongoerr.New(mongoerr.BadValue, "$slice limit must be positive")
			}
			leaf.skip, leaf.limit, leaf.hasSkip = clampInt(int64(skip)), clampInt(int64(limit)), true
			return true, nil
		}
		if len(vals) == 2 || len(vals) == 3 {
			return false, nil // aggregation $slice expression
		}
	}
	return false, mongoerr.New(mongoerr.BadValue, "$slice only supports numbers and [skip, limit] arrays")
}

func clampInt(n int64) int {
	if n > 1<<31 {
		return 1 << 31
	}
	if n < -(1 << 31) {
		return -(1 << 31)
	}
	return int(n)
}

// nodeAt returns (creating) the nested node for parts under parent.
func (st *projParse) nodeAt(parent *projNode, prefix, parts []string, full string) (*projNode, error) {
	n := parent
	for i, part := range parts {
		c, ok := n.children[part]
		if !ok {
			c = &projNode{kind: kNested, children: map[string]*projNode{}}
			n.children[part] = c
			n.order = append(n.order, part)
		} else if c.kind != kNested {
			at := strings.Join(append(append([]string(nil), prefix...), parts[:i+1]...), ".")
			if i == len(parts)-1 {
				return nil, mongoerr.New(31250, "Path collision at %s", at)
			}
			return nil, mongoerr.New(31250, "Path collision at %s remaining portion %s", full,
				strings.Join(parts[i+1:], "."))
		}
		n = c
	}
	return n, nil
}

// place installs a leaf at parts under parent.
func (st *projParse) place(parent *projNode, prefix, parts []string, full string, leaf *projNode) error {
	n := parent
	if len(parts) > 1 {
		var err error
		if n, err = st.nodeAt(parent, prefix, parts[:len(parts)-1], full); err != nil {
			return err
		}
	}
	name := parts[len(parts)-1]
	if existing, ok := n.children[name]; ok {
		if existing.kind == kNested && len(existing.children) > 0 {
			return mongoerr.New(31250, "Path collision at %s", full)
		}
		return mongoerr.New(31250, "Path collision at %s", full)
	}
	n.children[name] = leaf
	n.order = append(n.order, name)
	return nil
}

// IsInclusion reports whether the projection keeps only the named fields.
func (p *Projection) IsInclusion() bool { return p.inclusion }

// Apply projects doc; matchPos is the array position from MatchPos for a
// positional "a.$" projection (-1 if none).
func (p *Projection) Apply(doc bsoncore.Document, matchPos int) (bsoncore.Document, error) {
	if p.empty {
		return doc, nil
	}
	if p.positional && matchPos < 0 {
		return nil, mongoerr.New(51246, "positional operator '.$' couldn't find a matching element in the array")
	}
	a := applier{p: p, ctx: &expr.Ctx{Root: doc, Vars: p.opts.Vars, Now: p.opts.Now, ClusterTime: p.opts.ClusterTime}, pos: matchPos}
	var out bsonkit.Doc
	var err error
	switch {
	case p.mode == ModeAddFields:
		out, err = a.addFields(doc, p.root)
	case p.inclusion:
		out, err = a.include(doc, p.root, true)
	default:
		out, err = a.exclude(doc, p.root, true)
	}
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

type applier struct {
	p   *Projection
	ctx *expr.Ctx
	pos int
}

func docElems(d bsoncore.Document) []bsoncore.Element {
	els, _ := d.Elements()
	return els
}

func (a *applier) include(doc bsoncore.Document, n *projNode, root bool) (bsonkit.Doc, error) {
	var out bsonkit.Doc
	for _, e := range docElems(doc) {
		k, v := e.Key(), e.Value()
		c := n.children[k]
		if root && k == "_id" && !a.p.excludeID && (c == nil || c.kind == kInclude || c.kind == kExclude) {
			out.Append(k, v)
			continue
		}
		if c == nil {
			continue
		}
		switch c.kind {
		case kInclude:
			out.Append(k, v)
		case kSlice:
			out.Append(k, sliceValue(v, c))
		case kPositional:
			out.Append(k, positionalValue(v, a.pos))
		case kNested:
			switch v.Type {
			case bsoncore.TypeEmbeddedDocument:
				sub, err := a.include(v.Document(), c, false)
				if err != nil {
					return nil, err
				}
				out.Append(k, sub.Value())
			case bsoncore.TypeArray:
				arr, err := a.includeArray(v, c)
				if err != nil {
					return nil, err
				}
				out.Append(k, arr)
			}
		}
	}
	// Computed fields and $elemMatch follow the included fields, in spec order.
	for _, name := range n.order {
		c := n.children[name]
		switch c.kind {
		case kExpr:
			v, err := c.expr.Eval(a.ctx)
			if err != nil {
				return nil, err
			}
			if v.Type != 0 {
				out.Set(name, v)
			}
		case kElemMatch:
			if v, ok := elemMatchValue(doc, name, c); ok {
				out.Set(name, v)
			}
		case kNested:
			if !c.hasComputed || out.Index(name) >= 0 {
				continue
			}
			existing, _ := doc.LookupErr(name)
			if existing.Type == bsoncore.TypeArray {
				continue
			}
			sub, err := a.include(emptyDoc, c, false)
			if err != nil {
				return nil, err
			}
			out.Set(name, sub.Value())
		}
	}
	return out, nil
}

// includeArray applies a nested inclusion to each element: documents are
// projected, nested arrays recursed, other values dropped.
func (a *applier) includeArray(v bsoncore.Value, n *projNode) (bsoncore.Value, error) {
	var vals []bsoncore.Value
	var err error
	eachElem(v, func(e bsoncore.Value) bool {
		switch e.Type {
		case bsoncore.TypeEmbeddedDocument:
			var sub bsonkit.Doc
			if sub, err = a.include(e.Document(), n, false); err != nil {
				return true
			}
			vals = append(vals, sub.Value())
		case bsoncore.TypeArray:
			if a.p.mode == ModeFind {
				// find projections do not recurse into nested arrays.
				return false
			}
			var arr bsoncore.Value
			if arr, err = a.includeArray(e, n); err != nil {
				return true
			}
			vals = append(vals, arr)
		default:
			if n.hasComputed {
				var sub bsonkit.Doc
				if sub, err = a.include(emptyDoc, n, false); err != nil {
					return true
				}
				vals = append(vals, sub.Value())
			}
		}
		return false
	})
	if err != nil {
		return bsonkit.Missing, err
	}
	return bsonkit.Array(vals...), nil
}

func (a *applier) exclude(doc bsoncore.Document, n *projNode, root bool) (bsonkit.Doc, error) {
	var out bsonkit.Doc
	for _, e := range docElems(doc) {
		k, v := e.Key(), e.Value()
		c := n.children[k]
		if c == nil {
			out.Append(k, v)
			continue
		}
		switch c.kind {
		case kExclude:
		case kInclude:
			out.Append(k, v)
		case kSlice:
			out.Append(k, sliceValue(v, c))
		case kElemMatch:
			if mv, ok := elemMatchValue(doc, k, c); ok {
				out.Append(k, mv)
			}
		case kNested:
			switch v.Type {
			case bsoncore.TypeEmbeddedDocument:
				sub, err := a.exclude(v.Document(), c, false)
				if err != nil {
					return nil, err
				}
				out.Append(k, sub.Value())
			case bsoncore.TypeArray:
				out.Append(k, a.excludeArray(v, c))
			default:
				out.Append(k, v)
			}
		}
	}
	return out, nil
}

func (a *applier) excludeArray(v bsoncore.Value, n *projNode) bsoncore.Value {
	var vals []bsoncore.Value
	eachElem(v, func(e bsoncore.Value) bool {
		switch e.Type {
		case bsoncore.TypeEmbeddedDocument:
			sub, _ := a.exclude(e.Document(), n, false)
			vals = append(vals, sub.Value())
		case bsoncore.TypeArray:
			if a.p.mode == ModeFind {
				vals = append(vals, e) // nested arrays pass through untouched
			} else {
				vals = append(vals, a.excludeArray(e, n))
			}
		default:
			vals = append(vals, e)
		}
		return false
	})
	return bsonkit.Array(vals...)
}

// addFields merges computed fields into the document ($addFields/$set):
// existing fields are replaced in place, new ones appended; nested paths
// descend into documents and across arrays, creating documents as needed.
func (a *applier) addFields(doc bsoncore.Document, n *projNode) (bsonkit.Doc, error) {
	out, err := bsonkit.ParseDoc(doc)
	if err != nil {
		return nil, err
	}
	for _, name := range n.order {
		c := n.children[name]
		if c.kind == kExpr {
			v, err := c.expr.Eval(a.ctx)
			if err != nil {
				return nil, err
			}
			if v.Type == 0 {
				out.Delete(name)
				continue
			}
			out.Set(name, v)
			continue
		}
		cur := out.Get(name)
		nv, err := a.addFieldsValue(cur, c)
		if err != nil {
			return nil, err
		}
		out.Set(name, nv)
	}
	return out, nil
}

func (a *applier) addFieldsValue(cur bsoncore.Value, n *projNode) (bsoncore.Value, error) {
	switch cur.Type {
	case bsoncore.TypeEmbeddedDocument:
		sub, err := a.addFields(cur.Document(), n)
		if err != nil {
			return bsonkit.Missing, err
		}
		return sub.Value(), nil
	case bsoncore.TypeArray:
		var vals []bsoncore.Value
		var err error
		eachElem(cur, func(e bsoncore.Value) bool {
			var nv bsoncore.Value
			if nv, err = a.addFieldsValue(e, n); err != nil {
				return true
			}
			vals = append(vals, nv)
			return false
		})
		if err != nil {
			return bsonkit.Missing, err
		}
		return bsonkit.Array(vals...), nil
	}
	sub, err := a.addFields(emptyDoc, n)
	if err != nil {
		return bsonkit.Missing, err
	}
	return sub.Value(), nil
}

// sliceValue applies a $slice projection to an array (other values pass).
func sliceValue(v bsoncore.Value, n *projNode) bsoncore.Value {
	if v.Type != bsoncore.TypeArray {
		return v
	}
	vals := bsonkit.Values(v)
	size := len(vals)
	start, end := 0, size
	if n.hasSkip {
		if n.skip < 0 {
			start = max(0, size+n.skip)
		} else {
			start = min(size, n.skip)
		}
		end = min(size, start+n.limit)
	} else if n.limit >= 0 {
		end = min(size, n.limit)
	} else {
		start = max(0, size+n.limit)
	}
	return bsonkit.Array(vals[start:end]...)
}

func positionalValue(v bsoncore.Value, pos int) bsoncore.Value {
	if v.Type != bsoncore.TypeArray {
		return v
	}
	vals := bsonkit.Values(v)
	if pos < 0 || pos >= len(vals) {
		return bsonkit.Array()
	}
	return bsonkit.Array(vals[pos])
}

// elemMatchValue returns [first matching element] for a $elemMatch projection.
func elemMatchValue(doc bsoncore.Document, name string, n *projNode) (bsoncore.Value, bool) {
	v, err := doc.LookupErr(name)
	if err != nil || v.Type != bsoncore.TypeArray {
		return bsonkit.Missing, false
	}
	ok, pos, _ := n.elemMatch.MatchErr(doc)
	if !ok || pos < 0 {
		return bsonkit.Missing, false
	}
	vals := bsonkit.Values(v)
	if pos >= len(vals) {
		return bsonkit.Missing, false
	}
	return bsonkit.Array(vals[pos]), true
}
