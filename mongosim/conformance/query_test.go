package conformance

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// insertEJ inserts documents written as relaxed extended JSON.
func insertEJ(t *testing.T, coll *mongo.Collection, docs ...string) {
	t.Helper()
	vals := make([]any, len(docs))
	for i, d := range docs {
		vals[i] = ej(t, d)
	}
	insertDocs(t, coll, vals...)
}

// wantDocsEJ asserts documents byte for byte (order, field order, types).
func wantDocsEJ(t *testing.T, what string, got []bson.Raw, want ...string) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = bytes.Equal(got[i], ej(t, want[i]))
	}
	if !ok {
		parts := make([]string, len(got))
		for i, d := range got {
			parts[i] = d.String()
		}
		t.Fatalf("%s:\n got: [%s]\nwant: [%s]", what, strings.Join(parts, ", "), strings.Join(want, ", "))
	}
}

var byID = options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})

func TestQueryFilterSemantics(t *testing.T) {
	coll := newDB(t).Collection("q")
	insertEJ(t, coll,
		`{"_id": 1, "a": 1, "tags": ["x", "y"], "sub": {"b": 1}}`,
		`{"_id": 2, "a": 2.0, "tags": ["y"], "sub": [{"b": 2}, {"b": 3}]}`,
		`{"_id": 3, "a": "1", "tags": [], "sub": {"c": 1}}`,
		`{"_id": 4, "a": null, "tags": [["x", "y"]]}`,
		`{"_id": 5}`,
		`{"_id": 6, "a": [1, 5], "sub": [{"b": 1, "c": 2}, {"b": 2, "c": 1}]}`,
		`{"_id": 7, "a": {"$numberLong": "5"}, "name": "Acme Corp"}`,
		`{"_id": 8, "a": {"$numberDecimal": "2.5"}, "name": "acme"}`,
	)
	for _, c := range []struct {
		filter string
		want   []int32
	}{
		{`{"a": 1}`, []int32{1, 6}},
		{`{"a": null}`, []int32{4, 5}},
		{`{"a": {"$exists": false}}`, []int32{5}},
		{`{"a": {"$type": "string"}}`, []int32{3}},
		{`{"a": {"$type": "number"}}`, []int32{1, 2, 6, 7, 8}},
		{`{"a": {"$type": "array"}}`, []int32{6}},
		{`{"a": {"$gt": 1}}`, []int32{2, 6, 7, 8}},
		{`{"a": {"$gte": 2, "$lte": 2.5}}`, []int32{2, 6, 8}},
		{`{"a": {"$elemMatch": {"$gte": 2, "$lte": 2.5}}}`, nil},
		{`{"a": {"$in": [null, "1"]}}`, []int32{3, 4, 5}},
		{`{"a": {"$nin": [1, null]}}`, []int32{2, 3, 7, 8}},
		{`{"a": {"$ne": 1}}`, []int32{2, 3, 4, 5, 7, 8}},
		{`{"a": {"$not": {"$gt": 1}}}`, []int32{1, 3, 4, 5}},
		{`{"tags": "x"}`, []int32{1}},
		{`{"tags": ["x", "y"]}`, []int32{1, 4}},
		{`{"tags": {"$size": 0}}`, []int32{3}},
		{`{"tags": {"$all": ["y", "x"]}}`, []int32{1}},
		{`{"tags.0": "y"}`, []int32{2}},
		{`{"sub.b": 2}`, []int32{2, 6}},
		{`{"sub.b": null}`, []int32{3, 4, 5, 7, 8}},
		{`{"sub": {"$elemMatch": {"b": 1, "c": 2}}}`, []int32{6}},
		{`{"sub.b": 1, "sub.c": 1}`, []int32{6}},
		{`{"name": {"$regularExpression": {"pattern": "^acme", "options": "i"}}}`, []int32{7, 8}},
		{`{"name": {"$regex": "^acme", "$options": ""}}`, []int32{8}},
		{`{"name": {"$in": [{"$regularExpression": {"pattern": "corp$", "options": "i"}}, "zzz"]}}`, []int32{7}},
		{`{"$or": [{"a": "1"}, {"sub.c": 1}]}`, []int32{3, 6}},
		{`{"$nor": [{"a": {"$exists": true}}]}`, []int32{5}},
		{`{"$and": [{"a": {"$type": "number"}}, {"a": {"$lt": 2}}]}`, []int32{1, 6}},
		{`{"$expr": {"$eq": ["$_id", {"$add": [1, 1]}]}}`, []int32{2}},
		{`{"a": {"$mod": [2, 1]}}`, []int32{1, 6, 7}},
		{`{"_id": {"$in": [3, 1]}}`, []int32{1, 3}},
		{`{"_id": {"$gt": 6}, "$comment": "range"}`, []int32{7, 8}},
	} {
		docs := findAll(t, coll, ej(t, c.filter), byID)
		got := ids(t, docs)
		if len(got) != len(c.want) {
			t.Errorf("%s: _ids %v, want %v", c.filter, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: _ids %v, want %v", c.filter, got, c.want)
				break
			}
		}
	}
}

func TestQueryFilterErrors(t *testing.T) {
	coll := newDB(t).Collection("q")
	insertEJ(t, coll, `{"_id": 1}`)
	for _, c := range []struct {
		filter string
		code   int32
		msg    string
	}{
		{`{"$foo": 1}`, 2, "unknown top level operator: $foo"},
		{`{"a": {"$foo": 1}}`, 2, "unknown operator: $foo"},
		{`{"a": {"$in": 5}}`, 2, "$in needs an array"},
		{`{"a": {"$size": -1}}`, 2, "$size may not be negative"},
		{`{"$and": []}`, 2, "$and/$or/$nor must be a nonempty array"},
		{`{"a": {"$type": "nonsense"}}`, 2, "Unknown type name alias: nonsense"},
		{`{"a": {"$regex": "(unclosed"}}`, 51091, "Regular expression is invalid"},
		{`{"$expr": {"$bogus": 1}}`, 168, "Unrecognized expression '$bogus'"},
	} {
		cur, err := coll.Find(ctxT(t), ej(t, c.filter))
		if err == nil {
			cur.Close(ctxT(t))
			t.Errorf("%s: no error", c.filter)
			continue
		}
		var ce mongo.CommandError
		if !errors.As(err, &ce) || ce.Code != c.code || !strings.Contains(ce.Message, c.msg) {
			t.Errorf("%s: got %v, want code %d containing %q", c.filter, err, c.code, c.msg)
		}
	}
}

func TestQueryProjection(t *testing.T) {
	coll := newDB(t).Collection("p")
	insertEJ(t, coll,
		`{"_id": 1, "item": "journal", "status": "A", "size": {"h": 14, "w": 21, "uom": "cm"}, "instock": [{"warehouse": "A", "qty": 5}, {"warehouse": "C", "qty": 15}]}`,
		`{"_id": 2, "semester": 1, "grades": [70, 87, 90]}`,
	)
	one := func(filter, proj string) []bson.Raw {
		return findAll(t, coll, ej(t, filter), options.Find().SetProjection(ej(t, proj)))
	}
	wantDocsEJ(t, "inclusion", one(`{"_id": 1}`, `{"status": 1, "item": 1}`), `{"_id": 1, "item": "journal", "status": "A"}`)
	wantDocsEJ(t, "no _id", one(`{"_id": 1}`, `{"item": 1, "_id": 0}`), `{"item": "journal"}`)
	wantDocsEJ(t, "exclusion", one(`{"_id": 1}`, `{"status": 0, "instock": 0}`), `{"_id": 1, "item": "journal", "size": {"h": 14, "w": 21, "uom": "cm"}}`)
	wantDocsEJ(t, "dotted", one(`{"_id": 1}`, `{"size.uom": 1, "instock.qty": 1}`), `{"_id": 1, "size": {"uom": "cm"}, "instock": [{"qty": 5}, {"qty": 15}]}`)
	wantDocsEJ(t, "dotted exclusion", one(`{"_id": 1}`, `{"size.uom": 0, "instock": 0, "status": 0}`), `{"_id": 1, "item": "journal", "size": {"h": 14, "w": 21}}`)
	wantDocsEJ(t, "slice", one(`{"_id": 1}`, `{"item": 1, "instock": {"$slice": -1}}`), `{"_id": 1, "item": "journal", "instock": [{"warehouse": "C", "qty": 15}]}`)
	wantDocsEJ(t, "slice skip", one(`{"_id": 2}`, `{"grades": {"$slice": [1, 1]}}`), `{"_id": 2, "semester": 1, "grades": [87]}`)
	wantDocsEJ(t, "positional", one(`{"grades": {"$gte": 85}}`, `{"grades.$": 1}`), `{"_id": 2, "grades": [87]}`)
	wantDocsEJ(t, "elemMatch", one(`{"_id": 1}`, `{"instock": {"$elemMatch": {"qty": {"$gt": 10}}}}`), `{"_id": 1, "instock": [{"warehouse": "C", "qty": 15}]}`)
	wantDocsEJ(t, "expression", one(`{"_id": 1}`, `{"item": 1, "status": {"$toLower": "$status"}, "total": {"$sum": "$instock.qty"}}`),
		`{"_id": 1, "item": "journal", "status": "a", "total": 20}`)

	for _, c := range []struct {
		proj string
		code int32
	}{
		{`{"item": 1, "status": 0}`, 31254},
		{`{"status": 0, "item": 1}`, 31253},
		{`{"size": 1, "size.uom": 1}`, 31250},
	} {
		cur, err := coll.Find(ctxT(t), bson.D{}, options.Find().SetProjection(ej(t, c.proj)))
		if err == nil {
			cur.Close(ctxT(t))
		}
		wantCode(t, err, c.code)
	}
}

func TestQuerySortOrderAcrossTypes(t *testing.T) {
	coll := newDB(t).Collection("s")
	insertEJ(t, coll,
		`{"_id": 1, "v": 5}`,
		`{"_id": 2, "v": "a"}`,
		`{"_id": 3}`,
		`{"_id": 4, "v": null}`,
		`{"_id": 5, "v": []}`,
		`{"_id": 6, "v": [3, 10]}`,
		`{"_id": 7, "v": {"x": 1}}`,
		`{"_id": 8, "v": true}`,
		`{"_id": 9, "v": {"$numberDecimal": "4.5"}}`,
	)
	asc := findAll(t, coll, bson.D{}, options.Find().SetSort(bson.D{{Key: "v", Value: 1}, {Key: "_id", Value: 1}}))
	wantIDs(t, asc, 5, 3, 4, 6, 9, 1, 2, 7, 8)
	desc := findAll(t, coll, bson.D{}, options.Find().SetSort(bson.D{{Key: "v", Value: -1}, {Key: "_id", Value: 1}}))
	wantIDs(t, desc, 8, 7, 2, 6, 1, 9, 3, 4, 5)
	_, err := coll.Find(ctxT(t), bson.D{}, options.Find().SetSort(bson.D{{Key: "v", Value: 2}}))
	wantCode(t, err, 15975)
}
