package query

import (
	"math"
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/expr"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// parseLevel is where in the filter the parser is (MongoDB's DocumentParseLevel).
type parseLevel int

const (
	levelTop     parseLevel = iota // the root of the user's predicate
	levelUserTop                   // inside $and/$or/$nor at the top
	levelSub                       // inside $elemMatch (matches subdocuments)
)

func badValue(format string, args ...any) error {
	return mongoerr.New(mongoerr.BadValue, format, args...)
}

// isExpressionDocument reports whether v is an operator document such as
// {$gt: 1} (and not a DBRef {$ref, $id}).
func isExpressionDocument(v bsoncore.Value) bool {
	if v.Type != bsoncore.TypeEmbeddedDocument {
		return false
	}
	first, err := v.Document().IndexErr(0)
	if err != nil || !strings.HasPrefix(first.Key(), "$") {
		return false
	}
	d := v.Document()
	_, refErr := d.LookupErr("$ref")
	_, idErr := d.LookupErr("$id")
	return !(refErr == nil && idErr == nil)
}

func elements(d bsoncore.Document) []bsoncore.Element {
	els, _ := d.Elements()
	return els
}

func parseFilter(doc bsoncore.Document, level parseLevel, opts *Options) (node, error) {
	var children []node
	next := level
	if level == levelTop {
		next = levelUserTop
	}
	for _, e := range elements(doc) {
		k, v := e.Key(), e.Value()
		if strings.HasPrefix(k, "$") {
			n, err := parseTopOperator(k, v, level, next, opts)
			if err != nil {
				return nil, err
			}
			if n != nil {
				children = append(children, n)
			}
			continue
		}
		nodes, err := parseField(k, v, level, opts)
		if err != nil {
			return nil, err
		}
		children = append(children, nodes...)
	}
	if len(children) == 1 {
		return children[0], nil
	}
	return &andNode{children: children}, nil
}

func parseTopOperator(k string, v bsoncore.Value, level, next parseLevel, opts *Options) (node, error) {
	switch k {
	case "$and", "$or", "$nor":
		if v.Type != bsoncore.TypeArray {
			return nil, badValue("%s must be an array", k)
		}
		vals := bsonkit.Values(v)
		if len(vals) == 0 {
			return nil, badValue("$and/$or/$nor must be a nonempty array")
		}
		var kids []node
		for _, sub := range vals {
			if sub.Type != bsoncore.TypeEmbeddedDocument {
				return nil, badValue("$or/$and/$nor entries need to be full objects")
			}
			n, err := parseFilter(sub.Document(), next, opts)
			if err != nil {
				return nil, err
			}
			kids = append(kids, n)
		}
		switch k {
		case "$and":
			return &andNode{children: kids}, nil
		case "$or":
			return &orNode{children: kids}, nil
		}
		return &norNode{children: kids}, nil
	case "$expr":
		if level == levelSub {
			return nil, badValue("$expr can only be applied to the top-level document")
		}
		e, err := expr.Compile(v)
		if err != nil {
			return nil, err
		}
		return &exprNode{e: e}, nil
	case "$comment":
		return nil, nil
	case "$alwaysTrue", "$alwaysFalse":
		n, ok := expr.AsInt64(v)
		if !ok || n != 1 {
			return nil, mongoerr.New(mongoerr.FailedToParse, "%s must be an integer value of 1", k)
		}
		return constNode{value: k == "$alwaysTrue"}, nil
	case "$where":
		return nil, badValue("$where is not allowed in this context")
	case "$text":
		if level == levelSub {
			return nil, badValue("$text can only be applied to the top-level document")
		}
		return nil, mongoerr.New(mongoerr.IndexNotFound, "text index required for $text query")
	case "$jsonSchema", "$sampleRate", "$atomic", "$isolated":
		return nil, mongoerr.New(mongoerr.NotImplemented, "%s is not supported by mongosim", k)
	}
	return nil, badValue("unknown top level operator: %s. If you have a field name that starts with a '$' symbol, "+
		"consider using $getField or $setField.", k)
}

// parseField parses {path: value} into match nodes.
func parseField(path string, v bsoncore.Value, level parseLevel, opts *Options) ([]node, error) {
	if isExpressionDocument(v) {
		specs, err := parseOps(path, v.Document(), level, opts)
		if err != nil {
			return nil, err
		}
		return specsToNodes(path, specs), nil
	}
	if v.Type == bsoncore.TypeRegex {
		r, err := newRegexLeaf(v)
		if err != nil {
			return nil, err
		}
		return []node{specNode(path, opSpec{pred: r, traverseLeaf: true, op: "$regex"})}, nil
	}
	if v.Type == bsoncore.TypeUndefined {
		return nil, badValue("cannot compare to undefined")
	}
	return []node{specNode(path, opSpec{pred: &cmpLeaf{op: opEQ, rhs: v}, traverseLeaf: true, op: "$eq", rhs: v, eq: v, isEq: true})}, nil
}

// opSpec is one parsed field operator before it is bound to a path: a
// leaf predicate, possibly negated, or a negated group ($not: {...}).
type opSpec struct {
	pred         leaf
	traverseLeaf bool
	negate       bool
	notGroup     []opSpec
	// eq is the equality value for upsert seeding and _id bounds.
	eq    bsoncore.Value
	isEq  bool
	op    string
	rhs   bsoncore.Value
	inSet []bsoncore.Value
}

func specsToNodes(path string, specs []opSpec) []node {
	var out []node
	for _, s := range specs {
		out = append(out, specNode(path, s))
	}
	return out
}

func specNode(path string, s opSpec) node {
	if s.notGroup != nil {
		kids := specsToNodes(path, s.notGroup)
		var inner node = &andNode{children: kids}
		if len(kids) == 1 {
			inner = kids[0]
		}
		return &notNode{child: inner}
	}
	n := &pathNode{path: path, parts: splitPath(path), traverseLeaf: s.traverseLeaf, pred: s.pred, spec: s}
	if s.negate {
		return &notNode{child: n}
	}
	return n
}

// specsToLeaf builds the element-level predicate of $elemMatch's value form.
func specsToLeaf(specs []opSpec) leaf {
	var preds []leaf
	for _, s := range specs {
		var l leaf
		if s.notGroup != nil {
			l = &notLeaf{pred: specsToLeaf(s.notGroup)}
		} else {
			l = s.pred
			if s.negate {
				l = &notLeaf{pred: l}
			}
		}
		preds = append(preds, l)
	}
	if len(preds) == 1 {
		return preds[0]
	}
	return &andLeaf{preds: preds}
}

var cmpOps = map[string]cmpOp{"$eq": opEQ, "$lt": opLT, "$lte": opLTE, "$gt": opGT, "$gte": opGTE}

// parseOps parses an operator document {$gt: 1, $lt: 5} for path.
func parseOps(path string, ops bsoncore.Document, level parseLevel, opts *Options) ([]opSpec, error) {
	var specs []opSpec
	sawRegex := false
	for _, e := range elements(ops) {
		k, v := e.Key(), e.Value()
		if op, ok := cmpOps[k]; ok {
			if v.Type == bsoncore.TypeRegex && op != opEQ {
				return nil, badValue("Can't have RegEx as arg to predicate over field '%s'.", path)
			}
			if v.Type == bsoncore.TypeUndefined {
				return nil, badValue("cannot compare to undefined")
			}
			s := opSpec{pred: &cmpLeaf{op: op, rhs: v}, traverseLeaf: true, op: k, rhs: v}
			if op == opEQ {
				s.eq, s.isEq = v, true
			}
			specs = append(specs, s)
			continue
		}
		switch k {
		case "$ne":
			if v.Type == bsoncore.TypeRegex {
				return nil, badValue("Can't have regex as arg to $ne.")
			}
			if v.Type == bsoncore.TypeUndefined {
				return nil, badValue("cannot compare to undefined")
			}
			specs = append(specs, opSpec{pred: &cmpLeaf{op: opEQ, rhs: v}, traverseLeaf: true, negate: true, op: k})
		case "$in", "$nin":
			l, vals, err := parseIn(k, v)
			if err != nil {
				return nil, err
			}
			s := opSpec{pred: l, traverseLeaf: true, negate: k == "$nin", op: k}
			if k == "$in" && len(l.regexes) == 0 {
				s.inSet = vals
			}
			specs = append(specs, s)
		case "$exists":
			specs = append(specs, opSpec{pred: existsLeaf{}, traverseLeaf: true, negate: !bsonkit.Truthy(v), op: k})
		case "$type":
			l, err := parseType(path, v)
			if err != nil {
				return nil, err
			}
			specs = append(specs, opSpec{pred: l, traverseLeaf: true, op: k})
		case "$size":
			l, err := parseSize(v)
			if err != nil {
				return nil, err
			}
			specs = append(specs, opSpec{pred: l, traverseLeaf: false, op: k})
		case "$mod":
			l, err := parseMod(v)
			if err != nil {
				return nil, err
			}
			specs = append(specs, opSpec{pred: l, traverseLeaf: true, op: k})
		case "$regex", "$options":
			if sawRegex {
				continue
			}
			l, err := parseRegexDoc(ops)
			if err != nil {
				return nil, err
			}
			sawRegex = true
			specs = append(specs, opSpec{pred: l, traverseLeaf: true, op: "$regex"})
		case "$elemMatch":
			s, err := parseElemMatch(path, v, opts)
			if err != nil {
				return nil, err
			}
			specs = append(specs, s)
		case "$all":
			all, err := parseAll(path, v, opts)
			if err != nil {
				return nil, err
			}
			specs = append(specs, all...)
		case "$not":
			s, err := parseNot(path, v, level, opts)
			if err != nil {
				return nil, err
			}
			specs = append(specs, s)
		case "$bitsAllSet", "$bitsAllClear", "$bitsAnySet", "$bitsAnyClear":
			l, err := parseBits(k, v)
			if err != nil {
				return nil, err
			}
			specs = append(specs, opSpec{pred: l, traverseLeaf: true, op: k})
		case "$geoWithin", "$geoIntersects", "$near", "$nearSphere", "$within", "$box", "$center", "$polygon":
			return nil, mongoerr.New(mongoerr.NotImplemented, "%s is not supported by mongosim", k)
		default:
			return nil, badValue("unknown operator: %s", k)
		}
	}
	return specs, nil
}

func parseIn(k string, v bsoncore.Value) (*inLeaf, []bsoncore.Value, error) {
	if v.Type != bsoncore.TypeArray {
		return nil, nil, badValue("%s needs an array", k)
	}
	var eqs []bsoncore.Value
	var regexes []*regexLeaf
	for _, e := range bsonkit.Values(v) {
		if isExpressionDocument(e) {
			return nil, nil, badValue("cannot nest $ under %s", k)
		}
		switch e.Type {
		case bsoncore.TypeRegex:
			r, err := newRegexLeaf(e)
			if err != nil {
				return nil, nil, err
			}
			regexes = append(regexes, r)
		case bsoncore.TypeUndefined:
			return nil, nil, badValue("InMatchExpression equality cannot be undefined")
		default:
			eqs = append(eqs, e)
		}
	}
	return newInLeaf(eqs, regexes), eqs, nil
}

func newRegexLeaf(v bsoncore.Value) (*regexLeaf, error) {
	p, o := v.Regex()
	return compileRegexLeaf(p, o)
}

func compileRegexLeaf(pattern, options string) (*regexLeaf, error) {
	re, err := expr.CompileRegex(pattern, options)
	if err != nil {
		return nil, err
	}
	return &regexLeaf{re: re, pattern: pattern, options: options}, nil
}

func parseRegexDoc(ops bsoncore.Document) (*regexLeaf, error) {
	var pattern, options string
	haveRegex, haveOptions := false, false
	for _, e := range elements(ops) {
		switch e.Key() {
		case "$regex":
			v := e.Value()
			switch v.Type {
			case bsoncore.TypeString:
				pattern = v.StringValue()
			case bsoncore.TypeRegex:
				p, o := v.Regex()
				pattern = p
				if o != "" {
					if haveOptions {
						return nil, mongoerr.New(51074, "options set in both $regex and $options")
					}
					options = o
				}
			default:
				return nil, badValue("$regex has to be a string")
			}
			haveRegex = true
		case "$options":
			v := e.Value()
			if v.Type != bsoncore.TypeString {
				return nil, badValue("$options has to be a string")
			}
			if options != "" {
				return nil, mongoerr.New(51075, "options set in both $regex and $options")
			}
			options = v.StringValue()
			haveOptions = true
		}
	}
	if !haveRegex {
		return nil, badValue("$options needs a $regex")
	}
	return compileRegexLeaf(pattern, options)
}

// typeCodes maps $type numeric codes to BSON types.
var typeCodes = map[int64]bsoncore.Type{
	1: bsoncore.TypeDouble, 2: bsoncore.TypeString, 3: bsoncore.TypeEmbeddedDocument, 4: bsoncore.TypeArray,
	5: bsoncore.TypeBinary, 6: bsoncore.TypeUndefined, 7: bsoncore.TypeObjectID, 8: bsoncore.TypeBoolean,
	9: bsoncore.TypeDateTime, 10: bsoncore.TypeNull, 11: bsoncore.TypeRegex, 12: bsoncore.TypeDBPointer,
	13: bsoncore.TypeJavaScript, 14: bsoncore.TypeSymbol, 15: bsoncore.TypeCodeWithScope, 16: bsoncore.TypeInt32,
	17: bsoncore.TypeTimestamp, 18: bsoncore.TypeInt64, 19: bsoncore.TypeDecimal128, -1: bsoncore.TypeMinKey,
	127: bsoncore.TypeMaxKey,
}

func parseType(path string, v bsoncore.Value) (*typeLeaf, error) {
	l := &typeLeaf{types: map[bsoncore.Type]bool{}}
	add := func(e bsoncore.Value) error {
		switch {
		case bsonkit.IsNumber(e.Type):
			n, ok := expr.AsInt64(e)
			if !ok {
				f, _ := bsonkit.ToFloat(e)
				return badValue("Invalid numerical type code: %s", formatFloat(f))
			}
			t, ok := typeCodes[n]
			if !ok {
				return badValue("Invalid numerical type code: %d", n)
			}
			l.types[t] = true
		case e.Type == bsoncore.TypeString:
			name := e.StringValue()
			if name == "number" {
				l.number = true
				return nil
			}
			t, ok := expr.TypeByName(name)
			if !ok {
				return badValue("Unknown type name alias: %s", name)
			}
			l.types[t] = true
		default:
			return mongoerr.New(mongoerr.TypeMismatch, "type must be represented as a number or a string")
		}
		return nil
	}
	if v.Type == bsoncore.TypeArray {
		vals := bsonkit.Values(v)
		for _, e := range vals {
			if err := add(e); err != nil {
				return nil, err
			}
		}
		if len(vals) == 0 {
			return nil, mongoerr.New(mongoerr.FailedToParse, "%s must match at least one type", path)
		}
		return l, nil
	}
	if err := add(v); err != nil {
		return nil, err
	}
	return l, nil
}

func formatFloat(f float64) string {
	return expr.ValueString(bsonkit.Double(f))
}

func parseSize(v bsoncore.Value) (*sizeLeaf, error) {
	if !bsonkit.IsNumber(v.Type) {
		return nil, badValue("$size needs a number")
	}
	f, _ := bsonkit.ToFloat(v)
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
		return nil, badValue("$size must be a whole number")
	}
	if f < 0 {
		return nil, badValue("$size may not be negative")
	}
	if f > math.MaxInt32 {
		return nil, badValue("$size must be a whole number")
	}
	return &sizeLeaf{n: int(f)}, nil
}

func parseMod(v bsoncore.Value) (*modLeaf, error) {
	if v.Type != bsoncore.TypeArray {
		return nil, badValue("malformed mod, needs to be an array")
	}
	vals := bsonkit.Values(v)
	if len(vals) < 2 {
		return nil, badValue("malformed mod, not enough elements")
	}
	if len(vals) > 2 {
		return nil, badValue("malformed mod, too many elements")
	}
	conv := func(e bsoncore.Value, what string) (int64, error) {
		if !bsonkit.IsNumber(e.Type) {
			return 0, badValue("malformed mod, %s not a number", what)
		}
		f, _ := bsonkit.ToFloat(e)
		if math.IsNaN(f) || math.IsInf(f, 0) || f >= 9223372036854775808.0 || f < -9223372036854775808.0 {
			return 0, badValue("malformed mod, %s value is invalid :: caused by :: Unable to coerce NaN/Inf to integral type", what)
		}
		if e.Type == bsoncore.TypeInt32 || e.Type == bsoncore.TypeInt64 {
			return e.AsInt64(), nil
		}
		return int64(math.Trunc(f)), nil
	}
	d, err := conv(vals[0], "divisor")
	if err != nil {
		return nil, err
	}
	r, err := conv(vals[1], "remainder")
	if err != nil {
		return nil, err
	}
	if d == 0 {
		return nil, badValue("divisor cannot be 0")
	}
	return &modLeaf{divisor: d, remainder: r}, nil
}

// topLevelOperators are the operators accepted at the top of a filter;
// an $elemMatch whose first key is one of them is in object form.
var topLevelOperators = map[string]bool{
	"$and": true, "$or": true, "$nor": true, "$expr": true, "$where": true, "$text": true,
	"$comment": true, "$alwaysTrue": true, "$alwaysFalse": true, "$jsonSchema": true, "$sampleRate": true,
}

func parseElemMatch(path string, v bsoncore.Value, opts *Options) (opSpec, error) {
	if v.Type != bsoncore.TypeEmbeddedDocument {
		return opSpec{}, badValue("$elemMatch needs an Object")
	}
	d := v.Document()
	if isExpressionDocument(v) {
		first, _ := d.IndexErr(0)
		if !topLevelOperators[first.Key()] {
			specs, err := parseOps(path, d, levelSub, opts)
			if err != nil {
				return opSpec{}, err
			}
			return opSpec{pred: &elemMatchValueLeaf{pred: specsToLeaf(specs)}, op: "$elemMatch"}, nil
		}
	}
	sub, err := parseFilter(d, levelSub, opts)
	if err != nil {
		return opSpec{}, err
	}
	return opSpec{pred: &elemMatchObjLeaf{sub: sub}, op: "$elemMatch"}, nil
}

func parseAll(path string, v bsoncore.Value, opts *Options) ([]opSpec, error) {
	if v.Type != bsoncore.TypeArray {
		return nil, badValue("$all needs an array")
	}
	vals := bsonkit.Values(v)
	if len(vals) == 0 {
		return []opSpec{{pred: constLeaf{value: false}, traverseLeaf: true, op: "$all"}}, nil
	}
	isElemMatch := func(e bsoncore.Value) bool {
		if e.Type != bsoncore.TypeEmbeddedDocument {
			return false
		}
		first, err := e.Document().IndexErr(0)
		return err == nil && first.Key() == "$elemMatch"
	}
	var specs []opSpec
	if isElemMatch(vals[0]) {
		for _, e := range vals {
			if !isElemMatch(e) {
				return nil, badValue("$all/$elemMatch has to be consistent")
			}
			s, err := parseElemMatch(path, e.Document().Lookup("$elemMatch"), opts)
			if err != nil {
				return nil, err
			}
			specs = append(specs, s)
		}
		return specs, nil
	}
	for _, e := range vals {
		switch {
		case isElemMatch(e):
			return nil, badValue("$all/$elemMatch has to be consistent")
		case isExpressionDocument(e):
			return nil, badValue("no $ expressions in $all")
		case e.Type == bsoncore.TypeRegex:
			r, err := newRegexLeaf(e)
			if err != nil {
				return nil, err
			}
			specs = append(specs, opSpec{pred: r, traverseLeaf: true, op: "$all"})
		default:
			specs = append(specs, opSpec{pred: &cmpLeaf{op: opEQ, rhs: e}, traverseLeaf: true, op: "$all"})
		}
	}
	return specs, nil
}

func parseNot(path string, v bsoncore.Value, level parseLevel, opts *Options) (opSpec, error) {
	switch v.Type {
	case bsoncore.TypeRegex:
		r, err := newRegexLeaf(v)
		if err != nil {
			return opSpec{}, err
		}
		return opSpec{pred: r, traverseLeaf: true, negate: true, op: "$not"}, nil
	case bsoncore.TypeEmbeddedDocument:
		d := v.Document()
		if len(elements(d)) == 0 {
			return opSpec{}, badValue("$not cannot be empty")
		}
		if !isExpressionDocument(v) {
			return opSpec{}, badValue("$not needs a regex or a document")
		}
		specs, err := parseOps(path, d, level, opts)
		if err != nil {
			return opSpec{}, err
		}
		return opSpec{notGroup: specs, op: "$not"}, nil
	}
	return opSpec{}, badValue("$not needs a regex or a document")
}

func parseBits(k string, v bsoncore.Value) (*bitsLeaf, error) {
	ops := map[string]bitsOp{"$bitsAllSet": bitsAllSet, "$bitsAllClear": bitsAllClear, "$bitsAnySet": bitsAnySet, "$bitsAnyClear": bitsAnyClear}
	l := &bitsLeaf{op: ops[k]}
	addPos := func(p uint32) {
		l.positions = append(l.positions, p)
		l.mask |= 1 << min(p, 63)
	}
	switch {
	case v.Type == bsoncore.TypeArray:
		for _, e := range bsonkit.Values(v) {
			n, ok := expr.AsInt64(e)
			if !bsonkit.IsNumber(e.Type) || !ok {
				return nil, badValue("bit positions must be an integer but got: %s", expr.ValueString(e))
			}
			if n < 0 {
				return nil, badValue("bit positions must be >= 0 but got: %s", expr.ValueString(e))
			}
			if n > math.MaxInt32 {
				return nil, badValue("bit positions cannot be represented as a 32-bit signed integer: %s", expr.ValueString(e))
			}
			addPos(uint32(n))
		}
	case bsonkit.IsNumber(v.Type):
		n, ok := expr.AsInt64(v)
		if !ok {
			return nil, mongoerr.New(mongoerr.FailedToParse, "Expected an integer: %s", expr.ValueString(v))
		}
		if n < 0 {
			return nil, mongoerr.New(mongoerr.FailedToParse, "Expected a positive number in: %s", expr.ValueString(v))
		}
		for b := uint32(0); b < 64; b++ {
			if uint64(n)&(1<<b) != 0 {
				addPos(b)
			}
		}
	case v.Type == bsoncore.TypeBinary:
		_, data := v.Binary()
		for i, c := range data {
			for b := 0; b < 8; b++ {
				if c&(1<<b) != 0 {
					addPos(uint32(i*8 + b))
				}
			}
		}
	default:
		return nil, badValue("%s takes an Array, a number, or a BinData but received: %s", k, expr.ValueString(v))
	}
	return l, nil
}
