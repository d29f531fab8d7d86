package expr

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	registerNary(0, -1, evalMergeObjects, "$mergeObjects")
	registerNary(1, 1, evalObjectToArray, "$objectToArray")
	registerNary(1, 1, evalArrayToObject, "$arrayToObject")
	register(compileGetField, "$getField")
	register(compileSetField, "$setField", "$unsetField")
	register(compileZip, "$zip")
}

// MergeDocs merges documents left to right: a later value replaces an
// earlier one in place; new fields are appended.
func MergeDocs(docs ...bsoncore.Document) bsoncore.Document {
	var out bsonkit.Doc
	for _, d := range docs {
		elems, _ := d.Elements()
		for _, e := range elems {
			out.Set(e.Key(), e.Value())
		}
	}
	return out.Bytes()
}

func evalMergeObjects(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	var docs []bsoncore.Document
	for _, v := range vals {
		if nullish(v) {
			continue
		}
		if v.Type != bsoncore.TypeEmbeddedDocument {
			return bsonkit.Missing, mongoerr.New(40400, "$mergeObjects requires object inputs, but input %s is of type %s",
				ValueString(v), TypeName(v.Type))
		}
		docs = append(docs, v.Document())
	}
	return bsonkit.DocValue(MergeDocs(docs...)), nil
}

func evalObjectToArray(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	v := vals[0]
	if nullish(v) {
		return bsonkit.Null(), nil
	}
	if v.Type != bsoncore.TypeEmbeddedDocument {
		return bsonkit.Missing, mongoerr.New(40390, "$objectToArray requires a document input, found: %s", TypeName(v.Type))
	}
	elems, _ := v.Document().Elements()
	out := make([]bsoncore.Value, len(elems))
	for i, e := range elems {
		out[i] = bsonkit.DocValue(bsonkit.D("k", bsonkit.String(e.Key()), "v", e.Value()))
	}
	return bsonkit.Array(out...), nil
}

func evalArrayToObject(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	v := vals[0]
	if nullish(v) {
		return bsonkit.Null(), nil
	}
	if v.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(40386, "$arrayToObject requires an array input, found: %s", TypeName(v.Type))
	}
	elems := arrayValues(v)
	var out bsonkit.Doc
	if len(elems) == 0 {
		return bsonkit.DocValue(out.Bytes()), nil
	}
	pairs := elems[0].Type == bsoncore.TypeArray
	if !pairs && elems[0].Type != bsoncore.TypeEmbeddedDocument {
		return bsonkit.Missing, mongoerr.New(40398, "Unrecognised input type format for $arrayToObject: %s", TypeName(elems[0].Type))
	}
	for _, e := range elems {
		var k, val bsoncore.Value
		if pairs {
			if e.Type != bsoncore.TypeArray {
				return bsonkit.Missing, mongoerr.New(40396, "$arrayToObject requires a consistent input format. Elements must"+
					"all be arrays or all be objects. Array was detected, now found: %s", TypeName(e.Type))
			}
			kv := arrayValues(e)
			if len(kv) != 2 {
				return bsonkit.Missing, mongoerr.New(40397, "$arrayToObject requires an array of size 2 arrays,"+
					"found array of size: %d", len(kv))
			}
			if kv[0].Type != bsoncore.TypeString {
				return bsonkit.Missing, mongoerr.New(40395, "$arrayToObject requires an array of key-value pairs, where "+
					"the key must be of type string. Found key type: %s", TypeName(kv[0].Type))
			}
			k, val = kv[0], kv[1]
		} else {
			if e.Type != bsoncore.TypeEmbeddedDocument {
				return bsonkit.Missing, mongoerr.New(40391, "$arrayToObject requires a consistent input format. Elements must"+
					"all be arrays or all be objects. Object was detected, now found: %s", TypeName(e.Type))
			}
			fields, _ := e.Document().Elements()
			if len(fields) != 2 {
				return bsonkit.Missing, mongoerr.New(40392, "$arrayToObject requires an object keys of 'k' and 'v'. "+
					"Found incorrect number of keys:%d", len(fields))
			}
			k, _ = e.Document().LookupErr("k")
			val, _ = e.Document().LookupErr("v")
			if k.Type == 0 || val.Type == 0 {
				return bsonkit.Missing, mongoerr.New(40393, "$arrayToObject requires an object with keys 'k' and 'v'. "+
					"Missing either or both keys from: %s", ValueString(e))
			}
			if k.Type != bsoncore.TypeString {
				return bsonkit.Missing, mongoerr.New(40394, "$arrayToObject requires an object with keys 'k' and 'v', where "+
					"the value of 'k' must be of type string. Found type: %s", TypeName(k.Type))
			}
		}
		key := k.StringValue()
		if strings.IndexByte(key, 0) >= 0 {
			return bsonkit.Missing, mongoerr.New(4940400, "Key field cannot contain an embedded null byte")
		}
		out.Set(key, val)
	}
	return bsonkit.DocValue(out.Bytes()), nil
}

type getFieldExpr struct{ field, input Expr }

func compileGetField(name string, args bsoncore.Value) (Expr, error) {
	if args.Type != bsoncore.TypeEmbeddedDocument || IsOperatorDoc(args) {
		// Shorthand: {$getField: <field>} reads from $$CURRENT.
		f, err := Compile(args)
		if err != nil {
			return nil, err
		}
		if c, ok := f.(constant); ok && c.v.Type != bsoncore.TypeString {
			return nil, mongoerr.New(5654602, "$getField requires 'field' to evaluate to type String, but got %s", TypeName(c.v.Type))
		}
		return getFieldExpr{field: f, input: varPath{name: "CURRENT"}}, nil
	}
	a, err := namedArgs(args, []string{"field", "input"},
		func(k string) error { return mongoerr.New(3041701, "$getField found an unknown argument: %s", k) },
		func() error { return nil })
	if err != nil {
		return nil, err
	}
	fv, ok := a["field"]
	if !ok {
		return nil, mongoerr.New(3041702, "$getField requires 'field' to be specified")
	}
	iv, ok := a["input"]
	if !ok {
		return nil, mongoerr.New(3041703, "$getField requires 'input' to be specified")
	}
	g := getFieldExpr{}
	if g.field, err = Compile(fv); err != nil {
		return nil, err
	}
	if c, ok := g.field.(constant); ok && c.v.Type != bsoncore.TypeString {
		return nil, mongoerr.New(5654602, "$getField requires 'field' to evaluate to type String, but got %s", TypeName(c.v.Type))
	}
	if g.input, err = Compile(iv); err != nil {
		return nil, err
	}
	return g, nil
}

func (g getFieldExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	f, err := g.field.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	if f.Type != bsoncore.TypeString {
		return bsonkit.Missing, mongoerr.New(3041704, "$getField requires 'field' to evaluate to type String, but got %s", TypeName(f.Type))
	}
	in, err := g.input.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	if nullish(in) {
		if in.Type == 0 {
			return bsonkit.Missing, nil
		}
		return bsonkit.Null(), nil
	}
	if in.Type != bsoncore.TypeEmbeddedDocument {
		return bsonkit.Missing, mongoerr.New(3041705, "$getField requires 'input' to evaluate to type Object, but got %s", TypeName(in.Type))
	}
	v, err := in.Document().LookupErr(f.StringValue())
	if err != nil {
		return bsonkit.Missing, nil
	}
	return v, nil
}

type setFieldExpr struct {
	field string
	input Expr
	value Expr // nil for $unsetField
}

func compileSetField(name string, args bsoncore.Value) (Expr, error) {
	known := []string{"field", "input", "value"}
	if name == "$unsetField" {
		known = known[:2]
	}
	a, err := namedArgs(args, known,
		func(k string) error { return mongoerr.New(4161100, "%s found an unknown argument: %s", name, k) },
		func() error { return mongoerr.New(4161101, "%s only supports an object as its argument", name) })
	if err != nil {
		return nil, err
	}
	fv, ok := a["field"]
	if !ok {
		return nil, mongoerr.New(4161102, "%s requires 'field' to be specified", name)
	}
	if IsOperatorDoc(fv) {
		e, err := Compile(fv)
		if err != nil {
			return nil, err
		}
		c, isConst := e.(constant)
		if !isConst {
			return nil, mongoerr.New(4161106, "%s requires 'field' to evaluate to a constant, but got a non-constant argument", name)
		}
		fv = c.v
	} else if fv.Type == bsoncore.TypeString && strings.HasPrefix(fv.StringValue(), "$") {
		return nil, mongoerr.New(4161108, "A field path reference which is not allowed in this context. Did you mean {$literal: '%s'}?", fv.StringValue())
	}
	if fv.Type != bsoncore.TypeString {
		return nil, mongoerr.New(4161107, "%s requires 'field' to evaluate to type String, but got %s", name, TypeName(fv.Type))
	}
	s := setFieldExpr{field: fv.StringValue()}
	iv, ok := a["input"]
	if !ok {
		return nil, mongoerr.New(4161103, "%s requires 'input' to be specified", name)
	}
	if s.input, err = Compile(iv); err != nil {
		return nil, err
	}
	if name == "$setField" {
		vv, ok := a["value"]
		if !ok {
			return nil, mongoerr.New(4161104, "$setField requires 'value' to be specified")
		}
		if s.value, err = Compile(vv); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s setFieldExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	in, err := s.input.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	if nullish(in) {
		return bsonkit.Null(), nil
	}
	if in.Type != bsoncore.TypeEmbeddedDocument {
		return bsonkit.Missing, mongoerr.New(4161105, "$setField requires 'input' to evaluate to type Object")
	}
	val := bsonkit.Missing
	if s.value != nil {
		if val, err = s.value.Eval(ctx); err != nil {
			return bsonkit.Missing, err
		}
	}
	doc, err := bsonkit.ParseDoc(in.Document())
	if err != nil {
		return bsonkit.Missing, err
	}
	if val.Type == 0 {
		doc.Delete(s.field)
	} else {
		doc.Set(s.field, val)
	}
	return bsonkit.DocValue(doc.Bytes()), nil
}

type zipExpr struct {
	inputs, defaults []Expr
	longest          bool
}

func compileZip(name string, args bsoncore.Value) (Expr, error) {
	a, err := namedArgs(args, []string{"inputs", "defaults", "useLongestLength"},
		func(k string) error { return mongoerr.New(34464, "$zip found an unknown argument: %s", k) },
		func() error {
			return mongoerr.New(34460, "$zip only supports an object as an argument, found %s", TypeName(args.Type))
		})
	if err != nil {
		return nil, err
	}
	var z zipExpr
	in, ok := a["inputs"]
	if !ok || in.Type != bsoncore.TypeArray {
		return nil, mongoerr.New(34461, "inputs must be an array of expressions, found %s", TypeName(in.Type))
	}
	for _, v := range arrayValues(in) {
		e, err := Compile(v)
		if err != nil {
			return nil, err
		}
		z.inputs = append(z.inputs, e)
	}
	if l, ok := a["useLongestLength"]; ok {
		if l.Type != bsoncore.TypeBoolean {
			return nil, mongoerr.New(34463, "useLongestLength must be a bool, found %s", TypeName(l.Type))
		}
		z.longest = l.Boolean()
	}
	if d, ok := a["defaults"]; ok {
		if d.Type != bsoncore.TypeArray {
			return nil, mongoerr.New(34462, "defaults must be an array of expressions, found %s", TypeName(d.Type))
		}
		for _, v := range arrayValues(d) {
			e, err := Compile(v)
			if err != nil {
				return nil, err
			}
			z.defaults = append(z.defaults, e)
		}
		if !z.longest {
			return nil, mongoerr.New(34466, "cannot specify defaults unless useLongestLength is true")
		}
		if len(z.defaults) != len(z.inputs) {
			return nil, mongoerr.New(34467, "defaults and inputs must have the same length")
		}
	}
	return z, nil
}

func (z zipExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	var cols [][]bsoncore.Value
	minLen, maxLen := -1, 0
	for _, e := range z.inputs {
		v, err := e.Eval(ctx)
		if err != nil {
			return bsonkit.Missing, err
		}
		if nullish(v) {
			return bsonkit.Null(), nil
		}
		if v.Type != bsoncore.TypeArray {
			return bsonkit.Missing, mongoerr.New(34468, "$zip found a non-array expression in input: %s", ValueString(v))
		}
		elems := arrayValues(v)
		cols = append(cols, elems)
		if minLen < 0 || len(elems) < minLen {
			minLen = len(elems)
		}
		maxLen = max(maxLen, len(elems))
	}
	defaults := make([]bsoncore.Value, len(cols))
	for i := range defaults {
		defaults[i] = bsonkit.Null()
		if i < len(z.defaults) {
			v, err := z.defaults[i].Eval(ctx)
			if err != nil {
				return bsonkit.Missing, err
			}
			defaults[i] = v
		}
	}
	n := max(minLen, 0)
	if z.longest {
		n = maxLen
	}
	rows := make([]bsoncore.Value, n)
	for r := 0; r < n; r++ {
		row := make([]bsoncore.Value, len(cols))
		for c, col := range cols {
			if r < len(col) {
				row[c] = col[r]
			} else {
				row[c] = defaults[c]
			}
		}
		rows[r] = bsonkit.Array(row...)
	}
	return bsonkit.Array(rows...), nil
}
