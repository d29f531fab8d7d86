package expr

import (
	"strings"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	registerNary(0, -1, evalConcat, "$concat")
	registerNary(1, 1, evalCase, "$toLower", "$toUpper")
	registerNary(1, 1, evalStrLen, "$strLenBytes", "$strLenCP")
	registerNary(2, 2, evalSplit, "$split")
	registerNary(3, 3, evalSubstrBytes, "$substr", "$substrBytes")
	registerNary(3, 3, evalSubstrCP, "$substrCP")
	registerNary(2, 4, evalIndexOfStr, "$indexOfBytes", "$indexOfCP")
	registerNary(2, 2, evalStrcasecmp, "$strcasecmp")
	register(compileTrim, "$trim", "$ltrim", "$rtrim")
	register(compileReplace, "$replaceOne", "$replaceAll")
	register(compileRegexOp, "$regexMatch", "$regexFind", "$regexFindAll")
}

func evalConcat(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	var b strings.Builder
	for _, v := range vals {
		if nullish(v) {
			return bsonkit.Null(), nil
		}
		if v.Type != bsoncore.TypeString {
			return bsonkit.Missing, mongoerr.New(16702, "$concat only supports strings, not %s", TypeName(v.Type))
		}
		b.WriteString(v.StringValue())
	}
	return bsonkit.String(b.String()), nil
}

// coerceToString is MongoDB's Value::coerceToString used by $toLower,
// $toUpper and $substr: nullish → "", numbers, dates and timestamps render.
func coerceToString(name string, v bsoncore.Value) (string, error) {
	switch v.Type {
	case 0, bsoncore.TypeNull, bsoncore.TypeUndefined:
		return "", nil
	case bsoncore.TypeString:
		return v.StringValue(), nil
	case bsoncore.TypeSymbol:
		return v.Symbol(), nil
	case bsoncore.TypeJavaScript:
		return v.JavaScript(), nil
	case bsoncore.TypeInt32, bsoncore.TypeInt64, bsoncore.TypeDouble, bsoncore.TypeDecimal128:
		return formatNumber(v), nil
	case bsoncore.TypeDateTime:
		return FormatISODate(v.DateTime()), nil
	case bsoncore.TypeTimestamp:
		t, i := v.Timestamp()
		return "Timestamp(" + itoa(int64(t)) + ", " + itoa(int64(i)) + ")", nil
	}
	return "", mongoerr.New(16007, "can't convert from BSON type %s to String", TypeName(v.Type))
}

func itoa(n int64) string { return formatNumber(bsonkit.Int64(n)) }

func evalCase(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	s, err := coerceToString(name, vals[0])
	if err != nil {
		return bsonkit.Missing, err
	}
	// MongoDB changes ASCII letters only.
	b := []byte(s)
	for i, c := range b {
		if name == "$toLower" && c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		} else if name == "$toUpper" && c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return bsonkit.String(string(b)), nil
}

func evalStrLen(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	v := vals[0]
	if v.Type != bsoncore.TypeString {
		code := int32(34473)
		if name == "$strLenCP" {
			code = 34471
		}
		return bsonkit.Missing, mongoerr.New(code, "%s requires a string argument, found: %s", name, TypeName(v.Type))
	}
	if name == "$strLenCP" {
		return bsonkit.Int32(int32(utf8.RuneCountInString(v.StringValue()))), nil
	}
	return bsonkit.Int32(int32(len(v.StringValue()))), nil
}

func evalSplit(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	s, d := vals[0], vals[1]
	if nullish(s) || nullish(d) {
		return bsonkit.Null(), nil
	}
	if s.Type != bsoncore.TypeString {
		return bsonkit.Missing, mongoerr.New(40085, "$split requires an expression that evaluates to a string as a first argument, found: %s", TypeName(s.Type))
	}
	if d.Type != bsoncore.TypeString {
		return bsonkit.Missing, mongoerr.New(40086, "$split requires an expression that evaluates to a string as a second argument, found: %s", TypeName(d.Type))
	}
	if d.StringValue() == "" {
		return bsonkit.Missing, mongoerr.New(40087, "$split requires a non-empty separator")
	}
	parts := strings.Split(s.StringValue(), d.StringValue())
	out := make([]bsoncore.Value, len(parts))
	for i, p := range parts {
		out[i] = bsonkit.String(p)
	}
	return bsonkit.Array(out...), nil
}

func isContinuationByte(c byte) bool { return c&0xC0 == 0x80 }

func evalSubstrBytes(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	s, err := coerceToString(name, vals[0])
	if err != nil {
		return bsonkit.Missing, err
	}
	startV, lenV := vals[1], vals[2]
	if !isNumber(startV) {
		return bsonkit.Missing, mongoerr.New(16034, "%s: starting index must be a numeric type (is BSON type %s)", name, TypeName(startV.Type))
	}
	if !isNumber(lenV) {
		return bsonkit.Missing, mongoerr.New(16035, "%s: length must be a numeric type (is BSON type %s)", name, TypeName(lenV.Type))
	}
	start := truncInt(startV)
	length := truncInt(lenV)
	if start < 0 {
		return bsonkit.Missing, mongoerr.New(50752, "%s:  starting index must be non-negative (got: %d)", name, start)
	}
	if start >= int64(len(s)) {
		return bsonkit.String(""), nil
	}
	if isContinuationByte(s[start]) {
		return bsonkit.Missing, mongoerr.New(28656, "%s:  Invalid range, starting index is a UTF-8 continuation byte.", name)
	}
	end := int64(len(s))
	if length >= 0 && start+length < end {
		end = start + length
	}
	if end < int64(len(s)) && isContinuationByte(s[end]) {
		return bsonkit.Missing, mongoerr.New(28657, "%s:  Invalid range, ending index is in the middle of a UTF-8 character.", name)
	}
	return bsonkit.String(s[start:end]), nil
}

func truncInt(v bsoncore.Value) int64 {
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		return v.AsInt64()
	}
	f := toFloat(v)
	if f != f {
		return 0
	}
	if f >= 9.2e18 {
		return 1 << 62
	}
	if f <= -9.2e18 {
		return -1 << 62
	}
	return int64(f)
}

func evalSubstrCP(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	s, err := coerceToString(name, vals[0])
	if err != nil {
		return bsonkit.Missing, err
	}
	startV, lenV := vals[1], vals[2]
	if !isNumber(startV) {
		return bsonkit.Missing, mongoerr.New(34450, "$substrCP: starting index must be a numeric type (is BSON type %s)", TypeName(startV.Type))
	}
	start, ok := asInt32(startV)
	if !ok {
		return bsonkit.Missing, mongoerr.New(34451, "$substrCP: starting index cannot be represented as a 32-bit integral value: %s", ValueString(startV))
	}
	if !isNumber(lenV) {
		return bsonkit.Missing, mongoerr.New(34452, "$substrCP: length must be a numeric type (is BSON type %s)", TypeName(lenV.Type))
	}
	length, ok := asInt32(lenV)
	if !ok {
		return bsonkit.Missing, mongoerr.New(34453, "$substrCP: length cannot be represented as a 32-bit integral value: %s", ValueString(lenV))
	}
	if start < 0 {
		return bsonkit.Missing, mongoerr.New(34455, "$substrCP: the starting index must be nonnegative integer.")
	}
	if length < 0 {
		return bsonkit.Missing, mongoerr.New(34454, "$substrCP: length must be a nonnegative integer.")
	}
	runes := []rune(s)
	if int(start) >= len(runes) {
		return bsonkit.String(""), nil
	}
	end := min(len(runes), int(start)+int(length))
	return bsonkit.String(string(runes[start:end])), nil
}

func evalIndexOfStr(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	s, sub := vals[0], vals[1]
	if nullish(s) {
		return bsonkit.Null(), nil
	}
	firstCode, secondCode := int32(40091), int32(40092)
	if name == "$indexOfCP" {
		firstCode, secondCode = 40093, 40094
	}
	if s.Type != bsoncore.TypeString {
		return bsonkit.Missing, mongoerr.New(firstCode, "%s requires a string as the first argument, found: %s", name, TypeName(s.Type))
	}
	if sub.Type != bsoncore.TypeString {
		return bsonkit.Missing, mongoerr.New(secondCode, "%s requires a string as the second argument, found: %s", name, TypeName(sub.Type))
	}
	str, needle := s.StringValue(), sub.StringValue()
	cp := name == "$indexOfCP"
	var units []rune
	length := len(str)
	if cp {
		units = []rune(str)
		length = len(units)
	}
	start, end := 0, length
	if len(vals) > 2 {
		n, err := nonNegativeIndex(name, "starting index", vals[2])
		if err != nil {
			return bsonkit.Missing, err
		}
		start = n
	}
	if len(vals) > 3 {
		n, err := nonNegativeIndex(name, "ending index", vals[3])
		if err != nil {
			return bsonkit.Missing, err
		}
		end = min(end, n)
	}
	if start > length || start > end {
		return bsonkit.Int32(-1), nil
	}
	if cp {
		hay := string(units[start:end])
		i := strings.Index(hay, needle)
		if i < 0 {
			return bsonkit.Int32(-1), nil
		}
		return bsonkit.Int32(int32(start + utf8.RuneCountInString(hay[:i]))), nil
	}
	i := strings.Index(str[start:end], needle)
	if i < 0 {
		return bsonkit.Int32(-1), nil
	}
	return bsonkit.Int32(int32(start + i)), nil
}

func evalStrcasecmp(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	a, err := coerceToString(name, vals[0])
	if err != nil {
		return bsonkit.Missing, err
	}
	b, err := coerceToString(name, vals[1])
	if err != nil {
		return bsonkit.Missing, err
	}
	return bsonkit.Int32(int32(strings.Compare(strings.ToUpper(a), strings.ToUpper(b)))), nil
}

type trimExpr struct {
	name         string
	input, chars Expr
}

func compileTrim(name string, args bsoncore.Value) (Expr, error) {
	a, err := namedArgs(args, []string{"input", "chars"},
		func(k string) error { return mongoerr.New(50694, "%s found an unknown argument: %s", name, k) },
		func() error {
			return mongoerr.New(50696, "%s only supports an object as an argument, found: %s", name, TypeName(args.Type))
		})
	if err != nil {
		return nil, err
	}
	in, ok := a["input"]
	if !ok {
		return nil, mongoerr.New(50695, "%s requires an 'input' field", name)
	}
	t := trimExpr{name: name}
	if t.input, err = Compile(in); err != nil {
		return nil, err
	}
	if c, ok := a["chars"]; ok {
		if t.chars, err = Compile(c); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t trimExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	in, err := t.input.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	if nullish(in) {
		return bsonkit.Null(), nil
	}
	if in.Type != bsoncore.TypeString {
		return bsonkit.Missing, mongoerr.New(50699, "%s requires its input to be a string, got %s (of type %s) instead.",
			t.name, ValueString(in), TypeName(in.Type))
	}
	cutset := "\x00 \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
	if t.chars != nil {
		c, err := t.chars.Eval(ctx)
		if err != nil {
			return bsonkit.Missing, err
		}
		if nullish(c) {
			return bsonkit.Null(), nil
		}
		if c.Type != bsoncore.TypeString {
			return bsonkit.Missing, mongoerr.New(50700, "%s requires 'chars' to be a string, got %s (of type %s) instead.",
				t.name, ValueString(c), TypeName(c.Type))
		}
		cutset = c.StringValue()
	}
	s := in.StringValue()
	switch t.name {
	case "$ltrim":
		s = strings.TrimLeft(s, cutset)
	case "$rtrim":
		s = strings.TrimRight(s, cutset)
	default:
		s = strings.Trim(s, cutset)
	}
	return bsonkit.String(s), nil
}

type replaceExpr struct {
	all                      bool
	name                     string
	input, find, replacement Expr
}

func compileReplace(name string, args bsoncore.Value) (Expr, error) {
	a, err := namedArgs(args, []string{"input", "find", "replacement"},
		func(k string) error { return mongoerr.New(51750, "%s found an unknown argument: %s", name, k) },
		func() error {
			return mongoerr.New(51751, "%s requires an object as an argument, found: %s", name, TypeName(args.Type))
		})
	if err != nil {
		return nil, err
	}
	r := replaceExpr{all: name == "$replaceAll", name: name}
	for _, f := range []struct {
		key  string
		code int32
		dst  *Expr
	}{{"input", 51749, &r.input}, {"find", 51748, &r.find}, {"replacement", 51747, &r.replacement}} {
		v, ok := a[f.key]
		if !ok {
			return nil, mongoerr.New(f.code, "%s requires '%s' to be specified", name, f.key)
		}
		if *f.dst, err = Compile(v); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r replaceExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	vals, err := evalAll(ctx, []Expr{r.input, r.find, r.replacement})
	if err != nil {
		return bsonkit.Missing, err
	}
	for i, what := range []string{"input", "find", "replacement"} {
		v := vals[i]
		if !nullish(v) && v.Type != bsoncore.TypeString {
			return bsonkit.Missing, mongoerr.New(51746, "%s requires that '%s' be a string, found: %s", r.name, what, ValueString(v))
		}
	}
	for _, v := range vals {
		if nullish(v) {
			return bsonkit.Null(), nil
		}
	}
	n := 1
	if r.all {
		n = -1
	}
	return bsonkit.String(strings.Replace(vals[0].StringValue(), vals[1].StringValue(), vals[2].StringValue(), n)), nil
}
