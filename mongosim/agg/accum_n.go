package agg

import (
	"sort"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/expr"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/query"
)

// The n-ary and sort-based accumulators of MongoDB 5.2+: $firstN $lastN
// $maxN $minN $top $bottom $topN $bottomN.

// parseNAccumulator returns the per-document argument and the factory.
func parseNAccumulator(op string, arg bsoncore.Value) (expr.Expr, func() accumulator, error) {
	if arg.Type != bsoncore.TypeEmbeddedDocument {
		return nil, nil, mongoerr.New(5787801, "specification must be an object; found %s", expr.ValueString(arg))
	}
	withSort := op == "$top" || op == "$bottom" || op == "$topN" || op == "$bottomN"
	withN := op != "$top" && op != "$bottom"
	allowed := map[string]bool{"n": withN, "input": !withSort, "sortBy": withSort, "output": withSort}
	fields := map[string]bsoncore.Value{}
	for _, e := range docElems(arg.Document()) {
		if !allowed[e.Key()] {
			return nil, nil, mongoerr.New(5787901, "Unknown argument for '%s' operator: %s", op, e.Key())
		}
		fields[e.Key()] = e.Value()
	}
	n := int64(1)
	if withN {
		nv, ok := fields["n"]
		if !ok {
			return nil, nil, mongoerr.New(5787906, "Missing value for 'n'")
		}
		var err error
		if n, err = constantN(op, nv); err != nil {
			return nil, nil, err
		}
	}
	if !withSort {
		in, ok := fields["input"]
		if !ok {
			return nil, nil, mongoerr.New(5787907, "Missing value for 'input'")
		}
		e, err := expr.Compile(in)
		if err != nil {
			return nil, nil, err
		}
		return e, func() accumulator { return &nAcc{op: op, n: int(n)} }, nil
	}
	sb, ok := fields["sortBy"]
	if !ok {
		return nil, nil, mongoerr.New(5788002, "Missing value for 'sortBy'")
	}
	if sb.Type != bsoncore.TypeEmbeddedDocument {
		return nil, nil, mongoerr.New(5788003, "expected 'sortBy' to be an object, found %s", expr.ValueString(sb))
	}
	srt, err := query.CompileSort(sb.Document())
	if err != nil {
		return nil, nil, err
	}
	out, ok := fields["output"]
	if !ok {
		return nil, nil, mongoerr.New(5788004, "Missing value for 'output'")
	}
	outE, err := expr.Compile(out)
	if err != nil {
		return nil, nil, err
	}
	single := op == "$top" || op == "$bottom"
	bottom := op == "$bottom" || op == "$bottomN"
	return rootAndOutput{outE}, func() accumulator {
		return &topAcc{sort: srt, n: int(n), single: single, bottom: bottom}
	}, nil
}

func constantN(op string, v bsoncore.Value) (int64, error) {
	e, err := expr.Compile(v)
	if err != nil {
		return 0, err
	}
	val, err := e.Eval(&expr.Ctx{Root: emptyDocBytes})
	if err != nil {
		return 0, err
	}
	n, ok := expr.AsInt64(val)
	if !bsonkit.IsNumber(val.Type) || !ok {
		return 0, mongoerr.New(5787902, "Value for 'n' must be of integral type, but found %s", expr.ValueString(val))
	}
	if n <= 0 {
		return 0, mongoerr.New(5787908, "'n' must be greater than 0, found %d", n)
	}
	return n, nil
}

// rootAndOutput evaluates to [$$ROOT, output] for the sort-based accumulators.
type rootAndOutput struct{ out expr.Expr }

func (r rootAndOutput) Eval(ctx *expr.Ctx) (bsoncore.Value, error) {
	v, err := r.out.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	if v.Type == 0 {
		v = bsonkit.Null()
	}
	return bsonkit.Array(bsonkit.DocValue(ctx.Root), v), nil
}

// nAcc implements $firstN $lastN $maxN $minN.
type nAcc struct {
	op   string
	n    int
	vals []bsoncore.Value
}

func (a *nAcc) add(v bsoncore.Value) {
	switch a.op {
	case "$firstN":
		if len(a.vals) < a.n {
			a.vals = append(a.vals, orNull(v))
		}
	case "$lastN":
		a.vals = append(a.vals, orNull(v))
		if len(a.vals) > a.n {
			a.vals = a.vals[1:]
		}
	default:
		if expr.Nullish(v) {
			return
		}
		a.vals = append(a.vals, v)
		dir := 1 // $minN keeps the smallest
		if a.op == "$maxN" {
			dir = -1
		}
		sort.SliceStable(a.vals, func(i, j int) bool { return bsonkit.Compare(a.vals[i], a.vals[j])*dir < 0 })
		if len(a.vals) > a.n {
			a.vals = a.vals[:a.n]
		}
	}
}

func (a *nAcc) result() bsoncore.Value { return bsonkit.Array(a.vals...) }

func orNull(v bsoncore.Value) bsoncore.Value {
	if v.Type == 0 {
		return bsonkit.Null()
	}
	return v
}

type rankedOutput struct {
	key []bsoncore.Value
	out bsoncore.Value
	seq int
}

// topAcc implements $top $bottom $topN $bottomN.
type topAcc struct {
	sort           *query.Sort
	n              int
	single, bottom bool
	kept           []rankedOutput
	seq            int
}

func (a *topAcc) add(v bsoncore.Value) {
	pair := bsonkit.Values(v)
	if len(pair) != 2 {
		return
	}
	r := rankedOutput{key: a.sort.Key(pair[0].Document()), out: pair[1], seq: a.seq}
	a.seq++
	a.kept = append(a.kept, r)
	sort.SliceStable(a.kept, func(i, j int) bool {
		c := a.sort.CompareKeys(a.kept[i].key, a.kept[j].key)
		if a.bottom {
			c = -c
		}
		if c != 0 {
			return c < 0
		}
		return a.kept[i].seq < a.kept[j].seq
	})
	if len(a.kept) > a.n {
		a.kept = a.kept[:a.n]
	}
}

func (a *topAcc) result() bsoncore.Value {
	kept := a.kept
	if a.bottom {
		// $bottomN lists the bottom documents in sort order.
		rev := make([]rankedOutput, len(kept))
		for i, r := range kept {
			rev[len(kept)-1-i] = r
		}
		kept = rev
	}
	if a.single {
		if len(kept) == 0 {
			return bsonkit.Null()
		}
		return kept[0].out
	}
	vals := make([]bsoncore.Value, len(kept))
	for i, r := range kept {
		vals[i] = r.out
	}
	return bsonkit.Array(vals...)
}
