package update

import (
	"testing"
)

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, spec string
		code       int32
		msg        string
	}{
		{"unknown modifier", `{"$foo": {"a": 1}}`, 9, "Unknown modifier: $foo. Expected a valid update modifier or pipeline-style update specified as an array"},
		{"modifier argument not a document", `{"$inc": "string"}`, 9, `Modifiers operate on fields but we found type string instead. For example: {$mod: {<field>: ...}} not {$inc: "string"}`},
		{"conflict same path", `{"$set": {"a": 1}, "$inc": {"a": 1}}`, 40, "Updating the path 'a' would create a conflict at 'a'"},
		{"conflict prefix", `{"$set": {"a": 1, "a.b": 2}}`, 40, "Updating the path 'a.b' would create a conflict at 'a'"},
		{"conflict child first", `{"$set": {"a.b": 1}, "$unset": {"a": 1}}`, 40, "Updating the path 'a' would create a conflict at 'a'"},
		{"all positional vs index", `{"$set": {"a.$[]": 0, "a.0": 0}}`, 40, "Updating the path 'a.0' would create a conflict at 'a'"},
		{"empty part", `{"$set": {"a..b": 1}}`, 56, "The update path 'a..b' contains an empty field name, which is not allowed."},
		{"empty path", `{"$set": {"": 1}}`, 56, "An empty update path is not valid."},
		{"two positionals", `{"$set": {"a.$.b.$": 1}}`, 2, "Too many positional (i.e. '$') elements found in path 'a.$.b.$'"},
		{"positional first", `{"$set": {"$": 1}}`, 2, "Cannot have positional (i.e. '$') element in the first position in path '$'"},
		{"array filter first", `{"$set": {"$[]": 1}}`, 2, "Cannot have array filter identifier (i.e. '$[<id>]') element in the first position in path '$[]'"},
		{"missing array filter", `{"$set": {"a.$[i]": 0}}`, 2, "No array filter found for identifier 'i' in path 'a.$[i]'"},
		{"inc non-numeric argument", `{"$inc": {"value": "bad value"}}`, 14, `Cannot increment with non-numeric argument: {value: "bad value"}`},
		{"mul null argument", `{"$mul": {"value": null}}`, 14, "Cannot multiply with non-numeric argument: {value: null}"},
		{"rename to non-string", `{"$rename": {"a": 1}}`, 2, "The 'to' field for $rename must be a string: a: 1"},
		{"rename same", `{"$rename": {"a": "a"}}`, 2, `The source and target field for $rename must differ: a: "a"`},
		{"rename same path", `{"$rename": {"a": "a.b"}}`, 2, `The source and target field for $rename must not be on the same path: a: "a.b"`},
		{"rename dynamic source", `{"$rename": {"a.$[]": "b"}}`, 2, "The source field for $rename may not be dynamic: a.$[]"},
		{"rename dynamic destination", `{"$rename": {"a": "b.$[]"}}`, 2, "The destination field for $rename may not be dynamic: b.$[]"},
		{"rename conflicts with set", `{"$rename": {"a": "b"}, "$set": {"a": 1}}`, 40, "Updating the path 'a' would create a conflict at 'a'"},
		{"currentDate bad type", `{"$currentDate": {"a": 1}}`, 2, "int is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({$type: 'timestamp/date'})."},
		{"currentDate bad option", `{"$currentDate": {"a": {"x": 1}}}`, 2, "Unrecognized $currentDate option: x"},
		{"currentDate bad $type", `{"$currentDate": {"a": {"$type": "x"}}}`, 2, "The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : {$type: 'date'}}}"},
		{"bit not document", `{"$bit": {"a": 1}}`, 2, "The $bit modifier is not compatible with a int. You must pass in an embedded document: {$bit: {field: {and/or/xor: #}}"},
		{"bit unknown op", `{"$bit": {"a": {"nand": 1}}}`, 2, "The $bit modifier only supports 'and', 'or', and 'xor', not 'nand' which is an unknown operator: {nand: 1}"},
		{"bit double", `{"$bit": {"a": {"and": 1.5}}}`, 2, "The $bit modifier field must be an Integer(32/64 bit); a 'double' is not supported here: {and: 1.5}"},
		{"bit empty", `{"$bit": {"a": {}}}`, 2, "You must pass in at least one bitwise operation. The format is: {$bit: {field: {and/or/xor: #}}"},
		{"push unknown clause", `{"$push": {"a": {"$each": [], "$foo": 1}}}`, 2, "Unrecognized clause in $push: $foo"},
		{"push each not array", `{"$push": {"a": {"$each": 1}}}`, 2, "The argument to $each in $push must be an array but it was of type: int"},
		{"push slice not integer", `{"$push": {"a": {"$each": [], "$slice": 1.5}}}`, 2, "The value for $slice must be an integer value but was given type: double"},
		{"push position not integer", `{"$push": {"a": {"$each": [], "$position": "x"}}}`, 2, "The value for $position must be an integer value, not of type: string"},
		{"push sort bad", `{"$push": {"a": {"$each": [], "$sort": 2}}}`, 2, "The $sort element value must be either 1 or -1"},
		{"push sort bad field value", `{"$push": {"a": {"$each": [], "$sort": {"x": 2}}}}`, 2, "The sort element value must be either 1 or -1"},
		{"push sort invalid", `{"$push": {"a": {"$each": [], "$sort": "x"}}}`, 2, "The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields"},
		{"addToSet each not array", `{"$addToSet": {"a": {"$each": 1}}}`, 14, "The argument to $each in $addToSet must be an array but it was of type int"},
		{"addToSet fields after each", `{"$addToSet": {"a": {"$each": [1], "x": 1}}}`, 2, "Found unexpected fields after $each in $addToSet: { $each: [ 1 ], x: 1 }"},
		{"pop bad value", `{"$pop": {"a": 2}}`, 9, "$pop expects 1 or -1, found: 2"},
		{"pop not a number", `{"$pop": {"a": "x"}}`, 9, `Expected a number in: a: "x"`},
		{"pullAll not array", `{"$pullAll": {"a": 1}}`, 2, "$pullAll requires an array argument but was given a int"},
		{"not a document or array", `1`, 9, "Update argument must be either an object or an array"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(val(t, c.spec), Options{})
			assertErr(t, err, c.code, c.msg)
		})
	}
}

func TestApplyErrors(t *testing.T) {
	cases := []struct {
		name, in, spec string
		code           int32
		msg            string
	}{
		{"modify _id", `{"_id": 1}`, `{"$set": {"_id": 2}}`, 66, "Performing an update on the path '_id' would modify the immutable field '_id'"},
		{"modify _id subfield", `{"_id": {"a": 1}}`, `{"$set": {"_id.a": 2}}`, 66, "Performing an update on the path '_id.a' would modify the immutable field '_id'"},
		{"add _id subfield", `{"_id": {"a": 1}}`, `{"$set": {"_id.b": 2}}`, 66, "Updating the path '_id' to _id: { a: 1, b: 2 } would modify the immutable field '_id'"},
		{"unset _id", `{"_id": 1}`, `{"$unset": {"_id": 1}}`, 66, "Performing an update on the path '_id' would modify the immutable field '_id'"},
		{"inc string", `{"_id": 1, "a": "x"}`, `{"$inc": {"a": 1}}`, 14, "Cannot apply $inc to a value of non-numeric type. {_id: 1} has the field 'a' of non-numeric type string"},
		{"mul null", `{"_id": "nil_int64", "value": null}`, `{"$mul": {"value": {"$numberLong": "1000"}}}`, 14,
			`Cannot apply $mul to a value of non-numeric type. {_id: "nil_int64"} has the field 'value' of non-numeric type null`},
		{"inc nested non-numeric", `{"_id": "x", "v": [{"foo": [{"bar": "hello"}]}]}`, `{"$inc": {"v.0.foo.0.bar": 1}}`, 14,
			`Cannot apply $inc to a value of non-numeric type. {_id: "x"} has the field 'bar' of non-numeric type string`},
		{"inc long overflow", `{"_id": "int64-max", "v": {"$numberLong": "9223372036854775807"}}`, `{"$inc": {"v": {"$numberLong": "9223372036854775807"}}}`, 2,
			`Failed to apply $inc operations to current value ((NumberLong)9223372036854775807) for document {_id: "int64-max"}`},
		{"inc int by long overflow", `{"_id": "int32", "v": 42}`, `{"$inc": {"v": {"$numberLong": "9223372036854775807"}}}`, 2,
			`Failed to apply $inc operations to current value ((NumberInt)42) for document {_id: "int32"}`},
		{"create through scalar", `{"_id": 1, "a": 5}`, `{"$set": {"a.b": 1}}`, 28, "Cannot create field 'b' in element {a: 5}"},
		{"create through array", `{"_id": 0, "a": [{"b": 0.0}]}`, `{"$set": {"a.b": 1}}`, 28, "Cannot create field 'b' in element {a: [ { b: 0.0 } ]}"},
		{"inc through array of documents", `{"_id": "x", "v": [{"foo": [{"bar": "hello"}, {"bar": "world"}]}]}`, `{"$inc": {"v.foo": 1}}`, 28,
			`Cannot create field 'foo' in element {v: [ { foo: [ { bar: "hello" }, { bar: "world" } ] } ]}`},
		{"push on non-array", `{"_id": 1, "a": 1}`, `{"$push": {"a": 1}}`, 2, "The field 'a' must be an array but is of type int in document {_id: 1}"},
		{"addToSet on non-array", `{"_id": 1, "a": 1}`, `{"$addToSet": {"a": 1}}`, 2, "Cannot apply $addToSet to non-array field. Field named 'a' has non-array type int"},
		{"pop on non-array", `{"_id": 1, "a": {"b": 1}}`, `{"$pop": {"a.b": 1}}`, 14, "Path 'a.b' contains an element of non-array type 'int'"},
		{"pop through scalar", `{"_id": 1, "a": 1}`, `{"$pop": {"a.b": 1}}`, 28, "Cannot use the part (b) of (a.b) to traverse the element ({a: 1})"},
		{"pull on non-array", `{"_id": 1, "a": 1}`, `{"$pull": {"a": 1}}`, 2, "Cannot apply $pull to a non-array value"},
		{"bit on double", `{"_id": 1, "a": 1.5}`, `{"$bit": {"a": {"and": 1}}}`, 2, "Cannot apply $bit to a value of non-integral type._id: 1 has the field a of non-integer type double"},
		{"all positional missing path", `{"_id": 1}`, `{"$set": {"a.$[]": 1}}`, 2, "The path 'a' must exist in the document in order to apply array updates."},
		{"all positional non-array", `{"_id": 1, "b": 123}`, `{"$set": {"b.$[]": 1}}`, 2, "Cannot apply array updates to non-array element b: 123"},
		{"rename source in array", `{"_id": 1, "a": [{"b": 1}]}`, `{"$rename": {"a.0.b": "c"}}`, 2,
			"The source field cannot be an array element, 'a.0.b' in doc with _id: 1 has an array field called 'a'"},
		{"rename destination in array", `{"_id": 1, "a": [{"b": 1}], "c": 1}`, `{"$rename": {"c": "a.0.d"}}`, 2,
			"The destination field cannot be an array element, 'a.0.d' in doc with _id: 1 has an array field called 'a'"},
		{"rename source through scalar", `{"_id": 1, "a": 1}`, `{"$rename": {"a.b": "c"}}`, 28, "cannot use the part (a of a.b) to traverse the element ({a: 1})"},
		{"top-level dollar field", `{"_id": 1}`, `{"$set": {"$x": 1}}`, 52,
			"The dollar ($) prefixed field '$x' in '$x' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith."},
		{"backfill limit", `{"a": []}`, `{"$set": {"a.1500001": 1}}`, 34, "can't backfill more than 1500000 elements"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := compileT(t, c.spec, Options{})
			in := doc(t, c.in)
			out, changed, err := u.Apply(in, ctxNoMatch())
			assertErr(t, err, c.code, c.msg)
			if changed || string(out) != string(in) {
				t.Fatalf("failed update must leave the document: changed=%v out=%s", changed, show(out))
			}
		})
	}
}

func TestDollarFieldsBelowTopLevelAllowed(t *testing.T) {
	out, _ := applyT(t, `{"$set": {"a": {"$x": 1}, "b.$y": 2}}`, `{"_id": 1, "b": {}}`)
	assertDoc(t, `{"_id": 1, "b": {"$y": 2}, "a": {"$x": 1}}`, out)
	// Fields are created in path order, so "$id" is validated before "$ref"
	// exists, as in mongod.
	_, _, err := compileT(t, `{"$set": {"$ref": "c", "$id": 1}}`, Options{}).Apply(doc(t, `{"_id": 1}`), ctxNoMatch())
	assertErr(t, err, 55, "Found $id field without a $ref before it, which is invalid.")
}
