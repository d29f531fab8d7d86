package expr

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
)

func TestFieldPathsAndVariables(t *testing.T) {
	runEvalCases(t, []exprCase{
		{expr: `"$a"`, doc: `{"a": 1}`, want: `1`},
		{expr: `"$a.b"`, doc: `{"a": {"b": "x"}}`, want: `"x"`},
		{name: "missing", expr: `"$a.b"`, doc: `{"a": 5}`, want: ``},
		{name: "array of docs maps the path", expr: `"$a.b"`, doc: `{"a": [{"b": 1}, {"c": 2}, {"b": 3}, 7]}`, want: `[1, 3]`},
		{name: "nested arrays nest", expr: `"$a.b.c"`, doc: `{"a": [{"b": [{"c": 1}, {"c": 2}]}, {"b": {"c": 3}}]}`, want: `[[1, 2], 3]`},
		{name: "numeric component is a field name", expr: `"$a.0"`, doc: `{"a": [10, 20]}`, want: `[]`},
		{expr: `"$$ROOT"`, doc: `{"a": 1}`, want: `{"a": 1}`},
		{expr: `"$$CURRENT.a"`, doc: `{"a": 2}`, want: `2`},
		{expr: `"$$REMOVE"`, want: ``},
		{expr: `"$$NOW"`, want: `{"$date": "2024-05-06T07:08:09Z"}`},
		{name: "undefined variable", expr: `"$$nope"`, code: 17276},
		{name: "bad variable name", expr: `"$$Nope"`, code: 16870},
		{name: "lone dollar", expr: `"$"`, code: 16872},
		{name: "empty path component", expr: `"$a..b"`, code: 15998},
		{name: "literal string", expr: `"abc"`, want: `"abc"`},
		{expr: `{"$literal": "$a"}`, doc: `{"a": 1}`, want: `"$a"`},
		{expr: `{"$literal": {"$add": [1, 2]}}`, want: `{"$add": [1, 2]}`},
		{name: "object expression drops missing", expr: `{"x": "$a", "y": "$nope", "z": {"$add": [1, 1]}}`, doc: `{"a": 1}`, want: `{"x": 1, "z": 2}`},
		{name: "array expression turns missing into null", expr: `["$a", "$nope"]`, doc: `{"a": 1}`, want: `[1, null]`},
		{name: "unknown operator", expr: `{"$foo": 1}`, code: 168},
		{name: "two keys in operator doc", expr: `{"$add": [1], "$sub": 2}`, code: 15983},
		{name: "dollar key in object", expr: `{"a": 1, "$b": 2}`, code: 16410},
		{name: "dotted key in object", expr: `{"a.b": 1}`, code: 16412},
		{name: "arity", expr: `{"$subtract": [1]}`, code: 16020},
	})
}

func TestExpressionValueSurvivesByteExact(t *testing.T) {
	doc := docJ(t, `{"a": {"$numberDecimal": "1.50"}, "b": {"$numberDouble": "-0.0"}, "c": {"$minKey": 1}}`)
	for _, f := range []string{"a", "b", "c"} {
		e, err := Compile(bsonkit.String("$" + f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Eval(&Ctx{Root: doc})
		if err != nil {
			t.Fatal(err)
		}
		if !sameValue(got, doc.Lookup(f)) {
			t.Fatalf("%s: got %s want %s", f, render(got), render(doc.Lookup(f)))
		}
	}
}

func TestUserVariables(t *testing.T) {
	e, err := Compile(valJ(t, `{"$add": ["$$x", "$$y.z"]}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Eval(&Ctx{Root: docJ(t, `{}`), Vars: map[string]bsoncore.Value{
		"x": bsonkit.Int32(2), "y": valJ(t, `{"z": 40}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !sameValue(got, bsonkit.Int32(42)) {
		t.Fatalf("got %s", render(got))
	}
}

func TestArithmetic(t *testing.T) {
	runEvalCases(t, []exprCase{
		{expr: `{"$add": ["$price", "$fee"]}`, doc: `{"price": 10, "fee": 2}`, want: `12`},
		{name: "int overflow widens to long", expr: `{"$add": [2147483647, 1]}`, want: `{"$numberLong": "2147483648"}`},
		{name: "long overflow widens to double", expr: `{"$add": [{"$numberLong": "9223372036854775807"}, 1]}`, want: `9.223372036854775808e18`},
		{name: "int plus double", expr: `{"$add": [1, 0.5]}`, want: `1.5`},
		{name: "decimal", expr: `{"$add": [{"$numberDecimal": "1.10"}, 2]}`, want: `{"$numberDecimal": "3.10"}`},
		{name: "date plus ms", expr: `{"$add": ["$d", 86400000]}`, doc: `{"d": {"$date": "2014-03-01T08:00:00Z"}}`, want: `{"$date": "2014-03-02T08:00:00Z"}`},
		{name: "null", expr: `{"$add": [1, null]}`, want: `null`},
		{name: "missing", expr: `{"$add": [1, "$x"]}`, want: `null`},
		{name: "string", expr: `{"$add": [1, "a"]}`, code: 14},
		{name: "two dates", expr: `{"$add": ["$d", "$d"]}`, doc: `{"d": {"$date": "2014-03-01T08:00:00Z"}}`, code: 16612},
		{expr: `{"$subtract": [5, 7]}`, want: `-2`},
		{expr: `{"$subtract": [5.5, 1]}`, want: `4.5`},
		{name: "date minus date", expr: `{"$subtract": ["$a", "$b"]}`, doc: `{"a": {"$date": "2014-03-01T08:00:00Z"}, "b": {"$date": "2014-03-01T07:00:00Z"}}`, want: `{"$numberLong": "3600000"}`},
		{name: "date minus ms", expr: `{"$subtract": ["$a", 1000]}`, doc: `{"a": {"$date": "2014-03-01T08:00:00Z"}}`, want: `{"$date": "2014-03-01T07:59:59Z"}`},
		{name: "number minus date", expr: `{"$subtract": [1, "$a"]}`, doc: `{"a": {"$date": "2014-03-01T08:00:00Z"}}`, code: 14},
		{expr: `{"$multiply": ["$price", "$quantity"]}`, doc: `{"price": 10, "quantity": 2}`, want: `20`},
		{name: "multiply overflow", expr: `{"$multiply": [65536, 65536]}`, want: `{"$numberLong": "4294967296"}`},
		{expr: `{"$multiply": [2, 1.5]}`, want: `3.0`},
		{expr: `{"$divide": ["$hours", 8]}`, doc: `{"hours": 80}`, want: `10.0`},
		{name: "divide by zero", expr: `{"$divide": [1, 0]}`, code: 2},
		{name: "divide string", expr: `{"$divide": ["a", 1]}`, code: 14},
		{expr: `{"$divide": [{"$numberDecimal": "1"}, 3]}`, want: `{"$numberDecimal": "0.3333333333333333333333333333333333"}`},
		{expr: `{"$divide": [{"$numberDecimal": "10"}, 4]}`, want: `{"$numberDecimal": "2.5"}`},
		{expr: `{"$mod": ["$hours", "$tasks"]}`, doc: `{"hours": 80, "tasks": 7}`, want: `3`},
		{expr: `{"$mod": [-5, 3]}`, want: `-2`},
		{expr: `{"$mod": [5.5, 2]}`, want: `1.5`},
		{name: "mod by zero", expr: `{"$mod": [5, 0]}`, code: 16610},
		{expr: `{"$abs": -5}`, want: `5`},
		{expr: `{"$abs": -2147483648}`, want: `{"$numberLong": "2147483648"}`},
		{expr: `{"$abs": -1.5}`, want: `1.5`},
		{expr: `{"$abs": null}`, want: `null`},
		{expr: `{"$floor": 1.5}`, want: `1.0`},
		{expr: `{"$floor": -2.8}`, want: `-3.0`},
		{expr: `{"$floor": 7}`, want: `7`},
		{expr: `{"$ceil": -2.8}`, want: `-2.0`},
		{expr: `{"$ceil": {"$numberDecimal": "1.2"}}`, want: `{"$numberDecimal": "2"}`},
		{expr: `{"$round": [19.25, 1]}`, want: `19.2`},
		{expr: `{"$round": [-45.39, 1]}`, want: `-45.4`},
		{expr: `{"$round": [10.5, 0]}`, want: `10.0`},
		{expr: `{"$round": [11.5, 0]}`, want: `12.0`},
		{expr: `{"$round": [19.25, -1]}`, want: `20.0`},
		{expr: `{"$round": [1234, -2]}`, want: `1200`},
		{expr: `{"$trunc": [19.25, 1]}`, want: `19.2`},
		{expr: `{"$trunc": [-45.39, 1]}`, want: `-45.3`},
		{expr: `{"$round": [{"$numberDecimal": "1.5"}, 2]}`, want: `{"$numberDecimal": "1.50"}`},
		{expr: `{"$sqrt": 25}`, want: `5.0`},
		{expr: `{"$pow": [5, 2]}`, want: `25`},
		{expr: `{"$pow": [5, -2]}`, want: `0.04`},
		{expr: `{"$pow": [2, 40]}`, want: `{"$numberLong": "1099511627776"}`},
		{expr: `{"$exp": 0}`, want: `1.0`},
		{expr: `{"$bitAnd": [12, 10]}`, want: `8`},
		{expr: `{"$bitOr": [12, {"$numberLong": "3"}]}`, want: `{"$numberLong": "15"}`},
		{expr: `{"$bitXor": [12, 10]}`, want: `6`},
		{expr: `{"$bitNot": 0}`, want: `-1`},
		{expr: `{"$bitAnd": [1, 1.0]}`, code: 14},
		{expr: `{"$bitOr": [1, null]}`, want: `null`},
	})
}

func TestComparisonAndLogic(t *testing.T) {
	runEvalCases(t, []exprCase{
		{expr: `{"$eq": [1, 1.0]}`, want: `true`},
		{expr: `{"$eq": ["$x", null]}`, want: `false`},
		{expr: `{"$lt": ["$x", null]}`, want: `true`},
		{expr: `{"$gt": ["a", 5]}`, want: `true`},
		{expr: `{"$cmp": ["$qty", 250]}`, doc: `{"qty": 300}`, want: `1`},
		{expr: `{"$cmp": ["$qty", 250]}`, doc: `{"qty": 100}`, want: `-1`},
		{expr: `{"$ne": ["$qty", 250]}`, doc: `{"qty": 250}`, want: `false`},
		{expr: `{"$and": [1, "green"]}`, want: `true`},
		{expr: `{"$and": [null, true]}`, want: `false`},
		{expr: `{"$and": [0, true]}`, want: `false`},
		{expr: `{"$and": []}`, want: `true`},
		{expr: `{"$or": [false, 0, "$x"]}`, want: `false`},
		{expr: `{"$or": [false, [false]]}`, want: `true`},
		{expr: `{"$not": [[false]]}`, want: `false`},
		{expr: `{"$not": [0]}`, want: `true`},
		{expr: `{"$cond": {"if": {"$gte": ["$qty", 250]}, "then": 30, "else": 20}}`, doc: `{"qty": 300}`, want: `30`},
		{expr: `{"$cond": [{"$gte": ["$qty", 250]}, 30, 20]}`, doc: `{"qty": 100}`, want: `20`},
		{name: "cond missing else", expr: `{"$cond": {"if": true, "then": 1}}`, code: 17082},
		{name: "cond unknown", expr: `{"$cond": {"if": true, "then": 1, "else": 2, "x": 1}}`, code: 17083},
		{expr: `{"$ifNull": ["$description", "Unspecified"]}`, doc: `{"description": null}`, want: `"Unspecified"`},
		{expr: `{"$ifNull": ["$description", "Unspecified"]}`, doc: `{"description": "x"}`, want: `"x"`},
		{expr: `{"$ifNull": ["$a", "$b", "last"]}`, doc: `{"b": 7}`, want: `7`},
		{name: "ifNull all null returns last", expr: `{"$ifNull": ["$a", "$b"]}`, want: ``},
		{expr: `{"$switch": {"branches": [{"case": {"$gte": ["$s", 90]}, "then": "A"}, {"case": {"$gte": ["$s", 80]}, "then": "B"}], "default": "F"}}`, doc: `{"s": 85}`, want: `"B"`},
		{name: "switch no match", expr: `{"$switch": {"branches": [{"case": false, "then": 1}]}}`, code: 40066},
	})
}

func TestArrayOperators(t *testing.T) {
	fav := `{"favorites": ["chocolate", "cake", "butter", "apples"]}`
	runEvalCases(t, []exprCase{
		{expr: `{"$arrayElemAt": ["$favorites", 0]}`, doc: fav, want: `"chocolate"`},
		{expr: `{"$arrayElemAt": ["$favorites", -1]}`, doc: fav, want: `"apples"`},
		{expr: `{"$arrayElemAt": ["$favorites", 10]}`, doc: fav, want: ``},
		{expr: `{"$arrayElemAt": ["$favorites", 1.5]}`, doc: fav, code: 28691},
		{expr: `{"$arrayElemAt": ["abc", 0]}`, code: 28689},
		{expr: `{"$first": "$favorites"}`, doc: fav, want: `"chocolate"`},
		{expr: `{"$last": "$favorites"}`, doc: fav, want: `"apples"`},
		{expr: `{"$first": "$none"}`, want: `null`},
		{expr: `{"$first": [[]]}`, want: ``},
		{expr: `{"$concatArrays": [["hello", " "], [["world"], "again"]]}`, want: `["hello", " ", ["world"], "again"]`},
		{expr: `{"$concatArrays": [[1], "$none"]}`, want: `null`},
		{expr: `{"$concatArrays": [[1], 2]}`, code: 28664},
		{expr: `{"$slice": [[1, 2, 3], 1, 1]}`, want: `[2]`},
		{expr: `{"$slice": [[1, 2, 3], -2]}`, want: `[2, 3]`},
		{expr: `{"$slice": [[1, 2, 3], 15, 2]}`, want: `[]`},
		{expr: `{"$slice": [[1, 2, 3], -15, 2]}`, want: `[1, 2]`},
		{expr: `{"$slice": [[1, 2, 3], 0, 0]}`, code: 28729},
		{expr: `{"$size": "$favorites"}`, doc: fav, want: `4`},
		{expr: `{"$size": "$none"}`, code: 17124},
		{expr: `{"$in": ["bananas", ["apples", "bananas"]]}`, want: `true`},
		{expr: `{"$in": [2, [1.0, 2.0]]}`, want: `true`},
		{expr: `{"$in": [1, "$none"]}`, code: 40081},
		{expr: `{"$indexOfArray": [["a", "abc"], "a"]}`, want: `0`},
		{expr: `{"$indexOfArray": [["a", "abc", "de", ["de"]], ["de"]]}`, want: `3`},
		{expr: `{"$indexOfArray": [[1, 2], 5]}`, want: `-1`},
		{expr: `{"$indexOfArray": [["a", "abc", "b"], "b", 0, 1]}`, want: `-1`},
		{expr: `{"$indexOfArray": [[null, null], null]}`, want: `0`},
		{expr: `{"$indexOfArray": [null, "foo"]}`, want: `null`},
		{expr: `{"$indexOfArray": ["foo", "foo"]}`, code: 40090},
		{expr: `{"$isArray": ["$favorites"]}`, doc: fav, want: `true`},
		{expr: `{"$isArray": "$none"}`, want: `false`},
		{expr: `{"$range": [0, 10, 2]}`, want: `[0, 2, 4, 6, 8]`},
		{expr: `{"$range": [10, 0, -2]}`, want: `[10, 8, 6, 4, 2]`},
		{expr: `{"$range": [0, 10, -2]}`, want: `[]`},
		{expr: `{"$range": [0, 3]}`, want: `[0, 1, 2]`},
		{expr: `{"$range": [0, 3, 0]}`, code: 34449},
		{expr: `{"$reverseArray": [[1, 2, 3]]}`, want: `[3, 2, 1]`},
		{expr: `{"$reverseArray": "$none"}`, want: `null`},
		{expr: `{"$setUnion": [["a", "b", "a"], ["b", "c"]]}`, want: `["a", "b", "c"]`},
		{expr: `{"$setIntersection": [["a", "b", "a"], ["b", "a"]]}`, want: `["a", "b"]`},
		{expr: `{"$setDifference": [["a", "b", "a"], ["b"]]}`, want: `["a"]`},
		{expr: `{"$setEquals": [["a", "b", "a"], ["b", "a"]]}`, want: `true`},
		{expr: `{"$setIsSubset": [["a"], ["b", "a"]]}`, want: `true`},
		{expr: `{"$anyElementTrue": [[0, false, 1]]}`, want: `true`},
		{expr: `{"$allElementsTrue": [[1, [], "x"]]}`, want: `true`},
		{expr: `{"$max": [1, 5, null, 3]}`, want: `5`},
		{expr: `{"$max": "$quizzes"}`, doc: `{"quizzes": [10, 6, 7]}`, want: `10`},
		{expr: `{"$min": "$quizzes"}`, doc: `{"quizzes": [10, 6, 7]}`, want: `6`},
		{expr: `{"$min": "$none"}`, want: `null`},
		{expr: `{"$sum": "$quizzes"}`, doc: `{"quizzes": [10, 6, "x", 7]}`, want: `23`},
		{expr: `{"$avg": "$quizzes"}`, doc: `{"quizzes": [10, 6, 8]}`, want: `8.0`},
		{expr: `{"$avg": []}`, want: `null`},
	})
}

func TestVariableOperators(t *testing.T) {
	items := `{"items": [{"item_id": 43, "quantity": 2, "price": 10}, {"item_id": 2, "quantity": 1, "price": 240}, {"item_id": 23, "quantity": 3, "price": 110}]}`
	runEvalCases(t, []exprCase{
		{expr: `{"$filter": {"input": "$items", "as": "item", "cond": {"$gte": ["$$item.price", 100]}}}`, doc: items,
			want: `[{"item_id": 2, "quantity": 1, "price": 240}, {"item_id": 23, "quantity": 3, "price": 110}]`},
		{expr: `{"$filter": {"input": "$items", "cond": {"$gte": ["$$this.price", 100]}, "limit": 1}}`, doc: items,
			want: `[{"item_id": 2, "quantity": 1, "price": 240}]`},
		{expr: `{"$filter": {"input": "$none", "cond": true}}`, want: `null`},
		{expr: `{"$filter": {"input": 1, "cond": true}}`, code: 28651},
		{expr: `{"$filter": {"input": [], "cond": true, "bogus": 1}}`, code: 28647},
		{expr: `{"$map": {"input": "$quizzes", "as": "grade", "in": {"$add": ["$$grade", 2]}}}`, doc: `{"quizzes": [5, 6, 7]}`, want: `[7, 8, 9]`},
		{expr: `{"$map": {"input": [1, 2], "in": "$$this.x"}}`, want: `[null, null]`},
		{expr: `{"$map": {"input": "x", "in": 1}}`, code: 16883},
		{expr: `{"$reduce": {"input": ["a", "b", "c"], "initialValue": "", "in": {"$concat": ["$$value", "$$this"]}}}`, want: `"abc"`},
		{expr: `{"$reduce": {"input": [1, 2, 3, 4], "initialValue": {"sum": 5, "product": 2}, "in": {"sum": {"$add": ["$$value.sum", "$$this"]}, "product": {"$multiply": ["$$value.product", "$$this"]}}}}`,
			want: `{"sum": 15, "product": 48}`},
		{expr: `{"$reduce": {"input": [[3, 4], [5, 6]], "initialValue": [1, 2], "in": {"$concatArrays": ["$$value", "$$this"]}}}`, want: `[1, 2, 3, 4, 5, 6]`},
		{expr: `{"$let": {"vars": {"total": {"$add": ["$price", "$tax"]}, "discounted": {"$cond": {"if": "$applyDiscount", "then": 0.9, "else": 1}}}, "in": {"$multiply": ["$$total", "$$discounted"]}}}`,
			doc: `{"price": 10, "tax": 0.5, "applyDiscount": true}`, want: `9.450000000000001`},
		{name: "let shadows", expr: `{"$let": {"vars": {"x": 1}, "in": {"$let": {"vars": {"x": 2}, "in": "$$x"}}}}`, want: `2`},
		{name: "let scope ends", expr: `{"$add": [{"$let": {"vars": {"x": 1}, "in": "$$x"}}, "$$x"]}`, code: 17276},
		{name: "let bad name", expr: `{"$let": {"vars": {"X": 1}, "in": 1}}`, code: 16870},
	})
}

func TestObjectOperators(t *testing.T) {
	runEvalCases(t, []exprCase{
		{expr: `{"$mergeObjects": [{"a": 1, "b": 1}, null, {"b": 2, "c": 3}]}`, want: `{"a": 1, "b": 2, "c": 3}`},
		{expr: `{"$mergeObjects": "$none"}`, want: `{}`},
		{expr: `{"$mergeObjects": [1]}`, code: 40400},
		{expr: `{"$objectToArray": "$dimensions"}`, doc: `{"dimensions": {"l": 25, "w": 10, "uom": "cm"}}`,
			want: `[{"k": "l", "v": 25}, {"k": "w", "v": 10}, {"k": "uom", "v": "cm"}]`},
		{expr: `{"$objectToArray": 1}`, code: 40390},
		{expr: `{"$arrayToObject": [[["item", "abc123"], ["qty", 25]]]}`, want: `{"item": "abc123", "qty": 25}`},
		{expr: `{"$arrayToObject": [[{"k": "item", "v": "abc123"}, {"k": "qty", "v": 25}, {"k": "item", "v": "x"}]]}`, want: `{"item": "x", "qty": 25}`},
		{expr: `{"$arrayToObject": [[1]]}`, code: 40398},
		{expr: `{"$getField": "price.usd"}`, doc: `{"price.usd": 45, "price": {"usd": 1}}`, want: `45`},
		{expr: `{"$getField": {"field": {"$literal": "$price"}, "input": "$$CURRENT"}}`, doc: `{"$price": 7}`, want: `7`},
		{expr: `{"$getField": {"field": "x", "input": "$none"}}`, want: ``},
		{expr: `{"$getField": {"field": "x", "input": null}}`, want: `null`},
		{expr: `{"$setField": {"field": "price.usd", "input": "$$ROOT", "value": 5}}`, doc: `{"_id": 1, "price.usd": 3}`, want: `{"_id": 1, "price.usd": 5}`},
		{expr: `{"$setField": {"field": "new", "input": {"a": 1}, "value": 5}}`, want: `{"a": 1, "new": 5}`},
		{expr: `{"$setField": {"field": "a", "input": {"a": 1, "b": 2}, "value": "$$REMOVE"}}`, want: `{"b": 2}`},
		{expr: `{"$unsetField": {"field": "a", "input": {"a": 1, "b": 2}}}`, want: `{"b": 2}`},
		{expr: `{"$setField": {"field": "$a", "input": {}, "value": 1}}`, code: 4161108},
		{expr: `{"$zip": {"inputs": [["a", "b"], [1, 2, 3]]}}`, want: `[["a", 1], ["b", 2]]`},
		{expr: `{"$zip": {"inputs": [["a"], [1, 2]], "useLongestLength": true, "defaults": ["z", 0]}}`, want: `[["a", 1], ["z", 2]]`},
	})
}

func TestStringOperators(t *testing.T) {
	runEvalCases(t, []exprCase{
		{expr: `{"$concat": ["$item", " - ", "$description"]}`, doc: `{"item": "ABC1", "description": "product 1"}`, want: `"ABC1 - product 1"`},
		{expr: `{"$concat": ["a", null]}`, want: `null`},
		{expr: `{"$concat": ["a", 1]}`, code: 16702},
		{expr: `{"$toUpper": "abc1"}`, want: `"ABC1"`},
		{expr: `{"$toLower": "PRODUCT 1"}`, want: `"product 1"`},
		{expr: `{"$toLower": null}`, want: `""`},
		{expr: `{"$toUpper": 12.5}`, want: `"12.5"`},
		{expr: `{"$strLenBytes": "cafétéria"}`, want: `11`},
		{expr: `{"$strLenCP": "cafétéria"}`, want: `9`},
		{expr: `{"$strLenBytes": "$none"}`, code: 34473},
		{expr: `{"$split": ["June-15-2013", "-"]}`, want: `["June", "15", "2013"]`},
		{expr: `{"$split": ["abc", ""]}`, code: 40087},
		{expr: `{"$split": [null, "-"]}`, want: `null`},
		{expr: `{"$substr": ["ABC1", 0, 2]}`, want: `"AB"`},
		{expr: `{"$substrBytes": ["ABC1", 2, -1]}`, want: `"C1"`},
		{expr: `{"$substrBytes": ["ABC1", 9, 1]}`, want: `""`},
		{expr: `{"$substrBytes": ["ABC1", -1, 1]}`, code: 50752},
		{expr: `{"$substrBytes": ["cafétéria", 0, 4]}`, code: 28657},
		{expr: `{"$substrCP": ["cafétéria", 0, 4]}`, want: `"café"`},
		{expr: `{"$indexOfBytes": ["cafeteria", "e"]}`, want: `3`},
		{expr: `{"$indexOfCP": ["cafétéria", "é", 4]}`, want: `5`},
		{expr: `{"$indexOfBytes": ["abc", "z"]}`, want: `-1`},
		{expr: `{"$strcasecmp": ["abc", "ABC"]}`, want: `0`},
		{expr: `{"$trim": {"input": "  x y  "}}`, want: `"x y"`},
		{expr: `{"$ltrim": {"input": "xxabc", "chars": "x"}}`, want: `"abc"`},
		{expr: `{"$replaceAll": {"input": "a-b-c", "find": "-", "replacement": "+"}}`, want: `"a+b+c"`},
		{expr: `{"$replaceOne": {"input": "a-b-c", "find": "-", "replacement": "+"}}`, want: `"a+b-c"`},
		{expr: `{"$regexMatch": {"input": "Hello", "regex": "^h", "options": "i"}}`, want: `true`},
		{expr: `{"$regexFind": {"input": "abc123", "regex": "([0-9])([0-9])"}}`, want: `{"match": "12", "idx": 3, "captures": ["1", "2"]}`},
		{expr: `{"$regexFindAll": {"input": "a1b2", "regex": "[0-9]"}}`, want: `[{"match": "1", "idx": 1, "captures": []}, {"match": "2", "idx": 3, "captures": []}]`},
	})
}

func TestTypeAndConversion(t *testing.T) {
	runEvalCases(t, []exprCase{
		{expr: `{"$type": "$a"}`, doc: `{"a": "x"}`, want: `"string"`},
		{expr: `{"$type": "$a"}`, doc: `{"a": [1]}`, want: `"array"`},
		{expr: `{"$type": "$a"}`, doc: `{"a": {"$numberLong": "1"}}`, want: `"long"`},
		{expr: `{"$type": "$a"}`, want: `"missing"`},
		{expr: `{"$isNumber": "$a"}`, doc: `{"a": {"$numberDecimal": "1"}}`, want: `true`},
		{expr: `{"$toString": 2.5}`, want: `"2.5"`},
		{expr: `{"$toString": 1e20}`, want: `"1e+20"`},
		{expr: `{"$toString": 100.0}`, want: `"100"`},
		{expr: `{"$toString": {"$numberDecimal": "1.50"}}`, want: `"1.50"`},
		{expr: `{"$toString": true}`, want: `"true"`},
		{expr: `{"$toString": {"$date": "2018-03-27T16:58:51.538Z"}}`, want: `"2018-03-27T16:58:51.538Z"`},
		{expr: `{"$toString": {"$oid": "5ab9cbfa31c2ab715d42129e"}}`, want: `"5ab9cbfa31c2ab715d42129e"`},
		{expr: `{"$toInt": 2.9}`, want: `2`},
		{expr: `{"$toInt": "100"}`, want: `100`},
		{expr: `{"$toInt": "1.5"}`, code: 241},
		{expr: `{"$toInt": 1e10}`, code: 241},
		{expr: `{"$toLong": {"$date": "2018-03-26T04:38:28.044Z"}}`, want: `{"$numberLong": "1522039108044"}`},
		{expr: `{"$toDouble": "5.5"}`, want: `5.5`},
		{expr: `{"$toDouble": true}`, want: `1.0`},
		{expr: `{"$toDecimal": 2.5}`, want: `{"$numberDecimal": "2.50000000000000"}`},
		{expr: `{"$toDecimal": 5}`, want: `{"$numberDecimal": "5"}`},
		{expr: `{"$toBool": 0}`, want: `false`},
		{expr: `{"$toBool": "false"}`, want: `true`},
		{expr: `{"$toObjectId": "5ab9cbfa31c2ab715d42129e"}`, want: `{"$oid": "5ab9cbfa31c2ab715d42129e"}`},
		{expr: `{"$toDate": "2018-03-03"}`, want: `{"$date": "2018-03-03T00:00:00Z"}`},
		{expr: `{"$toDate": {"$numberLong": "1522039108044"}}`, want: `{"$date": "2018-03-26T04:38:28.044Z"}`},
		{expr: `{"$toInt": null}`, want: `null`},
		{expr: `{"$convert": {"input": "abc", "to": "int", "onError": "bad"}}`, want: `"bad"`},
		{expr: `{"$convert": {"input": null, "to": "int", "onNull": 0}}`, want: `0`},
		{expr: `{"$convert": {"input": "7", "to": 16}}`, want: `7`},
		{expr: `{"$convert": {"input": [1], "to": "int"}}`, code: 241},
	})
}

func TestDateOperators(t *testing.T) {
	d := `{"date": {"$date": "2014-01-01T08:15:39.736Z"}}`
	runEvalCases(t, []exprCase{
		{expr: `{"$year": "$date"}`, doc: d, want: `2014`},
		{expr: `{"$month": "$date"}`, doc: d, want: `1`},
		{expr: `{"$dayOfMonth": "$date"}`, doc: d, want: `1`},
		{expr: `{"$hour": "$date"}`, doc: d, want: `8`},
		{expr: `{"$minute": "$date"}`, doc: d, want: `15`},
		{expr: `{"$second": "$date"}`, doc: d, want: `39`},
		{expr: `{"$millisecond": "$date"}`, doc: d, want: `736`},
		{expr: `{"$dayOfYear": "$date"}`, doc: d, want: `1`},
		{expr: `{"$dayOfWeek": "$date"}`, doc: d, want: `4`},
		{expr: `{"$week": "$date"}`, doc: d, want: `0`},
		{expr: `{"$hour": {"date": "$date", "timezone": "+05:30"}}`, doc: d, want: `13`},
		{expr: `{"$year": "$none"}`, want: `null`},
		{expr: `{"$year": "abc"}`, code: 16006},
		{expr: `{"$dateToString": {"format": "%Y-%m-%d", "date": "$date"}}`, doc: d, want: `"2014-01-01"`},
		{expr: `{"$dateToString": {"format": "%H:%M:%S:%L%z", "date": "$date", "timezone": "America/New_York"}}`, doc: d, want: `"03:15:39:736-0500"`},
		{expr: `{"$dateToString": {"date": "$date"}}`, doc: d, want: `"2014-01-01T08:15:39.736Z"`},
		{expr: `{"$dateToString": {"date": "$none", "onNull": "n/a"}}`, want: `"n/a"`},
	})
}

func TestCompileDocMatchesCompile(t *testing.T) {
	d := docJ(t, `{"sum": {"$add": ["$a", 1]}}`)
	e, err := CompileDoc(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Eval(&Ctx{Root: docJ(t, `{"a": 4}`)})
	if err != nil {
		t.Fatal(err)
	}
	if !sameValue(got, valJ(t, `{"sum": 5}`)) {
		t.Fatalf("got %s", render(got))
	}
}

func TestArrayNAndSortArray(t *testing.T) {
	team := `{"team": [{"name": "pat", "age": 30, "address": {"street": "12 Baker St", "city": "London"}}, {"name": "dallas", "age": 36, "address": {"street": "12 Cowper St", "city": "Palo Alto"}}, {"name": "charlie", "age": 42, "address": {"street": "12 French St", "city": "New Brunswick"}}]}`
	runEvalCases(t, []exprCase{
		{expr: `{"$sortArray": {"input": "$team", "sortBy": {"name": 1}}}`, doc: team,
			want: `[{"name": "charlie", "age": 42, "address": {"street": "12 French St", "city": "New Brunswick"}}, {"name": "dallas", "age": 36, "address": {"street": "12 Cowper St", "city": "Palo Alto"}}, {"name": "pat", "age": 30, "address": {"street": "12 Baker St", "city": "London"}}]`},
		{expr: `{"$sortArray": {"input": "$team", "sortBy": {"address.city": -1}}}`, doc: team,
			want: `[{"name": "dallas", "age": 36, "address": {"street": "12 Cowper St", "city": "Palo Alto"}}, {"name": "charlie", "age": 42, "address": {"street": "12 French St", "city": "New Brunswick"}}, {"name": "pat", "age": 30, "address": {"street": "12 Baker St", "city": "London"}}]`},
		{expr: `{"$sortArray": {"input": [1, 4, 1, 6, 12, 5], "sortBy": 1}}`, want: `[1, 1, 4, 5, 6, 12]`},
		{expr: `{"$sortArray": {"input": [20, 4, {"a": "Free"}, 6, 21, 5, "Gratis", {"a": null}, {"a": {"sale": true, "price": 19}}, {"$numberDecimal": "10.23"}, {"a": "On sale"}], "sortBy": 1}}`,
			want: `[4, 5, 6, {"$numberDecimal": "10.23"}, 20, 21, "Gratis", {"a": null}, {"a": "Free"}, {"a": "On sale"}, {"a": {"sale": true, "price": 19}}]`},
		{expr: `{"$sortArray": {"input": "x", "sortBy": 1}}`, code: 2942504},
		{expr: `{"$firstN": {"n": 2, "input": [10, 20, 30]}}`, want: `[10, 20]`},
		{expr: `{"$lastN": {"n": 2, "input": [10, 20, 30]}}`, want: `[20, 30]`},
		{expr: `{"$maxN": {"n": 2, "input": [null, 2, 9, 3]}}`, want: `[9, 3]`},
		{expr: `{"$minN": {"n": 2, "input": [null, 2, 9, 3]}}`, want: `[2, 3]`},
		{expr: `{"$firstN": {"n": 0, "input": [1]}}`, code: 5787908},
	})
}

func TestArrayLiteralEvaluatesOperatorElements(t *testing.T) {
	runEvalCases(t, []exprCase{
		{expr: `{"$concatArrays": [[{"$literal": 33}], [1]]}`, want: `[33, 1]`},
		{expr: `{"$concatArrays": [[{"$literal": {"$x": 1}}]]}`, want: `[{"$x": 1}]`},
		{expr: `{"$concatArrays": [[{"a": 1}], [[2]]]}`, want: `[{"a": 1}, [2]]`},
	})
}
