package bsonkit

import (
	"math"
	"testing"
)

func decJ(t *testing.T, s string) Decimal {
	t.Helper()
	return DecimalOf(valJ(t, `{"$numberDecimal": "`+s+`"}`))
}

func TestDecimalArithmetic(t *testing.T) {
	cases := []struct {
		name string
		got  Decimal
		want string
	}{
		{"double at 15 digits", DecimalOf(Double(0.1)), "0.100000000000000"},
		{"int exact", DecimalOf(Int64(-9223372036854775808)), "-9223372036854775808"},
		{"non-number", DecimalOf(String("1")), "NaN"},
		{"add keeps scale", decJ(t, "1.10").Add(DecimalOf(Int32(2))), "3.10"},
		{"inf minus inf", decJ(t, "Infinity").Add(decJ(t, "-Infinity")), "NaN"},
		{"-0 + -0", decJ(t, "-0").Add(decJ(t, "-0")), "-0"},
		{"-0 + 0", decJ(t, "-0").Add(decJ(t, "0")), "0"},
		{"sub", decJ(t, "1").Sub(decJ(t, "0.01")), "0.99"},
		{"mul", decJ(t, "-2.5").Mul(DecimalOf(Int32(4))), "-10.0"},
		{"inf times zero", decJ(t, "Infinity").Mul(decJ(t, "0")), "NaN"},
		{"div exact keeps preferred exponent", decJ(t, "10").Div(decJ(t, "4")), "2.5"},
		{"div exact integral", decJ(t, "6").Div(decJ(t, "2")), "3"},
		{"div rounds to 34 digits", decJ(t, "2").Div(decJ(t, "3")), "0.6666666666666666666666666666666667"},
		{"overflow to infinity", decJ(t, "9.999999999999999999999999999999999E+6144").Mul(decJ(t, "10")), "Infinity"},
		{"34-digit rounding half-even", decJ(t, "1.000000000000000000000000000000001").Mul(decJ(t, "1.000000000000000000000000000000001")), "1.000000000000000000000000000000002"},
		{"round half-even down", decJ(t, "2.5").RoundTo(0, "half-even"), "2"},
		{"round half-even up", decJ(t, "3.5").RoundTo(0, "half-even"), "4"},
		{"floor", decJ(t, "-2.1").RoundTo(0, "floor"), "-3"},
		{"ceil", decJ(t, "2.01").RoundTo(1, "ceil"), "2.1"},
		{"trunc", decJ(t, "-2.79").RoundTo(1, "trunc"), "-2.7"},
		{"quantize pads", decJ(t, "1.5").Quantize(3, "half-even"), "1.500"},
		{"quantize too wide", decJ(t, "1E+30").Quantize(5, "half-even"), "NaN"},
		{"negate", decJ(t, "1.5").Negate(), "-1.5"},
	}
	for _, c := range cases {
		if s := c.got.String(); s != c.want {
			t.Errorf("%s: got %s, want %s", c.name, s, c.want)
		}
		if s := DecimalOf(c.got.Value()).String(); s != c.want {
			t.Errorf("%s: Value round trip gives %s, want %s", c.name, s, c.want)
		}
	}
}

func TestDecimalConversions(t *testing.T) {
	if n, ok := decJ(t, "1.0E+3").Int64Exact(); !ok || n != 1000 {
		t.Errorf("Int64Exact(1.0E+3) = %d, %v", n, ok)
	}
	for _, s := range []string{"1.5", "9223372036854775808", "NaN", "-Infinity"} {
		if n, ok := decJ(t, s).Int64Exact(); ok {
			t.Errorf("Int64Exact(%s) = %d, want not exact", s, n)
		}
	}
	if f := decJ(t, "-0").Float(); f != 0 || !math.Signbit(f) {
		t.Errorf("Float(-0) = %v", f)
	}
	if f := decJ(t, "0.1").Float(); f != 0.1 {
		t.Errorf("Float(0.1) = %v", f)
	}
	if !decJ(t, "-0.00").IsZero() || decJ(t, "NaN").IsZero() || decJ(t, "Infinity").IsZero() {
		t.Error("IsZero wrong for -0.00, NaN or Infinity")
	}
	if r := decJ(t, "-1.25").Rat(); r.String() != "-5/4" {
		t.Errorf("Rat(-1.25) = %s", r)
	}
	if d := DecimalFromFloat(math.Copysign(0, -1)); d.String() != "-0" {
		t.Errorf("DecimalFromFloat(-0) = %s", d)
	}
}
