package store

import (
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// collationFields are the collation document's fields in the order mongod
// reports a fully specified collation, with the defaults it fills in.
var collationFields = []bsonkit.Elem{
	{Key: "locale"},
	{Key: "caseLevel", Value: bsonkit.Bool(false)},
	{Key: "caseFirst", Value: bsonkit.String("off")},
	{Key: "strength", Value: bsonkit.Int32(3)},
	{Key: "numericOrdering", Value: bsonkit.Bool(false)},
	{Key: "alternate", Value: bsonkit.String("non-ignorable")},
	{Key: "maxVariable", Value: bsonkit.String("punct")},
	{Key: "normalization", Value: bsonkit.Bool(false)},
	{Key: "backwards", Value: bsonkit.Bool(false)},
	{Key: "version", Value: bsonkit.String("57.1")},
}

// normalizeCollation validates a collation document and returns it fully
// specified, as collection options and index specs show it. The simple
// collation ({locale: "simple"}) normalizes to nil: no collation.
//
// Only the stored form is simulated: comparisons elsewhere in mongosim use
// the simple binary collation, and locale-specific defaults (e.g. backwards
// for fr_CA) are not applied.
func normalizeCollation(c bsoncore.Document) (bsoncore.Document, error) {
	given, err := bsonkit.ParseDoc(c)
	if err != nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "invalid collation: %v", err)
	}
	for _, e := range given {
		if !isCollationField(e.Key) {
			return nil, mongoerr.New(mongoerr.FailedToParse, "unknown field '%s' in collation: %s", e.Key, bsonkit.FormatDoc(c))
		}
	}
	loc := given.Get("locale")
	if loc.Type == 0 {
		return nil, mongoerr.New(mongoerr.FailedToParse, "Missing expected field \"locale\"")
	}
	if loc.Type != bsoncore.TypeString {
		return nil, mongoerr.New(mongoerr.TypeMismatch, "Field \"locale\" must be of type string")
	}
	if loc.StringValue() == "simple" {
		if len(given) > 1 {
			return nil, mongoerr.New(mongoerr.BadValue, "If \"locale\" is set to \"simple\", then no other fields may be specified: %s", bsonkit.FormatDoc(c))
		}
		return nil, nil
	}
	if loc.StringValue() == "" {
		return nil, mongoerr.New(mongoerr.BadValue, "Field \"locale\" cannot be the empty string")
	}
	if s := given.Get("strength"); s.Type != 0 {
		n, ok := numberValue(s)
		if !ok || n < 1 || n > 5 || n != float64(int(n)) {
			return nil, mongoerr.New(mongoerr.FailedToParse, "Field \"strength\" must be an integer 1 through 5. Got: %s", bsonkit.FormatValue(s))
		}
		given[given.Index("strength")].Value = bsonkit.Int32(int32(n))
	}
	for _, f := range []struct{ key, a, b, c string }{
		{"caseFirst", "upper", "lower", "off"},
		{"alternate", "non-ignorable", "shifted", ""},
		{"maxVariable", "punct", "space", ""},
	} {
		v := given.Get(f.key)
		if v.Type == 0 {
			continue
		}
		if v.Type != bsoncore.TypeString {
			return nil, mongoerr.New(mongoerr.TypeMismatch, "Field \"%s\" must be of type string", f.key)
		}
		if s := v.StringValue(); s != f.a && s != f.b && (f.c == "" || s != f.c) {
			return nil, mongoerr.New(mongoerr.FailedToParse, "Field \"%s\" must be one of: \"%s\", \"%s\". Got: %s", f.key, f.a, f.b, s)
		}
	}
	var out bsonkit.Doc
	for _, f := range collationFields {
		v := given.Get(f.Key)
		if v.Type == 0 {
			v = f.Value
		}
		out = append(out, bsonkit.Elem{Key: f.Key, Value: v})
	}
	return out.Bytes(), nil
}

func isCollationField(k string) bool {
	for _, f := range collationFields {
		if f.Key == k {
			return true
		}
	}
	return false
}
