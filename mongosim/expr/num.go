package expr

import (
	"math"
	"math/big"
	"math/bits"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
)

// numType orders the numeric types by MongoDB's promotion rule:
// int32 → int64 → double → decimal128.
type numType int

const (
	numInt32 numType = iota
	numInt64
	numDouble
	numDecimal
)

func numTypeOf(t bsoncore.Type) numType {
	switch t {
	case bsoncore.TypeInt32:
		return numInt32
	case bsoncore.TypeInt64:
		return numInt64
	case bsoncore.TypeDouble:
		return numDouble
	}
	return numDecimal
}

func isNumber(v bsoncore.Value) bool { return bsonkit.IsNumber(v.Type) }

func toFloat(v bsoncore.Value) float64 {
	switch v.Type {
	case bsoncore.TypeInt32:
		return float64(v.Int32())
	case bsoncore.TypeInt64:
		return float64(v.Int64())
	case bsoncore.TypeDouble:
		return v.Double()
	case bsoncore.TypeDecimal128:
		return bsonkit.DecimalOf(v).Float()
	}
	return math.NaN()
}

// intResult returns n as int32 when the inputs were int32 and it fits,
// otherwise as int64.
func intResult(t numType, n int64) bsoncore.Value {
	if t == numInt32 && n >= math.MinInt32 && n <= math.MaxInt32 {
		return bsonkit.Int32(int32(n))
	}
	return bsonkit.Int64(n)
}

// addNumbers adds two numbers with type promotion and overflow widening.
func addNumbers(a, b bsoncore.Value) bsoncore.Value {
	t := max(numTypeOf(a.Type), numTypeOf(b.Type))
	switch t {
	case numInt32, numInt64:
		x, y := a.AsInt64(), b.AsInt64()
		s := x + y
		if (s^x)&(s^y) < 0 {
			return bsonkit.Double(float64(x) + float64(y))
		}
		return intResult(t, s)
	case numDouble:
		return bsonkit.Double(toFloat(a) + toFloat(b))
	}
	return bsonkit.DecimalOf(a).Add(bsonkit.DecimalOf(b)).Value()
}

func subNumbers(a, b bsoncore.Value) bsoncore.Value {
	t := max(numTypeOf(a.Type), numTypeOf(b.Type))
	switch t {
	case numInt32, numInt64:
		x, y := a.AsInt64(), b.AsInt64()
		s := x - y
		if (x^y)&(s^x) < 0 {
			return bsonkit.Double(float64(x) - float64(y))
		}
		return intResult(t, s)
	case numDouble:
		return bsonkit.Double(toFloat(a) - toFloat(b))
	}
	return bsonkit.DecimalOf(a).Sub(bsonkit.DecimalOf(b)).Value()
}

func mulNumbers(a, b bsoncore.Value) bsoncore.Value {
	t := max(numTypeOf(a.Type), numTypeOf(b.Type))
	switch t {
	case numInt32, numInt64:
		x, y := a.AsInt64(), b.AsInt64()
		if p, ok := mulInt64(x, y); ok {
			return intResult(t, p)
		}
		return bsonkit.Double(float64(x) * float64(y))
	case numDouble:
		return bsonkit.Double(toFloat(a) * toFloat(b))
	}
	return bsonkit.DecimalOf(a).Mul(bsonkit.DecimalOf(b)).Value()
}

func mulInt64(x, y int64) (int64, bool) {
	if x == 0 || y == 0 {
		return 0, true
	}
	neg := (x < 0) != (y < 0)
	ux, uy := absU(x), absU(y)
	hi, lo := bits.Mul64(ux, uy)
	if hi != 0 {
		return 0, false
	}
	if neg {
		if lo > 1<<63 {
			return 0, false
		}
		return -int64(lo), true
	}
	if lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}

func absU(x int64) uint64 {
	if x < 0 {
		return uint64(-x)
	}
	return uint64(x)
}

func isZeroNumber(v bsoncore.Value) bool {
	switch v.Type {
	case bsoncore.TypeInt32:
		return v.Int32() == 0
	case bsoncore.TypeInt64:
		return v.Int64() == 0
	case bsoncore.TypeDouble:
		return v.Double() == 0
	case bsoncore.TypeDecimal128:
		return bsonkit.DecimalOf(v).IsZero()
	}
	return false
}

// divNumbers divides (double result unless a decimal is involved); the
// caller rejects a zero divisor.
func divNumbers(a, b bsoncore.Value) bsoncore.Value {
	if a.Type == bsoncore.TypeDecimal128 || b.Type == bsoncore.TypeDecimal128 {
		return bsonkit.DecimalOf(a).Div(bsonkit.DecimalOf(b)).Value()
	}
	return bsonkit.Double(toFloat(a) / toFloat(b))
}

// modNumbers computes the remainder with the sign of the dividend.
func modNumbers(a, b bsoncore.Value) bsoncore.Value {
	t := max(numTypeOf(a.Type), numTypeOf(b.Type))
	switch t {
	case numInt32, numInt64:
		x, y := a.AsInt64(), b.AsInt64()
		if y == -1 {
			return intResult(t, 0)
		}
		return intResult(t, x%y)
	case numDouble:
		return bsonkit.Double(math.Mod(toFloat(a), toFloat(b)))
	}
	da, db := bsonkit.DecimalOf(a), bsonkit.DecimalOf(b)
	if da.NaN || db.NaN || da.Inf {
		return bsonkit.Decimal{NaN: true}.Value()
	}
	if db.Inf {
		return da.Value()
	}
	// a - trunc(a/b)*b, computed exactly.
	ra, rb := da.Rat(), db.Rat()
	q := decFromRatTrunc(ra, rb)
	rem := da.Sub(q.Mul(db))
	if rem.IsZero() {
		rem.Neg = da.Neg
	}
	return rem.Value()
}

func decFromRatTrunc(a, b *big.Rat) bsonkit.Decimal {
	num := new(big.Int).Mul(a.Num(), b.Denom())
	den := new(big.Int).Mul(a.Denom(), b.Num())
	return bsonkit.DecimalFromSigned(new(big.Int).Quo(num, den), 0)
}

// Summer accumulates numbers as MongoDB's $sum and $add do: exact while all
// inputs are integers (widening int32 → int64 → double on overflow),
// double-double compensated summation for doubles, decimal arithmetic once a
// decimal is seen. Non-numeric values are the caller's business.
type Summer struct {
	typ         numType
	count       int64
	intSum      int64
	intOverflow bool
	hi, lo      float64 // compensated sum of all non-decimal inputs
	naive       float64 // plain sum, used once infinities or NaN appear
	sawDouble   bool
	hasDec      bool
	decSum      bsonkit.Decimal
}

// Add adds a numeric value.
func (s *Summer) Add(v bsoncore.Value) {
	t := numTypeOf(v.Type)
	s.typ = max(s.typ, t)
	s.count++
	if t == numDecimal {
		if !s.hasDec {
			s.hasDec = true
			s.decSum = bsonkit.DecimalOf(v)
			return
		}
		s.decSum = s.decSum.Add(bsonkit.DecimalOf(v))
		return
	}
	if t == numDouble {
		s.sawDouble = true
		s.addFloat(v.Double())
		return
	}
	n := v.AsInt64()
	if !s.intOverflow {
		sum := s.intSum + n
		if (sum^s.intSum)&(sum^n) < 0 {
			s.intOverflow = true
		} else {
			s.intSum = sum
		}
	}
	h := float64(n)
	if h >= 9223372036854775808.0 { // float64(MaxInt64) rounds up to 2^63
		s.addFloat(h)
		s.addFloat(float64(n - math.MaxInt64 - 1))
		return
	}
	s.addFloat(h)
	s.addFloat(float64(n - int64(h)))
}

func (s *Summer) addFloat(x float64) {
	s.naive += x
	t := s.hi + x
	if math.Abs(s.hi) >= math.Abs(x) {
		s.lo += (s.hi - t) + x
	} else {
		s.lo += (x - t) + s.hi
	}
	s.hi = t
}

// Count is the number of values added.
func (s *Summer) Count() int64 { return s.count }

func (s *Summer) float() float64 {
	if math.IsInf(s.naive, 0) || math.IsNaN(s.naive) {
		return s.naive
	}
	return s.hi + s.lo
}

// nonDecimal returns the sum of the non-decimal inputs as a dec.
func (s *Summer) nonDecimal() bsonkit.Decimal {
	if !s.sawDouble && !s.intOverflow {
		return bsonkit.DecimalFromInt(s.intSum)
	}
	return bsonkit.DecimalFromFloat(s.float())
}

// Result returns the sum with MongoDB's result type (int32 0 when empty).
func (s *Summer) Result() bsoncore.Value {
	switch {
	case s.hasDec:
		if s.count == 0 {
			return bsonkit.Int32(0)
		}
		return s.decSum.Add(s.nonDecimal()).Value()
	case s.typ == numDouble:
		return bsonkit.Double(s.float())
	case s.intOverflow:
		return bsonkit.Double(s.float())
	}
	return intResult(s.typ, s.intSum)
}

// Avg returns the mean (double, or decimal if a decimal was summed); null if empty.
func (s *Summer) Avg() bsoncore.Value {
	if s.count == 0 {
		return bsonkit.Null()
	}
	if s.hasDec {
		return s.decSum.Add(s.nonDecimal()).Div(bsonkit.DecimalFromInt(s.count)).Value()
	}
	if s.typ <= numInt64 && !s.intOverflow {
		return bsonkit.Double(float64(s.intSum) / float64(s.count))
	}
	return bsonkit.Double(s.float() / float64(s.count))
}
