package update

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// decimal is a Decimal128 in unpacked form for $inc/$mul: sign, integer
// coefficient and base-10 exponent, or NaN/±Inf. Results are exact, then
// rounded half-even to 34 digits when packed, as IEEE 754-2008 requires.
type decimal struct {
	nan, inf, neg bool
	coef          *big.Int
	exp           int
}

var (
	ten          = big.NewInt(10)
	maxDecDigits = 34
	maxDecCoef   = new(big.Int).Sub(new(big.Int).Exp(ten, big.NewInt(34), nil), big.NewInt(1))
)

const (
	minDecExp = -6176
	maxDecExp = 6111
)

func pow10Int(n int) *big.Int { return new(big.Int).Exp(ten, big.NewInt(int64(n)), nil) }

// toDecimal converts a number as SafeNum::getDecimal does: integers
// exactly, doubles rounded to 15 significant digits.
func toDecimal(v bsoncore.Value) decimal {
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		n := v.AsInt64()
		c := new(big.Int).SetInt64(n)
		return decimal{neg: n < 0, coef: c.Abs(c)}
	case bsoncore.TypeDouble:
		f := v.Double()
		switch {
		case math.IsNaN(f):
			return decimal{nan: true}
		case math.IsInf(f, 0):
			return decimal{inf: true, neg: f < 0}
		case f == 0:
			return decimal{coef: new(big.Int), neg: math.Signbit(f)}
		}
		s := strconv.FormatFloat(math.Abs(f), 'e', 14, 64)
		mant, expText, _ := strings.Cut(s, "e")
		e, _ := strconv.Atoi(expText)
		c, _ := new(big.Int).SetString(strings.Replace(mant, ".", "", 1), 10)
		return decimal{neg: f < 0, coef: c, exp: e - 14}
	case bsoncore.TypeDecimal128:
		h, l := v.Decimal128()
		d := bson.NewDecimal128(h, l)
		if d.IsNaN() {
			return decimal{nan: true}
		}
		if inf := d.IsInf(); inf != 0 {
			return decimal{inf: true, neg: inf < 0}
		}
		c, e, _ := d.BigInt()
		neg := h>>63 == 1
		return decimal{neg: neg, coef: c.Abs(c), exp: e}
	}
	return decimal{nan: true}
}

func (d decimal) signed() *big.Int {
	if d.neg {
		return new(big.Int).Neg(d.coef)
	}
	return new(big.Int).Set(d.coef)
}

func decimalAdd(a, b decimal) decimal {
	switch {
	case a.nan || b.nan:
		return decimal{nan: true}
	case a.inf && b.inf:
		if a.neg != b.neg {
			return decimal{nan: true}
		}
		return a
	case a.inf:
		return a
	case b.inf:
		return b
	}
	exp := min(a.exp, b.exp)
	sum := new(big.Int).Mul(a.signed(), pow10Int(a.exp-exp))
	sum.Add(sum, new(big.Int).Mul(b.signed(), pow10Int(b.exp-exp)))
	r := decimal{neg: sum.Sign() < 0, coef: new(big.Int).Abs(sum), exp: exp}
	if sum.Sign() == 0 {
		r.neg = a.neg && b.neg // -0 + -0 = -0, otherwise +0 (round-half-even mode)
	}
	return r
}

func decimalMul(a, b decimal) decimal {
	switch {
	case a.nan || b.nan:
		return decimal{nan: true}
	case a.inf || b.inf:
		if (!a.inf && a.coef.Sign() == 0) || (!b.inf && b.coef.Sign() == 0) {
			return decimal{nan: true}
		}
		return decimal{inf: true, neg: a.neg != b.neg}
	}
	return decimal{neg: a.neg != b.neg, coef: new(big.Int).Mul(a.coef, b.coef), exp: a.exp + b.exp}
}

// value packs d into a Decimal128 BSON value.
func (d decimal) value() bsoncore.Value {
	var h, l uint64
	switch {
	case d.nan:
		x, _ := bson.ParseDecimal128("NaN")
		h, l = x.GetBytes()
	case d.inf:
		s := "Infinity"
		if d.neg {
			s = "-Infinity"
		}
		x, _ := bson.ParseDecimal128(s)
		h, l = x.GetBytes()
	default:
		c, e, inf := roundDecimal(d.coef, d.exp)
		if inf {
			return decimal{inf: true, neg: d.neg}.value()
		}
		x, ok := bson.ParseDecimal128FromBigInt(c, e)
		if !ok {
			return decimal{nan: true}.value()
		}
		h, l = x.GetBytes()
		if d.neg {
			h |= 1 << 63
		}
	}
	return bsoncore.Value{Type: bsoncore.TypeDecimal128, Data: bsoncore.AppendDecimal128(nil, h, l)}
}

// roundDecimal fits a coefficient into 34 digits and the exponent range.
func roundDecimal(c *big.Int, exp int) (*big.Int, int, bool) {
	c = new(big.Int).Set(c)
	drop := len(c.String()) - maxDecDigits
	if drop < 0 {
		drop = 0
	}
	if exp+drop < minDecExp {
		drop = minDecExp - exp
	}
	if drop > 0 {
		c = divRoundHalfEven(c, drop)
		exp += drop
		if c.Cmp(maxDecCoef) > 0 {
			c = divRoundHalfEven(c, 1)
			exp++
		}
	}
	for exp > maxDecExp {
		if c.Sign() == 0 {
			return c, maxDecExp, false
		}
		c.Mul(c, ten)
		if c.Cmp(maxDecCoef) > 0 {
			return nil, 0, true
		}
		exp--
	}
	return c, exp, false
}

func divRoundHalfEven(c *big.Int, n int) *big.Int {
	p := pow10Int(n)
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
