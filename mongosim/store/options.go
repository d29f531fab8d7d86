package store

import (
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// codeIDLValidation is mongod's code for IDL range validators.
const codeIDLValidation = 51024

// maxCappedSize is 1 PB, the largest capped size mongod accepts.
const maxCappedSize = 1 << 50

// genericArgs are command arguments every command accepts; they are not
// collection options.
var genericArgs = map[string]bool{
	"writeConcern": true, "comment": true, "maxTimeMS": true, "lsid": true, "$db": true,
	"$clusterTime": true, "txnNumber": true, "autocommit": true, "startTransaction": true,
	"readConcern": true, "apiVersion": true, "apiStrict": true, "apiDeprecationErrors": true,
	"$readPreference": true, "$audit": true, "$client": true, "mayBypassWriteBlocking": true,
	"bypassDocumentValidation": true,
}

// collOptions is a parsed create command (or catalog entry), serialised
// back in mongod's CollectionOptions order by toDoc.
type collOptions struct {
	capped             bool
	size, max          int64
	autoIndexID        *bool
	temp               bool
	preAndPostImages   bool
	storageEngine      bsoncore.Document
	indexOptionDefault bsoncore.Document
	validator          bsoncore.Document
	validationLevel    string
	validationAction   string
	collation          bsoncore.Document
	clusteredIndex     bsoncore.Document // normalized spec
	clusteredLegacy    bool              // clusteredIndex: true (time-series buckets)
	viewOn             string
	pipeline           bsoncore.Array
	timeseries         bsoncore.Document // normalized
	expireAfterSeconds *int64
}

func idlType(field string, v bsoncore.Value, expected string) *mongoerr.Error {
	return mongoerr.WrongType("create."+field, typeName(v.Type), expected)
}

const (
	expectBool   = mongoerr.SafeBoolTypes
	expectNumber = mongoerr.NumberTypes
	expectObject = "object"
	expectString = "string"
	expectArray  = "array"
)

// parseCreateOptions validates create's options (the command document
// without its "create" field) as mongod's IDL parser does.
func parseCreateOptions(opts bsoncore.Document) (*collOptions, error) {
	// Keep a private copy: request buffers are reused after the command.
	opts = append(bsoncore.Document(nil), opts...)
	elems, err := opts.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "invalid create options: %v", err)
	}
	o := &collOptions{}
	var haveSize, haveMax bool
	for _, e := range elems {
		k, v := e.Key(), e.Value()
		switch k {
		case "capped":
			if v.Type != bsoncore.TypeBoolean && !bsonkit.IsNumber(v.Type) {
				return nil, idlType(k, v, expectBool)
			}
			o.capped = bsonkit.Truthy(v)
		case "size":
			n, ok := numberValue(v)
			if !ok {
				return nil, idlType(k, v, expectNumber)
			}
			if n < 0 {
				return nil, mongoerr.New(mongoerr.BadValue, "size has to be >= 0")
			}
			if n > maxCappedSize {
				return nil, mongoerr.New(codeIDLValidation, "BSON field 'size' value must be <= %d, actual value '%s'", int64(maxCappedSize), bsonkit.FormatValue(v))
			}
			o.size, haveSize = int64(n), true
		case "max":
			n, ok := numberValue(v)
			if !ok {
				return nil, idlType(k, v, expectNumber)
			}
			if n >= 1<<31 {
				return nil, mongoerr.New(codeIDLValidation, "BSON field 'max' value must be < 2147483648, actual value '%s'", bsonkit.FormatValue(v))
			}
			o.max, haveMax = int64(n), true
		case "autoIndexId":
			if v.Type != bsoncore.TypeBoolean && !bsonkit.IsNumber(v.Type) {
				return nil, idlType(k, v, expectBool)
			}
			b := bsonkit.Truthy(v)
			o.autoIndexID = &b
		case "temp":
			o.temp = bsonkit.Truthy(v)
		case "changeStreamPreAndPostImages":
			if v.Type != bsoncore.TypeEmbeddedDocument {
				return nil, idlType(k, v, expectObject)
			}
			en, err := v.Document().LookupErr("enabled")
			if err != nil {
				return nil, mongoerr.MissingField("create.changeStreamPreAndPostImages.enabled")
			}
			if en.Type != bsoncore.TypeBoolean {
				return nil, mongoerr.WrongType("create.changeStreamPreAndPostImages.enabled", typeName(en.Type), "bool")
			}
			o.preAndPostImages = en.Boolean()
		case "storageEngine", "indexOptionDefaults", "validator":
			if v.Type != bsoncore.TypeEmbeddedDocument {
				return nil, idlType(k, v, expectObject)
			}
			switch k {
			case "storageEngine":
				o.storageEngine = v.Document()
			case "indexOptionDefaults":
				o.indexOptionDefault = v.Document()
			default:
				o.validator = v.Document()
			}
		case "validationLevel", "validationAction":
			if err := o.setValidation("create", k, v); err != nil {
				return nil, err
			}
		case "collation":
			if v.Type != bsoncore.TypeEmbeddedDocument {
				return nil, idlType(k, v, expectObject)
			}
			c, err := normalizeCollation(v.Document())
			if err != nil {
				return nil, err
			}
			o.collation = c
		case "clusteredIndex":
			if err := o.parseClustered(v); err != nil {
				return nil, err
			}
		case "viewOn":
			if v.Type != bsoncore.TypeString {
				return nil, idlType(k, v, expectString)
			}
			if v.StringValue() == "" {
				return nil, mongoerr.New(mongoerr.BadValue, "'viewOn' cannot be empty")
			}
			o.viewOn = v.StringValue()
		case "pipeline":
			if v.Type != bsoncore.TypeArray {
				return nil, idlType(k, v, expectArray)
			}
			for _, st := range bsonkit.Values(v) {
				if st.Type != bsoncore.TypeEmbeddedDocument {
					return nil, mongoerr.New(mongoerr.TypeMismatch, "Each element of the 'pipeline' array must be an object")
				}
			}
			o.pipeline = v.Array()
		case "timeseries":
			ts, err := normalizeTimeseries(v)
			if err != nil {
				return nil, err
			}
			o.timeseries = ts
		case "expireAfterSeconds":
			n, ok := numberValue(v)
			if !ok {
				return nil, idlType(k, v, expectNumber)
			}
			if n < 0 {
				return nil, mongoerr.New(mongoerr.InvalidOptions, "TTL index 'expireAfterSeconds' option must be within an acceptable range, try a lower number")
			}
			e := int64(n)
			o.expireAfterSeconds = &e
		case "idIndex", "encryptedFields":
			// Accepted; mongosim always builds the default _id index.
		default:
			if genericArgs[k] {
				continue
			}
			return nil, mongoerr.New(mongoerr.Location40415, "BSON field 'create.%s' is an unknown field.", k)
		}
	}
	if o.pipeline != nil && o.viewOn == "" {
		return nil, mongoerr.New(mongoerr.BadValue, "'pipeline' requires 'viewOn' to also be specified")
	}
	if o.viewOn != "" {
		if o.capped || haveSize || haveMax || o.validator != nil || o.timeseries != nil || o.clusteredIndex != nil ||
			o.storageEngine != nil || o.indexOptionDefault != nil || o.expireAfterSeconds != nil || o.preAndPostImages {
			return nil, mongoerr.New(mongoerr.InvalidOptions, "Invalid options for view")
		}
		if o.pipeline == nil {
			o.pipeline = emptyArray()
		}
		return o, nil
	}
	if o.capped && !haveSize {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "the 'size' field is required when 'capped' is true")
	}
	if !o.capped {
		// mongod ignores size and max on uncapped collections.
		o.size, o.max = 0, 0
	} else if o.max < 0 {
		o.max = 0 // no document limit
	}
	if o.timeseries != nil {
		if o.capped {
			return nil, mongoerr.New(mongoerr.InvalidOptions, "Time-series collection cannot be capped")
		}
		if o.clusteredIndex != nil {
			return nil, mongoerr.New(mongoerr.InvalidOptions, "The 'clusteredIndex' option is not supported with the 'timeseries' option")
		}
	}
	if o.clusteredIndex != nil && o.capped {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "Clustered capped collections are not supported")
	}
	if o.expireAfterSeconds != nil && o.clusteredIndex == nil && o.timeseries == nil {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "'expireAfterSeconds' requires clustering to be enabled")
	}
	return o, nil
}

// setValidation sets validationLevel or validationAction (field) from v,
// as create and collMod (cmd) parse them: a string of the enumeration.
func (o *collOptions) setValidation(cmd, field string, v bsoncore.Value) error {
	if v.Type != bsoncore.TypeString {
		return mongoerr.WrongType(cmd+"."+field, typeName(v.Type), "string")
	}
	s := v.StringValue()
	ok := false
	switch field {
	case "validationLevel":
		ok = s == "off" || s == "strict" || s == "moderate"
		o.validationLevel = s
	case "validationAction":
		ok = s == "error" || s == "warn" || s == "errorAndLog"
		o.validationAction = s
	}
	if !ok {
		return mongoerr.New(mongoerr.BadValue, "Enumeration value '%s' for field '%s' is not a valid value.", s, field)
	}
	return nil
}

// parseClustered accepts {key: {_id: 1}, unique: true, name?, v?}.
func (o *collOptions) parseClustered(v bsoncore.Value) error {
	if v.Type == bsoncore.TypeBoolean {
		o.clusteredLegacy = v.Boolean()
		return nil
	}
	if v.Type != bsoncore.TypeEmbeddedDocument {
		return idlType("clusteredIndex", v, "s '[bool, object]'")
	}
	d := bsonkit.MustParseDoc(v.Document())
	for _, e := range d {
		switch e.Key {
		case "key", "unique", "name", "v":
		default:
			return mongoerr.New(mongoerr.Location40415, "BSON field 'create.clusteredIndex.%s' is an unknown field.", e.Key)
		}
	}
	key := d.Get("key")
	if key.Type == 0 {
		return mongoerr.MissingField("create.clusteredIndex.key")
	}
	if key.Type != bsoncore.TypeEmbeddedDocument || !isIDKey(key.Document()) {
		return mongoerr.New(mongoerr.InvalidOptions, "The clusteredIndex option is only supported for key: {_id: 1}")
	}
	uq := d.Get("unique")
	if uq.Type == 0 {
		return mongoerr.MissingField("create.clusteredIndex.unique")
	}
	if !bsonkit.Truthy(uq) {
		return mongoerr.New(mongoerr.InvalidOptions, "The clusteredIndex option requires unique: true")
	}
	name := IDIndexName
	if n := d.Get("name"); n.Type == bsoncore.TypeString {
		name = n.StringValue()
	}
	if ver := d.Get("v"); ver.Type != 0 {
		if n, ok := numberValue(ver); !ok || n != 2 {
			return mongoerr.New(mongoerr.InvalidOptions, "Invalid clusteredIndex version")
		}
	}
	o.clusteredIndex = bsonkit.D("v", bsonkit.Int32(2), "key", key, "name", bsonkit.String(name), "unique", bsonkit.Bool(true))
	return nil
}

// bucketSpans are the default bucketMaxSpanSeconds per granularity.
var bucketSpans = map[string]int32{"seconds": 3600, "minutes": 86400, "hours": 2592000}

// normalizeTimeseries returns timeseries options as listCollections shows
// them: timeField, metaField, then granularity and bucketMaxSpanSeconds (or
// the custom bucketRoundingSeconds/bucketMaxSpanSeconds pair).
func normalizeTimeseries(v bsoncore.Value) (bsoncore.Document, error) {
	if v.Type != bsoncore.TypeEmbeddedDocument {
		return nil, idlType("timeseries", v, expectObject)
	}
	d := bsonkit.MustParseDoc(v.Document())
	for _, e := range d {
		switch e.Key {
		case "timeField", "metaField", "granularity", "bucketMaxSpanSeconds", "bucketRoundingSeconds":
		default:
			return nil, mongoerr.New(mongoerr.Location40415, "BSON field 'create.timeseries.%s' is an unknown field.", e.Key)
		}
	}
	tf := d.Get("timeField")
	if tf.Type == 0 {
		return nil, mongoerr.MissingField("create.timeseries.timeField")
	}
	if tf.Type != bsoncore.TypeString {
		return nil, mongoerr.WrongType("create.timeseries.timeField", typeName(tf.Type), "string")
	}
	out := bsonkit.Doc{{Key: "timeField", Value: tf}}
	if mf := d.Get("metaField"); mf.Type != 0 {
		if mf.Type != bsoncore.TypeString {
			return nil, mongoerr.WrongType("create.timeseries.metaField", typeName(mf.Type), "string")
		}
		if mf.StringValue() == tf.StringValue() {
			return nil, mongoerr.New(mongoerr.InvalidOptions, "The 'metaField' and 'timeField' options cannot be the same")
		}
		out = append(out, bsonkit.Elem{Key: "metaField", Value: mf})
	}
	gran, span, round := d.Get("granularity"), d.Get("bucketMaxSpanSeconds"), d.Get("bucketRoundingSeconds")
	if gran.Type != 0 && (span.Type != 0 || round.Type != 0) {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "Time-series 'bucketMaxSpanSeconds' and 'bucketRoundingSeconds' cannot be set when 'granularity' is set")
	}
	if span.Type != 0 || round.Type != 0 {
		s, ok1 := numberValue(span)
		r, ok2 := numberValue(round)
		if !ok1 || !ok2 || s != r || s < 1 {
			return nil, mongoerr.New(mongoerr.InvalidOptions, "Time-series 'bucketMaxSpanSeconds' and 'bucketRoundingSeconds' must be set together and be equal")
		}
		out = append(out, bsonkit.Elem{Key: "bucketRoundingSeconds", Value: bsonkit.Int32(int32(r))},
			bsonkit.Elem{Key: "bucketMaxSpanSeconds", Value: bsonkit.Int32(int32(s))})
		return out.Bytes(), nil
	}
	g := "seconds"
	if gran.Type != 0 {
		if gran.Type != bsoncore.TypeString {
			return nil, mongoerr.WrongType("create.timeseries.granularity", typeName(gran.Type), "string")
		}
		g = gran.StringValue()
		if _, ok := bucketSpans[g]; !ok {
			return nil, mongoerr.New(mongoerr.BadValue, "Enumeration value '%s' for field 'create.timeseries.granularity' is not a valid value.", g)
		}
	}
	out = append(out, bsonkit.Elem{Key: "granularity", Value: bsonkit.String(g)},
		bsonkit.Elem{Key: "bucketMaxSpanSeconds", Value: bsonkit.Int32(bucketSpans[g])})
	return out.Bytes(), nil
}

// appendNumber mirrors BSONObjBuilder::appendNumber(long long): int32 when
// the magnitude is below 2^30, else int64.
func appendNumber(n int64) bsoncore.Value {
	if n > -(1<<30) && n < 1<<30 {
		return bsonkit.Int32(int32(n))
	}
	return bsonkit.Int64(n)
}

// toDoc serialises the options in mongod's CollectionOptions order.
func (o *collOptions) toDoc() bsoncore.Document {
	var d bsonkit.Doc
	add := func(k string, v bsoncore.Value) { d = append(d, bsonkit.Elem{Key: k, Value: v}) }
	if o.capped {
		add("capped", bsonkit.Bool(true))
		add("size", appendNumber(o.size))
		if o.max > 0 {
			add("max", appendNumber(o.max))
		}
	}
	if o.autoIndexID != nil {
		add("autoIndexId", bsonkit.Bool(*o.autoIndexID))
	}
	if o.temp {
		add("temp", bsonkit.Bool(true))
	}
	if o.preAndPostImages {
		add("changeStreamPreAndPostImages", bsonkit.DocValue(bsonkit.D("enabled", bsonkit.Bool(true))))
	}
	if o.storageEngine != nil {
		add("storageEngine", bsonkit.DocValue(o.storageEngine))
	}
	if o.indexOptionDefault != nil {
		add("indexOptionDefaults", bsonkit.DocValue(o.indexOptionDefault))
	}
	if o.validator != nil {
		add("validator", bsonkit.DocValue(o.validator))
	}
	if o.validationLevel != "" {
		add("validationLevel", bsonkit.String(o.validationLevel))
	}
	if o.validationAction != "" {
		add("validationAction", bsonkit.String(o.validationAction))
	}
	if o.collation != nil {
		add("collation", bsonkit.DocValue(o.collation))
	}
	if o.clusteredIndex != nil {
		add("clusteredIndex", bsonkit.DocValue(o.clusteredIndex))
	} else if o.clusteredLegacy {
		add("clusteredIndex", bsonkit.Bool(true))
	}
	if o.viewOn != "" {
		add("viewOn", bsonkit.String(o.viewOn))
		add("pipeline", bsonkit.ArrayValue(o.pipeline))
	}
	if o.timeseries != nil {
		add("timeseries", bsonkit.DocValue(o.timeseries))
	}
	if o.expireAfterSeconds != nil {
		add("expireAfterSeconds", bsonkit.Int64(*o.expireAfterSeconds))
	}
	return d.Bytes()
}

func emptyArray() bsoncore.Array {
	idx, b := bsoncore.AppendArrayStart(nil)
	b, _ = bsoncore.AppendArrayEnd(b, idx)
	return b
}
