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
		return decOf(v).float()
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
	return decAdd(decOf(a), decOf(b)).value()
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
	return decSub(decOf(a), decOf(b)).value()
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
	return decMul(decOf(a), decOf(b)).value()
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
		return decOf(v).isZero()
	}
	return false
}

// divNumbers divides (double result unless a decimal is involved); the
// caller rejects a zero divisor.
func divNumbers(a, b bsoncore.Value) bsoncore.Value {
	if a.Type == bsoncore.TypeDecimal128 || b.Type == bsoncore.TypeDecimal128 {
		return decDiv(decOf(a), decOf(b)).value()
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
	da, db := decOf(a), decOf(b)
	if da.nan || db.nan || da.inf {
		return dec{nan: true}.value()
	}
	if db.inf {
		return da.value()
	}
	// a - trunc(a/b)*b, computed exactly.
	ra, rb := da.rat(), db.rat()
	q := decFromRatTrunc(ra, rb)
	rem := decSub(da, decMul(q, db))
	if rem.isZero() {
		rem.neg = da.neg
	}
	return rem.value()
}

func decFromRatTrunc(a, b *big.Rat) dec {
	num := new(big.Int).Mul(a.Num(), b.Denom())
	den := new(big.Int).Mul(a.Denom(), b.Num())
	return decFromSigned(new(big.Int).Quo(num, den), 0)
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
	decSum      dec
}

// Add adds a numeric value.
func (s *Summer) Add(v bsoncore.Value) {
	t := numTypeOf(v.Type)
	s.typ = max(s.typ, t)
	s.count++
	if t == numDecimal {
		if !s.hasDec {
			s.hasDec = true
			s.decSum = decOf(v)
			return
		}
		s.decSum = decAdd(s.decSum, decOf(v))
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
func (s *Summer) nonDecimal() dec {
	if !s.sawDouble && !s.intOverflow {
		return decFromInt(s.intSum)
	}
	return decFromFloat(s.float())
}

// Result returns the sum with MongoDB's result type (int32 0 when empty).
func (s *Summer) Result() bsoncore.Value {
	switch {
	case s.hasDec:
		if s.count == 0 {
			return bsonkit.Int32(0)
		}
		return decAdd(s.decSum, s.nonDecimal()).value()
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
		return decDiv(decAdd(s.decSum, s.nonDecimal()), decFromInt(s.count)).value()
	}
	if s.typ <= numInt64 && !s.intOverflow {
		return bsonkit.Double(float64(s.intSum) / float64(s.count))
	}
	return bsonkit.Double(s.float() / float64(s.count))
}
