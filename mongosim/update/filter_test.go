package update

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

func filtersT(t *testing.T, fs ...string) []bsoncore.Document {
	var out []bsoncore.Document
	for _, f := range fs {
		out = append(out, doc(t, f))
	}
	return out
}

func TestPullConditions(t *testing.T) {
	cases := []struct{ name, in, spec, want string }{
		{"in and value", `{"_id": 1, "fruits": ["apples", "pears", "oranges", "grapes", "bananas"], "vegetables": ["carrots", "celery", "squash", "carrots"]}`,
			`{"$pull": {"fruits": {"$in": ["apples", "oranges"]}, "vegetables": "carrots"}}`,
			`{"_id": 1, "fruits": ["pears", "grapes", "bananas"], "vegetables": ["celery", "squash"]}`},
		{"comparison", `{"_id": 1, "votes": [3, 5, 6, 7, 7, 8]}`, `{"$pull": {"votes": {"$gte": 6}}}`, `{"_id": 1, "votes": [3, 5]}`},
		{"document condition", `{"_id": 1, "results": [{"item": "A", "score": 5}, {"item": "B", "score": 8}]}`,
			`{"$pull": {"results": {"score": 8, "item": "B"}}}`, `{"_id": 1, "results": [{"item": "A", "score": 5}]}`},
		{"nested elemMatch", `{"_id": 1, "results": [{"item": "A", "answers": [{"q": 1, "a": 4}, {"q": 2, "a": 6}]}, {"item": "B", "answers": [{"q": 1, "a": 8}, {"q": 2, "a": 9}]}]}`,
			`{"$pull": {"results": {"answers": {"$elemMatch": {"q": 2, "a": {"$gte": 8}}}}}}`,
			`{"_id": 1, "results": [{"item": "A", "answers": [{"q": 1, "a": 4}, {"q": 2, "a": 6}]}]}`},
		{"regex", `{"a": ["apple", "banana", 1]}`, `{"$pull": {"a": {"$regularExpression": {"pattern": "^b", "options": ""}}}}`, `{"a": ["apple", 1]}`},
		{"document condition skips scalars", `{"a": [1, {"b": 1}, {"b": 2}]}`, `{"$pull": {"a": {"b": 1}}}`, `{"a": [1, {"b": 2}]}`},
		{"all positional", `{"_id": 0, "a": [[0, 1], [1, 2]]}`, `{"$pull": {"a.$[]": 1}}`, `{"_id": 0, "a": [[0], [2]]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, changed := applyT(t, c.spec, c.in)
			assertDoc(t, c.want, out)
			if !changed {
				t.Fatal("changed = false")
			}
		})
	}
	_, err := Compile(val(t, `{"$pull": {"a": {"$foo": 1}}}`), Options{})
	if err == nil {
		t.Fatal("unknown operator in $pull compiled")
	}
}

func TestArrayFilters(t *testing.T) {
	cases := []struct {
		name, in, spec string
		filters        []string
		want           string
	}{
		{"scalars", `{"_id": 0, "a": [0, 1, 0, 1]}`, `{"$set": {"a.$[i]": 2}}`, []string{`{"i": 0}`}, `{"_id": 0, "a": [2, 1, 2, 1]}`},
		{"documents", `{"_id": 0, "a": [{"b": 0, "c": 1}, {"b": 0, "c": -1}, {"b": 1, "c": 1}]}`, `{"$min": {"a.$[i].c": 0}}`, []string{`{"i.b": 0}`},
			`{"_id": 0, "a": [{"b": 0, "c": 0}, {"b": 0, "c": -1}, {"b": 1, "c": 1}]}`},
		{"manual example", `{"_id": 1, "grades": [95, 92, 90]}`, `{"$set": {"grades.$[element]": 100}}`, []string{`{"element": {"$gte": 92}}`},
			`{"_id": 1, "grades": [100, 100, 90]}`},
		{"nested identifiers", `{"_id": 0, "a": [{"b": 0, "c": [{"d": 0}, {"d": 1}]}, {"b": 1, "c": [{"d": 0}, {"d": 1}]}]}`,
			`{"$set": {"a.$[i].c.$[j].d": 2}}`, []string{`{"i.b": 0}`, `{"j.d": 0}`},
			`{"_id": 0, "a": [{"b": 0, "c": [{"d": 2}, {"d": 1}]}, {"b": 1, "c": [{"d": 0}, {"d": 1}]}]}`},
		{"all then filtered", `{"_id": 0, "a": [[0, 1], [0, 1]]}`, `{"$set": {"a.$[].$[j]": 2}}`, []string{`{"j": 0}`}, `{"_id": 0, "a": [[2, 1], [2, 1]]}`},
		{"logical filter", `{"_id": 0, "a": [0, 1, 3]}`, `{"$set": {"a.$[i]": 2}}`, []string{`{"$or": [{"i": 0}, {"i": 3}]}`}, `{"_id": 0, "a": [2, 1, 2]}`},
		{"disjoint identifiers on one field", `{"_id": 0, "a": [{"x": 0, "b": [{"y": 0, "c": 0}]}, {"x": 1, "b": [{"y": 0, "c": 0}]}]}`,
			`{"$set": {"a.$[i].b.$[k].c": 1, "a.$[j].b.$[k].c": 2}}`, []string{`{"i.x": 0}`, `{"j.x": 1}`, `{"k.y": 0}`},
			`{"_id": 0, "a": [{"x": 0, "b": [{"y": 0, "c": 1}]}, {"x": 1, "b": [{"y": 0, "c": 2}]}]}`},
		{"different leaves under overlapping identifiers", `{"_id": 0, "a": [{"x": 0, "b": [{"y": 0, "c": 0, "d": 0}]}]}`,
			`{"$set": {"a.$[i].b.$[k].c": 1, "a.$[j].b.$[k].d": 1}}`, []string{`{"i.x": 0}`, `{"j.x": 0}`, `{"k.y": 0}`},
			`{"_id": 0, "a": [{"x": 0, "b": [{"y": 0, "c": 1, "d": 1}]}]}`},
		{"setOnInsert ignored", `{"_id": 0, "a": [0]}`, `{"$setOnInsert": {"a.$[i]": 1}}`, []string{`{"i": 0}`}, `{"_id": 0, "a": [0]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := compileT(t, c.spec, Options{ArrayFilters: filtersT(t, c.filters...)})
			out, _, err := u.Apply(doc(t, c.in), ctxNoMatch())
			if err != nil {
				t.Fatal(err)
			}
			assertDoc(t, c.want, out)
		})
	}
}

func TestArrayFilterErrors(t *testing.T) {
	cases := []struct {
		name, spec string
		filters    []string
		code       int32
		msg        string
	}{
		{"unused", `{"$set": {"a.$[i]": 5.0}}`, []string{`{"i": 0}`, `{"j": 0}`}, 9, "The array filter for identifier 'j' was not used in the update { $set: { a.$[i]: 5.0 } }"},
		{"unused with rename", `{"$rename": {"a": "b"}}`, []string{`{"i": 0}`}, 9, `The array filter for identifier 'i' was not used in the update { $rename: { a: "b" } }`},
		{"two names", `{"$set": {"a.$[i]": 5}}`, []string{`{"i": 0, "j": 0}`}, 9, "Error parsing array filter :: caused by :: Expected a single top-level field name, found 'i' and 'j'"},
		{"duplicate", `{"$set": {"a.$[i]": 5, "a.$[j]": 6}}`, []string{`{"i": 0}`, `{"j": 0}`, `{"i": 1}`}, 9, "Found multiple array filters with the same top-level field name i"},
		{"uppercase", `{"$set": {"a.$[I]": 1}}`, []string{`{"I": 0}`}, 2, "Error parsing array filter :: caused by :: The top-level field name must be an alphanumeric string beginning with a lowercase letter, found 'I'"},
		{"no field name", `{"$set": {"a.$[i]": 5}}`, []string{`{}`}, 9, "Cannot use an expression without a top-level field name in arrayFilters"},
		{"expr", `{"$set": {"a.$[i]": 5}}`, []string{`{"$expr": {"$eq": ["$foo", "$bar"]}}`}, 224, "Error parsing array filter :: caused by :: $expr is not allowed in this context"},
		{"rename dynamic", `{"$rename": {"a.$[i]": "b"}}`, []string{`{"i": 0}`}, 2, "The source field for $rename may not be dynamic: a.$[i]"},
		{"conflict with positional", `{"$set": {"a.$[i]": 0, "a.$": 0}}`, []string{`{"i": 0}`}, 40, "Updating the path 'a.$' would create a conflict at 'a'"},
		{"conflict with field", `{"$set": {"a.$[i]": 0, "a.b": 0}}`, []string{`{"i": 0}`}, 40, "Updating the path 'a.b' would create a conflict at 'a'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(val(t, c.spec), Options{ArrayFilters: filtersT(t, c.filters...)})
			assertErr(t, err, c.code, c.msg)
		})
	}

	apply := []struct {
		name, in, spec string
		filters        []string
		code           int32
		msg            string
	}{
		{"overlapping identifiers conflict", `{"_id": 0, "a": [{"x": 0, "b": [{"y": 0, "c": 0}]}, {"x": 1, "b": [{"y": 0, "c": 0}]}]}`,
			`{"$set": {"a.$[i].b.$[k].c": 1, "a.$[j].b.$[k].c": 2}}`, []string{`{"i.x": 0}`, `{"j.x": 0}`, `{"k.y": 0}`}, 40, "Update created a conflict at 'a.0.b.$[k].c'"},
		{"overlapping leaves conflict", `{"_id": 0, "a": [{"x": 0, "b": [{"y": 0, "c": 0}]}, {"x": 1, "b": [{"y": 0, "c": 0}, {"y": 1, "c": 0}]}]}`,
			`{"$set": {"a.$[i].b.$[k].c": 1, "a.$[j].b.$[m].c": 2}}`, []string{`{"i.x": 0}`, `{"j.x": 0}`, `{"k.y": 0}`, `{"m.y": 0}`}, 40, "Update created a conflict at 'a.0.b.0.c'"},
		{"identifier text is a field name", `{"_id": 0, "a": [0], "b": [{"j": 0}]}`, `{"$set": {"a.$[i.j]": 1, "b.$[i]": 1}}`, []string{`{"i.j": 0}`}, 28,
			"Cannot create field '$[i' in element {a: [ 0 ]}"},
	}
	for _, c := range apply {
		t.Run(c.name, func(t *testing.T) {
			u := compileT(t, c.spec, Options{ArrayFilters: filtersT(t, c.filters...)})
			_, _, err := u.Apply(doc(t, c.in), ctxNoMatch())
			assertErr(t, err, c.code, c.msg)
		})
	}
}
