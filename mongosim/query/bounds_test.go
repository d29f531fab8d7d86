package query

import (
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
)

func renderVals(vals []bsoncore.Value) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = render(v)
	}
	return strings.Join(parts, " ")
}

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		doc, path, want string
	}{
		{`{"a": {"b": [1, 2]}}`, "a.b", `[1, 2]`},
		{`{"a": [{"b": 1}, {"b": 2}, {"c": 3}]}`, "a.b", `[1, 2]`},
		{`{"a": [{"b": [1, 2]}, {"b": 3}]}`, "a.b", `[1, 2, 3]`},
		{`{"a": [5, 6]}`, "a.1", `[6]`},
		{`{"a": [{"b": 5}, {"b": 6}]}`, "a.1.b", `[6]`},
		{`{"a": 1}`, "a.b", `[]`},
		{`{"a": [[1, 2], 3]}`, "a", `[[1, 2], 3]`},
		{`{}`, "a", `[]`},
	} {
		got := Lookup(docJ(t, c.doc), c.path)
		want := bsonkit.Values(valJ(t, c.want))
		if renderVals(got) != renderVals(want) {
			t.Errorf("Lookup(%s, %s) = %s, want %s", c.doc, c.path, renderVals(got), renderVals(want))
		}
	}
}

func TestIDBounds(t *testing.T) {
	check := func(filter string, wantOK bool, wantEq string, lo, hi string, loIncl, hiIncl bool) {
		t.Helper()
		m, err := Compile(docJ(t, filter))
		if err != nil {
			t.Fatal(err)
		}
		b, ok := m.IDBounds()
		if ok != wantOK {
			t.Fatalf("%s: ok = %v", filter, ok)
		}
		if !ok {
			return
		}
		if wantEq != "" {
			if !b.HasEq || renderVals(b.Eq) != renderVals(bsonkit.Values(valJ(t, wantEq))) {
				t.Fatalf("%s: eq = %v %s, want %s", filter, b.HasEq, renderVals(b.Eq), wantEq)
			}
			return
		}
		if b.HasEq {
			t.Fatalf("%s: unexpected eq", filter)
		}
		if render(b.Lo) != render(valJ(t, lo)) || render(b.Hi) != render(valJ(t, hi)) || b.LoIncl != loIncl || b.HiIncl != hiIncl {
			t.Fatalf("%s: got [%s %v, %s %v]", filter, render(b.Lo), b.LoIncl, render(b.Hi), b.HiIncl)
		}
	}
	check(`{}`, false, "", "", "", false, false)
	check(`{"a": 1}`, false, "", "", "", false, false)
	check(`{"_id": 5}`, true, `[5]`, "", "", false, false)
	check(`{"_id": {"$eq": "x"}, "a": 1}`, true, `["x"]`, "", "", false, false)
	check(`{"_id": {"$in": [3, 1, 3]}}`, true, `[1, 3]`, "", "", false, false)
	check(`{"$or": [{"_id": 1}, {"_id": 2}]}`, true, `[1, 2]`, "", "", false, false)
	check(`{"$or": [{"_id": 1}, {"a": 2}]}`, false, "", "", "", false, false)
	check(`{"_id": {"$in": [{"$regularExpression": {"pattern": "x", "options": ""}}]}}`, false, "", "", "", false, false)
	check(`{"_id": {"$gt": 5}}`, true, "", `5`, `{"$numberDouble": "Infinity"}`, false, true)
	check(`{"_id": {"$gte": 5, "$lt": 10}}`, true, "", `5`, `10`, true, false)
	check(`{"_id": {"$lt": "m"}}`, true, "", `""`, `"m"`, true, false)
	check(`{"$and": [{"_id": {"$gt": 1}}, {"_id": {"$lte": 4}}]}`, true, "", `1`, `4`, false, true)
	check(`{"_id": {"$ne": 5}}`, false, "", "", "", false, false)
	check(`{"_id": {"$gt": {"$minKey": 1}}}`, false, "", "", "", false, false)
}

func TestEqualitiesForUpsert(t *testing.T) {
	for _, c := range []struct {
		filter string
		want   string
		code   int32
	}{
		{`{"a": 1, "b": {"$gt": 2}, "c": {"$eq": "x"}}`, `{"a": 1, "c": "x"}`, 0},
		{`{"$and": [{"a": 1}, {"b.c": 2}]}`, `{"a": 1, "b.c": 2}`, 0},
		{`{"a": {"$in": [7]}}`, `{"a": 7}`, 0},
		{`{"a": {"$in": [7, 8]}}`, `{}`, 0},
		{`{"$or": [{"a": 1}]}`, `{"a": 1}`, 0},
		{`{"$or": [{"a": 1}, {"b": 2}]}`, `{}`, 0},
		{`{"a": {"$regularExpression": {"pattern": "x", "options": ""}}}`, `{}`, 0},
		{`{"a": {"$ne": 1}}`, `{}`, 0},
		{`{"a": {"b": 1}}`, `{"a": {"b": 1}}`, 0},
		{`{"a": 1, "$and": [{"a": 2}]}`, ``, 54},
		{`{"a": 1, "a.b": 2}`, ``, 54},
	} {
		m, err := Compile(docJ(t, c.filter))
		if err != nil {
			t.Fatal(err)
		}
		seed, err := m.UpsertSeed()
		if c.code != 0 {
			if errCode(err) != c.code {
				t.Errorf("%s: got %v, want code %d", c.filter, err, c.code)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.filter, err)
		}
		got := bsonkit.DocValue(seed.Bytes())
		if render(got) != render(bsonkit.DocValue(docJ(t, c.want))) {
			t.Errorf("%s: got %s want %s", c.filter, render(got), c.want)
		}
		if eq := m.Equalities(); render(bsonkit.DocValue(eq.Bytes())) != render(got) {
			t.Errorf("%s: Equalities disagrees with UpsertSeed", c.filter)
		}
	}
}

func TestMatchDoesNotAllocateForSimpleFilters(t *testing.T) {
	doc := docJ(t, `{"_id": 1, "name": "abc", "n": 42, "tags": ["x", "y"], "sub": {"k": 7}}`)
	for _, f := range []string{`{"n": 42}`, `{"n": {"$gte": 10, "$lt": 50}}`, `{"sub.k": 7}`, `{"tags": "y"}`, `{"name": {"$in": ["q", "abc"]}}`} {
		m, err := Compile(docJ(t, f))
		if err != nil {
			t.Fatal(err)
		}
		if !m.Match(doc) {
			t.Fatalf("%s should match", f)
		}
		allocs := testing.AllocsPerRun(100, func() { m.Match(doc) })
		if allocs > 1 {
			t.Errorf("%s: %.1f allocations per Match", f, allocs)
		}
	}
}

func BenchmarkMatchEquality(b *testing.B) {
	doc := docJ(b, `{"_id": 1, "name": "abc", "n": 42, "tags": ["x", "y"], "sub": {"k": 7}}`)
	m, _ := Compile(docJ(b, `{"n": 42, "sub.k": {"$gte": 5}}`))
	b.ReportAllocs()
	for b.Loop() {
		m.Match(doc)
	}
}
