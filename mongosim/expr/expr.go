// Package expr compiles and evaluates MongoDB aggregation expressions
// ("$a.b", "$$ROOT", {$add: [...]}, {k: expr}) over raw BSON documents.
package expr

import (
	"bytes"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Ctx is the evaluation context of one expression evaluation.
type Ctx struct {
	Root        bsoncore.Document         // $$ROOT
	Current     bsoncore.Document         // $$CURRENT (usually == Root; nil means Root)
	Vars        map[string]bsoncore.Value // user variables ($let, let: options)
	Now         time.Time                 // $$NOW
	ClusterTime bsoncore.Value            // $$CLUSTER_TIME (timestamp), may be zero

	// scope holds bindings made during evaluation ($let, $map "as", $filter,
	// $reduce); it shadows Vars without copying the map per element.
	scope *binding
}

type binding struct {
	name   string
	value  bsoncore.Value
	parent *binding
}

// Expr is a compiled expression. A missing result is bsonkit.Missing.
type Expr interface {
	Eval(ctx *Ctx) (bsoncore.Value, error)
}

// with returns a copy of ctx with name bound to value.
func (ctx *Ctx) with(name string, value bsoncore.Value) *Ctx {
	child := *ctx
	child.scope = &binding{name: name, value: value, parent: ctx.scope}
	return &child
}

func (ctx *Ctx) current() bsoncore.Document {
	if ctx.Current != nil {
		return ctx.Current
	}
	return ctx.Root
}

// lookupVar resolves a variable name; ok=false if it is not defined.
func (ctx *Ctx) lookupVar(name string) (bsoncore.Value, bool) {
	for b := ctx.scope; b != nil; b = b.parent {
		if b.name == name {
			return b.value, true
		}
	}
	switch name {
	case "ROOT":
		return bsonkit.DocValue(ctx.Root), ctx.Root != nil
	case "CURRENT":
		return bsonkit.DocValue(ctx.current()), ctx.current() != nil
	case "REMOVE":
		return bsonkit.Missing, true
	case "NOW":
		now := ctx.Now
		if now.IsZero() {
			now = time.Now()
		}
		return bsonkit.DateTime(now.UnixMilli()), true
	case "CLUSTER_TIME":
		if ctx.ClusterTime.Type == 0 {
			return bsonkit.Missing, false
		}
		return ctx.ClusterTime, true
	}
	v, ok := ctx.Vars[name]
	return v, ok
}

// Compile compiles any expression value: a literal, a "$field.path", a
// "$$var.path", an operator document {$op: args}, an object expression
// {k: expr, ...} or an array of expressions.
func Compile(v bsoncore.Value) (Expr, error) {
	switch v.Type {
	case bsoncore.TypeString:
		s := v.StringValue()
		if strings.HasPrefix(s, "$") {
			return compilePathString(s)
		}
		return constant{v}, nil
	case bsoncore.TypeEmbeddedDocument:
		return CompileDoc(v.Document())
	case bsoncore.TypeArray:
		vals, err := v.Array().Values()
		if err != nil {
			return nil, mongoerr.New(mongoerr.FailedToParse, "invalid array: %v", err)
		}
		elems := make([]Expr, len(vals))
		allConst := true
		for i, ev := range vals {
			e, err := Compile(ev)
			if err != nil {
				return nil, err
			}
			elems[i] = e
			// Only elements that are their own value keep the array literal:
			// {$literal: x} is constant too, but its value is x.
			if c, ok := e.(constant); !ok || c.v.Type != ev.Type || !bytes.Equal(c.v.Data, ev.Data) {
				allConst = false
			}
		}
		if allConst {
			// A literal array stays byte-identical.
			return constant{v}, nil
		}
		return arrayExpr{elems: elems}, nil
	}
	return constant{v}, nil
}

// CompileDoc compiles a document expression: an operator document with a
// single $-prefixed key, or an object expression whose values are expressions.
func CompileDoc(d bsoncore.Document) (Expr, error) {
	elems, err := d.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "invalid document: %v", err)
	}
	if len(elems) == 0 {
		return constant{bsonkit.DocValue(d)}, nil
	}
	first := elems[0].Key()
	if strings.HasPrefix(first, "$") {
		if len(elems) != 1 {
			return nil, mongoerr.New(15983, "an expression specification must contain exactly one field, "+
				"the name of the expression. Found %d fields in %s, while parsing object %s",
				len(elems), d.String(), d.String())
		}
		return compileOperator(first, elems[0].Value())
	}
	obj := objectExpr{keys: make([]string, len(elems)), exprs: make([]Expr, len(elems))}
	seen := make(map[string]bool, len(elems))
	for i, e := range elems {
		k := e.Key()
		if err := validateObjectKey(k); err != nil {
			return nil, err
		}
		if seen[k] {
			return nil, mongoerr.New(16406, "duplicate field name specified in object literal: %s", d.String())
		}
		seen[k] = true
		x, err := Compile(e.Value())
		if err != nil {
			return nil, err
		}
		obj.keys[i] = k
		obj.exprs[i] = x
	}
	return obj, nil
}

func validateObjectKey(k string) error {
	if k == "" {
		return mongoerr.New(16412, "FieldPath field names may not be empty strings.")
	}
	if strings.HasPrefix(k, "$") {
		return mongoerr.New(mongoerr.Location16410, "FieldPath field names may not start with '$'. "+
			"Consider using $getField or $setField.")
	}
	if strings.Contains(k, ".") {
		return mongoerr.New(16412, "FieldPath field names may not contain '.'. "+
			"Consider using $getField or $setField.")
	}
	return nil
}

// IsOperatorDoc reports whether v is a document whose first key starts
// with '$' (an operator expression rather than an object literal).
func IsOperatorDoc(v bsoncore.Value) bool {
	if v.Type != bsoncore.TypeEmbeddedDocument {
		return false
	}
	e, err := v.Document().IndexErr(0)
	if err != nil {
		return false
	}
	return strings.HasPrefix(e.Key(), "$")
}

// Constant returns the value of e and true if e is a compile-time constant.
func Constant(e Expr) (bsoncore.Value, bool) {
	c, ok := e.(constant)
	return c.v, ok
}

type constant struct{ v bsoncore.Value }

func (c constant) Eval(*Ctx) (bsoncore.Value, error) { return c.v, nil }

// arrayExpr evaluates each element; missing results become null as in MongoDB.
type arrayExpr struct{ elems []Expr }

func (a arrayExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	vals := make([]bsoncore.Value, len(a.elems))
	for i, e := range a.elems {
		v, err := e.Eval(ctx)
		if err != nil {
			return bsonkit.Missing, err
		}
		if v.Type == 0 {
			v = bsonkit.Null()
		}
		vals[i] = v
	}
	return bsonkit.Array(vals...), nil
}

// objectExpr builds a document; fields that evaluate to missing are omitted.
type objectExpr struct {
	keys  []string
	exprs []Expr
}

func (o objectExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	idx, b := bsoncore.AppendDocumentStart(nil)
	for i, e := range o.exprs {
		v, err := e.Eval(ctx)
		if err != nil {
			return bsonkit.Missing, err
		}
		if v.Type == 0 {
			continue
		}
		b = bsoncore.AppendValueElement(b, o.keys[i], v)
	}
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	return bsonkit.DocValue(b), nil
}

// fieldPath reads "$a.b.c" from $$CURRENT.
type fieldPath struct{ parts []string }

func (f fieldPath) Eval(ctx *Ctx) (bsoncore.Value, error) {
	cur := ctx.current()
	if cur == nil {
		return bsonkit.Missing, nil
	}
	return pathInDoc(cur, f.parts), nil
}

// varPath reads "$$name.a.b".
type varPath struct {
	name  string
	parts []string
}

func (v varPath) Eval(ctx *Ctx) (bsoncore.Value, error) {
	val, ok := ctx.lookupVar(v.name)
	if !ok {
		return bsonkit.Missing, mongoerr.New(17276, "Use of undefined variable: %s", v.name)
	}
	return descend(val, v.parts), nil
}

// EvalPath evaluates an expression-style field path ("a.b") over a document
// with MongoDB's aggregation array semantics: traversing an array maps the
// rest of the path over its document elements (non-documents are skipped).
func EvalPath(doc bsoncore.Document, path string) bsoncore.Value {
	return pathInDoc(doc, strings.Split(path, "."))
}

func pathInDoc(doc bsoncore.Document, parts []string) bsoncore.Value {
	v, err := doc.LookupErr(parts[0])
	if err != nil {
		return bsonkit.Missing
	}
	return descend(v, parts[1:])
}

func descend(v bsoncore.Value, parts []string) bsoncore.Value {
	if len(parts) == 0 {
		return v
	}
	switch v.Type {
	case bsoncore.TypeEmbeddedDocument:
		return pathInDoc(v.Document(), parts)
	case bsoncore.TypeArray:
		var out []bsoncore.Value
		for _, e := range arrayValues(v) {
			if e.Type != bsoncore.TypeEmbeddedDocument {
				continue
			}
			if r := pathInDoc(e.Document(), parts); r.Type != 0 {
				out = append(out, r)
			}
		}
		return bsonkit.Array(out...)
	}
	return bsonkit.Missing
}

var builtinVars = map[string]bool{
	"ROOT": true, "CURRENT": true, "REMOVE": true, "NOW": true, "CLUSTER_TIME": true,
	"DESCEND": true, "PRUNE": true, "KEEP": true, "SEARCH_META": true, "USER_ROLES": true,
}

func compilePathString(s string) (Expr, error) {
	if strings.HasPrefix(s, "$$") {
		name, rest, _ := strings.Cut(s[2:], ".")
		if err := validateVarName(name, true); err != nil {
			return nil, err
		}
		var parts []string
		if rest != "" || strings.Contains(s[2:], ".") {
			p, err := SplitFieldPath(rest)
			if err != nil {
				return nil, err
			}
			parts = p
		}
		return varPath{name: name, parts: parts}, nil
	}
	if s == "$" {
		return nil, mongoerr.New(16872, "'$' by itself is not a valid FieldPath")
	}
	parts, err := SplitFieldPath(s[1:])
	if err != nil {
		return nil, err
	}
	return fieldPath{parts: parts}, nil
}

// SplitFieldPath validates and splits a dotted field path (without a
// leading '$') as MongoDB's FieldPath does, with its error codes.
func SplitFieldPath(p string) ([]string, error) {
	if p == "" {
		return nil, mongoerr.New(40352, "FieldPath cannot be constructed with empty string")
	}
	if strings.HasSuffix(p, ".") {
		return nil, mongoerr.New(40353, "FieldPath must not end with a '.'.")
	}
	parts := strings.Split(p, ".")
	for _, part := range parts {
		if part == "" {
			return nil, mongoerr.New(15998, "FieldPath field names may not be empty strings.")
		}
		if part[0] == '$' {
			return nil, mongoerr.New(mongoerr.Location16410, "FieldPath field names may not start with '$'. "+
				"Consider using $getField or $setField.")
		}
	}
	return parts, nil
}

// validateVarName applies MongoDB's variable naming rules; builtins (upper
// case) may be read but not defined.
func validateVarName(name string, forRead bool) error {
	if name == "" {
		return mongoerr.New(16869, "empty variable names are not allowed")
	}
	if forRead && builtinVars[name] {
		return nil
	}
	c := name[0]
	if !(c >= 'a' && c <= 'z') && c < 0x80 {
		return mongoerr.New(16870, "'%s' starts with an invalid character for a user variable name", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80) {
			return mongoerr.New(16871, "'%s' contains an invalid character for a variable name: '%c'", name, c)
		}
	}
	return nil
}

// ValidateVarName checks a user variable name (for let: options).
func ValidateVarName(name string) error { return validateVarName(name, false) }

// opCompiler compiles the argument of one operator.
type opCompiler func(name string, args bsoncore.Value) (Expr, error)

var operators = map[string]opCompiler{}

func register(c opCompiler, names ...string) {
	for _, n := range names {
		operators[n] = c
	}
}

func compileOperator(name string, args bsoncore.Value) (Expr, error) {
	if name == "$literal" {
		return constant{args}, nil
	}
	c, ok := operators[name]
	if !ok {
		return nil, mongoerr.New(mongoerr.InvalidPipelineOperator, "Unrecognized expression '%s'", name)
	}
	return c(name, args)
}

// operands returns an operator's argument list: the elements of an array
// argument, or the single argument itself.
func operands(args bsoncore.Value) []bsoncore.Value {
	if args.Type == bsoncore.TypeArray {
		return arrayValues(args)
	}
	return []bsoncore.Value{args}
}

// compileOperands compiles an operator's argument list, checking arity
// (max < 0: unbounded).
func compileOperands(name string, args bsoncore.Value, min, max int) ([]Expr, error) {
	vals := operands(args)
	n := len(vals)
	switch {
	case min == max && n != min:
		return nil, mongoerr.New(16020, "Expression %s takes exactly %d arguments. %d were passed in.", name, min, n)
	case max < 0 && n < min:
		return nil, mongoerr.New(16020, "Expression %s takes at least %d arguments, but %d were passed in.", name, min, n)
	case max >= 0 && (n < min || n > max):
		return nil, mongoerr.New(28667, "Expression %s takes at least %d arguments, and at most %d, but %d were passed in.",
			name, min, max, n)
	}
	out := make([]Expr, n)
	for i, v := range vals {
		e, err := Compile(v)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// evalAll evaluates a list of expressions.
func evalAll(ctx *Ctx, exprs []Expr) ([]bsoncore.Value, error) {
	out := make([]bsoncore.Value, len(exprs))
	for i, e := range exprs {
		v, err := e.Eval(ctx)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// nary is an operator whose arguments are all evaluated before fn runs.
type nary struct {
	name string
	args []Expr
	fn   func(name string, vals []bsoncore.Value) (bsoncore.Value, error)
}

func (n nary) Eval(ctx *Ctx) (bsoncore.Value, error) {
	vals, err := evalAll(ctx, n.args)
	if err != nil {
		return bsonkit.Missing, err
	}
	return n.fn(n.name, vals)
}

// registerNary registers operators evaluated eagerly with an arity check.
func registerNary(min, max int, fn func(name string, vals []bsoncore.Value) (bsoncore.Value, error), names ...string) {
	register(func(name string, args bsoncore.Value) (Expr, error) {
		exprs, err := compileOperands(name, args, min, max)
		if err != nil {
			return nil, err
		}
		return nary{name: name, args: exprs, fn: fn}, nil
	}, names...)
}
