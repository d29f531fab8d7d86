package update

import (
	"testing"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
)

func TestReplacement(t *testing.T) {
	cases := []struct {
		name, in, repl, want string
		changed              bool
	}{
		{"keeps _id first when replacement has none", `{"_id": 1, "a": 1, "b": 2}`, `{"c": 3, "a": 4}`, `{"_id": 1, "c": 3, "a": 4}`, true},
		{"replacement with same _id keeps its order", `{"_id": 1, "a": 1}`, `{"a": 2, "_id": 1}`, `{"a": 2, "_id": 1}`, true},
		{"identical replacement is a no-op", `{"_id": 1, "a": 1}`, `{"_id": 1, "a": 1}`, `{"_id": 1, "a": 1}`, false},
		{"same content without _id still rewrites", `{"_id": 1, "a": 1}`, `{"a": 1}`, `{"_id": 1, "a": 1}`, true},
		{"empty replacement", `{"_id": 1, "a": 1}`, `{}`, `{"_id": 1}`, true},
		{"numerically equal _id of another type is allowed", `{"_id": 1, "a": 1}`, `{"_id": 1.0}`, `{"_id": 1.0}`, true},
		{"zero timestamps get the cluster time", `{"_id": 1}`, `{"t": {"$timestamp": {"t": 0, "i": 0}}, "s": {"x": {"$timestamp": {"t": 0, "i": 0}}}}`,
			`{"_id": 1, "t": {"$timestamp": {"t": 1700000000, "i": 7}}, "s": {"x": {"$timestamp": {"t": 0, "i": 0}}}}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := compileT(t, c.repl, Options{})
			if u.Kind() != Replacement {
				t.Fatalf("kind %v", u.Kind())
			}
			out, changed, err := u.Apply(doc(t, c.in), ctxNoMatch())
			if err != nil {
				t.Fatal(err)
			}
			assertDoc(t, c.want, out)
			if changed != c.changed {
				t.Fatalf("changed = %v", changed)
			}
		})
	}
}

func TestReplacementErrors(t *testing.T) {
	cases := []struct {
		name, in, repl string
		code           int32
		msg            string
	}{
		{"_id changed", `{"_id": 1}`, `{"_id": 2, "a": 1}`, 66, "After applying the update, the (immutable) field '_id' was found to have been altered to _id: 2"},
		{"_id array", `{"_id": 1}`, `{"_id": [1]}`, 53, "The '_id' value cannot be of type array"},
		{"top-level $ field", `{"_id": 1}`, `{"a": 1, "$b": 1}`, 52,
			"The dollar ($) prefixed field '$b' in '$b' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := compileT(t, c.repl, Options{}).Apply(doc(t, c.in), ctxNoMatch())
			assertErr(t, err, c.code, c.msg)
		})
	}
	_, err := Compile(val(t, `{"a": 1}`), Options{Let: doc(t, `{"x": 1}`)})
	assertErr(t, err, 51198, "Constant values may only be specified for pipeline updates")
}

func eqs(t *testing.T, kv ...string) bsonkit.Doc {
	var d bsonkit.Doc
	for i := 0; i+1 < len(kv); i += 2 {
		d = append(d, bsonkit.Elem{Key: kv[i], Value: val(t, kv[i+1])})
	}
	return d
}

func TestUpsert(t *testing.T) {
	upsertCtx := ctxNoMatch()
	upsertCtx.Upsert = true
	newID := func() [12]byte { return [12]byte{0xAA, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11} }
	run := func(t *testing.T, spec string, equalities bsonkit.Doc) string {
		t.Helper()
		u := compileT(t, spec, Options{})
		seed, err := u.Seed(equalities)
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := u.Apply(seed, upsertCtx)
		if err != nil {
			t.Fatal(err)
		}
		fin, err := FinalizeUpsert(out, newID, false)
		if err != nil {
			t.Fatal(err)
		}
		return show(fin)
	}
	const oid = `{"$oid": "aa0102030405060708090a0b"}`
	cases := []struct {
		name, spec string
		eq         bsonkit.Doc
		want       string
	}{
		{"docs example", `{"$inc": {"score": 1}}`, eqs(t, "name", `"Andy"`), `{"_id": ` + oid + `, "name": "Andy", "score": 1}`},
		{"dotted equality nests, paths sorted", `{"$set": {"z": 1}}`, eqs(t, "b.c", `1`, "a", `2`, "b.d", `3`), `{"_id": ` + oid + `, "a": 2, "b": {"c": 1, "d": 3}, "z": 1}`},
		{"_id from the query moves first", `{"$set": {"x": 1}}`, eqs(t, "Z", `1`, "_id", `5`), `{"_id": 5, "Z": 1, "x": 1}`},
		{"setOnInsert applies", `{"$setOnInsert": {"created": true}, "$set": {"n": 1}}`, eqs(t, "_id", `1`), `{"_id": 1, "created": true, "n": 1}`},
		{"set _id when the query has none", `{"$set": {"_id": 9}}`, eqs(t, "a", `1`), `{"_id": 9, "a": 1}`},
		{"replacement takes only _id from the query", `{"b": 2}`, eqs(t, "_id", `3`, "a", `1`), `{"_id": 3, "b": 2}`},
		{"replacement without _id in query", `{"b": 2}`, eqs(t, "a", `1`), `{"_id": ` + oid + `, "b": 2}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := run(t, c.spec, c.eq); got != show(doc(t, c.want)) {
				t.Fatalf("\n want %s\n  got %s", show(doc(t, c.want)), got)
			}
		})
	}

	_, err := SeedUpsert(eqs(t, "a", `1`, "a.b", `2`))
	assertErr(t, err, 54, "cannot infer query fields to set, both paths 'a.b' and 'a' are matched")
	_, err = SeedUpsert(eqs(t, "a", `1`, "a", `2`))
	assertErr(t, err, 54, "cannot infer query fields to set, path 'a' is matched twice")
	_, err = compileT(t, `{"b": 1}`, Options{}).Seed(eqs(t, "_id.x", `1`))
	assertErr(t, err, 111, "field at '_id' must be exactly specified, field at sub-path '_id.x'found")

	u := compileT(t, `{"$set": {"_id": 2}}`, Options{})
	seed, _ := u.Seed(eqs(t, "_id", `1`))
	_, _, err = u.Apply(seed, upsertCtx)
	assertErr(t, err, 66, "Performing an update on the path '_id' would modify the immutable field '_id'")

	u = compileT(t, `{"_id": 2}`, Options{})
	seed, _ = u.Seed(eqs(t, "_id", `1`))
	_, _, err = u.Apply(seed, upsertCtx)
	assertErr(t, err, 66, "After applying the update, the (immutable) field '_id' was found to have been altered to _id: 2")

	u = compileT(t, `{"$set": {"a.$[]": 1}}`, Options{})
	seed, _ = u.Seed(nil)
	_, _, err = u.Apply(seed, upsertCtx)
	assertErr(t, err, 2, "The path 'a' must exist in the document in order to apply array updates.")

	u = compileT(t, `{"$set": {"$x": 1}}`, Options{})
	seed, _ = u.Seed(nil)
	out, _, err := u.Apply(seed, upsertCtx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = FinalizeUpsert(out, newID, false)
	assertErr(t, err, 52, "The dollar ($) prefixed field '$x' in '$x' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.")

	u = compileT(t, `{"$set": {"_id": [1]}}`, Options{})
	seed, _ = u.Seed(nil)
	out, _, _ = u.Apply(seed, upsertCtx)
	_, err = FinalizeUpsert(out, newID, false)
	assertErr(t, err, 53, "The '_id' value cannot be of type array")
}
