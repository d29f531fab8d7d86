package update

import "testing"

func TestDecimalArithmetic(t *testing.T) {
	cases := []struct{ spec, in, want string }{
		{`{"$inc": {"a": {"$numberDecimal": "0.1"}}}`, `{"a": 0.2}`, `{"a": {"$numberDecimal": "0.300000000000000"}}`},
		{`{"$mul": {"a": {"$numberDecimal": "1.000000000000000000000000000000001"}}}`, `{"a": {"$numberDecimal": "1.000000000000000000000000000000001"}}`, `{"a": {"$numberDecimal": "1.000000000000000000000000000000002"}}`},
		{`{"$inc": {"a": {"$numberDecimal": "Infinity"}}}`, `{"a": {"$numberDecimal": "-Infinity"}}`, `{"a": {"$numberDecimal": "NaN"}}`},
		{`{"$mul": {"a": {"$numberDecimal": "-2.5"}}}`, `{"_id": 1}`, `{"_id": 1, "a": {"$numberDecimal": "-0.0"}}`},
		{`{"$mul": {"a": -2.5}}`, `{"_id": 1}`, `{"_id": 1, "a": -0.0}`},
	}
	for _, c := range cases {
		out, _ := applyT(t, c.spec, c.in)
		assertDoc(t, c.want, out)
	}
}
