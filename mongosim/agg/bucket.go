package agg

import (
	"context"
	"math"
	"math/bits"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/expr"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	stageParsers["$bucketAuto"] = parseBucketAuto
	stageParsers["$bucket"] = parseBucket
}

// parseGroupBy requires a $-path or an operator expression, as MongoDB does.
func parseGroupBy(stageName string, code int32, v bsoncore.Value) (expr.Expr, error) {
	isPath := v.Type == bsoncore.TypeString && len(v.StringValue()) > 1 && strings.HasPrefix(v.StringValue(), "$")
	if !isPath && !expr.IsOperatorDoc(v) {
		return nil, mongoerr.New(code, "The %s 'groupBy' field must be defined as a $-prefixed path or an expression object, but found: %s",
			stageName, expr.ValueString(v))
	}
	return expr.Compile(v)
}

// defaultCount is the output used when none is specified: {count: {$sum: 1}}.
func defaultCount() []accField {
	one, _ := expr.Compile(bsonkit.Int32(1))
	return []accField{{name: "count", op: "$sum", arg: one, newAcc: accumulators["$sum"]}}
}

func parseOutput(stageName string, v bsoncore.Value) ([]accField, error) {
	if v.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(40196, "The %s 'output' field must be an object, but found type: %s", stageName, expr.TypeName(v.Type))
	}
	return parseAccumulators(docElems(v.Document()), stageName)
}

type bucketAutoStage struct {
	groupBy  expr.Expr
	buckets  int
	output   []accField
	rounding rounder
}

func (b *bucketAutoStage) name() string { return "$bucketAuto" }

func parseBucketAuto(arg bsoncore.Value, p *Pipeline) (stage, error) {
	if arg.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(40240, "The argument to $bucketAuto must be an object, but found type: %s", expr.TypeName(arg.Type))
	}
	b := &bucketAutoStage{}
	haveBuckets := false
	for _, e := range docElems(arg.Document()) {
		v := e.Value()
		switch e.Key() {
		case "groupBy":
			g, err := parseGroupBy("$bucketAuto", 40239, v)
			if err != nil {
				return nil, err
			}
			b.groupBy = g
		case "buckets":
			if !bsonkit.IsNumber(v.Type) {
				return nil, mongoerr.New(40241, "The $bucketAuto 'buckets' field must be a numeric value, but found type: %s", expr.TypeName(v.Type))
			}
			n, ok := expr.AsInt64(v)
			if !ok || n > math.MaxInt32 || n < math.MinInt32 {
				return nil, mongoerr.New(40242, "The $bucketAuto 'buckets' field must be representable as a 32-bit integer, but found %s", expr.ValueString(v))
			}
			if n <= 0 {
				return nil, mongoerr.New(40243, "The $bucketAuto 'buckets' field must be greater than 0, but found: %d", n)
			}
			b.buckets, haveBuckets = int(n), true
		case "output":
			out, err := parseOutput("$bucketAuto", v)
			if err != nil {
				return nil, err
			}
			b.output = out
		case "granularity":
			if v.Type != bsoncore.TypeString {
				return nil, mongoerr.New(40261, "The $bucketAuto 'granularity' field must be a string, but found type: %s", expr.TypeName(v.Type))
			}
			r, err := newRounder(v.StringValue())
			if err != nil {
				return nil, err
			}
			b.rounding = r
		default:
			return nil, mongoerr.New(40245, "Unrecognized option to $bucketAuto: %s.", e.Key())
		}
	}
	if b.groupBy == nil || !haveBuckets {
		return nil, mongoerr.New(40246, "$bucketAuto requires 'groupBy' and 'buckets' to be specified")
	}
	if b.output == nil {
		b.output = defaultCount()
	}
	return b, nil
}

type keyed struct {
	key bsoncore.Value
	doc bsoncore.Document
}

type bucket struct {
	min, max bsoncore.Value
	accs     []accumulator
}

func (b *bucketAutoStage) run(ctx context.Context, in Iterator, p *Pipeline) (Iterator, error) {
	return blockingIter(func() ([]bsoncore.Document, error) { return b.compute(ctx, in, p) }, sameDoc), nil
}

func (b *bucketAutoStage) compute(ctx context.Context, in Iterator, p *Pipeline) ([]bsoncore.Document, error) {
	var items []keyed
	err := forEachInput(ctx, in, func(d bsoncore.Document) error {
		k, err := b.groupBy.Eval(p.exprCtx(d))
		if err != nil {
			return err
		}
		if b.rounding != nil {
			if err := checkGranularityKey(k); err != nil {
				return err
			}
		}
		if k.Type == 0 {
			k = bsonkit.Null()
		}
		items = append(items, keyed{key: k, doc: d})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(items, func(i, j int) bool { return bsonkit.Compare(items[i].key, items[j].key) < 0 })
	if len(items) == 0 {
		return nil, nil
	}
	approx := int(math.Round(float64(len(items)) / float64(b.buckets)))
	if approx < 1 {
		approx = 1
	}
	var buckets []*bucket
	next := 0
	var prevMax bsoncore.Value
	for n := 1; n <= b.buckets && next < len(items); n++ {
		cur := &bucket{min: items[next].key, max: items[next].key, accs: make([]accumulator, len(b.output))}
		for j, f := range b.output {
			cur.accs[j] = f.newAcc()
		}
		if b.rounding != nil {
			if prevMax.Type != 0 {
				cur.min = prevMax
			} else {
				cur.min = b.rounding.roundDown(items[next].key)
			}
		}
		add := func(it keyed) error {
			cur.max = it.key
			ectx := p.exprCtx(it.doc)
			for j, f := range b.output {
				v, err := f.arg.Eval(ectx)
				if err != nil {
					return err
				}
				cur.accs[j].add(v)
			}
			return nil
		}
		if err := add(items[next]); err != nil {
			return nil, err
		}
		next++
		last := n == b.buckets
		for count := 1; next < len(items) && (count < approx || last); count++ {
			if err := add(items[next]); err != nil {
				return nil, err
			}
			next++
		}
		// Absorb values equal to the boundary, then close the bucket.
		if b.rounding != nil {
			boundary := b.rounding.roundUp(cur.max)
			for next < len(items) && (bsonkit.Compare(boundary, items[next].key) > 0 || bsonkit.Compare(cur.max, items[next].key) == 0) {
				if err := add(items[next]); err != nil {
					return nil, err
				}
				next++
			}
			if f, _ := bsonkit.ToFloat(boundary); f == 0 && next < len(items) {
				cur.max = b.rounding.roundDown(items[next].key)
			} else {
				cur.max = boundary
			}
		} else {
			for next < len(items) && bsonkit.Compare(cur.max, items[next].key) == 0 {
				if err := add(items[next]); err != nil {
					return nil, err
				}
				next++
			}
			if next < len(items) {
				cur.max = items[next].key
			}
		}
		prevMax = cur.max
		buckets = append(buckets, cur)
	}
	out := make([]bsoncore.Document, len(buckets))
	for i, bk := range buckets {
		var d bsonkit.Doc
		d.Append("_id", bsonkit.DocValue(bsonkit.D("min", bk.min, "max", bk.max)))
		for j, f := range b.output {
			d.Append(f.name, bk.accs[j].result())
		}
		out[i] = d.Bytes()
	}
	return out, nil
}

func checkGranularityKey(k bsoncore.Value) error {
	if !bsonkit.IsNumber(k.Type) {
		return mongoerr.New(40258, "$bucketAuto can specify a 'granularity' with numeric boundaries only, but found a value with type: %s",
			expr.TypeName(k.Type))
	}
	f, _ := bsonkit.ToFloat(k)
	if math.IsNaN(f) {
		return mongoerr.New(40259, "$bucketAuto can specify a 'granularity' with numeric boundaries only, but found a NaN")
	}
	if f < 0 {
		return mongoerr.New(40260, "$bucketAuto can specify a 'granularity' with non-negative numbers only, but found a negative number")
	}
	return nil
}

// rounder implements $bucketAuto's granularity: roundUp returns the
// smallest series value strictly greater than v, roundDown the largest
// strictly smaller (0 stays 0).
type rounder interface {
	roundUp(v bsoncore.Value) bsoncore.Value
	roundDown(v bsoncore.Value) bsoncore.Value
}

// preferredSeries are the standard Renard, 1-2-5 and E number series,
// scaled as MongoDB stores them.
var preferredSeries = map[string][]float64{
	"R5":  {10, 16, 25, 40, 63},
	"R10": {100, 125, 160, 200, 250, 315, 400, 500, 630, 800},
	"R20": {100, 112, 125, 140, 160, 180, 200, 224, 250, 280, 315, 355, 400, 450, 500, 560, 630, 710, 800, 900},
	"R40": {100, 106, 112, 118, 125, 132, 140, 150, 160, 170, 180, 190, 200, 212, 224, 236, 250, 265, 280, 300,
		315, 335, 355, 375, 400, 425, 450, 475, 500, 530, 560, 600, 630, 670, 710, 750, 800, 850, 900, 950},
	"R80": {103, 109, 115, 122, 128, 136, 145, 155, 165, 175, 185, 195, 206, 218, 230, 243, 258, 272, 290, 307,
		325, 345, 365, 387, 412, 437, 462, 487, 515, 545, 575, 615, 650, 690, 730, 775, 825, 875, 925, 975},
	"1-2-5": {10, 20, 50},
	"E6":    {10, 15, 22, 33, 47, 68},
	"E12":   {10, 12, 15, 18, 22, 27, 33, 39, 47, 56, 68, 82},
	"E24":   {10, 11, 12, 13, 15, 16, 18, 20, 22, 24, 27, 30, 33, 36, 39, 43, 47, 51, 56, 62, 68, 75, 82, 91},
	"E48": {100, 105, 110, 115, 121, 127, 133, 140, 147, 154, 162, 169, 178, 187, 196, 205, 215, 226, 237, 249,
		261, 274, 287, 301, 316, 332, 348, 365, 383, 402, 422, 442, 464, 487, 511, 536, 562, 590, 619, 649, 681,
		715, 750, 787, 825, 866, 909, 953},
}

func newRounder(name string) (rounder, error) {
	if name == "POWERSOF2" {
		return powersOf2{}, nil
	}
	if s, ok := preferredSeries[name]; ok {
		return seriesRounder(s), nil
	}
	if name == "E96" || name == "E192" {
		return nil, mongoerr.New(mongoerr.NotImplemented, "granularity %s is not supported by mongosim", name)
	}
	return nil, mongoerr.New(40257, "Unknown rounding granularity '%s'", name)
}

// powersOf2 rounds to powers of two, computed as $pow(2, exp) like MongoDB
// (so the result is an int when the exponent is non-negative).
type powersOf2 struct{}

func (powersOf2) roundUp(v bsoncore.Value) bsoncore.Value {
	f, _ := bsonkit.ToFloat(v)
	if f == 0 || math.IsInf(f, 0) {
		return v
	}
	var exp int
	if v.Type == bsoncore.TypeInt32 || v.Type == bsoncore.TypeInt64 {
		exp = 64 - bits.LeadingZeros64(uint64(v.AsInt64()))
	} else {
		exp = int(math.Floor(math.Log2(f)) + 1)
	}
	return pow2(exp)
}

func (powersOf2) roundDown(v bsoncore.Value) bsoncore.Value {
	f, _ := bsonkit.ToFloat(v)
	if f == 0 || math.IsInf(f, 0) {
		return v
	}
	var exp int
	if v.Type == bsoncore.TypeInt32 || v.Type == bsoncore.TypeInt64 {
		n := uint64(v.AsInt64())
		exp = 63 - bits.LeadingZeros64(n)
		if n&(n-1) == 0 {
			exp-- // already a power of two: round down to the previous one
		}
	} else {
		exp = int(math.Ceil(math.Log2(f)) - 1)
	}
	return pow2(exp)
}

func pow2(exp int) bsoncore.Value {
	switch {
	case exp < 0:
		return bsonkit.Double(math.Exp2(float64(exp)))
	case exp < 31:
		return bsonkit.Int32(int32(1) << exp)
	case exp < 63:
		return bsonkit.Int64(int64(1) << exp)
	}
	return bsonkit.Double(math.Exp2(float64(exp)))
}

// seriesRounder follows MongoDB's preferred-number rounding: scale the
// series by powers of ten until it spans the value, then pick the next
// (roundUp) or previous (roundDown) series number.
type seriesRounder []float64

func (s seriesRounder) roundUp(v bsoncore.Value) bsoncore.Value {
	n, _ := bsonkit.ToFloat(v)
	if n == 0 || math.IsInf(n, 0) {
		return v
	}
	first, last := s[0], s[len(s)-1]
	m := 1.0
	for n >= last*m {
		m *= 10
	}
	for n < first*m {
		prevMin := first * m
		m /= 10
		if n >= last*m {
			return seriesResult(v, prevMin)
		}
	}
	i := sort.Search(len(s), func(i int) bool { return n < s[i]*m })
	return seriesResult(v, s[i]*m)
}

func (s seriesRounder) roundDown(v bsoncore.Value) bsoncore.Value {
	n, _ := bsonkit.ToFloat(v)
	if n == 0 || math.IsInf(n, 0) {
		return v
	}
	first, last := s[0], s[len(s)-1]
	m := 1.0
	for n <= first*m {
		m /= 10
	}
	for n > last*m {
		prevMax := last * m
		m *= 10
		if n <= first*m {
			return seriesResult(v, prevMax)
		}
	}
	i := sort.Search(len(s), func(i int) bool { return s[i]*m >= n })
	return seriesResult(v, s[i-1]*m)
}

func seriesResult(in bsoncore.Value, f float64) bsoncore.Value {
	if in.Type == bsoncore.TypeDecimal128 {
		d, err := expr.Compile(bsonkit.DocValue(bsonkit.D("$toDecimal", bsonkit.Double(f))))
		if err == nil {
			if v, err := d.Eval(&expr.Ctx{}); err == nil {
				return v
			}
		}
	}
	return bsonkit.Double(f)
}

// $bucket: fixed boundaries, optional default bucket.
type bucketStage struct {
	groupBy    expr.Expr
	boundaries []bsoncore.Value
	def        bsoncore.Value
	output     []accField
}

func (b *bucketStage) name() string { return "$bucket" }

func parseBucket(arg bsoncore.Value, p *Pipeline) (stage, error) {
	if arg.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(40201, "Argument to $bucket stage must be an object, but found type: %s.", expr.TypeName(arg.Type))
	}
	b := &bucketStage{}
	for _, e := range docElems(arg.Document()) {
		v := e.Value()
		switch e.Key() {
		case "groupBy":
			g, err := parseGroupBy("$bucket", 40202, v)
			if err != nil {
				return nil, err
			}
			b.groupBy = g
		case "boundaries":
			if v.Type != bsoncore.TypeArray {
				return nil, mongoerr.New(40200, "The $bucket 'boundaries' field must be an array, but found type: %s.", expr.TypeName(v.Type))
			}
			b.boundaries = bsonkit.Values(v)
		case "default":
			b.def = v
		case "output":
			out, err := parseOutput("$bucket", v)
			if err != nil {
				return nil, err
			}
			b.output = out
		default:
			return nil, mongoerr.New(40197, "Unrecognized option to $bucket: %s.", e.Key())
		}
	}
	if b.groupBy == nil || b.boundaries == nil {
		return nil, mongoerr.New(40198, "$bucket requires 'groupBy' and 'boundaries' to be specified.")
	}
	if len(b.boundaries) < 2 {
		return nil, mongoerr.New(40192, "The $bucket 'boundaries' field must have at least 2 values, but found %d value(s).", len(b.boundaries))
	}
	for i := 1; i < len(b.boundaries); i++ {
		prev, cur := b.boundaries[i-1], b.boundaries[i]
		if bsonkit.TypeBracket(prev.Type) != bsonkit.TypeBracket(cur.Type) {
			return nil, mongoerr.New(40193, "All values in the the 'boundaries' option to $bucket must have the same type. Found conflicting types %s and %s.",
				expr.TypeName(prev.Type), expr.TypeName(cur.Type))
		}
		if bsonkit.Compare(prev, cur) >= 0 {
			return nil, mongoerr.New(40194, "The 'boundaries' option to $bucket must be sorted, but elements %d and %d are not in ascending order (%s is not less than %s).",
				i-1, i, expr.ValueString(prev), expr.ValueString(cur))
		}
	}
	if b.def.Type != 0 {
		lo, hi := b.boundaries[0], b.boundaries[len(b.boundaries)-1]
		sameBracket := bsonkit.TypeBracket(b.def.Type) == bsonkit.TypeBracket(lo.Type)
		if sameBracket && bsonkit.Compare(b.def, lo) >= 0 && bsonkit.Compare(b.def, hi) < 0 {
			return nil, mongoerr.New(40199, "The $bucket 'default' field must be less than the lowest boundary or greater than or equal to the highest boundary.")
		}
	}
	if b.output == nil {
		b.output = defaultCount()
	}
	return b, nil
}

func (b *bucketStage) run(ctx context.Context, in Iterator, p *Pipeline) (Iterator, error) {
	// $bucket is $group by the bucket's lower boundary (or default), then $sort by _id.
	g := &groupStage{id: bucketID{b}, fields: b.output}
	it, err := g.run(ctx, in, p)
	if err != nil {
		return nil, err
	}
	srt, err := parseSort(bsonkit.DocValue(bsonkit.D("_id", bsonkit.Int32(1))), p)
	if err != nil {
		return nil, err
	}
	return srt.run(ctx, it, p)
}

// bucketID evaluates to the bucket a document falls into.
type bucketID struct{ b *bucketStage }

func (id bucketID) Eval(ctx *expr.Ctx) (bsoncore.Value, error) {
	v, err := id.b.groupBy.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	if v.Type == 0 {
		v = bsonkit.Null()
	}
	bs := id.b.boundaries
	for i := 0; i+1 < len(bs); i++ {
		if bsonkit.TypeBracket(v.Type) == bsonkit.TypeBracket(bs[i].Type) &&
			bsonkit.Compare(v, bs[i]) >= 0 && bsonkit.Compare(v, bs[i+1]) < 0 {
			return bs[i], nil
		}
	}
	if id.b.def.Type == 0 {
		return bsonkit.Missing, mongoerr.New(40066, "$switch could not find a matching branch for an input, and no default was specified.")
	}
	return id.b.def, nil
}
