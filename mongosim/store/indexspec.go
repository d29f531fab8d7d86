package store

import (
	"math"
	"sort"
	"strings"

	"github.com/google/btree"
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// indexOptionFields are the option fields an index spec may carry, besides
// v, key and name.
var indexOptionFields = map[string]bool{
	"unique": true, "sparse": true, "partialFilterExpression": true, "expireAfterSeconds": true,
	"hidden": true, "collation": true, "background": true, "storageEngine": true, "prepareUnique": true,
	"weights": true, "default_language": true, "language_override": true, "textIndexVersion": true,
	"2dsphereIndexVersion": true, "bits": true, "min": true, "max": true, "wildcardProjection": true,
	"ns": true, "dropDups": true, "clustered": true,
}

// identifyingOptions distinguish two indexes on the same key pattern
// (MongoDB allows both to exist under different names).
var identifyingOptions = []string{"partialFilterExpression", "collation"}

// comparedOptions must match for a request to be "the same index".
var comparedOptions = []string{
	"unique", "sparse", "expireAfterSeconds", "hidden", "prepareUnique", "weights", "default_language",
	"language_override", "textIndexVersion", "2dsphereIndexVersion", "bits", "min", "max", "wildcardProjection",
}

func badSpec(code int32, spec bsoncore.Document, msg string) *mongoerr.Error {
	return mongoerr.New(code, "Error in specification %s :: caused by :: %s", bsonkit.FormatDoc(spec), msg)
}

// buildIndex validates a createIndexes spec and returns the index with its
// normalized listIndexes spec: v, key, name first, then the given options in
// their order, then defaults MongoDB adds (text and 2dsphere versions, the
// collection's default collation).
func buildIndex(spec bsoncore.Document, defaultCollation bsoncore.Document, compile FilterCompiler) (*Index, error) {
	// Keep a private copy: request buffers are reused after the command.
	spec = append(bsoncore.Document(nil), spec...)
	elems, err := spec.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "invalid index specification: %v", err)
	}
	var (
		keyVal, nameVal, vVal bsoncore.Value
		opts                  bsonkit.Doc
	)
	for _, e := range elems {
		v := e.Value()
		switch k := e.Key(); k {
		case "key":
			keyVal = v
		case "name":
			nameVal = v
		case "v":
			vVal = v
		case "ns", "dropDups":
			// Accepted for compatibility and dropped, as mongod does.
		default:
			if !indexOptionFields[k] {
				return nil, mongoerr.New(mongoerr.InvalidIndexSpecificationOption,
					"The field '%s' is not valid for an index specification. Specification: %s", k, bsonkit.FormatDoc(spec))
			}
			opts = append(opts, bsonkit.Elem{Key: k, Value: v})
		}
	}
	if keyVal.Type == 0 {
		return nil, badSpec(mongoerr.FailedToParse, spec, "The 'key' field is a required property of an index specification")
	}
	if keyVal.Type != bsoncore.TypeEmbeddedDocument {
		return nil, badSpec(mongoerr.TypeMismatch, spec, "The field 'key' must be an object, but got "+typeName(keyVal.Type))
	}
	if nameVal.Type == 0 {
		return nil, badSpec(mongoerr.FailedToParse, spec, "The 'name' field is a required property of an index specification")
	}
	if nameVal.Type != bsoncore.TypeString {
		return nil, badSpec(mongoerr.TypeMismatch, spec, "The field 'name' must be a string, but got "+typeName(nameVal.Type))
	}
	name := nameVal.StringValue()
	if name == "" {
		return nil, badSpec(mongoerr.CannotCreateIndex, spec, "index name cannot be empty")
	}
	if name == "*" {
		return nil, badSpec(mongoerr.BadValue, spec, "The index name '*' is not valid.")
	}
	version := bsonkit.Int32(2)
	if vVal.Type != 0 {
		n, ok := numberValue(vVal)
		if !ok || (n != 1 && n != 2) {
			return nil, badSpec(mongoerr.CannotCreateIndex, spec, "Invalid index specification "+bsonkit.FormatDoc(spec)+"; cannot create an index with v="+bsonkit.FormatValue(vVal))
		}
		version = bsonkit.Int32(int32(n))
	}

	ix := &Index{name: name}
	key := keyVal.Document()
	fields, kind, err := parseKeyPattern(key, spec)
	if err != nil {
		return nil, err
	}
	ix.fields, ix.kind = fields, kind
	if isIDKey(key) && name == IDIndexName {
		ix.isID = true
	}

	textWeights := bsonkit.Doc(nil)
	if kind == "text" {
		key, textWeights = textKeyPattern(key)
	}
	ix.key = key

	var tail bsonkit.Doc
	partialUnsupported := false
	for i := 0; i < len(opts); i++ {
		o := opts[i]
		switch o.Key {
		case "unique":
			ix.unique = bsonkit.Truthy(o.Value)
		case "sparse":
			ix.sparse = bsonkit.Truthy(o.Value)
		case "hidden":
			if o.Value.Type != bsoncore.TypeBoolean {
				return nil, badSpec(mongoerr.TypeMismatch, spec, "The field 'hidden' must be a bool")
			}
			ix.hidden = o.Value.Boolean()
			if ix.hidden && ix.isID {
				return nil, badSpec(mongoerr.BadValue, spec, "can't hide _id index")
			}
		case "prepareUnique":
			ix.prepareUnique = bsonkit.Truthy(o.Value)
		case "expireAfterSeconds":
			if err := checkTTL(o.Value, len(fields), spec); err != nil {
				return nil, err
			}
		case "partialFilterExpression":
			if o.Value.Type != bsoncore.TypeEmbeddedDocument {
				return nil, badSpec(mongoerr.TypeMismatch, spec, "The field 'partialFilterExpression' must be an object")
			}
			ix.partial = o.Value.Document()
			if compile != nil {
				m, err := compile(ix.partial)
				switch {
				case notImplemented(err):
					// Valid but not evaluable here: keep the spec, maintain no keys
					// (uniqueness is then not enforced rather than over-enforced).
					partialUnsupported = true
				case err != nil:
					return nil, err
				default:
					ix.matcher = m
				}
			}
		case "collation":
			if o.Value.Type != bsoncore.TypeEmbeddedDocument {
				return nil, badSpec(mongoerr.TypeMismatch, spec, "The field 'collation' must be an object")
			}
			c, err := normalizeCollation(o.Value.Document())
			if err != nil {
				return nil, err
			}
			if c == nil {
				opts = append(opts[:i], opts[i+1:]...)
				i--
				defaultCollation = nil
				continue
			}
			opts[i].Value = bsonkit.DocValue(c)
			defaultCollation = nil
		case "weights", "default_language", "language_override", "textIndexVersion":
			if kind != "text" {
				return nil, badSpec(mongoerr.InvalidOptions, spec, "The field '"+o.Key+"' is only valid for text indexes")
			}
		}
	}
	if ix.unique && fields[0].plugin == "hashed" && len(fields) == 1 {
		return nil, badSpec(16764, spec, "Currently hashed indexes cannot guarantee uniqueness. Use a regular index.")
	}
	if ix.sparse && ix.partial != nil {
		return nil, badSpec(mongoerr.CannotCreateIndex, spec, "cannot mix \"partialFilterExpression\" and \"sparse\" options")
	}
	switch kind {
	case "text":
		tail = textDefaults(opts, textWeights)
	case "2dsphere":
		if opts.Index("2dsphereIndexVersion") < 0 {
			tail = append(tail, bsonkit.Elem{Key: "2dsphereIndexVersion", Value: bsonkit.Int32(3)})
		}
	}
	if defaultCollation != nil && opts.Index("collation") < 0 {
		tail = append(tail, bsonkit.Elem{Key: "collation", Value: bsonkit.DocValue(defaultCollation)})
	}

	out := bsonkit.Doc{{Key: "v", Value: version}, {Key: "key", Value: bsonkit.DocValue(key)}, {Key: "name", Value: bsonkit.String(name)}}
	out = append(out, opts...)
	out = append(out, tail...)
	ix.spec = out.Bytes()
	if kind == "" && !ix.isID && !partialUnsupported {
		ix.entries = btree.NewG[indexEntry](16, lessEntry)
	}
	return ix, nil
}

func checkTTL(v bsoncore.Value, nfields int, spec bsoncore.Document) error {
	n, ok := numberValue(v)
	if !ok {
		return badSpec(mongoerr.CannotCreateIndex, spec, "TTL index 'expireAfterSeconds' option must be numeric, but received a type of '"+typeName(v.Type)+"'")
	}
	if math.IsNaN(n) || n < 0 || n > math.MaxInt32 {
		return badSpec(mongoerr.CannotCreateIndex, spec, "TTL index 'expireAfterSeconds' option must be within an acceptable range, try a lower number")
	}
	if nfields > 1 {
		return badSpec(mongoerr.CannotCreateIndex, spec, "TTL indexes are single-field indexes, compound indexes do not support TTL")
	}
	return nil
}

// parseKeyPattern validates a key pattern and returns its fields and the
// special index type, if any.
func parseKeyPattern(key, spec bsoncore.Document) ([]keyField, string, error) {
	elems, err := key.Elements()
	if err != nil || len(elems) == 0 {
		return nil, "", badSpec(mongoerr.CannotCreateIndex, spec, "Index keys cannot be an empty field.")
	}
	if len(elems) > 32 {
		return nil, "", badSpec(mongoerr.CannotCreateIndex, spec, "Index key pattern has more than 32 fields")
	}
	var fields []keyField
	kind := ""
	for _, e := range elems {
		path := e.Key()
		v := e.Value()
		f := keyField{path: path, parts: strings.Split(path, ".")}
		if path == "" {
			return nil, "", badSpec(mongoerr.CannotCreateIndex, spec, "Index keys cannot be an empty field.")
		}
		for _, p := range f.parts {
			if p == "" {
				return nil, "", badSpec(mongoerr.CannotCreateIndex, spec, "Index keys cannot contain an empty field.")
			}
		}
		wildcard := path == "$**" || strings.HasSuffix(path, ".$**")
		if !wildcard && strings.HasPrefix(f.parts[0], "$") {
			return nil, "", badSpec(mongoerr.CannotCreateIndex, spec, "Index key contains an illegal field name: field name starts with '$'.")
		}
		switch v.Type {
		case bsoncore.TypeDouble, bsoncore.TypeInt32, bsoncore.TypeInt64, bsoncore.TypeDecimal128:
			n, _ := bsonkit.ToFloat(v)
			if n == 0 || math.IsNaN(n) {
				return nil, "", badSpec(mongoerr.CannotCreateIndex, spec,
					"Values in the index key pattern can't be 0 or NaN: "+bsonkit.FormatValue(v))
			}
			if wildcard {
				kind = "wildcard"
			}
		case bsoncore.TypeString:
			switch s := v.StringValue(); s {
			case "hashed":
				if kind == "" {
					f.plugin = s
				}
			case "text", "2dsphere", "2d":
				if kind != "" && kind != s {
					return nil, "", badSpec(mongoerr.CannotCreateIndex, spec, "Can't use more than one index plugin for a single index.")
				}
				kind = s
				f.plugin = s
			default:
				return nil, "", badSpec(mongoerr.CannotCreateIndex, spec, "Unknown index plugin '"+s+"'")
			}
		default:
			return nil, "", badSpec(mongoerr.CannotCreateIndex, spec,
				"Values in v:2 index key pattern cannot be of type "+typeName(v.Type)+". Only numbers > 0, numbers < 0, and strings are allowed.")
		}
		fields = append(fields, f)
	}
	return fields, kind, nil
}

// textKeyPattern rewrites {a: "text", b: 1} the way mongod stores it:
// the text fields collapse into _fts/_ftsx and become weights. A key
// already in that form is kept as it is (mongod's FTSSpec::fixSpec).
func textKeyPattern(key bsoncore.Document) (bsoncore.Document, bsonkit.Doc) {
	elems, _ := key.Elements()
	var out, weights bsonkit.Doc
	emitted := false
	for _, e := range elems {
		v := e.Value()
		if e.Key() == "_fts" || e.Key() == "_ftsx" {
			// Already the stored form (a spec read back from listIndexes,
			// as dump/restore and sync tools pass it): keep it, weights
			// come from the spec's own weights option.
			out = append(out, bsonkit.Elem{Key: e.Key(), Value: v})
			emitted = true
			continue
		}
		if v.Type == bsoncore.TypeString && v.StringValue() == "text" {
			weights = append(weights, bsonkit.Elem{Key: e.Key(), Value: bsonkit.Int32(1)})
			if !emitted {
				out = append(out, bsonkit.Elem{Key: "_fts", Value: bsonkit.String("text")},
					bsonkit.Elem{Key: "_ftsx", Value: bsonkit.Int32(1)})
				emitted = true
			}
			continue
		}
		out = append(out, bsonkit.Elem{Key: e.Key(), Value: v})
	}
	return out.Bytes(), weights
}

// textDefaults fills in the text index options mongod adds and merges the
// key pattern's text fields into weights (sorted by field, as mongod keeps
// them in a map).
func textDefaults(opts bsonkit.Doc, keyWeights bsonkit.Doc) bsonkit.Doc {
	var tail bsonkit.Doc
	if i := opts.Index("weights"); i >= 0 {
		if opts[i].Value.Type == bsoncore.TypeEmbeddedDocument {
			given := bsonkit.MustParseDoc(opts[i].Value.Document())
			for _, w := range keyWeights {
				if given.Index(w.Key) < 0 {
					given = append(given, w)
				}
			}
			opts[i].Value = sortedDoc(given).Value()
		}
	} else {
		tail = append(tail, bsonkit.Elem{Key: "weights", Value: sortedDoc(keyWeights).Value()})
	}
	if opts.Index("default_language") < 0 {
		tail = append(tail, bsonkit.Elem{Key: "default_language", Value: bsonkit.String("english")})
	}
	if opts.Index("language_override") < 0 {
		tail = append(tail, bsonkit.Elem{Key: "language_override", Value: bsonkit.String("language")})
	}
	if opts.Index("textIndexVersion") < 0 {
		tail = append(tail, bsonkit.Elem{Key: "textIndexVersion", Value: bsonkit.Int32(3)})
	}
	return tail
}

func sortedDoc(d bsonkit.Doc) bsonkit.Doc {
	out := append(bsonkit.Doc(nil), d...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func isIDKey(key bsoncore.Document) bool {
	elems, _ := key.Elements()
	if len(elems) != 1 || elems[0].Key() != "_id" {
		return false
	}
	n, ok := numberValue(elems[0].Value())
	return ok && n == 1
}

// sameKey reports whether two key patterns are the same (field order and
// values compared as BSON).
func sameKey(a, b bsoncore.Document) bool { return bsonkit.CompareDocuments(a, b) == 0 }

// optionsEqual compares the named options of two specs; a missing option
// equals false/absent.
func optionsEqual(a, b bsoncore.Document, names []string) bool {
	for _, n := range names {
		va, _ := a.LookupErr(n)
		vb, _ := b.LookupErr(n)
		if isFalsy(va) && isFalsy(vb) {
			continue
		}
		if va.Type == 0 || vb.Type == 0 || bsonkit.Compare(va, vb) != 0 {
			return false
		}
	}
	return true
}

func isFalsy(v bsoncore.Value) bool {
	return v.Type == 0 || (v.Type == bsoncore.TypeBoolean && !v.Boolean())
}

func numberValue(v bsoncore.Value) (float64, bool) {
	if !bsonkit.IsNumber(v.Type) {
		return 0, false
	}
	return bsonkit.ToFloat(v)
}

// typeName is MongoDB's alias of a BSON type, as error messages spell it.
var typeName = bsonkit.TypeName
