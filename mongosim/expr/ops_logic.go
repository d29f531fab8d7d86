package expr

import (
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	registerNary(2, 2, evalCompare, "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$cmp")
	register(compileAndOr, "$and", "$or")
	registerNary(1, 1, func(_ string, v []bsoncore.Value) (bsoncore.Value, error) {
		return boolValue(!bsonkit.Truthy(v[0])), nil
	}, "$not")
	register(compileCond, "$cond")
	register(compileIfNull, "$ifNull")
	register(compileSwitch, "$switch")
}

func evalCompare(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	c := bsonkit.Compare(vals[0], vals[1])
	switch name {
	case "$eq":
		return boolValue(c == 0), nil
	case "$ne":
		return boolValue(c != 0), nil
	case "$gt":
		return boolValue(c > 0), nil
	case "$gte":
		return boolValue(c >= 0), nil
	case "$lt":
		return boolValue(c < 0), nil
	case "$lte":
		return boolValue(c <= 0), nil
	}
	return bsonkit.Int32(int32(c)), nil
}

type andOr struct {
	or   bool
	args []Expr
}

func compileAndOr(name string, args bsoncore.Value) (Expr, error) {
	exprs, err := compileOperands(name, args, 0, -1)
	if err != nil {
		return nil, err
	}
	return andOr{or: name == "$or", args: exprs}, nil
}

func (a andOr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	for _, e := range a.args {
		v, err := e.Eval(ctx)
		if err != nil {
			return bsonkit.Missing, err
		}
		if bsonkit.Truthy(v) == a.or {
			return boolValue(a.or), nil
		}
	}
	return boolValue(!a.or), nil
}

type condExpr struct{ ifE, thenE, elseE Expr }

func compileCond(name string, args bsoncore.Value) (Expr, error) {
	if args.Type == bsoncore.TypeEmbeddedDocument {
		var c condExpr
		elems, _ := args.Document().Elements()
		for _, e := range elems {
			x, err := Compile(e.Value())
			if err != nil {
				return nil, err
			}
			switch e.Key() {
			case "if":
				c.ifE = x
			case "then":
				c.thenE = x
			case "else":
				c.elseE = x
			default:
				return nil, mongoerr.New(17083, "Unrecognized parameter to $cond: %s", e.Key())
			}
		}
		switch {
		case c.ifE == nil:
			return nil, mongoerr.New(17080, "Missing 'if' parameter to $cond")
		case c.thenE == nil:
			return nil, mongoerr.New(17081, "Missing 'then' parameter to $cond")
		case c.elseE == nil:
			return nil, mongoerr.New(17082, "Missing 'else' parameter to $cond")
		}
		return c, nil
	}
	exprs, err := compileOperands(name, args, 3, 3)
	if err != nil {
		return nil, err
	}
	return condExpr{exprs[0], exprs[1], exprs[2]}, nil
}

func (c condExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	v, err := c.ifE.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	if bsonkit.Truthy(v) {
		return c.thenE.Eval(ctx)
	}
	return c.elseE.Eval(ctx)
}

type ifNullExpr struct{ args []Expr }

func compileIfNull(name string, args bsoncore.Value) (Expr, error) {
	if n := len(operands(args)); n < 2 {
		return nil, mongoerr.New(1257300, "$ifNull needs at least two arguments, had: %d", n)
	}
	exprs, err := compileOperands(name, args, 2, -1)
	if err != nil {
		return nil, err
	}
	return ifNullExpr{exprs}, nil
}

func (f ifNullExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	last := len(f.args) - 1
	for i, e := range f.args {
		v, err := e.Eval(ctx)
		if err != nil {
			return bsonkit.Missing, err
		}
		if i == last || !nullish(v) {
			return v, nil
		}
	}
	return bsonkit.Null(), nil
}

type switchExpr struct {
	cases, thens []Expr
	def          Expr
}

func compileSwitch(name string, args bsoncore.Value) (Expr, error) {
	if args.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(40060, "$switch requires an object as an argument, found: %s", TypeName(args.Type))
	}
	var s switchExpr
	elems, _ := args.Document().Elements()
	for _, e := range elems {
		switch e.Key() {
		case "branches":
			if e.Value().Type != bsoncore.TypeArray {
				return nil, mongoerr.New(40061, "$switch expected an array for 'branches', found: %s", TypeName(e.Value().Type))
			}
			for _, b := range arrayValues(e.Value()) {
				if b.Type != bsoncore.TypeEmbeddedDocument {
					return nil, mongoerr.New(40062, "$switch expected each branch to be an object, found: %s", TypeName(b.Type))
				}
				var c, t Expr
				belems, _ := b.Document().Elements()
				for _, be := range belems {
					x, err := Compile(be.Value())
					if err != nil {
						return nil, err
					}
					switch be.Key() {
					case "case":
						c = x
					case "then":
						t = x
					default:
						return nil, mongoerr.New(40063, "$switch found an unknown argument to a branch: %s", be.Key())
					}
				}
				if c == nil {
					return nil, mongoerr.New(40064, "$switch requires each branch have a 'case' expression")
				}
				if t == nil {
					return nil, mongoerr.New(40065, "$switch requires each branch have a 'then' expression.")
				}
				s.cases = append(s.cases, c)
				s.thens = append(s.thens, t)
			}
		case "default":
			x, err := Compile(e.Value())
			if err != nil {
				return nil, err
			}
			s.def = x
		default:
			return nil, mongoerr.New(40067, "$switch found an unknown argument: %s", e.Key())
		}
	}
	if len(s.cases) == 0 {
		return nil, mongoerr.New(40068, "$switch requires at least one branch.")
	}
	return s, nil
}

func (s switchExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	for i, c := range s.cases {
		v, err := c.Eval(ctx)
		if err != nil {
			return bsonkit.Missing, err
		}
		if bsonkit.Truthy(v) {
			return s.thens[i].Eval(ctx)
		}
	}
	if s.def == nil {
		return bsonkit.Missing, mongoerr.New(40066,
			"$switch could not find a matching branch for an input, and no default was specified.")
	}
	return s.def.Eval(ctx)
}
