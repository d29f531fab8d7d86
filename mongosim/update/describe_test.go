package update

import (
	"strings"
	"testing"
)

// describeT applies an operator update and renders its description.
func describeT(t *testing.T, spec, in string) string {
	t.Helper()
	r, err := compileT(t, spec, Options{}).ApplyDescribed(doc(t, in), ctxNoMatch())
	if err != nil {
		t.Fatal(err)
	}
	if r.Description == nil {
		t.Fatal("no description")
	}
	return show(r.Description.Document(true))
}

func wantDesc(t *testing.T, updated, removed, truncated, disamb string) string {
	return show(doc(t, `{"updatedFields": `+updated+`, "removedFields": `+removed+`, "truncatedArrays": `+truncated+`, "disambiguatedPaths": `+disamb+`}`))
}

// Operator updates are described from the oplog delta mongod logs while
// applying them (V2LogBuilder), read the way change streams read it.
func TestOperatorDescription(t *testing.T) {
	long := strings.Repeat("x", 40)
	cases := []struct {
		name, spec, in, want string
	}{
		{"updates, nested update and create",
			`{"$set": {"a": 2, "b.c": 3, "b.d": 4}}`, `{"_id": 1, "a": 1, "b": {"c": 1}}`,
			wantDesc(t, `{"a": 2, "b.c": 3, "b.d": 4}`, `[]`, `[]`, `{}`)},
		{"top-level updates before inserts",
			`{"$set": {"z": 1, "a": 5}}`, `{"_id": 1, "z": 0}`,
			wantDesc(t, `{"z": 1, "a": 5}`, `[]`, `[]`, `{}`)},
		{"unset and new field",
			`{"$unset": {"b.c": 1}, "$set": {"n": 1}}`, `{"_id": 1, "b": {"c": 1, "d": 2}}`,
			wantDesc(t, `{"n": 1}`, `["b.c"]`, `[]`, `{}`)},
		{"created path logged as one document",
			`{"$set": {"a.b.c": 1, "a.b.d": 2}}`, `{"_id": 1}`,
			wantDesc(t, `{"a": {"b": {"c": 1, "d": 2}}}`, `[]`, `[]`, `{}`)},
		{"push append logs elements", `{"$push": {"arr": {"$each": [3, 4]}}}`, `{"_id": 1, "arr": [1, 2]}`,
			wantDesc(t, `{"arr.2": 3, "arr.3": 4}`, `[]`, `[]`, `{}`)},
		{"push into empty array logs the array", `{"$push": {"arr": 3}}`, `{"_id": 1, "arr": []}`,
			wantDesc(t, `{"arr": [3]}`, `[]`, `[]`, `{}`)},
		{"push with sort logs the array", `{"$push": {"arr": {"$each": [0], "$sort": 1}}}`, `{"_id": 1, "arr": [1]}`,
			wantDesc(t, `{"arr": [0, 1]}`, `[]`, `[]`, `{}`)},
		{"pull logs the array", `{"$pull": {"arr": 2}}`, `{"_id": 1, "arr": [1, 2, 3]}`,
			wantDesc(t, `{"arr": [1, 3]}`, `[]`, `[]`, `{}`)},
		{"array element paths", `{"$inc": {"arr.1.n": 1}, "$set": {"arr.0": "` + long + `"}}`, `{"_id": 1, "arr": [0, {"n": 1}]}`,
			wantDesc(t, `{"arr.0": "`+long+`", "arr.1.n": 2}`, `[]`, `[]`, `{}`)},
		{"set past the end logs only the new element", `{"$set": {"arr.3": 1}}`, `{"_id": 1, "arr": [0]}`,
			wantDesc(t, `{"arr.3": 1}`, `[]`, `[]`, `{}`)},
		{"unset array element", `{"$unset": {"arr.0": 1}}`, `{"_id": 1, "arr": [0, 1]}`,
			wantDesc(t, `{"arr.0": null}`, `[]`, `[]`, `{}`)},
		{"several array elements logged as the array", `{"$inc": {"arr.$[]": 1}}`, `{"_id": 1, "arr": [0, 1]}`,
			wantDesc(t, `{"arr": [1, 2]}`, `[]`, `[]`, `{}`)},
		{"single array element logs itself", `{"$set": {"arr.$[].x": 1}}`, `{"_id": 1, "arr": [{"x": 0}]}`,
			wantDesc(t, `{"arr.0.x": 1}`, `[]`, `[]`, `{}`)},
		{"rename", `{"$rename": {"a": "b"}}`, `{"_id": 1, "a": 1}`,
			wantDesc(t, `{"b": 1}`, `["a"]`, `[]`, `{}`)},
		{"numeric field name is disambiguated", `{"$set": {"o.1": 2}}`, `{"_id": 1, "o": {"1": 1}}`,
			wantDesc(t, `{"o.1": 2}`, `[]`, `[]`, `{"o.1": ["o", "1"]}`)},
		{"array index is not ambiguous", `{"$set": {"a.0.1": 2}}`, `{"_id": 1, "a": [{"1": 1}]}`,
			wantDesc(t, `{"a.0.1": 2}`, `[]`, `[]`, `{"a.0.1": ["a", {"$numberInt": "0"}, "1"]}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := describeT(t, c.spec, c.in); got != c.want {
				t.Fatalf("\n want %s\n  got %s", c.want, got)
			}
		})
	}
	// Without showExpandedEvents there is no disambiguatedPaths field.
	r, _ := compileT(t, `{"$set": {"a": 1}}`, Options{}).ApplyDescribed(doc(t, `{"_id": 1}`), ctxNoMatch())
	if got, want := show(r.Description.Document(false)), show(doc(t, `{"updatedFields": {"a": 1}, "removedFields": [], "truncatedArrays": []}`)); got != want {
		t.Fatalf("\n want %s\n  got %s", want, got)
	}
}

// Diff mirrors doc_diff::computeDiff for pipeline updates.
func TestDiff(t *testing.T) {
	pad := strings.Repeat("p", 60)
	cases := []struct {
		name, pre, post, want string
		delta                 bool
	}{
		{"nested path", `{"_id": 1, "a": {"b": 1, "pad": "` + pad + `"}, "pad": "` + pad + `"}`, `{"_id": 1, "a": {"b": 2, "pad": "` + pad + `"}, "pad": "` + pad + `"}`,
			wantDesc(t, `{"a.b": 2}`, `[]`, `[]`, `{}`), true},
		{"small sub-document reported whole", `{"_id": 1, "a": {"b": 1}, "pad": "` + pad + `"}`, `{"_id": 1, "a": {"b": 2}, "pad": "` + pad + `"}`,
			wantDesc(t, `{"a": {"b": 2}}`, `[]`, `[]`, `{}`), true},
		{"array element change and append", `{"_id": 1, "arr": ["` + pad + `", 1], "pad": "` + pad + `"}`, `{"_id": 1, "arr": ["` + pad + `", 2, 3], "pad": "` + pad + `"}`,
			wantDesc(t, `{"arr.1": 2, "arr.2": 3}`, `[]`, `[]`, `{}`), true},
		{"array truncation", `{"_id": 1, "arr": ["` + pad + `", 1, 2, 3], "pad": "` + pad + `"}`, `{"_id": 1, "arr": ["` + pad + `", 5], "pad": "` + pad + `"}`,
			wantDesc(t, `{"arr.1": 5}`, `[]`, `[{"field": "arr", "newSize": 2}]`, `{}`), true},
		{"removed fields", `{"_id": 1, "x": 1, "y": 2, "pad": "` + pad + `"}`, `{"_id": 1, "pad": "` + pad + `"}`,
			wantDesc(t, `{}`, `["x", "y"]`, `[]`, `{}`), true},
		{"type change reported whole", `{"_id": 1, "a": {"b": "` + pad + `"}, "pad": "` + pad + `"}`, `{"_id": 1, "a": ["` + pad + `"], "pad": "` + pad + `"}`,
			wantDesc(t, `{"a": ["`+pad+`"]}`, `[]`, `[]`, `{}`), true},
		{"moved field reported as updated", `{"_id": 1, "a": 1, "pad": "` + pad + `"}`, `{"_id": 1, "pad": "` + pad + `", "a": 1}`,
			wantDesc(t, `{"a": 1}`, `[]`, `[]`, `{}`), true},
		{"moved field among removals", `{"_id": 1, "b": 1, "a": 1, "c": 3, "pad": "` + pad + `"}`, `{"_id": 1, "c": 3, "pad": "` + pad + `", "b": 1}`,
			wantDesc(t, `{"b": 1}`, `["a"]`, `[]`, `{}`), true},
		{"numeric-looking and dotted keys", `{"_id": 1, "o": {"1": "` + pad + `", "2": 1}, "x.y": 1, "pad": "` + pad + `"}`, `{"_id": 1, "o": {"1": "` + pad + `", "2": 2}, "x.y": 2, "pad": "` + pad + `"}`,
			wantDesc(t, `{"x.y": 2, "o.2": 2}`, `[]`, `[]`, `{"x.y": ["x.y"], "o.2": ["o", "2"]}`), true},
		{"small document logged as replacement", `{"_id": 1, "a": 1}`, `{"_id": 1, "a": 2}`,
			wantDesc(t, `{"a": 2}`, `[]`, `[]`, `{}`), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, delta := DiffDelta(doc(t, c.pre), doc(t, c.post))
			if got := show(d.Document(true)); got != c.want {
				t.Fatalf("\n want %s\n  got %s", c.want, got)
			}
			if delta != c.delta {
				t.Fatalf("delta = %v, want %v", delta, c.delta)
			}
			if got := show(Diff(doc(t, c.pre), doc(t, c.post)).Document(true)); got != c.want {
				t.Fatalf("Diff differs from DiffDelta: %s", got)
			}
		})
	}
}
