package query

import (
	"bytes"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

type projCase struct {
	spec string
	doc  string
	pos  int
	want string // expected document; "" when code is set
	code int32
}

func runProjCases(t *testing.T, mode ProjectionMode, cases []projCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.spec+" ~ "+c.doc, func(t *testing.T) {
			p, err := CompileProjectionMode(docJ(t, c.spec), mode, Options{})
			if err == nil {
				var out []byte
				out, err = p.Apply(docJ(t, c.doc), c.pos)
				if err == nil && c.code == 0 {
					want := docJ(t, c.want)
					if !bytes.Equal(out, want) {
						t.Fatalf("got %s, want %s", bson.Raw(out), bson.Raw(want))
					}
					return
				}
			}
			if c.code == 0 {
				t.Fatalf("unexpected error %v", err)
			}
			if errCode(err) != c.code {
				t.Fatalf("got error %v, want code %d", err, c.code)
			}
		})
	}
}

func TestFindProjection(t *testing.T) {
	inv := `{"_id": 1, "item": "journal", "status": "A", "size": {"h": 14, "w": 21, "uom": "cm"}, "instock": [{"warehouse": "A", "qty": 5}, {"warehouse": "C", "qty": 15}]}`
	runProjCases(t, ModeFind, []projCase{
		{spec: `{}`, doc: inv, want: inv},
		{spec: `{"item": 1, "status": 1}`, doc: inv, want: `{"_id": 1, "item": "journal", "status": "A"}`},
		{spec: `{"status": 1, "item": 1}`, doc: inv, want: `{"_id": 1, "item": "journal", "status": "A"}`},
		{spec: `{"item": 1, "status": 1, "_id": 0}`, doc: inv, want: `{"item": "journal", "status": "A"}`},
		{spec: `{"status": 0, "instock": 0}`, doc: inv, want: `{"_id": 1, "item": "journal", "size": {"h": 14, "w": 21, "uom": "cm"}}`},
		{spec: `{"_id": 0}`, doc: inv, want: `{"item": "journal", "status": "A", "size": {"h": 14, "w": 21, "uom": "cm"}, "instock": [{"warehouse": "A", "qty": 5}, {"warehouse": "C", "qty": 15}]}`},
		{spec: `{"item": 1, "status": 1, "size.uom": 1}`, doc: inv, want: `{"_id": 1, "item": "journal", "status": "A", "size": {"uom": "cm"}}`},
		{spec: `{"item": 1, "size": {"uom": 1}}`, doc: inv, want: `{"_id": 1, "item": "journal", "size": {"uom": "cm"}}`},
		{spec: `{"size.uom": 0}`, doc: inv, want: `{"_id": 1, "item": "journal", "status": "A", "size": {"h": 14, "w": 21}, "instock": [{"warehouse": "A", "qty": 5}, {"warehouse": "C", "qty": 15}]}`},
		{spec: `{"item": 1, "instock.qty": 1}`, doc: inv, want: `{"_id": 1, "item": "journal", "instock": [{"qty": 5}, {"qty": 15}]}`},
		{spec: `{"item": 1, "instock": {"$slice": -1}}`, doc: inv, want: `{"_id": 1, "item": "journal", "instock": [{"warehouse": "C", "qty": 15}]}`},
		{spec: `{"instock": {"$slice": 1}}`, doc: inv, want: `{"_id": 1, "item": "journal", "status": "A", "size": {"h": 14, "w": 21, "uom": "cm"}, "instock": [{"warehouse": "A", "qty": 5}]}`},
		{spec: `{"a": {"$slice": [1, 2]}}`, doc: `{"_id": 1, "a": [1, 2, 3, 4]}`, want: `{"_id": 1, "a": [2, 3]}`},
		{spec: `{"a": {"$slice": [-3, 2]}}`, doc: `{"_id": 1, "a": [1, 2, 3, 4]}`, want: `{"_id": 1, "a": [2, 3]}`},
		{spec: `{"a": {"$slice": 2}}`, doc: `{"_id": 1, "a": "notarray"}`, want: `{"_id": 1, "a": "notarray"}`},
		{spec: `{"a": {"$slice": [1, 0]}}`, doc: `{"_id": 1}`, code: 2},
		{spec: `{"item": 1, "status": {"$toLower": "$status"}}`, doc: inv, want: `{"_id": 1, "item": "journal", "status": "a"}`},
		{spec: `{"total": {"$sum": "$instock.qty"}, "item": 1}`, doc: inv, want: `{"_id": 1, "item": "journal", "total": 20}`},
		{spec: `{"lit": "abc"}`, doc: inv, want: `{"_id": 1, "lit": "abc"}`},
		{spec: `{"a.b": 1}`, doc: `{"_id": 1, "a": [{"b": 1, "c": 2}, 5, [{"b": 3}]]}`, want: `{"_id": 1, "a": [{"b": 1}]}`},
		{spec: `{"a.b": 0}`, doc: `{"_id": 1, "a": [{"b": 1, "c": 2}, 5, [{"b": 3}]]}`, want: `{"_id": 1, "a": [{"c": 2}, 5, [{"b": 3}]]}`},
		{spec: `{"a.b": 1}`, doc: `{"_id": 1, "a": {"c": 1}}`, want: `{"_id": 1, "a": {}}`},
		{spec: `{"a.b": 1}`, doc: `{"_id": 1, "a": 5}`, want: `{"_id": 1}`},
		{spec: `{"grades.$": 1}`, doc: `{"_id": 1, "semester": 1, "grades": [70, 87, 90]}`, pos: 1, want: `{"_id": 1, "grades": [87]}`},
		{spec: `{"grades.$": 1}`, doc: `{"_id": 1, "grades": [70, 87, 90]}`, pos: -1, code: 51246},
		{spec: `{"students": {"$elemMatch": {"school": 102}}}`, doc: `{"_id": 1, "zipcode": "63109", "students": [{"name": "john", "school": 102, "age": 10}, {"name": "jess", "school": 102, "age": 11}]}`,
			want: `{"_id": 1, "students": [{"name": "john", "school": 102, "age": 10}]}`},
		{spec: `{"students": {"$elemMatch": {"school": 999}}}`, doc: `{"_id": 1, "students": [{"school": 102}]}`, want: `{"_id": 1}`},
		{spec: `{"games": {"$elemMatch": {"score": {"$gt": 5}}}, "joined": 1, "lastLogin": 1}`,
			doc:  `{"_id": 1, "name": "player1", "games": [{"game": "abc", "score": 8}, {"game": "xyz", "score": 5}], "joined": 1, "lastLogin": 2}`,
			want: `{"_id": 1, "joined": 1, "lastLogin": 2, "games": [{"game": "abc", "score": 8}]}`},
		{spec: `{"a": 1, "b": 0}`, doc: `{}`, code: 31254},
		{spec: `{"a.b": {"$elemMatch": {"c": 1}}}`, doc: `{}`, code: 31275},
		{spec: `{"a": {"b": {"$elemMatch": {"c": 1}}}}`, doc: `{}`, code: 31275},
		{spec: `{"a": 0, "b": 1}`, doc: `{}`, code: 31253},
		{spec: `{"a": 0, "b": "$x"}`, doc: `{}`, code: 31252},
		{spec: `{"a": 1, "a.b": 1}`, doc: `{}`, code: 31250},
		{spec: `{"a.b": 1, "a": 1}`, doc: `{}`, code: 31250},
		{spec: `{"a": {}}`, doc: `{}`, code: 51270},
		{spec: `{"$a": 1}`, doc: `{}`, code: 16410},
		{spec: `{"a.$": 1, "b.$": 1}`, doc: `{}`, code: 31276},
		{spec: `{"_id": 1}`, doc: `{"_id": 1, "a": 2}`, want: `{"_id": 1}`},
		{spec: `{"_id": 0, "a": 1}`, doc: `{"a": 2, "_id": 1}`, want: `{"a": 2}`},
		{spec: `{"a": 1}`, doc: `{"a": 2, "_id": 1}`, want: `{"a": 2, "_id": 1}`},
	})
}

func TestAggProjectAndAddFields(t *testing.T) {
	runProjCases(t, ModeProject, []projCase{
		{spec: `{"title": 1, "author.first": 1}`, doc: `{"_id": 1, "title": "abc123", "author": {"last": "zzz", "first": "aaa"}, "copies": 5}`,
			want: `{"_id": 1, "title": "abc123", "author": {"first": "aaa"}}`},
		{spec: `{"x": "$$REMOVE", "a": 1}`, doc: `{"_id": 1, "a": 2}`, want: `{"_id": 1, "a": 2}`},
		{spec: `{"a": {"b": "$x", "c": 1}}`, doc: `{"_id": 1, "x": 7}`, want: `{"_id": 1, "a": {"b": 7}}`},
		{spec: `{"a": {"$slice": ["$arr", 1]}}`, doc: `{"_id": 1, "arr": [1, 2]}`, want: `{"_id": 1, "a": [1]}`},
		{spec: `{}`, doc: `{}`, code: 51272},
		{spec: `{"a.b": 1}`, doc: `{"_id": 1, "a": [{"b": 1, "c": 2}, 5, [{"b": 3, "c": 4}]]}`, want: `{"_id": 1, "a": [{"b": 1}, [{"b": 3}]]}`},
		{spec: `{"a.b": 0}`, doc: `{"_id": 1, "a": [{"b": 1, "c": 2}, 5, [{"b": 3, "c": 4}]]}`, want: `{"_id": 1, "a": [{"c": 2}, 5, [{"c": 4}]]}`},
		{spec: `{"a.b": {"$literal": 1}}`, doc: `{"_id": 1, "a": 7}`, want: `{"_id": 1, "a": {"b": 1}}`},
		{spec: `{"a.b": {"$literal": 1}}`, doc: `{"_id": 1, "a": [{"c": 1}, 2]}`, want: `{"_id": 1, "a": [{"b": 1}, {"b": 1}]}`},
		{spec: `{"x": 1, "a": "$x", "y": 1}`, doc: `{"_id": 1, "y": 2, "x": 3}`, want: `{"_id": 1, "y": 2, "x": 3, "a": 3}`},
	})
	runProjCases(t, ModeAddFields, []projCase{
		{spec: `{"totalHomework": {"$sum": "$homework"}, "b": 1}`, doc: `{"_id": 1, "homework": [10, 5], "b": 0}`, want: `{"_id": 1, "homework": [10, 5], "b": 1, "totalHomework": 15}`},
		{spec: `{"specs.fuel_type": "unleaded"}`, doc: `{"_id": 1, "specs": {"doors": 4, "wheels": 4}}`, want: `{"_id": 1, "specs": {"doors": 4, "wheels": 4, "fuel_type": "unleaded"}}`},
		{spec: `{"specs": {"fuel_type": "unleaded"}}`, doc: `{"_id": 1, "specs": {"doors": 4}}`, want: `{"_id": 1, "specs": {"doors": 4, "fuel_type": "unleaded"}}`},
		{spec: `{"specs.fuel_type": "unleaded"}`, doc: `{"_id": 1}`, want: `{"_id": 1, "specs": {"fuel_type": "unleaded"}}`},
		{spec: `{"a.b": 1}`, doc: `{"_id": 1, "a": [1, {"c": 1}]}`, want: `{"_id": 1, "a": [{"b": 1}, {"c": 1, "b": 1}]}`},
		{spec: `{"_id": "$item", "item": "fruit"}`, doc: `{"_id": 1, "item": "tangerine"}`, want: `{"_id": "tangerine", "item": "fruit"}`},
		{spec: `{"a": "$$REMOVE"}`, doc: `{"_id": 1, "a": 1, "b": 2}`, want: `{"_id": 1, "b": 2}`},
		{spec: `{"e": {}}`, doc: `{"_id": 1}`, want: `{"_id": 1, "e": {}}`},
	})
}

func TestSort(t *testing.T) {
	type sc struct {
		spec string
		a, b string
		want int
	}
	for _, c := range []sc{
		{`{"a": 1}`, `{"a": 1}`, `{"a": 2}`, -1},
		{`{"a": -1}`, `{"a": 1}`, `{"a": 2}`, 1},
		{`{"a": 1}`, `{}`, `{"a": null}`, 0},
		{`{"a": 1}`, `{"a": []}`, `{"a": null}`, -1},
		{`{"a": 1}`, `{"a": [1, 5]}`, `{"a": 2}`, -1},
		{`{"a": -1}`, `{"a": [1, 5]}`, `{"a": 2}`, -1},
		{`{"a": 1}`, `{"a": "x"}`, `{"a": 5}`, 1},
		{`{"a.b": 1}`, `{"a": [{"b": 3}, {"b": 1}]}`, `{"a": {"b": 2}}`, -1},
		{`{"a.b": 1}`, `{"a": [{"b": 3}, {"c": 1}]}`, `{"a": {"b": 2}}`, -1},
		{`{"a": 1, "b": -1}`, `{"a": 1, "b": 1}`, `{"a": 1, "b": 2}`, 1},
		{`{"a": 1}`, `{"a": {"$numberLong": "9007199254740993"}}`, `{"a": 9007199254740992.0}`, 1},
	} {
		s, err := CompileSort(docJ(t, c.spec))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Compare(docJ(t, c.a), docJ(t, c.b)); got != c.want {
			t.Errorf("%s: Compare(%s, %s) = %d, want %d", c.spec, c.a, c.b, got, c.want)
		}
	}
	for _, c := range []struct {
		spec string
		code int32
	}{{`{"a": 2}`, 15975}, {`{"a": "asc"}`, 15974}, {`{"$a": 1}`, 16410}, {`{"a..b": 1}`, 15998}} {
		if _, err := CompileSort(docJ(t, c.spec)); errCode(err) != c.code {
			t.Errorf("%s: got %v, want %d", c.spec, err, c.code)
		}
	}
	s, err := CompileSort(docJ(t, `{"$natural": -1}`))
	if err != nil {
		t.Fatal(err)
	}
	if dir, ok := s.Natural(); !ok || dir != -1 {
		t.Fatalf("natural = %d %v", dir, ok)
	}
	s, _ = CompileSort(docJ(t, `{"_id": 1, "x": -1.0}`))
	if k := s.Keys(); len(k) != 2 || k[0].Key != "_id" || k[1].Key != "x" {
		t.Fatalf("keys = %v", k)
	}
}
