package changestream

import (
	"fmt"
	"github.com/mlink-dev/mlink/mongosim/bsonkit"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Scope is what a stream watches: one collection, one database (aggregate:
// 1) or the whole cluster (admin, allChangesForCluster).
type Scope struct {
	DB      string
	Coll    string // "" for database and cluster streams
	Cluster bool
}

// Full-document modes.
const (
	FullDocDefault       = "default"
	FullDocUpdateLookup  = "updateLookup"
	FullDocWhenAvailable = "whenAvailable"
	FullDocRequired      = "required"
	PreImageOff          = "off"
)

// Spec is a parsed $changeStream aggregation.
type Spec struct {
	Scope                    Scope
	FullDocument             string // default, updateLookup, whenAvailable, required
	FullDocumentBeforeChange string // off, whenAvailable, required
	ResumeAfter              *Token
	StartAfter               *Token
	StartAtOperationTime     *Timestamp
	ShowExpandedEvents       bool
	// Stages are the user's stages after $changeStream, in order.
	Stages []bsoncore.Document
}

// resumeToken is the token the stream continues after, if any.
func (s *Spec) resumeToken() *Token {
	if s.ResumeAfter != nil {
		return s.ResumeAfter
	}
	return s.StartAfter
}

// IsChangeStream reports whether an aggregate pipeline is a change stream
// ($changeStream first). A $changeStream anywhere else is error 40602.
func IsChangeStream(pipeline []bsoncore.Document) (bool, error) {
	for i, st := range pipeline {
		name, _, ok := stageName(st)
		if !ok || name != "$changeStream" {
			continue
		}
		if i > 0 {
			return false, mongoerr.New(40602, "$changeStream is only valid as the first stage in a pipeline.")
		}
		return true, nil
	}
	return false, nil
}

func stageName(st bsoncore.Document) (string, bsoncore.Value, bool) {
	elems, err := st.Elements()
	if err != nil || len(elems) != 1 {
		return "", bsoncore.Value{}, false
	}
	return elems[0].Key(), elems[0].Value(), true
}

// Stages allowed after $changeStream.
var allowedStages = map[string]bool{
	"$match": true, "$project": true, "$addFields": true, "$set": true, "$unset": true,
	"$replaceRoot": true, "$replaceWith": true, "$redact": true, "$changeStreamSplitLargeEvent": true,
}

// Other stages MongoDB knows (refused with IllegalOperation rather than as
// unknown).
var knownStages = map[string]bool{
	"$bucket": true, "$bucketAuto": true, "$collStats": true, "$count": true, "$densify": true,
	"$documents": true, "$facet": true, "$fill": true, "$geoNear": true, "$graphLookup": true,
	"$group": true, "$indexStats": true, "$limit": true, "$listSessions": true, "$lookup": true,
	"$merge": true, "$out": true, "$planCacheStats": true, "$sample": true, "$search": true,
	"$searchMeta": true, "$setWindowFields": true, "$skip": true, "$sort": true,
	"$sortByCount": true, "$unionWith": true, "$unwind": true, "$currentOp": true,
	"$listLocalSessions": true, "$changeStream": true, "$vectorSearch": true,
	"$listSearchIndexes": true, "$listSampledQueries": true, "$querySettings": true,
}

// ParsePipeline parses an aggregate whose first stage is $changeStream,
// run on db with collection coll ("" for aggregate: 1), and checks it as
// mongod does (namespace rules, option conflicts, later stages).
func ParsePipeline(db, coll string, pipeline []bsoncore.Document) (*Spec, error) {
	if len(pipeline) == 0 {
		return nil, fmt.Errorf("changestream: empty pipeline")
	}
	name, arg, ok := stageName(pipeline[0])
	if !ok || name != "$changeStream" {
		return nil, fmt.Errorf("changestream: first stage is not $changeStream")
	}
	if arg.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(50808, "$changeStream stage expects a document as argument")
	}
	spec, allChanges, err := parseOptions(arg.Document())
	if err != nil {
		return nil, err
	}
	for _, st := range pipeline[1:] {
		elems, err := st.Elements()
		if err != nil || len(elems) != 1 {
			return nil, mongoerr.New(40323, "A pipeline stage specification object must contain exactly one field.")
		}
		n := elems[0].Key()
		switch {
		case n == "$changeStream":
			return nil, mongoerr.New(40602, "$changeStream is only valid as the first stage in a pipeline.")
		case allowedStages[n]:
		case knownStages[n]:
			return nil, mongoerr.New(mongoerr.IllegalOperation, "%s is not permitted in a $changeStream pipeline", n)
		default:
			return nil, mongoerr.New(40324, "Unrecognized pipeline stage name: '%s'", n)
		}
		spec.Stages = append(spec.Stages, st)
	}
	if err := spec.checkNamespace(db, coll, allChanges); err != nil {
		return nil, err
	}
	return spec, spec.checkResumeOptions()
}

func parseOptions(opts bsoncore.Document) (*Spec, bool, error) {
	spec := &Spec{FullDocument: FullDocDefault, FullDocumentBeforeChange: PreImageOff}
	allChanges := false
	elems, err := opts.Elements()
	if err != nil {
		return nil, false, mongoerr.New(mongoerr.InvalidBSON, "invalid $changeStream spec: %v", err)
	}
	seen := map[string]bool{}
	for _, el := range elems {
		key, v := el.Key(), el.Value()
		if seen[key] {
			return nil, false, mongoerr.New(40413, "BSON field '$changeStream.%s' is a duplicate field", key)
		}
		seen[key] = true
		switch key {
		case "resumeAfter", "startAfter":
			if v.Type != bsoncore.TypeEmbeddedDocument {
				return nil, false, wrongType(key, v.Type, "object")
			}
			tok, err := ParseToken(v.Document())
			if err != nil {
				return nil, false, err
			}
			if key == "resumeAfter" {
				spec.ResumeAfter = &tok
			} else {
				spec.StartAfter = &tok
			}
		case "startAtOperationTime":
			if v.Type != bsoncore.TypeTimestamp {
				return nil, false, wrongType(key, v.Type, "timestamp")
			}
			t, i := v.Timestamp()
			spec.StartAtOperationTime = &Timestamp{T: t, I: i}
		case "fullDocument":
			s, err := enumOption(key, v, FullDocDefault, FullDocUpdateLookup, FullDocWhenAvailable, FullDocRequired)
			if err != nil {
				return nil, false, err
			}
			spec.FullDocument = s
		case "fullDocumentBeforeChange":
			s, err := enumOption(key, v, PreImageOff, FullDocWhenAvailable, FullDocRequired)
			if err != nil {
				return nil, false, err
			}
			spec.FullDocumentBeforeChange = s
		case "allChangesForCluster", "showExpandedEvents", "showMigrationEvents", "showSystemEvents",
			"allowToRunOnConfigDB", "allowToRunOnSystemNS", "showRawUpdateDescription":
			if v.Type != bsoncore.TypeBoolean {
				return nil, false, wrongType(key, v.Type, "bool")
			}
			switch key {
			case "allChangesForCluster":
				allChanges = v.Boolean()
			case "showExpandedEvents":
				spec.ShowExpandedEvents = v.Boolean()
			}
		default:
			return nil, false, mongoerr.New(mongoerr.Location40415, "BSON field '$changeStream.%s' is an unknown field.", key)
		}
	}
	return spec, allChanges, nil
}

func enumOption(key string, v bsoncore.Value, allowed ...string) (string, error) {
	if v.Type != bsoncore.TypeString {
		return "", wrongType(key, v.Type, "string")
	}
	s := v.StringValue()
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return "", mongoerr.New(mongoerr.BadValue, "Enumeration value '%s' for field '$changeStream.%s' is not a valid value.", s, key)
}

func wrongType(key string, got bsoncore.Type, want string) error {
	return mongoerr.WrongType("$changeStream."+key, typeName(got), want)
}

// checkNamespace applies mongod's rules on where a stream may be opened.
func (s *Spec) checkNamespace(db, coll string, allChanges bool) error {
	ns := db + "." + coll
	if coll == "" {
		ns = db + ".$cmd.aggregate"
	}
	if allChanges && (db != "admin" || coll != "") {
		return mongoerr.New(mongoerr.InvalidOptions,
			"A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' database, and with no collection name; found %s", ns)
	}
	switch {
	case db == "admin" && !allChanges, db == "local", db == "config":
		return mongoerr.New(mongoerr.InvalidNamespace, "$changeStream may not be opened on the internal %s database", db)
	case coll != "" && isSystemColl(coll):
		return mongoerr.New(mongoerr.InvalidNamespace, "$changeStream may not be opened on the internal %s collection", ns)
	}
	s.Scope = Scope{DB: db, Coll: coll, Cluster: allChanges}
	return nil
}

func (s *Spec) checkResumeOptions() error {
	if s.ResumeAfter != nil && s.StartAfter != nil {
		return mongoerr.New(50865, "Do not specify both 'resumeAfter' and 'startAfter' in a $changeStream stage")
	}
	tok := s.resumeToken()
	if s.StartAtOperationTime != nil && tok != nil {
		return mongoerr.New(40674, "Only one type of resume option is allowed, but multiple were found")
	}
	if s.ResumeAfter != nil && s.ResumeAfter.FromInvalidate {
		return mongoerr.New(mongoerr.InvalidResumeToken,
			"Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification")
	}
	if tok != nil && s.Scope.Coll != "" && tok.UUID == nil && !tok.HighWaterMark {
		return mongoerr.New(mongoerr.InvalidResumeToken,
			"Attempted to resume a single-collection stream, but the resume token does not include a UUID")
	}
	return nil
}

// typeName is MongoDB's alias of a BSON type, as error messages spell it.
var typeName = bsonkit.TypeName
