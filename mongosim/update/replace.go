package update

import (
	"bytes"
	"strings"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// applyReplacement is mongod's ObjectReplaceExecutor: the stored _id stays
// (in place) when the replacement has none, every other field is replaced
// by the replacement's fields in their order, top-level Timestamp(0, 0)
// values get the current cluster time, and _id may not change value.
func applyReplacement(doc, repl bsoncore.Document, ctx ApplyCtx) (bsoncore.Document, bool, error) {
	repl = fillZeroTimestamps(repl, ctx.ClusterTime)
	out, changed, err := replaceDocument(doc, repl, !ctx.Upsert, false)
	return out, changed, err
}

// replaceDocument builds the replaced document and checks it; validate is
// the storage validation of a user update, allowDollar permits top-level
// $-prefixed names (pipeline results).
func replaceDocument(doc, repl bsoncore.Document, validate, allowDollar bool) (bsoncore.Document, bool, error) {
	if bytes.Equal(doc, repl) {
		return doc, false, nil
	}
	oldID, oldHasID := lookupTop(doc, "_id")
	_, replHasID := lookupTop(repl, "_id")
	idx, b := bsoncore.AppendDocumentStart(make([]byte, 0, len(repl)+32))
	if !replHasID && oldHasID {
		b = bsoncore.AppendValueElement(b, "_id", oldID)
	}
	elems, _ := repl.Elements()
	for _, e := range elems {
		b = append(b, e...)
	}
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	out := bsoncore.Document(b)
	if validate {
		if err := validateStorage(out, allowDollar); err != nil {
			return doc, false, err
		}
	}
	if newID, ok := lookupTop(out, "_id"); ok {
		if newID.Type == bsoncore.TypeArray {
			return doc, false, mongoerr.New(mongoerr.NotSingleValueField,
				"After applying the update to the document, the (immutable) field '_id' was found to be an array or array descendant.")
		}
		if oldHasID && bsonkit.Compare(newID, oldID) != 0 {
			return doc, false, mongoerr.New(mongoerr.ImmutableField,
				"After applying the update, the (immutable) field '_id' was found to have been altered to %s", bsonkit.FormatElem("_id", newID))
		}
	}
	return out, true, nil
}

func lookupTop(d bsoncore.Document, key string) (bsoncore.Value, bool) {
	v, err := d.LookupErr(key)
	return v, err == nil
}

// fillZeroTimestamps replaces top-level (non-_id) Timestamp(0, 0) values
// with the cluster time, as mongod does for inserts and replacements.
func fillZeroTimestamps(d bsoncore.Document, ct [2]uint32) bsoncore.Document {
	elems, _ := d.Elements()
	found := false
	for _, e := range elems {
		if v := e.Value(); v.Type == bsoncore.TypeTimestamp && e.Key() != "_id" {
			if t, i := v.Timestamp(); t == 0 && i == 0 {
				found = true
				break
			}
		}
	}
	if !found {
		return d
	}
	idx, b := bsoncore.AppendDocumentStart(nil)
	for _, e := range elems {
		v := e.Value()
		if v.Type == bsoncore.TypeTimestamp && e.Key() != "_id" {
			if t, i := v.Timestamp(); t == 0 && i == 0 {
				b = bsoncore.AppendTimestampElement(b, e.Key(), ct[0], ct[1])
				continue
			}
		}
		b = append(b, e...)
	}
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	return b
}

// validateStorage is storage_validation::scanDocument for a whole new
// document: the _id value's type, and $-prefixed top-level names.
func validateStorage(d bsoncore.Document, allowDollar bool) error {
	elems, _ := d.Elements()
	var fields []*mval
	for _, e := range elems {
		v := e.Value()
		fields = append(fields, &mval{name: e.Key(), typ: v.Type, raw: v})
	}
	for i, f := range fields {
		if f.name == "_id" {
			if err := validateIDValue(f.raw); err != nil {
				return err
			}
			continue
		}
		if !allowDollar && strings.HasPrefix(f.name, "$") {
			if err := validateDollarField(fields, i, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateIDValue is storageValidIdField.
func validateIDValue(v bsoncore.Value) error {
	switch v.Type {
	case bsoncore.TypeRegex, bsoncore.TypeArray, bsoncore.TypeUndefined:
		return mongoerr.New(mongoerr.InvalidIdField, "The '_id' value cannot be of type %s", bsonkit.TypeName(v.Type))
	case bsoncore.TypeEmbeddedDocument:
		if err := validateEmbedded(v.Document()); err != nil {
			if me, ok := err.(*mongoerr.Error); ok && me.Code == mongoerr.DollarPrefixedFieldName {
				return mongoerr.New(me.Code, "_id fields may not contain '$'-prefixed fields: %s", me.Msg)
			}
			return err
		}
	}
	return nil
}

// validateEmbedded is BSONObj::storageValidEmbedded: no $-prefixed names
// at any depth except DBRef fields.
func validateEmbedded(d bsoncore.Document) error {
	elems, _ := d.Elements()
	for _, e := range elems {
		k := e.Key()
		if strings.HasPrefix(k, "$") && k != "$ref" && k != "$id" && k != "$db" {
			return mongoerr.New(mongoerr.DollarPrefixedFieldName, "%s is not valid for storage.", k)
		}
		if v := e.Value(); v.Type == bsoncore.TypeEmbeddedDocument || v.Type == bsoncore.TypeArray {
			if err := validateEmbedded(bsoncore.Document(v.Data)); err != nil {
				return err
			}
		}
	}
	return nil
}
