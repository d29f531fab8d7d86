package repl

import (
	"math"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func idKey(t *testing.T, v any) bson.Raw {
	t.Helper()
	raw, err := bson.Marshal(bson.D{{Key: "_id", Value: v}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func dec(t *testing.T, s string) bson.Decimal128 {
	t.Helper()
	d, err := bson.ParseDecimal128(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDocIdentityFollowsMongoDBKeyEquality: _ids the _id index holds as one
// key get one identity; distinct keys get distinct identities.
func TestDocIdentityFollowsMongoDBKeyEquality(t *testing.T) {
	same := [][2]any{
		{int32(1), float64(1)},
		{int32(1), int64(1)},
		{int64(1), dec(t, "1")},
		{float64(1), dec(t, "1.000")},
		{dec(t, "10"), dec(t, "1E+1")},
		{float64(0), math.Copysign(0, -1)},
		{float64(0), dec(t, "-0")},
		{float64(0.5), dec(t, "0.5")},
		{math.NaN(), dec(t, "NaN")},
		{math.Inf(1), dec(t, "Infinity")},
		{float64(1 << 62), int64(1 << 62)},
		{"abc", bson.Symbol("abc")},
		{bson.D{{Key: "a", Value: int32(1)}, {Key: "b", Value: "x"}}, bson.D{{Key: "a", Value: 1.0}, {Key: "b", Value: "x"}}},
		{bson.A{int32(1), bson.A{int64(2)}}, bson.A{1.0, bson.A{dec(t, "2.0")}}},
	}
	for _, p := range same {
		if a, b := docIdentity(idKey(t, p[0])), docIdentity(idKey(t, p[1])); a != b {
			t.Errorf("%v (%T) and %v (%T) are one _id in MongoDB but got identities %q and %q", p[0], p[0], p[1], p[1], a, b)
		}
	}
	distinct := [][2]any{
		{int32(1), int32(2)},
		{float64(0.1), dec(t, "0.1")}, // the double is not exactly one tenth
		{int64(9007199254740993), float64(9007199254740992)},
		{math.Inf(1), math.Inf(-1)},
		{"1", int32(1)},
		{"a", "b"},
		{bson.D{{Key: "a", Value: 1}}, bson.D{{Key: "b", Value: 1}}},
		{bson.D{{Key: "a", Value: 1}, {Key: "b", Value: 2}}, bson.D{{Key: "b", Value: 2}, {Key: "a", Value: 1}}},
		{bson.A{1, 2}, bson.A{2, 1}},
		{bson.A{"ab"}, bson.A{"a", "b"}},
		{bson.NewObjectIDFromTimestamp(time.Unix(1e9, 0)), bson.NewObjectIDFromTimestamp(time.Unix(1e9+1, 0))},
		{bson.Binary{Subtype: 0, Data: []byte{1}}, bson.Binary{Subtype: 4, Data: []byte{1}}},
		{nil, false},
	}
	for _, p := range distinct {
		if a, b := docIdentity(idKey(t, p[0])), docIdentity(idKey(t, p[1])); a == b {
			t.Errorf("%v (%T) and %v (%T) are different _ids but share the identity %q", p[0], p[0], p[1], p[1], a)
		}
	}
}
