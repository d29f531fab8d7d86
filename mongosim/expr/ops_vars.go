package expr

import (
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	register(compileLet, "$let")
	register(compileMap, "$map")
	register(compileFilter, "$filter")
	register(compileReduce, "$reduce")
}

// namedArgs splits an operator's document argument into its fields,
// reporting unknown names with code/message built by unknown.
func namedArgs(args bsoncore.Value, known []string, unknown func(k string) error, typeErr func() error) (map[string]bsoncore.Value, error) {
	if args.Type != bsoncore.TypeEmbeddedDocument {
		return nil, typeErr()
	}
	out := map[string]bsoncore.Value{}
	elems, _ := args.Document().Elements()
	for _, e := range elems {
		k := e.Key()
		ok := false
		for _, n := range known {
			if n == k {
				ok = true
			}
		}
		if !ok {
			return nil, unknown(k)
		}
		out[k] = e.Value()
	}
	return out, nil
}

type letExpr struct {
	names []string
	vals  []Expr
	in    Expr
}

func compileLet(name string, args bsoncore.Value) (Expr, error) {
	a, err := namedArgs(args, []string{"vars", "in"},
		func(k string) error { return mongoerr.New(16874, "Unrecognized parameter to $let: %s", k) },
		func() error { return mongoerr.New(16874, "$let only supports an object as its argument") })
	if err != nil {
		return nil, err
	}
	vars, ok := a["vars"]
	if !ok {
		return nil, mongoerr.New(16876, "Missing 'vars' parameter to $let")
	}
	inV, ok := a["in"]
	if !ok {
		return nil, mongoerr.New(16877, "Missing 'in' parameter to $let")
	}
	if vars.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(mongoerr.TypeMismatch, "invalid parameter: expected an object (vars)")
	}
	var l letExpr
	elems, _ := vars.Document().Elements()
	for _, e := range elems {
		if err := validateVarName(e.Key(), false); err != nil {
			return nil, err
		}
		x, err := Compile(e.Value())
		if err != nil {
			return nil, err
		}
		l.names = append(l.names, e.Key())
		l.vals = append(l.vals, x)
	}
	if l.in, err = Compile(inV); err != nil {
		return nil, err
	}
	return l, nil
}

func (l letExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	// All vars are evaluated in the outer scope, then bound together.
	vals, err := evalAll(ctx, l.vals)
	if err != nil {
		return bsonkit.Missing, err
	}
	inner := ctx
	for i, n := range l.names {
		inner = inner.with(n, vals[i])
	}
	return l.in.Eval(inner)
}

type mapExpr struct {
	input Expr
	as    string
	in    Expr
}

func compileMap(name string, args bsoncore.Value) (Expr, error) {
	a, err := namedArgs(args, []string{"input", "as", "in"},
		func(k string) error { return mongoerr.New(16879, "Unrecognized parameter to $map: %s", k) },
		func() error { return mongoerr.New(16878, "$map only supports an object as its argument") })
	if err != nil {
		return nil, err
	}
	m := mapExpr{as: "this"}
	inputV, ok := a["input"]
	if !ok {
		return nil, mongoerr.New(16880, "Missing 'input' parameter to $map")
	}
	inV, ok := a["in"]
	if !ok {
		return nil, mongoerr.New(16882, "Missing 'in' parameter to $map")
	}
	if asV, ok := a["as"]; ok {
		if asV.Type != bsoncore.TypeString {
			return nil, mongoerr.New(mongoerr.FailedToParse, "$map 'as' must be a string")
		}
		m.as = asV.StringValue()
		if err := validateVarName(m.as, false); err != nil {
			return nil, err
		}
	}
	if m.input, err = Compile(inputV); err != nil {
		return nil, err
	}
	if m.in, err = Compile(inV); err != nil {
		return nil, err
	}
	return m, nil
}

func (m mapExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	input, err := m.input.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	if nullish(input) {
		return bsonkit.Null(), nil
	}
	if input.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(16883, "input to $map must be an array not %s", TypeName(input.Type))
	}
	elems := arrayValues(input)
	out := make([]bsoncore.Value, len(elems))
	inner := ctx.with(m.as, bsonkit.Missing)
	for i, e := range elems {
		inner.scope.value = e
		v, err := m.in.Eval(inner)
		if err != nil {
			return bsonkit.Missing, err
		}
		if v.Type == 0 {
			v = bsonkit.Null()
		}
		out[i] = v
	}
	return bsonkit.Array(out...), nil
}

type filterExpr struct {
	input, cond, limit Expr
	as                 string
}

func compileFilter(name string, args bsoncore.Value) (Expr, error) {
	a, err := namedArgs(args, []string{"input", "as", "cond", "limit"},
		func(k string) error { return mongoerr.New(28647, "Unrecognized parameter to $filter: %s", k) },
		func() error { return mongoerr.New(28646, "$filter only supports an object as its argument") })
	if err != nil {
		return nil, err
	}
	f := filterExpr{as: "this"}
	inputV, ok := a["input"]
	if !ok {
		return nil, mongoerr.New(28648, "Missing 'input' parameter to $filter")
	}
	condV, ok := a["cond"]
	if !ok {
		return nil, mongoerr.New(28650, "Missing 'cond' parameter to $filter")
	}
	if asV, ok := a["as"]; ok {
		if asV.Type != bsoncore.TypeString {
			return nil, mongoerr.New(mongoerr.FailedToParse, "$filter 'as' must be a string")
		}
		f.as = asV.StringValue()
		if err := validateVarName(f.as, false); err != nil {
			return nil, err
		}
	}
	if f.input, err = Compile(inputV); err != nil {
		return nil, err
	}
	if f.cond, err = Compile(condV); err != nil {
		return nil, err
	}
	if limV, ok := a["limit"]; ok {
		if f.limit, err = Compile(limV); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (f filterExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	input, err := f.input.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	if nullish(input) {
		return bsonkit.Null(), nil
	}
	if input.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(28651, "input to $filter must be an array not %s", TypeName(input.Type))
	}
	limit := -1
	if f.limit != nil {
		lv, err := f.limit.Eval(ctx)
		if err != nil {
			return bsonkit.Missing, err
		}
		if !nullish(lv) {
			n, ok := asInt32(lv)
			if !ok {
				return bsonkit.Missing, mongoerr.New(327391, "$filter: limit must be represented as a 32-bit integral value: %s", ValueString(lv))
			}
			if n < 1 {
				return bsonkit.Missing, mongoerr.New(327392, "$filter: limit must be greater than 0: %d", n)
			}
			limit = int(n)
		}
	}
	var out []bsoncore.Value
	inner := ctx.with(f.as, bsonkit.Missing)
	for _, e := range arrayValues(input) {
		if limit >= 0 && len(out) >= limit {
			break
		}
		inner.scope.value = e
		v, err := f.cond.Eval(inner)
		if err != nil {
			return bsonkit.Missing, err
		}
		if bsonkit.Truthy(v) {
			out = append(out, e)
		}
	}
	return bsonkit.Array(out...), nil
}

type reduceExpr struct{ input, initial, in Expr }

func compileReduce(name string, args bsoncore.Value) (Expr, error) {
	a, err := namedArgs(args, []string{"input", "initialValue", "in"},
		func(k string) error { return mongoerr.New(40076, "$reduce found an unknown argument: %s", k) },
		func() error {
			return mongoerr.New(40075, "$reduce requires an object as an argument, found: %s", TypeName(args.Type))
		})
	if err != nil {
		return nil, err
	}
	var r reduceExpr
	for _, k := range []struct {
		name string
		code int32
		dst  *Expr
	}{{"input", 40077, &r.input}, {"initialValue", 40078, &r.initial}, {"in", 40079, &r.in}} {
		v, ok := a[k.name]
		if !ok {
			return nil, mongoerr.New(k.code, "$reduce requires '%s' to be specified", k.name)
		}
		if *k.dst, err = Compile(v); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r reduceExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	input, err := r.input.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	if nullish(input) {
		return bsonkit.Null(), nil
	}
	if input.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(40080, "$reduce requires that 'input' be an array, found: %s", ValueString(input))
	}
	acc, err := r.initial.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	inner := ctx.with("value", bsonkit.Missing).with("this", bsonkit.Missing)
	for _, e := range arrayValues(input) {
		inner.scope.value = e
		inner.scope.parent.value = acc
		if acc, err = r.in.Eval(inner); err != nil {
			return bsonkit.Missing, err
		}
	}
	return acc, nil
}
