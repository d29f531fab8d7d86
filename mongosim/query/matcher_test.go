package query

import (
	"testing"
)

func TestEqualityAndArrays(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{}`, `{"a": 1}`, true, -1},
		{`{"a": 1}`, `{"a": 1}`, true, -1},
		{`{"a": 1}`, `{"a": 1.0}`, true, -1},
		{`{"a": 1}`, `{"a": {"$numberLong": "1"}}`, true, -1},
		{`{"a": 1}`, `{"a": {"$numberDecimal": "1.000"}}`, true, -1},
		{`{"a": 1}`, `{"a": "1"}`, false, 0},
		{`{"a": 1}`, `{"b": 1}`, false, 0},
		{`{"a": 2}`, `{"a": [1, 2, 3]}`, true, 1},
		{`{"a": [1, 2]}`, `{"a": [1, 2]}`, true, -1},
		{`{"a": [1, 2]}`, `{"a": [2, 1]}`, false, 0},
		{`{"a": [1, 2]}`, `{"a": [[1, 2], 3]}`, true, 0},
		{`{"a": 1}`, `{"a": [[1], 2]}`, false, 0},
		{`{"a.b": 1}`, `{"a": {"b": 1}}`, true, -1},
		{`{"a.b": 1}`, `{"a": [{"b": 2}, {"b": 1}]}`, true, 1},
		{`{"a.b": 1}`, `{"a": [{"b": [3, 1]}]}`, true, 0},
		{`{"a.b": 1}`, `{"a": [[{"b": 1}]]}`, false, 0},
		{`{"a.0": 5}`, `{"a": [5, 6]}`, true, -1},
		{`{"a.1": 5}`, `{"a": [5, 6]}`, false, 0},
		{`{"a.0.b": 1}`, `{"a": [{"b": 1}]}`, true, -1},
		{`{"a.0.b": 1}`, `{"a": [{"b": 2}, {"b": 1}]}`, false, 0},
		{`{"a.0": 1}`, `{"a": {"0": 1}}`, true, -1},
		{`{"a.0": 1}`, `{"a": [{"0": 1}]}`, true, 0},
		{`{"a.b.c": 1}`, `{"a": [{"b": [{"c": 1}]}]}`, true, 0},
		{`{"a": {"b": 1}}`, `{"a": {"b": 1}}`, true, -1},
		{`{"a": {"b": 1}}`, `{"a": {"b": 1, "c": 2}}`, false, 0},
		{`{"a": {"b": 1, "c": 2}}`, `{"a": {"c": 2, "b": 1}}`, false, 0},
		{`{"a": {"b": 1}}`, `{"a": [{"b": 1}]}`, true, 0},
		{`{"a": "x", "b": 2}`, `{"a": "x", "b": 2}`, true, -1},
		{`{"a": "x", "b": 2}`, `{"a": "x", "b": 3}`, false, 0},
		{`{"a": {"$ref": "c", "$id": 1}}`, `{"a": {"$ref": "c", "$id": 1}}`, true, -1},
	})
}

func TestNullAndMissing(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a": null}`, `{"a": null}`, true, -1},
		{`{"a": null}`, `{}`, true, -1},
		{`{"a": null}`, `{"a": {"$undefined": true}}`, true, -1},
		{`{"a": null}`, `{"a": 0}`, false, 0},
		{`{"a": null}`, `{"a": [1, null]}`, true, 1},
		{`{"a": null}`, `{"a": []}`, false, 0},
		{`{"a.b": null}`, `{"a": 5}`, true, -1},
		{`{"a.b": null}`, `{"a": [{"c": 1}]}`, true, 0},
		{`{"a.b": null}`, `{"a": [{"b": 1}]}`, false, 0},
		{`{"a.b": null}`, `{"a": [1, 2]}`, false, 0},
		{`{"a": {"$ne": null}}`, `{}`, false, 0},
		{`{"a": {"$ne": null}}`, `{"a": 1}`, true, -1},
		{`{"a": {"$gte": null}}`, `{}`, true, -1},
		{`{"a": {"$lt": null}}`, `{}`, false, 0},
		{`{"a": {"$in": [null, 5]}}`, `{}`, true, -1},
		{`{"a": {"$in": [null, 5]}}`, `{"a": 5}`, true, -1},
		{`{"a": {"$nin": [null]}}`, `{}`, false, 0},
		{`{"a": {"$exists": true}}`, `{"a": null}`, true, -1},
		{`{"a": {"$exists": true}}`, `{}`, false, 0},
		{`{"a": {"$exists": false}}`, `{}`, true, -1},
		{`{"a.b": {"$exists": true}}`, `{"a": [{"b": 1}]}`, true, 0},
		{`{"a.b": {"$exists": true}}`, `{"a": [1]}`, false, 0},
		{`{"a.b": {"$exists": false}}`, `{"a": [1]}`, true, -1},
	})
}

func TestComparisonBracketing(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a": {"$gt": 1}}`, `{"a": 2}`, true, -1},
		{`{"a": {"$gt": 1}}`, `{"a": "2"}`, false, 0},
		{`{"a": {"$lt": "b"}}`, `{"a": "a"}`, true, -1},
		{`{"a": {"$lt": "b"}}`, `{"a": 1}`, false, 0},
		{`{"a": {"$gt": 1}}`, `{"a": [0, 5]}`, true, 1},
		{`{"a": {"$gt": 1, "$lt": 3}}`, `{"a": [0, 5]}`, true, -2},
		{`{"a": {"$elemMatch": {"$gt": 1, "$lt": 3}}}`, `{"a": [0, 5]}`, false, 0},
		{`{"a": {"$elemMatch": {"$gt": 1, "$lt": 3}}}`, `{"a": [0, 2]}`, true, 1},
		{`{"a": {"$gt": {"$numberLong": "9007199254740992"}}}`, `{"a": 9007199254740992.0}`, false, 0},
		{`{"a": {"$gt": {"$numberLong": "9007199254740992"}}}`, `{"a": {"$numberLong": "9007199254740993"}}`, true, -1},
		{`{"a": {"$gte": {"$numberDouble": "NaN"}}}`, `{"a": {"$numberDouble": "NaN"}}`, true, -1},
		{`{"a": {"$gt": {"$numberDouble": "NaN"}}}`, `{"a": 5}`, false, 0},
		{`{"a": {"$lt": 5}}`, `{"a": {"$numberDouble": "NaN"}}`, false, 0},
		{`{"a": {"$numberDouble": "NaN"}}`, `{"a": {"$numberDouble": "NaN"}}`, true, -1},
		{`{"a": {"$lt": {"$maxKey": 1}}}`, `{"a": "x"}`, true, -1},
		{`{"a": {"$gt": {"$minKey": 1}}}`, `{"a": null}`, true, -1},
		{`{"a": {"$lt": {"$maxKey": 1}}}`, `{"a": {"$maxKey": 1}}`, false, 0},
		{`{"a": {"$gt": {"$date": "2020-01-01T00:00:00Z"}}}`, `{"a": {"$date": "2021-01-01T00:00:00Z"}}`, true, -1},
		{`{"a": {"$gt": {"$date": "2020-01-01T00:00:00Z"}}}`, `{"a": 1}`, false, 0},
		{`{"a": {"$eq": {"$numberDecimal": "-0"}}}`, `{"a": 0.0}`, true, -1},
		{`{"a": {"$gte": [1, 2]}}`, `{"a": [1, 3]}`, true, -1},
		{`{"a": {"$lt": {"$timestamp": {"t": 5, "i": 0}}}}`, `{"a": {"$timestamp": {"t": 4, "i": 9}}}`, true, -1},
		{`{"a": {"$eq": "x"}}`, `{"a": {"$symbol": "x"}}`, true, -1},
	})
}

func TestLogicalOperators(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"$and": [{"a": 1}, {"b": 2}]}`, `{"a": 1, "b": 2}`, true, -1},
		{`{"$and": [{"a": 1}, {"b": 2}]}`, `{"a": 1, "b": 3}`, false, 0},
		{`{"$or": [{"a": 1}, {"b": 2}]}`, `{"a": 0, "b": 2}`, true, -1},
		{`{"$or": [{"a": 1}, {"b": 2}]}`, `{"a": 0, "b": 3}`, false, 0},
		{`{"$nor": [{"a": 1}, {"b": 2}]}`, `{"a": 0}`, true, -1},
		{`{"$nor": [{"a": 1}, {"b": 2}]}`, `{"b": 2}`, false, 0},
		{`{"a": {"$not": {"$gt": 5}}}`, `{"a": 3}`, true, -1},
		{`{"a": {"$not": {"$gt": 5}}}`, `{}`, true, -1},
		{`{"a": {"$not": {"$gt": 5}}}`, `{"a": [3, 7]}`, false, 0},
		{`{"a": {"$not": {"$regex": "^x"}}}`, `{"a": "yx"}`, true, -1},
		{`{"a": {"$not": {"$regex": "^x"}}}`, `{"a": "xy"}`, false, 0},
		{`{"a": {"$ne": 5}}`, `{"a": [5, 6]}`, false, 0},
		{`{"a": {"$ne": 5}}`, `{"a": [6]}`, true, -1},
		{`{"a": {"$nin": [5, 6]}}`, `{"a": 7}`, true, -1},
		{`{"a": {"$nin": [5, 6]}}`, `{"a": [7, 6]}`, false, 0},
		{`{"$comment": "hello", "a": 1}`, `{"a": 1}`, true, -1},
		{`{"$alwaysFalse": 1}`, `{"a": 1}`, false, 0},
		{`{"$alwaysTrue": 1}`, `{"a": 1}`, true, -1},
		{`{"$expr": {"$gt": ["$a", "$b"]}}`, `{"a": 5, "b": 3}`, true, -1},
		{`{"$expr": {"$gt": ["$a", "$b"]}}`, `{"a": 1, "b": 3}`, false, 0},
		{`{"$expr": "$a"}`, `{"a": 0}`, false, 0},
	})
}

func TestElementOperators(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a": {"$in": [1, 2]}}`, `{"a": 2.0}`, true, -1},
		{`{"a": {"$in": [[1, 2]]}}`, `{"a": [1, 2]}`, true, -1},
		{`{"a": {"$in": [{"$regularExpression": {"pattern": "^ab", "options": ""}}, 5]}}`, `{"a": "abc"}`, true, -1},
		{`{"a": {"$in": [{"$regularExpression": {"pattern": "^ab", "options": "i"}}]}}`, `{"a": ["x", "ABd"]}`, true, 1},
		{`{"a": {"$in": []}}`, `{"a": 1}`, false, 0},
		{`{"a": {"$type": "string"}}`, `{"a": "x"}`, true, -1},
		{`{"a": {"$type": 2}}`, `{"a": "x"}`, true, -1},
		{`{"a": {"$type": "number"}}`, `{"a": {"$numberDecimal": "1"}}`, true, -1},
		{`{"a": {"$type": ["string", "int"]}}`, `{"a": 5}`, true, -1},
		{`{"a": {"$type": "array"}}`, `{"a": []}`, true, -1},
		{`{"a": {"$type": "array"}}`, `{"a": [1]}`, true, -1},
		{`{"a": {"$type": "int"}}`, `{"a": [1]}`, true, 0},
		{`{"a": {"$type": "null"}}`, `{}`, false, 0},
		{`{"a": {"$type": "double"}}`, `{"a": 1}`, false, 0},
		{`{"a": {"$type": "minKey"}}`, `{"a": {"$minKey": 1}}`, true, -1},
		{`{"a": {"$type": 127}}`, `{"a": {"$maxKey": 1}}`, true, -1},
		{`{"a": {"$type": "objectId"}}`, `{"a": {"$oid": "5ab9cbfa31c2ab715d42129e"}}`, true, -1},
		{`{"a": {"$type": "binData"}}`, `{"a": {"$binary": {"base64": "AA==", "subType": "04"}}}`, true, -1},
		{`{"a": {"$type": "javascript"}}`, `{"a": {"$code": "x"}}`, true, -1},
		{`{"a": {"$type": "timestamp"}}`, `{"a": {"$timestamp": {"t": 1, "i": 1}}}`, true, -1},
		{`{"a": {"$type": "regex"}}`, `{"a": {"$regularExpression": {"pattern": "x", "options": ""}}}`, true, -1},
		{`{"a": {"$size": 2}}`, `{"a": [1, 2]}`, true, -1},
		{`{"a": {"$size": 2}}`, `{"a": [[1, 2]]}`, false, 0},
		{`{"a": {"$size": 0}}`, `{"a": []}`, true, -1},
		{`{"a.b": {"$size": 1}}`, `{"a": [{"b": [1]}, {"b": [1, 2]}]}`, true, 0},
		{`{"a": {"$mod": [4, 0]}}`, `{"a": 8}`, true, -1},
		{`{"a": {"$mod": [4, 0]}}`, `{"a": 8.9}`, true, -1},
		{`{"a": {"$mod": [4, 1]}}`, `{"a": -7}`, false, 0},
		{`{"a": {"$mod": [4, -3]}}`, `{"a": -7}`, true, -1},
		{`{"a": {"$mod": [4, 0]}}`, `{"a": "8"}`, false, 0},
		{`{"a": {"$bitsAllSet": [1, 5]}}`, `{"a": 54}`, true, -1},
		{`{"a": {"$bitsAllSet": 50}}`, `{"a": 54}`, true, -1},
		{`{"a": {"$bitsAllSet": 51}}`, `{"a": 54}`, false, 0},
		{`{"a": {"$bitsAnySet": [1, 5]}}`, `{"a": 2}`, true, -1},
		{`{"a": {"$bitsAllClear": [1, 5]}}`, `{"a": 1}`, true, -1},
		{`{"a": {"$bitsAnyClear": 35}}`, `{"a": 35}`, false, 0},
		{`{"a": {"$bitsAllSet": [0]}}`, `{"a": {"$binary": {"base64": "AQ==", "subType": "00"}}}`, true, -1},
	})
}

func TestRegex(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a": {"$regex": "^acme", "$options": "i"}}`, `{"a": "ACME corp"}`, true, -1},
		{`{"a": {"$regex": "^acme"}}`, `{"a": "ACME corp"}`, false, 0},
		{`{"a": {"$regularExpression": {"pattern": "^abc$", "options": "m"}}}`, `{"a": "x\nabc\ny"}`, true, -1},
		{`{"a": {"$regularExpression": {"pattern": "^abc$", "options": ""}}}`, `{"a": "x\nabc\ny"}`, false, 0},
		{`{"a": {"$regularExpression": {"pattern": "abc$", "options": ""}}}`, `{"a": "abc\n"}`, true, -1},
		{`{"a": {"$regex": "a.c", "$options": "s"}}`, `{"a": "a\nc"}`, true, -1},
		{`{"a": {"$regex": "a.c"}}`, `{"a": "a\nc"}`, false, 0},
		{`{"a": {"$regex": "a b # comment\n c", "$options": "x"}}`, `{"a": "abc"}`, true, -1},
		{`{"a": {"$regex": "^b"}}`, `{"a": ["abc", "bcd"]}`, true, 1},
		{`{"a": {"$regex": "^b"}}`, `{"a": 5}`, false, 0},
		{`{"a": {"$regularExpression": {"pattern": "x", "options": "i"}}}`, `{"a": {"$regularExpression": {"pattern": "x", "options": "i"}}}`, true, -1},
		{`{"a": {"$options": "i", "$regex": "^x"}}`, `{"a": "X"}`, true, -1},
		{`{"a": {"$regex": "é"}}`, `{"a": "café"}`, true, -1},
	})
}

func TestElemMatchAndAll(t *testing.T) {
	results := `{"results": [{"product": "abc", "score": 10}, {"product": "xyz", "score": 5}]}`
	runMatchCases(t, []matchCase{
		{`{"results": {"$elemMatch": {"$gte": 80, "$lt": 85}}}`, `{"results": [82, 85, 88]}`, true, 0},
		{`{"results": {"$elemMatch": {"$gte": 80, "$lt": 85}}}`, `{"results": [75, 88, 89]}`, false, 0},
		{`{"results": {"$elemMatch": {"product": "xyz", "score": {"$gte": 8}}}}`, results, false, 0},
		{`{"results": {"$elemMatch": {"product": "xyz", "score": {"$gte": 5}}}}`, results, true, 1},
		{`{"results": {"$elemMatch": {"product": "xyz"}}}`, results, true, 1},
		{`{"results": {"$elemMatch": {"$or": [{"score": 10}, {"score": 5}]}}}`, results, true, 0},
		{`{"results.product": "xyz", "results.score": {"$gte": 8}}`, results, true, -2},
		{`{"a": {"$elemMatch": {"$elemMatch": {"$eq": 2}}}}`, `{"a": [[1], [3, 2]]}`, true, 1},
		{`{"a": {"$elemMatch": {"0": 1}}}`, `{"a": [[1, 2]]}`, true, 0},
		{`{"a": {"$elemMatch": {"$not": {"$gt": 5}}}}`, `{"a": [7, 3]}`, true, 1},
		{`{"a": {"$elemMatch": {"b": {"$exists": true}}}}`, `{"a": [1, {"c": 1}]}`, false, 0},
		{`{"a.b": {"$elemMatch": {"c": 1}}}`, `{"a": [{"b": [{"c": 2}]}, {"b": [{"c": 1}]}]}`, true, 1},
		{`{"tags": {"$all": ["ssl", "security"]}}`, `{"tags": ["appliance", "school", "security", "ssl"]}`, true, -2},
		{`{"tags": {"$all": ["ssl", "security"]}}`, `{"tags": ["ssl"]}`, false, 0},
		{`{"tags": {"$all": ["ssl"]}}`, `{"tags": "ssl"}`, true, -1},
		{`{"tags": {"$all": [["ssl", "x"]]}}`, `{"tags": [["ssl", "x"], "y"]}`, true, 0},
		{`{"tags": {"$all": []}}`, `{"tags": []}`, false, 0},
		{`{"qty": {"$all": [{"$elemMatch": {"size": "M", "num": {"$gt": 50}}}, {"$elemMatch": {"num": 100, "color": "green"}}]}}`,
			`{"qty": [{"size": "S", "num": 10, "color": "blue"}, {"size": "M", "num": 100, "color": "blue"}, {"size": "L", "num": 100, "color": "green"}]}`, true, -2},
		{`{"qty": {"$all": [{"$elemMatch": {"size": "M", "num": {"$gt": 50}}}, {"$elemMatch": {"num": 100, "color": "green"}}]}}`,
			`{"qty": [{"size": "M", "num": 100, "color": "blue"}]}`, false, 0},
		{`{"a": {"$all": [{"$regularExpression": {"pattern": "^x", "options": ""}}, "yy"]}}`, `{"a": ["xa", "yy"]}`, true, -2},
	})
}

func TestFilterErrors(t *testing.T) {
	runErrCases(t, []errCase{
		{`{"$foo": 1}`, 2, "unknown top level operator: $foo"},
		{`{"a": {"$foo": 1}}`, 2, "unknown operator: $foo"},
		{`{"a": {"$gt": 1, "b": 2}}`, 2, "unknown operator: b"},
		{`{"$and": 1}`, 2, "$and must be an array"},
		{`{"$or": []}`, 2, "$and/$or/$nor must be a nonempty array"},
		{`{"$nor": [1]}`, 2, "$or/$and/$nor entries need to be full objects"},
		{`{"a": {"$in": 1}}`, 2, "$in needs an array"},
		{`{"a": {"$nin": {}}}`, 2, "$nin needs an array"},
		{`{"a": {"$in": [{"$gt": 1}]}}`, 2, "cannot nest $ under $in"},
		{`{"a": {"$in": [{"$regex": "^ab"}]}}`, 2, "cannot nest $ under $in"},
		{`{"a": {"$size": -1}}`, 2, "$size may not be negative"},
		{`{"a": {"$size": 2.5}}`, 2, "$size must be a whole number"},
		{`{"a": {"$size": "x"}}`, 2, "$size needs a number"},
		{`{"a": {"$type": "foo"}}`, 2, "Unknown type name alias: foo"},
		{`{"a": {"$type": 100}}`, 2, "Invalid numerical type code: 100"},
		{`{"a": {"$type": {}}}`, 14, "type must be represented as a number or a string"},
		{`{"a": {"$type": []}}`, 9, "a must match at least one type"},
		{`{"a": {"$mod": 1}}`, 2, "malformed mod, needs to be an array"},
		{`{"a": {"$mod": [1]}}`, 2, "malformed mod, not enough elements"},
		{`{"a": {"$mod": [1, 2, 3]}}`, 2, "malformed mod, too many elements"},
		{`{"a": {"$mod": [0, 1]}}`, 2, "divisor cannot be 0"},
		{`{"a": {"$regex": 1}}`, 2, "$regex has to be a string"},
		{`{"a": {"$options": "i"}}`, 2, "$options needs a $regex"},
		{`{"a": {"$regex": "x", "$options": "q"}}`, 51108, ""},
		{`{"a": {"$regex": "(a"}}`, 51091, "Regular expression is invalid"},
		{`{"a": {"$regex": "(a)\\1"}}`, 2, "backreferences"},
		{`{"a": {"$regex": "a(?=b)"}}`, 2, "lookahead"},
		{`{"a": {"$gt": {"$regularExpression": {"pattern": "x", "options": ""}}}}`, 2, "Can't have RegEx as arg to predicate over field 'a'."},
		{`{"a": {"$elemMatch": 1}}`, 2, "$elemMatch needs an Object"},
		{`{"a": {"$elemMatch": {"$expr": {"$eq": [1, 1]}}}}`, 2, "$expr can only be applied to the top-level document"},
		{`{"a": {"$all": 1}}`, 2, "$all needs an array"},
		{`{"a": {"$all": [{"$elemMatch": {"b": 1}}, 1]}}`, 2, "$all/$elemMatch has to be consistent"},
		{`{"a": {"$all": [{"$gt": 1}]}}`, 2, "no $ expressions in $all"},
		{`{"a": {"$not": 1}}`, 2, "$not needs a regex or a document"},
		{`{"a": {"$not": {}}}`, 2, "$not cannot be empty"},
		{`{"a": {"$undefined": true}}`, 2, "cannot compare to undefined"},
		{`{"$where": "this.a == 1"}`, 2, ""},
		{`{"$expr": {"$foo": 1}}`, 168, "Unrecognized expression '$foo'"},
		{`{"$alwaysTrue": 2}`, 9, ""},
		{`{"a": {"$bitsAllSet": -1}}`, 9, ""},
		{`{"a": {"$bitsAllSet": "x"}}`, 2, ""},
	})
}

func TestExprRuntimeErrorSurfaces(t *testing.T) {
	m, err := Compile(docJ(t, `{"$expr": {"$divide": [1, "$a"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	ok, _, err := m.MatchErr(docJ(t, `{"a": 0}`))
	if ok || errCode(err) != 2 {
		t.Fatalf("got %v %v, want BadValue", ok, err)
	}
	if m.Match(docJ(t, `{"a": 0}`)) {
		t.Fatal("Match must be false when $expr fails")
	}
	ok, _, err = m.MatchErr(docJ(t, `{"a": 2}`))
	if !ok || err != nil {
		t.Fatalf("got %v %v", ok, err)
	}
}

func TestPositionAcrossLogicalOperators(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a": 3, "b": 9}`, `{"a": [1, 2, 3], "b": 9}`, true, 2},
		{`{"a": 3, "b": {"$in": [7, 9]}}`, `{"a": [1, 2, 3], "b": [8, 9]}`, true, 1},
		{`{"$or": [{"a": 2, "b": 0}, {"c": 1}]}`, `{"a": [1, 2], "b": 5, "c": 1}`, true, -1},
		{`{"$or": [{"a": 5}, {"a": 2}]}`, `{"a": [1, 2]}`, true, 1},
		{`{"a": {"$ne": 7}, "b": 2}`, `{"a": [1, 2], "b": [5, 2]}`, true, 1},
		{`{"a.b": {"$gt": 1}}`, `{"a": [{"b": [0]}, {"b": [0, 5]}]}`, true, 1},
		{`{"a": {"$elemMatch": {"$gt": 1}}}`, `{"a": [0, 0, 5]}`, true, 2},
	})
}
