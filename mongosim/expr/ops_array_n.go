package expr

import (
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	register(compileArrayN, "$firstN", "$lastN", "$maxN", "$minN")
	register(compileSortArray, "$sortArray")
}

type arrayNExpr struct {
	name     string
	n, input Expr
}

func compileArrayN(name string, args bsoncore.Value) (Expr, error) {
	a, err := namedArgs(args, []string{"n", "input"},
		func(k string) error { return mongoerr.New(5787901, "Unknown argument for '%s' operator: %s", name, k) },
		func() error {
			return mongoerr.New(5787801, "specification must be an object; found %s", ValueString(args))
		})
	if err != nil {
		return nil, err
	}
	x := arrayNExpr{name: name}
	nv, ok := a["n"]
	if !ok {
		return nil, mongoerr.New(5787906, "Missing value for 'n'")
	}
	in, ok := a["input"]
	if !ok {
		return nil, mongoerr.New(5787907, "Missing value for 'input'")
	}
	if x.n, err = Compile(nv); err != nil {
		return nil, err
	}
	if x.input, err = Compile(in); err != nil {
		return nil, err
	}
	return x, nil
}

func (x arrayNExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	nv, err := x.n.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	n, ok := asInt64(nv)
	if !isNumber(nv) || !ok {
		return bsonkit.Missing, mongoerr.New(5787902, "Value for 'n' must be of integral type, but found %s", ValueString(nv))
	}
	if n <= 0 {
		return bsonkit.Missing, mongoerr.New(5787908, "'n' must be greater than 0, found %d", n)
	}
	in, err := x.input.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	if nullish(in) {
		return bsonkit.Null(), nil
	}
	if in.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(5788200, "Input must be an array, found %s", ValueString(in))
	}
	vals := arrayValues(in)
	switch x.name {
	case "$firstN":
		return bsonkit.Array(vals[:min(len(vals), int(n))]...), nil
	case "$lastN":
		return bsonkit.Array(vals[max(0, len(vals)-int(n)):]...), nil
	}
	var kept []bsoncore.Value
	for _, v := range vals {
		if !nullish(v) {
			kept = append(kept, v)
		}
	}
	dir := 1
	if x.name == "$maxN" {
		dir = -1
	}
	sort.SliceStable(kept, func(i, j int) bool { return bsonkit.Compare(kept[i], kept[j])*dir < 0 })
	return bsonkit.Array(kept[:min(len(kept), int(n))]...), nil
}

type sortArrayExpr struct {
	input  Expr
	dir    int      // whole-value sort direction when fields is nil
	fields []string // field paths of a {field: dir} sortBy
	dirs   []int
}

func compileSortArray(name string, args bsoncore.Value) (Expr, error) {
	a, err := namedArgs(args, []string{"input", "sortBy"},
		func(k string) error { return mongoerr.New(2942500, "$sortArray found an unknown argument: %s", k) },
		func() error {
			return mongoerr.New(2942500, "$sortArray requires an object as an argument, found: %s", TypeName(args.Type))
		})
	if err != nil {
		return nil, err
	}
	in, ok := a["input"]
	if !ok {
		return nil, mongoerr.New(2942501, "$sortArray requires 'input' to be specified")
	}
	sb, ok := a["sortBy"]
	if !ok {
		return nil, mongoerr.New(2942502, "$sortArray requires 'sortBy' to be specified")
	}
	s := sortArrayExpr{}
	if s.input, err = Compile(in); err != nil {
		return nil, err
	}
	dirOf := func(v bsoncore.Value) (int, error) {
		f, ok := bsonkit.ToFloat(v)
		if !ok || (f != 1 && f != -1) {
			return 0, mongoerr.New(15975, "$sort key ordering must be 1 (for ascending) or -1 (for descending)")
		}
		return int(f), nil
	}
	if sb.Type == bsoncore.TypeEmbeddedDocument {
		els, _ := sb.Document().Elements()
		for _, e := range els {
			d, err := dirOf(e.Value())
			if err != nil {
				return nil, err
			}
			s.fields = append(s.fields, e.Key())
			s.dirs = append(s.dirs, d)
		}
		if len(s.fields) == 0 {
			return nil, mongoerr.New(2942503, "$sortArray sortBy must not be empty")
		}
		return s, nil
	}
	if s.dir, err = dirOf(sb); err != nil {
		return nil, err
	}
	return s, nil
}

func (s sortArrayExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	in, err := s.input.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	if nullish(in) {
		return bsonkit.Null(), nil
	}
	if in.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(2942504, "The input argument to $sortArray must be an array, but was of type: %s", TypeName(in.Type))
	}
	vals := arrayValues(in)
	if s.fields == nil {
		sort.SliceStable(vals, func(i, j int) bool { return bsonkit.Compare(vals[i], vals[j])*s.dir < 0 })
		return bsonkit.Array(vals...), nil
	}
	key := func(v bsoncore.Value, i int) bsoncore.Value {
		if v.Type != bsoncore.TypeEmbeddedDocument {
			return bsonkit.Null()
		}
		k := pathInDoc(v.Document(), strings.Split(s.fields[i], "."))
		if k.Type == 0 {
			return bsonkit.Null()
		}
		return k
	}
	sort.SliceStable(vals, func(a, b int) bool {
		for i := range s.fields {
			if c := bsonkit.Compare(key(vals[a], i), key(vals[b], i)) * s.dirs[i]; c != 0 {
				return c < 0
			}
		}
		return false
	})
	return bsonkit.Array(vals...), nil
}
