package update

import (
	"testing"
)

// Examples from the MongoDB manual pages of each update operator, plus the
// field-order rules of "Update Operators: Behavior".
func TestOperatorExamples(t *testing.T) {
	cases := []struct {
		name, in, update, want string
		changed                bool
	}{
		// $set
		{"set embedded and array elements",
			`{"_id": 100, "quantity": 250, "details": {"model": "14QQ", "make": "Clothes Corp"}, "tags": ["apparel", "clothing"], "ratings": [{"by": "Customer007", "rating": 4}]}`,
			`{"$set": {"details.make": "Kustom Kidz", "tags.1": "rain gear", "ratings.0.rating": 2}}`,
			`{"_id": 100, "quantity": 250, "details": {"model": "14QQ", "make": "Kustom Kidz"}, "tags": ["apparel", "rain gear"], "ratings": [{"by": "Customer007", "rating": 2}]}`, true},
		{"set top-level fields", `{"_id": 100, "quantity": 250, "details": {"model": "14QQ"}}`,
			`{"$set": {"quantity": 500, "details": {"model": "2600", "make": "Fashionaires"}, "tags": ["coats", "outerwear", "clothing"]}}`,
			`{"_id": 100, "quantity": 500, "details": {"model": "2600", "make": "Fashionaires"}, "tags": ["coats", "outerwear", "clothing"]}`, true},
		{"new fields appended in path order, whatever the operator", `{"_id": 1}`,
			`{"$set": {"z": 1, "b": {"y": 1}}, "$inc": {"a": 1}}`, `{"_id": 1, "a": 1, "b": {"y": 1}, "z": 1}`, true},
		{"numeric path parts apply in numeric order", `{"_id": 1, "a": []}`,
			`{"$set": {"a.10": 1, "a.2": 2}}`,
			`{"_id": 1, "a": [null, null, 2, null, null, null, null, null, null, null, 1]}`, true},
		{"set past array end pads with null", `{"a": [1]}`, `{"$set": {"a.3": 5}}`, `{"a": [1, null, null, 5]}`, true},
		{"set creates nested documents", `{"_id": 1}`, `{"$set": {"a.b.c": 1, "a.d": 2}}`, `{"_id": 1, "a": {"b": {"c": 1}, "d": 2}}`, true},
		{"set same value is a no-op", `{"_id": 1, "a": 1}`, `{"$set": {"a": 1}}`, `{"_id": 1, "a": 1}`, false},
		{"set same number other type changes", `{"_id": 1, "a": 1}`, `{"$set": {"a": 1.0}}`, `{"_id": 1, "a": 1.0}`, true},
		{"set _id to its own value", `{"_id": 1, "a": 1}`, `{"$set": {"_id": 1}}`, `{"_id": 1, "a": 1}`, false},
		{"empty operator document", `{"_id": 1}`, `{"$set": {}}`, `{"_id": 1}`, false},
		// $unset
		{"unset fields", `{"_id": 1, "sku": "unknown", "quantity": 2, "instock": true}`,
			`{"$unset": {"quantity": "", "instock": ""}}`, `{"_id": 1, "sku": "unknown"}`, true},
		{"unset array element sets null", `{"a": [1, 2, 3]}`, `{"$unset": {"a.1": 1}}`, `{"a": [1, null, 3]}`, true},
		{"unset missing is a no-op", `{"a": 1}`, `{"$unset": {"b": 1, "a.x.y": 1}}`, `{"a": 1}`, false},
		// $inc
		{"inc", `{"_id": 1, "sku": "abc123", "quantity": 10, "metrics": {"orders": 2, "ratings": 3.5}}`,
			`{"$inc": {"quantity": -2, "metrics.orders": 1}}`,
			`{"_id": 1, "sku": "abc123", "quantity": 8, "metrics": {"orders": 3, "ratings": 3.5}}`, true},
		{"inc int32 overflow widens to long", `{"a": 2147483647}`, `{"$inc": {"a": 1}}`, `{"a": {"$numberLong": "2147483648"}}`, true},
		{"inc int by double", `{"a": 1}`, `{"$inc": {"a": 0.5}}`, `{"a": 1.5}`, true},
		{"inc decimal", `{"a": {"$numberDecimal": "1.1"}}`, `{"$inc": {"a": 2}}`, `{"a": {"$numberDecimal": "3.1"}}`, true},
		{"inc missing creates", `{"_id": 1}`, `{"$inc": {"a.b": {"$numberLong": "5"}}}`, `{"_id": 1, "a": {"b": {"$numberLong": "5"}}}`, true},
		{"inc by zero is a no-op", `{"a": 5}`, `{"$inc": {"a": 0}}`, `{"a": 5}`, false},
		// $mul
		{"mul decimal and int", `{"_id": 1, "item": "Hats", "price": {"$numberDecimal": "10.99"}, "quantity": 25}`,
			`{"$mul": {"price": {"$numberDecimal": "1.25"}, "quantity": 2}}`,
			`{"_id": 1, "item": "Hats", "price": {"$numberDecimal": "13.7375"}, "quantity": 50}`, true},
		{"mul missing field stores zero of the argument type", `{"_id": 2, "item": "Unknown"}`,
			`{"$mul": {"price": {"$numberLong": "100"}}}`, `{"_id": 2, "item": "Unknown", "price": {"$numberLong": "0"}}`, true},
		{"mul mixed types", `{"_id": 3, "item": "Scarf", "price": {"$numberLong": "10"}}`,
			`{"$mul": {"price": 5}}`, `{"_id": 3, "item": "Scarf", "price": {"$numberLong": "50"}}`, true},
		// $min / $max
		{"min lower", `{"_id": 1, "highScore": 800, "lowScore": 200}`, `{"$min": {"lowScore": 150}}`, `{"_id": 1, "highScore": 800, "lowScore": 150}`, true},
		{"min higher no-op", `{"_id": 1, "highScore": 800, "lowScore": 200}`, `{"$min": {"lowScore": 250}}`, `{"_id": 1, "highScore": 800, "lowScore": 200}`, false},
		{"max higher", `{"_id": 1, "highScore": 800, "lowScore": 200}`, `{"$max": {"highScore": 950}}`, `{"_id": 1, "highScore": 950, "lowScore": 200}`, true},
		{"max equal other type no-op", `{"a": 5}`, `{"$max": {"a": 5.0}}`, `{"a": 5}`, false},
		{"max compares across types", `{"a": "x"}`, `{"$max": {"a": 1}}`, `{"a": "x"}`, false},
		{"min dates", `{"d": {"$date": "2013-10-01T05:00:00Z"}}`, `{"$min": {"d": {"$date": "2013-09-25T00:00:00Z"}}}`, `{"d": {"$date": "2013-09-25T00:00:00Z"}}`, true},
		// $rename
		{"rename moves the field to the end", `{"_id": 1, "alias": ["x"], "mobile": "555", "nmae": {"first": "george", "last": "washington"}, "z": 1}`,
			`{"$rename": {"nmae": "name"}}`, `{"_id": 1, "alias": ["x"], "mobile": "555", "z": 1, "name": {"first": "george", "last": "washington"}}`, true},
		{"rename embedded", `{"_id": 1, "name": {"first": "george", "last": "washington"}}`,
			`{"$rename": {"name.first": "name.fname"}}`, `{"_id": 1, "name": {"last": "washington", "fname": "george"}}`, true},
		{"rename over existing keeps destination position", `{"a": 1, "b": 2, "c": 3}`, `{"$rename": {"c": "a"}}`, `{"a": 3, "b": 2}`, true},
		{"rename missing source is a no-op", `{"_id": 1}`, `{"$rename": {"wife": "spouse"}}`, `{"_id": 1}`, false},
		// $push
		{"push", `{"_id": 1, "scores": [44, 78, 38, 80]}`, `{"$push": {"scores": 89}}`, `{"_id": 1, "scores": [44, 78, 38, 80, 89]}`, true},
		{"push each", `{"_id": 1, "scores": [44]}`, `{"$push": {"scores": {"$each": [90, 92, 85]}}}`, `{"_id": 1, "scores": [44, 90, 92, 85]}`, true},
		{"push each sort slice", `{"_id": 5, "quizzes": [{"wk": 1, "score": 10}, {"wk": 2, "score": 8}, {"wk": 3, "score": 5}, {"wk": 4, "score": 6}]}`,
			`{"$push": {"quizzes": {"$each": [{"wk": 5, "score": 8}, {"wk": 6, "score": 7}, {"wk": 7, "score": 6}], "$sort": {"score": -1}, "$slice": 3}}}`,
			`{"_id": 5, "quizzes": [{"wk": 1, "score": 10}, {"wk": 2, "score": 8}, {"wk": 5, "score": 8}]}`, true},
		{"push position 0", `{"_id": 1, "scores": [100]}`, `{"$push": {"scores": {"$each": [50, 60, 70], "$position": 0}}}`, `{"_id": 1, "scores": [50, 60, 70, 100]}`, true},
		{"push negative position", `{"_id": 1, "scores": [50, 60, 70, 100]}`, `{"$push": {"scores": {"$each": [20, 30], "$position": -2}}}`, `{"_id": 1, "scores": [50, 60, 20, 30, 70, 100]}`, true},
		{"push sort whole values", `{"a": [3, 1]}`, `{"$push": {"a": {"$each": [2], "$sort": 1}}}`, `{"a": [1, 2, 3]}`, true},
		{"push slice negative", `{"a": [1, 2, 3]}`, `{"$push": {"a": {"$each": [4], "$slice": -2}}}`, `{"a": [3, 4]}`, true},
		{"push creates array", `{"_id": 1}`, `{"$push": {"a": {"$each": [2, 1], "$sort": -1}}}`, `{"_id": 1, "a": [2, 1]}`, true},
		{"push empty each is a no-op", `{"a": [1]}`, `{"$push": {"a": {"$each": []}}}`, `{"a": [1]}`, false},
		{"push object without $each", `{"a": []}`, `{"$push": {"a": {"$slice": 1}}}`, `{"a": [{"$slice": 1}]}`, true},
		// $addToSet
		{"addToSet array as one element", `{"_id": 1, "letters": ["a", "b"]}`, `{"$addToSet": {"letters": ["c", "d"]}}`, `{"_id": 1, "letters": ["a", "b", ["c", "d"]]}`, true},
		{"addToSet new", `{"tags": ["electronics", "camera"]}`, `{"$addToSet": {"tags": "accessories"}}`, `{"tags": ["electronics", "camera", "accessories"]}`, true},
		{"addToSet existing no-op", `{"tags": ["electronics", "camera"]}`, `{"$addToSet": {"tags": "camera"}}`, `{"tags": ["electronics", "camera"]}`, false},
		{"addToSet each", `{"_id": 2, "item": "cable", "tags": ["electronics", "supplies"]}`,
			`{"$addToSet": {"tags": {"$each": ["camera", "electronics", "accessories"]}}}`,
			`{"_id": 2, "item": "cable", "tags": ["electronics", "supplies", "camera", "accessories"]}`, true},
		{"addToSet equal numbers of other types", `{"a": [1]}`, `{"$addToSet": {"a": {"$each": [1.0, 2, 2.0]}}}`, `{"a": [1, 2]}`, true},
		// $pop / $pullAll / $pull (equality)
		{"pop first", `{"_id": 1, "scores": [8, 9, 10]}`, `{"$pop": {"scores": -1}}`, `{"_id": 1, "scores": [9, 10]}`, true},
		{"pop last", `{"_id": 1, "scores": [9, 10]}`, `{"$pop": {"scores": 1}}`, `{"_id": 1, "scores": [9]}`, true},
		{"pop empty no-op", `{"a": []}`, `{"$pop": {"a": 1}}`, `{"a": []}`, false},
		{"pullAll", `{"_id": 1, "scores": [0, 2, 5, 5, 1, 0]}`, `{"$pullAll": {"scores": [0, 5]}}`, `{"_id": 1, "scores": [2, 1]}`, true},
		{"pull value", `{"vegetables": ["carrots", "celery", "squash", "carrots"]}`, `{"$pull": {"vegetables": "carrots"}}`, `{"vegetables": ["celery", "squash"]}`, true},
		{"pull array value", `{"a": [[1, 2], [1], 1]}`, `{"$pull": {"a": [1, 2]}}`, `{"a": [[1], 1]}`, true},
		// $bit
		{"bit and", `{"_id": 1, "expdata": 13}`, `{"$bit": {"expdata": {"and": 10}}}`, `{"_id": 1, "expdata": 8}`, true},
		{"bit or long", `{"_id": 2, "expdata": {"$numberLong": "3"}}`, `{"$bit": {"expdata": {"or": 5}}}`, `{"_id": 2, "expdata": {"$numberLong": "7"}}`, true},
		{"bit xor long", `{"_id": 3, "expdata": {"$numberLong": "1"}}`, `{"$bit": {"expdata": {"xor": 5}}}`, `{"_id": 3, "expdata": {"$numberLong": "4"}}`, true},
		{"bit missing", `{"_id": 3}`, `{"$bit": {"x": {"or": 5}}}`, `{"_id": 3, "x": 5}`, true},
		// $[] and nested
		{"all positional", `{"_id": 1, "grades": [85, 82, 80]}`, `{"$inc": {"grades.$[]": 10}}`, `{"_id": 1, "grades": [95, 92, 90]}`, true},
		{"all positional documents", `{"_id": 0, "a": [{"b": 0}, {"b": 1}]}`, `{"$set": {"a.$[].b": 2}}`, `{"_id": 0, "a": [{"b": 2}, {"b": 2}]}`, true},
		{"all positional unset", `{"a": [0, 1]}`, `{"$unset": {"a.$[]": true}}`, `{"a": [null, null]}`, true},
		{"all positional push", `{"_id": 0, "a": [[0, 1], [2, 3]]}`, `{"$push": {"a.$[]": 4}}`, `{"_id": 0, "a": [[0, 1, 4], [2, 3, 4]]}`, true},
		{"setOnInsert ignored on update", `{"_id": 1}`, `{"$setOnInsert": {"a": 1}}`, `{"_id": 1}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, changed := applyT(t, c.update, c.in)
			assertDoc(t, c.want, out)
			if changed != c.changed {
				t.Fatalf("changed = %v, want %v", changed, c.changed)
			}
		})
	}
}

func TestCurrentDate(t *testing.T) {
	out, changed := applyT(t,
		`{"$currentDate": {"lastModified": true, "cancellation.date": {"$type": "timestamp"}}, "$set": {"cancellation.reason": "user request", "status": "D"}}`,
		`{"_id": 1, "status": "a", "lastModified": {"$date": "2013-10-02T01:11:18.965Z"}}`)
	assertDoc(t, `{"_id": 1, "status": "D", "lastModified": {"$date": "2024-05-06T07:08:09Z"}, "cancellation": {"date": {"$timestamp": {"t": 1700000000, "i": 7}}, "reason": "user request"}}`, out)
	if !changed {
		t.Fatal("changed = false")
	}
}

func TestPositional(t *testing.T) {
	u := compileT(t, `{"$set": {"grades.$": 82}}`, Options{})
	ctx := ctxNoMatch()
	ctx.MatchPos = 1
	out, changed, err := u.Apply(doc(t, `{"_id": 1, "grades": [85, 80, 80]}`), ctx)
	if err != nil || !changed {
		t.Fatalf("err=%v changed=%v", err, changed)
	}
	assertDoc(t, `{"_id": 1, "grades": [85, 82, 80]}`, out)

	// "$" merged with an explicit path to the same element.
	u = compileT(t, `{"$set": {"a.$.x": 1, "a.1.y": 2}}`, Options{})
	out, _, err = u.Apply(doc(t, `{"a": [{}, {}]}`), ctx)
	if err != nil {
		t.Fatal(err)
	}
	assertDoc(t, `{"a": [{}, {"x": 1, "y": 2}]}`, out)

	u = compileT(t, `{"$set": {"a.$": 1, "a.1": 2}}`, Options{})
	_, _, err = u.Apply(doc(t, `{"a": [0, 0]}`), ctx)
	assertErr(t, err, 40, "Update created a conflict at 'a.1'")

	_, _, err = u.Apply(doc(t, `{"a": [0, 0]}`), ctxNoMatch())
	assertErr(t, err, 2, "The positional operator did not find the match needed from the query.")
}
