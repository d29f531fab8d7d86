package bsonkit

import "go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

// typeNames are MongoDB's aliases of the BSON types ($type, error messages).
var typeNames = map[bsoncore.Type]string{
	bsoncore.TypeDouble: "double", bsoncore.TypeString: "string", bsoncore.TypeEmbeddedDocument: "object",
	bsoncore.TypeArray: "array", bsoncore.TypeBinary: "binData", bsoncore.TypeUndefined: "undefined",
	bsoncore.TypeObjectID: "objectId", bsoncore.TypeBoolean: "bool", bsoncore.TypeDateTime: "date",
	bsoncore.TypeNull: "null", bsoncore.TypeRegex: "regex", bsoncore.TypeDBPointer: "dbPointer",
	bsoncore.TypeJavaScript: "javascript", bsoncore.TypeSymbol: "symbol", bsoncore.TypeCodeWithScope: "javascriptWithScope",
	bsoncore.TypeInt32: "int", bsoncore.TypeTimestamp: "timestamp", bsoncore.TypeInt64: "long",
	bsoncore.TypeDecimal128: "decimal", bsoncore.TypeMinKey: "minKey", bsoncore.TypeMaxKey: "maxKey",
}

// TypeName returns MongoDB's alias of a BSON type; type 0 (an absent value)
// is "missing".
func TypeName(t bsoncore.Type) string {
	if t == 0 {
		return "missing"
	}
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "unknown"
}

// TypeByName maps a $type alias to its BSON type.
func TypeByName(name string) (bsoncore.Type, bool) {
	for t, n := range typeNames {
		if n == name {
			return t, true
		}
	}
	return 0, false
}
