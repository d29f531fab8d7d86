package store

import (
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// CollModResult is what collMod changed: the entry, and the reply fields
// mongod adds before ok (expireAfterSeconds_old/_new, hidden_old/_new, ...
// for an index change).
type CollModResult struct {
	Collection  *Collection
	IndexChange *IndexChange
	Reply       bsoncore.Document
}

// CollMod applies a collMod command (without its "collMod" field) to
// db.name. Every option is validated before anything changes.
func (s *Store) CollMod(db, name string, cmd bsoncore.Document) (*CollModResult, error) {
	c := s.Collection(db, name)
	if c == nil {
		return nil, mongoerr.New(mongoerr.NamespaceNotFound, "ns does not exist: %s.%s", db, name)
	}
	// Keep a private copy: request buffers are reused after the command.
	cmd = append(bsoncore.Document(nil), cmd...)
	elems, err := cmd.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "invalid collMod: %v", err)
	}
	o := *c.opts
	var (
		indexMod    *IndexMod
		viewChanged bool
		reply       bsonkit.Doc
	)
	isView := c.Kind == KindView
	viewOnly := func(k string) error {
		if !isView {
			return mongoerr.New(mongoerr.InvalidOptions, "option only supported on a view: %s", k)
		}
		return nil
	}
	notView := func(k string) error {
		if isView {
			return mongoerr.New(mongoerr.InvalidOptions, "option not supported on a view: %s", k)
		}
		return nil
	}
	for _, e := range elems {
		k, v := e.Key(), e.Value()
		if genericArgs[k] || k == "dryRun" {
			continue
		}
		switch k {
		case "viewOn", "pipeline":
			if err := viewOnly(k); err != nil {
				return nil, err
			}
			if k == "viewOn" {
				if v.Type != bsoncore.TypeString || v.StringValue() == "" {
					return nil, mongoerr.WrongType("collMod.viewOn", typeName(v.Type), "string")
				}
				o.viewOn = v.StringValue()
			} else {
				if v.Type != bsoncore.TypeArray {
					return nil, mongoerr.WrongType("collMod.pipeline", typeName(v.Type), "array")
				}
				o.pipeline = v.Array()
			}
			viewChanged = true
		case "validator":
			if err := notView(k); err != nil {
				return nil, err
			}
			if v.Type != bsoncore.TypeEmbeddedDocument {
				return nil, mongoerr.WrongType("collMod.validator", typeName(v.Type), "object")
			}
			o.validator = v.Document()
		case "validationLevel", "validationAction":
			if err := notView(k); err != nil {
				return nil, err
			}
			if err := o.setValidation("collMod", k, v); err != nil {
				return nil, err
			}
		case "changeStreamPreAndPostImages":
			if err := notView(k); err != nil {
				return nil, err
			}
			var en bsoncore.Value
			if v.Type == bsoncore.TypeEmbeddedDocument {
				en = v.Document().Lookup("enabled")
			}
			if en.Type != bsoncore.TypeBoolean {
				return nil, mongoerr.New(mongoerr.TypeMismatch, "BSON field 'collMod.changeStreamPreAndPostImages.enabled' must be a bool")
			}
			o.preAndPostImages = en.Boolean()
		case "cappedSize", "cappedMax":
			if !o.capped {
				return nil, mongoerr.New(mongoerr.InvalidOptions, "Unsupported on a non-capped collection: %s", k)
			}
			n, ok := numberValue(v)
			if !ok {
				return nil, mongoerr.WrongType("collMod."+k, typeName(v.Type), mongoerr.NumberTypes)
			}
			if k == "cappedSize" {
				if n <= 0 || n > maxCappedSize {
					return nil, mongoerr.New(codeIDLValidation, "BSON field 'cappedSize' value must be > 0 and <= %d, actual value '%s'", int64(maxCappedSize), bsonkit.FormatValue(v))
				}
				o.size = int64(n)
			} else {
				if n >= 1<<31 {
					return nil, mongoerr.New(codeIDLValidation, "BSON field 'cappedMax' value must be < 2147483648, actual value '%s'", bsonkit.FormatValue(v))
				}
				o.max = int64(n)
				if o.max < 0 {
					o.max = 0
				}
			}
		case "expireAfterSeconds":
			if err := notView(k); err != nil {
				return nil, err
			}
			if !c.clustered && o.timeseries == nil {
				return nil, mongoerr.New(mongoerr.InvalidOptions, "'expireAfterSeconds' option is only supported on clustered or time-series collections")
			}
			if v.Type == bsoncore.TypeString && v.StringValue() == "off" {
				o.expireAfterSeconds = nil
				break
			}
			n, ok := numberValue(v)
			if !ok || n < 0 {
				return nil, mongoerr.New(mongoerr.InvalidOptions, "'expireAfterSeconds' must be a non-negative number or 'off'")
			}
			exp := int64(n)
			o.expireAfterSeconds = &exp
		case "timeseries":
			if o.timeseries == nil {
				return nil, mongoerr.New(mongoerr.InvalidOptions, "option only supported on a time-series collection: timeseries")
			}
			ts, err := modTimeseries(o.timeseries, v)
			if err != nil {
				return nil, err
			}
			o.timeseries = ts
		case "index":
			if err := notView(k); err != nil {
				return nil, err
			}
			m, err := parseIndexMod(v)
			if err != nil {
				return nil, err
			}
			indexMod = m
		default:
			return nil, mongoerr.New(mongoerr.Location40415, "BSON field 'collMod.%s' is an unknown field.", k)
		}
	}
	if viewChanged {
		if err := s.checkViewDefinition(db, name, o.viewOn); err != nil {
			return nil, err
		}
	}
	var validator Matcher
	if o.validator != nil && len(bsonkit.MustParseDoc(o.validator)) > 0 && c.compile != nil {
		m, err := c.compile(o.validator)
		if err != nil && !notImplemented(err) {
			return nil, err
		}
		if err == nil {
			validator = m
		}
	}
	res := &CollModResult{Collection: c}
	if indexMod != nil {
		ch, err := c.ModifyIndex(*indexMod)
		if err != nil {
			return nil, err
		}
		res.IndexChange = &ch
		reply = indexChangeReply(ch)
	}
	if len(bsonkit.MustParseDoc(emptyIfNil(o.validator))) == 0 {
		o.validator = nil
	}
	c.applyOptions(&o)
	c.validator = validator
	if viewChanged {
		s.syncSystemViews(db)
	}
	res.Reply = reply.Bytes()
	return res, nil
}

func emptyIfNil(d bsoncore.Document) bsoncore.Document {
	if d == nil {
		return bsonkit.D()
	}
	return d
}

// parseIndexMod reads collMod's index: {name | keyPattern, hidden,
// expireAfterSeconds, unique, prepareUnique}.
func parseIndexMod(v bsoncore.Value) (*IndexMod, error) {
	if v.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.WrongType("collMod.index", typeName(v.Type), "object")
	}
	m := &IndexMod{}
	for _, e := range bsonkit.MustParseDoc(v.Document()) {
		switch e.Key {
		case "name":
			if e.Value.Type != bsoncore.TypeString {
				return nil, mongoerr.WrongType("collMod.index.name", typeName(e.Value.Type), "string")
			}
			m.Name = e.Value.StringValue()
		case "keyPattern":
			if e.Value.Type != bsoncore.TypeEmbeddedDocument {
				return nil, mongoerr.WrongType("collMod.index.keyPattern", typeName(e.Value.Type), "object")
			}
			m.KeyPattern = e.Value.Document()
		case "hidden", "unique", "prepareUnique":
			if e.Value.Type != bsoncore.TypeBoolean {
				return nil, mongoerr.WrongType("collMod.index."+e.Key, typeName(e.Value.Type), "bool")
			}
			b := e.Value.Boolean()
			switch e.Key {
			case "hidden":
				m.Hidden = &b
			case "unique":
				m.Unique = &b
			default:
				m.PrepareUnique = &b
			}
		case "expireAfterSeconds":
			val := e.Value
			m.ExpireAfter = &val
		default:
			return nil, mongoerr.New(mongoerr.Location40415, "BSON field 'collMod.index.%s' is an unknown field.", e.Key)
		}
	}
	return m, nil
}

// indexChangeReply lists the changed index options as collMod replies.
func indexChangeReply(ch IndexChange) bsonkit.Doc {
	var d bsonkit.Doc
	if ch.ExpireOld != nil {
		d = append(d, bsonkit.Elem{Key: "expireAfterSeconds_old", Value: *ch.ExpireOld},
			bsonkit.Elem{Key: "expireAfterSeconds_new", Value: *ch.ExpireNew})
	}
	if ch.HiddenOld != nil {
		d = append(d, bsonkit.Elem{Key: "hidden_old", Value: bsonkit.Bool(*ch.HiddenOld)},
			bsonkit.Elem{Key: "hidden_new", Value: bsonkit.Bool(*ch.HiddenNew)})
	}
	if ch.PrepareOld != nil {
		d = append(d, bsonkit.Elem{Key: "prepareUnique_old", Value: bsonkit.Bool(*ch.PrepareOld)},
			bsonkit.Elem{Key: "prepareUnique_new", Value: bsonkit.Bool(*ch.PrepareNew)})
	}
	if ch.UniqueNew {
		d = append(d, bsonkit.Elem{Key: "unique_new", Value: bsonkit.Bool(true)})
	}
	return d
}

// modTimeseries applies collMod's timeseries {granularity} change; the
// granularity may only get coarser.
func modTimeseries(cur bsoncore.Document, v bsoncore.Value) (bsoncore.Document, error) {
	if v.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.WrongType("collMod.timeseries", typeName(v.Type), "object")
	}
	g := v.Document().Lookup("granularity")
	if g.Type != bsoncore.TypeString {
		return cur, nil
	}
	span, ok := bucketSpans[g.StringValue()]
	if !ok {
		return nil, mongoerr.New(mongoerr.BadValue, "Enumeration value '%s' for field 'collMod.timeseries.granularity' is not a valid value.", g.StringValue())
	}
	d := bsonkit.MustParseDoc(cur)
	if old := d.Get("granularity"); old.Type == bsoncore.TypeString && bucketSpans[old.StringValue()] > span {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "Invalid transition for timeseries.granularity. Can only transition from '%s' to '%s'.", old.StringValue(), "a coarser granularity")
	}
	d.Delete("bucketRoundingSeconds")
	d.Set("granularity", g)
	d.Set("bucketMaxSpanSeconds", bsonkit.Int32(span))
	return d.Bytes(), nil
}
