package bsonkit

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Decimal is an IEEE 754-2008 decimal128 value in unpacked form:
// (-1)^Neg * Coef * 10^Exp, or NaN / ±Inf. Arithmetic is exact; Value
// rounds to 34 digits (half-even) as MongoDB's Intel decimal library does.
// Shared by aggregation expressions and the $inc/$mul update operators.
type Decimal struct {
	NaN, Inf bool
	Neg      bool
	Coef     *big.Int // >= 0; nil for NaN and ±Inf
	Exp      int
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

// pow10 returns 10^n; the small powers are shared and must not be modified.
func pow10(n int) *big.Int {
	if n < len(pow10Big) {
		return pow10Big[n]
	}
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

// DecimalOf converts any number as MongoDB's SafeNum/Value do: integers
// exactly, doubles rounded to 15 significant digits, decimals as they are.
// A non-number is NaN.
func DecimalOf(v bsoncore.Value) Decimal {
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		return DecimalFromInt(v.AsInt64())
	case bsoncore.TypeDouble:
		return DecimalFromFloat(v.Double())
	case bsoncore.TypeDecimal128:
		h, l := v.Decimal128()
		d128 := bson.NewDecimal128(h, l)
		if d128.IsNaN() {
			return Decimal{NaN: true}
		}
		if inf := d128.IsInf(); inf != 0 {
			return Decimal{Inf: true, Neg: inf < 0}
		}
		bi, exp, err := d128.BigInt()
		if err != nil {
			return Decimal{NaN: true}
		}
		return Decimal{Coef: bi.Abs(bi), Exp: exp, Neg: h>>63 == 1}
	}
	return Decimal{NaN: true}
}

// DecimalFromFloat converts a double at 15 significant digits (MongoDB's
// double-to-decimal conversion), keeping -0, NaN and ±Inf.
func DecimalFromFloat(f float64) Decimal {
	switch {
	case math.IsNaN(f):
		return Decimal{NaN: true}
	case math.IsInf(f, 0):
		return Decimal{Inf: true, Neg: f < 0}
	case f == 0:
		return Decimal{Coef: new(big.Int), Neg: math.Signbit(f)}
	}
	s := strconv.FormatFloat(math.Abs(f), 'e', 14, 64) // d.dddddddddddddde±XX
	mant, expStr, _ := strings.Cut(s, "e")
	e, _ := strconv.Atoi(expStr)
	coef, _ := new(big.Int).SetString(strings.Replace(mant, ".", "", 1), 10)
	return Decimal{Coef: coef, Exp: e - 14, Neg: f < 0}
}

// DecimalFromInt converts an integer exactly.
func DecimalFromInt(n int64) Decimal {
	c := new(big.Int).SetInt64(n)
	return Decimal{Coef: c.Abs(c), Neg: n < 0}
}

// DecimalFromSigned builds c * 10^exp from a signed coefficient.
func DecimalFromSigned(c *big.Int, exp int) Decimal {
	return Decimal{Coef: new(big.Int).Abs(c), Exp: exp, Neg: c.Sign() < 0}
}

// IsZero reports whether d is a finite zero of either sign.
func (d Decimal) IsZero() bool { return !d.NaN && !d.Inf && d.Coef.Sign() == 0 }

// Rat returns the exact value of a finite d.
func (d Decimal) Rat() *big.Rat {
	r := new(big.Rat).SetInt(d.Coef)
	if d.Exp > 0 {
		r.Mul(r, new(big.Rat).SetInt(pow10(d.Exp)))
	} else if d.Exp < 0 {
		r.Quo(r, new(big.Rat).SetInt(pow10(-d.Exp)))
	}
	if d.Neg {
		r.Neg(r)
	}
	return r
}

// Float returns the nearest double (through the rounded decimal's text).
func (d Decimal) Float() float64 {
	switch {
	case d.NaN:
		return math.NaN()
	case d.Inf && d.Neg:
		return math.Inf(-1)
	case d.Inf:
		return math.Inf(1)
	}
	f, _ := strconv.ParseFloat(d.String(), 64)
	if d.Neg && f == 0 {
		return math.Copysign(0, -1)
	}
	return f
}

// String is the Decimal128 text of the rounded value ("1.10", "-0", "NaN").
func (d Decimal) String() string {
	h, l := d.pack()
	return bson.NewDecimal128(h, l).String()
}

// Int64Exact returns the value as int64 if it is integral and in range.
func (d Decimal) Int64Exact() (int64, bool) {
	if d.NaN || d.Inf {
		return 0, false
	}
	r := d.Rat()
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, false
	}
	return r.Num().Int64(), true
}

// Value packs d into a Decimal128 BSON value, rounded to 34 digits.
func (d Decimal) Value() bsoncore.Value {
	h, l := d.pack()
	return bsoncore.Value{Type: bsoncore.TypeDecimal128, Data: bsoncore.AppendDecimal128(nil, h, l)}
}

// round rounds the coefficient to at most 34 digits (half-even) and brings
// the exponent into range, overflowing to infinity.
func (d Decimal) round() Decimal {
	if d.NaN || d.Inf {
		return d
	}
	c := new(big.Int).Set(d.Coef)
	exp := d.Exp
	digits := len(c.String())
	drop := 0
	if digits > decMaxDigits {
		drop = digits - decMaxDigits
	}
	if exp+drop < decMinExp {
		drop = decMinExp - exp
	}
	if drop > 0 {
		c = divRoundHalfEven(c, drop)
		exp += drop
		if c.Cmp(maxCoef) > 0 { // rounding carried into a 35th digit
			c = divRoundHalfEven(c, 1)
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
			return Decimal{Inf: true, Neg: d.Neg}
		}
		exp--
	}
	return Decimal{Coef: c, Exp: exp, Neg: d.Neg}
}

// divRoundHalfEven divides c by 10^n rounding half to even.
func divRoundHalfEven(c *big.Int, n int) *big.Int {
	p := pow10(n)
	q, r := new(big.Int).QuoRem(c, p, new(big.Int))
	switch new(big.Int).Lsh(r, 1).Cmp(p) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

func (d Decimal) pack() (uint64, uint64) {
	var d128 bson.Decimal128
	switch {
	case d.NaN:
		d128, _ = bson.ParseDecimal128("NaN")
	case d.Inf && d.Neg:
		d128, _ = bson.ParseDecimal128("-Infinity")
	case d.Inf:
		d128, _ = bson.ParseDecimal128("Infinity")
	default:
		r := d.round()
		if r.Inf {
			return r.pack()
		}
		var ok bool
		d128, ok = bson.ParseDecimal128FromBigInt(r.Coef, r.Exp)
		if !ok { // unreachable after round; NaN rather than a wrong number
			return Decimal{NaN: true}.pack()
		}
		h, l := d128.GetBytes()
		if r.Neg {
			h |= 1 << 63
		}
		return h, l
	}
	return d128.GetBytes()
}

func (d Decimal) signed() *big.Int {
	if d.Neg {
		return new(big.Int).Neg(d.Coef)
	}
	return d.Coef
}

// Add returns d + b exactly (IEEE special cases: Inf - Inf is NaN; a zero
// sum is -0 only when both addends are -0).
func (d Decimal) Add(b Decimal) Decimal {
	switch {
	case d.NaN || b.NaN:
		return Decimal{NaN: true}
	case d.Inf && b.Inf:
		if d.Neg != b.Neg {
			return Decimal{NaN: true}
		}
		return d
	case d.Inf:
		return d
	case b.Inf:
		return b
	}
	exp := min(d.Exp, b.Exp)
	sum := new(big.Int).Mul(d.signed(), pow10(d.Exp-exp))
	sum.Add(sum, new(big.Int).Mul(b.signed(), pow10(b.Exp-exp)))
	r := DecimalFromSigned(sum, exp)
	if sum.Sign() == 0 && d.Neg && b.Neg {
		r.Neg = true
	}
	return r
}

// Negate flips the sign (NaN stays NaN).
func (d Decimal) Negate() Decimal {
	if d.NaN {
		return d
	}
	d.Neg = !d.Neg
	return d
}

// Sub returns d - b exactly.
func (d Decimal) Sub(b Decimal) Decimal { return d.Add(b.Negate()) }

// Mul returns d * b exactly (Inf * 0 is NaN).
func (d Decimal) Mul(b Decimal) Decimal {
	switch {
	case d.NaN || b.NaN:
		return Decimal{NaN: true}
	case d.Inf || b.Inf:
		if d.IsZero() || b.IsZero() {
			return Decimal{NaN: true}
		}
		return Decimal{Inf: true, Neg: d.Neg != b.Neg}
	}
	return Decimal{Coef: new(big.Int).Mul(d.Coef, b.Coef), Exp: d.Exp + b.Exp, Neg: d.Neg != b.Neg}
}

// Div returns d / b rounded to 34 digits, keeping the IEEE preferred
// exponent for exact quotients; the caller rejects a zero divisor.
func (d Decimal) Div(b Decimal) Decimal {
	switch {
	case d.NaN || b.NaN:
		return Decimal{NaN: true}
	case d.Inf && b.Inf:
		return Decimal{NaN: true}
	case d.Inf:
		return Decimal{Inf: true, Neg: d.Neg != b.Neg}
	case b.Inf:
		return Decimal{Coef: new(big.Int), Neg: d.Neg != b.Neg}
	}
	neg := d.Neg != b.Neg
	preferred := d.Exp - b.Exp
	if d.Coef.Sign() == 0 {
		return Decimal{Coef: new(big.Int), Exp: preferred, Neg: neg}
	}
	// Scale the dividend so the quotient has more than 34 digits, then round.
	shift := max(decMaxDigits+2+len(b.Coef.String())-len(d.Coef.String()), 0)
	num := new(big.Int).Mul(d.Coef, pow10(shift))
	q, r := new(big.Int).QuoRem(num, b.Coef, new(big.Int))
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
		return Decimal{Coef: q, Exp: exp, Neg: neg}
	}
	// Inexact: a sticky digit keeps half-even rounding correct.
	q.Mul(q, bigTen)
	q.Add(q, big.NewInt(1))
	return Decimal{Coef: q, Exp: exp - 1, Neg: neg}.round()
}

// RoundTo rounds at the given number of decimal places with mode "floor"
// (toward -Inf), "ceil" (toward +Inf), "half-even", or anything else
// (toward zero).
func (d Decimal) RoundTo(places int, mode string) Decimal {
	if d.NaN || d.Inf || d.Exp >= -places {
		return d
	}
	drop := -places - d.Exp
	p := pow10(drop)
	q, r := new(big.Int).QuoRem(d.Coef, p, new(big.Int))
	inc := false
	switch mode {
	case "floor":
		inc = d.Neg && r.Sign() != 0
	case "ceil":
		inc = !d.Neg && r.Sign() != 0
	case "half-even":
		c := new(big.Int).Lsh(r, 1).Cmp(p)
		inc = c > 0 || (c == 0 && q.Bit(0) == 1)
	}
	if inc {
		q.Add(q, big.NewInt(1))
	}
	return Decimal{Coef: q, Exp: -places, Neg: d.Neg}
}

// Quantize sets the exponent to -places (IEEE quantize), rounding with
// mode when digits are dropped and padding with zeros otherwise; NaN when
// the result would need more than 34 digits.
func (d Decimal) Quantize(places int, mode string) Decimal {
	if d.NaN || d.Inf {
		return d
	}
	if d.Exp > -places {
		scaled := new(big.Int).Mul(d.Coef, pow10(d.Exp+places))
		if len(scaled.String()) > decMaxDigits {
			return Decimal{NaN: true}
		}
		return Decimal{Coef: scaled, Exp: -places, Neg: d.Neg}
	}
	return d.RoundTo(places, mode)
}
