package expr

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	registerNary(1, 1, func(_ string, v []bsoncore.Value) (bsoncore.Value, error) {
		return bsonkit.String(TypeName(v[0].Type)), nil
	}, "$type")
	registerNary(1, 1, func(_ string, v []bsoncore.Value) (bsoncore.Value, error) {
		return boolValue(isNumber(v[0])), nil
	}, "$isNumber")
	shorthand := map[string]bsoncore.Type{
		"$toString": bsoncore.TypeString, "$toInt": bsoncore.TypeInt32, "$toLong": bsoncore.TypeInt64,
		"$toDouble": bsoncore.TypeDouble, "$toDecimal": bsoncore.TypeDecimal128, "$toBool": bsoncore.TypeBoolean,
		"$toObjectId": bsoncore.TypeObjectID, "$toDate": bsoncore.TypeDateTime,
	}
	for name, target := range shorthand {
		target := target
		registerNary(1, 1, func(_ string, v []bsoncore.Value) (bsoncore.Value, error) {
			if nullish(v[0]) {
				return bsonkit.Null(), nil
			}
			return convertValue(v[0], target)
		}, name)
	}
	register(compileConvert, "$convert")
}

type convertExpr struct {
	input, to, onError, onNull Expr
}

func compileConvert(name string, args bsoncore.Value) (Expr, error) {
	a, err := namedArgs(args, []string{"input", "to", "onError", "onNull", "format", "base", "byteOrder"},
		func(k string) error {
			return mongoerr.New(mongoerr.FailedToParse, "$convert found an unknown argument: %s", k)
		},
		func() error {
			return mongoerr.New(mongoerr.FailedToParse, "$convert expects an object of named arguments but found: %s", TypeName(args.Type))
		})
	if err != nil {
		return nil, err
	}
	var c convertExpr
	in, ok := a["input"]
	if !ok {
		return nil, mongoerr.New(mongoerr.FailedToParse, "Missing 'input' parameter to $convert")
	}
	to, ok := a["to"]
	if !ok {
		return nil, mongoerr.New(mongoerr.FailedToParse, "Missing 'to' parameter to $convert")
	}
	if c.input, err = Compile(in); err != nil {
		return nil, err
	}
	if c.to, err = Compile(to); err != nil {
		return nil, err
	}
	if v, ok := a["onError"]; ok {
		if c.onError, err = Compile(v); err != nil {
			return nil, err
		}
	}
	if v, ok := a["onNull"]; ok {
		if c.onNull, err = Compile(v); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c convertExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	in, err := c.input.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	toV, err := c.to.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	if nullish(toV) {
		return bsonkit.Null(), nil
	}
	target, err := targetType(toV)
	if err != nil {
		return bsonkit.Missing, err
	}
	if nullish(in) {
		if c.onNull != nil {
			return c.onNull.Eval(ctx)
		}
		return bsonkit.Null(), nil
	}
	out, err := convertValue(in, target)
	if err != nil {
		if c.onError != nil {
			if me, ok := err.(*mongoerr.Error); ok && me.Code == mongoerr.ConversionFailure {
				return c.onError.Eval(ctx)
			}
		}
		return bsonkit.Missing, err
	}
	return out, nil
}

func targetType(v bsoncore.Value) (bsoncore.Type, error) {
	if v.Type == bsoncore.TypeString {
		t, ok := TypeByName(v.StringValue())
		if !ok {
			return 0, mongoerr.New(mongoerr.BadValue, "Unknown type name: %s", v.StringValue())
		}
		return t, nil
	}
	if isNumber(v) {
		n, ok := asInt32(v)
		if !ok {
			return 0, mongoerr.New(mongoerr.FailedToParse, "In $convert, numeric 'to' argument is not an integer")
		}
		for _, t := range allTypes {
			if int32(t) == n || (t == bsoncore.TypeMinKey && n == -1) {
				return t, nil
			}
		}
		return 0, mongoerr.New(mongoerr.FailedToParse, "In $convert, numeric value for 'to' does not correspond to a BSON type: %d", n)
	}
	return 0, mongoerr.New(mongoerr.FailedToParse, "$convert's 'to' argument must be a string or number, but is %s", TypeName(v.Type))
}

func convFail(format string, args ...any) error {
	return mongoerr.New(mongoerr.ConversionFailure, format, args...)
}

func unsupported(in bsoncore.Value, to bsoncore.Type) error {
	return convFail("Unsupported conversion from %s to %s in $convert with no onError value", TypeName(in.Type), TypeName(to))
}

// convertValue converts a non-null value to target with $convert's rules.
func convertValue(in bsoncore.Value, target bsoncore.Type) (bsoncore.Value, error) {
	if in.Type == target && target != bsoncore.TypeBinary {
		return in, nil
	}
	switch target {
	case bsoncore.TypeBoolean:
		switch in.Type {
		case bsoncore.TypeInt32, bsoncore.TypeInt64, bsoncore.TypeDouble, bsoncore.TypeDecimal128, bsoncore.TypeDateTime:
			if in.Type == bsoncore.TypeDateTime {
				return boolValue(true), nil
			}
			return boolValue(bsonkit.Truthy(in)), nil
		case bsoncore.TypeUndefined:
			return bsonkit.Missing, unsupported(in, target)
		}
		return boolValue(true), nil
	case bsoncore.TypeString:
		return toStringValue(in)
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		return convertToInt(in, target)
	case bsoncore.TypeDouble:
		switch in.Type {
		case bsoncore.TypeInt32, bsoncore.TypeInt64:
			return bsonkit.Double(float64(in.AsInt64())), nil
		case bsoncore.TypeDecimal128:
			d := bsonkit.DecimalOf(in)
			f := d.Float()
			if math.IsInf(f, 0) && !d.Inf {
				return bsonkit.Missing, convFail("Conversion would overflow target type in $convert with no onError value: %s", d.String())
			}
			return bsonkit.Double(f), nil
		case bsoncore.TypeBoolean:
			if in.Boolean() {
				return bsonkit.Double(1), nil
			}
			return bsonkit.Double(0), nil
		case bsoncore.TypeDateTime:
			return bsonkit.Double(float64(in.DateTime())), nil
		case bsoncore.TypeString:
			return parseDoubleString(in.StringValue())
		}
	case bsoncore.TypeDecimal128:
		switch in.Type {
		case bsoncore.TypeInt32, bsoncore.TypeInt64, bsoncore.TypeDouble:
			return bsonkit.DecimalOf(in).Value(), nil
		case bsoncore.TypeBoolean:
			if in.Boolean() {
				return bsonkit.DecimalFromInt(1).Value(), nil
			}
			return bsonkit.DecimalFromInt(0).Value(), nil
		case bsoncore.TypeDateTime:
			return bsonkit.DecimalFromInt(in.DateTime()).Value(), nil
		case bsoncore.TypeString:
			d, err := parseDecimalString(in.StringValue())
			if err != nil {
				return bsonkit.Missing, convFail("Failed to parse number '%s' in $convert with no onError value: %v", in.StringValue(), err)
			}
			return d.Value(), nil
		}
	case bsoncore.TypeObjectID:
		if in.Type == bsoncore.TypeString {
			s := in.StringValue()
			if len(s) != 24 {
				return bsonkit.Missing, convFail("Failed to parse objectId '%s' in $convert with no onError value: Invalid string length for parsing to OID, expected 24 but found %d", s, len(s))
			}
			b, err := hex.DecodeString(s)
			if err != nil {
				return bsonkit.Missing, convFail("Failed to parse objectId '%s' in $convert with no onError value: Invalid character found in hex string: %s", s, s)
			}
			var id [12]byte
			copy(id[:], b)
			return bsonkit.ObjectID(id), nil
		}
	case bsoncore.TypeDateTime:
		switch in.Type {
		case bsoncore.TypeInt64:
			return bsonkit.DateTime(in.Int64()), nil
		case bsoncore.TypeDouble, bsoncore.TypeDecimal128:
			n, err := convertToInt(in, bsoncore.TypeInt64)
			if err != nil {
				return bsonkit.Missing, err
			}
			return bsonkit.DateTime(n.Int64()), nil
		case bsoncore.TypeObjectID:
			id := in.ObjectID()
			secs := int64(uint32(id[0])<<24 | uint32(id[1])<<16 | uint32(id[2])<<8 | uint32(id[3]))
			return bsonkit.DateTime(secs * 1000), nil
		case bsoncore.TypeTimestamp:
			t, _ := in.Timestamp()
			return bsonkit.DateTime(int64(t) * 1000), nil
		case bsoncore.TypeString:
			ms, err := ParseDateString(in.StringValue())
			if err != nil {
				return bsonkit.Missing, convFail("Error parsing date string '%s'; %v", in.StringValue(), err)
			}
			return bsonkit.DateTime(ms), nil
		}
	}
	return bsonkit.Missing, unsupported(in, target)
}

func convertToInt(in bsoncore.Value, target bsoncore.Type) (bsoncore.Value, error) {
	lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
	if target == bsoncore.TypeInt64 {
		lo, hi = math.MinInt64, math.MaxInt64
	}
	mk := func(n int64) bsoncore.Value {
		if target == bsoncore.TypeInt32 {
			return bsonkit.Int32(int32(n))
		}
		return bsonkit.Int64(n)
	}
	switch in.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		n := in.AsInt64()
		if n < lo || n > hi {
			return bsonkit.Missing, convFail("Conversion would overflow target type in $convert with no onError value: ")
		}
		return mk(n), nil
	case bsoncore.TypeDouble:
		f := in.Double()
		if math.IsNaN(f) {
			return bsonkit.Missing, convFail("Attempt to convert NaN value to integer type in $convert with no onError value")
		}
		if math.IsInf(f, 0) {
			return bsonkit.Missing, convFail("Attempt to convert infinity value to integer type in $convert with no onError value")
		}
		t := math.Trunc(f)
		if t < float64(lo) || (target == bsoncore.TypeInt32 && t > float64(hi)) || (target == bsoncore.TypeInt64 && t >= 9223372036854775808.0) {
			return bsonkit.Missing, convFail("Conversion would overflow target type in $convert with no onError value: %s", formatDouble(f))
		}
		return mk(int64(t)), nil
	case bsoncore.TypeDecimal128:
		d := bsonkit.DecimalOf(in)
		if d.NaN {
			return bsonkit.Missing, convFail("Attempt to convert NaN value to integer type in $convert with no onError value")
		}
		if d.Inf {
			return bsonkit.Missing, convFail("Attempt to convert infinity value to integer type in $convert with no onError value")
		}
		n, ok := d.RoundTo(0, "trunc").Int64Exact()
		if !ok || n < lo || n > hi {
			return bsonkit.Missing, convFail("Conversion would overflow target type in $convert with no onError value: %s", d.String())
		}
		return mk(n), nil
	case bsoncore.TypeBoolean:
		if in.Boolean() {
			return mk(1), nil
		}
		return mk(0), nil
	case bsoncore.TypeDateTime:
		if target == bsoncore.TypeInt64 {
			return bsonkit.Int64(in.DateTime()), nil
		}
	case bsoncore.TypeString:
		s := in.StringValue()
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || strings.HasPrefix(s, "+") {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return bsonkit.Missing, convFail("Failed to parse number '%s' in $convert with no onError value: Overflow", s)
			}
			return bsonkit.Missing, convFail("Failed to parse number '%s' in $convert with no onError value: Did not consume whole string.", s)
		}
		if n < lo || n > hi {
			return bsonkit.Missing, convFail("Failed to parse number '%s' in $convert with no onError value: Overflow", s)
		}
		return mk(n), nil
	}
	return bsonkit.Missing, unsupported(in, target)
}

func parseDoubleString(s string) (bsoncore.Value, error) {
	switch strings.ToLower(s) {
	case "infinity", "inf":
		return bsonkit.Double(math.Inf(1)), nil
	case "-infinity", "-inf":
		return bsonkit.Double(math.Inf(-1)), nil
	case "nan":
		return bsonkit.Double(math.NaN()), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || strings.ContainsAny(s, "xXpP_") {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return bsonkit.Missing, convFail("Failed to parse number '%s' in $convert with no onError value: Out of range", s)
		}
		return bsonkit.Missing, convFail("Failed to parse number '%s' in $convert with no onError value: Did not consume whole string.", s)
	}
	return bsonkit.Double(f), nil
}

func parseDecimalString(s string) (bsonkit.Decimal, error) {
	d128, err := bson.ParseDecimal128(strings.TrimSpace(s))
	if err != nil || s == "" {
		return bsonkit.Decimal{}, fmt.Errorf("Failed to parse string to decimal")
	}
	h, l := d128.GetBytes()
	return bsonkit.DecimalOf(bsoncore.Value{Type: bsoncore.TypeDecimal128, Data: bsoncore.AppendDecimal128(nil, h, l)}), nil
}

// toStringValue implements $toString.
func toStringValue(in bsoncore.Value) (bsoncore.Value, error) {
	switch in.Type {
	case bsoncore.TypeString:
		return in, nil
	case bsoncore.TypeSymbol:
		return bsonkit.String(in.Symbol()), nil
	case bsoncore.TypeDouble, bsoncore.TypeInt32, bsoncore.TypeInt64, bsoncore.TypeDecimal128:
		return bsonkit.String(formatNumber(in)), nil
	case bsoncore.TypeBoolean:
		if in.Boolean() {
			return bsonkit.String("true"), nil
		}
		return bsonkit.String("false"), nil
	case bsoncore.TypeObjectID:
		id := in.ObjectID()
		return bsonkit.String(hex.EncodeToString(id[:])), nil
	case bsoncore.TypeDateTime:
		return bsonkit.String(FormatISODate(in.DateTime())), nil
	case bsoncore.TypeJavaScript:
		return bsonkit.String(in.JavaScript()), nil
	}
	return bsonkit.Missing, unsupported(in, bsoncore.TypeString)
}

// formatDouble renders a double the way MongoDB does in $toString and
// messages: shortest round-trip digits, exponent form outside [1e-4, 1e16).
func formatDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	case f == 0 && math.Signbit(f):
		return "-0"
	case f == 0:
		return "0"
	}
	exp := int(math.Floor(math.Log10(math.Abs(f))))
	sci := strconv.FormatFloat(f, 'e', -1, 64)
	if _, e, ok := strings.Cut(sci, "e"); ok {
		exp, _ = strconv.Atoi(e)
	}
	if exp < -4 || exp >= 16 {
		return sci
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// formatNumber renders any number as $toString does.
func formatNumber(v bsoncore.Value) string {
	switch v.Type {
	case bsoncore.TypeInt32:
		return strconv.Itoa(int(v.Int32()))
	case bsoncore.TypeInt64:
		return strconv.FormatInt(v.Int64(), 10)
	case bsoncore.TypeDouble:
		return formatDouble(v.Double())
	case bsoncore.TypeDecimal128:
		return bsonkit.DecimalOf(v).String()
	}
	return ValueString(v)
}

// FormatISODate formats epoch milliseconds as MongoDB's ISO string
// (%Y-%m-%dT%H:%M:%S.%LZ).
func FormatISODate(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

// ParseDateString parses the date strings $toDate/$dateFromString accept
// in their common ISO-8601 forms, returning epoch milliseconds.
func ParseDateString(s string) (int64, error) {
	layouts := []string{
		"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04",
		"2006-01-02", "2006/01/02", "Jan 2, 2006", "January 2, 2006",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("the string could not be parsed as a date")
}

// ValueString renders a value for error messages, close to MongoDB's
// Value::toString (strings quoted, documents as {k: v}).
func ValueString(v bsoncore.Value) string {
	switch v.Type {
	case 0:
		return "MISSING"
	case bsoncore.TypeString:
		return strconv.Quote(v.StringValue())
	case bsoncore.TypeInt32, bsoncore.TypeInt64, bsoncore.TypeDouble, bsoncore.TypeDecimal128:
		return formatNumber(v)
	case bsoncore.TypeNull:
		return "null"
	case bsoncore.TypeUndefined:
		return "undefined"
	case bsoncore.TypeBoolean:
		if v.Boolean() {
			return "true"
		}
		return "false"
	case bsoncore.TypeEmbeddedDocument:
		elems, _ := v.Document().Elements()
		parts := make([]string, len(elems))
		for i, e := range elems {
			parts[i] = e.Key() + ": " + ValueString(e.Value())
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case bsoncore.TypeArray:
		vals := arrayValues(v)
		parts := make([]string, len(vals))
		for i, e := range vals {
			parts[i] = ValueString(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case bsoncore.TypeObjectID:
		id := v.ObjectID()
		return "ObjectId('" + hex.EncodeToString(id[:]) + "')"
	case bsoncore.TypeDateTime:
		return FormatISODate(v.DateTime())
	}
	return v.String()
}
