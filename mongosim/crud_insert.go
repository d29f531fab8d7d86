package mongosim

import (
	"bytes"
	"context"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	register(command{name: "insert", handler: handleInsert, lock: lockWrite, counter: func(*serverStats) {}})
}

var insertFields = fieldSet("insert", "documents", "ordered", "bypassDocumentValidation", "let")

// maxStorageDepth is how deeply a stored document may nest (mongod: 100).
const maxStorageDepth = 100

func handleInsert(_ context.Context, req *request) (bsoncore.Document, error) {
	b, err := parseWriteBatch(req, insertFields, "documents", false)
	if err != nil {
		return nil, err
	}
	s := req.srv
	c, err := s.ensureCollection(req, b.coll)
	if err != nil {
		return nil, err
	}
	ns := c.Namespace()
	uuid := c.UUID
	var werrs writeErrorList
	var keys keySlab
	n := 0
	for i, raw := range b.stmts {
		s.stats.insert.Add(1)
		doc, err := s.prepareInsert(raw)
		if err == nil {
			err = c.Validate(doc, nil, b.bypass)
		}
		if err == nil {
			_, _, err = c.Insert(doc)
		}
		if err != nil {
			werrs.add(i, err)
			if b.ordered {
				break
			}
			continue
		}
		n++
		s.recordWrite(req, oplogEntry{Op: "i", NS: ns, UI: &uuid, O: doc, O2: keys.idKey(doc.Lookup("_id"))})
	}
	return s.writeReply(req, n, &werrs).Bytes(), nil
}

// prepareInsert returns the document to store: a private copy of the
// received bytes, or a rebuilt copy with _id first (generated as an
// ObjectId FIRST when missing) and top-level Timestamp(0, 0) values
// replaced by the current cluster time, as mongod's fixDocumentForInsert
// does. It enforces the size, nesting and _id rules.
func (s *Server) prepareInsert(doc bsoncore.Document) (bsoncore.Document, error) {
	if len(doc) > maxBSONObjectSize {
		return nil, mongoerr.New(mongoerr.BadValue, "object to insert too large. size in bytes: %d, max size: %d", len(doc), maxBSONObjectSize)
	}
	if depthExceeds(doc, maxStorageDepth) {
		return nil, mongoerr.New(mongoerr.Overflow, "cannot insert document because it exceeds %d levels of nesting", maxStorageDepth)
	}
	idPos, ids, zeroTS := -1, 0, false
	pos := 0
	for p := 4; p < len(doc)-1; pos++ {
		t := bsoncore.Type(doc[p])
		keyEnd := p + 1 + bytes.IndexByte(doc[p+1:], 0)
		key := doc[p+1 : keyEnd]
		v := bsoncore.Value{Type: t}
		size := valueSize(t, doc[keyEnd+1:])
		v.Data = doc[keyEnd+1 : keyEnd+1+size]
		if string(key) == "_id" {
			ids++
			if idPos < 0 {
				idPos = pos
			}
			if err := validID(v); err != nil {
				return nil, err
			}
		}
		if t == bsoncore.TypeTimestamp {
			if ts, inc := v.Timestamp(); ts == 0 && inc == 0 {
				zeroTS = true
			}
		}
		p = keyEnd + 1 + size
	}
	if ids > 1 {
		return nil, mongoerr.New(mongoerr.BadValue, "can't have multiple _id fields in one document")
	}
	if idPos == 0 && !zeroTS {
		// The received bytes, in an allocation of their own so the stored
		// document does not keep its request message alive.
		return ownedCopy(doc), nil
	}
	// Rebuild: _id first (generated if missing), fix zero timestamps.
	out := make([]byte, 0, len(doc)+17)
	idx, out := bsoncore.AppendDocumentStart(out)
	if idPos < 0 {
		out = bsoncore.AppendObjectIDElement(out, "_id", bson.NewObjectID())
	} else {
		out = bsoncore.AppendValueElement(out, "_id", doc.Lookup("_id"))
	}
	elems, _ := doc.Elements()
	for _, e := range elems {
		if e.Key() == "_id" {
			continue
		}
		v := e.Value()
		if v.Type == bsoncore.TypeTimestamp {
			if ts, inc := v.Timestamp(); ts == 0 && inc == 0 {
				t, i := s.clock.tick(timeNow())
				out = bsoncore.AppendTimestampElement(out, e.Key(), t, i)
				continue
			}
		}
		out = append(out, e...)
	}
	out, _ = bsoncore.AppendDocumentEnd(out, idx)
	if len(out) > maxBSONObjectSize {
		return nil, mongoerr.New(mongoerr.BadValue, "object to insert too large. size in bytes: %d, max size: %d", len(out), maxBSONObjectSize)
	}
	return out, nil
}

// validID applies mongod's storageValidIdField.
func validID(v bsoncore.Value) error {
	switch v.Type {
	case bsoncore.TypeRegex, bsoncore.TypeArray, bsoncore.TypeUndefined:
		return mongoerr.New(mongoerr.InvalidIdField, "The '_id' value cannot be of type %s", typeName(v.Type))
	case bsoncore.TypeEmbeddedDocument:
		if k := dollarKey(v.Document()); k != "" {
			return mongoerr.New(mongoerr.DollarPrefixedFieldName,
				"_id fields may not contain '$'-prefixed fields: %s is not valid for storage.", k)
		}
	}
	return nil
}

// dollarKey returns the first $-prefixed field name found in d or its
// sub-documents ("" if none).
func dollarKey(d bsoncore.Document) string {
	elems, _ := d.Elements()
	for _, e := range elems {
		if strings.HasPrefix(e.Key(), "$") {
			return e.Key()
		}
		v := e.Value()
		if v.Type == bsoncore.TypeEmbeddedDocument {
			if k := dollarKey(v.Document()); k != "" {
				return k
			}
		}
	}
	return ""
}

// depthExceeds reports whether non-empty documents/arrays nest deeper than max.
func depthExceeds(doc bsoncore.Document, max int) bool {
	var walk func(d bsoncore.Document, depth int) bool
	walk = func(d bsoncore.Document, depth int) bool {
		for p := 4; p < len(d)-1; {
			t := bsoncore.Type(d[p])
			keyEnd := p + 1 + bytes.IndexByte(d[p+1:], 0)
			size := valueSize(t, d[keyEnd+1:])
			if t == bsoncore.TypeEmbeddedDocument || t == bsoncore.TypeArray {
				sub := d[keyEnd+1 : keyEnd+1+size]
				if len(sub) > 5 {
					if depth+1 > max || walk(sub, depth+1) {
						return true
					}
				}
			}
			p = keyEnd + 1 + size
		}
		return false
	}
	return walk(doc, 0)
}

// valueSize returns the encoded size of a value of type t at the start of
// b. b comes from a validated document, so lengths are trustworthy.
func valueSize(t bsoncore.Type, b []byte) int {
	switch t {
	case bsoncore.TypeDouble, bsoncore.TypeDateTime, bsoncore.TypeInt64, bsoncore.TypeTimestamp:
		return 8
	case bsoncore.TypeInt32:
		return 4
	case bsoncore.TypeDecimal128:
		return 16
	case bsoncore.TypeObjectID:
		return 12
	case bsoncore.TypeBoolean:
		return 1
	case bsoncore.TypeNull, bsoncore.TypeUndefined, bsoncore.TypeMinKey, bsoncore.TypeMaxKey:
		return 0
	case bsoncore.TypeString, bsoncore.TypeJavaScript, bsoncore.TypeSymbol:
		return 4 + int(le32(b))
	case bsoncore.TypeEmbeddedDocument, bsoncore.TypeArray, bsoncore.TypeCodeWithScope:
		return int(le32(b))
	case bsoncore.TypeBinary:
		return 5 + int(le32(b))
	case bsoncore.TypeRegex:
		p1 := bytes.IndexByte(b, 0)
		p2 := bytes.IndexByte(b[p1+1:], 0)
		return p1 + 1 + p2 + 1
	case bsoncore.TypeDBPointer:
		return 4 + int(le32(b)) + 12
	}
	return len(b)
}

func le32(b []byte) int32 {
	return int32(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
}
