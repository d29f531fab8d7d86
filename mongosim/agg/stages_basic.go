package agg

import (
	"context"
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/expr"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/query"
)

func init() {
	stageParsers["$match"] = parseMatch
	stageParsers["$project"] = parseProject
	stageParsers["$addFields"] = parseAddFields
	stageParsers["$set"] = parseAddFields
	stageParsers["$unset"] = parseUnset
	stageParsers["$limit"] = parseLimit
	stageParsers["$skip"] = parseSkip
	stageParsers["$count"] = parseCount
	stageParsers["$replaceRoot"] = parseReplaceRoot
	stageParsers["$replaceWith"] = parseReplaceWith
	stageParsers["$collStats"] = parseCollStats
}

// exprCtx returns the evaluation context for one document.
func (p *Pipeline) exprCtx(doc bsoncore.Document) *expr.Ctx {
	return &expr.Ctx{Root: doc, Vars: p.opts.Vars, Now: p.opts.Now, ClusterTime: p.opts.ClusterTime}
}

// mapStage applies fn to each document; fn may drop it (ok=false).
type mapStage struct {
	stageName string
	fn        func(doc bsoncore.Document, p *Pipeline) (bsoncore.Document, bool, error)
}

func (m *mapStage) name() string { return m.stageName }

func (m *mapStage) run(ctx context.Context, in Iterator, p *Pipeline) (Iterator, error) {
	return iterFunc(func() (bsoncore.Document, bool, error) {
		for {
			d, ok, err := in.Next()
			if err != nil || !ok {
				return nil, false, err
			}
			out, keep, err := m.fn(d, p)
			if err != nil {
				return nil, false, err
			}
			if keep {
				return out, true, nil
			}
		}
	}), nil
}

type matchStage struct {
	mapStage
	m *query.Matcher
}

func parseMatch(arg bsoncore.Value, p *Pipeline) (stage, error) {
	if arg.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(15959, "the match filter must be an expression in an object")
	}
	m, err := query.CompileOptions(arg.Document(), p.opts)
	if err != nil {
		return nil, err
	}
	s := &matchStage{m: m}
	s.mapStage = mapStage{stageName: "$match", fn: func(doc bsoncore.Document, _ *Pipeline) (bsoncore.Document, bool, error) {
		ok, _, err := m.MatchErr(doc)
		return doc, ok, err
	}}
	return s, nil
}

func projectionStage(name string, proj *query.Projection) stage {
	return &mapStage{stageName: name, fn: func(doc bsoncore.Document, _ *Pipeline) (bsoncore.Document, bool, error) {
		out, err := proj.Apply(doc, -1)
		return out, err == nil, err
	}}
}

func parseProject(arg bsoncore.Value, p *Pipeline) (stage, error) {
	if arg.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(15969, "$project specification must be an object")
	}
	proj, err := query.CompileProjectionMode(arg.Document(), query.ModeProject, p.opts)
	if err != nil {
		return nil, err
	}
	return projectionStage("$project", proj), nil
}

func parseAddFields(arg bsoncore.Value, p *Pipeline) (stage, error) {
	if arg.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(40272, "$addFields specification stage must be an object, got %s", expr.TypeName(arg.Type))
	}
	proj, err := query.CompileProjectionMode(arg.Document(), query.ModeAddFields, p.opts)
	if err != nil {
		return nil, err
	}
	return projectionStage("$addFields", proj), nil
}

func parseUnset(arg bsoncore.Value, p *Pipeline) (stage, error) {
	var fields []string
	switch arg.Type {
	case bsoncore.TypeString:
		fields = []string{arg.StringValue()}
	case bsoncore.TypeArray:
		for _, v := range bsonkit.Values(arg) {
			if v.Type != bsoncore.TypeString {
				return nil, mongoerr.New(31120, "$unset specification must be a string or an array containing only string values")
			}
			fields = append(fields, v.StringValue())
		}
		if len(fields) == 0 {
			return nil, mongoerr.New(31119, "$unset specification must be a string or an array with at least one field")
		}
	default:
		return nil, mongoerr.New(31002, "$unset specification must be a string or an array")
	}
	var spec bsonkit.Doc
	for _, f := range fields {
		spec.Append(f, bsonkit.Int32(0))
	}
	proj, err := query.CompileProjectionMode(spec.Bytes(), query.ModeProject, p.opts)
	if err != nil {
		return nil, err
	}
	return projectionStage("$unset", proj), nil
}

type limitStage struct{ n int64 }

func (l *limitStage) name() string { return "$limit" }

func (l *limitStage) run(ctx context.Context, in Iterator, p *Pipeline) (Iterator, error) {
	seen := int64(0)
	return iterFunc(func() (bsoncore.Document, bool, error) {
		if seen >= l.n {
			return nil, false, nil
		}
		d, ok, err := in.Next()
		if ok {
			seen++
		}
		return d, ok, err
	}), nil
}

// positiveInt64 converts an integral number argument (doubles must be whole).
func integralArg(v bsoncore.Value) (int64, bool) {
	if !bsonkit.IsNumber(v.Type) {
		return 0, false
	}
	return expr.AsInt64(v)
}

func parseLimit(arg bsoncore.Value, p *Pipeline) (stage, error) {
	if !bsonkit.IsNumber(arg.Type) {
		return nil, mongoerr.New(15957, "the limit must be specified as a number")
	}
	n, ok := integralArg(arg)
	if !ok {
		return nil, mongoerr.New(mongoerr.FailedToParse, "invalid argument to $limit stage: Expected an integer: $limit: %s", expr.ValueString(arg))
	}
	if n <= 0 {
		return nil, mongoerr.New(15958, "the limit must be positive")
	}
	return &limitStage{n: n}, nil
}

type skipStage struct{ n int64 }

func (s *skipStage) name() string { return "$skip" }

func (s *skipStage) run(ctx context.Context, in Iterator, p *Pipeline) (Iterator, error) {
	skipped := int64(0)
	return iterFunc(func() (bsoncore.Document, bool, error) {
		for skipped < s.n {
			_, ok, err := in.Next()
			if err != nil || !ok {
				return nil, false, err
			}
			skipped++
		}
		return in.Next()
	}), nil
}

func parseSkip(arg bsoncore.Value, p *Pipeline) (stage, error) {
	if !bsonkit.IsNumber(arg.Type) {
		return nil, mongoerr.New(15972, "Argument to $skip must be a number")
	}
	n, ok := integralArg(arg)
	if !ok {
		return nil, mongoerr.New(mongoerr.FailedToParse, "invalid argument to $skip stage: Expected an integer: $skip: %s", expr.ValueString(arg))
	}
	if n < 0 {
		return nil, mongoerr.New(15956, "invalid argument to $skip stage: Expected a non-negative number in: $skip: %d", n)
	}
	return &skipStage{n: n}, nil
}

type countStage struct{ field string }

func (c *countStage) name() string { return "$count" }

func (c *countStage) run(ctx context.Context, in Iterator, p *Pipeline) (Iterator, error) {
	done := false
	return iterFunc(func() (bsoncore.Document, bool, error) {
		if done {
			return nil, false, nil
		}
		done = true
		n := int64(0)
		if err := forEachInput(ctx, in, func(bsoncore.Document) error { n++; return nil }); err != nil {
			return nil, false, err
		}
		if n == 0 {
			return nil, false, nil
		}
		v := bsonkit.Int64(n)
		if n <= 1<<31-1 {
			v = bsonkit.Int32(int32(n))
		}
		return bsonkit.D(c.field, v), true, nil
	}), nil
}

func parseCount(arg bsoncore.Value, p *Pipeline) (stage, error) {
	if arg.Type != bsoncore.TypeString {
		return nil, mongoerr.New(40156, "the count field must be a non-empty string")
	}
	f := arg.StringValue()
	switch {
	case f == "":
		return nil, mongoerr.New(40157, "the count field must be a non-empty string")
	case strings.HasPrefix(f, "$"):
		return nil, mongoerr.New(40158, "the count field cannot be a $-prefixed path")
	case strings.Contains(f, "."):
		return nil, mongoerr.New(40160, "the count field cannot contain '.'")
	}
	return &countStage{field: f}, nil
}

func replaceRootStage(name string, e expr.Expr) stage {
	return &mapStage{stageName: name, fn: func(doc bsoncore.Document, p *Pipeline) (bsoncore.Document, bool, error) {
		v, err := e.Eval(p.exprCtx(doc))
		if err != nil {
			return nil, false, err
		}
		if v.Type != bsoncore.TypeEmbeddedDocument {
			return nil, false, mongoerr.New(40228, "'newRoot' expression must evaluate to an object, but resulting value was: %s. "+
				"Type of resulting value: '%s'. Input document: %s", expr.ValueString(v), expr.TypeName(v.Type),
				expr.ValueString(bsonkit.DocValue(doc)))
		}
		return v.Document(), true, nil
	}}
}

func parseReplaceRoot(arg bsoncore.Value, p *Pipeline) (stage, error) {
	if arg.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(40229, "expected an object as specification for $replaceRoot stage, got %s", expr.TypeName(arg.Type))
	}
	var newRoot bsoncore.Value
	for _, e := range docElems(arg.Document()) {
		if e.Key() != "newRoot" {
			return nil, mongoerr.New(40415, "BSON field '$replaceRoot.%s' is an unknown field.", e.Key())
		}
		newRoot = e.Value()
	}
	if newRoot.Type == 0 {
		return nil, mongoerr.MissingField("$replaceRoot.newRoot")
	}
	e, err := expr.Compile(newRoot)
	if err != nil {
		return nil, err
	}
	return replaceRootStage("$replaceRoot", e), nil
}

func parseReplaceWith(arg bsoncore.Value, p *Pipeline) (stage, error) {
	e, err := expr.Compile(arg)
	if err != nil {
		return nil, err
	}
	return replaceRootStage("$replaceWith", e), nil
}

func docElems(d bsoncore.Document) []bsoncore.Element {
	els, _ := d.Elements()
	return els
}

type collStatsStage struct{ spec bsoncore.Document }

func (c *collStatsStage) name() string { return "$collStats" }

func (c *collStatsStage) run(ctx context.Context, in Iterator, p *Pipeline) (Iterator, error) {
	if p.env == nil {
		return nil, mongoerr.New(mongoerr.InternalError, "$collStats needs a server environment")
	}
	done := false
	return iterFunc(func() (bsoncore.Document, bool, error) {
		if done {
			return nil, false, nil
		}
		done = true
		d, err := p.env.CollStats(p.ns, c.spec)
		if err != nil {
			return nil, false, err
		}
		return d, true, nil
	}), nil
}

func parseCollStats(arg bsoncore.Value, p *Pipeline) (stage, error) {
	if arg.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(5447000, "$collStats must take a nested object but found: %s", expr.ValueString(arg))
	}
	for _, e := range docElems(arg.Document()) {
		switch e.Key() {
		case "latencyStats", "storageStats", "count", "queryExecStats":
			if e.Value().Type != bsoncore.TypeEmbeddedDocument {
				return nil, mongoerr.WrongType("$collStats."+e.Key(), expr.TypeName(e.Value().Type), "object")
			}
		default:
			return nil, mongoerr.New(40415, "BSON field '$collStats.%s' is an unknown field.", e.Key())
		}
	}
	return &collStatsStage{spec: arg.Document()}, nil
}
