package wire

import (
	"encoding/binary"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// MaxDepth bounds document nesting, as mongod bounds it when it reads
// BSON off the wire; it also keeps validation off pathological stacks.
const MaxDepth = 200

// Validate checks that doc is well-formed BSON all the way down: lengths,
// terminators, element types, strings and nested documents. Everything the
// server later walks with bsoncore's panicking accessors has passed this.
func Validate(doc []byte) error {
	n, err := validateDoc(doc, 0)
	if err != nil {
		return err
	}
	if n != len(doc) {
		return malformed("document length %d but %d bytes", n, len(doc))
	}
	return nil
}

// validateDoc validates the document at the start of b, returning its size.
func validateDoc(b []byte, depth int) (int, error) {
	if depth > MaxDepth {
		return 0, malformed("document nested deeper than %d", MaxDepth)
	}
	if len(b) < 5 {
		return 0, malformed("truncated document")
	}
	size := int(int32(binary.LittleEndian.Uint32(b)))
	if size < 5 || size > len(b) {
		return 0, malformed("document size %d out of range", size)
	}
	if b[size-1] != 0 {
		return 0, malformed("document not terminated")
	}
	p := 4
	for p < size-1 {
		t := bsoncore.Type(b[p])
		p++
		end := indexZero(b[p : size-1])
		if end < 0 {
			return 0, malformed("field name not terminated")
		}
		p += end + 1
		n, err := validateValue(t, b[p:size-1], depth)
		if err != nil {
			return 0, err
		}
		p += n
	}
	if p != size-1 {
		return 0, malformed("document elements overrun their length")
	}
	return size, nil
}

// validateValue checks one value of type t at the start of b and returns its size.
func validateValue(t bsoncore.Type, b []byte, depth int) (int, error) {
	fixed := func(n int) (int, error) {
		if len(b) < n {
			return 0, malformed("truncated %s value", t)
		}
		return n, nil
	}
	switch t {
	case bsoncore.TypeDouble, bsoncore.TypeDateTime, bsoncore.TypeInt64, bsoncore.TypeTimestamp:
		return fixed(8)
	case bsoncore.TypeInt32:
		return fixed(4)
	case bsoncore.TypeDecimal128:
		return fixed(16)
	case bsoncore.TypeObjectID:
		return fixed(12)
	case bsoncore.TypeBoolean:
		if len(b) < 1 || b[0] > 1 {
			return 0, malformed("invalid boolean")
		}
		return 1, nil
	case bsoncore.TypeNull, bsoncore.TypeUndefined, bsoncore.TypeMinKey, bsoncore.TypeMaxKey:
		return 0, nil
	case bsoncore.TypeString, bsoncore.TypeJavaScript, bsoncore.TypeSymbol:
		return validateString(b)
	case bsoncore.TypeEmbeddedDocument, bsoncore.TypeArray:
		return validateDoc(b, depth+1)
	case bsoncore.TypeBinary:
		if len(b) < 5 {
			return 0, malformed("truncated binary")
		}
		n := int(int32(binary.LittleEndian.Uint32(b)))
		if n < 0 || 5+n > len(b) {
			return 0, malformed("binary length %d out of range", n)
		}
		if b[4] == 2 { // old binary: inner length must agree
			if n < 4 || int(int32(binary.LittleEndian.Uint32(b[5:]))) != n-4 {
				return 0, malformed("invalid subtype-2 binary")
			}
		}
		return 5 + n, nil
	case bsoncore.TypeRegex:
		p1 := indexZero(b)
		if p1 < 0 {
			return 0, malformed("regex pattern not terminated")
		}
		p2 := indexZero(b[p1+1:])
		if p2 < 0 {
			return 0, malformed("regex options not terminated")
		}
		return p1 + 1 + p2 + 1, nil
	case bsoncore.TypeDBPointer:
		n, err := validateString(b)
		if err != nil {
			return 0, err
		}
		if len(b) < n+12 {
			return 0, malformed("truncated DBPointer")
		}
		return n + 12, nil
	case bsoncore.TypeCodeWithScope:
		if len(b) < 4 {
			return 0, malformed("truncated code with scope")
		}
		total := int(int32(binary.LittleEndian.Uint32(b)))
		if total < 14 || total > len(b) {
			return 0, malformed("code with scope length %d out of range", total)
		}
		inner := b[4:total]
		sn, err := validateString(inner)
		if err != nil {
			return 0, err
		}
		dn, err := validateDoc(inner[sn:], depth+1)
		if err != nil {
			return 0, err
		}
		if 4+sn+dn != total {
			return 0, malformed("code with scope length mismatch")
		}
		return total, nil
	}
	return 0, malformed("unknown BSON type %#x", byte(t))
}

func validateString(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, malformed("truncated string")
	}
	n := int(int32(binary.LittleEndian.Uint32(b)))
	if n < 1 || 4+n > len(b) {
		return 0, malformed("string length %d out of range", n)
	}
	if b[4+n-1] != 0 {
		return 0, malformed("string not terminated")
	}
	return 4 + n, nil
}
