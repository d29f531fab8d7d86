package expr

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// dec is an IEEE 754-2008 decimal128 value in unpacked form: (-1)^neg *
// coef * 10^exp, or NaN / ±Inf. Arithmetic is exact, then rounded to 34
// digits (half-even) when packed, as MongoDB's Intel decimal library does.
type dec struct {
	nan, inf bool
	neg      bool
	coef     *big.Int // >= 0
	exp      int
}

const (
	decMaxDigits = 34
	decMinExp    = -6176
	decMaxExp    = 6111
)

var (
	bigTen   = big.NewInt(10)
	maxCoef  = new(big.Int).Sub(new(big.Int).Exp(bigTen, big.NewInt(decMaxDigits), nil), big.NewInt(1))
	pow10Big = func() []*big.Int {
		p := make([]*big.Int, 80)
		p[0] = big.NewInt(1)
		for i := 1; i < len(p); i++ {
			p[i] = new(big.Int).Mul(p[i-1], bigTen)
		}
		return p
	}()
)

func pow10(n int) *big.Int {
	if n < len(pow10Big) {
		return pow10Big[n]
	}
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

// decOf converts any number to dec: integers exactly, doubles rounded to 15
// significant digits (MongoDB's double-to-decimal conversion), decimals as is.
func decOf(v bsoncore.Value) dec {
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		n := v.AsInt64()
		d := dec{coef: new(big.Int).SetInt64(n)}
		if n < 0 {
			d.neg = true
			d.coef.Neg(d.coef)
		}
		return d
	case bsoncore.TypeDouble:
		return decFromFloat(v.Double())
	case bsoncore.TypeDecimal128:
		h, l := v.Decimal128()
		d128 := bson.NewDecimal128(h, l)
		if d128.IsNaN() {
			return dec{nan: true}
		}
		if inf := d128.IsInf(); inf != 0 {
			return dec{inf: true, neg: inf < 0}
		}
		bi, exp, err := d128.BigInt()
		if err != nil {
			return dec{nan: true}
		}
		d := dec{coef: bi, exp: exp, neg: h>>63 == 1}
		if bi.Sign() < 0 {
			d.coef = new(big.Int).Neg(bi)
		}
		return d
	}
	return dec{nan: true}
}

func decFromFloat(f float64) dec {
	switch {
	case math.IsNaN(f):
		return dec{nan: true}
	case math.IsInf(f, 0):
		return dec{inf: true, neg: f < 0}
	case f == 0:
		return dec{coef: new(big.Int), neg: math.Signbit(f)}
	}
	s := strconv.FormatFloat(math.Abs(f), 'e', 14, 64) // d.dddddddddddddde±XX
	mant, expStr, _ := strings.Cut(s, "e")
	e, _ := strconv.Atoi(expStr)
	coef, _ := new(big.Int).SetString(strings.Replace(mant, ".", "", 1), 10)
	return dec{coef: coef, exp: e - 14, neg: f < 0}
}

func decFromInt(n int64) dec {
	return decOf(bsoncore.Value{Type: bsoncore.TypeInt64, Data: bsoncore.AppendInt64(nil, n)})
}

func (d dec) isZero() bool { return !d.nan && !d.inf && d.coef.Sign() == 0 }

// rat returns the exact value of a finite dec.
func (d dec) rat() *big.Rat {
	r := new(big.Rat).SetInt(d.coef)
	if d.exp > 0 {
		r.Mul(r, new(big.Rat).SetInt(pow10(d.exp)))
	} else if d.exp < 0 {
		r.Quo(r, new(big.Rat).SetInt(pow10(-d.exp)))
	}
	if d.neg {
		r.Neg(r)
	}
	return r
}

func (d dec) float() float64 {
	switch {
	case d.nan:
		return math.NaN()
	case d.inf && d.neg:
		return math.Inf(-1)
	case d.inf:
		return math.Inf(1)
	}
	f, _ := strconv.ParseFloat(d.string(), 64)
	if d.neg && f == 0 {
		return math.Copysign(0, -1)
	}
	return f
}

func (d dec) string() string {
	h, l := d.pack()
	return bson.NewDecimal128(h, l).String()
}

// int64Exact returns the value as int64 if it is integral and in range.
func (d dec) int64Exact() (int64, bool) {
	if d.nan || d.inf {
		return 0, false
	}
	r := d.rat()
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, false
	}
	return r.Num().Int64(), true
}

// round rounds the coefficient to at most 34 digits (half-even) and brings
// the exponent into range, overflowing to infinity.
func (d dec) round() dec {
	if d.nan || d.inf {
		return d
	}
	c := new(big.Int).Set(d.coef)
	exp := d.exp
	digits := len(c.String())
	drop := 0
	if digits > decMaxDigits {
		drop = digits - decMaxDigits
	}
	if exp+drop < decMinExp {
		drop = decMinExp - exp
	}
	if drop > 0 {
		c = roundHalfEven(c, drop)
		exp += drop
		if c.Cmp(maxCoef) > 0 { // rounding carried into a 35th digit
			c = roundHalfEven(c, 1)
			exp++
		}
	}
	for exp > decMaxExp {
		if c.Sign() == 0 {
			exp = decMaxExp
			break
		}
		c.Mul(c, bigTen)
		if c.Cmp(maxCoef) > 0 {
			return dec{inf: true, neg: d.neg}
		}
		exp--
	}
	return dec{coef: c, exp: exp, neg: d.neg}
}

// roundHalfEven divides c by 10^n rounding half to even.
func roundHalfEven(c *big.Int, n int) *big.Int {
	p := pow10(n)
	q, r := new(big.Int).QuoRem(c, p, new(big.Int))
	twice := new(big.Int).Lsh(r, 1)
	switch twice.Cmp(p) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

func (d dec) pack() (uint64, uint64) {
	var d128 bson.Decimal128
	switch {
	case d.nan:
		d128, _ = bson.ParseDecimal128("NaN")
	case d.inf && d.neg:
		d128, _ = bson.ParseDecimal128("-Infinity")
	case d.inf:
		d128, _ = bson.ParseDecimal128("Infinity")
	default:
		r := d.round()
		if r.inf {
			return r.pack()
		}
		var ok bool
		d128, ok = bson.ParseDecimal128FromBigInt(r.coef, r.exp)
		if !ok {
			d128, _ = bson.ParseDecimal128("NaN")
		}
		h, l := d128.GetBytes()
		if r.neg {
			h |= 1 << 63
		}
		return h, l
	}
	return d128.GetBytes()
}

func (d dec) value() bsoncore.Value {
	h, l := d.pack()
	return bsoncore.Value{Type: bsoncore.TypeDecimal128, Data: bsoncore.AppendDecimal128(nil, h, l)}
}

func (d dec) signed() *big.Int {
	if d.neg {
		return new(big.Int).Neg(d.coef)
	}
	return d.coef
}

func decFromSigned(c *big.Int, exp int) dec {
	d := dec{coef: new(big.Int).Abs(c), exp: exp, neg: c.Sign() < 0}
	return d
}

func decAdd(a, b dec) dec {
	switch {
	case a.nan || b.nan:
		return dec{nan: true}
	case a.inf && b.inf:
		if a.neg != b.neg {
			return dec{nan: true}
		}
		return a
	case a.inf:
		return a
	case b.inf:
		return b
	}
	exp := min(a.exp, b.exp)
	ca := new(big.Int).Mul(a.signed(), pow10(a.exp-exp))
	cb := new(big.Int).Mul(b.signed(), pow10(b.exp-exp))
	sum := ca.Add(ca, cb)
	r := decFromSigned(sum, exp)
	if sum.Sign() == 0 && a.neg && b.neg {
		r.neg = true
	}
	return r
}

func decNeg(a dec) dec {
	if a.nan {
		return a
	}
	r := a
	r.neg = !a.neg
	return r
}

func decSub(a, b dec) dec { return decAdd(a, decNeg(b)) }

func decMul(a, b dec) dec {
	switch {
	case a.nan || b.nan:
		return dec{nan: true}
	case a.inf || b.inf:
		if a.isZero() || b.isZero() {
			return dec{nan: true}
		}
		return dec{inf: true, neg: a.neg != b.neg}
	}
	c := new(big.Int).Mul(a.coef, b.coef)
	return dec{coef: c, exp: a.exp + b.exp, neg: a.neg != b.neg}
}

// decDiv divides; the caller rejects a zero divisor.
func decDiv(a, b dec) dec {
	switch {
	case a.nan || b.nan:
		return dec{nan: true}
	case a.inf && b.inf:
		return dec{nan: true}
	case a.inf:
		return dec{inf: true, neg: a.neg != b.neg}
	case b.inf:
		return dec{coef: new(big.Int), neg: a.neg != b.neg}
	}
	neg := a.neg != b.neg
	preferred := a.exp - b.exp
	if a.coef.Sign() == 0 {
		return dec{coef: new(big.Int), exp: preferred, neg: neg}
	}
	// Scale the dividend so the quotient has more than 34 digits, then round.
	shift := decMaxDigits + 2 + len(b.coef.String()) - len(a.coef.String())
	if shift < 0 {
		shift = 0
	}
	num := new(big.Int).Mul(a.coef, pow10(shift))
	q, r := new(big.Int).QuoRem(num, b.coef, new(big.Int))
	exp := preferred - shift
	if r.Sign() == 0 {
		// Exact: drop trailing zeros down to the preferred exponent.
		for exp < preferred {
			q2, r2 := new(big.Int).QuoRem(q, bigTen, new(big.Int))
			if r2.Sign() != 0 {
				break
			}
			q = q2
			exp++
		}
		return dec{coef: q, exp: exp, neg: neg}
	}
	// Inexact: a sticky digit keeps half-even rounding correct.
	q.Mul(q, bigTen)
	q.Add(q, big.NewInt(1))
	return dec{coef: q, exp: exp - 1, neg: neg}.round()
}

// decRoundTo rounds toward -Inf (floor), +Inf (ceil) or zero (trunc) at
// the given number of decimal places.
func decRoundTo(d dec, places int, mode string) dec {
	if d.nan || d.inf || d.exp >= -places {
		return d
	}
	drop := -places - d.exp
	p := pow10(drop)
	q, r := new(big.Int).QuoRem(d.coef, p, new(big.Int))
	inc := false
	switch mode {
	case "floor":
		inc = d.neg && r.Sign() != 0
	case "ceil":
		inc = !d.neg && r.Sign() != 0
	case "half-even":
		twice := new(big.Int).Lsh(r, 1)
		c := twice.Cmp(p)
		inc = c > 0 || (c == 0 && q.Bit(0) == 1)
	}
	if inc {
		q.Add(q, big.NewInt(1))
	}
	return dec{coef: q, exp: -places, neg: d.neg}
}

// decQuantize sets the exponent to -places (IEEE quantize), rounding with
// mode when digits are dropped and padding with zeros otherwise.
func decQuantize(d dec, places int, mode string) dec {
	if d.nan || d.inf {
		return d
	}
	if d.exp > -places {
		scaled := new(big.Int).Mul(d.coef, pow10(d.exp+places))
		if len(scaled.String()) > decMaxDigits {
			return dec{nan: true}
		}
		return dec{coef: scaled, exp: -places, neg: d.neg}
	}
	return decRoundTo(d, places, mode)
}
