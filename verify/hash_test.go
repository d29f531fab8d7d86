package verify

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func raw(t *testing.T, d bson.D) bson.Raw {
	t.Helper()
	b, err := bson.Marshal(d)
	if err != nil {
		t.Fatalf("marshal %v: %v", d, err)
	}
	return b
}

func digestOf(h *hasher, docs ...bson.Raw) rangeDigest {
	var d rangeDigest
	for _, doc := range docs {
		d.add(doc, h.doc(doc))
	}
	return d
}

func TestDigestIsOrderIndependent(t *testing.T) {
	h := newHasher()
	a := raw(t, bson.D{{Key: "_id", Value: 1}, {Key: "x", Value: "a"}})
	b := raw(t, bson.D{{Key: "_id", Value: 2}, {Key: "x", Value: "b"}})
	c := raw(t, bson.D{{Key: "_id", Value: 3}, {Key: "x", Value: "c"}})
	d1 := digestOf(h, a, b, c)
	d2 := digestOf(h, c, a, b)
	if d1 != d2 {
		t.Fatalf("digest depends on order: %+v vs %+v", d1, d2)
	}
	if d1.Count != 3 || d1.Bytes != int64(len(a)+len(b)+len(c)) {
		t.Fatalf("count/bytes = %d/%d", d1.Count, d1.Bytes)
	}
	// Merging per-batch digests gives the digest of the whole.
	var merged rangeDigest
	merged.merge(digestOf(h, b))
	merged.merge(digestOf(h, c, a))
	if merged != d1 {
		t.Fatalf("merge: %+v, want %+v", merged, d1)
	}
}

func TestDigestDetectsChanges(t *testing.T) {
	h := newHasher()
	base := []bson.Raw{
		raw(t, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: 1}, {Key: "b", Value: 2}}),
		raw(t, bson.D{{Key: "_id", Value: 2}, {Key: "a", Value: 1}}),
	}
	want := digestOf(h, base...)
	cases := map[string][]bson.Raw{
		"missing document": {base[0]},
		"extra document":   {base[0], base[1], raw(t, bson.D{{Key: "_id", Value: 3}})},
		"changed value":    {raw(t, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: 1}, {Key: "b", Value: 3}}), base[1]},
		"changed type":     {raw(t, bson.D{{Key: "_id", Value: 1}, {Key: "a", Value: int64(1)}, {Key: "b", Value: 2}}), base[1]},
		"field order":      {raw(t, bson.D{{Key: "_id", Value: 1}, {Key: "b", Value: 2}, {Key: "a", Value: 1}}), base[1]},
		"duplicate":        {base[0], base[1], base[1]},
	}
	for name, docs := range cases {
		if got := digestOf(h, docs...); got == want {
			t.Errorf("%s: digest unchanged", name)
		}
	}
	// Same counts and sizes but swapped values between documents: only the
	// hash sums can tell.
	swapA := raw(t, bson.D{{Key: "_id", Value: 1}, {Key: "v", Value: "x"}})
	swapB := raw(t, bson.D{{Key: "_id", Value: 2}, {Key: "v", Value: "y"}})
	swapA2 := raw(t, bson.D{{Key: "_id", Value: 1}, {Key: "v", Value: "y"}})
	swapB2 := raw(t, bson.D{{Key: "_id", Value: 2}, {Key: "v", Value: "x"}})
	s1, s2 := digestOf(h, swapA, swapB), digestOf(h, swapA2, swapB2)
	if s1.Count != s2.Count || s1.Bytes != s2.Bytes {
		t.Fatalf("test setup: counts/bytes should match")
	}
	if s1.Sum == s2.Sum {
		t.Fatal("swapped values between documents not detected")
	}
}

func TestDigestSumDoesNotCancelDuplicates(t *testing.T) {
	// XOR would make {a, a} look like {}; the sum does not.
	h := newHasher()
	a := raw(t, bson.D{{Key: "_id", Value: 1}})
	two := digestOf(h, a, a)
	if two.Sum == (docHash{}) {
		t.Fatal("two identical documents cancelled out")
	}
	want := h.doc(a)
	if two.Sum[0] != 2*want[0] || two.Sum[1] != 2*want[1] {
		t.Fatalf("sum = %v, want 2×%v", two.Sum, want)
	}
}

func TestHasherLanesAreIndependent(t *testing.T) {
	h := newHasher()
	doc := raw(t, bson.D{{Key: "_id", Value: 1}})
	got := h.doc(doc)
	if got[0] == got[1] {
		t.Fatalf("both lanes equal (%x): seeds not independent", got[0])
	}
	if h.doc(doc) != got {
		t.Fatal("hash not deterministic within a hasher")
	}
	if other := newHasher().doc(doc); other == got {
		t.Fatal("a new hasher reproduced the same fingerprint: seeds are not random")
	}
}
