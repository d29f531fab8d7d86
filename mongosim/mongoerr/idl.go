package mongoerr

import "strings"

// Expected-type lists of mongod's IDL for WrongType: safeBool and the
// numeric types (safeInt64, exactInt64 …) accept any number.
const (
	SafeBoolTypes = "[bool, long, int, decimal, double]"
	NumberTypes   = "[long, int, decimal, double]"
)

// WrongType is the error mongod's IDL parser reports for a field of another
// BSON type: "BSON field 'find.filter' is the wrong type 'int', expected
// type 'object'". got is the type's alias (bsonkit.TypeName); expected is
// one alias, or a bracketed list (NumberTypes), which reads "expected types".
func WrongType(field, got, expected string) *Error {
	kind := "type"
	if strings.HasPrefix(expected, "[") {
		kind = "types"
	}
	return New(TypeMismatch, "BSON field '%s' is the wrong type '%s', expected %s '%s'", field, got, kind, expected)
}

// MissingField is the IDL parser's error for an absent required field.
func MissingField(field string) *Error {
	return New(Location40414, "BSON field '%s' is missing but a required field", field)
}
