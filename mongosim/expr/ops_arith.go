package expr

import (
	"math"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	registerNary(0, -1, evalAdd, "$add")
	registerNary(2, 2, evalSubtract, "$subtract")
	registerNary(0, -1, evalMultiply, "$multiply")
	registerNary(2, 2, evalDivide, "$divide")
	registerNary(2, 2, evalMod, "$mod")
	registerNary(1, 1, evalAbs, "$abs")
	registerNary(1, 1, evalUnaryMath, "$floor", "$ceil", "$sqrt", "$exp", "$ln", "$log10")
	registerNary(1, 2, evalRound, "$round", "$trunc")
	registerNary(2, 2, evalPow, "$pow")
	registerNary(2, 2, evalLog, "$log")
}

// addState mirrors MongoDB's $add: an exact int64 total while all inputs are
// integers, a plain double total once a double (or int64 overflow) appears,
// a decimal total once a decimal appears; one date turns the result into a date.
type addState struct {
	widest  numType
	longSum int64
	dblSum  float64
	decSum  bsonkit.Decimal
	isDate  bool
}

func (s *addState) add(v bsoncore.Value) error {
	if v.Type == bsoncore.TypeDateTime {
		if s.isDate {
			return mongoerr.New(16612, "only one date allowed in an $add expression")
		}
		prev := s.value()
		s.isDate = true
		s.longSum = 0
		if err := s.addToDate(prev); err != nil {
			return err
		}
		return s.addToDate(bsonkit.Int64(v.DateTime()))
	}
	if s.isDate {
		return s.addToDate(v)
	}
	old := s.widest
	s.widest = max(s.widest, numTypeOf(v.Type))
	if old != s.widest {
		switch {
		case s.widest == numDouble:
			s.dblSum = float64(s.longSum)
		case s.widest == numDecimal && old == numDouble:
			s.decSum = bsonkit.DecimalFromFloat(s.dblSum)
		case s.widest == numDecimal:
			s.decSum = bsonkit.DecimalFromInt(s.longSum)
		}
	}
	switch s.widest {
	case numInt32, numInt64:
		n := v.AsInt64()
		sum := s.longSum + n
		if (sum^s.longSum)&(sum^n) < 0 {
			s.widest = numDouble
			s.dblSum = float64(s.longSum) + float64(n)
		} else {
			s.longSum = sum
		}
	case numDouble:
		s.dblSum += toFloat(v)
	default:
		s.decSum = s.decSum.Add(bsonkit.DecimalOf(v))
	}
	return nil
}

func (s *addState) addToDate(v bsoncore.Value) error {
	var n int64
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		n = v.AsInt64()
	case bsoncore.TypeDouble:
		f := v.Double()
		if !(f >= -9223372036854775808.0 && f < 9223372036854775807.0) {
			return mongoerr.New(mongoerr.Overflow, "date overflow")
		}
		n = int64(math.Round(f))
	default:
		d := bsonkit.DecimalOf(v).RoundTo(0, "half-even")
		var ok bool
		if n, ok = d.Int64Exact(); !ok {
			return mongoerr.New(mongoerr.Overflow, "date overflow")
		}
	}
	sum := s.longSum + n
	if (sum^s.longSum)&(sum^n) < 0 {
		return mongoerr.New(mongoerr.Overflow, "date overflow")
	}
	s.longSum = sum
	return nil
}

func (s *addState) value() bsoncore.Value {
	if s.isDate {
		return bsonkit.DateTime(s.longSum)
	}
	switch s.widest {
	case numInt32, numInt64:
		return intResult(s.widest, s.longSum)
	case numDouble:
		return bsonkit.Double(s.dblSum)
	}
	return s.decSum.Value()
}

func evalAdd(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	var st addState
	for _, v := range vals {
		if nullish(v) {
			return bsonkit.Null(), nil
		}
		if !isNumber(v) && v.Type != bsoncore.TypeDateTime {
			return bsonkit.Missing, mongoerr.New(mongoerr.TypeMismatch,
				"$add only supports numeric or date types, not %s", TypeName(v.Type))
		}
		if err := st.add(v); err != nil {
			return bsonkit.Missing, err
		}
	}
	return st.value(), nil
}

func evalSubtract(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	a, b := vals[0], vals[1]
	switch {
	case isNumber(a) && isNumber(b):
		return subNumbers(a, b), nil
	case nullish(a) || nullish(b):
		return bsonkit.Null(), nil
	case a.Type == bsoncore.TypeDateTime:
		switch {
		case b.Type == bsoncore.TypeDateTime:
			return bsonkit.Int64(a.DateTime() - b.DateTime()), nil
		case isNumber(b):
			var neg bsoncore.Value
			switch b.Type {
			case bsoncore.TypeDouble:
				neg = bsonkit.Double(-b.Double())
			case bsoncore.TypeDecimal128:
				neg = bsonkit.DecimalOf(b).Negate().Value()
			default:
				n := b.AsInt64()
				if n == math.MinInt64 {
					return bsonkit.Missing, mongoerr.New(mongoerr.Overflow, "date overflow")
				}
				neg = bsonkit.Int64(-n)
			}
			st := addState{isDate: true, longSum: a.DateTime()}
			if err := st.addToDate(neg); err != nil {
				return bsonkit.Missing, err
			}
			return st.value(), nil
		}
		return bsonkit.Missing, mongoerr.New(mongoerr.TypeMismatch, "can't $subtract %s from Date", TypeName(b.Type))
	}
	return bsonkit.Missing, mongoerr.New(mongoerr.TypeMismatch, "can't $subtract %s from %s",
		TypeName(b.Type), TypeName(a.Type))
}

func evalMultiply(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	widest := numInt32
	dbl, long := 1.0, int64(1)
	var decProd bsonkit.Decimal
	for _, v := range vals {
		if nullish(v) {
			return bsonkit.Null(), nil
		}
		if !isNumber(v) {
			return bsonkit.Missing, mongoerr.New(mongoerr.TypeMismatch,
				"$multiply only supports numeric types, not %s", TypeName(v.Type))
		}
		old := widest
		widest = max(widest, numTypeOf(v.Type))
		if widest == numDecimal {
			if old != numDecimal {
				if old == numDouble {
					decProd = bsonkit.DecimalFromFloat(dbl)
				} else {
					decProd = bsonkit.DecimalFromInt(long)
				}
			}
			decProd = decProd.Mul(bsonkit.DecimalOf(v))
			continue
		}
		f := toFloat(v)
		dbl *= f
		if widest != numDouble {
			p, ok := mulInt64(long, v.AsInt64())
			if !ok {
				widest = numDouble
			} else {
				long = p
			}
		}
	}
	switch widest {
	case numDouble:
		return bsonkit.Double(dbl), nil
	case numDecimal:
		return decProd.Value(), nil
	}
	return intResult(widest, long), nil
}

func evalDivide(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	a, b := vals[0], vals[1]
	if isNumber(a) && isNumber(b) {
		if isZeroNumber(b) {
			return bsonkit.Missing, mongoerr.New(mongoerr.BadValue, "can't $divide by zero")
		}
		return divNumbers(a, b), nil
	}
	if nullish(a) || nullish(b) {
		return bsonkit.Null(), nil
	}
	return bsonkit.Missing, mongoerr.New(mongoerr.TypeMismatch, "$divide only supports numeric types, not %s and %s",
		TypeName(a.Type), TypeName(b.Type))
}

func evalMod(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	a, b := vals[0], vals[1]
	if isNumber(a) && isNumber(b) {
		if isZeroNumber(b) {
			if a.Type == bsoncore.TypeDecimal128 || b.Type == bsoncore.TypeDecimal128 {
				return bsonkit.Missing, mongoerr.New(5733415, "can't $mod by zero")
			}
			return bsonkit.Missing, mongoerr.New(16610, "can't $mod by zero")
		}
		return modNumbers(a, b), nil
	}
	if nullish(a) || nullish(b) {
		return bsonkit.Null(), nil
	}
	return bsonkit.Missing, mongoerr.New(16611, "$mod only supports numeric types, not %s and %s",
		TypeName(a.Type), TypeName(b.Type))
}

func evalAbs(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	v := vals[0]
	if nullish(v) {
		return bsonkit.Null(), nil
	}
	switch v.Type {
	case bsoncore.TypeInt32:
		n := int64(v.Int32())
		if n < 0 {
			n = -n
		}
		return intResult(numInt32, n), nil
	case bsoncore.TypeInt64:
		n := v.Int64()
		if n == math.MinInt64 {
			return bsonkit.Missing, mongoerr.New(28680, "can't take $abs of long long min")
		}
		if n < 0 {
			n = -n
		}
		return bsonkit.Int64(n), nil
	case bsoncore.TypeDouble:
		return bsonkit.Double(math.Abs(v.Double())), nil
	case bsoncore.TypeDecimal128:
		d := bsonkit.DecimalOf(v)
		d.Neg = false
		return d.Value(), nil
	}
	return bsonkit.Missing, mongoerr.New(28765, "$abs only supports numeric types, not %s", TypeName(v.Type))
}

func evalUnaryMath(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	v := vals[0]
	if nullish(v) {
		return bsonkit.Null(), nil
	}
	if !isNumber(v) {
		return bsonkit.Missing, mongoerr.New(28765, "%s only supports numeric types, not %s", name, TypeName(v.Type))
	}
	isInt := v.Type == bsoncore.TypeInt32 || v.Type == bsoncore.TypeInt64
	switch name {
	case "$floor", "$ceil":
		if isInt {
			return v, nil
		}
		if v.Type == bsoncore.TypeDecimal128 {
			return bsonkit.DecimalOf(v).RoundTo(0, name[1:]).Value(), nil
		}
		if name == "$floor" {
			return bsonkit.Double(math.Floor(v.Double())), nil
		}
		return bsonkit.Double(math.Ceil(v.Double())), nil
	}
	f := toFloat(v)
	if v.Type == bsoncore.TypeDecimal128 && bsonkit.DecimalOf(v).NaN {
		return v, nil
	}
	var r float64
	switch name {
	case "$sqrt":
		if f < 0 {
			return bsonkit.Missing, mongoerr.New(28714, "$sqrt's argument must be greater than or equal to 0")
		}
		r = math.Sqrt(f)
	case "$exp":
		r = math.Exp(f)
	case "$ln":
		if f <= 0 {
			return bsonkit.Missing, mongoerr.New(28766, "$ln's argument must be a positive number, but is %s", formatNumber(v))
		}
		r = math.Log(f)
	case "$log10":
		if f <= 0 {
			return bsonkit.Missing, mongoerr.New(28761, "$log10's argument must be a positive number, but is %s", formatNumber(v))
		}
		r = math.Log10(f)
	}
	if v.Type == bsoncore.TypeDecimal128 {
		return bsonkit.DecimalFromFloat(r).Value(), nil
	}
	return bsonkit.Double(r), nil
}

func evalLog(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	a, b := vals[0], vals[1]
	if nullish(a) || nullish(b) {
		return bsonkit.Null(), nil
	}
	if !isNumber(a) {
		return bsonkit.Missing, mongoerr.New(28756, "$log's argument must be numeric, not %s", TypeName(a.Type))
	}
	if !isNumber(b) {
		return bsonkit.Missing, mongoerr.New(28757, "$log's base must be numeric, not %s", TypeName(b.Type))
	}
	x, base := toFloat(a), toFloat(b)
	if x <= 0 {
		return bsonkit.Missing, mongoerr.New(28758, "$log's argument must be a positive number, but is %s", formatNumber(a))
	}
	if base <= 0 || base == 1 {
		return bsonkit.Missing, mongoerr.New(28759, "$log's base must be a positive number not equal to 1, but is %s", formatNumber(b))
	}
	r := math.Log(x) / math.Log(base)
	if a.Type == bsoncore.TypeDecimal128 || b.Type == bsoncore.TypeDecimal128 {
		return bsonkit.DecimalFromFloat(r).Value(), nil
	}
	return bsonkit.Double(r), nil
}

func evalPow(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	a, b := vals[0], vals[1]
	if nullish(a) || nullish(b) {
		return bsonkit.Null(), nil
	}
	if !isNumber(a) {
		return bsonkit.Missing, mongoerr.New(28762, "$pow's base must be numeric, not %s", TypeName(a.Type))
	}
	if !isNumber(b) {
		return bsonkit.Missing, mongoerr.New(28763, "$pow's exponent must be numeric, not %s", TypeName(b.Type))
	}
	if isZeroNumber(a) && toFloat(b) < 0 {
		return bsonkit.Missing, mongoerr.New(28764, "$pow cannot take a base of 0 and a negative exponent")
	}
	t := max(numTypeOf(a.Type), numTypeOf(b.Type))
	if t <= numInt64 {
		base, exp := a.AsInt64(), b.AsInt64()
		switch {
		case base == 1 || exp == 0:
			return intResult(t, 1), nil
		case base == -1:
			if exp%2 == 0 {
				return intResult(t, 1), nil
			}
			return intResult(t, -1), nil
		case base == 0:
			return intResult(t, 0), nil
		case exp < 0:
			return bsonkit.Double(math.Pow(float64(base), float64(exp))), nil
		}
		// |base| >= 2 overflows int64 within 63 multiplications.
		result, ok := int64(1), true
		for i := int64(0); i < exp && ok; i++ {
			result, ok = mulInt64(result, base)
		}
		if ok {
			return intResult(t, result), nil
		}
		return bsonkit.Double(math.Pow(float64(base), float64(exp))), nil
	}
	r := math.Pow(toFloat(a), toFloat(b))
	if t == numDecimal {
		return bsonkit.DecimalFromFloat(r).Value(), nil
	}
	return bsonkit.Double(r), nil
}

func evalRound(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	v := vals[0]
	if nullish(v) {
		return bsonkit.Null(), nil
	}
	if !isNumber(v) {
		return bsonkit.Missing, mongoerr.New(51081, "%s only supports numeric types, not %s", name, TypeName(v.Type))
	}
	places := int64(0)
	if len(vals) == 2 {
		p := vals[1]
		if nullish(p) {
			return bsonkit.Null(), nil
		}
		n, ok := asInt64(p)
		if !ok {
			return bsonkit.Missing, mongoerr.New(51082, "precision argument to  %s must be a integral value", name)
		}
		if n < -20 || n > 100 {
			return bsonkit.Missing, mongoerr.New(51083, "cannot apply %s with precision value %d value must be in [-20, 100]", name, n)
		}
		places = n
	}
	mode := "half-even"
	if name == "$trunc" {
		mode = "trunc"
	}
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		if places >= 0 {
			return v, nil
		}
		n, _ := bsonkit.DecimalOf(v).RoundTo(int(places), mode).Int64Exact()
		if v.Type == bsoncore.TypeInt64 || n > math.MaxInt32 || n < math.MinInt32 {
			return bsonkit.Int64(n), nil
		}
		return bsonkit.Int32(int32(n)), nil
	case bsoncore.TypeDecimal128:
		return bsonkit.DecimalOf(v).Quantize(int(places), mode).Value(), nil
	}
	f := v.Double()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return v, nil
	}
	return bsonkit.Double(exactDec(f).RoundTo(int(places), mode).Float()), nil
}

// exactDec converts a double to decimal with all 34 significant digits.
func exactDec(f float64) bsonkit.Decimal {
	if f == 0 {
		return bsonkit.DecimalFromFloat(f)
	}
	s := strconv.FormatFloat(f, 'e', 33, 64)
	v, err := parseDecimalString(s)
	if err != nil {
		return bsonkit.DecimalFromFloat(f)
	}
	return v
}

func init() {
	registerNary(0, -1, evalBitwise, "$bitAnd", "$bitOr", "$bitXor")
	registerNary(1, 1, evalBitwise, "$bitNot")
}

// evalBitwise implements $bitAnd/$bitOr/$bitXor/$bitNot over int and long
// operands (long as soon as one operand is long).
func evalBitwise(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	var acc int64
	switch name {
	case "$bitAnd":
		acc = -1
	}
	t := numInt32
	for i, v := range vals {
		if nullish(v) {
			return bsonkit.Null(), nil
		}
		if v.Type != bsoncore.TypeInt32 && v.Type != bsoncore.TypeInt64 {
			return bsonkit.Missing, mongoerr.New(mongoerr.TypeMismatch, "%s only supports int and long operands.", name)
		}
		t = max(t, numTypeOf(v.Type))
		n := v.AsInt64()
		switch name {
		case "$bitAnd":
			acc &= n
		case "$bitOr":
			acc |= n
		case "$bitXor":
			acc ^= n
		case "$bitNot":
			if i == 0 {
				acc = ^n
			}
		}
	}
	if t == numInt32 {
		return bsonkit.Int32(int32(acc)), nil
	}
	return bsonkit.Int64(acc), nil
}
