package update

import (
	"strings"
	"testing"
)

func TestPipelineUpdates(t *testing.T) {
	cases := []struct {
		name, in, spec, want string
	}{
		{"manual example: set with $$NOW and unset",
			`{"_id": 1, "student": "Skye", "points": 75, "commentsSemester1": "great at math", "commentsSemester2": "loses temper", "lastUpdate": {"$date": "2019-01-01T00:00:00Z"}}`,
			`[{"$set": {"status": "Modified", "comments": ["$commentsSemester1", "$commentsSemester2"], "lastUpdate": "$$NOW"}}, {"$unset": ["commentsSemester1", "commentsSemester2"]}]`,
			`{"_id": 1, "student": "Skye", "points": 75, "lastUpdate": {"$date": "2024-05-06T07:08:09Z"}, "status": "Modified", "comments": ["great at math", "loses temper"]}`},
		{"replaceWith keeps the stored _id", `{"_id": 1, "x": 5}`, `[{"$replaceWith": {"a": "$x"}}]`, `{"_id": 1, "a": 5}`},
		{"project without _id keeps the stored _id", `{"_id": 1, "x": 5, "y": 6}`, `[{"$project": {"_id": 0, "y": 1}}]`, `{"_id": 1, "y": 6}`},
		{"addFields with cluster time", `{"_id": 1}`, `[{"$addFields": {"t": "$$CLUSTER_TIME"}}]`, `{"_id": 1, "t": {"$timestamp": {"t": 1700000000, "i": 7}}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := compileT(t, c.spec, Options{})
			if u.Kind() != Pipeline {
				t.Fatalf("kind %v", u.Kind())
			}
			out, changed, err := u.Apply(doc(t, c.in), ctxNoMatch())
			if err != nil {
				t.Fatal(err)
			}
			assertDoc(t, c.want, out)
			if !changed {
				t.Fatal("changed = false")
			}
		})
	}

	u := compileT(t, `[{"$set": {"a": "$$v"}}]`, Options{Let: doc(t, `{"v": 5}`)})
	out, _, err := u.Apply(doc(t, `{"_id": 1}`), ctxNoMatch())
	if err != nil {
		t.Fatal(err)
	}
	assertDoc(t, `{"_id": 1, "a": 5}`, out)

	u = compileT(t, `[{"$set": {"a": 1}}]`, Options{})
	out, changed, err := u.Apply(doc(t, `{"_id": 1, "a": 1}`), ctxNoMatch())
	if err != nil || changed {
		t.Fatalf("identical result must be a no-op: changed=%v err=%v", changed, err)
	}
	assertDoc(t, `{"_id": 1, "a": 1}`, out)

	_, _, err = compileT(t, `[{"$set": {"_id": 2}}]`, Options{}).Apply(doc(t, `{"_id": 1}`), ctxNoMatch())
	assertErr(t, err, 66, "After applying the update, the (immutable) field '_id' was found to have been altered to _id: 2")
}

func TestPipelineErrors(t *testing.T) {
	cases := []struct {
		name, spec string
		opts       Options
		code       int32
		msg        string
	}{
		{"stage not allowed", `[{"$set": {"a": 1}}, {"$match": {"a": 1}}]`, Options{}, 72, "$match is not allowed to be used within an update"},
		{"array filters", `[{"$set": {"a": 1}}]`, Options{ArrayFilters: filtersT(t, `{"i": 0}`)}, 9, "arrayFilters may not be specified for pipeline-style updates"},
		{"element not a document", `[1]`, Options{}, 14, "Each element of the 'pipeline' array must be an object"},
		{"unknown stage", `[{"$bogus": {}}]`, Options{}, 40324, "Unrecognized pipeline stage name: '$bogus'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(val(t, c.spec), c.opts)
			assertErr(t, err, c.code, c.msg)
		})
	}
}

func TestPipelineDescription(t *testing.T) {
	pad := strings.Repeat("p", 60)
	in := `{"_id": 1, "a": {"b": 1, "pad": "` + pad + `"}, "pad": "` + pad + `"}`
	r, err := compileT(t, `[{"$set": {"a.b": 2, "c": 3}}]`, Options{}).ApplyDescribed(doc(t, in), ctxNoMatch())
	if err != nil {
		t.Fatal(err)
	}
	if r.Description == nil {
		t.Fatal("large document: want a delta description")
	}
	if got, want := show(r.Description.Document(false)), show(doc(t, `{"updatedFields": {"c": 3, "a.b": 2}, "removedFields": [], "truncatedArrays": []}`)); got != want {
		t.Fatalf("\n want %s\n  got %s", want, got)
	}
	r, err = compileT(t, `[{"$set": {"a": 2}}]`, Options{}).ApplyDescribed(doc(t, `{"_id": 1, "a": 1}`), ctxNoMatch())
	if err != nil || !r.Changed || r.Description != nil {
		t.Fatalf("small document is logged as a replacement: %+v %v", r, err)
	}
}
