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

// ej parses relaxed extended JSON (1 is int32, 1.0 a double) in order.
func ej(t *testing.T, s string) bson.Raw {
	t.Helper()
	var r bson.Raw
	if err := bson.UnmarshalExtJSON([]byte(s), false, &r); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return r
}

// oneDoc returns the only document of coll.
func oneDoc(t *testing.T, coll *mongo.Collection) bson.Raw {
	t.Helper()
	docs := findAll(t, coll, bson.D{})
	if len(docs) != 1 {
		t.Fatalf("want one document, got %d", len(docs))
	}
	return docs[0]
}

// Operator updates through UpdateOne: the documented results, byte-exact
// (field order and numeric types included), and the modified count.
func TestUpdateOperatorsThroughDriver(t *testing.T) {
	cases := []struct {
		name, in, update, want string
		filters                []string
		modified               int64
	}{
		{"set nested and array elements", `{"_id": 100, "details": {"model": "14QQ", "make": "Clothes Corp"}, "tags": ["apparel", "clothing"], "ratings": [{"by": "Customer007", "rating": 4}]}`,
			`{"$set": {"details.make": "Kustom Kidz", "tags.1": "rain gear", "ratings.0.rating": 2}}`,
			`{"_id": 100, "details": {"model": "14QQ", "make": "Kustom Kidz"}, "tags": ["apparel", "rain gear"], "ratings": [{"by": "Customer007", "rating": 2}]}`, nil, 1},
		{"new fields in lexicographic order across operators", `{"_id": 1}`,
			`{"$set": {"z": 1, "b": {"y": 1}}, "$inc": {"a": 1}}`, `{"_id": 1, "a": 1, "b": {"y": 1}, "z": 1}`, nil, 1},
		{"numeric fields in numeric order with padding", `{"_id": 1, "a": []}`, `{"$set": {"a.10": 1, "a.2": 2}}`,
			`{"_id": 1, "a": [null, null, 2, null, null, null, null, null, null, null, 1]}`, nil, 1},
		{"unset", `{"_id": 1, "sku": "unknown", "quantity": 2, "instock": true}`, `{"$unset": {"quantity": "", "instock": ""}}`, `{"_id": 1, "sku": "unknown"}`, nil, 1},
		{"inc int32 overflow to long", `{"_id": 1, "a": 2147483647}`, `{"$inc": {"a": 1}}`, `{"_id": 1, "a": {"$numberLong": "2147483648"}}`, nil, 1},
		{"mul decimal", `{"_id": 1, "price": {"$numberDecimal": "10.99"}, "quantity": 25}`, `{"$mul": {"price": {"$numberDecimal": "1.25"}, "quantity": 2}}`,
			`{"_id": 1, "price": {"$numberDecimal": "13.7375"}, "quantity": 50}`, nil, 1},
		{"mul missing field", `{"_id": 2}`, `{"$mul": {"price": {"$numberLong": "100"}}}`, `{"_id": 2, "price": {"$numberLong": "0"}}`, nil, 1},
		{"min no-op", `{"_id": 1, "lowScore": 200}`, `{"$min": {"lowScore": 250}}`, `{"_id": 1, "lowScore": 200}`, nil, 0},
		{"max", `{"_id": 1, "highScore": 800}`, `{"$max": {"highScore": 950}}`, `{"_id": 1, "highScore": 950}`, nil, 1},
		{"rename", `{"_id": 1, "nmae": {"first": "george"}, "mobile": "555"}`, `{"$rename": {"nmae": "name"}}`, `{"_id": 1, "mobile": "555", "name": {"first": "george"}}`, nil, 1},
		{"push each sort slice", `{"_id": 5, "quizzes": [{"wk": 1, "score": 10}, {"wk": 2, "score": 8}, {"wk": 3, "score": 5}, {"wk": 4, "score": 6}]}`,
			`{"$push": {"quizzes": {"$each": [{"wk": 5, "score": 8}, {"wk": 6, "score": 7}, {"wk": 7, "score": 6}], "$sort": {"score": -1}, "$slice": 3}}}`,
			`{"_id": 5, "quizzes": [{"wk": 1, "score": 10}, {"wk": 2, "score": 8}, {"wk": 5, "score": 8}]}`, nil, 1},
		{"push position", `{"_id": 1, "scores": [50, 60, 70, 100]}`, `{"$push": {"scores": {"$each": [20, 30], "$position": -2}}}`, `{"_id": 1, "scores": [50, 60, 20, 30, 70, 100]}`, nil, 1},
		{"addToSet each", `{"_id": 2, "tags": ["electronics", "supplies"]}`, `{"$addToSet": {"tags": {"$each": ["camera", "electronics", "accessories"]}}}`,
			`{"_id": 2, "tags": ["electronics", "supplies", "camera", "accessories"]}`, nil, 1},
		{"addToSet existing", `{"_id": 1, "tags": ["camera"]}`, `{"$addToSet": {"tags": "camera"}}`, `{"_id": 1, "tags": ["camera"]}`, nil, 0},
		{"pop", `{"_id": 1, "scores": [8, 9, 10]}`, `{"$pop": {"scores": -1}}`, `{"_id": 1, "scores": [9, 10]}`, nil, 1},
		{"pull conditions", `{"_id": 1, "fruits": ["apples", "pears", "oranges"], "votes": [3, 5, 6, 7]}`,
			`{"$pull": {"fruits": {"$in": ["apples", "oranges"]}, "votes": {"$gte": 6}}}`, `{"_id": 1, "fruits": ["pears"], "votes": [3, 5]}`, nil, 1},
		{"pull documents", `{"_id": 1, "results": [{"item": "A", "score": 5}, {"item": "B", "score": 8}]}`,
			`{"$pull": {"results": {"score": 8, "item": "B"}}}`, `{"_id": 1, "results": [{"item": "A", "score": 5}]}`, nil, 1},
		{"pullAll", `{"_id": 1, "scores": [0, 2, 5, 5, 1, 0]}`, `{"$pullAll": {"scores": [0, 5]}}`, `{"_id": 1, "scores": [2, 1]}`, nil, 1},
		{"bit", `{"_id": 2, "expdata": {"$numberLong": "3"}}`, `{"$bit": {"expdata": {"or": 5}}}`, `{"_id": 2, "expdata": {"$numberLong": "7"}}`, nil, 1},
		{"all positional", `{"_id": 1, "grades": [85, 82, 80]}`, `{"$inc": {"grades.$[]": 10}}`, `{"_id": 1, "grades": [95, 92, 90]}`, nil, 1},
		{"filtered positional", `{"_id": 1, "grades": [95, 92, 90]}`, `{"$set": {"grades.$[element]": 100}}`, `{"_id": 1, "grades": [100, 100, 90]}`,
			[]string{`{"element": {"$gte": 92}}`}, 1},
		{"nested filtered positional", `{"_id": 0, "a": [{"b": 0, "c": [{"d": 0}, {"d": 1}]}, {"b": 1, "c": [{"d": 0}]}]}`,
			`{"$set": {"a.$[i].c.$[j].d": 2}}`, `{"_id": 0, "a": [{"b": 0, "c": [{"d": 2}, {"d": 1}]}, {"b": 1, "c": [{"d": 0}]}]}`,
			[]string{`{"i.b": 0}`, `{"j.d": 0}`}, 1},
		{"set equal value is not a modification", `{"_id": 1, "a": "x"}`, `{"$set": {"a": "x"}}`, `{"_id": 1, "a": "x"}`, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			coll := newDB(t).Collection("c")
			insertDocs(t, coll, ej(t, c.in))
			opts := options.UpdateOne()
			if c.filters != nil {
				var fs []any
				for _, f := range c.filters {
					fs = append(fs, ej(t, f))
				}
				opts.SetArrayFilters(fs)
			}
			r, err := coll.UpdateOne(ctxT(t), bson.D{}, ej(t, c.update), opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.MatchedCount != 1 || r.ModifiedCount != c.modified {
				t.Fatalf("matched %d modified %d, want 1 %d", r.MatchedCount, r.ModifiedCount, c.modified)
			}
			if got, want := oneDoc(t, coll), ej(t, c.want); !bytes.Equal(got, want) {
				t.Fatalf("\n want %s\n  got %s", want, got)
			}
		})
	}
}

func TestUpdatePositionalFromQuery(t *testing.T) {
	coll := newDB(t).Collection("c")
	insertDocs(t, coll, ej(t, `{"_id": 1, "grades": [85, 80, 80]}`), ej(t, `{"_id": 2, "grades": [{"grade": 80, "mean": 75}, {"grade": 85, "mean": 90}]}`))
	if _, err := coll.UpdateOne(ctxT(t), ej(t, `{"_id": 1, "grades": 80}`), ej(t, `{"$set": {"grades.$": 82}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.UpdateOne(ctxT(t), ej(t, `{"_id": 2, "grades.grade": 85}`), ej(t, `{"$set": {"grades.$.std": 6}}`)); err != nil {
		t.Fatal(err)
	}
	docs := findAll(t, coll, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	for i, want := range []string{`{"_id": 1, "grades": [85, 82, 80]}`, `{"_id": 2, "grades": [{"grade": 80, "mean": 75}, {"grade": 85, "mean": 90, "std": 6}]}`} {
		if !bytes.Equal(docs[i], ej(t, want)) {
			t.Fatalf("\n want %s\n  got %s", ej(t, want), docs[i])
		}
	}
	_, err := coll.UpdateOne(ctxT(t), ej(t, `{"_id": 1}`), ej(t, `{"$set": {"grades.$": 1}}`))
	wantWriteError(t, err, 2, "The positional operator did not find the match needed from the query.")
}

func TestUpdateUpsertsThroughDriver(t *testing.T) {
	coll := newDB(t).Collection("c")
	r, err := coll.UpdateOne(ctxT(t), ej(t, `{"_id": 7, "b.c": 1, "a": 2}`),
		ej(t, `{"$setOnInsert": {"created": true}, "$set": {"n": 1}}`), options.UpdateOne().SetUpsert(true))
	if err != nil || r.UpsertedCount != 1 || r.MatchedCount != 0 || r.ModifiedCount != 0 {
		t.Fatalf("%+v %v", r, err)
	}
	if id, ok := r.UpsertedID.(int32); !ok || id != 7 {
		t.Fatalf("upserted id %#v", r.UpsertedID)
	}
	want := ej(t, `{"_id": 7, "a": 2, "b": {"c": 1}, "created": true, "n": 1}`)
	if got := oneDoc(t, coll); !bytes.Equal(got, want) {
		t.Fatalf("\n want %s\n  got %s", want, got)
	}
	// Matching now: $setOnInsert does nothing, $set is a no-op.
	r, err = coll.UpdateOne(ctxT(t), ej(t, `{"_id": 7}`), ej(t, `{"$setOnInsert": {"created": false}, "$set": {"n": 1}}`), options.UpdateOne().SetUpsert(true))
	if err != nil || r.MatchedCount != 1 || r.ModifiedCount != 0 || r.UpsertedCount != 0 {
		t.Fatalf("%+v %v", r, err)
	}
	// A replacement upsert takes only _id from the query.
	r, err = coll.ReplaceOne(ctxT(t), ej(t, `{"_id": 8, "x": 1}`), ej(t, `{"y": 2}`), options.Replace().SetUpsert(true))
	if err != nil || r.UpsertedCount != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	got := findAll(t, coll, ej(t, `{"_id": 8}`))
	if len(got) != 1 || !bytes.Equal(got[0], ej(t, `{"_id": 8, "y": 2}`)) {
		t.Fatalf("replacement upsert %v", got)
	}
	// Changing the query's _id is an error.
	_, err = coll.UpdateOne(ctxT(t), ej(t, `{"_id": 9}`), ej(t, `{"$set": {"_id": 10}}`), options.UpdateOne().SetUpsert(true))
	wantWriteError(t, err, 66, "Performing an update on the path '_id' would modify the immutable field '_id'")
}

func TestFindOneAndUpdateOperators(t *testing.T) {
	coll := newDB(t).Collection("c")
	insertDocs(t, coll, ej(t, `{"_id": 1, "a": [1, 2, 3], "n": 1}`))
	var after bson.Raw
	err := coll.FindOneAndUpdate(ctxT(t), ej(t, `{"_id": 1}`), ej(t, `{"$pull": {"a": 2}, "$inc": {"n": {"$numberLong": "1"}}}`),
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
	if err != nil {
		t.Fatal(err)
	}
	if want := ej(t, `{"_id": 1, "a": [1, 3], "n": {"$numberLong": "2"}}`); !bytes.Equal(after, want) {
		t.Fatalf("\n want %s\n  got %s", want, after)
	}
	err = coll.FindOneAndUpdate(ctxT(t), ej(t, `{"_id": 1}`), ej(t, `{"$push": {"n": 1}}`)).Err()
	wantCodeMsg(t, err, 2, "The field 'n' must be an array but is of type long in document {_id: 1}")
}

func TestUpdateOperatorErrorsThroughDriver(t *testing.T) {
	coll := newDB(t).Collection("c")
	insertDocs(t, coll, ej(t, `{"_id": 1, "a": "x", "arr": [{"b": 0}], "s": 5}`))
	cases := []struct {
		update  string
		filters []string
		code    int32
		msg     string
	}{
		{`{"$inc": {"a": 1}}`, nil, 14, "Cannot apply $inc to a value of non-numeric type. {_id: 1} has the field 'a' of non-numeric type string"},
		{`{"$set": {"arr.b": 1}}`, nil, 28, "Cannot create field 'b' in element {arr: [ { b: 0 } ]}"},
		{`{"$set": {"s.t": 1}}`, nil, 28, "Cannot create field 't' in element {s: 5}"},
		{`{"$foo": {"a": 1}}`, nil, 9, "Unknown modifier: $foo. Expected a valid update modifier or pipeline-style update specified as an array"},
		{`{"$set": {"a": 1, "a.b": 2}}`, nil, 40, "Updating the path 'a.b' would create a conflict at 'a'"},
		{`{"$set": {"arr.$[i].b": 1}}`, []string{`{"i.b": 0}`, `{"j": 0}`}, 9, "The array filter for identifier 'j' was not used in the update { $set: { arr.$[i].b: 1 } }"},
		{`{"$set": {"arr.$[i]": 1}}`, nil, 2, "No array filter found for identifier 'i' in path 'arr.$[i]'"},
		{`{"$pop": {"a": 1}}`, nil, 14, "Path 'a' contains an element of non-array type 'string'"},
		{`{"$rename": {"a": "a.b"}}`, nil, 2, `The source and target field for $rename must not be on the same path: a: "a.b"`},
	}
	for _, c := range cases {
		opts := options.UpdateOne()
		if c.filters != nil {
			var fs []any
			for _, f := range c.filters {
				fs = append(fs, ej(t, f))
			}
			opts.SetArrayFilters(fs)
		}
		_, err := coll.UpdateOne(ctxT(t), ej(t, `{"_id": 1}`), ej(t, c.update), opts)
		wantWriteError(t, err, c.code, c.msg)
	}
	// Nothing above changed the document.
	if got, want := oneDoc(t, coll), ej(t, `{"_id": 1, "a": "x", "arr": [{"b": 0}], "s": 5}`); !bytes.Equal(got, want) {
		t.Fatalf("document changed: %s", got)
	}
}

// wantWriteError asserts a single write error with code and message.
func wantWriteError(t *testing.T, err error, code int32, msg string) {
	t.Helper()
	var we mongo.WriteException
	if !errors.As(err, &we) || len(we.WriteErrors) != 1 {
		t.Fatalf("want write error %d %q, got %v", code, msg, err)
	}
	if e := we.WriteErrors[0]; int32(e.Code) != code || e.Message != msg {
		t.Fatalf("\n want %d %q\n  got %d %q", code, msg, e.Code, e.Message)
	}
}

// wantCodeMsg asserts a command error with code and a message ending in
// msg (some server versions prefix findAndModify errors with
// "Plan executor error during findAndModify :: caused by :: ").
func wantCodeMsg(t *testing.T, err error, code int32, msg string) {
	t.Helper()
	var ce mongo.CommandError
	if !errors.As(err, &ce) || ce.Code != code || !strings.HasSuffix(ce.Message, msg) {
		t.Fatalf("want command error %d %q, got %#v", code, msg, err)
	}
}

func TestPipelineUpdateThroughDriver(t *testing.T) {
	coll := newDB(t).Collection("c")
	insertDocs(t, coll, ej(t, `{"_id": 1, "student": "Skye", "points": 75, "commentsSemester1": "great at math", "commentsSemester2": "loses temper"}`))
	pipeline := bson.A{
		ej(t, `{"$set": {"status": "Modified", "comments": ["$commentsSemester1", "$commentsSemester2"]}}`),
		ej(t, `{"$unset": ["commentsSemester1", "commentsSemester2"]}`),
	}
	r, err := coll.UpdateOne(ctxT(t), bson.D{}, pipeline)
	if err != nil || r.ModifiedCount != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	want := ej(t, `{"_id": 1, "student": "Skye", "points": 75, "status": "Modified", "comments": ["great at math", "loses temper"]}`)
	if got := oneDoc(t, coll); !bytes.Equal(got, want) {
		t.Fatalf("\n want %s\n  got %s", want, got)
	}
	_, err = coll.UpdateOne(ctxT(t), bson.D{}, bson.A{ej(t, `{"$match": {}}`)})
	wantWriteError(t, err, 72, "$match is not allowed to be used within an update")
}
