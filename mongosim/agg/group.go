package agg

import (
	"context"
	"encoding/binary"
	"math"
	"math/big"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/expr"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	stageParsers["$group"] = parseGroup
	stageParsers["$sortByCount"] = parseSortByCount
}

// accumulator folds the values of one group field.
type accumulator interface {
	add(v bsoncore.Value)
	result() bsoncore.Value
}

type accField struct {
	name   string
	op     string
	arg    expr.Expr
	newAcc func() accumulator
}

var accumulators = map[string]func() accumulator{
	"$sum":          func() accumulator { return &sumAcc{} },
	"$avg":          func() accumulator { return &sumAcc{avg: true} },
	"$min":          func() accumulator { return &minMaxAcc{dir: -1} },
	"$max":          func() accumulator { return &minMaxAcc{dir: 1} },
	"$first":        func() accumulator { return &firstLastAcc{} },
	"$last":         func() accumulator { return &firstLastAcc{last: true} },
	"$push":         func() accumulator { return &pushAcc{} },
	"$addToSet":     func() accumulator { return &pushAcc{set: map[string]bool{}} },
	"$mergeObjects": func() accumulator { return &mergeAcc{} },
	"$stdDevPop":    func() accumulator { return &stdDevAcc{} },
	"$stdDevSamp":   func() accumulator { return &stdDevAcc{samp: true} },
}

// parseAccumulators parses {field: {$acc: expr}, ...} (skipping "_id").
func parseAccumulators(fields []bsoncore.Element, stageName string) ([]accField, error) {
	var out []accField
	for _, e := range fields {
		name := e.Key()
		if name == "_id" {
			continue
		}
		if strings.HasPrefix(name, "$") {
			return nil, mongoerr.New(40236, "The field name '%s' cannot be an operator name", name)
		}
		if strings.Contains(name, ".") {
			return nil, mongoerr.New(40235, "The field name '%s' cannot contain '.'", name)
		}
		v := e.Value()
		if v.Type != bsoncore.TypeEmbeddedDocument {
			return nil, mongoerr.New(40234, "The field '%s' must be an accumulator object", name)
		}
		els := docElems(v.Document())
		if len(els) != 1 {
			return nil, mongoerr.New(40238, "The field '%s' must specify one accumulator", name)
		}
		op, arg := els[0].Key(), els[0].Value()
		var mk func() accumulator
		var argExpr expr.Expr
		switch op {
		case "$count":
			if arg.Type != bsoncore.TypeEmbeddedDocument || len(docElems(arg.Document())) != 0 {
				return nil, mongoerr.New(mongoerr.TypeMismatch, "$count takes no arguments, i.e. $count:{}")
			}
			mk = accumulators["$sum"]
			argExpr, _ = expr.Compile(bsonkit.Int32(1))
		case "$firstN", "$lastN", "$maxN", "$minN", "$top", "$bottom", "$topN", "$bottomN":
			var err error
			if argExpr, mk, err = parseNAccumulator(op, arg); err != nil {
				return nil, err
			}
		default:
			var ok bool
			if mk, ok = accumulators[op]; !ok {
				if strings.HasPrefix(op, "$") {
					return nil, mongoerr.New(15952, "unknown group operator '%s'", op)
				}
				return nil, mongoerr.New(40234, "The field '%s' must be an accumulator object", name)
			}
			if arg.Type == bsoncore.TypeArray {
				return nil, mongoerr.New(40237, "The %s accumulator is a unary operator", op)
			}
			var err error
			if argExpr, err = expr.Compile(arg); err != nil {
				return nil, err
			}
		}
		out = append(out, accField{name: name, op: op, arg: argExpr, newAcc: mk})
	}
	return out, nil
}

type groupStage struct {
	id     expr.Expr
	fields []accField
}

func (g *groupStage) name() string { return "$group" }

func parseGroup(arg bsoncore.Value, p *Pipeline) (stage, error) {
	if arg.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(15947, "a group's fields must be specified in an object")
	}
	els := docElems(arg.Document())
	g := &groupStage{}
	for _, e := range els {
		if e.Key() == "_id" {
			if g.id != nil {
				return nil, mongoerr.New(15948, "a group's _id may only be specified once")
			}
			id, err := expr.Compile(e.Value())
			if err != nil {
				return nil, err
			}
			g.id = id
		}
	}
	if g.id == nil {
		return nil, mongoerr.New(15955, "a group specification must include an _id")
	}
	fields, err := parseAccumulators(els, "$group")
	if err != nil {
		return nil, err
	}
	g.fields = fields
	return g, nil
}

type group struct {
	id   bsoncore.Value
	accs []accumulator
}

func (g *groupStage) run(ctx context.Context, in Iterator, p *Pipeline) (Iterator, error) {
	return blockingIter(func() ([]*group, error) { return g.load(ctx, in, p) }, func(gr *group) bsoncore.Document {
		var out bsonkit.Doc
		out.Append("_id", gr.id)
		for j, f := range g.fields {
			out.Append(f.name, gr.accs[j].result())
		}
		return out.Bytes()
	}), nil
}

func (g *groupStage) load(ctx context.Context, in Iterator, p *Pipeline) ([]*group, error) {
	index := map[string]*group{}
	var order []*group
	var keyBuf []byte
	err := forEachInput(ctx, in, func(d bsoncore.Document) error {
		ectx := p.exprCtx(d)
		id, err := g.id.Eval(ectx)
		if err != nil {
			return err
		}
		if id.Type == 0 {
			id = bsonkit.Null()
		}
		keyBuf = canonicalKey(keyBuf[:0], id)
		gr, ok := index[string(keyBuf)]
		if !ok {
			gr = &group{id: id, accs: make([]accumulator, len(g.fields))}
			for j, f := range g.fields {
				gr.accs[j] = f.newAcc()
			}
			index[string(keyBuf)] = gr
			order = append(order, gr)
		}
		for j, f := range g.fields {
			v, err := f.arg.Eval(ectx)
			if err != nil {
				return err
			}
			gr.accs[j].add(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return order, nil
}

// canonicalKey appends a byte string that is equal for two values exactly
// when bsonkit.Compare considers them equal (1, 1.0 and NumberLong(1) agree).
func canonicalKey(b []byte, v bsoncore.Value) []byte {
	b = append(b, byte(bsonkit.TypeBracket(v.Type)))
	switch v.Type {
	case 0, bsoncore.TypeNull, bsoncore.TypeUndefined, bsoncore.TypeMinKey, bsoncore.TypeMaxKey:
		return b
	case bsoncore.TypeInt32, bsoncore.TypeInt64, bsoncore.TypeDouble, bsoncore.TypeDecimal128:
		return appendLenString(b, numberKey(v))
	case bsoncore.TypeString:
		return appendLenString(b, v.StringValue())
	case bsoncore.TypeSymbol:
		return appendLenString(b, v.Symbol())
	case bsoncore.TypeEmbeddedDocument, bsoncore.TypeArray:
		els, _ := bsoncore.Document(v.Data).Elements()
		b = binary.AppendUvarint(b, uint64(len(els)))
		for _, e := range els {
			b = appendLenString(b, e.Key())
			b = canonicalKey(b, e.Value())
		}
		return b
	case bsoncore.TypeCodeWithScope:
		code, scope := v.CodeWithScope()
		b = appendLenString(b, code)
		return canonicalKey(b, bsonkit.DocValue(scope))
	}
	b = append(b, byte(v.Type))
	return appendLenString(b, string(v.Data))
}

func appendLenString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// numberKey renders a number's exact value canonically.
func numberKey(v bsoncore.Value) string {
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		return strconv.FormatInt(v.AsInt64(), 10)
	case bsoncore.TypeDouble:
		f := v.Double()
		switch {
		case math.IsNaN(f):
			return "nan"
		case math.IsInf(f, 1):
			return "+inf"
		case math.IsInf(f, -1):
			return "-inf"
		case f == math.Trunc(f) && math.Abs(f) < 9e18:
			return strconv.FormatInt(int64(f), 10)
		}
		return new(big.Rat).SetFloat64(f).RatString()
	}
	h, l := v.Decimal128()
	d := bson.NewDecimal128(h, l)
	if d.IsNaN() {
		return "nan"
	}
	if inf := d.IsInf(); inf != 0 {
		if inf > 0 {
			return "+inf"
		}
		return "-inf"
	}
	bi, exp, err := d.BigInt()
	if err != nil {
		return "nan"
	}
	r := new(big.Rat).SetInt(bi)
	if exp > 0 {
		r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
	} else if exp < 0 {
		r.Quo(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-exp)), nil)))
	}
	return r.RatString()
}

type sumAcc struct {
	s   expr.Summer
	avg bool
}

func (a *sumAcc) add(v bsoncore.Value) {
	if bsonkit.IsNumber(v.Type) {
		a.s.Add(v)
	}
}

func (a *sumAcc) result() bsoncore.Value {
	if a.avg {
		return a.s.Avg()
	}
	return a.s.Result()
}

type minMaxAcc struct {
	dir  int
	best bsoncore.Value
}

func (a *minMaxAcc) add(v bsoncore.Value) {
	if expr.Nullish(v) {
		return
	}
	if a.best.Type == 0 || bsonkit.Compare(v, a.best)*a.dir > 0 {
		a.best = v
	}
}

func (a *minMaxAcc) result() bsoncore.Value {
	if a.best.Type == 0 {
		return bsonkit.Null()
	}
	return a.best
}

type firstLastAcc struct {
	last bool
	seen bool
	v    bsoncore.Value
}

func (a *firstLastAcc) add(v bsoncore.Value) {
	if a.seen && !a.last {
		return
	}
	a.seen = true
	a.v = v
}

func (a *firstLastAcc) result() bsoncore.Value {
	if a.v.Type == 0 {
		return bsonkit.Null()
	}
	return a.v
}

type pushAcc struct {
	vals []bsoncore.Value
	set  map[string]bool
}

func (a *pushAcc) add(v bsoncore.Value) {
	if v.Type == 0 {
		return
	}
	if a.set != nil {
		k := string(canonicalKey(nil, v))
		if a.set[k] {
			return
		}
		a.set[k] = true
	}
	a.vals = append(a.vals, v)
}

func (a *pushAcc) result() bsoncore.Value { return bsonkit.Array(a.vals...) }

type mergeAcc struct{ docs []bsoncore.Document }

func (a *mergeAcc) add(v bsoncore.Value) {
	if v.Type == bsoncore.TypeEmbeddedDocument {
		a.docs = append(a.docs, v.Document())
	}
}

func (a *mergeAcc) result() bsoncore.Value { return bsonkit.DocValue(expr.MergeDocs(a.docs...)) }

// stdDevAcc uses Welford's online algorithm over numeric inputs.
type stdDevAcc struct {
	samp     bool
	n        float64
	mean, m2 float64
}

func (a *stdDevAcc) add(v bsoncore.Value) {
	if !bsonkit.IsNumber(v.Type) {
		return
	}
	x, _ := bsonkit.ToFloat(v)
	a.n++
	d := x - a.mean
	a.mean += d / a.n
	a.m2 += d * (x - a.mean)
}

func (a *stdDevAcc) result() bsoncore.Value {
	if a.n == 0 || (a.samp && a.n < 2) {
		return bsonkit.Null()
	}
	div := a.n
	if a.samp {
		div = a.n - 1
	}
	return bsonkit.Double(math.Sqrt(a.m2 / div))
}

// $sortByCount: {$group: {_id: <expr>, count: {$sum: 1}}}, {$sort: {count: -1}}.
type sortByCountStage struct {
	group *groupStage
	sort  *sortStage
}

func (s *sortByCountStage) name() string { return "$sortByCount" }

func (s *sortByCountStage) run(ctx context.Context, in Iterator, p *Pipeline) (Iterator, error) {
	it, err := s.group.run(ctx, in, p)
	if err != nil {
		return nil, err
	}
	return s.sort.run(ctx, it, p)
}

func parseSortByCount(arg bsoncore.Value, p *Pipeline) (stage, error) {
	isPath := arg.Type == bsoncore.TypeString && strings.HasPrefix(arg.StringValue(), "$")
	if !isPath && !expr.IsOperatorDoc(arg) {
		return nil, mongoerr.New(40148, "the sortByCount field must be defined as a $-prefixed path or an expression object")
	}
	id, err := expr.Compile(arg)
	if err != nil {
		return nil, err
	}
	one, _ := expr.Compile(bsonkit.Int32(1))
	g := &groupStage{id: id, fields: []accField{{name: "count", op: "$sum", arg: one, newAcc: accumulators["$sum"]}}}
	srt, err := parseSort(bsonkit.DocValue(bsonkit.D("count", bsonkit.Int32(-1))), p)
	if err != nil {
		return nil, err
	}
	return &sortByCountStage{group: g, sort: srt.(*sortStage)}, nil
}
